//! Failed sign-ins, counted per client address and per username: past a burst,
//! each key earns one more attempt per refill interval (a GCRA bucket), and an
//! attempt over the limit is refused with 429 before any password is hashed.
//! Every attempt is charged when it is admitted (so a burst of concurrent
//! attempts cannot all slip in before the first failure is recorded) and
//! refunded when the password was right: only failures count, a user who types
//! their password right is never slowed, and a stranger's failures lock a
//! username for at most one refill interval after they stop.
use crate::service::Code;
use std::{
    collections::HashMap,
    hash::Hash,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::service::error::{Error, Result};

/// Keys remembered per table before fully refilled ones are forgotten.
const MAX_KEYS: usize = 100_000;

/// One bucket's limits.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Failures allowed at once.
    pub burst: u32,
    /// Time that gives one failure back.
    pub refill: Duration,
}

/// Buckets of one kind of key: the time at which each key is whole again.
#[derive(Debug)]
struct Buckets<K> {
    budget: Budget,
    full_at: Mutex<HashMap<K, Instant>>,
}

impl<K: Hash + Eq + Clone> Buckets<K> {
    fn new(budget: Budget) -> Self {
        Self {
            budget,
            full_at: Mutex::new(HashMap::new()),
        }
    }

    /// How long `key` must wait before another attempt, if it must.
    fn wait(&self, key: &K, now: Instant) -> Option<Duration> {
        let table = self.full_at.lock().ok()?;
        let full_at = *table.get(key)?;
        let allowance = self.budget.refill * self.budget.burst.saturating_sub(1);
        let owed = full_at.checked_duration_since(now)?;
        owed.checked_sub(allowance).filter(|d| !d.is_zero())
    }

    /// Give back one charged attempt of `key`.
    fn refund(&self, key: &K) {
        if let Ok(mut table) = self.full_at.lock()
            && let Some(full_at) = table.get_mut(key)
        {
            *full_at = full_at.checked_sub(self.budget.refill).unwrap_or(*full_at);
        }
    }

    fn charge(&self, key: K, now: Instant) {
        let Ok(mut table) = self.full_at.lock() else {
            return;
        };
        if table.len() >= MAX_KEYS && !table.contains_key(&key) {
            table.retain(|_, full_at| *full_at > now);
            if table.len() >= MAX_KEYS {
                // Still full of live keys: forget an arbitrary half rather than grow.
                let drop: Vec<K> = table.keys().take(MAX_KEYS / 2).cloned().collect();
                for k in drop {
                    table.remove(&k);
                }
            }
        }
        let full_at = table.entry(key).or_insert(now);
        *full_at = (*full_at).max(now) + self.budget.refill;
    }
}

/// Both tables.
#[derive(Debug)]
pub struct LoginGuard {
    by_address: Buckets<IpAddr>,
    by_username: Buckets<String>,
    /// Checking and charging both tables is one step.
    admitting: Mutex<()>,
}

impl LoginGuard {
    pub fn new(per_address: Budget, per_username: Budget) -> Self {
        Self {
            by_address: Buckets::new(per_address),
            by_username: Buckets::new(per_username),
            admitting: Mutex::new(()),
        }
    }

    /// Charge an attempt to the address and the username, or refuse it with
    /// 429 and `Retry-After` when either has used its failures up.
    pub fn admit(&self, address: Option<IpAddr>, username: &str) -> Result<()> {
        let _one_at_a_time = self.admitting.lock();
        let now = Instant::now();
        let username = username.to_lowercase();
        let by_address = address.and_then(|a| self.by_address.wait(&a, now));
        let by_username = self.by_username.wait(&username, now);
        if let Some(wait) = by_address.max(by_username) {
            return Err(Error::new(
                Code::TooManyAttempts,
                "too many failed sign-ins; wait before trying again",
            )
            .retry_after(wait.as_secs() + u64::from(wait.subsec_nanos() > 0)));
        }
        if let Some(address) = address {
            self.by_address.charge(address, now);
        }
        self.by_username.charge(username, now);
        Ok(())
    }

    /// The admitted attempt was right, or could not be checked: give its charge back.
    pub fn refund(&self, address: Option<IpAddr>, username: &str) {
        if let Some(address) = address {
            self.by_address.refund(&address);
        }
        self.by_username.refund(&username.to_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(burst: u32, refill_ms: u64) -> LoginGuard {
        let budget = Budget {
            burst,
            refill: Duration::from_millis(refill_ms),
        };
        LoginGuard::new(budget, budget)
    }

    #[test]
    fn the_burst_passes_then_the_next_attempt_waits_one_refill() {
        let guard = guard(3, 60_000);
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        for _ in 0..3 {
            guard.admit(Some(ip), "alice").expect("within the burst");
        }
        let err = guard.admit(Some(ip), "alice").expect_err("over the burst");
        assert_eq!(err.code(), Code::TooManyAttempts);
        let retry_after_secs = err.retry_after_secs().expect("Retry-After");
        assert!((59..=60).contains(&retry_after_secs), "{retry_after_secs}");
        // Another user from another address is untouched; the username is shared.
        let other: IpAddr = "192.0.2.2".parse().expect("ip");
        guard.admit(Some(other), "bob").expect("someone else");
        guard
            .admit(Some(other), "ALICE")
            .expect_err("same username");
    }

    #[test]
    fn failures_are_given_back_over_time() {
        let guard = guard(2, 20);
        for _ in 0..2 {
            guard.admit(None, "carol").expect("within the burst");
        }
        guard.admit(None, "carol").expect_err("used up");
        std::thread::sleep(Duration::from_millis(30));
        guard.admit(None, "carol").expect("one given back");
    }

    #[test]
    fn right_passwords_are_refunded() {
        let guard = guard(2, 60_000);
        for _ in 0..10 {
            guard.admit(None, "dora").expect("never used up");
            guard.refund(None, "dora");
        }
    }
}
