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

/// A user id from the path; anything but a UUID is an unknown user.
fn user_id(raw: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(raw).map_err(|_| crate::service::Error::not_found("user"))
}

/// `POST /api/users/{id}/disable` (admin)
pub async fn disable_user(
    State(services): State<Services>,
    caller: Caller,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<impl IntoResponse> {
    let user = services
        .set_user_disabled(Some(&caller), user_id(&raw)?, true)
        .await?;
    Ok(axum::Json(user))
}

/// `POST /api/users/{id}/enable` (admin)
pub async fn enable_user(
    State(services): State<Services>,
    caller: Caller,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<impl IntoResponse> {
    let user = services
        .set_user_disabled(Some(&caller), user_id(&raw)?, false)
        .await?;
    Ok(axum::Json(user))
}

#[derive(Debug, Deserialize)]
pub struct RoleBody {
    role: String,
}

/// `POST /api/users/{id}/role` `{"role": "admin"|"user"}` (admin)
pub async fn set_role(
    State(services): State<Services>,
    caller: Caller,
    axum::extract::Path(raw): axum::extract::Path<String>,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<impl IntoResponse> {
    let role = crate::service::Role::parse(&body.role).ok_or_else(|| {
        crate::service::Error::new(
            crate::service::Code::InvalidRole,
            "role must be admin or user",
        )
    })?;
    let user = services.user_by_id(Some(&caller), user_id(&raw)?).await?;
    let user = services
        .set_user_role(Some(&caller), &user.username, role)
        .await?;
    Ok(axum::Json(user))
}

#[derive(Debug, Deserialize)]
pub struct PasswordBody {
    password: String,
}

/// `POST /api/users/{id}/password` `{"password": "…"}` (admin): every token of
/// the user is revoked.
pub async fn reset_password(
    State(services): State<Services>,
    caller: Caller,
    axum::extract::Path(raw): axum::extract::Path<String>,
    ApiJson(body): ApiJson<PasswordBody>,
) -> Result<impl IntoResponse> {
    let user = services
        .reset_password(Some(&caller), user_id(&raw)?, &body.password)
        .await?;
    Ok(axum::Json(user))
}

/// `DELETE /api/users/{id}` (admin): the user and everything of theirs.
pub async fn delete_user(
    State(services): State<Services>,
    caller: Caller,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<impl IntoResponse> {
    services.delete_user(Some(&caller), user_id(&raw)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
