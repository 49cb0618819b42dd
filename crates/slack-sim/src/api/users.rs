//! The `users.*` methods: `users.lookupByEmail`, `users.info`, `users.list`.

use serde_json::{Value, json};

use super::{
    MethodResult, Params, Reply, authenticate, decode_cursor, encode_cursor, has_scope,
    in_workspace_of, require_scopes,
};
use crate::objects::{all_user_ids, user_json, user_json_by_id};
use crate::state::SimState;

/// Where a `users.list` cursor points: the user ID it starts at.
const CURSOR_PREFIX: &str = "user:";

/// `users.lookupByEmail`: an active member by e-mail address.
pub fn lookup_by_email(state: &mut SimState, p: &Params) -> MethodResult<Reply> {
    let inst = authenticate(state, p)?;
    require_scopes(&inst, &["users:read.email"])?;
    let Some(email) = p.non_empty("email") else {
        return Err(Reply::err_msgs(
            "invalid_arguments",
            vec!["[ERROR] missing required field: email".into()],
        ));
    };
    // Slack matches e-mail addresses case-insensitively. A deactivated member is not found: "If the user has been
    // deactivated, users_not_found will be returned instead of a user object" (Slack's users.lookupByEmail page;
    // users.list still lists them, `deleted: true`).
    let member = state
        .installation_workspace(&inst)
        .members
        .iter()
        .find(|m| {
            !m.deleted
                && m.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(&email))
        });
    match member {
        Some(m) => Ok(Reply::ok(json!({"user": user_json(state, m, true)}))),
        None => Err(Reply::err("users_not_found")),
    }
}

/// A user object with its `locale` when the call asks `include_locale` (Slack's default, `en-US`, for users that
/// are not members).
fn with_locale(state: &SimState, mut user: Value, p: &Params) -> Value {
    if p.flag("include_locale") {
        let id = user["id"].as_str().unwrap_or_default();
        let locale = state.member(id).map_or("en-US", |m| m.locale.as_str());
        user["locale"] = Value::from(locale);
    }
    user
}

/// `users.info`: a user by ID (e-mail shown with `users:read.email`).
pub fn info(state: &mut SimState, p: &Params) -> MethodResult<Reply> {
    let inst = authenticate(state, p)?;
    require_scopes(&inst, &["users:read"])?;
    let with_email = has_scope(&inst, "users:read.email");
    p.non_empty("user")
        .filter(|user| in_workspace_of(state, user, &inst))
        .and_then(|user| user_json_by_id(state, &user, with_email, &inst.team_id))
        .map(|u| Reply::ok(json!({"user": with_locale(state, u, p)})))
        .ok_or_else(|| Reply::err("user_not_found"))
}

/// `users.list`: every user, a page at a time.
pub fn list(state: &mut SimState, p: &Params) -> MethodResult<Reply> {
    let inst = authenticate(state, p)?;
    require_scopes(&inst, &["users:read"])?;
    let with_email = has_scope(&inst, "users:read.email");
    // Slack: no limit (or 0) tries to return everything; the simulation caps pages at users_list_max_page.
    let limit = p.integer("limit")?.unwrap_or(0) as usize;
    let cap = state.config.users_list_max_page.max(1);
    let page = if limit == 0 { cap } else { limit.min(cap) };
    let users = all_user_ids(state, &inst.team_id);
    let start = match p.non_empty("cursor") {
        None => 0,
        Some(c) => decode_cursor(&c, CURSOR_PREFIX)
            .and_then(|id| users.iter().position(|u| *u == id))
            .ok_or_else(|| Reply::err("invalid_cursor"))?,
    };
    let end = (start + page).min(users.len());
    let next = match users.get(end) {
        Some(id) => encode_cursor(CURSOR_PREFIX, id),
        None => String::new(),
    };
    let members: Vec<Value> = users[start..end]
        .iter()
        .filter_map(|id| user_json_by_id(state, id, with_email, &inst.team_id))
        .map(|u| with_locale(state, u, p))
        .collect();
    Ok(Reply::ok(json!({
        "members": members,
        "cache_ts": state.now_secs(),
        "response_metadata": {"next_cursor": next},
    })))
}
