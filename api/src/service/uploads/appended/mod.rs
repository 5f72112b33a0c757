//! Uploads that grow by offset (what tus speaks): the same chunked uploads,
//! blocks, limits, expiry and events, but the client sends bytes at an offset
//! instead of numbered chunks. Each request's bytes are cut into pieces of at
//! most the upload's chunk size; every piece is a block, recorded as the next
//! chunk of the upload, so chunk sizes vary and the offset is the sum of the
//! recorded pieces — what survives a crash is exactly what the offset says.
//!
//! A partial upload collects pieces and commits nothing; a final upload joins
//! complete partial uploads by recording their pieces in order, then assembles
//! like any other upload.
mod append;
pub mod checksum;
mod record;

use chrono::{DateTime, Utc};
use entity::enums::UploadStatus;
use entity::{appended_upload, chunked_upload, upload_chunk};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, sea_query::Expr,
};
use uuid::Uuid;

pub use append::Appender;

use crate::service::error::{Error, Result};
use crate::service::{Caller, Code, Services, files::FileInfo, uploads::StartUpload};

/// The device an upload is recorded for when neither the client nor its token names one.
pub const DEFAULT_DEVICE: &str = "tus";
/// Most parts one final upload may join.
pub const MAX_PARTS: usize = 64;
/// Longest metadata kept for an upload (tus `Upload-Metadata`).
pub const MAX_METADATA: usize = 4096;
/// Most pieces one upload may hold: a client sending many tiny requests is
/// refused before it makes the chunk table grow without bound.
pub const MAX_PIECES: i32 = 100_000;

/// What a client asks for when creating an appended upload.
#[derive(Debug)]
pub struct StartAppended {
    /// Device, path, name, modification time, base version and whole-file
    /// hash; `total_size`, `chunk_size` and `blocks` are ignored.
    pub target: StartUpload,
    /// The length, or `None` when it comes later.
    pub length: Option<u64>,
    /// A part of a later concatenation.
    pub partial: bool,
    /// The client's metadata, kept as sent.
    pub metadata: Option<String>,
}

/// Where an appended upload stands.
#[derive(Clone, Debug)]
pub struct Appended {
    pub upload_id: Uuid,
    pub status: UploadStatus,
    /// Bytes stored, in order from the start.
    pub offset: u64,
    /// `None` while the length is still to come.
    pub length: Option<u64>,
    pub partial: bool,
    /// A final upload's parts.
    pub parts: Vec<Uuid>,
    pub metadata: Option<String>,
    pub expires_at: DateTime<Utc>,
    /// The committed file, once complete.
    pub file: Option<FileInfo>,
}

impl Services {
    /// Create an appended upload. An empty one that is not partial is committed at once.
    pub async fn start_appended(&self, caller: &Caller, req: StartAppended) -> Result<Appended> {
        let metadata = checked_metadata(req.metadata)?;
        let length = req.length.unwrap_or(0);
        let target = self.with_device(caller, req.target).await?;
        let target = StartUpload {
            total_size: i64::try_from(length).map_err(|_| Error::of(Code::FileTooLarge))?,
            chunk_size: None,
            blocks: None,
            ..target
        };
        let started = self.start_upload(caller, target).await?;
        let row = appended_upload::ActiveModel {
            upload_id: Set(started.upload_id),
            length_deferred: Set(req.length.is_none()),
            partial: Set(req.partial),
            parts: Set(None),
            metadata: Set(metadata),
            created_at: Set(self.clock().now()),
        };
        if let Err(err) = row.insert(self.db()).await {
            let _ = self.cancel_upload(caller, started.upload_id).await;
            return Err(err.into());
        }
        if req.length == Some(0) && !req.partial {
            let appender = self
                .begin_append(caller, started.upload_id, 0, None)
                .await?;
            return appender.finish().await;
        }
        self.appended(caller, started.upload_id).await
    }

