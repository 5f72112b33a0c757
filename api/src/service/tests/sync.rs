//! The schedule engine against a real database, with the clock put at chosen
//! instants (never a wait): calendar slots across DST, catch-up, disabled
//! schedules, failing runs, on-change debounce, plans, and two engines at once.
use crate::service::Code;
use chrono::{DateTime, Duration, Utc};
use entity::enums::RunStatus;
use entity::{schedule_run, sync_schedule};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use super::{Fixture, fixture};
use crate::service::{
    Caller, Services,
    files::NewVersion,
    sync::runs::{SyncRun, Trigger},
    sync::schedules::NewSchedule,
    sync::selective::Folder,
};

pub(super) fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("an RFC 3339 instant")
}

fn calendar(kind: &str, time: &str, zone: &str) -> NewSchedule {
    NewSchedule {
        device_id: "laptop".into(),
        schedule_type: kind.into(),
        time_of_day: Some(time.into()),
        timezone: Some(zone.into()),
        sync_deletions: true,
        ..Default::default()
    }
}

async fn create(f: &Fixture, req: NewSchedule) -> Uuid {
    f.services
        .create_schedule(&f.admin, req)
        .await
        .expect("create schedule")
        .schedule_id
}

/// Step the clock from slot to slot (just past each), running the engine at
/// each, until no slot is left before `until`.
async fn drive(services: &Services, until: DateTime<Utc>) {
    loop {
        let next = sync_schedule::Entity::find()
            .filter(sync_schedule::Column::Enabled.eq(true))
            .filter(sync_schedule::Column::NextRunAt.is_not_null())
            .order_by_asc(sync_schedule::Column::NextRunAt)
            .one(services.db())
            .await
            .expect("query")
            .and_then(|s| s.next_run_at);
        match next {
            Some(next) if next <= until => {
                services.clock().set(next + Duration::milliseconds(1));
                services.run_due_schedules().await.expect("engine");
            }
            _ => return,
        }
    }
}

async fn runs_of(services: &Services, schedule: Uuid) -> Vec<schedule_run::Model> {
    schedule_run::Entity::find()
        .filter(schedule_run::Column::ScheduleId.eq(schedule))
        .order_by_asc(schedule_run::Column::StartedAt)
        .all(services.db())
        .await
        .expect("runs")
}

fn slots(runs: &[schedule_run::Model]) -> Vec<DateTime<Utc>> {
    runs.iter().filter_map(|r| r.scheduled_for).collect()
}

async fn calendar_runs_fire_at_their_instants_across_dst(postgres: bool) {
    let Some(f) = fixture(postgres).await else {
        return;
    };
    // Berlin springs forward on 2027-03-28 (02:00 → 03:00) and fell back on
    // 2026-10-25 (03:00 → 02:00).
    f.services.clock().set(at("2026-10-23T12:00:00Z"));
    let daily = create(&f, calendar("daily", "02:30", "Europe/Berlin")).await;
    let weekly = create(
        &f,
        NewSchedule {
            day_of_week: Some(6),
            ..calendar("weekly", "02:30", "Europe/Berlin")
        },
    )
    .await;
    drive(&f.services, at("2026-10-26T12:00:00Z")).await;
    // The ambiguous 02:30 of 2026-10-25 runs at its first occurrence (CEST).
    assert_eq!(
        slots(&runs_of(&f.services, daily).await),
        [
            at("2026-10-24T00:30:00Z"),
            at("2026-10-25T00:30:00Z"),
            at("2026-10-26T01:30:00Z")
        ]
    );
    assert_eq!(
        slots(&runs_of(&f.services, weekly).await),
        [at("2026-10-25T00:30:00Z")]
    );

    // Skip to January (missed slots run once as catch-up), add a monthly one.
    f.services.clock().set(at("2027-01-20T00:00:00Z"));
    f.services.run_due_schedules().await.expect("catch up");
    let monthly = create(
        &f,
        NewSchedule {
            day_of_month: Some(31),
            ..calendar("monthly", "09:00", "UTC")
        },
    )
    .await;
    drive(&f.services, at("2027-03-29T12:00:00Z")).await;
    let daily_runs = runs_of(&f.services, daily).await;
    // The nonexistent 02:30 of 2027-03-28 runs at the first instant after the gap.
    assert_eq!(
        slots(&daily_runs[daily_runs.len() - 3..]),
        [
            at("2027-03-27T01:30:00Z"),
            at("2027-03-28T01:00:00Z"),
            at("2027-03-29T00:30:00Z")
        ]
    );
    // October (3), one catch-up for Oct 27 – Jan 19, then Jan 20 – Mar 29 (69).
    assert_eq!(daily_runs.len(), 3 + 1 + 69);
    assert_eq!(
        slots(&runs_of(&f.services, weekly).await).last(),
        Some(&at("2027-03-28T01:00:00Z"))
    );
    // Monthly on the 31st: February has none, so its last day.
    assert_eq!(
        slots(&runs_of(&f.services, monthly).await),
        [at("2027-01-31T09:00:00Z"), at("2027-02-28T09:00:00Z")]
    );
    drive(&f.services, at("2027-04-01T00:00:00Z")).await;
    assert_eq!(
        slots(&runs_of(&f.services, monthly).await).last(),
        Some(&at("2027-03-31T09:00:00Z"))
    );
}

