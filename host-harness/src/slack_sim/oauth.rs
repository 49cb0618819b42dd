//! Slack's OAuth v2 pages: `GET /oauth/v2/authorize` shows the consent page (or the request form in a
//! restricted workspace); `POST /oauth/v2/authorize` carries out Allow (302 to `redirect_uri?code&state`),
//! Cancel (302 to `redirect_uri?error=access_denied&state`) and Submit request.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, StatusCode, header};
use rand::Rng;

use super::Shared;
use super::api::{KNOWN_SCOPES, split_scopes};
use super::model::{InstallRequest, Member, RequestStatus};
use super::state::{OAuthCode, State as SimState};
use super::web::{esc, page};

/// The authorize request's parameters.
#[derive(Debug, Clone, Default)]
struct AuthReq {
    client_id: String,
    scope: String,
    user_scope: String,
    redirect_uri: Option<String>,
    state: Option<String>,
}

impl AuthReq {
    fn from(map: &HashMap<String, String>) -> Self {
        AuthReq {
            client_id: map.get("client_id").cloned().unwrap_or_default(),
            scope: map.get("scope").cloned().unwrap_or_default(),
            user_scope: map.get("user_scope").cloned().unwrap_or_default(),
            redirect_uri: map.get("redirect_uri").cloned().filter(|s| !s.is_empty()),
            state: map.get("state").cloned(),
        }
    }

    fn hidden_fields(&self) -> String {
        let mut s = String::new();
        let mut f = |k: &str, v: &str| {
            s.push_str(&format!(
                r#"<input type="hidden" name="{k}" value="{}">"#,
                esc(v)
            ));
        };
        f("client_id", &self.client_id);
        f("scope", &self.scope);
        if !self.user_scope.is_empty() {
            f("user_scope", &self.user_scope);
        }
        if let Some(r) = &self.redirect_uri {
            f("redirect_uri", r);
        }
        if let Some(st) = &self.state {
            f("state", st);
        }
        s
    }
}

/// Checked request: where to send the browser back, and the scopes.
struct Checked {
    redirect: String,
    scopes: Vec<String>,
}

fn error_page(title: &str, detail: &str) -> Response {
    let body = format!(
        r#"<main class="card"><h1>{}</h1><p role="alert">{}</p><p><a href="/_sim/">Back to the simulated workspace</a></p></main>"#,
        esc(title),
        esc(detail)
    );
    (StatusCode::BAD_REQUEST, page(title, &body)).into_response()
}

fn error_box(title: &str, detail: &str) -> Box<Response> {
    Box::new(error_page(title, detail))
}

/// Validates the client, the redirect URI and the scopes as Slack does (errors are pages, not redirects).
fn check(st: &SimState, r: &AuthReq) -> Result<Checked, Box<Response>> {
    let app = &st.config.app;
    if r.client_id != app.client_id {
        return Err(error_box(
            "Invalid client_id parameter",
            "The client_id does not belong to any app.",
        ));
    }
    let redirect = match &r.redirect_uri {
        Some(u) if app.redirect_urls.contains(u) => u.clone(),
        Some(u) => {
            return Err(error_box(
                "redirect_uri did not match any configured URIs",
                &format!("Passed URI: {u}"),
            ));
        }
        None => match app.redirect_urls.first() {
            Some(u) => u.clone(),
            None => {
                return Err(error_box(
                    "No redirect_uri",
                    "The app has no Redirect URL configured.",
                ));
            }
        },
    };
    let scopes = split_scopes(&r.scope);
    let user_scopes = split_scopes(&r.user_scope);
    if scopes.is_empty() && user_scopes.is_empty() {
        return Err(error_box(
            "Invalid permissions requested",
            "No scopes were requested (invalid_scope).",
        ));
    }
    if let Some(bad) = scopes
        .iter()
        .chain(user_scopes.iter())
        .find(|s| !KNOWN_SCOPES.contains(&s.as_str()))
    {
        return Err(error_box(
            "Invalid permissions requested",
            &format!("Invalid scope: {bad} (invalid_scope)"),
        ));
    }
    Ok(Checked { redirect, scopes })
}

fn cookie_member(headers: &HeaderMap) -> Option<String> {
    for v in headers.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for part in s.split(';') {
            if let Some(m) = part.trim().strip_prefix("sim_member=") {
                return Some(m.to_string());
            }
        }
    }
    None
}

fn may_install(st: &SimState, m: &Member, scopes: &[String]) -> bool {
    let ws = &st.config.workspace;
    if !ws.restrict_app_installs || m.is_admin || ws.app_managers.contains(&m.id) {
        return true;
    }
    let approved = st.approved.get(&st.config.app.app_id);
    approved.is_some_and(|a| scopes.iter().all(|s| a.contains(s)))
}

