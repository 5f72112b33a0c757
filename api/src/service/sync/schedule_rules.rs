//! What makes a schedule valid, and its calendar: field-by-field validation with
//! precise codes, the recurrence of a row, and the preview of upcoming runs.
use crate::service::Code;
use chrono::{DateTime, Utc};
use entity::enums::{ResolveConflicts, ScheduleType};
use entity::sync_schedule;
use sea_orm::Set;
use uuid::Uuid;

use crate::service::error::{Error, Result};
use crate::service::sync::recurrence::{Days, Recurrence, parse_time_of_day, parse_zone};

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
pub(super) fn validate(req: &NewSchedule) -> Result<sync_schedule::ActiveModel> {
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
