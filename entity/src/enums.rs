//! The closed sets of values some columns hold. Each is stored as its snake_case
//! string (the SPEC's wire form), and a row holding any other string fails to load
//! with an error instead of turning into a default.
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// What a user may do.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees and changes everything.
    #[sea_orm(string_value = "admin")]
    Admin,
    /// Sees and changes their own things.
    #[sea_orm(string_value = "user")]
    User,
}

impl Role {
    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::User => "user",
        }
    }
}

/// Where a chunked upload stands.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum UploadStatus {
    /// Accepting chunks.
    #[sea_orm(string_value = "active")]
    Active,
    /// Paused by the client; chunks are refused until it resumes.
    #[sea_orm(string_value = "paused")]
    Paused,
    /// Every chunk is stored; the file is being put together.
    #[sea_orm(string_value = "assembling")]
    Assembling,
    /// The file is committed.
    #[sea_orm(string_value = "completed")]
    Completed,
    /// Assembly failed (a hash mismatch, say); nothing was committed.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Cancelled by the client.
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
    /// Idle past the cleanup age.
    #[sea_orm(string_value = "expired")]
    Expired,
}

impl UploadStatus {
    /// States that still hold staged data and count against the per-user limit.
    pub const UNFINISHED: [UploadStatus; 3] = [Self::Active, Self::Paused, Self::Assembling];

    /// The stored and REST form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Assembling => "assembling",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
        }
    }
}

/// When a schedule runs.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum ScheduleType {
    /// Every day at `time_of_day`.
    #[sea_orm(string_value = "daily")]
    Daily,
    /// On `day_of_week` at `time_of_day`.
    #[sea_orm(string_value = "weekly")]
    Weekly,
    /// On `day_of_month` (or the month's last day) at `time_of_day`.
    #[sea_orm(string_value = "monthly")]
    Monthly,
    /// When a file under the device's selected folders changes (debounced).
    #[sea_orm(string_value = "on_change")]
    OnChange,
}

impl ScheduleType {
    /// The stored and REST form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
            Self::OnChange => "on_change",
        }
    }

    /// The type named `s` (its REST form), if any.
    pub fn parse(s: &str) -> Option<Self> {
        <Self as sea_orm::Iterable>::iter().find(|t| t.as_str() == s)
    }
}

/// Which side wins when a file changed on both.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum ResolveConflicts {
    /// The later modification wins; the other is kept as a conflict copy.
    #[sea_orm(string_value = "keep_newest")]
    KeepNewest,
    /// The device's copy wins.
    #[sea_orm(string_value = "keep_local")]
    KeepLocal,
    /// The server's copy wins.
    #[sea_orm(string_value = "keep_server")]
    KeepServer,
}

impl ResolveConflicts {
    /// The stored and REST form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeepNewest => "keep_newest",
            Self::KeepLocal => "keep_local",
            Self::KeepServer => "keep_server",
        }
    }

    /// The strategy named `s` (its REST form), if any.
    pub fn parse(s: &str) -> Option<Self> {
        <Self as sea_orm::Iterable>::iter().find(|t| t.as_str() == s)
    }
}

/// What started a run.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum RunTrigger {
    /// Its calendar slot came.
    #[sea_orm(string_value = "time")]
    Time,
    /// A file under the device's selected folders changed.
    #[sea_orm(string_value = "change")]
    Change,
    /// An admin asked for it.
    #[sea_orm(string_value = "manual")]
    Manual,
    /// Its slot passed while the server was down; one run stands for all missed slots.
    #[sea_orm(string_value = "catch_up")]
    CatchUp,
}

impl RunTrigger {
    /// The stored and REST form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Time => "time",
            Self::Change => "change",
            Self::Manual => "manual",
            Self::CatchUp => "catch_up",
        }
    }
}

/// Where a run stands.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// The plan is ready and the device was told.
    #[sea_orm(string_value = "requested")]
    Requested,
    /// The device acknowledged the run.
    #[sea_orm(string_value = "completed")]
    Completed,
    /// The run could not be carried out (see `error`).
    #[sea_orm(string_value = "failed")]
    Failed,
}

impl RunStatus {
    /// The stored and REST form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }
}
