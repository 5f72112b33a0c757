//! Content-addressed blob store: a blob's name is the SHA-256 of its bytes, so
//! identical content is stored once. Local filesystem under the data directory;
//! every write lands whole (synced, then renamed into place) or not at all.
use std::{
    io,
    path::{Path, PathBuf},
};

use crate::service::error::{Error, Result};

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
        if sha256.len() != 64
            || !sha256
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
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
            return Ok(());
        }
        tokio::fs::rename(file, &target).await?;
        sync_dir(&dir).await?;
        match file.parent() {
            Some(source_dir) => sync_dir(source_dir).await,
            None => Ok(()),
        }
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
