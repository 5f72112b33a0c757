//! The tree of one user's folders and files: what is at a path, a folder's
//! entries, and creating, moving, copying and deleting by path. WebDAV is its
//! main client; every change is made of the same versions and tombstones as an
//! upload, so sync plans and on-change triggers see it.
//!
//! Folders are rows of their own (a folder may be empty); every live file's
//! ancestors are folders, kept so by [`Services::commit_version`].
use crate::service::Code;
use chrono::{DateTime, Utc};
use entity::{file_metadata, folder};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
    sea_query::{Expr, ExprTrait, Func},
};
use uuid::Uuid;

use crate::service::error::{Error, Result};
use crate::service::{Caller, Services, audit::AuditEntry, files::FileInfo, files::paths};

use super::change_log::Logged;

/// A folder as the tree shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FolderInfo {
    pub path: String,
    pub created_at: DateTime<Utc>,
}

/// What a path names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    File(FileInfo),
    Folder(FolderInfo),
}

impl Entry {
    /// The entry's normalized path.
    pub fn path(&self) -> &str {
        match self {
            Entry::File(f) => &f.path,
            Entry::Folder(f) => &f.path,
        }
    }
}

/// The folder holding `path` (`/` for a top-level entry).
pub fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The folders above `path`, outermost first, without the root:
/// `/a/b/c.txt` → `/a`, `/a/b`.
pub(super) fn ancestors(path: &str) -> Vec<&str> {
    path.match_indices('/')
        .skip(1)
        .map(|(i, _)| &path[..i])
        .collect()
}

/// `to` + what follows `from` in `path` (`path` is `from` or lies below it).
pub(super) fn rebase(path: &str, from: &str, to: &str) -> String {
    format!("{to}{}", &path[from.len()..])
}

/// The root folder's entry.
pub(super) fn root() -> FolderInfo {
    FolderInfo {
        path: "/".into(),
        created_at: DateTime::<Utc>::UNIX_EPOCH,
    }
}

/// SQL that holds for `column` strictly below the folder `folder` — an exact
/// prefix comparison, since SQLite's `LIKE` ignores ASCII case.
pub(super) fn below(column: impl sea_orm::sea_query::IntoColumnRef + Copy, folder: &str) -> Expr {
    let prefix = if folder == "/" {
        "/".to_owned()
    } else {
        format!("{folder}/")
    };
    // `i32`: PostgreSQL has no `substr(text, int, bigint)`.
    let len = i32::try_from(prefix.chars().count()).unwrap_or(i32::MAX);
    Expr::expr(Func::cust("substr").arg(Expr::col(column)).arg(1).arg(len)).eq(prefix)
}

pub(super) fn already_exists(path: &str) -> Error {
    Error::new(Code::AlreadyExists, format!("{path} already exists"))
}

pub(super) fn parent_missing(path: &str) -> Error {
    Error::new(
        Code::ParentMissing,
        format!("the folder holding {path} does not exist"),
    )
}

impl Services {
    /// What is at `path` in the caller's tree, if anything.
    pub async fn entry_at(&self, caller: &Caller, path: &str) -> Result<Option<Entry>> {
        let path = paths::normalize(path)?;
        self.entry_in(self.db(), caller.user_id, &path).await
    }

    pub(crate) async fn entry_in(
        &self,
        conn: &impl ConnectionTrait,
        user_id: Uuid,
        path: &str,
    ) -> Result<Option<Entry>> {
        if path == "/" {
            return Ok(Some(Entry::Folder(root())));
        }
        let file = file_metadata::Entity::find()
            .filter(file_metadata::Column::UserId.eq(user_id))
            .filter(file_metadata::Column::Path.eq(path))
            .filter(file_metadata::Column::DeletedAt.is_null())
            .one(conn)
            .await?;
        if let Some(file) = file {
            return Ok(Some(Entry::File(file.into())));
        }
        let folder = folder::Entity::find_by_id((user_id, path.to_owned()))
            .one(conn)
            .await?;
        Ok(folder.map(|f| {
            Entry::Folder(FolderInfo {
                path: f.path,
                created_at: f.created_at,
            })
        }))
    }

