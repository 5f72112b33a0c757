//! Enforcing bandwidth limits (SPEC §5): one token bucket per user and
//! direction, shared by every transfer of that user in this process — chunk
//! uploads, downloads, WebDAV GET and PUT. The buckets are `governor` rate
//! limiters counting KiB; the limit that holds now (throttle window, zone) is
//! read again about once a second, so a changed limit reaches transfers in
//! flight. With several nodes, each paces its slice of the limit (`shares`).
//! Every paced byte is also counted for the throughput monitor.
use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::{Stream, StreamExt};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use uuid::Uuid;

use crate::service::Services;

/// Bytes per token: fine enough for 64 KiB/s, coarse enough that the
/// replenish period stays exact in nanoseconds up to GiB/s.
const CELL: u64 = 1024;
/// How often a bucket re-reads its user's limit.
const REFRESH: Duration = Duration::from_secs(1);
/// … when the limit is split among nodes (see `shares`).
const SHARED_REFRESH: Duration = Duration::from_millis(250);
/// The burst a bucket allows, as a share of a second's worth of bytes.
const BURST_DIVISOR: u64 = 50;
/// The smallest burst, in cells (a few network frames).
const MIN_BURST_CELLS: u32 = 4;

/// Which way bytes flow, seen from the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Direction {
    Upload,
    Download,
}

impl Direction {
    /// The wire and metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Upload => "upload",
            Direction::Download => "download",
        }
    }
}

/// The limiter in force for a bucket: its rate and the governor behind it.
#[derive(Debug)]
struct Active {
    bytes_per_second: u64,
    burst_cells: u32,
    limiter: DefaultDirectRateLimiter,
}

/// One user's bucket in one direction.
#[derive(Debug)]
struct Bucket {
    user_id: Uuid,
    direction: Direction,
    /// `None` while unlimited.
    active: RwLock<Option<Arc<Active>>>,
    /// When the limit was last read (`None`: never).
    checked_at: Mutex<Option<Instant>>,
    /// Serializes the re-reads; transfers wait for the one in progress.
    refreshing: tokio::sync::Mutex<()>,
    /// Bytes paced through this bucket, ever (for the throughput monitor).
    bytes: AtomicU64,
}

/// Every bucket of this process.
#[derive(Debug, Default)]
pub struct Throttles {
    buckets: Mutex<HashMap<(Uuid, Direction), Arc<Bucket>>>,
}

impl Throttles {
    fn bucket(&self, user_id: Uuid, direction: Direction) -> Arc<Bucket> {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        buckets
            .entry((user_id, direction))
            .or_insert_with(|| {
                Arc::new(Bucket {
                    user_id,
                    direction,
                    active: RwLock::new(None),
                    checked_at: Mutex::new(None),
                    refreshing: tokio::sync::Mutex::new(()),
                    bytes: AtomicU64::new(0),
                })
            })
            .clone()
    }

    /// Bytes paced so far per (user, direction), for the throughput monitor.
    pub fn totals(&self) -> Vec<(Uuid, Direction, u64)> {
        let buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        buckets
            .values()
            .map(|b| (b.user_id, b.direction, b.bytes.load(Ordering::Relaxed)))
            .collect()
    }
}

/// One transfer's handle on its user's bucket. Cheap to clone; clones share
/// the transfer's remainder of less than one cell.
#[derive(Clone, Debug)]
pub struct Pace {
    services: Services,
    bucket: Arc<Bucket>,
    carry: Arc<AtomicU64>,
}

