//! What every adapter reads off a request, parsed in one place: the bearer
//! token, the caller it names, the dashboard's same-origin session cookie, the
//! client's address, and JSON bodies whose rejections answer in the SPEC's format.
use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Request, State},
    http::{HeaderMap, Request as HttpRequest, header, request::Parts},
    middleware::Next,
    response::Response,
};
use serde::de::DeserializeOwned;

use crate::service::{Caller, Code, Error, Services};

/// The bearer token in `Authorization: Bearer …`, if any.
pub fn bearer_from_headers(headers: &HeaderMap) -> Option<&str> {
    parse_bearer(headers.get(header::AUTHORIZATION)?.to_str().ok()?)
}

/// The token of an authorization value `Bearer …` (scheme in any case), if any:
/// the one parser for headers and WebSocket `connection_init` payloads alike.
pub fn parse_bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The dashboard session cookie of a request whose `Origin` names this host
/// (`authority`: the request URI's, for HTTP/2) — a WebSocket handshake or a
/// GraphiQL query from Ferry's own pages; another site's page cannot ride on
/// the cookie.
pub fn same_origin_session(headers: &HeaderMap, authority: Option<&str>) -> Option<String> {
    let same_origin =
        headers.contains_key(header::ORIGIN) && !dashboard::cross_origin(headers, authority);
    same_origin
        .then(|| dashboard::session_token(headers))
        .flatten()
}

/// A handler argument: the caller named by the bearer token (401 without one).
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
        let token = bearer_from_headers(&parts.headers)
            .ok_or_else(|| Error::unauthorized("missing bearer token"))?;
        Services::from_ref(state).authenticate(token).await
    }
}

/// A handler argument for what a browser fetches by following a dashboard
/// link (a download): the bearer's caller, else the dashboard session's. The
/// session cookie is `SameSite=Strict`, so another site's page never sends it;
/// a request the browser marks as coming from another site is refused as well.
#[derive(Debug)]
pub struct BrowserCaller(pub Caller);

impl<S> FromRequestParts<S> for BrowserCaller
where
    S: Send + Sync,
    Services: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if parts.extensions.get::<Caller>().is_some()
            || bearer_from_headers(&parts.headers).is_some()
        {
            return Caller::from_request_parts(parts, state).await.map(Self);
        }
        let from_elsewhere = parts
            .headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|site| !matches!(site, "same-origin" | "none"));
        let token = dashboard::session_token(&parts.headers)
            .filter(|_| !from_elsewhere)
            .ok_or_else(|| Error::unauthorized("missing bearer token"))?;
        Services::from_ref(state)
            .authenticate(&token)
            .await
            .map(Self)
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
            Err(rejection) => Err(Error::new(Code::InvalidInput, rejection.body_text())),
        }
    }
}

/// The client's address: the peer, or — when the peer is a trusted proxy —
/// the right-most address of `X-Forwarded-For` that is not a trusted proxy.
pub fn client_ip<T>(req: &HttpRequest<T>, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())?;
    if !trusted_proxies.contains(&peer) {
        return Some(peer);
    }
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|ip| ip.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted_proxies.contains(ip))
        .or(Some(peer))
}

/// The address a request came from (see [`client_ip`]), put in every request's
/// extensions by [`remember_client`]: sign-ins count failures against it.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddress(pub IpAddr);

/// Middleware: record the [`ClientAddress`] of each request.
pub async fn remember_client(
    State(trusted): State<std::sync::Arc<Vec<IpAddr>>>,
    mut req: Request,
    next: Next,
) -> Response {
    if let Some(ip) = client_ip(&req, &trusted) {
        req.extensions_mut().insert(ClientAddress(ip));
    }
    next.run(req).await
}
