//! GraphQL object types: camelCase views of the service types (never DB rows).
use async_graphql::{Enum, ID, SimpleObject};
use chrono::{DateTime, Utc};

use entity::enums;

use crate::service::{bandwidth, files, sync::runs, sync::schedules, sync::selective, uploads};

/// What a user may do.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "enums::Role")]
pub enum Role {
    /// Sees and changes everything.
    Admin,
    /// Sees and changes their own things.
    User,
}

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

impl From<enums::UploadStatus> for UploadStatus {
    /// An upload being assembled is still `ACTIVE` to clients (SPEC §4).
    fn from(status: enums::UploadStatus) -> Self {
        match status {
            enums::UploadStatus::Active | enums::UploadStatus::Assembling => Self::Active,
            enums::UploadStatus::Paused => Self::Paused,
            enums::UploadStatus::Completed => Self::Completed,
            enums::UploadStatus::Failed => Self::Failed,
            enums::UploadStatus::Cancelled => Self::Cancelled,
            enums::UploadStatus::Expired => Self::Expired,
        }
    }
}

/// A count of bytes, or of bytes per second: a JSON number from −2⁶³ to 2⁶³ − 1
/// (GraphQL's `Int` is 32-bit; multi-gigabyte sizes are not). Sizes are never
/// negative; a negative limit is refused by the rule that reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteCount(pub i64);

