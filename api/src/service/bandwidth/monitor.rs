//! The throughput monitor (`SYNC_BANDWIDTH_MONITOR`): about once a second, the
//! bytes each user moved in each direction since the last sample become a rate,
//! published on the event bus (`bandwidthUsage`) and in `/metrics`.
use std::{collections::HashMap, time::Instant};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::service::{Services, bandwidth::throttle::Direction};

/// One user's throughput in one direction over the last interval.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BandwidthSample {
    pub user_id: Uuid,
    pub direction: Direction,
    pub bytes_per_second: u64,
    pub at: DateTime<Utc>,
}

/// What the monitor remembers between samples.
#[derive(Debug, Default)]
pub struct Monitor {
    /// Per bucket: its byte count, when it was read, and the rate it gave.
    last: HashMap<(Uuid, Direction), (u64, Instant, u64)>,
}

impl Services {
    /// Take one sample of every bucket that moved bytes since the last one, or
    /// that just stopped (one last sample of 0); a bucket seen for the first
    /// time starts its count now. Publish them and set the gauges.
    pub fn sample_bandwidth(&self, monitor: &mut Monitor) -> Vec<BandwidthSample> {
        let now = Instant::now();
        let at = self.clock().now();
        let mut samples = Vec::new();
        for (user_id, direction, total) in self.transfer_totals() {
            let key = (user_id, direction);
            let Some(&(before, since, last_rate)) = monitor.last.get(&key) else {
                monitor.last.insert(key, (total, now, 0));
                continue;
            };
            let seconds = now.duration_since(since).as_secs_f64();
            if seconds <= 0.0 {
                continue;
            }
            let bytes_per_second = (total.saturating_sub(before) as f64 / seconds).round() as u64;
            monitor.last.insert(key, (total, now, bytes_per_second));
            if bytes_per_second == 0 && last_rate == 0 {
                continue;
            }
            samples.push(BandwidthSample {
                user_id,
                direction,
                bytes_per_second,
                at,
            });
        }
        for sample in &samples {
            self.metrics()
                .bandwidth
                .get_or_create(&vec![
                    ("user_id".to_owned(), sample.user_id.to_string()),
                    ("direction".to_owned(), sample.direction.as_str().to_owned()),
                ])
                .set(i64::try_from(sample.bytes_per_second).unwrap_or(i64::MAX));
            self.inner.events.publish_bandwidth(sample.clone());
        }
        samples
    }
}
