//! Open files and metadata for `dav-server`: reads stream from the blob, writes
//! go to a service [`FileWriter`] that commits on flush.
use std::{
    io::SeekFrom,
    time::{Duration, SystemTime},
};

use bytes::{Buf, Bytes};
use chrono::{DateTime, Utc};
use dav_server::fs::{DavFile, DavMetaData, FsError, FsFuture, FsResult};
use futures_util::FutureExt;

use super::errors::fs_error;
use crate::service::{
    files::tree::Entry,
    files::writer::FileWriter,
    files::{FileInfo, OpenFile, content::ContentCursor},
    metrics::{Metrics, Protocol},
};

/// Hex digits of the SHA-256 that make a file's WebDAV ETag.
const ETAG_HEX_DIGITS: usize = 32;

/// What `dav-server` knows of an entry.
#[derive(Clone, Debug)]
pub struct Meta {
    len: u64,
    modified: SystemTime,
    dir: bool,
    /// The content's SHA-256 for files.
    sha256: Option<String>,
}

fn system_time(at: DateTime<Utc>) -> SystemTime {
    match u64::try_from(at.timestamp_micros()) {
        Ok(micros) => SystemTime::UNIX_EPOCH + Duration::from_micros(micros),
        Err(_) => SystemTime::UNIX_EPOCH,
    }
}

impl From<&FileInfo> for Meta {
    fn from(file: &FileInfo) -> Self {
        Self {
            len: file.size,
            modified: system_time(file.modified_at),
            dir: false,
            sha256: Some(file.sha256.clone()),
        }
    }
}

impl From<&Entry> for Meta {
    fn from(entry: &Entry) -> Self {
        match entry {
            Entry::File(file) => Meta::from(file),
            Entry::Folder(folder) => Self {
                len: 0,
                modified: system_time(folder.created_at),
                dir: true,
                sha256: None,
            },
        }
    }
}

impl DavMetaData for Meta {
    fn len(&self) -> u64 {
        self.len
    }

    fn modified(&self) -> FsResult<SystemTime> {
        Ok(self.modified)
    }

    fn is_dir(&self) -> bool {
        self.dir
    }

    fn etag(&self) -> Option<String> {
        match &self.sha256 {
            // The content hash's first 128 bits: as unique as the whole of it
            // for any practical purpose, and short enough for clients that
            // copy ETags into fixed-size `If:` header buffers (litmus, neon).
            Some(sha256) => Some(sha256.chars().take(ETAG_HEX_DIGITS).collect()),
            None => {
                let micros = self
                    .modified
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_micros());
                Some(format!("{micros:x}"))
            }
        }
    }
}

/// One read on the blocking pool: it owns the cursor until it is done.
type PendingRead = tokio::task::JoinHandle<(ContentCursor, std::io::Result<Vec<u8>>)>;

/// Read `count` bytes at `position` (across the content's blocks) into a fresh buffer.
fn read_at(mut file: ContentCursor, position: u64, count: usize) -> PendingRead {
    tokio::task::spawn_blocking(move || {
        let read = file.read_at(position, count);
        (file, read)
    })
}

/// A file opened for reading: its version's content, read on the blocking pool
/// one buffer ahead of the one being sent, so the disk read overlaps the send.
#[derive(Debug)]
pub struct ReadFile {
    meta: Meta,
    metrics: Metrics,
    /// The reader, unless a read in flight holds it.
    file: Option<ContentCursor>,
    /// The read ahead in flight, and where it reads.
    ahead: Option<(u64, usize, PendingRead)>,
    position: u64,
}

impl ReadFile {
    pub fn new(open: OpenFile, metrics: Metrics) -> Self {
        Self {
            meta: Meta::from(&open.info),
            metrics,
            file: Some(open.content.cursor()),
            ahead: None,
            position: 0,
        }
    }

    async fn finish(read: PendingRead) -> FsResult<(ContentCursor, std::io::Result<Vec<u8>>)> {
        read.await.map_err(|_| FsError::GeneralFailure)
    }
}

impl DavFile for ReadFile {
    fn metadata(&mut self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        let meta: Box<dyn DavMetaData> = Box::new(self.meta.clone());
        async move { Ok(meta) }.boxed()
    }

