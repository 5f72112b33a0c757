//! Sync schedules (SPEC §6): validation, storage and `next_run_at` from the one
//! next-run function. Management is admin-only; users read their own devices'.
use chrono::{DateTime, Utc};
use entity::enums::{ResolveConflicts, ScheduleType};
use entity::{device, sync_schedule};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, FromQueryResult, IntoActiveModel, JoinType,
    QueryFilter, QueryOrder, QueryResult, QuerySelect, RelationTrait, Set,
};
use serde::Serialize;
use uuid::Uuid;

use crate::service::error::{Error, Result};
use crate::service::{Caller, Role, Services, audit::AuditEntry};
use std::sync::Arc;

use super::schedule_cache::Scope;

use super::schedule_rules::validate;
pub use super::schedule_rules::{NewSchedule, preview, recurrence_of};

/// Fields of a schedule to change; `None` keeps the current value.
#[derive(Debug, Default)]
pub struct SchedulePatch {
    pub schedule_type: Option<String>,
    pub time_of_day: Option<String>,
    pub day_of_week: Option<i32>,
    pub day_of_month: Option<i32>,
    pub timezone: Option<String>,
    pub sync_deletions: Option<bool>,
    pub resolve_conflicts: Option<String>,
    pub debounce_seconds: Option<i32>,
}

/// A schedule as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct Schedule {
    pub schedule_id: Uuid,
    pub device_id: String,
    pub user_id: Uuid,
    pub schedule_type: ScheduleType,
    pub time_of_day: Option<String>,
    pub day_of_week: Option<i32>,
    pub day_of_month: Option<i32>,
    pub timezone: String,
    pub sync_deletions: bool,
    pub resolve_conflicts: ResolveConflicts,
    pub debounce_seconds: i32,
    pub enabled: bool,
    pub next_run_at: Option<DateTime<Utc>>,
    pub last_run_at: Option<DateTime<Utc>>,
}

/// A listed schedule, read by column position in the order `list_schedules`
/// selects them: listing is a hot path, and sea-orm's by-name look-ups format
/// every column's alias for every row.
struct Listed(Schedule);

impl FromQueryResult for Listed {
    fn from_query_result(row: &QueryResult, _prefix: &str) -> std::result::Result<Self, DbErr> {
        Ok(Self(Schedule {
            schedule_id: row.try_get_by_index(0)?,
            user_id: row.try_get_by_index(1)?,
            schedule_type: row.try_get_by_index(2)?,
            time_of_day: row.try_get_by_index(3)?,
            day_of_week: row.try_get_by_index(4)?,
            day_of_month: row.try_get_by_index(5)?,
            timezone: row.try_get_by_index(6)?,
            sync_deletions: row.try_get_by_index(7)?,
            resolve_conflicts: row.try_get_by_index(8)?,
            debounce_seconds: row.try_get_by_index(9)?,
            enabled: row.try_get_by_index(10)?,
            next_run_at: row.try_get_by_index(11)?,
            last_run_at: row.try_get_by_index(12)?,
            device_id: row.try_get_by_index(13)?,
        }))
    }
}

fn view(row: sync_schedule::Model, device_id: String) -> Schedule {
    Schedule {
        schedule_id: row.id,
        device_id,
        user_id: row.user_id,
        schedule_type: row.schedule_type,
        time_of_day: row.time_of_day,
        day_of_week: row.day_of_week,
        day_of_month: row.day_of_month,
        timezone: row.timezone,
        sync_deletions: row.sync_deletions,
        resolve_conflicts: row.resolve_conflicts,
        debounce_seconds: row.debounce_seconds,
        enabled: row.enabled,
        next_run_at: row.next_run_at,
        last_run_at: row.last_run_at,
    }
}

