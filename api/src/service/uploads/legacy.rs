//! Part files (`staging/<upload>.part`, every chunk at its offset of one sparse
//! file) are how the previous release staged uploads. When the server starts,
//! the chunks an unfinished upload had stored in one become blocks, and the part
//! file goes: an upload in flight across the upgrade resumes where it was.
use std::{
    io::{self, Read, Seek},
    path::{Path, PathBuf},
};

use entity::{chunked_upload, enums::UploadStatus};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::service::Services;
use crate::service::error::{Error, Result};
use crate::service::files::blobs::{BlobStore, remove_if_exists};

/// Read size when copying a chunk out of a part file.
const COPY_BUFFER: usize = 1 << 20;

/// The previous release's part files, in `root`.
#[derive(Debug)]
pub struct LegacyParts {
    root: PathBuf,
}

impl LegacyParts {
    /// The directory (created if missing, so the server's layout stays the same).
    pub async fn open(root: PathBuf) -> Result<Self> {
        tokio::fs::create_dir_all(&root).await?;
        Ok(Self { root })
    }

    /// The part file of an upload.
    pub fn part_path(&self, upload_id: Uuid) -> PathBuf {
        self.root.join(format!("{upload_id}.part"))
    }

    /// Delete an upload's part file (gone already is fine).
    pub async fn remove(&self, upload_id: Uuid) -> Result<()> {
        remove_if_exists(&self.part_path(upload_id)).await
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

/// Copy bytes `offset..offset+size` of the part file `part` into a new
/// temporary file of `blobs`, and answer its path if their SHA-256 is `sha256`
/// (`None`, and nothing left behind, when it is not or the part is short).
pub(crate) async fn cut_chunk(
    blobs: &BlobStore,
    part: &Path,
    offset: u64,
    size: u64,
    sha256: &str,
) -> Result<Option<PathBuf>> {
    let (part, temp, sha256) = (part.to_path_buf(), blobs.temp_path(), sha256.to_owned());
    tokio::task::spawn_blocking(move || -> io::Result<Option<PathBuf>> {
        let mut from = std::fs::File::open(&part)?;
        from.seek(io::SeekFrom::Start(offset))?;
        let mut to = std::fs::File::create_new(&temp)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; COPY_BUFFER];
        let mut left = size;
        let copied = (|| -> io::Result<bool> {
            while left > 0 {
                let want = usize::try_from(left)
                    .unwrap_or(COPY_BUFFER)
                    .min(COPY_BUFFER);
                let n = from.read(&mut buffer[..want])?;
                if n == 0 {
                    return Ok(false);
                }
                hasher.update(&buffer[..n]);
                io::Write::write_all(&mut to, &buffer[..n])?;
                left -= n as u64;
            }
            to.sync_data()?;
            Ok(hex::encode(hasher.finalize()) == sha256)
        })();
        match copied {
            Ok(true) => Ok(Some(temp)),
            other => {
                let _ = std::fs::remove_file(&temp);
                other.map(|_| None)
            }
        }
    })
    .await
    .map_err(|e| Error::internal(format!("copy task failed: {e}")))?
    .map_err(Error::from)
}

impl Services {
    /// Each part file of an unfinished upload: its stored chunks become blocks
    /// (a chunk whose bytes no longer check out is forgotten, to be sent again),
    /// then the part file goes. Part files nobody owns, and strays, just go.
    pub(crate) async fn import_legacy_parts(&self) -> Result<()> {
        let parts = &self.inner.legacy_parts;
        let (ids, strays) = parts.list().await?;
        for stray in strays {
            tracing::warn!(path = %stray.display(), "removing a stray file from staging");
            if let Err(err) = crate::service::files::blobs::remove_if_exists(&stray).await {
                tracing::warn!(path = %stray.display(), %err, "cannot remove a stray staging file");
            }
        }
        for id in ids {
            let upload = chunked_upload::Entity::find_by_id(id)
                .one(self.db())
                .await?
                .filter(|u| UploadStatus::UNFINISHED.contains(&u.status));
            if let Some(upload) = upload {
                self.import_part(&upload).await?;
            } else {
                tracing::info!(upload_id = %id, "removing orphaned staged data");
            }
            if let Err(err) = parts.remove(id).await {
                tracing::warn!(upload_id = %id, %err, "cannot remove a part file");
            }
        }
        Ok(())
    }

    async fn import_part(&self, upload: &chunked_upload::Model) -> Result<()> {
        use entity::upload_chunk;
        let part = self.inner.legacy_parts.part_path(upload.id);
        let chunks = upload_chunk::Entity::find()
            .filter(upload_chunk::Column::UploadId.eq(upload.id))
            .all(self.db())
            .await?;
        let mut lost = Vec::new();
        for chunk in chunks {
            let offset = u64::try_from(chunk.chunk_number).unwrap_or(0) * upload.chunk_size as u64;
            let size = u64::try_from(chunk.size).unwrap_or(0);
            match cut_chunk(&self.inner.blobs, &part, offset, size, &chunk.sha256).await? {
                Some(temp) => self.inner.blocks.adopt(&temp, &chunk.sha256).await?,
                None => lost.push(chunk),
            }
        }
        if lost.is_empty() {
            return Ok(());
        }
        tracing::warn!(upload_id = %upload.id, chunks = lost.len(), "chunks of a part file no longer check out; they must be sent again");
        let txn = self.begin_write().await?;
        for chunk in &lost {
            upload_chunk::Entity::delete_by_id((upload.id, chunk.chunk_number))
                .exec(&txn)
                .await?;
        }
        let bytes: i64 = lost.iter().map(|c| c.size).sum();
        chunked_upload::Entity::update_many()
            .col_expr(
                chunked_upload::Column::CompletedChunks,
                Expr::value(upload.completed_chunks - lost.len() as i32),
            )
            .col_expr(
                chunked_upload::Column::UploadedBytes,
                Expr::value(upload.uploaded_bytes - bytes),
            )
            .col_expr(
                chunked_upload::Column::Status,
                Expr::value(if upload.status == UploadStatus::Assembling {
                    UploadStatus::Active
                } else {
                    upload.status
                }),
            )
            .filter(chunked_upload::Column::Id.eq(upload.id))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        self.inner.stored_chunks.forget(upload.id);
        Ok(())
    }
}
