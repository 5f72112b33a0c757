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

use crate::{
    app::rate_limit::UploadLimit,
    service::{Code, Error, Services},
};

pub use cors::CorsOrigins;

/// The one protocol version spoken.
pub const VERSION: &str = "1.0.0";
/// The extensions that work, as `OPTIONS` advertises them.
pub const EXTENSIONS: &str = "creation,creation-with-upload,creation-defer-length,expiration,checksum,termination,concatenation";
/// tus's status for a checksum mismatch.
const CHECKSUM_MISMATCH: u16 = 460;

/// The tus routes: `POST /api/tus/` creates, `/api/tus/{id}` takes `HEAD`,
/// `PATCH`, `DELETE`; `OPTIONS` on either describes the server. Every request
/// but a browser's CORS preflight counts against `upload_limit`, the same
/// budget as the chunked upload API's.
pub fn routes<S>(origins: CorsOrigins, upload_limit: &UploadLimit) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Services: FromRef<S>,
{
    let routes = Router::new()
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
        .layer(DefaultBodyLimit::disable());
    // Refusals still carry the protocol's and CORS headers.
    upload_limit
        .apply(routes)
        .layer(axum::middleware::from_fn(protocol))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(origins),
            cors::answer,
        ))
}

/// The IETF resumable-upload draft's interop versions spoken on the same
/// engine: 5 (draft-ietf-httpbis-resumable-upload-03) and 6 (-05), as
/// tus-js-client 4 speaks them.
pub const DRAFT_INTEROP_VERSIONS: [&str; 2] = ["5", "6"];

/// A request in the IETF draft's dialect (its interop version).
#[derive(Clone, Copy, Debug)]
pub struct Draft(pub &'static str);

/// Every response says `Tus-Resumable`; a request other than `OPTIONS` must
/// speak tus 1.0.0 (else 412 with `Tus-Version`) or name a draft interop
/// version this server speaks (`Upload-Draft-Interop-Version`).
async fn protocol(mut request: Request, next: Next) -> Response {
    let headers = request.headers();
    let speaks = headers
        .get("tus-resumable")
        .is_some_and(|v| v.as_bytes() == VERSION.as_bytes());
    let draft = headers
        .get("upload-draft-interop-version")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DRAFT_INTEROP_VERSIONS.into_iter().find(|d| *d == v.trim()));
    if let Some(version) = draft {
        request.extensions_mut().insert(Draft(version));
    }
    let mut response = if request.method() == Method::OPTIONS || speaks || draft.is_some() {
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
    if let Some(version) = draft {
        headers.insert(
            "upload-draft-interop-version",
            HeaderValue::from_static(version),
        );
    }
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
        // A failed upload cannot go on: it is gone.
        Code::UploadFailed => Some(StatusCode::GONE),
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
