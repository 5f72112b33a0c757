//! Blocks on S3 or an S3-compatible store, through OpenDAL: each block one
//! object, `PREFIX/blocks/ab/cd/<sha256>`, so every node sharing the bucket sees
//! every block the moment its upload finishes. A block is written whole (one
//! PUT, or a multipart upload completed at the end) or not at all; readers
//! fetch by range with read-ahead.
use std::{io, path::Path, time::SystemTime};

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, future::BoxFuture, stream::BoxStream};
use opendal::Operator;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use crate::service::error::{Error, Result};
use crate::service::files::blobs::{StoredBlock, is_address};
use crate::service::files::block_store::{BlockRead, BlockStore};

/// Pieces of a multipart upload, and the read size of uploads from disk.
const PART: usize = 8 << 20;
/// Parts in flight at once per block upload.
const PARTS_IN_FLIGHT: usize = 2;
/// What one ranged GET asks for when reading a block sequentially.
const READ_AHEAD: usize = 4 << 20;

/// Where the blocks are: a bucket, a key prefix and the endpoint's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Key prefix (no leading or trailing slash; may be empty).
    pub prefix: String,
    /// `AWS_ENDPOINT_URL` (default: AWS itself).
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

impl S3Location {
    /// Parse `s3://BUCKET/PREFIX` (credentials and endpoint come separately).
    pub fn parse(url: &str) -> std::result::Result<Self, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| format!("FERRY_STORAGE must be s3://BUCKET/PREFIX, not {url:?}"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("FERRY_STORAGE {url:?} names no bucket"));
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
            endpoint: None,
            region: "us-east-1".to_owned(),
            access_key_id: None,
            secret_access_key: None,
        })
    }
}

/// The block store on object storage.
#[derive(Clone)]
pub struct ObjectBlocks {
    op: Operator,
    /// For messages: `s3://bucket/prefix`.
    name: String,
}

impl std::fmt::Debug for ObjectBlocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectBlocks")
            .field("name", &self.name)
            .finish()
    }
}

fn storage_error(err: opendal::Error) -> Error {
    Error::internal(format!("object storage: {err}"))
}

fn io_error(err: opendal::Error) -> io::Error {
    match err.kind() {
        opendal::ErrorKind::NotFound => io::Error::new(io::ErrorKind::NotFound, err.to_string()),
        _ => io::Error::other(err.to_string()),
    }
}

impl ObjectBlocks {
    /// Connect, and check that the bucket answers with these credentials:
    /// what is wrong is named in one line.
    pub async fn open(location: &S3Location) -> Result<Self> {
        // reqwest is built without a default TLS provider: use the server's (ring);
        // OpenDAL's HTTP goes through reqwest (first installed wins).
        let _ = rustls::crypto::ring::default_provider().install_default();
        opendal_http_transport_reqwest::install_default();
        let mut builder = opendal::services::S3::default()
            .bucket(&location.bucket)
            .root(&format!("/{}", location.prefix))
            .region(&location.region)
            .disable_config_load();
        if let Some(endpoint) = &location.endpoint {
            builder = builder.endpoint(endpoint);
        }
        match (&location.access_key_id, &location.secret_access_key) {
            (Some(key), Some(secret)) => {
                builder = builder.access_key_id(key).secret_access_key(secret);
            }
            _ => builder = builder.skip_signature(),
        }
        let name = format!("s3://{}/{}", location.bucket, location.prefix);
        let op = Operator::new(builder)
            .map_err(|e| Error::internal(format!("object storage {name}: {e}")))?
            .layer(opendal::layers::RetryLayer::new().with_max_times(4))
            .layer(
                opendal::layers::TimeoutLayer::new()
                    .with_timeout(std::time::Duration::from_secs(60))
                    .with_io_timeout(std::time::Duration::from_secs(30)),
            );
        let store = Self { op, name };
        store.check().await?;
        Ok(store)
    }

