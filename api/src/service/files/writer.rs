//! Whole-file writes (a WebDAV PUT): the body streams into a temporary file in
//! the blob store's directory, hashed on the way in large writes on the blocking
//! pool, then is renamed into the store and committed as a new version — or is
//! discarded whole. Nothing is visible before the commit.
use crate::service::Code;
use std::{io::Write, path::PathBuf};

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;

use crate::service::error::{Error, Result};
use crate::service::{
    Caller, Services,
    audit::AuditEntry,
    files::paths,
    files::tree::{Entry, caller_device, parent_of},
    files::{FileInfo, NewVersion},
};

/// Bytes gathered before one write on the blocking pool.
const WRITE_BATCH: usize = 1 << 20;
/// Bytes written between background `fdatasync`s, so the disk writes while the
/// body still arrives and the final sync before the commit has little left.
const SYNC_EVERY: u64 = 64 << 20;

/// A value at hand, or lent to a task on the blocking pool that gives it back.
#[derive(Debug)]
enum Lent<T> {
    Here(T),
    Away(JoinHandle<std::io::Result<T>>),
    Gone,
}

impl<T: Send + 'static> Lent<T> {
    /// The value, once any task holding it is done.
    async fn take(&mut self) -> Result<T> {
        match std::mem::replace(self, Lent::Gone) {
            Lent::Here(value) => Ok(value),
            Lent::Away(task) => Ok(task
                .await
                .map_err(|e| Error::internal(format!("blocking task failed: {e}")))??),
            Lent::Gone => Err(Error::internal("a file writer's part is gone")),
        }
    }

    /// Hand `value` to `work` on the blocking pool.
    fn lend(&mut self, value: T, work: impl FnOnce(T) -> std::io::Result<T> + Send + 'static) {
        *self = Lent::Away(tokio::task::spawn_blocking(move || work(value)));
    }
}

/// A file being written; [`FileWriter::commit`] makes it a version.
#[derive(Debug)]
pub struct FileWriter {
    services: Services,
    caller: Caller,
    path: String,
    temp: PathBuf,
    expected_size: Option<u64>,
    written: u64,
    batch: Vec<Bytes>,
    batch_len: usize,
    /// The temporary file and the running hash: each batch is written by one
    /// blocking task and hashed by another, side by side.
    file: Lent<std::fs::File>,
    hasher: Lent<Sha256>,
    /// A background `fdatasync` of what was written so far, if one runs.
    syncing: Option<JoinHandle<std::io::Result<()>>>,
    synced_upto: u64,
    done: bool,
}

impl Services {
    /// Start writing the caller's file `path`. Its parent must be a folder (409
    /// `parent_missing`) and `path` must not be one (409 `already_exists`);
    /// `expected_size`, when known, must fit the size limit and the disk.
    pub async fn write_file(
        &self,
        caller: &Caller,
        path: &str,
        expected_size: Option<u64>,
    ) -> Result<FileWriter> {
        let path = paths::normalize_file(path)?;
        match self.entry_at(caller, parent_of(&path)).await? {
            Some(Entry::Folder(_)) => {}
            _ => {
                return Err(Error::new(
                    Code::ParentMissing,
                    format!("the folder holding {path} does not exist"),
                ));
            }
        }
        if let Some(Entry::Folder(_)) = self.entry_at(caller, &path).await? {
            return Err(Error::new(
                Code::AlreadyExists,
                format!("{path} is a folder"),
            ));
        }
        if let Some(size) = expected_size {
            self.check_file_size(size)?;
            self.inner
                .blobs
                .ensure_space(size, self.limits().min_free_space)
                .await?;
        }
        let temp = self.inner.blobs.temp_path();
        let opened = {
            let temp = temp.clone();
            tokio::task::spawn_blocking(move || {
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(temp)
            })
            .await
            .map_err(|e| Error::internal(format!("open task failed: {e}")))??
        };
        Ok(FileWriter {
            services: self.clone(),
            caller: caller.clone(),
            path,
            temp,
            expected_size,
            written: 0,
            batch: Vec::new(),
            batch_len: 0,
            file: Lent::Here(opened),
            hasher: Lent::Here(Sha256::new()),
            syncing: None,
            synced_upto: 0,
            done: false,
        })
    }

    fn check_file_size(&self, size: u64) -> Result<()> {
        let max = self.limits().max_file_size;
        if size > max {
            return Err(Error::new(
                Code::FileTooLarge,
                format!("files may be at most {max} bytes"),
            ));
        }
        Ok(())
    }
}

