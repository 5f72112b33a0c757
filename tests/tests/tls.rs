//! HTTPS end to end: the real server with a certificate made in the test, real
//! TLS clients (reqwest over rustls, tokio-tungstenite for `wss://`), HTTP/2 checked
//! from the client side, the plain-HTTP redirect, reload on a real SIGHUP, and the
//! one-line start-up error for a bad key.
use std::{path::Path, process::Stdio, sync::Arc, time::Duration};

use api::tls::{TlsFiles, write_self_signed};
use ferry_tests::{Backend, ProcessServer, TestServer, random_bytes, tls_client};
use futures_util::SinkExt;
use reqwest::{Client, Method, StatusCode, Version, redirect::Policy};
use serde_json::json;
use tokio_tungstenite::{Connector, tungstenite::Message};

const BIN: &str = env!("CARGO_BIN_EXE_ferry-under-test");
const HOSTS: [&str; 2] = ["localhost", "127.0.0.1"];

fn certificate(dir: &Path) -> TlsFiles {
    let hosts: Vec<String> = HOSTS.iter().map(|h| (*h).to_owned()).collect();
    write_self_signed(&hosts, dir).expect("self-signed certificate")
}

fn client_for(files: &TlsFiles) -> Client {
    tls_client(&std::fs::read(&files.cert).expect("read cert"))
}

