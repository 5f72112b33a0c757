//! The tus requests: `OPTIONS`, `POST` (creation, with an optional first body),
//! `HEAD`, `PATCH` and `DELETE`.
use std::collections::BTreeMap;

use axum::{
    body::Body,
    extract::{Path, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use uuid::Uuid;

use super::{Draft, describe, error_response, headers as tus};
use crate::service::uploads::{
    StartUpload,
    appended::{Appended, StartAppended},
};
use crate::service::{Caller, Code, Error, Result, Services};

/// The body type of `PATCH` (and of `POST` carrying a first piece).
const OFFSET_STREAM: &str = "application/offset+octet-stream";
/// The IETF draft's body type of an appending request (interop version 6).
const PARTIAL_UPLOAD: &str = "application/partial-upload";

/// `OPTIONS /api/tus/`: what this server speaks (no authentication).
pub async fn options(State(services): State<Services>) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    describe(response.headers_mut(), services.limits().max_file_size);
    response
}

/// `POST /api/tus/`: create an upload; a body of `application/offset+octet-stream`
/// is its first bytes (creation-with-upload).
pub async fn create(
    State(services): State<Services>,
    caller: std::result::Result<Caller, Error>,
    request: Request,
) -> Response {
    let draft = request.extensions().get::<Draft>().copied();
    match created(&services, caller, request, draft).await {
        Ok(response) => response,
        Err(err) => error_response(err),
    }
}

async fn created(
    services: &Services,
    caller: Result<Caller>,
    request: Request,
    draft: Option<Draft>,
) -> Result<Response> {
    let caller = caller?;
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let metadata_raw = tus::text(headers, "upload-metadata")?.map(str::to_owned);
    let metadata = tus::metadata(metadata_raw.as_deref().unwrap_or_default())?;
    let concat = tus::concat(headers)?;
    let length = tus::number(headers, "upload-length")?;
    let deferred = match tus::text(headers, "upload-defer-length")? {
        None => false,
        Some("1") => true,
        Some(_) => return Err(bad("Upload-Defer-Length must be 1")),
    };
    // The draft may leave the length out: known when this request completes the
    // upload (`Upload-Complete: ?1`, its body the whole file), else deferred.
    let (length, deferred) = match (draft, length, deferred) {
        (Some(_), None, false) => match tus::text(headers, "upload-complete")? {
            Some("?1") => match tus::number(headers, "content-length")? {
                Some(length) => (Some(length), false),
                // A streamed body: the length is set once it has arrived.
                None => (None, true),
            },
            _ => (None, true),
        },
        other => (other.1, other.2),
    };
    let target = target_of(&metadata, matches!(concat, tus::Concat::Partial))?;
    let appended = match concat {
        tus::Concat::Final(parts) => {
            if length.is_some() || deferred {
                return Err(bad("a final upload takes its length from its parts"));
            }
            services
                .concatenate(&caller, &parts, target, metadata_raw)
                .await?
        }
        concat => {
            let length = match (length, deferred) {
                (Some(_), true) => {
                    return Err(bad("send Upload-Length or Upload-Defer-Length, not both"));
                }
                (None, false) => {
                    return Err(bad("Upload-Length or Upload-Defer-Length: 1 is required"));
                }
                (length, _) => length,
            };
            let request = StartAppended {
                target,
                length,
                partial: concat == tus::Concat::Partial,
                metadata: metadata_raw,
            };
            let started = services.start_appended(&caller, request).await?;
            if carries_body(headers, draft) && !announced_empty(headers) {
                // The creation holds: a refused first piece is reported by the
                // offset, and the client resumes with HEAD + PATCH.
                let id = started.upload_id;
                let ends = draft.is_some() && deferred && completes(headers)?;
                match append(services, &caller, id, 0, None, ends, headers, body).await {
                    Ok(appended) => appended,
                    Err(err) => {
                        tracing::debug!(upload_id = %id, %err, "the first piece of a creation was refused");
                        services.appended(&caller, id).await?
                    }
                }
            } else {
                started
            }
        }
    };
    let mut response = StatusCode::CREATED.into_response();
    let headers = response.headers_mut();
    let location = format!("{}{}", tus::BASE, appended.upload_id);
    headers.insert(header::LOCATION, value(&location)?);
    state_headers(headers, &appended, draft)?;
    Ok(response)
}

/// `HEAD`, `PATCH` and `DELETE /api/tus/{id}` (and `OPTIONS`).
pub async fn upload(
    State(services): State<Services>,
    caller: std::result::Result<Caller, Error>,
    Path(raw_id): Path<String>,
    request: Request,
) -> Response {
    if request.method() == Method::OPTIONS {
        return options(State(services)).await;
    }
    let draft = request.extensions().get::<Draft>().copied();
    let answer = async {
        let caller = caller?;
        // A malformed id names no upload.
        let id = Uuid::parse_str(&raw_id).map_err(|_| Error::not_found("upload"))?;
        match request.method().clone() {
            Method::HEAD => head(&services, &caller, id, draft).await,
            Method::PATCH => patch(&services, &caller, id, request, draft).await,
            Method::DELETE => {
                services.terminate_appended(&caller, id).await?;
                Ok(StatusCode::NO_CONTENT.into_response())
            }
            _ => Ok(method_not_allowed()),
        }
    };
    match answer.await {
        Ok(response) => response,
        Err(err) => error_response(err),
    }
}

async fn head(
    services: &Services,
    caller: &Caller,
    id: Uuid,
    draft: Option<Draft>,
) -> Result<Response> {
    let appended = services.appended(caller, id).await?;
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    state_headers(headers, &appended, draft)?;
    if let Some(metadata) = &appended.metadata {
        headers.insert("upload-metadata", value(metadata)?);
    }
    match (appended.partial, appended.parts.as_slice()) {
        (true, _) => {
            headers.insert("upload-concat", HeaderValue::from_static("partial"));
        }
        (false, []) => {}
        (false, parts) => {
            let urls: Vec<String> = parts.iter().map(|p| format!("{}{p}", tus::BASE)).collect();
            headers.insert(
                "upload-concat",
                value(&format!("final;{}", urls.join(" ")))?,
            );
        }
    }
    Ok(response)
}

async fn patch(
    services: &Services,
    caller: &Caller,
    id: Uuid,
    request: Request,
    draft: Option<Draft>,
) -> Result<Response> {
    let (parts, body) = request.into_parts();
    if !carries_body(&parts.headers, draft) {
        return Err(Error::new(
            Code::UnsupportedMediaType,
            format!("a PATCH body must be {OFFSET_STREAM}"),
        ));
    }
    let offset = tus::number(&parts.headers, "upload-offset")?
        .ok_or_else(|| bad("Upload-Offset is required"))?;
    let length = tus::number(&parts.headers, "upload-length")?;
    // The draft's last request says `Upload-Complete: ?1`: its body ends the upload.
    let ends = draft.is_some() && length.is_none() && completes(&parts.headers)?;
    let appended = append(
        services,
        caller,
        id,
        offset,
        length,
        ends,
        &parts.headers,
        body,
    )
    .await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    state_headers(response.headers_mut(), &appended, draft)?;
    Ok(response)
}

/// Stream `body` into the upload at `offset`. A body that breaks off or stalls
/// keeps what arrived (unless a checksum was sent); a refused one keeps nothing
/// past the last whole piece.
#[allow(clippy::too_many_arguments)]
async fn append(
    services: &Services,
    caller: &Caller,
    id: Uuid,
    offset: u64,
    length: Option<u64>,
    ends_upload: bool,
    headers: &HeaderMap,
    body: Body,
) -> Result<Appended> {
    let checksum = tus::checksum(headers)?;
    let mut appender = services.begin_append(caller, id, offset, length).await?;
    if let Some(checksum) = checksum {
        appender.verify_with(checksum);
    }
    if ends_upload {
        appender.ends_upload();
    }
    let idle = services.limits().chunk_idle_timeout;
    let mut stream = body.into_data_stream();
    loop {
        match tokio::time::timeout(idle, stream.next()).await {
            Ok(Some(Ok(bytes))) => appender.write(&bytes).await?,
            Ok(None) => return appender.finish().await,
            Ok(Some(Err(err))) => {
                tracing::debug!(upload_id = %id, %err, "a tus body broke off");
                appender.interrupted().await?;
                return Err(Error::timeout("the request body broke off"));
            }
            Err(_) => {
                appender.interrupted().await?;
                return Err(Error::timeout("the request body stalled"));
            }
        }
    }
}

/// `Upload-Offset`, the length (or that it is deferred) and, while it can
/// still grow, `Upload-Expires`.
fn state_headers(headers: &mut HeaderMap, appended: &Appended, draft: Option<Draft>) -> Result<()> {
    headers.insert("upload-offset", HeaderValue::from(appended.offset));
    if draft.is_some() {
        let complete = appended.length == Some(appended.offset);
        headers.insert(
            "upload-complete",
            HeaderValue::from_static(if complete { "?1" } else { "?0" }),
        );
    }
    match appended.length {
        Some(length) => headers.insert("upload-length", HeaderValue::from(length)),
        None => headers.insert("upload-defer-length", HeaderValue::from_static("1")),
    };
    if appended.file.is_none() && appended.status == entity::enums::UploadStatus::Active {
        headers.insert("upload-expires", value(&http_date(appended.expires_at))?);
    }
    Ok(())
}

/// Whether the request carries upload bytes: `application/offset+octet-stream`
/// in tus; in the IETF draft also `application/partial-upload` (interop 6), or
/// no type at all (interop 5).
fn carries_body(headers: &HeaderMap, draft: Option<Draft>) -> bool {
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    matches!(
        (kind.as_deref(), draft),
        (Some(OFFSET_STREAM), _) | (Some(PARTIAL_UPLOAD) | None, Some(_))
    )
}

/// `Upload-Complete: ?1` (the IETF draft's last request).
fn completes(headers: &HeaderMap) -> Result<bool> {
    Ok(tus::text(headers, "upload-complete")?.is_some_and(|v| v.trim() == "?1"))
}

/// A body announced as empty (`Content-Length: 0`).
fn announced_empty(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "0")
}

