//! A deliberately malicious connector, for tests only: `deliver` performs the attack named in the notification's
//! body and reports what happened as each recipient's outcome code. The tests prove the host contains every one.
//!
//! Attacks: `fetch URL` (GET, reads the whole body), `post URL BYTES` (a request body of BYTES bytes), `loop`
//! (spins forever), `alloc` (allocates without bound), `recurse` (recursion without bound), `huge BYTES` (returns
//! outcomes holding BYTES-long strings), `flood LINES` (writes LINES log lines), `secret KEY` (reads a secret),
//! `set-secret KEY` (writes one), `panic` (writes to stderr, then panics), `burst N URL` (opens N GET requests at
//! once before waiting for any), `method METHOD URL` (a request with that method), `host URL HOST` (a GET that sets
//! its own `Host` header), `progress unknown|twice|flood|after|ok` (abuses the progress reports of contract 0.2.0:
//! about a delivery it was not given, a second outcome, a flood of posts, a post after the outcome; or reports
//! truthfully), `progress wave URL` (announces a post for every recipient, sends them together as GETs of URL through
//! the SDK's transport, then reports each outcome). An inbound request on the route `progress` reports progress
//! outside any delivery.

#![cfg(target_arch = "wasm32")]

use connector_api::{
    Connector, ConnectorInfo, Context, DeliveryOutcome, Failure, FailureKind, HttpRequest,
    InboundRequest, InboundResponse, Level, Log, Notification, Outcome, Ports, Progress, Recipient,
    Settings, Transport,
};
use std::hint::black_box;
// Raw wasi:http rather than the SDK's transport: the attacks need the streams themselves (a body written chunk by
// chunk, a response counted without being kept, the stream's own errors).
use wasip2::http::outgoing_handler;
use wasip2::http::types::{Fields, Method, OutgoingBody, OutgoingRequest, Scheme};

fn request(url: &str, method: Method) -> Result<OutgoingRequest, String> {
    request_with(url, method, Fields::new())
}

fn request_with(url: &str, method: Method, headers: Fields) -> Result<OutgoingRequest, String> {
    let (scheme, rest) = url.split_once("://").ok_or("bad-url")?;
    let (authority, path) = rest
        .find('/')
        .map(|i| (&rest[..i], &rest[i..]))
        .unwrap_or((rest, "/"));
    let request = OutgoingRequest::new(headers);
    let _ = request.set_method(&method);
    let _ = request.set_scheme(Some(&if scheme == "http" {
        Scheme::Http
    } else {
        Scheme::Https
    }));
    let _ = request.set_authority(Some(authority));
    let _ = request.set_path_with_query(Some(path));
    Ok(request)
}

fn exchange(request: OutgoingRequest, body: Option<usize>) -> String {
    let outgoing = request.body().expect("the body of a new request");
    let future = match outgoing_handler::handle(request, None) {
        Err(e) => return format!("error:{e:?}"),
        Ok(future) => future,
    };
    if let Some(size) = body {
        let stream = outgoing.write().expect("the body stream");
        let chunk = vec![b'x'; 4096];
        let mut left = size;
        while left > 0 {
            let n = left.min(chunk.len());
            if let Err(e) = stream.blocking_write_and_flush(&chunk[..n]) {
                drop(stream);
                let _ = OutgoingBody::finish(outgoing, None);
                return format!("body-write-error:{e:?}");
            }
            left -= n;
        }
        drop(stream);
    }
    let _ = OutgoingBody::finish(outgoing, None);
    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(e))) => return format!("error:{e:?}"),
        _ => return "error:no-response".into(),
    };
    let status = response.status();
    let body = response.consume().expect("the response body");
    let stream = body.stream().expect("the response stream");
    let mut bytes = 0usize;
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => bytes += chunk.len(),
            Err(wasip2::io::streams::StreamError::Closed) => break,
            Err(wasip2::io::streams::StreamError::LastOperationFailed(e)) => {
                return format!("status:{status};body-error:{}", e.to_debug_string());
            }
        }
    }
    format!("status:{status};bytes:{bytes}")
}

/// Opens `n` requests to `url` before waiting for any, then waits for each: how many got an answer and how many an
/// error.
fn burst(n: usize, url: &str) -> String {
    let mut pending = Vec::with_capacity(n);
    let mut refused = 0usize;
    for _ in 0..n {
        let Ok(request) = request(url, Method::Get) else {
            return "bad-url".into();
        };
        match outgoing_handler::handle(request, None) {
            Ok(future) => pending.push(future),
            Err(_) => refused += 1,
        }
    }
    let (mut answered, mut failed) = (0usize, 0usize);
    for future in pending {
        future.subscribe().block();
        match future.get() {
            Some(Ok(Ok(_))) => answered += 1,
            _ => failed += 1,
        }
    }
    format!("burst:answered={answered};failed={failed};refused={refused}")
}

fn method(name: &str) -> Method {
    match name {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "CONNECT" => Method::Connect,
        "TRACE" => Method::Trace,
        other => Method::Other(other.to_string()),
    }
}

fn recurse(depth: u64) -> u64 {
    if black_box(depth) == u64::MAX {
        return 0;
    }
    let buffer = black_box([depth; 16]);
    black_box(recurse(black_box(depth + 1))) + buffer[3]
}