impl Services {
    /// Create a schedule for a device (admin only).
    pub async fn create_schedule(&self, caller: &Caller, req: NewSchedule) -> Result<Schedule> {
        caller.require_admin()?;
        let _writing = self.schedule_writes();
        let owner = req.user_id.unwrap_or(caller.user_id);
        let device = self.resolve_device(caller, owner, &req.device_id).await?;
        let mut row = validate(&req)?;
        let now = self.clock().now();
        row.id = Set(Uuid::new_v4());
        row.user_id = Set(owner);
        row.device_id = Set(device.id);
        row.enabled = Set(true);
        row.last_run_at = Set(None);
        row.created_at = Set(now);
        row.updated_at = Set(now);
        row.next_run_at = Set(None);
        let mut saved = row.insert(self.db()).await?;
        if let Some(recurrence) = recurrence_of(&saved)? {
            let mut active = saved.into_active_model();
            active.next_run_at = Set(Some(recurrence.next_after(now)));
            saved = active.update(self.db()).await?;
        }
        let schedule = view(saved, device.device_id);
        let entry = AuditEntry {
            action: "schedule.created",
            target_type: "schedule",
            target_id: Some(schedule.schedule_id.to_string()),
            before: None,
            after: Some(serde_json::json!(schedule)),
        };
        self.audit(self.db(), Some(caller), entry).await?;
        Ok(schedule)
    }

    /// Schedules the caller may read: their own devices' (admins: all), optionally of one device.
    /// Served from [`ScheduleCache`](super::schedule_cache) while no schedule changed.
    pub async fn list_schedules(
        &self,
        caller: &Caller,
        device_id: Option<&str>,
    ) -> Result<Vec<Schedule>> {
        let scope = Scope {
            user: (caller.role != Role::Admin).then_some(caller.user_id),
            bound_device: caller.confined_to().map(|(bound, _)| *bound),
            device_id: device_id.map(str::to_owned),
        };
        let cache = &self.inner.schedule_cache;
        if let Some(listed) = cache.get(&scope) {
            return Ok(listed.to_vec());
        }
        let generation = cache.generation();
        let listed = self.read_schedules(&scope).await?;
        cache.put(scope, generation, Arc::from(listed.as_slice()));
        Ok(listed)
    }

    /// One query: the schedules joined to the devices of `scope`, read by
    /// position (see [`Listed`]).
    async fn read_schedules(&self, scope: &Scope) -> Result<Vec<Schedule>> {
        use sync_schedule::Column as S;
        let mut rows = sync_schedule::Entity::find()
            .select_only()
            .columns([
                S::Id,
                S::UserId,
                S::ScheduleType,
                S::TimeOfDay,
                S::DayOfWeek,
                S::DayOfMonth,
                S::Timezone,
                S::SyncDeletions,
                S::ResolveConflicts,
                S::DebounceSeconds,
                S::Enabled,
                S::NextRunAt,
                S::LastRunAt,
            ])
            .column(device::Column::DeviceId)
            .join(JoinType::InnerJoin, sync_schedule::Relation::Device.def());
        if let Some(user) = scope.user {
            rows = rows.filter(device::Column::UserId.eq(user));
        }
        if let Some(bound) = scope.bound_device {
            rows = rows.filter(device::Column::Id.eq(bound));
        }
        if let Some(device_id) = &scope.device_id {
            rows = rows.filter(device::Column::DeviceId.eq(device_id.as_str()));
        }
        let rows = rows
            .order_by_asc(S::CreatedAt)
            .into_model::<Listed>()
            .all(self.db())
            .await?;
        Ok(rows.into_iter().map(|Listed(schedule)| schedule).collect())
    }

    /// A schedule with its device.
    pub(crate) async fn load_schedule(
        &self,
        schedule_id: Uuid,
    ) -> Result<(sync_schedule::Model, device::Model)> {
        let row = sync_schedule::Entity::find_by_id(schedule_id)
            .one(self.db())
            .await?
            .ok_or(Error::not_found("schedule"))?;
        let device = device::Entity::find_by_id(row.device_id)
            .one(self.db())
            .await?
            .ok_or(Error::not_found("device"))?;
        Ok((row, device))
    }

