//! Nodes sharing one PostgreSQL hear each other through `LISTEN/NOTIFY`: every
//! event published on one node's bus (upload progress, runs, tree changes,
//! throughput samples) and every access change (logout, revoke, disable) is
//! sent on the `ferry_events` channel, and each other node replays it on its
//! own bus and caches. No broker beyond the database a cluster already has.
//!
//! A notification is at most [`MAX_PAYLOAD`] bytes (PostgreSQL's limit is
//! 8,000): an upload's state too large for one is sent by id, and the
//! receiving node reads it from the database. Notifications are not durable: a
//! node that was disconnected misses what happened meanwhile, as a subscriber
//! that connects later would; the feed (`/api/sync/changes`) is the durable
//! record. SQLite is one process: nothing is sent.
use std::sync::Weak;

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::service::{
    Inner, Services, bandwidth::monitor::BandwidthSample, sync::runs::RunEvent,
    sync::runs::SyncRun, uploads::UploadProgress,
};

/// The channel every node listens on.
const CHANNEL: &str = "ferry_events";
/// The largest notification sent (PostgreSQL refuses past 8,000 bytes).
const MAX_PAYLOAD: usize = 7_800;
/// Signals waiting to be sent before new ones are dropped (and logged).
const QUEUE: usize = 8_192;

/// What one node tells the others.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Signal {
    Upload {
        user_id: Uuid,
        device: Uuid,
        progress: UploadProgress,
    },
    /// An upload changed, too large to send: read it from the database.
    UploadChanged {
        upload_id: Uuid,
    },
    Run {
        run: SyncRun,
    },
    Bandwidth {
        sample: BandwidthSample,
    },
    Tree {
        user_id: Uuid,
    },
    Access {
        user_id: Uuid,
    },
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    node: Uuid,
    #[serde(flatten)]
    signal: Signal,
}

/// This node's side of the cluster bus.
#[derive(Debug)]
pub(crate) struct Peers {
    /// This process's id in envelopes (its own notifications come back; skipped).
    node: Uuid,
    /// For notifications sent before the caller goes on ([`Peers::tell_now`]).
    db: Option<DatabaseConnection>,
    outgoing: Option<mpsc::Sender<Signal>>,
    /// Stops the bus's tasks when the services are dropped.
    _stop: Option<tokio_util::sync::DropGuard>,
}

impl Peers {
    /// No other node (SQLite, or before [`Services::join_cluster`]).
    pub(crate) fn alone() -> Self {
        Self {
            node: Uuid::new_v4(),
            db: None,
            outgoing: None,
            _stop: None,
        }
    }

    /// This process's id among the nodes.
    pub(crate) fn node(&self) -> Uuid {
        self.node
    }

    /// Whether other nodes may be listening.
    pub(crate) fn connected(&self) -> bool {
        self.outgoing.is_some()
    }

    /// Send `signal` to every other node before returning. What a client did
    /// next, through any node, is then heard after it: PostgreSQL delivers
    /// notifications in commit order (an upload's progress, an access change).
    pub(crate) async fn tell_now(&self, signal: Signal) {
        let Some(db) = &self.db else {
            return;
        };
        if let Some(payload) = payload_of(self.node, signal) {
            notify(db, payload).await;
        }
    }

    /// Send `signal` to every other node soon (never blocks; dropped when the queue is full).
    pub(crate) fn tell(&self, signal: Signal) {
        if let Some(outgoing) = &self.outgoing
            && outgoing.try_send(signal).is_err()
        {
            tracing::warn!("the cluster bus is behind; a notification was dropped");
        }
    }
}

impl Services {
    /// On PostgreSQL, start hearing and telling the other nodes (a no-op on SQLite).
    pub(crate) async fn join_cluster(db: &DatabaseConnection) -> crate::service::Result<Peers> {
        let mut peers = Peers::alone();
        if db.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(peers);
        }
        let (outgoing, queue) = mpsc::channel(QUEUE);
        let stop = CancellationToken::new();
        tokio::spawn(send_all(db.clone(), peers.node, queue, stop.clone()));
        peers.outgoing = Some(outgoing);
        peers.db = Some(db.clone());
        peers._stop = Some(stop.drop_guard());
        Ok(peers)
    }

    /// Listen for the other nodes' signals for as long as these services live.
    pub(crate) fn hear_cluster(&self) {
        if !self.inner.events.peers.connected() {
            return;
        }
        let pool = self.db().get_postgres_connection_pool().clone();
        let node = self.inner.events.peers.node;
        let inner = std::sync::Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            loop {
                match listen(&pool, node, &inner).await {
                    Ok(()) => return,
                    Err(err) => {
                        tracing::warn!(%err, "the cluster bus lost its connection; reconnecting");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
                if inner.strong_count() == 0 {
                    return;
                }
            }
        });
    }

    /// Replay another node's signal here.
    fn replay(&self, signal: Signal) {
        let events = &self.inner.events;
        match signal {
            Signal::Upload {
                user_id,
                device,
                mut progress,
            } => {
                progress.user_id = user_id;
                progress.device = device;
                events.send_upload_of(user_id, device, progress);
            }
            Signal::UploadChanged { upload_id } => {
                let services = self.clone();
                tokio::spawn(async move { services.publish_upload_here(upload_id).await });
            }
            Signal::Run { run } => events.send_run(RunEvent { run }),
            Signal::Bandwidth { sample } => events.send_bandwidth(sample),
            Signal::Tree { user_id } => events.send_tree(user_id),
            Signal::Access { user_id } => self.forget_access(user_id),
        }
    }
}

