//! Upgrading a data directory written by the previous release (before the block
//! store: every content one whole blob, no manifests). `tests/fixtures/data-dir-v0`
//! was written by that release's `ferry serve` (SQLite + blobs: alice's file in two
//! versions, a file alice and bob both hold, an empty file, a deleted one, one put over
//! WebDAV); `data-dir-v0.expected.json` lists each path's SHA-256 per version.
//! `ferry migrate` upgrades it in place; every version then reads byte-identical
//! over REST (whole and by `Range`) and WebDAV, and new writes work beside the old.
//! The same release wrote the same files (same seed, so the same blobs) on
//! PostgreSQL: `data-dir-v0.postgres.sql` is that database's `pg_dump --inserts`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::{collections::BTreeMap, path::Path};

use ferry_tests::{Api, ProcessServer, sha256_hex};
use reqwest::{Client, StatusCode};
use serde_json::json;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_ferry-under-test");

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

async fn login(server: &ProcessServer, user: &str, password: &str) -> Api {
    let (status, body) = ferry_tests::parts(
        Client::new()
            .post(format!("{}/api/auth/login", server.base))
            .json(&json!({ "username": user, "password": password }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    Api {
        client: Client::new(),
        base: server.base.clone(),
        token: body["token"].as_str().unwrap().to_owned(),
    }
}

async fn get(
    api: &Api,
    path: &str,
    version: Option<usize>,
    range: Option<&str>,
) -> (StatusCode, Vec<u8>) {
    let mut query = vec![("path", path.to_owned())];
    if let Some(v) = version {
        query.push(("version", v.to_string()));
    }
    let mut request = api
        .client
        .get(api.url("/api/sync/files/content"))
        .query(&query)
        .bearer_auth(&api.token);
    if let Some(range) = range {
        request = request.header("Range", range);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_data_dir_of_the_previous_release_upgrades_with_every_byte_kept() {
    let dir = TempDir::new().unwrap();
    let data_dir = dir.path().join("data");
    copy_dir(&fixtures().join("data-dir-v0"), &data_dir);
    upgrade_and_check(&data_dir, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_database_of_the_previous_release_upgrades_with_every_byte_kept() {
    let Some(database) = ferry_tests::TestDatabase::create().await else {
        return;
    };
    let loaded = tokio::process::Command::new("psql")
        .args(["-q", "-v", "ON_ERROR_STOP=1", "-d", &database.url, "-f"])
        .arg(fixtures().join("data-dir-v0.postgres.sql"))
        .output()
        .await
        .expect("psql (PostgreSQL's client) must be installed");
    assert!(
        loaded.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    let dir = TempDir::new().unwrap();
    let data_dir = dir.path().join("data");
    copy_dir(
        &fixtures().join("data-dir-v0/blobs"),
        &data_dir.join("blobs"),
    );
    upgrade_and_check(&data_dir, &[("DATABASE_URL", &database.url)]).await;
}

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// `ferry migrate` over `data_dir` (and `env`), then every check of the module docs.
async fn upgrade_and_check(data_dir: &Path, env: &[(&str, &str)]) {
    let expected: BTreeMap<String, BTreeMap<String, Vec<String>>> = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("data-dir-v0.expected.json")).unwrap(),
    )
    .unwrap();
    let migrated = tokio::process::Command::new(BIN)
        .arg("migrate")
        .env("FERRY_DATA_DIR", data_dir)
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    assert!(
        migrated.status.success(),
        "ferry migrate: {}",
        String::from_utf8_lossy(&migrated.stderr)
    );

    // Nothing on disk moved: six contents (alice's and bob's same.bin are one blob).
    let blob_files = || ferry_tests::files_below(&data_dir.join("blobs")).len();
    assert_eq!(blob_files(), 6);
    let server = ProcessServer::spawn(BIN, data_dir, env).await;
    let passwords = [("alice", "alice-password"), ("bob", "bob-password")];
    for (user, password) in passwords {
        let api = login(&server, user, password).await;
        for (path, versions) in &expected[user] {
            for (n, sha) in versions.iter().enumerate() {
                let (status, bytes) = get(&api, path, Some(n + 1), None).await;
                assert_eq!(status, StatusCode::OK, "{user} {path} v{}", n + 1);
                assert_eq!(&sha256_hex(&bytes), sha, "{user} {path} v{}", n + 1);
            }
            let current = versions.last().unwrap();
            let (status, bytes) = get(&api, path, None, None).await;
            if path == "/Docs/gone.txt" {
                assert_eq!(status, StatusCode::NOT_FOUND, "deleted before the upgrade");
                continue;
            }
            assert_eq!(status, StatusCode::OK, "{user} {path}");
            assert_eq!(&sha256_hex(&bytes), current, "{user} {path}");
            if bytes.len() > 10 {
                let (status, part) = get(&api, path, None, Some("bytes=3-9")).await;
                assert_eq!(status, StatusCode::PARTIAL_CONTENT);
                assert_eq!(part, bytes[3..=9], "{user} {path} bytes 3-9");
            }
        }
    }
    // WebDAV reads the old blobs too.
    let dav = Client::new()
        .get(format!("{}/webdav/Docs/dav.txt", server.base))
        .basic_auth("alice", Some("alice-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(dav.status(), StatusCode::OK);
    let bytes = dav.bytes().await.unwrap();
    assert_eq!(
        sha256_hex(&bytes),
        expected["alice"]["/Docs/dav.txt"][0],
        "WebDAV GET after the upgrade"
    );
    // New writes land beside the old ones; the old file stays readable.
    let alice = login(&server, "alice", "alice-password").await;
    let fresh = b"written after the upgrade".to_vec();
    alice.upload_file("/Docs/fresh.txt", &fresh, 65_536).await;
    assert_eq!(alice.download("/Docs/fresh.txt").await, fresh);
    assert_eq!(blob_files(), 7);
    let (status, bytes) = get(&alice, "/Videos/clip.bin", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        &sha256_hex(&bytes),
        expected["alice"]["/Videos/clip.bin"].last().unwrap()
    );
}
