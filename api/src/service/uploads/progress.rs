//! Progress arithmetic: percentages, chunk counts and the missing ranges a client
//! resumes from.

/// `completed / total` as a percentage with two decimals (1 of 205 → 0.49).
pub fn progress_percent(completed: i32, total: i32) -> f64 {
    if total <= 0 {
        return 0.0;
    }
    (f64::from(completed) * 10_000.0 / f64::from(total)).round() / 100.0
}

/// `max(1, ceil(total_size / chunk_size))`.
pub fn total_chunks(total_size: u64, chunk_size: u64) -> u64 {
    std::cmp::max(total_size.div_ceil(chunk_size), 1)
}

/// Sorted inclusive ranges of the numbers in `0..total` missing from `stored` (sorted).
pub fn missing_ranges(stored: &[i32], total: i32) -> Vec<[i32; 2]> {
    let mut ranges = Vec::new();
    let mut next = 0;
    for &n in stored.iter().chain(std::iter::once(&total)) {
        if n > next {
            ranges.push([next, n - 1]);
        }
        next = std::cmp::max(next, n + 1);
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(crate) fn the_seed_example_has_205_chunks_and_one_is_0_49_percent() {
        assert_eq!(total_chunks(2_147_483_648, 10_485_760), 205);
        assert_eq!(progress_percent(1, 205), 0.49);
        assert_eq!(total_chunks(0, 10), 1);
        assert_eq!(total_chunks(10, 10), 1);
        assert_eq!(total_chunks(11, 10), 2);
        assert_eq!(progress_percent(205, 205), 100.0);
    }

    #[test]
    pub(crate) fn missing_ranges_are_sorted_and_inclusive() {
        assert_eq!(missing_ranges(&[], 3), vec![[0, 2]]);
        assert_eq!(missing_ranges(&[0, 1, 2], 3), Vec::<[i32; 2]>::new());
        assert_eq!(
            missing_ranges(&[0, 1, 2, 8, 10, 11], 12),
            vec![[3, 7], [9, 9]]
        );
        assert_eq!(missing_ranges(&[5], 6), vec![[0, 4]]);
    }
}
