//! Moving file content: downloads land in `.ferry/tmp/`, resume by `Range`,
//! are checked against the announced SHA-256 and renamed into place with the
//! server's modification time; uploads are the server's resumable chunked
//! uploads, remembered in the state before the first chunk so a killed client
//! resumes the same upload.
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::api::{Api, BlockRef, Committed, Conflict, StartUpload};
use crate::blocks;
use crate::error::{Error, Result};
use crate::local::{self, Found};
use crate::plan::Local;
use crate::state::{DELTA, Pending, Remote, State};

/// Where a download of content `sha256` to `path` is written until it is
/// complete (per path: two paths with the same content download side by side).
fn part_file(state: &State, path: &str, sha256: &str) -> PathBuf {
    let of_path = hex::encode(&Sha256::digest(path.as_bytes())[..8]);
    state
        .dir()
        .join("tmp")
        .join(format!("{sha256}-{of_path}.part"))
}

/// The local entry is still what the plan saw (`None`: still absent).
pub fn unchanged(file: &Path, expected: Option<&Local>) -> Result<bool> {
    let now = local::stat(file)?;
    Ok(match (now, expected) {
        (None, None) => true,
        (
            Some(Found {
                kind,
                size,
                mtime_ns,
            }),
            Some(l),
        ) => kind == l.kind && size == l.size && mtime_ns == l.mtime_ns,
        _ => false,
    })
}

