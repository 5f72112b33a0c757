//! The domain: the only code that touches sea-orm or the blob store.
//!
//! [`Services`] is one cheap-to-clone handle; each module adds the methods of one
//! concept to it (`uploads`, `files`, `identity`, …). Adapters (REST, GraphQL,
//! WebDAV, dashboard) call these methods and hold no rule of their own.
use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
};

use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::config::Settings;

mod assembly;
pub mod audit;
mod auth_cache;
pub mod bandwidth;
pub mod blobs;
mod bulk;
mod chunks;
pub mod clock;
pub mod conflicts;
pub mod db;
pub mod dead_props;
pub mod devices;
pub mod error;
pub mod events;
pub mod file_writer;
pub mod files;
pub mod identity;
pub mod login_guard;
pub mod metrics;
pub mod monitor;
pub mod passwords;
pub mod paths;
mod prefix_hash;
pub mod recurrence;
pub mod schedules;
pub mod selective;
mod sign_in;
mod staging;
pub mod stored_chunks;
pub mod sync_engine;
pub mod sync_runs;
pub mod throttle;
pub mod tree;
pub mod uploads;
mod watch;

#[cfg(test)]
mod tests;

pub use chunks::{ChunkOutcome, ChunkWriter};
pub use clock::Clock;
pub use error::{Code, Error, Result};
pub use identity::{Caller, Role};

/// Limits the upload engine enforces, from [`Settings`].
#[derive(Clone, Debug)]
pub struct UploadLimits {
    pub default_chunk_size: u64,
    pub max_chunk_size: u64,
    pub max_file_size: u64,
    pub cleanup_days: u32,
    pub max_concurrent_uploads: u32,
    pub min_free_space: u64,
    pub token_ttl_days: u32,
    pub chunk_idle_timeout: std::time::Duration,
}

impl From<&Settings> for UploadLimits {
    fn from(s: &Settings) -> Self {
        Self {
            default_chunk_size: s.chunk_size,
            max_chunk_size: s.max_chunk_size,
            max_file_size: s.max_file_size,
            cleanup_days: s.chunk_cleanup_days,
            max_concurrent_uploads: s.max_concurrent_uploads,
            min_free_space: s.min_free_space,
            token_ttl_days: s.token_ttl_days,
            chunk_idle_timeout: std::time::Duration::from_secs(s.chunk_idle_timeout_secs.max(1)),
        }
    }
}

/// The handle every adapter holds.
#[derive(Clone, Debug)]
pub struct Services {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: DatabaseConnection,
    blobs: blobs::BlobStore,
    staging: staging::Staging,
    clock: Clock,
    limits: UploadLimits,
    metrics: metrics::Metrics,
    /// Chunks being written right now, so two writers never share a region.
    chunks_in_flight: Mutex<HashSet<(Uuid, i32)>>,
    /// Uploads being assembled by a task of this process.
    assemblies_running: Mutex<HashSet<Uuid>>,
    /// Which chunks of uploads in progress are stored (progress in O(log n) a chunk).
    stored_chunks: stored_chunks::StoredChunks,
    /// Upload events for subscriptions.
    events: events::EventBus,
    /// Background whole-file hashes of uploads in progress (an accelerator only).
    prefix_hashes: Mutex<
        std::collections::HashMap<
            Uuid,
            std::sync::Arc<tokio::sync::Mutex<prefix_hash::PrefixHash>>,
        >,
    >,
    /// Bandwidth buckets per user and direction.
    throttles: throttle::Throttles,
    /// Bearer tokens checked recently.
    auth_cache: auth_cache::AuthCache,
    /// HTTP Basic passwords checked recently (WebDAV sends one per request).
    basic_cache: identity::BasicCache,
    /// Argon2 on a fixed pool of threads with reused memory.
    passwords: passwords::PasswordPool,
    /// Failed sign-ins per client address and per username.
    login_guard: login_guard::LoginGuard,
    /// Who must re-check their open sockets now (a token revoked, a user disabled).
    access_changes: tokio::sync::broadcast::Sender<Uuid>,
    /// Testing hook: block forever when this step is reached.
    debug_pause_at: Option<String>,
}

impl Services {
    /// Wire the services over a migrated database and the data directory.
    pub async fn new(
        db: DatabaseConnection,
        settings: &Settings,
        clock: Clock,
        metrics: metrics::Metrics,
    ) -> crate::service::error::Result<Self> {
        let blobs = blobs::BlobStore::open(settings.data_dir.join("blobs")).await?;
        let staging = staging::Staging::open(settings.data_dir.join("staging")).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                blobs,
                staging,
                clock,
                limits: UploadLimits::from(settings),
                metrics,
                chunks_in_flight: Mutex::new(HashSet::new()),
                assemblies_running: Mutex::new(HashSet::new()),
                prefix_hashes: Mutex::default(),
                stored_chunks: stored_chunks::StoredChunks::default(),
                events: events::EventBus::default(),
                basic_cache: identity::BasicCache::default(),
                auth_cache: auth_cache::AuthCache::default(),
                passwords: passwords::PasswordPool::new(settings.bounds.hash_concurrency())?,
                login_guard: login_guard::LoginGuard::new(
                    login_guard::Budget {
                        burst: settings.bounds.login_failures_per_ip.max(1),
                        refill: std::time::Duration::from_secs(
                            settings.bounds.login_ip_refill_secs.max(1),
                        ),
                    },
                    login_guard::Budget {
                        burst: settings.bounds.login_failures_per_user.max(1),
                        refill: std::time::Duration::from_secs(
                            settings.bounds.login_user_refill_secs.max(1),
                        ),
                    },
                ),
                access_changes: tokio::sync::broadcast::channel(256).0,
                throttles: throttle::Throttles::default(),
                debug_pause_at: settings.debug_pause_at.clone(),
            }),
        })
    }

    /// The database connection (for readiness checks).
    pub fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    /// The clock every rule reads time from.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// The counters behind `/metrics`.
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    /// Listen for users whose access changed (token revoked, user disabled):
    /// open sockets of theirs re-check their token at once.
    pub fn subscribe_access_changes(&self) -> tokio::sync::broadcast::Receiver<Uuid> {
        self.inner.access_changes.subscribe()
    }

    /// Tell open sockets of `user_id` to re-check their token.
    /// Cached authentications of theirs are forgotten first.
    pub(crate) fn access_changed(&self, user_id: Uuid) {
        self.inner.auth_cache.forget_user(user_id);
        let _ = self.inner.access_changes.send(user_id);
    }

    /// The limits in force.
    pub fn limits(&self) -> &UploadLimits {
        &self.inner.limits
    }

    /// Testing hook for crash tests: when `FERRY_DEBUG_PAUSE_AT` names `step`, stop
    /// here for good, so that a test can kill the process at exactly this point.
    async fn pause_point(&self, step: &str) {
        if self.inner.debug_pause_at.as_deref() == Some(step) {
            tracing::warn!(step, "paused at debug pause point");
            std::future::pending::<()>().await;
        }
    }
}
