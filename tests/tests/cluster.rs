//! Three `ferry serve` nodes on one PostgreSQL and one S3-compatible store
//! (SeaweedFS), black-box: whatever a client does through one node holds on
//! the others — uploads, progress events, schedules, WebDAV locks, bandwidth
//! limits, revocations, crashes and `ferry sync`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::{Duration, Instant};

use ferry_tests::cluster::Cluster;
use ferry_tests::socket::{connect, next_json, subscribe};
use ferry_tests::sync_client::{Device, converge};
use ferry_tests::{Api, PASSWORD, random_bytes, sha256_hex};
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_ferry-under-test");
const MIB: usize = 1 << 20;

/// Three nodes with user `alice`; `None` without PostgreSQL (outside CI).
async fn cluster(extra: &[(&str, &str)]) -> Option<(Cluster, Api)> {
    let cluster = Cluster::start(BIN, 3, extra).await?;
    let admin = cluster.admin(0).await;
    let (status, body) = admin
        .post(
            "/api/users",
            json!({ "username": "alice", "password": PASSWORD }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let alice = login(&cluster, 0, "laptop").await;
    Some((cluster, alice))
}

async fn login(cluster: &Cluster, node: usize, device: &str) -> Api {
    let client = reqwest::Client::new();
    let base = cluster.base(node).to_owned();
    let body = json!({ "username": "alice", "password": PASSWORD, "device_id": device });
    let response = client
        .post(format!("{base}/api/auth/login"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, login) = ferry_tests::parts(response).await;
    assert_eq!(status, StatusCode::OK, "{login}");
    Api {
        client,
        base,
        token: login["token"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_spread_over_three_nodes_lands_whole_and_every_node_hears_its_progress() {
    let Some((cluster, alice)) = cluster(&[]).await else {
        return;
    };
    let data = random_bytes(6 * MIB, 1);
    let chunk = MIB;
    let (status, started) = alice
        .start_upload(
            "/spread.bin",
            data.len() as u64,
            Some(chunk as u64),
            Some(&sha256_hex(&data)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let id = started["upload_id"].as_str().unwrap().to_owned();

    // A subscriber on node C hears every chunk, wherever it was stored.
    let mut socket = connect(cluster.base(2), Some(&alice.token)).await;
    let query =
        "subscription($id: ID!) { uploadProgress(uploadId: $id) { status completedChunks } }";
    subscribe(&mut socket, "1", query, json!({ "id": id })).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Chunks round-robin to A and B; progress read on B after each.
    let pieces: Vec<&[u8]> = data.chunks(chunk).collect();
    let last = pieces.len() - 1;
    for (n, piece) in pieces.iter().enumerate().take(last) {
        let node = cluster.on(&alice, n % 2);
        let (status, body) = node.put_chunk(&id, n as i64, piece).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "chunk {n} on node {}: {body}",
            n % 2
        );
        let (_, progress) = cluster
            .on(&alice, 1)
            .get(&format!("/api/sync/upload/{id}/progress"))
            .await;
        assert_eq!(progress["completed_chunks"], json!(n + 1), "{progress}");
    }
    // Completed on C.
    let (status, done) = cluster
        .on(&alice, 2)
        .put_chunk(&id, last as i64, pieces[last])
        .await;
    assert_eq!(
        (status, done["status"].as_str()),
        (StatusCode::OK, Some("completed")),
        "{done}"
    );

    let mut heard = Vec::new();
    while heard.last().map(|(s, _): &(String, i64)| s.as_str()) != Some("COMPLETED") {
        let message = next_json(&mut socket).await;
        if message["id"] != "1" {
            continue;
        }
        let event = &message["payload"]["data"]["uploadProgress"];
        heard.push((
            event["status"].as_str().unwrap().to_owned(),
            event["completedChunks"].as_i64().unwrap(),
        ));
    }
    let counts: Vec<i64> = heard.iter().map(|(_, c)| *c).collect();
    assert_eq!(
        counts,
        (1..=pieces.len() as i64).collect::<Vec<_>>(),
        "{heard:?}"
    );

    // Byte-identical from A (and from every node).
    for node in 0..cluster.len() {
        assert_eq!(
            cluster.on(&alice, node).download("/spread.bin").await,
            data,
            "node {node}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_upload_loses_nothing_and_another_node_finishes_it() {
    let Some((mut cluster, alice)) = cluster(&[]).await else {
        return;
    };
    let data = random_bytes(8 * MIB, 2);
    let chunk = MIB;
    let (_, started) = alice
        .start_upload(
            "/crash.bin",
            data.len() as u64,
            Some(chunk as u64),
            Some(&sha256_hex(&data)),
        )
        .await;
    let id = started["upload_id"].as_str().unwrap().to_owned();
    let pieces: Vec<&[u8]> = data.chunks(chunk).collect();
    for (n, piece) in pieces.iter().enumerate().take(3) {
        let (status, _) = alice.put_chunk(&id, n as i64, piece).await;
        assert_eq!(status, StatusCode::OK);
    }
    // Node A dies with chunk 3 on the wire.
    let sending = {
        let (alice, id, piece) = (alice.clone(), id.clone(), pieces[3].to_vec());
        tokio::spawn(async move { alice.put_chunk(&id, 3, &piece).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    cluster.kill9(0).await;
    let _ = sending.await;

    // The client goes on through B: it asks what is missing and sends that.
    let b = cluster.on(&alice, 1);
    let (status, progress) = b.get(&format!("/api/sync/upload/{id}/progress")).await;
    assert_eq!(status, StatusCode::OK, "{progress}");
    let mut last = serde_json::Value::Null;
    for range in progress["missing_chunks"].as_array().unwrap() {
        let (from, to) = (range[0].as_u64().unwrap(), range[1].as_u64().unwrap());
        for n in from..=to {
            let (status, body) = b.put_chunk(&id, n as i64, pieces[n as usize]).await;
            assert_eq!(status, StatusCode::OK, "chunk {n}: {body}");
            last = body;
        }
    }
    assert_eq!(last["status"], "completed", "{last}");
    assert_eq!(cluster.on(&alice, 2).download("/crash.bin").await, data);

    // A comes back and serves it too.
    cluster.restart(0).await;
    assert_eq!(cluster.on(&alice, 0).download("/crash.bin").await, data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_on_three_nodes_fires_exactly_once_per_slot() {
    let Some((cluster, alice)) = cluster(&[]).await else {
        return;
    };
    let (_, me) = alice.get("/api/me").await;
    let admin = cluster.admin(1).await;
    let body = json!({
        "device_id": "laptop", "user_id": me["id"], "schedule_type": "daily",
        "time_of_day": "03:00", "timezone": "UTC",
    });
    let (status, created) = admin.post("/api/sync/schedule/create", body).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let schedule = created["schedule_id"].as_str().unwrap().to_owned();

    // Make three slots come due, one after another, while every node's engine ticks.
    let db = sea_orm::Database::connect(&cluster.db.url).await.unwrap();
    use sea_orm::ConnectionTrait;
    for minutes_ago in [30, 20, 10] {
        db.execute_unprepared(&format!(
            "UPDATE sync_schedules SET next_run_at = now() - interval '{minutes_ago} minutes' \
             WHERE id = '{schedule}'"
        ))
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            format!(
                "SELECT scheduled_for FROM schedule_runs WHERE schedule_id = '{schedule}' \
                 AND trigger IN ('time', 'catch_up') ORDER BY scheduled_for"
            ),
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 3, "one run per slot, never two");
    let (_, listed) = alice.get("/api/sync/schedule/list").await;
    let next = listed.to_string();
    assert!(
        next.contains("T03:00:00Z"),
        "the next slot is the coming 03:00: {next}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webdav_lock_taken_on_one_node_holds_on_another() {
    let Some((cluster, alice)) = cluster(&[]).await else {
        return;
    };
    let client = reqwest::Client::new();
    let url = |node: usize| format!("{}/webdav/locked.txt", cluster.base(node));
    let put = |node: usize, token: Option<String>| {
        let mut request = client
            .put(url(node))
            .basic_auth("alice", Some(PASSWORD))
            .body("new content");
        if let Some(token) = token {
            request = request.header("If", format!("(<{token}>)"));
        }
        request.send()
    };
    assert_eq!(put(0, None).await.unwrap().status(), StatusCode::CREATED);
    let lock = client
        .request(reqwest::Method::from_bytes(b"LOCK").unwrap(), url(0))
        .basic_auth("alice", Some(PASSWORD))
        .header("Timeout", "Second-600")
        .body(
            "<?xml version=\"1.0\"?><D:lockinfo xmlns:D=\"DAV:\"><D:lockscope><D:exclusive/>\
             </D:lockscope><D:locktype><D:write/></D:locktype><D:owner>alice</D:owner></D:lockinfo>",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(lock.status(), StatusCode::OK);
    let token = lock.headers()["lock-token"]
        .to_str()
        .unwrap()
        .trim_matches(['<', '>'])
        .to_owned();

    assert_eq!(
        put(1, None).await.unwrap().status(),
        StatusCode::LOCKED,
        "B honours A's lock"
    );
    assert_eq!(
        put(2, None).await.unwrap().status(),
        StatusCode::LOCKED,
        "so does C"
    );
    assert_eq!(
        put(1, Some(token.clone())).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    // Released on C, writable on B again.
    let unlock = client
        .request(reqwest::Method::from_bytes(b"UNLOCK").unwrap(), url(2))
        .basic_auth("alice", Some(PASSWORD))
        .header("Lock-Token", format!("<{token}>"))
        .send()
        .await
        .unwrap();
    assert_eq!(unlock.status(), StatusCode::NO_CONTENT);
    assert_eq!(put(1, None).await.unwrap().status(), StatusCode::NO_CONTENT);
    let _ = alice;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bandwidth_limit_holds_across_all_three_nodes_together() {
    let Some((cluster, alice)) = cluster(&[]).await else {
        return;
    };
    let data = random_bytes(8 * MIB, 3);
    alice
        .upload_file("/limited.bin", &data, 4 * MIB as u64)
        .await;
    let limit = 2 * MIB as u64;
    let (status, answer) = alice
        .post(
            "/api/sync/bandwidth/limit",
            json!({ "download_speed_limit": limit, "throttle_enabled": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    // One download from each node at once; the rate is measured after the
    // nodes' shares have settled (the first two seconds) until the window ends.
    let (settle, window) = (Duration::from_secs(2), Duration::from_secs(12));
    let began = Instant::now();
    let downloads = (0..3).map(|node| {
        let api = cluster.on(&alice, node);
        tokio::spawn(async move {
            let mut counted = 0u64;
            while began.elapsed() < window {
                let response = api
                    .client
                    .get(api.url("/api/sync/files/content"))
                    .query(&[("path", "/limited.bin")])
                    .bearer_auth(&api.token)
                    .send()
                    .await
                    .unwrap();
                let mut body = response.bytes_stream();
                while let Some(piece) = body.next().await {
                    let len = piece.unwrap().len() as u64;
                    let at = began.elapsed();
                    if at >= window {
                        break;
                    }
                    if at >= settle {
                        counted += len;
                    }
                }
            }
            counted
        })
    });
    let mut total = 0u64;
    for download in futures_util::future::join_all(downloads).await {
        total += download.unwrap();
    }
    let rate = total as f64 / (window - settle).as_secs_f64();
    let ratio = rate / limit as f64;
    eprintln!(
        "three nodes together: {:.3} MiB/s ({ratio:.3}× the limit)",
        rate / MIB as f64
    );
    assert!(
        (0.9..=1.1).contains(&ratio),
        "three nodes together moved {:.2} MiB/s against a 2 MiB/s limit ({ratio:.2}×)",
        rate / MIB as f64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_on_one_node_is_refused_by_the_others_within_a_second() {
    let Some((cluster, alice)) = cluster(&[]).await else {
        return;
    };
    // Every node has checked (and cached) the token.
    for node in 0..3 {
        let (status, _) = cluster.on(&alice, node).get("/api/me").await;
        assert_eq!(status, StatusCode::OK);
    }
    let revoked = alice.graphql("mutation { logout }", json!({})).await;
    assert_eq!(revoked["data"]["logout"], true, "{revoked}");
    let at = Instant::now();
    for node in [1, 2] {
        loop {
            let (status, _) = cluster.on(&alice, node).get("/api/me").await;
            if status == StatusCode::UNAUTHORIZED {
                eprintln!(
                    "node {node} refused the revoked token after {:?}",
                    at.elapsed()
                );
                break;
            }
            assert!(
                at.elapsed() < Duration::from_secs(1),
                "node {node} still takes a revoked token"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_clients_on_different_nodes_converge() {
    let Some((cluster, _alice)) = cluster(&[]).await else {
        return;
    };
    let mut a = Device::init(BIN, cluster.base(0), "alice", PASSWORD, "laptop").await;
    let mut b = Device::init(BIN, cluster.base(2), "alice", PASSWORD, "phone").await;
    a.watch();
    b.watch();
    a.write("/Docs/plan.txt", b"from the laptop, through node A");
    b.write("/Photos/cat.jpg", &random_bytes(3 * MIB, 9));
    let tree = converge(&[&a, &b], Duration::from_secs(60), |t| {
        t.contains_key("/Docs/plan.txt") && t.contains_key("/Photos/cat.jpg")
    })
    .await;
    assert_eq!(
        tree["/Docs/plan.txt"].as_deref(),
        Some(&b"from the laptop, through node A"[..])
    );
    b.write("/Docs/plan.txt", b"edited on the phone, through node C");
    converge(&[&a, &b], Duration::from_secs(60), |t| {
        t["/Docs/plan.txt"].as_deref() == Some(&b"edited on the phone, through node C"[..])
    })
    .await;
    a.stop_watching().await;
    b.stop_watching().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_live_in_the_bucket_and_the_collector_on_one_node_reclaims_them() {
    let keep_one = [("FERRY_KEEP_VERSIONS", "1"), ("FERRY_GC_GRACE_SECS", "0")];
    let Some((cluster, alice)) = cluster(&keep_one).await else {
        return;
    };
    let first = random_bytes(3 * MIB, 4);
    let second = random_bytes(3 * MIB, 5);
    alice.upload_file("/kept.bin", &first, MIB as u64).await;
    cluster
        .on(&alice, 1)
        .upload_file("/kept.bin", &second, MIB as u64)
        .await;
    // No node keeps a block on its own disk.
    for node in 0..cluster.len() {
        let local = ferry_tests::files_below(&cluster.data_dir(node).join("blobs"));
        assert!(local.is_empty(), "node {node} holds {local:?}");
    }
    let report = cluster.admin(2).await.collect_garbage().await;
    assert_eq!(report["versionsPruned"], 1, "{report}");
    assert_eq!(
        report["blocksDeleted"], 3,
        "the first version's three blocks: {report}"
    );
    assert_eq!(report["blocksKept"], 3, "{report}");
    for node in 0..cluster.len() {
        assert_eq!(cluster.on(&alice, node).download("/kept.bin").await, second);
    }
}
