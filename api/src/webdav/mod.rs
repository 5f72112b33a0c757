//! The WebDAV adapter (SPEC §9): `dav-server` over a file system made of
//! service calls ([`fs::FerryFs`]), so `/webdav/` is the caller's own tree with
//! the same files, versions and blobs as the REST and GraphQL APIs.
//!
//! Authentication: HTTP Basic (username + password, or username + token) or a
//! Bearer token; without credentials, 401 with a `WWW-Authenticate` challenge.
//! Locks live in the database (every node sees them), one table per user.
use crate::service::Code;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, header},
    response::{IntoResponse, Response},
};
use base64::Engine;
use dav_server::DavHandler;
use uuid::Uuid;

use crate::{
    app::{body_bounds::BodyBounds, extract::ClientAddress},
    config::Bounds,
    service::error::Error,
    service::{
        Caller, Services,
        bandwidth::throttle::{Direction, paced},
    },
};

mod errors;
mod file;
mod fs;
pub use errors::fs_error;
mod locks;
pub mod requests;

/// Where the tree is mounted.
pub const PREFIX: &str = "/webdav";
/// Bytes read from a blob per response frame on GET.
const READ_BUFFER: usize = 1 << 20;

/// A user's `dav-server` handler and its lock table.
type UserDav = (DavHandler<Caller>, locks::SharedLocks);

/// `/webdav`, `/webdav/` and below: bodies are bounded by [`serve`] itself, once
/// the caller is known.
pub fn routes<S>() -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
    Services: axum::extract::FromRef<S>,
    WebDav: axum::extract::FromRef<S>,
{
    use axum::routing::any;
    axum::Router::new()
        .route("/webdav", any(serve))
        .route("/webdav/", any(serve))
        .route("/webdav/{*path}", any(serve))
}

/// One `dav-server` handler per user, each with its own bounded lock table.
#[derive(Clone)]
pub struct WebDav {
    handlers: Arc<Mutex<HashMap<Uuid, UserDav>>>,
    max_locks: usize,
    max_lock_time: std::time::Duration,
    max_ranges: usize,
    bodies: BodyBounds,
}

impl std::fmt::Debug for WebDav {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebDav").finish_non_exhaustive()
    }
}

impl WebDav {
    pub fn new(bounds: &Bounds) -> Self {
        Self {
            handlers: Arc::default(),
            max_locks: bounds.webdav_max_locks,
            max_lock_time: std::time::Duration::from_secs(bounds.webdav_max_lock_secs),
            max_ranges: bounds.max_ranges.max(1),
            bodies: BodyBounds::from(bounds),
        }
    }

    fn handler_for(&self, services: &Services, caller: &Caller) -> UserDav {
        let mut handlers = self
            .handlers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        handlers
            .entry(caller.user_id)
            .or_insert_with(|| {
                let locks = locks::SharedLocks::new(
                    services.clone(),
                    caller.clone(),
                    self.max_locks,
                    self.max_lock_time,
                );
                let handler = DavHandler::builder()
                    .filesystem(Box::new(fs::FerryFs::new(services.clone())))
                    .locksystem(Box::new(locks.clone()))
                    .strip_prefix(PREFIX)
                    .read_buf_size(READ_BUFFER)
                    .build_handler();
                (handler, locks)
            })
            .clone()
    }
}

/// Every method on `/webdav`, `/webdav/` and below.
pub async fn serve(
    State(services): State<Services>,
    State(webdav): State<WebDav>,
    request: Request,
) -> Response {
    let address = request.extensions().get::<ClientAddress>().map(|a| a.0);
    let caller = match authenticate(&services, request.headers(), address).await {
        Ok(caller) => caller,
        Err(err) => return challenge(err),
    };
    if !if_header_is_well_formed(request.headers()) {
        return Error::new(Code::InvalidInput, "malformed If header").into_response();
    }
    let (handler, locks) = webdav.handler_for(&services, &caller);
    let request = match checked(request, &webdav, &locks).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    // Bandwidth limits: the body read (PUT) and the body sent (GET) are paced
    // by the user's buckets.

    let upload = services.pace(caller.user_id, Direction::Upload);
    let download = services.pace(caller.user_id, Direction::Download);
    let request =
        request.map(|body| axum::body::Body::from_stream(paced(upload, body.into_data_stream())));
    handler
        .handle_guarded(request, caller.username.clone(), caller)
        .await
        .map(|body| {
            let body = axum::body::Body::new(body).into_data_stream();
            axum::body::Body::from_stream(paced(download, body))
        })
}

