//! Downloads of a file stored in several blocks: each block this folder holds
//! already (in the part file of an interrupted download, or in any local file
//! the state says holds it) is copied locally after its hash checks out; only
//! the rest is fetched, one `Range` request per run of missing blocks. The
//! result is then checked against the file's SHA-256 as a whole.
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;

use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::api::Api;
use crate::blocks::{Block, read_checked};
use crate::error::{Error, Result};
use crate::local;
use crate::state::{Remote, State};

/// Write version `remote` of `path`, made of `blocks`, into `part`; answers
/// the part file, its content verified.
pub async fn assemble(
    api: &Api,
    state: &State,
    root: &Path,
    path: &str,
    remote: &Remote,
    part: &Path,
    blocks: &[Block],
) -> Result<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(part)
        .map_err(|e| Error::io(part, e))?;
    let had = file.metadata().map_err(|e| Error::io(part, e))?.len();
    let resumed = had == remote.size;
    if !resumed {
        file.set_len(0).map_err(|e| Error::io(part, e))?;
        file.set_len(remote.size).map_err(|e| Error::io(part, e))?;
    }
    let mut missing = Vec::new();
    let mut reused = 0u64;
    for (index, block) in blocks.iter().enumerate() {
        if resumed && read_checked(part, block.offset, block.size, &block.sha256).is_some() {
            continue;
        }
        let mut copied = false;
        for (holder, offset) in state.holders(&block.sha256, block.size).await? {
            let source = local::local_path(root, &holder);
            if let Some(bytes) = read_checked(&source, offset, block.size, &block.sha256) {
                file.write_all_at(&bytes, block.offset)
                    .map_err(|e| Error::io(part, e))?;
                reused += block.size;
                copied = true;
                break;
            }
        }
        if !copied {
            missing.push(index);
        }
    }
    let runs = runs(&missing);
    tracing::debug!(
        path,
        reused,
        runs = runs.len(),
        "fetching the blocks not held locally"
    );
    for (first, last) in runs {
        let start = blocks[first].offset;
        let end = blocks[last].offset + blocks[last].size - 1;
        let response = api.download_range(path, remote.version, start, end).await?;
        let mut at = start;
        let mut body = response.bytes_stream();
        while let Some(piece) = body.next().await {
            let piece = piece.map_err(|source| Error::Network {
                what: format!("downloading {path}"),
                source,
            })?;
            if at + piece.len() as u64 > end + 1 {
                return Err(Error::Setup(format!(
                    "downloading {path}: the server sent more than the range"
                )));
            }
            file.write_all_at(&piece, at)
                .map_err(|e| Error::io(part, e))?;
            at += piece.len() as u64;
        }
        if at != end + 1 {
            return Err(Error::Setup(format!(
                "downloading {path}: the server sent less than the range"
            )));
        }
    }
    let expected = remote.sha256.clone().unwrap_or_default();
    if whole_hash(&file, part)? != expected {
        drop(file);
        let _ = std::fs::remove_file(part);
        return Err(Error::Corrupt {
            path: path.to_owned(),
            expected,
        });
    }
    Ok(file)
}

/// Runs of consecutive indices in sorted `missing`, as `(first, last)`.
fn runs(missing: &[usize]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for &index in missing {
        match out.last_mut() {
            Some((_, last)) if *last + 1 == index => *last = index,
            _ => out.push((index, index)),
        }
    }
    out
}

/// The SHA-256 of the whole file, read from the start.
fn whole_hash(file: &std::fs::File, part: &Path) -> Result<String> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut reader = file;
    std::io::Seek::seek(&mut reader, std::io::SeekFrom::Start(0))
        .map_err(|e| Error::io(part, e))?;
    loop {
        let n = reader.read(&mut buffer).map_err(|e| Error::io(part, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::runs;

    #[test]
    fn missing_blocks_group_into_runs() {
        assert_eq!(runs(&[]), []);
        assert_eq!(runs(&[0, 1, 2, 5, 7, 8]), [(0, 2), (5, 5), (7, 8)]);
    }
}
