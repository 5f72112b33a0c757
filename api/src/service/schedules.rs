//! Sync schedules (SPEC §6): validation, storage and `next_run_at` from the one
//! next-run function. Management is admin-only; users read their own devices'.
use crate::service::Code;
use chrono::{DateTime, Utc};
use entity::enums::{ResolveConflicts, ScheduleType};
use entity::{device, sync_schedule};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;
use uuid::Uuid;

use super::{
    Caller, Services,
    audit::AuditEntry,
    recurrence::{Days, Recurrence, parse_time_of_day, parse_zone},
};
use crate::service::error::{Error, Result};

/// Debounce of `on_change` schedules when none is given.
const DEFAULT_DEBOUNCE_SECONDS: i32 = 30;

/// What an admin asks for when creating a schedule.
#[derive(Debug, Default)]
pub struct NewSchedule {
    pub device_id: String,
    pub user_id: Option<Uuid>,
    pub schedule_type: String,
    pub time_of_day: Option<String>,
    pub day_of_week: Option<i32>,
    pub day_of_month: Option<i32>,
    pub timezone: Option<String>,
    pub sync_deletions: bool,
    pub resolve_conflicts: Option<String>,
    pub debounce_seconds: Option<i32>,
}

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

/// The calendar recurrence of a schedule row; `None` for `on_change`.
pub fn recurrence_of(row: &sync_schedule::Model) -> Result<Option<Recurrence>> {
    build_recurrence(
        row.schedule_type,
        row.time_of_day.as_deref(),
        row.day_of_week,
        row.day_of_month,
        Some(&row.timezone),
    )
}

fn build_recurrence(
    schedule_type: ScheduleType,
    time_of_day: Option<&str>,
    day_of_week: Option<i32>,
    day_of_month: Option<i32>,
    timezone: Option<&str>,
) -> Result<Option<Recurrence>> {
    let days = match schedule_type {
        ScheduleType::OnChange => return Ok(None),
        ScheduleType::Daily => Days::Daily,
        ScheduleType::Weekly => {
            Days::Weekly(u32::try_from(day_of_week.unwrap_or(-1)).unwrap_or(u32::MAX))
        }
        ScheduleType::Monthly => {
            Days::Monthly(u32::try_from(day_of_month.unwrap_or(0)).unwrap_or(0))
        }
    };
    let time = parse_time_of_day(time_of_day.unwrap_or(""))?;
    Ok(Some(Recurrence {
        days,
        time,
        zone: parse_zone(timezone)?,
    }))
}

/// Most runs one preview may ask for.
const MAX_PREVIEW: usize = 1_000;

/// The next `count` runs strictly after `after` of a calendar schedule as it
/// would be created: the same validation and the same next-run function.
pub fn preview(
    req: &NewSchedule,
    after: DateTime<Utc>,
    count: usize,
) -> Result<Vec<DateTime<Utc>>> {
    if count > MAX_PREVIEW {
        return Err(Error::new(
            Code::InvalidCount,
            format!("count must be at most {MAX_PREVIEW}"),
        ));
    }
    let years = chrono::Datelike::year(&after);
    if !(1970..=9999).contains(&years) {
        return Err(Error::new(
            Code::InvalidDate,
            "after must lie between the years 1970 and 9999",
        ));
    }
    validate(req)?;
    let recurrence = build_recurrence(
        parse_schedule_type(&req.schedule_type)?,
        req.time_of_day.as_deref(),
        req.day_of_week,
        req.day_of_month,
        req.timezone.as_deref(),
    )?;
    match recurrence {
        Some(recurrence) => Ok(recurrence.upcoming(after, count)),
        None => Err(Error::new(
            Code::InvalidScheduleType,
            "on_change schedules have no calendar runs to preview",
        )),
    }
}

/// A day field that the schedule type needs (`applies`): present and within
/// `range`, or 422 `code`; ignored (`None`) for other types.
fn day_field(
    applies: bool,
    value: Option<i32>,
    range: std::ops::RangeInclusive<i32>,
    code: Code,
    message: &'static str,
) -> Result<Option<i32>> {
    match value {
        _ if !applies => Ok(None),
        Some(day) if range.contains(&day) => Ok(Some(day)),
        _ => Err(Error::new(code, message)),
    }
}

