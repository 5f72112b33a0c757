//! WebDAV over the real server: the same tree as the REST API, authentication,
//! isolation between users, and the HTTP details clients rely on.
use ferry_tests::{ADMIN, ADMIN_PASSWORD, Backend, PASSWORD, TestServer, random_bytes, sha256_hex};
use reqwest::{Method, StatusCode};
use serde_json::json;

fn method(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).expect("method")
}

/// A WebDAV client speaking HTTP Basic as one user.
struct Dav {
    client: reqwest::Client,
    base: String,
    user: String,
    secret: String,
}

impl Dav {
    fn new(server: &TestServer, user: &str, secret: &str) -> Self {
        Self {
            client: reqwest::Client::new(),
            base: server.url("/webdav"),
            user: user.into(),
            secret: secret.into(),
        }
    }

    fn request(&self, verb: &str, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method(verb), format!("{}{path}", self.base))
            .basic_auth(&self.user, Some(&self.secret))
    }

    async fn put(&self, path: &str, body: Vec<u8>) -> StatusCode {
        self.request("PUT", path)
            .body(body)
            .send()
            .await
            .expect("put")
            .status()
    }

    async fn mkcol(&self, path: &str) -> StatusCode {
        self.request("MKCOL", path)
            .send()
            .await
            .expect("mkcol")
            .status()
    }

    async fn get(&self, path: &str) -> (StatusCode, Vec<u8>) {
        let response = self.request("GET", path).send().await.expect("get");
        let status = response.status();
        (status, response.bytes().await.expect("body").to_vec())
    }

    async fn propfind(&self, path: &str, depth: &str, body: &str) -> (StatusCode, String) {
        let response = self
            .request("PROPFIND", path)
            .header("Depth", depth)
            .header("Content-Type", "application/xml")
            .body(body.to_owned())
            .send()
            .await
            .expect("propfind");
        let status = response.status();
        (status, response.text().await.expect("body"))
    }
}

async fn new_user(server: &TestServer, name: &str) -> String {
    server.user_token(name).await
}

#[tokio::test]
async fn a_chunked_upload_is_byte_identical_over_webdav_and_a_put_is_a_new_version() {
    let server = TestServer::start().await;
    let admin = server.api(&server.login(ADMIN, ADMIN_PASSWORD, Some("laptop")).await);
    let data = random_bytes(3 * 1024 * 1024 + 17, 7);
    admin
        .upload_file("/Docs/report.bin", &data, 1024 * 1024)
        .await;

    let dav = Dav::new(&server, ADMIN, ADMIN_PASSWORD);
    let (status, body) = dav.get("/Docs/report.bin").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        sha256_hex(&body),
        sha256_hex(&data),
        "same bytes over WebDAV"
    );

    // The folder implied by the upload is a collection, listed with the file.
    let (status, listing) = dav.propfind("/Docs/", "1", "").await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert!(listing.contains("/webdav/Docs/report.bin"), "{listing}");
    assert!(listing.contains("<D:collection"), "{listing}");

    // A PUT over the file is version 2 through the REST API.
    let replacement = b"new content over webdav".to_vec();
    assert_eq!(
        dav.put("/Docs/report.bin", replacement.clone()).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(admin.download("/Docs/report.bin").await, replacement);
    let (status, files) = admin.get("/api/sync/files?prefix=/Docs").await;
    assert_eq!(status, StatusCode::OK);
    let file = &files["files"][0];
    assert_eq!(file["path"], "/Docs/report.bin");
    assert_eq!(file["version"], 2);
    assert_eq!(file["sha256"], sha256_hex(&replacement));

    // A new file is version 1, and the audit log names the WebDAV write.
    assert_eq!(
        dav.put("/Docs/new.txt", b"hello".to_vec()).await,
        StatusCode::CREATED
    );
    let (_, files) = admin.get("/api/sync/files?prefix=/Docs/new.txt").await;
    assert_eq!(files["files"][0]["version"], 1);
    let audit = admin
        .graphql(
            "{ auditLog(first: 20) { nodes { action targetId } } }",
            json!({}),
        )
        .await;
    let actions = audit["data"]["auditLog"]["nodes"].to_string();
    assert!(actions.contains("file.written"), "{audit}");
}