    /// The entries directly inside the caller's folder `path`: folders first,
    /// then files, each by name. 404 when `path` is not a folder.
    pub async fn folder_entries(&self, caller: &Caller, path: &str) -> Result<Vec<Entry>> {
        let path = paths::normalize(path)?;
        match self.entry_in(self.db(), caller.user_id, &path).await? {
            Some(Entry::Folder(_)) => {}
            _ => return Err(Error::not_found("folder")),
        }
        let folders = folder::Entity::find()
            .filter(folder::Column::UserId.eq(caller.user_id))
            .filter(folder::Column::Parent.eq(&path))
            .all(self.db())
            .await?;
        let files = file_metadata::Entity::find()
            .filter(file_metadata::Column::UserId.eq(caller.user_id))
            .filter(file_metadata::Column::Parent.eq(&path))
            .filter(file_metadata::Column::DeletedAt.is_null())
            .all(self.db())
            .await?;
        // Byte order of names, whatever the database's collation.
        let mut entries: Vec<Entry> = folders
            .into_iter()
            .map(|f| {
                Entry::Folder(FolderInfo {
                    path: f.path,
                    created_at: f.created_at,
                })
            })
            .chain(files.into_iter().map(|f| Entry::File(f.into())))
            .collect();
        entries.sort_by(|a, b| {
            let rank = |e: &Entry| matches!(e, Entry::File(_));
            (rank(a), a.path()).cmp(&(rank(b), b.path()))
        });
        Ok(entries)
    }

    /// Bytes the caller's live files take, and the bytes still free for them.
    pub async fn storage_usage(&self, caller: &Caller) -> Result<(u64, u64)> {
        let used: Option<i64> = file_metadata::Entity::find()
            .select_only()
            .column_as(
                Expr::col(file_metadata::Column::Size)
                    .sum()
                    .cast_as("BIGINT"),
                "used",
            )
            .filter(file_metadata::Column::UserId.eq(caller.user_id))
            .filter(file_metadata::Column::DeletedAt.is_null())
            .into_tuple()
            .one(self.db())
            .await?
            .flatten();
        let free = self
            .inner
            .blobs
            .available_space(self.limits().min_free_space)
            .await?;
        Ok((u64::try_from(used.unwrap_or(0)).unwrap_or(0), free))
    }

    /// Create the caller's folder `path`. Its parent must be a folder
    /// (409 `parent_missing`); nothing may be at `path` (409 `already_exists`).
    pub async fn create_folder(&self, caller: &Caller, path: &str) -> Result<FolderInfo> {
        let path = paths::normalize(path)?;
        if path == "/" {
            return Err(already_exists(&path));
        }
        let txn = self.begin_tree_write(caller.user_id).await?;
        if self.entry_in(&txn, caller.user_id, &path).await?.is_some() {
            return Err(already_exists(&path));
        }
        match self
            .entry_in(&txn, caller.user_id, parent_of(&path))
            .await?
        {
            Some(Entry::Folder(_)) => {}
            _ => return Err(parent_missing(&path)),
        }
        let now = self.clock().now();
        insert_folder(&txn, caller.user_id, &path, now).await?;
        let made = Logged::folder(&path, now);
        self.log_changes(&txn, caller.user_id, caller_device(caller), vec![made])
            .await?;
        let entry = AuditEntry {
            action: "folder.created",
            target_type: "folder",
            target_id: Some(path.clone()),
            before: None,
            after: None,
        };
        self.audit(&txn, Some(caller), entry).await?;
        txn.commit().await?;
        self.inner.events.publish_tree(caller.user_id);
        Ok(FolderInfo {
            path,
            created_at: now,
        })
    }

