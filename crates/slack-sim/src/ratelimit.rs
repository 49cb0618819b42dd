//! Rate limits per method tier (as the app's profile sets it: see `api::marketplace`), and `chat.postMessage`'s
//! per-conversation and workspace limits, as token buckets in "Slack time" (real time × scale + clock offset).
//!
//! Slack's limits are per app and workspace: each workspace has its own buckets, found by the call's token, or by the
//! code or refresh token an `oauth.v2.access` exchanges (a call the simulation cannot place counts against the app's
//! own).

use crate::api::{Params, Tier, app_tier, post_rate_key};
use crate::state::{Bucket, SimState};

/// Takes one call from the buckets of `method`; `Some(retry_after_real_secs)` when over the limit.
pub fn check(state: &mut SimState, method: &str, p: &Params) -> Option<u64> {
    if !state.config.rate_limits.enabled {
        return None;
    }
    let method_tier = app_tier(&state.config.app, method)?;
    let now = state.rate_limit_now();
    let limits = state.config.rate_limits.clone();
    let scale = limits.time_scale;
    let per_minute_override = limits.per_method_per_minute.get(method).copied();
    let team = team_of_call(state, p);
    let wait = if method_tier == Tier::PostMessage {
        let key = format!("{team}/chat.postMessage#{}", post_rate_key(state, p));
        let burst = limits.post_channel_burst.max(1) as f64;
        let per_sec = limits.post_per_channel_per_second.max(1e-9);
        let workspace_per_minute = per_minute_override
            .unwrap_or(limits.post_workspace_per_minute)
            .max(1) as f64;
        let workspace_per_sec = workspace_per_minute / 60.0;
        match take(state, &key, now, burst, per_sec) {
            Err(w) => Some(w),
            Ok(()) => match take(
                state,
                &format!("{team}/chat.postMessage@workspace"),
                now,
                workspace_per_minute,
                workspace_per_sec,
            ) {
                Ok(()) => None,
                Err(w) => {
                    // Give the conversation's token back: the call did not happen.
                    if let Some(b) = state.buckets.get_mut(&key) {
                        b.tokens = (b.tokens + 1.0).min(burst);
                    }
                    Some(w)
                }
            },
        }
    } else {
        let per_minute = per_minute_override
            .unwrap_or(method_tier.per_minute())
            .max(1) as f64;
        let key = format!("{team}/{method}");
        take(state, &key, now, per_minute, per_minute / 60.0).err()
    };
    wait.map(|w| ((w / scale).ceil() as u64).max(1))
}

/// The workspace a call is about: its token's installation's, else (`oauth.v2.access`) that of the code or the
/// refresh token it exchanges; empty for a call the simulation cannot place (the app's own buckets).
fn team_of_call(state: &SimState, p: &Params) -> String {
    let by_token = p
        .token
        .as_deref()
        .and_then(|t| state.tokens.get(t))
        .map(|r| r.installation_id.as_str());
    let by_code = || {
        let code = p.non_empty("code")?;
        state.codes.get(&code).map(|c| c.installation_id.as_str())
    };
    let by_refresh = || {
        let token = p.non_empty("refresh_token")?;
        state
            .refresh_tokens
            .get(&token)
            .map(|r| r.installation_id.as_str())
    };
    by_token
        .or_else(by_code)
        .or_else(by_refresh)
        .and_then(|id| state.installation_by_id(id))
        .map(|i| i.team_id.clone())
        .unwrap_or_default()
}

/// Buckets kept at least before the full ones are forgotten.
const MIN_BUCKETS_SWEPT: usize = 4_096;

/// Takes one call from the bucket `key` (created full); `Err(wait_slack_secs)` when it is empty.
///
/// A bucket that has refilled is as good as none, so before a new bucket makes the map twice as large as after the
/// last sweep, the full ones are forgotten: calls naming ever new conversations (unknown ones included) cannot grow
/// it without bound, and the sweeps cost a constant time per bucket made.
fn take(state: &mut SimState, key: &str, now: f64, capacity: f64, per_sec: f64) -> Result<(), f64> {
    if !state.buckets.contains_key(key) && state.buckets.len() >= state.buckets_swept_at {
        state.buckets.retain(|_, b| b.full_at > now);
        state.buckets_swept_at = (2 * state.buckets.len()).max(MIN_BUCKETS_SWEPT);
    }
    let b = state
        .buckets
        .entry(key.to_string())
        .or_insert_with(|| Bucket::full(now));
    b.take(now, capacity, per_sec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RateLimits, SimConfig};

    #[test]
    fn posts_to_ever_new_conversations_keep_the_buckets_bounded() {
        let mut config = SimConfig::demo();
        config.rate_limits = RateLimits {
            enabled: true,
            ..RateLimits::default()
        };
        let mut state = SimState::new(config);
        for i in 0..50_000 {
            let mut p = Params::default();
            p.fields.insert("channel".into(), format!("C{i:08}").into());
            state.offset_ms += 1_000;
            assert_eq!(check(&mut state, "chat.postMessage", &p), None);
        }
        assert!(
            state.buckets.len() <= 2 * MIN_BUCKETS_SWEPT,
            "{}",
            state.buckets.len()
        );
        // A bucket in use is kept: the same conversation at once is refused past its burst.
        let mut p = Params::default();
        p.fields.insert("channel".into(), "C00049999".into());
        let refused = (0..10)
            .filter(|_| check(&mut state, "chat.postMessage", &p).is_some())
            .count();
        assert!(refused > 0);
    }
}
