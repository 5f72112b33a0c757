//! Staged chunk data. Each chunk streams into a temporary file of its own in the
//! block store's directory, hashed on the way in; once its size and SHA-256 check
//! out it is renamed into the store under that hash: a verified chunk *is* a
//! block, and assembly only writes the manifest. Nothing is copied twice.
use std::{io, os::unix::fs::FileExt, path::PathBuf, sync::Arc};

use crate::service::error::{Error, Result};
use crate::service::files::blobs::BlobStore;

/// Bytes gathered before one positioned write: few, large writes instead of one
/// per network frame.
const WRITE_BUFFER: usize = 256 << 10;

/// One chunk being written to its temporary file. Dropped before
/// [`ChunkFile::finish`], the file is removed.
#[derive(Debug)]
pub struct ChunkFile {
    /// Held by every write in flight, so that whatever claims the chunk (its
    /// in-flight claim) outlives a write the caller stopped awaiting.
    claim: Option<Arc<dyn std::any::Any + Send + Sync>>,
    path: PathBuf,
    file: Arc<std::fs::File>,
    offset: u64,
    buffer: Vec<u8>,
    kept: bool,
}

impl ChunkFile {
    /// A new, empty temporary file in `blobs`' directory (same filesystem: the
    /// store adopts it by renaming).
    pub async fn create(blobs: &BlobStore) -> Result<Self> {
        let path = blobs.temp_path();
        let opened = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || {
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(path)
            })
            .await
            .map_err(|e| Error::internal(format!("open task failed: {e}")))??
        };
        Ok(Self {
            claim: None,
            path,
            file: Arc::new(opened),
            offset: 0,
            buffer: Vec::with_capacity(WRITE_BUFFER),
            kept: false,
        })
    }

    /// Keep `claim` alive until every write of this file has finished.
    pub fn hold(&mut self, claim: Arc<dyn std::any::Any + Send + Sync>) {
        self.claim = Some(claim);
    }

    /// Append `data`.
    pub async fn write(&mut self, data: &[u8]) -> Result<()> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= WRITE_BUFFER {
            self.write_buffer().await?;
        }
        Ok(())
    }

    async fn write_buffer(&mut self) -> Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let (file, offset, buffer) = (
            self.file.clone(),
            self.offset,
            std::mem::take(&mut self.buffer),
        );
        let mut buffer = tokio::task::spawn_blocking(move || {
            file.write_all_at(&buffer, offset).map(|()| buffer)
        })
        .await
        .map_err(|e| Error::internal(format!("write task failed: {e}")))??;
        self.offset += buffer.len() as u64;
        buffer.clear();
        self.buffer = buffer;
        Ok(())
    }

    /// Write what is buffered, make the file durable, and hand over its path:
    /// the caller adopts it into the store (or removes it).
    pub async fn finish(mut self) -> Result<PathBuf> {
        self.write_buffer().await?;
        let file = self.file.clone();
        tokio::task::spawn_blocking(move || file.sync_data())
            .await
            .map_err(|e| Error::internal(format!("sync task failed: {e}")))??;
        self.kept = true;
        Ok(self.path.clone())
    }
}

impl Drop for ChunkFile {
    fn drop(&mut self) {
        if !self.kept {
            // Unlinking is fine while a write task still holds the file open.
            if let Err(err) = std::fs::remove_file(&self.path)
                && err.kind() != io::ErrorKind::NotFound
            {
                tracing::warn!(path = %self.path.display(), %err, "cannot remove an abandoned chunk");
            }
        }
    }
}