    fn write_buf(&mut self, _buf: Box<dyn Buf + Send>) -> FsFuture<'_, ()> {
        async { Err(FsError::Forbidden) }.boxed()
    }

    fn write_bytes(&mut self, _buf: Bytes) -> FsFuture<'_, ()> {
        async { Err(FsError::Forbidden) }.boxed()
    }

    fn read_bytes(&mut self, count: usize) -> FsFuture<'_, Bytes> {
        async move {
            let count = count.min(self.meta.len.saturating_sub(self.position) as usize);
            let read = match self.ahead.take() {
                Some((at, len, pending)) if at == self.position && len == count => pending,
                Some((_, _, stale)) => {
                    let (file, _) = Self::finish(stale).await?;
                    read_at(file, self.position, count)
                }
                None => {
                    let file = self.file.take().ok_or(FsError::GeneralFailure)?;
                    read_at(file, self.position, count)
                }
            };
            let (file, read) = Self::finish(read).await?;
            let buf = read.map_err(|_| FsError::GeneralFailure)?;
            self.position += buf.len() as u64;
            self.metrics.sent(Protocol::Webdav, buf.len() as u64);
            let next = count.min(self.meta.len.saturating_sub(self.position) as usize);
            if next > 0 {
                self.ahead = Some((self.position, next, read_at(file, self.position, next)));
            } else {
                self.file = Some(file);
            }
            Ok(Bytes::from(buf))
        }
        .boxed()
    }

    fn seek(&mut self, pos: SeekFrom) -> FsFuture<'_, u64> {
        async move {
            let target = match pos {
                SeekFrom::Start(at) => Some(at),
                SeekFrom::End(delta) => self.meta.len.checked_add_signed(delta),
                SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
            };
            self.position = target.ok_or(FsError::GeneralFailure)?;
            Ok(self.position)
        }
        .boxed()
    }

    fn flush(&mut self) -> FsFuture<'_, ()> {
        async { Ok(()) }.boxed()
    }
}

/// A file being written; `flush` (the end of the PUT body) commits it.
#[derive(Debug)]
pub struct WriteFile {
    writer: Option<FileWriter>,
    committed: Option<Meta>,
    metrics: Option<Metrics>,
}

impl WriteFile {
    pub fn new(writer: FileWriter, metrics: Metrics) -> Self {
        Self {
            writer: Some(writer),
            committed: None,
            metrics: Some(metrics),
        }
    }

    /// A file already committed (an empty file made by LOCK on a free path).
    pub fn committed(file: &FileInfo) -> Self {
        Self {
            writer: None,
            committed: Some(Meta::from(file)),
            metrics: None,
        }
    }

    /// The writer, counting `bytes` about to be written as received.
    fn writer(&mut self, bytes: usize) -> FsResult<&mut FileWriter> {
        if let Some(metrics) = &self.metrics {
            metrics.received(Protocol::Webdav, bytes as u64);
        }
        self.writer.as_mut().ok_or(FsError::GeneralFailure)
    }
}

impl DavFile for WriteFile {
    fn metadata(&mut self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        async move {
            match &self.committed {
                Some(meta) => Ok(Box::new(meta.clone()) as Box<dyn DavMetaData>),
                None => Err(FsError::NotFound),
            }
        }
        .boxed()
    }

    fn write_buf(&mut self, mut buf: Box<dyn Buf + Send>) -> FsFuture<'_, ()> {
        async move {
            let bytes = buf.copy_to_bytes(buf.remaining());
            self.writer(bytes.len())?
                .write(bytes)
                .await
                .map_err(fs_error)
        }
        .boxed()
    }

    fn write_bytes(&mut self, buf: Bytes) -> FsFuture<'_, ()> {
        async move { self.writer(buf.len())?.write(buf).await.map_err(fs_error) }.boxed()
    }

    fn read_bytes(&mut self, _count: usize) -> FsFuture<'_, Bytes> {
        async { Err(FsError::Forbidden) }.boxed()
    }

    fn seek(&mut self, _pos: SeekFrom) -> FsFuture<'_, u64> {
        async { Err(FsError::NotImplemented) }.boxed()
    }

    fn flush(&mut self) -> FsFuture<'_, ()> {
        async move {
            let Some(writer) = self.writer.take() else {
                return Ok(());
            };
            let file = writer.commit().await.map_err(fs_error)?;
            self.committed = Some(Meta::from(&file));
            Ok(())
        }
        .boxed()
    }
}
