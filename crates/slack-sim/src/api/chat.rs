//! `chat.postMessage`: where a post lands (the app's DM, or Slackbot's conversation for a customised post to a
//! user ID), its content checked as Slack checks it, and the key it is rate-limited on.

use serde_json::json;

use super::content::{Content, MetadataChange, non_empty, shows_nothing};
use super::{
    MethodResult, Params, Reply, authenticate, in_workspace_of, is_app_dm_of, require_scopes,
};
use crate::model::{ConversationKind, Installation, Message, Sender};
use crate::objects::message_json;
use crate::state::SimState;
use crate::ts;

/// Where a post lands.
enum Target {
    /// The app's DM with a member.
    AppDm(String),
    /// The member's conversation with Slackbot.
    Slackbot(String),
}

/// Whether a channel parameter names a user (`U…`, `W…`) rather than a conversation.
fn is_user_id(channel: &str) -> bool {
    channel.starts_with('U') || channel.starts_with('W')
}

/// `chat.postMessage`.
pub fn post_message(state: &mut SimState, p: &Params) -> MethodResult<Reply> {
    let inst = authenticate(state, p)?;
    let customised = p.customises_sender();
    require_scopes(&inst, &["chat:write"])?;
    if customised {
        require_scopes(&inst, &["chat:write.customize"])?;
    }
    let Some(channel) = p.non_empty("channel") else {
        return Err(Reply::err("channel_not_found"));
    };
    let target = resolve_target(state, &inst, &channel, customised)?;
    if let Target::AppDm(_) = target
        && !state.config.app.messages_tab_enabled
    {
        return Err(Reply::err("messages_tab_disabled"));
    }
    let content = Content::read(p)?;
    let text = content.text.unwrap_or_default();
    let blocks = non_empty(content.blocks);
    let attachments = non_empty(content.attachments);
    if shows_nothing(&text, &blocks, &attachments) {
        return Err(Reply::err("no_text"));
    }
    let metadata = match content.metadata {
        None => None,
        Some(MetadataChange::Set(md)) => Some(md),
        // `{}` removes metadata from a message being updated; a new message has none to remove.
        Some(MetadataChange::Clear) => return Err(Reply::err("invalid_metadata_format")),
    };
    let thread_ts = p.non_empty("thread_ts");
    if let Some(t) = &thread_ts
        && ts::parse(t).is_none_or(|micros| micros == 0)
    {
        // As Slack answers `thread_ts=0`: `invalid_thread_ts`, "[ERROR] 0 is not a valid thread_ts".
        return Err(Reply::err_msgs(
            "invalid_thread_ts",
            vec![format!("[ERROR] {t} is not a valid thread_ts")],
        ));
    }
    let (Target::AppDm(conversation_id) | Target::Slackbot(conversation_id)) = target;
    let ts = state.new_ts();
    let msg = Message {
        ts: ts.clone(),
        channel: conversation_id.clone(),
        sender: Sender::App {
            app_id: inst.app_id.clone(),
            bot_id: inst.bot_id.clone(),
            bot_user_id: inst.bot_user_id.clone(),
        },
        text,
        blocks,
        attachments,
        username: p.non_empty("username"),
        icon_url: p.non_empty("icon_url"),
        icon_emoji: p.non_empty("icon_emoji"),
        metadata,
        // A ts that names no message is taken, as Slack takes it: the reply belongs to no visible thread.
        thread_ts,
        edited: None,
        tombstone: false,
    };
    let message = message_json(state, &msg, false);
    if let Some(c) = state.conversation_mut(&conversation_id) {
        c.messages.push(msg);
    }
    Ok(Reply::ok(
        json!({"channel": conversation_id, "ts": ts, "message": message}),
    ))
}

/// Where a post to `channel` lands. A user ID with a custom name or icon lands in the user's Slackbot
/// conversation (Slack's behaviour); without, in the app's DM.
fn resolve_target(
    state: &mut SimState,
    inst: &Installation,
    channel: &str,
    customised: bool,
) -> MethodResult<Target> {
    if is_user_id(channel) {
        let reachable = state
            .member(channel)
            .is_some_and(|m| !m.deleted && !m.is_bot && in_workspace_of(state, channel, inst));
        if !reachable {
            return Err(Reply::err("channel_not_found"));
        }
        return Ok(if customised {
            Target::Slackbot(state.slackbot_dm(channel))
        } else {
            Target::AppDm(state.app_dm(channel).0)
        });
    }
    match state.conversation(channel) {
        Some(c) if is_app_dm_of(state, c, inst) => Ok(Target::AppDm(c.id.clone())),
        _ => Err(Reply::err("channel_not_found")),
    }
}

/// The conversation a `chat.postMessage` is rate-limited on, whether it is named by its D id or by the
/// member's U id (the same key before and after the DM exists): `app:{member}`, `slackbot:{member}`, or the
/// channel as given.
pub fn post_rate_key(state: &SimState, p: &Params) -> String {
    let channel = p.string("channel").unwrap_or_default();
    if is_user_id(&channel) {
        let kind = if p.customises_sender() {
            "slackbot"
        } else {
            "app"
        };
        return format!("{kind}:{channel}");
    }
    match state.conversation(&channel) {
        Some(c) if c.kind == ConversationKind::AppDm => format!("app:{}", c.member_id),
        Some(c) => format!("slackbot:{}", c.member_id),
        None => channel,
    }
}