    /// List one key of the prefix: fails when the bucket is missing, the
    /// endpoint does not answer or the credentials are refused.
    async fn check(&self) -> Result<()> {
        let unusable = |e: opendal::Error| {
            Error::internal(format!(
                "object storage {} is not usable: {} (check FERRY_STORAGE, AWS_ENDPOINT_URL, \
                 AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
                self.name,
                short(&e)
            ))
        };
        let mut lister = self.op.lister_with("blocks/").await.map_err(unusable)?;
        if let Some(Err(e)) = lister.next().await {
            return Err(unusable(e));
        }
        Ok(())
    }

    fn key(sha256: &str) -> Result<String> {
        if !is_address(sha256) {
            return Err(Error::internal(format!("not a blob address: {sha256:?}")));
        }
        Ok(format!(
            "blocks/{}/{}/{sha256}",
            &sha256[..2],
            &sha256[2..4]
        ))
    }

    async fn upload(&self, file: &Path, key: &str) -> Result<()> {
        let mut source = tokio::fs::File::open(file).await?;
        let mut writer = self
            .op
            .writer_with(key)
            .chunk(PART)
            .concurrent(PARTS_IN_FLIGHT)
            .await
            .map_err(storage_error)?;
        loop {
            let mut buf = bytes::BytesMut::with_capacity(PART);
            while buf.len() < PART {
                if source.read_buf(&mut buf).await? == 0 {
                    break;
                }
            }
            if buf.is_empty() {
                break;
            }
            let full = buf.len() == PART;
            if let Err(err) = writer.write(buf.freeze()).await {
                let _ = writer.abort().await;
                return Err(storage_error(err));
            }
            if !full {
                break;
            }
        }
        writer.close().await.map_err(storage_error)?;
        Ok(())
    }
}

/// The first line of an OpenDAL error, without its context dump.
fn short(err: &opendal::Error) -> String {
    let text = err.to_string();
    let first = text.lines().next().unwrap_or_default();
    first.chars().take(300).collect()
}

impl BlockStore for ObjectBlocks {
    fn contains<'a>(&'a self, sha256: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            self.op
                .exists(&Self::key(sha256)?)
                .await
                .map_err(storage_error)
        })
    }

    fn adopt<'a>(&'a self, file: &'a Path, sha256: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            // Always written, even when stored already: the object's time is the
            // block's last use, which the collector's grace period counts from.
            self.upload(file, &Self::key(sha256)?).await?;
            crate::service::files::blobs::remove_if_exists(file).await
        })
    }

    fn read(
        &self,
        sha256: &str,
        offset: u64,
        len: u64,
        buffer: usize,
    ) -> BoxStream<'static, io::Result<Bytes>> {
        let op = self.op.clone();
        let key = Self::key(sha256);
        let opened = async move {
            let key = key.map_err(|e| io::Error::other(e.to_string()))?;
            let reader = op
                .reader_with(&key)
                .chunk(buffer.max(READ_AHEAD))
                .concurrent(2)
                .await
                .map_err(io_error)?;
            let stream = reader
                .into_bytes_stream(offset..offset + len)
                .await
                .map_err(io_error)?;
            Ok::<_, io::Error>(stream)
        };
        futures_util::stream::once(opened)
            .map(move |opened| match opened {
                Ok(stream) => exact(stream.boxed(), len),
                Err(err) => futures_util::stream::once(async move { Err(err) }).boxed(),
            })
            .flatten()
            .boxed()
    }

    fn open_blocking(&self, sha256: &str) -> io::Result<Box<dyn BlockRead>> {
        let key = Self::key(sha256).map_err(|e| io::Error::other(e.to_string()))?;
        Ok(Box::new(RangedReader {
            op: self.op.clone(),
            key,
            runtime: tokio::runtime::Handle::current(),
            window_start: 0,
            window: Bytes::new(),
        }))
    }

    fn hash<'a>(&'a self, hasher: Sha256, blocks: Vec<String>) -> BoxFuture<'a, Result<Sha256>> {
        Box::pin(async move {
            let mut hasher = hasher;
            for block in blocks {
                let key = Self::key(&block)?;
                let reader = self
                    .op
                    .reader_with(&key)
                    .chunk(READ_AHEAD)
                    .concurrent(2)
                    .await
                    .map_err(storage_error)?;
                let mut pieces = reader.into_bytes_stream(..).await.map_err(storage_error)?;
                while let Some(piece) = pieces.try_next().await? {
                    hasher = tokio::task::spawn_blocking(move || {
                        hasher.update(&piece);
                        hasher
                    })
                    .await
                    .map_err(|e| Error::internal(format!("hashing task failed: {e}")))?;
                }
            }
            Ok(hasher)
        })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredBlock>>> {
        Box::pin(async move {
            let mut lister = self
                .op
                .lister_with("blocks/")
                .recursive(true)
                .await
                .map_err(storage_error)?;
            let mut out = Vec::new();
            while let Some(entry) = lister.try_next().await.map_err(storage_error)? {
                let name = entry.name().to_owned();
                if !is_address(&name) {
                    continue;
                }
                let meta = entry.metadata();
                out.push(StoredBlock {
                    sha256: name,
                    size: meta.content_length(),
                    used_at: meta
                        .last_modified()
                        .map(SystemTime::from)
                        .unwrap_or_else(SystemTime::now),
                });
            }
            Ok(out)
        })
    }

    fn remove<'a>(&'a self, sha256: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.op
                .delete(&Self::key(sha256)?)
                .await
                .map_err(storage_error)
        })
    }
}

