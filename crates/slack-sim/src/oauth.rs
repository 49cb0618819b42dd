//! Slack's OAuth v2 pages: `GET /oauth/v2/authorize` shows the consent page (or the request form in a
//! restricted workspace); `POST /oauth/v2/authorize` carries out Allow (302 to `redirect_uri?code&state`),
//! Cancel (302 to `redirect_uri?error=access_denied&state`) and Submit request.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, StatusCode, header};
use maud::{Markup, html};

use crate::csrf::PageToken;
use crate::html::page;
use crate::ids::new_oauth_code;
use crate::model::{InstallRequest, Member, RequestStatus, Workspace};
use crate::request::{form_pairs, is_form, member_cookie, set_member_cookie};
use crate::scopes::{KNOWN_SCOPES, split_scopes};
use crate::state::{OAuthCode, Shared, SimState};
use crate::text::escape_mrkdwn;

/// The authorize request's parameters.
#[derive(Debug, Clone, Default)]
struct AuthorizeRequest {
    /// The app's client ID.
    client_id: String,
    /// Bot scopes asked for (comma-separated).
    scope: String,
    /// User scopes asked for (comma-separated).
    user_scope: String,
    /// Where to send the browser back (the app's first Redirect URL when absent).
    redirect_uri: Option<String>,
    /// The app's `state`, given back with the code or the error.
    state: Option<String>,
}

impl AuthorizeRequest {
    /// The request from the query or form fields.
    fn from(fields: &HashMap<String, String>) -> Self {
        let field = |k: &str| fields.get(k).cloned();
        AuthorizeRequest {
            client_id: field("client_id").unwrap_or_default(),
            scope: field("scope").unwrap_or_default(),
            user_scope: field("user_scope").unwrap_or_default(),
            redirect_uri: field("redirect_uri").filter(|s| !s.is_empty()),
            state: field("state"),
        }
    }

    /// The request as hidden form fields, so that a form posted from a page carries it on.
    fn hidden_fields(&self) -> Markup {
        let user_scope = Some(self.user_scope.as_str()).filter(|s| !s.is_empty());
        let fields = [
            ("client_id", Some(self.client_id.as_str())),
            ("scope", Some(self.scope.as_str())),
            ("user_scope", user_scope),
            ("redirect_uri", self.redirect_uri.as_deref()),
            ("state", self.state.as_deref()),
        ];
        html! {
            @for (name, value) in fields {
                @if let Some(value) = value {
                    input type="hidden" name=(name) value=(value);
                }
            }
        }
    }
}

/// Checked request: where to send the browser back, and the scopes.
struct Checked {
    /// The redirect URL.
    redirect: String,
    /// The bot scopes, sorted.
    scopes: Vec<String>,
}

/// Where "Back to …" goes after an app request: the origin (scheme, host and port) of the redirect URL, which
/// [`check`] found among the app's registered Redirect URLs, so the link can only lead to the app's own site (never an
/// open redirect). `None` when the URL has no origin to link to.
fn origin_of(redirect: &str) -> Option<(String, String)> {
    let uri: http::Uri = redirect.parse().ok()?;
    let scheme = uri
        .scheme_str()
        .filter(|s| matches!(*s, "http" | "https"))?;
    let authority = uri.authority()?.as_str();
    if authority.contains('@') {
        return None;
    }
    Some((format!("{scheme}://{authority}/"), authority.to_string()))
}

/// The link back to the app's site after an app request (see [`origin_of`]).
fn back_link(redirect: &str) -> Markup {
    html! {
        @if let Some((href, host)) = origin_of(redirect) {
            p { a id="back-to-app" class="button" href=(href) { "Back to " (host) } }
        }
    }
}

/// A page with `status`.
fn page_response(status: StatusCode, title: &str, body: Markup) -> Response {
    (status, page(title, body)).into_response()
}

/// Slack's error page for a bad authorize request (no redirect).
fn error_page(title: &str, detail: &str) -> Box<Response> {
    let body = html! {
        main class="card" {
            h1 { (title) }
            p role="alert" { (detail) }
            p { a href="/_sim/" { "Back to the simulated workspace" } }
        }
    };
    Box::new(page_response(StatusCode::BAD_REQUEST, title, body))
}

