//! What a client can make the site wait for or hold: the time to send a request's headers (enforced by the HTTP
//! server, see [`super::server`]) and its body, and the body's size. A slow or endless client is cut off instead
//! of holding a connection and a task forever.

use super::errors::plain_page;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::StatusCode;
use std::time::Duration;

/// The largest form body the pages take (a "Slack message" step is at most a few KiB).
pub const FORM_BYTES: usize = 64 * 1024;
/// The largest inbound request body (events and interactivity payloads of the messaging service).
pub const INBOUND_BYTES: usize = 1024 * 1024;

/// How long a client may take to send a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From the first byte of a request to the end of its headers (slowloris).
    pub header: Duration,
    /// To send the whole body once the headers are in.
    pub body: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            header: Duration::from_secs(10),
            body: Duration::from_secs(20),
        }
    }
}

/// A body layer's bounds: its size, and the time to receive it.
#[derive(Debug, Clone, Copy)]
pub(super) struct BodyLimit {
    /// The largest body taken.
    pub bytes: usize,
    /// How long receiving it may take.
    pub time: Duration,
}

/// Reads the whole body within the limit's size and time before the handler runs: 413 when it is larger, 408 when
/// it is too slow. Handlers then get it from memory.
pub(super) async fn read_body(
    State(limit): State<BodyLimit>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    match tokio::time::timeout(limit.time, axum::body::to_bytes(body, limit.bytes)).await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(_)) => {
            let kib = limit.bytes / 1024;
            plain_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                ("Refused", "Refusé"),
                (
                    &format!("The request's body is larger than {kib} KiB, or was cut short."),
                    &format!("Le corps de la requête dépasse {kib} Kio, ou a été coupé."),
                ),
            )
        }
        Err(_) => plain_page(
            StatusCode::REQUEST_TIMEOUT,
            ("Too slow", "Trop lent"),
            (
                "The request's body did not arrive in time.",
                "Le corps de la requête n'est pas arrivé à temps.",
            ),
        ),
    }
}
