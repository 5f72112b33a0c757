//! `/healthz`, `/readyz`, `/metrics`.
use axum::{
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};

use crate::service::Services;

/// Liveness: the process answers.
pub async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: the database answers.
pub async fn readyz(State(services): State<Services>) -> impl IntoResponse {
    match services.db().ping().await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({ "status": "ready" })),
        ),
        Err(err) => {
            tracing::warn!(%err, "readiness check failed");
            let body = serde_json::json!({ "error": { "code": "not_ready", "message": "database unavailable" } });
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body))
        }
    }
}

/// Prometheus/OpenMetrics text.
pub async fn metrics(State(services): State<Services>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        services.metrics().render(),
    )
}
