//! Runs after they are recorded: run now, the run history, a run's plan, and its
//! acknowledgement by the device.
use crate::service::Code;
use entity::enums::RunStatus;
use std::collections::HashMap;

use entity::{device, schedule_run, sync_run_change};
use sea_orm::{
    ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::service::error::{Error, Result};
use crate::service::{Caller, Role, Services, audit::AuditEntry};

use super::runs::*;

impl Services {
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
        let writing = self.schedule_writes();
        let txn = self.begin_write().await?;
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
        drop(writing);
        let run = runs
            .pop()
            .ok_or_else(|| Error::internal("the manual run was not recorded"))?;
        self.publish_runs(vec![run.clone()]);
        Ok(run)
    }

    /// A run the caller may see: of their own devices (admins: any); a
    /// device-bound token sees only its device's runs.
    pub(crate) async fn visible_run(
        &self,
        caller: &Caller,
        run_id: Uuid,
    ) -> Result<schedule_run::Model> {
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

    pub(crate) async fn device_name_of(&self, device_id: Uuid) -> Result<String> {
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
        let txn = self.begin_write().await?;
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
}