/// Validates the client, the redirect URI and the scopes as Slack does (errors are pages, not redirects).
fn check(state: &SimState, r: &AuthorizeRequest) -> Result<Checked, Box<Response>> {
    let app = &state.config.app;
    if r.client_id != app.client_id {
        return Err(error_page(
            "Invalid client_id parameter",
            "The client_id does not belong to any app.",
        ));
    }
    let redirect = match &r.redirect_uri {
        Some(u) if app.redirect_urls.contains(u) => u.clone(),
        Some(u) => {
            return Err(error_page(
                "redirect_uri did not match any configured URIs",
                &format!("Passed URI: {u}"),
            ));
        }
        None => app.redirect_urls.first().cloned().ok_or_else(|| {
            error_page("No redirect_uri", "The app has no Redirect URL configured.")
        })?,
    };
    let scopes = split_scopes(&r.scope);
    let user_scopes = split_scopes(&r.user_scope);
    if scopes.is_empty() && user_scopes.is_empty() {
        return Err(error_page(
            "Invalid permissions requested",
            "No scopes were requested (invalid_scope).",
        ));
    }
    if let Some(bad) = scopes
        .iter()
        .chain(user_scopes.iter())
        .find(|s| !KNOWN_SCOPES.contains(&s.as_str()))
    {
        return Err(error_page(
            "Invalid permissions requested",
            &format!("Invalid scope: {bad} (invalid_scope)"),
        ));
    }
    // An app configured with its scopes (by a manifest) may ask only for those.
    if let Some(bad) = scopes
        .iter()
        .find(|s| !app.bot_scopes.is_empty() && !app.bot_scopes.contains(s))
    {
        return Err(error_page(
            "Invalid permissions requested",
            &format!("The app is not configured with the scope {bad} (invalid_scope)"),
        ));
    }
    Ok(Checked { redirect, scopes })
}

/// The member `named` (else the sign-in cookie's), if they can sign in (not deactivated, not a bot).
fn signed_in_member(
    state: &SimState,
    named: Option<String>,
    headers: &HeaderMap,
) -> Option<Member> {
    named.or_else(|| member_cookie(headers)).and_then(|id| {
        state
            .member(&id)
            .filter(|m| !m.deleted && !m.is_bot)
            .cloned()
    })
}

/// Whether `m` may install the app with `scopes` now: anyone in an open workspace; in a restricted one,
/// admins, app managers, and members whose scopes an app manager approved.
fn may_install(state: &SimState, m: &Member, scopes: &[String]) -> bool {
    let ws = state.workspace_of_user(&m.id);
    if !ws.restrict_app_installs || m.is_admin || ws.app_managers.contains(&m.id) {
        return true;
    }
    let key = (ws.team_id.clone(), state.config.app.app_id.clone());
    let approved = state.approved.get(&key);
    approved.is_some_and(|a| scopes.iter().all(|s| a.contains(s)))
}

/// What a scope lets the app do, as the consent page says it.
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

/// The workspace a page of the install flow is about: the signed-in member's, else the first.
fn page_workspace<'s>(state: &'s SimState, member: Option<&str>) -> &'s Workspace {
    member.map_or(&state.config.workspace, |m| state.workspace_of_user(m))
}

/// "Signed in as": the members of the page's workspace who can sign in, `selected` chosen.
fn member_select(state: &SimState, selected: Option<&str>) -> Markup {
    let ws = page_workspace(state, selected);
    let members = ws.members.iter().filter(|m| !m.deleted && !m.is_bot);
    let role = |m: &Member| {
        if m.is_admin {
            " (admin)"
        } else if ws.app_managers.contains(&m.id) {
            " (app manager)"
        } else {
            ""
        }
    };
    html! {
        p {
            label for="member" { "Signed in as" }
            br;
            select id="member" name="member" required {
                option value="" { "Choose a member…" }
                @for m in members {
                    option value=(m.id) selected[Some(m.id.as_str()) == selected] {
                        (m.real_name) " — @" (m.name) (role(m))
                    }
                }
            }
        }
    }
}

/// The Cancel button of a form (a form with required fields is not validated for it).
fn cancel_button(autofocus: bool) -> Markup {
    html! {
        @if autofocus {
            button type="submit" name="action" value="cancel" autofocus { "Cancel" }
        } @else {
            button type="submit" name="action" value="cancel" formnovalidate { "Cancel" }
        }
    }
}

