//! Reading tus request headers: numbers, `Upload-Metadata`, `Upload-Concat`,
//! `Upload-Checksum`. Every value is bounded and strictly parsed; a bad one is
//! `invalid_input` (400).
use std::collections::BTreeMap;

use axum::http::HeaderMap;
use base64::Engine;
use uuid::Uuid;

use crate::service::uploads::appended::{
    MAX_METADATA, MAX_PARTS,
    checksum::{Algorithm, Checksum},
};
use crate::service::{Code, Error, Result};

/// Where uploads live; `Location` is this plus the upload id.
pub const BASE: &str = "/api/tus/";

fn bad(message: impl Into<String>) -> Error {
    Error::new(Code::InvalidInput, message.into())
}

/// A header as text (absent: `None`; not visible ASCII: 400).
pub fn text<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>> {
    headers
        .get(name)
        .map(|v| v.to_str().map_err(|_| bad(format!("{name} must be ASCII"))))
        .transpose()
}

/// A header holding a non-negative integer.
pub fn number(headers: &HeaderMap, name: &str) -> Result<Option<u64>> {
    text(headers, name)?
        .map(|v| {
            let v = v.trim();
            if v.is_empty() || v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(format!("{name} must be a non-negative integer")));
            }
            v.parse::<u64>()
                .map_err(|_| bad(format!("{name} is out of range")))
        })
        .transpose()
}

/// `Upload-Metadata`: comma-separated `key base64value` pairs (the value may be
/// left out). Keys are unique, non-empty, without spaces or commas.
pub fn metadata(raw: &str) -> Result<BTreeMap<String, String>> {
    if raw.len() > MAX_METADATA {
        return Err(bad(format!(
            "Upload-Metadata may be at most {MAX_METADATA} bytes"
        )));
    }
    let mut out = BTreeMap::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut words = pair.split(' ').filter(|w| !w.is_empty());
        let key = words.next().unwrap_or_default();
        let value = match words.next() {
            Some(encoded) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .map_err(|_| bad(format!("Upload-Metadata {key:?}: not base64")))?;
                String::from_utf8(bytes)
                    .map_err(|_| bad(format!("Upload-Metadata {key:?}: not UTF-8")))?
            }
            None => String::new(),
        };
        if words.next().is_some() {
            return Err(bad("Upload-Metadata pairs are `key base64value`"));
        }
        if out.insert(key.to_owned(), value).is_some() {
            return Err(bad(format!("Upload-Metadata names {key:?} twice")));
        }
    }
    Ok(out)
}

/// What `Upload-Concat` asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Concat {
    None,
    Partial,
    Final(Vec<Uuid>),
}

/// `Upload-Concat: partial` or `final;URL URL…` (URLs absolute or paths).
pub fn concat(headers: &HeaderMap) -> Result<Concat> {
    let Some(raw) = text(headers, "upload-concat")? else {
        return Ok(Concat::None);
    };
    let raw = raw.trim();
    if raw == "partial" {
        return Ok(Concat::Partial);
    }
    let Some(list) = raw.strip_prefix("final;") else {
        return Err(bad("Upload-Concat must be `partial` or `final;URL …`"));
    };
    let mut parts = Vec::new();
    for url in list.split(' ').filter(|u| !u.is_empty()) {
        if parts.len() == MAX_PARTS {
            return Err(bad(format!(
                "a final upload joins at most {MAX_PARTS} parts"
            )));
        }
        let id = url
            .split_once(BASE)
            .map(|(_, id)| id.trim_end_matches('/'))
            .and_then(|id| Uuid::parse_str(id).ok())
            .ok_or_else(|| {
                bad(format!(
                    "Upload-Concat: {url:?} is not an upload of this server"
                ))
            })?;
        parts.push(id);
    }
    if parts.is_empty() {
        return Err(bad("Upload-Concat: final names no parts"));
    }
    Ok(Concat::Final(parts))
}

/// `Upload-Checksum: ALGORITHM BASE64DIGEST`.
pub fn checksum(headers: &HeaderMap) -> Result<Option<Checksum>> {
    let Some(raw) = text(headers, "upload-checksum")? else {
        return Ok(None);
    };
    let (name, encoded) = raw
        .trim()
        .split_once(' ')
        .ok_or_else(|| bad("Upload-Checksum must be `algorithm base64digest`"))?;
    let algorithm = Algorithm::parse(name)?;
    let digest = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| bad("Upload-Checksum: the digest is not base64"))?;
    Checksum::new(algorithm, digest).map(Some)
}

/// `Upload-Metadata` as tus spells it, for `HEAD`.
pub fn metadata_header(map: &BTreeMap<String, String>) -> String {
    map.iter()
        .map(|(k, v)| {
            if v.is_empty() {
                k.clone()
            } else {
                format!(
                    "{k} {}",
                    base64::engine::general_purpose::STANDARD.encode(v)
                )
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn metadata_pairs_parse_and_bad_ones_are_refused() {
        let map =
            metadata("filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential").unwrap();
        assert_eq!(map["filename"], "world_domination_plan.pdf");
        assert_eq!(map["is_confidential"], "");
        assert!(metadata("a YQ==,a YQ==").is_err());
        assert!(metadata("a not*base64").is_err());
        assert!(metadata("a YQ== extra").is_err());
        assert!(metadata(&"a".repeat(MAX_METADATA + 1)).is_err());
        assert_eq!(metadata_header(&metadata("b Yg==,a").unwrap()), "a,b Yg==");
    }

    #[test]
    fn concat_names_uploads_by_url_or_path() {
        let id = Uuid::new_v4();
        let mut headers = HeaderMap::new();
        assert_eq!(concat(&headers).unwrap(), Concat::None);
        headers.insert("upload-concat", HeaderValue::from_static("partial"));
        assert_eq!(concat(&headers).unwrap(), Concat::Partial);
        let value = format!("final;https://h.example/api/tus/{id} /api/tus/{id}");
        headers.insert("upload-concat", HeaderValue::from_str(&value).unwrap());
        assert_eq!(concat(&headers).unwrap(), Concat::Final(vec![id, id]));
        for bad in ["final;", "final;/elsewhere/x", "whole"] {
            headers.insert("upload-concat", HeaderValue::from_static(bad));
            assert!(concat(&headers).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers_and_checksums_are_strict() {
        let mut headers = HeaderMap::new();
        headers.insert("upload-offset", HeaderValue::from_static("-1"));
        assert!(number(&headers, "upload-offset").is_err());
        headers.insert("upload-offset", HeaderValue::from_static("42"));
        assert_eq!(number(&headers, "upload-offset").unwrap(), Some(42));
        headers.insert(
            "upload-checksum",
            HeaderValue::from_static("sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0="),
        );
        assert_eq!(checksum(&headers).unwrap().unwrap().digest.len(), 20);
        headers.insert("upload-checksum", HeaderValue::from_static("crc32 AAAA"));
        assert_eq!(
            checksum(&headers).unwrap_err().code(),
            Code::UnsupportedChecksum
        );
    }
}
