//! `/_sim/*`: JSON inspection, the app requests page, and the simulation's own actions (faults, clock,
//! sign-in, approvals, uninstall by an admin, clicks).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use bytes::Bytes;
use http::{HeaderMap, StatusCode, header};
use maud::html;
use serde_json::{Map, Value, json};

use crate::csrf::PageToken;
use crate::html::{conversation_href, page};
use crate::model::{Conversation, Fault, Installation, RequestStatus};
use crate::request::{body_fields, is_form, query_value, set_member_cookie, wants_html};
use crate::state::{Shared, SimState};
use crate::to_app;

/// HTTP 400 with `{"ok": false, "error": msg}`.
fn bad_request(msg: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"ok": false, "error": msg.to_string()})),
    )
        .into_response()
}

/// `GET /_sim/state` (without secrets).
pub async fn state_json(State(shared): State<Arc<Shared>>) -> Response {
    let snapshot = shared.lock().snapshot();
    Json(snapshot.without_secrets()).into_response()
}

/// `GET /_sim/conversations[?member=U…]`.
pub async fn conversations(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Response {
    let member = query_value(query.as_deref(), "member");
    let state = shared.lock();
    let list: Vec<&Conversation> = state
        .conversations
        .iter()
        .filter(|c| member.as_ref().is_none_or(|m| &c.member_id == m))
        .collect();
    Json(list).into_response()
}

/// `GET /_sim/calls`.
pub async fn calls(State(shared): State<Arc<Shared>>) -> Response {
    Json(&shared.lock().calls).into_response()
}

/// `GET /_sim/installations` (bot tokens as fingerprints).
pub async fn installations(State(shared): State<Arc<Shared>>) -> Response {
    let installations = shared.lock().installations.clone();
    let shown: Vec<Installation> = installations
        .into_iter()
        .map(Installation::without_secrets)
        .collect();
    Json(shown).into_response()
}

/// `GET /_sim/deliveries`.
pub async fn deliveries(State(shared): State<Arc<Shared>>) -> Response {
    Json(&shared.lock().deliveries).into_response()
}

/// `GET /_sim/interactions`.
pub async fn interactions(State(shared): State<Arc<Shared>>) -> Response {
    Json(&shared.lock().interactions).into_response()
}

/// `GET /_sim/requests`: JSON, or the approval page for a browser.
pub async fn requests(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let state = shared.lock();
    if wants_html(&headers) {
        let token = shared.csrf.for_page(&headers);
        return token.respond(requests_page(&state, &token));
    }
    Json(&state.requests).into_response()
}

/// The app requests page, with Approve and Deny buttons on the pending ones.
fn requests_page(state: &SimState, token: &PageToken) -> Html<String> {
    let body = html! {
        main class="card" style="max-width:60rem" {
            h1 { "App install requests" }
            p { a href="/_sim/" { "Back to the workspace" } }
            table {
                caption class="visually-hidden" { "Requests to install " (state.config.app.name) }
                thead {
                    tr {
                        @for column in ["Request", "Member", "Message", "Scopes", "Status", "Decision"] {
                            th scope="col" { (column) }
                        }
                    }
                }
                tbody {
                    @for r in &state.requests {
                        tr {
                            td { (r.id) }
                            td { (member_name(state, &r.member_id)) }
                            td { (r.message) }
                            td { code { (r.scopes.join(", ")) } }
                            td {
                                @match r.status {
                                    RequestStatus::Pending => "Pending",
                                    RequestStatus::Approved => "Approved",
                                    RequestStatus::Denied => "Denied",
                                }
                            }
                            td {
                                @if r.status == RequestStatus::Pending {
                                    form method="post" action=(format!("/_sim/requests/{}/approve", r.id)) style="display:inline" {
                                        (token.field())
                                        button type="submit" class="primary" { "Approve" }
                                    }
                                    " "
                                    form method="post" action=(format!("/_sim/requests/{}/deny", r.id)) style="display:inline" {
                                        (token.field())
                                        input type="text" name="reason" maxlength="2000"
                                            aria-label={ "Reason for " (member_name(state, &r.member_id)) " (optional)" }
                                            placeholder="Reason (optional)";
                                        " "
                                        button type="submit" { "Deny" }
                                    }
                                }
                                @if let Some(by) = &r.decided_by {
                                    "By " (member_name(state, by))
                                }
                                @if let Some(reason) = &r.reason {
                                    br;
                                    span class="muted" { "“" (reason) "”" }
                                }
                            }
                        }
                    }
                    @if state.requests.is_empty() {
                        tr { td colspan="6" class="muted" { "No requests." } }
                    }
                }
            }
        }
    };
    page("App requests – simulated Slack", body)
}

/// A member's real name, else their ID.
fn member_name<'a>(state: &'a SimState, id: &'a str) -> &'a str {
    state.member(id).map_or(id, |m| &m.real_name)
}

/// `POST /_sim/requests/{id}/approve` (`APPROVE`) and `/deny` (not `APPROVE`): an app manager decides
/// (JSON `{"by", "reason"}`, or a form from the requests page, which is shown again: decided by the first app manager
/// of the requester's workspace, with the reason typed for a denial).
pub async fn decide<const APPROVE: bool>(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = body_fields(&headers, &body);
    let reason = fields.get("reason").and_then(Value::as_str);
    let decided = {
        let mut state = shared.lock();
        let requester = state.requests.iter().find(|r| r.id == id);
        let team = requester.map(|r| state.workspace_of_user(&r.member_id));
        let first_manager = team.and_then(|w| w.app_managers.first().cloned());
        let by = match fields.get("by").and_then(Value::as_str) {
            Some(by) => Some(by.to_string()),
            None if is_form(&headers) => first_manager,
            None => None,
        };
        if APPROVE {
            state.approve_request(&id, by.as_deref())
        } else {
            state.deny_request(&id, by.as_deref(), reason)
        }
    };
    match decided {
        Ok(_) if is_form(&headers) || wants_html(&headers) => {
            Redirect::to("/_sim/requests").into_response()
        }
        Ok(request) => Json(json!({"ok": true, "request": request})).into_response(),
        Err(e) => bad_request(e),
    }
}

/// `GET /_sim/faults`.
pub async fn faults_get(State(shared): State<Arc<Shared>>) -> Response {
    Json(&shared.lock().faults).into_response()
}

/// `POST /_sim/faults` `{"method": "…", "fault": {…} | null}`.
pub async fn faults_post(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(format!("invalid JSON: {e}")),
    };
    let Some(method) = v
        .get("method")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    else {
        return bad_request("missing method");
    };
    let fault = match v.get("fault") {
        None | Some(Value::Null) => None,
        Some(f) => match serde_json::from_value::<Fault>(f.clone()) {
            Ok(f) => Some(f),
            Err(e) => return bad_request(format!("invalid fault: {e}")),
        },
    };
    let mut state = shared.lock();
    match fault {
        Some(f) => state.faults.insert(method.to_string(), f),
        None => state.faults.remove(method),
    };
    Json(json!({"ok": true, "faults": state.faults})).into_response()
}

