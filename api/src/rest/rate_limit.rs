//! Request-rate limiting of the upload endpoints with `tower-governor`, keyed by
//! the authenticated user, or by the peer IP for anonymous requests (the
//! client's address from `X-Forwarded-For` only when the peer is a trusted
//! proxy). Over the limit: 429 `rate_limited` with `Retry-After`.
use crate::service::Code;
use std::{net::IpAddr, sync::Arc, time::Duration};

use axum::{
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
    service::error::Error,
    service::{Caller, Services},
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

/// The rate-limiting layer for the upload routes, or `None` when turned off.
pub fn layer(
    settings: &Settings,
) -> Option<GovernorLayer<ClientKeyExtractor, governor_middleware::NoOpMiddleware, axum::body::Body>>
{
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

/// Re-exported for the layer's type.
pub mod governor_middleware {
    pub use governor::middleware::NoOpMiddleware;
}

/// Middleware: authenticate a bearer token once, so the rate limiter can key on
/// the user and the handler's [`Caller`] extractor does not authenticate again.
/// A bad or missing token is left for the handler to refuse.
pub async fn identify(State(services): State<Services>, mut req: Request, next: Next) -> Response {
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
