//! The connector's health per platform: consecutive failed calls (traps, exhausted limits, time-outs) are counted in
//! this process, and reaching the operator's threshold disables the connector on that platform. Being disabled is
//! durable, kept by the LMS's store ([`crate::store::ConnectorStore::disable`]) until an admin re-enables it; the
//! count starts afresh once the threshold is reached.

use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;

/// The failed calls of a connector on one platform, in this process.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PlatformHealth {
    /// Failed calls in a row (reset by a successful call, and when they disable the connector).
    pub consecutive_failures: u32,
    /// Failed calls since the host started.
    pub total_failures: u64,
}

/// Health records of every platform.
pub struct Health {
    threshold: u32,
    platforms: Mutex<HashMap<String, PlatformHealth>>,
}

impl Health {
    /// Records that disable a connector after `threshold` consecutive failures.
    pub fn new(threshold: u32) -> Self {
        Health {
            threshold: threshold.max(1),
            platforms: Mutex::default(),
        }
    }

    fn with<R>(&self, platform_id: &str, f: impl FnOnce(&mut PlatformHealth) -> R) -> R {
        let mut map = self.platforms.lock().unwrap_or_else(|e| e.into_inner());
        f(map.entry(platform_id.to_string()).or_default())
    }

    /// The record of `platform_id`.
    pub fn get(&self, platform_id: &str) -> PlatformHealth {
        self.with(platform_id, |h| h.clone())
    }

    /// A call succeeded.
    pub fn success(&self, platform_id: &str) {
        self.with(platform_id, |h| h.consecutive_failures = 0);
    }

    /// A call (`what`) failed; returns why the connector must be disabled when this failure reaches the threshold
    /// (the count then starts afresh, so that a re-enabled connector gets the whole threshold again).
    pub fn failure(&self, platform_id: &str, what: &str) -> Option<String> {
        let threshold = self.threshold;
        self.with(platform_id, |h| {
            h.consecutive_failures += 1;
            h.total_failures += 1;
            if h.consecutive_failures < threshold {
                return None;
            }
            let reason = format!(
                "{} consecutive failed calls, the last one during {what}",
                h.consecutive_failures
            );
            h.consecutive_failures = 0;
            Some(reason)
        })
    }

    /// Clears the count of failures in a row on `platform_id` (the connector was re-enabled there).
    pub fn reset(&self, platform_id: &str) {
        self.with(platform_id, |h| h.consecutive_failures = 0);
    }
}

/// The alert raised when a connector is disabled on a platform for `reason`.
pub fn disabled_alert(reason: &str) -> String {
    format!(
        "The connector was disabled on this platform after {reason}. See the connector log for the errors; \
         re-enable it once the cause is fixed."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_of_failures_in_a_row_disables_one_platform_only_then_counts_afresh() {
        let h = Health::new(3);
        assert_eq!(h.failure("p1", "deliver"), None);
        h.success("p1");
        assert_eq!(h.failure("p1", "deliver"), None);
        assert_eq!(h.failure("p1", "deliver"), None);
        assert_eq!(
            h.failure("p1", "status").as_deref(),
            Some("3 consecutive failed calls, the last one during status")
        );
        assert_eq!(h.get("p1").consecutive_failures, 0);
        assert_eq!(h.failure("p1", "status"), None, "counts afresh");
        assert_eq!(h.get("p2"), PlatformHealth::default());
        h.reset("p1");
        assert_eq!(h.get("p1").consecutive_failures, 0);
        assert_eq!(h.get("p1").total_failures, 5);
    }
}
