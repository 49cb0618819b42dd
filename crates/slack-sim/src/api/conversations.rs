//! `conversations.open`: the app's DM with a member (reading it is `history`'s).

use serde_json::{Value, json};

use super::{
    MethodResult, Params, Reply, authenticate, in_workspace_of, is_app_dm_of, require_scopes,
};
use crate::ids::SLACKBOT_ID;
use crate::objects::im_json;
use crate::state::SimState;

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
        let Some(m) = state
            .member(uid)
            .filter(|_| in_workspace_of(state, uid, &inst))
        else {
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
            .is_some_and(|c| is_app_dm_of(state, c, &inst))
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
