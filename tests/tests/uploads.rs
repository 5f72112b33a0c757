//! SPEC §4 against the real server: chunked uploads end to end.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use ferry_tests::on_both_backends;
use std::time::Duration;

use ferry_tests::{Backend, TestServer, code, files_below, random_bytes, sha256_hex};
use futures_util::{StreamExt, future::join_all};
use reqwest::StatusCode;
use serde_json::json;

on_both_backends!(seed_example_2gib_at_10mib);
async fn seed_example_2gib_at_10mib(backend: Backend) {
    let Some(server) = TestServer::start_with(backend, |_| {}).await else {
        return;
    };
    let api = server.api(&server.user_token("alice").await);
    let (status, started) = api
        .start_upload(
            "/Videos/large_movie.mp4",
            2_147_483_648,
            Some(10_485_760),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    assert_eq!(started["total_chunks"], 205);
    assert_eq!(started["chunk_size"], 10_485_760);
    assert!(
        started["resume_token"]
            .as_str()
            .is_some_and(|t| t.len() >= 43)
    );
    let id = started["upload_id"].as_str().unwrap();

    let (status, body) = api.put_chunk(id, 0, &random_bytes(10_485_760, 1)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["chunk_number"], 0);
    assert_eq!(body["completed_chunks"], 1);
    assert_eq!(body["total_chunks"], 205);
    assert_eq!(body["progress_percent"], json!(0.49));

    let (status, progress) = api.get(&format!("/api/sync/upload/{id}/progress")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(progress["status"], "active");
    assert_eq!(progress["uploaded_bytes"], 10_485_760);
    assert_eq!(progress["total_size"], 2_147_483_648u64);
    assert_eq!(progress["missing_chunks"], json!([[1, 204]]));
    assert_eq!(progress["resume_from_chunk"], 1);
    assert_eq!(progress["progress_percent"], json!(0.49));
    assert!(progress["expires_at"].as_str().is_some());

    let (status, _) = api.delete(&format!("/api/sync/upload/{id}")).await;
    assert_eq!(status, StatusCode::OK);
}

on_both_backends!(parallel_out_of_order_upload_downloads_byte_exact);
async fn parallel_out_of_order_upload_downloads_byte_exact(backend: Backend) {
    let Some(server) = TestServer::start_with(backend, |s| s.gc_grace_secs = 0).await else {
        return;
    };
    let api = server.api(&server.user_token("alice").await);
    let chunk = 64 * 1024;
    let data = random_bytes(10 * chunk + 1234, 7);
    let (status, started) = api
        .start_upload(
            "/Docs/report.bin",
            data.len() as u64,
            Some(chunk as u64),
            Some(&sha256_hex(&data)),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(started["total_chunks"], 11);
    let id = started["upload_id"].as_str().unwrap().to_owned();

    // Chunks 10, 8, 6, … then the odd ones, all at once.
    let order = [10, 8, 6, 4, 2, 0, 9, 7, 5, 3, 1];
    let requests = order.iter().map(|&n| {
        let api = api.clone();
        let id = id.clone();
        let piece = data[n * chunk..((n + 1) * chunk).min(data.len())].to_vec();
        async move { (n, api.put_chunk(&id, n as i64, &piece).await) }
    });
    let answers = join_all(requests).await;
    let mut completed = 0;
    for (n, (status, body)) in &answers {
        assert_eq!(*status, StatusCode::OK, "chunk {n}: {body}");
        if body["status"] == "completed" {
            completed += 1;
            assert_eq!(body["file"]["path"], "/Docs/report.bin");
            assert_eq!(body["file"]["size"], data.len());
            assert_eq!(body["file"]["sha256"], sha256_hex(&data));
            assert_eq!(body["file"]["version"], 1);
        }
    }
    assert_eq!(
        completed, 1,
        "exactly one chunk answer completes the upload"
    );
    assert_eq!(api.download("/Docs/report.bin").await, data);

    // Range, ETag and conditional requests.
    let url = api.url("/api/sync/files/content?path=/Docs/report.bin");
    let ranged = api
        .client
        .get(&url)
        .bearer_auth(&api.token)
        .header("range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        ranged.headers()["content-range"],
        format!("bytes 100-199/{}", data.len())
    );
    let etag = ranged.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, format!("\"{}\"", sha256_hex(&data)));
    assert_eq!(ranged.bytes().await.unwrap(), &data[100..200]);
    let tail = api
        .client
        .get(&url)
        .bearer_auth(&api.token)
        .header("range", "bytes=-10")
        .send()
        .await
        .unwrap();
    assert_eq!(tail.bytes().await.unwrap(), &data[data.len() - 10..]);
    let beyond = api
        .client
        .get(&url)
        .bearer_auth(&api.token)
        .header("range", "bytes=999999999-")
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    let cached = api
        .client
        .get(&url)
        .bearer_auth(&api.token)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);

    // Nothing is staged once committed: each chunk is one block of the store.
    assert!(files_below(&server.data_dir().join("staging")).is_empty());
    let blocks = files_below(&server.data_dir().join("blobs")).len();
    assert_eq!(blocks, 11, "one block per chunk");

    // The same content again: a new version, stored once.
    let again = api
        .upload_file("/Docs/report.bin", &data, chunk as u64)
        .await;
    assert_eq!(again["file"]["version"], 2);
    let copy = api.upload_file("/Docs/copy.bin", &data, 1 << 20).await;
    assert_eq!(copy["file"]["version"], 1);
    // Cut in other chunks, the copy's blocks are not the content's: the
    // collector takes them, and only them.
    let report = server.collect_garbage().await;
    assert_eq!(report["blocksDeleted"], 1, "{report}");
    assert_eq!(
        files_below(&server.data_dir().join("blobs")).len(),
        blocks,
        "identical content is stored once"
    );
    assert_eq!(api.download("/Docs/copy.bin").await, data);

    let (status, listing) = api.get("/api/sync/files?prefix=/Docs").await;
    assert_eq!(status, StatusCode::OK);
    let paths: Vec<&str> = listing["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/Docs/copy.bin", "/Docs/report.bin"]);
    assert!(listing["files"][1]["modified_at"].as_str().is_some());
    let (_, other) = api.get("/api/sync/files?prefix=/Doc").await;
    assert_eq!(
        other["files"],
        json!([]),
        "a prefix is a folder, not a string prefix"
    );

    // The previous version stays readable.
    let v1 = api
        .client
        .get(api.url("/api/sync/files/content?path=/Docs/report.bin&version=1"))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(v1.status(), StatusCode::OK);
    assert_eq!(v1.headers()["x-ferry-version"], "1");
}

