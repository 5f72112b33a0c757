//! Real tus clients from the registries against the real server:
//! `tus-js-client` under Node (plain, resumed after `kill -9`, four parallel
//! partial uploads joined by concatenation, a checksum mismatch) and `tuspy`
//! (chunked with SHA-1 checksums, stopped and resumed by a second process).
//! Each lands as a new version with the right SHA-256. `scripts/test` installs
//! them (`npm ci` in `tests/clients`, `pip install tuspy`); a missing one fails.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test
use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use ferry_tests::{Backend, TestServer, random_bytes, sha256_hex};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::Command,
};

const MIB: usize = 1 << 20;

fn clients_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients");
    assert!(
        dir.join("node_modules/tus-js-client").is_dir(),
        "tus-js-client is not installed: run `npm ci --prefix tests/clients` (scripts/test does)"
    );
    dir
}

fn node(server: &TestServer, token: &str, file: &Path, options: Value) -> Command {
    let mut command = Command::new("node");
    command
        .arg(clients_dir().join("tus-upload.mjs"))
        .arg(server.url("/api/tus/"))
        .arg(token)
        .arg(file)
        .arg(options.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    command
}

/// Run a client to its end; its JSON lines and whether it succeeded.
async fn run(mut command: Command) -> (Vec<Value>, bool) {
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .expect("the client finished within 120 s")
        .expect("the client runs (node / python3 on PATH)");
    let lines = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    (lines, output.status.success())
}

fn file_of(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, data).expect("write the test file");
    path
}

/// A server on `backend` (settings adjusted by `tweak`), the admin's token and
/// a work folder for the files the clients send.
async fn admin_server(
    backend: Backend,
    tweak: impl FnOnce(&mut api::config::Settings),
) -> Option<(TestServer, String, tempfile::TempDir)> {
    let server = TestServer::start_with(backend, tweak).await?;
    let token = server.admin_token().await;
    Some((server, token, tempfile::tempdir().expect("work folder")))
}

