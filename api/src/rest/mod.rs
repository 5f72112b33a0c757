//! The REST adapter: thin handlers over `service`, errors in the SPEC's format.
use axum::{
    Router,
    extract::{DefaultBodyLimit, FromRef},
    routing::{delete, get, post},
};

use crate::{
    app::{
        body_bounds::{self, BodyBounds},
        rate_limit::UploadLimit,
    },
    config::Settings,
    service::Services,
};

mod bandwidth;
mod changes;
pub mod error_response;
mod files;
mod folders;
mod health;
mod identity;
mod schedules;
mod selective;
mod uploads;

/// The body limit of `upload/start` (a block list of
/// [`crate::service::uploads::delta::MAX_ANNOUNCED_BLOCKS`] fits).
const START_BODY: u64 = 4 << 20;

/// Every REST route, plus the health and metrics endpoints, each group with its
/// body policy: JSON bodies are read whole under the size limit and deadline; the
/// chunk route bounds its streamed body itself. The upload routes are under
/// `upload_limit`.
pub fn routes<S>(settings: &Settings, upload_limit: &UploadLimit) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Services: FromRef<S>,
{
    let small = axum::middleware::from_fn_with_state(
        BodyBounds::from(&settings.bounds),
        body_bounds::small_bodies,
    );
    // A delta upload's start carries its block list: up to 4 MiB.
    let start_bounds = BodyBounds::from(&settings.bounds);
    let start_bounds = BodyBounds {
        max_small: start_bounds.max_small.max(START_BODY),
        ..start_bounds
    };
    let start_body = axum::middleware::from_fn_with_state(start_bounds, body_bounds::small_bodies);
    // The upload endpoints: callers identified first, then rate-limited.
    let uploads = Router::new()
        .route(
            "/api/sync/upload/{upload_id}/progress",
            get(uploads::progress),
        )
        .route("/api/sync/upload/{upload_id}/pause", post(uploads::pause))
        .route("/api/sync/upload/{upload_id}/resume", post(uploads::resume))
        .route("/api/sync/upload/{upload_id}", delete(uploads::cancel))
        .layer(small.clone())
        .route(
            "/api/sync/upload/start",
            post(uploads::start)
                .layer::<_, std::convert::Infallible>(start_body)
                .layer(DefaultBodyLimit::max(START_BODY as usize)),
        )
        .route(
            "/api/sync/upload/{upload_id}/chunk/{chunk_number}",
            // Chunk bodies are bounded while streaming, by the upload's own chunk
            // size and the idle timeout of every wait.
            post(uploads::put_chunk).layer(DefaultBodyLimit::disable()),
        );
    let uploads = upload_limit.apply(uploads);
    Router::new()
        .route("/api/auth/login", post(identity::login))
        .route("/api/me", get(identity::me))
        .route(
            "/api/users",
            get(identity::list_users).post(identity::create_user),
        )
        .route("/api/users/{id}", delete(identity::delete_user))
        .route("/api/users/{id}/disable", post(identity::disable_user))
        .route("/api/users/{id}/enable", post(identity::enable_user))
        .route("/api/users/{id}/role", post(identity::set_role))
        .route("/api/users/{id}/password", post(identity::reset_password))
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
        .route("/api/sync/files/versions", get(files::versions))
        .route("/api/sync/files/restore", post(files::restore))
        .route("/api/sync/changes", get(changes::list))
        .route(
            "/api/sync/folders",
            post(folders::create).delete(folders::delete),
        )
        .route(
            "/api/sync/files/content",
            get(files::download).delete(files::delete),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .layer(small)
        .merge(uploads)
}
