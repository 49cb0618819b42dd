//! How fast a connector may write settings and secrets on one platform: a token bucket of bytes per platform,
//! shared by all the calls of the process. The quota ([`crate::Limits::settings_bytes`]) bounds what a connector
//! keeps; this bounds how fast it rewrites it, since rewriting the same keys without pause stays within the quota
//! while it keeps the LMS's database writing (and its write-ahead log checkpointing) for every platform. A write past
//! the rate is refused with an error, like one past the quota.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::Instant;

/// Bytes of settings and secrets (keys and values) a connector may write per second on one platform, on average.
/// The Slack connector writes a few hundred bytes per batch, and about 1 MB when it lists a workspace of 10,000
/// members.
pub const WRITE_BYTES_PER_SECOND: f64 = 1024.0 * 1024.0;
/// Bytes it may write at once before the rate applies.
pub const WRITE_BURST_BYTES: f64 = 8.0 * 1024.0 * 1024.0;
/// Buckets kept before the full ones are forgotten.
const BUCKETS_KEPT: usize = 1_024;

/// The write buckets of one connector, per platform.
#[derive(Default)]
pub(crate) struct WriteRate {
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    bytes: f64,
    at: Instant,
}

impl Bucket {
    fn refilled(&self, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        (self.bytes + elapsed * WRITE_BYTES_PER_SECOND).min(WRITE_BURST_BYTES)
    }
}

impl WriteRate {
    /// Takes `bytes` from `platform_id`'s bucket at `now`; false, taking nothing, when it does not hold them.
    pub(crate) fn take(&self, platform_id: &str, bytes: usize, now: Instant) -> bool {
        let mut buckets = self.buckets.lock();
        if buckets.len() >= BUCKETS_KEPT && !buckets.contains_key(platform_id) {
            buckets.retain(|_, b| b.refilled(now) < WRITE_BURST_BYTES);
        }
        let bucket = buckets
            .entry(platform_id.to_string())
            .or_insert_with(|| Bucket {
                bytes: WRITE_BURST_BYTES,
                at: now,
            });
        let available = bucket.refilled(now);
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
        let rate = WriteRate::default();
        let start = Instant::now();
        let mb = 1024 * 1024;
        for _ in 0..8 {
            assert!(rate.take("p1", mb, start));
        }
        assert!(!rate.take("p1", mb, start), "the burst is spent");
        assert!(rate.take("p2", mb, start), "another platform has its own");
        assert!(!rate.take("p1", mb, start + Duration::from_millis(500)));
        assert!(rate.take("p1", mb, start + Duration::from_secs(1)));
        assert!(rate.take("p1", 8 * mb, start + Duration::from_secs(60)));
    }
}
