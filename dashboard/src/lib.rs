//! Ferry's admin dashboard: Leptos pages rendered on the server (no WebAssembly), every
//! action an `ActionForm` posting to a server function. The dashboard is a client of the
//! public GraphQL API: its server functions run typed operations (`src/operations.graphql`,
//! checked against `api/schema.graphql` at compile time) through the [`GraphqlApi`] the
//! server injects, so everything an admin can click is scriptable. `api` depends on this
//! crate to mount it, never the reverse.
#![forbid(unsafe_code)]

mod app;
mod client;
mod form;
mod operations;
mod pages;
mod session;

use std::sync::Arc;

use axum::{
    Router,
    http::{HeaderValue, header},
    response::IntoResponse,
    routing::get,
};
pub use client::GraphqlApi;
pub use pages::{not_found_page, wants_page};
pub use session::{SESSION_COOKIE, cross_origin, session_token};

/// What every page and server function of one dashboard can reach.
#[derive(Clone)]
pub(crate) struct Dashboard {
    pub api: Arc<dyn GraphqlApi>,
    /// Session cookies get `Secure` (the server speaks HTTPS).
    pub secure_cookies: bool,
}

impl std::fmt::Debug for Dashboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dashboard")
            .field("secure_cookies", &self.secure_cookies)
            .finish_non_exhaustive()
    }
}

/// The dashboard's routes: its pages under `/` (`/dashboard` redirects there), its
/// server functions under `/dashboard/fn/…`, its stylesheet and live module under
/// `/assets/…`. Merge it into the server's router.
pub fn router(api: Arc<dyn GraphqlApi>, secure_cookies: bool) -> Router {
    let dashboard = Dashboard {
        api,
        secure_cookies,
    };
    app::router(dashboard)
        .route("/assets/ferry.css", get(stylesheet))
        .route("/assets/live.js", get(live_module))
        .route("/assets/favicon.svg", get(favicon))
        .route("/favicon.ico", get(favicon))
        .route(
            "/dashboard",
            get(|| async { axum::response::Redirect::permanent("/") }),
        )
        .layer(axum::middleware::from_fn(session::security_headers))
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        include_str!("../../style/ferry.css"),
    )
}

async fn favicon() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        include_str!("../../style/favicon.svg"),
    )
}

async fn live_module() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        include_str!("../../style/live.js"),
    )
}