    /// The caller's appended upload. Cancelled and expired ones are 410, unknown 404.
    pub async fn appended(&self, caller: &Caller, upload_id: Uuid) -> Result<Appended> {
        let upload = self.load_upload(caller, upload_id).await?;
        // A failed upload (its file_hash did not match, say) cannot go on either.
        if matches!(
            upload.status,
            UploadStatus::Cancelled | UploadStatus::Expired | UploadStatus::Failed
        ) {
            return Err(crate::service::uploads::state_error(upload.status));
        }
        let row = self.appended_row(upload_id).await?;
        self.appended_view(&upload, &row).await
    }

    /// Cancel the caller's unfinished appended upload (tus termination).
    pub async fn terminate_appended(&self, caller: &Caller, upload_id: Uuid) -> Result<()> {
        self.appended_row(upload_id).await?;
        let upload = self.load_upload(caller, upload_id).await?;
        if upload.status == UploadStatus::Completed {
            // Its file (or the final upload it joined) stays; tus forgets the
            // upload from now on (404).
            appended_upload::Entity::delete_by_id(upload_id)
                .exec(self.db())
                .await?;
            return Ok(());
        }
        self.cancel_upload(caller, upload_id).await
    }

    /// Join complete partial uploads, in order, into the file `target` names.
    pub async fn concatenate(
        &self,
        caller: &Caller,
        parts: &[Uuid],
        target: StartUpload,
        metadata: Option<String>,
    ) -> Result<Appended> {
        let metadata = checked_metadata(metadata)?;
        if parts.is_empty() || parts.len() > MAX_PARTS {
            return Err(Error::new(
                Code::InvalidInput,
                format!("a final upload joins 1 to {MAX_PARTS} partial uploads"),
            ));
        }
        let invalid = |message: String| Error::new(Code::InvalidInput, message);
        let mut uploads = Vec::with_capacity(parts.len());
        for (n, &part) in parts.iter().enumerate() {
            if parts[..n].contains(&part) {
                return Err(invalid(format!("upload {part} is named twice")));
            }
            let upload = self.load_upload(caller, part).await?;
            let row = self.appended_row(part).await?;
            if !row.partial {
                return Err(invalid(format!("upload {part} is not a partial upload")));
            }
            // Cancelled and expired parts have lost their pieces.
            let kept = matches!(
                upload.status,
                UploadStatus::Active | UploadStatus::Completed
            );
            if !kept || row.length_deferred || upload.uploaded_bytes != upload.total_size {
                return Err(invalid(format!("partial upload {part} is not complete")));
            }
            uploads.push(upload);
        }
        let count: i64 = uploads.iter().map(|u| i64::from(u.completed_chunks)).sum();
        if count > i64::from(MAX_PIECES) {
            return Err(invalid(format!(
                "a file may be made of at most {MAX_PIECES} pieces"
            )));
        }
        let mut pieces = Vec::new();
        for upload in &uploads {
            let chunks = upload_chunk::Entity::find()
                .filter(upload_chunk::Column::UploadId.eq(upload.id))
                .order_by_asc(upload_chunk::Column::ChunkNumber)
                .all(self.db())
                .await?;
            let bytes: i64 = chunks.iter().map(|c| c.size).sum();
            if chunks.len() as i64 != i64::from(upload.completed_chunks)
                || bytes != upload.total_size
            {
                return Err(invalid(format!(
                    "partial upload {} has lost pieces",
                    upload.id
                )));
            }
            pieces.extend(chunks.into_iter().map(|c| (c.sha256, c.size)));
        }
        let target = self.with_device(caller, target).await?;
        let total: i64 = pieces.iter().map(|(_, size)| *size).sum();
        let target = StartUpload {
            total_size: total,
            chunk_size: None,
            blocks: None,
            ..target
        };
        let started = self.start_upload(caller, target).await?;
        let upload_id = started.upload_id;
        let upload = {
            let _in_use = self.blocks_in_use().await?;
            let now = self.clock().now();
            let txn = self.begin_write().await?;
            for (number, (sha256, size)) in (0..).zip(&pieces) {
                upload_chunk::Entity::insert(upload_chunk::ActiveModel {
                    upload_id: Set(upload_id),
                    chunk_number: Set(number),
                    size: Set(*size),
                    sha256: Set(sha256.clone()),
                    created_at: Set(now),
                })
                .exec_without_returning(&txn)
                .await?;
            }
            let count = pieces.len() as i32;
            let largest = pieces.iter().map(|(_, s)| *s).max().unwrap_or(0);
            chunked_upload::Entity::update_many()
                .col_expr(
                    chunked_upload::Column::ChunkSize,
                    Expr::value(largest.max(1)),
                )
                .col_expr(chunked_upload::Column::TotalChunks, Expr::value(count))
                .col_expr(chunked_upload::Column::CompletedChunks, Expr::value(count))
                .col_expr(chunked_upload::Column::UploadedBytes, Expr::value(total))
                .col_expr(
                    chunked_upload::Column::Status,
                    Expr::value(UploadStatus::Assembling),
                )
                .filter(chunked_upload::Column::Id.eq(upload_id))
                .exec(&txn)
                .await?;
            // Joined parts are finished: they no longer count as open uploads (their
            // chunk records stay, so they can be joined again).
            chunked_upload::Entity::update_many()
                .col_expr(
                    chunked_upload::Column::Status,
                    Expr::value(UploadStatus::Completed),
                )
                .col_expr(chunked_upload::Column::CompletedAt, Expr::value(now))
                .filter(chunked_upload::Column::Id.is_in(parts.iter().copied()))
                .filter(chunked_upload::Column::Status.eq(UploadStatus::Active))
                .exec(&txn)
                .await?;
            appended_upload::ActiveModel {
                upload_id: Set(upload_id),
                length_deferred: Set(false),
                partial: Set(false),
                parts: Set(Some(
                    serde_json::to_string(parts).map_err(|e| Error::internal(e.to_string()))?,
                )),
                metadata: Set(metadata),
                created_at: Set(now),
            }
            .insert(&txn)
            .await?;
            let upload = chunked_upload::Entity::find_by_id(upload_id)
                .one(&txn)
                .await?
                .ok_or(Error::not_found("upload"))?;
            txn.commit().await?;
            upload
        };
        let assembled = self.assemble_detached(upload).await;
        self.publish_upload(upload_id).await;
        assembled?;
        self.appended(caller, upload_id).await
    }

