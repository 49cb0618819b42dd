//! The connector's health per platform: consecutive failed calls (traps, exhausted limits, time-outs) are counted,
//! and after the operator's threshold the connector is disabled on that platform until an admin re-enables it.

use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;

/// The health of a connector on one platform.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PlatformHealth {
    /// Failed calls in a row (reset by a successful call).
    pub consecutive_failures: u32,
    /// Failed calls since the host started.
    pub total_failures: u64,
    /// Why the connector is disabled on this platform, when it is.
    pub disabled: Option<String>,
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

    /// A call (`what`) failed; returns the alert to raise when this failure disables the connector.
    pub fn failure(&self, platform_id: &str, what: &str) -> Option<String> {
        let threshold = self.threshold;
        self.with(platform_id, |h| {
            h.consecutive_failures += 1;
            h.total_failures += 1;
            if h.disabled.is_none() && h.consecutive_failures >= threshold {
                let reason = format!(
                    "{} consecutive failed calls, the last one during {what}",
                    h.consecutive_failures
                );
                h.disabled = Some(reason.clone());
                Some(format!(
                    "The connector was disabled on this platform after {reason}. See the connector log for the \
                     errors; re-enable it once the cause is fixed."
                ))
            } else {
                None
            }
        })
    }

    /// Re-enables the connector on `platform_id` and clears its failure count.
    pub fn reset(&self, platform_id: &str) {
        self.with(platform_id, |h| {
            h.consecutive_failures = 0;
            h.disabled = None;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_failures_in_a_row_disable_one_platform_only() {
        let h = Health::new(3);
        assert_eq!(h.failure("p1", "deliver"), None);
        h.success("p1");
        assert_eq!(h.failure("p1", "deliver"), None);
        assert_eq!(h.failure("p1", "deliver"), None);
        assert!(h.failure("p1", "status").is_some());
        assert_eq!(h.failure("p1", "status"), None, "alerted once");
        assert!(h.get("p1").disabled.is_some());
        assert!(h.get("p2").disabled.is_none());
        h.reset("p1");
        assert_eq!(h.get("p1").disabled, None);
        assert_eq!(h.get("p1").total_failures, 5);
    }
}
