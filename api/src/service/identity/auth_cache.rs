//! Bearer tokens checked recently: the hash of a token → who it acts as, so that a
//! request authenticates without touching the database.
//!
//! An entry lives at most [`TRUST`], never past its token's expiry, and every entry
//! of a user goes at once when their access changes through this server (logout,
//! revoke, disable, role change, device removal). Changes made by another server
//! or the CLI on the same database are seen within [`TRUST`]. The map holds at most
//! [`MAX_ENTRIES`]: past that, expired entries are swept and, if still full, the
//! new entry is simply not kept.
use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::service::Caller;

/// How long a checked token is trusted without asking the database again.
pub const TRUST: Duration = Duration::from_secs(10);
/// Entries the cache never grows past.
pub const MAX_ENTRIES: usize = 50_000;

#[derive(Debug)]
struct Entry {
    caller: Caller,
    token_expires_at: Option<DateTime<Utc>>,
    checked_at: Instant,
}

/// Token hash → caller, for [`TRUST`].
#[derive(Debug, Default)]
pub(crate) struct AuthCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl AuthCache {
    /// The caller of the token hashed `key`, if checked within [`TRUST`] and not
    /// expired at `now`.
    pub(crate) fn get(&self, key: &str, now: DateTime<Utc>) -> Option<Caller> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get(key)?;
        let fresh =
            entry.checked_at.elapsed() < TRUST && entry.token_expires_at.is_none_or(|at| at > now);
        fresh.then(|| entry.caller.clone())
    }

    /// Remember that the token hashed `key` acts as `caller`.
    pub(crate) fn put(&self, key: String, caller: Caller, token_expires_at: Option<DateTime<Utc>>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.checked_at.elapsed() < TRUST);
            if entries.len() >= MAX_ENTRIES {
                return;
            }
        }
        let entry = Entry {
            caller,
            token_expires_at,
            checked_at: Instant::now(),
        };
        entries.insert(key, entry);
    }

    /// Forget every token of `user_id`.
    pub(crate) fn forget_user(&self, user_id: Uuid) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, e| e.caller.user_id != user_id);
    }

    /// How many entries are held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::Role;

    fn caller(user_id: Uuid) -> Caller {
        Caller {
            user_id,
            username: "u".into(),
            role: Role::User,
            device: None,
        }
    }

    #[test]
    fn entries_end_at_token_expiry_and_when_their_user_is_forgotten() {
        let cache = AuthCache::default();
        let now = Utc::now();
        let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
        cache.put("a".into(), caller(alice), None);
        cache.put(
            "b".into(),
            caller(bob),
            Some(now + chrono::Duration::seconds(5)),
        );
        assert!(cache.get("a", now).is_some());
        assert!(cache.get("b", now).is_some());
        assert!(cache.get("b", now + chrono::Duration::seconds(5)).is_none());
        cache.forget_user(alice);
        assert!(cache.get("a", now).is_none());
        assert!(cache.get("b", now).is_some());
        assert_eq!(cache.len(), 1);
    }
}
