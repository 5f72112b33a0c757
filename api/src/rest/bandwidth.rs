//! `/api/sync/bandwidth/limit`: a user's bandwidth limit.
use axum::{
    extract::{Query, State},
    response::IntoResponse,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::app::extract::ApiJson;
use crate::{
    service::error::Result,
    service::{Caller, Services, bandwidth::SetLimit},
};

#[derive(Debug, Deserialize)]
pub struct LimitBody {
    user_id: Option<Uuid>,
    upload_speed_limit: Option<i64>,
    download_speed_limit: Option<i64>,
    throttle_enabled: bool,
    throttle_start_hour: Option<i32>,
    throttle_end_hour: Option<i32>,
    timezone: Option<String>,
}

/// `POST /api/sync/bandwidth/limit`
pub async fn set(
    State(services): State<Services>,
    caller: Caller,
    ApiJson(body): ApiJson<LimitBody>,
) -> Result<impl IntoResponse> {
    let limit = services
        .set_bandwidth_limit(
            &caller,
            SetLimit {
                user_id: body.user_id,
                upload_speed_limit: body.upload_speed_limit,
                download_speed_limit: body.download_speed_limit,
                throttle_enabled: body.throttle_enabled,
                throttle_start_hour: body.throttle_start_hour,
                throttle_end_hour: body.throttle_end_hour,
                timezone: body.timezone,
            },
        )
        .await?;
    Ok(axum::Json(limit))
}

#[derive(Debug, Deserialize)]
pub struct LimitQuery {
    user_id: Option<Uuid>,
}

/// `GET /api/sync/bandwidth/limit` (admins: `?user_id=`)
pub async fn get(
    State(services): State<Services>,
    caller: Caller,
    Query(query): Query<LimitQuery>,
) -> Result<impl IntoResponse> {
    Ok(axum::Json(
        services.bandwidth_limit(&caller, query.user_id).await?,
    ))
}
