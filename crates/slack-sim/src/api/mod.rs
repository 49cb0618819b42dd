//! The Web API under `/api/METHOD`: request decoding as Slack does it ([`params`]), Slack's envelope
//! ([`reply`]), and the methods, one module per family.
//!
//! Where Slack's current documentation differs from the OpenAPI file in `shared/slack/` (a 2021 snapshot),
//! the documentation is followed; each such place says so.

mod apps;
mod auth;
mod chat;
mod content;
mod conversations;
mod history;
mod marketplace;
mod modify;
pub mod params;
pub mod reply;
mod users;

pub use chat::post_rate_key;
pub use params::{Params, TokenSource, decode};
pub use reply::Reply;

use crate::model::{App, Conversation, ConversationKind, Installation, TokenRevocation};
use crate::state::SimState;

/// Rate limit tier of a method (Slack's tiers, calls per minute).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// 1+ per minute.
    T1,
    /// 20+ per minute.
    T2,
    /// 50+ per minute.
    T3,
    /// 100+ per minute.
    T4,
    /// `chat.postMessage`: about 1 per second per conversation, plus a workspace cap.
    PostMessage,
}

impl Tier {
    /// Calls per minute.
    pub fn per_minute(self) -> u32 {
        match self {
            Tier::T1 => 1,
            Tier::T2 => 20,
            Tier::T3 => 50,
            Tier::T4 | Tier::PostMessage => 100,
        }
    }
}

/// A method: checks the request against the state, changes the state, answers.
type Method = fn(&mut SimState, &Params) -> MethodResult<Reply>;

/// What a method gives: its answer, or the error answer that ended it early.
pub type MethodResult<T> = Result<T, Reply>;

/// The methods the simulation implements, with their tiers (from Slack's method pages) and implementations.
const IMPLEMENTED: &[(&str, Tier, Method)] = &[
    ("oauth.v2.access", Tier::T4, auth::oauth_v2_access),
    // Slack documents auth.test as "Special" (generous); Tier 4 here.
    ("auth.test", Tier::T4, auth::auth_test),
    ("users.lookupByEmail", Tier::T3, users::lookup_by_email),
    ("users.list", Tier::T2, users::list),
    ("conversations.open", Tier::T3, conversations::open),
    ("chat.postMessage", Tier::PostMessage, chat::post_message),
    ("auth.revoke", Tier::T3, auth::auth_revoke),
    ("apps.uninstall", Tier::T1, auth::apps_uninstall),
    ("users.info", Tier::T4, users::info),
    // Tier 3 for an app approved for the Marketplace; Tier 1 otherwise (see `marketplace`).
    ("conversations.history", Tier::T3, history::history),
    ("conversations.replies", Tier::T3, history::replies),
    ("chat.update", Tier::T3, modify::update),
    ("chat.delete", Tier::T3, modify::delete),
    ("api.test", Tier::T4, auth::api_test),
    ("apps.manifest.validate", Tier::T3, apps::validate),
    ("apps.manifest.create", Tier::T1, apps::create),
];

/// The methods the simulation implements, with their tiers (from Slack's method pages).
pub const METHODS: &[(&str, Tier)] = &{
    let mut out = [("", Tier::T1); IMPLEMENTED.len()];
    let mut i = 0;
    while i < IMPLEMENTED.len() {
        out[i] = (IMPLEMENTED[i].0, IMPLEMENTED[i].1);
        i += 1;
    }
    out
};

/// A method of the simulation by name.
fn implemented(method: &str) -> Option<&'static (&'static str, Tier, Method)> {
    IMPLEMENTED.iter().find(|(m, _, _)| *m == method)
}

/// The tier of a method, if implemented.
pub fn tier(method: &str) -> Option<Tier> {
    implemented(method).map(|(_, t, _)| *t)
}

/// The tier of a method for `app`: its own, or Tier 1 where Slack slows an app not approved for the Marketplace.
pub fn app_tier(app: &App, method: &str) -> Option<Tier> {
    tier(method).map(|t| marketplace::tier_for(app, method, t))
}

