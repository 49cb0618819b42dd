//! Requests from "Slack" to the app: signed Events API callbacks (`tokens_revoked`, `app_uninstalled`) and
//! interactivity payloads (`block_actions` when a member clicks a button), sent with a small bounded HTTP/1
//! client (hyper over a tokio TCP stream; `http://` URLs only) and recorded as deliveries.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use crate::blocks::find_button;
use crate::model::{Delivery, Installation, Interaction};
use crate::objects::message_json;
use crate::signature;
use crate::state::{Effect, Shared};

/// The verification token put in payloads (deprecated by Slack in favour of signatures, still sent).
pub fn verification_token(app_id: &str) -> String {
    format!("simverif{}", app_id.to_ascii_lowercase())
}

/// POSTs `body` to `url` with the headers; returns the status, or an error text. Bounded by `timeout`
/// (connect, send and reading at most 64 KiB of the answer).
pub async fn post(
    url: &str,
    content_type: &str,
    body: String,
    headers: &[(&str, String)],
    timeout: Duration,
) -> Result<u16, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("bad url: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err("only http:// URLs are supported by the simulation".into());
    }
    let host = uri.host().ok_or("url without host")?.to_string();
    let port = uri.port_u16().unwrap_or(80);
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let fut = async move {
        let host_for_connect = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let stream = tokio::net::TcpStream::connect((host_for_connect.as_str(), port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        let conn_task = tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut req = http::Request::post(path)
            .header(
                http::header::HOST,
                if port == 80 {
                    host.clone()
                } else {
                    format!("{host}:{port}")
                },
            )
            .header(http::header::CONTENT_TYPE, content_type)
            .header(
                http::header::USER_AGENT,
                "Slackbot 1.0 (+https://api.slack.com/robots)",
            );
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("request: {e}"))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| format!("send: {e}"))?;
        let status = resp.status().as_u16();
        let _ = Limited::new(resp.into_body(), 64 * 1024).collect().await;
        conn_task.abort();
        Ok::<u16, String>(status)
    };
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
    }
}

/// Sends a signed request and records the delivery.
async fn deliver(
    shared: &Arc<Shared>,
    kind: &str,
    url: &str,
    content_type: &str,
    body: String,
    deadline: Duration,
) -> Delivery {
    let (secret, ts) = {
        let state = shared.lock();
        (state.config.app.signing_secret.clone(), state.now_secs())
    };
    let signature = signature::sign(&secret, ts, body.as_bytes());
    let headers = [
        ("X-Slack-Request-Timestamp", ts.to_string()),
        ("X-Slack-Signature", signature.clone()),
    ];
    let started = Instant::now();
    let result = post(url, content_type, body.clone(), &headers, deadline).await;
    let elapsed = started.elapsed();
    let (status, error) = match result {
        Ok(s) => (Some(s), None),
        Err(e) => (None, Some(e)),
    };
    let d = Delivery {
        seq: 0,
        kind: kind.to_string(),
        url: url.to_string(),
        body,
        timestamp: ts,
        signature,
        status,
        error,
        elapsed_ms: elapsed.as_millis() as u64,
        acknowledged: status == Some(200) && elapsed <= deadline,
    };
    let d = shared.lock().record_delivery(d);
    shared.changed.notify_waiters();
    d
}

/// An Events API callback around `event`, as Slack wraps one.
fn event_envelope(shared: &Shared, inst: &Installation, mut event: Value) -> String {
    let mut state = shared.lock();
    let event_id = state.new_id("Ev");
    let ts = state.new_ts();
    let now = state.now_secs();
    event["event_ts"] = json!(ts);
    json!({
        "token": verification_token(&inst.app_id),
        "team_id": inst.team_id,
        "api_app_id": inst.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": now,
        "authorizations": [{
            "enterprise_id": null,
            "team_id": inst.team_id,
            "user_id": inst.bot_user_id,
            "is_bot": true,
            "is_enterprise_install": false,
        }],
        "is_ext_shared_channel": false,
    })
    .to_string()
}

