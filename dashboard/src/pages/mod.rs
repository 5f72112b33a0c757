//! One module per dashboard page, each with the server functions its forms post to.
pub mod audit;
pub mod bandwidth;
pub mod login;
pub mod overview;
pub mod schedules;
pub mod selective;
pub mod users;

/// `2026-11-25T06:45:18.123+00:00` → `2026-11-25 06:45:18 UTC`.
pub(crate) fn when(at: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(at)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string()
        })
        .unwrap_or_else(|_| at.to_owned())
}

/// A byte count for people: `1.5 GiB`.
pub(crate) fn bytes(n: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_and_sizes_read_well() {
        assert_eq!(
            super::when("2026-11-25T06:45:18.5+00:00"),
            "2026-11-25 06:45:18 UTC"
        );
        assert_eq!(super::when("soon"), "soon");
        assert_eq!(super::bytes(512), "512 B");
        assert_eq!(super::bytes(3 << 29), "1.5 GiB");
    }
}
