//! Which announced blobs a node still lacks, and when to ask its peers for each again.
//!
//! A contributor announces a hash on chain before uploading the bytes to some node, so the first
//! requests for a new blob usually find no peer holding it: each failed attempt doubles the wait
//! before the next, from [`FIRST_RETRY`] up to [`LAST_RETRY`], and the blob stays wanted until it
//! is stored or the chain stops announcing it (rejected, withdrawn or expired). At most `limit`
//! fetches run at once, so a burst of announcements cannot flood the node's peers.

use attribution_primitives::Hash;
use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

/// The wait after a blob's first failed attempt.
pub const FIRST_RETRY: Duration = Duration::from_secs(2);
/// The longest wait between two attempts.
pub const LAST_RETRY: Duration = Duration::from_secs(300);

#[derive(Debug)]
struct Entry {
    /// The announced size: a peer's response larger than this is refused unread.
    max_bytes: u64,
    failures: u32,
    next_attempt: Instant,
    in_flight: bool,
}

/// The blobs to fetch.
#[derive(Debug, Default)]
pub struct Wanted {
    entries: BTreeMap<Hash, Entry>,
}

impl Wanted {
    /// Wants `hash` (at most `max_bytes` long) from now on; a blob already wanted is asked for
    /// now instead of after its backoff (someone is waiting for it).
    pub fn want(&mut self, hash: Hash, max_bytes: u64, now: Instant) {
        self.entries
            .entry(hash)
            .and_modify(|entry| entry.next_attempt = entry.next_attempt.min(now))
            .or_insert(Entry {
                max_bytes,
                failures: 0,
                next_attempt: now,
                in_flight: false,
            });
    }

    /// The blobs due at `now` and not being fetched, with their size bound, so that at most
    /// `limit` fetches run at once; they count as being fetched until [`Self::failed`] or
    /// [`Self::forget`].
    pub fn start_due(&mut self, now: Instant, limit: usize) -> Vec<(Hash, u64)> {
        let running = self
            .entries
            .values()
            .filter(|entry| entry.in_flight)
            .count();
        let mut started = Vec::new();
        for (hash, entry) in &mut self.entries {
            if running + started.len() >= limit {
                break;
            }
            if !entry.in_flight && entry.next_attempt <= now {
                entry.in_flight = true;
                started.push((*hash, entry.max_bytes));
            }
        }
        started
    }

    /// An attempt found no peer with the bytes: try again after the next backoff, which is
    /// returned.
    pub fn failed(&mut self, hash: &Hash, now: Instant) -> Option<Duration> {
        let entry = self.entries.get_mut(hash)?;
        let wait = FIRST_RETRY
            .saturating_mul(2u32.saturating_pow(entry.failures))
            .min(LAST_RETRY);
        entry.failures = entry.failures.saturating_add(1);
        entry.next_attempt = now + wait;
        entry.in_flight = false;
        Some(wait)
    }

    /// The blob is stored, or no longer announced: stop wanting it.
    pub fn forget(&mut self, hash: &Hash) {
        self.entries.remove(hash);
    }

    /// When the earliest blob not being fetched is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.entries
            .values()
            .filter(|entry| !entry.in_flight)
            .map(|entry| entry.next_attempt)
            .min()
    }

    /// How many blobs are wanted.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no blob is wanted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(n: u8) -> Hash {
        Hash::repeat_byte(n)
    }

    #[test]
    fn runs_at_most_limit_fetches_at_once() {
        let now = Instant::now();
        let mut wanted = Wanted::default();
        for n in 0..5 {
            wanted.want(hash(n), 100 + u64::from(n), now);
        }
        let first = wanted.start_due(now, 2);
        assert_eq!(first, vec![(hash(0), 100), (hash(1), 101)]);
        assert!(wanted.start_due(now, 2).is_empty(), "two already running");
        wanted.forget(&hash(0));
        assert_eq!(wanted.start_due(now, 2), vec![(hash(2), 102)]);
        assert_eq!(wanted.len(), 4);
    }

    #[test]
    fn backs_off_doubling_up_to_the_cap() {
        let now = Instant::now();
        let mut wanted = Wanted::default();
        wanted.want(hash(1), 10, now);
        let mut waits = Vec::new();
        for _ in 0..10 {
            assert_eq!(wanted.start_due(now + LAST_RETRY * 2, 1).len(), 1);
            waits.push(wanted.failed(&hash(1), now).unwrap().as_secs());
        }
        assert_eq!(waits, vec![2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(wanted.next_due(), Some(now + LAST_RETRY));
        assert!(wanted.start_due(now + LAST_RETRY / 2, 1).is_empty());
        assert_eq!(wanted.start_due(now + LAST_RETRY, 1), vec![(hash(1), 10)]);
    }

    #[test]
    fn a_waiting_request_skips_the_backoff_and_keeps_the_bound() {
        let now = Instant::now();
        let mut wanted = Wanted::default();
        wanted.want(hash(3), 50, now);
        wanted.start_due(now, 4);
        wanted.failed(&hash(3), now);
        wanted.failed(&hash(3), now);
        assert_eq!(wanted.next_due(), Some(now + Duration::from_secs(4)));
        wanted.want(hash(3), 5_000, now);
        assert_eq!(wanted.start_due(now, 4), vec![(hash(3), 50)]);
        assert_eq!(wanted.next_due(), None, "the only blob is being fetched");
    }

    #[test]
    fn forgetting_an_unknown_blob_changes_nothing() {
        let now = Instant::now();
        let mut wanted = Wanted::default();
        wanted.want(hash(1), 1, now);
        wanted.forget(&hash(2));
        assert_eq!(wanted.failed(&hash(2), now), None);
        assert_eq!(wanted.len(), 1);
        assert!(!wanted.is_empty());
    }
}
