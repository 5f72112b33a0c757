//! `/api/sync/files`: listing, and downloads with `Range` and `ETag`.

use axum::{
    body::Body,
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures_util::TryStreamExt;
use serde::Deserialize;

use crate::{
    app::extract::{ApiJson, BrowserCaller},
    service::error::{Error, Result},
    service::{
        Caller, Services,
        bandwidth::throttle::{Direction, paced},
        metrics::Protocol,
    },
};

/// Read size when streaming a download.
const STREAM_BUFFER: usize = 256 * 1024;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    prefix: Option<String>,
}

/// `GET /api/sync/files?prefix=/Videos`
pub async fn list(
    State(services): State<Services>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<impl IntoResponse> {
    let files = services
        .list_files(&caller, query.prefix.as_deref())
        .await?;
    Ok(axum::Json(serde_json::json!({ "files": files })))
}

#[derive(Debug, Deserialize)]
pub struct PathQuery {
    path: String,
}

/// `DELETE /api/sync/files/content?path=…`: a tombstone; 204.
pub async fn delete(
    State(services): State<Services>,
    caller: Caller,
    Query(query): Query<PathQuery>,
) -> Result<StatusCode> {
    services.delete_file(&caller, &query.path).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/sync/files/versions?path=…`: `{versions: [{version, size, sha256,
/// modified_at, committed_at, current}]}`, newest first.
pub async fn versions(
    State(services): State<Services>,
    caller: Caller,
    Query(query): Query<PathQuery>,
) -> Result<impl IntoResponse> {
    let versions = services.file_versions(&caller, &query.path).await?;
    Ok(axum::Json(serde_json::json!({ "versions": versions })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreBody {
    path: String,
    version: i32,
}

/// `POST /api/sync/files/restore` `{path, version}`: that version's bytes become
/// the next version; `{file: {path, size, sha256, version, modified_at}}`.
pub async fn restore(
    State(services): State<Services>,
    caller: Caller,
    ApiJson(body): ApiJson<RestoreBody>,
) -> Result<impl IntoResponse> {
    let file = services
        .restore_version(&caller, &body.path, body.version)
        .await?;
    Ok(axum::Json(serde_json::json!({ "file": file })))
}

#[derive(Debug, Deserialize)]
pub struct ContentQuery {
    path: String,
    version: Option<i32>,
}

/// A byte range `[start, end]` (inclusive) that lies inside the file.
#[derive(Debug, PartialEq, Eq)]
struct ByteRange {
    start: u64,
    end: u64,
}

/// Parse a single-range `Range` header against a file of `size` bytes.
/// `Ok(None)`: serve the whole file (no header, several ranges, or a syntax the
/// RFC says to ignore); `Err`: 416.
fn parse_range(value: &str, size: u64) -> Result<Option<ByteRange>> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let unsatisfiable = Error::range_not_satisfiable(size);
    let range = match (first.trim(), last.trim()) {
        ("", "") => return Ok(None),
        ("", suffix) => {
            let Ok(n) = suffix.parse::<u64>() else {
                return Ok(None);
            };
            if n == 0 || size == 0 {
                return Err(unsatisfiable);
            }
            ByteRange {
                start: size.saturating_sub(n),
                end: size - 1,
            }
        }
        (start, end) => {
            let Ok(start) = start.parse::<u64>() else {
                return Ok(None);
            };
            let end = match end {
                "" => u64::MAX,
                e => match e.parse::<u64>() {
                    Ok(e) if e >= start => e,
                    _ => return Ok(None),
                },
            };
            if start >= size {
                return Err(unsatisfiable);
            }
            ByteRange {
                start,
                end: end.min(size - 1),
            }
        }
    };
    Ok(Some(range))
}

/// `GET /api/sync/files/content?path=…[&version=N]`
pub async fn download(
    State(services): State<Services>,
    BrowserCaller(caller): BrowserCaller,
    Query(query): Query<ContentQuery>,
    headers: HeaderMap,
) -> Result<Response> {
    let open = services
        .open_file(&caller, &query.path, query.version)
        .await?;
    let info = open.info;
    let etag = format!("\"{}\"", info.sha256);
    let header_str = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let mut response = Response::builder()
        .header(header::ETAG, &etag)
        .header(
            header::LAST_MODIFIED,
            info.modified_at
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string(),
        )
        .header(header::ACCEPT_RANGES, "bytes")
        .header("x-ferry-version", info.version)
        .header(header::CONTENT_DISPOSITION, attachment(&info.path))
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");

    if header_str(header::IF_NONE_MATCH)
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        return response
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .map_err(internal);
    }
    let if_range_ok = header_str(header::IF_RANGE).is_none_or(|v| v.trim() == etag);
    let range = match header_str(header::RANGE) {
        Some(value) if if_range_ok => parse_range(value, info.size)?,
        _ => None,
    };
    let (status, start, len) = match range {
        Some(r) => {
            response = response.header(
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{}", r.start, r.end, info.size),
            );
            (StatusCode::PARTIAL_CONTENT, r.start, r.end - r.start + 1)
        }
        None => (StatusCode::OK, 0, info.size),
    };
    let pace = services.pace(caller.user_id, Direction::Download);
    let metrics = services.metrics().clone();
    let counted = open
        .content
        .stream(start, len, STREAM_BUFFER)
        .inspect_ok(move |piece| metrics.sent(Protocol::Rest, piece.len() as u64));
    let body = Body::from_stream(paced(pace, counted));
    response
        .status(status)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, len)
        .body(body)
        .map_err(internal)
}

/// `attachment; filename*=UTF-8''…` naming the file's last segment (RFC 6266 +
/// RFC 8187): a browser saves the bytes and never renders them.
fn attachment(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or("download");
    let mut encoded = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename*=UTF-8''{encoded}")
}

fn internal(err: axum::http::Error) -> Error {
    Error::internal(format!("building a response: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_are_attachments_named_safely() {
        assert_eq!(
            attachment("/Photos/a b\"é.jpg"),
            "attachment; filename*=UTF-8''a%20b%22%C3%A9.jpg"
        );
    }

    #[test]
    fn ranges_follow_rfc_9110() {
        let r = |s| parse_range(s, 100);
        assert_eq!(
            r("bytes=0-9").unwrap(),
            Some(ByteRange { start: 0, end: 9 })
        );
        assert_eq!(
            r("bytes=90-").unwrap(),
            Some(ByteRange { start: 90, end: 99 })
        );
        assert_eq!(
            r("bytes=-10").unwrap(),
            Some(ByteRange { start: 90, end: 99 })
        );
        assert_eq!(
            r("bytes=-1000").unwrap(),
            Some(ByteRange { start: 0, end: 99 })
        );
        assert_eq!(
            r("bytes=50-5000").unwrap(),
            Some(ByteRange { start: 50, end: 99 })
        );
        assert_eq!(r("bytes=0-1,5-6").unwrap(), None);
        assert_eq!(r("items=0-1").unwrap(), None);
        assert_eq!(r("bytes=9-3").unwrap(), None);
        assert_eq!(r("bytes=100-").unwrap_err().range_size(), Some(100));
        assert_eq!(r("bytes=-0").unwrap_err().range_size(), Some(100));
    }

    proptest::proptest! {
        #[test]
        fn any_range_header_is_a_range_inside_the_file_or_a_documented_answer(
            value in proptest::prop_oneof![
                proptest::prelude::any::<String>(),
                "bytes=[0-9]{0,21}-[0-9]{0,21}",
                "bytes= ?-?[0-9]{0,3}(,-?[0-9]{0,3}-?){0,4}",
            ],
            size in proptest::prop_oneof![0u64..4, proptest::prelude::any::<u64>()],
        ) {
            match parse_range(&value, size) {
                Ok(None) => {}
                Ok(Some(ByteRange { start, end })) => {
                    proptest::prop_assert!(start <= end && end < size);
                }
                Err(err) if err.range_size().is_some() => {
                    proptest::prop_assert_eq!(err.range_size(), Some(size));
                }
                Err(other) => proptest::prop_assert!(false, "undocumented error {other:?}"),
            }
        }
    }
}
