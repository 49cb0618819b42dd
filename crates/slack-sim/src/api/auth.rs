//! The methods about the app's access: `oauth.v2.access`, `auth.test`, `auth.revoke`, `apps.uninstall`.

use serde_json::json;

use super::{MethodResult, Params, Reply, authenticate};
use crate::model::TokenRevocation;
use crate::state::{CODE_TTL_SECS, Effect, SimState};

/// Checks the app's client credentials (HTTP Basic or fields): `invalid_client_id`, `bad_client_secret`.
fn check_client(state: &SimState, p: &Params) -> MethodResult<()> {
    let app = &state.config.app;
    let (id, secret) = p.client_credentials();
    if id.as_deref() != Some(app.client_id.as_str()) {
        return Err(Reply::err("invalid_client_id"));
    }
    if secret.as_deref() != Some(app.client_secret.as_str()) {
        return Err(Reply::err("bad_client_secret"));
    }
    Ok(())
}

/// `oauth.v2.access`: a code for the bot token.
///
/// The OpenAPI file describes only `{ok}`; Slack's docs give the v2 shape returned here and the errors
/// bad_client_secret, bad_redirect_uri, invalid_client_id, invalid_code, invalid_grant_type. A code that is
/// unknown, expired (10 minutes) or already used is `invalid_code`.
pub fn oauth_v2_access(state: &mut SimState, p: &Params) -> MethodResult<Reply> {
    check_client(state, p)?;
    if p.non_empty("grant_type")
        .is_some_and(|g| g != "authorization_code")
    {
        return Err(Reply::err("invalid_grant_type"));
    }
    let invalid_code = || Reply::err("invalid_code");
    let code_text = p.non_empty("code").ok_or_else(invalid_code)?;
    let now = state.now();
    let app = &state.config.app;
    let code = state
        .codes
        .get(&code_text)
        .filter(|c| !c.used && now - c.created <= CODE_TTL_SECS && c.client_id == app.client_id)
        .cloned()
        .ok_or_else(invalid_code)?;
    if let Some(given) = p.non_empty("redirect_uri") {
        let matches = match &code.redirect_uri {
            Some(r) => *r == given,
            None => app.redirect_urls.contains(&given),
        };
        if !matches {
            return Err(Reply::err("bad_redirect_uri"));
        }
    }
    if let Some(c) = state.codes.get_mut(&code_text) {
        c.used = true;
    }
    let inst = state
        .installation_by_id(&code.installation_id)
        .filter(|i| i.active)
        .ok_or_else(invalid_code)?;
    let token = inst.bot_token.clone().ok_or_else(invalid_code)?;
    let ws = &state.config.workspace;
    Ok(Reply::ok(json!({
        "app_id": inst.app_id,
        "authed_user": {"id": code.member_id},
        "scope": inst.scopes.join(","),
        "token_type": "bot",
        "access_token": token,
        "bot_user_id": inst.bot_user_id,
        "team": {"id": ws.team_id, "name": ws.team_name},
        "enterprise": null,
        "is_enterprise_install": false,
    })))
}

/// `auth.test`: who the token is.
pub fn auth_test(state: &mut SimState, p: &Params) -> MethodResult<Reply> {
    let inst = authenticate(state, p)?;
    let ws = &state.config.workspace;
    Ok(Reply::ok(json!({
        "url": format!("https://{}.slack.com/", ws.domain),
        "team": ws.team_name,
        "user": state.bot_name(),
        "team_id": ws.team_id,
        "user_id": inst.bot_user_id,
        "bot_id": inst.bot_id,
        "is_enterprise_install": false,
    })))
}

/// `auth.revoke`: the token stops working (`test` only checks it); `tokens_revoked` goes to the app.
pub fn auth_revoke(state: &mut SimState, p: &Params) -> MethodResult<Reply> {
    let inst = authenticate(state, p)?;
    if p.flag("test") {
        return Ok(Reply::ok(json!({"revoked": false})));
    }
    let token = p.token.clone().unwrap_or_default();
    if let Some(t) = state.tokens.get_mut(&token) {
        t.revoked = Some(TokenRevocation::AuthRevoke);
    }
    if let Some(i) = state.installations.iter_mut().find(|i| i.id == inst.id)
        && i.bot_token.as_deref() == Some(token.as_str())
    {
        i.bot_token = None;
    }
    let mut r = Reply::ok(json!({"revoked": true}));
    r.effects.push(Effect::TokenRevoked(inst));
    Ok(r)
}

/// `apps.uninstall`: the app removes itself (client credentials and a token of its own).
pub fn apps_uninstall(state: &mut SimState, p: &Params) -> MethodResult<Reply> {
    check_client(state, p)?;
    let inst = authenticate(state, p)?;
    if inst.app_id != state.config.app.app_id {
        return Err(Reply::err("client_id_token_mismatch"));
    }
    let Some(before) = state.uninstall() else {
        return Err(Reply::err("token_revoked"));
    };
    let mut r = Reply::ok(json!({}));
    r.effects.push(Effect::Uninstalled(before));
    Ok(r)
}
