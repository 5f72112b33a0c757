//! Version retention and the block collector.
//!
//! A run first applies the retention setting (keep the last N versions of each
//! file, and/or versions younger than N days; the current version always
//! stays), then drops the manifests of contents no version holds, then deletes
//! every stored block that nothing refers to — no manifest, no chunk of an
//! unfinished upload — and that has not been written or reused within the
//! grace period. Each batch of deletions re-checks its blocks while holding
//! the store's `block_use` lock alone, so a block cannot be taken into use
//! between the check and the delete (see [`Services::begin_chunk`] and the
//! other holders). Killed at any point, a run loses nothing: every step only
//! removes what nothing refers to, and the next run goes on.
use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{
    blob, chunked_upload, content_block, enums::UploadStatus, file_metadata, file_version, gc_run,
    upload_chunk,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait, Query},
};
use serde::Serialize;
use uuid::Uuid;

use crate::service::error::{Error, Result};
use crate::service::{Caller, Role, Services, audit::AuditEntry};

/// Blocks checked and deleted under one hold of the lock.
const DELETE_BATCH: usize = 256;

/// How long old versions are kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Retention {
    /// Keep at most this many versions of each file (`None`: all).
    pub keep_versions: Option<u32>,
    /// Keep older versions only this many days (`None`: forever).
    pub keep_days: Option<u32>,
}

/// The collector's settings.
#[derive(Clone, Copy, Debug)]
pub struct Collection {
    pub retention: Retention,
    /// An unreferenced block younger than this stays (uploads in flight on
    /// other processes sharing the store).
    pub grace: Duration,
}

impl Default for Collection {
    fn default() -> Self {
        Self {
            retention: Retention::default(),
            grace: Duration::from_secs(3600),
        }
    }
}

/// What one run did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StorageReport {
    pub id: Uuid,
    pub started_at: DateTime<Utc>,
    /// `None` while running, or when the run was cut short.
    pub finished_at: Option<DateTime<Utc>>,
    pub versions_pruned: u64,
    pub blocks_deleted: u64,
    pub bytes_reclaimed: u64,
    /// What the store holds after the run.
    pub blocks_kept: u64,
    pub bytes_used: u64,
}

impl From<gc_run::Model> for StorageReport {
    fn from(row: gc_run::Model) -> Self {
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        Self {
            id: row.id,
            started_at: row.started_at,
            finished_at: row.finished_at,
            versions_pruned: n(row.versions_pruned),
            blocks_deleted: n(row.blocks_deleted),
            bytes_reclaimed: n(row.bytes_reclaimed),
            blocks_kept: n(row.blocks_kept),
            bytes_used: n(row.bytes_used),
        }
    }
}

fn admin_only(caller: Option<&Caller>) -> Result<()> {
    match caller {
        Some(c) if c.role != Role::Admin => Err(Error::forbidden("only an admin may do this")),
        _ => Ok(()),
    }
}

impl Services {
    /// Run the collector now (`caller`: an admin; `None`: the server's job).
    #[tracing::instrument(skip_all, err)]
    pub async fn collect_garbage(&self, caller: Option<&Caller>) -> Result<StorageReport> {
        admin_only(caller)?;
        let _one_at_a_time = self.inner.collecting.lock().await;
        let started_at = self.clock().now();
        let id = Uuid::new_v4();
        gc_run::ActiveModel {
            id: Set(id),
            started_at: Set(started_at),
            finished_at: Set(None),
            versions_pruned: Set(0),
            blocks_deleted: Set(0),
            bytes_reclaimed: Set(0),
            blocks_kept: Set(0),
            bytes_used: Set(0),
        }
        .insert(self.db())
        .await?;
        let collection = self.inner.collection;
        let versions_pruned = {
            let _alone = self.blocks_alone().await?;
            let pruned = self
                .prune_versions(collection.retention, started_at)
                .await?;
            self.drop_orphan_manifests().await?;
            pruned
        };
        gc_run::Entity::update_many()
            .col_expr(
                gc_run::Column::VersionsPruned,
                Expr::value(i64::try_from(versions_pruned).unwrap_or(i64::MAX)),
            )
            .filter(gc_run::Column::Id.eq(id))
            .exec(self.db())
            .await?;
        self.pause_point("gc.pruned").await;

        let cutoff = std::time::SystemTime::now()
            .checked_sub(collection.grace)
            .unwrap_or(std::time::UNIX_EPOCH);
        let stored = self.inner.blocks.list().await?;
        let (mut kept, mut used) = (0u64, 0u64);
        let mut candidates = Vec::new();
        for block in stored {
            if block.used_at <= cutoff {
                candidates.push(block);
            } else {
                kept += 1;
                used += block.size;
            }
        }
        let (mut deleted, mut reclaimed) = (0u64, 0u64);
        for batch in candidates.chunks(DELETE_BATCH) {
            let _alone = self.blocks_alone().await?;
            let names: Vec<&str> = batch.iter().map(|b| b.sha256.as_str()).collect();
            let referenced = self.referenced_blocks(&names).await?;
            for block in batch {
                if referenced.contains(&block.sha256) {
                    kept += 1;
                    used += block.size;
                    continue;
                }
                self.inner.blocks.remove(&block.sha256).await?;
                deleted += 1;
                reclaimed += block.size;
                self.pause_point("gc.deleted").await;
            }
        }
        let finished_at = self.clock().now();
        let size = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        gc_run::Entity::update_many()
            .col_expr(gc_run::Column::FinishedAt, Expr::value(Some(finished_at)))
            .col_expr(
                gc_run::Column::VersionsPruned,
                Expr::value(size(versions_pruned)),
            )
            .col_expr(gc_run::Column::BlocksDeleted, Expr::value(size(deleted)))
            .col_expr(gc_run::Column::BytesReclaimed, Expr::value(size(reclaimed)))
            .col_expr(gc_run::Column::BlocksKept, Expr::value(size(kept)))
            .col_expr(gc_run::Column::BytesUsed, Expr::value(size(used)))
            .filter(gc_run::Column::Id.eq(id))
            .exec(self.db())
            .await?;
        let report = StorageReport {
            id,
            started_at,
            finished_at: Some(finished_at),
            versions_pruned,
            blocks_deleted: deleted,
            bytes_reclaimed: reclaimed,
            blocks_kept: kept,
            bytes_used: used,
        };
        let entry = AuditEntry {
            action: "storage.collected",
            target_type: "storage",
            target_id: Some(id.to_string()),
            before: None,
            after: Some(serde_json::json!(report)),
        };
        self.audit(self.db(), caller, entry).await?;
        Ok(report)
    }