fn scope_text(s: &str, app: &str) -> String {
    match s {
        "chat:write" => format!("Send messages as @{app}"),
        "chat:write.customize" => {
            format!("Send messages as @{app} with a customized username and avatar")
        }
        "im:write" => "Start direct messages with people".into(),
        "im:history" => format!(
            "View messages and other content in direct messages that {app} has been added to"
        ),
        "im:read" => {
            format!("View basic information about direct messages that {app} has been added to")
        }
        "users:read" => "View people in a workspace".into(),
        "users:read.email" => "View email addresses of people in a workspace".into(),
        "team:read" => {
            "View the name, email domain, and icon for workspaces your app is connected to".into()
        }
        other => other.to_string(),
    }
}

fn member_select(st: &SimState, selected: Option<&str>) -> String {
    let mut opts = String::from(r#"<option value="">Choose a member…</option>"#);
    for m in st
        .config
        .workspace
        .members
        .iter()
        .filter(|m| !m.deleted && !m.is_bot)
    {
        let sel = if Some(m.id.as_str()) == selected {
            " selected"
        } else {
            ""
        };
        let role = if m.is_admin {
            " (admin)"
        } else if st.config.workspace.app_managers.contains(&m.id) {
            " (app manager)"
        } else {
            ""
        };
        opts.push_str(&format!(
            r#"<option value="{}"{sel}>{} — @{}{role}</option>"#,
            esc(&m.id),
            esc(&m.real_name),
            esc(&m.name)
        ));
    }
    format!(
        r#"<p><label for="member">Signed in as</label><br><select id="member" name="member" required>{opts}</select></p>"#
    )
}

fn consent_page(
    st: &SimState,
    r: &AuthReq,
    c: &Checked,
    member: Option<&str>,
    notice: Option<&str>,
) -> Response {
    let app = &st.config.app;
    let ws = &st.config.workspace;
    let mut items = String::new();
    for s in &c.scopes {
        items.push_str(&format!(
            "<li><strong>{}</strong> <code>{}</code></li>",
            esc(&scope_text(s, &app.name)),
            esc(s)
        ));
    }
    let notice = notice
        .map(|n| format!(r#"<p class="notice" role="alert">{}</p>"#, esc(n)))
        .unwrap_or_default();
    let body = format!(
        r#"<main class="card">
<h1>{app} is requesting permission to access the {team} Slack workspace</h1>
{notice}
<p class="muted">Workspace: <strong>{team}</strong> ({domain}.slack.com)</p>
<h2>What will {app} be able to view and do?</h2>
<ul class="scopes">{items}</ul>
<form method="post" action="/oauth/v2/authorize">
{hidden}
{select}
<div class="actions">
<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
<button type="submit" name="action" value="allow" class="primary" autofocus>Allow</button>
</div>
</form>
</main>"#,
        app = esc(&app.name),
        team = esc(&ws.team_name),
        domain = esc(&ws.domain),
        hidden = r.hidden_fields(),
        select = member_select(st, member),
    );
    (
        StatusCode::OK,
        page(&format!("{} – Slack", app.name), &body),
    )
        .into_response()
}

fn request_page(st: &SimState, r: &AuthReq, member: &Member) -> Response {
    let app = &st.config.app;
    let ws = &st.config.workspace;
    let pending = st.requests.iter().any(|q| {
        q.member_id == member.id && q.app_id == app.app_id && q.status == RequestStatus::Pending
    });
    let inner = if pending {
        format!(
            r#"<p role="status">Your request to install {} is waiting for an App Manager's approval. Slackbot will tell you when it is approved.</p>
<form method="post" action="/oauth/v2/authorize">{}<input type="hidden" name="member" value="{}">
<div class="actions"><button type="submit" name="action" value="cancel" autofocus>Cancel</button></div></form>"#,
            esc(&app.name),
            r.hidden_fields(),
            esc(&member.id)
        )
    } else {
        format!(
            r#"<p>Your workspace requires App Manager approval to install apps. Tell them why you want {app}; you will hear from Slackbot when your request is approved.</p>
<form method="post" action="/oauth/v2/authorize">
{hidden}
{select}
<p><label for="message">Message to your App Managers</label><br>
<textarea id="message" name="message" rows="4" cols="50" maxlength="2000" required autofocus></textarea></p>
<div class="actions">
<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
<button type="submit" name="action" value="request" class="primary">Submit</button>
</div>
</form>"#,
            app = esc(&app.name),
            hidden = r.hidden_fields(),
            select = member_select(st, Some(&member.id)),
        )
    };
    let body = format!(
        r#"<main class="card"><h1>Request to install {} on {}</h1>{inner}</main>"#,
        esc(&app.name),
        esc(&ws.team_name)
    );
    (
        StatusCode::OK,
        page(&format!("Request {} – Slack", app.name), &body),
    )
        .into_response()
}

fn redirect_with(base: &str, pairs: &[(&str, &str)]) -> Response {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    let q = ser.finish();
    let sep = if base.contains('?') { '&' } else { '?' };
    let loc = format!("{base}{sep}{q}");
    (StatusCode::FOUND, [(header::LOCATION, loc)]).into_response()
}

fn parse_pairs(s: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(s)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// `GET /oauth/v2/authorize`.
pub async fn authorize_get(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let map = parse_pairs(q.unwrap_or_default().as_bytes());
    let r = AuthReq::from(&map);
    let st = sh.st();
    let c = match check(&st, &r) {
        Ok(c) => c,
        Err(resp) => return *resp,
    };
    let member = map
        .get("member")
        .cloned()
        .or_else(|| cookie_member(&headers));
    let member = member.and_then(|id| st.member(&id).filter(|m| !m.deleted && !m.is_bot).cloned());
    if let Some(m) = &member
        && !may_install(&st, m, &c.scopes)
    {
        return request_page(&st, &r, m);
    }
    consent_page(&st, &r, &c, member.as_ref().map(|m| m.id.as_str()), None)
}

/// `POST /oauth/v2/authorize` (form: the request's fields, `member`, `action` = allow | cancel | request,
/// `message`).
pub async fn authorize_post(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let map = parse_pairs(&body);
    let r = AuthReq::from(&map);
    let mut st = sh.st();
    let c = match check(&st, &r) {
        Ok(c) => c,
        Err(resp) => return *resp,
    };
    let action = map.get("action").map(String::as_str).unwrap_or("");
    let state_pair: Vec<(&str, &str)> = r
        .state
        .as_deref()
        .map(|s| vec![("state", s)])
        .unwrap_or_default();
    if action == "cancel" {
        let mut pairs = vec![("error", "access_denied")];
        pairs.extend(state_pair);
        return redirect_with(&c.redirect, &pairs);
    }
    let member_id = map
        .get("member")
        .cloned()
        .filter(|s| !s.is_empty())
        .or_else(|| cookie_member(&headers));
    let member =
        member_id.and_then(|id| st.member(&id).filter(|m| !m.deleted && !m.is_bot).cloned());
    let Some(member) = member else {
        let mut resp = consent_page(&st, &r, &c, None, Some("Choose who is signed in."));
        *resp.status_mut() = StatusCode::BAD_REQUEST;
        return resp;
    };
    let cookie = format!("sim_member={}; Path=/; SameSite=Lax; HttpOnly", member.id);
    let mut resp = match action {
        "allow" => {
            if !may_install(&st, &member, &c.scopes) {
                request_page(&st, &r, &member)
            } else {
                let inst_id = st.install(&member.id, &c.scopes);
                let code = new_code();
                let created = st.now();
                st.codes.insert(
                    code.clone(),
                    OAuthCode {
                        code: code.clone(),
                        client_id: r.client_id.clone(),
                        redirect_uri: r.redirect_uri.clone(),
                        installation_id: inst_id,
                        member_id: member.id.clone(),
                        created,
                        used: false,
                    },
                );
                let mut pairs = vec![("code", code.as_str())];
                pairs.extend(state_pair);
                redirect_with(&c.redirect, &pairs)
            }
        }
        "request" if !may_install(&st, &member, &c.scopes) => {
            let message = map.get("message").cloned().unwrap_or_default();
            let pending = st.requests.iter().any(|q| {
                q.member_id == member.id
                    && q.app_id == st.config.app.app_id
                    && q.status == RequestStatus::Pending
            });
            if !pending {
                let id = st.new_id("R");
                let created = st.now_secs();
                let app = st.config.app.clone();
                st.requests.push(InstallRequest {
                    id,
                    app_id: app.app_id.clone(),
                    member_id: member.id.clone(),
                    scopes: c.scopes.clone(),
                    message: message.chars().take(2000).collect(),
                    status: RequestStatus::Pending,
                    created,
                    decided_by: None,
                });
                let app_name = super::web::escape_mrkdwn(&app.name);
                st.slackbot_says(
                    &member.id,
                    &format!(
                        "Your request to install *{app_name}* has been sent to your App Managers. I'll let you know here when it is approved."
                    ),
                );
                for mgr in st.config.workspace.app_managers.clone() {
                    st.slackbot_says(
                        &mgr,
                        &format!(
                            "<@{}> requested to install *{app_name}*: “{}”. Review the request in the App Directory.",
                            member.id,
                            super::web::escape_mrkdwn(&message)
                        ),
                    );
                }
            }
            let body = format!(
                r#"<main class="card"><h1>Request submitted</h1><p role="status">Your request to install {} was sent to your App Managers. Slackbot will send you a message when it is approved; then install the app again.</p></main>"#,
                esc(&st.config.app.name)
            );
            (StatusCode::OK, page("Request submitted – Slack", &body)).into_response()
        }
        _ => consent_page(&st, &r, &c, Some(&member.id), None),
    };
    if let Ok(v) = cookie.parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

fn new_code() -> String {
    let mut rng = rand::rng();
    let a: u64 = rng.random_range(1_000_000_000..9_999_999_999);
    let b: u64 = rng.random_range(1_000_000_000_000..9_999_999_999_999);
    let hex: String = (0..64)
        .map(|_| format!("{:x}", rng.random_range(0..16u8)))
        .collect();
    format!("{a}.{b}.{hex}")
}