impl FileWriter {
    /// The normalized path being written.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Append `bytes`.
    pub async fn write(&mut self, bytes: Bytes) -> Result<()> {
        if self.done {
            return Err(Error::internal("write after the file was finished"));
        }
        self.written += bytes.len() as u64;
        if let Some(expected) = self.expected_size
            && self.written > expected
        {
            return Err(Error::new(
                Code::SizeMismatch,
                format!("the body is longer than the {expected} bytes announced"),
            ));
        }
        self.services.check_file_size(self.written)?;
        self.batch_len += bytes.len();
        self.batch.push(bytes);
        if self.batch_len >= WRITE_BATCH {
            self.flush_batch().await?;
        }
        Ok(())
    }

    /// Hand the gathered bytes to the blocking pool: one task writes them, one
    /// hashes them; the previous batch must be done first (its tasks hold the
    /// file and the hash), so one batch is on disk while the next arrives.
    async fn flush_batch(&mut self) -> Result<()> {
        if self.expected_size.is_none() {
            // No length announced: check the disk as the bytes come.
            self.services
                .inner
                .blobs
                .ensure_space(self.batch_len as u64, self.services.limits().min_free_space)
                .await?;
        }
        let file = self.file.take().await?;
        let hasher = self.hasher.take().await?;
        let on_disk = self.written - self.batch_len as u64;
        if on_disk - self.synced_upto >= SYNC_EVERY
            && self.syncing.as_ref().is_none_or(JoinHandle::is_finished)
        {
            if let Some(done) = self.syncing.take() {
                done.await
                    .map_err(|e| Error::internal(format!("sync task failed: {e}")))??;
            }
            let handle = file.try_clone()?;
            self.syncing = Some(tokio::task::spawn_blocking(move || handle.sync_data()));
            self.synced_upto = on_disk;
        }
        let batch = std::sync::Arc::new(std::mem::take(&mut self.batch));
        self.batch_len = 0;
        let to_hash = batch.clone();
        self.hasher.lend(hasher, move |mut hasher| {
            to_hash.iter().for_each(|bytes| hasher.update(bytes));
            Ok(hasher)
        });
        self.file.lend(file, move |mut file| {
            for bytes in batch.iter() {
                file.write_all(bytes)?;
            }
            Ok(file)
        });
        Ok(())
    }

    /// Finish: check the length, make the bytes durable, adopt them into the
    /// blob store and commit a new version (with an audit entry and the
    /// on-change triggers). On error nothing is committed.
    pub async fn commit(mut self) -> Result<FileInfo> {
        self.flush_batch().await?;
        let file = self.file.take().await?;
        let hasher = self.hasher.take().await?;
        self.done = true;
        if let Some(expected) = self.expected_size
            && self.written != expected
        {
            return Err(Error::new(
                Code::SizeMismatch,
                format!(
                    "the body has {} bytes, {expected} were announced",
                    self.written
                ),
            ));
        }
        let sha256 = hex::encode(hasher.finalize());
        if let Some(done) = self.syncing.take() {
            done.await
                .map_err(|e| Error::internal(format!("sync task failed: {e}")))??;
        }
        tokio::task::spawn_blocking(move || file.sync_all())
            .await
            .map_err(|e| Error::internal(format!("sync task failed: {e}")))??;
        let services = self.services.clone();
        // From the rename into the store until the version is in, the collector waits.
        let _in_use = services.blocks_in_use().await?;
        services.inner.blocks.adopt(&self.temp, &sha256).await?;
        let now = services.clock().now();
        let origin = caller_device(&self.caller);
        let txn = services.begin_tree_write(self.caller.user_id).await?;
        let (_, file) = services
            .commit_version(
                &txn,
                NewVersion {
                    user_id: self.caller.user_id,
                    path: &self.path,
                    sha256: &sha256,
                    size: self.written,
                    modified_at: now,
                    device_id: origin,
                    upload_id: None,
                },
            )
            .await?;
        let entry = AuditEntry {
            action: "file.written",
            target_type: "file",
            target_id: Some(file.path.clone()),
            before: None,
            after: Some(serde_json::json!({
                "version": file.version, "size": file.size, "sha256": file.sha256,
            })),
        };
        services.audit(&txn, Some(&self.caller), entry).await?;
        txn.commit().await?;
        services
            .after_file_change(self.caller.user_id, &file.path, origin)
            .await;
        Ok(file)
    }
}

impl Drop for FileWriter {
    fn drop(&mut self) {
        // Unfinished or failed: the temporary file goes (after a commit it was
        // renamed away, and removing the old name is a harmless miss).
        let _ = std::fs::remove_file(&self.temp);
    }
}
