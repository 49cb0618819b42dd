//! Rate limits per method tier, and `chat.postMessage`'s per-conversation and workspace limits, as token
//! buckets in "Slack time" (real time × scale + clock offset).

use super::api::{Params, Tier, post_rate_key, tier};
use super::state::{Bucket, State};

/// Takes one call from the buckets of `method`; `Some(retry_after_real_secs)` when over the limit.
pub fn check(st: &mut State, method: &str, p: &Params) -> Option<u64> {
    if !st.config.rate_limits.enabled {
        return None;
    }
    let t = tier(method)?;
    let now = st.rl_now();
    let rl = st.config.rate_limits.clone();
    let scale = rl.time_scale;
    let override_pm = rl.per_method_per_minute.get(method).copied();
    let wait = if t == Tier::PostMessage {
        let key = format!("chat.postMessage#{}", post_rate_key(st, p));
        let burst = rl.post_channel_burst.max(1) as f64;
        let per_sec = rl.post_per_channel_per_second.max(1e-9);
        let ws_pm = override_pm.unwrap_or(rl.post_workspace_per_minute).max(1) as f64;
        let ch = take(st, &key, now, burst, per_sec);
        match ch {
            Err(w) => Some(w),
            Ok(()) => match take(st, "chat.postMessage@workspace", now, ws_pm, ws_pm / 60.0) {
                Ok(()) => None,
                Err(w) => {
                    // Give the conversation's token back: the call did not happen.
                    if let Some(b) = st.buckets.get_mut(&key) {
                        b.tokens = (b.tokens + 1.0).min(burst);
                    }
                    Some(w)
                }
            },
        }
    } else {
        let pm = override_pm.unwrap_or(t.per_minute()).max(1) as f64;
        take(st, method, now, pm, pm / 60.0).err()
    };
    wait.map(|w| ((w / scale).ceil() as u64).max(1))
}

fn take(st: &mut State, key: &str, now: f64, capacity: f64, per_sec: f64) -> Result<(), f64> {
    let b = st.buckets.entry(key.to_string()).or_insert(Bucket {
        tokens: capacity,
        last: now,
    });
    b.take(now, capacity, per_sec)
}
