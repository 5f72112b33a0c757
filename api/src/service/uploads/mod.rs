//! Chunked uploads (SPEC §4): start, progress, pause, resume, cancel, expiry.
//! Chunk intake lives in `chunks`, assembly and recovery in `assembly`.
pub mod appended;
pub(crate) mod assembly;
pub mod chunks;
pub mod conflicts;
pub mod delta;
pub(crate) mod in_flight;
pub(crate) mod legacy;
mod lifecycle;
pub(crate) mod prefix_hash;
mod progress;
pub(crate) mod staging;
mod start;
pub mod stored_chunks;

use crate::service::Code;
use chrono::{DateTime, Duration, Utc};
use entity::enums::UploadStatus;
use entity::{chunked_upload, upload_chunk};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use uuid::Uuid;

use crate::service::error::{Error, Result};
use crate::service::{Caller, Services};

pub use progress::{missing_ranges, progress_percent, total_chunks};
pub use start::{StartUpload, StartedUpload};

/// Where an upload stands.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
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

impl Services {
    /// The idle time after which an unfinished upload expires.
    pub(crate) fn upload_ttl(&self) -> Duration {
        Duration::days(i64::from(self.limits().cleanup_days))
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
