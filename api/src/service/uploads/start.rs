//! Starting an upload: the sizes and chunking checked against the limits, the
//! caller's open uploads counted under a lock, and for a delta upload its block
//! list recorded with the blocks the caller holds already counted as received.
use chrono::{DateTime, Utc};
use entity::enums::UploadStatus;
use entity::{chunked_upload, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set, sea_query::Expr,
};
use serde::Serialize;
use uuid::Uuid;

use crate::service::error::{Error, Result};
use crate::service::{
    Caller, Code, Services,
    files::paths,
    identity::{hash_secret, new_secret},
    uploads::{conflicts, delta, parse_sha256, total_chunks},
};

/// What a client asks for when starting an upload.
#[derive(Debug, Default)]
pub struct StartUpload {
    pub device_id: String,
    pub file_path: String,
    pub file_name: String,
    pub total_size: i64,
    pub chunk_size: Option<i64>,
    pub file_hash: Option<String>,
    pub modified_at: Option<DateTime<Utc>>,
    pub base_version: Option<i32>,
    /// The file as a list of blocks (a delta upload); `None` for fixed chunks.
    pub blocks: Option<Vec<delta::AnnouncedBlock>>,
}

/// The answer to a started upload.
#[derive(Debug, Serialize)]
pub struct StartedUpload {
    pub upload_id: Uuid,
    pub chunk_size: u64,
    pub total_chunks: i32,
    pub resume_token: String,
    pub expires_at: DateTime<Utc>,
    /// Delta uploads only: the chunks (block positions) still to send, as
    /// sorted inclusive ranges; the rest the caller holds already.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_chunks: Option<Vec<[i32; 2]>>,
    /// Delta uploads only: how many chunks count as received already.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_chunks: Option<i32>,
    /// Delta uploads only: `active`, or `completed` when nothing was missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<UploadStatus>,
    /// The committed file, when the start completed the upload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<crate::service::files::FileInfo>,
    /// How a `base_version` conflict was resolved, when the start completed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<conflicts::ConflictOutcome>,
}

/// The sizes an upload start asks for, checked against the limits.
struct Sizes {
    total_size: u64,
    chunk_size: u64,
    total_chunks: i32,
    file_hash: Option<String>,
}

/// Check a start's sizes, chunking, hash and base version (422/413 with precise codes).
fn sizes_of(limits: &crate::service::UploadLimits, req: &StartUpload) -> Result<Sizes> {
    let total_size = u64::try_from(req.total_size)
        .map_err(|_| Error::new(Code::InvalidValue, "total_size must not be negative"))?;
    if total_size > limits.max_file_size {
        return Err(Error::new(
            Code::FileTooLarge,
            format!("files may be at most {} bytes", limits.max_file_size),
        ));
    }
    let chunk_size = match req.chunk_size {
        None => limits.default_chunk_size,
        Some(size) => u64::try_from(size).unwrap_or(0),
    };
    if chunk_size == 0 || chunk_size > limits.max_chunk_size {
        return Err(Error::new(
            Code::InvalidChunkSize,
            format!(
                "chunk_size must be between 1 and {} bytes",
                limits.max_chunk_size
            ),
        ));
    }
    if req.blocks.is_some() && req.chunk_size.is_some() {
        return Err(Error::new(
            Code::InvalidBlockList,
            "send either chunk_size or blocks, not both",
        ));
    }
    let total_chunks = i32::try_from(total_chunks(total_size, chunk_size)).map_err(|_| {
        Error::new(
            Code::InvalidChunkSize,
            "too many chunks: choose a larger chunk_size",
        )
    })?;
    let file_hash = req
        .file_hash
        .as_deref()
        .map(|h| parse_sha256(h, Code::InvalidFileHash))
        .transpose()?;
    if req.base_version.is_some_and(|v| v < 0) {
        return Err(Error::new(
            Code::InvalidValue,
            "base_version must not be negative",
        ));
    }
    Ok(Sizes {
        total_size,
        chunk_size,
        total_chunks,
        file_hash,
    })
}