async fn missed_slots_run_once_and_disabled_schedules_never(postgres: bool) {
    let Some(f) = fixture(postgres).await else {
        return;
    };
    f.services.clock().set(at("2026-05-01T00:00:00Z"));
    let daily = create(&f, calendar("daily", "03:00", "UTC")).await;
    let off = create(&f, calendar("daily", "03:00", "UTC")).await;
    f.services
        .set_schedule_enabled(&f.admin, off, false)
        .await
        .expect("disable");
    // Five days "down": one catch-up run, not five.
    f.services.clock().set(at("2026-05-06T12:00:00Z"));
    assert_eq!(f.services.run_due_schedules().await.expect("engine"), 1);
    assert_eq!(f.services.run_due_schedules().await.expect("engine"), 0);
    let runs = runs_of(&f.services, daily).await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].trigger, Trigger::CatchUp);
    assert_eq!(runs[0].scheduled_for, Some(at("2026-05-01T03:00:00Z")));
    let schedules = f
        .services
        .list_schedules(&f.admin, None)
        .await
        .expect("list");
    let daily_now = schedules
        .iter()
        .find(|s| s.schedule_id == daily)
        .expect("daily");
    assert_eq!(daily_now.next_run_at, Some(at("2026-05-07T03:00:00Z")));
    assert!(daily_now.last_run_at.is_some());
    assert!(runs_of(&f.services, off).await.is_empty());
    let err = f
        .services
        .run_schedule_now(&f.admin, off)
        .await
        .expect_err("disabled");
    assert_eq!(err.code(), Code::ScheduleDisabled);
    // A manual run keeps the slot.
    let manual = f
        .services
        .run_schedule_now(&f.admin, daily)
        .await
        .expect("manual");
    assert_eq!(manual.trigger, Trigger::Manual);
    let after = f
        .services
        .list_schedules(&f.admin, None)
        .await
        .expect("list");
    assert_eq!(
        after
            .iter()
            .find(|s| s.schedule_id == daily)
            .and_then(|s| s.next_run_at),
        Some(at("2026-05-07T03:00:00Z"))
    );
}

async fn a_failing_run_is_recorded_and_the_engine_goes_on(postgres: bool) {
    let Some(f) = fixture(postgres).await else {
        return;
    };
    f.services.clock().set(at("2026-05-01T00:00:00Z"));
    let broken = create(&f, calendar("daily", "03:00", "UTC")).await;
    let fine = create(&f, calendar("daily", "03:00", "UTC")).await;
    // A zone this build does not know (say, dropped by a tz database update).
    let mut row = sync_schedule::Entity::find_by_id(broken)
        .one(f.services.db())
        .await
        .expect("query")
        .expect("row")
        .into_active_model();
    row.timezone = Set("Mars/Olympus_Mons".into());
    row.update(f.services.db()).await.expect("corrupt");
    let now = at("2026-05-01T03:00:01Z");
    f.services.clock().set(now);
    assert_eq!(f.services.run_due_schedules().await.expect("engine"), 2);
    let failed = runs_of(&f.services, broken).await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].status, RunStatus::Failed);
    assert!(
        failed[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("Mars"))
    );
    assert_eq!(
        runs_of(&f.services, fine).await[0].status,
        RunStatus::Requested
    );
    let retry = sync_schedule::Entity::find_by_id(broken)
        .one(f.services.db())
        .await
        .expect("query")
        .and_then(|s| s.next_run_at)
        .expect("a retry slot");
    assert!(retry > now + Duration::minutes(59) && retry < now + Duration::minutes(61));
}

/// Commit a version of `path` as `device` would, and tell the engine.
async fn change(f: &Fixture, path: &str, device: Uuid, content: &str) {
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(content.as_bytes()));
    let txn = sea_orm::TransactionTrait::begin(f.services.db())
        .await
        .expect("begin");
    let new = NewVersion {
        user_id: f.admin.user_id,
        path,
        sha256: &sha,
        size: content.len() as u64,
        modified_at: f.services.clock().now(),
        device_id: Some(device),
        upload_id: None,
    };
    f.services.commit_version(&txn, new).await.expect("commit");
    txn.commit().await.expect("commit");
    f.services
        .note_file_change(f.admin.user_id, &[path.to_owned()], Some(device))
        .await
        .expect("note");
}

