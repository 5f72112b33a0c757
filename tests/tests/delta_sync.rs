//! Only changed bytes travel: `ferry sync` on two devices against the real
//! server (SQLite and PostgreSQL), measured by the server's own byte counters.
//! A 1 MiB edit in the middle of a 256 MiB file moves at most 8 MiB each way; a
//! rename and a copy of it move at most 1 MiB.
use std::time::Duration;

use ferry_tests::on_both_backends;
use ferry_tests::sync_client::Device;
use ferry_tests::{Backend, PASSWORD, TestServer, random_bytes};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_ferry-under-test");
const MIB: usize = 1 << 20;
const SIZE: usize = 256 * MIB;
const RECEIVED: &str = "ferry_received_bytes_total{protocol=\"chunked\"}";
const SENT: &str = "ferry_sent_bytes_total{protocol=\"rest\"}";

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

/// What `sync` made the server receive and send, in bytes.
async fn traffic(server: &TestServer, sync: impl std::future::Future<Output = ()>) -> (f64, f64) {
    let (received, sent) = (server.metric(RECEIVED).await, server.metric(SENT).await);
    sync.await;
    (
        server.metric(RECEIVED).await - received,
        server.metric(SENT).await - sent,
    )
}

fn read(device: &Device, path: &str) -> Vec<u8> {
    std::fs::read(device.path(path)).expect("synced file")
}

async fn a_one_mib_edit_in_the_middle_moves_a_few_mib_each_way(backend: Backend) {
    let Some(server) = server(backend).await else {
        return;
    };
    let a = Device::init(BIN, &server.base, "alice", PASSWORD, "laptop").await;
    let b = Device::init(BIN, &server.base, "alice", PASSWORD, "desktop").await;
    let mut content = random_bytes(SIZE, 3);
    a.write("/video.bin", &content);
    let (up, _) = traffic(&server, a.sync()).await;
    assert!(up >= SIZE as f64, "the first upload sends it all: {up}");
    let (_, down) = traffic(&server, b.sync()).await;
    assert!(
        down >= SIZE as f64,
        "the first download fetches it all: {down}"
    );
    assert!(read(&b, "/video.bin") == content);

    let middle = SIZE / 2 + 12_345;
    content[middle..middle + MIB].copy_from_slice(&random_bytes(MIB, 4));
    // A different modification time too: the scan must see the edit.
    std::thread::sleep(Duration::from_millis(20));
    a.write("/video.bin", &content);
    let (up, _) = traffic(&server, a.sync()).await;
    assert!(up <= (8 * MIB) as f64, "the edit sent {up} bytes");
    let (_, down) = traffic(&server, b.sync()).await;
    assert!(down <= (8 * MIB) as f64, "the edit fetched {down} bytes");
    assert!(read(&b, "/video.bin") == content, "byte for byte");
}

async fn a_rename_and_a_copy_move_almost_nothing(backend: Backend) {
    let Some(server) = server(backend).await else {
        return;
    };
    let a = Device::init(BIN, &server.base, "alice", PASSWORD, "laptop").await;
    let b = Device::init(BIN, &server.base, "alice", PASSWORD, "desktop").await;
    let content = random_bytes(SIZE, 5);
    a.write("/Films/take.bin", &content);
    a.sync().await;
    b.sync().await;

    std::fs::create_dir_all(a.path("/Archive")).expect("mkdir");
    std::fs::rename(a.path("/Films/take.bin"), a.path("/Archive/take.bin")).expect("rename");
    std::fs::copy(a.path("/Archive/take.bin"), a.path("/Films/copy.bin")).expect("copy");
    let (up, _) = traffic(&server, a.sync()).await;
    assert!(up <= MIB as f64, "a rename and a copy sent {up} bytes");
    let (_, down) = traffic(&server, b.sync()).await;
    assert!(
        down <= MIB as f64,
        "a rename and a copy fetched {down} bytes"
    );
    assert!(read(&b, "/Archive/take.bin") == content);
    assert!(read(&b, "/Films/copy.bin") == content);
    assert!(!b.path("/Films/take.bin").exists(), "the old name is gone");
}

on_both_backends!(a_one_mib_edit_in_the_middle_moves_a_few_mib_each_way);
on_both_backends!(a_rename_and_a_copy_move_almost_nothing);
