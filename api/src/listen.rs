//! The accept loop (axum-server over hyper), plain HTTP or TLS, with the
//! connection-level bounds: request headers must arrive within the header
//! timeout (HTTP/1; an idle keep-alive connection counts as waiting for
//! headers), TLS handshakes within 10 s, and HTTP/2 peers answer pings.
use std::{net::SocketAddr, time::Duration};

use anyhow::Context;
use axum::Router;
use axum_server::{Server, tls_rustls::RustlsConfig};
use hyper_util::rt::TokioTimer;

/// How long a silent HTTP/2 peer is given to answer a ping before it is dropped.
const H2_PING_TIMEOUT: Duration = Duration::from_secs(20);

/// Serve `app` on `listener` (over TLS with `tls`) until `shutdown` resolves;
/// then let requests in flight finish (at most 10 s) before returning.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<RustlsConfig>,
    app: Router,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(Duration::from_secs(10)));
    });
    let listener = listener.into_std()?;
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    match tls {
        None => {
            let mut server = axum_server::from_tcp(listener)?;
            bound(&mut server, header_timeout);
            server.handle(handle).serve(app).await
        }
        Some(config) => {
            let mut server = axum_server::from_tcp_rustls(listener, config)?;
            bound(&mut server, header_timeout);
            server.handle(handle).serve(app).await
        }
    }
    .context("while serving")
}

fn bound<A>(server: &mut Server<SocketAddr, A>, header_timeout: Duration) {
    let builder = server.http_builder();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout.max(Duration::from_secs(1)));
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(H2_PING_TIMEOUT)
        .keep_alive_timeout(H2_PING_TIMEOUT);
}
