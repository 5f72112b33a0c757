//! Hostile requests against the real server: each is refused with a clear
//! error in the SPEC's format, and the server keeps serving.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::{os::unix::fs::PermissionsExt, time::Duration};

use ferry_tests::{Backend, PASSWORD, TestServer, code, parts, random_bytes, sha256_hex};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn method(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).unwrap()
}

async fn alive(server: &TestServer) {
    // A fresh client: the pooled connection of a refused body may have been closed.
    let response = reqwest::Client::new()
        .get(server.url("/healthz"))
        .send()
        .await;
    assert_eq!(
        response.unwrap().status(),
        StatusCode::OK,
        "the server died"
    );
}

/// `POST /graphql` of a raw JSON body, without credentials.
async fn post_graphql(server: &TestServer, body: String) -> (StatusCode, serde_json::Value) {
    let response = server
        .client
        .post(server.url("/graphql"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    parts(response).await
}

/// `{ me(x: OPEN…1…CLOSE) { id } }`, nested `depth` times.
fn deep_query(open: &str, close: &str, depth: usize) -> String {
    format!(
        "{{ me(x: {}1{}) {{ id }} }}",
        open.repeat(depth),
        close.repeat(depth)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_graphql_literals_are_refused_before_parsing() {
    let server = TestServer::start().await;
    // Unauthenticated, 4 KB: a list literal 2,000 levels deep (it used to overflow
    // the stack), and an object literal.
    for deep in [deep_query("[", "]", 2000), deep_query("{a: ", "}", 2000)] {
        let (status, body) = post_graphql(&server, json!({ "query": deep }).to_string()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "invalid_input",
            "{body}"
        );
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("nests"),
            "{body}"
        );
    }
    // Deep variables: serde_json's own limit refuses them.
    let variables = format!(
        "{{\"query\": \"query($v: String) {{ me {{ id }} }}\", \"variables\": {{\"v\": {}1{}}}}}",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let (status, body) = post_graphql(&server, variables).await;
    assert!(status.is_client_error(), "{status} {body}");
    // The same over the WebSocket.
    let token = server.user_token("ivy").await;
    let mut socket = ferry_tests::socket::connect(&server.base, Some(&token)).await;
    let deep = deep_query("[", "]", 2000);
    ferry_tests::socket::subscribe(&mut socket, "1", &deep, json!({})).await;
    let answer = ferry_tests::socket::next_json(&mut socket).await;
    assert_eq!(
        answer["payload"]["errors"][0]["extensions"]["code"], "invalid_input",
        "{answer}"
    );
    alive(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_is_refused_from_its_length_without_being_read() {
    let server = TestServer::start().await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    // Announce 1 GiB, send only the headers: the answer must come anyway.
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{{",
        1u64 << 30
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut answer))
        .await
        .expect("an answer without the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("payload_too_large"), "{answer}");
    // A chunked body that grows past the limit is cut off at the limit.
    let big = vec![b' '; 2 << 20];
    let response = server
        .client
        .post(server.url("/api/auth/login"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            big.chunks(64 * 1024)
                .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
                .collect::<Vec<_>>(),
        )))
        .send()
        .await
        .unwrap();
    let (status, body) = parts(response).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(code(&body), "payload_too_large");
    alive(&server).await;
}

async fn on_both(test: impl AsyncFn(TestServer)) {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let tweak = |s: &mut api::config::Settings| {
            s.bounds.webdav_max_locks = 5;
            s.bounds.webdav_max_lock_secs = 600;
        };
        if let Some(server) = TestServer::start_with(backend, tweak).await {
            test(server).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webdav_refuses_deep_xml_foreign_destinations_and_lock_floods() {
    on_both(async |server: TestServer| {
        server.user_token("alice").await;
        let dav = |verb: &str, path: &str| {
            server
                .client
                .request(method(verb), server.url(&format!("/webdav{path}")))
                .basic_auth("alice", Some(PASSWORD))
        };
        let deep = format!(
            "<?xml version=\"1.0\"?><D:propfind xmlns:D=\"DAV:\">{}{}</D:propfind>",
            "<D:prop>".repeat(600),
            "</D:prop>".repeat(600)
        );
        for verb in ["PROPFIND", "PROPPATCH", "LOCK"] {
            let response = dav(verb, "/").body(deep.clone()).send().await.unwrap();
            let (status, body) = parts(response).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{verb}: {body}");
            assert_eq!(code(&body), "invalid_input");
        }
        let entity = "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\">]><D:propfind xmlns:D=\"DAV:\"><D:allprop/></D:propfind>";
        let response = dav("PROPFIND", "/").body(entity).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);

        assert_eq!(dav("PUT", "/a.txt").body("hello").send().await.unwrap().status(), StatusCode::CREATED);
        let foreign = dav("COPY", "/a.txt")
            .header("destination", "http://elsewhere.example/webdav/b.txt")
            .send()
            .await
            .unwrap();
        let (status, body) = parts(foreign).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
        assert_eq!(code(&body), "foreign_destination");
        let local = dav("COPY", "/a.txt")
            .header("destination", server.url("/webdav/b.txt"))
            .send()
            .await
            .unwrap();
        assert_eq!(local.status(), StatusCode::CREATED);

        // Locks: Timeout: Infinite is granted the maximum, the sixth lock is refused.
        let owner = format!("<D:owner>{}</D:owner>", "x".repeat(1000));
        let lock_body = format!("<?xml version=\"1.0\"?><D:lockinfo xmlns:D=\"DAV:\"><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype>{owner}</D:lockinfo>");
        for n in 0..5 {
            let response = dav("LOCK", &format!("/l{n}.txt"))
                .header("timeout", "Infinite")
                .body(lock_body.clone())
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success(), "{}", response.status());
            let text = response.text().await.unwrap();
            assert!(text.contains("Second-600"), "{text}");
        }
        let response = dav("LOCK", "/l5.txt").body(lock_body.clone()).send().await.unwrap();
        assert_eq!(response.headers()["retry-after"], "60");
        let (status, body) = parts(response).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert_eq!(code(&body), "too_many_locks");
        let huge_owner = lock_body.replace(&"x".repeat(1000), &"x".repeat(20_000));
        let response = dav("LOCK", "/l6.txt").body(huge_owner).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

        // 2,000 overlapping ranges of a 1 MiB file: the file is sent once, whole.
        let data = random_bytes(1 << 20, 5);
        assert_eq!(dav("PUT", "/big.bin").body(data.clone()).send().await.unwrap().status(), StatusCode::CREATED);
        let ranges = format!("bytes={}", vec!["0-1048575"; 2000].join(","));
        let response = dav("GET", "/big.bin").header("range", ranges).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.bytes().await.unwrap().len(), data.len());
        let response = dav("GET", "/big.bin").header("range", "bytes=0-9,100-109").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT, "a few disjoint ranges still work");
        alive(&server).await;
    })
    .await;
}

const DEVICE_VIEW: &str = "{ uploads { uploadId filePath } schedules { id deviceId } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_token_sees_only_its_own_device() {
    on_both(async |server: TestServer| {
        let laptop = server.user_token("bob").await;
        let phone = server.login("bob", PASSWORD, Some("phone")).await;
        let (laptop_api, phone_api) = (server.api(&laptop), server.api(&phone));
        let data = random_bytes(2048, 9);
        let hash = sha256_hex(&data);
        let (_, laptop_upload) = laptop_api
            .start_upload("/laptop.bin", 2048, Some(1024), Some(&hash))
            .await;
        let (status, phone_upload) = phone_api
            .post(
                "/api/sync/upload/start",
                json!({ "device_id": "phone", "file_path": "/phone.bin", "file_name": "phone.bin",
                        "total_size": 2048, "chunk_size": 1024, "file_hash": hash }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{phone_upload}");
        let admin = server.api(&server.admin_token().await);
        let bob = laptop_api.get("/api/me").await.1["id"].clone();
        let mut schedule_ids = Vec::new();
        for device in ["laptop", "phone"] {
            let (status, body) = admin
                .post(
                    "/api/sync/schedule/create",
                    json!({ "device_id": device, "user_id": bob, "schedule_type": "daily", "time_of_day": "03:00" }),
                )
                .await;
            assert!(status.is_success(), "{body}");
            schedule_ids.push(body["schedule_id"].clone());
        }
        // Subscriptions: the phone hears its own upload and run, never the laptop's
        // (the laptop's events are sent first, so a leak would arrive first).
        let mut socket = ferry_tests::socket::connect(&server.base, Some(&phone)).await;
        let subscribe = ferry_tests::socket::subscribe;
        subscribe(&mut socket, "u", "subscription { uploads { filePath } }", json!({})).await;
        subscribe(&mut socket, "r", "subscription { scheduleRuns { deviceId } }", json!({})).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        for (api, upload) in [(&laptop_api, &laptop_upload), (&phone_api, &phone_upload)] {
            let (status, body) = api
                .put_chunk(upload["upload_id"].as_str().unwrap(), 0, &data[..1024])
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let event = ferry_tests::socket::next_json(&mut socket).await;
        assert_eq!(event["id"], "u", "{event}");
        assert_eq!(event["payload"]["data"]["uploads"]["filePath"], "/phone.bin", "{event}");
        for id in &schedule_ids {
            let ran = admin
                .graphql("mutation($id: ID!) { runScheduleNow(id: $id) { id } }", json!({ "id": id }))
                .await;
            assert!(ran["errors"].is_null(), "{ran}");
        }
        let event = ferry_tests::socket::next_json(&mut socket).await;
        assert_eq!(event["id"], "r", "{event}");
        assert_eq!(event["payload"]["data"]["scheduleRuns"]["deviceId"], "phone", "{event}");
        let seen = phone_api.graphql(DEVICE_VIEW, json!({})).await;
        let uploads = seen["data"]["uploads"].as_array().unwrap();
        assert_eq!(uploads.len(), 1, "{seen}");
        assert_eq!(uploads[0]["filePath"], "/phone.bin");
        let schedules = seen["data"]["schedules"].as_array().unwrap();
        assert_eq!(schedules.len(), 1, "{seen}");
        assert_eq!(schedules[0]["deviceId"], "phone", "{seen}");
        let (_, listed) = phone_api.get("/api/sync/schedule/list?device_id=laptop").await;
        assert_eq!(listed["schedules"].as_array().map(Vec::len), Some(0), "{listed}");
        let (_, listed) = laptop_api.get("/api/sync/schedule/list?device_id=laptop").await;
        assert_eq!(listed["schedules"].as_array().map(Vec::len), Some(1), "{listed}");
        // The laptop's token cannot be revoked (or seen) by the phone.
        let tokens = laptop_api.graphql("{ tokens { id device } }", json!({})).await;
        let listed = tokens["data"]["tokens"].as_array().unwrap();
        assert_eq!(listed.len(), 1, "the phone's token is not listed: {tokens}");
        let laptop_token = listed[0]["id"].as_str().unwrap().to_owned();
        let revoke = phone_api
            .graphql("mutation($id: ID!) { revokeToken(id: $id) }", json!({ "id": laptop_token }))
            .await;
        assert_eq!(revoke["errors"][0]["extensions"]["code"], "not_found", "{revoke}");
        assert_eq!(laptop_api.get("/api/me").await.0, StatusCode::OK);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previews_at_the_ends_of_the_calendar_are_422() {
    let server = TestServer::start().await;
    let api = server.api(&server.user_token("carol").await);
    for after in [
        "+262142-12-31T23:59:59Z",
        "-262143-01-01T00:00:00Z",
        "9999-12-31T23:00:00Z",
    ] {
        let answer = api
            .graphql(
                "query($after: DateTime!) { schedulePreview(input: { scheduleType: MONTHLY, timeOfDay: \"12:00\", dayOfMonth: 31 }, after: $after, count: 1000) }",
                json!({ "after": after }),
            )
            .await;
        if after.starts_with("9999") {
            assert!(answer["errors"].is_null(), "{answer}");
        } else {
            assert_eq!(
                answer["errors"][0]["extensions"]["code"], "invalid_date",
                "{after}: {answer}"
            );
        }
    }
    alive(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_directory_is_private() {
    let server = TestServer::start().await;
    let api = server.api(&server.user_token("dave").await);
    let data = random_bytes(4096, 1);
    api.upload_file("/secret.bin", &data, 4096).await;
    let dir = server.data_dir();
    assert_eq!(
        std::fs::metadata(dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    for file in ferry_tests::files_below(dir) {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{} is {mode:o}", file.display());
    }
}
