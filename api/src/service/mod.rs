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

use bandwidth::throttle::Throttles;
use files::blobs::BlobStore;
use identity::{
    BasicCache, auth_cache::AuthCache, login_guard::LoginGuard, passwords::PasswordPool,
};
use uploads::{legacy::LegacyParts, prefix_hash::PrefixHash, stored_chunks::StoredChunks};

pub mod audit;
pub mod bandwidth;
mod bulk;
pub mod clock;
pub(crate) mod cluster;
pub mod db;
pub mod error;
pub mod events;
pub mod files;
pub mod identity;
mod job_claims;
pub mod metrics;
pub(crate) mod node_lock;
pub mod sync;
pub mod uploads;
mod watch;

#[cfg(test)]
mod tests;

pub use clock::Clock;
pub use error::{Code, Error, Result};
pub use identity::{Caller, Role};
pub use uploads::chunks::{ChunkOutcome, ChunkWriter};

/// Limits the upload engine enforces.
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

/// Everything the services are built from: plain values, read from the
/// configuration by the composition root (`crate::app`).
#[derive(Clone, Debug)]
pub struct Options {
    /// Where blobs and staged chunks live.
    pub data_dir: std::path::PathBuf,
    pub limits: UploadLimits,
    /// Threads hashing passwords at once.
    pub hash_concurrency: usize,
    /// Failed sign-ins per client address.
    pub login_failures_per_address: identity::login_guard::Budget,
    /// Failed sign-ins per username.
    pub login_failures_per_user: identity::login_guard::Budget,
    /// Testing hook: block forever when this step is reached.
    pub debug_pause_at: Option<String>,
    /// Version retention and the block collector's grace period.
    pub collection: files::collector::Collection,
    /// Where blocks live: `None` for the data directory, or an S3 bucket.
    pub object_storage: Option<files::object_blocks::S3Location>,
}

/// The handle every adapter holds.
#[derive(Clone, Debug)]
pub struct Services {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: DatabaseConnection,
    /// The local area: temporary files being written, free space; today also
    /// the block store itself (see `blocks`).
    blobs: Arc<BlobStore>,
    /// Where blocks live: every read, write and deletion of a block goes here.
    blocks: Arc<dyn files::block_store::BlockStore>,
    /// The previous release's part files, turned into blocks at start-up.
    legacy_parts: LegacyParts,
    /// Held (shared) by whatever makes a block referenced (a chunk recorded, a
    /// version committed), held alone by the collector while it deletes: a block
    /// it found unreferenced cannot be taken into use meanwhile.
    block_use: tokio::sync::RwLock<()>,
    /// One collector run at a time.
    collecting: tokio::sync::Mutex<()>,
    collection: files::collector::Collection,
    clock: Clock,
    limits: UploadLimits,
    metrics: metrics::Metrics,
    /// Chunks being written right now, so two writers never share a region.
    chunks_in_flight: Mutex<HashSet<(Uuid, i32)>>,
    /// Uploads being assembled by a task of this process.
    assemblies_running: Mutex<HashSet<Uuid>>,
    /// PostgreSQL: the connections holding node locks (see `node_lock`).
    node_locks: [std::sync::OnceLock<sea_orm::sqlx::PgPool>; 2],
    /// Which chunks of uploads in progress are stored (progress in O(log n) a chunk).
    stored_chunks: StoredChunks,
    /// Upload events for subscriptions.
    events: events::EventBus,
    /// Background whole-file hashes of uploads in progress (an accelerator only).
    prefix_hashes:
        Mutex<std::collections::HashMap<Uuid, std::sync::Arc<tokio::sync::Mutex<PrefixHash>>>>,
    /// Bandwidth buckets per user and direction.
    throttles: Throttles,
    /// Bearer tokens checked recently.
    auth_cache: AuthCache,
    /// Schedule lists read recently.
    schedule_cache: sync::schedule_cache::ScheduleCache<sync::schedules::Schedule>,
    /// HTTP Basic passwords checked recently (WebDAV sends one per request).
    basic_cache: BasicCache,
    /// Argon2 on a fixed pool of threads with reused memory.
    passwords: PasswordPool,
    /// Failed sign-ins per client address and per username.
    login_guard: LoginGuard,
    /// Who must re-check their open sockets now (a token revoked, a user disabled).
    access_changes: tokio::sync::broadcast::Sender<Uuid>,
    /// Testing hook: block forever when this step is reached.
    debug_pause_at: Option<String>,
}

impl Services {
    /// Wire the services over a migrated database and the data directory.
    pub async fn new(
        db: DatabaseConnection,
        options: Options,
        clock: Clock,
        metrics: metrics::Metrics,
    ) -> Result<Self> {
        let blobs = Arc::new(BlobStore::open(options.data_dir.join("blobs")).await?);
        let blocks: Arc<dyn files::block_store::BlockStore> = match &options.object_storage {
            None => blobs.clone(),
            Some(location) => Arc::new(files::object_blocks::ObjectBlocks::open(location).await?),
        };
        let legacy_parts = LegacyParts::open(options.data_dir.join("staging")).await?;
        let peers = Self::join_cluster(&db).await?;
        let services = Self {
            inner: Arc::new(Inner {
                db,
                blobs,
                blocks,
                legacy_parts,
                block_use: tokio::sync::RwLock::new(()),
                collecting: tokio::sync::Mutex::new(()),
                collection: options.collection,
                clock,
                limits: options.limits,
                metrics,
                chunks_in_flight: Mutex::new(HashSet::new()),
                assemblies_running: Mutex::new(HashSet::new()),
                node_locks: Default::default(),
                prefix_hashes: Mutex::default(),
                stored_chunks: StoredChunks::default(),
                events: events::EventBus::new(peers),
                basic_cache: BasicCache::default(),
                auth_cache: AuthCache::default(),
                schedule_cache: Default::default(),
                passwords: PasswordPool::new(options.hash_concurrency)?,
                login_guard: LoginGuard::new(
                    options.login_failures_per_address,
                    options.login_failures_per_user,
                ),
                access_changes: tokio::sync::broadcast::channel(256).0,
                throttles: Throttles::default(),
                debug_pause_at: options.debug_pause_at,
            }),
        };
        services.hear_cluster();
        Ok(services)
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
    pub(crate) async fn access_changed(&self, user_id: Uuid) {
        self.forget_access(user_id);
        self.inner
            .events
            .peers
            .tell_now(cluster::Signal::Access { user_id })
            .await;
    }

    /// Forget what this node trusted of `user_id` and tell their open sockets.
    pub(crate) fn forget_access(&self, user_id: Uuid) {
        self.inner.auth_cache.forget_user(user_id);
        self.inner.basic_cache.forget_user(user_id);
        let _ = self.inner.access_changes.send(user_id);
    }

    /// Held while schedules are written: when it drops (after the commit, on
    /// every path out, errors included), cached schedule lists are forgotten.
    pub(crate) fn schedule_writes(
        &self,
    ) -> sync::schedule_cache::Writing<'_, sync::schedules::Schedule> {
        sync::schedule_cache::Writing(&self.inner.schedule_cache)
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
