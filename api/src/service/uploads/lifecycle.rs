//! An upload's life after it starts: pause, resume, cancel, and expiry of idle ones.
use entity::enums::UploadStatus;
use entity::{chunked_upload, upload_chunk};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, sea_query::Expr};
use uuid::Uuid;

use crate::service::error::{Error, Result};
use crate::service::{Caller, Services, audit::AuditEntry, identity::hash_secret};

use super::*;

impl Services {
    /// Move an upload from one of `from` to `to` if it is still there; true when it moved.
    pub(crate) async fn transition(
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
        self.publish_upload(upload.id).await;
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
        self.publish_upload(upload.id).await;
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

    /// Discard every unfinished upload matching `condition` (a user's, a
    /// device's) before its owner row goes: staged bytes and chunk records.
    pub(crate) async fn discard_unfinished(&self, condition: sea_orm::Condition) -> Result<()> {
        let unfinished: Vec<Uuid> = chunked_upload::Entity::find()
            .select_only()
            .column(chunked_upload::Column::Id)
            .filter(condition)
            .filter(chunked_upload::Column::Status.is_in(UploadStatus::UNFINISHED))
            .into_tuple()
            .all(self.db())
            .await?;
        for upload_id in unfinished {
            self.discard_staged(upload_id).await?;
        }
        Ok(())
    }

    /// Delete an upload's chunk records and announced blocks (its blocks that
    /// nothing else uses are the collector's to delete).
    pub(crate) async fn discard_staged(&self, upload_id: Uuid) -> Result<()> {
        self.forget_prefix(upload_id);
        entity::upload_block::Entity::delete_many()
            .filter(entity::upload_block::Column::UploadId.eq(upload_id))
            .exec(self.db())
            .await?;
        upload_chunk::Entity::delete_many()
            .filter(upload_chunk::Column::UploadId.eq(upload_id))
            .exec(self.db())
            .await?;
        Ok(())
    }

    /// Expire one idle upload and delete its staged data.
    pub(crate) async fn expire_upload(&self, upload_id: Uuid) -> Result<()> {
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
