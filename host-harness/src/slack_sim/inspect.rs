//! `/_sim/*`: JSON inspection, and the simulation's own actions (faults, clock, sign-in, approvals,
//! uninstall by an admin, clicks).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use bytes::Bytes;
use http::{HeaderMap, StatusCode, header};
use serde_json::{Map, Value, json};

use super::Shared;
use super::api::Effect;
use super::model::{Conversation, Fault};
use super::outbound;

fn wants_html(h: &HeaderMap) -> bool {
    h.get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

fn is_form(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.starts_with("application/x-www-form-urlencoded"))
}

/// A JSON object or form body as a map (anything else: empty).
fn fields(h: &HeaderMap, body: &[u8]) -> Map<String, Value> {
    if is_form(h) {
        return form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

fn bad(msg: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"ok": false, "error": msg.to_string()})),
    )
        .into_response()
}

fn query_pairs(q: Option<String>) -> Vec<(String, String)> {
    form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// `GET /_sim/state`.
pub async fn state(State(sh): State<Arc<Shared>>) -> Response {
    Json(sh.st().snapshot()).into_response()
}

/// `GET /_sim/conversations[?member=U…]`.
pub async fn conversations(State(sh): State<Arc<Shared>>, RawQuery(q): RawQuery) -> Response {
    let member = query_pairs(q)
        .into_iter()
        .find(|(k, _)| k == "member")
        .map(|(_, v)| v);
    let st = sh.st();
    let list: Vec<Conversation> = st
        .conversations
        .iter()
        .filter(|c| member.as_ref().is_none_or(|m| &c.member_id == m))
        .cloned()
        .collect();
    Json(list).into_response()
}

/// `GET /_sim/calls`.
pub async fn calls(State(sh): State<Arc<Shared>>) -> Response {
    let list: Vec<_> = sh.st().calls.iter().cloned().collect();
    Json(list).into_response()
}

/// `GET /_sim/installations`.
pub async fn installations(State(sh): State<Arc<Shared>>) -> Response {
    Json(sh.st().installations.clone()).into_response()
}

/// `GET /_sim/deliveries`.
pub async fn deliveries(State(sh): State<Arc<Shared>>) -> Response {
    Json(sh.st().deliveries.clone()).into_response()
}

/// `GET /_sim/interactions`.
pub async fn interactions(State(sh): State<Arc<Shared>>) -> Response {
    Json(sh.st().interactions.clone()).into_response()
}

/// `GET /_sim/requests`: JSON, or the approval page for a browser.
pub async fn requests(State(sh): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let st = sh.st();
    if wants_html(&headers) {
        return super::web::requests_page(&st).into_response();
    }
    Json(st.requests.clone()).into_response()
}

async fn decide(
    sh: Arc<Shared>,
    id: String,
    headers: HeaderMap,
    body: Bytes,
    approve: bool,
) -> Response {
    let f = fields(&headers, &body);
    let by = f.get("by").and_then(Value::as_str).map(str::to_string);
    let r = {
        let mut st = sh.st();
        if approve {
            st.approve_request(&id, by.as_deref())
        } else {
            st.deny_request(&id, by.as_deref())
        }
    };
    match r {
        Ok(req) if is_form(&headers) || wants_html(&headers) => {
            let _ = req;
            Redirect::to("/_sim/requests").into_response()
        }
        Ok(req) => Json(json!({"ok": true, "request": req})).into_response(),
        Err(e) => bad(e),
    }
}

/// `POST /_sim/requests/{id}/approve`.
pub async fn approve(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    decide(sh, id, headers, body, true).await
}

/// `POST /_sim/requests/{id}/deny`.
pub async fn deny(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    decide(sh, id, headers, body, false).await
}

/// `GET /_sim/faults`.
pub async fn faults_get(State(sh): State<Arc<Shared>>) -> Response {
    Json(sh.st().faults.clone()).into_response()
}

/// `POST /_sim/faults` `{"method": "…", "fault": {…} | null}`.
pub async fn faults_post(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad(format!("invalid JSON: {e}")),
    };
    let Some(method) = v
        .get("method")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    else {
        return bad("missing method");
    };
    match v.get("fault") {
        None | Some(Value::Null) => {
            sh.st().faults.remove(method);
        }
        Some(f) => match serde_json::from_value::<Fault>(f.clone()) {
            Ok(f) => {
                sh.st().faults.insert(method.to_string(), f);
            }
            Err(e) => return bad(format!("invalid fault: {e}")),
        },
    }
    Json(json!({"ok": true, "faults": sh.st().faults.clone()})).into_response()
}

