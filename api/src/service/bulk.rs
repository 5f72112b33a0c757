//! Set-based statements for the schedule engine's hot path: a few statements per
//! batch whatever its size.
//!
//! - PostgreSQL: each column travels as one typed array parameter, bound in the
//!   binary protocol and spread into rows by `unnest`, so the statement text is
//!   constant (prepared once) and nothing is parsed as text or JSON.
//! - SQLite: multi-row `VALUES` with anonymous `?` placeholders. (A `json_each`
//!   source re-reads the document for every field and, joined in an `UPDATE …
//!   FROM`, scans the table once per row; numbered `?N` placeholders make the
//!   driver resolve each one by a linear search of the statement's names, which is
//!   quadratic in a batch of thousands.)
//!
//! Values are written exactly as sea-orm writes them elsewhere, so equality and
//! ordering against rows written by the entities still hold.
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use entity::schedule_run;
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseTransaction, Statement, Value, sea_query::ArrayType,
};
use uuid::Uuid;

use crate::service::error::Result;

/// SQLite's limit on the parameters of one statement.
const SQLITE_MAX_PARAMETERS: usize = 32_766;

fn statement(txn: &DatabaseTransaction, sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(txn.get_database_backend(), sql, values)
}

fn is_postgres(txn: &DatabaseTransaction) -> bool {
    txn.get_database_backend() == DatabaseBackend::Postgres
}

/// One PostgreSQL array parameter of `ty` (the driver binds no null elements).
fn array<T: Into<Value>>(ty: ArrayType, items: impl IntoIterator<Item = T>) -> Value {
    Value::Array(
        ty,
        Some(Box::new(items.into_iter().map(Into::into).collect())),
    )
}

/// A nullable PostgreSQL column as two array parameters, since the driver binds
/// no null elements: the values (`filler` where null) and whether each is present.
/// The statement reads it back as `CASE WHEN present THEN value END`.
fn nullable_array<T: Clone + Into<Value>>(
    ty: ArrayType,
    filler: T,
    items: impl IntoIterator<Item = Option<T>>,
) -> [Value; 2] {
    let (values, present): (Vec<T>, Vec<bool>) = items
        .into_iter()
        .map(|item| match item {
            Some(v) => (v, true),
            None => (filler.clone(), false),
        })
        .unzip();
    [array(ty, values), array(ArrayType::Bool, present)]
}

/// `count` SQLite rows of `width` anonymous placeholders: `(?, ?), (?, ?)`.
fn placeholder_rows(count: usize, width: usize) -> String {
    let row = format!("({})", vec!["?"; width].join(", "));
    vec![row.as_str(); count].join(", ")
}

/// A claimed schedule's move: from the slot it was read at to `next`.
#[derive(Debug)]
pub(crate) struct SlotMove {
    pub id: Uuid,
    pub slot: DateTime<Utc>,
    pub next: Option<DateTime<Utc>>,
}

/// Move each enabled schedule still at its read slot to its next slot, with
/// `last_run_at = now`; returns the ids moved (a row moved by another engine
/// meanwhile, disabled, or deleted is not).
pub(crate) async fn move_schedules(
    txn: &DatabaseTransaction,
    moves: &[SlotMove],
    now: DateTime<Utc>,
) -> Result<HashSet<Uuid>> {
    let mut moved = HashSet::with_capacity(moves.len());
    if is_postgres(txn) {
        let sql = "UPDATE sync_schedules AS s \
             SET next_run_at = CASE WHEN v.has_next THEN v.next END, last_run_at = $5, updated_at = $5 \
             FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::bool[]) \
             AS v(id, slot, next, has_next) \
             WHERE s.id = v.id AND s.next_run_at = v.slot AND s.enabled RETURNING s.id";
        let [next, has_next] = nullable_array(
            ArrayType::ChronoDateTimeUtc,
            now,
            moves.iter().map(|m| m.next),
        );
        let values = vec![
            array(ArrayType::Uuid, moves.iter().map(|m| m.id)),
            array(ArrayType::ChronoDateTimeUtc, moves.iter().map(|m| m.slot)),
            next,
            has_next,
            now.into(),
        ];
        for row in txn.query_all_raw(statement(txn, sql, values)).await? {
            moved.insert(row.try_get::<Uuid>("", "id")?);
        }
        return Ok(moved);
    }
    for batch in moves.chunks(SQLITE_MAX_PARAMETERS / 3 - 1) {
        let mut values: Vec<Value> = Vec::with_capacity(2 + batch.len() * 3);
        values.extend([now.into(), now.into()]);
        for m in batch {
            values.extend([m.id.into(), m.slot.into(), m.next.into()]);
        }
        // The VALUES list is the outer loop; each row finds its schedule by key.
        let sql = format!(
            "UPDATE sync_schedules SET next_run_at = v.column3, last_run_at = ?, updated_at = ? \
             FROM (VALUES {}) AS v WHERE sync_schedules.id = v.column1 \
             AND sync_schedules.next_run_at = v.column2 AND sync_schedules.enabled = 1 \
             RETURNING sync_schedules.id",
            placeholder_rows(batch.len(), 3)
        );
        for row in txn.query_all_raw(statement(txn, &sql, values)).await? {
            moved.insert(row.try_get::<Uuid>("", "id")?);
        }
    }
    Ok(moved)
}

const RUN_COLUMNS: &str = "id, schedule_id, user_id, device_id, \"trigger\", scheduled_for, \
    status, started_at, finished_at, changes_since, changes_until, change_count, \
    deletion_count, acknowledged_at, error";

