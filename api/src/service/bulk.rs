//! Set-based statements for the schedule engine's hot path: one statement per
//! batch whatever its size, with the rows passed as one JSON array parameter
//! (PostgreSQL `jsonb_to_recordset`, SQLite `json_each`). The statement text is
//! constant, so it is prepared once and cached; multi-row `VALUES` with
//! thousands of parameters would be parsed and planned again for every batch.
//!
//! Values are written exactly as sea-orm writes them elsewhere: UUIDs as
//! 16-byte blobs on SQLite, instants as RFC 3339 text with `+00:00` (the form
//! the SQLite driver stores, so that equality and ordering still hold).
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use entity::schedule_run;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseTransaction, Statement, Value};
use serde_json::json;
use uuid::Uuid;

use crate::error::Result;

/// An instant as the SQLite driver stores it (and as PostgreSQL parses it).
fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339()
}

fn maybe_instant(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(instant)
}

fn statement(txn: &DatabaseTransaction, sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(txn.get_database_backend(), sql, values)
}

fn is_postgres(txn: &DatabaseTransaction) -> bool {
    txn.get_database_backend() == DatabaseBackend::Postgres
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
    let (sql, values) = if is_postgres(txn) {
        let rows: Vec<_> = moves
            .iter()
            .map(|m| json!({ "id": m.id, "slot": instant(m.slot), "next": maybe_instant(m.next) }))
            .collect();
        let sql = "UPDATE sync_schedules AS s SET next_run_at = v.next, last_run_at = $2, updated_at = $2 \
             FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, slot timestamptz, next timestamptz) \
             WHERE s.id = v.id AND s.next_run_at = v.slot AND s.enabled RETURNING s.id";
        let values = vec![
            Value::from(serde_json::Value::Array(rows).to_string()),
            now.into(),
        ];
        (sql.to_owned(), values)
    } else {
        // SQLite joins a `json_each` source by scanning the table for every
        // row; a VALUES list is looked up by primary key (3 parameters a row,
        // well under SQLite's 32,766).
        let mut values: Vec<Value> = vec![now.into()];
        let mut rows = Vec::with_capacity(moves.len());
        for m in moves {
            let n = values.len();
            rows.push(format!("(?{}, ?{}, ?{})", n + 1, n + 2, n + 3));
            values.extend([m.id.into(), m.slot.into(), m.next.into()]);
        }
        let sql = format!(
            "UPDATE sync_schedules SET next_run_at = v.column3, last_run_at = ?1, updated_at = ?1 \
             FROM (VALUES {}) AS v WHERE sync_schedules.id = v.column1 \
             AND sync_schedules.next_run_at = v.column2 AND sync_schedules.enabled = 1 \
             RETURNING sync_schedules.id",
            rows.join(", ")
        );
        (sql, values)
    };
    let moved = txn.query_all_raw(statement(txn, &sql, values)).await?;
    moved
        .iter()
        .map(|row| Ok(row.try_get::<Uuid>("", "id")?))
        .collect()
}

/// Insert `runs` in one statement.
pub(crate) async fn insert_runs(
    txn: &DatabaseTransaction,
    runs: &[schedule_run::Model],
) -> Result<()> {
    if runs.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = runs
        .iter()
        .map(|r| {
            json!({
                "id": r.id, "schedule_id": r.schedule_id, "user_id": r.user_id,
                "device_id": r.device_id, "trigger": r.trigger,
                "scheduled_for": maybe_instant(r.scheduled_for), "status": r.status,
                "started_at": instant(r.started_at), "finished_at": maybe_instant(r.finished_at),
                "changes_since": maybe_instant(r.changes_since),
                "changes_until": instant(r.changes_until),
                "change_count": r.change_count, "deletion_count": r.deletion_count,
                "acknowledged_at": maybe_instant(r.acknowledged_at), "error": r.error,
            })
        })
        .collect();
    const COLUMNS: &str = "id, schedule_id, user_id, device_id, \"trigger\", scheduled_for, \
        status, started_at, finished_at, changes_since, changes_until, change_count, \
        deletion_count, acknowledged_at, error";
    let sql = if is_postgres(txn) {
        format!(
            "INSERT INTO schedule_runs ({COLUMNS}) SELECT {COLUMNS} \
             FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, schedule_id uuid, user_id uuid, \
             device_id uuid, \"trigger\" text, scheduled_for timestamptz, status text, \
             started_at timestamptz, finished_at timestamptz, changes_since timestamptz, \
             changes_until timestamptz, change_count int, deletion_count int, \
             acknowledged_at timestamptz, error text)"
        )
    } else {
        let uuid = |field: &str| format!("unhex(replace(value->>'{field}', '-', ''))");
        let text = |field: &str| format!("value->>'{field}'");
        format!(
            "INSERT INTO schedule_runs ({COLUMNS}) SELECT {}, {}, {}, {}, {}, {}, {}, {}, {}, \
             {}, {}, {}, {}, {}, {} FROM json_each(?1)",
            uuid("id"),
            uuid("schedule_id"),
            uuid("user_id"),
            uuid("device_id"),
            text("trigger"),
            text("scheduled_for"),
            text("status"),
            text("started_at"),
            text("finished_at"),
            text("changes_since"),
            text("changes_until"),
            text("change_count"),
            text("deletion_count"),
            text("acknowledged_at"),
            text("error"),
        )
    };
    let values = vec![Value::from(serde_json::Value::Array(rows).to_string())];
    txn.execute_raw(statement(txn, &sql, values)).await?;
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

/// Insert system audit entries at `at` in one statement.
pub(crate) async fn insert_system_audits(
    txn: &DatabaseTransaction,
    at: DateTime<Utc>,
    entries: &[SystemAudit],
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = entries
        .iter()
        .map(|e| {
            json!({
                "action": e.action, "target_type": e.target_type,
                "target_id": e.target_id, "after": e.after,
            })
        })
        .collect();
    let sql = if is_postgres(txn) {
        "INSERT INTO audit_log (at, actor_user_id, actor, action, target_type, target_id, before, after) \
         SELECT $2, NULL, 'system', action, target_type, target_id, NULL, after \
         FROM jsonb_to_recordset($1::jsonb) AS v(action text, target_type text, target_id text, after json)"
    } else {
        "INSERT INTO audit_log (at, actor_user_id, actor, action, target_type, target_id, before, after) \
         SELECT ?2, NULL, 'system', value->>'action', value->>'target_type', value->>'target_id', \
         NULL, value->'after' FROM json_each(?1)"
    };
    let values = vec![
        Value::from(serde_json::Value::Array(rows).to_string()),
        at.into(),
    ];
    txn.execute_raw(statement(txn, sql, values)).await?;
    Ok(())
}
