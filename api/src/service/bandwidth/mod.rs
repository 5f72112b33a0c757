//! Bandwidth limits (SPEC §5): storage, validation, and the one function that
//! says whether a user's limit applies at an instant (the enforcement reads it).
pub mod monitor;
pub mod shares;
pub mod throttle;

use crate::service::Code;
use chrono::{DateTime, Timelike, Utc};
use chrono_tz::Tz;
use entity::sync_bandwidth_limit;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde::Serialize;
use uuid::Uuid;

use crate::service::error::{Error, Result};
use crate::service::{Caller, Services, audit::AuditEntry, sync::recurrence::parse_zone};

/// What a client asks to set.
#[derive(Debug, Default)]
pub struct SetLimit {
    pub user_id: Option<Uuid>,
    pub upload_speed_limit: Option<i64>,
    pub download_speed_limit: Option<i64>,
    pub throttle_enabled: bool,
    pub throttle_start_hour: Option<i32>,
    pub throttle_end_hour: Option<i32>,
    pub timezone: Option<String>,
}

/// A user's limit as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Limit {
    pub user_id: Uuid,
    /// Bytes per second; `None` is unlimited.
    pub upload_speed_limit: Option<i64>,
    /// Bytes per second; `None` is unlimited.
    pub download_speed_limit: Option<i64>,
    pub throttle_enabled: bool,
    pub throttle_start_hour: Option<i32>,
    pub throttle_end_hour: Option<i32>,
    pub timezone: String,
}

impl Limit {
    /// No limit at all.
    fn unlimited(user_id: Uuid) -> Self {
        Self {
            user_id,
            upload_speed_limit: None,
            download_speed_limit: None,
            throttle_enabled: false,
            throttle_start_hour: None,
            throttle_end_hour: None,
            timezone: "UTC".into(),
        }
    }

    /// Whether the limits apply at `at`: throttling on, and the hour (in the
    /// limit's zone) inside `[start, end)`, which may wrap midnight; no hours: all day.
    pub fn applies_at(&self, at: DateTime<Utc>) -> bool {
        if !self.throttle_enabled {
            return false;
        }
        let (Some(start), Some(end)) = (self.throttle_start_hour, self.throttle_end_hour) else {
            return true;
        };
        let zone: Tz = self.timezone.parse().unwrap_or(Tz::UTC);
        let hour = at.with_timezone(&zone).hour() as i32;
        if start < end {
            (start..end).contains(&hour)
        } else {
            hour >= start || hour < end
        }
    }
}

impl From<sync_bandwidth_limit::Model> for Limit {
    fn from(m: sync_bandwidth_limit::Model) -> Self {
        Self {
            user_id: m.user_id,
            upload_speed_limit: m.upload_speed_limit,
            download_speed_limit: m.download_speed_limit,
            throttle_enabled: m.throttle_enabled,
            throttle_start_hour: m.throttle_start_hour,
            throttle_end_hour: m.throttle_end_hour,
            timezone: m.timezone,
        }
    }
}

fn validate(req: &SetLimit) -> Result<String> {
    for (name, value) in [
        ("upload_speed_limit", req.upload_speed_limit),
        ("download_speed_limit", req.download_speed_limit),
    ] {
        if value.is_some_and(|v| v <= 0) {
            return Err(Error::new(
                Code::InvalidSpeedLimit,
                format!("{name} must be a positive number of bytes per second, or null"),
            )
            .on_field(name));
        }
    }
    for (name, value) in [
        ("throttle_start_hour", req.throttle_start_hour),
        ("throttle_end_hour", req.throttle_end_hour),
    ] {
        if value.is_some_and(|h| !(0..=23).contains(&h)) {
            return Err(
                Error::new(Code::InvalidThrottleHour, format!("{name} must be 0–23"))
                    .on_field(name),
            );
        }
    }
    match (req.throttle_start_hour, req.throttle_end_hour) {
        (Some(start), Some(end)) if start == end => {
            return Err(Error::new(
                Code::InvalidThrottleHour,
                "the throttle window must not be empty (start = end)",
            )
            .on_field("throttle_end_hour"));
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(Error::new(
                Code::InvalidThrottleHour,
                "give both throttle_start_hour and throttle_end_hour, or neither",
            )
            .on_field("throttle_start_hour"));
        }
        _ => {}
    }
    let zone = parse_zone(req.timezone.as_deref())?;
    Ok(zone.name().to_owned())
}

impl Services {
    /// Set a user's limit: one's own, or anyone's for an admin (403 otherwise).
    pub async fn set_bandwidth_limit(&self, caller: &Caller, req: SetLimit) -> Result<Limit> {
        let user_id = req.user_id.unwrap_or(caller.user_id);
        if user_id != caller.user_id {
            caller.require_admin()?;
            self.user_exists(user_id).await?;
        }
        let timezone = validate(&req)?;
        let now = self.clock().now();
        let txn = self.begin_write().await?;
        let existing = sync_bandwidth_limit::Entity::find()
            .filter(sync_bandwidth_limit::Column::UserId.eq(user_id))
            .one(&txn)
            .await?;
        let before = existing.clone().map(Limit::from);
        let is_new = existing.is_none();
        let mut row = match existing {
            Some(row) => row.into_active_model(),
            None => sync_bandwidth_limit::ActiveModel {
                id: Set(Uuid::new_v4()),
                user_id: Set(user_id),
                created_at: Set(now),
                ..Default::default()
            },
        };
        row.upload_speed_limit = Set(req.upload_speed_limit);
        row.download_speed_limit = Set(req.download_speed_limit);
        row.throttle_enabled = Set(req.throttle_enabled);
        row.throttle_start_hour = Set(req.throttle_start_hour);
        row.throttle_end_hour = Set(req.throttle_end_hour);
        row.timezone = Set(timezone);
        row.updated_at = Set(now);
        let saved = Limit::from(if is_new {
            row.insert(&txn).await?
        } else {
            row.update(&txn).await?
        });
        let entry = AuditEntry {
            action: "bandwidth_limit.set",
            target_type: "user",
            target_id: Some(user_id.to_string()),
            before: before.map(|b| serde_json::json!(b)),
            after: Some(serde_json::json!(saved)),
        };
        self.audit(&txn, Some(caller), entry).await?;
        txn.commit().await?;
        Ok(saved)
    }

