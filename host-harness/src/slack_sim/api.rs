//! The Web API under `/api/METHOD`: request decoding as Slack does it, the methods, and Slack's envelope.
//!
//! Where Slack's current documentation differs from the OpenAPI file in `shared/slack/` (a 2021 snapshot),
//! the documentation is followed; each such place says so.

use serde_json::{Map, Value, json};

use super::blocks;
use super::model::*;
use super::state::{CODE_TTL_SECS, OAuthCode, SLACKBOT_ID, State};

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

/// The methods the simulation implements, with their tiers (from Slack's method pages).
pub const METHODS: &[(&str, Tier)] = &[
    ("oauth.v2.access", Tier::T4),
    // Slack documents auth.test as "Special" (generous); Tier 4 here.
    ("auth.test", Tier::T4),
    ("users.lookupByEmail", Tier::T3),
    ("users.list", Tier::T2),
    ("conversations.open", Tier::T3),
    ("chat.postMessage", Tier::PostMessage),
    ("auth.revoke", Tier::T3),
    ("apps.uninstall", Tier::T1),
    ("users.info", Tier::T4),
    ("conversations.history", Tier::T3),
];

/// The tier of a method, if implemented.
pub fn tier(method: &str) -> Option<Tier> {
    METHODS.iter().find(|(m, _)| *m == method).map(|(_, t)| *t)
}

/// Decoded request parameters.
#[derive(Debug, Default, Clone)]
pub struct Params {
    /// Query and body fields (form values are strings; JSON values keep their type).
    pub map: Map<String, Value>,
    /// Token from `Authorization: Bearer` or a `token` field.
    pub token: Option<String>,
    /// Where the token came from.
    pub auth_src: Option<&'static str>,
    /// HTTP Basic credentials.
    pub basic: Option<(String, String)>,
    /// Warnings to add to the answer (e.g. `missing_charset`).
    pub warnings: Vec<&'static str>,
}

impl Params {
    /// A field as a string (numbers and booleans converted; null is absent).
    pub fn s(&self, k: &str) -> Option<String> {
        match self.map.get(k)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// A non-empty string field.
    pub fn ne(&self, k: &str) -> Option<String> {
        self.s(k).filter(|s| !s.is_empty())
    }

    /// A boolean flag: `true`, `1`.
    pub fn flag(&self, k: &str) -> bool {
        match self.map.get(k) {
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_i64() == Some(1),
            Some(Value::String(s)) => s == "1" || s.eq_ignore_ascii_case("true"),
            _ => false,
        }
    }
}

/// Decodes the request the way Slack does. `Err` is an early Slack error code.
pub fn decode(
    http_method: &http::Method,
    headers: &http::HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<Params, Box<(Params, &'static str)>> {
    let mut p = Params::default();
    if let Some(q) = query {
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            p.map.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    }
    if let Some(auth) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let auth = auth.trim();
        if let Some(t) = auth
            .strip_prefix("Bearer ")
            .or_else(|| auth.strip_prefix("bearer "))
        {
            p.token = Some(t.trim().to_string());
            p.auth_src = Some("header");
        } else if let Some(b) = auth
            .strip_prefix("Basic ")
            .or_else(|| auth.strip_prefix("basic "))
            && let Some(dec) = super::b64::decode(b.trim()).and_then(|d| String::from_utf8(d).ok())
            && let Some((id, secret)) = dec.split_once(':')
        {
            p.basic = Some((id.to_string(), secret.to_string()));
        }
    }
    let mut json_body = false;
    if *http_method == http::Method::POST && !body.is_empty() {
        let ct = headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.to_ascii_lowercase());
        let Some(ct) = ct else {
            return Err(Box::new((p, "missing_post_type")));
        };
        let mut parts = ct.split(';').map(str::trim);
        let mime = parts.next().unwrap_or("");
        let charset = parts
            .find_map(|x| x.strip_prefix("charset="))
            .map(|c| c.trim_matches('"').to_string());
        if let Some(cs) = &charset
            && cs != "utf-8"
            && cs != "utf8"
        {
            return Err(Box::new((p, "invalid_charset")));
        }
        match mime {
            "application/json" => {
                json_body = true;
                if charset.is_none() {
                    // Slack answers JSON posted without a charset with a `missing_charset` warning.
                    p.warnings.push("missing_charset");
                }
                let v: Value = match serde_json::from_slice(body) {
                    Ok(v) => v,
                    Err(_) => return Err(Box::new((p, "invalid_json"))),
                };
                let Value::Object(obj) = v else {
                    return Err(Box::new((p, "json_not_object")));
                };
                for (k, v) in obj {
                    p.map.insert(k, v);
                }
            }
            "application/x-www-form-urlencoded" => {
                if std::str::from_utf8(body).is_err() {
                    return Err(Box::new((p, "invalid_form_data")));
                }
                for (k, v) in form_urlencoded::parse(body) {
                    p.map.insert(k.into_owned(), Value::String(v.into_owned()));
                }
            }
            // multipart/form-data is accepted by Slack but not simulated.
            "multipart/form-data" => return Err(Box::new((p, "invalid_form_data"))),
            _ => return Err(Box::new((p, "invalid_post_type"))),
        }
    }
    if p.token.is_none() {
        // With a JSON body Slack takes the token only from the Authorization header.
        let from_field = if json_body {
            None
        } else {
            p.map
                .get("token")
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        if let Some(t) = from_field.filter(|t| !t.is_empty()) {
            p.token = Some(t);
            p.auth_src = Some("param");
        }
    }
    Ok(p)
}

/// A Web API answer before it becomes HTTP.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
    /// `Retry-After` seconds.
    pub retry_after: Option<u64>,
    /// Things to do once the state lock is released.
    pub effects: Vec<Effect>,
}

