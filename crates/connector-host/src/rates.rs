//! How fast a connector may use what a call's quotas do not bound over time: token buckets per platform, shared by
//! all the calls of the process. A quota bounds what one call holds or what a connector keeps; a rate bounds how
//! fast calls one after another can make the host redo the work, which a hostile connector otherwise repeats without
//! pause at every other platform's expense.
//!
//! - [`SETTINGS_WRITES`]: bytes of settings and secrets written. Rewriting the same keys stays within the quota
//!   ([`crate::Limits::settings_bytes`]) while it keeps the LMS's database writing, and checkpointing, for everyone.
//!   A write past the rate is refused with an error, like one past the quota.
//! - [`MEMORY_GROWTH`]: bytes of linear memory grown past what the pool keeps resident
//!   ([`crate::limits::KEPT_RESIDENT`], 2 MiB). The host maps each such page in and unmaps it after the call,
//!   kernel work that takes locks every thread of the process shares. A growth past the rate fails the call, like one
//!   past the memory limit. The Slack connector stays within the resident part and is never charged.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::Instant;

/// A rate: bytes per second on average, after a burst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Bytes per second, on average.
    pub per_second: f64,
    /// Bytes that may be used at once before the rate applies.
    pub burst: f64,
}

/// Settings and secrets written per platform: 1 MiB/s after 8 MiB. The Slack connector writes a few hundred bytes per
/// batch, and about 1 MB when it lists a workspace of 10,000 members.
pub const SETTINGS_WRITES: Rate = Rate {
    per_second: 1024.0 * 1024.0,
    burst: 8.0 * 1024.0 * 1024.0,
};

/// Linear memory grown past the resident part, per platform: 16 MiB/s after 128 MiB, so that two calls at once may
/// grow to the memory limit (64 MiB by default), and a call that needs more than the resident part now and then
/// (a large directory page) always can.
pub const MEMORY_GROWTH: Rate = Rate {
    per_second: 16.0 * 1024.0 * 1024.0,
    burst: 128.0 * 1024.0 * 1024.0,
};

/// Buckets kept before the full ones are forgotten.
const BUCKETS_KEPT: usize = 1_024;

/// One rate's buckets, per platform.
pub(crate) struct Buckets {
    rate: Rate,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    bytes: f64,
    at: Instant,
}

impl Buckets {
    /// Buckets at `rate`, each starting full.
    pub(crate) fn new(rate: Rate) -> Buckets {
        Buckets {
            rate,
            buckets: Mutex::default(),
        }
    }

    /// The rate the buckets fill at.
    pub(crate) fn rate(&self) -> Rate {
        self.rate
    }

    fn refilled(&self, bucket: &Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        (bucket.bytes + elapsed * self.rate.per_second).min(self.rate.burst)
    }

    /// Takes `bytes` from `platform_id`'s bucket at `now`; false, taking nothing, when it does not hold them.
    pub(crate) fn take(&self, platform_id: &str, bytes: usize, now: Instant) -> bool {
        let mut buckets = self.buckets.lock();
        if buckets.len() >= BUCKETS_KEPT && !buckets.contains_key(platform_id) {
            buckets.retain(|_, b| self.refilled(b, now) < self.rate.burst);
        }
        let bucket = buckets
            .entry(platform_id.to_string())
            .or_insert_with(|| Bucket {
                bytes: self.rate.burst,
                at: now,
            });
        let available = self.refilled(bucket, now);
        let wanted = bytes as f64;
        if wanted > available {
            return false;
        }
        bucket.bytes = available - wanted;
        bucket.at = now;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_then_the_rate_per_platform() {
        let writes = Buckets::new(SETTINGS_WRITES);
        let start = Instant::now();
        let mb = 1024 * 1024;
        for _ in 0..8 {
            assert!(writes.take("p1", mb, start));
        }
        assert!(!writes.take("p1", mb, start), "the burst is spent");
        assert!(writes.take("p2", mb, start), "another platform has its own");
        assert!(!writes.take("p1", mb, start + Duration::from_millis(500)));
        assert!(writes.take("p1", mb, start + Duration::from_secs(1)));
        assert!(writes.take("p1", 8 * mb, start + Duration::from_secs(60)));
    }
}
