//! Benchmark: next-run computations per second on one core (target ≥ 1,000,000/s).
//!
//! Run: `cargo build --release --bins && $CARGO_TARGET_DIR/release/bench-recurrence`
#![forbid(unsafe_code)]

use std::{hint::black_box, time::Instant};

use api::service::sync::recurrence::{Days, Recurrence};
use chrono::{NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use rand::{Rng, SeedableRng};

const ZONES: [&str; 8] = [
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "America/Sao_Paulo",
    "Pacific/Chatham",
];

fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let cases: Vec<_> = (0..100_000)
        .map(|_| {
            let days = match rng.random_range(0..3) {
                0 => Days::Daily,
                1 => Days::Weekly(rng.random_range(0..7)),
                _ => Days::Monthly(rng.random_range(1..=31)),
            };
            let time = NaiveTime::from_hms_opt(rng.random_range(0..24), rng.random_range(0..60), 0)
                .unwrap_or_default();
            let zone: Tz = ZONES[rng.random_range(0..ZONES.len())]
                .parse()
                .unwrap_or(Tz::UTC);
            let after = Utc
                .timestamp_opt(rng.random_range(1_700_000_000..2_000_000_000), 0)
                .single()
                .unwrap_or_default();
            (Recurrence { days, time, zone }, after)
        })
        .collect();
    let mut best = f64::MAX;
    for _ in 0..5 {
        let began = Instant::now();
        for (recurrence, after) in &cases {
            black_box(recurrence.next_after(black_box(*after)));
        }
        best = best.min(began.elapsed().as_secs_f64());
    }
    let per_sec = cases.len() as f64 / best;
    println!(
        "| next-run computations (mixed daily/weekly/monthly, 8 zones), one core | {per_sec:.0} /s |"
    );
}