    /// `target` with its device: the one named, else the token's, else the
    /// user's device [`DEFAULT_DEVICE`] (registered on first use).
    async fn with_device(&self, caller: &Caller, mut target: StartUpload) -> Result<StartUpload> {
        if target.device_id.is_empty() {
            target.device_id = match &caller.device {
                Some((_, device)) => device.clone(),
                None => {
                    self.register_device(caller.user_id, DEFAULT_DEVICE, None, Some("tus"))
                        .await?;
                    DEFAULT_DEVICE.to_owned()
                }
            };
        }
        Ok(target)
    }

    pub(crate) async fn appended_row(&self, upload_id: Uuid) -> Result<appended_upload::Model> {
        appended_upload::Entity::find_by_id(upload_id)
            .one(self.db())
            .await?
            .ok_or(Error::not_found("upload"))
    }

    async fn appended_view(
        &self,
        upload: &chunked_upload::Model,
        row: &appended_upload::Model,
    ) -> Result<Appended> {
        let parts = match &row.parts {
            Some(json) => serde_json::from_str(json)
                .map_err(|e| Error::internal(format!("the parts of an upload: {e}")))?,
            None => Vec::new(),
        };
        let file = self.committed_file(upload).await?;
        Ok(Appended {
            upload_id: upload.id,
            status: crate::service::uploads::public_status(upload.status),
            offset: upload.uploaded_bytes as u64,
            length: (!row.length_deferred).then_some(upload.total_size as u64),
            partial: row.partial,
            parts,
            metadata: row.metadata.clone(),
            expires_at: upload.expires_at,
            file,
        })
    }
}

/// Metadata within its bound (an empty value is none).
fn checked_metadata(metadata: Option<String>) -> Result<Option<String>> {
    match metadata {
        Some(m) if m.len() > MAX_METADATA => Err(Error::new(
            Code::InvalidInput,
            format!("upload metadata may be at most {MAX_METADATA} bytes"),
        )),
        Some(m) if m.is_empty() => Ok(None),
        other => Ok(other),
    }
}
