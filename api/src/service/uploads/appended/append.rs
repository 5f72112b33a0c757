//! One request's bytes appended to an upload: cut into pieces, each hashed into
//! a temporary file, taken into the block store and recorded as the upload's
//! next chunk. Without a request checksum a piece is recorded as soon as it is
//! full (an interrupted request keeps what arrived); with one, nothing is
//! recorded before the whole request's digest checks out.
use entity::enums::UploadStatus;
use entity::{appended_upload, chunked_upload};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{
    Appended, MAX_PIECES,
    checksum::{Checksum, Running},
    record::Written,
};
use crate::service::bandwidth::throttle::{Direction, Pace};
use crate::service::error::{Error, Result};
use crate::service::uploads::{in_flight::InFlight, staging::ChunkFile, state_error};
use crate::service::{Caller, Code, Services};

/// The chunk-claim number an appending request holds: one request at a time per upload.
const APPEND_CLAIM: i32 = -1;

/// A piece being written.
#[derive(Debug)]
struct Piece {
    file: ChunkFile,
    hasher: Sha256,
    size: u64,
}

/// Bytes being appended to an upload. Feed it with [`Appender::write`], then end
/// with [`Appender::finish`] (the request's body arrived whole) or
/// [`Appender::interrupted`] (it broke off).
#[derive(Debug)]
pub struct Appender {
    pub(super) services: Services,
    pub(super) caller: Caller,
    pub(super) upload_id: Uuid,
    pub(super) partial: bool,
    /// The offset recorded in the database.
    pub(super) committed: u64,
    pub(super) length: Option<u64>,
    pub(super) piece_size: u64,
    pub(super) pieces_recorded: i32,
    current: Option<Piece>,
    pub(super) waiting: Vec<Written>,
    checksum: Option<(Checksum, Running)>,
    /// The request's end is the upload's end (its length set then, if deferred).
    ends_upload: bool,
    pace: Pace,
    _claim: InFlight,
}

impl Services {
    /// Begin appending to the caller's upload at `offset`, which must be where
    /// it stands (else `offset_mismatch`). `length` declares a deferred length.
    pub async fn begin_append(
        &self,
        caller: &Caller,
        upload_id: Uuid,
        offset: u64,
        length: Option<u64>,
    ) -> Result<Appender> {
        // Claimed before reading where it stands: a request read after another's
        // records compares against the offset those records left.
        let claim = InFlight::claim(
            self,
            (upload_id, APPEND_CLAIM),
            "another request is appending to this upload",
        )?;
        let mut upload = self.load_upload(caller, upload_id).await?;
        let row = self.appended_row(upload_id).await?;
        if row.parts.is_some() {
            return Err(Error::forbidden(
                "a final upload is made of its parts: it takes no bytes of its own",
            ));
        }
        if upload.status != UploadStatus::Active {
            return Err(state_error(upload.status));
        }
        let stored = upload.uploaded_bytes as u64;
        if offset != stored {
            return Err(Error::new(
                Code::OffsetMismatch,
                format!("the upload stands at offset {stored}, not {offset}"),
            ));
        }
        let limits = self.limits();
        let known = match (row.length_deferred, length) {
            (true, Some(length)) => {
                if length < stored || length > limits.max_file_size {
                    return Err(Error::new(
                        Code::FileTooLarge,
                        format!(
                            "the length must be between {stored} and {} bytes",
                            limits.max_file_size
                        ),
                    ));
                }
                self.declare_length(upload_id, length).await?;
                upload.total_size = length as i64;
                Some(length)
            }
            (true, None) => None,
            (false, Some(length)) if length != upload.total_size as u64 => {
                return Err(Error::new(
                    Code::InvalidInput,
                    "the upload's length is set already and cannot change",
                ));
            }
            (false, _) => Some(upload.total_size as u64),
        };
        let piece_size = limits.default_chunk_size.max(1);
        let needed = known.map_or(piece_size, |l| l - stored);
        self.inner
            .blobs
            .ensure_space(needed, limits.min_free_space)
            .await?;
        Ok(Appender {
            pace: self.pace(upload.user_id, Direction::Upload),
            services: self.clone(),
            caller: caller.clone(),
            upload_id,
            partial: row.partial,
            committed: stored,
            length: known,
            piece_size,
            pieces_recorded: upload.completed_chunks,
            current: None,
            waiting: Vec::new(),
            checksum: None,
            ends_upload: false,
            _claim: claim,
        })
    }

    /// Set a deferred length, once: a second declaration (by a racing request,
    /// on any node) must name the same length.
    pub(super) async fn declare_length(&self, upload_id: Uuid, length: u64) -> Result<()> {
        let txn = self.begin_write().await?;
        let declared = appended_upload::Entity::update_many()
            .col_expr(appended_upload::Column::LengthDeferred, Expr::value(false))
            .filter(appended_upload::Column::UploadId.eq(upload_id))
            .filter(appended_upload::Column::LengthDeferred.eq(true))
            .exec(&txn)
            .await?;
        if declared.rows_affected == 0 {
            drop(txn);
            let upload = chunked_upload::Entity::find_by_id(upload_id)
                .one(self.db())
                .await?
                .ok_or(Error::not_found("upload"))?;
            if upload.total_size as u64 != length {
                return Err(Error::new(
                    Code::InvalidInput,
                    "the upload's length is set already and cannot change",
                ));
            }
            return Ok(());
        }
        chunked_upload::Entity::update_many()
            .col_expr(
                chunked_upload::Column::TotalSize,
                Expr::value(length as i64),
            )
            .filter(chunked_upload::Column::Id.eq(upload_id))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }
}

