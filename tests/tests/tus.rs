//! tus 1.0.0 at `/api/tus/`, request by request against the real server: every
//! status the protocol names (tus.io/protocols/resumable-upload), checked one
//! by one, on SQLite and PostgreSQL. The real clients (tus-js-client, tuspy)
//! are in `tus_clients.rs`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test
use base64::Engine;
use ferry_tests::{Backend, TestServer, on_both_backends, random_bytes, sha256_hex};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use sha1::Digest;

const TUS: &str = "/api/tus/";

struct Tus<'a> {
    server: &'a TestServer,
    token: String,
}

impl Tus<'_> {
    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            self.server.url(path)
        };
        self.server
            .client
            .request(method, url)
            .bearer_auth(&self.token)
            .header("Tus-Resumable", "1.0.0")
    }

    async fn create(&self, length: u64, name: &str) -> String {
        let response = self
            .request(Method::POST, TUS)
            .header("Upload-Length", length)
            .header("Upload-Metadata", metadata(&[("filename", name)]))
            .send()
            .await
            .expect("create");
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "{:?}",
            response.text().await
        );
        location(&response)
    }

    async fn patch(&self, url: &str, offset: u64, body: &[u8]) -> Response {
        self.request(Method::PATCH, url)
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", offset)
            .body(body.to_vec())
            .send()
            .await
            .expect("patch")
    }

    async fn head(&self, url: &str) -> Response {
        self.request(Method::HEAD, url).send().await.expect("head")
    }
}

fn metadata(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k} {}",
                base64::engine::general_purpose::STANDARD.encode(v)
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn header<'a>(response: &'a Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in {:?}", response.headers()))
        .to_str()
        .expect("ascii header")
}

fn location(response: &Response) -> String {
    let location = header(response, "location");
    assert!(location.starts_with(TUS), "{location}");
    location.to_owned()
}

fn offset(response: &Response) -> u64 {
    header(response, "upload-offset").parse().expect("offset")
}

