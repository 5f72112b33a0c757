//! Ferry: a self-hosted file-sync server. [`launch`] wires the services, the
//! background jobs and the HTTP router onto a ready listener.
#![forbid(unsafe_code)]

use std::future::Future;

use anyhow::Context;
use axum::http::{HeaderValue, header};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::set_header::SetResponseHeaderLayer;

pub mod app;
pub mod cli;
pub mod config;
pub mod graphql;
pub mod jobs;
pub mod listen;
pub mod rest;
pub mod service;
pub mod tls;
pub mod tus;
pub mod webdav;

use config::Settings;
use service::{Clock, Services, metrics::Metrics};

/// Create the data directory if needed, open the database and migrate it.
pub async fn open_database(settings: &Settings) -> anyhow::Result<sea_orm::DatabaseConnection> {
    private_data_dir(&settings.data_dir).with_context(|| {
        format!(
            "while creating the data directory {}",
            settings.data_dir.display()
        )
    })?;
    service::db::connect_and_migrate(&settings.effective_database_url())
        .await
        .context("while opening and migrating the database")
}

/// Create the data directory readable by its owner only (0700), and make every
/// file and folder this process creates from now on owner-only too (umask 077:
/// files 0600, folders 0700): the data directory holds every user's files and
/// the password hashes. An existing data directory is tightened to 0700.
pub fn private_data_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Open the database (migrating it) and the data directory, and build the services.
pub async fn open_services(settings: &Settings, clock: Clock) -> anyhow::Result<Services> {
    let db = open_database(settings).await?;
    Services::new(db, settings.service_options(), clock, Metrics::default())
        .await
        .context("while opening the data directory")
}

/// Serve Ferry on `listener` until `shutdown` resolves, with the real clock.
pub async fn launch(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    launch_with_clock(settings, Clock::system(), listener, shutdown).await
}

/// [`launch`] with a given clock (tests move it forward instead of waiting).
pub async fn launch_with_clock(
    settings: Settings,
    clock: Clock,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // Certificate problems stop start-up before anything else happens.
    let tls = match settings.tls_files() {
        Some(files) => Some((files.rustls_config()?, files)),
        None => None,
    };
    let services = open_services(&settings, clock).await?;
    if let (Some(user), Some(password)) = (&settings.admin_user, &settings.admin_password) {
        services
            .bootstrap_admin(user, password)
            .await
            .context("while creating the bootstrap admin")?;
    }
    if !services.has_admin().await? {
        tracing::warn!(
            "NO ADMIN: no enabled admin exists, so nobody can manage this server. Create one with \
             `ferry user create NAME --admin --password-stdin`, or start with FERRY_ADMIN_USER \
             and FERRY_ADMIN_PASSWORD set"
        );
    }
    services
        .recover_uploads()
        .await
        .context("while recovering interrupted uploads")?;
    // Slots missed while the server was down run once now, before anything else.
    match services.run_due_schedules().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(runs = n, "ran sync schedules missed while down"),
        Err(err) => tracing::error!(%err, "catching up on missed schedules failed"),
    }
    let mut scheduler = jobs::start(services.clone(), &settings)
        .await
        .context("while starting background jobs")?;

    let bounds = settings.bounds.clone();
    let app = app::router(
        app::AppState::new(services, &settings),
        &settings,
        tls.is_some(),
    );
    let stop = CancellationToken::new();
    let stopper = stop.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.cancel();
    });
    let address = listener.local_addr()?;
    let header_timeout = std::time::Duration::from_secs(bounds.header_timeout_secs);
    let served = match tls {
        None => {
            tracing::info!(%address, scheme = "http", "ferry is listening");
            listen::serve(listener, None, app, header_timeout, stop.cancelled_owned()).await
        }
        Some((config, files)) => {
            files.reload_on_sighup(config.clone())?;
            if let Some(bind) = settings.http_redirect_bind {
                let plain = TcpListener::bind(bind)
                    .await
                    .with_context(|| format!("while binding {bind} (HTTP redirect)"))?;
                tracing::info!(address = %plain.local_addr()?, "redirecting plain HTTP to HTTPS");
                let redirect = listen::serve(
                    plain,
                    None,
                    tls::redirect_app(address.port()),
                    header_timeout,
                    stop.clone().cancelled_owned(),
                );
                tokio::spawn(async move {
                    if let Err(err) = redirect.await {
                        tracing::error!(%err, "the HTTP redirect listener stopped");
                    }
                });
            }
            // Browsers remember to use HTTPS only (a year); never sent over plain HTTP.
            let app = app.layer(SetResponseHeaderLayer::if_not_present(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000"),
            ));
            tracing::info!(%address, scheme = "https", "ferry is listening");
            listen::serve(
                listener,
                Some(config),
                app,
                header_timeout,
                stop.cancelled_owned(),
            )
            .await
        }
    };
    if let Err(err) = scheduler.shutdown().await {
        tracing::warn!(%err, "stopping the job scheduler");
    }
    served
}
