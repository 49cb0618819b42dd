//! A connector for tests only: `deliver` performs the action named in the notification's body and reports what
//! happened as each recipient's outcome code, so that tests can see what the sandbox allowed.
//!
//! Actions:
//! - `fetch URL`: an outbound GET through the SDK's transport; the code is `status:N` or `error:` and the wasi:http
//!   error code, such as `error:ErrorCode::HttpRequestDenied`.
//! - `settings KEY COUNT URL`: writes the settings `KEY-0` to `KEY-{COUNT-1}` (values `v0`…), removes `KEY-0`, reads
//!   them all back, fetches URL, then writes `KEY-after`; the code is `read:true;` (or `false`) and the fetch's.
//! - `abort KEY`: writes the setting KEY, then panics.

use connector_api::{
    Connector, ConnectorInfo, Context, DeliveryOutcome, Failure, FailureKind, HttpRequest,
    Notification, Ports, Recipient, Settings, Transport,
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

fn settings_then_fetch(ctx: &mut Context<impl Ports>, args: &str) -> String {
    let mut words = args.split(' ');
    let (Some(key), Some(Ok(count)), Some(url)) = (
        words.next(),
        words.next().map(str::parse::<usize>),
        words.next(),
    ) else {
        return "bad-arguments".into();
    };
    for i in 0..count {
        if let Err(e) = ctx.settings.set(&format!("{key}-{i}"), &format!("v{i}")) {
            return format!("refused:{e}");
        }
    }
    ctx.settings.remove(&format!("{key}-0"));
    let read = ctx.settings.get(&format!("{key}-0")).is_none()
        && (1..count).all(|i| ctx.settings.get(&format!("{key}-{i}")) == Some(format!("v{i}")));
    let fetched = fetch(&mut ctx.transport, url);
    let _ = ctx.settings.set(&format!("{key}-after"), "after");
    format!("read:{read};{fetched}")
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
            Some(("settings", args)) => settings_then_fetch(ctx, args),
            Some(("abort", key)) => {
                let _ = ctx.settings.set(key, "kept");
                panic!("aborting on purpose after writing {key}");
            }
            _ => "unknown-action".into(),
        };
        DeliveryOutcome::fail_all(recipients, Failure::new(FailureKind::Permanent, code, body))
    }
}

connector_api::export_connector!(Probe);