/// The caller named by `Authorization: Basic …` or `Bearer …`.
async fn authenticate(
    services: &Services,
    headers: &HeaderMap,
    address: Option<std::net::IpAddr>,
) -> Result<Caller, Error> {
    let missing = || Error::unauthorized("credentials required");
    if let Some(token) = crate::app::extract::bearer_from_headers(headers) {
        return services.authenticate(token).await;
    }
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(missing)?;
    let (scheme, rest) = value.split_once(' ').ok_or_else(missing)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(missing());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or(Error::unauthorized("malformed basic credentials"))?;
    let (username, secret) = decoded
        .split_once(':')
        .ok_or(Error::unauthorized("malformed basic credentials"))?;
    services.authenticate_basic(username, secret, address).await
}

/// The request after the checks `dav-server` does not make (see [`requests`]):
/// its XML body, its `Range`, its `Destination`, and the lock cap.
async fn checked(
    request: Request,
    webdav: &WebDav,
    locks: &locks::SharedLocks,
) -> Result<Request, Response> {
    let method = request.method().as_str().to_owned();
    let (mut parts, body) = request.into_parts();
    if matches!(method.as_str(), "GET" | "HEAD") {
        requests::bound_ranges(&mut parts.headers, webdav.max_ranges);
    }
    if matches!(method.as_str(), "COPY" | "MOVE")
        && requests::foreign_destination(&parts.headers, parts.uri.authority().map(|a| a.as_str()))
    {
        return Err(bad_gateway());
    }
    if method == "PUT" {
        let body = crate::app::body_bounds::idle_bounded(body, webdav.bodies.idle);
        return Ok(Request::from_parts(parts, body));
    }
    // Every other body is XML (or nothing): read whole under the small-body bounds.
    let bytes = crate::app::body_bounds::read_small(&parts.headers, body, webdav.bodies)
        .await
        .map_err(IntoResponse::into_response)?;
    if method == "LOCK" {
        if bytes.len() > requests::MAX_LOCK_BODY {
            let message = format!(
                "a LOCK body holds at most {} bytes",
                requests::MAX_LOCK_BODY
            );
            return Err(Error::new(Code::PayloadTooLarge, message).into_response());
        }
        // A LOCK with a body asks for a new lock (a refresh has none).
        if !bytes.is_empty() && !locks.has_room().await {
            return Err(Error::new(
                Code::TooManyLocks,
                format!("at most {} WebDAV locks per user", webdav.max_locks),
            )
            .retry_after(60)
            .into_response());
        }
    }
    if let Err(why) = requests::check_xml(&bytes) {
        return Err(Error::new(Code::InvalidInput, why).into_response());
    }
    Ok(Request::from_parts(parts, axum::body::Body::from(bytes)))
}

/// 502: RFC 4918 §9.9.4's answer to a `Destination` on another server.
fn bad_gateway() -> Response {
    Error::of(Code::ForeignDestination).into_response()
}

/// Whether every `<…>`, `[…]` and quoted string of the `If:` header (RFC 4918
/// §10.4) is closed: `dav-server`'s parser assumes so, so a truncated header
/// is turned away here with 400.
fn if_header_is_well_formed(headers: &HeaderMap) -> bool {
    headers.get_all("if").iter().all(|value| {
        let mut closing = None;
        let mut quoted = false;
        for byte in value.as_bytes() {
            match (closing, *byte) {
                (Some(_), b'"') => quoted = !quoted,
                (Some(end), b) if b == end && !quoted => closing = None,
                (None, b'<') => closing = Some(b'>'),
                (None, b'[') => closing = Some(b']'),
                _ => {}
            }
        }
        closing.is_none() && !quoted
    })
}

/// 401 in the SPEC's error format, offering Basic (which every WebDAV client
/// speaks) and Bearer.
fn challenge(err: Error) -> Response {
    let mut response = err.into_response();
    if response.status() == axum::http::StatusCode::UNAUTHORIZED {
        let headers = response.headers_mut();
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Ferry\", charset=\"UTF-8\""),
        );
        headers.append(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_if(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("if", HeaderValue::from_str(value).expect("header"));
        headers
    }

    #[test]
    fn if_headers_must_be_closed() {
        assert!(if_header_is_well_formed(&HeaderMap::new()));
        assert!(if_header_is_well_formed(&with_if(
            "<http://x/a> (<urn:uuid:1> [\"e\"]) (Not <DAV:no-lock>)"
        )));
        assert!(!if_header_is_well_formed(&with_if("(<urn:uuid:1> [\"abc")));
        assert!(!if_header_is_well_formed(&with_if("(<urn:uuid:1")));
    }
}
