//! Floods and stalls against the real server: stalled connections and bodies
//! are let go, revoked credentials lose their open sockets, sockets hold a
//! bounded number of subscriptions, dashboard sign-ins count against the
//! address. (The login flood is `login_flood.rs`.)
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::{Duration, Instant};

use ferry_tests::socket::GraphqlSocket as Socket;
use ferry_tests::{Backend, PASSWORD, TestServer, parts, random_bytes, sha256_hex};
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;

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
    /// The token's lifetime (30 days) runs out while the socket is open.
    Expired,
    TokenRevoked,
    UserDisabled,
}

/// Make `token` (of `user`) stop working in the way `how`.
async fn revoke(server: &TestServer, token: &str, how: LostAccess) {
    let user = user_id(server, token).await;
    let admin = &server.api(&server.admin_token().await);
    let answer = match how {
        // Moved to 3 s before the token's end before the socket opened: just wait.
        LostAccess::Expired => json!({}),
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
    // The periodic re-check stays at its default (60 s): each case below must be
    // acted on at once (an event, or the expiry timer), within 5 s.
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(server) =
            TestServer::start_with(backend, |s| s.bounds.socket_init_timeout_secs = 2).await
        else {
            continue;
        };
        server.user_token("gil").await;
        for how in [
            LostAccess::Logout,
            LostAccess::TokenRevoked,
            LostAccess::Expired,
            LostAccess::UserDisabled,
        ] {
            let token = server.login("gil", PASSWORD, Some("laptop")).await;
            if let LostAccess::Expired = how {
                // The token now has 3 s left (the server's clock is the test's).
                server
                    .clock
                    .advance(chrono::Duration::days(30) - chrono::Duration::seconds(3));
            }
            let mut open = socket(&server, Some(&token)).await;
            revoke(&server, &token, how).await;
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
