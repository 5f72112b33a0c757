//! The REST adapter: thin handlers over `service`, errors in the SPEC's format.
use crate::service::Code;
use axum::{
    Router,
    extract::{
        DefaultBodyLimit, FromRef, FromRequest, FromRequestParts, Request, rejection::JsonRejection,
    },
    http::request::Parts,
    routing::{any, delete, get, post},
};
use serde::de::DeserializeOwned;

use crate::{
    service::error::Error,
    service::{Caller, Services},
};

mod bandwidth;
pub mod error_response;
mod files;
mod health;
mod identity;
pub mod rate_limit;
mod schedules;
mod selective;
mod uploads;

/// What every handler can reach.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub services: Services,
    pub schema: crate::graphql::FerrySchema,
    pub webdav: crate::webdav::WebDav,
    pub sockets: crate::graphql::Sockets,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// Every REST route, plus the health and metrics endpoints.
pub fn router(state: AppState, settings: &crate::config::Settings) -> Router {
    // Every route reads a small body whole, under a size limit and a deadline
    // (`http_guard`), except the chunk route and WebDAV, which bound their own.
    let small = axum::middleware::from_fn_with_state(
        crate::http_guard::BodyBounds::from(&settings.bounds),
        crate::http_guard::small_bodies,
    );
    // The upload endpoints: callers identified first, then rate-limited.
    let mut uploads = Router::new()
        .route("/api/sync/upload/start", post(uploads::start))
        .route(
            "/api/sync/upload/{upload_id}/progress",
            get(uploads::progress),
        )
        .route("/api/sync/upload/{upload_id}/pause", post(uploads::pause))
        .route("/api/sync/upload/{upload_id}/resume", post(uploads::resume))
        .route("/api/sync/upload/{upload_id}", delete(uploads::cancel))
        .layer(small.clone())
        .route(
            "/api/sync/upload/{upload_id}/chunk/{chunk_number}",
            // Chunk bodies are bounded while streaming, by the upload's own chunk
            // size and the idle timeout of every wait.
            post(uploads::put_chunk).layer(DefaultBodyLimit::disable()),
        );
    if let Some(limit) = rate_limit::layer(settings) {
        uploads = uploads.layer(limit);
    }
    let uploads = uploads.layer(axum::middleware::from_fn_with_state(
        state.services.clone(),
        rate_limit::identify,
    ));
    Router::new()
        .route("/api/auth/login", post(identity::login))
        .route("/api/me", get(identity::me))
        .route(
            "/api/users",
            get(identity::list_users).post(identity::create_user),
        )
        .route(
            "/api/sync/bandwidth/limit",
            get(bandwidth::get).post(bandwidth::set),
        )
        .route("/api/sync/schedule/create", post(schedules::create))
        .route("/api/sync/schedule/list", get(schedules::list))
        .route("/api/sync/schedule/{id}/enable", post(schedules::enable))
        .route("/api/sync/schedule/{id}/disable", post(schedules::disable))
        .route("/api/sync/selective/configure", post(selective::configure))
        .route("/api/sync/selective/list/{device_id}", get(selective::list))
        .route("/api/sync/files", get(files::list))
        .route(
            "/api/sync/files/content",
            get(files::download).delete(files::delete),
        )
        .route(
            "/graphql",
            get(crate::graphql::graphiql).post(crate::graphql::execute),
        )
        .route("/graphql/ws", get(crate::graphql::websocket))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .layer(small)
        .merge(uploads)
        // WebDAV bounds its bodies itself, once the caller is known.
        .route("/webdav", any(crate::webdav::serve))
        .route("/webdav/", any(crate::webdav::serve))
        .route("/webdav/{*path}", any(crate::webdav::serve))
        .fallback(|| async { Error::not_found("route") })
        .with_state(state)
}

/// The bearer token of a request, if any.
fn bearer_token(parts: &Parts) -> Option<&str> {
    bearer_from_headers(&parts.headers)
}

/// The bearer token in `Authorization: Bearer …`, if any.
pub(crate) fn bearer_from_headers(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    parse_bearer(value)
}

/// The token of an authorization value `Bearer …` (scheme in any case), if any:
/// the one parser for headers and WebSocket `connection_init` payloads alike.
pub(crate) fn parse_bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    Services: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let token = bearer_token(parts).ok_or(Error::unauthorized("missing bearer token"))?;
        Services::from_ref(state).authenticate(token).await
    }
}

/// `Json` whose rejections answer in the SPEC's error format (400 `invalid_input`).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_error(rejection)),
        }
    }
}

fn json_error(rejection: JsonRejection) -> Error {
    Error::new(Code::InvalidInput, rejection.body_text())
}
