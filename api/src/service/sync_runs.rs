//! Sync runs (SPEC §6): what a run records and carries — the device's sync plan,
//! the files changed on the server since its previous completed run, filtered by
//! its selective sync — plus manual runs, acknowledgement and the run history.
use crate::service::Code;
use entity::enums::RunStatus;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{device, file_metadata, schedule_run, sync_run_change};
use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
    sea_query::{Expr, ExprTrait},
};
use serde::Serialize;
use uuid::Uuid;

use super::{
    Caller, Role, Services,
    audit::AuditEntry,
    bulk::{SystemAudit, insert_runs, insert_system_audits},
    selective::{Folder, folders_by_device, is_synced},
};
use crate::service::error::{Error, Result};

/// Rows per multi-row insert (well under SQLite's bound-parameter limit).
const INSERT_BATCH: usize = 500;
/// Most runs one page of history may hold.
const MAX_PAGE: u64 = 500;

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
#[derive(Clone, Debug, Serialize)]
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

fn view(row: schedule_run::Model, device_id: String) -> SyncRun {
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
    async fn changed_files(
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

    /// Run a schedule now (admin only), whatever its slot; the slot is kept.
    /// A disabled schedule does not run (409 `schedule_disabled`).
    pub async fn run_schedule_now(&self, caller: &Caller, schedule_id: Uuid) -> Result<SyncRun> {
        caller.require_admin()?;
        let schedule = entity::sync_schedule::Entity::find_by_id(schedule_id)
            .one(self.db())
            .await?
            .ok_or(Error::not_found("schedule"))?;
        if !schedule.enabled {
            return Err(Error::new(
                Code::ScheduleDisabled,
                "a disabled schedule does not run; enable it first",
            ));
        }
        let now = self.clock().now();
        let txn = self.db().begin().await?;
        entity::sync_schedule::Entity::update_many()
            .col_expr(
                entity::sync_schedule::Column::LastRunAt,
                Expr::value(Some(now)),
            )
            .filter(entity::sync_schedule::Column::Id.eq(schedule_id))
            .exec(&txn)
            .await?;
        let spec = RunSpec {
            schedule,
            trigger: Trigger::Manual,
            scheduled_for: None,
            error: None,
        };
        let mut runs = self.record_runs(&txn, vec![spec], now).await?;
        let entry = AuditEntry {
            action: "schedule.run_requested",
            target_type: "schedule",
            target_id: Some(schedule_id.to_string()),
            before: None,
            after: runs
                .first()
                .map(|r| serde_json::json!({ "run_id": r.run_id })),
        };
        self.audit(&txn, Some(caller), entry).await?;
        txn.commit().await?;
        let run = runs
            .pop()
            .ok_or_else(|| Error::internal("the manual run was not recorded"))?;
        self.publish_runs(vec![run.clone()]);
        Ok(run)
    }

    /// A run the caller may see: of their own devices (admins: any); a
    /// device-bound token sees only its device's runs.
    async fn visible_run(&self, caller: &Caller, run_id: Uuid) -> Result<schedule_run::Model> {
        let run = schedule_run::Entity::find_by_id(run_id)
            .one(self.db())
            .await?
            .ok_or(Error::not_found("sync run"))?;
        let foreign_device = caller
            .device
            .as_ref()
            .is_some_and(|(device, _)| *device != run.device_id);
        if !caller.can_access(run.user_id) || foreign_device {
            return Err(Error::not_found("sync run"));
        }
        Ok(run)
    }

    async fn device_name_of(&self, device_id: Uuid) -> Result<String> {
        Ok(device::Entity::find_by_id(device_id)
            .one(self.db())
            .await?
            .map(|d| d.device_id)
            .unwrap_or_default())
    }

    /// One run.
    pub async fn sync_run(&self, caller: &Caller, run_id: Uuid) -> Result<SyncRun> {
        let run = self.visible_run(caller, run_id).await?;
        let device_id = self.device_name_of(run.device_id).await?;
        Ok(view(run, device_id))
    }

    /// A run's plan, by path.
    pub async fn sync_run_changes(&self, caller: &Caller, run_id: Uuid) -> Result<Vec<SyncChange>> {
        self.visible_run(caller, run_id).await?;
        Ok(sync_run_change::Entity::find()
            .filter(sync_run_change::Column::RunId.eq(run_id))
            .order_by_asc(sync_run_change::Column::Path)
            .all(self.db())
            .await?
            .into_iter()
            .map(|c| SyncChange {
                path: c.path,
                change: c.change,
                version: c.version,
                size: c.size,
                sha256: c.sha256,
                modified_at: c.modified_at,
            })
            .collect())
    }

    /// The device acknowledges a run: it holds the plan's changes now, so its
    /// next plan starts where this one ended. Acknowledging twice is harmless;
    /// a failed run cannot be acknowledged (409).
    pub async fn complete_sync_run(&self, caller: &Caller, run_id: Uuid) -> Result<SyncRun> {
        let run = self.visible_run(caller, run_id).await?;
        if run.status == RunStatus::Failed {
            return Err(Error::new(
                Code::RunFailed,
                "a failed run cannot be acknowledged",
            ));
        }
        let now = self.clock().now();
        let txn = self.db().begin().await?;
        let marked = schedule_run::Entity::update_many()
            .col_expr(
                schedule_run::Column::Status,
                Expr::value(RunStatus::Completed),
            )
            .col_expr(schedule_run::Column::AcknowledgedAt, Expr::value(Some(now)))
            .filter(schedule_run::Column::Id.eq(run_id))
            .filter(schedule_run::Column::Status.eq(RunStatus::Requested))
            .exec(&txn)
            .await?;
        if marked.rows_affected == 1 {
            // Only forward: acknowledging an older run never rewinds the device.
            device::Entity::update_many()
                .col_expr(
                    device::Column::SyncedUntil,
                    Expr::value(Some(run.changes_until)),
                )
                .filter(device::Column::Id.eq(run.device_id))
                .filter(
                    Expr::col(device::Column::SyncedUntil)
                        .is_null()
                        .or(Expr::col(device::Column::SyncedUntil).lt(run.changes_until)),
                )
                .exec(&txn)
                .await?;
            let entry = AuditEntry {
                action: "sync_run.completed",
                target_type: "sync_run",
                target_id: Some(run_id.to_string()),
                before: Some(serde_json::json!({ "status": run.status })),
                after: Some(serde_json::json!({ "status": RunStatus::Completed })),
            };
            self.audit(&txn, Some(caller), entry).await?;
        }
        txn.commit().await?;
        self.sync_run(caller, run_id).await
    }

    /// Runs the caller may see, newest first, optionally of one schedule or
    /// device, `first` after the run `after` (a cursor). Returns the page and
    /// whether more follow.
    pub async fn list_sync_runs(
        &self,
        caller: &Caller,
        schedule_id: Option<Uuid>,
        device_id: Option<&str>,
        after: Option<Uuid>,
        first: u64,
    ) -> Result<(Vec<SyncRun>, bool)> {
        let first = first.clamp(1, MAX_PAGE);
        let mut devices = device::Entity::find();
        if caller.role != Role::Admin {
            devices = devices.filter(device::Column::UserId.eq(caller.user_id));
        }
        if let Some((bound, _)) = &caller.device {
            devices = devices.filter(device::Column::Id.eq(*bound));
        }
        if let Some(device_id) = device_id {
            devices = devices.filter(device::Column::DeviceId.eq(device_id));
        }
        let names: HashMap<Uuid, String> = devices
            .all(self.db())
            .await?
            .into_iter()
            .map(|d| (d.id, d.device_id))
            .collect();
        let mut query = schedule_run::Entity::find()
            .filter(schedule_run::Column::DeviceId.is_in(names.keys().copied()))
            .order_by_desc(schedule_run::Column::StartedAt)
            .order_by_desc(schedule_run::Column::Id)
            .limit(first + 1);
        if let Some(schedule_id) = schedule_id {
            query = query.filter(schedule_run::Column::ScheduleId.eq(schedule_id));
        }
        if let Some(after) = after {
            let cursor = self.visible_run(caller, after).await?;
            query = query.filter(
                Expr::col(schedule_run::Column::StartedAt)
                    .lt(cursor.started_at)
                    .or(Expr::col(schedule_run::Column::StartedAt)
                        .eq(cursor.started_at)
                        .and(Expr::col(schedule_run::Column::Id).lt(cursor.id))),
            );
        }
        let mut rows = query.all(self.db()).await?;
        let more = rows.len() as u64 > first;
        rows.truncate(first as usize);
        Ok((
            rows.into_iter()
                .map(|r| {
                    let name = names.get(&r.device_id).cloned().unwrap_or_default();
                    view(r, name)
                })
                .collect(),
            more,
        ))
    }

    /// A file of `user_id` at `path` changed (committed or deleted), by
    /// `origin` (a device, or `None` for WebDAV and other device-less writers):
    /// every other device of the user whose selective sync covers the path and
    /// that has an enabled `on_change` schedule runs `debounce_seconds` later.
    /// Each change pushes the run back, so a burst makes one run.
    pub(crate) async fn note_file_change(
        &self,
        user_id: Uuid,
        paths: &[String],
        origin: Option<Uuid>,
    ) -> Result<()> {
        if paths.is_empty() {
            return Ok(());
        }
        use entity::sync_schedule;
        let schedules = sync_schedule::Entity::find()
            .filter(sync_schedule::Column::UserId.eq(user_id))
            .filter(sync_schedule::Column::ScheduleType.eq("on_change"))
            .filter(sync_schedule::Column::Enabled.eq(true))
            .all(self.db())
            .await?;
        let now = self.clock().now();
        let others: Vec<_> = schedules
            .into_iter()
            .filter(|s| Some(s.device_id) != origin)
            .collect();
        let folders = folders_by_device(self.db(), others.iter().map(|s| s.device_id)).await?;
        for schedule in others {
            let device_folders = folders
                .get(&schedule.device_id)
                .map_or(&[][..], Vec::as_slice);
            if !paths.iter().any(|path| is_synced(device_folders, path)) {
                continue;
            }
            let due = now + chrono::Duration::seconds(i64::from(schedule.debounce_seconds));
            sync_schedule::Entity::update_many()
                .col_expr(sync_schedule::Column::NextRunAt, Expr::value(Some(due)))
                .filter(sync_schedule::Column::Id.eq(schedule.id))
                .filter(sync_schedule::Column::Enabled.eq(true))
                .exec(self.db())
                .await?;
        }
        Ok(())
    }

    /// [`Self::note_file_change`] for a commit that already happened: a failure
    /// is logged, never reported to the writer whose change is safely stored.
    pub(crate) async fn after_file_change(&self, user_id: Uuid, path: &str, origin: Option<Uuid>) {
        self.after_files_change(user_id, &[path.to_owned()], origin)
            .await;
    }

    /// [`Self::after_file_change`] for several paths changed together (a
    /// folder moved or deleted): one on-change trigger per device at most.
    pub(crate) async fn after_files_change(
        &self,
        user_id: Uuid,
        paths: &[String],
        origin: Option<Uuid>,
    ) {
        if let Err(err) = self.note_file_change(user_id, paths, origin).await {
            tracing::error!(%err, count = paths.len(), "scheduling on-change sync runs failed");
        }
    }
}
