//! Chunks are blocks and delta uploads send only what the caller lacks: a
//! chunked upload's manifest is its chunks; a block list learns what is missing
//! per user (another user's identical content still answers as new, and is
//! stored once); a list whose blocks are all held completes at start; a block
//! repeated in a list is sent once; a chunk that is not the announced block is
//! refused.
use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};

use super::{Fixture, fixture};
use crate::service::{
    Caller, Code, Services,
    uploads::{StartUpload, StartedUpload, delta::AnnouncedBlock},
};

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn announce(pieces: &[&[u8]]) -> Vec<AnnouncedBlock> {
    pieces
        .iter()
        .map(|p| AnnouncedBlock {
            sha256: sha(p),
            size: p.len() as i64,
        })
        .collect()
}

async fn start(s: &Services, caller: &Caller, path: &str, pieces: &[&[u8]]) -> StartedUpload {
    let whole: Vec<u8> = pieces.concat();
    s.start_upload(
        caller,
        StartUpload {
            device_id: "laptop".into(),
            file_path: path.into(),
            file_name: path.trim_start_matches('/').into(),
            total_size: whole.len() as i64,
            file_hash: Some(sha(&whole)),
            blocks: Some(announce(pieces)),
            ..Default::default()
        },
    )
    .await
    .expect("start")
}

async fn send(
    s: &Services,
    caller: &Caller,
    upload: uuid::Uuid,
    n: i64,
    bytes: &[u8],
) -> crate::service::Result<crate::service::uploads::chunks::ChunkOutcome> {
    let mut writer = s.begin_chunk(caller, upload, n).await?;
    writer.write(bytes).await?;
    s.finish_chunk(caller, writer, &sha(bytes)).await
}

async fn read(s: &Services, caller: &Caller, path: &str) -> Vec<u8> {
    let open = s.open_file(caller, path, None).await.expect("open");
    open.content
        .stream(0, open.info.size, 1 << 16)
        .map_ok(|b| b.to_vec())
        .try_concat()
        .await
        .expect("read")
}

/// Files in the block store.
fn stored_blocks(f: &Fixture) -> usize {
    walk(&f._dir.path().join("blobs"))
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| {
            if e.file_type().expect("type").is_dir() {
                walk(&e.path())
            } else {
                1
            }
        })
        .sum()
}

async fn only_missing_blocks_travel_and_the_answer_is_per_user(postgres: bool) {
    let Some(f) = fixture(postgres).await else {
        return;
    };
    let s = &f.services;
    let alice = f.user("alice").await;
    let bob = f.user("bob").await;
    let (a, b, c, x) = (&b"aaaa"[..], &b"bbbb"[..], &b"cc"[..], &b"XXXX"[..]);

    // A plain chunked upload: its chunks become the version's blocks.
    let plain = s
        .start_upload(
            &alice,
            StartUpload {
                device_id: "laptop".into(),
                file_path: "/v.bin".into(),
                file_name: "v.bin".into(),
                total_size: 10,
                chunk_size: Some(4),
                ..Default::default()
            },
        )
        .await
        .expect("start");
    assert!(
        plain.missing_chunks.is_none(),
        "a plain start answers as before"
    );
    for (n, piece) in [a, b, c].iter().enumerate() {
        send(s, &alice, plain.upload_id, n as i64, piece)
            .await
            .expect("chunk");
    }
    assert_eq!(read(s, &alice, "/v.bin").await, b"aaaabbbbcc");
    let blocks = s
        .content(s.db(), &sha(b"aaaabbbbcc"), 10)
        .await
        .expect("content");
    assert_eq!(blocks.block_count(), 3, "one block per chunk");
    let after_plain = stored_blocks(&f);

    // Alice edits the middle: only that block is missing.
    let edit = start(s, &alice, "/v.bin", &[a, x, c]).await;
    assert_eq!(edit.missing_chunks.as_deref(), Some(&[[1, 1]][..]));
    assert_eq!(edit.completed_chunks, Some(2));
    let wrong = send(s, &alice, edit.upload_id, 1, b"YYYY").await;
    assert_eq!(wrong.expect_err("not announced").code(), Code::HashMismatch);
    let done = send(s, &alice, edit.upload_id, 1, x).await.expect("chunk");
    assert_eq!(done.file.expect("committed").version, 2);
    assert_eq!(read(s, &alice, "/v.bin").await, b"aaaaXXXXcc");
    assert_eq!(stored_blocks(&f), after_plain + 1);

    // Bob announces Alice's first version: new to him, so he sends it all …
    let bobs = start(s, &bob, "/mine.bin", &[a, b, c]).await;
    assert_eq!(bobs.missing_chunks.as_deref(), Some(&[[0, 2]][..]));
    assert_eq!(bobs.completed_chunks, Some(0));
    for (n, piece) in [a, b, c].iter().enumerate() {
        send(s, &bob, bobs.upload_id, n as i64, piece)
            .await
            .expect("chunk");
    }
    assert_eq!(read(s, &bob, "/mine.bin").await, b"aaaabbbbcc");
    // … and the store holds it once.
    assert_eq!(stored_blocks(&f), after_plain + 1);

    // A copy of held content completes at start, nothing sent.
    let copy = start(s, &alice, "/copy.bin", &[a, x, c]).await;
    assert_eq!(copy.missing_chunks.as_deref(), Some(&[][..]));
    assert_eq!(copy.status, Some(entity::enums::UploadStatus::Completed));
    assert_eq!(copy.file.expect("file").path, "/copy.bin");
    assert_eq!(read(s, &alice, "/copy.bin").await, b"aaaaXXXXcc");

    // A block repeated in a list is sent once.
    let zeros = [0u8; 4];
    let repeated = start(s, &bob, "/zeros.bin", &[&zeros, &zeros, &zeros]).await;
    assert_eq!(repeated.missing_chunks.as_deref(), Some(&[[0, 2]][..]));
    let outcome = send(s, &bob, repeated.upload_id, 1, &zeros)
        .await
        .expect("chunk");
    assert_eq!(outcome.completed_chunks, 3);
    assert!(outcome.file.is_some(), "one block completed every position");
    assert_eq!(read(s, &bob, "/zeros.bin").await, [0u8; 12]);

    // Lists that do not add up, or mix chunk_size in, are refused.
    let refused = s
        .start_upload(
            &alice,
            StartUpload {
                device_id: "laptop".into(),
                file_path: "/bad.bin".into(),
                file_name: "bad.bin".into(),
                total_size: 11,
                blocks: Some(announce(&[a, b, c])),
                ..Default::default()
            },
        )
        .await
        .expect_err("does not add up");
    assert_eq!(refused.code(), Code::InvalidBlockList);

    // Only an admin runs the collector or reads its reports.
    let err = s.collect_garbage(Some(&alice)).await.expect_err("a user");
    assert_eq!(err.code(), Code::Forbidden);
    let err = s.storage_reports(&alice, 5).await.expect_err("a user");
    assert_eq!(err.code(), Code::Forbidden);
}

on_both!(only_missing_blocks_travel_and_the_answer_is_per_user);
