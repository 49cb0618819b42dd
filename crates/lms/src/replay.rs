//! Signed inbound requests seen recently, to refuse a replay: a captured request whose signature is still within its
//! time window must not reach the connector twice. Bounded in memory: the oldest entries go first when it is full.
//! Hosts sharing a database also record each request there ([`Db::first_sight`]), so that a replay sent to another
//! host than the first is refused too.

use crate::db::Db;
use crate::sql::params;
use anyhow::Result;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Recorded requests between two deletions of the expired ones from the database.
const PRUNE_EVERY: usize = 256;

/// How a replay key is stored: its hash (a key may hold any byte; its hash has a fixed size).
fn stored(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl Db {
    /// Records the signed request `key` as seen until `until` in the database; `false` when it was already seen,
    /// on any host, and still counts at `now` (a replay). Deletes the expired records every [`PRUNE_EVERY`] calls,
    /// so the table holds about the requests of one signature window.
    pub fn first_sight(&self, key: &str, now: i64, until: i64) -> Result<bool> {
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        let conn = self.conn();
        let recorded = conn.execute(
            "INSERT INTO inbound_seen (key_hash, until) VALUES (?1, ?3)
             ON CONFLICT (key_hash) DO UPDATE SET until = excluded.until WHERE inbound_seen.until <= ?2",
            params![stored(key), now, until],
        )?;
        if CALLS.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            conn.execute("DELETE FROM inbound_seen WHERE until <= ?1", [now])?;
        }
        Ok(recorded == 1)
    }

    /// Forgets the request `key` in the database, so that it counts as unseen again (it was not handled after all).
    pub fn forget_sight(&self, key: &str) -> Result<()> {
        self.conn().execute(
            "DELETE FROM inbound_seen WHERE key_hash = ?1",
            [stored(key)],
        )?;
        Ok(())
    }
}

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
    fn the_database_refuses_a_replay_from_any_host_until_it_expires() {
        let db = crate::test_support::memory_db();
        assert!(db.first_sight("p\0events\0id:Ev1", 100, 400).unwrap());
        assert!(
            !db.first_sight("p\0events\0id:Ev1", 399, 699).unwrap(),
            "a replay within the window"
        );
        assert!(
            db.first_sight("p\0events\0id:Ev1", 400, 700).unwrap(),
            "the window is over"
        );
        db.forget_sight("p\0events\0id:Ev1").unwrap();
        assert!(
            db.first_sight("p\0events\0id:Ev1", 401, 701).unwrap(),
            "forgotten"
        );
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
