//! The local side: walking the synced folder, hashing files, and the mapping
//! between server paths (`/Docs/a.txt`) and files under the folder.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};
use crate::state::{Kind, STATE_DIR};

/// One entry of the folder as the walk found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub kind: Kind,
    pub size: u64,
    pub mtime_ns: i64,
}

/// What a walk of the folder found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Server path → entry.
    pub entries: BTreeMap<String, Found>,
    /// Paths left alone, with why (symlinks, special files, unreadable names).
    pub skipped: Vec<(String, String)>,
}

/// The file under `root` for the server path `path`.
pub fn local_path(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

/// Nanoseconds since the epoch of `time`.
pub fn nanos(time: SystemTime) -> i64 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}

/// The entry at `file` now, if it is a file or folder.
pub fn stat(file: &Path) -> Result<Option<Found>> {
    let meta = match std::fs::symlink_metadata(file) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(file, e)),
    };
    let modified = meta.modified().map_err(|e| Error::io(file, e))?;
    let kind = if meta.is_dir() {
        Kind::Folder
    } else if meta.is_file() {
        Kind::File
    } else {
        return Ok(None);
    };
    Ok(Some(Found {
        kind,
        size: if kind == Kind::File { meta.len() } else { 0 },
        mtime_ns: nanos(modified),
    }))
}

/// Walk `root` (never `.ferry/`), following no symlink.
pub fn scan(root: &Path) -> Result<Scan> {
    let mut scan = Scan::default();
    walk(root, "", root, &mut scan)?;
    Ok(scan)
}

fn walk(root: &Path, prefix: &str, dir: &Path, scan: &mut Scan) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        // Removed while walking: nothing to see there.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && dir != root => return Ok(()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            let shown = format!("{prefix}/{}", name.to_string_lossy());
            scan.skipped.push((shown, "the name is not UTF-8".into()));
            continue;
        };
        if prefix.is_empty() && name == STATE_DIR {
            continue;
        }
        let path = format!("{prefix}/{name}");
        let file = entry.path();
        let file_type = entry.file_type().map_err(|e| Error::io(&file, e))?;
        if file_type.is_symlink() {
            scan.skipped
                .push((path, "symbolic links are not synced".into()));
            continue;
        }
        match stat(&file)? {
            Some(found) if found.kind == Kind::Folder => {
                scan.entries.insert(path.clone(), found);
                walk(root, &path, &file, scan)?;
            }
            Some(found) => {
                scan.entries.insert(path, found);
            }
            None if file_type.is_dir() || file_type.is_file() => {}
            None => scan.skipped.push((
                path,
                "special files (sockets, pipes, devices) are not synced".into(),
            )),
        }
    }
    Ok(())
}

/// The lowercase hex SHA-256 of `file`.
pub fn hash_file(file: &Path) -> Result<String> {
    // Cut into blocks in the same read: an upload of a changed file reads it once more, not twice.
    crate::blocks::hash_and_cut(file)
}

/// Whether a file modified at `mtime_ns` may still be being written: it changed
/// within `quiet` of now. (A modification time further in the future is a
/// wrong clock, not a write in progress: the file is not held back for it.)
pub fn is_settling(mtime_ns: i64, quiet: Duration) -> bool {
    let age = nanos(SystemTime::now()).saturating_sub(mtime_ns);
    let quiet = i64::try_from(quiet.as_nanos()).unwrap_or(i64::MAX);
    -quiet < age && age < quiet
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walk_skips_state_symlinks_and_sees_empty_folders() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join(".ferry/tmp")).expect("state");
        std::fs::create_dir_all(root.join("Empty")).expect("empty");
        std::fs::create_dir_all(root.join("Docs/Ünï")).expect("docs");
        std::fs::write(root.join("Docs/Ünï/a.txt"), b"a").expect("write");
        std::fs::write(root.join("zero"), b"").expect("write");
        std::os::unix::fs::symlink("/etc/passwd", root.join("link")).expect("symlink");
        let scan = scan(root).expect("scan");
        let paths: Vec<&str> = scan.entries.keys().map(String::as_str).collect();
        assert_eq!(
            paths,
            vec!["/Docs", "/Docs/Ünï", "/Docs/Ünï/a.txt", "/Empty", "/zero"]
        );
        assert_eq!(scan.entries["/zero"].size, 0);
        assert_eq!(scan.skipped.len(), 1);
        assert_eq!(scan.skipped[0].0, "/link");
        let now = nanos(SystemTime::now());
        let second = 1_000_000_000;
        assert!(is_settling(now - second, Duration::from_secs(2)));
        assert!(!is_settling(now - 3 * second, Duration::from_secs(2)));
        assert!(!is_settling(now + 3600 * second, Duration::from_secs(2)));
        assert_eq!(
            hash_file(&root.join("zero")).expect("hash"),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