    /// A user's limit (unlimited when none is set); another user's needs admin (404 otherwise).
    pub async fn bandwidth_limit(&self, caller: &Caller, user_id: Option<Uuid>) -> Result<Limit> {
        let user_id = user_id.unwrap_or(caller.user_id);
        if !caller.can_access(user_id) {
            return Err(Error::not_found("user"));
        }
        self.user_exists(user_id).await?;
        let row = sync_bandwidth_limit::Entity::find()
            .filter(sync_bandwidth_limit::Column::UserId.eq(user_id))
            .one(self.db())
            .await?;
        Ok(row.map_or_else(|| Limit::unlimited(user_id), Limit::from))
    }

    /// Bytes per second `user_id` may move in `direction` right now (`None`:
    /// unlimited): their limit, when throttling applies at the clock's now.
    pub(crate) async fn effective_rate(
        &self,
        user_id: Uuid,
        direction: crate::service::bandwidth::throttle::Direction,
    ) -> Result<Option<u64>> {
        let row = sync_bandwidth_limit::Entity::find()
            .filter(sync_bandwidth_limit::Column::UserId.eq(user_id))
            .one(self.db())
            .await?;
        let Some(limit) = row.map(Limit::from) else {
            return Ok(None);
        };
        if !limit.applies_at(self.clock().now()) {
            return Ok(None);
        }
        let rate = match direction {
            crate::service::bandwidth::throttle::Direction::Upload => limit.upload_speed_limit,
            crate::service::bandwidth::throttle::Direction::Download => limit.download_speed_limit,
        };
        Ok(rate.and_then(|r| u64::try_from(r).ok()).filter(|r| *r > 0))
    }

    async fn user_exists(&self, user_id: Uuid) -> Result<()> {
        entity::user::Entity::find_by_id(user_id)
            .one(self.db())
            .await?
            .map(|_| ())
            .ok_or(Error::not_found("user"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(enabled: bool, hours: Option<(i32, i32)>, zone: &str) -> Limit {
        Limit {
            throttle_enabled: enabled,
            throttle_start_hour: hours.map(|h| h.0),
            throttle_end_hour: hours.map(|h| h.1),
            timezone: zone.into(),
            upload_speed_limit: Some(1 << 20),
            ..Limit::unlimited(Uuid::nil())
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("instant")
    }

    #[test]
    fn windows_wrap_midnight_in_their_zone() {
        let night = limit(true, Some((22, 6)), "UTC");
        assert!(night.applies_at(at("2025-01-01T23:00:00Z")));
        assert!(night.applies_at(at("2025-01-01T05:59:00Z")));
        assert!(!night.applies_at(at("2025-01-01T06:00:00Z")));
        assert!(night.applies_at(at("2025-01-01T22:00:00Z")));
        let office = limit(true, Some((9, 17)), "America/New_York");
        assert!(
            office.applies_at(at("2025-01-06T14:00:00Z")),
            "09:00 in New York"
        );
        assert!(!office.applies_at(at("2025-01-06T13:59:00Z")));
        assert!(
            limit(true, None, "UTC").applies_at(at("2025-01-01T12:00:00Z")),
            "no hours: all day"
        );
        assert!(
            !limit(false, None, "UTC").applies_at(at("2025-01-01T12:00:00Z")),
            "throttling off"
        );
    }

    #[test]
    fn validation_names_the_field() {
        let bad = |req: SetLimit| validate(&req).expect_err("invalid").code().as_str();
        assert_eq!(
            bad(SetLimit {
                upload_speed_limit: Some(0),
                ..Default::default()
            }),
            "invalid_speed_limit"
        );
        assert_eq!(
            bad(SetLimit {
                throttle_start_hour: Some(24),
                throttle_end_hour: Some(1),
                ..Default::default()
            }),
            "invalid_throttle_hour"
        );
        assert_eq!(
            bad(SetLimit {
                throttle_start_hour: Some(3),
                ..Default::default()
            }),
            "invalid_throttle_hour"
        );
        assert_eq!(
            bad(SetLimit {
                throttle_start_hour: Some(3),
                throttle_end_hour: Some(3),
                ..Default::default()
            }),
            "invalid_throttle_hour"
        );
        assert_eq!(
            bad(SetLimit {
                timezone: Some("Nowhere/Land".into()),
                ..Default::default()
            }),
            "invalid_timezone"
        );
        assert_eq!(
            validate(&SetLimit {
                timezone: Some("Europe/Paris".into()),
                ..Default::default()
            })
            .expect("ok"),
            "Europe/Paris"
        );
    }
}