/// Work left for after the answer is computed (outbound requests).
#[derive(Debug, Clone)]
pub enum Effect {
    /// The app was uninstalled: send `tokens_revoked` and `app_uninstalled`.
    Uninstalled(Installation),
    /// A bot token was revoked by `auth.revoke`: send `tokens_revoked`.
    TokenRevoked(Installation),
}

impl Reply {
    /// `{"ok":true, …fields}`.
    pub fn ok(fields: Value) -> Reply {
        let mut body = json!({"ok": true});
        if let (Value::Object(b), Value::Object(f)) = (&mut body, fields) {
            b.extend(f);
        }
        Reply {
            status: 200,
            body,
            retry_after: None,
            effects: Vec::new(),
        }
    }

    /// `{"ok":false,"error":code}`.
    pub fn err(code: &str) -> Reply {
        Reply {
            status: 200,
            body: json!({"ok": false, "error": code}),
            retry_after: None,
            effects: Vec::new(),
        }
    }

    /// An error with `response_metadata.messages`.
    pub fn err_msgs(code: &str, messages: Vec<String>) -> Reply {
        let mut r = Reply::err(code);
        r.body["response_metadata"] = json!({ "messages": messages });
        r
    }

    /// HTTP 429 `ratelimited`.
    pub fn ratelimited(retry_after: u64) -> Reply {
        Reply {
            status: 429,
            body: json!({"ok": false, "error": "ratelimited"}),
            retry_after: Some(retry_after.max(1)),
            effects: Vec::new(),
        }
    }

    /// Adds warnings as Slack does: `warning` (comma-separated) and `response_metadata.warnings`.
    pub fn add_warnings(&mut self, warnings: &[&str]) {
        if warnings.is_empty() {
            return;
        }
        self.body["warning"] = Value::String(warnings.join(","));
        let rm = self
            .body
            .as_object_mut()
            .unwrap()
            .entry("response_metadata")
            .or_insert_with(|| json!({}));
        if let Value::Object(rm) = rm {
            rm.insert("warnings".into(), json!(warnings));
        }
    }
}

type R<T> = Result<T, Reply>;

/// Checks the token; returns the installation.
fn authed(st: &State, p: &Params) -> R<Installation> {
    let Some(tok) = p.token.as_deref().filter(|t| !t.is_empty()) else {
        return Err(Reply::err("not_authed"));
    };
    let Some(rec) = st.tokens.get(tok) else {
        return Err(Reply::err("invalid_auth"));
    };
    match rec.revoked {
        // auth.revoke deletes the token: Slack then answers invalid_auth, as for a token it never issued.
        Some(TokenRevocation::AuthRevoke) => return Err(Reply::err("invalid_auth")),
        // Slack: "token_revoked: … the app has been removed".
        Some(TokenRevocation::Uninstalled) => return Err(Reply::err("token_revoked")),
        None => {}
    }
    let Some(inst) = st.installation_by_id(&rec.installation_id) else {
        return Err(Reply::err("invalid_auth"));
    };
    if !inst.active {
        return Err(Reply::err("token_revoked"));
    }
    Ok(inst.clone())
}

/// Checks scopes: `missing_scope` with `needed` and `provided` as Slack answers.
fn need(inst: &Installation, scopes: &[&str]) -> R<()> {
    let missing: Vec<&str> = scopes
        .iter()
        .copied()
        .filter(|s| !inst.scopes.iter().any(|g| g == s))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut r = Reply::err("missing_scope");
    r.body["needed"] = Value::String(missing.join(","));
    r.body["provided"] = Value::String(inst.scopes.join(","));
    Err(r)
}

