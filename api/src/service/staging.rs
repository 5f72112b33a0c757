//! Staged upload data: one sparse `<upload_id>.part` file per unfinished upload,
//! each verified chunk written in place at its offset. When the last chunk is in,
//! the part file already *is* the whole file: assembly hashes it once and renames
//! it into the blob store, so the data is never copied a second time.
use std::{
    io::{self, Read},
    path::PathBuf,
};

use sha2::{Digest, Sha256};
use tokio::io::AsyncSeekExt;
use uuid::Uuid;

use super::blobs::{remove_if_exists, sync_dir};
use crate::error::{Error, Result};

/// Read size when hashing a part file.
const HASH_BUFFER: usize = 1 << 20;

/// The directory of part files.
#[derive(Debug)]
pub struct Staging {
    root: PathBuf,
}

impl Staging {
    /// Open (creating if needed) the staging directory.
    pub async fn open(root: PathBuf) -> Result<Self> {
        tokio::fs::create_dir_all(&root).await?;
        Ok(Self { root })
    }

    /// The part file of an upload.
    pub fn part_path(&self, upload_id: Uuid) -> PathBuf {
        self.root.join(format!("{upload_id}.part"))
    }

    /// Create the (sparse) part file of a new upload.
    pub async fn create(&self, upload_id: Uuid, total_size: u64) -> Result<()> {
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.part_path(upload_id))
            .await?;
        file.set_len(total_size).await?;
        file.sync_all().await?;
        sync_dir(&self.root).await
    }

    /// Open the part file for writing at `offset`; `Ok(None)` when it is gone
    /// (the upload was cancelled or expired meanwhile).
    pub async fn open_at(&self, upload_id: Uuid, offset: u64) -> Result<Option<tokio::fs::File>> {
        match tokio::fs::OpenOptions::new()
            .write(true)
            .open(self.part_path(upload_id))
            .await
        {
            Ok(mut file) => {
                file.seek(io::SeekFrom::Start(offset)).await?;
                Ok(Some(file))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether the part file of an upload exists.
    pub async fn exists(&self, upload_id: Uuid) -> Result<bool> {
        Ok(tokio::fs::try_exists(self.part_path(upload_id)).await?)
    }

    /// Delete the staged data of an upload (gone already is fine).
    pub async fn remove(&self, upload_id: Uuid) -> Result<()> {
        remove_if_exists(&self.part_path(upload_id)).await
    }

    /// Sync the part file to disk and return its SHA-256 (lowercase hex) and size,
    /// reading it once, sequentially.
    pub async fn hash_and_sync(&self, upload_id: Uuid) -> Result<(String, u64)> {
        let path = self.part_path(upload_id);
        tokio::task::spawn_blocking(move || -> io::Result<(String, u64)> {
            let mut file = std::fs::File::open(&path)?;
            let mut hasher = Sha256::new();
            let mut buffer = vec![0u8; HASH_BUFFER];
            let mut size = 0u64;
            loop {
                let n = file.read(&mut buffer)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buffer[..n]);
                size += n as u64;
            }
            file.sync_all()?;
            Ok((hex::encode(hasher.finalize()), size))
        })
        .await
        .map_err(|e| Error::Internal(format!("hashing task failed: {e}")))?
        .map_err(Error::from)
    }

    /// Every part file's upload id, and the paths of stray files that are not part files.
    pub async fn list(&self) -> Result<(Vec<Uuid>, Vec<PathBuf>)> {
        let mut ids = Vec::new();
        let mut strays = Vec::new();
        let mut entries = tokio::fs::read_dir(&self.root).await?;
        while let Some(entry) = entries.next_entry().await? {
            let name = entry.file_name();
            let id = name
                .to_str()
                .and_then(|n| n.strip_suffix(".part"))
                .and_then(|n| Uuid::parse_str(n).ok());
            match id {
                Some(id) => ids.push(id),
                None => strays.push(entry.path()),
            }
        }
        Ok((ids, strays))
    }
}
