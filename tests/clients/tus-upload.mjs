// Upload one file with tus-js-client under Node, as an app would; driven by
// tests/tests/tus_clients.rs and bench-tus.
//   node tus-upload.mjs ENDPOINT TOKEN FILE OPTIONS_JSON
// OPTIONS_JSON: {metadata, chunkSize, parallelUploads, store (a file: upload URLs
// kept there let a restarted process resume), wrongChecksum (send a wrong
// Upload-Checksum with every PATCH), quiet (no progress lines), protocol}.
// Prints one JSON line per event: {"progress": bytes}, then {"done": url} or
// {"error": message, "status": code}; exits 0 only when the upload succeeded.
import fs from "node:fs";
import { Upload, FileUrlStorage } from "tus-js-client";

const [endpoint, token, path, optionsJson] = process.argv.slice(2);
const options = JSON.parse(optionsJson || "{}");
const say = (event) => process.stdout.write(JSON.stringify(event) + "\n");

const size = fs.statSync(path).size;
// Parallel parts slice the file: a Buffer (its size known); else a stream.
const parallel = (options.parallelUploads || 1) > 1;
const source = parallel ? fs.readFileSync(path) : fs.createReadStream(path);
const upload = new Upload(source, {
  endpoint,
  ...(parallel ? {} : { uploadSize: size }),
  metadata: options.metadata || {},
  headers: { Authorization: `Bearer ${token}` },
  chunkSize: options.chunkSize || Infinity,
  // "tus-v1" (default), or the IETF draft: "ietf-draft-03", "ietf-draft-05".
  ...(options.protocol ? { protocol: options.protocol } : {}),
  parallelUploads: options.parallelUploads || 1,
  retryDelays: options.retryDelays === undefined ? [0, 500] : options.retryDelays,
  // Without a store, tus-js-client's default (none under Node) stays.
  ...(options.store ? { urlStorage: new FileUrlStorage(options.store) } : {}),
  fingerprint: async () => `ferry-test:${path}:${size}`,
  removeFingerprintOnSuccess: true,
  onBeforeRequest(req) {
    if (options.wrongChecksum && req.getMethod() === "PATCH") {
      // SHA-1 of "wrong", never of the body.
      req.setHeader("Upload-Checksum", "sha1 cvVjTk5c0n4bQ+H5BZwrSS4/cpA=");
    }
  },
  onProgress(sent) {
    if (!options.quiet) say({ progress: sent });
  },
  onError(error) {
    const status = error.originalResponse ? error.originalResponse.getStatus() : 0;
    say({ error: String(error.message || error).split("\n")[0], status });
    process.exit(1);
  },
  onSuccess() {
    say({ done: upload.url });
    process.exit(0);
  },
});

if (options.store) {
  const previous = await upload.findPreviousUploads();
  if (previous.length > 0) {
    say({ resuming: previous[0].uploadUrl });
    upload.resumeFromPreviousUpload(previous[0]);
  }
}
upload.start();
