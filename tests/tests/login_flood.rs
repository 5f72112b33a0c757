//! A login flood against a real process: 500 wrong passwords over REST, GraphQL
//! and WebDAV stay within memory, leave a signed-in user fast, are audited with
//! the client's address, and leave the real password working. (A test binary of
//! its own, so that no other test shares the two cores while it measures.)
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::Duration;

use ferry_tests::{ADMIN, ADMIN_PASSWORD, ProcessServer, flood};
use reqwest::StatusCode;
use serde_json::json;

const MIB: u64 = 1 << 20;

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
    let outcome = flood::run(&server.base, &api, 500, 96, 4).await;
    let refused = outcome.count(StatusCode::TOO_MANY_REQUESTS);
    let unauthorized = outcome.count(StatusCode::UNAUTHORIZED);
    let (p95, peak) = (outcome.p95(), server.peak_rss());
    eprintln!(
        "login flood: 500 attempts in {:?}, {refused} refused (429), {unauthorized} checked (401); \
         peak RSS {} MiB (before {} MiB); signed-in p95 {p95:?} over {} requests",
        outcome.took,
        peak / MIB,
        before / MIB,
        outcome.latencies.len()
    );
    let statuses = &outcome.statuses;
    let client = reqwest::Client::new();
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
