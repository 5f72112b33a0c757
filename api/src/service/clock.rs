//! The time source of every rule, adjustable in tests (never a sleep).
use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use chrono::{DateTime, Duration, Utc};

/// Wall-clock time plus an offset that tests can move forward.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_us: Arc<AtomicI64>,
}

impl Clock {
    /// The real time.
    pub fn system() -> Self {
        Self::default()
    }

    /// Now, as every service sees it.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::microseconds(self.offset_us.load(Ordering::Relaxed))
    }

    /// Put this clock (and every clone of it) at `instant`; time flows on from there.
    pub fn set(&self, instant: DateTime<Utc>) {
        let offset = instant - Utc::now();
        self.offset_us.store(
            offset.num_microseconds().unwrap_or(i64::MAX),
            Ordering::Relaxed,
        );
    }

    /// Move this clock (and every clone of it) forward.
    pub fn advance(&self, by: Duration) {
        self.offset_us
            .fetch_add(by.num_microseconds().unwrap_or(i64::MAX), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_every_clone() {
        let clock = Clock::system();
        let other = clock.clone();
        let before = other.now();
        clock.advance(Duration::days(8));
        assert!(other.now() - before >= Duration::days(8));
    }
}
