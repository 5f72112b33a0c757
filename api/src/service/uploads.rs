//! Chunked uploads (SPEC §4): start, progress, pause, resume, cancel, expiry.
//! Chunk intake lives in `chunks`, assembly and recovery in `assembly`.
use crate::service::Code;
use chrono::{DateTime, Duration, Utc};
use entity::enums::UploadStatus;
use entity::{chunked_upload, upload_chunk, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait, sea_query::Expr,
};
use serde::Serialize;
use uuid::Uuid;

use super::{
    Caller, Services,
    audit::AuditEntry,
    identity::{hash_secret, new_secret},
    paths,
};
use crate::service::error::{Error, Result};

/// Stored upload states. `assembling` shows as `active` to clients.

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

/// `completed / total` as a percentage with two decimals (1 of 205 → 0.49).
pub fn progress_percent(completed: i32, total: i32) -> f64 {
    if total <= 0 {
        return 0.0;
    }
    (f64::from(completed) * 10_000.0 / f64::from(total)).round() / 100.0
}

/// `max(1, ceil(total_size / chunk_size))`.
pub fn total_chunks(total_size: u64, chunk_size: u64) -> u64 {
    std::cmp::max(total_size.div_ceil(chunk_size), 1)
}

/// Sorted inclusive ranges of the numbers in `0..total` missing from `stored` (sorted).
pub fn missing_ranges(stored: &[i32], total: i32) -> Vec<[i32; 2]> {
    let mut ranges = Vec::new();
    let mut next = 0;
    for &n in stored.iter().chain(std::iter::once(&total)) {
        if n > next {
            ranges.push([next, n - 1]);
        }
        next = std::cmp::max(next, n + 1);
    }
    ranges
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
    fn upload_ttl(&self) -> Duration {
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
            let txn = self.db().begin().await?;
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
        if caller.role != super::Role::Admin {
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
                super::stored_chunks::ChunkSet::from_numbers(stored),
            );
            missing
        };
        Ok(UploadProgress {
            upload_id: upload.id,
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

    /// Move an upload from one of `from` to `to` if it is still there; true when it moved.
    async fn transition(
        &self,
        upload_id: Uuid,
        from: &[UploadStatus],
        to: UploadStatus,
        extend: bool,
    ) -> Result<bool> {
        let now = self.clock().now();
        let mut update = chunked_upload::Entity::update_many()
            .col_expr(chunked_upload::Column::Status, Expr::value(to))
            .col_expr(chunked_upload::Column::UpdatedAt, Expr::value(now));
        if extend {
            update = update.col_expr(
                chunked_upload::Column::ExpiresAt,
                Expr::value(now + self.upload_ttl()),
            );
        }
        let moved = update
            .filter(chunked_upload::Column::Id.eq(upload_id))
            .filter(chunked_upload::Column::Status.is_in(from.iter().copied()))
            .exec(self.db())
            .await?;
        Ok(moved.rows_affected == 1)
    }

    /// Pause an active upload (pausing a paused one is a no-op).
    pub async fn pause_upload(&self, caller: &Caller, upload_id: Uuid) -> Result<UploadProgress> {
        let upload = self.load_upload(caller, upload_id).await?;
        if upload.status != UploadStatus::Paused
            && !self
                .transition(
                    upload.id,
                    &[UploadStatus::Active],
                    UploadStatus::Paused,
                    false,
                )
                .await?
        {
            return Err(state_error(
                self.load_upload(caller, upload_id).await?.status,
            ));
        }
        self.upload_progress(caller, upload_id).await
    }

    /// Resume a paused (or active) upload and extend its expiry. A given
    /// `resume_token` must be the one handed out at start (403 otherwise).
    pub async fn resume_upload(
        &self,
        caller: &Caller,
        upload_id: Uuid,
        resume_token: Option<&str>,
    ) -> Result<UploadProgress> {
        let upload = self.load_upload(caller, upload_id).await?;
        if let Some(token) = resume_token
            && hash_secret(token) != upload.resume_token_hash
        {
            return Err(Error::forbidden("wrong resume_token"));
        }
        if !self
            .transition(
                upload.id,
                &[UploadStatus::Active, UploadStatus::Paused],
                UploadStatus::Active,
                true,
            )
            .await?
        {
            return Err(state_error(
                self.load_upload(caller, upload_id).await?.status,
            ));
        }
        self.upload_progress(caller, upload_id).await
    }

    /// Cancel an unfinished upload: its staged data is deleted, later calls are 410.
    pub async fn cancel_upload(&self, caller: &Caller, upload_id: Uuid) -> Result<()> {
        let upload = self.load_upload(caller, upload_id).await?;
        if !self
            .transition(
                upload.id,
                &[UploadStatus::Active, UploadStatus::Paused],
                UploadStatus::Cancelled,
                false,
            )
            .await?
        {
            return Err(state_error(
                self.load_upload(caller, upload_id).await?.status,
            ));
        }
        self.discard_staged(upload.id).await?;
        self.publish_upload(upload.id).await;
        let entry = AuditEntry {
            action: "upload.cancelled",
            target_type: "upload",
            target_id: Some(upload.id.to_string()),
            before: Some(
                serde_json::json!({ "status": upload.status, "file_path": upload.file_path }),
            ),
            after: Some(serde_json::json!({ "status": UploadStatus::Cancelled })),
        };
        self.audit(self.db(), Some(caller), entry).await
    }

    /// Delete an upload's staged bytes and chunk records.
    pub(crate) async fn discard_staged(&self, upload_id: Uuid) -> Result<()> {
        self.forget_prefix(upload_id);
        self.inner.staging.remove(upload_id).await?;
        upload_chunk::Entity::delete_many()
            .filter(upload_chunk::Column::UploadId.eq(upload_id))
            .exec(self.db())
            .await?;
        Ok(())
    }

    /// Expire one idle upload and delete its staged data.
    async fn expire_upload(&self, upload_id: Uuid) -> Result<()> {
        if self
            .transition(
                upload_id,
                &[UploadStatus::Active, UploadStatus::Paused],
                UploadStatus::Expired,
                false,
            )
            .await?
        {
            self.discard_staged(upload_id).await?;
            let entry = AuditEntry {
                action: "upload.expired",
                target_type: "upload",
                target_id: Some(upload_id.to_string()),
                before: None,
                after: Some(serde_json::json!({ "status": UploadStatus::Expired })),
            };
            self.audit(self.db(), None, entry).await?;
        }
        Ok(())
    }

    /// The periodic job: expire every upload idle past its expiry. Returns how many.
    #[tracing::instrument(skip_all, err)]
    pub async fn expire_idle_uploads(&self) -> Result<usize> {
        let due: Vec<Uuid> = chunked_upload::Entity::find()
            .select_only()
            .column(chunked_upload::Column::Id)
            .filter(
                chunked_upload::Column::Status.is_in([UploadStatus::Active, UploadStatus::Paused]),
            )
            .filter(chunked_upload::Column::ExpiresAt.lte(self.clock().now()))
            .into_tuple()
            .all(self.db())
            .await?;
        for id in &due {
            self.expire_upload(*id).await?;
        }
        Ok(due.len())
    }
}

/// The status a client sees: assembling is still `active`.
pub(crate) fn public_status(stored: UploadStatus) -> UploadStatus {
    match stored {
        UploadStatus::Assembling => UploadStatus::Active,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_example_has_205_chunks_and_one_is_0_49_percent() {
        assert_eq!(total_chunks(2_147_483_648, 10_485_760), 205);
        assert_eq!(progress_percent(1, 205), 0.49);
        assert_eq!(total_chunks(0, 10), 1);
        assert_eq!(total_chunks(10, 10), 1);
        assert_eq!(total_chunks(11, 10), 2);
        assert_eq!(progress_percent(205, 205), 100.0);
    }

    #[test]
    fn missing_ranges_are_sorted_and_inclusive() {
        assert_eq!(missing_ranges(&[], 3), vec![[0, 2]]);
        assert_eq!(missing_ranges(&[0, 1, 2], 3), Vec::<[i32; 2]>::new());
        assert_eq!(
            missing_ranges(&[0, 1, 2, 8, 10, 11], 12),
            vec![[3, 7], [9, 9]]
        );
        assert_eq!(missing_ranges(&[5], 6), vec![[0, 4]]);
    }
}
