//! A Web API answer before it becomes HTTP: Slack's envelope (`ok`, `error`, `warning`,
//! `response_metadata`), its HTTP status and `Retry-After`, and the events it owes the app.

use serde_json::{Value, json};

use crate::state::Effect;

/// A Web API answer before it becomes HTTP.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
    /// `Retry-After` seconds.
    pub retry_after: Option<u64>,
    /// Things to do once the state lock is released.
    pub effects: Vec<Effect>,
    /// The scopes granted to the calling token, sent as Slack sends them in `x-oauth-scopes` (comma-separated).
    pub oauth_scopes: Option<String>,
}

impl Reply {
    /// An answer with no `Retry-After` and nothing owed to the app.
    fn new(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body,
            retry_after: None,
            effects: Vec::new(),
            oauth_scopes: None,
        }
    }

    /// `{"ok":true, …fields}`.
    pub fn ok(fields: Value) -> Reply {
        let mut body = json!({"ok": true});
        if let (Value::Object(b), Value::Object(f)) = (&mut body, fields) {
            b.extend(f);
        }
        Reply::new(200, body)
    }

    /// `{"ok":false,"error":code}`.
    pub fn err(code: &str) -> Reply {
        Reply::new(200, json!({"ok": false, "error": code}))
    }

    /// An error with `response_metadata.messages`.
    pub fn err_msgs(code: &str, messages: Vec<String>) -> Reply {
        let mut r = Reply::err(code);
        r.body["response_metadata"] = json!({ "messages": messages });
        r
    }

    /// HTTP 429 `ratelimited`.
    pub fn ratelimited(retry_after: u64) -> Reply {
        let mut r = Reply::new(429, json!({"ok": false, "error": "ratelimited"}));
        r.retry_after = Some(retry_after.max(1));
        r
    }

    /// Adds warnings as Slack does: `warning` (comma-separated) and `response_metadata.warnings`.
    pub fn add_warnings(&mut self, warnings: &[&str]) {
        if warnings.is_empty() {
            return;
        }
        self.body["warning"] = Value::String(warnings.join(","));
        let Some(body) = self.body.as_object_mut() else {
            return;
        };
        let metadata = body.entry("response_metadata").or_insert_with(|| json!({}));
        if let Value::Object(metadata) = metadata {
            metadata.insert("warnings".into(), json!(warnings));
        }
    }
}