/// The schedule type named `raw`, or 422 `invalid_schedule_type`.
fn parse_schedule_type(raw: &str) -> Result<ScheduleType> {
    ScheduleType::parse(raw).ok_or_else(|| {
        Error::new(
            Code::InvalidScheduleType,
            "schedule_type must be daily, weekly, monthly or on_change",
        )
    })
}

/// Check a request field by field (422 with a precise code) and build the row's settings.
fn validate(req: &NewSchedule) -> Result<sync_schedule::ActiveModel> {
    let schedule_type = parse_schedule_type(&req.schedule_type)?;
    let calendar = schedule_type != ScheduleType::OnChange;
    let time_of_day = if calendar {
        let raw = req.time_of_day.as_deref().ok_or_else(|| {
            Error::new(
                Code::InvalidTimeOfDay,
                "time_of_day (\"HH:MM\") is required",
            )
        })?;
        Some(parse_time_of_day(raw)?.format("%H:%M").to_string())
    } else {
        None
    };
    let day_of_week = day_field(
        schedule_type == ScheduleType::Weekly,
        req.day_of_week,
        0..=6,
        Code::InvalidDayOfWeek,
        "day_of_week must be 0 (Monday) to 6 (Sunday)",
    )?;
    let day_of_month = day_field(
        schedule_type == ScheduleType::Monthly,
        req.day_of_month,
        1..=31,
        Code::InvalidDayOfMonth,
        "day_of_month must be 1 to 31",
    )?;
    let zone = parse_zone(req.timezone.as_deref())?;
    let resolve_conflicts = match req.resolve_conflicts.as_deref() {
        None => ResolveConflicts::KeepNewest,
        Some(raw) => ResolveConflicts::parse(raw).ok_or_else(|| {
            Error::new(
                Code::InvalidResolveConflicts,
                "resolve_conflicts must be keep_newest, keep_local or keep_server",
            )
        })?,
    };
    let debounce_seconds = req.debounce_seconds.unwrap_or(DEFAULT_DEBOUNCE_SECONDS);
    if !(0..=86_400).contains(&debounce_seconds) {
        return Err(Error::new(
            Code::InvalidDebounceSeconds,
            "debounce_seconds must be 0 to 86400",
        ));
    }
    Ok(sync_schedule::ActiveModel {
        schedule_type: Set(schedule_type),
        time_of_day: Set(time_of_day),
        day_of_week: Set(day_of_week),
        day_of_month: Set(day_of_month),
        timezone: Set(zone.name().to_owned()),
        sync_deletions: Set(req.sync_deletions),
        resolve_conflicts: Set(resolve_conflicts),
        debounce_seconds: Set(debounce_seconds),
        ..Default::default()
    })
}

impl Services {
    /// Create a schedule for a device (admin only).
    pub async fn create_schedule(&self, caller: &Caller, req: NewSchedule) -> Result<Schedule> {
        caller.require_admin()?;
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
    pub async fn list_schedules(
        &self,
        caller: &Caller,
        device_id: Option<&str>,
    ) -> Result<Vec<Schedule>> {
        // One query: the schedules joined to the devices the caller may see.
        let mut rows = sync_schedule::Entity::find().find_also_related(device::Entity);
        if caller.role != super::Role::Admin {
            rows = rows.filter(device::Column::UserId.eq(caller.user_id));
        }
        if let Some((bound, _)) = caller.confined_to() {
            rows = rows.filter(device::Column::Id.eq(*bound));
        }
        if let Some(device_id) = device_id {
            rows = rows.filter(device::Column::DeviceId.eq(device_id));
        }
        let rows = rows
            .order_by_asc(sync_schedule::Column::CreatedAt)
            .all(self.db())
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(row, device)| device.map(|d| view(row, d.device_id)))
            .collect())
    }

    /// A schedule with its device.
    async fn load_schedule(
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
        let row = sync_schedule::Entity::find_by_id(schedule_id)
            .one(self.db())
            .await?
            .ok_or(Error::not_found("schedule"))?;
        sync_schedule::Entity::delete_by_id(schedule_id)
            .exec(self.db())
            .await?;
        let entry = AuditEntry {
            action: "schedule.deleted",
            target_type: "schedule",
            target_id: Some(schedule_id.to_string()),
            before: Some(
                serde_json::json!({ "schedule_type": row.schedule_type, "device": row.device_id }),
            ),
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
