//! `/healthz`, `/readyz`, `/metrics`.
use axum::{extract::State, http::header, response::IntoResponse};

use crate::service::{Code, Services};

/// Liveness: the process answers.
pub async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: the database answers.
pub async fn readyz(State(services): State<Services>) -> axum::response::Response {
    match services.db().ping().await {
        Ok(()) => axum::Json(serde_json::json!({ "status": "ready" })).into_response(),
        Err(err) => {
            tracing::warn!(%err, "readiness check failed");
            crate::service::Error::of(Code::NotReady).into_response()
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
