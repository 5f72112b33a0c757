//! A login flood against a real process: 500 wrong passwords over REST, GraphQL
//! and WebDAV stay within memory, leave a signed-in user fast, are audited with
//! the client's address, and leave the real password working. (A test binary of
//! its own, so that no other test shares the two cores while it measures.)
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::{Duration, Instant};

use ferry_tests::{ADMIN, ADMIN_PASSWORD, ProcessServer};
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::json;

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

/// The admin signing in with the real password.
async fn sign_in(client: &reqwest::Client, base: &str) -> reqwest::Response {
    client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({ "username": ADMIN, "password": ADMIN_PASSWORD }))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_stays_small_and_leaves_signed_in_users_fast() {
    let (_dir, server) =
        ProcessServer::spawn_fresh(env!("CARGO_BIN_EXE_ferry-under-test"), &[]).await;
    let api = server.admin_api().await;
    let before = server.peak_rss();

    // A signed-in user keeps working while 500 wrong passwords arrive, 96 at a
    // time: four of their requests in flight at once, for enough samples.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchers: Vec<_> = (0..4)
        .map(|_| {
            let (user, watching) = (api.clone(), stop.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while !watching.load(std::sync::atomic::Ordering::Relaxed) {
                    let started = Instant::now();
                    let (status, _) = user.get("/api/sync/schedule/list").await;
                    assert_eq!(status, StatusCode::OK);
                    seen.push(started.elapsed());
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                seen
            })
        })
        .collect();
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
    let mut latencies = Vec::new();
    for watcher in watchers {
        latencies.extend(watcher.await.unwrap());
    }
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
    let response = sign_in(&client, &server.base).await;
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
    let response = sign_in(&client, &server.base).await;
    assert_eq!(response.status(), StatusCode::OK);
}
