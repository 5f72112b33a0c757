//! Sync runs and conflicts against the real server: REST uploads that conflict
//! with a newer server version, deletions, and runs through GraphQL.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use ferry_tests::{Api, PASSWORD, TestServer, code, sha256_hex};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Upload `data` to `path` from `device` in one chunk, based on `base_version`.
async fn upload_based_on(
    api: &Api,
    device: &str,
    path: &str,
    data: &[u8],
    base_version: Option<i64>,
    modified_at: &str,
) -> Value {
    let mut body = json!({
        "device_id": device, "file_path": path, "file_name": path.rsplit('/').next().unwrap(),
        "total_size": data.len(), "file_hash": sha256_hex(data), "modified_at": modified_at,
    });
    if let Some(base) = base_version {
        body["base_version"] = json!(base);
    }
    let (status, started) = api.post("/api/sync/upload/start", body).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let (status, done) = api
        .put_chunk(started["upload_id"].as_str().unwrap(), 0, data)
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "completed", "{done}");
    done
}

async fn schedule_for(server: &TestServer, user_id: &str, device: &str, strategy: &str) {
    let admin = server.api(&server.admin_token().await);
    let body = json!({
        "device_id": device, "user_id": user_id, "schedule_type": "on_change",
        "sync_deletions": true, "resolve_conflicts": strategy,
    });
    let (status, created) = admin.post("/api/sync/schedule/create", body).await;
    assert_eq!(status, StatusCode::OK, "{created}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_conflict_strategy_gives_its_documented_result() {
    let server = TestServer::start().await;
    let laptop = server.api(&server.user_token("alice").await);
    let phone = server.api(&server.login("alice", PASSWORD, Some("phone")).await);
    let alice = laptop.get("/api/me").await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = "/Docs/plan.txt";
    let v1 = upload_based_on(
        &laptop,
        "laptop",
        path,
        b"one",
        None,
        "2026-01-01T00:00:00Z",
    )
    .await;
    assert_eq!(v1["file"]["version"], 1);
    // The phone edits version 1: no conflict.
    let v2 = upload_based_on(
        &phone,
        "phone",
        path,
        b"two",
        Some(1),
        "2026-01-02T00:00:00Z",
    )
    .await;
    assert_eq!(v2["file"]["version"], 2);
    assert!(v2.get("conflict").is_none(), "{v2}");

    // keep_newest (no schedule: the default), the laptop's edit is older: the
    // server keeps its version and the upload becomes a conflict copy.
    let older = upload_based_on(
        &laptop,
        "laptop",
        path,
        b"old edit",
        Some(1),
        "2026-01-01T12:00:00Z",
    )
    .await;
    let conflict = &older["conflict"];
    assert_eq!(conflict["strategy"], "keep_newest");
    assert_eq!(conflict["resolution"], "kept_server");
    assert_eq!(
        (
            conflict["base_version"].as_i64(),
            conflict["server_version"].as_i64()
        ),
        (Some(1), Some(2))
    );
    let copy = conflict["conflict_path"].as_str().unwrap();
    assert!(
        copy.starts_with("/Docs/plan (conflict laptop ") && copy.ends_with(").txt"),
        "{copy}"
    );
    assert_eq!(older["file"]["path"], copy);
    assert_eq!(laptop.download(path).await, b"two");
    assert_eq!(laptop.download(copy).await, b"old edit");

    // keep_newest, the laptop's edit is newer: it becomes version 3.
    let newer = upload_based_on(
        &laptop,
        "laptop",
        path,
        b"new edit",
        Some(1),
        "2026-01-03T00:00:00Z",
    )
    .await;
    assert_eq!(newer["conflict"]["resolution"], "kept_local");
    assert_eq!(newer["file"]["version"], 3);
    assert_eq!(laptop.download(path).await, b"new edit");

    // keep_local: even an older edit wins.
    schedule_for(&server, &alice, "laptop", "keep_local").await;
    let local = upload_based_on(
        &laptop,
        "laptop",
        path,
        b"local",
        Some(2),
        "2025-01-01T00:00:00Z",
    )
    .await;
    assert_eq!(local["conflict"]["strategy"], "keep_local");
    assert_eq!(local["conflict"]["resolution"], "kept_local");
    assert_eq!(local["file"]["version"], 4);
    assert_eq!(laptop.download(path).await, b"local");

    // keep_server (the device's newest schedule): even a newer edit loses.
    schedule_for(&server, &alice, "laptop", "keep_server").await;
    let server_wins = upload_based_on(
        &laptop,
        "laptop",
        path,
        b"lost",
        Some(2),
        "2030-01-01T00:00:00Z",
    )
    .await;
    assert_eq!(server_wins["conflict"]["strategy"], "keep_server");
    assert_eq!(server_wins["conflict"]["resolution"], "kept_server");
    assert_eq!(laptop.download(path).await, b"local");
    let copy = server_wins["conflict"]["conflict_path"].as_str().unwrap();
    assert_eq!(laptop.download(copy).await, b"lost");

    // The audit log says what happened.
    let admin = server.api(&server.admin_token().await);
    let log = admin
        .graphql(
            "{ auditLog(first: 100) { nodes { action after } } }",
            json!({}),
        )
        .await;
    let resolutions: Vec<&str> = log["data"]["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["action"] == "file.conflict_resolved")
        .map(|n| n["after"]["resolution"].as_str().unwrap())
        .collect();
    assert_eq!(
        resolutions,
        ["kept_server", "kept_local", "kept_local", "kept_server"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_file_leaves_a_tombstone_that_a_run_carries() {
    let server = TestServer::start().await;
    let laptop = server.api(&server.user_token("alice").await);
    let phone_token = server.login("alice", PASSWORD, Some("phone")).await;
    let phone = server.api(&phone_token);
    let alice = laptop.get("/api/me").await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    laptop.upload_file("/a.txt", b"a", 16).await;
    laptop.upload_file("/b.txt", b"b", 16).await;
    let (status, _) = laptop.delete("/api/sync/files/content?path=/a.txt").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = laptop.delete("/api/sync/files/content?path=/a.txt").await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, _) = laptop.get("/api/sync/files/content?path=/a.txt").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let listed = laptop.get("/api/sync/files").await.1;
    assert_eq!(listed["files"].as_array().unwrap().len(), 1);
    // The same through GraphQL.
    laptop.upload_file("/c.txt", b"c", 16).await;
    let deleted = laptop
        .graphql("mutation { deleteFile(path: \"/c.txt\") }", json!({}))
        .await;
    assert_eq!(deleted["data"]["deleteFile"], true, "{deleted}");
    let again = laptop
        .graphql("mutation { deleteFile(path: \"/c.txt\") }", json!({}))
        .await;
    assert_eq!(
        again["errors"][0]["extensions"]["code"], "not_found",
        "{again}"
    );

    // A manual run for the phone: the plan holds b.txt and the two deletions.
    schedule_for(&server, &alice, "phone", "keep_newest").await;
    let admin = server.api(&server.admin_token().await);
    let schedules = admin
        .graphql("{ schedules(deviceId: \"phone\") { id } }", json!({}))
        .await;
    let schedule = schedules["data"]["schedules"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let denied = laptop
        .graphql(
            "mutation($id: ID!) { runScheduleNow(id: $id) { id } }",
            json!({ "id": schedule }),
        )
        .await;
    assert_eq!(
        denied["errors"][0]["extensions"]["code"], "forbidden",
        "{denied}"
    );
    let run = admin
        .graphql(
            "mutation($id: ID!) { runScheduleNow(id: $id) { id trigger status changeCount deletionCount } }",
            json!({ "id": schedule }),
        )
        .await;
    let run = &run["data"]["runScheduleNow"];
    assert_eq!(
        (run["trigger"].as_str(), run["status"].as_str()),
        (Some("MANUAL"), Some("REQUESTED"))
    );
    assert_eq!(
        (run["changeCount"].as_i64(), run["deletionCount"].as_i64()),
        (Some(1), Some(2))
    );
    let run_id = run["id"].as_str().unwrap().to_owned();
    let log = admin
        .graphql(
            "{ auditLog(first: 5) { nodes { action actor after } } }",
            json!({}),
        )
        .await;
    let entry = log["data"]["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["action"] == "schedule.run")
        .cloned()
        .unwrap_or_else(|| panic!("no schedule.run entry: {log}"));
    assert_eq!(entry["actor"], "system");
    assert_eq!(entry["after"]["run_id"], run_id.as_str());
    assert_eq!(entry["after"]["trigger"], "manual");

    let plan = phone
        .graphql(
            "query($id: ID!) { syncRun(id: $id) { changes { path change version } } }",
            json!({ "id": run_id }),
        )
        .await;
    assert_eq!(
        plan["data"]["syncRun"]["changes"],
        json!([
            { "path": "/a.txt", "change": "DELETE", "version": 1 },
            { "path": "/b.txt", "change": "UPSERT", "version": 1 },
            { "path": "/c.txt", "change": "DELETE", "version": 1 },
        ])
    );
    // The laptop's token is bound to another device: the phone's run is not its business.
    let hidden = laptop
        .graphql(
            "query($id: ID!) { syncRun(id: $id) { id } }",
            json!({ "id": run_id }),
        )
        .await;
    assert_eq!(
        hidden["errors"][0]["extensions"]["code"], "not_found",
        "{hidden}"
    );
    let done = phone
        .graphql(
            "mutation($id: ID!) { completeSyncRun(id: $id) { status acknowledgedAt } }",
            json!({ "id": run_id }),
        )
        .await;
    assert_eq!(
        done["data"]["completeSyncRun"]["status"], "COMPLETED",
        "{done}"
    );

    // Acknowledged: the next run's plan is empty until something changes again.
    let again = admin
        .graphql(
            "mutation($id: ID!) { runScheduleNow(id: $id) { changeCount deletionCount } }",
            json!({ "id": schedule }),
        )
        .await;
    assert_eq!(
        again["data"]["runScheduleNow"],
        json!({ "changeCount": 0, "deletionCount": 0 })
    );
    let history = admin
        .graphql(
            "query($id: ID!) { scheduleRuns(scheduleId: $id, first: 1) { nodes { trigger } pageInfo { hasNextPage endCursor } } }",
            json!({ "id": schedule }),
        )
        .await;
    let page = &history["data"]["scheduleRuns"];
    assert_eq!(page["nodes"].as_array().unwrap().len(), 1);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let rest = admin
        .graphql(
            "query($id: ID!, $after: String) { scheduleRuns(scheduleId: $id, after: $after) { nodes { trigger } pageInfo { hasNextPage } } }",
            json!({ "id": schedule, "after": page["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(
        rest["data"]["scheduleRuns"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        rest["data"]["scheduleRuns"]["pageInfo"]["hasNextPage"],
        false
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slots_missed_while_down_run_once_at_start_up() {
    let mut server = TestServer::start().await;
    let laptop = server.api(&server.user_token("alice").await);
    let alice = laptop.get("/api/me").await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin = server.api(&server.admin_token().await);
    let body = json!({
        "device_id": "laptop", "user_id": alice, "schedule_type": "daily",
        "time_of_day": "03:00", "sync_deletions": false, "resolve_conflicts": "keep_newest",
    });
    let (status, created) = admin.post("/api/sync/schedule/create", body).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    // Down for four days: four slots missed, one run at start-up.
    let clock = server.clock.clone();
    server
        .restart_with(|_| clock.advance(chrono::Duration::days(4)))
        .await;
    let query = "{ scheduleRuns { nodes { trigger scheduledFor } } }";
    let runs = admin.graphql(query, json!({})).await;
    let nodes = runs["data"]["scheduleRuns"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(nodes.len(), 1, "{runs}");
    assert_eq!(nodes[0]["trigger"], "CATCH_UP");
    assert_eq!(
        nodes[0]["scheduledFor"].as_str(),
        created["next_run_at"]
            .as_str()
            .map(|s| s.replace('Z', "+00:00"))
            .as_deref()
    );
    // The engine's timer ticks on without running the slot again.
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let again = admin.graphql(query, json!({})).await;
    assert_eq!(
        again["data"]["scheduleRuns"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
