//! Login, the caller, and user administration.
use axum::{extract::State, http::StatusCode, response::IntoResponse};
use serde::Deserialize;

use crate::app::extract::ApiJson;
use crate::{
    service::error::Result,
    service::{Caller, Services, identity::LoginRequest},
};

#[derive(Debug, Deserialize)]
pub struct LoginBody {
    username: String,
    password: String,
    device_id: Option<String>,
    device_name: Option<String>,
    platform: Option<String>,
}

/// `POST /api/auth/login`
pub async fn login(
    State(services): State<Services>,
    address: Option<axum::Extension<crate::app::extract::ClientAddress>>,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<impl IntoResponse> {
    let result = services
        .login(LoginRequest {
            username: body.username,
            password: body.password,
            device_id: body.device_id,
            device_name: body.device_name,
            platform: body.platform,
            address: address.map(|a| a.0.0),
        })
        .await?;
    Ok(axum::Json(result))
}

/// `GET /api/me`
pub async fn me(caller: Caller) -> impl IntoResponse {
    axum::Json(serde_json::json!({
        "id": caller.user_id,
        "username": caller.username,
        "role": caller.role,
        "device_id": caller.device.map(|(_, id)| id),
    }))
}

#[derive(Debug, Deserialize)]
pub struct CreateUserBody {
    username: String,
    password: String,
    #[serde(default)]
    role: Option<String>,
}

/// `POST /api/users` (admin)
pub async fn create_user(
    State(services): State<Services>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateUserBody>,
) -> Result<impl IntoResponse> {
    let user = services
        .add_user(
            &caller,
            &body.username,
            &body.password,
            body.role.as_deref(),
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(user)))
}

/// `GET /api/users` (admin)
pub async fn list_users(
    State(services): State<Services>,
    caller: Caller,
) -> Result<impl IntoResponse> {
    Ok(axum::Json(
        serde_json::json!({ "users": services.list_users(Some(&caller)).await? }),
    ))
}
