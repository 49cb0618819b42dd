//! The simulation's records in the shapes of Slack's objects (`objs_message`, `objs_user`, the `im` of
//! `conversations.open`), as the Web API answers them and as the payloads sent to the app carry them.

use serde_json::{Value, json};

use crate::ids::SLACKBOT_ID;
use crate::model::{Conversation, Installation, Member, Message, Sender};
use crate::state::SimState;
use crate::tz;

/// The `updated` time Slack gives bot profiles and users (a fixed time: the simulation never edits them).
const UPDATED: i64 = 1_700_000_000;

/// A stored message in Slack's message shape (as `chat.postMessage` and `conversations.history` answer).
pub fn message_json(state: &SimState, m: &Message, with_metadata: bool) -> Value {
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
            let icon = |n: u32| format!("{}/_sim/static/app_{n}.png", state.base_url);
            v["bot_profile"] = json!({
                "id": bot_id,
                "deleted": false,
                "name": state.config.app.name,
                "updated": UPDATED,
                "app_id": app_id,
                "icons": {"image_36": icon(36), "image_48": icon(48), "image_72": icon(72)},
                "team_id": state.workspace_of_user(bot_user_id).team_id,
            });
        }
        Sender::Slackbot => {
            v["user"] = json!(SLACKBOT_ID);
        }
    }
    v["team"] = json!(state.workspace_of_conversation(&m.channel).team_id);
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
    if let Some(e) = &m.edited {
        v["edited"] = json!({"user": e.user, "ts": e.ts});
    }
    if m.tombstone {
        v["subtype"] = json!("tombstone");
        v["hidden"] = json!(true);
    }
    if with_metadata && let Some(md) = &m.metadata {
        v["metadata"] = md.clone();
    }
    v
}

/// A message of `conv` as `conversations.history` and `conversations.replies` answer it: [`message_json`] with
/// its place in a thread (a reply's `parent_user_id`; a parent's `reply_count`, `reply_users`,
/// `reply_users_count` and `latest_reply`).
pub fn message_in_conversation_json(
    state: &SimState,
    conv: &Conversation,
    m: &Message,
    with_metadata: bool,
) -> Value {
    let mut v = message_json(state, m, with_metadata);
    if m.is_reply() {
        if let Some(parent) = m.thread_ts.as_deref().and_then(|t| conv.message(t)) {
            v["parent_user_id"] = json!(parent.user());
        }
        return v;
    }
    let replies: Vec<&Message> = conv.replies(&m.ts).collect();
    if let Some(latest) = replies.last() {
        let mut users: Vec<&str> = Vec::new();
        for r in &replies {
            if !users.contains(&r.user()) {
                users.push(r.user());
            }
        }
        v["thread_ts"] = json!(m.ts);
        v["reply_count"] = json!(replies.len());
        v["reply_users_count"] = json!(users.len());
        v["reply_users"] = json!(users);
        v["latest_reply"] = json!(latest.ts);
    }
    v
}

/// The app's DM in the `im` shape of `conversations.open` with `return_im`.
pub fn im_json(state: &SimState, conversation_id: &str) -> Value {
    let c = state
        .conversation(conversation_id)
        .expect("conversation exists");
    let deleted = state.member(&c.member_id).is_some_and(|m| m.deleted);
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

/// 64-bit FNV-1a: a stable hash of a name, for the avatar hash and the colour Slack gives each user.
fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// A member in Slack's user object shape (`email` in the profile only `with_email`).
pub fn user_json(state: &SimState, m: &Member, with_email: bool) -> Value {
    user_json_in(
        state,
        m,
        with_email,
        &state.workspace_of_user(&m.id).team_id,
    )
}

/// [`user_json`] as seen from the workspace `team_id` (Slackbot is in every workspace).
fn user_json_in(state: &SimState, m: &Member, with_email: bool, team_id: &str) -> Value {
    let (tz_label, tz_offset) = tz::label_and_offset(&m.tz, state.now_secs());
    let image = |size: u32| format!("{}/_sim/static/avatar/{}_{size}.png", state.base_url, m.id);
    let display = if m.is_bot { &m.real_name } else { &m.name };
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
        "avatar_hash": format!("{:012x}", fnv1a(&m.id) & 0xffff_ffff_ffff),
        "image_24": image(24),
        "image_32": image(32),
        "image_48": image(48),
        "image_72": image(72),
        "image_192": image(192),
        "image_512": image(512),
        "team": team_id,
    });
    if with_email && let Some(e) = &m.email {
        profile["email"] = Value::String(e.clone());
    }
    json!({
        "id": m.id,
        "team_id": team_id,
        "name": m.name,
        "deleted": m.deleted,
        "color": format!("{:06x}", fnv1a(&m.name) & 0xff_ffff),
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
        "updated": UPDATED,
        "is_email_confirmed": m.email.is_some(),
        "has_2fa": false,
    })
}

/// A user that is not a workspace member (Slackbot, an app's bot user): Slack's Pacific time zone.
fn system_user(id: String, name: String, real_name: String, deleted: bool, is_bot: bool) -> Member {
    Member {
        id,
        name,
        real_name,
        email: None,
        tz: "America/Los_Angeles".into(),
        locale: "en-US".into(),
        deleted,
        is_bot,
        is_admin: false,
    }
}

/// An app's bot user.
fn bot_user_json(state: &SimState, inst: &Installation) -> Value {
    let m = system_user(
        inst.bot_user_id.clone(),
        state.bot_name(),
        state.config.app.name.clone(),
        !inst.active,
        true,
    );
    let mut v = user_json(state, &m, false);
    v["profile"]["bot_id"] = Value::String(inst.bot_id.clone());
    v["profile"]["api_app_id"] = Value::String(inst.app_id.clone());
    v["profile"]["always_active"] = Value::Bool(true);
    v
}

/// The IDs of all users of the workspace `team_id` in `users.list` order: Slackbot, the members, the bot users of
/// the apps installed there.
pub fn all_user_ids(state: &SimState, team_id: &str) -> Vec<String> {
    let members = state.workspace(team_id).map_or(&[][..], |w| &w.members[..]);
    std::iter::once(SLACKBOT_ID.to_string())
        .chain(members.iter().map(|m| m.id.clone()))
        .chain(
            state
                .installations
                .iter()
                .filter(|i| i.team_id == team_id)
                .map(|i| i.bot_user_id.clone()),
        )
        .collect()
}

/// A user's JSON by ID (Slackbot, a member or an app's bot user); Slackbot, who is in every workspace, shows as a
/// user of `team_id`.
pub fn user_json_by_id(
    state: &SimState,
    id: &str,
    with_email: bool,
    team_id: &str,
) -> Option<Value> {
    if id == SLACKBOT_ID {
        // `is_bot` is false for Slackbot, as in Slack.
        let slackbot = system_user(
            SLACKBOT_ID.into(),
            "slackbot".into(),
            "Slackbot".into(),
            false,
            false,
        );
        return Some(user_json_in(state, &slackbot, false, team_id));
    }
    if let Some(m) = state.member(id) {
        return Some(user_json(state, m, with_email));
    }
    state
        .installations
        .iter()
        .find(|i| i.bot_user_id == id)
        .map(|i| bot_user_json(state, i))
}