impl Appender {
    /// Check the request's bytes against `checksum` before any is recorded.
    pub fn verify_with(&mut self, checksum: Checksum) {
        let running = Running::new(checksum.algorithm);
        self.checksum = Some((checksum, running));
    }

    /// This request's last byte is the upload's last: a deferred length is
    /// set to the offset once the body has arrived whole.
    pub fn ends_upload(&mut self) {
        self.ends_upload = true;
    }

    /// The offset the next byte will land at.
    pub fn offset(&self) -> u64 {
        self.committed + self.waiting.iter().map(|w| w.size).sum::<u64>() + self.current_size()
    }

    fn current_size(&self) -> u64 {
        self.current.as_ref().map_or(0, |p| p.size)
    }

    /// Append the next bytes of the request. Past the upload's length is 413.
    pub async fn write(&mut self, mut data: &[u8]) -> Result<()> {
        let limit = self.length.unwrap_or(self.services.limits().max_file_size);
        if self.offset() + data.len() as u64 > limit {
            return Err(Error::new(
                Code::ChunkTooLarge,
                format!("the upload holds {limit} bytes: this request goes past its end"),
            ));
        }
        self.pace.take(data.len()).await;
        if let Some((_, running)) = &mut self.checksum {
            running.update(data);
        }
        while !data.is_empty() {
            if self.current.is_none() {
                let pieces = self.pieces_recorded + self.waiting.len() as i32;
                if pieces >= MAX_PIECES {
                    return Err(Error::new(
                        Code::InvalidInput,
                        format!(
                            "an upload holds at most {MAX_PIECES} pieces: send larger requests"
                        ),
                    ));
                }
                self.current = Some(Piece {
                    file: ChunkFile::create(&self.services.inner.blobs).await?,
                    hasher: Sha256::new(),
                    size: 0,
                });
            }
            let piece = self.current.as_mut().expect("a piece was just opened");
            let room = (self.piece_size - piece.size) as usize;
            let (now, rest) = data.split_at(room.min(data.len()));
            piece.hasher.update(now);
            piece.file.write(now).await?;
            piece.size += now.len() as u64;
            data = rest;
            if piece.size == self.piece_size {
                self.close_piece().await?;
            }
        }
        Ok(())
    }

    /// The request's body arrived whole: check its checksum, record what is
    /// left, and commit the file when this completed the upload.
    pub async fn finish(mut self) -> Result<Appended> {
        let empty_file = self.length == Some(0) && self.pieces_recorded == 0;
        if self.current.is_some() || (empty_file && self.waiting.is_empty()) {
            if self.current.is_none() {
                self.current = Some(Piece {
                    file: ChunkFile::create(&self.services.inner.blobs).await?,
                    hasher: Sha256::new(),
                    size: 0,
                });
            }
            self.close_piece().await?;
        }
        if let Some((claimed, running)) = self.checksum.take()
            && running.finish() != claimed.digest
        {
            // Dropping a waiting piece removes its file.
            self.waiting.clear();
            return Err(Error::new(
                Code::ChecksumMismatch,
                format!(
                    "the request's {} checksum does not match its body: nothing of it was kept",
                    claimed.algorithm.name()
                ),
            ));
        }
        let waiting = std::mem::take(&mut self.waiting);
        self.record(waiting).await?;
        if self.ends_upload && self.length.is_none() {
            self.services
                .declare_length(self.upload_id, self.committed)
                .await?;
            self.length = Some(self.committed);
        }
        self.conclude().await
    }

    /// The request broke off: without a checksum what arrived is kept, with
    /// one nothing is.
    pub async fn interrupted(mut self) -> Result<Appended> {
        if self.checksum.is_some() {
            self.current = None;
            // Dropping a waiting piece removes its file.
            self.waiting.clear();
        } else if self.current_size() > 0 {
            self.close_piece().await?;
        }
        let waiting = std::mem::take(&mut self.waiting);
        self.record(waiting).await?;
        self.conclude().await
    }

    async fn close_piece(&mut self) -> Result<()> {
        let Some(piece) = self.current.take() else {
            return Ok(());
        };
        let path = piece.file.finish().await?;
        let written = Written {
            path,
            sha256: hex::encode(piece.hasher.finalize()),
            size: piece.size,
        };
        if self.checksum.is_some() {
            self.waiting.push(written);
            Ok(())
        } else {
            self.record(vec![written]).await
        }
    }

    /// Commit the file if the upload is complete; where it stands.
    async fn conclude(self) -> Result<Appended> {
        let mut upload = chunked_upload::Entity::find_by_id(self.upload_id)
            .one(self.services.db())
            .await?
            .ok_or(Error::not_found("upload"))?;
        // A length declared at the offset already reached (a last request with
        // no bytes) completes the upload here: nothing was recorded to do it.
        if upload.status == UploadStatus::Active
            && !self.partial
            && self.length == Some(self.committed)
            && upload.uploaded_bytes as u64 == self.committed
        {
            self.services.mark_complete(&upload).await?;
            upload = chunked_upload::Entity::find_by_id(self.upload_id)
                .one(self.services.db())
                .await?
                .ok_or(Error::not_found("upload"))?;
        }
        if upload.status == UploadStatus::Assembling {
            let services = self.services.clone();
            let (caller, upload_id) = (self.caller.clone(), self.upload_id);
            drop(self);
            let assembled = services.assemble_detached(upload).await;
            services.publish_upload(upload_id).await;
            assembled?;
            return services.appended(&caller, upload_id).await;
        }
        if upload.status == UploadStatus::Active {
            self.services.advance_prefix(&upload);
        }
        self.services.appended(&self.caller, self.upload_id).await
    }
}