/// Receive until the services are gone (`Ok`) or the connection fails.
async fn listen(
    pool: &sea_orm::sqlx::PgPool,
    node: Uuid,
    inner: &Weak<Inner>,
) -> Result<(), sea_orm::sqlx::Error> {
    let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    loop {
        let next = tokio::time::timeout(std::time::Duration::from_secs(1), listener.recv()).await;
        let Some(inner) = inner.upgrade() else {
            return Ok(());
        };
        let notification = match next {
            Err(_) => continue,
            Ok(notification) => notification?,
        };
        let Ok(envelope) = serde_json::from_str::<Envelope>(notification.payload()) else {
            tracing::warn!("an unreadable notification on the cluster bus was ignored");
            continue;
        };
        if envelope.node != node {
            Services { inner }.replay(envelope.signal);
        }
    }
}

/// Send queued signals, one `pg_notify` each, until stopped.
async fn send_all(
    db: DatabaseConnection,
    node: Uuid,
    mut queue: mpsc::Receiver<Signal>,
    stop: CancellationToken,
) {
    loop {
        let signal = tokio::select! {
            _ = stop.cancelled() => return,
            signal = queue.recv() => match signal {
                Some(signal) => signal,
                None => return,
            },
        };
        if let Some(payload) = payload_of(node, signal) {
            notify(&db, payload).await;
        }
    }
}

/// One `pg_notify` on the cluster channel.
async fn notify(db: &DatabaseConnection, payload: String) {
    let statement = Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [CHANNEL.into(), payload.into()],
    );
    if let Err(err) = db.execute_raw(statement).await {
        tracing::warn!(%err, "a notification to the other nodes failed");
    }
}

/// The JSON of `signal` from `node`, shrunk to fit a notification.
fn payload_of(node: Uuid, signal: Signal) -> Option<String> {
    let fallback = match &signal {
        Signal::Upload { progress, .. } => Some(Signal::UploadChanged {
            upload_id: progress.upload_id,
        }),
        _ => None,
    };
    let payload = serde_json::to_string(&Envelope { node, signal }).ok()?;
    if payload.len() <= MAX_PAYLOAD {
        return Some(payload);
    }
    let payload = serde_json::to_string(&Envelope {
        node,
        signal: fallback?,
    })
    .ok()?;
    (payload.len() <= MAX_PAYLOAD).then_some(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(missing: usize) -> UploadProgress {
        UploadProgress {
            upload_id: Uuid::new_v4(),
            user_id: Uuid::new_v4(),
            device: Uuid::new_v4(),
            status: entity::enums::UploadStatus::Active,
            file_path: "/a".into(),
            total_size: 10,
            uploaded_bytes: 0,
            completed_chunks: 0,
            total_chunks: 1,
            progress_percent: 0.0,
            missing_chunks: (0..missing as i32).map(|n| [2 * n, 2 * n]).collect(),
            resume_from_chunk: Some(0),
            expires_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn large_upload_states_go_by_id() {
        let node = Uuid::new_v4();
        let small = progress(3);
        let payload = payload_of(
            node,
            Signal::Upload {
                user_id: small.user_id,
                device: small.device,
                progress: small.clone(),
            },
        )
        .expect("fits");
        let back: Envelope = serde_json::from_str(&payload).expect("parse");
        assert!(
            matches!(back.signal, Signal::Upload { progress, .. } if progress.upload_id == small.upload_id)
        );

        let large = progress(5_000);
        let payload = payload_of(
            node,
            Signal::Upload {
                user_id: large.user_id,
                device: large.device,
                progress: large.clone(),
            },
        )
        .expect("by id");
        assert!(payload.len() <= MAX_PAYLOAD);
        let back: Envelope = serde_json::from_str(&payload).expect("parse");
        assert!(
            matches!(back.signal, Signal::UploadChanged { upload_id } if upload_id == large.upload_id)
        );
    }
}
