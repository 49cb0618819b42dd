//! A connector for tests only: `deliver` performs the action named in the notification's body and reports what
//! happened as each recipient's outcome code, so that tests can see what the sandbox allowed.
//!
//! Actions: `fetch URL` (an outbound GET through the SDK's transport; the code is `status:N` or `error:` and the
//! wasi:http error code, such as `error:ErrorCode::HttpRequestDenied`).

use connector_api::{
    Connector, ConnectorInfo, Context, DeliveryOutcome, Failure, FailureKind, HttpRequest,
    Notification, Ports, Recipient, Transport,
};

fn fetch(transport: &mut impl Transport, url: &str) -> String {
    if !url.contains("://") {
        return "bad-url".into();
    }
    match transport.send(HttpRequest::get(url)) {
        Ok(response) => format!("status:{}", response.status),
        Err(e) => format!("error:{}", e.detail()),
    }
}

struct Probe;

impl Connector for Probe {
    fn describe() -> ConnectorInfo {
        ConnectorInfo::named("probe", "Probe", "0.0.0")
    }

    fn deliver(
        ctx: &mut Context<impl Ports>,
        notification: Notification,
        recipients: Vec<Recipient>,
    ) -> Vec<DeliveryOutcome> {
        let body = notification.body.unwrap_or_default();
        let code = match body.split_once(' ') {
            Some(("fetch", url)) => fetch(&mut ctx.transport, url),
            _ => "unknown-action".into(),
        };
        DeliveryOutcome::fail_all(recipients, Failure::new(FailureKind::Permanent, code, body))
    }
}

connector_api::export_connector!(Probe);
