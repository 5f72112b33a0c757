//! `/api/sync/upload/…`: start, chunk, progress, pause, resume, cancel.
use crate::service::Code;
use axum::{
    extract::{FromRequest, Multipart, Path, Request, State},
    response::IntoResponse,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::app::extract::ApiJson;
use crate::{
    service::error::{Error, Result},
    service::{Caller, Services, uploads::StartUpload},
};

/// Longest accepted `chunk_hash` field.
const MAX_HASH_FIELD: usize = 256;
/// Most multipart fields a chunk request may carry (two are used).
const MAX_FIELDS: usize = 8;

#[derive(Debug, Deserialize)]
pub struct StartBody {
    device_id: String,
    file_path: String,
    file_name: String,
    total_size: i64,
    chunk_size: Option<i64>,
    file_hash: Option<String>,
    modified_at: Option<DateTime<Utc>>,
    base_version: Option<i32>,
    /// A delta upload's block list.
    blocks: Option<Vec<crate::service::uploads::delta::AnnouncedBlock>>,
}

/// `POST /api/sync/upload/start`
pub async fn start(
    State(services): State<Services>,
    caller: Caller,
    ApiJson(body): ApiJson<StartBody>,
) -> Result<impl IntoResponse> {
    let started = services
        .start_upload(
            &caller,
            StartUpload {
                device_id: body.device_id,
                file_path: body.file_path,
                file_name: body.file_name,
                total_size: body.total_size,
                chunk_size: body.chunk_size,
                file_hash: body.file_hash,
                modified_at: body.modified_at,
                base_version: body.base_version,
                blocks: body.blocks,
            },
        )
        .await?;
    Ok(axum::Json(started))
}

/// An upload id from the path; a malformed one is simply unknown.
fn upload_id(raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| Error::not_found("upload"))
}

/// `POST /api/sync/upload/{upload_id}/chunk/{chunk_number}` — multipart with
/// `chunk_file` (bytes, streamed to disk while hashed) and `chunk_hash`.
pub async fn put_chunk(
    State(services): State<Services>,
    caller: Caller,
    Path((raw_id, raw_number)): Path<(String, String)>,
    request: Request,
) -> Result<impl IntoResponse> {
    let id = upload_id(&raw_id)?;
    let number: i64 = raw_number
        .parse()
        .map_err(|_| Error::new(Code::InvalidChunkNumber, "chunk_number must be an integer"))?;
    let mut multipart = Multipart::from_request(request, &()).await.map_err(|e| {
        Error::new(
            Code::InvalidInput,
            format!("expected a multipart/form-data body: {e}"),
        )
    })?;
    let malformed =
        |e: axum::extract::multipart::MultipartError| Error::new(Code::InvalidInput, e.body_text());

    let idle = services.limits().chunk_idle_timeout;
    let mut writer = None;
    let mut claimed_hash: Option<String> = None;
    let mut fields = 0;
    // Every wait on the body — for the next field, and for each piece of every
    // field — ends after the idle timeout with 408, which frees the chunk.
    while let Some(mut field) = tokio::time::timeout(idle, multipart.next_field())
        .await
        .map_err(|_| Error::timeout("the chunk body stalled"))?
        .map_err(malformed)?
    {
        fields += 1;
        if fields > MAX_FIELDS {
            return Err(Error::new(
                Code::InvalidInput,
                format!("a chunk request carries at most {MAX_FIELDS} fields"),
            ));
        }
        match field.name() {
            Some("chunk_file") => {
                if writer.is_some() {
                    return Err(Error::new(Code::InvalidInput, "chunk_file was sent twice"));
                }
                // On a refusal the rest of the body is still read (up to the largest
                // chunk a client may send), so the client sees the answer rather
                // than a connection reset in the middle of its upload.
                let drain_limit = services.limits().max_chunk_size;
                let mut chunk = match services.begin_chunk(&caller, id, number).await {
                    Ok(chunk) => chunk,
                    Err(err) => {
                        drain(&mut field, drain_limit, idle).await;
                        return Err(err);
                    }
                };
                while let Some(bytes) = next_piece(&mut field, idle).await? {
                    if let Err(err) = chunk.write(&bytes).await {
                        drain(&mut field, drain_limit, idle).await;
                        return Err(err);
                    }
                }
                writer = Some(chunk);
            }
            Some("chunk_hash") => {
                let mut text = Vec::new();
                while let Some(bytes) = next_piece(&mut field, idle).await? {
                    text.extend_from_slice(&bytes);
                    if text.len() > MAX_HASH_FIELD {
                        return Err(Error::new(Code::InvalidChunkHash, "chunk_hash is too long"));
                    }
                }
                claimed_hash = Some(String::from_utf8_lossy(&text).into_owned());
            }
            _ => drain(&mut field, MAX_HASH_FIELD as u64, idle).await,
        }
    }
    let writer =
        writer.ok_or_else(|| Error::new(Code::InvalidInput, "the chunk_file field is missing"))?;
    let claimed_hash = claimed_hash
        .ok_or_else(|| Error::new(Code::InvalidInput, "the chunk_hash field is missing"))?;
    let outcome = services
        .finish_chunk(&caller, writer, &claimed_hash)
        .await?;
    Ok(axum::Json(outcome))
}

