//! The `conversations.*` methods: `conversations.open` (the app's DM with a member) and
//! `conversations.history`.

use std::cmp::Reverse;

use serde_json::{Value, json};

use super::{
    MethodResult, Params, Reply, authenticate, decode_cursor, encode_cursor, is_app_dm_of,
    require_scopes,
};
use crate::ids::SLACKBOT_ID;
use crate::model::Message;
use crate::objects::{im_json, message_json};
use crate::state::SimState;

/// Where a `conversations.history` cursor points: the ts of the next message.
const CURSOR_PREFIX: &str = "next_ts:";

/// `conversations.open`: the app's DM with one member (`users`), or an existing one (`channel`).
pub fn open(state: &mut SimState, p: &Params) -> MethodResult<Reply> {
    let inst = authenticate(state, p)?;
    // Slack's current docs: a bot token opening a 1:1 DM needs im:write (the 2021 file says conversations:write).
    require_scopes(&inst, &["im:write"])?;
    let (id, existed) = if let Some(users) = p.non_empty("users") {
        let ids: Vec<&str> = users
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let uid = match ids.as_slice() {
            [] => return Err(Reply::err("users_list_not_supplied")),
            [one] => *one,
            more if more.len() > 8 => return Err(Reply::err("too_many_users")),
            // Multi-person DMs are not simulated.
            _ => return Err(Reply::err("not_supported_in_simulation")),
        };
        if uid == inst.bot_user_id || uid == SLACKBOT_ID {
            return Err(Reply::err("cannot_dm_bot"));
        }
        let Some(m) = state.member(uid) else {
            return Err(Reply::err("user_not_found"));
        };
        if m.deleted {
            return Err(Reply::err("user_disabled"));
        }
        if m.is_bot {
            return Err(Reply::err("cannot_dm_bot"));
        }
        state.app_dm(uid)
    } else if let Some(channel) = p.non_empty("channel") {
        if !state
            .conversation(&channel)
            .is_some_and(|c| is_app_dm_of(c, &inst))
        {
            return Err(Reply::err("channel_not_found"));
        }
        (channel, true)
    } else {
        return Err(Reply::err("users_list_not_supplied"));
    };
    let channel = if p.flag("return_im") {
        im_json(state, &id)
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

/// A Slack ts (`1700000000.000100`) in microseconds; `None` when it is not one.
fn parse_ts(s: &str) -> Option<i64> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, "0"));
    if secs.is_empty()
        || secs.len() > 12
        || !secs.bytes().all(|c| c.is_ascii_digit())
        || !frac.bytes().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let micros: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
    Some(secs.parse::<i64>().ok()? * 1_000_000 + micros.parse::<i64>().ok()?)
}

/// A ts parameter: absent, or its microseconds; `error` when it is not a ts.
fn ts_param(p: &Params, k: &str, error: &str) -> MethodResult<Option<i64>> {
    p.non_empty(k)
        .map(|s| parse_ts(&s).ok_or_else(|| Reply::err(error)))
        .transpose()
}

/// `conversations.history`: the app DM's messages, newest first, a page at a time.
pub fn history(state: &mut SimState, p: &Params) -> MethodResult<Reply> {
    let inst = authenticate(state, p)?;
    let state = &*state;
    let conv = p
        .non_empty("channel")
        .and_then(|ch| state.conversation(&ch))
        .filter(|c| is_app_dm_of(c, &inst))
        .ok_or_else(|| Reply::err("channel_not_found"))?;
    require_scopes(&inst, &["im:history"])?;
    let latest = ts_param(p, "latest", "invalid_ts_latest")?;
    let oldest = ts_param(p, "oldest", "invalid_ts_oldest")?;
    let inclusive = p.flag("inclusive");
    // Slack: default 100, at most 999.
    let limit = match p.integer("limit")?.unwrap_or(100) {
        0 => 100,
        n => n.min(999) as usize,
    };
    let cursor = p
        .non_empty("cursor")
        .map(|c| {
            decode_cursor(&c, CURSOR_PREFIX)
                .and_then(|ts| parse_ts(&ts))
                .ok_or_else(|| Reply::err("invalid_cursor"))
        })
        .transpose()?;
    let with_metadata = p.flag("include_all_metadata");
    let time = |m: &Message| parse_ts(&m.ts).unwrap_or(0);
    let mut msgs: Vec<&Message> = conv
        .messages
        .iter()
        .filter(|m| {
            let t = time(m);
            latest.is_none_or(|l| if inclusive { t <= l } else { t < l })
                && oldest.is_none_or(|o| if inclusive { t >= o } else { t > o })
                && cursor.is_none_or(|c| t <= c)
        })
        .collect();
    msgs.sort_by_key(|m| Reverse(time(m)));
    let has_more = msgs.len() > limit;
    let page: Vec<Value> = msgs
        .iter()
        .take(limit)
        .map(|m| message_json(state, m, with_metadata))
        .collect();
    let mut out = json!({
        "messages": page,
        "has_more": has_more,
        "pin_count": 0,
        "channel_actions_ts": null,
        "channel_actions_count": 0,
    });
    if let Some(next) = msgs.get(limit) {
        out["response_metadata"] = json!({"next_cursor": encode_cursor(CURSOR_PREFIX, &next.ts)});
    }
    Ok(Reply::ok(out))
}
