//! Files and their versions: listing, reading, and committing a new version.
pub mod blobs;
pub mod block_store;
mod change_blocks;
mod change_cursor;
pub(crate) mod change_log;
pub mod changes;
pub mod collector;
pub mod content;
pub mod dav_locks;
pub mod dead_props;
mod folders;
mod moves;
pub mod object_blocks;
pub mod paths;
pub mod tree;
pub mod versions;
pub mod writer;

use change_log::Logged;
use chrono::{DateTime, Utc};
use entity::{blob, content_block, enums::ChangeKind, file_metadata, file_version};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    sea_query::{Expr, ExprTrait, LikeExpr},
};
use serde::Serialize;
use uuid::Uuid;

use crate::service::error::{Error, Result};
use crate::service::{Caller, Services};

/// A file as the API shows it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FileInfo {
    pub path: String,
    pub size: u64,
    pub sha256: String,
    pub version: i32,
    pub modified_at: DateTime<Utc>,
}

/// A new version to commit.
#[derive(Debug)]
pub struct NewVersion<'a> {
    pub user_id: Uuid,
    pub path: &'a str,
    pub sha256: &'a str,
    pub size: u64,
    pub modified_at: DateTime<Utc>,
    pub device_id: Option<Uuid>,
    pub upload_id: Option<Uuid>,
}

/// An open blob of one file version, ready to stream.
#[derive(Debug)]
pub struct OpenFile {
    pub info: FileInfo,
    pub content: content::Content,
}

fn to_size(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn to_i64(value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| Error::internal("size out of range"))
}

impl From<file_metadata::Model> for FileInfo {
    fn from(m: file_metadata::Model) -> Self {
        Self {
            path: m.path,
            size: to_size(m.size),
            sha256: m.sha256,
            version: m.version,
            modified_at: m.modified_at,
        }
    }
}

