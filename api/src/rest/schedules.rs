//! `/api/sync/schedule/…`: create (admin), list, enable/disable (admin).
use axum::{
    extract::{Path, Query, State},
    response::IntoResponse,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::app::extract::ApiJson;
use crate::{
    service::error::{Error, Result},
    service::{
        Caller, Services,
        sync::schedules::{NewSchedule, Schedule},
    },
};

#[derive(Debug, Deserialize)]
pub struct CreateBody {
    device_id: String,
    user_id: Option<Uuid>,
    schedule_type: String,
    time_of_day: Option<String>,
    day_of_week: Option<i32>,
    day_of_month: Option<i32>,
    timezone: Option<String>,
    #[serde(default)]
    sync_deletions: bool,
    resolve_conflicts: Option<String>,
    debounce_seconds: Option<i32>,
}

/// `POST /api/sync/schedule/create`
pub async fn create(
    State(services): State<Services>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<impl IntoResponse> {
    let schedule = services
        .create_schedule(
            &caller,
            NewSchedule {
                device_id: body.device_id,
                user_id: body.user_id,
                schedule_type: body.schedule_type,
                time_of_day: body.time_of_day,
                day_of_week: body.day_of_week,
                day_of_month: body.day_of_month,
                timezone: body.timezone,
                sync_deletions: body.sync_deletions,
                resolve_conflicts: body.resolve_conflicts,
                debounce_seconds: body.debounce_seconds,
            },
        )
        .await?;
    Ok(axum::Json(serde_json::json!({
        "schedule_id": schedule.schedule_id,
        "device_id": schedule.device_id,
        "schedule_type": schedule.schedule_type,
        "next_run_at": schedule.next_run_at,
    })))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    device_id: Option<String>,
}

/// `GET /api/sync/schedule/list[?device_id=]`
pub async fn list(
    State(services): State<Services>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> Result<impl IntoResponse> {
    let schedules = services
        .list_schedules(&caller, query.device_id.as_deref())
        .await?;
    // Serialized straight to bytes (`json!` would build a map per schedule first).
    #[derive(serde::Serialize)]
    struct Answer {
        schedules: Vec<Schedule>,
    }
    Ok(axum::Json(Answer { schedules }))
}

fn schedule_id(raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| Error::not_found("schedule"))
}

/// `POST /api/sync/schedule/{id}/enable`
pub async fn enable(
    State(services): State<Services>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<impl IntoResponse> {
    Ok(axum::Json(
        services
            .set_schedule_enabled(&caller, schedule_id(&raw)?, true)
            .await?,
    ))
}

/// `POST /api/sync/schedule/{id}/disable`
pub async fn disable(
    State(services): State<Services>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<impl IntoResponse> {
    Ok(axum::Json(
        services
            .set_schedule_enabled(&caller, schedule_id(&raw)?, false)
            .await?,
    ))
}
