//! `GET /graphql/ws`: subscriptions over `graphql-transport-ws` (and the older
//! `graphql-ws`), bounded: `connection_init` must come within a few seconds and
//! carry credentials, a user holds a limited number of sockets, each socket a
//! limited number of subscriptions, and a socket whose token is revoked or
//! expires, or whose user is disabled, is closed (code 4403) within seconds.
use crate::graphql::errors::ToGraphql;
use crate::service::Code;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_graphql::Data;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::HeaderMap,
    response::Response,
};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{broadcast::error::RecvError, oneshot};
use uuid::Uuid;

use super::{FerrySchema, guard::SubscriptionSlots};
use crate::{
    config::Bounds,
    service::error::Error,
    service::{Caller, Services},
};

/// Largest WebSocket message a client may send (a GraphQL document and its variables).
const MAX_MESSAGE: usize = 256 * 1024;

/// Open sockets per user, and the bounds they live under.
#[derive(Clone, Debug)]
pub struct Sockets {
    open: Arc<Mutex<HashMap<Uuid, usize>>>,
    max_per_user: usize,
    max_subscriptions: usize,
    init_timeout: Duration,
    recheck: Duration,
}

impl Sockets {
    pub fn new(bounds: &Bounds) -> Self {
        Self {
            open: Arc::default(),
            max_per_user: bounds.max_sockets_per_user.max(1),
            max_subscriptions: bounds.max_subscriptions_per_socket.max(1),
            init_timeout: Duration::from_secs(bounds.socket_init_timeout_secs.max(1)),
            recheck: Duration::from_secs(bounds.socket_recheck_secs.max(1)),
        }
    }

    /// Take one of `user`'s socket places; given back when the [`Place`] drops.
    fn take(&self, user: Uuid) -> Result<Place, Error> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(user).or_insert(0);
        if *count >= self.max_per_user {
            return Err(Error::new(
                Code::RateLimited,
                format!("at most {} open sockets per user", self.max_per_user),
            )
            .retry_after(1));
        }
        *count += 1;
        Ok(Place {
            open: self.open.clone(),
            user,
        })
    }
}

/// One socket's place in its user's count.
#[derive(Debug)]
struct Place {
    open: Arc<Mutex<HashMap<Uuid, usize>>>,
    user: Uuid,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.user);
            }
        }
    }
}

/// Who the socket authenticated as, handed from `connection_init` to the watcher.
struct Session {
    token: String,
    caller: Caller,
    _place: Place,
}

/// The `GET /graphql/ws` handler. Credentials: the `connection_init` payload
/// `{"authorization": "Bearer …"}`, or else the dashboard's session cookie on a
/// same-origin handshake (`Origin` names this host), so another site's page
/// cannot ride on the cookie.
pub async fn websocket(
    State(services): State<Services>,
    State(super::SocketSchema(schema)): State<super::SocketSchema>,
    State(sockets): State<Sockets>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let cookie = crate::app::extract::same_origin_session(&headers, None);
    upgrade
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| run(socket, services, schema, sockets, protocol, cookie))
}

async fn run(
    socket: WebSocket,
    services: Services,
    schema: FerrySchema,
    sockets: Sockets,
    protocol: GraphQLProtocol,
    cookie: Option<String>,
) {
    let (mut sink, stream) = socket.split();
    let (outgoing, mut to_send) = tokio::sync::mpsc::channel::<Message>(16);
    let (session_tx, session_rx) = oneshot::channel::<Session>();
    let init_services = services.clone();
    let init_sockets = sockets.clone();
    let graphql = GraphQLWebSocket::new_with_pair(
        tokio_util::sync::PollSender::new(outgoing),
        stream,
        schema,
        protocol,
    )
    .on_connection_init(move |payload| async move {
        let token = bearer_of(&payload)
            .or(cookie)
            .ok_or(Error::unauthorized("missing bearer token"))
            .map_err(Error::graphql)?;
        let caller = init_services
            .authenticate(&token)
            .await
            .map_err(Error::graphql)?;
        let place = init_sockets.take(caller.user_id).map_err(Error::graphql)?;
        let mut data = Data::default();
        data.insert(Some(caller.clone()));
        data.insert(SubscriptionSlots::new(init_sockets.max_subscriptions));
        let _ = session_tx.send(Session {
            token,
            caller,
            _place: place,
        });
        Ok(data)
    })
    .serve();
    let forward = async {
        while let Some(message) = to_send.recv().await {
            if sink.send(message).await.is_err() {
                break;
            }
        }
    };
    let ended = tokio::select! {
        _ = futures_util::future::join(graphql, forward) => None,
        reason = watch(&services, &sockets, session_rx) => Some(reason),
    };
    if let Some((code, reason)) = ended {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = sink.send(Message::Close(Some(frame))).await;
    }
}

/// Resolves when the socket must close: no `connection_init` in time, or its
/// token no longer authenticates. The token is re-checked when an access change
/// for its user is made through this server (logout, revocation, disabling), when
/// it expires, and every `recheck` in any case (changes made elsewhere). Returns
/// the close code and reason.
async fn watch(
    services: &Services,
    sockets: &Sockets,
    session: oneshot::Receiver<Session>,
) -> (u16, &'static str) {
    let session = match tokio::time::timeout(sockets.init_timeout, session).await {
        Ok(Ok(session)) => session,
        Ok(Err(_)) => return std::future::pending().await,
        Err(_) => return (4408, "Connection initialisation timeout"),
    };
    let mut changes = services.subscribe_access_changes();
    let mut every = tokio::time::interval(sockets.recheck);
    every.tick().await;
    let expiry = tokio::time::sleep(until_expiry(services, &session.token).await);
    tokio::pin!(expiry);
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = &mut expiry => expiry.as_mut().reset(tokio::time::Instant::now() + FAR),
            changed = changes.recv() => match changed {
                Ok(user) if user != session.caller.user_id => continue,
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return std::future::pending().await,
            },
        }
        match services.authenticate(&session.token).await {
            Ok(_) => {}
            Err(err) if err.code() == Code::Unauthorized => {
                return (4403, "Forbidden: access revoked");
            }
            Err(err) => tracing::warn!(%err, "re-checking a socket's token"),
        }
    }
}

/// Far enough to mean "not in this socket's life".
const FAR: Duration = Duration::from_secs(365 * 24 * 3600);

/// How long until `token` expires (by the services' clock), or [`FAR`].
async fn until_expiry(services: &Services, token: &str) -> Duration {
    match services.token_expires_at(token).await {
        Ok(Some(at)) => (at - services.clock().now())
            .to_std()
            .unwrap_or_default()
            .min(FAR),
        Ok(None) => FAR,
        Err(err) => {
            tracing::warn!(%err, "reading a socket token's expiry");
            FAR
        }
    }
}

/// The token of a `connection_init` payload's `authorization: "Bearer …"`.
fn bearer_of(payload: &serde_json::Value) -> Option<String> {
    payload
        .get("authorization")
        .or_else(|| payload.get("Authorization"))
        .and_then(|v| v.as_str())
        .and_then(crate::app::extract::parse_bearer)
        .map(str::to_owned)
}
