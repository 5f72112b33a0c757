//! `ferry sync` end to end: real client processes on temporary folders against
//! the real server (SQLite and PostgreSQL), converging byte for byte.
use ferry_tests::on_both_backends;
use std::time::Duration;

use ferry_tests::sync_client::{Device, converge};
use ferry_tests::{Backend, PASSWORD, TestServer, random_bytes, sha256_hex};
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

/// Create a schedule (`fields` of the REST body) for Alice's phone, as the admin.
async fn phone_schedule(server: &TestServer, mut fields: serde_json::Value) -> serde_json::Value {
    let admin = server.api(&server.admin_token().await);
    let alice = server.api(&server.login("alice", PASSWORD, None).await);
    let (_, me) = alice.get("/api/me").await;
    fields["device_id"] = json!("phone");
    fields["user_id"] = me["id"].clone();
    let (status, body) = admin.post("/api/sync/schedule/create", fields).await;
    assert_eq!(status.as_u16(), 200, "{body}");
    body
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

async fn a_killed_client_resumes_the_same_upload(backend: Backend) {
    let Some(server) = server(backend).await else {
        return;
    };
    let alice = server.api(&server.login("alice", PASSWORD, None).await);
    // 20 MiB/s up, so the 200 MiB upload is still going when the client dies.
    let limit = json!({ "upload_speed_limit": 20 << 20, "throttle_enabled": false });
    let (status, body) = alice.post("/api/sync/bandwidth/limit", limit).await;
    assert_eq!(status.as_u16(), 200, "{body}");
    let a = device(&server, "laptop").await;
    let size = 200 << 20;
    let content = random_bytes(size, 7);
    a.write("/big.bin", &content);
    let mut child = a.spawn_run();
    let received = "ferry_upload_bytes_received_total";
    let until = tokio::time::Instant::now() + Duration::from_secs(120);
    while server.metric(received).await < 50.0 * (1 << 20) as f64 {
        assert!(
            tokio::time::Instant::now() < until,
            "the upload never got going"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().await.expect("kill -9");
    let status = a.status().await;
    assert_eq!(status["uploads_in_flight"], json!(["/big.bin"]), "{status}");
    // Restarted, the client finishes the same upload.
    a.sync().await;
    let total = server.metric(received).await;
    assert!(
        total < 1.25 * size as f64,
        "the server received {total} bytes for a {size}-byte file"
    );
    assert_eq!(server.metric("ferry_uploads_started_total").await, 1.0);
    let (status, files) = alice.get("/api/sync/files").await;
    assert_eq!(status.as_u16(), 200);
    assert_eq!(
        files["files"][0]["sha256"],
        json!(sha256_hex(&content)),
        "{files}"
    );
}

async fn a_time_based_device_syncs_at_its_run_and_not_before(backend: Backend) {
    let Some(server) = server(backend).await else {
        return;
    };
    let mut a = device(&server, "laptop").await;
    let mut b = device(&server, "phone").await;
    // The phone syncs daily, at the next minute that is at least 40 s away.
    let at = chrono::Utc::now() + chrono::Duration::seconds(100);
    let time_of_day = at.format("%H:%M").to_string();
    let admin = server.api(&server.admin_token().await);
    let body = phone_schedule(
        &server,
        json!({ "schedule_type": "daily", "time_of_day": time_of_day, "timezone": "UTC",
                    "sync_deletions": true }),
    )
    .await;
    let next_run: chrono::DateTime<chrono::Utc> = body["next_run_at"]
        .as_str()
        .expect("next run")
        .parse()
        .expect("instant");
    a.watch();
    b.watch();
    a.write("/report.txt", b"for the nightly run");
    b.write("/from-phone.txt", b"queued until the run");
    // Before the run: the laptop's file is on the server, not on the phone; the
    // phone's file waits on the phone.
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert!(
        chrono::Utc::now() < next_run,
        "the test machine is too slow"
    );
    assert!(
        !b.tree().contains_key("/report.txt"),
        "the phone synced before its run"
    );
    assert!(
        !a.tree().contains_key("/from-phone.txt"),
        "the phone uploaded before its run"
    );
    // At the run both travel, and the run ends acknowledged.
    let wait =
        (next_run - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(60);
    converge(&[&a, &b], wait, |t| {
        t.contains_key("/report.txt") && t.contains_key("/from-phone.txt")
    })
    .await;
    let runs_query =
        "{ scheduleRuns(deviceId: \"phone\", first: 10) { nodes { status trigger } } }";
    let until = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let runs = admin.graphql(runs_query, json!({})).await;
        let nodes = runs["data"]["scheduleRuns"]["nodes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !nodes.is_empty() && nodes.iter().all(|n| n["status"] == "COMPLETED") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "the run was not acknowledged: {runs}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    a.stop_watching().await;
    b.stop_watching().await;
}

async fn watchers_catch_up_after_the_server_was_away(backend: Backend) {
    let Some(mut server) = server(backend).await else {
        return;
    };
    let mut a = device(&server, "laptop").await;
    let mut b = device(&server, "phone").await;
    a.watch();
    b.watch();
    a.write("/before.txt", b"before");
    converge(&[&a, &b], Duration::from_secs(60), |t| {
        t.contains_key("/before.txt")
    })
    .await;
    // The server goes away for 20 s; both sides change meanwhile.
    let away = server.restart_after(Duration::from_secs(20));
    let edits = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        a.write("/during-a.txt", b"written while the server was away");
        b.write("/during-b.txt", b"this one too");
    };
    tokio::join!(away, edits);
    converge(&[&a, &b], Duration::from_secs(90), |t| {
        t.contains_key("/during-a.txt") && t.contains_key("/during-b.txt")
    })
    .await;
    a.stop_watching().await;
    b.stop_watching().await;
}

async fn ten_thousand_small_files_in_500_folders_converge(backend: Backend) {
    let Some(server) = server(backend).await else {
        return;
    };
    let a = device(&server, "laptop").await;
    let b = device(&server, "phone").await;
    for folder in 0..500 {
        for file in 0..20 {
            let path = format!("/f{folder:03}/file-{file:02}.txt");
            a.write(&path, path.as_bytes());
        }
    }
    let started = std::time::Instant::now();
    a.sync().await;
    let pushed = started.elapsed();
    b.sync().await;
    let pulled = started.elapsed() - pushed;
    eprintln!("10,000 files: pushed in {pushed:?}, pulled in {pulled:?}");
    let tree = converge(&[&a, &b], Duration::from_secs(5), |_| true).await;
    assert_eq!(tree.len(), 10_500);
}

/// The laptop edits, syncs; the phone (with `strategy`) edits the same file
/// offline, later, and syncs; the laptop syncs again. Returns the tree.
async fn conflict_with(backend: Backend, strategy: &str) -> Option<ferry_tests::sync_client::Tree> {
    let server = server(backend).await?;
    let a = device(&server, "laptop").await;
    let b = device(&server, "phone").await;
    let fields = json!({ "schedule_type": "on_change", "sync_deletions": true,
                         "resolve_conflicts": strategy });
    phone_schedule(&server, fields).await;
    a.write("/shared.txt", b"base");
    a.sync().await;
    b.sync().await;
    a.write("/shared.txt", b"laptop edit");
    b.write("/shared.txt", b"phone edit");
    // The phone's edit is the later one (whole seconds apart), and settled.
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(b.path("/shared.txt"))
        .and_then(|f| f.set_modified(later))
        .expect("mtime");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    a.sync().await;
    b.sync().await;
    a.sync().await;
    let tree = converge(&[&a, &b], Duration::from_secs(5), |_| true).await;
    assert_eq!(tree.len(), 2, "{:?}", tree.keys());
    let copy = tree
        .keys()
        .find(|k| k.contains(" (conflict "))
        .expect("a conflict copy")
        .clone();
    assert!(
        copy.starts_with("/shared (conflict ") && copy.ends_with(").txt"),
        "{copy}"
    );
    Some(tree)
}

async fn each_conflict_strategy_keeps_both_edits(backend: Backend) {
    let copy_of = |tree: &ferry_tests::sync_client::Tree| {
        tree.iter()
            .find(|(k, _)| k.contains(" (conflict "))
            .and_then(|(_, v)| v.clone())
            .expect("copy")
    };
    // keep_server: the server's (laptop's) version stays; the phone's is the copy.
    let Some(tree) = conflict_with(backend, "keep_server").await else {
        return;
    };
    assert_eq!(tree["/shared.txt"].as_deref(), Some(&b"laptop edit"[..]));
    assert_eq!(copy_of(&tree), b"phone edit");
    // keep_local: the phone's upload wins; the laptop's displaced edit is the copy.
    let tree = conflict_with(backend, "keep_local").await.expect("tree");
    assert_eq!(tree["/shared.txt"].as_deref(), Some(&b"phone edit"[..]));
    assert_eq!(copy_of(&tree), b"laptop edit");
    // keep_newest: the later edit (the phone's) wins, the other is the copy.
    let tree = conflict_with(backend, "keep_newest").await.expect("tree");
    assert_eq!(tree["/shared.txt"].as_deref(), Some(&b"phone edit"[..]));
    assert_eq!(copy_of(&tree), b"laptop edit");
}

on_both_backends!(two_watchers_converge_on_every_kind_of_change);
on_both_backends!(offline_edits_on_both_sides_keep_both);
on_both_backends!(selective_sync_keeps_photos_off_one_device_both_ways);
on_both_backends!(a_killed_client_resumes_the_same_upload);
on_both_backends!(a_time_based_device_syncs_at_its_run_and_not_before);
on_both_backends!(watchers_catch_up_after_the_server_was_away);

/// One test for both backends, one after the other: two runs of 10,000
/// uploads at once would only compete for the machine's two cores.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_small_files_in_500_folders_converge_on_both_backends() {
    ten_thousand_small_files_in_500_folders_converge(Backend::Sqlite).await;
    ten_thousand_small_files_in_500_folders_converge(Backend::Postgres).await;
}
on_both_backends!(each_conflict_strategy_keeps_both_edits);
