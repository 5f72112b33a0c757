//! Chunked uploads (SPEC §4): start, progress, pause, resume, cancel, expiry.
//! Chunk intake lives in `chunks`, assembly and recovery in `assembly`.
pub(crate) mod assembly;
pub mod chunks;
pub mod conflicts;
mod lifecycle;
pub(crate) mod prefix_hash;
mod progress;
pub(crate) mod staging;
pub mod stored_chunks;

use crate::service::Code;
use chrono::{DateTime, Duration, Utc};
use entity::enums::UploadStatus;
use entity::{chunked_upload, upload_chunk, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, sea_query::Expr,
};
use serde::Serialize;
use uuid::Uuid;

use crate::service::error::{Error, Result};
use crate::service::{
    Caller, Services,
    files::paths,
    identity::{hash_secret, new_secret},
};

pub use progress::{missing_ranges, progress_percent, total_chunks};

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
}

/// The answer to a started upload.
#[derive(Debug, Serialize)]
pub struct StartedUpload {
    pub upload_id: Uuid,
    pub chunk_size: u64,
    pub total_chunks: i32,
    pub resume_token: String,
    pub expires_at: DateTime<Utc>,
}

/// Where an upload stands.
#[derive(Clone, Debug, Serialize)]
pub struct UploadProgress {
    pub upload_id: Uuid,
    /// The owner (not in the REST body, which answers only to them or an admin).
    #[serde(skip)]
    pub user_id: Uuid,
    /// The `devices.id` that started it.
    #[serde(skip)]
    pub device: Uuid,
    pub status: UploadStatus,
    pub file_path: String,
    pub total_size: u64,
    pub uploaded_bytes: u64,
    pub completed_chunks: i32,
    pub total_chunks: i32,
    pub progress_percent: f64,
    /// Sorted inclusive ranges of chunk numbers not yet stored.
    pub missing_chunks: Vec<[i32; 2]>,
    pub resume_from_chunk: Option<i32>,
    pub expires_at: DateTime<Utc>,
}

/// The error for acting on an upload in `state` when it must be active.
pub(crate) fn state_error(state: UploadStatus) -> Error {
    match state {
        UploadStatus::Paused => {
            Error::new(Code::UploadPaused, "the upload is paused; resume it first")
        }
        UploadStatus::Cancelled => Error::new(Code::UploadCancelled, "the upload was cancelled"),
        UploadStatus::Expired => Error::new(Code::UploadExpired, "the upload expired"),
        UploadStatus::Completed => {
            Error::new(Code::UploadCompleted, "the upload is already completed")
        }
        UploadStatus::Failed => Error::new(Code::UploadFailed, "the upload failed"),
        UploadStatus::Assembling => {
            Error::new(Code::UploadAssembling, "the upload is being assembled")
        }
        UploadStatus::Active => Error::internal("an active upload reported as not active"),
    }
}

