//! The App Manifest API: `apps.manifest.validate` and `apps.manifest.create`, with the app configuration token
//! (`xoxe.xoxp-…`, [`crate::SimHandle::app_config_token`]) as their credential.

use serde_json::{Value, json};

use super::{MethodResult, Params, Reply, TokenSource};
use crate::ids;
use crate::manifest::{self, ManifestApp, ManifestError};
use crate::model::App;
use crate::state::SimState;
use crate::to_app::verification_token;

/// Checks the app configuration token: `not_authed` without a token, `not_allowed_token_type` for a bot token
/// (the methods take only a configuration token), `invalid_auth` for any other.
fn check_config_token(state: &SimState, p: &Params) -> MethodResult<()> {
    let Some(token) = p.token.as_deref().filter(|t| !t.is_empty()) else {
        return Err(Reply::err("not_authed"));
    };
    if p.token_source == Some(TokenSource::Query) {
        return Err(Reply::err("invalid_auth"));
    }
    if token == state.config_token {
        Ok(())
    } else if state.tokens.contains_key(token) {
        Err(Reply::err("not_allowed_token_type"))
    } else {
        Err(Reply::err("invalid_auth"))
    }
}

/// `invalid_manifest` with its `errors`.
fn invalid(errors: Vec<ManifestError>) -> Reply {
    let mut r = Reply::err("invalid_manifest");
    r.body["errors"] = json!(errors);
    r
}

/// The `manifest` argument: a JSON-encoded string (as python slack_sdk and node send it in a form), or an object
/// in a JSON body; read into the app it configures.
fn read_manifest(p: &Params) -> MethodResult<ManifestApp> {
    let not_json = || {
        invalid(vec![ManifestError {
            message: "the manifest is not JSON".into(),
            pointer: String::new(),
        }])
    };
    let manifest: Value = match p.fields.get("manifest") {
        None | Some(Value::Null) => {
            return Err(Reply::err_msgs(
                "invalid_arguments",
                vec!["[ERROR] missing required field: manifest".into()],
            ));
        }
        Some(Value::String(s)) => serde_json::from_str(s).map_err(|_| not_json())?,
        Some(v) => v.clone(),
    };
    manifest::read(&manifest).map_err(invalid)
}

/// `apps.manifest.validate`: `{"ok": true, "errors": []}`, or `invalid_manifest` with the `errors` (each a
/// `message` and a `pointer`). An `app_id` other than the app's is `invalid_app_id`.
pub fn validate(state: &mut SimState, p: &Params) -> MethodResult<Reply> {
    check_config_token(state, p)?;
    if p.non_empty("app_id")
        .is_some_and(|id| id != state.config.app.app_id)
    {
        return Err(Reply::err("invalid_app_id"));
    }
    read_manifest(p)?;
    Ok(Reply::ok(json!({"errors": []})))
}

/// `apps.manifest.create`: the app of the manifest, with a new app ID and new credentials, in place of the
/// simulation's one app (the simulation keeps one app: the previous one is deleted, its installation ends without
/// events, as a deleted app's request URLs are gone, and its tokens answer `token_revoked`). The created app's
/// scopes, Redirect URLs, request URLs, bot events, Messages tab, token rotation and bot name are what the consent page, the
/// Web API and the events then behave by. Answers `app_id`, `credentials` (`client_id`, `client_secret`,
/// `verification_token`, `signing_secret`) and `oauth_authorize_url`; the call log and `/_sim/state` never show
/// the secrets.
pub fn create(state: &mut SimState, p: &Params) -> MethodResult<Reply> {
    check_config_token(state, p)?;
    let m = read_manifest(p)?;
    let teams: Vec<String> = state
        .config
        .workspaces()
        .map(|w| w.team_id.clone())
        .collect();
    for team in teams {
        state.uninstall(&team);
    }
    let app = App {
        app_id: state.new_id("A"),
        name: m.name,
        client_id: ids::new_client_id(),
        client_secret: ids::new_hex_secret(),
        signing_secret: ids::new_hex_secret(),
        redirect_urls: m.redirect_urls,
        events_url: m.events_url,
        interactivity_url: m.interactivity_url,
        messages_tab_enabled: m.messages_tab_enabled,
        marketplace_approved: false,
        token_rotation_enabled: m.token_rotation_enabled,
        bot_scopes: m.bot_scopes,
        bot_display_name: m.bot_display_name,
        bot_events: m.bot_events,
    };
    let mut authorize = form_urlencoded::Serializer::new(String::new());
    authorize.append_pair("client_id", &app.client_id);
    authorize.append_pair("scope", &app.bot_scopes.join(","));
    let body = json!({
        "app_id": app.app_id,
        "credentials": {
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "verification_token": verification_token(&app.app_id),
            "signing_secret": app.signing_secret,
        },
        "oauth_authorize_url": format!("{}/oauth/v2/authorize?{}", state.base_url, authorize.finish()),
    });
    state.config.app = app;
    Ok(Reply::ok(body))
}
