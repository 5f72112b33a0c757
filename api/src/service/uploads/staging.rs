//! Staged upload data: one sparse `<upload_id>.part` file per unfinished upload,
//! each verified chunk written in place at its offset. When the last chunk is in,
//! the part file already *is* the whole file: assembly hashes it once and renames
//! it into the blob store, so the data is never copied a second time.
use std::{
    io::{self, Read, Seek},
    os::unix::fs::FileExt,
    path::PathBuf,
    sync::Arc,
};

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::service::error::{Error, Result};
use crate::service::files::blobs::{remove_if_exists, sync_dir};

/// Read size when hashing a part file.
const HASH_BUFFER: usize = 1 << 20;
/// Bytes gathered before one positioned write: few, large writes instead of one
/// per network frame.
const WRITE_BUFFER: usize = 256 << 10;

/// Stripes of write locks: writers of one part file take turns, because
/// concurrent buffered writes to one inode only spin on the kernel's inode lock.
const WRITE_STRIPES: usize = 64;

/// The directory of part files.
#[derive(Debug)]
pub struct Staging {
    root: PathBuf,
    write_locks: Vec<Arc<tokio::sync::Mutex<()>>>,
}

impl Staging {
    /// Open (creating if needed) the staging directory.
    pub async fn open(root: PathBuf) -> Result<Self> {
        tokio::fs::create_dir_all(&root).await?;
        let write_locks = (0..WRITE_STRIPES)
            .map(|_| Arc::new(tokio::sync::Mutex::new(())))
            .collect();
        Ok(Self { root, write_locks })
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
    pub async fn open_at(&self, upload_id: Uuid, offset: u64) -> Result<Option<RegionWriter>> {
        let path = self.part_path(upload_id);
        let opened =
            tokio::task::spawn_blocking(move || std::fs::OpenOptions::new().write(true).open(path))
                .await
                .map_err(|e| Error::internal(format!("open task failed: {e}")))?;
        match opened {
            Ok(file) => Ok(Some(RegionWriter {
                claim: None,
                file: Arc::new(file),
                turn: self.write_locks[(upload_id.as_u128() % WRITE_STRIPES as u128) as usize]
                    .clone(),
                offset,
                buffer: Vec::with_capacity(WRITE_BUFFER),
            })),
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

    /// Feed bytes `from..to` of the part file into `hasher`, reading sequentially.
    pub async fn hash_range(
        &self,
        upload_id: Uuid,
        mut hasher: Sha256,
        from: u64,
        to: u64,
    ) -> Result<Sha256> {
        let path = self.part_path(upload_id);
        tokio::task::spawn_blocking(move || -> io::Result<Sha256> {
            let mut file = std::fs::File::open(&path)?;
            file.seek(io::SeekFrom::Start(from))?;
            let mut left = to.saturating_sub(from);
            let mut buffer = vec![0u8; HASH_BUFFER];
            while left > 0 {
                let want = usize::try_from(left)
                    .unwrap_or(HASH_BUFFER)
                    .min(HASH_BUFFER);
                let n = file.read(&mut buffer[..want])?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "part file is short",
                    ));
                }
                hasher.update(&buffer[..n]);
                left -= n as u64;
            }
            Ok(hasher)
        })
        .await
        .map_err(|e| Error::internal(format!("hashing task failed: {e}")))?
        .map_err(Error::from)
    }

    /// Make the part file durable.
    pub async fn sync(&self, upload_id: Uuid) -> Result<()> {
        let file = tokio::fs::File::open(self.part_path(upload_id)).await?;
        file.sync_all().await?;
        Ok(())
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

/// Writes one chunk's bytes at its offset of a part file, in large positioned
/// writes on the blocking pool; holds at most [`WRITE_BUFFER`] bytes.
#[derive(Debug)]
pub struct RegionWriter {
    /// Held by every write in flight, so that whatever claims the region (the
    /// chunk's in-flight claim) outlives a write the caller stopped awaiting.
    claim: Option<Arc<dyn std::any::Any + Send + Sync>>,
    file: Arc<std::fs::File>,
    turn: Arc<tokio::sync::Mutex<()>>,
    offset: u64,
    buffer: Vec<u8>,
}

impl RegionWriter {
    /// Keep `claim` alive until every write of this writer has finished.
    pub fn hold(&mut self, claim: Arc<dyn std::any::Any + Send + Sync>) {
        self.claim = Some(claim);
    }

    /// Append `data` at the current position.
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
        let _turn = self.turn.lock().await;
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

    /// Write what is buffered and make the region durable.
    pub async fn finish(mut self) -> Result<()> {
        self.write_buffer().await?;
        let file = self.file.clone();
        tokio::task::spawn_blocking(move || file.sync_data())
            .await
            .map_err(|e| Error::internal(format!("sync task failed: {e}")))??;
        Ok(())
    }
}