/// The next piece of a field's body; a body that stalls for `idle` is a 408
/// (which frees the chunk for a retry).
async fn next_piece(
    field: &mut axum::extract::multipart::Field<'_>,
    idle: std::time::Duration,
) -> Result<Option<axum::body::Bytes>> {
    match tokio::time::timeout(idle, field.chunk()).await {
        Ok(Ok(piece)) => Ok(piece),
        Ok(Err(e)) => Err(Error::new(Code::InvalidInput, e.body_text())),
        Err(_) => Err(Error::timeout("the chunk body stalled")),
    }
}

/// Read and drop the rest of a field, up to `limit` bytes.
async fn drain(
    field: &mut axum::extract::multipart::Field<'_>,
    limit: u64,
    idle: std::time::Duration,
) {
    let mut seen = 0u64;
    while seen <= limit {
        match tokio::time::timeout(idle, field.chunk()).await {
            Ok(Ok(Some(bytes))) => seen += bytes.len() as u64,
            _ => break,
        }
    }
}

/// `GET /api/sync/upload/{upload_id}/progress`
pub async fn progress(
    State(services): State<Services>,
    caller: Caller,
    Path(raw_id): Path<String>,
) -> Result<impl IntoResponse> {
    Ok(axum::Json(
        services
            .upload_progress(&caller, upload_id(&raw_id)?)
            .await?,
    ))
}

/// `POST /api/sync/upload/{upload_id}/pause`
pub async fn pause(
    State(services): State<Services>,
    caller: Caller,
    Path(raw_id): Path<String>,
) -> Result<impl IntoResponse> {
    Ok(axum::Json(
        services.pause_upload(&caller, upload_id(&raw_id)?).await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
pub struct ResumeBody {
    resume_token: Option<String>,
}

/// `POST /api/sync/upload/{upload_id}/resume` with an optional `{resume_token}` body.
pub async fn resume(
    State(services): State<Services>,
    caller: Caller,
    Path(raw_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<impl IntoResponse> {
    let body: ResumeBody = if body.iter().all(u8::is_ascii_whitespace) {
        ResumeBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| Error::new(Code::InvalidInput, e.to_string()))?
    };
    let progress = services
        .resume_upload(&caller, upload_id(&raw_id)?, body.resume_token.as_deref())
        .await?;
    Ok(axum::Json(progress))
}

/// `DELETE /api/sync/upload/{upload_id}`
pub async fn cancel(
    State(services): State<Services>,
    caller: Caller,
    Path(raw_id): Path<String>,
) -> Result<impl IntoResponse> {
    let id = upload_id(&raw_id)?;
    services.cancel_upload(&caller, id).await?;
    Ok(axum::Json(
        serde_json::json!({ "upload_id": id, "status": "cancelled" }),
    ))
}
