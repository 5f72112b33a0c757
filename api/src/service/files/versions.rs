//! A file's history: every committed version, and restoring one (as Dropbox or
//! Nextcloud do, a restore is a new version with the old bytes; nothing is
//! rewritten, so the history only grows and every device sees an ordinary change).
use chrono::{DateTime, Utc};
use entity::{file_metadata, file_version};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;

use super::{NewVersion, paths, to_size, tree::caller_device};
use crate::service::error::{Error, Result};
use crate::service::{Caller, Services, audit::AuditEntry, files::FileInfo};

/// Most versions one history answer lists (newest first).
pub const MAX_VERSIONS_LISTED: u64 = 1_000;

/// One committed version of a file.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct VersionInfo {
    pub version: i32,
    pub size: u64,
    pub sha256: String,
    pub modified_at: DateTime<Utc>,
    /// When the server committed it.
    pub committed_at: DateTime<Utc>,
    /// Whether it is the file's live content (false for every version of a
    /// deleted file).
    pub current: bool,
}

impl Services {
    /// The deleted files directly inside the caller's folder `path`, by path
    /// (at most [`MAX_VERSIONS_LISTED`]): what can still be restored there.
    pub async fn deleted_files_in(&self, caller: &Caller, path: &str) -> Result<Vec<FileInfo>> {
        let path = paths::normalize(path)?;
        let rows = file_metadata::Entity::find()
            .filter(file_metadata::Column::UserId.eq(caller.user_id))
            .filter(file_metadata::Column::Parent.eq(&path))
            .filter(file_metadata::Column::DeletedAt.is_not_null())
            .order_by_asc(file_metadata::Column::Path)
            .limit(MAX_VERSIONS_LISTED)
            .all(self.db())
            .await?;
        Ok(rows.into_iter().map(FileInfo::from).collect())
    }

    /// The caller's file at `path`: its versions, newest first (at most
    /// [`MAX_VERSIONS_LISTED`]). A deleted file keeps its history; a path that
    /// never held a file of the caller's is 404.
    pub async fn file_versions(&self, caller: &Caller, path: &str) -> Result<Vec<VersionInfo>> {
        let path = paths::normalize_file(path)?;
        let file = file_metadata::Entity::find()
            .filter(file_metadata::Column::UserId.eq(caller.user_id))
            .filter(file_metadata::Column::Path.eq(&path))
            .one(self.db())
            .await?
            .ok_or(Error::not_found("file"))?;
        let live = file.deleted_at.is_none().then_some(file.version);
        let rows = file_version::Entity::find()
            .filter(file_version::Column::FileId.eq(file.id))
            .order_by_desc(file_version::Column::Version)
            .limit(MAX_VERSIONS_LISTED)
            .all(self.db())
            .await?;
        Ok(rows
            .into_iter()
            .map(|v| VersionInfo {
                current: live == Some(v.version),
                version: v.version,
                size: to_size(v.size),
                sha256: v.sha256,
                modified_at: v.modified_at,
                committed_at: v.created_at,
            })
            .collect())
    }

    /// Restore `version` of the caller's file at `path`: its bytes become the
    /// next version (a deleted file comes back). 404 for an unknown file or version.
    pub async fn restore_version(
        &self,
        caller: &Caller,
        path: &str,
        version: i32,
    ) -> Result<FileInfo> {
        let path = paths::normalize_file(path)?;
        // The version committed below refers to stored blocks: the collector waits.
        let _in_use = self.blocks_in_use().await?;
        let txn = self.begin_tree_write(caller.user_id).await?;
        let file = file_metadata::Entity::find()
            .filter(file_metadata::Column::UserId.eq(caller.user_id))
            .filter(file_metadata::Column::Path.eq(&path))
            .one(&txn)
            .await?
            .ok_or(Error::not_found("file"))?;
        let old = file_version::Entity::find()
            .filter(file_version::Column::FileId.eq(file.id))
            .filter(file_version::Column::Version.eq(version))
            .one(&txn)
            .await?
            .ok_or(Error::not_found("file version"))?;
        // A deleted file's path may hold a folder now: nowhere to restore to.
        // (Missing parent folders come back, as for an upload.)
        if let Some(super::tree::Entry::Folder(_)) =
            self.entry_in(&txn, caller.user_id, &path).await?
        {
            return Err(Error::new(
                crate::service::Code::AlreadyExists,
                format!("a folder is at {path} now: move it away to restore the file"),
            ));
        }
        let origin = caller_device(caller);
        let (_, restored) = self
            .commit_version(
                &txn,
                NewVersion {
                    user_id: caller.user_id,
                    path: &path,
                    sha256: &old.sha256,
                    size: to_size(old.size),
                    modified_at: self.clock().now(),
                    device_id: origin,
                    upload_id: None,
                },
            )
            .await?;
        let entry = AuditEntry {
            action: "file.restored",
            target_type: "file",
            target_id: Some(path.clone()),
            before: Some(
                serde_json::json!({ "version": file.version, "deleted": file.deleted_at.is_some() }),
            ),
            after: Some(
                serde_json::json!({ "version": restored.version, "restored_from": version }),
            ),
        };
        self.audit(&txn, Some(caller), entry).await?;
        txn.commit().await?;
        self.after_file_change(caller.user_id, &path, origin).await;
        Ok(restored)
    }
}
