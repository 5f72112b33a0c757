//! Whole-file writes (a WebDAV PUT): the body streams into a temporary file in
//! the blob store's directory, hashed on the way in large writes on the blocking
//! pool, then is renamed into the store and committed as a new version — or is
//! discarded whole. Nothing is visible before the commit.
use std::{io::Write, path::PathBuf};

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;

use super::{
    Caller, Services,
    audit::AuditEntry,
    files::{FileInfo, NewVersion},
    paths,
    tree::{Entry, caller_device, parent_of},
};
use crate::error::{Error, Result};

/// Bytes gathered before one write on the blocking pool.
const WRITE_BATCH: usize = 1 << 20;

/// The temporary file and the running hash, owned by whichever write holds them.
#[derive(Debug)]
struct Sink {
    file: std::fs::File,
    hasher: Sha256,
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
    /// The sink, or the write in flight that will give it back.
    sink: Option<Sink>,
    in_flight: Option<JoinHandle<std::io::Result<Sink>>>,
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
                return Err(Error::conflict(
                    "parent_missing",
                    format!("the folder holding {path} does not exist"),
                ));
            }
        }
        if let Some(Entry::Folder(_)) = self.entry_at(caller, &path).await? {
            return Err(Error::conflict(
                "already_exists",
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
            .map_err(|e| Error::Internal(format!("open task failed: {e}")))??
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
            sink: Some(Sink {
                file: opened,
                hasher: Sha256::new(),
            }),
            in_flight: None,
            done: false,
        })
    }

    fn check_file_size(&self, size: u64) -> Result<()> {
        let max = self.limits().max_file_size;
        if size > max {
            return Err(Error::too_large(
                "file_too_large",
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
            return Err(Error::Internal("write after the file was finished".into()));
        }
        self.written += bytes.len() as u64;
        if let Some(expected) = self.expected_size
            && self.written > expected
        {
            return Err(Error::bad_request(
                "size_mismatch",
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

    /// Hand the gathered bytes to the blocking pool; the previous write must be
    /// done first (it holds the sink), so one write overlaps the next receive.
    async fn flush_batch(&mut self) -> Result<()> {
        let mut sink = self.take_sink().await?;
        let batch = std::mem::take(&mut self.batch);
        self.batch_len = 0;
        self.in_flight = Some(tokio::task::spawn_blocking(move || {
            for bytes in &batch {
                sink.hasher.update(bytes);
                sink.file.write_all(bytes)?;
            }
            Ok(sink)
        }));
        Ok(())
    }

    async fn take_sink(&mut self) -> Result<Sink> {
        if let Some(task) = self.in_flight.take() {
            let sink = task
                .await
                .map_err(|e| Error::Internal(format!("write task failed: {e}")))??;
            return Ok(sink);
        }
        self.sink
            .take()
            .ok_or_else(|| Error::Internal("the file's sink is gone".into()))
    }

    /// Finish: check the length, make the bytes durable, adopt them into the
    /// blob store and commit a new version (with an audit entry and the
    /// on-change triggers). On error nothing is committed.
    pub async fn commit(mut self) -> Result<FileInfo> {
        self.flush_batch().await?;
        let sink = self.take_sink().await?;
        self.done = true;
        if let Some(expected) = self.expected_size
            && self.written != expected
        {
            return Err(Error::bad_request(
                "size_mismatch",
                format!(
                    "the body has {} bytes, {expected} were announced",
                    self.written
                ),
            ));
        }
        let sha256 = hex::encode(sink.hasher.finalize());
        let file = sink.file;
        tokio::task::spawn_blocking(move || file.sync_all())
            .await
            .map_err(|e| Error::Internal(format!("sync task failed: {e}")))??;
        let services = self.services.clone();
        services.inner.blobs.adopt_file(&self.temp, &sha256).await?;
        let now = services.clock().now();
        let origin = caller_device(&self.caller);
        let txn = services.begin_write().await?;
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
        if let Some(task) = self.in_flight.take() {
            task.abort();
        }
        let _ = std::fs::remove_file(&self.temp);
    }
}