/// Runs one implemented method against the state (`unknown_method` for any other). An answer to a call with a
/// working bot token carries the token's granted scopes, which Slack sends with every Web API answer in the
/// `x-oauth-scopes` header (bolt reads a bot's scopes from it after `auth.test`).
pub fn call(state: &mut SimState, method: &str, p: &Params) -> Reply {
    match implemented(method) {
        Some((_, _, run)) => {
            let mut reply = run(state, p).unwrap_or_else(|e| e);
            reply.oauth_scopes = authenticate(state, p).ok().map(|i| i.scopes.join(","));
            reply
        }
        None => Reply::err("unknown_method"),
    }
}

/// Checks the token; returns its installation.
fn authenticate(state: &SimState, p: &Params) -> MethodResult<Installation> {
    let Some(tok) = p.token.as_deref().filter(|t| !t.is_empty()) else {
        return Err(Reply::err("not_authed"));
    };
    if p.token_source == Some(TokenSource::Query) {
        return Err(Reply::err("invalid_auth"));
    }
    let Some(rec) = state.tokens.get(tok) else {
        return Err(Reply::err("invalid_auth"));
    };
    match rec.revoked {
        // auth.revoke deletes the token: Slack then answers invalid_auth, as for a token it never issued.
        Some(TokenRevocation::AuthRevoke) => return Err(Reply::err("invalid_auth")),
        // Slack: "token_revoked: … the app has been removed".
        Some(TokenRevocation::Uninstalled) => return Err(Reply::err("token_revoked")),
        None => {}
    }
    // A rotating token past its `expires_in`: Slack answers `token_expired` ("Authentication token has expired"),
    // HTTP 200, and clients refresh.
    if rec.expired(state.now()) {
        return Err(Reply::err("token_expired"));
    }
    let Some(inst) = state.installation_by_id(&rec.installation_id) else {
        return Err(Reply::err("invalid_auth"));
    };
    if !inst.active {
        return Err(Reply::err("token_revoked"));
    }
    Ok(inst.clone())
}

/// Whether the installation was granted `scope`.
fn has_scope(inst: &Installation, scope: &str) -> bool {
    inst.scopes.iter().any(|g| g == scope)
}

/// Checks scopes: `missing_scope` with `needed` and `provided` as Slack answers.
fn require_scopes(inst: &Installation, scopes: &[&str]) -> MethodResult<()> {
    let missing: Vec<&str> = scopes
        .iter()
        .copied()
        .filter(|s| !has_scope(inst, s))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut r = Reply::err("missing_scope");
    r.body["needed"] = missing.join(",").into();
    r.body["provided"] = inst.scopes.join(",").into();
    Err(r)
}

/// A pagination cursor: `prefix` and a position, in base64 (Slack's cursors are opaque base64 too).
fn encode_cursor(prefix: &str, position: &str) -> String {
    crate::b64::encode(format!("{prefix}{position}").as_bytes())
}

/// The position in a cursor made by [`encode_cursor`] with `prefix`.
fn decode_cursor(cursor: &str, prefix: &str) -> Option<String> {
    let text = String::from_utf8(crate::b64::decode(cursor)?).ok()?;
    text.strip_prefix(prefix).map(str::to_string)
}

/// Whether `c` is the DM of the installation's app with a member of its workspace (the only conversations the
/// simulated app can reach).
fn is_app_dm_of(state: &SimState, c: &Conversation, inst: &Installation) -> bool {
    c.kind == ConversationKind::AppDm
        && c.app_id.as_deref() == Some(inst.app_id.as_str())
        && in_workspace_of(state, &c.member_id, inst)
}

/// Whether the user `user_id` is in the installation's workspace (Slackbot is in every workspace); a user of
/// another workspace is as unknown to the app as one that does not exist.
fn in_workspace_of(state: &SimState, user_id: &str, inst: &Installation) -> bool {
    user_id == crate::ids::SLACKBOT_ID || state.workspace_of_user(user_id).team_id == inst.team_id
}
