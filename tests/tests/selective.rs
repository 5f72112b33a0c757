//! SPEC §7 over REST: configure and list a device's selective sync.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use ferry_tests::{TestServer, code};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn the_seed_example_configures_three_folders() {
    let server = TestServer::start().await;
    let api = server.api(&server.user_token("alice").await);
    let body = json!({
        "device_id": "laptop",
        "folders": [
            { "path": "/Documents", "enabled": true, "include_subfolders": true },
            { "path": "/Photos/2024/", "enabled": true, "include_subfolders": false },
            { "path": "/Videos", "enabled": false, "include_subfolders": true },
        ],
    });
    let (status, answer) = api.post("/api/sync/selective/configure", body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer,
        json!({ "device_id": "laptop", "folders_configured": 3 })
    );
    let (status, listing) = api.get("/api/sync/selective/list/laptop").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        listing["folders"][1],
        json!({ "path": "/Photos/2024", "enabled": true, "include_subfolders": false })
    );

    // A configuration replaces the previous one.
    let (_, answer) = api
        .post(
            "/api/sync/selective/configure",
            json!({ "device_id": "laptop", "folders": [{ "path": "/Music" }] }),
        )
        .await;
    assert_eq!(answer["folders_configured"], 1);
    let (_, listing) = api.get("/api/sync/selective/list/laptop").await;
    assert_eq!(
        listing["folders"],
        json!([{ "path": "/Music", "enabled": true, "include_subfolders": true }])
    );
}

#[tokio::test]
async fn an_invalid_path_changes_nothing() {
    let server = TestServer::start().await;
    let api = server.api(&server.user_token("alice").await);
    api.post(
        "/api/sync/selective/configure",
        json!({ "device_id": "laptop", "folders": [{ "path": "/Keep" }] }),
    )
    .await;
    for bad in ["/ok/../../escape", "/nul\u{0}byte"] {
        let body =
            json!({ "device_id": "laptop", "folders": [{ "path": "/Fine" }, { "path": bad }] });
        let (status, answer) = api.post("/api/sync/selective/configure", body).await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_path"),
            "{bad:?}"
        );
    }
    let (_, listing) = api.get("/api/sync/selective/list/laptop").await;
    assert_eq!(
        listing["folders"],
        json!([{ "path": "/Keep", "enabled": true, "include_subfolders": true }])
    );
}

#[tokio::test]
async fn another_users_device_is_404_and_never_leaks() {
    let server = TestServer::start().await;
    let alice = server.api(&server.user_token("alice").await);
    let bob = server.api(&server.user_token("bob").await);
    alice
        .post(
            "/api/sync/selective/configure",
            json!({ "device_id": "laptop", "folders": [{ "path": "/Secret" }] }),
        )
        .await;
    // Bob's own "laptop" is a different device: his list is empty.
    let (status, listing) = bob.get("/api/sync/selective/list/laptop").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listing["folders"], json!([]));
    // A device-bound token may act only for its own device; an unknown device is 404.
    let (status, body) = bob.get("/api/sync/selective/list/nas").await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let unbound = server.api(&server.login("bob", ferry_tests::PASSWORD, None).await);
    let (status, body) = unbound.get("/api/sync/selective/list/nas").await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    // Naming alice as owner without being an admin: 404, nothing about her.
    let alice_id = alice.get("/api/me").await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = bob
        .get(&format!(
            "/api/sync/selective/list/laptop?user_id={alice_id}"
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.to_string().contains("Secret"));
    // An admin may read and change it.
    let admin = server.api(&server.admin_token().await);
    let (status, listing) = admin
        .get(&format!(
            "/api/sync/selective/list/laptop?user_id={alice_id}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listing["folders"][0]["path"], "/Secret");
}
