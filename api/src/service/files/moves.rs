//! Moving and copying entries of the tree (files and whole folders), and the
//! subtree removal deletes share.
use crate::service::Code;
use entity::{dead_property, file_metadata, folder};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::service::error::{Error, Result};
use crate::service::{
    Caller, Services,
    audit::AuditEntry,
    files::paths,
    files::{FileInfo, NewVersion},
};

use super::change_log::Logged;
use super::tree::*;

impl Services {
    /// Tombstone every live file at or below `folder`, drop the folder rows and
    /// dead properties there. Returns the tombstoned paths.
    pub(crate) async fn remove_subtree(
        &self,
        txn: &DatabaseTransaction,
        caller: &Caller,
        folder_path: &str,
    ) -> Result<Vec<String>> {
        let user_id = caller.user_id;
        let now = self.clock().now();
        let live: Vec<(String, i32)> = file_metadata::Entity::find()
            .select_only()
            .column(file_metadata::Column::Path)
            .column(file_metadata::Column::Version)
            .filter(file_metadata::Column::UserId.eq(user_id))
            .filter(file_metadata::Column::DeletedAt.is_null())
            .filter(below(file_metadata::Column::Path, folder_path))
            .into_tuple()
            .all(txn)
            .await?;
        let folders = folders_at_or_below(txn, user_id, folder_path).await?;
        file_metadata::Entity::update_many()
            .col_expr(file_metadata::Column::DeletedAt, Expr::value(Some(now)))
            .col_expr(file_metadata::Column::UpdatedAt, Expr::value(now))
            .col_expr(
                file_metadata::Column::ChangedByDeviceId,
                Expr::value(caller_device(caller)),
            )
            .filter(file_metadata::Column::UserId.eq(user_id))
            .filter(file_metadata::Column::DeletedAt.is_null())
            .filter(below(file_metadata::Column::Path, folder_path))
            .exec(txn)
            .await?;
        folder::Entity::delete_many()
            .filter(folder::Column::UserId.eq(user_id))
            .filter(
                folder::Column::Path
                    .eq(folder_path)
                    .or(below(folder::Column::Path, folder_path)),
            )
            .exec(txn)
            .await?;
        dead_property::Entity::delete_many()
            .filter(dead_property::Column::UserId.eq(user_id))
            .filter(
                dead_property::Column::Path
                    .eq(folder_path)
                    .or(below(dead_property::Column::Path, folder_path)),
            )
            .exec(txn)
            .await?;
        let gone = live
            .iter()
            .map(|(path, version)| Logged::delete(path, *version, now))
            .chain(deleted_folders(&folders, now));
        self.log_changes(txn, user_id, caller_device(caller), gone.collect())
            .await?;
        Ok(live.into_iter().map(|(path, _)| path).collect())
    }

    /// Move the caller's entry at `from` to `to` (a file, or a folder with
    /// everything below it). Each moved file is a new version at its new path
    /// and a tombstone at the old one, so every device's sync sees the move.
    /// `to` must be free (409 `already_exists`), its parent a folder (409
    /// `parent_missing`), and not inside `from` (409 `invalid_move`).
    pub async fn move_entry(&self, caller: &Caller, from: &str, to: &str) -> Result<()> {
        let from = paths::normalize(from)?;
        let to = paths::normalize(to)?;
        if from == "/" || to == "/" {
            return Err(Error::forbidden("the root folder cannot be moved"));
        }
        if paths::is_within(&to, &from) {
            return Err(Error::new(
                Code::InvalidMove,
                "a folder cannot be moved into itself",
            ));
        }
        // The version committed below refers to stored blocks: the collector waits.
        let _in_use = self.blocks_in_use().await?;
        let txn = self.begin_tree_write(caller.user_id).await?;
        let source = self
            .entry_in(&txn, caller.user_id, &from)
            .await?
            .ok_or(Error::not_found("file"))?;
        self.check_destination(&txn, caller.user_id, &to).await?;
        let origin = caller_device(caller);
        let now = self.clock().now();
        let files = self
            .live_files_at_or_below(&txn, caller.user_id, &from)
            .await?;
        let mut changed = Vec::with_capacity(files.len() * 2);
        for file in &files {
            let new_path = rebase(&file.path, &from, &to);
            self.commit_version(
                &txn,
                NewVersion {
                    user_id: caller.user_id,
                    path: &new_path,
                    sha256: &file.sha256,
                    size: u64::try_from(file.size).unwrap_or(0),
                    modified_at: file.modified_at,
                    device_id: origin,
                    upload_id: None,
                },
            )
            .await?;
            changed.push(new_path);
        }
        file_metadata::Entity::update_many()
            .col_expr(file_metadata::Column::DeletedAt, Expr::value(Some(now)))
            .col_expr(file_metadata::Column::UpdatedAt, Expr::value(now))
            .col_expr(
                file_metadata::Column::ChangedByDeviceId,
                Expr::value(origin),
            )
            .filter(file_metadata::Column::UserId.eq(caller.user_id))
            .filter(file_metadata::Column::DeletedAt.is_null())
            .filter(
                file_metadata::Column::Path
                    .eq(&from)
                    .or(below(file_metadata::Column::Path, &from)),
            )
            .exec(&txn)
            .await?;
        let mut logged: Vec<Logged> = files
            .iter()
            .map(|f| Logged::delete(&f.path, f.version, now))
            .collect();
        changed.extend(files.into_iter().map(|f| f.path));
        if let Entry::Folder(_) = source {
            let folders = folders_at_or_below(&txn, caller.user_id, &from).await?;
            logged.extend(deleted_folders(&folders, now));
            folder::Entity::delete_many()
                .filter(folder::Column::UserId.eq(caller.user_id))
                .filter(
                    folder::Column::Path
                        .eq(&from)
                        .or(below(folder::Column::Path, &from)),
                )
                .exec(&txn)
                .await?;
            let mut made = Vec::new();
            for moved in folders {
                let path = rebase(&moved.path, &from, &to);
                if insert_folder(&txn, caller.user_id, &path, moved.created_at).await? {
                    made.push(Logged::folder(&path, now));
                }
            }
            // The new folders first (parents before children), then what went.
            logged.splice(0..0, made);
        }
        self.log_changes(&txn, caller.user_id, origin, logged)
            .await?;
        self.move_dead_props(&txn, caller.user_id, &from, &to)
            .await?;
        let entry = AuditEntry {
            action: "entry.moved",
            target_type: "path",
            target_id: Some(from.clone()),
            before: Some(serde_json::json!({ "path": from })),
            after: Some(serde_json::json!({ "path": to, "files": changed.len() / 2 })),
        };
        self.audit(&txn, Some(caller), entry).await?;
        txn.commit().await?;
        self.after_files_change(caller.user_id, &changed, origin)
            .await;
        Ok(())
    }

