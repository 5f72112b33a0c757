//! `/api/sync/selective/…`: a device's selective-sync folders.
use axum::{
    extract::{Path, Query, State},
    response::IntoResponse,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::app::extract::ApiJson;
use crate::{
    service::error::Result,
    service::{Caller, Services, sync::selective::Folder},
};

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
pub struct FolderBody {
    path: String,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default = "yes")]
    include_subfolders: bool,
}

#[derive(Debug, Deserialize)]
pub struct ConfigureBody {
    device_id: String,
    /// Admins may name the device's owner.
    user_id: Option<Uuid>,
    folders: Vec<FolderBody>,
}

/// `POST /api/sync/selective/configure`
pub async fn configure(
    State(services): State<Services>,
    caller: Caller,
    ApiJson(body): ApiJson<ConfigureBody>,
) -> Result<impl IntoResponse> {
    let folders = body
        .folders
        .into_iter()
        .map(|f| Folder {
            path: f.path,
            enabled: f.enabled,
            include_subfolders: f.include_subfolders,
        })
        .collect();
    let configured = services
        .configure_selective_sync(&caller, body.user_id, &body.device_id, folders)
        .await?;
    Ok(axum::Json(
        serde_json::json!({ "device_id": body.device_id, "folders_configured": configured }),
    ))
}

#[derive(Debug, Deserialize)]
pub struct OwnerQuery {
    user_id: Option<Uuid>,
}

/// `GET /api/sync/selective/list/{device_id}` (admins: `?user_id=`)
pub async fn list(
    State(services): State<Services>,
    caller: Caller,
    Path(device_id): Path<String>,
    Query(query): Query<OwnerQuery>,
) -> Result<impl IntoResponse> {
    let folders = services
        .list_selective_sync(&caller, query.user_id, &device_id)
        .await?;
    Ok(axum::Json(
        serde_json::json!({ "device_id": device_id, "folders": folders }),
    ))
}
