//! Recording appended pieces: taken into the block store, then one transaction
//! inserts them as the upload's next chunks and moves its offset — only if the
//! upload still stands where the request began (else `offset_mismatch`).
use std::path::PathBuf;

use entity::enums::UploadStatus;
use entity::{chunked_upload, upload_chunk};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set, sea_query::Expr};

use super::append::Appender;
use crate::service::error::{Error, Result};
use crate::service::metrics::Protocol;
use crate::service::{Code, Services};

/// A piece written and synced, not yet recorded. Dropped, its file goes (once
/// the store has taken it there is none left to remove).
#[derive(Debug)]
pub(super) struct Written {
    pub(super) path: PathBuf,
    pub(super) sha256: String,
    pub(super) size: u64,
}

impl Drop for Written {
    fn drop(&mut self) {
        if let Err(err) = std::fs::remove_file(&self.path)
            && err.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), %err, "cannot remove an unrecorded piece");
        }
    }
}

impl Services {
    /// Move an upload whose last byte is recorded to assembly, with as many
    /// chunks as it has pieces.
    pub(super) async fn mark_complete(&self, upload: &chunked_upload::Model) -> Result<()> {
        chunked_upload::Entity::update_many()
            .col_expr(
                chunked_upload::Column::TotalChunks,
                Expr::value(upload.completed_chunks),
            )
            .col_expr(
                chunked_upload::Column::Status,
                Expr::value(UploadStatus::Assembling),
            )
            .filter(chunked_upload::Column::Id.eq(upload.id))
            .filter(chunked_upload::Column::Status.eq(UploadStatus::Active))
            .filter(chunked_upload::Column::UploadedBytes.eq(upload.total_size))
            .exec(self.db())
            .await?;
        Ok(())
    }
}

impl Appender {
    /// Take `pieces` into the store and record them as the next chunks, if the
    /// upload still stands where this request began.
    pub(super) async fn record(&mut self, pieces: Vec<Written>) -> Result<()> {
        if pieces.is_empty() {
            return Ok(());
        }
        let services = self.services.clone();
        let in_use = services.blocks_in_use().await?;
        for piece in &pieces {
            services
                .inner
                .blocks
                .adopt(&piece.path, &piece.sha256)
                .await?;
        }
        let now = services.clock().now();
        let bytes: u64 = pieces.iter().map(|p| p.size).sum();
        let new_offset = self.committed + bytes;
        let first = self.pieces_recorded;
        let recorded = first + pieces.len() as i32;
        let remaining = self.length.map(|l| l.saturating_sub(new_offset));
        let still_to_come = match remaining {
            Some(left) => left.div_ceil(self.piece_size) as i32,
            None => 1,
        };
        let complete = remaining == Some(0);
        let status = if complete && !self.partial {
            UploadStatus::Assembling
        } else {
            UploadStatus::Active
        };
        let txn = services.begin_write().await?;
        // The offset moves first: a request racing this one (on another node) waits
        // on the row and then finds the offset moved, before any chunk row clashes.
        let moved = chunked_upload::Entity::update_many()
            .col_expr(
                chunked_upload::Column::CompletedChunks,
                Expr::value(recorded),
            )
            .col_expr(
                chunked_upload::Column::TotalChunks,
                Expr::value(recorded + still_to_come),
            )
            .col_expr(
                chunked_upload::Column::UploadedBytes,
                Expr::value(new_offset as i64),
            )
            .col_expr(chunked_upload::Column::Status, Expr::value(status))
            .col_expr(chunked_upload::Column::UpdatedAt, Expr::value(now))
            .col_expr(
                chunked_upload::Column::ExpiresAt,
                Expr::value(now + services.upload_ttl()),
            )
            .filter(chunked_upload::Column::Id.eq(self.upload_id))
            .filter(chunked_upload::Column::Status.eq(UploadStatus::Active))
            .filter(chunked_upload::Column::UploadedBytes.eq(self.committed as i64));
        // Completion is judged by this request's length: it must still be the upload's.
        let moved = match self.length {
            Some(length) => moved.filter(chunked_upload::Column::TotalSize.eq(length as i64)),
            None => moved,
        }
        .exec(&txn)
        .await?;
        if moved.rows_affected == 0 {
            drop(txn);
            return Err(Error::new(
                Code::OffsetMismatch,
                "the upload changed while this request was writing to it",
            ));
        }
        for (number, piece) in (first..).zip(&pieces) {
            upload_chunk::Entity::insert(upload_chunk::ActiveModel {
                upload_id: Set(self.upload_id),
                chunk_number: Set(number),
                size: Set(piece.size as i64),
                sha256: Set(piece.sha256.clone()),
                created_at: Set(now),
            })
            .exec_without_returning(&txn)
            .await?;
        }
        txn.commit().await?;
        drop(in_use);
        self.committed = new_offset;
        self.pieces_recorded = recorded;
        for number in first..recorded {
            services.inner.stored_chunks.stored(self.upload_id, number);
        }
        services.metrics().bytes_received.inc_by(bytes);
        services.metrics().received(Protocol::Tus, bytes);
        services.publish_upload(self.upload_id).await;
        Ok(())
    }
}