    /// 409 `path_conflict` unless a file can live at `path`: `path` must not be
    /// a folder, and no folder above it may be a file.
    pub(crate) async fn check_file_path(
        &self,
        conn: &impl ConnectionTrait,
        user_id: Uuid,
        path: &str,
    ) -> Result<()> {
        let is_folder = folder::Entity::find_by_id((user_id, path.to_owned()))
            .one(conn)
            .await?
            .is_some();
        if is_folder {
            return Err(Error::new(
                Code::PathConflict,
                format!("{path} is a folder"),
            ));
        }
        let above = ancestors(path);
        if above.is_empty() {
            return Ok(());
        }
        let clashing = file_metadata::Entity::find()
            .filter(file_metadata::Column::UserId.eq(user_id))
            .filter(file_metadata::Column::Path.is_in(above))
            .filter(file_metadata::Column::DeletedAt.is_null())
            .one(conn)
            .await?;
        match clashing {
            Some(file) => Err(Error::new(
                Code::PathConflict,
                format!("{} is a file, not a folder", file.path),
            )),
            None => Ok(()),
        }
    }

    /// Make every folder above the file `path` exist (inside `conn`), after
    /// [`Self::check_file_path`]. Returns the folders made, for the changes feed.
    pub(crate) async fn ensure_parent_folders(
        &self,
        conn: &impl ConnectionTrait,
        user_id: Uuid,
        path: &str,
    ) -> Result<Vec<Logged>> {
        self.check_file_path(conn, user_id, path).await?;
        let above = ancestors(path);
        let Some(parent) = above.last() else {
            return Ok(Vec::new());
        };
        // Folders exist up to the root whenever the parent does.
        if folder::Entity::find_by_id((user_id, (*parent).to_owned()))
            .one(conn)
            .await?
            .is_some()
        {
            return Ok(Vec::new());
        }
        let now = self.clock().now();
        let mut made = Vec::new();
        for folder_path in above {
            if insert_folder(conn, user_id, folder_path, now).await? {
                made.push(Logged::folder(folder_path, now));
            }
        }
        Ok(made)
    }

    /// Delete what is at the caller's `path`: a file leaves a tombstone; a
    /// folder takes everything below it along (each file a tombstone). 404
    /// when nothing is there; the root cannot be deleted (403).
    pub async fn delete_entry(&self, caller: &Caller, path: &str) -> Result<()> {
        let path = paths::normalize(path)?;
        if path == "/" {
            return Err(Error::forbidden("the root folder cannot be deleted"));
        }
        match self.entry_at(caller, &path).await? {
            None => Err(Error::not_found("file")),
            Some(Entry::File(_)) => self.delete_file(caller, &path).await,
            Some(Entry::Folder(_)) => {
                let txn = self.begin_tree_write(caller.user_id).await?;
                let removed = self.remove_subtree(&txn, caller, &path).await?;
                let entry = AuditEntry {
                    action: "folder.deleted",
                    target_type: "folder",
                    target_id: Some(path.clone()),
                    before: None,
                    after: Some(serde_json::json!({ "files_deleted": removed.len() })),
                };
                self.audit(&txn, Some(caller), entry).await?;
                txn.commit().await?;
                self.after_files_change(caller.user_id, &removed, caller_device(caller))
                    .await;
                Ok(())
            }
        }
    }
}

/// The device a caller acts for, if its token is device-bound.
pub(crate) fn caller_device(caller: &Caller) -> Option<Uuid> {
    caller.device.as_ref().map(|(id, _)| *id)
}

/// Insert the folder row of `path` unless it exists; whether it was inserted.
pub(crate) async fn insert_folder(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    path: &str,
    created_at: DateTime<Utc>,
) -> Result<bool> {
    let inserted = folder::Entity::insert(folder::ActiveModel {
        user_id: Set(user_id),
        path: Set(path.to_owned()),
        parent: Set(parent_of(path).to_owned()),
        created_at: Set(created_at),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(conn)
    .await?;
    Ok(matches!(inserted, sea_orm::TryInsertResult::Inserted(n) if n > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(crate) fn parents_and_ancestors() {
        assert_eq!(parent_of("/a"), "/");
        assert_eq!(parent_of("/a/b/c.txt"), "/a/b");
        assert_eq!(ancestors("/a/b/c.txt"), vec!["/a", "/a/b"]);
        assert!(ancestors("/top.txt").is_empty());
        assert_eq!(rebase("/a/b/c", "/a/b", "/x"), "/x/c");
        assert_eq!(rebase("/a/b", "/a/b", "/x"), "/x");
    }
}