/// Runs one implemented method against the state.
pub fn call(st: &mut State, method: &str, p: &Params) -> Reply {
    let r = match method {
        "oauth.v2.access" => oauth_v2_access(st, p),
        "auth.test" => auth_test(st, p),
        "users.lookupByEmail" => users_lookup_by_email(st, p),
        "users.list" => users_list(st, p),
        "conversations.open" => conversations_open(st, p),
        "chat.postMessage" => chat_post_message(st, p),
        "auth.revoke" => auth_revoke(st, p),
        "apps.uninstall" => apps_uninstall(st, p),
        "users.info" => users_info(st, p),
        "conversations.history" => conversations_history(st, p),
        _ => Err(Reply::err("unknown_method")),
    };
    r.unwrap_or_else(|e| e)
}

// ---------------------------------------------------------------------------------------------------------
// oauth.v2.access
//
// The OpenAPI file describes only `{ok}`; Slack's docs give the v2 shape returned here and the errors
// bad_client_secret, bad_redirect_uri, invalid_client_id, invalid_code, invalid_grant_type. A code that is
// unknown, expired (10 minutes) or already used is `invalid_code`.

fn oauth_v2_access(st: &mut State, p: &Params) -> R<Reply> {
    let (cid, secret) = match &p.basic {
        Some((id, s)) => (Some(id.clone()), Some(s.clone())),
        None => (p.ne("client_id"), p.ne("client_secret")),
    };
    let app = st.config.app.clone();
    if cid.as_deref() != Some(app.client_id.as_str()) {
        return Err(Reply::err("invalid_client_id"));
    }
    if secret.as_deref() != Some(app.client_secret.as_str()) {
        return Err(Reply::err("bad_client_secret"));
    }
    if let Some(g) = p.ne("grant_type")
        && g != "authorization_code"
    {
        return Err(Reply::err("invalid_grant_type"));
    }
    let Some(code) = p.ne("code") else {
        return Err(Reply::err("invalid_code"));
    };
    let now = st.now();
    let Some(c) = st.codes.get(&code).cloned() else {
        return Err(Reply::err("invalid_code"));
    };
    if c.used || now - c.created > CODE_TTL_SECS || c.client_id != app.client_id {
        return Err(Reply::err("invalid_code"));
    }
    if let Some(given) = p.ne("redirect_uri") {
        let matches = match &c.redirect_uri {
            Some(r) => *r == given,
            None => app.redirect_urls.contains(&given),
        };
        if !matches {
            return Err(Reply::err("bad_redirect_uri"));
        }
    }
    let OAuthCode {
        installation_id,
        member_id,
        ..
    } = c;
    if let Some(c) = st.codes.get_mut(&code) {
        c.used = true;
    }
    let Some(inst) = st.installation_by_id(&installation_id).cloned() else {
        return Err(Reply::err("invalid_code"));
    };
    let Some(token) = inst.bot_token.clone().filter(|_| inst.active) else {
        return Err(Reply::err("invalid_code"));
    };
    Ok(Reply::ok(json!({
        "app_id": inst.app_id,
        "authed_user": {"id": member_id},
        "scope": inst.scopes.join(","),
        "token_type": "bot",
        "access_token": token,
        "bot_user_id": inst.bot_user_id,
        "team": {"id": st.config.workspace.team_id, "name": st.config.workspace.team_name},
        "enterprise": null,
        "is_enterprise_install": false,
    })))
}

// ---------------------------------------------------------------------------------------------------------
// auth.test, auth.revoke, apps.uninstall

fn auth_test(st: &mut State, p: &Params) -> R<Reply> {
    let inst = authed(st, p)?;
    let ws = &st.config.workspace;
    Ok(Reply::ok(json!({
        "url": format!("https://{}.slack.com/", ws.domain),
        "team": ws.team_name,
        "user": st.bot_name(),
        "team_id": ws.team_id,
        "user_id": inst.bot_user_id,
        "bot_id": inst.bot_id,
        "is_enterprise_install": false,
    })))
}

fn auth_revoke(st: &mut State, p: &Params) -> R<Reply> {
    let inst = authed(st, p)?;
    if p.flag("test") {
        return Ok(Reply::ok(json!({"revoked": false})));
    }
    let tok = p.token.clone().unwrap_or_default();
    if let Some(t) = st.tokens.get_mut(&tok) {
        t.revoked = Some(TokenRevocation::AuthRevoke);
    }
    if let Some(i) = st.installations.iter_mut().find(|i| i.id == inst.id)
        && i.bot_token.as_deref() == Some(tok.as_str())
    {
        i.bot_token = None;
    }
    let mut r = Reply::ok(json!({"revoked": true}));
    r.effects.push(Effect::TokenRevoked(inst));
    Ok(r)
}

