//! The tus adapter (tus 1.0.0: core plus creation, creation-with-upload,
//! creation-defer-length, expiration, checksum, termination and concatenation)
//! at `/api/tus/`, over the service's appended uploads: the same sessions,
//! blocks, limits, expiry and events as the chunked API. Thin: headers in,
//! headers out; the rules are the service's.
mod cors;
pub mod headers;
mod requests;

use std::sync::Arc;

use axum::{
    Router,
    extract::{DefaultBodyLimit, FromRef, Request},
    http::{HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{any, post},
};

use crate::service::{Code, Error, Services};

pub use cors::CorsOrigins;

/// The one protocol version spoken.
pub const VERSION: &str = "1.0.0";
/// The extensions that work, as `OPTIONS` advertises them.
pub const EXTENSIONS: &str = "creation,creation-with-upload,creation-defer-length,expiration,checksum,termination,concatenation";
/// tus's status for a checksum mismatch.
const CHECKSUM_MISMATCH: u16 = 460;

/// The tus routes: `POST /api/tus/` creates, `/api/tus/{id}` takes `HEAD`,
/// `PATCH`, `DELETE`; `OPTIONS` on either describes the server.
pub fn routes<S>(origins: CorsOrigins) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Services: FromRef<S>,
{
    Router::new()
        .route(
            "/api/tus",
            post(requests::create).options(requests::options),
        )
        .route(
            "/api/tus/",
            post(requests::create).options(requests::options),
        )
        .route("/api/tus/{upload_id}", any(requests::upload))
        // Bodies are streamed, bounded by the upload's length and the idle timeout.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn(protocol))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(origins),
            cors::answer,
        ))
}

/// Every response says `Tus-Resumable`; a request other than `OPTIONS` must
/// speak 1.0.0 (else 412 with `Tus-Version`).
async fn protocol(request: Request, next: Next) -> Response {
    let speaks = request
        .headers()
        .get("tus-resumable")
        .is_some_and(|v| v.as_bytes() == VERSION.as_bytes());
    let mut response = if request.method() == Method::OPTIONS || speaks {
        next.run(request).await
    } else {
        error_response(Error::new(
            Code::UnsupportedVersion,
            "send Tus-Resumable: 1.0.0 (the only version this server speaks)",
        ))
    };
    let headers = response.headers_mut();
    headers.insert("tus-resumable", HeaderValue::from_static(VERSION));
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    response
}

/// An error as tus clients expect its status, with the SPEC's JSON body.
pub fn error_response(err: Error) -> Response {
    let status = match err.code() {
        Code::OffsetMismatch | Code::ChunkInProgress => Some(StatusCode::CONFLICT),
        Code::ChecksumMismatch => StatusCode::from_u16(CHECKSUM_MISMATCH).ok(),
        Code::UnsupportedVersion => Some(StatusCode::PRECONDITION_FAILED),
        Code::UnsupportedMediaType => Some(StatusCode::UNSUPPORTED_MEDIA_TYPE),
        Code::UnsupportedChecksum => Some(StatusCode::BAD_REQUEST),
        _ => None,
    };
    let version = err.code() == Code::UnsupportedVersion;
    let mut response = err.into_response();
    if let Some(status) = status {
        *response.status_mut() = status;
    }
    if version {
        response
            .headers_mut()
            .insert("tus-version", HeaderValue::from_static(VERSION));
    }
    response
}

/// Headers every description of the server carries.
fn describe(headers: &mut HeaderMap, max_size: u64) {
    headers.insert("tus-version", HeaderValue::from_static(VERSION));
    headers.insert("tus-extension", HeaderValue::from_static(EXTENSIONS));
    headers.insert("tus-max-size", HeaderValue::from(max_size));
    headers.insert(
        "tus-checksum-algorithm",
        HeaderValue::from_static("sha1,sha256,md5"),
    );
}