/// The consent page: what the app asks for, who is signed in, Cancel and Allow.
fn consent_page(
    state: &SimState,
    r: &AuthorizeRequest,
    c: &Checked,
    member: Option<&str>,
    notice: Option<&str>,
    token: &PageToken,
) -> Response {
    let app = &state.config.app.name;
    let ws = page_workspace(state, member);
    let body = html! {
        main class="card" {
            h1 { (app) " is requesting permission to access the " (ws.team_name) " Slack workspace" }
            @if let Some(n) = notice { p class="notice" role="alert" { (n) } }
            p class="muted" { "Workspace: " strong { (ws.team_name) } " (" (ws.domain) ".slack.com)" }
            h2 { "What will " (app) " be able to view and do?" }
            ul class="scopes" {
                @for s in &c.scopes {
                    li { strong { (scope_text(s, app)) } " " code { (s) } }
                }
            }
            form method="post" action="/oauth/v2/authorize" {
                (token.field())
                (r.hidden_fields())
                (member_select(state, member))
                div class="actions" {
                    (cancel_button(false))
                    button type="submit" name="action" value="allow" class="primary" autofocus { "Allow" }
                }
            }
        }
    };
    token.respond(page_response(
        StatusCode::OK,
        &format!("{app} – Slack"),
        body,
    ))
}

/// In a restricted workspace: the form to request the app, or, while a request waits, a note saying so.
fn request_page(
    state: &SimState,
    r: &AuthorizeRequest,
    c: &Checked,
    member: &Member,
    token: &PageToken,
) -> Response {
    let app = &state.config.app.name;
    let denied = state
        .latest_request(&member.id)
        .filter(|q| q.status == RequestStatus::Denied);
    let body = html! {
        main class="card" {
            h1 { "Request to install " (app) " on " (state.workspace_of_user(&member.id).team_name) }
            @if state.has_pending_request(&member.id) {
                p role="status" {
                    "Your request to install " (app) " is waiting for an App Manager's approval. "
                    "Slackbot will tell you when it is approved."
                }
                form method="post" action="/oauth/v2/authorize" {
                    (token.field())
                    (r.hidden_fields())
                    input type="hidden" name="member" value=(member.id);
                    div class="actions" { (cancel_button(true)) }
                }
                (back_link(&c.redirect))
            } @else {
                @if let Some(q) = denied {
                    p class="notice" role="alert" id="denied" {
                        "Your last request to install " (app) " was not approved"
                        @if let Some(by) = q.decided_by.as_deref().and_then(|id| state.member(id)) {
                            " by " (by.real_name)
                        }
                        "."
                        @if let Some(reason) = &q.reason { " “" (reason) "”" }
                        " You can send a new request."
                    }
                }
                p {
                    "Your workspace requires App Manager approval to install apps. Tell them why you want "
                    (app) "; you will hear from Slackbot when your request is approved."
                }
                form method="post" action="/oauth/v2/authorize" {
                    (token.field())
                    (r.hidden_fields())
                    (member_select(state, Some(&member.id)))
                    p {
                        label for="message" { "Message to your App Managers" }
                        br;
                        textarea id="message" name="message" rows="4" cols="50" maxlength="2000" required autofocus {}
                    }
                    div class="actions" {
                        (cancel_button(false))
                        button type="submit" name="action" value="request" class="primary" { "Submit" }
                    }
                }
            }
        }
    };
    token.respond(page_response(
        StatusCode::OK,
        &format!("Request {app} – Slack"),
        body,
    ))
}

/// The page after a request is submitted, with a link back to the app's site.
fn request_submitted_page(state: &SimState, c: &Checked) -> Response {
    let body = html! {
        main class="card" {
            h1 { "Request submitted" }
            p role="status" {
                "Your request to install " (state.config.app.name) " was sent to your App Managers. "
                "Slackbot will send you a message when they decide; once it is approved, install the app again."
            }
            (back_link(&c.redirect))
        }
    };
    page_response(StatusCode::OK, "Request submitted – Slack", body)
}