impl Services {
    /// Start a chunked upload.
    #[tracing::instrument(skip_all, err, fields(user_id = %caller.user_id))]
    pub async fn start_upload(&self, caller: &Caller, req: StartUpload) -> Result<StartedUpload> {
        let device = self
            .resolve_device(caller, caller.user_id, &req.device_id)
            .await?;
        let file_path = paths::normalize_file(&req.file_path)?;
        if paths::nfc(&req.file_name) != paths::file_name(&file_path) {
            return Err(Error::new(
                Code::InvalidValue,
                "file_name must be the last segment of file_path",
            ));
        }
        self.check_file_path(self.db(), caller.user_id, &file_path)
            .await?;
        let limits = self.limits();
        let Sizes {
            total_size,
            chunk_size,
            total_chunks,
            file_hash,
        } = sizes_of(limits, &req)?;
        // An empty file has no blocks: it is a plain upload of one empty chunk.
        let announced = match req.blocks.as_deref() {
            Some(list) if !(total_size == 0 && list.is_empty()) => {
                Some(delta::check_blocks(limits, total_size, list)?)
            }
            _ => None,
        };
        let (chunk_size, total_chunks) = match &announced {
            Some(list) => (list.largest, list.blocks.len() as i32),
            None => (chunk_size, total_chunks),
        };
        self.inner
            .blobs
            .ensure_space(total_size, limits.min_free_space)
            .await?;

        let now = self.clock().now();
        let upload_id = Uuid::new_v4();
        let resume_token = new_secret();
        let expires_at = now + self.upload_ttl();
        let file_metadata_id = self.file_id_at(caller.user_id, &file_path).await?;
        // The collector must not take a block counted as held before its chunk row is in.
        let _in_use = self.blocks_in_use().await?;
        let held = match &announced {
            Some(list) => {
                let wanted = list.blocks.iter().map(|(sha, _)| sha.as_str()).collect();
                self.blocks_held(self.db(), caller.user_id, &wanted).await?
            }
            None => Default::default(),
        };
        let inserted = async {
            let txn = self.begin_write().await?;
            // Lock the user's row first: concurrent starts of one user queue here,
            // so the count below cannot be raced past the limit.
            user::Entity::update_many()
                .col_expr(user::Column::UpdatedAt, Expr::col(user::Column::UpdatedAt))
                .filter(user::Column::Id.eq(caller.user_id))
                .exec(&txn)
                .await?;
            let open = chunked_upload::Entity::find()
                .filter(chunked_upload::Column::UserId.eq(caller.user_id))
                .filter(chunked_upload::Column::Status.is_in(UploadStatus::UNFINISHED))
                .filter(chunked_upload::Column::ExpiresAt.gt(now))
                .count(&txn)
                .await?;
            if open >= u64::from(limits.max_concurrent_uploads) {
                return Err(Error::new(
                    Code::TooManyUploads,
                    format!(
                        "at most {} unfinished uploads at once; finish or cancel one first",
                        limits.max_concurrent_uploads
                    ),
                )
                .retry_after(60));
            }
            chunked_upload::ActiveModel {
                id: Set(upload_id),
                user_id: Set(caller.user_id),
                device_id: Set(device.id),
                file_metadata_id: Set(file_metadata_id),
                file_path: Set(file_path.clone()),
                file_name: Set(req.file_name.clone()),
                total_size: Set(req.total_size),
                chunk_size: Set(chunk_size as i64),
                total_chunks: Set(total_chunks),
                uploaded_bytes: Set(0),
                completed_chunks: Set(0),
                file_hash: Set(file_hash),
                modified_at: Set(req.modified_at),
                base_version: Set(req.base_version),
                resume_token_hash: Set(hash_secret(&resume_token)),
                status: Set(UploadStatus::Active),
                error_code: Set(None),
                result_version: Set(None),
                result_sha256: Set(None),
                expires_at: Set(expires_at),
                created_at: Set(now),
                updated_at: Set(now),
                completed_at: Set(None),
                result_path: Set(None),
                conflict: Set(None),
                announced_blocks: Set(announced.is_some()),
            }
            .insert(&txn)
            .await?;
            let mut complete = false;
            if let Some(list) = &announced {
                let (chunks, bytes) = self.record_announced(&txn, upload_id, list, &held).await?;
                complete = chunks >= total_chunks;
                chunked_upload::Entity::update_many()
                    .col_expr(chunked_upload::Column::CompletedChunks, Expr::value(chunks))
                    .col_expr(chunked_upload::Column::UploadedBytes, Expr::value(bytes))
                    .col_expr(
                        chunked_upload::Column::Status,
                        Expr::value(if complete {
                            UploadStatus::Assembling
                        } else {
                            UploadStatus::Active
                        }),
                    )
                    .filter(chunked_upload::Column::Id.eq(upload_id))
                    .exec(&txn)
                    .await?;
            }
            txn.commit().await?;
            Ok::<_, Error>(complete)
        }
        .await;
        drop(_in_use);
        let complete = inserted?;
        self.metrics().uploads_started.inc();
        let mut started = StartedUpload {
            upload_id,
            chunk_size,
            total_chunks,
            resume_token,
            expires_at,
            missing_chunks: None,
            completed_chunks: None,
            status: None,
            file: None,
            conflict: None,
        };
        if announced.is_some() {
            let upload = chunked_upload::Entity::find_by_id(upload_id)
                .one(self.db())
                .await?
                .ok_or(Error::not_found("upload"))?;
            if complete {
                let file = self.assemble_detached(upload).await?;
                self.publish_upload(upload_id).await;
                let upload = self.load_upload(caller, upload_id).await?;
                started.conflict = upload
                    .conflict
                    .as_deref()
                    .and_then(|c| serde_json::from_str(c).ok());
                started.missing_chunks = Some(Vec::new());
                started.completed_chunks = Some(upload.completed_chunks);
                started.status = Some(UploadStatus::Completed);
                started.file = Some(file);
            } else {
                let progress = self.progress_of(self.db(), &upload).await?;
                started.missing_chunks = Some(progress.missing_chunks);
                started.completed_chunks = Some(progress.completed_chunks);
                started.status = Some(UploadStatus::Active);
            }
        }
        Ok(started)
    }
}
