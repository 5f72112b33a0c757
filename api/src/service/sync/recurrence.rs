//! When a schedule runs (SPEC §6): THE next-run function. Daily, weekly
//! (0 = Monday) and monthly (a missing day → the month's last day) local times
//! in an IANA zone; a local time that does not exist (DST gap) runs at the first
//! instant after the gap, an ambiguous one at its first occurrence; every result
//! is strictly after the reference instant.
use crate::service::Code;
use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Utc,
};
use chrono_tz::Tz;

use crate::service::error::{Error, Result};

/// Which days a schedule runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Days {
    /// Every day.
    Daily,
    /// One weekday, 0 = Monday … 6 = Sunday.
    Weekly(u32),
    /// One day of the month, 1–31 (the last day in shorter months).
    Monthly(u32),
}

/// A calendar recurrence: days, a local time, a zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recurrence {
    pub days: Days,
    pub time: NaiveTime,
    pub zone: Tz,
}

/// `"HH:MM"` (24-hour).
pub fn parse_time_of_day(raw: &str) -> Result<NaiveTime> {
    let bad = || {
        Error::new(
            Code::InvalidTimeOfDay,
            "time_of_day must be \"HH:MM\" (00:00–23:59)",
        )
    };
    let (h, m) = raw.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m) = (
        h.parse::<u32>().map_err(|_| bad())?,
        m.parse::<u32>().map_err(|_| bad())?,
    );
    NaiveTime::from_hms_opt(h, m, 0).ok_or_else(bad)
}

/// An IANA zone name; `None` is UTC.
pub fn parse_zone(raw: Option<&str>) -> Result<Tz> {
    match raw {
        None => Ok(Tz::UTC),
        Some(name) => name.parse::<Tz>().map_err(|_| {
            Error::new(
                Code::InvalidTimezone,
                format!("unknown IANA time zone {name:?}"),
            )
        }),
    }
}

impl Recurrence {
    /// The first run strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> DateTime<Utc> {
        // Start a day early: `after`'s own local date may still have its run ahead.
        let mut date = after.with_timezone(&self.zone).date_naive() - Duration::days(1);
        loop {
            if let Some(run_date) = self.run_date_in_period(date)
                && run_date == date
            {
                let at = resolve_local(self.zone, date.and_time(self.time));
                if at > after {
                    return at;
                }
            }
            date = self.next_candidate(date);
        }
    }

    /// The next `count` runs strictly after `after`.
    pub fn upcoming(&self, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
        let mut runs = Vec::with_capacity(count);
        let mut cursor = after;
        for _ in 0..count {
            cursor = self.next_after(cursor);
            runs.push(cursor);
        }
        runs
    }

    /// The date this recurrence runs on in the period (day, week or month) holding `date`.
    fn run_date_in_period(&self, date: NaiveDate) -> Option<NaiveDate> {
        match self.days {
            Days::Daily => Some(date),
            Days::Weekly(weekday) => {
                let monday =
                    date - Duration::days(i64::from(date.weekday().num_days_from_monday()));
                Some(monday + Duration::days(i64::from(weekday)))
            }
            Days::Monthly(day) => {
                let last = last_day_of_month(date.year(), date.month());
                NaiveDate::from_ymd_opt(date.year(), date.month(), day.min(last))
            }
        }
    }

    /// The next date worth looking at after `date`.
    fn next_candidate(&self, date: NaiveDate) -> NaiveDate {
        let next = date + Duration::days(1);
        match self.run_date_in_period(next) {
            Some(run) if run >= next => run,
            // This period's run is behind us: jump to the next period's first day.
            _ => match self.days {
                Days::Daily => next,
                Days::Weekly(_) => {
                    next + Duration::days(i64::from(7 - next.weekday().num_days_from_monday()))
                }
                Days::Monthly(_) => first_of_next_month(next),
            },
        }
    }
}

fn last_day_of_month(year: i32, month: u32) -> u32 {
    let first_next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    first_next
        .and_then(|d| d.pred_opt())
        .map_or(28, |d| d.day())
}

