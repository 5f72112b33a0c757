//! Sessions: the login cookie (HttpOnly, SameSite=Strict, `Secure` over HTTPS) holding a
//! bearer token, the sign-in check in front of every page and server function (admin
//! pages for admins only), the same-origin check on posts, and the security headers.
use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use leptos::prelude::use_context;

use crate::{Dashboard, client, operations};

/// The session cookie's name (its value is a bearer token of the signed-in user).
pub const SESSION_COOKIE: &str = "ferry_session";

/// The signed-in user of a request (put in the request's extensions by [`require_session`]).
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub token: String,
    pub username: String,
    pub admin: bool,
}

impl Session {
    /// The session of the request being rendered or posted, if signed in.
    pub fn current() -> Option<Session> {
        use_context::<axum::http::request::Parts>()?
            .extensions
            .get::<Session>()
            .cloned()
    }
}

/// Paths anyone may reach: the login page, its server function, the favicon.
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/login" | "/dashboard/fn/login" | "/favicon.ico" | "/assets/favicon.svg"
    )
}

/// Pages only admins see (everyone has My files, My devices and My settings).
/// Server functions need no list: the API decides what each caller may change.
pub(crate) fn is_admin_page(path: &str) -> bool {
    matches!(
        path,
        "/" | "/users" | "/schedules" | "/selective" | "/bandwidth" | "/audit"
    )
}

/// The session cookie's value, if the request carries one.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == SESSION_COOKIE && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

/// `Set-Cookie` for a new session (or, with `None`, one that ends it).
pub(crate) fn session_cookie(token: Option<&str>, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let value = match token {
        Some(token) => {
            format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}")
        }
        None => format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A post from another site's page (its `Origin` is not this host) is refused: with the
/// SameSite=Strict cookie this makes every form CSRF-safe, and the login form too.
pub fn cross_origin(headers: &HeaderMap, authority: Option<&str>) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    // HTTP/2 carries the host as `:authority` (the URI's), HTTP/1.1 in `Host`.
    let host = authority.or_else(|| headers.get(header::HOST).and_then(|h| h.to_str().ok()));
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest);
    match (origin_host, host) {
        (Some(origin), Some(host)) => !origin.eq_ignore_ascii_case(host),
        _ => true,
    }
}

/// In front of every dashboard page and server function: posts must be same-origin;
/// everything but the login page needs the session of an enabled user, else it goes
/// to `/login`; an admin page answers a user 403 (the overview sends them to My files).
pub(crate) async fn require_session(
    State(dashboard): State<Dashboard>,
    mut request: Request,
    next: Next,
) -> Response {
    let authority = request.uri().authority().map(|a| a.as_str().to_owned());
    if request.method() == Method::POST && cross_origin(request.headers(), authority.as_deref()) {
        return (StatusCode::FORBIDDEN, "cross-origin form posts are refused").into_response();
    }
    let path = request.uri().path().to_owned();
    if is_public(&path) {
        return next.run(request).await;
    }
    let session = match session_token(request.headers()) {
        Some(token) => client::execute::<operations::Me>(
            dashboard.api.as_ref(),
            Some(token.clone()),
            request.extensions().clone(),
            operations::me::Variables,
        )
        .await
        .ok()
        .map(|data| Session {
            token,
            username: data.me.username,
            admin: matches!(data.me.role, operations::me::Role::ADMIN),
        }),
        None => None,
    };
    match session {
        Some(session) if !session.admin && path == "/" => Redirect::to("/files").into_response(),
        Some(session) if !session.admin && is_admin_page(&path) => {
            crate::pages::not_for_you(&session.username)
        }
        Some(session) => {
            request.extensions_mut().insert(session);
            next.run(request).await
        }
        None => {
            let mut response = Redirect::to("/login").into_response();
            // A stale cookie (revoked, expired, its user disabled) is dropped, so
            // the login page starts clean.
            if session_token(request.headers()).is_some() {
                response.headers_mut().insert(
                    header::SET_COOKIE,
                    session_cookie(None, dashboard.secure_cookies),
                );
            }
            response
        }
    }
}

/// The policy for dashboard responses that set none of their own (pages set one with
/// the nonce of their one inline script).
pub(crate) fn content_security_policy(nonce: Option<&str>) -> String {
    let script = match nonce {
        Some(nonce) => format!("script-src 'self' 'nonce-{nonce}'"),
        None => "script-src 'self'".to_owned(),
    };
    format!(
        "default-src 'self'; {script}; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )
}

/// `nosniff`, a restrictive CSP with `frame-ancestors 'none'`, no framing, and a
/// same-origin referrer (form errors travel back to the page by its `Referer`).
pub(crate) async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY)
        && let Ok(value) = HeaderValue::from_str(&content_security_policy(None))
    {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn cross_origin_posts_are_told_apart() {
        assert!(!cross_origin(&headers(&[("host", "a:8000")]), None));
        assert!(!cross_origin(
            &headers(&[("host", "a:8000"), ("origin", "http://a:8000")]),
            None
        ));
        assert!(cross_origin(
            &headers(&[("host", "a:8000"), ("origin", "http://evil")]),
            None
        ));
        assert!(cross_origin(
            &headers(&[("host", "a:8000"), ("origin", "null")]),
            None
        ));
        // HTTP/2: no Host header, the authority of the request's URI.
        assert!(!cross_origin(
            &headers(&[("origin", "https://a:8443")]),
            Some("a:8443")
        ));
        assert!(cross_origin(
            &headers(&[("origin", "https://evil")]),
            Some("a:8443")
        ));
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_over_https() {
        let plain = session_cookie(Some("t"), false);
        assert_eq!(plain, "ferry_session=t; Path=/; HttpOnly; SameSite=Strict");
        let secure = session_cookie(Some("t"), true);
        assert!(secure.to_str().expect("ascii").ends_with("; Secure"));
        let cleared = session_cookie(None, false);
        assert!(cleared.to_str().expect("ascii").contains("Max-Age=0"));
        assert_eq!(
            session_token(&headers(&[("cookie", "a=b; ferry_session=tok; c=d")])).as_deref(),
            Some("tok")
        );
    }
}