fn apps_uninstall(st: &mut State, p: &Params) -> R<Reply> {
    let app = st.config.app.clone();
    let (cid, secret) = match &p.basic {
        Some((id, s)) => (Some(id.clone()), Some(s.clone())),
        None => (p.ne("client_id"), p.ne("client_secret")),
    };
    if cid.as_deref() != Some(app.client_id.as_str()) {
        return Err(Reply::err("invalid_client_id"));
    }
    if secret.as_deref() != Some(app.client_secret.as_str()) {
        return Err(Reply::err("bad_client_secret"));
    }
    let inst = authed(st, p)?;
    if inst.app_id != app.app_id {
        return Err(Reply::err("client_id_token_mismatch"));
    }
    let Some(before) = st.uninstall() else {
        return Err(Reply::err("token_revoked"));
    };
    let mut r = Reply::ok(json!({}));
    r.effects.push(Effect::Uninstalled(before));
    Ok(r)
}

// ---------------------------------------------------------------------------------------------------------
// users.*

/// A member in Slack's user object shape.
pub fn user_json(st: &State, m: &Member, with_email: bool) -> Value {
    let now = st.now_secs();
    let (tz_label, tz_offset) = super::tz::label_and_offset(&m.tz, now);
    let image = |size: u32| format!("{}/_sim/static/avatar/{}_{size}.png", st.base_url, m.id);
    let display = if m.is_bot {
        m.real_name.clone()
    } else {
        m.name.clone()
    };
    let mut profile = json!({
        "title": "",
        "phone": "",
        "skype": "",
        "real_name": m.real_name,
        "real_name_normalized": m.real_name,
        "display_name": display,
        "display_name_normalized": display,
        "fields": {},
        "status_text": "",
        "status_emoji": "",
        "status_expiration": 0,
        "avatar_hash": format!("{:012x}", fnv(&m.id) & 0xffff_ffff_ffff),
        "image_24": image(24),
        "image_32": image(32),
        "image_48": image(48),
        "image_72": image(72),
        "image_192": image(192),
        "image_512": image(512),
        "team": st.config.workspace.team_id,
    });
    if with_email && let Some(e) = &m.email {
        profile["email"] = Value::String(e.clone());
    }
    json!({
        "id": m.id,
        "team_id": st.config.workspace.team_id,
        "name": m.name,
        "deleted": m.deleted,
        "color": format!("{:06x}", fnv(&m.name) & 0xff_ffff),
        "real_name": m.real_name,
        "tz": m.tz,
        "tz_label": tz_label,
        "tz_offset": tz_offset,
        "profile": profile,
        "is_admin": m.is_admin,
        "is_owner": false,
        "is_primary_owner": false,
        "is_restricted": false,
        "is_ultra_restricted": false,
        "is_bot": m.is_bot,
        "is_app_user": false,
        "updated": 1_700_000_000,
        "is_email_confirmed": m.email.is_some(),
        "has_2fa": false,
    })
}

/// Slackbot as `users.list` shows it (`is_bot` is false for Slackbot, as in Slack).
fn slackbot_member() -> Member {
    Member {
        id: SLACKBOT_ID.into(),
        name: "slackbot".into(),
        real_name: "Slackbot".into(),
        email: None,
        tz: "America/Los_Angeles".into(),
        deleted: false,
        is_bot: false,
        is_admin: false,
    }
}

/// The app's bot user.
fn bot_user_json(st: &State, inst: &Installation) -> Value {
    let m = Member {
        id: inst.bot_user_id.clone(),
        name: st.bot_name(),
        real_name: st.config.app.name.clone(),
        email: None,
        tz: "America/Los_Angeles".into(),
        deleted: !inst.active,
        is_bot: true,
        is_admin: false,
    };
    let mut v = user_json(st, &m, false);
    v["profile"]["bot_id"] = Value::String(inst.bot_id.clone());
    v["profile"]["api_app_id"] = Value::String(inst.app_id.clone());
    v["profile"]["always_active"] = Value::Bool(true);
    v
}

fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// The ids of all users in `users.list` order: Slackbot, the members, the app's bot users.
fn all_user_ids(st: &State) -> Vec<String> {
    std::iter::once(SLACKBOT_ID.to_string())
        .chain(st.config.workspace.members.iter().map(|m| m.id.clone()))
        .chain(st.installations.iter().map(|i| i.bot_user_id.clone()))
        .collect()
}

