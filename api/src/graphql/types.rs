//! GraphQL object types: camelCase views of the service types (never DB rows).
use async_graphql::{Enum, ID, SimpleObject};
use chrono::{DateTime, Utc};

use crate::service::{bandwidth, files, schedules, selective, sync_runs, uploads};

/// A stage of an upload.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum UploadStatus {
    Active,
    Paused,
    Completed,
    Failed,
    Cancelled,
    Expired,
}

impl UploadStatus {
    fn from_public(status: &str) -> Self {
        match status {
            "paused" => Self::Paused,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            "expired" => Self::Expired,
            _ => Self::Active,
        }
    }
}

/// Where a chunked upload stands.
#[derive(SimpleObject, Debug)]
pub struct UploadProgress {
    /// The upload's id (same as `uploadId`).
    pub id: ID,
    pub upload_id: ID,
    pub status: UploadStatus,
    pub file_path: String,
    pub total_size: u64,
    pub uploaded_bytes: u64,
    pub completed_chunks: i32,
    pub total_chunks: i32,
    /// Completed chunks in percent, two decimals.
    pub progress_percent: f64,
    /// Sorted inclusive ranges `[first, last]` of missing chunk numbers.
    pub missing_chunks: Vec<Vec<i32>>,
    pub resume_from_chunk: Option<i32>,
    pub expires_at: DateTime<Utc>,
}

impl From<uploads::UploadProgress> for UploadProgress {
    fn from(p: uploads::UploadProgress) -> Self {
        Self {
            id: ID(p.upload_id.to_string()),
            upload_id: ID(p.upload_id.to_string()),
            status: UploadStatus::from_public(p.status),
            file_path: p.file_path,
            total_size: p.total_size,
            uploaded_bytes: p.uploaded_bytes,
            completed_chunks: p.completed_chunks,
            total_chunks: p.total_chunks,
            progress_percent: p.progress_percent,
            missing_chunks: p.missing_chunks.iter().map(|r| r.to_vec()).collect(),
            resume_from_chunk: p.resume_from_chunk,
            expires_at: p.expires_at,
        }
    }
}

/// A file's current version.
#[derive(SimpleObject, Debug)]
pub struct File {
    /// The file's path (its identity within the caller's tree).
    pub id: ID,
    pub path: String,
    pub size: u64,
    pub sha256: String,
    pub version: i32,
    pub modified_at: DateTime<Utc>,
}

impl From<files::FileInfo> for File {
    fn from(f: files::FileInfo) -> Self {
        Self {
            id: ID(f.path.clone()),
            path: f.path,
            size: f.size,
            sha256: f.sha256,
            version: f.version,
            modified_at: f.modified_at,
        }
    }
}

/// When a schedule runs.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum ScheduleType {
    Daily,
    Weekly,
    Monthly,
    OnChange,
}

impl ScheduleType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
            Self::OnChange => "on_change",
        }
    }

    fn from_str(s: &str) -> Self {
        match s {
            "weekly" => Self::Weekly,
            "monthly" => Self::Monthly,
            "on_change" => Self::OnChange,
            _ => Self::Daily,
        }
    }
}

/// How a conflicting upload is resolved.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[allow(
    clippy::enum_variant_names,
    reason = "the values are the SPEC's keep_newest, keep_local, keep_server"
)]
pub enum ResolveConflicts {
    KeepNewest,
    KeepLocal,
    KeepServer,
}

impl ResolveConflicts {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeepNewest => "keep_newest",
            Self::KeepLocal => "keep_local",
            Self::KeepServer => "keep_server",
        }
    }

    fn from_str(s: &str) -> Self {
        match s {
            "keep_local" => Self::KeepLocal,
            "keep_server" => Self::KeepServer,
            _ => Self::KeepNewest,
        }
    }
}

