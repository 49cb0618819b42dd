//! Requests the messaging service sends to the platform (events, interactivity). Only the routes the connector's
//! manifest declares are accepted, and their signature is checked as the manifest says
//! ([`connector_host::inbound::SignedRequests`]) before anything reaches the connector; the signing secret is the
//! connector's own secret on that platform.

use crate::integration::Lms;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use connector_host::ConnectorStore;
use connector_host::wit;

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

/// Routes `POST /{connector}/{platform}/{route}` (such as `/slack/acme/events`) for the routes the connector's
/// manifest declares.
pub fn router(lms: Lms) -> Router {
    let path = format!("/{}/{{platform}}/{{route}}", lms.sandbox().connector_id());
    Router::new().route(&path, post(handle)).with_state(lms)
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
