//! Sync runs (SPEC §6): what a run records and carries — the device's sync plan,
//! the files changed on the server since its previous completed run, filtered by
//! its selective sync — plus manual runs, acknowledgement and the run history.
use entity::enums::RunStatus;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{device, file_metadata, schedule_run, sync_run_change};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;
use uuid::Uuid;

use crate::service::error::Result;
use crate::service::{
    Services,
    bulk::{SystemAudit, insert_runs, insert_system_audits},
    sync::selective::{Folder, folders_by_device, is_synced},
};

/// Rows per multi-row insert (well under SQLite's bound-parameter limit).
const INSERT_BATCH: usize = 500;
/// Most runs one page of history may hold.
pub(super) const MAX_PAGE: u64 = 500;

pub use entity::enums::RunTrigger as Trigger;

/// A run about to be recorded.
#[derive(Debug)]
pub(crate) struct RunSpec {
    pub schedule: entity::sync_schedule::Model,
    pub trigger: Trigger,
    pub scheduled_for: Option<DateTime<Utc>>,
    /// Set when the run failed before it could plan.
    pub error: Option<String>,
}

/// A run as the API shows it.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct SyncRun {
    pub run_id: Uuid,
    pub schedule_id: Uuid,
    pub user_id: Uuid,
    /// The client's `device_id`.
    pub device_id: String,
    pub trigger: Trigger,
    pub status: RunStatus,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub changes_since: Option<DateTime<Utc>>,
    pub changes_until: DateTime<Utc>,
    pub change_count: i32,
    pub deletion_count: i32,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

pub(super) fn view(row: schedule_run::Model, device_id: String) -> SyncRun {
    SyncRun {
        run_id: row.id,
        schedule_id: row.schedule_id,
        user_id: row.user_id,
        device_id,
        trigger: row.trigger,
        status: row.status,
        scheduled_for: row.scheduled_for,
        started_at: row.started_at,
        finished_at: row.finished_at,
        changes_since: row.changes_since,
        changes_until: row.changes_until,
        change_count: row.change_count,
        deletion_count: row.deletion_count,
        acknowledged_at: row.acknowledged_at,
        error: row.error,
    }
}

/// One entry of a sync plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncChange {
    pub path: String,
    /// `upsert` (fetch this version) or `delete`.
    pub change: String,
    pub version: i32,
    pub size: i64,
    pub sha256: String,
    pub modified_at: DateTime<Utc>,
}

/// A run was recorded (published on the event bus after commit).
#[derive(Clone, Debug)]
pub struct RunEvent {
    pub run: SyncRun,
}

/// The plan of one run: the changes after `since` up to `until` that the device
/// did not make itself, that its selective sync lets through, with deletions
/// only when the schedule syncs them.
fn plan_for(
    files: &[file_metadata::Model],
    device_id: Uuid,
    folders: &[Folder],
    since: Option<DateTime<Utc>>,
    sync_deletions: bool,
) -> Vec<SyncChange> {
    files
        .iter()
        .filter(|f| since.is_none_or(|since| f.updated_at > since))
        .filter(|f| f.changed_by_device_id != Some(device_id))
        .filter(|f| sync_deletions || f.deleted_at.is_none())
        .filter(|f| is_synced(folders, &f.path))
        .map(|f| SyncChange {
            path: f.path.clone(),
            change: if f.deleted_at.is_some() {
                "delete"
            } else {
                "upsert"
            }
            .to_owned(),
            version: f.version,
            size: f.size,
            sha256: f.sha256.clone(),
            modified_at: f.modified_at,
        })
        .collect()
}

