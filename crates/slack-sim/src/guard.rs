//! What every request passes before its handler: its `Host` must name this server (else 421: a DNS rebinding);
//! a Web API call, and any request that changes something, must not come from another site (a foreign or `null`
//! `Origin`, `Sec-Fetch-Site: cross-site` or `same-site`: 403); and a form posted to the simulation's pages must
//! carry the token of the browser's session (see `csrf`). Scripts and Slack client libraries send no `Origin`
//! and post JSON or call the Web API, so they pass.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, Uri, header};
use serde_json::json;

use crate::csrf::FIELD;
use crate::hosts::ServedHosts;
use crate::request::{form_pairs, has_content_type, is_form};
use crate::state::Shared;

/// The largest form a page posts (the request form's message is at most 2,000 characters).
const MAX_FORM_BYTES: usize = 64 << 10;

/// What the middleware needs.
pub struct Guard {
    /// The authorities this server answers for.
    pub hosts: ServedHosts,
    /// The port a `Host` without one means: 80, or 443 over TLS.
    pub default_port: u16,
    /// The simulation (for the form tokens' key).
    pub shared: Arc<Shared>,
}

/// Who an endpoint is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Audience {
    /// The app's servers and Slack client libraries: the Web API and `response_url`.
    Apps,
    /// People in a browser and the tests' scripts: the consent pages and `/_sim/*`.
    Browsers,
}

impl Audience {
    /// The audience of a path.
    fn of(path: &str) -> Audience {
        if path.starts_with("/api/") || path.starts_with("/_sim/response_url/") {
            Audience::Apps
        } else {
            Audience::Browsers
        }
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Refusal {
    /// No `Host`, or several.
    NoHost,
    /// A `Host` (or absolute request target) naming another server.
    Misdirected(String),
    /// Sent by a page of another site.
    CrossSite(String),
    /// A page's form without the token of the browser's session.
    NoFormToken,
    /// A body a page's form or a script would not send (such as `text/plain`).
    BodyType,
}

impl Refusal {
    /// The answer: a Slack-shaped JSON error for the Web API, text for the rest.
    fn response(&self, audience: Audience, hosts: &ServedHosts) -> Response {
        let (status, code, text) = match self {
            Refusal::NoHost => (
                StatusCode::BAD_REQUEST,
                "missing_host",
                "the request has no Host header (or several)".to_string(),
            ),
            Refusal::Misdirected(host) => (
                StatusCode::MISDIRECTED_REQUEST,
                "misdirected_request",
                format!(
                    "this simulated Slack answers only for {}, not for Host {host:?}",
                    hosts.describe()
                ),
            ),
            Refusal::CrossSite(why) => (
                StatusCode::FORBIDDEN,
                "cross_site_request",
                format!("refused a request from another site ({why})"),
            ),
            Refusal::NoFormToken => (
                StatusCode::FORBIDDEN,
                "invalid_form_token",
                "the form's token is missing or is not this browser session's: reload the page and submit \
                 again"
                    .to_string(),
            ),
            Refusal::BodyType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_body",
                "post JSON (Content-Type: application/json) or a form of the simulation's pages".to_string(),
            ),
        };
        match audience {
            Audience::Apps => (
                status,
                axum::Json(json!({"ok": false, "error": code, "detail": text})),
            )
                .into_response(),
            Audience::Browsers => (status, format!("{text}\n")).into_response(),
        }
    }
}

/// The middleware: refuses what does not pass, hands the rest on.
pub async fn check(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let audience = Audience::of(request.uri().path());
    match admit(&guard, request).await {
        Ok(request) => next.run(request).await,
        Err(refusal) => {
            tracing::info!(?refusal, "refused a request");
            refusal.response(audience, &guard.hosts)
        }
    }
}

/// The request, if it passes (its body read and put back when a form's token was checked).
async fn admit(guard: &Guard, request: Request) -> Result<Request, Refusal> {
    let headers = request.headers();
    let mut hosts = headers.get_all(header::HOST).iter();
    let (Some(host), None) = (hosts.next(), hosts.next()) else {
        return Err(Refusal::NoHost);
    };
    let host = host.to_str().map_err(|_| Refusal::NoHost)?;
    if !guard.hosts.serves(host, guard.default_port) {
        return Err(Refusal::Misdirected(host.to_string()));
    }
    if let Some(authority) = request.uri().authority()
        && !guard.hosts.serves(authority.as_str(), guard.default_port)
    {
        return Err(Refusal::Misdirected(authority.to_string()));
    }
    let audience = Audience::of(request.uri().path());
    let changes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if audience == Audience::Apps || changes {
        cross_site(headers, &guard.hosts)?;
    }
    if audience == Audience::Apps || !changes {
        return Ok(request);
    }
    if has_content_type(headers, "application/json") {
        // A page of another site cannot send JSON without asking first (CORS), which is never granted.
        return Ok(request);
    }
    let form = is_form(headers);
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| Refusal::BodyType)?;
    if form {
        let token = form_pairs(&bytes).remove(FIELD).unwrap_or_default();
        if !guard.shared.csrf.verify(&parts.headers, &token) {
            return Err(Refusal::NoFormToken);
        }
    } else if !bytes.is_empty() {
        return Err(Refusal::BodyType);
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// Refuses a request a page of another site sent: a `null` or foreign `Origin`, or `Sec-Fetch-Site` saying
/// another site (`same-site` too: another port of 127.0.0.1 is another application).
fn cross_site(headers: &HeaderMap, hosts: &ServedHosts) -> Result<(), Refusal> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !is_own_origin(origin, hosts) {
            return Err(Refusal::CrossSite(format!("Origin {origin:?}")));
        }
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site @ ("cross-site" | "same-site")) => {
            Err(Refusal::CrossSite(format!("Sec-Fetch-Site: {site}")))
        }
        _ => Ok(()),
    }
}

/// Whether `origin` (`scheme://host[:port]`) is this server (`null` is not).
fn is_own_origin(origin: &str, hosts: &ServedHosts) -> bool {
    let Ok(uri) = origin.parse::<Uri>() else {
        return false;
    };
    let default_port = match uri.scheme_str() {
        Some("http") => 80,
        Some("https") => 443,
        _ => return false,
    };
    let bare = uri
        .path_and_query()
        .is_none_or(|p| p.as_str().is_empty() || p.as_str() == "/");
    bare && uri
        .authority()
        .is_some_and(|a| hosts.serves(a.as_str(), default_port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_of_this_server_only() {
        let hosts = ServedHosts::new("127.0.0.1:4000".parse().unwrap(), &["slack.com".into()]);
        let cases = [
            ("http://127.0.0.1:4000", true),
            ("http://localhost:4000", true),
            ("https://slack.com", true),
            ("null", false),
            ("", false),
            ("http://127.0.0.1:8080", false),
            ("http://evil.example:4000", false),
            ("file://", false),
            ("ftp://127.0.0.1:4000", false),
            ("http://127.0.0.1", false),
        ];
        for (origin, own) in cases {
            assert_eq!(is_own_origin(origin, &hosts), own, "{origin:?}");
        }
    }
}