/// A `wss://` graphql-transport-ws connection that trusts only `cert`, initialised with `token`.
async fn wss_connect(base: &str, cert: &Path, token: &str) -> ferry_tests::socket::GraphqlSocket {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let mut roots = rustls::RootCertStore::empty();
    for der in CertificateDer::pem_file_iter(cert).expect("pem") {
        roots.add(der.expect("certificate")).expect("add root");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let request = ferry_tests::socket::request(base);
    assert_eq!(request.uri().scheme_str(), Some("wss"), "{base}");
    let (mut socket, _) = tokio_tungstenite::connect_async_tls_with_config(
        request,
        None,
        false,
        Some(Connector::Rustls(Arc::new(config))),
    )
    .await
    .expect("wss connect");
    ferry_tests::socket::init(&mut socket, token).await;
    socket
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_serves_uploads_graphql_subscriptions_and_webdav_over_http2() {
    let certs = tempfile::tempdir().expect("tempdir");
    let files = certificate(certs.path());
    let server = TestServer::start_with(Backend::Sqlite, |s| {
        s.tls_cert = Some(files.cert.clone());
        s.tls_key = Some(files.key.clone());
    })
    .await
    .expect("server");
    assert!(server.base.starts_with("https://"), "{}", server.base);

    // HTTP/2 is what the client negotiated by ALPN; HSTS and nosniff are on.
    let health = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.version(), Version::HTTP_2);
    assert_eq!(
        health.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    assert_eq!(health.headers()["x-content-type-options"], "nosniff");
    // A client that offers only HTTP/1.1 is served too, on the same port.
    let http1 = Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(&files.cert).expect("cert"))
                .expect("pem"),
        )
        .http1_only()
        .build()
        .expect("client");
    let health = http1
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("healthz over HTTP/1.1");
    assert_eq!(health.version(), Version::HTTP_11);

    // The dashboard over HTTPS: its security headers, and a `Secure` session cookie.
    let login_page = server
        .client
        .get(server.url("/login"))
        .send()
        .await
        .expect("login page");
    assert_eq!(login_page.status(), StatusCode::OK);
    let csp = login_page.headers()["content-security-policy"]
        .to_str()
        .expect("csp");
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"),
        "{csp}"
    );
    assert_eq!(login_page.headers()["x-content-type-options"], "nosniff");
    let no_follow = Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(&files.cert).expect("cert"))
                .expect("pem"),
        )
        .redirect(Policy::none())
        .build()
        .expect("client");
    let signed_in = no_follow
        .post(server.url("/dashboard/fn/login"))
        .header("accept", "text/html")
        .header("origin", &server.base)
        .header("referer", server.url("/login"))
        .form(&[
            ("username", ferry_tests::ADMIN),
            ("password", ferry_tests::ADMIN_PASSWORD),
        ])
        .send()
        .await
        .expect("dashboard login");
    assert_eq!(signed_in.status(), StatusCode::FOUND);
    let cookie = signed_in.headers()["set-cookie"].to_str().expect("cookie");
    for part in ["ferry_session=", "HttpOnly", "SameSite=Strict", "Secure"] {
        assert!(cookie.contains(part), "{part} missing: {cookie}");
    }

    let token = server.user_token("alice").await;
    let api = server.api(&token);

    // wss:// subscription to the caller's uploads, open before the upload starts.
    let mut socket = wss_connect(&server.base, &files.cert, &token).await;
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": {
        "query": "subscription { uploads { uploadId status completedChunks } }" } });
    socket
        .send(Message::Text(subscribe.to_string().into()))
        .await
        .expect("subscribe");
    tokio::time::sleep(Duration::from_millis(200)).await;

    // A chunked upload over HTTPS, downloaded back identical.
    let data = random_bytes(3 * 1024 * 1024 + 17, 8);
    let done = api
        .upload_file("docs/over-tls.bin", &data, 1024 * 1024)
        .await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(api.download("docs/over-tls.bin").await, data);
    let event = ferry_tests::socket::next_json(&mut socket).await;
    assert_eq!(event["type"], "next", "{event}");
    assert!(
        event["payload"]["data"]["uploads"]["uploadId"].is_string(),
        "{event}"
    );

    // A GraphQL query.
    let answer = api.graphql("{ me { username } }", json!({})).await;
    assert_eq!(answer["data"]["me"]["username"], "alice", "{answer}");

    // WebDAV PUT, PROPFIND and GET.
    let dav = |method: &str, path: &str| {
        server
            .client
            .request(
                Method::from_bytes(method.as_bytes()).expect("method"),
                server.url(path),
            )
            .bearer_auth(&token)
    };
    let put = dav("PUT", "/webdav/docs/dav.txt")
        .body("hello over TLS")
        .send()
        .await
        .expect("put");
    assert_eq!(put.status(), StatusCode::CREATED);
    assert_eq!(put.version(), Version::HTTP_2);
    let listing = dav("PROPFIND", "/webdav/docs/")
        .header("depth", "1")
        .send()
        .await
        .expect("propfind");
    assert_eq!(listing.status().as_u16(), 207);
    let xml = listing.text().await.expect("xml");
    assert!(
        xml.contains("dav.txt") && xml.contains("over-tls.bin"),
        "{xml}"
    );
    let get = dav("GET", "/webdav/docs/dav.txt")
        .send()
        .await
        .expect("get");
    assert_eq!(get.status(), StatusCode::OK);
    assert_eq!(get.text().await.expect("body"), "hello over TLS");
}

fn send_hangup(server: &ProcessServer) {
    let pid = server.child.id().expect("running").to_string();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
}

