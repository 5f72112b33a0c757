//! Selective sync (SPEC §7): which folders sync to which device, and the one
//! function that decides whether a path syncs.
use crate::service::Code;
use std::collections::HashMap;

use entity::selective_sync;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::service::error::{Error, Result};
use crate::service::{Caller, Services, audit::AuditEntry, files::paths};

/// One configured folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Folder {
    pub path: String,
    pub enabled: bool,
    pub include_subfolders: bool,
}

/// Whether one path syncs to a device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PathDecision {
    pub path: String,
    pub synced: bool,
}

/// Whether `folder` covers `path`: itself and everything below it, or with
/// `include_subfolders: false` only itself and its direct files.
fn covers(folder: &Folder, path: &str) -> bool {
    if folder.include_subfolders {
        paths::is_within(path, &folder.path)
    } else {
        path == folder.path
            || path
                .rsplit_once('/')
                .map(|(parent, _)| if parent.is_empty() { "/" } else { parent })
                == Some(folder.path.as_str())
    }
}

/// The rule: the deepest configured folder that covers `path` decides; a path
/// under none syncs unless some folder is enabled (then only selected folders sync).
pub fn is_synced(folders: &[Folder], path: &str) -> bool {
    folders
        .iter()
        .filter(|f| covers(f, path))
        .max_by_key(|f| {
            if f.path == "/" {
                0
            } else {
                f.path.matches('/').count()
            }
        })
        .map_or_else(|| !folders.iter().any(|f| f.enabled), |f| f.enabled)
}

/// Normalize a requested configuration; any invalid or repeated path fails it whole.
fn normalize_all(folders: Vec<Folder>) -> Result<Vec<Folder>> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(folders.len());
    for folder in folders {
        let path = paths::normalize(&folder.path)?;
        if !seen.insert(path.clone()) {
            return Err(Error::new(
                Code::DuplicatePath,
                format!("{path} is configured twice"),
            ));
        }
        out.push(Folder { path, ..folder });
    }
    Ok(out)
}

impl Services {
    /// Replace a device's selective-sync folders (all or nothing). Returns how many are configured.
    pub async fn configure_selective_sync(
        &self,
        caller: &Caller,
        owner: Option<Uuid>,
        device_id: &str,
        folders: Vec<Folder>,
    ) -> Result<usize> {
        let owner = owner.unwrap_or(caller.user_id);
        let device = self.resolve_device(caller, owner, device_id).await?;
        let folders = normalize_all(folders)?;
        let before = self.selective_folders(device.id).await?;
        let now = self.clock().now();
        let txn = self.begin_write().await?;
        selective_sync::Entity::delete_many()
            .filter(selective_sync::Column::DeviceId.eq(device.id))
            .exec(&txn)
            .await?;
        for folder in &folders {
            selective_sync::ActiveModel {
                id: Set(Uuid::new_v4()),
                device_id: Set(device.id),
                path: Set(folder.path.clone()),
                enabled: Set(folder.enabled),
                include_subfolders: Set(folder.include_subfolders),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&txn)
            .await?;
        }
        let entry = AuditEntry {
            action: "selective_sync.configured",
            target_type: "device",
            target_id: Some(device.device_id.clone()),
            before: Some(serde_json::json!(before)),
            after: Some(serde_json::json!(folders)),
        };
        self.audit(&txn, Some(caller), entry).await?;
        txn.commit().await?;
        Ok(folders.len())
    }

    /// A device's configured folders, by path.
    pub async fn list_selective_sync(
        &self,
        caller: &Caller,
        owner: Option<Uuid>,
        device_id: &str,
    ) -> Result<Vec<Folder>> {
        let device = self
            .resolve_device(caller, owner.unwrap_or(caller.user_id), device_id)
            .await?;
        self.selective_folders(device.id).await
    }

    /// Whether each of `paths` syncs to the device.
    pub async fn check_selective_sync(
        &self,
        caller: &Caller,
        owner: Option<Uuid>,
        device_id: &str,
        paths_to_check: &[String],
    ) -> Result<Vec<PathDecision>> {
        let folders = self.list_selective_sync(caller, owner, device_id).await?;
        paths_to_check
            .iter()
            .map(|raw| {
                let path = paths::normalize(raw)?;
                Ok(PathDecision {
                    synced: is_synced(&folders, &path),
                    path,
                })
            })
            .collect()
    }

    pub(crate) async fn selective_folders(&self, device: Uuid) -> Result<Vec<Folder>> {
        Ok(folders_by_device(self.db(), [device])
            .await?
            .remove(&device)
            .unwrap_or_default())
    }
}

/// The configured folders of several devices in one query, by device, each
/// device's by path (devices without any are absent).
pub(crate) async fn folders_by_device(
    conn: &impl ConnectionTrait,
    devices: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, Vec<Folder>>> {
    let rows = selective_sync::Entity::find()
        .filter(selective_sync::Column::DeviceId.is_in(devices))
        .order_by_asc(selective_sync::Column::Path)
        .all(conn)
        .await?;
    let mut by_device: HashMap<Uuid, Vec<Folder>> = HashMap::new();
    for row in rows {
        by_device.entry(row.device_id).or_default().push(Folder {
            path: row.path,
            enabled: row.enabled,
            include_subfolders: row.include_subfolders,
        });
    }
    Ok(by_device)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(path: &str, enabled: bool, include_subfolders: bool) -> Folder {
        Folder {
            path: path.into(),
            enabled,
            include_subfolders,
        }
    }

    #[test]
    fn the_deepest_folder_decides() {
        let folders = [
            f("/Photos", true, true),
            f("/Photos/Raw", false, true),
            f("/Work", true, false),
        ];
        assert!(is_synced(&folders, "/Photos/a.jpg"));
        assert!(is_synced(&folders, "/Photos/2024/b.jpg"));
        assert!(!is_synced(&folders, "/Photos/Raw/c.cr2"));
        assert!(is_synced(&folders, "/Work/plan.txt"));
        assert!(
            !is_synced(&folders, "/Work/old/plan.txt"),
            "include_subfolders: false covers direct files only"
        );
        assert!(
            !is_synced(&folders, "/Music/song.mp3"),
            "an enabled folder makes it a whitelist"
        );
        assert!(!is_synced(&folders, "/PhotosX/d.jpg"));
    }

    #[test]
    fn with_no_enabled_folder_everything_else_syncs() {
        assert!(is_synced(&[], "/anything.txt"));
        let folders = [f("/Games", false, true)];
        assert!(is_synced(&folders, "/Docs/a.txt"));
        assert!(!is_synced(&folders, "/Games/save.dat"));
        let root = [f("/", true, false)];
        assert!(is_synced(&root, "/top.txt"));
        assert!(!is_synced(&root, "/deep/file.txt"));
    }

    #[test]
    fn a_configuration_is_normalized_all_or_nothing() {
        let ok = normalize_all(vec![
            f("Documents/", true, true),
            f("/Photos/./2024", false, false),
        ])
        .expect("valid");
        assert_eq!(ok[0].path, "/Documents");
        assert_eq!(ok[1].path, "/Photos/2024");
        let err = normalize_all(vec![f("/ok", true, true), f("/../etc", true, true)])
            .expect_err("escape");
        assert_eq!(err.code(), Code::InvalidPath);
        let err = normalize_all(vec![f("/a", true, true), f("/a/", false, true)]).expect_err("dup");
        assert_eq!(err.code(), Code::DuplicatePath);
    }
}
