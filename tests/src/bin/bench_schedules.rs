//! Benchmark: 100,000 schedules due at once, processed end to end by the engine
//! (claimed, run recorded with its plan and audit entry, next slot computed,
//! event published), on SQLite and on PostgreSQL. Target ≤ 1 s.
//!
//! For scale, the same run also times the database's floor: the same writes (every
//! due row moved a day on, one run row and one audit row each) as three plain SQL
//! statements in one transaction, with nothing computed or sent by Ferry.
//!
//! Run: `cargo build --release --bins && FERRY_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres $CARGO_TARGET_DIR/release/bench-schedules [count]`
#![forbid(unsafe_code)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use anyhow::Context;
use api::{
    config::Settings,
    service::{Clock, Role, Services, identity::LoginRequest},
};
use chrono::{DateTime, Duration, Utc};
use entity::{schedule_run, sync_schedule};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, PaginatorTrait, QueryFilter, Set,
    TransactionTrait,
};
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

/// The bench user and its one device.
async fn seed_owner(services: &Services) -> anyhow::Result<(Uuid, Uuid)> {
    services
        .create_user(None, "bench", "bench-password", Role::User)
        .await?;
    let login = services
        .login(LoginRequest {
            username: "bench".into(),
            password: "bench-password".into(),
            device_id: Some("laptop".into()),
            device_name: None,
            platform: None,
            address: None,
        })
        .await?;
    let user = login.user.id;
    let device = entity::device::Entity::find()
        .one(services.db())
        .await?
        .context("the device")?
        .id;
    Ok((user, device))
}

