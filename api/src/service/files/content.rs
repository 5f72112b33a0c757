//! A file version's bytes as the blocks they are stored in. A content is named by
//! the SHA-256 of all its bytes (the `ETag`, `sha256` and `file_hash` clients see);
//! its manifest (`content_blocks`) lists, in order, the blocks that make it up,
//! each stored once in the block store under its own SHA-256. Reads go across
//! blocks: a stream for HTTP bodies (with `Range`), a positional reader for WebDAV.
use std::{io, sync::Arc};

use bytes::Bytes;
use entity::content_block;
use futures_util::{Stream, StreamExt, stream};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::service::{
    Services,
    error::{Error, Result},
    files::block_store::{BlockRead, BlockStore},
};

/// Blocks one manifest may hold (a 1 TiB file in 64 KiB blocks is 16 Mi of them).
pub const MAX_BLOCKS: usize = 1 << 24;

/// One block of a content, where it sits.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Block {
    sha256: String,
    /// Where the block starts in the content.
    offset: u64,
    size: u64,
}

/// The bytes of one content, readable across its blocks.
#[derive(Clone, Debug)]
pub struct Content {
    size: u64,
    blocks: Arc<[Block]>,
    store: Arc<dyn BlockStore>,
}

impl Content {
    /// Its length in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// How many blocks it is stored in.
    pub fn block_count(&self) -> usize {
        self.blocks.len()
    }

    /// The index of the block holding byte `position` (< size).
    fn block_at(&self, position: u64) -> usize {
        self.blocks
            .partition_point(|b| b.offset + b.size <= position)
    }

    /// `len` bytes from `start` (within the content), streamed block by block in
    /// pieces of at most `buffer` bytes. A block shorter than its manifest says is
    /// an error, never silently short data.
    pub fn stream(
        &self,
        start: u64,
        len: u64,
        buffer: usize,
    ) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static + use<> {
        let end = start.saturating_add(len).min(self.size);
        let first = if start < end {
            self.block_at(start)
        } else {
            self.blocks.len()
        };
        let pieces: Vec<(String, u64, u64)> = self.blocks[first..]
            .iter()
            .take_while(|b| b.offset < end)
            .map(|b| {
                let skip = start.saturating_sub(b.offset);
                let take = (b.offset + b.size).min(end) - (b.offset + skip);
                (b.sha256.clone(), skip, take)
            })
            .collect();
        let store = self.store.clone();
        stream::iter(pieces)
            .map(move |(sha256, skip, take)| store.read(&sha256, skip, take, buffer))
            .flatten()
    }

    /// A blocking positional reader over this content.
    pub fn cursor(&self) -> ContentCursor {
        ContentCursor {
            content: self.clone(),
            open: None,
        }
    }
}

/// Reads a content at any position on a blocking thread, keeping the block it
/// last read open.
pub struct ContentCursor {
    content: Content,
    open: Option<(usize, Box<dyn BlockRead>)>,
}

impl std::fmt::Debug for ContentCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContentCursor")
            .field("content", &self.content)
            .field("open", &self.open.as_ref().map(|(index, _)| index))
            .finish()
    }
}

impl ContentCursor {
    /// Up to `count` bytes at `position` (fewer only at the end of the content).
    pub fn read_at(&mut self, position: u64, count: usize) -> io::Result<Vec<u8>> {
        let size = self.content.size;
        let mut buf = vec![0u8; count.min(size.saturating_sub(position) as usize)];
        let mut filled = 0;
        let mut at = position;
        while filled < buf.len() {
            let index = self.content.block_at(at);
            let block = self.content.blocks[index].clone();
            if !matches!(&self.open, Some((open, _)) if *open == index) {
                self.open = Some((index, self.content.store.open_blocking(&block.sha256)?));
            }
            let Some((_, reader)) = self.open.as_mut() else {
                return Err(io::Error::other("no open block"));
            };
            let want = (buf.len() - filled).min((block.offset + block.size - at) as usize);
            let mut got = 0;
            while got < want {
                let n = reader.read_at(
                    at - block.offset + got as u64,
                    &mut buf[filled + got..filled + want],
                )?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "a stored block is shorter than its manifest says",
                    ));
                }
                got += n;
            }
            filled += want;
            at += want as u64;
        }
        Ok(buf)
    }
}

