//! `ferry sync` end to end: real client processes on temporary folders against
//! the real server (SQLite and PostgreSQL), converging byte for byte.
use std::time::Duration;

use ferry_tests::sync_client::{Device, converge};
use ferry_tests::{Backend, PASSWORD, TestServer};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_ferry-under-test");

/// A server on `backend` with user `alice`, or `None` without PostgreSQL.
async fn server(backend: Backend) -> Option<TestServer> {
    let server = TestServer::start_with(backend, |_| {}).await?;
    let admin = server.api(&server.admin_token().await);
    let (status, body) = admin
        .post(
            "/api/users",
            json!({ "username": "alice", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status.as_u16(), 201, "{body}");
    Some(server)
}

async fn device(server: &TestServer, name: &str) -> Device {
    Device::init(BIN, &server.base, "alice", PASSWORD, name).await
}

async fn two_watchers_converge_on_every_kind_of_change(backend: Backend) {
    let Some(server) = server(backend).await else {
        return;
    };
    let mut a = device(&server, "laptop").await;
    let mut b = device(&server, "phone").await;
    a.watch();
    b.watch();
    // Files, folders, an empty folder, an empty file, a unicode name.
    a.write("/Docs/report.txt", b"first draft");
    a.write("/Docs/Deep/er/notes.md", b"# notes");
    a.write("/empty.bin", b"");
    a.write("/Fotos/Ünïcödé ✓.txt", "ü".as_bytes());
    std::fs::create_dir_all(a.path("/Empty Folder")).expect("mkdir");
    let tree = converge(&[&a, &b], Duration::from_secs(60), |t| t.len() == 9).await;
    assert_eq!(
        tree["/Docs/report.txt"].as_deref(),
        Some(&b"first draft"[..])
    );
    assert_eq!(tree["/Empty Folder"], None);
    assert_eq!(tree["/empty.bin"].as_deref(), Some(&b""[..]));

    // Changes on the other device: modify, rename a folder, delete.
    b.write("/Docs/report.txt", b"second draft, longer");
    std::fs::rename(b.path("/Docs/Deep"), b.path("/Docs/Moved")).expect("rename");
    std::fs::remove_file(b.path("/empty.bin")).expect("rm");
    std::fs::remove_dir(b.path("/Empty Folder")).expect("rmdir");
    let tree = converge(&[&a, &b], Duration::from_secs(60), |t| {
        t.contains_key("/Docs/Moved/er/notes.md")
            && !t.contains_key("/Docs/Deep")
            && !t.contains_key("/empty.bin")
            && !t.contains_key("/Empty Folder")
            && t["/Docs/report.txt"].as_deref() == Some(&b"second draft, longer"[..])
    })
    .await;
    assert_eq!(
        tree["/Docs/Moved/er/notes.md"].as_deref(),
        Some(&b"# notes"[..])
    );
    a.stop_watching().await;
    b.stop_watching().await;
    // Both ended in agreement: nothing pending on either side.
    for d in [&a, &b] {
        let status = d.status().await;
        assert_eq!(status["pending_uploads"], json!([]), "{status}");
        assert_eq!(status["pending_downloads"], json!([]), "{status}");
    }
}

async fn offline_edits_on_both_sides_keep_both(backend: Backend) {
    let Some(server) = server(backend).await else {
        return;
    };
    let a = device(&server, "laptop").await;
    let b = device(&server, "phone").await;
    a.write("/shared.txt", b"base");
    a.sync().await;
    b.sync().await;
    assert_eq!(std::fs::read(b.path("/shared.txt")).expect("read"), b"base");
    // Both edit offline; the phone's edit is later.
    a.write("/shared.txt", b"laptop edit");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    b.write("/shared.txt", b"phone edit");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    a.sync().await;
    b.sync().await;
    a.sync().await;
    let tree = converge(&[&a, &b], Duration::from_secs(5), |_| true).await;
    // keep_newest (the default): the phone's later edit is current, the
    // laptop's lives on as a conflict copy. Nothing is lost.
    let contents: Vec<&[u8]> = tree.values().filter_map(|v| v.as_deref()).collect();
    assert!(contents.contains(&&b"laptop edit"[..]), "{:?}", tree.keys());
    assert!(contents.contains(&&b"phone edit"[..]), "{:?}", tree.keys());
    assert_eq!(tree.len(), 2, "{:?}", tree.keys());
    assert!(tree.keys().any(|k| k.contains(" (conflict ")));
}

async fn selective_sync_keeps_photos_off_one_device_both_ways(backend: Backend) {
    let Some(server) = server(backend).await else {
        return;
    };
    let a = device(&server, "laptop").await;
    let b = device(&server, "phone").await;
    let alice = server.api(&server.login("alice", PASSWORD, None).await);
    let (status, body) = alice
        .post(
            "/api/sync/selective/configure",
            json!({ "device_id": "phone", "folders": [
                { "path": "/Docs", "enabled": true, "include_subfolders": true }
            ] }),
        )
        .await;
    assert_eq!(status.as_u16(), 200, "{body}");
    a.write("/Photos/cat.jpg", b"meow");
    a.write("/Docs/a.txt", b"a");
    a.sync().await;
    b.write("/Photos/local-only.jpg", b"phone photo");
    b.write("/Docs/b.txt", b"b");
    b.sync().await;
    a.sync().await;
    let ta = a.tree();
    let tb = b.tree();
    assert!(!tb.contains_key("/Photos/cat.jpg"), "{:?}", tb.keys());
    assert!(
        !ta.contains_key("/Photos/local-only.jpg"),
        "{:?}",
        ta.keys()
    );
    assert_eq!(
        tb["/Photos/local-only.jpg"].as_deref(),
        Some(&b"phone photo"[..])
    );
    assert_eq!(ta["/Docs/b.txt"].as_deref(), Some(&b"b"[..]));
    assert_eq!(tb["/Docs/a.txt"].as_deref(), Some(&b"a"[..]));
    let status = b.status().await;
    assert_eq!(
        status["left_out"],
        json!(["/Photos", "/Photos/local-only.jpg"]),
        "{status}"
    );
}

macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(ferry_tests::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(ferry_tests::Backend::Postgres).await;
            }
        }
    };
}

on_both!(two_watchers_converge_on_every_kind_of_change);
on_both!(offline_edits_on_both_sides_keep_both);
on_both!(selective_sync_keeps_photos_off_one_device_both_ways);
