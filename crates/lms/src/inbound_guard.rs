//! What the platform remembers between the inbound requests of its connectors' services: the signed requests seen
//! recently (to refuse replays) and how many requests were refused (counted, never written one row each).

use crate::replay::{self, ReplayCache};
use std::sync::Mutex;

/// At most one warning about refused inbound requests per this many seconds.
pub const WARN_EVERY_SECS: i64 = 60;

/// What the platform remembers between inbound requests: the signed requests seen recently, and how many were
/// refused.
pub struct InboundGuard {
    pub(crate) replays: ReplayCache,
    refusals: Mutex<Refusals>,
}

#[derive(Default)]
struct Refusals {
    total: u64,
    since_warning: u64,
    warned_at: Option<i64>,
}

impl Default for InboundGuard {
    fn default() -> Self {
        InboundGuard {
            replays: ReplayCache::new(replay::CAPACITY),
            refusals: Mutex::new(Refusals::default()),
        }
    }
}

impl InboundGuard {
    /// How many inbound requests were refused (unsigned, badly signed, stale) since the start.
    pub fn refused(&self) -> u64 {
        self.refusals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .total
    }

    /// Counts a refused request; warns with the count since the last warning at most every [`WARN_EVERY_SECS`].
    pub(crate) fn count_refusal(&self, platform_id: &str, route: &str, why: &str, now: i64) {
        let mut r = self.refusals.lock().unwrap_or_else(|e| e.into_inner());
        r.total += 1;
        r.since_warning += 1;
        if r.warned_at.is_none_or(|t| now - t >= WARN_EVERY_SECS) {
            tracing::warn!(
                platform = platform_id,
                route,
                "{} inbound request(s) refused since the last warning; the latest: {why}",
                r.since_warning
            );
            r.since_warning = 0;
            r.warned_at = Some(now);
        }
    }
}
