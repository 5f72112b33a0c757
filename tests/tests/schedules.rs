//! SPEC §6 settings over REST: admin-only schedule management, `next_run_at`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use chrono::{DateTime, Datelike, Duration, NaiveTime, Timelike, Utc};
use ferry_tests::{TestServer, code};
use reqwest::StatusCode;
use serde_json::json;

async fn alice_id(server: &TestServer) -> (String, String) {
    let token = server.user_token("alice").await;
    let id = server.api(&token).get("/api/me").await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (token, id)
}

#[tokio::test]
async fn the_seed_example_daily_at_two_gets_its_next_run() {
    let server = TestServer::start().await;
    let (_, alice) = alice_id(&server).await;
    let admin = server.api(&server.admin_token().await);
    let before = Utc::now();
    let body = json!({
        "device_id": "laptop", "user_id": alice, "schedule_type": "daily", "time_of_day": "02:00",
        "timezone": "UTC", "sync_deletions": true, "resolve_conflicts": "keep_newest",
    });
    let (status, created) = admin.post("/api/sync/schedule/create", body).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["device_id"], "laptop");
    assert_eq!(created["schedule_type"], "daily");
    assert!(created["schedule_id"].as_str().is_some());
    let next = created["next_run_at"].as_str().unwrap();
    assert!(next.ends_with("T02:00:00Z"), "RFC 3339 UTC: {next}");
    let next: DateTime<Utc> = next.parse().unwrap();
    let two = before
        .date_naive()
        .and_time(NaiveTime::from_hms_opt(2, 0, 0).unwrap())
        .and_utc();
    let expected = if two > before {
        two
    } else {
        two + Duration::days(1)
    };
    assert_eq!(next, expected);
}

#[tokio::test]
async fn schedules_follow_their_zone_and_weekday() {
    let server = TestServer::start().await;
    let (_, alice) = alice_id(&server).await;
    let admin = server.api(&server.admin_token().await);
    let body = json!({
        "device_id": "laptop", "user_id": alice, "schedule_type": "weekly", "time_of_day": "09:00",
        "day_of_week": 0, "timezone": "Europe/Berlin", "sync_deletions": false, "resolve_conflicts": "keep_local",
    });
    let (status, created) = admin.post("/api/sync/schedule/create", body).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let next: DateTime<Utc> = created["next_run_at"].as_str().unwrap().parse().unwrap();
    let local = next.with_timezone(&chrono_tz::Europe::Berlin);
    assert_eq!(
        (local.weekday(), local.hour(), local.minute()),
        (chrono::Weekday::Mon, 9, 0)
    );
    assert!(next > Utc::now() && next < Utc::now() + Duration::days(8));
}

#[tokio::test]
async fn only_admins_manage_schedules_users_read_their_own() {
    let server = TestServer::start().await;
    let (alice_token, alice) = alice_id(&server).await;
    let alice_api = server.api(&alice_token);
    let bob = server.api(&server.user_token("bob").await);
    let admin = server.api(&server.admin_token().await);
    let body = json!({ "device_id": "laptop", "user_id": alice, "schedule_type": "on_change", "sync_deletions": true });

    let (status, answer) = alice_api
        .post("/api/sync/schedule/create", body.clone())
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let (_, created) = admin.post("/api/sync/schedule/create", body).await;
    assert_eq!(
        created["next_run_at"],
        json!(null),
        "on_change has no calendar run"
    );
    let id = created["schedule_id"].as_str().unwrap();

    let (status, mine) = alice_api.get("/api/sync/schedule/list").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["schedules"][0]["schedule_id"], id);
    assert_eq!(mine["schedules"][0]["debounce_seconds"], 30);
    let (_, theirs) = bob.get("/api/sync/schedule/list").await;
    assert_eq!(
        theirs["schedules"],
        json!([]),
        "bob sees nothing of alice's"
    );
    let (_, filtered) = alice_api
        .get("/api/sync/schedule/list?device_id=phone")
        .await;
    assert_eq!(filtered["schedules"], json!([]));

    for action in ["disable", "enable"] {
        let (status, _) = alice_api
            .post(&format!("/api/sync/schedule/{id}/{action}"), json!({}))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{action}");
    }
    let (status, disabled) = admin
        .post(&format!("/api/sync/schedule/{id}/disable"), json!({}))
        .await;
    assert_eq!(
        (status, disabled["enabled"].as_bool()),
        (StatusCode::OK, Some(false))
    );
    assert_eq!(
        alice_api.get("/api/sync/schedule/list").await.1["schedules"][0]["enabled"],
        false
    );
    let (_, enabled) = admin
        .post(&format!("/api/sync/schedule/{id}/enable"), json!({}))
        .await;
    assert_eq!(enabled["enabled"], true);
    let (status, _) = admin
        .post(
            "/api/sync/schedule/00000000-0000-0000-0000-000000000000/enable",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_bad_field_has_its_code() {
    let server = TestServer::start().await;
    let (_, alice) = alice_id(&server).await;
    let admin = server.api(&server.admin_token().await);
    let base = json!({
        "device_id": "laptop", "user_id": alice, "schedule_type": "monthly", "time_of_day": "03:15",
        "day_of_month": 31, "timezone": "UTC", "sync_deletions": false, "resolve_conflicts": "keep_server",
    });
    let (status, ok) = admin.post("/api/sync/schedule/create", base.clone()).await;
    assert_eq!(status, StatusCode::OK, "{ok}");
    let with = |key: &str, value: serde_json::Value| {
        let mut body = base.clone();
        body[key] = value;
        body
    };
    let cases = [
        (
            with("schedule_type", json!("hourly")),
            "invalid_schedule_type",
        ),
        (with("time_of_day", json!("25:00")), "invalid_time_of_day"),
        (with("time_of_day", json!(null)), "invalid_time_of_day"),
        (with("day_of_month", json!(0)), "invalid_day_of_month"),
        (with("day_of_month", json!(32)), "invalid_day_of_month"),
        (
            with("timezone", json!("Atlantis/Capital")),
            "invalid_timezone",
        ),
        (
            with("resolve_conflicts", json!("keep_both")),
            "invalid_resolve_conflicts",
        ),
        (
            with("debounce_seconds", json!(-1)),
            "invalid_debounce_seconds",
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = admin.post("/api/sync/schedule/create", body.clone()).await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::UNPROCESSABLE_ENTITY, expected),
            "{body}"
        );
    }
    let mut weekly = with("schedule_type", json!("weekly"));
    weekly["day_of_week"] = json!(7);
    let (status, answer) = admin.post("/api/sync/schedule/create", weekly).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_day_of_week")
    );
    let (status, answer) = admin
        .post(
            "/api/sync/schedule/create",
            with("device_id", json!("nope")),
        )
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::NOT_FOUND, "not_found")
    );
    assert_eq!(
        admin.get("/api/sync/schedule/list").await.1["schedules"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "refusals stored nothing"
    );
}
