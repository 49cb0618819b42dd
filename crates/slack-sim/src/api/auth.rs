//! The methods about the app's access: `oauth.v2.access`, `auth.test`, `auth.revoke`, `apps.uninstall`, and
//! `api.test`.

use serde_json::json;

use super::{MethodResult, Params, Reply, authenticate};
use crate::model::{Installation, TokenRevocation};
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

/// `oauth.v2.access`: a code for the bot token (`grant_type` `authorization_code`, the default), or, for an app
/// with token rotation, a refresh token for the next bot token (`grant_type=refresh_token`).
///
/// The OpenAPI file describes only `{ok}`; Slack's docs give the v2 shape returned here and the errors
/// bad_client_secret, bad_redirect_uri, invalid_client_id, invalid_code, invalid_grant_type,
/// invalid_refresh_token. A code that is unknown, expired (10 minutes) or already used is `invalid_code`.
pub fn oauth_v2_access(state: &mut SimState, p: &Params) -> MethodResult<Reply> {
    check_client(state, p)?;
    match p.non_empty("grant_type").as_deref() {
        None | Some("authorization_code") => exchange_code(state, p),
        Some("refresh_token") => refresh(state, p),
        Some(_) => Err(Reply::err("invalid_grant_type")),
    }
}

/// The code exchange of `oauth.v2.access`. With token rotation (Slack's docs, "Using token rotation") the bot
/// token expires: the answer adds `expires_in` and a `refresh_token`, and the token has the `xoxe.` prefix.
fn exchange_code(state: &mut SimState, p: &Params) -> MethodResult<Reply> {
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
        .cloned()
        .ok_or_else(invalid_code)?;
    let token = inst.bot_token.clone().ok_or_else(invalid_code)?;
    let mut body = bot_token_json(state, &inst, &token);
    body["authed_user"] = json!({"id": code.member_id});
    if state.config.app.token_rotation_enabled {
        // The token's lifetime runs from the exchange.
        let expires_in = state.config.token_expires_in_secs;
        if let Some(t) = state.tokens.get_mut(&token) {
            t.expires_at = Some(now + expires_in as f64);
        }
        body["expires_in"] = expires_in.into();
        body["refresh_token"] = state.issue_refresh_token(&inst.id).into();
    }
    Ok(Reply::ok(body))
}

/// The refresh of `oauth.v2.access` (`grant_type=refresh_token`): a new expiring bot token and a new refresh token;
/// the refresh token given is spent ("The refresh token is then revoked", Slack's token rotation guide), so using
/// it again is `invalid_refresh_token`, as is one never issued (an app without rotation has none). The answer is
/// the one-token shape Slack's Node SDK types as `OAuthV2TokenRefreshResponse` (no `authed_user`). The bot token
/// the refresh replaces keeps working until it expires.
fn refresh(state: &mut SimState, p: &Params) -> MethodResult<Reply> {
    let invalid = || Reply::err("invalid_refresh_token");
    let given = p.non_empty("refresh_token").ok_or_else(invalid)?;
    let record = state
        .refresh_tokens
        .get_mut(&given)
        .filter(|r| !r.used)
        .ok_or_else(invalid)?;
    record.used = true;
    let inst_id = record.installation_id.clone();
    let inst = state
        .installation_by_id(&inst_id)
        .filter(|i| i.active && i.app_id == state.config.app.app_id)
        .cloned()
        .ok_or_else(invalid)?;
    let token = state.issue_bot_token(&inst.id);
    let mut body = bot_token_json(state, &inst, &token);
    body["expires_in"] = state.config.token_expires_in_secs.into();
    body["refresh_token"] = state.issue_refresh_token(&inst.id).into();
    Ok(Reply::ok(body))
}

/// The fields of `oauth.v2.access` about the installation's bot token `token`.
fn bot_token_json(state: &SimState, inst: &Installation, token: &str) -> serde_json::Value {
    let ws = state.installation_workspace(inst);
    json!({
        "app_id": inst.app_id,
        "scope": inst.scopes.join(","),
        "token_type": "bot",
        "access_token": token,
        "bot_user_id": inst.bot_user_id,
        "team": {"id": ws.team_id, "name": ws.team_name},
        "enterprise": null,
        "is_enterprise_install": false,
    })
}

/// `auth.test`: who the token is (its granted scopes go in the `x-oauth-scopes` header, as with every method).
pub fn auth_test(state: &mut SimState, p: &Params) -> MethodResult<Reply> {
    let inst = authenticate(state, p)?;
    let ws = state.installation_workspace(&inst);
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

/// `api.test`: echoes its arguments as `args` (the token left out); with `error`, fails with that code, as Slack's
/// method page says.
pub fn api_test(_state: &mut SimState, p: &Params) -> MethodResult<Reply> {
    let mut args = p.fields.clone();
    args.remove("token");
    let args = serde_json::Value::Object(args);
    match p.non_empty("error") {
        Some(code) => {
            let mut r = Reply::err(&code);
            r.body["args"] = args;
            Err(r)
        }
        None => Ok(Reply::ok(json!({ "args": args }))),
    }
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
    let Some(before) = state.uninstall(&inst.team_id) else {
        return Err(Reply::err("token_revoked"));
    };
    let mut r = Reply::ok(json!({}));
    r.effects.push(Effect::Uninstalled(before));
    Ok(r)
}
