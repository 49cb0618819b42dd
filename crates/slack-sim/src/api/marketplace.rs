//! What Slack restricts for an app that is not approved for the Slack Marketplace (the app profile's
//! `marketplace_approved`): `conversations.history` and `conversations.replies` at Tier 1 and pages of at most 15
//! messages.
//!
//! Followed: Slack's changelog "Rate limit changes for non-Marketplace apps" (29 May 2025) and its rate-limit
//! page: "changing from Tier 3 to Tier 1 … limited to 1 request per minute … The maximum and default for the
//! `limit` parameter has been reduced to 15 objects." The docs name no error for a larger `limit`: the page is
//! cut at 15 (a larger `limit` is not refused), with `has_more` and a cursor to the rest.

use super::Tier;
use crate::model::App;

/// The methods Slack slows for an app not approved for the Marketplace.
const RESTRICTED: [&str; 2] = ["conversations.history", "conversations.replies"];

/// The default and largest page of a restricted method for an app not approved for the Marketplace.
pub const UNAPPROVED_PAGE: usize = 15;

/// Whether `method` is restricted for `app`.
fn restricted(app: &App, method: &str) -> bool {
    !app.marketplace_approved && RESTRICTED.contains(&method)
}

/// The tier `method` has for `app`: Tier 1 (1 a minute) for a restricted method, else the method's own tier.
pub fn tier_for(app: &App, method: &str, tier: Tier) -> Tier {
    if restricted(app, method) {
        Tier::T1
    } else {
        tier
    }
}

/// How many items a page of `method` holds for `app`: `requested` (absent or 0: `default`) cut at `max`, or at
/// [`UNAPPROVED_PAGE`] for a restricted method, which is then also the default.
pub fn page_size(
    app: &App,
    method: &str,
    requested: Option<u64>,
    default: usize,
    max: usize,
) -> usize {
    let (default, max) = if restricted(app, method) {
        (UNAPPROVED_PAGE, UNAPPROVED_PAGE)
    } else {
        (default, max)
    };
    match requested {
        None | Some(0) => default,
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX).min(max),
    }
}
