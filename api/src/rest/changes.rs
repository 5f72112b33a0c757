//! `GET /api/sync/changes`: the changes feed of the caller's tree for one device.
use std::time::Duration;

use axum::{
    extract::{Query, State},
    response::IntoResponse,
};
use serde::Deserialize;

use crate::service::{
    Caller, Code, Services,
    error::{Error, Result},
};

/// Every parameter as text, parsed here, so a bad one gets the SPEC's error.
#[derive(Debug, Deserialize)]
pub struct ChangesQuery {
    device_id: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
    wait: Option<String>,
}

fn number(raw: Option<&str>, field: &'static str) -> Result<Option<u32>> {
    raw.map(|raw| {
        raw.parse::<u32>().map_err(|_| {
            Error::new(
                Code::InvalidValue,
                format!("{field} must be a whole number"),
            )
            .on_field(field)
        })
    })
    .transpose()
}

/// `GET /api/sync/changes?device_id=D[&cursor=C][&limit=N][&wait=S]`
pub async fn list(
    State(services): State<Services>,
    caller: Caller,
    Query(query): Query<ChangesQuery>,
) -> Result<impl IntoResponse> {
    let device_id = query.device_id.as_deref().ok_or_else(|| {
        Error::new(Code::InvalidInput, "device_id is required").on_field("device_id")
    })?;
    let limit = number(query.limit.as_deref(), "limit")?;
    let wait = number(query.wait.as_deref(), "wait")?.map(|s| Duration::from_secs(s.into()));
    let page = services
        .changes(&caller, device_id, query.cursor.as_deref(), limit, wait)
        .await?;
    Ok(axum::Json(page))
}