impl Services {
    /// Record `specs` as runs inside `txn` (the claim's transaction): build each
    /// device's plan from one read of the users' changed files, insert the runs,
    /// their plans and one audit entry each. Returns the runs for publishing.
    pub(crate) async fn record_runs(
        &self,
        txn: &DatabaseTransaction,
        specs: Vec<RunSpec>,
        now: DateTime<Utc>,
    ) -> Result<Vec<SyncRun>> {
        if specs.is_empty() {
            return Ok(Vec::new());
        }
        let device_ids: HashSet<Uuid> = specs.iter().map(|s| s.schedule.device_id).collect();
        let devices: HashMap<Uuid, device::Model> = device::Entity::find()
            .filter(device::Column::Id.is_in(device_ids.iter().copied()))
            .all(txn)
            .await?
            .into_iter()
            .map(|d| (d.id, d))
            .collect();
        let folders = folders_by_device(txn, device_ids.iter().copied()).await?;
        let files = self.changed_files(txn, &specs, &devices, now).await?;

        let mut runs = Vec::with_capacity(specs.len());
        let mut models = Vec::with_capacity(specs.len());
        let mut changes = Vec::new();
        let mut audits = Vec::with_capacity(specs.len());
        for spec in specs {
            let schedule = &spec.schedule;
            let Some(device) = devices.get(&schedule.device_id) else {
                continue;
            };
            // Time-ordered: a batch of runs appends to the key index, not random pages.
            let run_id = Uuid::now_v7();
            let since = device.synced_until;
            let plan = match &spec.error {
                Some(_) => Vec::new(),
                None => plan_for(
                    files.get(&schedule.user_id).map_or(&[][..], Vec::as_slice),
                    device.id,
                    folders.get(&device.id).map_or(&[][..], Vec::as_slice),
                    since,
                    schedule.sync_deletions,
                ),
            };
            let deletions = plan.iter().filter(|c| c.change == "delete").count();
            let row = schedule_run::Model {
                id: run_id,
                schedule_id: schedule.id,
                user_id: schedule.user_id,
                device_id: device.id,
                trigger: spec.trigger,
                scheduled_for: spec.scheduled_for,
                status: if spec.error.is_some() {
                    RunStatus::Failed
                } else {
                    RunStatus::Requested
                }
                .to_owned(),
                started_at: now,
                finished_at: Some(now),
                changes_since: since,
                changes_until: now,
                change_count: i32::try_from(plan.len() - deletions).unwrap_or(i32::MAX),
                deletion_count: i32::try_from(deletions).unwrap_or(i32::MAX),
                acknowledged_at: None,
                error: spec.error.clone(),
            };
            if let Some(err) = &spec.error {
                tracing::warn!(schedule_id = %schedule.id, %err, "a scheduled sync run failed");
            }
            changes.extend(plan.into_iter().map(|c| sync_run_change::ActiveModel {
                run_id: Set(run_id),
                path: Set(c.path),
                change: Set(c.change),
                version: Set(c.version),
                size: Set(c.size),
                sha256: Set(c.sha256),
                modified_at: Set(c.modified_at),
                ..Default::default()
            }));
            audits.push(SystemAudit {
                action: "schedule.run",
                target_type: "schedule",
                target_id: schedule.id.to_string(),
                after: serde_json::json!({
                    "run_id": run_id,
                    "trigger": row.trigger,
                    "status": row.status,
                    "device_id": device.device_id,
                    "change_count": row.change_count,
                    "deletion_count": row.deletion_count,
                    "error": row.error,
                }),
            });
            runs.push(view(row.clone(), device.device_id.clone()));
            models.push(row);
        }
        insert_runs(txn, &models).await?;
        let mut changes = changes.into_iter().peekable();
        while changes.peek().is_some() {
            let batch: Vec<_> = changes.by_ref().take(INSERT_BATCH).collect();
            sync_run_change::Entity::insert_many(batch)
                .exec(txn)
                .await?;
        }
        insert_system_audits(txn, now, &audits).await?;
        Ok(runs)
    }

    /// The changed (and deleted) files of the runs' users, after the earliest
    /// `since` among their devices, up to `until`, grouped by user.
    pub(crate) async fn changed_files(
        &self,
        txn: &DatabaseTransaction,
        specs: &[RunSpec],
        devices: &HashMap<Uuid, device::Model>,
        until: DateTime<Utc>,
    ) -> Result<HashMap<Uuid, Vec<file_metadata::Model>>> {
        let users: HashSet<Uuid> = specs.iter().map(|s| s.schedule.user_id).collect();
        let mut earliest: Option<Option<DateTime<Utc>>> = None;
        for spec in specs {
            let since = devices
                .get(&spec.schedule.device_id)
                .and_then(|d| d.synced_until);
            earliest = Some(match earliest {
                None => since,
                Some(current) => current.zip(since).map(|(a, b)| Ord::min(a, b)),
            });
        }
        let mut query = file_metadata::Entity::find()
            .filter(file_metadata::Column::UserId.is_in(users))
            .filter(file_metadata::Column::UpdatedAt.lte(until))
            .order_by_asc(file_metadata::Column::Path);
        if let Some(Some(since)) = earliest {
            query = query.filter(file_metadata::Column::UpdatedAt.gt(since));
        }
        let mut by_user: HashMap<Uuid, Vec<file_metadata::Model>> = HashMap::new();
        for file in query.all(txn).await? {
            by_user.entry(file.user_id).or_default().push(file);
        }
        Ok(by_user)
    }

    /// Tell subscribers about recorded runs (no subscriber is fine).
    pub(crate) fn publish_runs(&self, runs: Vec<SyncRun>) {
        for run in runs {
            self.inner.events.publish_run(RunEvent { run });
        }
    }
}