fn first_of_next_month(date: NaiveDate) -> NaiveDate {
    let (y, m) = if date.month() == 12 {
        (date.year() + 1, 1)
    } else {
        (date.year(), date.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(date)
}

/// The instant of a local wall-clock time: its first occurrence when ambiguous,
/// the first instant after the gap when it does not exist.
pub fn resolve_local(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
        LocalResult::None => end_of_gap(zone, local),
    }
}

/// The transition instant that skipped over `local`: the first instant whose
/// offset is the one after the gap.
fn end_of_gap(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let offset_at = |secs: i64| {
        let utc = DateTime::from_timestamp(secs, 0)
            .unwrap_or_default()
            .naive_utc();
        i64::from(zone.offset_from_utc_datetime(&utc).fix().local_minus_utc())
    };
    let wall = local.and_utc().timestamp();
    // Read `local` with the offsets of a day before and after: the transition lies between.
    let before = offset_at(wall - 86_400);
    let after = offset_at(wall + 86_400);
    let (a, b) = (wall - after, wall - before);
    // Invariant: offset(lo) is the old one, offset(hi) is not; whole seconds only.
    let (mut lo, mut hi) = (a.min(b) - 3_600, a.max(b) + 3_600);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if offset_at(mid) == before {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    DateTime::from_timestamp(hi, 0).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().expect("an RFC 3339 instant")
    }

    fn rec(days: Days, time: &str, zone: &str) -> Recurrence {
        Recurrence {
            days,
            time: parse_time_of_day(time).expect("time"),
            zone: parse_zone(Some(zone)).expect("zone"),
        }
    }

    #[test]
    fn the_seed_example_runs_daily_at_two() {
        let daily = rec(Days::Daily, "02:00", "UTC");
        assert_eq!(
            daily.next_after(utc("2025-01-05T10:00:00Z")),
            utc("2025-01-06T02:00:00Z")
        );
        assert_eq!(
            daily.next_after(utc("2025-01-06T02:00:00Z")),
            utc("2025-01-07T02:00:00Z"),
            "strictly after"
        );
    }

    #[test]
    fn weekly_and_monthly_pick_the_right_days() {
        let sunday = rec(Days::Weekly(6), "09:30", "Europe/Berlin");
        assert_eq!(
            sunday.next_after(utc("2025-01-06T00:00:00Z")),
            utc("2025-01-12T08:30:00Z")
        );
        let thirty_first = rec(Days::Monthly(31), "12:00", "UTC");
        let runs = thirty_first.upcoming(utc("2025-01-31T12:00:00Z"), 3);
        assert_eq!(
            runs,
            [
                utc("2025-02-28T12:00:00Z"),
                utc("2025-03-31T12:00:00Z"),
                utc("2025-04-30T12:00:00Z")
            ]
        );
        let leap = rec(Days::Monthly(30), "00:00", "UTC");
        assert_eq!(
            leap.next_after(utc("2024-02-01T00:00:00Z")),
            utc("2024-02-29T00:00:00Z")
        );
    }

    #[test]
    fn dst_gaps_and_overlaps() {
        // New York springs forward 2025-03-09 02:00 → 03:00: 02:30 runs at 03:00 EDT.
        let ny = rec(Days::Daily, "02:30", "America/New_York");
        assert_eq!(
            ny.next_after(utc("2025-03-08T12:00:00Z")),
            utc("2025-03-09T07:00:00Z")
        );
        // Falls back 2025-11-02 02:00 → 01:00: 01:30 runs at its first occurrence (EDT).
        let ny = rec(Days::Daily, "01:30", "America/New_York");
        assert_eq!(
            ny.next_after(utc("2025-11-01T12:00:00Z")),
            utc("2025-11-02T05:30:00Z")
        );
        assert_eq!(
            ny.next_after(utc("2025-11-02T05:30:00Z")),
            utc("2025-11-03T06:30:00Z"),
            "once a day"
        );
        // Lord Howe moves by 30 minutes.
        let lh = rec(Days::Daily, "02:15", "Australia/Lord_Howe");
        assert_eq!(
            lh.next_after(utc("2025-10-04T00:00:00Z")),
            utc("2025-10-04T15:30:00Z")
        );
    }

    #[test]
    fn bad_inputs_have_precise_codes() {
        for bad in ["2:00", "24:00", "12:60", "noon", "12:00:00"] {
            assert_eq!(
                parse_time_of_day(bad).expect_err(bad).code(),
                Code::InvalidTimeOfDay
            );
        }
        assert_eq!(
            parse_zone(Some("Mars/Olympus")).expect_err("zone").code(),
            Code::InvalidTimezone
        );
        assert_eq!(parse_zone(None).expect("utc"), Tz::UTC);
    }

    /// The independent oracle: walk local time minute by minute through each
    /// scheduled date; the run is the first minute of that date whose wall clock
    /// reads at or past the time of day (the gap's end, or the first occurrence).
    fn oracle_next_after(r: &Recurrence, after: DateTime<Utc>) -> DateTime<Utc> {
        let scheduled = |d: NaiveDate| match r.days {
            Days::Daily => true,
            Days::Weekly(w) => d.weekday().num_days_from_monday() == w,
            Days::Monthly(dom) => {
                let is_last = (d + Duration::days(1)).month() != d.month();
                d.day() == dom || (is_last && d.day() < dom)
            }
        };
        let mut date = after.with_timezone(&r.zone).date_naive() - Duration::days(1);
        loop {
            if scheduled(date) {
                let start = date.and_time(NaiveTime::MIN) - Duration::hours(15);
                let run = (0..(54 * 60))
                    .map(|m| Utc.from_utc_datetime(&(start + Duration::minutes(m))))
                    .find(|m| {
                        let local = m.with_timezone(&r.zone).naive_local();
                        local.date() == date && local.time() >= r.time
                    });
                if let Some(run) = run
                    && run > after
                {
                    return run;
                }
            }
            date += Duration::days(1);
        }
    }

    #[test]
    fn matches_a_brute_force_oracle_across_zones_dst_and_month_ends() {
        use rand::{Rng, SeedableRng};
        let zones = [
            "UTC",
            "America/New_York",
            "America/Los_Angeles",
            "America/Sao_Paulo",
            "America/Santiago",
            "America/Havana",
            "America/St_Johns",
            "Europe/London",
            "Europe/Berlin",
            "Europe/Chisinau",
            "Asia/Tehran",
            "Asia/Kolkata",
            "Asia/Jerusalem",
            "Australia/Sydney",
            "Australia/Lord_Howe",
            "Pacific/Auckland",
            "Pacific/Chatham",
            "Africa/Casablanca",
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
        let (start, end) = (
            utc("2015-01-01T00:00:00Z").timestamp(),
            utc("2035-01-01T00:00:00Z").timestamp(),
        );
        for case in 0..3000 {
            let days = match rng.random_range(0..3) {
                0 => Days::Daily,
                1 => Days::Weekly(rng.random_range(0..7)),
                _ => Days::Monthly(rng.random_range(1..=31)),
            };
            // Half the times in the small hours, where most transitions are.
            let hour = if rng.random_bool(0.5) {
                rng.random_range(0..4)
            } else {
                rng.random_range(0..24)
            };
            let time = NaiveTime::from_hms_opt(hour, rng.random_range(0..60), 0).expect("time");
            let zone: Tz = zones[rng.random_range(0..zones.len())]
                .parse()
                .expect("zone");
            let r = Recurrence { days, time, zone };
            let mut after = Utc
                .timestamp_opt(rng.random_range(start..end), 0)
                .single()
                .expect("instant");
            for step in 0..3 {
                let expected = oracle_next_after(&r, after);
                assert_eq!(
                    r.next_after(after),
                    expected,
                    "case {case} step {step}: {r:?} after {after}"
                );
                after = expected;
            }
        }
    }
}
