//! SPEC §5 settings over REST: set and read bandwidth limits.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use ferry_tests::{TestServer, code};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_user_sets_and_reads_their_own_limit() {
    let server = TestServer::start().await;
    let api = server.api(&server.user_token("alice").await);
    let (status, unset) = api.get("/api/sync/bandwidth/limit").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        unset["upload_speed_limit"],
        json!(null),
        "no limit set: unlimited"
    );
    assert_eq!(unset["throttle_enabled"], false);

    let body = json!({
        "upload_speed_limit": 1_048_576, "download_speed_limit": null, "throttle_enabled": true,
        "throttle_start_hour": 22, "throttle_end_hour": 6, "timezone": "Europe/Berlin",
    });
    let (status, set) = api.post("/api/sync/bandwidth/limit", body).await;
    assert_eq!(status, StatusCode::OK, "{set}");
    let (_, read) = api.get("/api/sync/bandwidth/limit").await;
    assert_eq!(read, set);
    assert_eq!(read["upload_speed_limit"], 1_048_576);
    assert_eq!(read["throttle_start_hour"], 22);
    assert_eq!(read["timezone"], "Europe/Berlin");
}

#[tokio::test]
async fn invalid_limits_are_422_with_their_codes() {
    let server = TestServer::start().await;
    let api = server.api(&server.user_token("alice").await);
    let cases = [
        (
            json!({ "throttle_enabled": true, "upload_speed_limit": -5 }),
            "invalid_speed_limit",
        ),
        (
            json!({ "throttle_enabled": true, "throttle_start_hour": 25, "throttle_end_hour": 2 }),
            "invalid_throttle_hour",
        ),
        (
            json!({ "throttle_enabled": true, "throttle_start_hour": 8 }),
            "invalid_throttle_hour",
        ),
        (
            json!({ "throttle_enabled": true, "timezone": "Mars/Base" }),
            "invalid_timezone",
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = api.post("/api/sync/bandwidth/limit", body.clone()).await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::UNPROCESSABLE_ENTITY, expected),
            "{body}"
        );
    }
    let (status, answer) = api
        .post(
            "/api/sync/bandwidth/limit",
            json!({ "upload_speed_limit": 5 }),
        )
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::BAD_REQUEST, "invalid_input"),
        "throttle_enabled is required"
    );
}

#[tokio::test]
async fn only_admins_touch_other_users_limits() {
    let server = TestServer::start().await;
    let alice = server.api(&server.user_token("alice").await);
    let bob = server.api(&server.user_token("bob").await);
    let alice_id = alice.get("/api/me").await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    alice
        .post(
            "/api/sync/bandwidth/limit",
            json!({ "throttle_enabled": true, "download_speed_limit": 777 }),
        )
        .await;

    let (status, body) = bob
        .get(&format!("/api/sync/bandwidth/limit?user_id={alice_id}"))
        .await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    assert!(!body.to_string().contains("777"));
    let (status, body) = bob
        .post(
            "/api/sync/bandwidth/limit",
            json!({ "user_id": alice_id, "throttle_enabled": false }),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));

    let admin = server.api(&server.admin_token().await);
    let (status, read) = admin
        .get(&format!("/api/sync/bandwidth/limit?user_id={alice_id}"))
        .await;
    assert_eq!(
        (status, read["download_speed_limit"].as_i64()),
        (StatusCode::OK, Some(777))
    );
    let (status, set) = admin
        .post(
            "/api/sync/bandwidth/limit",
            json!({ "user_id": alice_id, "throttle_enabled": true, "upload_speed_limit": 65536 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(
        alice.get("/api/sync/bandwidth/limit").await.1["upload_speed_limit"],
        65536
    );
}