/// A user's JSON by id (Slackbot, a member or an app's bot user).
fn user_json_by_id(st: &State, id: &str, with_email: bool) -> Option<Value> {
    if id == SLACKBOT_ID {
        return Some(user_json(st, &slackbot_member(), false));
    }
    if let Some(m) = st.member(id) {
        return Some(user_json(st, m, with_email));
    }
    st.installations
        .iter()
        .find(|i| i.bot_user_id == id)
        .map(|i| bot_user_json(st, i))
}

fn users_lookup_by_email(st: &mut State, p: &Params) -> R<Reply> {
    let inst = authed(st, p)?;
    need(&inst, &["users:read.email"])?;
    let Some(email) = p.ne("email") else {
        return Err(Reply::err_msgs(
            "invalid_arguments",
            vec!["[ERROR] missing required field: email".into()],
        ));
    };
    // Slack matches e-mail addresses case-insensitively. Deleted members are found too (deleted: true).
    let m = st
        .config
        .workspace
        .members
        .iter()
        .find(|m| {
            m.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(&email))
        })
        .cloned();
    match m {
        Some(m) => Ok(Reply::ok(json!({"user": user_json(st, &m, true)}))),
        None => Err(Reply::err("users_not_found")),
    }
}

fn users_info(st: &mut State, p: &Params) -> R<Reply> {
    let inst = authed(st, p)?;
    need(&inst, &["users:read"])?;
    let with_email = inst.scopes.iter().any(|s| s == "users:read.email");
    let Some(user) = p.ne("user") else {
        return Err(Reply::err("user_not_found"));
    };
    match user_json_by_id(st, &user, with_email) {
        Some(u) => Ok(Reply::ok(json!({"user": u}))),
        None => Err(Reply::err("user_not_found")),
    }
}

/// Parses a positive integer parameter; `Err` on garbage.
fn int_param(p: &Params, k: &str) -> R<Option<u64>> {
    match p.map.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| {
            Reply::err_msgs(
                "invalid_arguments",
                vec![format!("[ERROR] invalid value for {k}")],
            )
        }),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse::<u64>().map(Some).map_err(|_| {
            Reply::err_msgs(
                "invalid_arguments",
                vec![format!("[ERROR] invalid value for {k}")],
            )
        }),
        Some(_) => Err(Reply::err_msgs(
            "invalid_arguments",
            vec![format!("[ERROR] invalid value for {k}")],
        )),
    }
}

fn users_list(st: &mut State, p: &Params) -> R<Reply> {
    let inst = authed(st, p)?;
    need(&inst, &["users:read"])?;
    let with_email = inst.scopes.iter().any(|s| s == "users:read.email");
    // Slack: no limit (or 0) tries to return everything; the simulation caps pages at users_list_max_page.
    let limit = int_param(p, "limit")?.unwrap_or(0) as usize;
    let cap = st.config.users_list_max_page.max(1);
    let page = if limit == 0 { cap } else { limit.min(cap) };
    let users = all_user_ids(st);
    let start = match p.ne("cursor") {
        None => 0,
        Some(c) => {
            let id = super::b64::decode(&c)
                .and_then(|d| String::from_utf8(d).ok())
                .and_then(|s| s.strip_prefix("user:").map(str::to_string));
            match id.and_then(|id| users.iter().position(|u| *u == id)) {
                Some(i) => i,
                None => return Err(Reply::err("invalid_cursor")),
            }
        }
    };
    let end = (start + page).min(users.len());
    let next = if end < users.len() {
        super::b64::encode(format!("user:{}", users[end]).as_bytes())
    } else {
        String::new()
    };
    let members: Vec<Value> = users[start..end]
        .iter()
        .filter_map(|id| user_json_by_id(st, id, with_email))
        .collect();
    Ok(Reply::ok(json!({
        "members": members,
        "cache_ts": st.now_secs(),
        "response_metadata": {"next_cursor": next},
    })))
}

// ---------------------------------------------------------------------------------------------------------
// conversations.open, conversations.history

fn im_json(st: &State, conv_id: &str) -> Value {
    let c = st.conversation(conv_id).expect("conversation exists");
    let deleted = st.member(&c.member_id).map(|m| m.deleted).unwrap_or(false);
    json!({
        "id": c.id,
        "created": c.created,
        "is_im": true,
        "is_org_shared": false,
        "user": c.member_id,
        "is_user_deleted": deleted,
        "priority": 0,
        "last_read": "0000000000.000000",
        "unread_count": 0,
        "unread_count_display": 0,
        "is_open": true,
    })
}

