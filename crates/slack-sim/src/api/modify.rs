//! `chat.update` and `chat.delete`: the app changes or removes a message it posted, in its DM with a member or in
//! the member's Slackbot conversation (where its posts under a custom name land).
//!
//! Followed: Slack's method pages (both Tier 3, scope `chat:write`) and "Modifying messages": a bot token may
//! update or delete only the messages that bot posted (`cant_update_message`, `cant_delete_message`); `blocks`,
//! `attachments` and `metadata` left out of an update are kept, `[]` (or `{}` for metadata) removes them; the
//! answers are `{channel, ts, text, message}` and `{channel, ts}`. An edited message carries `edited: {user, ts}`
//! and the clients show "(edited)". A thread's parent deleted while it has replies leaves a tombstone ("This
//! message was deleted.") so that the thread stays. `edit_window_closed` is the workspace's edit window for its
//! members' own messages: it does not bind an app's bot token, the only kind of token the simulation issues, so
//! the simulation never answers it.

use serde_json::json;

use super::content::{Content, MetadataChange, non_empty, shows_nothing};
use super::{
    MethodResult, Params, Reply, authenticate, in_workspace_of, is_app_dm_of, require_scopes,
};
use crate::model::{ConversationKind, Edited, Installation, Message, Sender};
use crate::objects::message_json;
use crate::state::SimState;

/// What Slack shows in place of a deleted thread parent.
const TOMBSTONE_TEXT: &str = "This message was deleted.";

/// The message a call names: its conversation and its position there. `channel_not_found` for a conversation the
/// app cannot reach, `message_not_found` for a ts it does not hold (a tombstone is deleted already).
fn find(state: &SimState, inst: &Installation, p: &Params) -> MethodResult<(String, usize)> {
    let conv = p
        .non_empty("channel")
        .and_then(|ch| state.conversation(&ch))
        .filter(|c| {
            is_app_dm_of(state, c, inst)
                || (c.kind == ConversationKind::Slackbot
                    && in_workspace_of(state, &c.member_id, inst))
        })
        .ok_or_else(|| Reply::err("channel_not_found"))?;
    let ts = p.non_empty("ts").unwrap_or_default();
    let index = conv
        .messages
        .iter()
        .position(|m| m.ts == ts && !m.tombstone)
        .ok_or_else(|| Reply::err("message_not_found"))?;
    Ok((conv.id.clone(), index))
}

/// Whether the installation's bot posted `m`.
fn posted_by(m: &Message, inst: &Installation) -> bool {
    matches!(&m.sender, Sender::App { bot_id, .. } if *bot_id == inst.bot_id)
}

/// `chat.update`: new text, blocks, attachments or metadata for a message the app posted.
pub fn update(state: &mut SimState, p: &Params) -> MethodResult<Reply> {
    let inst = authenticate(state, p)?;
    require_scopes(&inst, &["chat:write"])?;
    let (channel, index) = find(state, &inst, p)?;
    let Some(old) = state
        .conversation(&channel)
        .map(|c| c.messages[index].clone())
    else {
        return Err(Reply::err("channel_not_found"));
    };
    if !posted_by(&old, &inst) {
        return Err(Reply::err("cant_update_message"));
    }
    let content = Content::read(p)?;
    if content.says_nothing() {
        return Err(Reply::err("no_text"));
    }
    let mut new = old;
    if let Some(text) = content.text {
        new.text = text;
    }
    if content.blocks.is_some() {
        new.blocks = non_empty(content.blocks);
    }
    if content.attachments.is_some() {
        new.attachments = non_empty(content.attachments);
    }
    match content.metadata {
        None => {}
        Some(MetadataChange::Set(md)) => new.metadata = Some(md),
        Some(MetadataChange::Clear) => new.metadata = None,
    }
    if shows_nothing(&new.text, &new.blocks, &new.attachments) {
        return Err(Reply::err("no_text"));
    }
    new.edited = Some(Edited {
        user: inst.bot_user_id.clone(),
        ts: state.new_ts(),
    });
    let message = message_json(state, &new, false);
    let answer = json!({"channel": channel, "ts": new.ts, "text": new.text, "message": message});
    if let Some(c) = state.conversation_mut(&channel) {
        c.messages[index] = new;
    }
    Ok(Reply::ok(answer))
}

/// `chat.delete`: removes a message the app posted (a thread's parent with replies becomes a tombstone; the last
/// reply of a tombstone takes the tombstone with it).
pub fn delete(state: &mut SimState, p: &Params) -> MethodResult<Reply> {
    let inst = authenticate(state, p)?;
    require_scopes(&inst, &["chat:write"])?;
    let (channel, index) = find(state, &inst, p)?;
    let Some(conv) = state.conversation_mut(&channel) else {
        return Err(Reply::err("channel_not_found"));
    };
    let m = &conv.messages[index];
    if !posted_by(m, &inst) {
        return Err(Reply::err("cant_delete_message"));
    }
    let ts = m.ts.clone();
    if conv.replies(&ts).next().is_some() {
        conv.messages[index] = tombstone(&conv.messages[index]);
    } else {
        let removed = conv.messages.remove(index);
        let thread = removed.is_reply().then_some(removed.thread_ts).flatten();
        if let Some(parent) = thread
            && conv.replies(&parent).next().is_none()
        {
            conv.messages.retain(|m| !(m.tombstone && m.ts == parent));
        }
    }
    Ok(Reply::ok(json!({"channel": channel, "ts": ts})))
}

/// What stays of a deleted thread parent: Slack's tombstone, from Slackbot, with the thread's ts.
fn tombstone(m: &Message) -> Message {
    Message {
        thread_ts: Some(m.ts.clone()),
        tombstone: true,
        ..Message::from_slackbot(m.ts.clone(), m.channel.clone(), TOMBSTONE_TEXT.into())
    }
}
