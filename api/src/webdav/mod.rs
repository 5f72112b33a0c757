//! The WebDAV adapter (SPEC §9): `dav-server` over a file system made of
//! service calls ([`fs::FerryFs`]), so `/webdav/` is the caller's own tree with
//! the same files, versions and blobs as the REST and GraphQL APIs.
//!
//! Authentication: HTTP Basic (username + password, or username + token) or a
//! Bearer token; without credentials, 401 with a `WWW-Authenticate` challenge.
//! Locks live in memory, one lock table per user (paths are per user).
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
use dav_server::{DavHandler, memls::MemLs};
use uuid::Uuid;

use crate::{
    error::Error,
    rest::AppState,
    service::{
        Caller, Services,
        throttle::{Direction, paced},
    },
};

mod file;
mod fs;

/// Where the tree is mounted.
pub const PREFIX: &str = "/webdav";
/// Bytes read from a blob per response frame on GET.
const READ_BUFFER: usize = 1 << 20;

/// One `dav-server` handler per user, each with its own lock table.
#[derive(Clone, Default)]
pub struct WebDav {
    handlers: Arc<Mutex<HashMap<Uuid, DavHandler<Caller>>>>,
}

impl std::fmt::Debug for WebDav {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebDav").finish_non_exhaustive()
    }
}

impl WebDav {
    fn handler_for(&self, services: &Services, user_id: Uuid) -> DavHandler<Caller> {
        let mut handlers = self
            .handlers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        handlers
            .entry(user_id)
            .or_insert_with(|| {
                DavHandler::builder()
                    .filesystem(Box::new(fs::FerryFs::new(services.clone())))
                    .locksystem(MemLs::new())
                    .strip_prefix(PREFIX)
                    .read_buf_size(READ_BUFFER)
                    .build_handler()
            })
            .clone()
    }
}

/// Every method on `/webdav`, `/webdav/` and below.
pub async fn serve(State(state): State<AppState>, request: Request) -> Response {
    let caller = match authenticate(&state.services, request.headers()).await {
        Ok(caller) => caller,
        Err(err) => return challenge(err),
    };
    if !if_header_is_well_formed(request.headers()) {
        return Error::bad_request("invalid_input", "malformed If header").into_response();
    }
    let handler = state.webdav.handler_for(&state.services, caller.user_id);
    // Bandwidth limits: the body read (PUT) and the body sent (GET) are paced
    // by the user's buckets.
    let services = &state.services;
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
async fn authenticate(services: &Services, headers: &HeaderMap) -> Result<Caller, Error> {
    const MISSING: Error = Error::Unauthorized("credentials required");
    if let Some(token) = crate::rest::bearer_from_headers(headers) {
        return services.authenticate(token).await;
    }
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(MISSING)?;
    let (scheme, rest) = value.split_once(' ').ok_or(MISSING)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(MISSING);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or(Error::Unauthorized("malformed basic credentials"))?;
    let (username, secret) = decoded
        .split_once(':')
        .ok_or(Error::Unauthorized("malformed basic credentials"))?;
    services.authenticate_basic(username, secret).await
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
