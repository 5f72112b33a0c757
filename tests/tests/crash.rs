//! Crash safety with a real process killed by SIGKILL: mid-upload, while a
//! chunk is written, and at each step of assembly. After a restart the upload
//! resumes (or is finished), and no file is ever half-visible or lost.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use ferry_tests::{Api, ProcessServer, files_below, random_bytes, sha256_hex};
use futures_util::StreamExt;
use reqwest::{StatusCode, multipart};
use serde_json::json;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_ferry-under-test");
const CHUNK: usize = 256 * 1024;

async fn start(api: &Api, path: &str, data: &[u8]) -> String {
    let (status, started) = api
        .start_upload(
            path,
            data.len() as u64,
            Some(CHUNK as u64),
            Some(&sha256_hex(data)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    started["upload_id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_chunk_then_resume() {
    let dir = TempDir::new().unwrap();
    let data_dir = dir.path().join("data");
    let server = ProcessServer::spawn(BIN, &data_dir, &[]).await;
    let api = server.admin_api().await;
    let data = random_bytes(4 * CHUNK, 21);
    let id = start(&api, "/crash/mid.bin", &data).await;
    for n in [0, 2] {
        let (status, _) = api
            .put_chunk(&id, n, &data[n as usize * CHUNK..(n as usize + 1) * CHUNK])
            .await;
        assert_eq!(status, StatusCode::OK);
    }

    // Chunk 1: send half of its bytes, then hold the request open.
    let (sent_half, half_sent) = tokio::sync::oneshot::channel::<()>();
    let first_half = bytes::Bytes::copy_from_slice(&data[CHUNK..CHUNK + CHUNK / 2]);
    let mut notify = Some(sent_half);
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(first_half)]).chain(
        futures_util::stream::poll_fn(move |_| {
            if let Some(tx) = notify.take() {
                let _ = tx.send(());
            }
            std::task::Poll::Pending
        }),
    );
    let form = multipart::Form::new()
        .text("chunk_hash", sha256_hex(&data[CHUNK..2 * CHUNK]))
        .part(
            "chunk_file",
            multipart::Part::stream_with_length(reqwest::Body::wrap_stream(body), CHUNK as u64),
        );
    let url = api.url(&format!("/api/sync/upload/{id}/chunk/1"));
    let request = api
        .client
        .post(url)
        .bearer_auth(&api.token)
        .multipart(form)
        .send();
    let in_flight = tokio::spawn(request);
    half_sent.await.unwrap();
    server.kill9().await;
    assert!(
        in_flight.await.unwrap().is_err(),
        "the request died with the server"
    );

    let server = ProcessServer::spawn(BIN, &data_dir, &[]).await;
    let api = server.admin_api().await;
    let (status, progress) = api.get(&format!("/api/sync/upload/{id}/progress")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(progress["status"], "active");
    assert_eq!(progress["missing_chunks"], json!([[1, 1], [3, 3]]));
    assert_eq!(progress["resume_from_chunk"], 1);
    for n in [1usize, 3] {
        let (status, body) = api
            .put_chunk(&id, n as i64, &data[n * CHUNK..(n + 1) * CHUNK])
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(api.download("/crash/mid.bin").await, data);
}

/// Kill the server while it is stopped at `step`, then restart and check recovery.
async fn kill_at(step: &str) {
    let dir = TempDir::new().unwrap();
    let data_dir = dir.path().join("data");
    // An older version exists: after the crash it must be there, or the new one.
    let old = random_bytes(1000, 30);
    let server = ProcessServer::spawn(BIN, &data_dir, &[]).await;
    server
        .admin_api()
        .await
        .upload_file("/crash/file.bin", &old, CHUNK as u64)
        .await;
    server.kill9().await;

    let server = ProcessServer::spawn(BIN, &data_dir, &[("FERRY_DEBUG_PAUSE_AT", step)]).await;
    let api = server.admin_api().await;
    let data = random_bytes(3 * CHUNK + 77, 31);
    let id = start(&api, "/crash/file.bin", &data).await;
    for n in 0..3 {
        let (status, _) = api
            .put_chunk(&id, n, &data[n as usize * CHUNK..(n as usize + 1) * CHUNK])
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let last = {
        let api = api.clone();
        let id = id.clone();
        let tail = data[3 * CHUNK..].to_vec();
        tokio::spawn(async move { api.put_chunk(&id, 3, &tail).await })
    };
    server.wait_for_log("paused at debug pause point").await;

    // While stopped mid-assembly, readers see the old version, whole.
    let (_, listing) = api.get("/api/sync/files?prefix=/crash").await;
    assert_eq!(listing["files"][0]["version"], 1, "{listing}");
    assert_eq!(api.download("/crash/file.bin").await, old);
    server.kill9().await;
    let _ = last.await;

    // Nothing half-written lies in the blob store: each blob's name is its content's hash.
    for blob in files_below(&data_dir.join("blobs")) {
        let name = blob.file_name().unwrap().to_str().unwrap().to_owned();
        assert_eq!(
            sha256_hex(&std::fs::read(&blob).unwrap()),
            name,
            "blob {name} is complete"
        );
    }

    let server = ProcessServer::spawn(BIN, &data_dir, &[]).await;
    let api = server.admin_api().await;
    let (status, progress) = api.get(&format!("/api/sync/upload/{id}/progress")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(progress["status"], "completed", "{progress}");
    let (_, listing) = api.get("/api/sync/files?prefix=/crash").await;
    assert_eq!(listing["files"][0]["version"], 2, "{listing}");
    assert_eq!(listing["files"][0]["sha256"], sha256_hex(&data));
    assert_eq!(api.download("/crash/file.bin").await, data);
    assert!(
        files_below(&data_dir.join("staging")).is_empty(),
        "no orphaned staging data"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_after_hashing_during_assembly() {
    kill_at("assembly.hashed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_after_the_blob_is_in_place_before_commit() {
    kill_at("assembly.adopted").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_after_chunk_bytes_are_written_before_they_are_recorded() {
    let dir = TempDir::new().unwrap();
    let data_dir = dir.path().join("data");
    let server =
        ProcessServer::spawn(BIN, &data_dir, &[("FERRY_DEBUG_PAUSE_AT", "chunk.written")]).await;
    let api = server.admin_api().await;
    let data = random_bytes(2 * CHUNK, 40);
    let id = start(&api, "/crash/w.bin", &data).await;
    let first = {
        let api = api.clone();
        let id = id.clone();
        let piece = data[..CHUNK].to_vec();
        tokio::spawn(async move { api.put_chunk(&id, 0, &piece).await })
    };
    server.wait_for_log("paused at debug pause point").await;
    server.kill9().await;
    let _ = first.await;

    let server = ProcessServer::spawn(BIN, &data_dir, &[]).await;
    let api = server.admin_api().await;
    let (_, progress) = api.get(&format!("/api/sync/upload/{id}/progress")).await;
    assert_eq!(
        progress["missing_chunks"],
        json!([[0, 1]]),
        "an unrecorded chunk counts as missing"
    );
    api.put_chunk(&id, 1, &data[CHUNK..]).await;
    let (status, done) = api.put_chunk(&id, 0, &data[..CHUNK]).await;
    assert_eq!(
        (status, done["status"].as_str()),
        (StatusCode::OK, Some("completed"))
    );
    assert_eq!(api.download("/crash/w.bin").await, data);
}
