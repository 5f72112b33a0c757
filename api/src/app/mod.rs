//! The composition root: what every handler can reach ([`AppState`]), and the one
//! router that puts the adapters (REST, GraphQL, WebDAV, dashboard) side by side
//! with the layers every request passes through. Adapters never import each
//! other; what they share (extractors, body bounds) lives here.
use std::sync::Arc;

use axum::{
    Router,
    extract::FromRef,
    http::{HeaderValue, header},
};
use tower_http::{
    catch_panic::CatchPanicLayer, set_header::SetResponseHeaderLayer, trace::TraceLayer,
};

use crate::{
    config::Settings,
    graphql::{self, FerrySchema, SocketSchema, Sockets},
    rest,
    service::{Error, Services},
    tus,
    webdav::{self, WebDav},
};

pub mod body_bounds;
pub mod extract;
pub mod rate_limit;

use body_bounds::BodyBounds;

/// What every handler can reach; each handler asks only for the parts it uses.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub services: Services,
    pub schema: FerrySchema,
    pub socket_schema: SocketSchema,
    pub webdav: WebDav,
    pub sockets: Sockets,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
    /// The state over `services`, bounded as `settings` say.
    pub fn new(services: Services, settings: &Settings) -> Self {
        Self {
            schema: graphql::schema(Some(services.clone())),
            socket_schema: SocketSchema::new(services.clone()),
            webdav: WebDav::new(&settings.bounds),
            sockets: Sockets::new(&settings.bounds),
            services,
        }
    }
}

/// Every route of the server, with the layers every request passes through.
pub fn router(state: AppState, settings: &Settings, https: bool) -> Router {
    let bounds = BodyBounds::from(&settings.bounds);
    let dashboard = dashboard::router(
        Arc::new(graphql::DashboardApi {
            services: state.services.clone(),
            schema: state.schema.clone(),
        }),
        https,
    )
    // The dashboard's forms are small bodies, bounded as the API's are.
    .layer(axum::middleware::from_fn_with_state(
        bounds,
        body_bounds::small_bodies,
    ));
    // One request-rate budget per client over both upload protocols.
    let upload_limit = rate_limit::UploadLimit::new(state.services.clone(), settings);
    Router::new()
        .merge(rest::routes(settings, &upload_limit))
        .merge(graphql::routes(bounds))
        .merge(webdav::routes())
        .merge(tus::routes(
            tus::CorsOrigins(settings.tus_cors_origins.clone()),
            &upload_limit,
        ))
        .fallback(|request: axum::extract::Request| async move {
            use axum::response::IntoResponse;
            if dashboard::wants_page(request.method(), request.uri().path(), request.headers()) {
                dashboard::not_found_page()
            } else {
                Error::not_found("route").into_response()
            }
        })
        .with_state(state)
        .merge(dashboard)
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(settings.trusted_proxies.clone()),
            extract::remember_client,
        ))
        .layer(TraceLayer::new_for_http())
        // A bug (ours or a dependency's) answers 500 on its request, never takes
        // the connection or the process down.
        .layer(CatchPanicLayer::custom(|_panic| {
            axum::response::IntoResponse::into_response(Error::internal(
                "a request handler panicked",
            ))
        }))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
}