    /// Change some fields of a schedule (admin only); the whole result is
    /// validated again and `next_run_at` recomputed.
    pub async fn update_schedule(
        &self,
        caller: &Caller,
        schedule_id: Uuid,
        patch: SchedulePatch,
    ) -> Result<Schedule> {
        caller.require_admin()?;
        let _writing = self.schedule_writes();
        let (row, device) = self.load_schedule(schedule_id).await?;
        let merged = NewSchedule {
            device_id: device.device_id.clone(),
            user_id: Some(row.user_id),
            schedule_type: patch
                .schedule_type
                .unwrap_or_else(|| row.schedule_type.as_str().to_owned()),
            time_of_day: patch.time_of_day.or_else(|| row.time_of_day.clone()),
            day_of_week: patch.day_of_week.or(row.day_of_week),
            day_of_month: patch.day_of_month.or(row.day_of_month),
            timezone: Some(patch.timezone.unwrap_or_else(|| row.timezone.clone())),
            sync_deletions: patch.sync_deletions.unwrap_or(row.sync_deletions),
            resolve_conflicts: Some(
                patch
                    .resolve_conflicts
                    .unwrap_or_else(|| row.resolve_conflicts.as_str().to_owned()),
            ),
            debounce_seconds: Some(patch.debounce_seconds.unwrap_or(row.debounce_seconds)),
        };
        let mut active = validate(&merged)?;
        let before = view(row.clone(), device.device_id.clone());
        let now = self.clock().now();
        active.id = sea_orm::ActiveValue::Unchanged(row.id);
        active.updated_at = Set(now);
        let mut saved = active.update(self.db()).await?;
        let next = if saved.enabled {
            recurrence_of(&saved)?.map(|r| r.next_after(now))
        } else {
            saved.next_run_at
        };
        if next != saved.next_run_at {
            let mut again = saved.into_active_model();
            again.next_run_at = Set(next);
            saved = again.update(self.db()).await?;
        }
        let schedule = view(saved, device.device_id);
        let entry = AuditEntry {
            action: "schedule.updated",
            target_type: "schedule",
            target_id: Some(schedule_id.to_string()),
            before: Some(serde_json::json!(before)),
            after: Some(serde_json::json!(schedule)),
        };
        self.audit(self.db(), Some(caller), entry).await?;
        Ok(schedule)
    }

    /// Delete a schedule (admin only).
    pub async fn delete_schedule(&self, caller: &Caller, schedule_id: Uuid) -> Result<()> {
        caller.require_admin()?;
        let _writing = self.schedule_writes();
        let (row, device) = self.load_schedule(schedule_id).await?;
        sync_schedule::Entity::delete_by_id(schedule_id)
            .exec(self.db())
            .await?;
        let entry = AuditEntry {
            action: "schedule.deleted",
            target_type: "schedule",
            target_id: Some(schedule_id.to_string()),
            before: Some(serde_json::json!(view(row, device.device_id))),
            after: None,
        };
        self.audit(self.db(), Some(caller), entry).await
    }

    /// Enable or disable a schedule (admin only). Enabling computes the next run from now.
    pub async fn set_schedule_enabled(
        &self,
        caller: &Caller,
        schedule_id: Uuid,
        enabled: bool,
    ) -> Result<Schedule> {
        caller.require_admin()?;
        let _writing = self.schedule_writes();
        let (row, device) = self.load_schedule(schedule_id).await?;
        let was = row.enabled;
        let next = if enabled {
            recurrence_of(&row)?.map(|r| r.next_after(self.clock().now()))
        } else {
            row.next_run_at
        };
        let mut active = row.into_active_model();
        active.enabled = Set(enabled);
        active.next_run_at = Set(next);
        active.updated_at = Set(self.clock().now());
        let schedule = view(active.update(self.db()).await?, device.device_id);
        let entry = AuditEntry {
            action: if enabled {
                "schedule.enabled"
            } else {
                "schedule.disabled"
            },
            target_type: "schedule",
            target_id: Some(schedule_id.to_string()),
            before: Some(serde_json::json!({ "enabled": was })),
            after: Some(serde_json::json!({ "enabled": enabled })),
        };
        self.audit(self.db(), Some(caller), entry).await?;
        Ok(schedule)
    }
}
