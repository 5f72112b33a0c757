//! Request-rate limiting of the upload endpoints with `tower-governor`, keyed by
//! the authenticated user, or by the peer IP for anonymous requests (the
//! client's address from `X-Forwarded-For` only when the peer is a trusted
//! proxy). One budget per client covers every upload protocol: the chunked
//! REST routes and tus count against the same bucket. Over the limit: 429
//! `rate_limited` with `Retry-After`.
use std::{net::IpAddr, sync::Arc, time::Duration};

use axum::{
    Router,
    extract::{Request, State},
    http::Request as HttpRequest,
    middleware::Next,
    response::{IntoResponse, Response},
};
use tower_governor::{
    GovernorError, GovernorLayer, governor::GovernorConfigBuilder, key_extractor::KeyExtractor,
};
use uuid::Uuid;

use crate::{
    config::Settings,
    service::{Caller, Code, Error, Services},
};

/// How often idle clients are forgotten by the rate limiter.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Who a request counts against.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum ClientKey {
    User(Uuid),
    Ip(IpAddr),
    /// No peer address is known (a server not started with connect info).
    Unknown,
}

/// Picks the [`ClientKey`] of a request.
#[derive(Clone, Debug)]
pub struct ClientKeyExtractor {
    trusted_proxies: Arc<Vec<IpAddr>>,
}

impl ClientKeyExtractor {
    fn client_ip<T>(&self, req: &HttpRequest<T>) -> Option<IpAddr> {
        crate::app::extract::client_ip(req, &self.trusted_proxies)
    }
}

impl KeyExtractor for ClientKeyExtractor {
    type Key = ClientKey;

    fn extract<T>(&self, req: &HttpRequest<T>) -> Result<ClientKey, GovernorError> {
        if let Some(caller) = req.extensions().get::<Caller>() {
            return Ok(ClientKey::User(caller.user_id));
        }
        Ok(self
            .client_ip(req)
            .map_or(ClientKey::Unknown, ClientKey::Ip))
    }
}

/// The governor layer over the upload routes, its key store shared by every
/// clone.
type Layer =
    GovernorLayer<ClientKeyExtractor, governor::middleware::NoOpMiddleware, axum::body::Body>;

/// The upload request-rate limit: built once, applied to each upload
/// protocol's routes, which then share one bucket per client.
#[derive(Clone)]
pub struct UploadLimit {
    services: Services,
    /// `None` when the limit is turned off (a rate of 0).
    layer: Option<Layer>,
}

impl std::fmt::Debug for UploadLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadLimit")
            .field("on", &self.layer.is_some())
            .finish_non_exhaustive()
    }
}

impl UploadLimit {
    /// The limit `settings` set. Starts the task that forgets idle clients, so it
    /// must be called within the runtime.
    pub fn new(services: Services, settings: &Settings) -> Self {
        Self {
            services,
            layer: layer(settings),
        }
    }

    /// `router` with its requests identified (a valid bearer token names the
    /// user), then counted against the client's bucket.
    pub fn apply<S>(&self, router: Router<S>) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let router = match &self.layer {
            Some(layer) => router.layer(layer.clone()),
            None => router,
        };
        router.layer(axum::middleware::from_fn_with_state(
            self.services.clone(),
            identify,
        ))
    }
}

/// The rate-limiting layer, or `None` when turned off.
fn layer(settings: &Settings) -> Option<Layer> {
    if settings.upload_rate_per_second == 0 {
        return None;
    }
    let period = Duration::from_secs_f64(1.0 / settings.upload_rate_per_second as f64);
    let config = GovernorConfigBuilder::default()
        .period(period.max(Duration::from_nanos(1)))
        .burst_size(settings.upload_rate_burst.max(1))
        .key_extractor(ClientKeyExtractor {
            trusted_proxies: Arc::new(settings.trusted_proxies.clone()),
        })
        .finish()?;
    // Forget clients idle long enough to be full again, so that many distinct
    // addresses cannot grow the key store without bound. The task ends with
    // the server (when the limiter is dropped).
    let limiter = Arc::downgrade(config.limiter());
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(PRUNE_EVERY).await;
            match limiter.upgrade() {
                Some(limiter) => limiter.retain_recent(),
                None => break,
            }
        }
    });
    Some(GovernorLayer::new(config).error_handler(|err| {
        match err {
            GovernorError::TooManyRequests { wait_time, .. } => Error::new(
                Code::RateLimited,
                format!("too many upload requests: retry in {wait_time} s"),
            )
            .retry_after(wait_time.max(1))
            .into_response(),
            other => Error::internal(format!("rate limiter: {other}")).into_response(),
        }
    }))
}

/// Middleware: authenticate a bearer token once, so the rate limiter can key on
/// the user and the handler's [`Caller`] extractor does not authenticate again.
/// A bad or missing token is left for the handler to refuse.
async fn identify(State(services): State<Services>, mut req: Request, next: Next) -> Response {
    if let Some(token) = crate::app::extract::bearer_from_headers(req.headers())
        && let Ok(caller) = services.authenticate(token).await
    {
        req.extensions_mut().insert(caller);
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use axum::extract::ConnectInfo;

    use super::*;

    fn request(peer: &str, forwarded: Option<&str>) -> HttpRequest<()> {
        let mut req = HttpRequest::new(());
        req.extensions_mut()
            .insert(ConnectInfo(peer.parse::<SocketAddr>().expect("addr")));
        if let Some(value) = forwarded {
            req.headers_mut()
                .insert("x-forwarded-for", value.parse().expect("header"));
        }
        req
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().expect("ip");
        let keys = ClientKeyExtractor {
            trusted_proxies: Arc::new(vec![proxy]),
        };
        let ip = |s: &str| ClientKey::Ip(s.parse().expect("ip"));
        // A direct client cannot pick its key with a header.
        assert_eq!(
            keys.extract(&request("192.0.2.7:5000", Some("203.0.113.9")))
                .ok(),
            Some(ip("192.0.2.7"))
        );
        // Behind the proxy: the right-most address the proxy did not add itself.
        assert_eq!(
            keys.extract(&request("10.0.0.1:5000", Some("198.51.100.1, 203.0.113.9")))
                .ok(),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(
            keys.extract(&request("10.0.0.1:5000", None)).ok(),
            Some(ip("10.0.0.1"))
        );
    }
}
