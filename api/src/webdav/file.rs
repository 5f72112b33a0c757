//! Open files and metadata for `dav-server`: reads stream from the blob, writes
//! go to a service [`FileWriter`] that commits on flush.
use std::{
    io::SeekFrom,
    time::{Duration, SystemTime},
};

use bytes::{Buf, Bytes, BytesMut};
use chrono::{DateTime, Utc};
use dav_server::fs::{DavFile, DavMetaData, FsError, FsFuture, FsResult};
use futures_util::FutureExt;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::fs::fs_error;
use crate::service::{
    file_writer::FileWriter,
    files::{FileInfo, OpenFile},
    tree::Entry,
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

/// A file opened for reading: its version's blob.
#[derive(Debug)]
pub struct ReadFile {
    meta: Meta,
    file: tokio::fs::File,
}

impl ReadFile {
    pub fn new(open: OpenFile) -> Self {
        Self {
            meta: Meta::from(&open.info),
            file: open.file,
        }
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
            let mut buf = BytesMut::with_capacity(count);
            while buf.len() < count {
                let read = self
                    .file
                    .read_buf(&mut buf)
                    .await
                    .map_err(|_| FsError::GeneralFailure)?;
                if read == 0 {
                    break;
                }
            }
            Ok(buf.freeze())
        }
        .boxed()
    }

    fn seek(&mut self, pos: SeekFrom) -> FsFuture<'_, u64> {
        async move {
            self.file
                .seek(pos)
                .await
                .map_err(|_| FsError::GeneralFailure)
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
}

impl WriteFile {
    pub fn new(writer: FileWriter) -> Self {
        Self {
            writer: Some(writer),
            committed: None,
        }
    }

    /// A file already committed (an empty file made by LOCK on a free path).
    pub fn committed(file: &FileInfo) -> Self {
        Self {
            writer: None,
            committed: Some(Meta::from(file)),
        }
    }

    fn writer(&mut self) -> FsResult<&mut FileWriter> {
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
            self.writer()?.write(bytes).await.map_err(fs_error)
        }
        .boxed()
    }

    fn write_bytes(&mut self, buf: Bytes) -> FsFuture<'_, ()> {
        async move { self.writer()?.write(buf).await.map_err(fs_error) }.boxed()
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