fn conversations_open(st: &mut State, p: &Params) -> R<Reply> {
    let inst = authed(st, p)?;
    // Slack's current docs: a bot token opening a 1:1 DM needs im:write (the 2021 file says conversations:write).
    need(&inst, &["im:write"])?;
    let return_im = p.flag("return_im");
    let conv_id = if let Some(users) = p.ne("users") {
        let ids: Vec<&str> = users
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if ids.is_empty() {
            return Err(Reply::err("users_list_not_supplied"));
        }
        if ids.len() > 8 {
            return Err(Reply::err("too_many_users"));
        }
        if ids.len() > 1 {
            // Multi-person DMs are not simulated.
            return Err(Reply::err("not_supported_in_simulation"));
        }
        let uid = ids[0];
        if uid == inst.bot_user_id || uid == SLACKBOT_ID {
            return Err(Reply::err("cannot_dm_bot"));
        }
        let Some(m) = st.member(uid).cloned() else {
            return Err(Reply::err("user_not_found"));
        };
        if m.deleted {
            return Err(Reply::err("user_disabled"));
        }
        if m.is_bot {
            return Err(Reply::err("cannot_dm_bot"));
        }
        st.app_dm(uid)
    } else if let Some(ch) = p.ne("channel") {
        let ok = st.conversation(&ch).is_some_and(|c| {
            c.kind == ConversationKind::AppDm && c.app_id.as_deref() == Some(inst.app_id.as_str())
        });
        if !ok {
            return Err(Reply::err("channel_not_found"));
        }
        (ch, true)
    } else {
        return Err(Reply::err("users_list_not_supplied"));
    };
    let (id, existed) = conv_id;
    let channel = if return_im {
        im_json(st, &id)
    } else {
        json!({"id": id})
    };
    let mut out = json!({"channel": channel});
    if existed {
        out["no_op"] = Value::Bool(true);
        out["already_open"] = Value::Bool(true);
    }
    Ok(Reply::ok(out))
}

fn parse_ts(s: &str) -> Option<i64> {
    let (a, b) = s.split_once('.').unwrap_or((s, "0"));
    if a.is_empty()
        || !a.bytes().all(|c| c.is_ascii_digit())
        || !b.bytes().all(|c| c.is_ascii_digit())
        || a.len() > 12
    {
        return None;
    }
    let mut frac = b.to_string();
    frac.truncate(6);
    while frac.len() < 6 {
        frac.push('0');
    }
    Some(a.parse::<i64>().ok()? * 1_000_000 + frac.parse::<i64>().ok()?)
}

/// A stored message in Slack's message shape (as `chat.postMessage` and `conversations.history` answer).
pub fn message_json(st: &State, m: &Message, with_metadata: bool) -> Value {
    let mut v = json!({"type": "message", "text": m.text, "ts": m.ts});
    match &m.sender {
        Sender::App {
            app_id,
            bot_id,
            bot_user_id,
        } => {
            v["user"] = json!(bot_user_id);
            v["bot_id"] = json!(bot_id);
            v["app_id"] = json!(app_id);
            let icon = |n: u32| format!("{}/_sim/static/app_{n}.png", st.base_url);
            v["bot_profile"] = json!({
                "id": bot_id,
                "deleted": false,
                "name": st.config.app.name,
                "updated": 1_700_000_000,
                "app_id": app_id,
                "icons": {"image_36": icon(36), "image_48": icon(48), "image_72": icon(72)},
                "team_id": st.config.workspace.team_id,
            });
        }
        Sender::Slackbot => {
            v["user"] = json!(SLACKBOT_ID);
        }
    }
    v["team"] = json!(st.config.workspace.team_id);
    if let Some(b) = &m.blocks {
        v["blocks"] = b.clone();
    }
    if let Some(a) = &m.attachments {
        v["attachments"] = a.clone();
    }
    if let Some(u) = &m.username {
        v["username"] = json!(u);
    }
    if let Some(e) = &m.icon_emoji {
        v["icons"] = json!({"emoji": e});
    } else if let Some(u) = &m.icon_url {
        v["icons"] = json!({"image_64": u});
    }
    if let Some(t) = &m.thread_ts {
        v["thread_ts"] = json!(t);
    }
    if with_metadata && let Some(md) = &m.metadata {
        v["metadata"] = md.clone();
    }
    v
}

