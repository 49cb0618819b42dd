//! Reading the app's DM a page at a time: `conversations.history` (the conversation's messages, newest first,
//! without thread replies) and `conversations.replies` (one thread, its parent first). The page size and the
//! rate both depend on whether the app is approved for the Marketplace (see `marketplace`).

use std::cmp::Reverse;

use serde_json::{Value, json};

use super::{
    MethodResult, Params, Reply, authenticate, decode_cursor, encode_cursor, is_app_dm_of,
    marketplace, require_scopes,
};
use crate::model::{Conversation, Installation, Message};
use crate::objects::message_in_conversation_json;
use crate::state::SimState;
use crate::ts;

/// Where a cursor points: the ts of the next message.
const CURSOR_PREFIX: &str = "next_ts:";

/// A ts parameter: absent, or its microseconds; `error` when it is not a ts.
fn ts_param(p: &Params, k: &str, error: &str) -> MethodResult<Option<i64>> {
    p.non_empty(k)
        .map(|s| ts::parse(&s).ok_or_else(|| Reply::err(error)))
        .transpose()
}

/// A message's ts in microseconds.
fn time(m: &Message) -> i64 {
    ts::parse(&m.ts).unwrap_or(0)
}

/// The app's DM named by `channel` (`channel_not_found` for any other), once `im:history` is checked.
fn app_dm<'s>(
    state: &'s SimState,
    inst: &Installation,
    p: &Params,
) -> MethodResult<&'s Conversation> {
    let conv = p
        .non_empty("channel")
        .and_then(|ch| state.conversation(&ch))
        .filter(|c| is_app_dm_of(state, c, inst))
        .ok_or_else(|| Reply::err("channel_not_found"))?;
    require_scopes(inst, &["im:history"])?;
    Ok(conv)
}

/// What a call asks for: a time range (`latest`, `oldest`, `inclusive`), where the page starts (`cursor`) and how
/// long it is (`limit`, as the app's profile allows).
struct Window {
    /// `latest`, microseconds.
    latest: Option<i64>,
    /// `oldest`, microseconds.
    oldest: Option<i64>,
    /// Whether `latest` and `oldest` themselves are in the range.
    inclusive: bool,
    /// The ts the page starts at, microseconds.
    cursor: Option<i64>,
    /// Messages a page holds.
    limit: usize,
}

impl Window {
    /// Reads the window of a call of `method` whose `limit` defaults to `default` and stops at `max` (for an app
    /// approved for the Marketplace).
    fn read(
        state: &SimState,
        p: &Params,
        method: &str,
        default: usize,
        max: usize,
    ) -> MethodResult<Window> {
        let latest = ts_param(p, "latest", "invalid_ts_latest")?;
        let oldest = ts_param(p, "oldest", "invalid_ts_oldest")?;
        let requested = p.integer("limit")?;
        let cursor = p
            .non_empty("cursor")
            .map(|c| {
                decode_cursor(&c, CURSOR_PREFIX)
                    .and_then(|ts| ts::parse(&ts))
                    .ok_or_else(|| Reply::err("invalid_cursor"))
            })
            .transpose()?;
        Ok(Window {
            latest,
            oldest,
            inclusive: p.flag("inclusive"),
            cursor,
            limit: marketplace::page_size(&state.config.app, method, requested, default, max),
        })
    }

    /// Whether a message of time `t` is in the time range.
    fn in_range(&self, t: i64) -> bool {
        let inclusive = self.inclusive;
        self.latest
            .is_none_or(|l| if inclusive { t <= l } else { t < l })
            && self
                .oldest
                .is_none_or(|o| if inclusive { t >= o } else { t > o })
    }

    /// The answer for `messages` in page order (from the cursor on): the first `limit` of them, `has_more`, and a
    /// cursor to the next one.
    fn page(
        &self,
        state: &SimState,
        conv: &Conversation,
        messages: &[&Message],
        with_metadata: bool,
    ) -> Value {
        let page: Vec<Value> = messages
            .iter()
            .take(self.limit)
            .map(|m| message_in_conversation_json(state, conv, m, with_metadata))
            .collect();
        let mut out = json!({"messages": page, "has_more": messages.len() > self.limit});
        if let Some(next) = messages.get(self.limit) {
            out["response_metadata"] =
                json!({"next_cursor": encode_cursor(CURSOR_PREFIX, &next.ts)});
        }
        out
    }
}

/// `conversations.history`: the app DM's messages, newest first, a page at a time (Slack: `limit` 100 by default,
/// at most 999; 15 for an app not approved for the Marketplace). Thread replies are not listed
/// (`conversations.replies` reads them); a parent carries its reply count.
pub fn history(state: &mut SimState, p: &Params) -> MethodResult<Reply> {
    let inst = authenticate(state, p)?;
    let state = &*state;
    let conv = app_dm(state, &inst, p)?;
    let window = Window::read(state, p, "conversations.history", 100, 999)?;
    let mut msgs: Vec<&Message> = conv
        .messages
        .iter()
        .filter(|m| {
            let t = time(m);
            !m.is_reply() && window.in_range(t) && window.cursor.is_none_or(|c| t <= c)
        })
        .collect();
    msgs.sort_by_key(|m| Reverse(time(m)));
    let mut out = window.page(state, conv, &msgs, p.flag("include_all_metadata"));
    out["pin_count"] = json!(0);
    out["channel_actions_ts"] = Value::Null;
    out["channel_actions_count"] = json!(0);
    Ok(Reply::ok(out))
}

/// `conversations.replies`: a thread of the app's DM, its parent first then the replies, oldest first, a page at a
/// time (Slack: `limit` 10 by default, at most 1,000; 15 for an app not approved for the Marketplace). Later pages
/// omit the parent, as Slack's do. `ts` may name any message of the DM: one without replies comes alone, and a
/// reply stands for its thread. An unknown `ts` is `thread_not_found`.
pub fn replies(state: &mut SimState, p: &Params) -> MethodResult<Reply> {
    let inst = authenticate(state, p)?;
    let state = &*state;
    let conv = app_dm(state, &inst, p)?;
    let Some(ts) = p.non_empty("ts") else {
        return Err(Reply::err_msgs(
            "invalid_arguments",
            vec!["[ERROR] missing required field: ts".into()],
        ));
    };
    let thread_not_found = || Reply::err("thread_not_found");
    let named = conv.message(&ts).ok_or_else(thread_not_found)?;
    let parent = match named.thread_ts.as_deref() {
        Some(t) if named.is_reply() => conv.message(t).unwrap_or(named),
        _ => named,
    };
    let window = Window::read(state, p, "conversations.replies", 10, 1000)?;
    let mut msgs: Vec<&Message> = std::iter::once(parent)
        .chain(conv.replies(&parent.ts))
        .filter(|m| {
            let t = time(m);
            window.in_range(t) && window.cursor.is_none_or(|c| t >= c)
        })
        .collect();
    msgs.sort_by_key(|m| time(m));
    Ok(Reply::ok(window.page(
        state,
        conv,
        &msgs,
        p.flag("include_all_metadata"),
    )))
}
