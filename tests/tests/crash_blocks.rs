//! Crash safety of the block store with a real process killed by SIGKILL: at
//! each step of a delta upload, and in the middle of a collector run, on SQLite
//! and on PostgreSQL. After a restart every file is byte-identical and the
//! interrupted work goes on.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use ferry_tests::{
    Api, Backend, ProcessServer, TestDatabase, files_below, on_both_backends, random_bytes,
    sha256_hex,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_ferry-under-test");
const BLOCK: usize = 64 * 1024;

/// The database a scenario runs on: SQLite in the data directory (no
/// environment), or a fresh PostgreSQL database (`None`: PostgreSQL is not
/// configured here).
async fn database(backend: Backend) -> Option<(Option<TestDatabase>, Vec<(&'static str, String)>)> {
    match backend {
        Backend::Sqlite => Some((None, Vec::new())),
        Backend::Postgres => {
            let database = TestDatabase::create().await?;
            let env = vec![("DATABASE_URL", database.url.clone())];
            Some((Some(database), env))
        }
    }
}

/// `base` plus `extra`, as `ProcessServer::spawn` takes them.
fn with<'a>(
    base: &'a [(&'static str, String)],
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    base.iter()
        .map(|(k, v)| (*k, v.as_str()))
        .chain(extra.iter().copied())
        .collect()
}

/// Start a delta upload of `pieces` at `path`; the answer.
async fn start_blocks(api: &Api, path: &str, pieces: &[&[u8]]) -> Value {
    let whole = pieces.concat();
    let blocks: Vec<Value> = pieces
        .iter()
        .map(|p| json!({ "sha256": sha256_hex(p), "size": p.len() }))
        .collect();
    let body = json!({
        "device_id": "laptop",
        "file_path": path,
        "file_name": path.rsplit('/').next().unwrap(),
        "total_size": whole.len(),
        "file_hash": sha256_hex(&whole),
        "blocks": blocks,
    });
    let (status, started) = api.post("/api/sync/upload/start", body).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    started
}

/// Every stored block is whole: its name is its content's SHA-256.
fn blocks_are_whole(data_dir: &std::path::Path) {
    for block in files_below(&data_dir.join("blobs")) {
        let name = block.file_name().unwrap().to_str().unwrap().to_owned();
        assert_eq!(sha256_hex(&std::fs::read(&block).unwrap()), name);
    }
}

async fn download_version(api: &Api, path: &str, version: u32) -> Vec<u8> {
    let response = api
        .client
        .get(api.url("/api/sync/files/content"))
        .query(&[("path", path), ("version", &version.to_string())])
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.bytes().await.unwrap().to_vec()
}

async fn kill_during_a_delta_upload_at(backend: Backend, step: &str) {
    let Some((_database, db)) = database(backend).await else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let data_dir = dir.path().join("data");
    let pieces: Vec<Vec<u8>> = (0..4).map(|n| random_bytes(BLOCK, 60 + n)).collect();
    let old: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
    let server = ProcessServer::spawn(BIN, &data_dir, &with(&db, &[])).await;
    let api = server.admin_api().await;
    let first = start_blocks(&api, "/d.bin", &old).await;
    let id = first["upload_id"].as_str().unwrap();
    for (n, piece) in old.iter().enumerate() {
        let (status, _) = api.put_chunk(id, n as i64, piece).await;
        assert_eq!(status, StatusCode::OK);
    }
    server.kill9().await;

    // The second version changes block 1 only: that is all it sends.
    let edited = random_bytes(BLOCK, 99);
    let new: Vec<&[u8]> = vec![old[0], &edited, old[2], old[3]];
    let paused = with(&db, &[("FERRY_DEBUG_PAUSE_AT", step)]);
    let server = ProcessServer::spawn(BIN, &data_dir, &paused).await;
    let api = server.admin_api().await;
    let second = start_blocks(&api, "/d.bin", &new).await;
    assert_eq!(second["missing_chunks"], json!([[1, 1]]), "{second}");
    let id = second["upload_id"].as_str().unwrap().to_owned();
    let sending = {
        let (api, id, piece) = (api.clone(), id.clone(), edited.clone());
        tokio::spawn(async move { api.put_chunk(&id, 1, &piece).await })
    };
    server.wait_for_log("paused at debug pause point").await;
    assert_eq!(
        api.download("/d.bin").await,
        old.concat(),
        "the old version, whole"
    );
    server.kill9().await;
    let _ = sending.await;
    blocks_are_whole(&data_dir);

    let server = ProcessServer::spawn(BIN, &data_dir, &with(&db, &[])).await;
    let api = server.admin_api().await;
    let (_, progress) = api.get(&format!("/api/sync/upload/{id}/progress")).await;
    if progress["status"] != "completed" {
        assert_eq!(progress["missing_chunks"], json!([[1, 1]]), "{progress}");
        let (status, done) = api.put_chunk(&id, 1, &edited).await;
        assert_eq!(
            (status, done["status"].as_str()),
            (StatusCode::OK, Some("completed"))
        );
    }
    assert_eq!(api.download("/d.bin").await, new.concat(), "{step}");
    assert_eq!(download_version(&api, "/d.bin", 1).await, old.concat());
}

