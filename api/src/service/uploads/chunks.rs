//! Chunk intake: a chunk's bytes stream into a temporary file while hashed; a
//! chunk whose size and SHA-256 check out is renamed into the block store under
//! that hash and recorded. A chunk *is* a block.
use crate::service::Code;
use entity::enums::UploadStatus;
use std::sync::Arc;

use entity::{chunked_upload, file_version, upload_chunk};
use sea_orm::{
    ColumnTrait, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, ExprTrait},
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::service::error::{Error, Result};
use crate::service::{
    Caller, Services,
    files::FileInfo,
    uploads::conflicts::ConflictOutcome,
    uploads::in_flight::InFlight,
    uploads::staging::ChunkFile,
    uploads::{parse_sha256, state_error},
};

/// The answer to a stored chunk.
#[derive(Debug, Serialize)]
pub struct ChunkOutcome {
    pub chunk_number: i32,
    pub status: UploadStatus,
    pub completed_chunks: i32,
    pub total_chunks: i32,
    pub progress_percent: f64,
    /// The committed file, when this chunk completed the upload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<FileInfo>,
    /// How a `base_version` conflict was resolved, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<ConflictOutcome>,
}

/// A chunk being received. Feed it with [`ChunkWriter::write`], then call
/// [`ChunkWriter::finish`] with the client's hash. Dropping it stores nothing.
#[derive(Debug)]
pub struct ChunkWriter {
    upload: chunked_upload::Model,
    chunk_number: i32,
    expected: u64,
    received: u64,
    hasher: Sha256,
    /// `None` when the chunk is stored already: the bytes are only checked.
    sink: Option<ChunkFile>,
    stored_hash: Option<String>,
    /// The block a delta upload announced at this position.
    announced: Option<String>,
    _claim: Arc<InFlight>,
    /// The user's upload bucket: reading the body waits for it.
    pace: crate::service::bandwidth::throttle::Pace,
}

impl Services {
    /// Begin receiving chunk `chunk_number` of the caller's upload.
    pub async fn begin_chunk(
        &self,
        caller: &Caller,
        upload_id: Uuid,
        chunk_number: i64,
    ) -> Result<ChunkWriter> {
        let upload = self.load_upload(caller, upload_id).await?;
        // An upload growing by offset (tus) takes no numbered chunks: its pieces vary in size.
        if entity::appended_upload::Entity::find_by_id(upload_id)
            .one(self.db())
            .await?
            .is_some()
        {
            return Err(Error::new(
                Code::InvalidChunkNumber,
                "this upload takes its bytes by offset (tus), not by chunk number",
            ));
        }
        // Once every chunk is in, a re-sent chunk is only checked (a harmless 200).
        let all_in = matches!(
            upload.status,
            UploadStatus::Assembling | UploadStatus::Completed
        );
        if upload.status != UploadStatus::Active && !all_in {
            return Err(state_error(upload.status));
        }
        let chunk_number = i32::try_from(chunk_number)
            .ok()
            .filter(|n| (0..upload.total_chunks).contains(n))
            .ok_or_else(|| {
                Error::new(
                    Code::InvalidChunkNumber,
                    format!(
                        "chunk_number must be between 0 and {}",
                        upload.total_chunks - 1
                    ),
                )
            })?;
        let claim = Arc::new(InFlight::claim(
            self,
            (upload.id, chunk_number),
            "this chunk is being received by another request",
        )?);
        let (expected, announced) = if upload.announced_blocks {
            let (sha, size) = self.announced_block(upload.id, chunk_number).await?;
            (u64::try_from(size).unwrap_or(0), Some(sha))
        } else {
            let chunk_size = upload.chunk_size as u64;
            let offset = u64::try_from(chunk_number).unwrap_or(0) * chunk_size;
            (
                std::cmp::min(upload.total_size as u64 - offset, chunk_size),
                None,
            )
        };
        let stored_hash = upload_chunk::Entity::find_by_id((upload.id, chunk_number))
            .one(self.db())
            .await?
            .map(|c| c.sha256);
        if all_in && stored_hash.is_none() {
            return Err(state_error(upload.status));
        }
        let sink = if stored_hash.is_some() {
            None
        } else {
            self.inner
                .blobs
                .ensure_space(expected, self.limits().min_free_space)
                .await?;
            let mut file = ChunkFile::create(&self.inner.blobs).await?;
            file.hold(claim.clone());
            Some(file)
        };
        Ok(ChunkWriter {
            pace: self.pace(
                upload.user_id,
                crate::service::bandwidth::throttle::Direction::Upload,
            ),
            upload,
            chunk_number,
            expected,
            received: 0,
            hasher: Sha256::new(),
            sink,
            stored_hash,
            announced,
            _claim: claim,
        })
    }

