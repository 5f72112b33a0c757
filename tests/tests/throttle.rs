//! Bandwidth enforcement against the real server (SPEC §5): one bucket per user
//! and direction across parallel transfers, other users untouched, the throttle
//! window read from the (movable) clock, limit changes reaching transfers in
//! flight, and the upload endpoints' request-rate limit (one budget over the
//! chunked API and tus).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use ferry_tests::{Api, Backend, TestServer, code, random_bytes};
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};

const MIB: u64 = 1 << 20;

async fn set_limit(api: &Api, body: Value) {
    let (status, answer) = api.post("/api/sync/bandwidth/limit", body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

/// Upload `data` as one upload of `chunk`-sized chunks, all sent at once in
/// parallel; seconds until every chunk was answered.
async fn parallel_upload(api: &Api, path: &str, data: &[u8], chunk: u64) -> f64 {
    let (status, started) = api
        .start_upload(path, data.len() as u64, Some(chunk), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let id = started["upload_id"].as_str().unwrap().to_owned();
    let began = Instant::now();
    let sends = data.chunks(chunk as usize).enumerate().map(|(n, part)| {
        let (api, id, part) = (api.clone(), id.clone(), part.to_vec());
        tokio::spawn(async move { api.put_chunk(&id, n as i64, &part).await })
    });
    for sent in futures_util::future::join_all(sends).await {
        let (status, body) = sent.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    began.elapsed().as_secs_f64()
}

/// Download `path` to the end; seconds taken.
async fn timed_download(api: &Api, path: &str) -> f64 {
    let began = Instant::now();
    let bytes = api.download(path).await;
    assert!(!bytes.is_empty());
    began.elapsed().as_secs_f64()
}

fn within(actual: f64, expected: f64, tolerance: f64) -> bool {
    (actual - expected).abs() <= expected * tolerance
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_parallel_chunks_share_one_limit_and_others_run_free() {
    let server = TestServer::start().await;
    let slow = server.api(&server.user_token("slow").await);
    let free = server.api(&server.user_token("free").await);
    set_limit(
        &slow,
        json!({ "upload_speed_limit": MIB, "throttle_enabled": true }),
    )
    .await;
    let data = random_bytes(4 * MIB as usize, 1);
    let limited = {
        let (slow, data) = (slow.clone(), data.clone());
        tokio::spawn(async move { parallel_upload(&slow, "/four.bin", &data, MIB).await })
    };
    // While the limited user's upload runs, an unlimited user is not slowed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let free_secs = parallel_upload(&free, "/free.bin", &data, MIB).await;
    let limited_secs = limited.await.unwrap();
    assert!(
        within(limited_secs, 4.0, 0.10),
        "4 MiB at 1 MiB/s took {limited_secs:.2}s"
    );
    assert!(free_secs < 1.5, "the unlimited user took {free_secs:.2}s");
    // The bytes arrived whole.
    assert_eq!(slow.download("/four.bin").await, data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_share_one_limit_too() {
    let server = TestServer::start().await;
    let user = server.api(&server.user_token("reader").await);
    let data = random_bytes(2 * MIB as usize, 2);
    user.upload_file("/a.bin", &data, MIB).await;
    user.upload_file("/b.bin", &data, MIB).await;
    set_limit(
        &user,
        json!({ "download_speed_limit": MIB, "throttle_enabled": true }),
    )
    .await;
    let began = Instant::now();
    let (a, b) = tokio::join!(
        timed_download(&user, "/a.bin"),
        timed_download(&user, "/b.bin")
    );
    let total = began.elapsed().as_secs_f64();
    assert!(
        within(total, 4.0, 0.10),
        "2 × 2 MiB at 1 MiB/s took {total:.2}s ({a:.2}, {b:.2})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_the_window_transfers_run_at_full_speed() {
    let server = TestServer::start().await;
    let user = server.api(&server.user_token("nightly").await);
    // Throttled 10:00–11:00 UTC only.
    set_limit(
        &user,
        json!({ "upload_speed_limit": 512 * 1024, "throttle_enabled": true,
                "throttle_start_hour": 10, "throttle_end_hour": 11, "timezone": "UTC" }),
    )
    .await;
    let data = random_bytes(2 * MIB as usize, 3);
    server
        .clock
        .set(Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap());
    let outside = parallel_upload(&user, "/outside.bin", &data, MIB).await;
    assert!(outside < 1.5, "outside the window: {outside:.2}s");

    server
        .clock
        .set(Utc.with_ymd_and_hms(2026, 11, 25, 10, 30, 0).unwrap());
    // The bucket re-reads the window about once a second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let inside = parallel_upload(&user, "/inside.bin", &data, MIB).await;
    assert!(
        within(inside, 4.0, 0.10),
        "2 MiB at 512 KiB/s inside the window took {inside:.2}s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lowering_the_limit_slows_a_transfer_in_flight_within_a_second() {
    let server = TestServer::start().await;
    let user = server.api(&server.user_token("watcher").await);
    let data = random_bytes(16 * MIB as usize, 4);
    user.upload_file("/big.bin", &data, 4 * MIB).await;
    set_limit(
        &user,
        json!({ "download_speed_limit": 4 * MIB, "throttle_enabled": true }),
    )
    .await;
    let response = user
        .client
        .get(user.url("/api/sync/files/content"))
        .query(&[("path", "/big.bin")])
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.bytes_stream();
    let began = Instant::now();
    let mut lowered = false;
    let mut window = 0u64;
    while let Some(piece) = body.next().await {
        let len = piece.unwrap().len() as u64;
        let at = began.elapsed().as_secs_f64();
        if !lowered && at >= 0.5 {
            set_limit(
                &user,
                json!({ "download_speed_limit": 256 * 1024, "throttle_enabled": true }),
            )
            .await;
            lowered = true;
        }
        // From about a second after the change on, the new limit holds.
        if (1.6..3.6).contains(&at) {
            window += len;
        }
        if at >= 3.6 {
            break;
        }
    }
    let rate = window as f64 / 2.0;
    assert!(
        within(rate, 256.0 * 1024.0, 0.25),
        "after lowering to 256 KiB/s the download ran at {:.0} KiB/s",
        rate / 1024.0
    );
}

/// A server allowing one upload request a second after a burst of three, and
/// two users' APIs on it.
async fn hasty_server() -> (TestServer, Api, Api) {
    let server = TestServer::start_with(Backend::Sqlite, |s| {
        s.upload_rate_per_second = 1;
        s.upload_rate_burst = 3;
    })
    .await
    .unwrap();
    let user = server.api(&server.user_token("hasty").await);
    let other = server.api(&server.user_token("calm").await);
    (server, user, other)
}

#[tokio::test]
async fn upload_requests_over_the_rate_answer_429_with_retry_after() {
    let (_server, user, other) = hasty_server().await;
    let mut statuses = Vec::new();
    let mut last = Value::Null;
    let mut retry_after = None;
    for _ in 0..5 {
        let response = user
            .client
            .get(user.url(&format!(
                "/api/sync/upload/{}/progress",
                uuid::Uuid::new_v4()
            )))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap();
        statuses.push(response.status());
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            last = response.json().await.unwrap();
        }
    }
    assert_eq!(&statuses[..3], &[StatusCode::NOT_FOUND; 3], "{statuses:?}");
    assert_eq!(statuses[3], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    assert_eq!(code(&last), "rate_limited", "{last}");
    let retry: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    // Another user has a bucket of their own.
    let (status, _) = other
        .get(&format!(
            "/api/sync/upload/{}/progress",
            uuid::Uuid::new_v4()
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A tus `HEAD` of an upload that does not exist (404 while under the limit).
async fn tus_head(api: &Api) -> reqwest::Response {
    api.client
        .head(api.url(&format!("/api/tus/{}", uuid::Uuid::new_v4())))
        .header("tus-resumable", "1.0.0")
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn tus_requests_spend_the_same_upload_budget_as_the_chunked_api() {
    let (_server, user, other) = hasty_server().await;
    let progress = || format!("/api/sync/upload/{}/progress", uuid::Uuid::new_v4());
    // Three requests, over both protocols, spend the burst.
    assert_eq!(user.get(&progress()).await.0, StatusCode::NOT_FOUND);
    assert_eq!(tus_head(&user).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(user.get(&progress()).await.0, StatusCode::NOT_FOUND);
    // The fourth is refused whichever protocol asks, tus's answer still tus's.
    let refused = tus_head(&user).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()["tus-resumable"], "1.0.0");
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    let (status, body) = user.get(&progress()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(code(&body), "rate_limited", "{body}");
    // Another user's tus requests have a bucket of their own.
    assert_eq!(tus_head(&other).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webdav_get_and_put_are_paced_by_the_same_buckets() {
    let server = TestServer::start().await;
    let user = server.api(&server.user_token("davuser").await);
    set_limit(
        &user,
        json!({ "upload_speed_limit": MIB, "download_speed_limit": MIB, "throttle_enabled": true }),
    )
    .await;
    let data = random_bytes(2 * MIB as usize, 5);
    let client = reqwest::Client::new();
    let url = server.url("/webdav/paced.bin");
    let began = Instant::now();
    let put = client
        .put(&url)
        .basic_auth("davuser", Some(ferry_tests::PASSWORD))
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
    let put_secs = began.elapsed().as_secs_f64();
    let began = Instant::now();
    let got = client
        .get(&url)
        .basic_auth("davuser", Some(ferry_tests::PASSWORD))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let get_secs = began.elapsed().as_secs_f64();
    assert_eq!(got.as_ref(), data.as_slice());
    assert!(
        within(put_secs, 2.0, 0.15),
        "PUT of 2 MiB at 1 MiB/s: {put_secs:.2}s"
    );
    assert!(
        within(get_secs, 2.0, 0.15),
        "GET of 2 MiB at 1 MiB/s: {get_secs:.2}s"
    );
}
