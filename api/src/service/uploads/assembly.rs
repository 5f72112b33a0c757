//! Assembly and crash recovery. Every chunk is a block in the store already, so
//! assembly is: hash the blocks in order into the whole-file SHA-256 (mostly done
//! in the background while chunks arrived), and commit the new version with its
//! manifest in one transaction. Each step can be redone after a crash, on
//! any node: one node at a time assembles an upload (a node lock).
use crate::service::Code;
use entity::enums::UploadStatus;

use entity::chunked_upload;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;

use crate::service::error::{Error, Result};
use crate::service::{
    Services,
    audit::AuditEntry,
    files::{FileInfo, NewVersion},
};

/// Attempts at the commit transaction before giving up (a concurrent first
/// commit of the same new path makes one attempt fail on the unique index).
const COMMIT_ATTEMPTS: usize = 3;

/// Keeps one upload marked as being assembled in this process.
#[derive(Debug)]
struct AssemblyClaim {
    services: Services,
    upload_id: Uuid,
}

impl Drop for AssemblyClaim {
    fn drop(&mut self) {
        if let Ok(mut running) = self.services.inner.assemblies_running.lock() {
            running.remove(&self.upload_id);
        }
    }
}

impl Services {
    /// Assemble in a task of its own, so that a client hanging up mid-assembly
    /// does not abandon it; one assembly per upload at a time in this process.
    pub(crate) async fn assemble_detached(
        &self,
        upload: chunked_upload::Model,
    ) -> Result<FileInfo> {
        let upload_id = upload.id;
        {
            let mut running = self
                .inner
                .assemblies_running
                .lock()
                .map_err(|_| Error::internal("assembly lock poisoned"))?;
            if !running.insert(upload_id) {
                return Err(Error::new(
                    Code::UploadAssembling,
                    "the upload is being assembled",
                ));
            }
        }
        let claim = AssemblyClaim {
            services: self.clone(),
            upload_id,
        };
        // Every node: one assembly per upload (freed at once if this node dies).
        let Some(node_lock) = self
            .try_node_lock(
                crate::service::node_lock::Work::Assembly,
                upload_id.as_bytes(),
            )
            .await?
        else {
            return Err(Error::new(
                Code::UploadAssembling,
                "the upload is being assembled",
            ));
        };
        let services = self.clone();
        tokio::spawn(async move {
            let result = services.assemble(upload).await;
            node_lock.release().await;
            drop(claim);
            result
        })
        .await
        .map_err(|e| Error::internal(format!("assembly task failed: {e}")))?
    }

    /// Assemble every upload left in `assembling` that no task of this process is
    /// working on: interrupted by a crash, or by an error worth retrying.
    /// Returns how many were tried.
    pub async fn retry_assemblies(&self) -> Result<usize> {
        let waiting = chunked_upload::Entity::find()
            .filter(chunked_upload::Column::Status.eq(UploadStatus::Assembling))
            .all(self.db())
            .await?;
        let mut tried = 0;
        for upload in waiting {
            let id = upload.id;
            match self.assemble_detached(upload).await {
                Ok(file) => {
                    tracing::info!(upload_id = %id, path = %file.path, "finished an interrupted assembly")
                }
                Err(err) if err.kind() == crate::service::error::Kind::Conflict => continue,
                Err(err) => {
                    tracing::warn!(upload_id = %id, %err, "an interrupted assembly could not be finished")
                }
            }
            tried += 1;
        }
        Ok(tried)
    }