#[tokio::test]
async fn an_empty_file_is_one_empty_chunk() {
    let server = TestServer::start().await;
    let api = server.api(&server.user_token("alice").await);
    let done = api.upload_file("/empty.txt", &[], 1024).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["file"]["size"], 0);
    assert!(api.download("/empty.txt").await.is_empty());
}

#[tokio::test]
async fn bad_chunks_are_refused_and_store_nothing() {
    let server = TestServer::start().await;
    let api = server.api(&server.user_token("alice").await);
    let data = random_bytes(3000, 3);
    let (_, started) = api.start_upload("/a.bin", 3000, Some(1024), None).await;
    let id = started["upload_id"].as_str().unwrap();

    let (status, body) = api
        .put_chunk_with_hash(id, 0, data[..1024].to_vec(), &sha256_hex(b"other"))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch")
    );
    let (status, body) = api.put_chunk(id, 0, &data[..1000]).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "chunk_size_mismatch")
    );
    let (status, body) = api.put_chunk(id, 0, &random_bytes(1025, 9)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "chunk_too_large")
    );
    let (status, body) = api.put_chunk(id, 2, &data[..1024]).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "chunk_too_large"),
        "the last chunk is 952 bytes"
    );
    let (status, body) = api.put_chunk(id, 3, &data[..952]).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_chunk_number")
    );
    let (status, body) = api.put_chunk(id, -1, &data[..952]).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_chunk_number")
    );
    let (status, body) = api
        .put_chunk_with_hash(id, 0, data[..1024].to_vec(), "not-hex")
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_chunk_hash")
    );
    let no_hash = reqwest::multipart::Form::new().part(
        "chunk_file",
        reqwest::multipart::Part::bytes(data[..1024].to_vec()),
    );
    let response = api
        .client
        .post(api.url(&format!("/api/sync/upload/{id}/chunk/0")))
        .bearer_auth(&api.token)
        .multipart(no_hash)
        .send()
        .await
        .unwrap();
    let (status, body) = ferry_tests::parts(response).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_input")
    );

    let (_, progress) = api.get(&format!("/api/sync/upload/{id}/progress")).await;
    assert_eq!(progress["completed_chunks"], 0, "{progress}");
    assert_eq!(progress["missing_chunks"], json!([[0, 2]]));

    // Re-sending a stored chunk: same bytes are harmless, other bytes conflict.
    let (status, _) = api.put_chunk(id, 1, &data[1024..2048]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api.put_chunk(id, 1, &data[1024..2048]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["completed_chunks"], 1);
    let (status, body) = api.put_chunk(id, 1, &random_bytes(1024, 10)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "chunk_conflict")
    );

    // The file is still right after all of that.
    api.put_chunk(id, 0, &data[..1024]).await;
    let (status, done) = api.put_chunk(id, 2, &data[2048..]).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "completed");
    assert_eq!(api.download("/a.bin").await, data);
}