/// `GET /_sim/clock`.
pub async fn clock_get(State(sh): State<Arc<Shared>>) -> Response {
    let st = sh.st();
    Json(json!({"now": st.now(), "offset_secs": st.offset_ms as f64 / 1000.0})).into_response()
}

/// `POST /_sim/clock` `{"advance_secs": n}` or `{"offset_secs": n}`.
pub async fn clock_post(
    State(sh): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = fields(&headers, &body);
    let num = |k: &str| -> Option<f64> {
        match f.get(k)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    };
    let mut st = sh.st();
    if let Some(a) = num("advance_secs").filter(|a| a.is_finite() && *a >= 0.0 && *a < 1e10) {
        st.advance(Duration::from_secs_f64(a));
    } else if let Some(o) = num("offset_secs").filter(|o| o.is_finite() && o.abs() < 1e10) {
        st.offset_ms = (o * 1000.0) as i64;
    } else {
        return bad("give advance_secs (>= 0) or offset_secs");
    }
    Json(json!({"ok": true, "now": st.now(), "offset_secs": st.offset_ms as f64 / 1000.0}))
        .into_response()
}

/// `POST /_sim/signin` (form `member`, `return_to`): sets the `sim_member` cookie.
pub async fn signin(State(sh): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let f = fields(&headers, &body);
    let member = f
        .get("member")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if sh.st().member(&member).is_none() {
        return bad(format!("no member {member:?}"));
    }
    let ret = f
        .get("return_to")
        .and_then(Value::as_str)
        .unwrap_or("/_sim/");
    let ret = if ret.starts_with('/') && !ret.starts_with("//") && !ret.contains('\\') {
        ret
    } else {
        "/_sim/"
    };
    let mut resp = Redirect::to(ret).into_response();
    if let Ok(v) = format!("sim_member={member}; Path=/; SameSite=Lax; HttpOnly").parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// `POST /_sim/apps/uninstall`: an admin removes the app.
pub async fn uninstall(State(sh): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let before = sh.st().uninstall();
    let removed = before.is_some();
    if let Some(inst) = before {
        tokio::spawn(outbound::run_effect(sh.clone(), Effect::Uninstalled(inst)));
    }
    if is_form(&headers) || wants_html(&headers) {
        return Redirect::to("/_sim/").into_response();
    }
    Json(json!({"ok": true, "uninstalled": removed})).into_response()
}

/// `POST /_sim/click` `{"member","channel","ts","action_id"}` (JSON or form). From the web view (form),
/// redirects to the button's URL if it has one, else back to the conversation.
pub async fn click(State(sh): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let f = fields(&headers, &body);
    let g = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (member, channel, ts, action) = (g("member"), g("channel"), g("ts"), g("action_id"));
    let r = outbound::click(&sh, &member, &channel, &ts, &action).await;
    if is_form(&headers) {
        return match r {
            Ok(i) => match &i.url {
                Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
                    (StatusCode::SEE_OTHER, [(header::LOCATION, u.clone())]).into_response()
                }
                _ => {
                    let flag = if i.acknowledged { "ack" } else { "noack" };
                    let loc = form_urlencoded::Serializer::new(String::from("/_sim/?"))
                        .append_pair("member", &member)
                        .append_pair("conv", &channel)
                        .append_pair("click", flag)
                        .finish();
                    (StatusCode::SEE_OTHER, [(header::LOCATION, loc)]).into_response()
                }
            },
            Err(e) => bad(e),
        };
    }
    match r {
        Ok(i) => Json(i).into_response(),
        Err(e) => bad(e),
    }
}

/// `POST /_sim/response_url/{id}`: accepted and ignored (message updates through response_url are not
/// simulated).
pub async fn response_url(Path(_id): Path<String>) -> Response {
    Json(json!({"ok": true})).into_response()
}