fn conversations_history(st: &mut State, p: &Params) -> R<Reply> {
    let inst = authed(st, p)?;
    let Some(ch) = p.ne("channel") else {
        return Err(Reply::err("channel_not_found"));
    };
    let Some(conv) = st
        .conversation(&ch)
        .filter(|c| {
            c.kind == ConversationKind::AppDm && c.app_id.as_deref() == Some(inst.app_id.as_str())
        })
        .cloned()
    else {
        return Err(Reply::err("channel_not_found"));
    };
    need(&inst, &["im:history"])?;
    let latest = match p.ne("latest") {
        Some(s) => Some(parse_ts(&s).ok_or_else(|| Reply::err("invalid_ts_latest"))?),
        None => None,
    };
    let oldest = match p.ne("oldest") {
        Some(s) => Some(parse_ts(&s).ok_or_else(|| Reply::err("invalid_ts_oldest"))?),
        None => None,
    };
    let inclusive = p.flag("inclusive");
    // Slack: default 100, at most 999.
    let limit = int_param(p, "limit")?.unwrap_or(100);
    let limit = if limit == 0 { 100 } else { limit.min(999) } as usize;
    let cursor = match p.ne("cursor") {
        Some(c) => Some(
            super::b64::decode(&c)
                .and_then(|d| String::from_utf8(d).ok())
                .and_then(|s| s.strip_prefix("next_ts:").and_then(parse_ts))
                .ok_or_else(|| Reply::err("invalid_cursor"))?,
        ),
        None => None,
    };
    let with_md = p.flag("include_all_metadata");
    let mut msgs: Vec<&Message> = conv
        .messages
        .iter()
        .filter(|m| {
            let t = parse_ts(&m.ts).unwrap_or(0);
            latest.is_none_or(|l| if inclusive { t <= l } else { t < l })
                && oldest.is_none_or(|o| if inclusive { t >= o } else { t > o })
                && cursor.is_none_or(|c| t <= c)
        })
        .collect();
    msgs.sort_by_key(|m| std::cmp::Reverse(parse_ts(&m.ts).unwrap_or(0)));
    let has_more = msgs.len() > limit;
    let next = if has_more {
        Some(super::b64::encode(
            format!("next_ts:{}", msgs[limit].ts).as_bytes(),
        ))
    } else {
        None
    };
    let page: Vec<Value> = msgs
        .iter()
        .take(limit)
        .map(|m| message_json(st, m, with_md))
        .collect();
    let mut out = json!({
        "messages": page,
        "has_more": has_more,
        "pin_count": 0,
        "channel_actions_ts": null,
        "channel_actions_count": 0,
    });
    if let Some(n) = next {
        out["response_metadata"] = json!({"next_cursor": n});
    }
    Ok(Reply::ok(out))
}

// ---------------------------------------------------------------------------------------------------------
// chat.postMessage

/// Where a post lands.
enum Target {
    AppDm(String),
    Slackbot(String),
}

fn chat_post_message(st: &mut State, p: &Params) -> R<Reply> {
    let inst = authed(st, p)?;
    let username = p.ne("username");
    let icon_url = p.ne("icon_url");
    let icon_emoji = p.ne("icon_emoji");
    let customised = username.is_some() || icon_url.is_some() || icon_emoji.is_some();
    need(&inst, &["chat:write"])?;
    if customised {
        need(&inst, &["chat:write.customize"])?;
    }
    let Some(channel) = p.ne("channel") else {
        return Err(Reply::err("channel_not_found"));
    };
    let target = resolve_post_target(st, &inst, &channel, customised)?;
    if let Target::AppDm(_) = target
        && !st.config.app.messages_tab_enabled
    {
        return Err(Reply::err("messages_tab_disabled"));
    }
    // Content.
    let text = p.s("text").unwrap_or_default();
    let blocks = match p.map.get("blocks") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(v) => Some(v),
            Err(_) => return Err(Reply::err("invalid_blocks_format")),
        },
        Some(v) => Some(v.clone()),
    };
    if let Some(b) = &blocks {
        if !b.is_array() {
            return Err(Reply::err("invalid_blocks_format"));
        }
        let errs = blocks::validate(b);
        if !errs.is_empty() {
            return Err(Reply::err_msgs("invalid_blocks", errs));
        }
    }
    let blocks = blocks.filter(|b| b.as_array().is_some_and(|a| !a.is_empty()));
    let attachments = match p.map.get("attachments") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(v @ Value::Array(_)) => Some(v),
            _ => return Err(Reply::err("invalid_attachments")),
        },
        Some(v @ Value::Array(_)) => Some(v.clone()),
        Some(_) => return Err(Reply::err("invalid_attachments")),
    };
    let attachments = attachments.filter(|a| a.as_array().is_some_and(|a| !a.is_empty()));
    if text.trim().is_empty() && blocks.is_none() && attachments.is_none() {
        return Err(Reply::err("no_text"));
    }
    if text.chars().count() > 40_000 {
        return Err(Reply::err("msg_too_long"));
    }
    let metadata = match p.map.get("metadata") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(
            serde_json::from_str::<Value>(s).map_err(|_| Reply::err("invalid_metadata_format"))?,
        ),
        Some(v) => Some(v.clone()),
    };
    if let Some(md) = &metadata {
        let ok = md
            .get("event_type")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
            && md.get("event_payload").is_some_and(Value::is_object);
        if !ok {
            return Err(Reply::err("invalid_metadata_format"));
        }
    }
    let conv_id = match &target {
        Target::AppDm(id) | Target::Slackbot(id) => id.clone(),
    };
    let ts = st.new_ts();
    let msg = Message {
        ts: ts.clone(),
        channel: conv_id.clone(),
        sender: Sender::App {
            app_id: inst.app_id.clone(),
            bot_id: inst.bot_id.clone(),
            bot_user_id: inst.bot_user_id.clone(),
        },
        text,
        blocks,
        attachments,
        username,
        icon_url,
        icon_emoji,
        metadata: metadata
            .map(|m| json!({"event_type": m["event_type"], "event_payload": m["event_payload"]})),
        thread_ts: p.ne("thread_ts"),
    };
    let mjson = message_json(st, &msg, false);
    if let Some(c) = st.conversation_mut(&conv_id) {
        c.messages.push(msg);
    }
    Ok(Reply::ok(
        json!({"channel": conv_id, "ts": ts, "message": mjson}),
    ))
}