async fn a_burst_of_changes_makes_one_on_change_run_with_the_plan(postgres: bool) {
    let Some(f) = fixture(postgres).await else {
        return;
    };
    let services = &f.services;
    let laptop = services
        .register_device(f.admin.user_id, "laptop", None, None)
        .await
        .expect("laptop")
        .id;
    let phone = services
        .register_device(f.admin.user_id, "phone", None, None)
        .await
        .expect("phone")
        .id;
    services
        .configure_selective_sync(
            &f.admin,
            None,
            "phone",
            vec![Folder {
                path: "/Docs".into(),
                enabled: true,
                include_subfolders: true,
            }],
        )
        .await
        .expect("selective");
    let on_change = create(
        &f,
        NewSchedule {
            device_id: "phone".into(),
            schedule_type: "on_change".into(),
            debounce_seconds: Some(30),
            sync_deletions: false,
            ..Default::default()
        },
    )
    .await;
    // Outside the phone's folders, or made by the phone itself: no run.
    change(&f, "/Music/a.mp3", laptop, "m").await;
    change(&f, "/Docs/own.txt", phone, "own").await;
    services.clock().advance(Duration::seconds(60));
    assert_eq!(services.run_due_schedules().await.expect("engine"), 0);
    // 50 changes a second apart: each pushes the run back; one run after the burst.
    for i in 0..50 {
        change(
            &f,
            &format!("/Docs/file-{i:02}.txt"),
            laptop,
            &i.to_string(),
        )
        .await;
        services.clock().advance(Duration::seconds(1));
        assert_eq!(services.run_due_schedules().await.expect("engine"), 0);
    }
    services.clock().advance(Duration::seconds(30));
    assert_eq!(services.run_due_schedules().await.expect("engine"), 1);
    services.clock().advance(Duration::seconds(300));
    assert_eq!(services.run_due_schedules().await.expect("engine"), 0);
    let runs = runs_of(services, on_change).await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].trigger, Trigger::Change);
    assert_eq!(runs[0].change_count, 50);
    let plan = services
        .sync_run_changes(&f.admin, runs[0].id)
        .await
        .expect("plan");
    assert_eq!(plan.len(), 50);
    assert!(plan.iter().all(|c| c.path.starts_with("/Docs/file-")));

    // Acknowledged: the next plan holds only what changed after it; a deletion
    // is left out because this schedule does not sync deletions.
    let phone_caller = Caller {
        device: Some((phone, "phone".into())),
        ..f.admin.clone()
    };
    let done: SyncRun = services
        .complete_sync_run(&phone_caller, runs[0].id)
        .await
        .expect("complete");
    assert_eq!(done.status, RunStatus::Completed);
    services.clock().advance(Duration::seconds(1));
    change(&f, "/Docs/file-07.txt", laptop, "new").await;
    let laptop_caller = Caller {
        device: Some((laptop, "laptop".into())),
        ..f.admin.clone()
    };
    services
        .delete_file(&laptop_caller, "/Docs/file-08.txt")
        .await
        .expect("delete");
    services.clock().advance(Duration::seconds(31));
    assert_eq!(services.run_due_schedules().await.expect("engine"), 1);
    let second = runs_of(services, on_change).await.pop().expect("run");
    let plan = services
        .sync_run_changes(&f.admin, second.id)
        .await
        .expect("plan");
    let paths: Vec<_> = plan.iter().map(|c| (c.path.as_str(), c.version)).collect();
    assert_eq!(paths, [("/Docs/file-07.txt", 2)]);

    // With deletions synced, the manual run's plan carries the tombstone.
    let mut row = sync_schedule::Entity::find_by_id(on_change)
        .one(services.db())
        .await
        .expect("query")
        .expect("row")
        .into_active_model();
    row.sync_deletions = Set(true);
    row.update(services.db()).await.expect("update");
    let manual = services
        .run_schedule_now(&f.admin, on_change)
        .await
        .expect("manual");
    assert_eq!((manual.change_count, manual.deletion_count), (1, 1));
    // Another device's token sees none of the phone's runs.
    let err = services
        .sync_run(&laptop_caller, manual.run_id)
        .await
        .expect_err("other device");
    assert_eq!(err.code(), Code::NotFound);
}

on_both!(calendar_runs_fire_at_their_instants_across_dst);
on_both!(missed_slots_run_once_and_disabled_schedules_never);
on_both!(a_failing_run_is_recorded_and_the_engine_goes_on);
on_both!(a_burst_of_changes_makes_one_on_change_run_with_the_plan);
