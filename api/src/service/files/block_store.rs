//! Where blocks live, behind one trait: the services name blocks by SHA-256 and
//! never by path, so a store on local disk ([`BlobStore`]) and one on object
//! storage (each block one object) are interchangeable. What needs a local
//! filesystem — temporary files being written, free-space checks — stays with
//! the local area ([`BlobStore`] again, for now the same directory).
use std::{io, path::Path};

use bytes::Bytes;
use futures_util::{StreamExt, future::BoxFuture, stream::BoxStream};
use sha2::Sha256;

use crate::service::error::Result;
use crate::service::files::blobs::{BlobStore, StoredBlock};

/// A positional reader of one block (blocking: WebDAV reads on its own threads).
pub trait BlockRead: Send + Sync {
    /// Fill `buf` from `offset` of the block; how many bytes were read (0 at its end).
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;
}

/// Blocks named by their SHA-256, each stored once.
pub trait BlockStore: std::fmt::Debug + Send + Sync {
    /// Whether block `sha256` is stored.
    fn contains<'a>(&'a self, sha256: &'a str) -> BoxFuture<'a, Result<bool>>;

    /// Take the complete, synced local file `file` holding block `sha256` into
    /// the store; the file is gone afterwards. A block stored already is kept,
    /// and counts as used now (the collector's grace period starts over).
    fn adopt<'a>(&'a self, file: &'a Path, sha256: &'a str) -> BoxFuture<'a, Result<()>>;

    /// `len` bytes of block `sha256` from `offset`, in pieces of at most
    /// `buffer` bytes; a block shorter than that is an error, never short data.
    fn read(
        &self,
        sha256: &str,
        offset: u64,
        len: u64,
        buffer: usize,
    ) -> BoxStream<'static, io::Result<Bytes>>;

    /// Open block `sha256` for positional reads (blocking).
    fn open_blocking(&self, sha256: &str) -> io::Result<Box<dyn BlockRead>>;

    /// Feed the blocks `blocks`, in order, into `hasher`.
    fn hash<'a>(&'a self, hasher: Sha256, blocks: Vec<String>) -> BoxFuture<'a, Result<Sha256>>;

    /// Every stored block, with its size and last use.
    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredBlock>>>;

    /// Delete block `sha256` (gone already is fine).
    fn remove<'a>(&'a self, sha256: &'a str) -> BoxFuture<'a, Result<()>>;
}

impl BlockRead for std::fs::File {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(self, buf, offset)
    }
}

impl BlockStore for BlobStore {
    fn contains<'a>(&'a self, sha256: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(BlobStore::contains(self, sha256))
    }

    fn adopt<'a>(&'a self, file: &'a Path, sha256: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.adopt_file(file, sha256))
    }

    fn read(
        &self,
        sha256: &str,
        offset: u64,
        len: u64,
        buffer: usize,
    ) -> BoxStream<'static, io::Result<Bytes>> {
        use futures_util::stream;
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let path = match self.block_path(sha256) {
            Ok(path) => path,
            Err(err) => {
                return stream::once(async move { Err(io::Error::other(err.to_string())) }).boxed();
            }
        };
        let opened = async move {
            let mut file = tokio::fs::File::open(&path).await?;
            if offset > 0 {
                file.seek(io::SeekFrom::Start(offset)).await?;
            }
            Ok::<_, io::Error>(file.take(len))
        };
        stream::once(opened)
            .map(move |opened| {
                let piece = match opened {
                    Ok(piece) => piece,
                    Err(err) => return stream::once(async move { Err(err) }).boxed(),
                };
                stream::try_unfold((piece, len), move |(mut piece, left)| async move {
                    if left == 0 {
                        return Ok(None);
                    }
                    let mut buf = bytes::BytesMut::with_capacity(buffer.min(left as usize).max(1));
                    let read = piece.read_buf(&mut buf).await?;
                    if read == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "a stored block is shorter than its manifest says",
                        ));
                    }
                    Ok(Some((buf.freeze(), (piece, left - read as u64))))
                })
                .boxed()
            })
            .flatten()
            .boxed()
    }

    fn open_blocking(&self, sha256: &str) -> io::Result<Box<dyn BlockRead>> {
        let path = self
            .block_path(sha256)
            .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(Box::new(std::fs::File::open(path)?))
    }

    fn hash<'a>(&'a self, hasher: Sha256, blocks: Vec<String>) -> BoxFuture<'a, Result<Sha256>> {
        Box::pin(self.hash_blocks(hasher, blocks))
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredBlock>>> {
        Box::pin(self.list_blocks())
    }

    fn remove<'a>(&'a self, sha256: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.remove_block(sha256))
    }
}