#[tokio::test]
async fn bad_starts_are_refused_with_their_codes() {
    let server = TestServer::start_with(Backend::Sqlite, |s| {
        s.max_file_size = 1 << 20;
        s.max_chunk_size = 1 << 16;
        s.max_concurrent_uploads = 2;
    })
    .await
    .unwrap();
    let token = server.user_token("alice").await;
    let api = server.api(&token);
    let start = |body: serde_json::Value| {
        let api = api.clone();
        async move { api.post("/api/sync/upload/start", body).await }
    };
    let ok = json!({ "device_id": "laptop", "file_path": "/x/a.txt", "file_name": "a.txt", "total_size": 10, "chunk_size": 1024 });
    let with = |key: &str, value: serde_json::Value| {
        let mut body = ok.clone();
        body[key] = value;
        body
    };
    let cases = [
        (
            with("file_path", json!("/../etc/passwd")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_path",
        ),
        (
            with("file_path", json!("/a\u{0}b")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_path",
        ),
        (
            with("file_path", json!("/")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_path",
        ),
        (
            with("file_name", json!("b.txt")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            with("total_size", json!(-1)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            with("total_size", json!((1 << 20) + 1)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
        ),
        (
            with("chunk_size", json!(null)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_chunk_size",
        ),
        (
            with("chunk_size", json!(0)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_chunk_size",
        ),
        (
            with("chunk_size", json!((1 << 16) + 1)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_chunk_size",
        ),
        (
            with("file_hash", json!("abc")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_file_hash",
        ),
        (
            with("device_id", json!("phone")),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            with("total_size", json!("ten")),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
    ];
    for (body, status, expected) in cases {
        let (got, answer) = start(body.clone()).await;
        assert_eq!((got, code(&answer)), (status, expected), "{body}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    // A token bound to no device may name any device of its user; an unknown one is 404.
    let unbound = server.api(&server.login("alice", ferry_tests::PASSWORD, None).await);
    let (status, body) = unbound
        .post("/api/sync/upload/start", with("device_id", json!("phone")))
        .await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let malformed = api
        .client
        .post(api.url("/api/sync/upload/start"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    let (status, body) = ferry_tests::parts(malformed).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_input")
    );
    assert!(
        files_below(&server.data_dir().join("staging")).is_empty(),
        "refused starts stage nothing"
    );

    // SYNC_MAX_CONCURRENT_UPLOADS = 2: the third unfinished upload is 429.
    for _ in 0..2 {
        assert_eq!(start(ok.clone()).await.0, StatusCode::OK);
    }
    let response = api
        .client
        .post(api.url("/api/sync/upload/start"))
        .bearer_auth(&token)
        .json(&ok)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().get("retry-after").is_some());
    let (_, body) = ferry_tests::parts(response).await;
    assert_eq!(code(&body), "too_many_uploads");
}

#[tokio::test]
async fn pause_resume_and_cancel() {
    let server = TestServer::start().await;
    let api = server.api(&server.user_token("alice").await);
    let data = random_bytes(2048, 4);
    let (_, started) = api.start_upload("/p.bin", 2048, Some(1024), None).await;
    let id = started["upload_id"].as_str().unwrap();
    let token = started["resume_token"].as_str().unwrap();
    api.put_chunk(id, 0, &data[..1024]).await;

    let (status, paused) = api
        .post(&format!("/api/sync/upload/{id}/pause"), json!({}))
        .await;
    assert_eq!(
        (status, paused["status"].as_str()),
        (StatusCode::OK, Some("paused"))
    );
    let (status, body) = api.put_chunk(id, 1, &data[1024..]).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "upload_paused")
    );

    let (status, body) = api
        .post(
            &format!("/api/sync/upload/{id}/resume"),
            json!({ "resume_token": "wrong" }),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let before =
        chrono::DateTime::parse_from_rfc3339(paused["expires_at"].as_str().unwrap()).unwrap();
    server.clock.advance(chrono::Duration::hours(1));
    let (status, resumed) = api
        .post(
            &format!("/api/sync/upload/{id}/resume"),
            json!({ "resume_token": token }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{resumed}");
    assert_eq!(resumed["status"], "active");
    assert_eq!(resumed["missing_chunks"], json!([[1, 1]]));
    assert_eq!(resumed["resume_from_chunk"], 1);
    let after =
        chrono::DateTime::parse_from_rfc3339(resumed["expires_at"].as_str().unwrap()).unwrap();
    assert!(after > before, "resume extends the expiry");

    let (status, _) = api.delete(&format!("/api/sync/upload/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        files_below(&server.data_dir().join("staging")).is_empty(),
        "cancel deletes staged chunks"
    );
    let (status, body) = api.get(&format!("/api/sync/upload/{id}/progress")).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::GONE, "upload_cancelled")
    );
    let (status, _) = api.put_chunk(id, 1, &data[1024..]).await;
    assert_eq!(status, StatusCode::GONE);
    let (status, _) = api.delete(&format!("/api/sync/upload/{id}")).await;
    assert_eq!(status, StatusCode::GONE);
    let (status, _) = api
        .post(&format!("/api/sync/upload/{id}/resume"), json!({}))
        .await;
    assert_eq!(status, StatusCode::GONE);
}

#[tokio::test]
async fn idle_uploads_expire_by_the_clock() {
    let server = TestServer::start_with(Backend::Sqlite, |s| {
        s.cleanup_interval_secs = 1;
        s.gc_grace_secs = 0;
    })
    .await
    .unwrap();
    let api = server.api(&server.user_token("alice").await);
    let (_, started) = api.start_upload("/e.bin", 2048, Some(1024), None).await;
    let id = started["upload_id"].as_str().unwrap();
    api.put_chunk(id, 0, &random_bytes(1024, 5)).await;
    let blobs = server.data_dir().join("blobs");
    assert_eq!(files_below(&blobs).len(), 1);

    server.clock.advance(chrono::Duration::days(6));
    tokio::time::sleep(Duration::from_millis(1500)).await; // the job runs each second: give it a turn
    server.collect_garbage().await;
    assert_eq!(
        files_below(&blobs).len(),
        1,
        "six idle days are not enough: the chunk is still the upload's"
    );

    server.clock.advance(chrono::Duration::days(2));
    // The job, not a request, must expire it: then its chunk is garbage (bounded wait).
    let mut cleaned = false;
    for _ in 0..100 {
        server.collect_garbage().await;
        if files_below(&blobs).is_empty() {
            cleaned = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(cleaned, "the expiry job let go of the stored chunk");
    let (status, body) = api.get(&format!("/api/sync/upload/{id}/progress")).await;
    assert_eq!((status, code(&body)), (StatusCode::GONE, "upload_expired"));
    let (status, _) = api.put_chunk(id, 1, &random_bytes(1024, 6)).await;
    assert_eq!(status, StatusCode::GONE);
}

on_both_backends!(other_users_uploads_and_files_are_404);
async fn other_users_uploads_and_files_are_404(backend: Backend) {
    let Some(server) = TestServer::start_with(backend, |_| {}).await else {
        return;
    };
    let alice = server.api(&server.user_token("alice").await);
    let bob = server.api(&server.user_token("bob").await);
    let data = random_bytes(1500, 8);
    alice.upload_file("/secret.txt", &data, 1024).await;
    let (_, started) = alice
        .start_upload("/next.txt", 1500, Some(1024), None)
        .await;
    let id = started["upload_id"].as_str().unwrap();

    for path in [
        format!("/api/sync/upload/{id}/progress"),
        "/api/sync/files/content?path=/secret.txt".to_owned(),
    ] {
        let (status, body) = bob.get(&path).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "not_found"),
            "{path}"
        );
        assert!(
            !body.to_string().contains("secret"),
            "no data of another user leaks"
        );
    }
    let (status, _) = bob.put_chunk(id, 0, &data[..1024]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = bob
        .post(&format!("/api/sync/upload/{id}/pause"), json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = bob.delete(&format!("/api/sync/upload/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, listing) = bob.get("/api/sync/files").await;
    assert_eq!(listing["files"], json!([]));
    let (status, _) = alice.get(&format!("/api/sync/upload/{id}/progress")).await;
    assert_eq!(status, StatusCode::OK, "bob's attempts changed nothing");
    let (status, _) = bob.get("/api/sync/upload/not-a-uuid/progress").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_wrong_file_hash_fails_the_upload_and_commits_nothing() {
    let server = TestServer::start_with(Backend::Sqlite, |s| s.gc_grace_secs = 0)
        .await
        .unwrap();
    let api = server.api(&server.user_token("alice").await);
    let data = random_bytes(2000, 11);
    let (_, started) = api
        .start_upload(
            "/h.bin",
            2000,
            Some(1024),
            Some(&sha256_hex(b"something else")),
        )
        .await;
    let id = started["upload_id"].as_str().unwrap();
    api.put_chunk(id, 0, &data[..1024]).await;
    let (status, body) = api.put_chunk(id, 1, &data[1024..]).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "file_hash_mismatch")
    );
    let (_, progress) = api.get(&format!("/api/sync/upload/{id}/progress")).await;
    assert_eq!(progress["status"], "failed");
    let (_, listing) = api.get("/api/sync/files").await;
    assert_eq!(listing["files"], json!([]));
    assert!(files_below(&server.data_dir().join("staging")).is_empty());
    // Its chunks are nobody's: the collector takes them.
    server.collect_garbage().await;
    assert!(files_below(&server.data_dir().join("blobs")).is_empty());
}

#[tokio::test]
async fn a_full_disk_is_507_and_the_upload_stays_resumable() {
    let mut server = TestServer::start().await;
    let api = server.api(&server.user_token("alice").await);
    let data = random_bytes(2048, 12);
    let (_, started) = api.start_upload("/big.bin", 2048, Some(1024), None).await;
    let id = started["upload_id"].as_str().unwrap().to_owned();
    api.put_chunk(&id, 0, &data[..1024]).await;

    // Reserve more free space than any disk has: every write is now "disk full".
    server
        .restart_with(|s| s.min_free_space = u64::MAX / 2)
        .await;
    let (status, body) = api.put_chunk(&id, 1, &data[1024..]).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::INSUFFICIENT_STORAGE, "storage_full")
    );
    let (status, body) = api.start_upload("/other.bin", 10, None, None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::INSUFFICIENT_STORAGE, "storage_full")
    );
    let (_, progress) = api.get(&format!("/api/sync/upload/{id}/progress")).await;
    assert_eq!(progress["status"], "active");
    assert_eq!(progress["missing_chunks"], json!([[1, 1]]));

    server.restart_with(|s| s.min_free_space = 0).await;
    let (status, done) = api.put_chunk(&id, 1, &data[1024..]).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "completed");
    assert_eq!(api.download("/big.bin").await, data);
}

#[tokio::test]
async fn modified_at_is_kept_and_a_refused_big_chunk_still_gets_its_answer() {
    let server = TestServer::start().await;
    let api = server.api(&server.user_token("alice").await);
    let chunk = 4 << 20;
    let data = random_bytes(2 * chunk, 13);
    let body = json!({
        "device_id": "laptop", "file_path": "/photos/cat.jpg", "file_name": "cat.jpg",
        "total_size": data.len(), "chunk_size": chunk, "modified_at": "2024-05-01T12:00:00Z",
    });
    let (status, started) = api.post("/api/sync/upload/start", body).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let id = started["upload_id"].as_str().unwrap();
    api.post(&format!("/api/sync/upload/{id}/pause"), json!({}))
        .await;
    // A whole 4 MiB chunk to a paused upload: the client reads the 409, not a reset.
    let (status, body) = api.put_chunk(id, 0, &data[..chunk]).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "upload_paused")
    );
    api.post(&format!("/api/sync/upload/{id}/resume"), json!({}))
        .await;
    api.put_chunk(id, 0, &data[..chunk]).await;
    let (_, done) = api.put_chunk(id, 1, &data[chunk..]).await;
    assert_eq!(done["file"]["modified_at"], "2024-05-01T12:00:00Z");
}

#[tokio::test]
async fn a_chunk_resent_after_completion_is_a_harmless_200() {
    let server = TestServer::start().await;
    let api = server.api(&server.user_token("alice").await);
    let data = random_bytes(2048, 14);
    let (_, started) = api.start_upload("/r.bin", 2048, Some(1024), None).await;
    let id = started["upload_id"].as_str().unwrap();
    api.put_chunk(id, 0, &data[..1024]).await;
    let (_, done) = api.put_chunk(id, 1, &data[1024..]).await;
    assert_eq!(done["status"], "completed");
    // The client never saw that answer and sends the last chunk again.
    let (status, again) = api.put_chunk(id, 1, &data[1024..]).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["status"], "completed");
    assert_eq!(again["file"], done["file"]);
    let (status, body) = api.put_chunk(id, 1, &random_bytes(1024, 15)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "chunk_conflict")
    );
    let (_, listing) = api.get("/api/sync/files").await;
    assert_eq!(
        listing["files"][0]["version"], 1,
        "nothing was committed twice"
    );
}

#[tokio::test]
async fn a_device_bound_token_acts_only_on_its_own_devices_uploads() {
    let server = TestServer::start().await;
    let laptop = server.api(&server.user_token("alice").await);
    let phone = server.api(
        &server
            .login("alice", ferry_tests::PASSWORD, Some("phone"))
            .await,
    );
    let (_, started) = laptop.start_upload("/l.bin", 10, Some(1024), None).await;
    let id = started["upload_id"].as_str().unwrap();
    let (status, body) = phone.put_chunk(id, 0, &random_bytes(10, 16)).await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let (status, _) = phone.delete(&format!("/api/sync/upload/{id}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = laptop.get(&format!("/api/sync/upload/{id}/progress")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_decomposed_file_name_matches_its_normalized_path() {
    let server = TestServer::start().await;
    let api = server.api(&server.user_token("alice").await);
    let nfd = "Cafe\u{301}.txt";
    let body = json!({ "device_id": "laptop", "file_path": format!("/{nfd}"), "file_name": nfd, "total_size": 3 });
    let (status, started) = api.post("/api/sync/upload/start", body).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let (_, done) = api
        .put_chunk(started["upload_id"].as_str().unwrap(), 0, b"abc")
        .await;
    assert_eq!(done["file"]["path"], "/Caf\u{e9}.txt");
}

#[tokio::test]
async fn a_stalled_chunk_body_times_out_and_frees_the_chunk() {
    let server = TestServer::start_with(Backend::Sqlite, |s| s.chunk_idle_timeout_secs = 1)
        .await
        .unwrap();
    let api = server.api(&server.user_token("alice").await);
    let data = random_bytes(4096, 17);
    let (_, started) = api.start_upload("/s.bin", 4096, Some(4096), None).await;
    let id = started["upload_id"].as_str().unwrap();

    // Half the body, then silence (the connection stays open).
    let half = bytes::Bytes::copy_from_slice(&data[..2048]);
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(half)])
        .chain(futures_util::stream::pending());
    let form = reqwest::multipart::Form::new()
        .text("chunk_hash", sha256_hex(&data))
        .part(
            "chunk_file",
            reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(body), 4096),
        );
    let response = api
        .client
        .post(api.url(&format!("/api/sync/upload/{id}/chunk/0")))
        .bearer_auth(&api.token)
        .multipart(form)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    let (status, body) = ferry_tests::parts(response).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::REQUEST_TIMEOUT, "request_timeout")
    );
    let (status, done) = api.put_chunk(id, 0, &data).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(api.download("/s.bin").await, data);
}

/// A file's history over REST: versions newest first, a restore commits the old
/// bytes as the next version, a download is an attachment that a cookie from
/// another site cannot fetch, and nobody reaches another user's history.
#[tokio::test]
async fn file_history_lists_and_restores_versions_over_rest() {
    let server = TestServer::start().await;
    let alice = server.api(&server.user_token("alice").await);
    let bob = server.api(&server.user_token("bob").await);
    alice.upload_file("/a.txt", b"one", 65_536).await;
    alice.upload_file("/a.txt", b"two", 65_536).await;

    let (status, body) = alice.get("/api/sync/files/versions?path=/a.txt").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let versions: Vec<(i64, bool)> = body["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().unwrap(),
                v["current"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(versions, [(2, true), (1, false)]);
    assert_eq!(body["versions"][1]["sha256"], sha256_hex(b"one"));

    let (status, body) = alice
        .post(
            "/api/sync/files/restore",
            json!({ "path": "/a.txt", "version": 1 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["file"]["version"], 3);
    assert_eq!(alice.download("/a.txt").await, b"one");

    // Another user's file, an unknown version, a bad body: errors in the SPEC's format.
    let (status, body) = bob.get("/api/sync/files/versions?path=/a.txt").await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, body) = bob
        .post(
            "/api/sync/files/restore",
            json!({ "path": "/a.txt", "version": 1 }),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, body) = alice
        .post(
            "/api/sync/files/restore",
            json!({ "path": "/a.txt", "version": 9 }),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, body) = alice
        .post(
            "/api/sync/files/restore",
            json!({ "path": "/a.txt", "version": "1", "x": 1 }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_input")
    );
    let (status, _) = server
        .api("not-a-token")
        .get("/api/sync/files/versions?path=/a.txt")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Downloads are attachments; the session cookie works same-origin, not from elsewhere.
    let client = reqwest::Client::new();
    let token = server.login("alice", ferry_tests::PASSWORD, None).await;
    let content = server.url("/api/sync/files/content?path=/a.txt");
    let response = client
        .get(&content)
        .header("cookie", format!("ferry_session={token}"))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename*=UTF-8''a.txt"
    );
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let response = client
        .get(&content)
        .header("cookie", format!("ferry_session={token}"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn file_bytes_are_counted_per_protocol_in_metrics() {
    let server = TestServer::start().await;
    let api = server.api(&server.user_token("alice").await);
    let metric = |direction: &str, protocol: &str| {
        format!("ferry_{direction}_bytes_total{{protocol=\"{protocol}\"}}")
    };
    let data = random_bytes(100_000, 3);
    api.upload_file("/counted.bin", &data, 32_768).await;
    assert_eq!(
        server.metric(&metric("received", "chunked")).await,
        100_000.0
    );
    assert_eq!(api.download("/counted.bin").await, data);
    let ranged = api
        .client
        .get(api.url("/api/sync/files/content"))
        .query(&[("path", "/counted.bin")])
        .header("Range", "bytes=0-9")
        .bearer_auth(&api.token)
        .send()
        .await
        .expect("range");
    assert_eq!(ranged.bytes().await.expect("body").len(), 10);
    assert_eq!(server.metric(&metric("sent", "rest")).await, 100_010.0);

    let put = api
        .client
        .put(server.url("/webdav/dav.bin"))
        .basic_auth("alice", Some(ferry_tests::PASSWORD))
        .body(vec![7u8; 1_000])
        .send()
        .await
        .expect("put");
    assert!(put.status().is_success(), "{}", put.status());
    assert_eq!(server.metric(&metric("received", "webdav")).await, 1_000.0);
    let got = api
        .client
        .get(server.url("/webdav/dav.bin"))
        .basic_auth("alice", Some(ferry_tests::PASSWORD))
        .send()
        .await
        .expect("get");
    assert_eq!(got.bytes().await.expect("body").len(), 1_000);
    assert_eq!(server.metric(&metric("sent", "webdav")).await, 1_000.0);
}