pub(crate) fn parse_sha256(hash: &str, code: Code) -> Result<String> {
    let hash = hash.trim().to_ascii_lowercase();
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::new(code, "expected a hex SHA-256 (64 characters)"));
    }
    Ok(hash)
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
    /// The idle time after which an unfinished upload expires.
    pub(crate) fn upload_ttl(&self) -> Duration {
        Duration::days(i64::from(self.limits().cleanup_days))
    }

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
        self.inner
            .blobs
            .ensure_space(total_size, limits.min_free_space)
            .await?;

        let now = self.clock().now();
        let upload_id = Uuid::new_v4();
        let resume_token = new_secret();
        let expires_at = now + self.upload_ttl();
        let file_metadata_id = self.file_id_at(caller.user_id, &file_path).await?;
        self.inner.staging.create(upload_id, total_size).await?;
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
            }
            .insert(&txn)
            .await?;
            txn.commit().await?;
            Ok::<_, Error>(())
        }
        .await;
        if let Err(err) = inserted {
            self.inner.staging.remove(upload_id).await?;
            return Err(err);
        }
        self.metrics().uploads_started.inc();
        Ok(StartedUpload {
            upload_id,
            chunk_size,
            total_chunks,
            resume_token,
            expires_at,
        })
    }

    /// The caller's upload (404 for anyone else's); an idle one past its expiry is
    /// expired on the spot.
    pub(crate) async fn load_upload(
        &self,
        caller: &Caller,
        upload_id: Uuid,
    ) -> Result<chunked_upload::Model> {
        let upload = chunked_upload::Entity::find_by_id(upload_id)
            .one(self.db())
            .await?
            .filter(|u| caller.can_access(u.user_id))
            .ok_or(Error::not_found("upload"))?;
        if let Some((device, _)) = caller.device
            && upload.user_id == caller.user_id
            && upload.device_id != device
        {
            return Err(Error::forbidden(
                "this token may act only for its own device",
            ));
        }
        if matches!(upload.status, UploadStatus::Active | UploadStatus::Paused)
            && upload.expires_at <= self.clock().now()
        {
            self.expire_upload(upload.id).await?;
            return Err(state_error(UploadStatus::Expired));
        }
        Ok(upload)
    }

    /// The caller's unfinished uploads, newest first (admins: everyone's).
    pub async fn list_uploads(&self, caller: &Caller) -> Result<Vec<UploadProgress>> {
        let mut query = chunked_upload::Entity::find()
            .filter(chunked_upload::Column::Status.is_in(UploadStatus::UNFINISHED))
            .order_by_desc(chunked_upload::Column::CreatedAt);
        if caller.role != crate::service::Role::Admin {
            query = query.filter(chunked_upload::Column::UserId.eq(caller.user_id));
        }
        if let Some((device, _)) = caller.confined_to() {
            query = query.filter(chunked_upload::Column::DeviceId.eq(*device));
        }
        let mut out = Vec::new();
        for upload in query.all(self.db()).await? {
            out.push(self.progress_of(self.db(), &upload).await?);
        }
        Ok(out)
    }

    /// Where the caller's upload stands. Cancelled and expired uploads are 410.
    pub async fn upload_progress(
        &self,
        caller: &Caller,
        upload_id: Uuid,
    ) -> Result<UploadProgress> {
        let upload = self.load_upload(caller, upload_id).await?;
        if matches!(
            upload.status,
            UploadStatus::Cancelled | UploadStatus::Expired
        ) {
            return Err(state_error(upload.status));
        }
        self.progress_of(self.db(), &upload).await
    }

    /// Build the progress view of `upload` from its stored chunks.
    pub(crate) async fn progress_of(
        &self,
        conn: &impl ConnectionTrait,
        upload: &chunked_upload::Model,
    ) -> Result<UploadProgress> {
        let missing_chunks = if upload.status == UploadStatus::Completed {
            self.inner.stored_chunks.forget(upload.id);
            Vec::new()
        } else if let Some(missing) = self.inner.stored_chunks.missing(
            upload.id,
            upload.completed_chunks,
            upload.total_chunks,
        ) {
            missing
        } else {
            let stored: Vec<i32> = upload_chunk::Entity::find()
                .select_only()
                .column(upload_chunk::Column::ChunkNumber)
                .filter(upload_chunk::Column::UploadId.eq(upload.id))
                .order_by_asc(upload_chunk::Column::ChunkNumber)
                .into_tuple()
                .all(conn)
                .await?;
            let missing = missing_ranges(&stored, upload.total_chunks);
            self.inner.stored_chunks.load(
                upload.id,
                crate::service::uploads::stored_chunks::ChunkSet::from_numbers(stored),
            );
            missing
        };
        Ok(UploadProgress {
            upload_id: upload.id,
            user_id: upload.user_id,
            device: upload.device_id,
            status: public_status(upload.status),
            file_path: upload.file_path.clone(),
            total_size: upload.total_size as u64,
            uploaded_bytes: upload.uploaded_bytes as u64,
            completed_chunks: upload.completed_chunks,
            total_chunks: upload.total_chunks,
            progress_percent: progress_percent(upload.completed_chunks, upload.total_chunks),
            resume_from_chunk: missing_chunks.first().map(|r| r[0]),
            missing_chunks,
            expires_at: upload.expires_at,
        })
    }
}

/// The status a client sees: assembling is still `active`.
pub(crate) fn public_status(stored: UploadStatus) -> UploadStatus {
    match stored {
        UploadStatus::Assembling => UploadStatus::Active,
        other => other,
    }
}