fn copy_certificate(from: &TlsFiles, to: &TlsFiles) {
    std::fs::copy(&from.cert, &to.cert).expect("copy cert");
    std::fs::copy(&from.key, &to.key).expect("copy key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_certificate_without_dropping_connections_and_http_redirects() {
    let root = tempfile::tempdir().expect("tempdir");
    // Certificate A from the real `ferry cert self-signed` command.
    let out = std::process::Command::new(BIN)
        .args(["cert", "self-signed", "--host", "localhost", "--host"])
        .arg("127.0.0.1")
        .arg("--out")
        .arg(root.path().join("a"))
        .output()
        .expect("ferry cert self-signed");
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("--tls-cert"));
    let a = TlsFiles {
        cert: root.path().join("a/cert.pem"),
        key: root.path().join("a/key.pem"),
    };
    let b = certificate(&root.path().join("b"));
    let live = TlsFiles {
        cert: root.path().join("cert.pem"),
        key: root.path().join("key.pem"),
    };
    copy_certificate(&a, &live);

    let data = root.path().join("data");
    let trusts_a = client_for(&a);
    let server = ProcessServer::spawn_with_client(
        BIN,
        &data,
        &[
            ("FERRY_TLS_CERT", live.cert.to_str().expect("utf-8")),
            ("FERRY_TLS_KEY", live.key.to_str().expect("utf-8")),
            ("FERRY_HTTP_REDIRECT_BIND", "127.0.0.1:0"),
        ],
        &trusts_a,
    )
    .await;
    assert!(server.base.starts_with("https://"));

    // Plain HTTP on the redirect port: a permanent redirect to the same path over HTTPS.
    let plain = ProcessServer::wait_for_address(&server.log, "redirecting plain HTTP").await;
    let no_follow = Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client");
    let answer = no_follow
        .get(format!("{plain}/api/sync/files?path=docs"))
        .send()
        .await
        .expect("plain request");
    assert_eq!(answer.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(
        answer.headers()["location"],
        format!("{}/api/sync/files?path=docs", server.base).as_str()
    );
    let followed = trusts_a
        .get(format!("{plain}/healthz"))
        .send()
        .await
        .expect("followed");
    assert_eq!(followed.status(), StatusCode::OK);
    assert_eq!(followed.url().scheme(), "https");

    // An established HTTP/2 connection (trusting only A) is open before the reload.
    let before = trusts_a
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .expect("before");
    assert_eq!(before.version(), Version::HTTP_2);

    copy_certificate(&b, &live);
    send_hangup(&server);
    server.wait_for_log("TLS certificate reloaded").await;

    // The established connection still works (a new one would not verify: B is not trusted).
    let after = trusts_a
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .expect("the established connection survives the reload");
    assert_eq!(after.status(), StatusCode::OK);
    // New connections see certificate B.
    let fresh_a = client_for(&a)
        .get(format!("{}/healthz", server.base))
        .send()
        .await;
    assert!(fresh_a.is_err(), "a new connection still got certificate A");
    let fresh_b = client_for(&b)
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .expect("certificate B");
    assert_eq!(fresh_b.status(), StatusCode::OK);

    // A broken key on the next reload is logged; B stays in use.
    std::fs::write(&live.key, "not a key").expect("write");
    send_hangup(&server);
    server.wait_for_log("TLS reload failed").await;
    let still_b = client_for(&b)
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .expect("certificate B after a failed reload");
    assert_eq!(still_b.status(), StatusCode::OK);
}

/// `ferry serve` with these TLS files: its exit status and standard error.
async fn serve_with(cert: &Path, key: &Path, data: &Path) -> (std::process::ExitStatus, String) {
    let child = tokio::process::Command::new(BIN)
        .arg("serve")
        .env_clear()
        .env("FERRY_BIND", "127.0.0.1:0")
        .env("FERRY_DATA_DIR", data)
        .env("FERRY_TLS_CERT", cert)
        .env("FERRY_TLS_KEY", key)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("ferry exits instead of serving")
        .expect("output");
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_one_line_naming(stderr: &str, file: &Path) {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(
        lines[0].contains(&file.display().to_string()),
        "names {}: {stderr}",
        file.display()
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_or_missing_certificate_files_fail_start_up_with_one_line_naming_the_file() {
    let root = tempfile::tempdir().expect("tempdir");
    let good = certificate(&root.path().join("good"));
    let other = certificate(&root.path().join("other"));
    let data = root.path().join("data");

    let garbage = root.path().join("garbage-key.pem");
    std::fs::write(&garbage, "-----BEGIN PRIVATE KEY-----\nnot base64!\n").expect("write");
    let (status, stderr) = serve_with(&good.cert, &garbage, &data).await;
    assert!(!status.success());
    assert_one_line_naming(&stderr, &garbage);

    let missing = root.path().join("no-such-cert.pem");
    let (status, stderr) = serve_with(&missing, &good.key, &data).await;
    assert!(!status.success());
    assert_one_line_naming(&stderr, &missing);

    let (status, stderr) = serve_with(&good.cert, &other.key, &data).await;
    assert!(!status.success());
    assert_one_line_naming(&stderr, &other.key);
    // Nothing was created: the check runs before the database is opened.
    assert!(!data.join("ferry.db").exists());
}