/// `stream`, failing when it ends before `len` bytes (never short data).
fn exact(
    stream: BoxStream<'static, io::Result<Bytes>>,
    len: u64,
) -> BoxStream<'static, io::Result<Bytes>> {
    futures_util::stream::try_unfold((stream, 0u64), move |(mut stream, got)| async move {
        match stream.next().await {
            Some(piece) => {
                let piece = piece?;
                let got = got + piece.len() as u64;
                Ok(Some((piece, (stream, got))))
            }
            None if got < len => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "a stored block is shorter than its manifest says",
            )),
            None => Ok(None),
        }
    })
    .boxed()
}

/// Positional reads of one object for blocking callers, a window at a time.
struct RangedReader {
    op: Operator,
    key: String,
    runtime: tokio::runtime::Handle,
    window_start: u64,
    window: Bytes,
}

impl BlockRead for RangedReader {
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let in_window =
            offset >= self.window_start && offset < self.window_start + self.window.len() as u64;
        if !in_window {
            let op = self.op.clone();
            let key = self.key.clone();
            let fetched = self.runtime.block_on(async move {
                op.read_with(&key)
                    .range(offset..offset + READ_AHEAD as u64)
                    .await
            });
            let fetched = match fetched {
                Ok(buffer) => buffer.to_bytes(),
                // Past the end of the object.
                Err(err) if err.kind() == opendal::ErrorKind::RangeNotSatisfied => Bytes::new(),
                Err(err) => return Err(io_error(err)),
            };
            self.window_start = offset;
            self.window = fetched;
        }
        let at = (offset - self.window_start) as usize;
        let available = self.window.len().saturating_sub(at);
        let n = available.min(buf.len());
        buf[..n].copy_from_slice(&self.window[at..at + n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_urls_parse() {
        let parsed = S3Location::parse("s3://team-files/ferry/prod/").expect("parse");
        assert_eq!(parsed.bucket, "team-files");
        assert_eq!(parsed.prefix, "ferry/prod");
        assert_eq!(S3Location::parse("s3://b").expect("bare").prefix, "");
        assert!(S3Location::parse("file:///x").is_err());
        assert!(S3Location::parse("s3:///x").is_err());
    }
}