/// `GET /_sim/clock`.
pub async fn clock_get(State(shared): State<Arc<Shared>>) -> Response {
    let state = shared.lock();
    Json(json!({"now": state.now(), "offset_secs": state.offset_secs()})).into_response()
}

/// `POST /_sim/clock` `{"advance_secs": n}` or `{"offset_secs": n}`.
pub async fn clock_post(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = body_fields(&headers, &body);
    let number = |k: &str| -> Option<f64> {
        match fields.get(k)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    };
    let mut state = shared.lock();
    if let Some(a) = number("advance_secs").filter(|a| a.is_finite() && *a >= 0.0 && *a < 1e10) {
        state.advance(Duration::from_secs_f64(a));
    } else if let Some(o) = number("offset_secs").filter(|o| o.is_finite() && o.abs() < 1e10) {
        state.offset_ms = (o * 1000.0) as i64;
    } else {
        return bad_request("give advance_secs (>= 0) or offset_secs");
    }
    Json(json!({"ok": true, "now": state.now(), "offset_secs": state.offset_secs()}))
        .into_response()
}

/// A string field of a body (empty when absent).
fn text_field(fields: &Map<String, Value>, k: &str) -> String {
    fields
        .get(k)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// `POST /_sim/signin` (form `member`, `return_to`): sets the `sim_member` cookie.
pub async fn signin(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = body_fields(&headers, &body);
    let member = text_field(&fields, "member");
    if shared.lock().member(&member).is_none() {
        return bad_request(format!("no member {member:?}"));
    }
    // Only a path on this server (no `//host`): the sign-in form cannot send the browser elsewhere.
    let return_to = fields
        .get("return_to")
        .and_then(Value::as_str)
        .filter(|r| r.starts_with('/') && !r.starts_with("//") && !r.contains('\\'))
        .unwrap_or("/_sim/");
    let mut resp = Redirect::to(return_to).into_response();
    set_member_cookie(&mut resp, &member);
    resp
}

/// `POST /_sim/apps/uninstall` (optional `team`, JSON or form): an admin removes the app from that workspace (the
/// first by default).
pub async fn uninstall(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = body_fields(&headers, &body);
    let team = fields.get("team").and_then(Value::as_str);
    let removed = to_app::uninstall(&shared, team);
    if is_form(&headers) || wants_html(&headers) {
        return Redirect::to("/_sim/").into_response();
    }
    Json(json!({"ok": true, "uninstalled": removed})).into_response()
}

/// `POST /_sim/click` `{"member","channel","ts","action_id"}` (JSON or form). From the web view (form),
/// redirects to the button's URL if it has one, else back to the conversation.
pub async fn click(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let fields = body_fields(&headers, &body);
    let [member, channel, ts, action] =
        ["member", "channel", "ts", "action_id"].map(|k| text_field(&fields, k));
    let interaction = match to_app::click(&shared, &member, &channel, &ts, &action).await {
        Ok(i) => i,
        Err(e) => return bad_request(e),
    };
    if !is_form(&headers) {
        return Json(interaction).into_response();
    }
    let location = match &interaction.url {
        Some(u) if u.starts_with("http://") || u.starts_with("https://") => u.clone(),
        _ => {
            let flag = if interaction.acknowledged {
                "ack"
            } else {
                "noack"
            };
            format!("{}&click={flag}", conversation_href(&member, &channel))
        }
    };
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// `POST /_sim/response_url/{id}`: accepted and ignored (message updates through response_url are not
/// simulated).
pub async fn response_url(Path(_id): Path<String>) -> Response {
    Json(json!({"ok": true})).into_response()
}
