//! Requests the messaging service sends to the platform (events, interactivity). The host checks the request
//! signature before anything reaches the connector: `v0=hex(HMAC-SHA256(signing secret, "v0:{timestamp}:{body}"))`
//! in `X-Slack-Signature`, with `X-Slack-Request-Timestamp` no more than five minutes away, compared in constant
//! time. The signing secret is the connector's own secret on that platform.

use crate::integration::Lms;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use connector_host::wit;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Requests older (or newer) than this are refused, against replays.
pub const MAX_SKEW_SECS: i64 = 5 * 60;
/// The signing secret's key among the connector's secrets.
pub const SIGNING_SECRET: &str = "signing_secret";

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

/// Why a signature does not hold, or `Ok`.
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), &'static str> {
    let timestamp = timestamp.ok_or("missing request timestamp")?;
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| "bad request timestamp")?;
    if (now - ts).abs() > MAX_SKEW_SECS {
        return Err("stale request timestamp");
    }
    let signature = signature.ok_or("missing signature")?;
    let hex = signature
        .strip_prefix("v0=")
        .ok_or("unknown signature version")?;
    let expected = decode_hex(hex).ok_or("malformed signature")?;
    signing_mac(secret, timestamp, body)
        .verify_slice(&expected)
        .map_err(|_| "signature mismatch")
}

/// Signs a body as the service does (for the simulation and tests).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mac = signing_mac(secret, &timestamp.to_string(), body);
    format!("v0={}", hex::encode(&mac.finalize().into_bytes()))
}

/// HMAC-SHA256 with the signing secret over `v0:{timestamp}:{body}` (the timestamp as it is written).
fn signing_mac(secret: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    mac
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl Lms {
    /// Handles an inbound request for `platform_id` on `route` (`events` or `interactivity`), received at `now`.
    pub async fn inbound(
        &self,
        platform_id: &str,
        route: &str,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Answer {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let secret =
            match self
                .db()
                .secret(platform_id, self.sandbox().connector_id(), SIGNING_SECRET)
            {
                Ok(Some(secret)) => secret,
                Ok(None) => return Answer::refused(404, "no integration here"),
                Err(e) => {
                    tracing::error!("reading the signing secret of {platform_id}: {e:#}");
                    return Answer::refused(500, "storage error");
                }
            };
        if let Err(why) = verify(
            &secret,
            header("x-slack-request-timestamp"),
            header("x-slack-signature"),
            body,
            now,
        ) {
            tracing::warn!(
                platform = platform_id,
                route,
                "inbound request refused: {why}"
            );
            let _ = self
                .db()
                .audit(platform_id, "inbound", "inbound.refused", why);
            return Answer::refused(401, why);
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
                Answer::refused(500, "connector error")
            }
        }
    }
}

/// Routes `POST /slack/{platform}/events` and `POST /slack/{platform}/interactivity`.
pub fn router(lms: Lms) -> Router {
    Router::new()
        .route("/slack/{platform}/{route}", post(handle))
        .with_state(lms)
}

async fn handle(
    State(lms): State<Lms>,
    Path((platform, route)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if route != "events" && route != "interactivity" {
        return StatusCode::NOT_FOUND.into_response();
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    // Slack's documented example (api.slack.com/authentication/verifying-requests-from-slack).
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const BODY: &[u8] = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    #[test]
    fn slacks_documented_example_verifies() {
        let now = 1_531_420_618;
        assert_eq!(verify(SECRET, Some(TS), Some(SIG), BODY, now), Ok(()));
        assert_eq!(sign(SECRET, now, BODY), SIG);
    }

    #[test]
    fn forged_stale_and_malformed_requests_are_refused() {
        let now = 1_531_420_618;
        assert_eq!(
            verify(SECRET, Some(TS), Some(SIG), b"tampered", now),
            Err("signature mismatch")
        );
        assert_eq!(
            verify("other", Some(TS), Some(SIG), BODY, now),
            Err("signature mismatch")
        );
        assert_eq!(
            verify(SECRET, Some(TS), Some(SIG), BODY, now + MAX_SKEW_SECS + 1),
            Err("stale request timestamp")
        );
        assert_eq!(
            verify(SECRET, Some(TS), Some(SIG), BODY, now - MAX_SKEW_SECS - 1),
            Err("stale request timestamp")
        );
        assert_eq!(
            verify(SECRET, None, Some(SIG), BODY, now),
            Err("missing request timestamp")
        );
        assert_eq!(
            verify(SECRET, Some(TS), None, BODY, now),
            Err("missing signature")
        );
        assert_eq!(
            verify(SECRET, Some(TS), Some("v1=00"), BODY, now),
            Err("unknown signature version")
        );
        assert_eq!(
            verify(SECRET, Some(TS), Some("v0=zz"), BODY, now),
            Err("malformed signature")
        );
        assert_eq!(
            verify(SECRET, Some("abc"), Some(SIG), BODY, now),
            Err("bad request timestamp")
        );
    }
}