/// Download `remote` to `path` under `root`; the local file must still be
/// `expected`. Returns the new local entry, or `None` when the local side
/// changed meanwhile (nothing replaced; the next pass decides).
pub async fn download(
    api: &Api,
    state: &State,
    root: &Path,
    path: &str,
    remote: &Remote,
    expected: Option<&Local>,
) -> Result<Option<Found>> {
    let sha = remote.sha256.clone().unwrap_or_default();
    let part = part_file(state, path, &sha);
    let tmp_dir = state.dir().join("tmp");
    std::fs::create_dir_all(&tmp_dir).map_err(|e| Error::io(&tmp_dir, e))?;
    if let Some(listed) = state.remote_blocks(path, remote.version).await?
        && listed.len() > 1
        && listed.iter().map(|b| b.size).sum::<u64>() == remote.size
    {
        let file = crate::reuse::assemble(api, state, root, path, remote, &part, &listed).await?;
        let placed = place(file, &part, root, path, remote, expected)?;
        if placed.is_some() {
            state.set_blocks(path, &listed).await?;
        }
        return Ok(placed);
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&part)
        .map_err(|e| Error::io(&part, e))?;
    let mut have = file.metadata().map_err(|e| Error::io(&part, e))?.len();
    if have > remote.size {
        file.set_len(0).map_err(|e| Error::io(&part, e))?;
        have = 0;
    }
    // Hash what an earlier attempt left, then go on from there.
    let mut hasher = Sha256::new();
    if have > 0 {
        let mut buffer = vec![0u8; 256 << 10];
        file.seek(SeekFrom::Start(0))
            .map_err(|e| Error::io(&part, e))?;
        let mut reader = (&mut file).take(have);
        loop {
            let n = reader.read(&mut buffer).map_err(|e| Error::io(&part, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
        }
    }
    if have < remote.size || remote.size == 0 {
        let response = api.download(path, remote.version, have).await?;
        file.seek(SeekFrom::Start(have))
            .map_err(|e| Error::io(&part, e))?;
        receive(response, path, &part, &mut file, &mut hasher).await?;
    }
    if hex::encode(hasher.finalize()) != sha {
        drop(file);
        let _ = std::fs::remove_file(&part);
        return Err(Error::Corrupt {
            path: path.to_owned(),
            expected: sha,
        });
    }
    place(file, &part, root, path, remote, expected)
}

/// Give the verified download `file` (at `part`) the server's modification
/// time and rename it to `path`, unless the local side changed meanwhile.
fn place(
    file: std::fs::File,
    part: &Path,
    root: &Path,
    path: &str,
    remote: &Remote,
    expected: Option<&Local>,
) -> Result<Option<Found>> {
    let modified = chrono::DateTime::parse_from_rfc3339(&remote.modified_at)
        .map(SystemTime::from)
        .unwrap_or_else(|_| SystemTime::now());
    file.set_modified(modified)
        .map_err(|e| Error::io(part, e))?;
    file.sync_all().map_err(|e| Error::io(part, e))?;
    drop(file);
    let target = local::local_path(root, path);
    if !unchanged(&target, expected)? {
        return Ok(None);
    }
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    std::fs::rename(part, &target).map_err(|e| Error::io(&target, e))?;
    local::stat(&target)
}

/// Write the body of `response` (a download of `path`) to `file` (at `part`),
/// hashing it on the way.
async fn receive(
    response: reqwest::Response,
    path: &str,
    part: &Path,
    file: &mut std::fs::File,
    hasher: &mut Sha256,
) -> Result<()> {
    let mut body = response.bytes_stream();
    while let Some(piece) = body.next().await {
        let piece = piece.map_err(|source| Error::Network {
            what: format!("downloading {path}"),
            source,
        })?;
        hasher.update(&piece);
        file.write_all(&piece).map_err(|e| Error::io(part, e))?;
    }
    Ok(())
}

/// Download version `version` of `path` to the new local file `target`
/// (verified against the server's `ETag`); nothing is replaced.
pub async fn download_as(
    api: &Api,
    state: &State,
    root: &Path,
    path: &str,
    version: i64,
    target: &str,
) -> Result<()> {
    let response = api.download(path, version, 0).await?;
    let etag = response
        .headers()
        .get(reqwest::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim_matches('"').to_owned())
        .unwrap_or_default();
    let tmp_dir = state.dir().join("tmp");
    std::fs::create_dir_all(&tmp_dir).map_err(|e| Error::io(&tmp_dir, e))?;
    let part = tmp_dir.join(format!("{etag}.copy"));
    let mut file = std::fs::File::create(&part).map_err(|e| Error::io(&part, e))?;
    let mut hasher = Sha256::new();
    receive(response, path, &part, &mut file, &mut hasher).await?;
    if hex::encode(hasher.finalize()) != etag {
        let _ = std::fs::remove_file(&part);
        return Err(Error::Corrupt {
            path: path.to_owned(),
            expected: etag,
        });
    }
    file.sync_all().map_err(|e| Error::io(&part, e))?;
    drop(file);
    let to = local::local_path(root, target);
    if local::stat(&to)?.is_some() {
        let _ = std::fs::remove_file(&part);
        return Ok(());
    }
    std::fs::rename(&part, &to).map_err(|e| Error::io(&to, e))
}

/// What an upload ended as.
#[derive(Debug)]
pub enum Uploaded {
    /// Committed at the path asked for.
    Committed(Committed),
    /// Committed at the path asked for over another device's version
    /// `displaced` (a conflict the upload won).
    Displaced { file: Committed, displaced: i64 },
    /// The server kept its own version; the upload was stored at `file.path`.
    ConflictCopy(Committed),
    /// Finished earlier (a resumed upload that had completed): the feed says how.
    Earlier,
    /// The file changed while it was sent; the next pass sends it again.
    ChangedMeanwhile,
}

/// Upload the local file `path` (content `local`) with `base_version`: as a
/// delta upload of its content-defined blocks (only those the server lacks
/// travel), or in fixed chunks when the server refuses the block list.
pub async fn upload(
    api: &Api,
    state: &State,
    root: &Path,
    device_id: &str,
    path: &str,
    local: &Local,
    base_version: Option<i64>,
) -> Result<Uploaded> {
    let sha = local.sha256.clone().unwrap_or_default();
    let file = local::local_path(root, path);
    let (upload_id, chunk_size, chunks, cut) =
        match resume(api, state, path, &sha, local.size).await? {
            Some((id, chunk_size, missing)) if chunk_size == DELTA => {
                let cut = blocks::cut(&file, local.size, &sha).await?;
                (id, chunk_size, missing, Some(cut))
            }
            Some((id, chunk_size, missing)) => (id, chunk_size, missing, None),
            None => {
                let mut cut = if local.size > 0 {
                    Some(blocks::cut(&file, local.size, &sha).await?)
                        .filter(|c| c.len() <= blocks::MAX_BLOCKS)
                } else {
                    None
                };
                let name = path.rsplit('/').next().unwrap_or(path);
                let modified = chrono::DateTime::<chrono::Utc>::from(
                    SystemTime::UNIX_EPOCH
                        + std::time::Duration::from_nanos(local.mtime_ns.max(0) as u64),
                );
                let mut body = StartUpload {
                    device_id,
                    file_path: path,
                    file_name: name,
                    total_size: local.size,
                    file_hash: &sha,
                    modified_at: Some(modified.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)),
                    base_version,
                    blocks: cut.as_deref().map(refs),
                };
                let started = match api.start_upload(&body).await {
                    Err(e) if e.code() == Some("invalid_block_list") && cut.is_some() => {
                        // Blocks past this server's chunk limit, say: plain chunks.
                        cut = None;
                        body.blocks = None;
                        api.start_upload(&body).await?
                    }
                    Err(e) if matches!(e.code(), Some("file_hash_mismatch" | "upload_failed")) => {
                        return Ok(Uploaded::ChangedMeanwhile);
                    }
                    other => other?,
                };
                if started.status.as_deref() == Some("completed") {
                    // Every block was on the server already: nothing to send.
                    if let Some(cut) = &cut {
                        state.set_blocks(path, cut).await?;
                    }
                    return Ok(outcome(path, started.file, started.conflict));
                }
                let pending = Pending {
                    upload_id: started.upload_id.clone(),
                    sha256: sha.clone(),
                    size: local.size,
                    chunk_size: if cut.is_some() {
                        DELTA
                    } else {
                        started.chunk_size
                    },
                };
                state.set_pending(path, Some(&pending)).await?;
                let todo = match &started.missing_chunks {
                    Some(missing) if cut.is_some() => {
                        missing.iter().flat_map(|[from, to]| *from..=*to).collect()
                    }
                    _ => (0..started.total_chunks).collect(),
                };
                (started.upload_id, pending.chunk_size, Some(todo), cut)
            }
        };
    let Some(chunks) = chunks else {
        state.set_pending(path, None).await?;
        return Ok(Uploaded::Earlier);
    };
    let mut committed = None;
    let mut conflict = None;
    for number in chunks {
        let bytes = match &cut {
            Some(cut) => {
                let Some(block) = usize::try_from(number).ok().and_then(|n| cut.get(n)) else {
                    // The file was cut differently: it changed since the upload began.
                    state.set_pending(path, None).await?;
                    return Ok(Uploaded::ChangedMeanwhile);
                };
                read_chunk(&file, block.offset, block.size, local.size).await?
            }
            None => read_chunk(&file, number * chunk_size, chunk_size, local.size).await?,
        };
        let answer = match api.send_chunk(&upload_id, number, bytes).await {
            Err(e)
                if matches!(
                    e.code(),
                    Some("file_hash_mismatch" | "upload_failed" | "hash_mismatch")
                ) =>
            {
                state.set_pending(path, None).await?;
                return Ok(Uploaded::ChangedMeanwhile);
            }
            other => other?,
        };
        if answer.status == "completed" {
            committed = answer.file;
            conflict = answer.conflict;
        }
    }
    state.set_pending(path, None).await?;
    if committed.is_some()
        && let Some(cut) = &cut
    {
        state.set_blocks(path, cut).await?;
    }
    Ok(outcome(path, committed, conflict))
}

/// A cut as the start's block list.
fn refs(cut: &[blocks::Block]) -> Vec<BlockRef> {
    cut.iter()
        .map(|b| BlockRef {
            sha256: b.sha256.clone(),
            size: b.size,
        })
        .collect()
}

/// What a finished upload of `path` ended as.
fn outcome(path: &str, committed: Option<Committed>, conflict: Option<Conflict>) -> Uploaded {
    let displaced = conflict
        .filter(|c| c.resolution == "kept_local" && c.server_version > 0)
        .map(|c| c.server_version);
    match committed {
        Some(file) if file.path == path => match displaced {
            Some(displaced) => Uploaded::Displaced { file, displaced },
            None => Uploaded::Committed(file),
        },
        Some(file) => Uploaded::ConflictCopy(file),
        None => Uploaded::Earlier,
    }
}

/// The upload in flight for `path` with this content, if the server still
/// has it: its id, chunk size and the chunks still missing (`None`: it
/// completed already).
async fn resume(
    api: &Api,
    state: &State,
    path: &str,
    sha: &str,
    size: u64,
) -> Result<Option<(String, u64, Option<Vec<u64>>)>> {
    let Some(pending) = state.pending(path).await? else {
        return Ok(None);
    };
    if pending.sha256 != sha || pending.size != size {
        state.set_pending(path, None).await?;
        return Ok(None);
    }
    let progress = match api.progress(&pending.upload_id).await {
        Ok(progress) => progress,
        Err(e) if !e.is_transient() => {
            state.set_pending(path, None).await?;
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    match progress.status.as_str() {
        "completed" => Ok(Some((pending.upload_id, 0, None))),
        "active" | "paused" => {
            let missing: Vec<u64> = progress
                .missing_chunks
                .iter()
                .flat_map(|[from, to]| *from..=*to)
                .collect();
            let chunk_size = pending.chunk_size;
            tracing::info!(path, missing = missing.len(), "resuming an upload");
            Ok(Some((pending.upload_id, chunk_size, Some(missing))))
        }
        _ => {
            state.set_pending(path, None).await?;
            Ok(None)
        }
    }
}

async fn read_chunk(file: &Path, offset: u64, chunk_size: u64, size: u64) -> Result<Vec<u8>> {
    let file = file.to_owned();
    let len = chunk_size.min(size.saturating_sub(offset));
    tokio::task::spawn_blocking(move || {
        let mut f = std::fs::File::open(&file).map_err(|e| Error::io(&file, e))?;
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| Error::io(&file, e))?;
        let mut bytes = Vec::with_capacity(len as usize);
        f.take(len)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(&file, e))?;
        Ok(bytes)
    })
    .await
    .map_err(|e| Error::Setup(format!("reading a chunk failed: {e}")))?
}
