//! Schedule lists read recently, so that listing schedules — what every device
//! and dashboard polls — does not read the database on each request.
//!
//! Every write to a schedule made by this server (create, update, delete,
//! enable, run now, the engine's claims, on-change triggers, a device removed
//! with its schedules) holds a [`Writing`] until it has committed; when that
//! drops, every list is forgotten and the next list reads the database again. A list read while a write was in flight
//! is never kept (its generation is older than the write's). Writes by another
//! server or the CLI on the same database are seen within [`FRESH`]. At most
//! [`MAX_ENTRIES`] lists are held; past that, stale ones are swept and, if it is
//! still full, the new one is simply not kept.
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use uuid::Uuid;

/// How long a list is served without asking the database again.
pub const FRESH: Duration = Duration::from_secs(1);
/// Lists the cache never grows past.
pub const MAX_ENTRIES: usize = 10_000;

/// Which list: whose schedules (`None`: every user's, for admins), of which
/// device (a device-bound caller, or a filter by the device's name).
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub(crate) struct Scope {
    pub user: Option<Uuid>,
    pub bound_device: Option<Uuid>,
    pub device_id: Option<String>,
}

#[derive(Debug)]
struct Entry<T> {
    generation: u64,
    read_at: Instant,
    schedules: Arc<[T]>,
}

/// Schedules are being written: forget every list when this drops.
#[must_use = "lists are forgotten when this drops: hold it until the write committed"]
pub(crate) struct Writing<'a, T>(pub(crate) &'a ScheduleCache<T>);

impl<T> Drop for Writing<'_, T> {
    fn drop(&mut self) {
        self.0.invalidate();
    }
}

/// Scope → the list (of schedules, `T`) read at a generation, for [`FRESH`].
#[derive(Debug)]
pub(crate) struct ScheduleCache<T> {
    generation: AtomicU64,
    entries: Mutex<HashMap<Scope, Entry<T>>>,
}

impl<T> Default for ScheduleCache<T> {
    fn default() -> Self {
        Self {
            generation: AtomicU64::new(0),
            entries: Mutex::default(),
        }
    }
}

impl<T> ScheduleCache<T> {
    /// The generation to read at: take it *before* reading the database.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The list of `scope`, if read within [`FRESH`] and no write came since.
    pub(crate) fn get(&self, scope: &Scope) -> Option<Arc<[T]>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get(scope)?;
        let current = entry.generation == self.generation() && entry.read_at.elapsed() < FRESH;
        current.then(|| entry.schedules.clone())
    }

    /// Keep the list of `scope` read at `generation`, unless a write came since.
    pub(crate) fn put(&self, scope: Scope, generation: u64, schedules: Arc<[T]>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        // Checked under the lock: `invalidate` bumps, then clears under it.
        if generation != self.generation() {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.read_at.elapsed() < FRESH);
            if entries.len() >= MAX_ENTRIES {
                return;
            }
        }
        let entry = Entry {
            generation,
            read_at: Instant::now(),
            schedules,
        };
        entries.insert(scope, entry);
    }

    /// A schedule changed (call after the change committed): forget every list.
    pub(crate) fn invalidate(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    /// How many lists are held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(n: u128) -> Scope {
        Scope {
            user: Some(Uuid::from_u128(n)),
            bound_device: None,
            device_id: None,
        }
    }

    #[test]
    fn a_list_read_before_a_write_is_not_kept() {
        let cache = ScheduleCache::<u8>::default();
        let read_at = cache.generation();
        cache.invalidate();
        cache.put(scope(1), read_at, Arc::from(Vec::new()));
        assert!(cache.get(&scope(1)).is_none());
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn a_write_forgets_every_list() {
        let cache = ScheduleCache::<u8>::default();
        cache.put(scope(1), cache.generation(), Arc::from(Vec::new()));
        cache.put(scope(2), cache.generation(), Arc::from(Vec::new()));
        assert!(cache.get(&scope(1)).is_some());
        cache.invalidate();
        assert!(cache.get(&scope(1)).is_none());
        assert!(cache.get(&scope(2)).is_none());
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = ScheduleCache::<u8>::default();
        for n in 0..(MAX_ENTRIES as u128 + 10) {
            cache.put(scope(n), cache.generation(), Arc::from(Vec::new()));
        }
        assert_eq!(cache.len(), MAX_ENTRIES);
    }
}
