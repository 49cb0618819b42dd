//! Requests the messaging service sends to the platform (events, interactivity). Only the routes the connector's
//! manifest declares are accepted, and their signature is checked as the manifest says
//! ([`connector_host::inbound::SignedRequests`]) before anything reaches the connector; the signing secret is the
//! connector's own secret on that platform.
//!
//! A signed request seen before within its time window (the same event id, as the manifest's `event_id_field`
//! names it, or else the same signed text) is a replay and does not reach the connector again. Refused requests
//! write nothing to the database (anyone can send them): they are counted, with a warning in the log at most once a
//! minute.

use crate::integration::Lms;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use connector_host::inbound::SignedRequests;
use connector_host::wit;
use sha2::{Digest, Sha256};

/// What identifies a signed request against replays: the event id the manifest names when the body is JSON with
/// that field, else the hash of the signed text (timestamp and body).
fn replay_key(
    scheme: &SignedRequests,
    platform_id: &str,
    route: &str,
    timestamp: &str,
    body: &[u8],
) -> String {
    let event_id = scheme.event_id_field.as_deref().and_then(|field| {
        let json: serde_json::Value = serde_json::from_slice(body).ok()?;
        Some(json.get(field)?.as_str()?.to_string())
    });
    match event_id {
        Some(id) => format!("{platform_id}\0{route}\0id:{id}"),
        None => {
            let mut h = Sha256::new();
            h.update(timestamp.as_bytes());
            h.update(b":");
            h.update(body);
            format!(
                "{platform_id}\0{route}\0sha256:{}",
                hex::encode(h.finalize())
            )
        }
    }
}

/// An answer to the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Content type.
    pub content_type: String,
    /// Body.
    pub body: Vec<u8>,
}

impl Answer {
    fn refused(status: u16, why: &str) -> Answer {
        Answer {
            status,
            content_type: "text/plain; charset=utf-8".into(),
            body: why.as_bytes().to_vec(),
        }
    }
}

impl Lms {
    /// Handles an inbound request for `platform_id` on `route` (such as `events`), received at `now`.
    pub async fn inbound(
        &self,
        platform_id: &str,
        route: &str,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Answer {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let Some(scheme) = self
            .sandbox()
            .signed_requests()
            .filter(|s| s.routes.iter().any(|r| r == route))
        else {
            return Answer::refused(404, "this connector takes no such request");
        };
        let secret =
            match self
                .db()
                .secret(platform_id, self.sandbox().connector_id(), &scheme.secret)
            {
                Ok(Some(secret)) => secret,
                Ok(None) => return Answer::refused(404, "no integration here"),
                Err(e) => {
                    tracing::error!("reading the signing secret of {platform_id}: {e:#}");
                    return Answer::refused(500, "storage error");
                }
            };
        if let Err(why) = scheme.verify(
            &secret,
            header(&scheme.timestamp_header),
            header(&scheme.signature_header),
            body,
            now,
        ) {
            self.inbound_guard()
                .count_refusal(platform_id, route, why, now);
            return Answer::refused(401, why);
        }
        // A request stays valid for `max_skew_secs` either side of its timestamp, so for at most twice that from now.
        let key = replay_key(
            scheme,
            platform_id,
            route,
            header(&scheme.timestamp_header).unwrap_or_default(),
            body,
        );
        let until = now + 2 * scheme.max_skew_secs;
        // This host's memory first (a retry arriving here again costs no write), then the database every host shares.
        let first = self.inbound_guard().replays.first_sight(&key, now, until)
            && match self.db().first_sight(&key, now, until) {
                Ok(first) => first,
                Err(e) => {
                    tracing::error!("recording an inbound request of {platform_id}: {e:#}");
                    self.inbound_guard().replays.forget(&key);
                    return Answer::refused(500, "storage error");
                }
            };
        if !first {
            tracing::warn!(
                platform = platform_id,
                route,
                "a signed inbound request seen before was dropped (a retry or a replay)"
            );
            // 200 and no effect: the service retries what it thinks was not acknowledged (Slack does, up to three
            // times, and turns the subscription off after repeated failures), so an error would bring it back; a
            // replay gets the same answer and changes nothing.
            return Answer {
                status: 200,
                content_type: "text/plain; charset=utf-8".into(),
                body: b"duplicate request: already handled".to_vec(),
            };
        }
        let request = wit::InboundRequest {
            route: route.to_string(),
            headers: headers
                .iter()
                .filter_map(|(n, v)| {
                    Some((
                        n.as_str().to_ascii_lowercase(),
                        v.to_str().ok()?.to_string(),
                    ))
                })
                .collect(),
            body: body.to_vec(),
            received_at: now,
        };
        match self.sandbox().handle_inbound(platform_id, &request).await {
            Ok(response) => {
                if let Some(wit::IntegrationState::Disconnected(reason)) = &response.new_state
                    && let Err(e) = self.disconnected(platform_id, reason)
                {
                    tracing::error!("recording the disconnection of {platform_id}: {e:#}");
                }
                Answer {
                    status: response.status,
                    content_type: response.content_type,
                    body: response.body,
                }
            }
            Err(e) => {
                tracing::error!(
                    platform = platform_id,
                    route,
                    "the connector failed on an inbound request: {e:#}"
                );
                // Not handled: the service's retry of it must get through.
                self.inbound_guard().replays.forget(&key);
                if let Err(e) = self.db().forget_sight(&key) {
                    tracing::error!("forgetting an inbound request of {platform_id}: {e:#}");
                }
                Answer::refused(500, "connector error")
            }
        }
    }
}

/// Routes `POST /{connector}/{platform}/{route}` (such as `/slack/acme/events`, see [`path`]) for the routes the
/// connector's manifest declares.
pub fn router(lms: Lms) -> Router {
    let pattern = path(lms.sandbox().connector_id(), "{platform}", "{route}");
    Router::new().route(&pattern, post(handle)).with_state(lms)
}

/// The path at which the platform receives the connector's service's requests on `route`: what the service (Slack's
/// event and interactivity settings) must be told.
pub fn path(connector_id: &str, platform_id: &str, route: &str) -> String {
    format!("/{connector_id}/{platform_id}/{route}")
}

async fn handle(
    State(lms): State<Lms>,
    Path((platform, route)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = lms
        .inbound(&platform, &route, &headers, &body, crate::db::now())
        .await;
    (
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, answer.content_type)],
        answer.body,
    )
        .into_response()
}