/// Carries out an effect of an API call or a simulation action (events to the app's events URL).
pub async fn run_effect(shared: Arc<Shared>, effect: Effect) {
    let (url, subscribed, timeout) = {
        let state = shared.lock();
        (
            state.config.app.events_url.clone(),
            state.config.app.bot_events.clone(),
            state.config.event_timeout,
        )
    };
    let Some(url) = url else {
        return;
    };
    let (inst, uninstalled) = match effect {
        Effect::Uninstalled(i) => (i, true),
        Effect::TokenRevoked(i) => (i, false),
    };
    let revoked =
        json!({"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [inst.bot_user_id]}});
    let mut events = vec![revoked];
    if uninstalled {
        events.push(json!({"type": "app_uninstalled"}));
    }
    // An app sent only the events it subscribes to, when it says which.
    events.retain(|e| {
        subscribed
            .as_ref()
            .is_none_or(|list| list.iter().any(|s| e["type"] == s.as_str()))
    });
    for event in events {
        let kind = format!("event_callback:{}", event["type"].as_str().unwrap_or(""));
        // Each envelope is made when it is sent (its event_time and event_ts follow the clock).
        let body = event_envelope(&shared, &inst, event);
        deliver(&shared, &kind, &url, "application/json", body, timeout).await;
    }
}

/// An admin of the workspace `team_id` (the first workspace when `None`) removes the app: tokens revoked,
/// conversations hidden, and the `tokens_revoked` and `app_uninstalled` events sent to the app in the background.
/// False if the app was not installed there.
pub fn uninstall(shared: &Arc<Shared>, team_id: Option<&str>) -> bool {
    let removed = {
        let mut state = shared.lock();
        let team = team_id.map_or_else(|| state.config.workspace.team_id.clone(), str::to_string);
        state.uninstall(&team)
    };
    let Some(inst) = removed else {
        return false;
    };
    tokio::spawn(run_effect(shared.clone(), Effect::Uninstalled(inst)));
    true
}

/// A member clicks a button: sends the signed `block_actions` payload to the interactivity URL and records
/// whether it was acknowledged (HTTP 200 within the ack deadline).
pub async fn click(
    shared: &Arc<Shared>,
    member_id: &str,
    channel: &str,
    ts: &str,
    action_id: &str,
) -> anyhow::Result<Interaction> {
    let (payload, url, deadline, button_url) = {
        let mut state = shared.lock();
        let member = state
            .member(member_id)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no member {member_id}"))?;
        let msg = state
            .conversation(channel)
            .filter(|c| c.member_id == member_id && !c.hidden)
            .ok_or_else(|| {
                anyhow::anyhow!("member {member_id} has no visible conversation {channel}")
            })?
            .messages
            .iter()
            .find(|m| m.ts == ts)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no message {ts} in {channel}"))?;
        let (block_id, button) = msg
            .blocks
            .as_ref()
            .and_then(|b| find_button(b, action_id))
            .ok_or_else(|| anyhow::anyhow!("no button {action_id} in message {ts}"))?;
        let action_ts = state.new_ts();
        let trigger = format!(
            "{}.{}.{}",
            state.now_secs(),
            state.id_seq,
            action_ts.replace('.', "")
        );
        let mut action = json!({
            "action_id": button["action_id"],
            "block_id": block_id,
            "text": button.get("text").cloned().unwrap_or(Value::Null),
            "type": "button",
            "action_ts": action_ts,
        });
        for k in ["value", "url", "style"] {
            if let Some(v) = button.get(k) {
                action[k] = v.clone();
            }
        }
        let ws = state.workspace_of_user(&member.id).clone();
        let app = state.config.app.clone();
        let message = message_json(&state, &msg, false);
        let response_id = state.new_id("R");
        let payload = json!({
            "type": "block_actions",
            "user": {"id": member.id, "username": member.name, "name": member.name, "team_id": ws.team_id},
            "api_app_id": app.app_id,
            "token": verification_token(&app.app_id),
            "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false},
            "trigger_id": trigger,
            "team": {"id": ws.team_id, "domain": ws.domain},
            "enterprise": null,
            "is_enterprise_install": false,
            "channel": {"id": channel, "name": "directmessage"},
            "message": message,
            "state": {"values": {}},
            "response_url": format!("{}/_sim/response_url/{response_id}", state.base_url),
            "actions": [action],
        });
        let button_url = button
            .get("url")
            .and_then(Value::as_str)
            .map(str::to_string);
        (
            payload,
            app.interactivity_url.clone(),
            state.config.ack_deadline,
            button_url,
        )
    };
    let delivery = match &url {
        Some(url) => {
            let body: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("payload", &payload.to_string())
                .finish();
            Some(
                deliver(
                    shared,
                    "block_actions",
                    url,
                    "application/x-www-form-urlencoded",
                    body,
                    deadline,
                )
                .await,
            )
        }
        None => None,
    };
    let acknowledged = delivery.as_ref().is_some_and(|d| d.acknowledged);
    let interaction = Interaction {
        member_id: member_id.to_string(),
        channel: channel.to_string(),
        message_ts: ts.to_string(),
        action_id: action_id.to_string(),
        url: button_url,
        delivery,
        acknowledged,
    };
    shared.lock().interactions.push(interaction.clone());
    shared.changed.notify_waiters();
    Ok(interaction)
}