    /// Copy the caller's file `from` to `to` as a new version there (the
    /// content is shared, not copied), with its dead properties.
    pub async fn copy_file(&self, caller: &Caller, from: &str, to: &str) -> Result<FileInfo> {
        let from = paths::normalize_file(from)?;
        let to = paths::normalize_file(to)?;
        // The version committed below refers to stored blocks: the collector waits.
        let _in_use = self.blocks_in_use().await?;
        let txn = self.begin_tree_write(caller.user_id).await?;
        let source = match self.entry_in(&txn, caller.user_id, &from).await? {
            Some(Entry::File(file)) => file,
            _ => return Err(Error::not_found("file")),
        };
        match self.entry_in(&txn, caller.user_id, &to).await? {
            Some(Entry::Folder(_)) => return Err(already_exists(&to)),
            Some(Entry::File(_)) => {}
            None => self.check_destination(&txn, caller.user_id, &to).await?,
        }
        let origin = caller_device(caller);
        let (_, copied) = self
            .commit_version(
                &txn,
                NewVersion {
                    user_id: caller.user_id,
                    path: &to,
                    sha256: &source.sha256,
                    size: source.size,
                    modified_at: source.modified_at,
                    device_id: origin,
                    upload_id: None,
                },
            )
            .await?;
        self.copy_dead_props(&txn, caller.user_id, &from, &to)
            .await?;
        let entry = AuditEntry {
            action: "file.copied",
            target_type: "file",
            target_id: Some(to.clone()),
            before: Some(serde_json::json!({ "path": from })),
            after: Some(serde_json::json!({ "path": to, "version": copied.version })),
        };
        self.audit(&txn, Some(caller), entry).await?;
        txn.commit().await?;
        self.after_file_change(caller.user_id, &to, origin).await;
        Ok(copied)
    }

    /// Delete the caller's folder `path` with everything below it (404 unless
    /// a folder is there).
    pub async fn delete_folder(&self, caller: &Caller, path: &str) -> Result<()> {
        let path = paths::normalize(path)?;
        match self.entry_at(caller, &path).await? {
            Some(Entry::Folder(_)) => self.delete_entry(caller, &path).await,
            _ => Err(Error::not_found("folder")),
        }
    }

    /// `to` must be free and its parent a folder.
    pub(crate) async fn check_destination(
        &self,
        conn: &impl ConnectionTrait,
        user_id: Uuid,
        to: &str,
    ) -> Result<()> {
        if self.entry_in(conn, user_id, to).await?.is_some() {
            return Err(already_exists(to));
        }
        match self.entry_in(conn, user_id, parent_of(to)).await? {
            Some(Entry::Folder(_)) => Ok(()),
            _ => Err(parent_missing(to)),
        }
    }

    pub(crate) async fn live_files_at_or_below(
        &self,
        conn: &impl ConnectionTrait,
        user_id: Uuid,
        path: &str,
    ) -> Result<Vec<file_metadata::Model>> {
        Ok(file_metadata::Entity::find()
            .filter(file_metadata::Column::UserId.eq(user_id))
            .filter(file_metadata::Column::DeletedAt.is_null())
            .filter(
                file_metadata::Column::Path
                    .eq(path)
                    .or(below(file_metadata::Column::Path, path)),
            )
            .order_by_asc(file_metadata::Column::Path)
            .all(conn)
            .await?)
    }
}

/// The folder rows at or below `path`.
async fn folders_at_or_below(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    path: &str,
) -> Result<Vec<folder::Model>> {
    Ok(folder::Entity::find()
        .filter(folder::Column::UserId.eq(user_id))
        .filter(
            folder::Column::Path
                .eq(path)
                .or(below(folder::Column::Path, path)),
        )
        .order_by_asc(folder::Column::Path)
        .all(conn)
        .await?)
}

/// Deletions of `folders`, deepest first (a folder goes after what it held).
fn deleted_folders(
    folders: &[folder::Model],
    at: chrono::DateTime<chrono::Utc>,
) -> impl Iterator<Item = Logged> {
    let mut paths: Vec<&str> = folders.iter().map(|f| f.path.as_str()).collect();
    paths.sort_by_key(|p| std::cmp::Reverse(p.matches('/').count()));
    paths
        .into_iter()
        .map(move |p| Logged::delete(p, 0, at))
        .collect::<Vec<_>>()
        .into_iter()
}