#[tokio::test]
async fn get_answers_ranges_etags_and_conditional_requests() {
    let server = TestServer::start().await;
    let dav = Dav::new(&server, ADMIN, ADMIN_PASSWORD);
    let data = random_bytes(100_000, 3);
    assert_eq!(dav.put("/r.bin", data.clone()).await, StatusCode::CREATED);

    let response = dav
        .request("GET", "/r.bin")
        .header("Range", "bytes=10-19")
        .send()
        .await
        .expect("range");
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        response.headers()["content-range"].to_str().expect("ascii"),
        "bytes 10-19/100000"
    );
    assert_eq!(
        response.bytes().await.expect("body").as_ref(),
        &data[10..20]
    );

    let head = dav.request("HEAD", "/r.bin").send().await.expect("head");
    assert_eq!(head.status(), StatusCode::OK);
    let etag = head.headers()["etag"].to_str().expect("ascii").to_owned();
    assert_eq!(etag, format!("\"{}\"", &sha256_hex(&data)[..32]));
    assert!(head.headers().contains_key("last-modified"));
    assert_eq!(head.headers()["content-length"], "100000");

    let cached = dav
        .request("GET", "/r.bin")
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("conditional");
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn credentials_basic_password_or_token_and_bearer_and_a_challenge_without() {
    let server = TestServer::start().await;
    let token = new_user(&server, "carol").await;

    let anonymous = reqwest::Client::new()
        .request(method("PROPFIND"), server.url("/webdav/"))
        .send()
        .await
        .expect("anonymous");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let challenges: Vec<_> = anonymous
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .collect();
    assert!(
        challenges.iter().any(|c| c.starts_with("Basic ")),
        "{challenges:?}"
    );
    let body: serde_json::Value = anonymous.json().await.expect("json");
    assert_eq!(body["error"]["code"], "unauthorized");

    for (user, secret) in [("carol", PASSWORD), ("carol", token.as_str())] {
        let (status, _) = Dav::new(&server, user, secret).propfind("/", "0", "").await;
        assert_eq!(status, StatusCode::MULTI_STATUS, "basic {user}");
    }
    // Wrong password, or a token presented under another user's name.
    for (user, secret) in [("carol", "wrong-password"), (ADMIN, token.as_str())] {
        let (status, _) = Dav::new(&server, user, secret).propfind("/", "0", "").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "basic {user}");
    }
    let bearer = reqwest::Client::new()
        .request(method("PROPFIND"), server.url("/webdav/"))
        .bearer_auth(&token)
        .header("Depth", "0")
        .send()
        .await
        .expect("bearer");
    assert_eq!(bearer.status(), StatusCode::MULTI_STATUS);
}

#[tokio::test]
async fn each_user_sees_only_their_own_tree() {
    let server = TestServer::start().await;
    new_user(&server, "dave").await;
    let admin = Dav::new(&server, ADMIN, ADMIN_PASSWORD);
    let dave = Dav::new(&server, "dave", PASSWORD);
    assert_eq!(admin.mkcol("/Private").await, StatusCode::CREATED);
    assert_eq!(
        admin
            .put("/Private/secret.txt", b"admin only".to_vec())
            .await,
        StatusCode::CREATED
    );

    assert_eq!(
        dave.get("/Private/secret.txt").await.0,
        StatusCode::NOT_FOUND
    );
    let (status, listing) = dave.propfind("/", "1", "").await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert!(!listing.contains("Private"), "{listing}");
    // Climbing out of the tree stays inside it.
    for path in ["/../Private/secret.txt", "/%2e%2e/Private/secret.txt"] {
        let (status, body) = dave.get(path).await;
        assert_ne!(status, StatusCode::OK, "{path}");
        assert!(!String::from_utf8_lossy(&body).contains("admin only"));
    }
    // Dave's own file at the same path is his, and the admin's is untouched.
    assert_eq!(dave.mkcol("/Private").await, StatusCode::CREATED);
    assert_eq!(
        dave.put("/Private/secret.txt", b"dave's".to_vec()).await,
        StatusCode::CREATED
    );
    assert_eq!(admin.get("/Private/secret.txt").await.1, b"admin only");
    assert_eq!(dave.get("/Private/secret.txt").await.1, b"dave's");
}

