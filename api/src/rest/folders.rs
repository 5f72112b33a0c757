//! `/api/sync/folders`: make and delete folders (what a sync client needs for
//! empty folders; WebDAV `MKCOL`/`DELETE` do the same).
use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::IntoResponse,
};
use serde::Deserialize;

use crate::app::extract::ApiJson;
use crate::service::{Caller, Services, error::Result};

#[derive(Debug, Deserialize)]
pub struct FolderBody {
    path: String,
}

/// `POST /api/sync/folders` `{path}` → 201 `{path, created_at}`; 409
/// `already_exists` when something is there, 409 `parent_missing` without its parent.
pub async fn create(
    State(services): State<Services>,
    caller: Caller,
    ApiJson(body): ApiJson<FolderBody>,
) -> Result<impl IntoResponse> {
    let folder = services.create_folder(&caller, &body.path).await?;
    Ok((StatusCode::CREATED, axum::Json(folder)))
}

/// `DELETE /api/sync/folders?path=…` → 204: the folder and everything below it
/// (each file a tombstone); 404 unless a folder is there.
pub async fn delete(
    State(services): State<Services>,
    caller: Caller,
    Query(query): Query<FolderBody>,
) -> Result<StatusCode> {
    services.delete_folder(&caller, &query.path).await?;
    Ok(StatusCode::NO_CONTENT)
}