/// `count` enabled daily schedules of `owner`'s device, all due at `slot`.
async fn seed_schedules(
    services: &Services,
    (user, device): (Uuid, Uuid),
    count: usize,
    slot: DateTime<Utc>,
) -> anyhow::Result<()> {
    let rows: Vec<sync_schedule::ActiveModel> = (0..count)
        .map(|_| sync_schedule::ActiveModel {
            id: Set(Uuid::new_v4()),
            user_id: Set(user),
            device_id: Set(device),
            schedule_type: Set(entity::enums::ScheduleType::Daily),
            time_of_day: Set(Some(slot.format("%H:%M").to_string())),
            day_of_week: Set(None),
            day_of_month: Set(None),
            timezone: Set("Europe/Berlin".into()),
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
    for batch in rows.chunks(1_000) {
        sync_schedule::Entity::insert_many(batch.to_vec())
            .exec(services.db())
            .await?;
    }
    Ok(())
}

/// The database's own cost of the engine's writes for the schedules due exactly at
/// `slot`: the three statements their runs need, set-based in SQL, one transaction.
async fn floor(services: &Services, slot: DateTime<Utc>) -> anyhow::Result<f64> {
    let postgres = services.db().get_database_backend() == DatabaseBackend::Postgres;
    let (new_id, object, next, target) = if postgres {
        (
            "gen_random_uuid()",
            "json_build_object",
            "next_run_at + interval '1 day'",
            "id::text",
        )
    } else {
        (
            "randomblob(16)",
            "json_object",
            "datetime(next_run_at, '+1 day')",
            "lower(hex(id))",
        )
    };
    let now = if postgres {
        format!("'{}'::timestamptz", slot.to_rfc3339())
    } else {
        format!("'{}'", slot.to_rfc3339())
    };
    // Exactly this slot: the engine's own rows have moved to later slots by now.
    let due = format!(
        "enabled = {} AND next_run_at = {now}",
        if postgres { "true" } else { "1" }
    );
    let statements = [
        format!(
            "INSERT INTO schedule_runs (id, schedule_id, user_id, device_id, \"trigger\", \
             scheduled_for, status, started_at, finished_at, changes_since, changes_until, \
             change_count, deletion_count, acknowledged_at, error) SELECT {new_id}, id, user_id, \
             device_id, 'time', next_run_at, 'requested', {now}, {now}, NULL, {now}, 0, 0, NULL, \
             NULL FROM sync_schedules WHERE {due}"
        ),
        format!(
            "INSERT INTO audit_log (at, actor_user_id, actor, action, target_type, target_id, \
             before, after) SELECT {now}, NULL, 'system', 'schedule.run', 'schedule', {target}, NULL, \
             {object}('trigger', 'time', 'status', 'requested', 'change_count', 0) \
             FROM sync_schedules WHERE {due}"
        ),
        format!(
            "UPDATE sync_schedules SET next_run_at = {next}, last_run_at = {now}, \
             updated_at = {now} WHERE {due}"
        ),
    ];
    let began = Instant::now();
    let txn = services.db().begin().await?;
    for sql in &statements {
        txn.execute_unprepared(sql).await?;
    }
    txn.commit().await?;
    Ok(began.elapsed().as_secs_f64())
}

async fn measure(name: &str, settings: Settings, count: usize) -> anyhow::Result<()> {
    let services = api::open_services(&settings, Clock::system()).await?;
    let slot: DateTime<Utc> = "2026-06-01T04:00:00Z".parse()?;
    services.clock().set(slot - Duration::hours(1));
    let owner = seed_owner(&services).await?;
    seed_schedules(&services, owner, count, slot).await?;
    services.clock().set(slot + Duration::seconds(1));

    // A subscriber draining the event bus, as a GraphQL subscription would.
    let published = Arc::new(AtomicU64::new(0));
    let mut events = services.subscribe_runs();
    let counter = published.clone();
    let listener = tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(_) => counter.fetch_add(1, Ordering::Relaxed),
                Err(RecvError::Lagged(n)) => counter.fetch_add(n, Ordering::Relaxed),
                Err(RecvError::Closed) => break,
            };
        }
    });

    let began = Instant::now();
    let ran = services.run_due_schedules().await?;
    let elapsed = began.elapsed();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    listener.abort();
    let recorded = schedule_run::Entity::find().count(services.db()).await?;
    let left_due = sync_schedule::Entity::find()
        .filter(sync_schedule::Column::NextRunAt.lte(slot))
        .count(services.db())
        .await?;
    anyhow::ensure!(
        ran == count && recorded == count as u64 && left_due == 0,
        "{name}: ran {ran}, recorded {recorded}, still due {left_due}"
    );
    println!(
        "{name:<10} {count} schedules: {:.3} s ({:.0} runs/s), events published {}",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64(),
        published.load(Ordering::Relaxed)
    );

    // The floor, on a second set of the same schedules, due at a slot of their own.
    let floor_slot = slot + Duration::days(30);
    services.clock().set(floor_slot - Duration::hours(1));
    seed_schedules(&services, owner, count, floor_slot).await?;
    let floor_secs = floor(&services, floor_slot).await?;
    let floor_runs = schedule_run::Entity::find().count(services.db()).await? - count as u64;
    anyhow::ensure!(
        floor_runs == count as u64,
        "{name}: floor wrote {floor_runs} runs"
    );
    println!(
        "{name:<10} {count} schedules, database floor (3 SQL statements): {floor_secs:.3} s; \
         engine / floor = {:.2}x",
        elapsed.as_secs_f64() / floor_secs
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let count: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let dir = tempfile::TempDir::new()?;
    measure("sqlite", Settings::with_data_dir(dir.path()), count).await?;
    if let Ok(admin_url) = std::env::var("FERRY_TEST_DATABASE_URL") {
        let (url, name) =
            api::service::db::create_scratch_database(&admin_url, "ferry_bench").await?;
        let pg_dir = tempfile::TempDir::new()?;
        let mut settings = Settings::with_data_dir(pg_dir.path());
        settings.database_url = Some(url);
        let result = measure("postgres", settings, count).await;
        api::service::db::drop_scratch_database(admin_url, name);
        result?;
    } else {
        println!("postgres   skipped: FERRY_TEST_DATABASE_URL is unset");
    }
    Ok(())
}
