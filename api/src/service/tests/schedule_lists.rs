//! Schedule lists are served from a cache (`sync/schedule_cache.rs`): every
//! schedule write of this server shows in the very next list, and another
//! server's writes on the same database within `FRESH`.
use chrono::Duration;

use super::sync::at;
use super::{Fixture, fixture};
use crate::service::{
    files::NewVersion,
    sync::schedule_cache::FRESH,
    sync::schedules::{NewSchedule, Schedule, SchedulePatch},
    sync::selective::Folder,
};

async fn listed(f: &Fixture, device_id: Option<&str>) -> Vec<Schedule> {
    f.services
        .list_schedules(&f.admin, device_id)
        .await
        .expect("list")
}

fn daily(device_id: &str) -> NewSchedule {
    NewSchedule {
        device_id: device_id.into(),
        schedule_type: "daily".into(),
        time_of_day: Some("03:00".into()),
        timezone: Some("UTC".into()),
        ..Default::default()
    }
}

async fn every_schedule_write_shows_in_the_next_list(postgres: bool) {
    let Some(f) = fixture(postgres).await else {
        return;
    };
    let s = &f.services;
    s.clock().set(at("2026-05-01T00:00:00Z"));
    let laptop = s
        .register_device(f.admin.user_id, "laptop", None, None)
        .await
        .expect("laptop")
        .id;
    s.register_device(f.admin.user_id, "phone", None, None)
        .await
        .expect("phone");
    assert!(listed(&f, None).await.is_empty());
    assert!(listed(&f, Some("laptop")).await.is_empty());

    let id = s
        .create_schedule(&f.admin, daily("laptop"))
        .await
        .expect("create")
        .schedule_id;
    assert_eq!(listed(&f, None).await.len(), 1);
    assert_eq!(listed(&f, Some("laptop")).await.len(), 1);
    assert!(listed(&f, Some("phone")).await.is_empty());

    let patch = SchedulePatch {
        time_of_day: Some("04:00".into()),
        ..Default::default()
    };
    s.update_schedule(&f.admin, id, patch)
        .await
        .expect("update");
    assert_eq!(
        listed(&f, Some("laptop")).await[0].time_of_day.as_deref(),
        Some("04:00")
    );

    s.set_schedule_enabled(&f.admin, id, false)
        .await
        .expect("disable");
    assert!(!listed(&f, None).await[0].enabled);
    s.set_schedule_enabled(&f.admin, id, true)
        .await
        .expect("enable");
    assert!(listed(&f, None).await[0].enabled);

    assert_eq!(listed(&f, None).await[0].last_run_at, None);
    s.run_schedule_now(&f.admin, id).await.expect("run now");
    assert!(listed(&f, None).await[0].last_run_at.is_some());

    // The engine's claim moves the slot.
    s.clock().set(at("2026-05-01T04:00:01Z"));
    assert_eq!(s.run_due_schedules().await.expect("engine"), 1);
    assert_eq!(
        listed(&f, None).await[0].next_run_at,
        Some(at("2026-05-02T04:00:00Z"))
    );

    // An on-change trigger moves the phone's next run.
    let folder = Folder {
        path: "/Docs".into(),
        enabled: true,
        include_subfolders: true,
    };
    s.configure_selective_sync(&f.admin, None, "phone", vec![folder])
        .await
        .expect("selective");
    let on_change = NewSchedule {
        device_id: "phone".into(),
        schedule_type: "on_change".into(),
        debounce_seconds: Some(30),
        ..Default::default()
    };
    s.create_schedule(&f.admin, on_change)
        .await
        .expect("on change");
    assert_eq!(listed(&f, Some("phone")).await[0].next_run_at, None);
    let txn = sea_orm::TransactionTrait::begin(s.db())
        .await
        .expect("begin");
    let new = NewVersion {
        user_id: f.admin.user_id,
        path: "/Docs/a.txt",
        sha256: &"a".repeat(64),
        size: 1,
        modified_at: s.clock().now(),
        device_id: Some(laptop),
        upload_id: None,
    };
    s.commit_version(&txn, new).await.expect("commit");
    txn.commit().await.expect("commit");
    s.note_file_change(f.admin.user_id, &["/Docs/a.txt".to_owned()], Some(laptop))
        .await
        .expect("note");
    let due = listed(&f, Some("phone")).await[0].next_run_at.expect("due");
    assert!(due > s.clock().now() + Duration::seconds(29));

    // Deleting a schedule, and removing a device with its schedules.
    s.delete_schedule(&f.admin, id).await.expect("delete");
    assert!(listed(&f, Some("laptop")).await.is_empty());
    assert_eq!(listed(&f, None).await.len(), 1);
    s.remove_device(&f.admin, None, "phone")
        .await
        .expect("remove");
    assert!(listed(&f, None).await.is_empty());
}

async fn another_servers_write_shows_within_fresh(postgres: bool) {
    let Some(f) = fixture(postgres).await else {
        return;
    };
    let other = super::open(&f.database_url, f.options.clone()).await;
    assert!(listed(&f, None).await.is_empty());
    other
        .create_schedule(&f.admin, daily("laptop"))
        .await
        .expect("create on the other server");
    tokio::time::sleep(FRESH + std::time::Duration::from_millis(100)).await;
    assert_eq!(listed(&f, None).await.len(), 1);
}

on_both!(every_schedule_write_shows_in_the_next_list);
on_both!(another_servers_write_shows_within_fresh);
