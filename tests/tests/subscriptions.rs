//! GraphQL subscriptions over a real WebSocket (`graphql-transport-ws`).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::Duration;

use ferry_tests::{PASSWORD, TestServer, random_bytes, sha256_hex};
use serde_json::json;

use ferry_tests::socket::{GraphqlSocket as Socket, next_json, subscribe};

async fn connect(server: &TestServer, token: &str) -> Socket {
    ferry_tests::socket::connect(&server.base, Some(token)).await
}

const PROGRESS: &str = "subscription($id: ID!) { uploadProgress(uploadId: $id) { uploadId status completedChunks totalChunks progressPercent } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_progress_sends_one_event_per_chunk_then_completed() {
    let server = TestServer::start().await;
    let token = server.user_token("alice").await;
    let api = server.api(&token);
    let data = random_bytes(4 * 1024, 3);
    let (_, started) = api
        .start_upload(
            "/live.bin",
            data.len() as u64,
            Some(1024),
            Some(&sha256_hex(&data)),
        )
        .await;
    let id = started["upload_id"].as_str().unwrap().to_owned();

    let mut socket = connect(&server, &token).await;
    subscribe(&mut socket, "1", PROGRESS, json!({ "id": id })).await;
    // The subscription is live once the server answers a query on the same socket.
    subscribe(
        &mut socket,
        "ready",
        "subscription { uploads { uploadId } }",
        json!({}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    for n in 0..4 {
        let (status, _) = api
            .put_chunk(&id, n, &data[n as usize * 1024..(n as usize + 1) * 1024])
            .await;
        assert_eq!(status, reqwest::StatusCode::OK);
    }
    let mut statuses = Vec::new();
    let mut completed = Vec::new();
    while statuses.last().map(String::as_str) != Some("COMPLETED") {
        let message = next_json(&mut socket).await;
        if message["id"] != "1" {
            continue;
        }
        assert_eq!(message["type"], "next", "{message}");
        let event = &message["payload"]["data"]["uploadProgress"];
        assert_eq!(event["uploadId"], id.as_str());
        statuses.push(event["status"].as_str().unwrap().to_owned());
        completed.push(event["completedChunks"].as_i64().unwrap());
    }
    assert_eq!(statuses, ["ACTIVE", "ACTIVE", "ACTIVE", "COMPLETED"]);
    assert_eq!(completed, [1, 2, 3, 4]);
    // The stream ends after the final event.
    loop {
        let message = next_json(&mut socket).await;
        if message["id"] == "1" {
            assert_eq!(message["type"], "complete", "{message}");
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_upload_subscription_is_refused() {
    let server = TestServer::start().await;
    let alice = server.user_token("alice").await;
    let bob = server.user_token("bob").await;
    let (_, started) = server
        .api(&alice)
        .start_upload("/private.bin", 10, None, None)
        .await;
    let mut socket = connect(&server, &bob).await;
    subscribe(
        &mut socket,
        "1",
        PROGRESS,
        json!({ "id": started["upload_id"] }),
    )
    .await;
    let message = next_json(&mut socket).await;
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(
        message["payload"]["errors"][0]["extensions"]["code"],
        "not_found"
    );
    assert_eq!(next_json(&mut socket).await["type"], "complete");
}

const SYNC_REQUESTED: &str = "subscription { syncRequested(deviceId: \"phone\") { id trigger status scheduledFor changes { path change version } } }";

/// In real time: the engine's own timer (not the test) fires a schedule due a
/// few seconds ahead, and the device's subscriber gets `syncRequested` with
/// the plan; a `scheduleRuns` subscriber sees the same run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_due_seconds_ahead_fires_and_the_device_hears_of_it() {
    use chrono::{DurationRound, TimeDelta, Utc};
    let server = TestServer::start().await;
    let laptop = server.api(&server.user_token("alice").await);
    let phone_token = server.login("alice", PASSWORD, Some("phone")).await;
    let alice = laptop.get("/api/me").await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    laptop.upload_file("/Docs/report.txt", b"report", 64).await;

    let mut phone = connect(&server, &phone_token).await;
    subscribe(&mut phone, "sync", SYNC_REQUESTED, json!({})).await;
    let admin_token = server.admin_token().await;
    let mut admin_socket = connect(&server, &admin_token).await;
    subscribe(
        &mut admin_socket,
        "runs",
        "subscription { scheduleRuns { id deviceId trigger } }",
        json!({}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Put the server's clock 3 s before a whole minute, and schedule that minute.
    let slot = (Utc::now() + TimeDelta::minutes(10))
        .duration_trunc(TimeDelta::minutes(1))
        .unwrap();
    server.clock.set(slot - TimeDelta::seconds(3));
    let body = json!({
        "device_id": "phone", "user_id": alice, "schedule_type": "daily",
        "time_of_day": slot.format("%H:%M").to_string(), "timezone": "UTC",
        "sync_deletions": true, "resolve_conflicts": "keep_newest",
    });
    let (status, created) = server
        .api(&admin_token)
        .post("/api/sync/schedule/create", body)
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{created}");
    assert_eq!(
        created["next_run_at"],
        slot.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    );

    let message = next_json(&mut phone).await;
    assert_eq!(message["id"], "sync", "{message}");
    let run = &message["payload"]["data"]["syncRequested"];
    assert_eq!(run["trigger"], "TIME", "{run}");
    assert_eq!(run["status"], "REQUESTED");
    assert_eq!(
        run["changes"],
        json!([{ "path": "/Docs/report.txt", "change": "UPSERT", "version": 1 }])
    );
    let seen = next_json(&mut admin_socket).await;
    assert_eq!(seen["payload"]["data"]["scheduleRuns"]["id"], run["id"]);
    assert_eq!(seen["payload"]["data"]["scheduleRuns"]["deviceId"], "phone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bandwidth_usage_reports_the_live_rate_of_a_limited_download() {
    let server = TestServer::start().await;
    let token = server.user_token("viewer").await;
    let api = server.api(&token);
    // Downloads are paced in 256 KiB pieces, so a one-second sample sees a whole
    // number of them: at 4 MiB/s that is 16 ± 1 (±6 %); at 1 MiB/s it was 4 ± 1,
    // and a sample of 3 pieces (-25 %) failed the check by phase alone.
    // 16 MiB: about 4 s at the limit, so the third moving sample is mid-transfer.
    let limit = 4u64 << 20;
    let data = random_bytes(16 << 20, 9);
    api.upload_file("/movie.bin", &data, 1 << 20).await;
    let (status, _) = api
        .post(
            "/api/sync/bandwidth/limit",
            json!({ "download_speed_limit": limit, "throttle_enabled": true }),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let mut socket = connect(&server, &token).await;
    subscribe(
        &mut socket,
        "bw",
        "subscription { bandwidthUsage { userId direction bytesPerSecond at } }",
        json!({}),
    )
    .await;
    let download = {
        let api = api.clone();
        tokio::spawn(async move { api.download("/movie.bin").await })
    };
    // Skip the first samples (the transfer ramping up); a later one shows the limit.
    let mut rates = Vec::new();
    while rates.len() < 3 {
        let event = next_json(&mut socket).await;
        let usage = &event["payload"]["data"]["bandwidthUsage"];
        if usage["direction"] == "DOWNLOAD" && usage["bytesPerSecond"].as_u64() > Some(0) {
            rates.push(usage["bytesPerSecond"].as_u64().unwrap());
        }
    }
    let (rate, limit) = (rates[2] as f64, limit as f64);
    assert!(
        (rate - limit).abs() < limit * 0.25,
        "live download rate {rate} (samples {rates:?})"
    );
    let metrics = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("ferry_bandwidth_bytes_per_second{")
                && l.contains("direction=\"download\"")),
        "{metrics}"
    );
    assert_eq!(download.await.unwrap(), data);
}