/// 302 to `base` with `pairs` added to its query.
fn redirect_with(base: &str, pairs: &[(&str, &str)]) -> Response {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(pairs);
    let sep = if base.contains('?') { '&' } else { '?' };
    let location = format!("{base}{sep}{}", query.finish());
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// `GET /oauth/v2/authorize`.
pub async fn authorize_get(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let fields = form_pairs(query.unwrap_or_default().as_bytes());
    let r = AuthorizeRequest::from(&fields);
    let token = shared.csrf.for_page(&headers);
    let state = shared.lock();
    let c = match check(&state, &r) {
        Ok(c) => c,
        Err(resp) => return *resp,
    };
    let member = signed_in_member(&state, fields.get("member").cloned(), &headers);
    if let Some(m) = &member
        && !may_install(&state, m, &c.scopes)
    {
        return request_page(&state, &r, &c, m, &token);
    }
    let member = member.as_ref().map(|m| m.id.as_str());
    consent_page(&state, &r, &c, member, None, &token)
}

/// `POST /oauth/v2/authorize` (form: the request's fields, `member`, `action` = allow | cancel | request,
/// `message`).
pub async fn authorize_post(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_form(&headers) {
        let message = "The consent page posts a form (application/x-www-form-urlencoded).\n";
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, message).into_response();
    }
    let fields = form_pairs(&body);
    let r = AuthorizeRequest::from(&fields);
    let token = shared.csrf.for_page(&headers);
    let mut state = shared.lock();
    let c = match check(&state, &r) {
        Ok(c) => c,
        Err(resp) => return *resp,
    };
    let action = fields.get("action").map(String::as_str).unwrap_or("");
    // The state goes back with the code or the error.
    let with_state = |mut pairs: Vec<(&'static str, String)>| {
        if let Some(s) = &r.state {
            pairs.push(("state", s.clone()));
        }
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        redirect_with(&c.redirect, &pairs)
    };
    if action == "cancel" {
        return with_state(vec![("error", "access_denied".into())]);
    }
    let named = fields.get("member").filter(|s| !s.is_empty()).cloned();
    let Some(member) = signed_in_member(&state, named, &headers) else {
        let notice = Some("Choose who is signed in.");
        let mut resp = consent_page(&state, &r, &c, None, notice, &token);
        *resp.status_mut() = StatusCode::BAD_REQUEST;
        return resp;
    };
    let mut resp = match action {
        "allow" if may_install(&state, &member, &c.scopes) => {
            let installation_id = state.install(&member.id, &c.scopes);
            let code = new_oauth_code();
            let created = state.now();
            state.codes.insert(
                code.clone(),
                OAuthCode {
                    code: code.clone(),
                    client_id: r.client_id.clone(),
                    redirect_uri: r.redirect_uri.clone(),
                    installation_id,
                    member_id: member.id.clone(),
                    created,
                    used: false,
                },
            );
            with_state(vec![("code", code)])
        }
        "allow" => request_page(&state, &r, &c, &member, &token),
        "request" if !may_install(&state, &member, &c.scopes) => {
            let message = fields.get("message").cloned().unwrap_or_default();
            if !state.has_pending_request(&member.id) {
                submit_request(&mut state, &member, &c.scopes, &message);
            }
            request_submitted_page(&state, &c)
        }
        _ => consent_page(&state, &r, &c, Some(&member.id), None, &token),
    };
    set_member_cookie(&mut resp, &member.id);
    resp
}

/// Records an install request; Slackbot tells the member it was sent and the app managers that it waits.
fn submit_request(state: &mut SimState, member: &Member, scopes: &[String], message: &str) {
    let id = state.new_id("R");
    let created = state.now_secs();
    state.requests.push(InstallRequest {
        id,
        app_id: state.config.app.app_id.clone(),
        member_id: member.id.clone(),
        scopes: scopes.to_vec(),
        message: message.chars().take(2000).collect(),
        status: RequestStatus::Pending,
        created,
        decided_by: None,
        reason: None,
    });
    let app_name = escape_mrkdwn(&state.config.app.name);
    state.slackbot_says(
        &member.id,
        &format!(
            "Your request to install *{app_name}* has been sent to your App Managers. I'll let you know here when it is approved."
        ),
    );
    for manager in state.workspace_of_user(&member.id).app_managers.clone() {
        state.slackbot_says(
            &manager,
            &format!(
                "<@{}> requested to install *{app_name}*: “{}”. Review the request in the App Directory.",
                member.id,
                escape_mrkdwn(message)
            ),
        );
    }
}