async fn the_protocol_answers_every_status_it_names(backend: Backend) {
    let Some(server) = TestServer::start_with(backend, |_| {}).await else {
        return;
    };
    let tus = Tus {
        server: &server,
        token: server.admin_token().await,
    };

    // OPTIONS: no authentication, no Tus-Resumable needed; says exactly what works.
    let response = server
        .client
        .request(Method::OPTIONS, server.url(TUS))
        .send()
        .await
        .unwrap();
    assert!(matches!(
        response.status(),
        StatusCode::NO_CONTENT | StatusCode::OK
    ));
    assert_eq!(header(&response, "tus-version"), "1.0.0");
    assert_eq!(header(&response, "tus-resumable"), "1.0.0");
    assert_eq!(
        header(&response, "tus-extension"),
        "creation,creation-with-upload,creation-defer-length,expiration,checksum,termination,concatenation"
    );
    assert_eq!(
        header(&response, "tus-checksum-algorithm"),
        "sha1,sha256,md5"
    );
    let max: u64 = header(&response, "tus-max-size").parse().unwrap();
    assert_eq!(max, server.settings.max_file_size);

    // 412 for a missing or unsupported version, with Tus-Version.
    for version in [None, Some("0.2.2")] {
        let mut request = server
            .client
            .post(server.url(TUS))
            .bearer_auth(&tus.token)
            .header("Upload-Length", 10);
        if let Some(version) = version {
            request = request.header("Tus-Resumable", version);
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::PRECONDITION_FAILED,
            "{version:?}"
        );
        assert_eq!(header(&response, "tus-version"), "1.0.0");
    }
    // 401 without credentials; 400 without a length; 413 over Tus-Max-Size.
    let response = server
        .client
        .post(server.url(TUS))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", 10)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(&response, "tus-resumable"), "1.0.0");
    let response = tus.request(Method::POST, TUS).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = tus
        .request(Method::POST, TUS)
        .header("Upload-Length", max + 1)
        .header("Upload-Metadata", metadata(&[("filename", "big.bin")]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let response = tus
        .request(Method::POST, TUS)
        .header("Upload-Length", 10)
        .header("Upload-Metadata", "filename not-base64!")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // Creation: 201 with Location and Upload-Expires; HEAD has the offset, the
    // length, the metadata, and no-store.
    let data = random_bytes(300_000, 7);
    let response = tus
        .request(Method::POST, TUS)
        .header("Upload-Length", data.len())
        .header("Upload-Metadata", metadata(&[("path", "/tus/report.bin")]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let url = location(&response);
    let expires = header(&response, "upload-expires");
    assert!(expires.ends_with(" GMT"), "{expires}");
    let response = tus.head(&url).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(offset(&response), 0);
    assert_eq!(header(&response, "upload-length"), data.len().to_string());
    assert_eq!(header(&response, "cache-control"), "no-store");
    assert!(header(&response, "upload-metadata").contains("path L3R1cy9yZXBvcnQuYmlu"));

    // PATCH: 415 for another content type, 400 without an offset, 409 at a wrong one.
    let response = tus
        .request(Method::PATCH, &url)
        .header("Content-Type", "application/octet-stream")
        .header("Upload-Offset", 0)
        .body(data[..10].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let response = tus
        .request(Method::PATCH, &url)
        .header("Content-Type", "application/offset+octet-stream")
        .body(data[..10].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = tus.patch(&url, 5, &data[..10]).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);

    // 204 with the new offset; the upload shows in the chunked API's progress.
    let response = tus.patch(&url, 0, &data[..100_000]).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(offset(&response), 100_000);
    assert!(response.headers().contains_key("upload-expires"));
    let id = url.trim_start_matches(TUS);
    let (status, progress) = server
        .api(&tus.token)
        .get(&format!("/api/sync/upload/{id}/progress"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(progress["uploaded_bytes"], 100_000);
    assert_eq!(progress["total_size"], data.len());

    // Checksums: 460 on a mismatch (nothing kept), 400 for an unknown algorithm.
    let wrong = base64::engine::general_purpose::STANDARD.encode(sha1::Sha1::digest(b"other"));
    let response = tus
        .request(Method::PATCH, &url)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", 100_000)
        .header("Upload-Checksum", format!("sha1 {wrong}"))
        .body(data[100_000..200_000].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 460);
    assert_eq!(offset(&tus.head(&url).await), 100_000);
    let response = tus
        .request(Method::PATCH, &url)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", 100_000)
        .header("Upload-Checksum", "crc32 AAAAAA==")
        .body(data[100_000..200_000].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let right = base64::engine::general_purpose::STANDARD
        .encode(sha1::Sha1::digest(&data[100_000..200_000]));
    let response = tus
        .request(Method::PATCH, &url)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", 100_000)
        .header("Upload-Checksum", format!("sha1 {right}"))
        .body(data[100_000..200_000].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(offset(&response), 200_000);

    // Past the length: 413, and the offset stays.
    let mut too_long = data[200_000..].to_vec();
    too_long.push(0);
    let response = tus.patch(&url, 200_000, &too_long).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(offset(&tus.head(&url).await), 200_000);

    // The last bytes commit the file, byte for byte, for the metadata's device.
    let response = tus.patch(&url, 200_000, &data[200_000..]).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(offset(&response), data.len() as u64);
    let api = server.api(&tus.token);
    assert_eq!(
        sha256_hex(&api.download("/tus/report.bin").await),
        sha256_hex(&data)
    );
    let response = tus.head(&url).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(offset(&response), data.len() as u64);
    // Terminating a completed upload: 204, the file stays, tus forgets the upload.
    let response = tus.request(Method::DELETE, &url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(tus.head(&url).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        sha256_hex(&api.download("/tus/report.bin").await),
        sha256_hex(&data)
    );

    // The chunked API does not take numbered chunks into a tus upload.
    let other = tus.create(10, "by-offset.bin").await;
    let (status, body) = api
        .put_chunk(other.trim_start_matches(TUS), 0, b"0123456789")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(offset(&tus.head(&other).await), 0);

    // Termination: 204, then 410 (gone) for HEAD and PATCH; unknown ids 404.
    let doomed = tus.create(10, "doomed.bin").await;
    let response = tus.request(Method::DELETE, &doomed).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(tus.head(&doomed).await.status(), StatusCode::GONE);
    assert_eq!(tus.patch(&doomed, 0, b"x").await.status(), StatusCode::GONE);
    let unknown = format!("{TUS}{}", uuid::Uuid::new_v4());
    assert_eq!(tus.head(&unknown).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        tus.head(&format!("{TUS}not-an-id")).await.status(),
        StatusCode::NOT_FOUND
    );

    // Someone else's upload is unknown to them.
    let other = Tus {
        server: &server,
        token: server.user_token("mallory").await,
    };
    let theirs = tus.create(10, "private.bin").await;
    assert_eq!(other.head(&theirs).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        other.patch(&theirs, 0, b"x").await.status(),
        StatusCode::NOT_FOUND
    );
}
on_both_backends!(the_protocol_answers_every_status_it_names);

async fn deferred_length_creation_with_upload_and_empty_files(backend: Backend) {
    let Some(server) = TestServer::start_with(backend, |_| {}).await else {
        return;
    };
    let tus = Tus {
        server: &server,
        token: server.admin_token().await,
    };
    let data = random_bytes(70_000, 9);
    // creation-with-upload + creation-defer-length: the length comes with the last PATCH.
    let response = tus
        .request(Method::POST, TUS)
        .header("Upload-Defer-Length", 1)
        .header("Upload-Metadata", metadata(&[("filename", "later.bin")]))
        .header("Content-Type", "application/offset+octet-stream")
        .body(data[..30_000].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(offset(&response), 30_000);
    let url = location(&response);
    let response = tus.head(&url).await;
    assert_eq!(header(&response, "upload-defer-length"), "1");
    assert!(!response.headers().contains_key("upload-length"));
    let response = tus
        .request(Method::PATCH, &url)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", 30_000)
        .header("Upload-Length", data.len())
        .body(data[30_000..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&response, "upload-length"), data.len().to_string());
    let api = server.api(&tus.token);
    assert_eq!(
        sha256_hex(&api.download("/later.bin").await),
        sha256_hex(&data)
    );

    // A deferred length declared by a last, empty PATCH at the offset reached completes it.
    let response = tus
        .request(Method::POST, TUS)
        .header("Upload-Defer-Length", 1)
        .header("Upload-Metadata", metadata(&[("filename", "boundary.bin")]))
        .send()
        .await
        .unwrap();
    let url = location(&response);
    assert_eq!(
        tus.patch(&url, 0, &data).await.status(),
        StatusCode::NO_CONTENT
    );
    let response = tus
        .request(Method::PATCH, &url)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", data.len())
        .header("Upload-Length", data.len())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        sha256_hex(&api.download("/boundary.bin").await),
        sha256_hex(&data)
    );

    // An empty file is committed at creation.
    let url = tus.create(0, "empty.txt").await;
    assert_eq!(offset(&tus.head(&url).await), 0);
    assert!(api.download("/empty.txt").await.is_empty());
}
on_both_backends!(deferred_length_creation_with_upload_and_empty_files);

async fn partial_uploads_concatenate_into_one_file(backend: Backend) {
    let Some(server) = TestServer::start_with(backend, |_| {}).await else {
        return;
    };
    let tus = Tus {
        server: &server,
        token: server.admin_token().await,
    };
    let data = random_bytes(250_000, 11);
    let (a, b) = data.split_at(120_000);
    let mut parts = Vec::new();
    for piece in [a, b] {
        let response = tus
            .request(Method::POST, TUS)
            .header("Upload-Length", piece.len())
            .header("Upload-Concat", "partial")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let url = location(&response);
        assert_eq!(
            tus.patch(&url, 0, piece).await.status(),
            StatusCode::NO_CONTENT
        );
        assert_eq!(header(&tus.head(&url).await, "upload-concat"), "partial");
        parts.push(url);
    }
    // A part is never a file of its own.
    let api = server.api(&tus.token);
    let (status, _) = api
        .get("/api/sync/files/content?path=/partial-upload")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // An unfinished part cannot be joined.
    let unfinished = tus
        .request(Method::POST, TUS)
        .header("Upload-Length", 10)
        .header("Upload-Concat", "partial")
        .send()
        .await
        .unwrap();
    let unfinished = location(&unfinished);
    let response = tus
        .request(Method::POST, TUS)
        .header("Upload-Concat", format!("final;{} {unfinished}", parts[0]))
        .header("Upload-Metadata", metadata(&[("filename", "never.bin")]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // A cancelled part has lost its pieces: it cannot be joined.
    let cancelled = tus
        .request(Method::POST, TUS)
        .header("Upload-Length", 3)
        .header("Upload-Concat", "partial")
        .send()
        .await
        .unwrap();
    let cancelled = location(&cancelled);
    assert_eq!(
        tus.patch(&cancelled, 0, b"abc").await.status(),
        StatusCode::NO_CONTENT
    );
    let response = tus
        .request(Method::DELETE, &cancelled)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = tus
        .request(Method::POST, TUS)
        .header("Upload-Concat", format!("final;{} {cancelled}", parts[0]))
        .header("Upload-Metadata", metadata(&[("filename", "never.bin")]))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());
    // Nor can one part be named twice.
    let response = tus
        .request(Method::POST, TUS)
        .header("Upload-Concat", format!("final;{} {}", parts[0], parts[0]))
        .header("Upload-Metadata", metadata(&[("filename", "never.bin")]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let absolute = server.url(&parts[1]);
    let response = tus
        .request(Method::POST, TUS)
        .header("Upload-Concat", format!("final;{} {absolute}", parts[0]))
        .header("Upload-Metadata", metadata(&[("filename", "joined.bin")]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{:?}",
        response.text().await
    );
    let url = location(&response);
    let response = tus.head(&url).await;
    assert_eq!(offset(&response), data.len() as u64);
    assert_eq!(header(&response, "upload-length"), data.len().to_string());
    assert_eq!(
        header(&response, "upload-concat"),
        format!("final;{} {}", parts[0], parts[1])
    );
    assert_eq!(
        sha256_hex(&api.download("/joined.bin").await),
        sha256_hex(&data)
    );
    // Joined parts no longer count as unfinished uploads; the unfinished one does.
    let open = api
        .graphql("{ uploads { uploadId } }", serde_json::json!({}))
        .await;
    let open = open["data"]["uploads"].as_array().expect("uploads").len();
    assert_eq!(open, 1, "only the unfinished part is open");
    // A final upload takes no bytes of its own: 403.
    assert_eq!(
        tus.patch(&url, data.len() as u64, b"x").await.status(),
        StatusCode::FORBIDDEN
    );
}
on_both_backends!(partial_uploads_concatenate_into_one_file);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_get_cors_only_for_listed_origins() {
    let server = TestServer::start_with(Backend::Sqlite, |s| {
        s.tus_cors_origins = vec!["https://app.example".into()];
    })
    .await
    .expect("sqlite");
    for (origin, allowed) in [
        ("https://app.example", true),
        ("https://evil.example", false),
    ] {
        let response = server
            .client
            .request(Method::OPTIONS, server.url(TUS))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "tus-resumable,upload-length,authorization",
            )
            .send()
            .await
            .unwrap();
        let allow = response.headers().get("access-control-allow-origin");
        assert_eq!(
            allow.map(|v| v.to_str().unwrap()),
            allowed.then_some(origin)
        );
        if allowed {
            assert!(header(&response, "access-control-allow-headers").contains("Upload-Offset"));
            assert!(header(&response, "access-control-allow-methods").contains("PATCH"));
        }
        let response = server
            .client
            .post(server.url(TUS))
            .header("Origin", origin)
            .header("Tus-Resumable", "1.0.0")
            .bearer_auth(server.admin_token().await)
            .header("Upload-Length", 1)
            .header("Upload-Metadata", metadata(&[("filename", "cors.bin")]))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let expose = response.headers().get("access-control-expose-headers");
        assert_eq!(expose.is_some(), allowed);
        if allowed {
            assert!(header(&response, "access-control-expose-headers").contains("Location"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tus_upload_is_heard_by_upload_progress_and_counted_in_metrics() {
    use ferry_tests::socket::{connect, next_json, subscribe};
    let server = TestServer::start_with(Backend::Sqlite, |_| {})
        .await
        .expect("sqlite");
    let tus = Tus {
        server: &server,
        token: server.admin_token().await,
    };
    let data = random_bytes(3000, 13);
    let url = tus.create(data.len() as u64, "live.bin").await;
    let id = url.trim_start_matches(TUS).to_owned();
    let mut socket = connect(&server.base, Some(&tus.token)).await;
    let query = "subscription($id: ID!) { uploadProgress(uploadId: $id) { uploadId status uploadedBytes } }";
    subscribe(&mut socket, "1", query, serde_json::json!({ "id": id })).await;
    subscribe(
        &mut socket,
        "ready",
        "subscription { uploads { uploadId } }",
        serde_json::json!({}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    for (n, piece) in data.chunks(1000).enumerate() {
        let response = tus.patch(&url, n as u64 * 1000, piece).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
    let mut heard = Vec::new();
    while heard.last().map(|(s, _): &(String, i64)| s.as_str()) != Some("COMPLETED") {
        let message = next_json(&mut socket).await;
        if message["id"] != "1" {
            continue;
        }
        let event = &message["payload"]["data"]["uploadProgress"];
        assert_eq!(event["uploadId"], id.as_str(), "{message}");
        heard.push((
            event["status"].as_str().unwrap().to_owned(),
            event["uploadedBytes"].as_i64().unwrap(),
        ));
    }
    let bytes: Vec<i64> = heard.iter().map(|(_, b)| *b).collect();
    assert_eq!(&bytes[..3], [1000, 2000, 3000], "{heard:?}");
    assert_eq!(
        server
            .metric("ferry_received_bytes_total{protocol=\"tus\"}")
            .await,
        3000.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ietf_draft_interop_version_6_runs_on_the_same_uploads() {
    let server = TestServer::start_with(Backend::Sqlite, |_| {})
        .await
        .expect("sqlite");
    let token = server.admin_token().await;
    let draft = |method: Method, path: &str| {
        server
            .client
            .request(method, server.url(path))
            .bearer_auth(&token)
            .header("Upload-Draft-Interop-Version", "6")
    };
    let data = random_bytes(50_000, 17);
    // Creation without a length: deferred until the request that completes it.
    let response = draft(Method::POST, TUS)
        .header("Upload-Complete", "?0")
        .header("Upload-Metadata", metadata(&[("filename", "draft.bin")]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(header(&response, "upload-draft-interop-version"), "6");
    let url = location(&response);
    let response = draft(Method::HEAD, &url).send().await.unwrap();
    assert_eq!(offset(&response), 0);
    assert_eq!(header(&response, "upload-complete"), "?0");
    let response = draft(Method::PATCH, &url)
        .header("Content-Type", "application/partial-upload")
        .header("Upload-Offset", 0)
        .header("Upload-Complete", "?0")
        .body(data[..20_000].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(offset(&response), 20_000);
    let response = draft(Method::PATCH, &url)
        .header("Content-Type", "application/partial-upload")
        .header("Upload-Offset", 20_000)
        .header("Upload-Complete", "?1")
        .body(data[20_000..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&response, "upload-complete"), "?1");
    let api = server.api(&token);
    assert_eq!(
        sha256_hex(&api.download("/draft.bin").await),
        sha256_hex(&data)
    );
    // An interop version this server does not speak is refused like a missing Tus-Resumable.
    let response = server
        .client
        .post(server.url(TUS))
        .bearer_auth(&token)
        .header("Upload-Draft-Interop-Version", "99")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);
}
