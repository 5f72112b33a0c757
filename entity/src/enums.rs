//! The closed sets of values some columns hold. Each is stored as its snake_case
//! string (the SPEC's wire form), and a row holding any other string fails to load
//! with an error instead of turning into a default.
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// `as_str` (the stored and REST form, as in each `string_value`) and `parse` (its
/// inverse) for each enum below.
macro_rules! wire_names {
    ($($ty:ident { $($variant:ident = $name:literal),+ })+) => {$(
        impl $ty {
            /// The stored and REST form.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)+
                }
            }

            /// The value whose REST form is `s`, if any.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($name => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }
    )+};
}

wire_names! {
    Role { Admin = "admin", User = "user" }
    UploadStatus {
        Active = "active", Paused = "paused", Assembling = "assembling",
        Completed = "completed", Failed = "failed", Cancelled = "cancelled", Expired = "expired"
    }
    ScheduleType { Daily = "daily", Weekly = "weekly", Monthly = "monthly", OnChange = "on_change" }
    ResolveConflicts { KeepNewest = "keep_newest", KeepLocal = "keep_local", KeepServer = "keep_server" }
    RunTrigger { Time = "time", Change = "change", Manual = "manual", CatchUp = "catch_up" }
    RunStatus { Requested = "requested", Completed = "completed", Failed = "failed" }
    ChangeKind { File = "file", Folder = "folder", Delete = "delete" }
}

/// What a change did to its path (the changes feed).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A file now holds this version.
    #[sea_orm(string_value = "file")]
    File,
    /// A folder now exists.
    #[sea_orm(string_value = "folder")]
    Folder,
    /// Whatever was at the path is gone.
    #[sea_orm(string_value = "delete")]
    Delete,
}

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

#[cfg(test)]
mod tests {
    use sea_orm::{ActiveEnum, Iterable};

    use super::*;

    fn agree<E: ActiveEnum<Value = String> + Iterable + Copy>(as_str: fn(E) -> &'static str) {
        for value in E::iter() {
            assert_eq!(value.to_value(), as_str(value));
        }
    }

    #[test]
    fn wire_names_are_the_stored_strings() {
        agree(Role::as_str);
        agree(UploadStatus::as_str);
        agree(ScheduleType::as_str);
        agree(ResolveConflicts::as_str);
        agree(RunTrigger::as_str);
        agree(RunStatus::as_str);
        assert_eq!(
            ScheduleType::parse("on_change"),
            Some(ScheduleType::OnChange)
        );
        assert_eq!(ScheduleType::parse("hourly"), None);
    }
}
