//! Content-defined blocks: a file is cut with FastCDC where its content says
//! (not at fixed offsets), so an edit moves only the cuts near it and every
//! other block keeps its SHA-256. Uploads announce the cut and send only the
//! blocks the server lacks; downloads take the blocks this folder already
//! holds from local files and fetch only the rest.
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Most blocks one upload may announce (the server's limit).
pub const MAX_BLOCKS: usize = 32_768;
/// Files up to this size are cut at [`SMALL`]; larger ones at [`LARGE`].
const LARGE_FROM: u64 = 16 << 30;

/// FastCDC's minimum, average and maximum block sizes.
#[derive(Clone, Copy, Debug)]
struct Sizes {
    min: u32,
    avg: u32,
    max: u32,
}

/// About 1 MiB blocks: a 1 MiB edit re-sends a few MiB at most.
const SMALL: Sizes = Sizes {
    min: 256 << 10,
    avg: 1 << 20,
    max: 4 << 20,
};
/// About 4 MiB blocks for files past 16 GiB, to stay under [`MAX_BLOCKS`].
const LARGE: Sizes = Sizes {
    min: 1 << 20,
    avg: 4 << 20,
    max: 16 << 20,
};

/// One block of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub offset: u64,
    pub size: u64,
    pub sha256: String,
}

/// Cuts made while a scan hashed files, by path, with the file's SHA-256: the
/// upload that follows takes its file's cut instead of reading it again.
static CUTS: Mutex<Option<Cuts>> = Mutex::new(None);
/// A file's SHA-256 and its blocks, by path.
type Cuts = HashMap<PathBuf, (String, Vec<Block>)>;
/// Cuts kept at most (a watching client scans again and again).
const KEPT_CUTS: usize = 10_000;

/// Cut the file at `path` (`size` bytes, SHA-256 `sha256`) into blocks: the
/// cut its scan made, when the content is still that, else reading it once.
pub async fn cut(path: &Path, size: u64, sha256: &str) -> Result<Vec<Block>> {
    let kept = CUTS
        .lock()
        .ok()
        .and_then(|mut cuts| cuts.as_mut()?.remove(path));
    if let Some((sha, blocks)) = kept
        && sha == sha256
        && blocks.iter().map(|b| b.size).sum::<u64>() == size
    {
        return Ok(blocks);
    }
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || cut_now(&path, size).map(|(_, blocks)| blocks))
        .await
        .map_err(|e| Error::Setup(format!("cutting a file into blocks failed: {e}")))?
}

/// The SHA-256 of the file at `path`, cutting it into blocks in the same read
/// (the cut is kept for its upload, see [`cut`]).
pub fn hash_and_cut(path: &Path) -> Result<String> {
    let size = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    let (sha, blocks) = cut_now(path, size)?;
    if let Ok(mut cuts) = CUTS.lock() {
        let cuts = cuts.get_or_insert_with(HashMap::new);
        if cuts.len() >= KEPT_CUTS {
            cuts.clear();
        }
        cuts.insert(path.to_owned(), (sha.clone(), blocks));
    }
    Ok(sha)
}

/// One read of the file: its SHA-256 and its blocks.
fn cut_now(path: &Path, size: u64) -> Result<(String, Vec<Block>)> {
    let sizes = if size > LARGE_FROM { LARGE } else { SMALL };
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let chunker = fastcdc::v2020::StreamCDC::new(file, sizes.min, sizes.avg, sizes.max);
    let mut whole = Sha256::new();
    let mut blocks = Vec::new();
    for chunk in chunker {
        let chunk = chunk.map_err(|e| match e {
            fastcdc::v2020::Error::IoError(e) => Error::io(path, e),
            other => Error::Setup(format!("cutting {}: {other}", path.display())),
        })?;
        whole.update(&chunk.data);
        blocks.push(Block {
            offset: chunk.offset,
            size: chunk.length as u64,
            sha256: hex::encode(Sha256::digest(&chunk.data)),
        });
    }
    Ok((hex::encode(whole.finalize()), blocks))
}

/// The blocks of `listed` (`(sha256, size)` in order) with their offsets.
pub fn placed(listed: &[(String, u64)]) -> Vec<Block> {
    let mut offset = 0;
    listed
        .iter()
        .map(|(sha256, size)| {
            let block = Block {
                offset,
                size: *size,
                sha256: sha256.clone(),
            };
            offset += size;
            block
        })
        .collect()
}

/// `size` bytes of the file at `path` from `offset`, if they are there and
/// hash to `sha256` (a local copy of a block, checked before use).
pub fn read_checked(path: &Path, offset: u64, size: u64, sha256: &str) -> Option<Vec<u8>> {
    use std::io::{Seek, SeekFrom};
    let mut file = std::fs::File::open(path).ok()?;
    file.seek(SeekFrom::Start(offset)).ok()?;
    let mut bytes = Vec::with_capacity(usize::try_from(size).ok()?);
    file.take(size).read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 == size && hex::encode(Sha256::digest(&bytes)) == sha256).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[tokio::test]
    async fn an_edit_in_the_middle_moves_only_nearby_cuts() {
        let dir = tempfile::tempdir().expect("dir");
        let mut bytes = noise(24 << 20, 7);
        let path = dir.path().join("f");
        std::fs::write(&path, &bytes).expect("write");
        let sha = hash_and_cut(&path).expect("hash");
        assert_eq!(sha, hex::encode(Sha256::digest(&bytes)));
        let before = cut(&path, bytes.len() as u64, &sha).await.expect("cut");
        assert!(before.len() >= 8, "about 1 MiB blocks: {}", before.len());
        assert_eq!(
            before.iter().map(|b| b.size).sum::<u64>(),
            bytes.len() as u64
        );
        let middle = bytes.len() / 2;
        bytes[middle..middle + (1 << 20)].copy_from_slice(&noise(1 << 20, 99));
        std::fs::write(&path, &bytes).expect("edit");
        // The kept cut is of the old content: a new hash cuts the file again.
        let after = cut(&path, bytes.len() as u64, "edited").await.expect("cut");
        let old: std::collections::HashSet<_> = before.iter().map(|b| &b.sha256).collect();
        let new_bytes: u64 = after
            .iter()
            .filter(|b| !old.contains(&b.sha256))
            .map(|b| b.size)
            .sum();
        assert!(new_bytes <= 8 << 20, "{new_bytes} new bytes");
        let first = &after[0];
        assert!(read_checked(&path, first.offset, first.size, &first.sha256).is_some());
        assert!(read_checked(&path, first.offset + 1, first.size, &first.sha256).is_none());
    }
}
