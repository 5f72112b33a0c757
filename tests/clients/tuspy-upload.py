"""Upload one file with tuspy (PyPI `tuspy`), as a Python app would; driven by
tests/tests/tus_clients.rs.

    python3 tuspy-upload.py ENDPOINT TOKEN FILE OPTIONS_JSON

OPTIONS_JSON: {metadata, chunk_size, stop_at (stop once this many bytes are
sent), store (a file: the upload URL kept there lets the next run resume)}.
Every PATCH carries tuspy's SHA-1 `Upload-Checksum`. Prints one JSON line:
{"offset": N, "url": URL}.
"""
import json
import sys

from tusclient import client
from tusclient.storage import filestorage

endpoint, token, path, options = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
tus = client.TusClient(endpoint, headers={"Authorization": f"Bearer {token}"})
storage = filestorage.FileStorage(options["store"]) if options.get("store") else None
uploader = tus.uploader(
    path,
    chunk_size=options.get("chunk_size", 1 << 20),
    metadata=options.get("metadata", {}),
    store_url=storage is not None,
    url_storage=storage,
    upload_checksum=True,
)
uploader.upload(stop_at=options.get("stop_at"))
print(json.dumps({"offset": uploader.offset, "url": uploader.url}))
