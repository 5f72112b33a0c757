//! Upload conflicts (SPEC §4, §6): an upload started with `base_version` that no
//! longer matches the file's current version when it commits is resolved by the
//! device's `resolve_conflicts` strategy.
//!
//! - `keep_local`: the upload becomes the next version (the server's stays in history);
//! - `keep_server`: the server's version stays current and the upload is stored
//!   as a conflict copy next to it, `name (conflict DEVICE YYYY-MM-DD HHMMSS).ext`;
//! - `keep_newest` (default): the side with the later `modified_at` wins, the
//!   server on a tie; the losing local side becomes the conflict copy.
//!
//! The "current version" of a deleted or never-existing path is 0.
use chrono::{DateTime, Utc};
use entity::enums::ResolveConflicts;
use entity::{chunked_upload, device, file_metadata, sync_schedule};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};

use crate::service::Services;
use crate::service::error::Result;

/// How a conflict was resolved, as the completion response and the audit log say it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictOutcome {
    /// The strategy applied: `keep_newest`, `keep_local` or `keep_server`.
    pub strategy: ResolveConflicts,
    /// `kept_local` (the upload is the new current version) or `kept_server`
    /// (the upload went to `conflict_path`).
    pub resolution: String,
    /// The version the client based its change on.
    pub base_version: i32,
    /// The version the server held at commit (0: none, or deleted).
    pub server_version: i32,
    /// Where the upload was stored when the server's version was kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict_path: Option<String>,
}

/// Where an upload commits, and how a conflict was resolved if there was one.
#[derive(Debug)]
pub(crate) struct Target {
    pub path: String,
    pub conflict: Option<ConflictOutcome>,
}

/// `/dir/name (conflict DEVICE YYYY-MM-DD HHMMSS).ext` next to `path`. A name's
/// leading dot is not an extension (`.bashrc` has none).
pub fn conflict_copy_path(path: &str, device: &str, at: DateTime<Utc>) -> String {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let (stem, ext) = match name.rfind('.') {
        Some(dot) if dot > 0 => (&name[..dot], &name[dot..]),
        _ => (name, ""),
    };
    let device: String = device
        .chars()
        .map(|c| if c == '/' || c.is_control() { '_' } else { c })
        .collect();
    format!(
        "{dir}/{stem} (conflict {device} {}){ext}",
        at.format("%Y-%m-%d %H%M%S")
    )
}

impl Services {
    /// Decide where `upload` commits, inside the commit's transaction `conn`
    /// (on PostgreSQL the file row is locked until it ends).
    pub(crate) async fn commit_target(
        &self,
        conn: &impl ConnectionTrait,
        upload: &chunked_upload::Model,
        now: DateTime<Utc>,
    ) -> Result<Target> {
        let unchanged = Target {
            path: upload.file_path.clone(),
            conflict: None,
        };
        let Some(base_version) = upload.base_version else {
            return Ok(unchanged);
        };
        let current = file_metadata::Entity::find()
            .filter(file_metadata::Column::UserId.eq(upload.user_id))
            .filter(file_metadata::Column::Path.eq(&upload.file_path))
            .lock_exclusive()
            .one(conn)
            .await?;
        let server_version = match &current {
            Some(file) if file.deleted_at.is_none() => file.version,
            _ => 0,
        };
        if server_version == base_version {
            return Ok(unchanged);
        }
        let strategy = sync_schedule::Entity::find()
            .filter(sync_schedule::Column::DeviceId.eq(upload.device_id))
            .order_by_desc(sync_schedule::Column::Enabled)
            .order_by_desc(sync_schedule::Column::UpdatedAt)
            .one(conn)
            .await?
            .map_or(ResolveConflicts::KeepNewest, |s| s.resolve_conflicts);
        let server_changed_at = current
            .as_ref()
            .map(|f| f.deleted_at.unwrap_or(f.modified_at));
        let local_changed_at = upload.modified_at.unwrap_or(upload.created_at);
        let keep_local = match strategy {
            ResolveConflicts::KeepLocal => true,
            ResolveConflicts::KeepServer => false,
            ResolveConflicts::KeepNewest => {
                server_changed_at.is_none_or(|server| local_changed_at > server)
            }
        };
        if keep_local {
            return Ok(Target {
                path: upload.file_path.clone(),
                conflict: Some(ConflictOutcome {
                    strategy,
                    resolution: "kept_local".into(),
                    base_version,
                    server_version,
                    conflict_path: None,
                }),
            });
        }
        let device_name = device::Entity::find_by_id(upload.device_id)
            .one(conn)
            .await?
            .map_or_else(|| "unknown".to_owned(), |d| d.device_id);
        let path = conflict_copy_path(&upload.file_path, &device_name, now);
        Ok(Target {
            path: path.clone(),
            conflict: Some(ConflictOutcome {
                strategy,
                resolution: "kept_server".into(),
                base_version,
                server_version,
                conflict_path: Some(path),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        "2026-03-04T05:06:07Z".parse().expect("instant")
    }

    #[test]
    fn conflict_copies_keep_the_extension_after_the_marker() {
        assert_eq!(
            conflict_copy_path("/Docs/report.final.pdf", "laptop", at()),
            "/Docs/report.final (conflict laptop 2026-03-04 050607).pdf"
        );
        assert_eq!(
            conflict_copy_path("/notes", "phone", at()),
            "/notes (conflict phone 2026-03-04 050607)"
        );
        assert_eq!(
            conflict_copy_path("/a/.bashrc", "pc/1", at()),
            "/a/.bashrc (conflict pc_1 2026-03-04 050607)"
        );
    }
}