    /// Assemble an upload that is in state `assembling` and commit it.
    #[tracing::instrument(skip_all, err, fields(upload_id = %upload.id))]
    pub(crate) async fn assemble(&self, upload: chunked_upload::Model) -> Result<FileInfo> {
        let chunks = self.stored_blocks_from(upload.id, 0, None).await?;
        for chunk in &chunks {
            if !self.inner.blocks.contains(&chunk.sha256).await? {
                return self
                    .fail_upload(
                        &upload,
                        Code::StagedDataLost,
                        "the upload's staged data is gone",
                    )
                    .await;
            }
        }
        let sha256 = match upload.result_sha256.clone() {
            // Hashed and checked before a crash.
            Some(sha256) => sha256,
            None => {
                let sha256 = self.whole_file_hash(&upload, &chunks).await?;
                if upload
                    .file_hash
                    .as_ref()
                    .is_some_and(|expected| *expected != sha256)
                {
                    return self
                        .fail_upload(
                            &upload,
                            Code::FileHashMismatch,
                            "the assembled file's SHA-256 does not match file_hash",
                        )
                        .await;
                }
                self.pause_point("assembly.hashed").await;
                chunked_upload::Entity::update_many()
                    .col_expr(
                        chunked_upload::Column::ResultSha256,
                        Expr::value(sha256.clone()),
                    )
                    .filter(chunked_upload::Column::Id.eq(upload.id))
                    .exec(self.db())
                    .await?;
                sha256
            }
        };
        self.pause_point("assembly.adopted").await;

        let manifest: Vec<(String, i64)> = chunks.into_iter().map(|c| (c.sha256, c.size)).collect();
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.commit_upload(&upload, &sha256, &manifest).await {
                Ok(file) => {
                    self.metrics().uploads_completed.inc();
                    return Ok(file);
                }
                Err(err) if err.is_db() && attempt < COMMIT_ATTEMPTS => {
                    tracing::warn!(%err, attempt, "commit of an assembled upload failed; retrying");
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// One transaction: the new version, the upload marked completed, an audit
    /// entry. The chunk records stay, so a re-sent chunk can still be checked.
    async fn commit_upload(
        &self,
        upload: &chunked_upload::Model,
        sha256: &str,
        manifest: &[(String, i64)],
    ) -> Result<FileInfo> {
        let now = self.clock().now();
        let in_use = self.blocks_in_use().await?;
        let txn = self.begin_tree_write(upload.user_id).await?;
        let target = self.commit_target(&txn, upload, now).await?;
        let (file_id, file) = self
            .commit_version_of_blocks(
                &txn,
                NewVersion {
                    user_id: upload.user_id,
                    path: &target.path,
                    sha256,
                    size: upload.total_size as u64,
                    modified_at: upload.modified_at.unwrap_or(now),
                    device_id: Some(upload.device_id),
                    upload_id: Some(upload.id),
                },
                Some(manifest),
            )
            .await?;
        let marked = chunked_upload::Entity::update_many()
            .col_expr(
                chunked_upload::Column::Status,
                Expr::value(UploadStatus::Completed),
            )
            .col_expr(
                chunked_upload::Column::ResultVersion,
                Expr::value(file.version),
            )
            .col_expr(chunked_upload::Column::ResultSha256, Expr::value(sha256))
            .col_expr(chunked_upload::Column::CompletedAt, Expr::value(now))
            .col_expr(chunked_upload::Column::UpdatedAt, Expr::value(now))
            .col_expr(chunked_upload::Column::FileMetadataId, Expr::value(file_id))
            .col_expr(
                chunked_upload::Column::ResultPath,
                Expr::value(target.path.clone()),
            )
            .col_expr(
                chunked_upload::Column::Conflict,
                Expr::value(
                    target
                        .conflict
                        .as_ref()
                        .map(|c| serde_json::json!(c).to_string()),
                ),
            )
            .filter(chunked_upload::Column::Id.eq(upload.id))
            .filter(chunked_upload::Column::Status.eq(UploadStatus::Assembling))
            .exec(&txn)
            .await?;
        if marked.rows_affected == 0 {
            return Err(Error::new(
                Code::UploadAssembling,
                "the upload was assembled by another request",
            ));
        }
        let entry = AuditEntry {
            action: "upload.completed",
            target_type: "file",
            target_id: Some(file.path.clone()),
            before: None,
            after: Some(serde_json::json!({
                "upload_id": upload.id, "version": file.version, "size": file.size, "sha256": file.sha256,
                "conflict": target.conflict,
            })),
        };
        self.audit(&txn, None, entry).await?;
        if let Some(conflict) = &target.conflict {
            let entry = AuditEntry {
                action: "file.conflict_resolved",
                target_type: "file",
                target_id: Some(upload.file_path.clone()),
                before: Some(serde_json::json!({
                    "base_version": conflict.base_version,
                    "server_version": conflict.server_version,
                })),
                after: Some(serde_json::json!(conflict)),
            };
            self.audit(&txn, None, entry).await?;
        }
        txn.commit().await?;
        drop(in_use);
        self.after_file_change(upload.user_id, &file.path, Some(upload.device_id))
            .await;
        Ok(file)
    }

    /// Mark an assembling upload failed with `code`, drop its staged data, and
    /// answer 422 with that code.
    async fn fail_upload(
        &self,
        upload: &chunked_upload::Model,
        code: Code,
        message: &'static str,
    ) -> Result<FileInfo> {
        let now = self.clock().now();
        chunked_upload::Entity::update_many()
            .col_expr(
                chunked_upload::Column::Status,
                Expr::value(UploadStatus::Failed),
            )
            .col_expr(
                chunked_upload::Column::ErrorCode,
                Expr::value(code.as_str()),
            )
            .col_expr(chunked_upload::Column::UpdatedAt, Expr::value(now))
            .filter(chunked_upload::Column::Id.eq(upload.id))
            .exec(self.db())
            .await?;
        self.discard_staged(upload.id).await?;
        self.metrics().uploads_failed.inc();
        let entry = AuditEntry {
            action: "upload.failed",
            target_type: "upload",
            target_id: Some(upload.id.to_string()),
            before: None,
            after: Some(
                serde_json::json!({ "status": UploadStatus::Failed, "error_code": code.as_str() }),
            ),
        };
        self.audit(self.db(), None, entry).await?;
        Err(Error::new(code, message))
    }

    /// At start-up: drop the temporary files a crash cut short, turn the
    /// previous release's part files into blocks, and finish or redo
    /// interrupted assemblies. Returns how many assemblies were redone.
    #[tracing::instrument(skip_all, err)]
    pub async fn recover_uploads(&self) -> Result<usize> {
        self.inner.blobs.sweep_incoming().await?;
        self.import_legacy_parts().await?;
        self.retry_assemblies().await
    }
}
