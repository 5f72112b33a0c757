//! The schedule engine's claim (SPEC §6): due schedules are claimed atomically in
//! the database, so that any number of `ferry` processes sharing one database run
//! each slot exactly once.
//!
//! A claim is one transaction: lock the due rows (PostgreSQL: `FOR UPDATE SKIP
//! LOCKED`, so a second engine takes other rows instead of waiting; SQLite: the
//! database's one write lock, taken first), move each row to its next slot with a
//! guarded bulk update (`next_run_at` still equal to the slot read), and record
//! the runs of exactly the rows that update moved. Events go out after commit.
use chrono::{DateTime, Duration, Utc};
use entity::enums::ScheduleType;
use entity::sync_schedule;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{LockBehavior, LockType},
};

use crate::service::error::Result;
use crate::service::{
    Services,
    bulk::{SlotMove, move_schedules},
    sync::runs::{RunSpec, Trigger},
    sync::schedules::recurrence_of,
};

/// Schedules claimed per transaction, as measured with 100,000 due
/// (`bench-schedules`): each batch rewrites the index pages it touches, so
/// larger is better until SQLite's page cache spills (1,000 → 4.4 s, 5,000 →
/// 3.4 s, 20,000 → 3.7 s); PostgreSQL: 5,000 → 5.0 s, 20,000 → 3.7 s.
pub fn claim_batch(backend: DatabaseBackend) -> u64 {
    match backend {
        DatabaseBackend::Postgres => 20_000,
        _ => 5_000,
    }
}

/// A slot claimed later than this after its time was missed (the server was
/// down or suspended): it runs once as `catch_up`, and the next slot counts from now.
pub const CATCH_UP_AFTER: Duration = Duration::seconds(60);
/// When the next slot of a schedule cannot be computed (a time zone this build no
/// longer knows), the run is recorded as failed and retried this much later.
pub const RETRY_FAILED_AFTER: Duration = Duration::hours(1);

/// One due schedule and what its run will be.
struct Claim {
    row: sync_schedule::Model,
    slot: DateTime<Utc>,
    next: Option<DateTime<Utc>>,
    trigger: Trigger,
    error: Option<String>,
}

/// Decide the trigger, the next slot and any failure of one due row.
fn plan_claim(row: sync_schedule::Model, now: DateTime<Utc>) -> Claim {
    let slot = row.next_run_at.unwrap_or(now);
    if row.schedule_type == ScheduleType::OnChange {
        return Claim {
            row,
            slot,
            next: None,
            trigger: Trigger::Change,
            error: None,
        };
    }
    let trigger = if now - slot > CATCH_UP_AFTER {
        Trigger::CatchUp
    } else {
        Trigger::Time
    };
    let (next, error) = match recurrence_of(&row) {
        // After `now`, not after the slot: missed slots collapse into this one run.
        Ok(Some(recurrence)) => (Some(recurrence.next_after(now.max(slot))), None),
        Ok(None) => (None, None),
        Err(err) => (Some(now + RETRY_FAILED_AFTER), Some(err.to_string())),
    };
    Claim {
        row,
        slot,
        next,
        trigger,
        error,
    }
}

impl Services {
    /// Claim and run every schedule due at the clock's now, batch by batch.
    /// Returns how many runs this engine recorded.
    pub async fn run_due_schedules(&self) -> Result<usize> {
        let now = self.clock().now();
        let mut total = 0;
        loop {
            let (seen, ran) = self.run_due_batch(now).await?;
            total += ran;
            if seen < claim_batch(self.db().get_database_backend()) as usize {
                return Ok(total);
            }
        }
    }

    /// One claim transaction; returns (rows seen due, runs recorded).
    async fn run_due_batch(&self, now: DateTime<Utc>) -> Result<(usize, usize)> {
        let backend = self.db().get_database_backend();
        let txn = self.begin_write().await?;
        let mut due = sync_schedule::Entity::find()
            .filter(sync_schedule::Column::Enabled.eq(true))
            .filter(sync_schedule::Column::NextRunAt.lte(now))
            .order_by_asc(sync_schedule::Column::NextRunAt)
            .limit(claim_batch(backend));
        if backend == DatabaseBackend::Postgres {
            due = due.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        } else {
            // Take SQLite's write lock before reading, so the read cannot go stale.
            txn.execute_unprepared("UPDATE sync_schedules SET enabled = enabled WHERE 1 = 0")
                .await?;
        }
        let rows = due.all(&txn).await?;
        let seen = rows.len();
        if rows.is_empty() {
            return Ok((0, 0));
        }
        let writing = self.schedule_writes();
        let claims: Vec<Claim> = rows.into_iter().map(|row| plan_claim(row, now)).collect();
        let moves: Vec<SlotMove> = claims
            .iter()
            .map(|c| SlotMove {
                id: c.row.id,
                slot: c.slot,
                next: c.next,
            })
            .collect();
        let moved = move_schedules(&txn, &moves, now).await?;
        let specs: Vec<RunSpec> = claims
            .into_iter()
            .filter(|c| moved.contains(&c.row.id))
            .map(|c| RunSpec {
                schedule: c.row,
                trigger: c.trigger,
                scheduled_for: Some(c.slot),
                error: c.error,
            })
            .collect();
        let runs = self.record_runs(&txn, specs, now).await?;
        txn.commit().await?;
        drop(writing);
        let ran = runs.len();
        self.publish_runs(runs);
        Ok((seen, ran))
    }
}
