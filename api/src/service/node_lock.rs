//! Work that one node at a time may do, across every node on one PostgreSQL:
//! a session-level advisory lock held on a connection of its own for as long
//! as the work runs. A node that dies loses its connection, and PostgreSQL
//! frees the lock at once — no lease to wait out, no heartbeat. On SQLite
//! there is one server process, and the in-process claims suffice.
use sea_orm::{DatabaseBackend, sqlx};
use sha2::{Digest, Sha256};

use crate::service::Services;
use crate::service::error::Result;

/// Node locks held at once by this process (each on a connection of its own).
const LOCK_CONNECTIONS: u32 = 8;

/// What a lock is about; its key is derived from this and the subject's id.
#[derive(Clone, Copy, Debug)]
#[repr(usize)]
pub(crate) enum Work {
    /// Assembling one upload.
    Assembly = 0,
    /// Making blocks referenced (shared) or deleting unreferenced ones (alone).
    BlockUse = 1,
}

/// The 64-bit advisory-lock key of `work` on `subject`.
fn key(work: Work, subject: &[u8]) -> i64 {
    let mut hasher = Sha256::new();
    hasher.update(format!("ferry:{work:?}:").as_bytes());
    hasher.update(subject);
    let digest = hasher.finalize();
    i64::from_be_bytes(digest[..8].try_into().unwrap_or_default())
}

/// Held while the work runs; dropped, it is given back (by a task of its own:
/// the unlock is a query). Where that cannot run, its connection is closed,
/// which frees the lock too.
#[derive(Debug)]
pub(crate) struct NodeLock {
    held: Option<(sqlx::pool::PoolConnection<sqlx::Postgres>, i64, bool)>,
}

impl NodeLock {
    /// Free the lock now and return its connection to the pool.
    pub(crate) async fn release(mut self) {
        if let Some(held) = self.held.take() {
            unlock(held).await;
        }
    }
}

async fn unlock((mut conn, key, shared): (sqlx::pool::PoolConnection<sqlx::Postgres>, i64, bool)) {
    let sql = if shared {
        "SELECT pg_advisory_unlock_shared($1)"
    } else {
        "SELECT pg_advisory_unlock($1)"
    };
    if sqlx::query(sql)
        .bind(key)
        .execute(&mut *conn)
        .await
        .is_err()
    {
        // Closing the session frees whatever it held.
        drop(conn.detach());
    }
}

impl Drop for NodeLock {
    fn drop(&mut self) {
        let Some(held) = self.held.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(unlock(held));
            }
            Err(_) => drop(held.0.detach()),
        }
    }
}

/// Blocks may be taken into use (held shared, on every node): see `block_use`.
#[derive(Debug)]
pub(crate) struct BlocksInUse<'a> {
    _node: Option<NodeLock>,
    _local: tokio::sync::RwLockReadGuard<'a, ()>,
}

/// No block may be taken into use anywhere while this is held.
#[derive(Debug)]
pub(crate) struct BlocksAlone<'a> {
    _node: Option<NodeLock>,
    _local: tokio::sync::RwLockWriteGuard<'a, ()>,
}

fn database_error(err: sqlx::Error) -> crate::service::Error {
    crate::service::Error::internal(format!("database: {err}"))
}

impl Services {
    /// A connection for node locks. A pool of its own: a holder that needs a
    /// connection for its work never waits on one that holds a lock.
    async fn lock_connection(
        &self,
        work: Work,
    ) -> Result<sqlx::pool::PoolConnection<sqlx::Postgres>> {
        // Claims on work and uses of blocks apart: an assembly holding its
        // claim needs a block-use lock to commit.
        let pool = self.inner.node_locks[work as usize].get_or_init(|| {
            let options = self.db().get_postgres_connection_pool().connect_options();
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(LOCK_CONNECTIONS)
                .acquire_timeout(std::time::Duration::from_secs(30))
                .connect_lazy_with((*options).clone())
        });
        pool.acquire().await.map_err(database_error)
    }

    fn on_postgres(&self) -> bool {
        self.db().get_database_backend() == DatabaseBackend::Postgres
    }

    /// Take the lock on `work` for `subject` unless another node (or task) holds it.
    pub(crate) async fn try_node_lock(
        &self,
        work: Work,
        subject: &[u8],
    ) -> Result<Option<NodeLock>> {
        if !self.on_postgres() {
            return Ok(Some(NodeLock { held: None }));
        }
        let key = key(work, subject);
        let mut conn = self.lock_connection(work).await?;
        let (taken,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut *conn)
            .await
            .map_err(database_error)?;
        Ok(taken.then_some(NodeLock {
            held: Some((conn, key, false)),
        }))
    }

    /// Wait for the lock on `work` (shared or alone) on every node.
    async fn node_lock(&self, work: Work, shared: bool) -> Result<Option<NodeLock>> {
        if !self.on_postgres() {
            return Ok(None);
        }
        let key = key(work, b"");
        let mut conn = self.lock_connection(work).await?;
        let sql = if shared {
            "SELECT pg_advisory_lock_shared($1)"
        } else {
            "SELECT pg_advisory_lock($1)"
        };
        sqlx::query(sql)
            .bind(key)
            .execute(&mut *conn)
            .await
            .map_err(database_error)?;
        Ok(Some(NodeLock {
            held: Some((conn, key, shared)),
        }))
    }

    /// Held by whatever makes a block referenced (a chunk recorded, a version
    /// committed), from before the block is stored until the reference commits.
    pub(crate) async fn blocks_in_use(&self) -> Result<BlocksInUse<'_>> {
        let local = self.inner.block_use.read().await;
        let node = self.node_lock(Work::BlockUse, true).await?;
        Ok(BlocksInUse {
            _node: node,
            _local: local,
        })
    }

    /// Held by the collector while it re-checks and deletes a batch: a block
    /// it found unreferenced cannot be taken into use meanwhile, on any node.
    pub(crate) async fn blocks_alone(&self) -> Result<BlocksAlone<'_>> {
        let local = self.inner.block_use.write().await;
        let node = self.node_lock(Work::BlockUse, false).await?;
        Ok(BlocksAlone {
            _node: node,
            _local: local,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_by_work_and_subject() {
        assert_ne!(key(Work::Assembly, b"a"), key(Work::Assembly, b"b"));
        assert_ne!(key(Work::Assembly, b"a"), key(Work::BlockUse, b"a"));
        assert_eq!(key(Work::Assembly, b"a"), key(Work::Assembly, b"a"));
    }
}
