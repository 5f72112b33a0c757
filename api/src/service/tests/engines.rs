//! The schedule engine with two servers over one database: each due slot runs
//! exactly once.
use chrono::{DateTime, Duration, Utc};
use entity::{schedule_run, sync_schedule};
use sea_orm::{EntityTrait, Set};
use uuid::Uuid;

use super::{fixture, sync::at};
use crate::service::Services;

/// `n` daily schedules due at `slot`, inserted in bulk.
async fn insert_due_schedules(
    services: &Services,
    user_id: Uuid,
    device_id: Uuid,
    n: usize,
    slot: DateTime<Utc>,
) {
    let rows: Vec<sync_schedule::ActiveModel> = (0..n)
        .map(|_| sync_schedule::ActiveModel {
            id: Set(Uuid::new_v4()),
            user_id: Set(user_id),
            device_id: Set(device_id),
            schedule_type: Set(entity::enums::ScheduleType::Daily),
            time_of_day: Set(Some(slot.format("%H:%M").to_string())),
            day_of_week: Set(None),
            day_of_month: Set(None),
            timezone: Set("UTC".into()),
            sync_deletions: Set(false),
            resolve_conflicts: Set(entity::enums::ResolveConflicts::KeepNewest),
            debounce_seconds: Set(30),
            enabled: Set(true),
            next_run_at: Set(Some(slot)),
            last_run_at: Set(None),
            created_at: Set(slot),
            updated_at: Set(slot),
        })
        .collect();
    for batch in rows.chunks(500) {
        sync_schedule::Entity::insert_many(batch.to_vec())
            .exec(services.db())
            .await
            .expect("insert schedules");
    }
}

async fn two_engines_run_each_due_slot_exactly_once(postgres: bool) {
    let Some(f) = fixture(postgres).await else {
        return;
    };
    let slot = at("2026-06-01T04:00:00Z");
    let device = f
        .services
        .register_device(f.admin.user_id, "laptop", None, None)
        .await
        .expect("device")
        .id;
    insert_due_schedules(&f.services, f.admin.user_id, device, 1_000, slot).await;
    // A second engine: its own services and connection pool over the same database.
    let other = super::open(&f.database_url, f.options.clone()).await;
    for engine in [&f.services, &other] {
        engine.clock().set(slot + Duration::seconds(1));
    }
    let (a, b) = tokio::join!(
        tokio::spawn({
            let s = f.services.clone();
            async move { s.run_due_schedules().await }
        }),
        tokio::spawn({
            let s = other.clone();
            async move { s.run_due_schedules().await }
        }),
    );
    let (a, b) = (
        a.expect("task").expect("engine a"),
        b.expect("task").expect("engine b"),
    );
    assert_eq!(a + b, 1_000, "engine a ran {a}, engine b ran {b}");
    let runs = schedule_run::Entity::find()
        .all(f.services.db())
        .await
        .expect("runs");
    assert_eq!(runs.len(), 1_000);
    let distinct: std::collections::HashSet<_> = runs.iter().map(|r| r.schedule_id).collect();
    assert_eq!(distinct.len(), 1_000, "no schedule ran twice");
    assert!(runs.iter().all(|r| r.scheduled_for == Some(slot)));
}

on_both!(two_engines_run_each_due_slot_exactly_once);