async fn moves_copies_and_deletes_keep_versions_and_tombstones(backend: Backend) {
    let Some(server) = TestServer::start_with(backend, |_| {}).await else {
        return;
    };
    let admin = server.api(&server.admin_token().await);
    let dav = Dav::new(&server, ADMIN, ADMIN_PASSWORD);
    assert_eq!(dav.mkcol("/a").await, StatusCode::CREATED);
    assert_eq!(dav.mkcol("/a/b").await, StatusCode::CREATED);
    assert_eq!(dav.mkcol("/a/b").await, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(dav.mkcol("/x/y").await, StatusCode::CONFLICT);
    assert_eq!(
        dav.put("/nowhere/f.txt", b"x".to_vec()).await,
        StatusCode::CONFLICT
    );
    assert_eq!(
        dav.put("/a/b/one.txt", b"one".to_vec()).await,
        StatusCode::CREATED
    );
    assert_eq!(
        dav.put("/a/two.txt", b"two".to_vec()).await,
        StatusCode::CREATED
    );
    // Another folder whose name differs only in case is not touched by /a's moves.
    assert_eq!(dav.mkcol("/A").await, StatusCode::CREATED);
    assert_eq!(
        dav.put("/A/keep.txt", b"keep".to_vec()).await,
        StatusCode::CREATED
    );

    let moved = dav
        .request("MOVE", "/a")
        .header("Destination", server.url("/webdav/moved"))
        .send()
        .await
        .expect("move");
    assert_eq!(moved.status(), StatusCode::CREATED);
    assert_eq!(dav.get("/moved/b/one.txt").await.1, b"one");
    assert_eq!(dav.get("/a/two.txt").await.0, StatusCode::NOT_FOUND);
    assert_eq!(dav.get("/A/keep.txt").await.1, b"keep");

    let copied = dav
        .request("COPY", "/moved/two.txt")
        .header("Destination", server.url("/webdav/moved/b/copy.txt"))
        .send()
        .await
        .expect("copy");
    assert_eq!(copied.status(), StatusCode::CREATED);
    assert_eq!(admin.download("/moved/b/copy.txt").await, b"two");

    assert_eq!(
        dav.request("DELETE", "/moved/b")
            .send()
            .await
            .expect("delete")
            .status(),
        StatusCode::NO_CONTENT
    );
    let (_, files) = admin.get("/api/sync/files").await;
    let paths: Vec<&str> = files["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert_eq!(paths, vec!["/A/keep.txt", "/moved/two.txt"]);

    // The moved and deleted files are tombstones that a sync plan carries.
    server.login(ADMIN, ADMIN_PASSWORD, Some("phone")).await;
    let schedule = admin
        .graphql(
            "mutation($input: CreateScheduleInput!) { createSchedule(input: $input) { id } }",
            json!({ "input": {
                "deviceId": "phone", "scheduleType": "DAILY", "timeOfDay": "03:00",
                "syncDeletions": true
            } }),
        )
        .await;
    let schedule_id = schedule["data"]["createSchedule"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{schedule}"))
        .to_owned();
    let run = admin
        .graphql(
            "mutation($id: ID!) { runScheduleNow(id: $id) { changes { path change } } }",
            json!({ "id": schedule_id }),
        )
        .await;
    let changes: Vec<(String, String)> = run["data"]["runScheduleNow"]["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("{run}"))
        .iter()
        .map(|c| {
            (
                c["path"].as_str().unwrap_or("").to_owned(),
                c["change"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    for deleted in [
        "/a/two.txt",
        "/a/b/one.txt",
        "/moved/b/one.txt",
        "/moved/b/copy.txt",
    ] {
        assert!(
            changes.contains(&(deleted.to_owned(), "DELETE".to_owned())),
            "{deleted} deleted in {changes:?}"
        );
    }
    for live in ["/moved/two.txt", "/A/keep.txt"] {
        assert!(
            changes.contains(&(live.to_owned(), "UPSERT".to_owned())),
            "{live} in {changes:?}"
        );
    }
}

#[tokio::test]
async fn moves_copies_and_deletes_keep_versions_and_tombstones_sqlite() {
    moves_copies_and_deletes_keep_versions_and_tombstones(Backend::Sqlite).await;
}

#[tokio::test]
async fn moves_copies_and_deletes_keep_versions_and_tombstones_postgres() {
    moves_copies_and_deletes_keep_versions_and_tombstones(Backend::Postgres).await;
}

#[tokio::test]
async fn quota_properties_report_usage() {
    let server = TestServer::start().await;
    let dav = Dav::new(&server, ADMIN, ADMIN_PASSWORD);
    assert_eq!(
        dav.put("/q.bin", vec![7u8; 12_345]).await,
        StatusCode::CREATED
    );
    let (status, body) = dav
        .propfind(
            "/",
            "0",
            r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop>
               <D:quota-used-bytes/><D:quota-available-bytes/></D:prop></D:propfind>"#,
        )
        .await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert!(
        body.contains("quota-used-bytes>12345<"),
        "used bytes in {body}"
    );
    assert!(body.contains("quota-available-bytes>"), "{body}");
}

#[tokio::test]
async fn an_interrupted_put_leaves_nothing_behind() {
    let server = TestServer::start().await;
    let dav = Dav::new(&server, ADMIN, ADMIN_PASSWORD);
    assert_eq!(
        dav.put("/keep.txt", b"old".to_vec()).await,
        StatusCode::CREATED
    );
    // Announce 1 MiB, send 1 KiB, hang up.
    let address = server.url("").trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    use base64::Engine;
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("{ADMIN}:{ADMIN_PASSWORD}"));
    let head = format!(
        "PUT /webdav/keep.txt HTTP/1.1\r\nHost: {address}\r\nAuthorization: Basic {auth}\r\nContent-Length: 1048576\r\n\r\n"
    );
    use tokio::io::AsyncWriteExt;
    stream.write_all(head.as_bytes()).await.expect("head");
    stream.write_all(&[1u8; 1024]).await.expect("some body");
    drop(stream);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(dav.get("/keep.txt").await.1, b"old");
    let leftovers: Vec<_> = ferry_tests::files_below(&server.data_dir().join("blobs"))
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn a_file_cannot_sit_below_a_file_or_on_a_folder() {
    let server = TestServer::start().await;
    let api = server.api(&server.login(ADMIN, ADMIN_PASSWORD, Some("laptop")).await);
    api.upload_file("/report.txt", b"a file", 1024).await;
    api.upload_file("/Folder/inside.txt", b"makes /Folder a folder", 1024)
        .await;
    for path in ["/report.txt/child.txt", "/Folder"] {
        let (status, body) = api.start_upload(path, 3, None, None).await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {body}");
        assert_eq!(ferry_tests::code(&body), "path_conflict", "{path}");
    }
    let dav = Dav::new(&server, ADMIN, ADMIN_PASSWORD);
    assert_eq!(
        dav.mkcol("/report.txt").await,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        dav.put("/report.txt/child.txt", b"x".to_vec()).await,
        StatusCode::CONFLICT
    );
}

#[tokio::test]
async fn a_partial_put_is_refused_and_creates_nothing() {
    let server = TestServer::start().await;
    let dav = Dav::new(&server, ADMIN, ADMIN_PASSWORD);
    for path in ["/new.bin", "/old.bin"] {
        if path == "/old.bin" {
            assert_eq!(
                dav.put(path, b"0123456789".to_vec()).await,
                StatusCode::CREATED
            );
        }
        let response = dav
            .request("PUT", path)
            .header("Content-Range", "bytes 2-4/10")
            .body(b"abc".to_vec())
            .send()
            .await
            .expect("partial put");
        assert_eq!(response.status(), StatusCode::NOT_IMPLEMENTED, "{path}");
    }
    assert_eq!(dav.get("/new.bin").await.0, StatusCode::NOT_FOUND);
    assert_eq!(dav.get("/old.bin").await.1, b"0123456789");
}
