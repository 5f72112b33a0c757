//! Path normalization (SPEC §7): leading `/`, no trailing `/`, no `.`/`..`
//! segments, no NUL, NFC. Every path that enters the service passes through here.
use crate::service::Code;
use unicode_normalization::UnicodeNormalization;

use crate::service::error::{Error, Result};

/// Longest accepted path, in bytes.
const MAX_PATH_BYTES: usize = 4096;
/// Longest accepted segment (file or folder name), in bytes.
const MAX_SEGMENT_BYTES: usize = 255;

fn invalid(message: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(Code::InvalidPath, message)
}

/// Normalize `raw`: `"Videos//a/./b/../c/"` → `"/Videos/a/c"`, `""` → `"/"`.
///
/// `..` is resolved lexically; a path that climbs above the root, holds NUL, or
/// has an over-long segment is `invalid_path`.
pub fn normalize(raw: &str) -> Result<String> {
    if raw.contains('\0') {
        return Err(invalid("path must not contain NUL"));
    }
    let composed = nfc(raw);
    let mut segments: Vec<&str> = Vec::new();
    for segment in composed.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if segments.pop().is_none() {
                    return Err(invalid("path escapes the root"));
                }
            }
            name if name.len() > MAX_SEGMENT_BYTES => {
                return Err(invalid(format!(
                    "a path segment is longer than {MAX_SEGMENT_BYTES} bytes"
                )));
            }
            name => segments.push(name),
        }
    }
    let normalized = format!("/{}", segments.join("/"));
    if normalized.len() > MAX_PATH_BYTES {
        return Err(invalid(format!(
            "path is longer than {MAX_PATH_BYTES} bytes"
        )));
    }
    Ok(normalized)
}

/// `s` in Unicode normalization form C.
pub fn nfc(s: &str) -> String {
    s.nfc().collect()
}

/// Normalize a path that must name a file (not the root).
pub fn normalize_file(raw: &str) -> Result<String> {
    let path = normalize(raw)?;
    if path == "/" {
        return Err(invalid("a file path must name a file, not the root"));
    }
    Ok(path)
}

/// The last segment: `"/a/b.txt"` → `"b.txt"`.
pub fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Whether `path` is `folder` itself or lies below it (`/a` holds `/a/b`, not `/ab`).
pub fn is_within(path: &str, folder: &str) -> bool {
    folder == "/"
        || path == folder
        || (path.len() > folder.len()
            && path.starts_with(folder)
            && path.as_bytes()[folder.len()] == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_the_spec_forms() {
        assert_eq!(normalize("Videos/").unwrap(), "/Videos");
        assert_eq!(normalize("/Videos//a/./b/../c").unwrap(), "/Videos/a/c");
        assert_eq!(normalize("").unwrap(), "/");
        assert_eq!(normalize("/").unwrap(), "/");
        // "é" as e + combining acute becomes the single NFC code point.
        assert_eq!(normalize("/Cafe\u{301}").unwrap(), "/Caf\u{e9}");
    }

    #[test]
    fn rejects_escapes_nul_and_long_names() {
        for bad in ["/..", "/a/../../b", "../x", "/a\0b"] {
            let err = normalize(bad).unwrap_err();
            assert_eq!(err.code(), Code::InvalidPath, "{bad:?}");
        }
        assert!(normalize(&format!("/{}", "x".repeat(256))).is_err());
        assert!(normalize(&format!("/{}", "x".repeat(255))).is_ok());
        assert_eq!(normalize_file("/").unwrap_err().code(), Code::InvalidPath);
    }

    #[test]
    fn containment_respects_segment_boundaries() {
        assert!(is_within("/a/b", "/a"));
        assert!(is_within("/a", "/a"));
        assert!(!is_within("/ab", "/a"));
        assert!(is_within("/anything", "/"));
        assert_eq!(file_name("/Videos/large_movie.mp4"), "large_movie.mp4");
    }
}