impl Services {
    /// The content named `sha256`, `size` bytes long, as its stored blocks.
    pub(crate) async fn content(
        &self,
        conn: &impl ConnectionTrait,
        sha256: &str,
        size: u64,
    ) -> Result<Content> {
        let rows = content_block::Entity::find()
            .filter(content_block::Column::ContentSha256.eq(sha256))
            .order_by_asc(content_block::Column::Position)
            .all(conn)
            .await?;
        let listed: Vec<(String, u64)> = if rows.is_empty() && size > 0 {
            // Stored whole, before manifests (or by a commit that wrote none).
            vec![(sha256.to_owned(), size)]
        } else {
            rows.into_iter()
                .map(|r| (r.block_sha256, u64::try_from(r.size).unwrap_or(0)))
                .collect()
        };
        let mut blocks = Vec::with_capacity(listed.len());
        let mut offset = 0u64;
        for (block, block_size) in listed {
            blocks.push(Block {
                sha256: block,
                offset,
                size: block_size,
            });
            offset += block_size;
        }
        if offset != size {
            return Err(Error::internal(format!(
                "the manifest of {sha256} holds {offset} bytes, not {size}"
            )));
        }
        Ok(Content {
            size,
            blocks: blocks.into(),
            store: self.inner.blocks.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::files::blobs::BlobStore;
    use futures_util::TryStreamExt;

    /// A content of `sizes` blocks in a store in `dir`, block `n` filled with byte `n`.
    async fn content(dir: &std::path::Path, sizes: &[u64]) -> (Content, Vec<u8>, Arc<BlobStore>) {
        use sha2::Digest;
        let store = Arc::new(BlobStore::open(dir.to_owned()).await.expect("store"));
        let mut all = Vec::new();
        let mut blocks = Vec::new();
        let mut offset = 0;
        for (n, size) in sizes.iter().enumerate() {
            let bytes = vec![n as u8; *size as usize];
            let sha256 = hex::encode(sha2::Sha256::digest(&bytes));
            let temp = store.temp_path();
            std::fs::write(&temp, &bytes).expect("block");
            store.adopt_file(&temp, &sha256).await.expect("adopt");
            all.extend_from_slice(&bytes);
            blocks.push(Block {
                sha256,
                offset,
                size: *size,
            });
            offset += size;
        }
        let content = Content {
            size: offset,
            blocks: blocks.into(),
            store: store.clone(),
        };
        (content, all, store)
    }

    #[tokio::test]
    async fn reads_cross_blocks_at_any_range() {
        let dir = tempfile::tempdir().expect("dir");
        let (content, all, _) = content(dir.path(), &[5, 1, 7, 3]).await;
        for start in 0..all.len() as u64 {
            for len in 0..=(all.len() as u64 - start) {
                let streamed: Vec<u8> = content
                    .stream(start, len, 2)
                    .map_ok(|b| b.to_vec())
                    .try_concat()
                    .await
                    .expect("stream");
                let range = start as usize..(start + len) as usize;
                assert_eq!(streamed, all[range.clone()], "{start}+{len}");
                let read = content.cursor().read_at(start, len as usize).expect("read");
                assert_eq!(read, all[range], "{start}+{len}");
            }
        }
        // Past the end: nothing.
        assert!(content.cursor().read_at(99, 4).expect("read").is_empty());
    }

    #[tokio::test]
    async fn a_short_block_is_an_error() {
        let dir = tempfile::tempdir().expect("dir");
        let (content, _, store) = content(dir.path(), &[4, 4]).await;
        let second = store.block_path(&content.blocks[1].sha256).expect("path");
        std::fs::write(second, [1u8; 2]).expect("truncate");
        assert!(content.cursor().read_at(0, 8).is_err());
        assert!(
            content
                .stream(0, 8, 64)
                .map_ok(|b| b.to_vec())
                .try_concat()
                .await
                .is_err()
        );
    }
}