/// Where a post to `channel` lands. A user ID with a custom name or icon lands in the user's Slackbot
/// conversation (Slack's behaviour); without, in the app's DM.
fn resolve_post_target(
    st: &mut State,
    inst: &Installation,
    channel: &str,
    customised: bool,
) -> R<Target> {
    if channel.starts_with('U') || channel.starts_with('W') {
        let Some(m) = st.member(channel).cloned() else {
            return Err(Reply::err("channel_not_found"));
        };
        if m.deleted || m.is_bot {
            return Err(Reply::err("channel_not_found"));
        }
        if customised {
            return Ok(Target::Slackbot(st.slackbot_dm(channel)));
        }
        return Ok(Target::AppDm(st.app_dm(channel).0));
    }
    match st.conversation(channel) {
        Some(c)
            if c.kind == ConversationKind::AppDm
                && c.app_id.as_deref() == Some(inst.app_id.as_str()) =>
        {
            Ok(Target::AppDm(c.id.clone()))
        }
        _ => Err(Reply::err("channel_not_found")),
    }
}

/// The conversation a `chat.postMessage` is rate-limited on, whether it is named by its D id or by the
/// member's U id (the same key before and after the DM exists): `app:{member}`, `slackbot:{member}`, or the
/// channel as given.
pub fn post_rate_key(st: &State, p: &Params) -> String {
    let ch = p.s("channel").unwrap_or_default();
    if ch.starts_with('U') || ch.starts_with('W') {
        let custom = p.ne("username").is_some()
            || p.ne("icon_url").is_some()
            || p.ne("icon_emoji").is_some();
        return if custom {
            format!("slackbot:{ch}")
        } else {
            format!("app:{ch}")
        };
    }
    match st.conversation(&ch) {
        Some(c) if c.kind == ConversationKind::AppDm => format!("app:{}", c.member_id),
        Some(c) => format!("slackbot:{}", c.member_id),
        None => ch,
    }
}

/// Known Slack scopes accepted on the authorize page (bot scopes).
pub const KNOWN_SCOPES: &[&str] = &[
    "app_mentions:read",
    "channels:history",
    "channels:join",
    "channels:manage",
    "channels:read",
    "chat:write",
    "chat:write.customize",
    "chat:write.public",
    "commands",
    "emoji:read",
    "files:read",
    "files:write",
    "groups:history",
    "groups:read",
    "groups:write",
    "im:history",
    "im:read",
    "im:write",
    "incoming-webhook",
    "links:read",
    "links:write",
    "metadata.message:read",
    "mpim:history",
    "mpim:read",
    "mpim:write",
    "pins:read",
    "pins:write",
    "reactions:read",
    "reactions:write",
    "team:read",
    "usergroups:read",
    "users.profile:read",
    "users:read",
    "users:read.email",
    "users:write",
];

/// Splits a scope list (Slack uses commas; spaces are tolerated).
pub fn split_scopes(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s
        .split([',', ' '])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Reduces a secret to its prefix for the call log.
pub fn redact(s: &str) -> String {
    let keep: String = s.chars().take(5).collect();
    format!("{keep}…")
}