fn attack(ctx: &mut Context<impl Ports>, body: &str) -> String {
    let (verb, arg) = body.split_once(' ').unwrap_or((body, ""));
    match verb {
        "fetch" => match request(arg, Method::Get) {
            Ok(r) => exchange(r, None),
            Err(e) => e,
        },
        "burst" => {
            let (n, url) = arg.split_once(' ').unwrap_or(("0", arg));
            burst(n.parse().unwrap_or(0), url)
        }
        "method" => {
            let (name, url) = arg.split_once(' ').unwrap_or((arg, ""));
            match request(url, method(name)) {
                Ok(r) => exchange(r, None),
                Err(e) => e,
            }
        }
        "host" => {
            let (url, host) = arg.split_once(' ').unwrap_or((arg, ""));
            let headers = Fields::new();
            let set = match headers.append("host", host.as_bytes()) {
                Ok(()) => "set".to_string(),
                Err(e) => format!("{e:?}"),
            };
            match request_with(url, Method::Get, headers) {
                Ok(r) => format!("host-header:{set};{}", exchange(r, None)),
                Err(e) => e,
            }
        }
        "post" => {
            let (url, size) = arg.split_once(' ').unwrap_or((arg, "0"));
            match request(url, Method::Post) {
                Ok(r) => exchange(r, Some(size.parse().unwrap_or(0))),
                Err(e) => e,
            }
        }
        "loop" => {
            let mut x = 0u64;
            loop {
                x = black_box(x.wrapping_add(1));
            }
        }
        "alloc" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
                black_box(&hoard);
            }
        }
        "recurse" => format!("{}", recurse(0)),
        "flood" => {
            let lines: u32 = arg.parse().unwrap_or(100_000);
            for i in 0..lines {
                ctx.log.write(Level::Info, &format!("flood {i}"));
            }
            "flooded".into()
        }
        "secret" => match ctx.settings.get_secret(arg) {
            Some(value) => format!("secret:{value}"),
            None => "secret:none".into(),
        },
        "set-secret" => match ctx.settings.set_secret(arg, "stolen") {
            Ok(()) => "set-secret:ok".into(),
            Err(e) => format!("set-secret:refused:{e}"),
        },
        "panic" => {
            eprintln!("hostile: about to panic on purpose");
            panic!("hostile panic");
        }
        _ => "unknown-attack".into(),
    }
}

struct Hostile;

impl Connector for Hostile {
    fn describe() -> ConnectorInfo {
        ConnectorInfo::named("hostile", "Hostile", "0.0.0")
    }

    fn deliver(
        ctx: &mut Context<impl Ports>,
        notification: Notification,
        recipients: Vec<Recipient>,
    ) -> Vec<DeliveryOutcome> {
        let body = notification.body.unwrap_or_default();
        if let Some(size) = body.strip_prefix("huge ") {
            // Giant outputs: every recipient's outcome carries a string of `size` bytes.
            let size: usize = size.parse().unwrap_or(0);
            return DeliveryOutcome::fail_all(
                recipients,
                Failure::new(FailureKind::Permanent, "huge", "x".repeat(size)),
            );
        }
        if let Some(url) = body.strip_prefix("progress wave ") {
            return wave(ctx, url, recipients);
        }
        if let Some(how) = body.strip_prefix("progress ") {
            return misreport(ctx, how, recipients);
        }
        let code = attack(ctx, &body);
        DeliveryOutcome::fail_all(recipients, Failure::new(FailureKind::Permanent, code, body))
    }

    fn handle_inbound(ctx: &mut Context<impl Ports>, request: InboundRequest) -> InboundResponse {
        if request.route == "progress" {
            ctx.progress.posting("not-delivering");
        }
        InboundResponse::not_found()
    }
}

/// Announces a post for every recipient, sends one GET of `url` per recipient (all in flight together), then reports
/// each outcome (`status:CODE` or `error:…`) and returns them all.
fn wave(
    ctx: &mut Context<impl Ports>,
    url: &str,
    recipients: Vec<Recipient>,
) -> Vec<DeliveryOutcome> {
    for r in &recipients {
        ctx.progress.posting(&r.delivery_id);
    }
    let answers = ctx
        .transport
        .send_all(recipients.iter().map(|_| HttpRequest::get(url)).collect());
    recipients
        .into_iter()
        .zip(answers)
        .map(|(r, answer)| {
            let code = match answer {
                Ok(response) => format!("status:{}", response.status),
                Err(e) => format!("error:{e}"),
            };
            let outcome = DeliveryOutcome {
                delivery_id: r.delivery_id,
                outcome: Outcome::Failed(Failure::new(FailureKind::Permanent, code, "wave")),
            };
            ctx.progress.outcome(&outcome);
            outcome
        })
        .collect()
}

/// Reports the first recipient's progress the way `how` says, then returns every outcome.
fn misreport(
    ctx: &mut Context<impl Ports>,
    how: &str,
    recipients: Vec<Recipient>,
) -> Vec<DeliveryOutcome> {
    let outcomes = DeliveryOutcome::fail_all(
        recipients,
        Failure::new(FailureKind::Permanent, "reported", how),
    );
    let first = &outcomes[0];
    match how {
        "unknown" => ctx.progress.posting("a-delivery-it-was-not-given"),
        "twice" => {
            ctx.progress.outcome(first);
            ctx.progress.outcome(&DeliveryOutcome {
                delivery_id: first.delivery_id.clone(),
                outcome: Outcome::Skipped(connector_api::SkipReason::NoAccount),
            });
        }
        "flood" => {
            for _ in 0..1_000 {
                ctx.progress.posting(&first.delivery_id);
            }
        }
        "after" => {
            ctx.progress.outcome(first);
            ctx.progress.posting(&first.delivery_id);
        }
        _ => {
            ctx.progress.posting(&first.delivery_id);
            ctx.progress.outcome(first);
        }
    }
    outcomes
}

connector_api::export_connector!(Hostile);