/// A device's sync schedule.
#[derive(SimpleObject, Debug)]
pub struct Schedule {
    /// The REST `schedule_id`.
    pub id: ID,
    pub device_id: String,
    pub user_id: ID,
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

impl From<schedules::Schedule> for Schedule {
    fn from(s: schedules::Schedule) -> Self {
        Self {
            id: ID(s.schedule_id.to_string()),
            device_id: s.device_id,
            user_id: ID(s.user_id.to_string()),
            schedule_type: ScheduleType::from_str(&s.schedule_type),
            time_of_day: s.time_of_day,
            day_of_week: s.day_of_week,
            day_of_month: s.day_of_month,
            timezone: s.timezone,
            sync_deletions: s.sync_deletions,
            resolve_conflicts: ResolveConflicts::from_str(&s.resolve_conflicts),
            debounce_seconds: s.debounce_seconds,
            enabled: s.enabled,
            next_run_at: s.next_run_at,
            last_run_at: s.last_run_at,
        }
    }
}

/// One selective-sync folder of a device.
#[derive(SimpleObject, Debug)]
pub struct SyncFolder {
    pub path: String,
    pub enabled: bool,
    pub include_subfolders: bool,
}

impl From<selective::Folder> for SyncFolder {
    fn from(f: selective::Folder) -> Self {
        Self {
            path: f.path,
            enabled: f.enabled,
            include_subfolders: f.include_subfolders,
        }
    }
}

/// Whether a path syncs to a device.
#[derive(SimpleObject, Debug)]
pub struct PathDecision {
    pub path: String,
    pub synced: bool,
}

impl From<selective::PathDecision> for PathDecision {
    fn from(d: selective::PathDecision) -> Self {
        Self {
            path: d.path,
            synced: d.synced,
        }
    }
}

/// A user's bandwidth limit.
#[derive(SimpleObject, Debug)]
pub struct BandwidthLimit {
    /// The user's id.
    pub id: ID,
    pub user_id: ID,
    /// Bytes per second; null is unlimited.
    pub upload_speed_limit: Option<i64>,
    /// Bytes per second; null is unlimited.
    pub download_speed_limit: Option<i64>,
    pub throttle_enabled: bool,
    pub throttle_start_hour: Option<i32>,
    pub throttle_end_hour: Option<i32>,
    pub timezone: String,
}

impl From<bandwidth::Limit> for BandwidthLimit {
    fn from(l: bandwidth::Limit) -> Self {
        Self {
            id: ID(l.user_id.to_string()),
            user_id: ID(l.user_id.to_string()),
            upload_speed_limit: l.upload_speed_limit,
            download_speed_limit: l.download_speed_limit,
            throttle_enabled: l.throttle_enabled,
            throttle_start_hour: l.throttle_start_hour,
            throttle_end_hour: l.throttle_end_hour,
            timezone: l.timezone,
        }
    }
}

/// The authenticated user.
#[derive(SimpleObject, Debug)]
pub struct Me {
    pub id: ID,
    pub username: String,
    /// `admin` or `user`.
    pub role: String,
    /// The device a device-bound token acts for.
    pub device_id: Option<String>,
}

/// What `login` answers.
#[derive(SimpleObject, Debug)]
pub struct LoginPayload {
    /// The bearer token (shown once).
    pub token: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub user: Me,
}

/// A user (admin view).
#[derive(SimpleObject, Debug)]
pub struct User {
    pub id: ID,
    pub username: String,
    /// `admin` or `user`.
    pub role: String,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

impl From<crate::service::identity::UserInfo> for User {
    fn from(u: crate::service::identity::UserInfo) -> Self {
        Self {
            id: ID(u.id.to_string()),
            username: u.username,
            role: u.role.as_str().to_owned(),
            disabled: u.disabled,
            created_at: u.created_at,
        }
    }
}

/// A device of a user.
#[derive(SimpleObject, Debug)]
pub struct Device {
    pub id: ID,
    pub user_id: ID,
    /// The client's own identifier, unique per user.
    pub device_id: String,
    pub name: String,
    pub platform: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: Option<DateTime<Utc>>,
}

impl From<crate::service::devices::DeviceInfo> for Device {
    fn from(d: crate::service::devices::DeviceInfo) -> Self {
        Self {
            id: ID(d.id.to_string()),
            user_id: ID(d.user_id.to_string()),
            device_id: d.device_id,
            name: d.name,
            platform: d.platform,
            created_at: d.created_at,
            last_seen_at: d.last_seen_at,
        }
    }
}

/// One recorded change.
#[derive(SimpleObject, Debug)]
pub struct AuditEntry {
    pub id: ID,
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<ID>,
    /// Username of the actor, or `system`.
    pub actor: String,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub before: Option<async_graphql::Json<serde_json::Value>>,
    pub after: Option<async_graphql::Json<serde_json::Value>>,
}

impl From<crate::service::audit::AuditRecord> for AuditEntry {
    fn from(r: crate::service::audit::AuditRecord) -> Self {
        Self {
            id: ID(r.id.to_string()),
            at: r.at,
            actor_user_id: r.actor_user_id.map(|id| ID(id.to_string())),
            actor: r.actor,
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
            before: r.before.map(async_graphql::Json),
            after: r.after.map(async_graphql::Json),
        }
    }
}

/// Where a page ends.
#[derive(SimpleObject, Debug)]
pub struct PageInfo {
    pub has_next_page: bool,
    /// Pass as `after` for the next page.
    pub end_cursor: Option<String>,
}

/// A page of the audit log, newest first.
#[derive(SimpleObject, Debug)]
pub struct AuditLogConnection {
    pub nodes: Vec<AuditEntry>,
    pub page_info: PageInfo,
}

/// An API token (never its secret).
#[derive(SimpleObject, Debug)]
pub struct Token {
    pub id: ID,
    pub user_id: ID,
    pub name: String,
    /// The id of the device it is bound to.
    pub device: Option<ID>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<crate::service::identity::TokenInfo> for Token {
    fn from(t: crate::service::identity::TokenInfo) -> Self {
        Self {
            id: ID(t.id.to_string()),
            user_id: ID(t.user_id.to_string()),
            name: t.name,
            device: t.device.map(|d| ID(d.to_string())),
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// What started a sync run.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum RunTrigger {
    Time,
    Change,
    Manual,
    CatchUp,
}

/// Where a sync run stands.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum RunStatus {
    /// The plan is ready and the device was told.
    Requested,
    /// The device acknowledged it.
    Completed,
    Failed,
}

/// One execution of a schedule; `changes` is the device's sync plan.
#[derive(SimpleObject, Debug)]
#[graphql(complex)]
pub struct SyncRun {
    pub id: ID,
    pub schedule_id: ID,
    pub user_id: ID,
    pub device_id: String,
    pub trigger: RunTrigger,
    pub status: RunStatus,
    /// The slot the run stands for (none for manual runs).
    pub scheduled_for: Option<DateTime<Utc>>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The plan holds server changes after this instant (none: everything)…
    pub changes_since: Option<DateTime<Utc>>,
    /// …up to this one.
    pub changes_until: DateTime<Utc>,
    pub change_count: i32,
    pub deletion_count: i32,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    #[graphql(skip)]
    pub run_id: uuid::Uuid,
}

#[async_graphql::ComplexObject]
impl SyncRun {
    /// The files to fetch and deletions to apply, by path.
    async fn changes(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> async_graphql::Result<Vec<SyncChange>> {
        use crate::graphql::errors::GraphQLResult;
        let (services, caller) = super::context(ctx).gql()?;
        Ok(services
            .sync_run_changes(caller, self.run_id)
            .await
            .gql()?
            .into_iter()
            .map(Into::into)
            .collect())
    }
}

impl From<sync_runs::SyncRun> for SyncRun {
    fn from(r: sync_runs::SyncRun) -> Self {
        Self {
            id: ID(r.run_id.to_string()),
            schedule_id: ID(r.schedule_id.to_string()),
            user_id: ID(r.user_id.to_string()),
            device_id: r.device_id,
            trigger: match r.trigger.as_str() {
                "change" => RunTrigger::Change,
                "manual" => RunTrigger::Manual,
                "catch_up" => RunTrigger::CatchUp,
                _ => RunTrigger::Time,
            },
            status: match r.status.as_str() {
                "completed" => RunStatus::Completed,
                "failed" => RunStatus::Failed,
                _ => RunStatus::Requested,
            },
            scheduled_for: r.scheduled_for,
            started_at: r.started_at,
            finished_at: r.finished_at,
            changes_since: r.changes_since,
            changes_until: r.changes_until,
            change_count: r.change_count,
            deletion_count: r.deletion_count,
            acknowledged_at: r.acknowledged_at,
            error: r.error,
            run_id: r.run_id,
        }
    }
}

/// What a sync plan asks of the device for one path.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum ChangeKind {
    /// Fetch this version.
    Upsert,
    /// Delete the local copy.
    Delete,
}

/// One entry of a sync plan.
#[derive(SimpleObject, Debug)]
pub struct SyncChange {
    pub path: String,
    pub change: ChangeKind,
    pub version: i32,
    pub size: i64,
    pub sha256: String,
    pub modified_at: DateTime<Utc>,
}

impl From<sync_runs::SyncChange> for SyncChange {
    fn from(c: sync_runs::SyncChange) -> Self {
        Self {
            path: c.path,
            change: if c.change == "delete" {
                ChangeKind::Delete
            } else {
                ChangeKind::Upsert
            },
            version: c.version,
            size: c.size,
            sha256: c.sha256,
            modified_at: c.modified_at,
        }
    }
}

/// A page of sync runs, newest first.
#[derive(SimpleObject, Debug)]
pub struct SyncRunConnection {
    pub nodes: Vec<SyncRun>,
    pub page_info: PageInfo,
}

/// Which way bytes flow, seen from the client.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum TransferDirection {
    Upload,
    Download,
}

/// One user's throughput in one direction over the last second.
#[derive(SimpleObject, Debug)]
pub struct BandwidthUsage {
    pub user_id: ID,
    pub direction: TransferDirection,
    pub bytes_per_second: u64,
    pub at: chrono::DateTime<chrono::Utc>,
}

impl From<crate::service::monitor::BandwidthSample> for BandwidthUsage {
    fn from(s: crate::service::monitor::BandwidthSample) -> Self {
        Self {
            user_id: ID(s.user_id.to_string()),
            direction: match s.direction {
                crate::service::throttle::Direction::Upload => TransferDirection::Upload,
                crate::service::throttle::Direction::Download => TransferDirection::Download,
            },
            bytes_per_second: s.bytes_per_second,
            at: s.at,
        }
    }
}
