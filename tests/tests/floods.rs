//! Floods and stalls against the real server: login floods stay within memory
//! and leave signed-in users fast, stalled connections and bodies are let go,
//! and revoked credentials lose their open sockets.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::{Duration, Instant};

use ferry_tests::socket::GraphqlSocket as Socket;
use ferry_tests::{
    ADMIN, ADMIN_PASSWORD, Backend, PASSWORD, ProcessServer, TestServer, parts, random_bytes,
    sha256_hex,
};
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;

const MIB: u64 = 1 << 20;

/// One wrong-password attempt through REST, GraphQL or WebDAV; its status.
async fn wrong_password(client: &reqwest::Client, base: &str, n: usize) -> StatusCode {
    let request = match n % 3 {
        0 => client
            .post(format!("{base}/api/auth/login"))
            .json(&json!({ "username": ADMIN, "password": format!("wrong-{n}") })),
        1 => client.post(format!("{base}/graphql")).json(&json!({
            "query": "mutation($p: String!) { login(username: \"admin\", password: $p) { token } }",
            "variables": { "p": format!("wrong-{n}") },
        })),
        _ => client
            .request(
                reqwest::Method::from_bytes(b"PROPFIND").unwrap(),
                format!("{base}/webdav/"),
            )
            .basic_auth(ADMIN, Some(format!("wrong-{n}"))),
    };
    let response = request.send().await.unwrap();
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    // GraphQL answers 200 with the error inside.
    match status {
        StatusCode::OK if body.contains("too_many_attempts") => StatusCode::TOO_MANY_REQUESTS,
        StatusCode::OK if body.contains("unauthorized") => StatusCode::UNAUTHORIZED,
        other => other,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_stays_small_and_leaves_signed_in_users_fast() {
    let dir = tempfile::TempDir::new().unwrap();
    let server = ProcessServer::spawn(
        env!("CARGO_BIN_EXE_ferry-under-test"),
        &dir.path().join("data"),
        &[],
    )
    .await;
    let api = server.admin_api().await;
    let before = server.peak_rss();

    // A signed-in user keeps working while 500 wrong passwords arrive, 96 at a time.
    let user = api.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watching = stop.clone();
    let latencies = tokio::spawn(async move {
        let mut seen = Vec::new();
        while !watching.load(std::sync::atomic::Ordering::Relaxed) {
            let started = Instant::now();
            let (status, _) = user.get("/api/sync/schedule/list").await;
            assert_eq!(status, StatusCode::OK);
            seen.push(started.elapsed());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        seen
    });
    let client = reqwest::Client::new();
    let started = Instant::now();
    let statuses: Vec<StatusCode> = futures_util::stream::iter(0..500)
        .map(|n| {
            let (client, base) = (client.clone(), server.base.clone());
            async move { wrong_password(&client, &base, n).await }
        })
        .buffer_unordered(96)
        .collect()
        .await;
    let flood = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut latencies = latencies.await.unwrap();
    latencies.sort();
    let p95 = latencies[latencies.len() * 95 / 100];
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    let unauthorized = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let peak = server.peak_rss();
    eprintln!(
        "login flood: {} attempts in {flood:?} ({:.0}/s), {refused} refused (429), {unauthorized} checked (401); \
         peak RSS {} MiB (before {} MiB); signed-in p95 {p95:?} over {} requests",
        statuses.len(),
        statuses.len() as f64 / flood.as_secs_f64(),
        peak / MIB,
        before / MIB,
        latencies.len()
    );
    assert_eq!(refused + unauthorized, 500, "{statuses:?}");
    assert!(refused > 400, "most of the flood is refused before hashing");
    assert!(peak < 192 * MIB, "peak RSS {} MiB", peak / MIB);
    assert!(p95 < Duration::from_millis(750), "signed-in p95 {p95:?}");

    // The failures are audited with the client's address.
    let audit = api
        .graphql(
            "{ auditLog(first: 5) { nodes { action after } } }",
            json!({}),
        )
        .await;
    let text = audit.to_string();
    assert!(
        text.contains("login.failed") && text.contains("127.0.0.1"),
        "{text}"
    );

    // The real password works again once the address's wait is over.
    let response = client
        .post(format!("{}/api/auth/login", server.base))
        .json(&json!({ "username": ADMIN, "password": ADMIN_PASSWORD }))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let retry: u64 = match status {
        StatusCode::OK => 0,
        StatusCode::TOO_MANY_REQUESTS => response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap(),
        other => panic!("unexpected {other}"),
    };
    assert!(retry <= 6, "a short wait, not a lock-out: {retry} s");
    tokio::time::sleep(Duration::from_secs(retry)).await;
    let response = client
        .post(format!("{}/api/auth/login", server.base))
        .json(&json!({ "username": ADMIN, "password": ADMIN_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_header_sockets_are_closed_while_others_are_served() {
    let server = TestServer::start_with(Backend::Sqlite, |s| s.bounds.header_timeout_secs = 5)
        .await
        .unwrap();
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut stalled = Vec::new();
    for _ in 0..1500 {
        let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
        socket
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        stalled.push(socket);
    }
    let started = Instant::now();
    let (status, _) = parts(
        server
            .client
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(2));
    // Every stalled socket is closed by the server (read returns 0 or an error).
    let deadline = Instant::now() + Duration::from_secs(40);
    for mut socket in stalled {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut buffer = [0u8; 512];
        let closed = tokio::time::timeout(left, async {
            loop {
                match tokio::io::AsyncReadExt::read(&mut socket, &mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "a stalled socket was still open after 40 s");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_chunk_hash_frees_the_chunk_after_the_idle_timeout() {
    let server = TestServer::start_with(Backend::Sqlite, |s| s.chunk_idle_timeout_secs = 2)
        .await
        .unwrap();
    let token = server.user_token("erin").await;
    let api = server.api(&token);
    let data = random_bytes(1024, 4);
    let hash = sha256_hex(&data);
    let (_, started) = api
        .start_upload("/stall.bin", 1024, Some(1024), Some(&hash))
        .await;
    let id = started["upload_id"].as_str().unwrap().to_owned();
    // chunk_file whole, then chunk_hash that never ends.
    let boundary = "XyZ";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"chunk_file\"; filename=\"c\"\r\n\r\n"
    );
    let mut body = head.into_bytes();
    body.extend_from_slice(&data);
    body.extend_from_slice(
        format!(
            "\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"chunk_hash\"\r\n\r\n{}",
            &hash[..10]
        )
        .as_bytes(),
    );
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    let request = format!(
        "POST /api/sync/upload/{id}/chunk/0 HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len() + 200
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    socket.write_all(&body).await.unwrap();
    let mut answer = vec![0u8; 2048];
    let n = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::io::AsyncReadExt::read(&mut socket, &mut answer),
    )
    .await
    .expect("answered after the idle timeout")
    .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // The chunk is free: a retry goes through.
    let (status, done) = api.put_chunk(&id, 0, &data).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_webdav_put_is_given_up_and_leaves_nothing() {
    let server = TestServer::start_with(Backend::Sqlite, |s| s.bounds.body_idle_timeout_secs = 2)
        .await
        .unwrap();
    server.user_token("fay").await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("fay:{PASSWORD}"));
    let request = format!(
        "PUT /webdav/half.bin HTTP/1.1\r\nHost: {address}\r\nAuthorization: Basic {basic}\r\nContent-Length: 100000\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    socket.write_all(&[7u8; 1000]).await.unwrap();
    let mut answer = vec![0u8; 2048];
    let read = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::io::AsyncReadExt::read(&mut socket, &mut answer),
    )
    .await;
    assert!(read.is_ok(), "the stalled PUT was still open after 10 s");
    let response = server
        .client
        .get(server.url("/webdav/half.bin"))
        .basic_auth("fay", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "no half-written file is visible"
    );
}

async fn socket(server: &TestServer, token: Option<&str>) -> Socket {
    ferry_tests::socket::connect(&server.base, token).await
}

/// Seconds until the server closes `socket` (panics after `limit`), and its close code.
async fn closed_within(socket: &mut Socket, limit: Duration) -> (Duration, Option<u16>) {
    let started = Instant::now();
    loop {
        let next = tokio::time::timeout(limit.saturating_sub(started.elapsed()), socket.next())
            .await
            .expect("the socket was not closed in time");
        match next {
            Some(Ok(Message::Close(frame))) => {
                return (started.elapsed(), frame.map(|f| u16::from(f.code)));
            }
            None | Some(Err(_)) => return (started.elapsed(), None),
            Some(Ok(_)) => {}
        }
    }
}

/// The ways a signed-in socket can lose its access.
#[derive(Clone, Copy, Debug)]
enum LostAccess {
    Logout,
    TokenRevoked,
    UserDisabled,
}

/// Make `token` (of `user`) stop working in the way `how`.
async fn revoke(server: &TestServer, admin: &ferry_tests::Api, token: &str, how: LostAccess) {
    let user = user_id(server, token).await;
    let answer = match how {
        LostAccess::Logout => {
            server
                .api(token)
                .graphql("mutation { logout }", json!({}))
                .await
        }
        LostAccess::TokenRevoked => {
            let tokens = admin
                .graphql(
                    "query($u: ID) { tokens(userId: $u) { id revokedAt } }",
                    json!({ "u": user }),
                )
                .await;
            let live = tokens["data"]["tokens"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["revokedAt"].is_null())
                .unwrap()["id"]
                .clone();
            admin
                .graphql(
                    "mutation($id: ID!) { revokeToken(id: $id) }",
                    json!({ "id": live }),
                )
                .await
        }
        LostAccess::UserDisabled => {
            let answer = admin
                .graphql(
                    "mutation($id: ID!) { setUserDisabled(id: $id, disabled: true) { disabled } }",
                    json!({ "id": user }),
                )
                .await;
            assert_eq!(
                answer["data"]["setUserDisabled"]["disabled"], true,
                "{answer}"
            );
            answer
        }
    };
    assert!(answer["errors"].is_null(), "{how:?}: {answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_tokens_and_disabled_users_lose_their_open_sockets() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(server) =
            TestServer::start_with(backend, |s| s.bounds.socket_init_timeout_secs = 2).await
        else {
            continue;
        };
        let admin = server.api(&server.admin_token().await);
        server.user_token("gil").await;
        for how in [
            LostAccess::Logout,
            LostAccess::TokenRevoked,
            LostAccess::UserDisabled,
        ] {
            let token = server.login("gil", PASSWORD, Some("laptop")).await;
            let mut open = socket(&server, Some(&token)).await;
            revoke(&server, &admin, &token, how).await;
            let (after, close) = closed_within(&mut open, Duration::from_secs(5)).await;
            assert_eq!(close, Some(4403), "{how:?} after {after:?}");
            assert_eq!(
                server.api(&token).get("/api/me").await.0,
                StatusCode::UNAUTHORIZED
            );
        }
        // A socket that never sends connection_init is closed too.
        let mut silent = socket(&server, None).await;
        assert_eq!(
            closed_within(&mut silent, Duration::from_secs(5)).await.1,
            Some(4408)
        );
    }
}

async fn user_id(server: &TestServer, token: &str) -> Value {
    let (_, me) = server.api(token).get("/api/me").await;
    me["id"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_runs_a_bounded_number_of_subscriptions() {
    let server = TestServer::start_with(Backend::Sqlite, |s| {
        s.bounds.max_subscriptions_per_socket = 2
    })
    .await
    .unwrap();
    let token = server.user_token("hal").await;
    let mut open = socket(&server, Some(&token)).await;
    for id in ["1", "2", "3"] {
        let query = "subscription { scheduleRuns { id } }";
        ferry_tests::socket::subscribe(&mut open, id, query, json!({})).await;
    }
    let refused = ferry_tests::socket::next_json(&mut open).await;
    assert_eq!(refused["id"], "3", "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "rate_limited",
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_dashboard_sign_ins_count_against_the_address_too() {
    let server = TestServer::start().await;
    let admin = server.api(&server.admin_token().await);
    // The dashboard's sign-in form, posted as a browser would (same origin).
    for n in 0..10 {
        let response = server
            .client
            .post(server.url("/dashboard/fn/login"))
            .header("origin", &server.base)
            .form(&[("username", "admin"), ("password", &format!("wrong-{n}"))])
            .send()
            .await
            .unwrap();
        // Leptos carries a server function's error with status 500; the error is the form's.
        let body = response.text().await.unwrap();
        assert!(body.contains("Wrong username or password."), "{body}");
    }
    let audit = admin
        .graphql(
            "{ auditLog(first: 1) { nodes { action after } } }",
            json!({}),
        )
        .await;
    let last = &audit["data"]["auditLog"]["nodes"][0];
    assert_eq!(last["action"], "login.failed", "{audit}");
    assert_eq!(last["after"]["peer"], "127.0.0.1", "{audit}");
    // The address has used its failures up: the API refuses the next guess from it.
    let (status, body) = parts(
        server
            .client
            .post(server.url("/api/auth/login"))
            .json(&json!({ "username": "admin", "password": "wrong-again" }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
}