/// Insert `runs`, a few statements in all.
pub(crate) async fn insert_runs(
    txn: &DatabaseTransaction,
    runs: &[schedule_run::Model],
) -> Result<()> {
    if runs.is_empty() {
        return Ok(());
    }
    if is_postgres(txn) {
        use ArrayType::{ChronoDateTimeUtc as Instant, Int, String as Text, Uuid as Id};
        let ids = |f: fn(&schedule_run::Model) -> Uuid| array(Id, runs.iter().map(f));
        let texts = |f: fn(&schedule_run::Model) -> String| array(Text, runs.iter().map(f));
        let ints = |f: fn(&schedule_run::Model) -> i32| array(Int, runs.iter().map(f));
        let instants =
            |f: fn(&schedule_run::Model) -> DateTime<Utc>| array(Instant, runs.iter().map(f));
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        let maybe_instants = |f: fn(&schedule_run::Model) -> Option<DateTime<Utc>>| {
            nullable_array(Instant, epoch, runs.iter().map(f))
        };
        let mut values = vec![
            ids(|r| r.id),
            ids(|r| r.schedule_id),
            ids(|r| r.user_id),
            ids(|r| r.device_id),
            texts(|r| r.trigger.as_str().to_owned()),
            texts(|r| r.status.as_str().to_owned()),
            instants(|r| r.started_at),
            instants(|r| r.changes_until),
            ints(|r| r.change_count),
            ints(|r| r.deletion_count),
        ];
        values.extend(maybe_instants(|r| r.scheduled_for));
        values.extend(maybe_instants(|r| r.finished_at));
        values.extend(maybe_instants(|r| r.changes_since));
        values.extend(maybe_instants(|r| r.acknowledged_at));
        values.extend(nullable_array(
            Text,
            String::new(),
            runs.iter().map(|r| r.error.clone()),
        ));
        let sql = format!(
            "INSERT INTO schedule_runs ({RUN_COLUMNS}) SELECT id, schedule_id, user_id, device_id, \
             \"trigger\", CASE WHEN has_scheduled THEN scheduled_for END, status, started_at, \
             CASE WHEN has_finished THEN finished_at END, \
             CASE WHEN has_since THEN changes_since END, changes_until, change_count, \
             deletion_count, CASE WHEN has_ack THEN acknowledged_at END, \
             CASE WHEN has_error THEN error END \
             FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], \
             $7::timestamptz[], $8::timestamptz[], $9::int[], $10::int[], \
             $11::timestamptz[], $12::bool[], $13::timestamptz[], $14::bool[], \
             $15::timestamptz[], $16::bool[], $17::timestamptz[], $18::bool[], \
             $19::text[], $20::bool[]) AS v(id, schedule_id, user_id, device_id, \"trigger\", \
             status, started_at, changes_until, change_count, deletion_count, \
             scheduled_for, has_scheduled, finished_at, has_finished, changes_since, has_since, \
             acknowledged_at, has_ack, error, has_error)"
        );
        txn.execute_raw(statement(txn, &sql, values)).await?;
        return Ok(());
    }
    for batch in runs.chunks(SQLITE_MAX_PARAMETERS / 15) {
        let mut values: Vec<Value> = Vec::with_capacity(batch.len() * 15);
        for r in batch {
            values.extend([
                r.id.into(),
                r.schedule_id.into(),
                r.user_id.into(),
                r.device_id.into(),
                r.trigger.into(),
                r.scheduled_for.into(),
                r.status.into(),
                r.started_at.into(),
                r.finished_at.into(),
                r.changes_since.into(),
                r.changes_until.into(),
                r.change_count.into(),
                r.deletion_count.into(),
                r.acknowledged_at.into(),
                r.error.clone().into(),
            ]);
        }
        let sql = format!(
            "INSERT INTO schedule_runs ({RUN_COLUMNS}) VALUES {}",
            placeholder_rows(batch.len(), 15)
        );
        txn.execute_raw(statement(txn, &sql, values)).await?;
    }
    Ok(())
}

/// One audit entry by the system, on a target, with its `after` state.
#[derive(Debug)]
pub(crate) struct SystemAudit {
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: String,
    pub after: serde_json::Value,
}

/// Insert system audit entries at `at`, a few statements in all.
pub(crate) async fn insert_system_audits(
    txn: &DatabaseTransaction,
    at: DateTime<Utc>,
    entries: &[SystemAudit],
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    const INSERT: &str = "INSERT INTO audit_log (at, actor_user_id, actor, action, target_type, target_id, before, after)";
    if is_postgres(txn) {
        let texts = |f: fn(&SystemAudit) -> String| array(ArrayType::String, entries.iter().map(f));
        let values = vec![
            texts(|e| e.action.to_owned()),
            texts(|e| e.target_type.to_owned()),
            texts(|e| e.target_id.clone()),
            texts(|e| e.after.to_string()),
            at.into(),
        ];
        let sql = format!(
            "{INSERT} SELECT $5, NULL, 'system', v.action, v.target_type, v.target_id, NULL, \
             v.after::json FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) \
             AS v(action, target_type, target_id, after)"
        );
        txn.execute_raw(statement(txn, &sql, values)).await?;
        return Ok(());
    }
    for batch in entries.chunks(SQLITE_MAX_PARAMETERS / 4 - 1) {
        let mut values: Vec<Value> = vec![at.into()];
        for e in batch {
            values.extend([
                e.action.into(),
                e.target_type.into(),
                e.target_id.clone().into(),
                e.after.to_string().into(),
            ]);
        }
        let sql = format!(
            "{INSERT} SELECT ?, NULL, 'system', v.column1, v.column2, v.column3, NULL, \
             v.column4 FROM (VALUES {}) AS v",
            placeholder_rows(batch.len(), 4)
        );
        txn.execute_raw(statement(txn, &sql, values)).await?;
    }
    Ok(())
}
