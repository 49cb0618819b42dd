//! Signed inbound requests seen recently, to refuse a replay: a captured request whose signature is still within its
//! time window must not reach the connector twice. Bounded in memory: the oldest entries go first when it is full.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// How many signed requests the cache remembers at most (a few MiB at worst).
pub const CAPACITY: usize = 50_000;

/// Keys seen recently and until when they count as seen.
pub struct ReplayCache {
    capacity: usize,
    inner: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    /// Each key and when it stops counting (Unix seconds).
    until: HashMap<String, i64>,
    /// Keys in the order they were recorded, with the expiry recorded then; bounded by the capacity.
    order: VecDeque<(i64, String)>,
}

impl ReplayCache {
    /// A cache holding at most `capacity` keys.
    pub fn new(capacity: usize) -> Self {
        ReplayCache {
            capacity: capacity.max(1),
            inner: Mutex::new(Seen::default()),
        }
    }

    /// Records `key` as seen until `until`; `false` when it was already seen and still counts at `now` (a replay).
    pub fn first_sight(&self, key: &str, now: i64, until: i64) -> bool {
        let mut seen = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        seen.forget_expired(now);
        if seen.until.get(key).is_some_and(|&t| t > now) {
            return false;
        }
        while seen.order.len() >= self.capacity {
            if !seen.pop_oldest() {
                break;
            }
        }
        seen.until.insert(key.to_string(), until);
        seen.order.push_back((until, key.to_string()));
        true
    }

    /// Forgets `key`, so that it counts as unseen again (a request that was not handled after all).
    pub fn forget(&self, key: &str) {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .until
            .remove(key);
    }

    /// How many keys the cache holds.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .until
            .len()
    }

    /// Whether the cache holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Seen {
    /// Drops the entries at the front that no longer count.
    fn forget_expired(&mut self, now: i64) {
        while self.order.front().is_some_and(|(t, _)| *t <= now) {
            self.pop_oldest();
        }
    }

    /// Drops the oldest entry (and its key, unless it was recorded again since); `false` when there is none.
    fn pop_oldest(&mut self) -> bool {
        let Some((t, key)) = self.order.pop_front() else {
            return false;
        };
        if self.until.get(&key) == Some(&t) {
            self.until.remove(&key);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_refused_until_it_expires() {
        let c = ReplayCache::new(10);
        assert!(c.first_sight("e1", 100, 400));
        assert!(!c.first_sight("e1", 399, 699), "a replay within the window");
        assert!(c.first_sight("e2", 399, 699));
        assert!(c.first_sight("e1", 400, 700), "the window is over");
        assert_eq!(c.len(), 2);
        c.forget("e2");
        assert!(c.first_sight("e2", 401, 701), "forgotten");
    }

    #[test]
    fn memory_is_bounded() {
        let c = ReplayCache::new(3);
        for i in 0..10 {
            assert!(c.first_sight(&format!("e{i}"), 0, 1_000));
        }
        assert_eq!(c.len(), 3);
        assert!(!c.first_sight("e9", 1, 1_000), "the newest are kept");
        assert!(c.first_sight("e0", 1, 1_000), "the oldest went first");
    }
}
