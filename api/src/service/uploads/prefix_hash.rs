//! The whole-file SHA-256 of an upload, computed in the background over the
//! contiguous run of stored chunks from the start, while later chunks still
//! arrive. Assembly then only hashes the tail instead of the whole file.
//!
//! Purely an accelerator held in memory: after a restart (or on another server)
//! assembly hashes every block, with the same result.
use entity::enums::UploadStatus;
use std::sync::Arc;

use entity::{chunked_upload, upload_chunk};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::service::Services;
use crate::service::error::{Error, Result};

/// Chunks looked up per step.
const STEP: u64 = 64;

/// One stored chunk of an upload: its number, block and size.
#[derive(Clone, Debug)]
pub(crate) struct StoredChunk {
    pub number: i32,
    pub sha256: String,
    pub size: i64,
}

/// Hash state of the first `next_chunk` chunks of an upload.
#[derive(Debug, Default)]
pub(crate) struct PrefixHash {
    next_chunk: i32,
    hasher: Sha256,
}

type Shared = Arc<tokio::sync::Mutex<PrefixHash>>;

impl Services {
    fn prefix_entry(&self, upload_id: Uuid) -> Option<Shared> {
        let mut map = self.inner.prefix_hashes.lock().ok()?;
        Some(map.entry(upload_id).or_default().clone())
    }

    /// Drop the prefix state of an upload (cancelled, expired, failed, assembled).
    pub(crate) fn forget_prefix(&self, upload_id: Uuid) -> Option<Shared> {
        self.inner.prefix_hashes.lock().ok()?.remove(&upload_id)
    }

    /// Forget the prefix state of uploads that no longer take chunks (a late
    /// background step can recreate one just after assembly took it).
    pub async fn prune_prefix_hashes(&self) -> Result<()> {
        let ids: Vec<Uuid> = match self.inner.prefix_hashes.lock() {
            Ok(map) => map.keys().copied().collect(),
            Err(_) => return Ok(()),
        };
        let mut live = std::collections::HashSet::new();
        for batch in ids.chunks(500) {
            let found: Vec<Uuid> = chunked_upload::Entity::find()
                .select_only()
                .column(chunked_upload::Column::Id)
                .filter(chunked_upload::Column::Id.is_in(batch.iter().copied()))
                .filter(
                    chunked_upload::Column::Status
                        .is_in([UploadStatus::Active, UploadStatus::Paused]),
                )
                .into_tuple()
                .all(self.db())
                .await?;
            live.extend(found);
        }
        if let Ok(mut map) = self.inner.prefix_hashes.lock() {
            map.retain(|id, _| live.contains(id) || !ids.contains(id));
        }
        Ok(())
    }

    /// Extend the prefix hash over newly stored chunks, in the background. If
    /// another extension is running it will be caught up by the next one, or by
    /// assembly.
    pub(crate) fn advance_prefix(&self, upload: &chunked_upload::Model) {
        let Some(entry) = self.prefix_entry(upload.id) else {
            return;
        };
        let Ok(mut state) = entry.try_lock_owned() else {
            return;
        };
        let (services, upload) = (self.clone(), upload.clone());
        tokio::spawn(async move {
            if let Err(err) = services.extend_prefix(&upload, &mut state).await {
                tracing::debug!(upload_id = %upload.id, %err, "background hashing stopped; assembly hashes it all");
                // A failed step leaves the state half-updated: start over from chunk 0.
                *state = PrefixHash::default();
            }
        });
    }

    async fn extend_prefix(
        &self,
        upload: &chunked_upload::Model,
        state: &mut PrefixHash,
    ) -> Result<()> {
        loop {
            let stored = self
                .stored_blocks_from(upload.id, state.next_chunk, Some(STEP))
                .await?;
            let run: Vec<String> = stored
                .into_iter()
                .zip(state.next_chunk..)
                .take_while(|(chunk, expected)| chunk.number == *expected)
                .map(|(chunk, _)| chunk.sha256)
                .collect();
            if run.is_empty() {
                return Ok(());
            }
            let end_chunk = state.next_chunk + run.len() as i32;
            let hasher = std::mem::take(&mut state.hasher);
            state.hasher = self.inner.blocks.hash(hasher, run).await?;
            state.next_chunk = end_chunk;
        }
    }

    /// The stored chunks of an upload from chunk `from` on, in order (at most `limit`).
    pub(crate) async fn stored_blocks_from(
        &self,
        upload_id: Uuid,
        from: i32,
        limit: Option<u64>,
    ) -> Result<Vec<StoredChunk>> {
        let rows: Vec<(i32, String, i64)> = upload_chunk::Entity::find()
            .select_only()
            .column(upload_chunk::Column::ChunkNumber)
            .column(upload_chunk::Column::Sha256)
            .column(upload_chunk::Column::Size)
            .filter(upload_chunk::Column::UploadId.eq(upload_id))
            .filter(upload_chunk::Column::ChunkNumber.gte(from))
            .order_by_asc(upload_chunk::Column::ChunkNumber)
            .limit(limit)
            .into_tuple()
            .all(self.db())
            .await?;
        Ok(rows
            .into_iter()
            .map(|(number, sha256, size)| StoredChunk {
                number,
                sha256,
                size,
            })
            .collect())
    }

    /// The whole-file SHA-256 of a fully stored upload whose chunks are
    /// `chunks` (all of them, in order): the background prefix (when this
    /// process has one) plus the blocks after it.
    pub(crate) async fn whole_file_hash(
        &self,
        upload: &chunked_upload::Model,
        chunks: &[StoredChunk],
    ) -> Result<String> {
        let (start, hasher) = match self.forget_prefix(upload.id) {
            Some(entry) => {
                let mut state = entry.lock().await;
                let taken = std::mem::take(&mut *state);
                (taken.next_chunk, taken.hasher)
            }
            None => (0, Sha256::new()),
        };
        if chunks.len() as i64 != i64::from(upload.total_chunks)
            || chunks
                .iter()
                .zip(0..)
                .any(|(chunk, expected)| chunk.number != expected)
        {
            return Err(Error::internal("an assembling upload lacks a chunk"));
        }
        let rest = chunks
            .iter()
            .skip(usize::try_from(start).unwrap_or(0))
            .map(|c| c.sha256.clone())
            .collect();
        let hasher = self.inner.blocks.hash(hasher, rest).await?;
        Ok(hex::encode(hasher.finalize()))
    }
}