/// A count of bytes, or of bytes per second: a JSON number from −2⁶³ to 2⁶³ − 1
/// (GraphQL's `Int` is 32-bit; multi-gigabyte sizes are not). Sizes are never negative.
#[async_graphql::Scalar(name = "ByteCount")]
impl async_graphql::ScalarType for ByteCount {
    fn parse(value: async_graphql::Value) -> async_graphql::InputValueResult<Self> {
        match &value {
            async_graphql::Value::Number(n) => n.as_i64().map(ByteCount).ok_or_else(|| {
                async_graphql::InputValueError::custom(
                    "expected a whole number of bytes within 64 bits",
                )
            }),
            _ => Err(async_graphql::InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> async_graphql::Value {
        async_graphql::Value::Number(self.0.into())
    }
}

impl From<u64> for ByteCount {
    fn from(n: u64) -> Self {
        Self(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl From<i64> for ByteCount {
    fn from(n: i64) -> Self {
        Self(n)
    }
}

/// Where a chunked upload stands.
#[derive(SimpleObject, Debug)]
pub struct UploadProgress {
    /// The upload's id (same as `uploadId`).
    pub id: ID,
    pub upload_id: ID,
    /// The owner's id.
    pub user_id: ID,
    /// The `id` of the `Device` that started it (see `allDevices`, `myDevices`).
    pub device_node_id: ID,
    pub status: UploadStatus,
    pub file_path: String,
    pub total_size: ByteCount,
    pub uploaded_bytes: ByteCount,
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
            user_id: ID(p.user_id.to_string()),
            device_node_id: ID(p.device.to_string()),
            status: p.status.into(),
            file_path: p.file_path,
            total_size: p.total_size.into(),
            uploaded_bytes: p.uploaded_bytes.into(),
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
    pub size: ByteCount,
    pub sha256: String,
    pub version: i32,
    pub modified_at: DateTime<Utc>,
}

impl From<files::FileInfo> for File {
    fn from(f: files::FileInfo) -> Self {
        Self {
            id: ID(f.path.clone()),
            path: f.path,
            size: f.size.into(),
            sha256: f.sha256,
            version: f.version,
            modified_at: f.modified_at,
        }
    }
}

/// One folder of the caller's tree: what is directly inside it.
#[derive(SimpleObject, Debug)]
pub struct Folder {
    pub path: String,
    /// The folders directly inside, by path.
    pub folders: Vec<String>,
    /// The live files directly inside, by path.
    pub files: Vec<File>,
    /// Files deleted here whose history can still be restored (at most 1,000).
    pub deleted_files: Vec<File>,
}

/// One committed version of a file (its history, newest first).
#[derive(SimpleObject, Clone, Debug)]
pub struct FileVersion {
    pub version: i32,
    pub size: ByteCount,
    pub sha256: String,
    pub modified_at: DateTime<Utc>,
    /// When the server committed it.
    pub committed_at: DateTime<Utc>,
    /// Whether it is the file's live content (never, for a deleted file).
    pub current: bool,
}

impl From<files::versions::VersionInfo> for FileVersion {
    fn from(v: files::versions::VersionInfo) -> Self {
        Self {
            version: v.version,
            size: v.size.into(),
            sha256: v.sha256,
            modified_at: v.modified_at,
            committed_at: v.committed_at,
            current: v.current,
        }
    }
}

/// When a schedule runs.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "enums::ScheduleType")]
pub enum ScheduleType {
    Daily,
    Weekly,
    Monthly,
    OnChange,
}

/// How a conflicting upload is resolved.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[allow(
    clippy::enum_variant_names,
    reason = "the values are the SPEC's keep_newest, keep_local, keep_server"
)]
#[graphql(remote = "enums::ResolveConflicts")]
pub enum ResolveConflicts {
    KeepNewest,
    KeepLocal,
    KeepServer,
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
            schedule_type: s.schedule_type.into(),
            time_of_day: s.time_of_day,
            day_of_week: s.day_of_week,
            day_of_month: s.day_of_month,
            timezone: s.timezone,
            sync_deletions: s.sync_deletions,
            resolve_conflicts: s.resolve_conflicts.into(),
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
    pub upload_speed_limit: Option<ByteCount>,
    /// Bytes per second; null is unlimited.
    pub download_speed_limit: Option<ByteCount>,
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
            upload_speed_limit: l.upload_speed_limit.map(ByteCount),
            download_speed_limit: l.download_speed_limit.map(ByteCount),
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
    pub role: Role,
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
    pub role: Role,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

impl From<crate::service::identity::UserInfo> for User {
    fn from(u: crate::service::identity::UserInfo) -> Self {
        Self {
            id: ID(u.id.to_string()),
            username: u.username,
            role: u.role.into(),
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
    /// The last sign-in or request with one of its tokens (kept to the minute).
    pub last_seen_at: Option<DateTime<Utc>>,
}

impl From<crate::service::identity::devices::DeviceInfo> for Device {
    fn from(d: crate::service::identity::devices::DeviceInfo) -> Self {
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
    /// The target for people (a username, `Laptop (alice)`, a path), as it is now or
    /// as the entry recorded it once it is gone; null when unknown.
    pub target_name: Option<String>,
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
            target_name: r.target_name,
            before: r.before.map(async_graphql::Json),
            after: r.after.map(async_graphql::Json),
        }
    }
}

/// Where a page ends, and begins.
#[derive(SimpleObject, Debug)]
pub struct PageInfo {
    pub has_next_page: bool,
    /// Pass as `after` for the next page.
    pub end_cursor: Option<String>,
    /// Entries lie before this page (where a connection can tell: the audit log;
    /// elsewhere true whenever `after` was given).
    pub has_previous_page: bool,
    /// Pass as `before` for the previous page (the audit log).
    pub start_cursor: Option<String>,
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
#[graphql(remote = "enums::RunTrigger")]
pub enum RunTrigger {
    Time,
    Change,
    Manual,
    CatchUp,
}

/// Where a sync run stands.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "enums::RunStatus")]
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

impl From<runs::SyncRun> for SyncRun {
    fn from(r: runs::SyncRun) -> Self {
        Self {
            id: ID(r.run_id.to_string()),
            schedule_id: ID(r.schedule_id.to_string()),
            user_id: ID(r.user_id.to_string()),
            device_id: r.device_id,
            trigger: r.trigger.into(),
            status: r.status.into(),
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
    pub size: ByteCount,
    pub sha256: String,
    pub modified_at: DateTime<Utc>,
}

impl From<runs::SyncChange> for SyncChange {
    fn from(c: runs::SyncChange) -> Self {
        Self {
            path: c.path,
            change: if c.change == "delete" {
                ChangeKind::Delete
            } else {
                ChangeKind::Upsert
            },
            version: c.version,
            size: c.size.into(),
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
    pub bytes_per_second: ByteCount,
    pub at: chrono::DateTime<chrono::Utc>,
}

impl From<crate::service::bandwidth::monitor::BandwidthSample> for BandwidthUsage {
    fn from(s: crate::service::bandwidth::monitor::BandwidthSample) -> Self {
        Self {
            user_id: ID(s.user_id.to_string()),
            direction: match s.direction {
                crate::service::bandwidth::throttle::Direction::Upload => TransferDirection::Upload,
                crate::service::bandwidth::throttle::Direction::Download => {
                    TransferDirection::Download
                }
            },
            bytes_per_second: s.bytes_per_second.into(),
            at: s.at,
        }
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{ScalarType, Value};

    use super::ByteCount;

    #[test]
    fn byte_counts_take_64_bit_whole_numbers_only() {
        let three_gib = Value::Number(3_221_225_472u64.into());
        assert_eq!(
            ByteCount::parse(three_gib.clone()).ok(),
            Some(ByteCount(3_221_225_472))
        );
        assert_eq!(ByteCount(3_221_225_472).to_value(), three_gib);
        assert!(ByteCount::parse(Value::Number(u64::MAX.into())).is_err());
        assert!(ByteCount::parse(Value::String("12".into())).is_err());
        let fraction = serde_json::Number::from_f64(1.5).expect("number");
        assert!(ByteCount::parse(Value::Number(fraction)).is_err());
    }
}

/// One run of the block collector (`collectGarbage`, or the server's job):
/// version retention applied, unreferenced blocks deleted, what is left.
#[derive(SimpleObject, Debug)]
pub struct StorageReport {
    pub id: ID,
    pub started_at: DateTime<Utc>,
    /// Null while it runs, or when it was cut short (the next run goes on).
    pub finished_at: Option<DateTime<Utc>>,
    /// Old versions the retention setting removed.
    pub versions_pruned: ByteCount,
    pub blocks_deleted: ByteCount,
    pub bytes_reclaimed: ByteCount,
    /// Blocks in the store after the run, and their bytes.
    pub blocks_kept: ByteCount,
    pub bytes_used: ByteCount,
}

impl From<crate::service::files::collector::StorageReport> for StorageReport {
    fn from(r: crate::service::files::collector::StorageReport) -> Self {
        Self {
            id: ID(r.id.to_string()),
            started_at: r.started_at,
            finished_at: r.finished_at,
            versions_pruned: r.versions_pruned.into(),
            blocks_deleted: r.blocks_deleted.into(),
            bytes_reclaimed: r.bytes_reclaimed.into(),
            blocks_kept: r.blocks_kept.into(),
            bytes_used: r.bytes_used.into(),
        }
    }
}
