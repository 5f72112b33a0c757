//! Which chunks of each upload in progress are stored, kept in memory as sorted
//! ranges so that recording a chunk costs O(log n) and the missing ranges come
//! out in O(ranges), instead of re-reading every stored chunk number per chunk.
//! The database stays the truth: an entry whose count differs from the upload
//! row's `completed_chunks` (another server stored a chunk, or the entry was
//! forgotten) is rebuilt from the `upload_chunks` rows.
use std::{
    collections::{BTreeMap, HashMap},
    sync::Mutex,
};

use uuid::Uuid;

/// Uploads tracked at once; past it the table starts over (entries rebuild on demand).
const MAX_UPLOADS: usize = 4096;

/// Stored chunk numbers of one upload as disjoint inclusive ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChunkSet {
    /// start → end, inclusive, disjoint and not adjacent.
    ranges: BTreeMap<i32, i32>,
    count: i32,
}

impl ChunkSet {
    /// From sorted or unsorted numbers.
    pub fn from_numbers(numbers: impl IntoIterator<Item = i32>) -> Self {
        let mut set = Self::default();
        for n in numbers {
            set.insert(n);
        }
        set
    }

    /// Record `n`; false when it was there already.
    pub fn insert(&mut self, n: i32) -> bool {
        let before = self.ranges.range(..=n).next_back().map(|(s, e)| (*s, *e));
        if before.is_some_and(|(_, end)| end >= n) {
            return false;
        }
        let mut start = n;
        let mut end = n;
        if let Some((s, e)) = before
            && e.checked_add(1) == Some(n)
        {
            start = s;
        }
        if let Some(next_end) = n.checked_add(1).and_then(|next| self.ranges.remove(&next)) {
            end = next_end;
        }
        self.ranges.insert(start, end);
        self.count += 1;
        true
    }

    /// How many numbers are stored.
    pub fn count(&self) -> i32 {
        self.count
    }

    /// The inclusive ranges of `0..total` not stored, in order.
    pub fn missing(&self, total: i32) -> Vec<[i32; 2]> {
        let mut out = Vec::new();
        let mut next = 0;
        for (&start, &end) in &self.ranges {
            if start >= total {
                break;
            }
            if start > next {
                out.push([next, start - 1]);
            }
            next = next.max(end.saturating_add(1));
        }
        if next < total {
            out.push([next, total - 1]);
        }
        out
    }
}

/// The table of every tracked upload.
#[derive(Debug, Default)]
pub struct StoredChunks {
    uploads: Mutex<HashMap<Uuid, ChunkSet>>,
}

impl StoredChunks {
    /// The missing ranges of `upload` when the tracked set agrees with `completed`.
    pub fn missing(&self, upload: Uuid, completed: i32, total: i32) -> Option<Vec<[i32; 2]>> {
        let uploads = self.uploads.lock().ok()?;
        uploads
            .get(&upload)
            .filter(|set| set.count() == completed)
            .map(|set| set.missing(total))
    }

    /// Replace the tracked set of `upload` (read from the database).
    pub fn load(&self, upload: Uuid, set: ChunkSet) {
        if let Ok(mut uploads) = self.uploads.lock() {
            if uploads.len() >= MAX_UPLOADS && !uploads.contains_key(&upload) {
                uploads.clear();
            }
            uploads.insert(upload, set);
        }
    }

    /// Record a newly stored chunk of a tracked upload.
    pub fn stored(&self, upload: Uuid, chunk: i32) {
        if let Ok(mut uploads) = self.uploads.lock()
            && let Some(set) = uploads.get_mut(&upload)
        {
            set.insert(chunk);
        }
    }

    /// Stop tracking `upload` (finished, cancelled or expired).
    pub fn forget(&self, upload: Uuid) {
        if let Ok(mut uploads) = self.uploads.lock() {
            uploads.remove(&upload);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::uploads::missing_ranges;
    use proptest::prelude::*;

    #[test]
    fn ranges_merge_as_chunks_arrive() {
        let mut set = ChunkSet::default();
        assert!(set.insert(3));
        assert!(set.insert(5));
        assert!(!set.insert(3));
        assert_eq!(set.missing(8), vec![[0, 2], [4, 4], [6, 7]]);
        assert!(set.insert(4));
        assert_eq!(set.missing(8), vec![[0, 2], [6, 7]]);
        assert_eq!(set.count(), 3);
    }

    proptest! {
        #[test]
        fn agrees_with_the_full_scan(numbers in proptest::collection::vec(0i32..200, 0..300), total in 1i32..220) {
            let set = ChunkSet::from_numbers(numbers.iter().copied());
            let mut sorted: Vec<i32> = numbers.into_iter().filter(|n| *n < total).collect();
            sorted.sort_unstable();
            sorted.dedup();
            prop_assert_eq!(set.missing(total), missing_ranges(&sorted, total));
        }
    }
}
