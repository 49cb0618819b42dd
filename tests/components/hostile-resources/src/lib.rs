//! A deliberately malicious connector, for tests only: `deliver` makes the host hold what the notification's body
//! says and reports what happened as each recipient's outcome code. The tests prove every such resource is bounded
//! per call and that another platform's calls are unaffected.
//!
//! Attacks: `longline BYTES LINES` (LINES log lines of BYTES bytes of token-like words), `headers BYTES MAPS`
//! (MAPS wasi:http header maps of up to BYTES bytes each, never dropped), `storm KIND CALLS` (CALLS host calls of
//! KIND: `settings` gets, `log` writes, or `users` pages of 1,000), `settings COUNT BYTES` (COUNT settings of
//! BYTES bytes each), `logbytes LINES BYTES` (LINES log lines of BYTES bytes each). `hello` is the well-behaved
//! call: one setting written, one log line.

#![cfg(target_arch = "wasm32")]

use connector_api::{
    Connector, ConnectorInfo, Context, DeliveryOutcome, Failure, FailureKind, Level, Log,
    Notification, Ports, Recipient, Settings, Users,
};
use std::hint::black_box;
use wasip2::http::types::Fields;

/// A line of `bytes` bytes made of words that look like credentials (`xoxb-…`).
fn token_line(bytes: usize) -> String {
    let mut line = String::with_capacity(bytes + 32);
    let mut i = 0u64;
    while line.len() < bytes {
        line.push_str(&format!("xoxb-{i:012}-AbCdEf "));
        i += 1;
    }
    line.truncate(bytes);
    line
}

/// Header maps of up to `bytes` each, `maps` of them, none dropped: how many bytes the first one accepted.
fn hold_headers(bytes: usize, maps: usize) -> String {
    let value = vec![b'v'; 1024];
    let mut first_map = None;
    for _ in 0..maps {
        let fields = Fields::new();
        let mut accepted = 0usize;
        let mut n = 0;
        while accepted < bytes {
            if fields.append(&format!("x-pad-{n}"), &value).is_err() {
                break;
            }
            accepted += value.len();
            n += 1;
        }
        if first_map.is_none() {
            // Written now, so that a failed call's error shows it.
            eprintln!("hostile-resources: the first header map accepted {accepted} bytes");
            first_map = Some(accepted);
        }
        std::mem::forget(fields);
    }
    format!("headers:held:{maps};first-map:{}", first_map.unwrap_or(0))
}

fn storm(ctx: &mut Context<impl Ports>, kind: &str, calls: u64) -> String {
    for i in 0..calls {
        match kind {
            "settings" => {
                black_box(ctx.settings.get("storm"));
            }
            "log" => ctx.log.write(Level::Debug, &format!("storm {i}")),
            "users" => {
                black_box(ctx.users.page(None, 1_000));
            }
            _ => return "unknown-storm".into(),
        }
    }
    "storm:done".into()
}

fn flood_settings(ctx: &mut Context<impl Ports>, count: usize, bytes: usize) -> String {
    let value = "s".repeat(bytes);
    for i in 0..count {
        if let Err(e) = ctx.settings.set(&format!("flood-{i}"), &value) {
            return format!("settings:stored:{i};refused:{e}");
        }
    }
    format!("settings:stored:{count}")
}

fn attack(ctx: &mut Context<impl Ports>, body: &str) -> String {
    let words: Vec<&str> = body.split(' ').collect();
    let number = |i: usize| -> usize { words.get(i).and_then(|w| w.parse().ok()).unwrap_or(0) };
    match words[0] {
        "longline" => {
            let line = token_line(number(1));
            for _ in 0..number(2) {
                ctx.log.write(Level::Info, &line);
            }
            "longline:done".into()
        }
        "headers" => hold_headers(number(1), number(2)),
        "storm" => storm(ctx, words.get(1).copied().unwrap_or(""), number(2) as u64),
        "settings" => flood_settings(ctx, number(1), number(2)),
        "logbytes" => {
            let line = "l".repeat(number(2));
            for _ in 0..number(1) {
                ctx.log.write(Level::Info, &line);
            }
            "logbytes:done".into()
        }
        "hello" => {
            let stored = ctx.settings.set("hello", "world");
            ctx.log.write(Level::Info, "hello");
            match stored {
                Ok(()) => "hello".into(),
                Err(e) => format!("hello:refused:{e}"),
            }
        }
        _ => "unknown-attack".into(),
    }
}

struct HostileResources;

impl Connector for HostileResources {
    fn describe() -> ConnectorInfo {
        ConnectorInfo::named("hostile-resources", "Hostile resources", "0.0.0")
    }

    fn deliver(
        ctx: &mut Context<impl Ports>,
        notification: Notification,
        recipients: Vec<Recipient>,
    ) -> Vec<DeliveryOutcome> {
        let body = notification.body.unwrap_or_default();
        let code = attack(ctx, &body);
        DeliveryOutcome::fail_all(recipients, Failure::new(FailureKind::Permanent, code, body))
    }
}

connector_api::export_connector!(HostileResources);