impl Services {
    /// A transfer of `user_id`'s in `direction`, paced by their bucket.
    pub fn pace(&self, user_id: Uuid, direction: Direction) -> Pace {
        Pace {
            services: self.clone(),
            bucket: self.inner.throttles.bucket(user_id, direction),
            carry: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Every bucket's byte count (for the throughput monitor).
    pub fn transfer_totals(&self) -> Vec<(Uuid, Direction, u64)> {
        self.inner.throttles.totals()
    }
}

impl Pace {
    /// Wait until `bytes` more may flow, then count them.
    pub async fn take(&self, bytes: usize) {
        let bytes = bytes as u64;
        self.bucket.bytes.fetch_add(bytes, Ordering::Relaxed);
        let total = self.carry.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let mut cells = total / CELL;
        if cells == 0 {
            return;
        }
        self.carry.fetch_sub(cells * CELL, Ordering::Relaxed);
        while cells > 0 {
            let Some(active) = self.active().await else {
                return;
            };
            let piece = cells.min(u64::from(active.burst_cells)) as u32;
            if let Some(n) = NonZeroU32::new(piece)
                && active.limiter.until_n_ready(n).await.is_err()
            {
                // Cannot happen: pieces never exceed the burst.
                return;
            }
            cells -= u64::from(piece);
        }
    }

    /// The limiter in force, re-reading the user's limit when it is stale.
    async fn active(&self) -> Option<Arc<Active>> {
        if self.is_stale() {
            // Every transfer waits for the one re-read (a single indexed query),
            // so none runs on under the old limit while the new one is read.
            let _turn = self.bucket.refreshing.lock().await;
            if self.is_stale() {
                self.refresh().await;
            }
        }
        self.bucket
            .active
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn is_stale(&self) -> bool {
        self.bucket
            .checked_at
            .lock()
            .map(|at| at.is_none_or(|at| at.elapsed() >= self.refresh_every()))
            .unwrap_or(true)
    }

    /// How often the limit is re-read: more often when it is split among
    /// nodes, so that a node joining or leaving shifts the slices quickly.
    fn refresh_every(&self) -> Duration {
        if self.services.limits_are_shared() {
            SHARED_REFRESH
        } else {
            REFRESH
        }
    }

    async fn refresh(&self) {
        let bucket = &self.bucket;
        let read = async {
            let rate = self
                .services
                .effective_rate(bucket.user_id, bucket.direction)
                .await?;
            match rate {
                Some(rate) => self
                    .services
                    .node_share(bucket.user_id, bucket.direction, rate)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };
        let rate = match read.await {
            Ok(rate) => rate,
            Err(err) => {
                // Keep the limit in force until the next re-read.
                tracing::warn!(%err, "reading a bandwidth limit failed");
                if let Ok(mut at) = bucket.checked_at.lock() {
                    *at = Some(Instant::now());
                }
                return;
            }
        };
        let mut active = bucket
            .active
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let unchanged = match (&*active, rate) {
            (None, None) => true,
            (Some(a), Some(r)) => a.bytes_per_second == r,
            _ => false,
        };
        if !unchanged {
            *active = rate.map(|r| Arc::new(limiter(r)));
        }
        drop(active);
        if let Ok(mut at) = bucket.checked_at.lock() {
            *at = Some(Instant::now());
        }
    }
}

/// A governor limiter for `bytes_per_second`, in cells of [`CELL`] bytes.
fn limiter(bytes_per_second: u64) -> Active {
    let bytes_per_second = bytes_per_second.max(1);
    let period = Duration::from_secs_f64(CELL as f64 / bytes_per_second as f64);
    let burst_cells = u32::try_from((bytes_per_second / BURST_DIVISOR / CELL).max(1))
        .unwrap_or(u32::MAX)
        .max(MIN_BURST_CELLS);
    let burst = NonZeroU32::new(burst_cells).unwrap_or(NonZeroU32::MIN);
    let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
        .allow_burst(burst);
    let limiter = RateLimiter::direct(quota);
    // Start empty: a fresh (or changed) limit grants no free burst, so the
    // first second moves the limit's worth of bytes, not that plus a burst.
    let _ = limiter.check_n(burst);
    Active {
        bytes_per_second,
        burst_cells,
        limiter,
    }
}

/// `stream` with each item's bytes paced by `pace` before it is passed on.
pub fn paced<S, B, E>(pace: Pace, stream: S) -> impl Stream<Item = Result<B, E>> + Send
where
    S: Stream<Item = Result<B, E>> + Send,
    B: AsRef<[u8]> + Send,
    E: Send,
{
    stream.then(move |item| {
        let pace = pace.clone();
        async move {
            if let Ok(bytes) = &item {
                pace.take(bytes.as_ref().len()).await;
            }
            item
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiters_round_to_whole_cells_and_allow_a_small_burst() {
        let slow = limiter(64 * 1024);
        assert_eq!(slow.burst_cells, MIN_BURST_CELLS);
        let fast = limiter(100 * 1024 * 1024);
        assert_eq!(fast.burst_cells, 2048);
        assert_eq!(fast.bytes_per_second, 100 * 1024 * 1024);
    }
}