async fn received_over_tus(server: &TestServer) -> f64 {
    server
        .metric("ferry_received_bytes_total{protocol=\"tus\"}")
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tus_js_client_uploads_in_one_request_and_in_four_parallel_parts() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some((server, token, work)) = admin_server(backend, |_| {}).await else {
            continue;
        };
        let api = server.api(&token);
        let data = random_bytes(13 * MIB + 12_345, 21);
        let file = file_of(work.path(), "plain.bin", &data);

        let options = json!({ "metadata": { "filename": "plain.bin", "path": "/js/plain.bin" } });
        let (lines, ok) = run(node(&server, &token, &file, options)).await;
        assert!(ok, "{backend:?}: {lines:?}");
        assert_eq!(
            sha256_hex(&api.download("/js/plain.bin").await),
            sha256_hex(&data)
        );

        // parallelUploads: 4 partial uploads, then a final one joining them.
        let options = json!({
            "metadata": { "filename": "parallel.bin", "path": "/js/parallel.bin" },
            "parallelUploads": 4,
        });
        let (lines, ok) = run(node(&server, &token, &file, options)).await;
        assert!(ok, "{backend:?}: {lines:?}");
        let url = lines
            .iter()
            .find_map(|l| l["done"].as_str())
            .expect("the final upload's URL");
        let head = server
            .client
            .head(url)
            .bearer_auth(&token)
            .header("Tus-Resumable", "1.0.0")
            .send()
            .await
            .unwrap();
        let concat = head.headers()["upload-concat"].to_str().unwrap().to_owned();
        assert!(concat.starts_with("final;"), "{concat}");
        assert_eq!(concat.matches("/api/tus/").count(), 4, "{concat}");
        assert_eq!(
            sha256_hex(&api.download("/js/parallel.bin").await),
            sha256_hex(&data)
        );
        let (status, versions) = api
            .get("/api/sync/files/versions?path=/js/parallel.bin")
            .await;
        assert_eq!(status, StatusCode::OK, "{versions}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tus_js_client_speaking_the_ietf_draft_uploads_on_the_same_engine() {
    let (server, token, work) = admin_server(Backend::Sqlite, |_| {}).await.expect("sqlite");
    let api = server.api(&token);
    let data = random_bytes(6 * MIB + 4321, 25);
    let file = file_of(work.path(), "draft.bin", &data);
    for (protocol, chunk) in [("ietf-draft-05", 2 * MIB), ("ietf-draft-03", 4 * MIB)] {
        let path = format!("/draft/{protocol}.bin");
        let options = json!({
            "metadata": { "path": path },
            "protocol": protocol,
            "chunkSize": chunk,
        });
        let (lines, ok) = run(node(&server, &token, &file, options)).await;
        assert!(ok, "{protocol}: {lines:?}");
        assert_eq!(
            sha256_hex(&api.download(&path).await),
            sha256_hex(&data),
            "{protocol}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tus_js_client_resumes_after_kill_9_and_refuses_a_wrong_checksum() {
    let (server, token, work) = admin_server(Backend::Sqlite, |_| {}).await.expect("sqlite");
    let api = server.api(&token);
    // Slow the upload down so that the client is surely killed in the middle.
    let (status, answer) = api
        .post(
            "/api/sync/bandwidth/limit",
            json!({ "upload_speed_limit": 8 * MIB, "throttle_enabled": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let data = random_bytes(40 * MIB, 22);
    let file = file_of(work.path(), "resumed.bin", &data);
    let store = work.path().join("tus-urls.json");
    let options = json!({
        "metadata": { "filename": "resumed.bin" },
        "store": store,
    });

    let mut first = node(&server, &token, &file, options.clone())
        .spawn()
        .expect("node runs");
    let mut lines = BufReader::new(first.stdout.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        let event: Value = serde_json::from_str(&line).unwrap();
        if event["progress"]
            .as_u64()
            .is_some_and(|p| p > 12 * MIB as u64)
        {
            break;
        }
        assert!(
            event.get("done").is_none(),
            "finished before the kill: {line}"
        );
    }
    first.start_kill().unwrap(); // SIGKILL
    first.wait().await.unwrap();
    let before = received_over_tus(&server).await;
    assert!(before < data.len() as f64, "kept {before} bytes");

    // tus-js-client's own retry delays: the killed client's last request may
    // still be recorded for a moment (409 until then), as an app would wait out.
    let mut resume = options;
    resume["retryDelays"] = json!([0, 1000, 3000, 5000]);
    let (lines, ok) = run(node(&server, &token, &file, resume)).await;
    assert!(ok, "{lines:?}");
    assert!(
        lines.iter().any(|l| l.get("resuming").is_some()),
        "the second run resumed the first one's upload: {lines:?}"
    );
    assert_eq!(
        sha256_hex(&api.download("/resumed.bin").await),
        sha256_hex(&data)
    );
    let received = received_over_tus(&server).await;
    assert!(
        received < 1.25 * data.len() as f64,
        "the server received {received} bytes for a {} byte file",
        data.len()
    );

    // A PATCH whose Upload-Checksum is wrong: 460, nothing kept, no file.
    let bad = file_of(work.path(), "bad.bin", &data[..MIB]);
    let options = json!({
        "metadata": { "filename": "bad.bin" },
        "wrongChecksum": true,
        "retryDelays": null,
    });
    let (lines, ok) = run(node(&server, &token, &bad, options)).await;
    assert!(!ok, "{lines:?}");
    assert!(lines.iter().any(|l| l["status"] == 460), "{lines:?}");
    let (status, _) = api.get("/api/sync/files/content?path=/bad.bin").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tuspy_uploads_in_checksummed_chunks_and_a_second_process_resumes() {
    let (server, token, work) = admin_server(Backend::Sqlite, |_| {}).await.expect("sqlite");
    let api = server.api(&token);
    let data = random_bytes(7 * MIB + 999, 23);
    let file = file_of(work.path(), "py.bin", &data);
    let store = work.path().join("tuspy-urls.json");
    let python = |options: Value| {
        let mut command = Command::new("python3");
        command
            .arg(clients_dir().join("tuspy-upload.py"))
            .arg(server.url("/api/tus/"))
            .arg(&token)
            .arg(&file)
            .arg(options.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        command
    };
    let options = |stop_at: Option<usize>| {
        json!({
            "metadata": { "filename": "py.bin", "path": "/py/py.bin" },
            "chunk_size": 768 * 1024,
            "stop_at": stop_at,
            "store": store,
        })
    };
    let (lines, ok) = run(python(options(Some(3 * MIB)))).await;
    assert!(
        ok,
        "tuspy is installed (pip install tuspy) and ran: {lines:?}"
    );
    let stopped = lines[0]["offset"].as_u64().unwrap();
    assert!(
        (3 * MIB as u64..data.len() as u64).contains(&stopped),
        "{lines:?}"
    );
    let first_url = lines[0]["url"].clone();

    let (lines, ok) = run(python(options(None))).await;
    assert!(ok, "{lines:?}");
    assert_eq!(
        lines[0]["url"], first_url,
        "the second process resumed the same upload"
    );
    assert_eq!(lines[0]["offset"], data.len());
    assert_eq!(
        sha256_hex(&api.download("/py/py.bin").await),
        sha256_hex(&data)
    );
}

/// The page a web app would serve: Uppy (`uppy` from npm, its browser bundle)
/// with `@uppy/tus`, uploading what the file input is given.
const UPPY_PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Uppy</title></head><body>
<input type="file" id="pick">
<pre id="result"></pre>
<script src="/uppy.min.js"></script>
<script>
const { Uppy, Tus } = window.Uppy;
const uppy = new Uppy().use(Tus, {
  endpoint: ENDPOINT,
  headers: { Authorization: "Bearer TOKEN" },
  chunkSize: 3 * 1024 * 1024,
  retryDelays: null,
});
document.getElementById("pick").addEventListener("change", async (event) => {
  for (const file of event.target.files) {
    uppy.addFile({ name: file.name, type: file.type, data: file });
  }
  const result = await uppy.upload();
  document.getElementById("result").textContent = JSON.stringify({
    ok: result.successful.length,
    failed: result.failed.map((f) => String(f.error)),
  });
});
</script></body></html>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uppy_in_headless_chromium_uploads_a_file_from_a_page() {
    let Some(driver) = ferry_tests::browser::Driver::start().await else {
        return;
    };
    let bundle = std::fs::read(clients_dir().join("node_modules/uppy/dist/uppy.min.js"))
        .expect("Uppy's bundle (npm ci --prefix tests/clients)");
    // The app's page on an origin of its own; Ferry allows it by CORS.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let page_origin = format!("http://{}", listener.local_addr().unwrap());
    let (server, token, work) = admin_server(Backend::Sqlite, |s| {
        s.tus_cors_origins = vec![page_origin.clone()];
    })
    .await
    .expect("sqlite");
    let page = UPPY_PAGE
        .replace("ENDPOINT", &format!("{:?}", server.url("/api/tus/")))
        .replace("TOKEN", &token);
    let app = axum::Router::new()
        .route(
            "/",
            axum::routing::get(move || async move { axum::response::Html(page) }),
        )
        .route(
            "/uppy.min.js",
            axum::routing::get(move || async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "text/javascript")],
                    bundle,
                )
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });

    let data = random_bytes(8 * MIB + 77, 24);
    let file = file_of(work.path(), "from-the-page.bin", &data);
    let browser = driver.browser().await;
    browser.goto(&page_origin).await.unwrap();
    let pick = browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(fantoccini::Locator::Css("#pick"))
        .await
        .unwrap();
    pick.send_keys(file.to_str().unwrap()).await.unwrap();
    let mut result = String::new();
    for _ in 0..600 {
        result = browser
            .find(fantoccini::Locator::Css("#result"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if !result.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    browser.close().await.unwrap();
    let result: Value = serde_json::from_str(&result).unwrap_or_else(|_| json!({ "text": result }));
    assert_eq!(result["ok"], 1, "{result}");
    let api = server.api(&token);
    assert_eq!(
        sha256_hex(&api.download("/from-the-page.bin").await),
        sha256_hex(&data)
    );
}
