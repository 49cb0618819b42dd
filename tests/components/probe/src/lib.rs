//! A connector for tests only: `deliver` performs the action named in the notification's body and reports what
//! happened as each recipient's outcome code, so that tests can see what the sandbox allowed.
//!
//! Actions: `fetch URL` (an outbound GET; the code is `status:N` or the wasi:http error).

#![cfg(target_arch = "wasm32")]

wit_bindgen::generate!({
    path: "../../../wit",
    world: "lms-connector",
    with: {
        "wasi:http/types@0.2.12": wasip2::http::types,
        "wasi:http/outgoing-handler@0.2.12": wasip2::http::outgoing_handler,
        "wasi:io/streams@0.2.12": wasip2::io::streams,
        "wasi:io/error@0.2.12": wasip2::io::error,
        "wasi:io/poll@0.2.12": wasip2::io::poll,
        "wasi:clocks/monotonic-clock@0.2.12": wasip2::clocks::monotonic_clock,
    },
});

use exports::lms::connector::connector::Guest;
use lms::connector::types::*;
use wasip2::http::outgoing_handler;
use wasip2::http::types::{Fields, OutgoingRequest, Scheme};

fn fetch(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "bad-url".into();
    };
    let (authority, path) = rest
        .find('/')
        .map(|i| (&rest[..i], &rest[i..]))
        .unwrap_or((rest, "/"));
    let request = OutgoingRequest::new(Fields::new());
    let _ = request.set_scheme(Some(&if scheme == "http" {
        Scheme::Http
    } else {
        Scheme::Https
    }));
    let _ = request.set_authority(Some(authority));
    let _ = request.set_path_with_query(Some(path));
    match outgoing_handler::handle(request, None) {
        Err(e) => format!("error:{e:?}"),
        Ok(future) => {
            future.subscribe().block();
            match future.get() {
                Some(Ok(Ok(response))) => format!("status:{}", response.status()),
                Some(Ok(Err(e))) => format!("error:{e:?}"),
                _ => "error:no-response".into(),
            }
        }
    }
}

struct Probe;

impl Guest for Probe {
    fn describe() -> ConnectorInfo {
        ConnectorInfo {
            id: "probe".into(),
            name: "Probe".into(),
            version: "0.0.0".into(),
            outbound_origins: vec![],
            settings: vec![],
        }
    }
    fn start_activation(_: ActivationRequest) -> Result<String, ConnectorError> {
        Err(ConnectorError {
            code: "unsupported".into(),
            message: "probe".into(),
        })
    }
    fn complete_activation(_: Vec<(String, String)>) -> Result<ActivationResult, ConnectorError> {
        Err(ConnectorError {
            code: "unsupported".into(),
            message: "probe".into(),
        })
    }
    fn deactivate() -> Result<(), ConnectorError> {
        Ok(())
    }
    fn deliver(notification: Notification, recipients: Vec<Recipient>) -> Vec<DeliveryOutcome> {
        let body = notification.body.unwrap_or_default();
        let code = match body.split_once(' ') {
            Some(("fetch", url)) => fetch(url),
            _ => "unknown-action".into(),
        };
        recipients
            .into_iter()
            .map(|r| DeliveryOutcome {
                delivery_id: r.delivery_id,
                outcome: Outcome::Failed(Failure {
                    kind: FailureKind::Permanent,
                    code: code.clone(),
                    message: body.clone(),
                    retry_after_ms: None,
                }),
            })
            .collect()
    }
    fn status() -> IntegrationState {
        IntegrationState::Inactive
    }
    fn handle_inbound(_: InboundRequest) -> InboundResponse {
        InboundResponse {
            status: 404,
            content_type: "text/plain".into(),
            body: vec![],
            new_state: None,
        }
    }
}

export!(Probe);
