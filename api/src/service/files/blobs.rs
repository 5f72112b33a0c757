//! Content-addressed blob store: a blob's name is the SHA-256 of its bytes, so
//! identical content is stored once. Local filesystem under the data directory;
//! every write lands whole (synced, then renamed into place) or not at all.
use std::{
    io,
    path::{Path, PathBuf},
};

use sha2::{Digest, Sha256};

use crate::service::error::{Error, Result};

/// Read size when hashing blocks.
const HASH_BUFFER: usize = 1 << 20;

/// Where committed file contents live.
#[derive(Debug)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    /// Open (creating if needed) the store rooted at `root`.
    pub async fn open(root: PathBuf) -> Result<Self> {
        tokio::fs::create_dir_all(&root).await?;
        Ok(Self { root })
    }

    /// Drop the temporary files a crashed writer left half-written (they are
    /// never adopted). Only the server starting up may call this: a CLI command
    /// opening the store beside a running server must not touch its writes.
    pub async fn sweep_incoming(&self) -> Result<usize> {
        let mut removed = 0;
        let mut entries = tokio::fs::read_dir(&self.root).await?;
        while let Some(entry) = entries.next_entry().await? {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("incoming-") && name.ends_with(".tmp") {
                tracing::warn!(file = %name, "removing an unfinished incoming file");
                remove_if_exists(&entry.path()).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Where the block named `sha256` is (or would be) stored.
    pub(crate) fn block_path(&self, sha256: &str) -> Result<PathBuf> {
        self.path_of(sha256)
    }

    /// `root/ab/cd/abcd…`: two fan-out levels keep directories small.
    fn path_of(&self, sha256: &str) -> Result<PathBuf> {
        if !is_address(sha256) {
            return Err(Error::internal(format!("not a blob address: {sha256:?}")));
        }
        Ok(self
            .root
            .join(&sha256[..2])
            .join(&sha256[2..4])
            .join(sha256))
    }

    /// Whether a blob with this address is stored.
    pub async fn contains(&self, sha256: &str) -> Result<bool> {
        Ok(tokio::fs::try_exists(self.path_of(sha256)?).await?)
    }

    /// Take a complete file that already holds the bytes of `sha256` into the
    /// store by renaming it (no copy). The file must be on the same filesystem
    /// and already synced. When the blob exists, the file is simply removed.
    pub async fn adopt_file(&self, file: &Path, sha256: &str) -> Result<()> {
        let target = self.path_of(sha256)?;
        let dir = target
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.root.clone());
        if !tokio::fs::try_exists(&dir).await? {
            tokio::fs::create_dir_all(&dir).await?;
            // Make the new fan-out directories themselves durable.
            if let Some(fan_out) = dir.parent() {
                sync_dir(fan_out).await?;
            }
            sync_dir(&self.root).await?;
        }
        if tokio::fs::try_exists(&target).await? {
            remove_if_exists(file).await?;
            // Used again just now: the collector's grace period starts over.
            touch(&target).await?;
            return Ok(());
        }
        tokio::fs::rename(file, &target).await?;
        sync_dir(&dir).await?;
        match file.parent() {
            Some(source_dir) => sync_dir(source_dir).await,
            None => Ok(()),
        }
    }

    /// Feed the stored blocks `blocks`, in order, into `hasher` (one sequential
    /// read each, on the blocking pool).
    pub async fn hash_blocks(&self, mut hasher: Sha256, blocks: Vec<String>) -> Result<Sha256> {
        let paths = blocks
            .iter()
            .map(|b| self.path_of(b))
            .collect::<Result<Vec<_>>>()?;
        tokio::task::spawn_blocking(move || -> io::Result<Sha256> {
            let mut buffer = vec![0u8; HASH_BUFFER];
            for path in paths {
                let mut file = std::fs::File::open(&path)?;
                loop {
                    let n = io::Read::read(&mut file, &mut buffer)?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buffer[..n]);
                }
            }
            Ok(hasher)
        })
        .await
        .map_err(|e| Error::internal(format!("hashing task failed: {e}")))?
        .map_err(Error::from)
    }

    /// Every stored block: its name, size and last use (adopted or reused).
    pub async fn list_blocks(&self) -> Result<Vec<StoredBlock>> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || -> io::Result<Vec<StoredBlock>> {
            let mut out = Vec::new();
            for first in std::fs::read_dir(&root)? {
                let first = first?;
                if !first.file_type()?.is_dir() {
                    continue;
                }
                for second in std::fs::read_dir(first.path())? {
                    let second = second?;
                    if !second.file_type()?.is_dir() {
                        continue;
                    }
                    for block in std::fs::read_dir(second.path())? {
                        let block = block?;
                        let meta = block.metadata()?;
                        let name = block.file_name().to_string_lossy().into_owned();
                        if !meta.is_file() || !is_address(&name) {
                            continue;
                        }
                        out.push(StoredBlock {
                            sha256: name,
                            size: meta.len(),
                            used_at: meta.modified()?,
                        });
                    }
                }
            }
            Ok(out)
        })
        .await
        .map_err(|e| Error::internal(format!("listing task failed: {e}")))?
        .map_err(Error::from)
    }

    /// Delete a stored block (gone already is fine).
    pub async fn remove_block(&self, sha256: &str) -> Result<()> {
        remove_if_exists(&self.path_of(sha256)?).await
    }

    /// Open a blob for reading, with its length.
    pub async fn open_read(&self, sha256: &str) -> Result<(tokio::fs::File, u64)> {
        let file = tokio::fs::File::open(self.path_of(sha256)?).await?;
        let len = file.metadata().await?.len();
        Ok((file, len))
    }

    /// Fail with 507 unless `needed` bytes fit while keeping `reserve` bytes free.
    pub async fn ensure_space(&self, needed: u64, reserve: u64) -> Result<()> {
        if self.available_space(reserve).await? < needed {
            return Err(Error::storage_full());
        }
        Ok(())
    }

    /// Bytes that can still be stored while keeping `reserve` bytes free.
    pub async fn available_space(&self, reserve: u64) -> Result<u64> {
        let root = self.root.clone();
        let available = tokio::task::spawn_blocking(move || fs4::available_space(root))
            .await
            .map_err(|e| Error::internal(format!("free-space check panicked: {e}")))??;
        Ok(available.saturating_sub(reserve))
    }

    /// A fresh temporary path in the store's directory, for a file that will be
    /// adopted with [`Self::adopt_file`] (same filesystem, so a rename).
    pub fn temp_path(&self) -> PathBuf {
        self.root
            .join(format!("incoming-{}.tmp", uuid::Uuid::new_v4()))
    }
}

/// One block file of the store.
#[derive(Clone, Debug)]
pub struct StoredBlock {
    pub sha256: String,
    pub size: u64,
    /// When it was last written or reused (its modification time).
    pub used_at: std::time::SystemTime,
}

/// Whether `name` is a block address: 64 lowercase hex digits.
pub(crate) fn is_address(name: &str) -> bool {
    name.len() == 64
        && name
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Set a file's modification time to now.
async fn touch(path: &Path) -> Result<()> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        std::fs::OpenOptions::new()
            .append(true)
            .open(path)?
            .set_modified(std::time::SystemTime::now())
    })
    .await
    .map_err(|e| Error::internal(format!("touch task failed: {e}")))??;
    Ok(())
}

/// Remove a file; one that is already gone is fine.
pub(crate) async fn remove_if_exists(path: &Path) -> Result<()> {
    match tokio::fs::remove_file(path).await {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

/// Make a directory's entries (a rename into it) durable.
pub(crate) async fn sync_dir(dir: &Path) -> Result<()> {
    let dir = tokio::fs::File::open(dir).await?;
    dir.sync_all().await?;
    Ok(())
}
