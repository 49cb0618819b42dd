//! A call's writes of plain settings that the store has not received yet: they reach it in one transaction
//! ([`crate::store::ConnectorStore::write_settings`]) at each hand-over, before each outgoing request starts and when
//! the call ends, instead of one transaction per write. A connector that records 10,000 members of a Slack directory
//! between two requests (one `users.list` page holds 200) writes 200 entries at a time, not one.
//!
//! Nothing outside the call can tell the difference: the connector reads its own pending writes back, every effect
//! another party can see (a request, a delivery's progress, the call's result) comes after the writes made before it
//! are stored, and a call that dies between two hand-overs loses only what nothing has seen yet (as if it had died a
//! little earlier). Other calls see the writes at the hand-over, as if they had been made then.
//!
//! What is pending is bounded: every write is checked against the settings quota when it is made (with what is
//! pending counted, [`PendingSettings::growth_besides`]), and past [`MAX_PENDING_BYTES`] the writes are handed over
//! early.

use std::collections::BTreeMap;

/// Bytes of keys and values pending at most; past it, the writes are handed over at once.
pub(crate) const MAX_PENDING_BYTES: usize = 1 << 20;

/// One pending write.
struct Pending {
    /// The value written, or `None` for a removal.
    value: Option<String>,
    /// Bytes the store held for the key before the call first wrote it (its key and value, or 0).
    stored: u64,
}

impl Pending {
    fn bytes(key: &str, value: Option<&str>) -> u64 {
        value.map_or(0, |v| (key.len() + v.len()) as u64)
    }

    /// Bytes of memory this write holds for `key`: the key, and the value if any.
    fn held(&self, key: &str) -> usize {
        key.len() + self.value.as_deref().map_or(0, str::len)
    }

    /// How much the store grows when this write reaches it.
    fn growth(&self, key: &str) -> i64 {
        Self::bytes(key, self.value.as_deref()) as i64 - self.stored as i64
    }
}

/// The pending writes of one call, by key (the last write of a key wins). Kept in key order, so that two hosts
/// writing overlapping keys on one PostgreSQL lock their rows in the same order and cannot deadlock.
#[derive(Default)]
pub(crate) struct PendingSettings {
    writes: BTreeMap<String, Pending>,
    /// Bytes of keys and values held in `writes`.
    held: usize,
    /// How much the store grows when every pending write reaches it.
    growth: i64,
}

impl PendingSettings {
    /// The pending value of `key`: `Some(None)` when its removal is pending, `None` when nothing is.
    pub(crate) fn get(&self, key: &str) -> Option<Option<&str>> {
        self.writes.get(key).map(|p| p.value.as_deref())
    }

    /// How much the store grows when the pending writes reach it.
    pub(crate) fn growth(&self) -> i64 {
        self.growth
    }

    /// How much the store grows when the pending writes of keys other than `key` reach it.
    pub(crate) fn growth_besides(&self, key: &str) -> i64 {
        self.growth - self.writes.get(key).map_or(0, |p| p.growth(key))
    }

    /// Keeps a write of `key` (`None` removes it); `stored` is what the store holds for the key now, which counts
    /// only when the key has no pending write yet (a pending one keeps what the store held before the call wrote it).
    pub(crate) fn write(&mut self, key: String, value: Option<String>, stored: u64) {
        let stored = match self.writes.remove(&key) {
            Some(before) => {
                self.growth -= before.growth(&key);
                self.held -= before.held(&key);
                before.stored
            }
            None => stored,
        };
        let pending = Pending { value, stored };
        self.growth += pending.growth(&key);
        self.held += pending.held(&key);
        self.writes.insert(key, pending);
    }

    /// Whether the pending writes hold more than [`MAX_PENDING_BYTES`] and should be handed over now.
    pub(crate) fn full(&self) -> bool {
        self.held > MAX_PENDING_BYTES
    }

    /// Whether nothing is pending.
    pub(crate) fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// The pending writes, in key order, for one transaction.
    pub(crate) fn writes(&self) -> Vec<(&str, Option<&str>)> {
        self.writes
            .iter()
            .map(|(k, p)| (k.as_str(), p.value.as_deref()))
            .collect()
    }

    /// Forgets the pending writes, once the store has them.
    pub(crate) fn clear(&mut self) {
        *self = PendingSettings::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_write_of_a_key_wins_and_growth_counts_what_the_store_held() {
        let mut p = PendingSettings::default();
        // "a" held 1 + 3 bytes in the store; "b" nothing.
        p.write("a".into(), Some("12345".into()), 4);
        assert_eq!(p.get("a"), Some(Some("12345")));
        assert_eq!(p.growth_besides("b"), 2);
        p.write("b".into(), Some("xy".into()), 0);
        assert_eq!(p.growth_besides("zz"), 2 + 3);
        assert_eq!(p.growth_besides("a"), 3);
        // A second write of "a" keeps what the store held before the call wrote it, not what was pending.
        p.write("a".into(), None, 99);
        assert_eq!(p.get("a"), Some(None));
        assert_eq!(p.growth_besides("b"), -4);
        assert_eq!(p.growth_besides("zz"), -4 + 3);
        assert_eq!(p.writes(), vec![("a", None), ("b", Some("xy"))]);
        assert_eq!(p.get("c"), None);
        assert!(!p.full());
        p.clear();
        assert!(p.is_empty());
        assert_eq!(p.growth_besides("a"), 0);
    }

    #[test]
    fn past_the_bound_the_writes_are_due() {
        let mut p = PendingSettings::default();
        let value = "v".repeat(60 * 1024);
        for i in 0..18 {
            p.write(format!("k{i}"), Some(value.clone()), 0);
        }
        assert!(p.full());
        // Rewriting one key does not count it twice.
        let mut q = PendingSettings::default();
        for _ in 0..100 {
            q.write("k".into(), Some(value.clone()), 0);
        }
        assert!(!q.full());
    }
}
