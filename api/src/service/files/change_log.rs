//! Writing the changes feed: every tree write appends what it did, numbered by
//! the user's change sequence, inside its own transaction.
//!
//! The sequence is `users.change_seq`, bumped by an `UPDATE … RETURNING` in the
//! writing transaction: the row lock it takes (PostgreSQL) or SQLite's single
//! writer makes numbers follow commit order, so a reader that saw number `n`
//! can never later meet a smaller one committing.
//!
//! Compaction keeps the log from growing with every save: a `file` or
//! `folder` entry goes when a later entry of the same path exists; every
//! `delete` stays. A cursor from before the dropped entries still drains to the
//! same tree, in commit order, and with the feed's shape intact: a path that
//! changes kind is deleted before it is made again, and a deleted folder's
//! entries below it still come before the folder's own deletion (a `delete`
//! is never dropped, so no cascade loses a member). A reader mid-page loses
//! nothing: what is dropped always has a kept entry after it.
use chrono::{DateTime, Utc};
use entity::user;
use entity::{enums::ChangeKind, tree_change};
use sea_orm::{ActiveEnum, ConnectionTrait, EntityTrait, QuerySelect, Set, Statement, Value};
use uuid::Uuid;

use crate::service::Services;
use crate::service::error::{Error, Result};

/// Rows one insert carries (9 values each, under SQLite's parameter limit).
const INSERT_BATCH: usize = 1_000;

/// One change to log.
#[derive(Clone, Debug)]
pub(crate) struct Logged {
    pub path: String,
    pub kind: ChangeKind,
    pub version: i32,
    pub size: i64,
    pub sha256: Option<String>,
    pub modified_at: DateTime<Utc>,
}

impl Logged {
    /// A folder now at `path`.
    pub(crate) fn folder(path: &str, at: DateTime<Utc>) -> Self {
        Self {
            path: path.to_owned(),
            kind: ChangeKind::Folder,
            version: 0,
            size: 0,
            sha256: None,
            modified_at: at,
        }
    }

    /// Nothing at `path` any more (`version`: the file version deleted, 0 for a folder).
    pub(crate) fn delete(path: &str, version: i32, at: DateTime<Utc>) -> Self {
        Self {
            path: path.to_owned(),
            kind: ChangeKind::Delete,
            version,
            size: 0,
            sha256: None,
            modified_at: at,
        }
    }
}

impl Services {
    /// Append `changes` (in this order) to `user_id`'s feed inside the writing
    /// transaction `conn`.
    pub(crate) async fn log_changes(
        &self,
        conn: &impl ConnectionTrait,
        user_id: Uuid,
        device: Option<Uuid>,
        changes: Vec<Logged>,
    ) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let count =
            i64::try_from(changes.len()).map_err(|_| Error::internal("too many changes"))?;
        let backend = conn.get_database_backend();
        let sql = match backend {
            sea_orm::DatabaseBackend::Postgres => {
                "UPDATE users SET change_seq = change_seq + $1 WHERE id = $2 RETURNING change_seq"
            }
            _ => "UPDATE users SET change_seq = change_seq + ? WHERE id = ? RETURNING change_seq",
        };
        let values: Vec<Value> = vec![count.into(), user_id.into()];
        let last: i64 = conn
            .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?
            .ok_or_else(|| Error::not_found("user"))?
            .try_get_by_index(0)?;
        let now = self.clock().now();
        let first = last - count + 1;
        let rows: Vec<tree_change::ActiveModel> = changes
            .into_iter()
            .zip(first..)
            .map(|(change, seq)| tree_change::ActiveModel {
                user_id: Set(user_id),
                seq: Set(seq),
                path: Set(change.path),
                kind: Set(change.kind),
                version: Set(change.version),
                size: Set(change.size),
                sha256: Set(change.sha256),
                modified_at: Set(change.modified_at),
                device_id: Set(device),
                created_at: Set(now),
            })
            .collect();
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let batch: Vec<_> = rows.by_ref().take(INSERT_BATCH).collect();
            tree_change::Entity::insert_many(batch)
                .exec_without_returning(conn)
                .await?;
        }
        Ok(())
    }

    /// Drop the log entries a later one makes redundant (see the module docs),
    /// one user at a time; returns how many went.
    pub async fn compact_change_log(&self) -> Result<u64> {
        let users: Vec<Uuid> = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .into_tuple()
            .all(self.db())
            .await?;
        let backend = self.db().get_database_backend();
        let (me, delete) = match backend {
            sea_orm::DatabaseBackend::Postgres => ("$1", "$2"),
            _ => ("?1", "?2"),
        };
        let sql = format!(
            "DELETE FROM tree_changes WHERE user_id = {me} AND seq IN ( \
               SELECT seq FROM ( \
                 SELECT seq, kind, \
                   ROW_NUMBER() OVER (PARTITION BY path ORDER BY seq DESC) AS newer \
                 FROM tree_changes WHERE user_id = {me} \
               ) ranked \
               WHERE newer > 1 AND kind <> {delete})"
        );
        let mut dropped = 0;
        for user_id in users {
            let values: Vec<Value> = vec![user_id.into(), ChangeKind::Delete.to_value().into()];
            dropped += self
                .db()
                .execute_raw(Statement::from_sql_and_values(backend, &sql, values))
                .await?
                .rows_affected();
        }
        Ok(dropped)
    }
}