/// `%`, `_` and `\` escaped for a LIKE pattern with `\` as escape.
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl Services {
    /// The caller's live files at or below the folder `prefix`, by path.
    pub async fn list_files(&self, caller: &Caller, prefix: Option<&str>) -> Result<Vec<FileInfo>> {
        let prefix = paths::normalize(prefix.unwrap_or("/"))?;
        let mut query = file_metadata::Entity::find()
            .filter(file_metadata::Column::UserId.eq(caller.user_id))
            .filter(file_metadata::Column::DeletedAt.is_null())
            .order_by_asc(file_metadata::Column::Path);
        if prefix != "/" {
            let below = LikeExpr::new(format!("{}/%", like_escape(&prefix))).escape('\\');
            query = query.filter(
                Expr::col(file_metadata::Column::Path)
                    .eq(prefix.as_str())
                    .or(Expr::col(file_metadata::Column::Path).like(below)),
            );
        }
        let rows = query.all(self.db()).await?;
        // SQLite's LIKE ignores ASCII case: keep only true matches.
        Ok(rows
            .into_iter()
            .filter(|m| paths::is_within(&m.path, &prefix))
            .map(FileInfo::from)
            .collect())
    }

    /// Open the caller's file at `path` (its current version, or `version`).
    pub async fn open_file(
        &self,
        caller: &Caller,
        path: &str,
        version: Option<i32>,
    ) -> Result<OpenFile> {
        let path = paths::normalize_file(path)?;
        let current = file_metadata::Entity::find()
            .filter(file_metadata::Column::UserId.eq(caller.user_id))
            .filter(file_metadata::Column::Path.eq(&path))
            .one(self.db())
            .await?
            .ok_or(Error::not_found("file"))?;
        let info = match version {
            None if current.deleted_at.is_some() => return Err(Error::not_found("file")),
            None => FileInfo::from(current),
            Some(v) if v == current.version && current.deleted_at.is_none() => {
                FileInfo::from(current)
            }
            Some(v) => {
                let old = file_version::Entity::find()
                    .filter(file_version::Column::FileId.eq(current.id))
                    .filter(file_version::Column::Version.eq(v))
                    .one(self.db())
                    .await?
                    .ok_or(Error::not_found("file version"))?;
                FileInfo {
                    path,
                    size: to_size(old.size),
                    sha256: old.sha256,
                    version: old.version,
                    modified_at: old.modified_at,
                }
            }
        };
        let content = self.content(self.db(), &info.sha256, info.size).await?;
        Ok(OpenFile { info, content })
    }

    /// Commit `new` as the next version of its path (version 1 for a new path,
    /// reviving a deleted one), inside `conn`. The blob must be stored already.
    /// Returns the file's id and its new state.
    pub(crate) async fn commit_version(
        &self,
        conn: &impl ConnectionTrait,
        new: NewVersion<'_>,
    ) -> Result<(Uuid, FileInfo)> {
        self.commit_version_of_blocks(conn, new, None).await
    }

    /// [`Self::commit_version`] of a content stored as `blocks` (`(sha256, size)`
    /// in order, each in the store already); `None`: stored whole, one block.
    /// A content that has a manifest keeps it (the same bytes, cut the first way).
    pub(crate) async fn commit_version_of_blocks(
        &self,
        conn: &impl ConnectionTrait,
        new: NewVersion<'_>,
        blocks: Option<&[(String, i64)]>,
    ) -> Result<(Uuid, FileInfo)> {
        let now = self.clock().now();
        let size = to_i64(new.size)?;
        // The first commit of a content writes its manifest; the row lock on its
        // `blobs` row makes a concurrent first commit (on PostgreSQL) wait for
        // this one and then leave the manifest alone, so two cuts never mix.
        let fresh = blob::Entity::insert(blob::ActiveModel {
            sha256: Set(new.sha256.to_owned()),
            size: Set(size),
            created_at: Set(now),
        })
        .on_conflict_do_nothing()
        .exec_without_returning(conn)
        .await?;
        let fresh = matches!(fresh, sea_orm::TryInsertResult::Inserted(n) if n > 0);
        if size > 0 && fresh {
            // A content stored whole is a manifest of one block: itself.
            let whole = [(new.sha256.to_owned(), size)];
            let rows: Vec<content_block::ActiveModel> = blocks
                .unwrap_or(&whole)
                .iter()
                .filter(|(_, block_size)| *block_size > 0)
                .zip(0i32..)
                .map(|((sha, block_size), position)| content_block::ActiveModel {
                    content_sha256: Set(new.sha256.to_owned()),
                    position: Set(position),
                    block_sha256: Set(sha.clone()),
                    size: Set(*block_size),
                })
                .collect();
            if rows.iter().map(|r| *r.size.as_ref()).sum::<i64>() != size {
                return Err(Error::internal("a manifest does not add up to its content"));
            }
            for batch in rows.chunks(1_000) {
                content_block::Entity::insert_many(batch.to_vec())
                    .exec_without_returning(conn)
                    .await?;
            }
        }
        // After a first write: on SQLite that took the write lock, so these
        // reads cannot go stale before the writes below.
        let mut logged = self
            .ensure_parent_folders(conn, new.user_id, new.path)
            .await?;

        // Bump in place first: the row lock serializes concurrent commits to one path.
        let bumped = file_metadata::Entity::update_many()
            .col_expr(
                file_metadata::Column::Version,
                Expr::col(file_metadata::Column::Version).add(1),
            )
            .col_expr(file_metadata::Column::Size, Expr::value(size))
            .col_expr(file_metadata::Column::Sha256, Expr::value(new.sha256))
            .col_expr(
                file_metadata::Column::ModifiedAt,
                Expr::value(new.modified_at),
            )
            .col_expr(file_metadata::Column::UpdatedAt, Expr::value(now))
            .col_expr(
                file_metadata::Column::DeletedAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(
                file_metadata::Column::ChangedByDeviceId,
                Expr::value(new.device_id),
            )
            .filter(file_metadata::Column::UserId.eq(new.user_id))
            .filter(file_metadata::Column::Path.eq(new.path))
            .exec(conn)
            .await?;
        if bumped.rows_affected == 0 {
            file_metadata::ActiveModel {
                id: Set(Uuid::new_v4()),
                user_id: Set(new.user_id),
                path: Set(new.path.to_owned()),
                parent: Set(Some(
                    crate::service::files::tree::parent_of(new.path).to_owned(),
                )),
                size: Set(size),
                sha256: Set(new.sha256.to_owned()),
                version: Set(1),
                modified_at: Set(new.modified_at),
                created_at: Set(now),
                updated_at: Set(now),
                deleted_at: Set(None),
                changed_by_device_id: Set(new.device_id),
            }
            .insert(conn)
            .await?;
        }
        let current = file_metadata::Entity::find()
            .filter(file_metadata::Column::UserId.eq(new.user_id))
            .filter(file_metadata::Column::Path.eq(new.path))
            .one(conn)
            .await?
            .ok_or_else(|| Error::internal("committed file row is missing"))?;
        file_version::ActiveModel {
            id: Set(Uuid::new_v4()),
            file_id: Set(current.id),
            version: Set(current.version),
            size: Set(size),
            sha256: Set(new.sha256.to_owned()),
            modified_at: Set(new.modified_at),
            created_at: Set(now),
            device_id: Set(new.device_id),
            upload_id: Set(new.upload_id),
        }
        .insert(conn)
        .await?;
        logged.push(Logged {
            path: current.path.clone(),
            kind: ChangeKind::File,
            version: current.version,
            size,
            sha256: Some(new.sha256.to_owned()),
            modified_at: new.modified_at,
        });
        self.log_changes(conn, new.user_id, new.device_id, logged)
            .await?;
        Ok((current.id, FileInfo::from(current)))
    }

    /// The id of the caller's file at `path`, if it exists (even deleted).
    pub(crate) async fn file_id_at(&self, user_id: Uuid, path: &str) -> Result<Option<Uuid>> {
        Ok(file_metadata::Entity::find()
            .filter(file_metadata::Column::UserId.eq(user_id))
            .filter(file_metadata::Column::Path.eq(path))
            .one(self.db())
            .await?
            .map(|m| m.id))
    }

    /// Delete the caller's file at `path`: it leaves a tombstone (kept for
    /// deletion sync; its versions stay) and counts as a change made by the
    /// caller's device. Deleting a missing or deleted file is 404.
    pub async fn delete_file(&self, caller: &Caller, path: &str) -> Result<()> {
        let path = paths::normalize_file(path)?;
        let origin = crate::service::files::tree::caller_device(caller);
        let now = self.clock().now();
        let txn = self.begin_tree_write(caller.user_id).await?;
        let Some(live) = file_metadata::Entity::find()
            .filter(file_metadata::Column::UserId.eq(caller.user_id))
            .filter(file_metadata::Column::Path.eq(&path))
            .filter(file_metadata::Column::DeletedAt.is_null())
            .one(&txn)
            .await?
        else {
            return Err(Error::not_found("file"));
        };
        let deleted = file_metadata::Entity::update_many()
            .col_expr(file_metadata::Column::DeletedAt, Expr::value(Some(now)))
            .col_expr(file_metadata::Column::UpdatedAt, Expr::value(now))
            .col_expr(
                file_metadata::Column::ChangedByDeviceId,
                Expr::value(origin),
            )
            .filter(file_metadata::Column::UserId.eq(caller.user_id))
            .filter(file_metadata::Column::Path.eq(&path))
            .filter(file_metadata::Column::DeletedAt.is_null())
            .exec(&txn)
            .await?;
        if deleted.rows_affected == 0 {
            return Err(Error::not_found("file"));
        }
        self.drop_dead_props(&txn, caller.user_id, &path).await?;
        let gone = Logged::delete(&path, live.version, now);
        self.log_changes(&txn, caller.user_id, origin, vec![gone])
            .await?;
        let entry = crate::service::audit::AuditEntry {
            action: "file.deleted",
            target_type: "file",
            target_id: Some(path.clone()),
            before: None,
            after: None,
        };
        self.audit(&txn, Some(caller), entry).await?;
        txn.commit().await?;
        self.after_file_change(caller.user_id, &path, origin).await;
        Ok(())
    }
}