    /// Check and record a fully received chunk; assemble when it was the last.
    #[tracing::instrument(skip_all, err, fields(upload_id = %writer.upload.id, chunk = writer.chunk_number))]
    pub async fn finish_chunk(
        &self,
        caller: &Caller,
        mut writer: ChunkWriter,
        claimed_hash: &str,
    ) -> Result<ChunkOutcome> {
        let claimed = parse_sha256(claimed_hash, Code::InvalidChunkHash)?;
        if writer.announced.as_ref().is_some_and(|a| *a != claimed) {
            return Err(Error::new(
                Code::HashMismatch,
                format!(
                    "chunk {} must be the block announced at its position at start",
                    writer.chunk_number
                ),
            ));
        }
        if writer.received != writer.expected {
            return Err(Error::new(
                Code::ChunkSizeMismatch,
                format!(
                    "chunk {} must be {} bytes, got {}",
                    writer.chunk_number, writer.expected, writer.received
                ),
            ));
        }
        let actual = hex::encode(std::mem::take(&mut writer.hasher).finalize());
        if actual != claimed {
            return Err(Error::new(
                Code::HashMismatch,
                "the chunk's SHA-256 does not match chunk_hash",
            ));
        }
        let upload_id = writer.upload.id;
        if let Some(stored) = &writer.stored_hash {
            if *stored != actual {
                return Err(Error::new(
                    Code::ChunkConflict,
                    "this chunk was stored already with other content",
                ));
            }
            let upload = self.load_upload(caller, upload_id).await?;
            let file = self.committed_file(&upload).await?;
            return self.chunk_outcome(&upload, writer.chunk_number, file).await;
        }
        // From the rename into the store until the chunk row is in, the collector waits.
        let in_use = self.blocks_in_use().await?;
        if let Some(sink) = writer.sink.take() {
            let temp = sink.finish().await?;
            self.inner.blocks.adopt(&temp, &actual).await?;
        }
        self.pause_point("chunk.written").await;
        let size = writer.expected as i64;
        let now = self.clock().now();
        let txn = self.begin_write().await?;
        // One received block completes every position announcing it.
        let mut positions = vec![writer.chunk_number];
        if writer.announced.is_some() {
            positions.extend(
                self.repeats_of(&txn, upload_id, &actual, writer.chunk_number)
                    .await?,
            );
        }
        let mut recorded = Vec::with_capacity(positions.len());
        for position in positions {
            let inserted = upload_chunk::Entity::insert(upload_chunk::ActiveModel {
                upload_id: Set(upload_id),
                chunk_number: Set(position),
                size: Set(size),
                sha256: Set(actual.clone()),
                created_at: Set(now),
            })
            .on_conflict_do_nothing()
            .exec_without_returning(&txn)
            .await?;
            if matches!(inserted, sea_orm::TryInsertResult::Inserted(n) if n > 0) {
                recorded.push(position);
            }
        }
        let count = recorded.len() as i32;
        let counted = chunked_upload::Entity::update_many()
            .col_expr(
                chunked_upload::Column::CompletedChunks,
                Expr::col(chunked_upload::Column::CompletedChunks).add(count),
            )
            .col_expr(
                chunked_upload::Column::UploadedBytes,
                Expr::col(chunked_upload::Column::UploadedBytes).add(size * i64::from(count)),
            )
            .col_expr(chunked_upload::Column::UpdatedAt, Expr::value(now))
            .col_expr(
                chunked_upload::Column::ExpiresAt,
                Expr::value(now + chrono::Duration::days(i64::from(self.limits().cleanup_days))),
            )
            .filter(chunked_upload::Column::Id.eq(upload_id))
            .filter(chunked_upload::Column::Status.eq(UploadStatus::Active))
            .exec(&txn)
            .await?;
        if counted.rows_affected == 0 {
            drop(txn);
            let upload = self.load_upload(caller, upload_id).await?;
            return Err(state_error(upload.status));
        }
        let upload = chunked_upload::Entity::find_by_id(upload_id)
            .one(&txn)
            .await?
            .ok_or(Error::not_found("upload"))?;
        let last = upload.completed_chunks >= upload.total_chunks;
        if last {
            chunked_upload::Entity::update_many()
                .col_expr(
                    chunked_upload::Column::Status,
                    Expr::value(UploadStatus::Assembling),
                )
                .filter(chunked_upload::Column::Id.eq(upload_id))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        drop(in_use);
        for position in recorded {
            self.inner.stored_chunks.stored(upload_id, position);
        }
        self.metrics().bytes_received.inc_by(writer.expected);
        self.metrics()
            .received(crate::service::metrics::Protocol::Chunked, writer.expected);
        let chunk_number = writer.chunk_number;
        drop(writer);
        if !last {
            self.advance_prefix(&upload);
            self.publish_upload(upload_id).await;
            return self.chunk_outcome(&upload, chunk_number, None).await;
        }
        let assembled = self.assemble_detached(upload).await;
        self.publish_upload(upload_id).await;
        let file = assembled?;
        let upload = self.load_upload(caller, upload_id).await?;
        self.chunk_outcome(&upload, chunk_number, Some(file)).await
    }

    /// The file version a completed upload committed.
    pub(crate) async fn committed_file(
        &self,
        upload: &chunked_upload::Model,
    ) -> Result<Option<FileInfo>> {
        if upload.status != UploadStatus::Completed {
            return Ok(None);
        }
        let version = file_version::Entity::find()
            .filter(file_version::Column::UploadId.eq(upload.id))
            .one(self.db())
            .await?;
        Ok(version.map(|v| FileInfo {
            path: upload
                .result_path
                .clone()
                .unwrap_or_else(|| upload.file_path.clone()),
            size: v.size as u64,
            sha256: v.sha256,
            version: v.version,
            modified_at: v.modified_at,
        }))
    }

    async fn chunk_outcome(
        &self,
        upload: &chunked_upload::Model,
        chunk_number: i32,
        file: Option<FileInfo>,
    ) -> Result<ChunkOutcome> {
        // From the upload row alone: no per-chunk scan of the stored chunks.
        Ok(ChunkOutcome {
            chunk_number,
            status: crate::service::uploads::public_status(upload.status),
            completed_chunks: upload.completed_chunks,
            total_chunks: upload.total_chunks,
            progress_percent: crate::service::uploads::progress_percent(
                upload.completed_chunks,
                upload.total_chunks,
            ),
            file,
            conflict: upload
                .conflict
                .as_deref()
                .and_then(|c| serde_json::from_str(c).ok()),
        })
    }
}

impl ChunkWriter {
    /// Take the next piece of the chunk's body: hashed, and written in place
    /// unless the chunk is stored already. More bytes than the chunk holds is 413.
    pub async fn write(&mut self, data: &[u8]) -> Result<()> {
        let len = data.len() as u64;
        if self.received + len > self.expected {
            return Err(Error::new(
                Code::ChunkTooLarge,
                format!(
                    "chunk {} holds at most {} bytes",
                    self.chunk_number, self.expected
                ),
            ));
        }
        self.pace.take(data.len()).await;
        self.hasher.update(data);
        if let Some(sink) = &mut self.sink {
            sink.write(data).await?;
        }
        self.received += len;
        Ok(())
    }

    /// The chunk number being received.
    pub fn chunk_number(&self) -> i32 {
        self.chunk_number
    }
}