async fn kill_9_in_a_delta_upload_after_a_block_is_stored(backend: Backend) {
    kill_during_a_delta_upload_at(backend, "chunk.written").await;
}

async fn kill_9_in_a_delta_upload_after_hashing(backend: Backend) {
    kill_during_a_delta_upload_at(backend, "assembly.hashed").await;
}

async fn kill_9_in_a_delta_upload_before_the_commit(backend: Backend) {
    kill_during_a_delta_upload_at(backend, "assembly.adopted").await;
}

on_both_backends!(kill_9_in_a_delta_upload_after_a_block_is_stored);
on_both_backends!(kill_9_in_a_delta_upload_after_hashing);
on_both_backends!(kill_9_in_a_delta_upload_before_the_commit);
on_both_backends!(kill_9_in_the_middle_of_a_collection_loses_nothing);

async fn kill_9_in_the_middle_of_a_collection_loses_nothing(backend: Backend) {
    let Some((_database, db)) = database(backend).await else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let data_dir = dir.path().join("data");
    let keep_one = with(
        &db,
        &[("FERRY_KEEP_VERSIONS", "1"), ("FERRY_GC_GRACE_SECS", "0")],
    );
    let server = ProcessServer::spawn(BIN, &data_dir, &keep_one).await;
    let api = server.admin_api().await;
    // Three versions of one file (only the last is kept), a second file, and
    // an abandoned upload: plenty for the collector to delete.
    let mut current = Vec::new();
    for n in 0..3 {
        current = random_bytes(4 * BLOCK, 70 + n);
        api.upload_file("/gc/a.bin", &current, BLOCK as u64).await;
    }
    let other = random_bytes(3 * BLOCK + 5, 80);
    api.upload_file("/gc/b.bin", &other, BLOCK as u64).await;
    let abandoned = random_bytes(2 * BLOCK, 81);
    let (_, started) = api
        .start_upload(
            "/gc/c.bin",
            abandoned.len() as u64,
            Some(BLOCK as u64),
            None,
        )
        .await;
    let id = started["upload_id"].as_str().unwrap();
    api.put_chunk(id, 0, &abandoned[..BLOCK]).await;
    let (status, _) = api.delete(&format!("/api/sync/upload/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    server.kill9().await;

    let mut paused = keep_one.to_vec();
    paused.push(("FERRY_DEBUG_PAUSE_AT", "gc.deleted"));
    let server = ProcessServer::spawn(BIN, &data_dir, &paused).await;
    let api = server.admin_api().await;
    let collecting = {
        let api = api.clone();
        tokio::spawn(async move { api.collect_garbage().await })
    };
    server.wait_for_log("paused at debug pause point").await;
    server.kill9().await;
    collecting.abort();

    let server = ProcessServer::spawn(BIN, &data_dir, &keep_one).await;
    let api = server.admin_api().await;
    assert_eq!(api.download("/gc/a.bin").await, current);
    assert_eq!(api.download("/gc/b.bin").await, other);
    let report = api.collect_garbage().await;
    assert!(report["finishedAt"].is_string(), "{report}");
    assert!(report["blocksDeleted"].as_u64().unwrap() >= 1, "{report}");
    assert_eq!(report["blocksKept"], 8, "4 + 4 blocks stay: {report}");
    assert_eq!(api.download("/gc/a.bin").await, current);
    assert_eq!(api.download("/gc/b.bin").await, other);
    blocks_are_whole(&data_dir);
    assert_eq!(files_below(&data_dir.join("blobs")).len(), 8);

    // The admin sees both runs; the one cut short never finished.
    let runs = api
        .graphql(
            "{ storageReports(first: 5) { finishedAt versionsPruned blocksDeleted bytesReclaimed } }",
            json!({}),
        )
        .await;
    let runs = runs["data"]["storageReports"].as_array().unwrap().clone();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert!(runs[1]["finishedAt"].is_null(), "{runs:?}");
    assert_eq!(runs[1]["versionsPruned"], 2, "{runs:?}");
}
