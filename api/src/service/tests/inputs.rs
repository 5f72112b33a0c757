//! Property tests: random and adversarial input to the pure entry points that
//! read client data (paths, schedule requests) ends in a value or a documented
//! error, never a panic.
use crate::service::{Code, error::Kind};
use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;

use crate::service::{files::paths, sync::schedules};

/// Error codes the schedule preview documents.
const PREVIEW_CODES: &[&str] = &[
    "invalid_count",
    "invalid_date",
    "invalid_schedule_type",
    "invalid_time_of_day",
    "invalid_timezone",
    "invalid_day_of_week",
    "invalid_day_of_month",
    "invalid_debounce_seconds",
    "invalid_resolve_conflicts",
];

fn hostile_path() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(
            prop_oneof![
                Just("/".to_owned()),
                Just("..".to_owned()),
                Just(".".to_owned()),
                Just("\\".to_owned()),
                Just("\0".to_owned()),
                Just("e\u{301}".to_owned()),
                Just("\u{202e}".to_owned()),
                "[a-z]{1,8}",
            ],
            0..64,
        )
        .prop_map(|parts| parts.concat()),
        "/{0,3}([a-z.]{0,3}/){0,2000}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn paths_normalize_or_fail_cleanly(raw in hostile_path()) {
        match paths::normalize(&raw) {
            Ok(path) => {
                prop_assert!(path.starts_with('/'));
                prop_assert!(!path.split('/').any(|p| p == ".." || p == "."));
                // Normalizing is idempotent.
                prop_assert_eq!(paths::normalize(&path).ok(), Some(path.clone()));
            }
            Err(err) => prop_assert_eq!(err.kind(), Kind::Invalid, "{}", err),
        }
        if let Err(err) = paths::normalize_file(&raw) {
            prop_assert!(matches!(err.kind(), Kind::Malformed | Kind::Invalid), "{}", err);
        }
    }

    #[test]
    fn schedule_previews_answer_or_fail_cleanly(
        kind in prop_oneof![Just("daily".to_owned()), Just("weekly".to_owned()), Just("monthly".to_owned()), Just("on_change".to_owned()), "[a-z_]{0,10}"],
        time in prop_oneof![Just("00:00".to_owned()), Just("23:59".to_owned()), Just("02:30".to_owned()), any::<String>()],
        day_of_week in proptest::option::of(any::<i32>()),
        day_of_month in proptest::option::of(any::<i32>()),
        timezone in proptest::option::of(prop_oneof![Just("Europe/Berlin".to_owned()), Just("America/St_Johns".to_owned()), any::<String>()]),
        after in prop_oneof![any::<i64>(), -62_000_000_000i64..300_000_000_000i64, Just(253_402_300_799i64)],
        count in prop_oneof![0usize..20, Just(1000usize), Just(1001usize), Just(usize::MAX)],
    ) {
        let after: DateTime<Utc> = match Utc.timestamp_opt(after.clamp(-8_000_000_000_000, 8_000_000_000_000), 0).single() {
            Some(at) => at,
            None => DateTime::<Utc>::MAX_UTC,
        };
        let request = schedules::NewSchedule {
            schedule_type: kind,
            time_of_day: Some(time),
            day_of_week,
            day_of_month,
            timezone,
            ..Default::default()
        };
        match schedules::preview(&request, after, count) {
            Ok(runs) => {
                prop_assert!(runs.len() <= count);
                prop_assert!(runs.windows(2).all(|w| w[0] < w[1]));
                prop_assert!(runs.first().is_none_or(|first| *first > after));
            }
            Err(err) => {
                prop_assert_eq!(err.kind(), Kind::Invalid, "{}", err);
                prop_assert!(PREVIEW_CODES.contains(&err.code().as_str()), "undocumented code {}", err.code());
            }
        }
    }
}

#[test]
fn the_end_of_the_calendar_is_refused_not_a_panic() {
    let request = schedules::NewSchedule {
        schedule_type: "monthly".into(),
        time_of_day: Some("12:00".into()),
        day_of_month: Some(31),
        ..Default::default()
    };
    for after in [DateTime::<Utc>::MAX_UTC, DateTime::<Utc>::MIN_UTC] {
        let err = schedules::preview(&request, after, 1000).expect_err("refused");
        assert_eq!(err.code(), Code::InvalidDate);
    }
}