    /// The latest collector runs, newest first (admins only).
    pub async fn storage_reports(&self, caller: &Caller, first: u64) -> Result<Vec<StorageReport>> {
        admin_only(Some(caller))?;
        Ok(gc_run::Entity::find()
            .order_by_desc(gc_run::Column::StartedAt)
            .limit(first.clamp(1, 100))
            .all(self.db())
            .await?
            .into_iter()
            .map(StorageReport::from)
            .collect())
    }

    /// Delete the versions the retention setting no longer keeps; how many.
    async fn prune_versions(&self, retention: Retention, now: DateTime<Utc>) -> Result<u64> {
        let mut pruned = 0;
        let current = Expr::col((file_metadata::Entity, file_metadata::Column::Version));
        let version = Expr::col((file_version::Entity, file_version::Column::Version));
        let mut conditions = Vec::new();
        if let Some(keep) = retention.keep_versions {
            let keep = i32::try_from(std::cmp::max(keep, 1)).unwrap_or(i32::MAX);
            conditions.push(version.clone().lte(current.clone().sub(keep)));
        }
        if let Some(days) = retention.keep_days {
            let cutoff = now - chrono::Duration::days(i64::from(days));
            conditions.push(version.clone().lt(current.clone()).and(
                Expr::col((file_version::Entity, file_version::Column::CreatedAt)).lt(cutoff),
            ));
        }
        for condition in conditions {
            let doomed = Query::select()
                .column((file_version::Entity, file_version::Column::Id))
                .from(file_version::Entity)
                .inner_join(
                    file_metadata::Entity,
                    Expr::col((file_metadata::Entity, file_metadata::Column::Id))
                        .equals((file_version::Entity, file_version::Column::FileId)),
                )
                .and_where(condition)
                .to_owned();
            let deleted = file_version::Entity::delete_many()
                .filter(file_version::Column::Id.in_subquery(doomed))
                .exec(self.db())
                .await?;
            pruned += deleted.rows_affected;
        }
        Ok(pruned)
    }

    /// Drop the manifests (and content rows) of contents no version holds, in
    /// one transaction: a content's `blobs` row and its manifest go together
    /// (the first commit of a content writes its manifest only with a new row).
    async fn drop_orphan_manifests(&self) -> Result<()> {
        let held = Query::select()
            .column(file_version::Column::Sha256)
            .from(file_version::Entity)
            .to_owned();
        let txn = self.begin_write().await?;
        content_block::Entity::delete_many()
            .filter(content_block::Column::ContentSha256.not_in_subquery(held.clone()))
            .exec(&txn)
            .await?;
        blob::Entity::delete_many()
            .filter(blob::Column::Sha256.not_in_subquery(held))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Which of `names` a manifest or an unfinished upload's chunk refers to.
    async fn referenced_blocks(&self, names: &[&str]) -> Result<HashSet<String>> {
        let db = self.db();
        let mut referenced: HashSet<String> = content_block::Entity::find()
            .select_only()
            .column(content_block::Column::BlockSha256)
            .filter(content_block::Column::BlockSha256.is_in(names.iter().copied()))
            .into_tuple::<String>()
            .all(db)
            .await?
            .into_iter()
            .collect();
        let unfinished = Query::select()
            .column(chunked_upload::Column::Id)
            .from(chunked_upload::Entity)
            .and_where(chunked_upload::Column::Status.is_in(UploadStatus::UNFINISHED))
            .to_owned();
        let chunks: Vec<String> = upload_chunk::Entity::find()
            .select_only()
            .column(upload_chunk::Column::Sha256)
            .filter(upload_chunk::Column::Sha256.is_in(names.iter().copied()))
            .filter(upload_chunk::Column::UploadId.in_subquery(unfinished))
            .into_tuple()
            .all(db)
            .await?;
        referenced.extend(chunks);
        Ok(referenced)
    }
}