/// Where the upload goes and for which device, from the metadata: `path`
/// (folder-qualified) or `/` + `filename`; `device_id`, `modified_at`,
/// `base_version`, `file_hash`.
fn target_of(metadata: &BTreeMap<String, String>, partial: bool) -> Result<StartUpload> {
    let file_path = match (metadata.get("path"), metadata.get("filename")) {
        (Some(path), _) => path.clone(),
        (None, Some(name)) => format!("/{name}"),
        // A part is never committed under its own name.
        (None, None) if partial => "/partial-upload".to_owned(),
        (None, None) => {
            return Err(bad("Upload-Metadata must name the file: filename or path"));
        }
    };
    let file_name = file_path.rsplit('/').next().unwrap_or_default().to_owned();
    // None named: the service picks the token's device, or the user's `tus` device.
    let device_id = metadata.get("device_id").cloned().unwrap_or_default();
    let modified_at = metadata
        .get("modified_at")
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| bad("Upload-Metadata modified_at must be an RFC 3339 time"))
        })
        .transpose()?;
    let base_version = metadata
        .get("base_version")
        .map(|v| {
            v.parse::<i32>()
                .map_err(|_| bad("Upload-Metadata base_version must be an integer"))
        })
        .transpose()?;
    Ok(StartUpload {
        device_id,
        file_path,
        file_name,
        file_hash: metadata.get("file_hash").cloned(),
        modified_at,
        base_version,
        ..StartUpload::default()
    })
}

fn http_date(at: DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn value(text: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(text).map_err(|_| bad("a value cannot be sent as a header"))
}

fn bad(message: &str) -> Error {
    Error::new(Code::InvalidInput, message.to_owned())
}

fn method_not_allowed() -> Response {
    let mut response = StatusCode::METHOD_NOT_ALLOWED.into_response();
    response.headers_mut().insert(
        header::ALLOW,
        HeaderValue::from_static("HEAD, PATCH, DELETE, OPTIONS"),
    );
    response
}
