//! A 100 MiB chunk streams through the server: its peak memory stays far below it.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use ferry_tests::{ProcessServer, sha256_hex};
use futures_util::StreamExt;
use reqwest::{StatusCode, multipart};
use sha2::{Digest, Sha256};

const MIB: usize = 1 << 20;
const CHUNK: usize = 100 * MIB;

/// The i-th MiB of the test file (cheap, deterministic, not all zeros).
fn piece(i: usize) -> bytes::Bytes {
    let mut block = vec![0u8; MIB];
    for (j, byte) in block.iter_mut().enumerate() {
        *byte = (i.wrapping_mul(31) ^ j.wrapping_mul(7) ^ (j >> 8)) as u8;
    }
    bytes::Bytes::from(block)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mib_chunk_streams_in_bounded_memory() {
    let (_dir, server) =
        ProcessServer::spawn_fresh(env!("CARGO_BIN_EXE_ferry-under-test"), &[]).await;
    let api = server.admin_api().await;
    let mut hasher = Sha256::new();
    for i in 0..CHUNK / MIB {
        hasher.update(piece(i));
    }
    let hash = hex::encode(hasher.finalize());
    let (status, started) = api
        .start_upload(
            "/big/one.bin",
            CHUNK as u64,
            Some(CHUNK as u64),
            Some(&hash),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let id = started["upload_id"].as_str().unwrap();
    let baseline = server.peak_rss();

    let body =
        futures_util::stream::iter(0..CHUNK / MIB).map(|i| Ok::<_, std::io::Error>(piece(i)));
    let form = multipart::Form::new()
        .text("chunk_hash", hash.clone())
        .part(
            "chunk_file",
            multipart::Part::stream_with_length(reqwest::Body::wrap_stream(body), CHUNK as u64),
        );
    let response = api
        .client
        .post(api.url(&format!("/api/sync/upload/{id}/chunk/0")))
        .bearer_auth(&api.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (status, done) = ferry_tests::parts(response).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "completed");
    assert_eq!(done["file"]["sha256"], hash);

    let peak = server.peak_rss();
    eprintln!(
        "server peak RSS: {} MiB before the chunk, {} MiB after",
        baseline / MIB as u64,
        peak / MIB as u64
    );
    // The baseline already holds argon2's 19 MiB working memory from the logins
    // and the debug binary's pages (78–80 MiB here, which varies from build to
    // build); a chunk held whole would add 100 MiB to it. What the chunk adds is
    // what this test is about.
    let added = peak.saturating_sub(baseline);
    assert!(
        added < 32 * MIB as u64,
        "the chunk added {added} bytes of peak RSS: not far below its 100 MiB"
    );
    assert!(
        peak - baseline < 16 * MIB as u64,
        "receiving the chunk grew RSS by {} bytes",
        peak - baseline
    );
    assert_eq!(sha256_hex(&api.download("/big/one.bin").await), hash);
}
