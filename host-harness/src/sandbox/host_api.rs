//! The LMS's side of the WIT imports (`settings`, `users`, `log`), scoped to the one platform and connector a store
//! was created for: a connector can never read another platform's or another connector's data.

use super::StoreState;
use super::lms::connector::{log, settings, types, users};
use crate::db::Db;
use std::sync::Arc;

/// Longest log line kept; longer lines are cut.
const MAX_LOG_LINE: usize = 2_000;
/// Longest key or value a connector may store.
const MAX_VALUE: usize = 64 * 1024;

/// Secret keys looked for when a connector has no manifest saying which it uses.
pub const USUAL_SECRETS: &[&str] = &["client_secret", "signing_secret", "bot_token"];

/// Replaces every occurrence of a known secret value, and anything shaped like a Slack token (`xoxb-…`, `xoxp-…`,
/// …), with `[redacted]`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(secret.as_str(), "[redacted]");
    }
    for prefix in ["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxe-", "xapp-"] {
        while let Some(start) = out.find(prefix) {
            let end = out[start..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .map(|n| start + n)
                .unwrap_or(out.len());
            out.replace_range(start..end, "[redacted]");
        }
    }
    out
}

/// The platform and connector a store serves.
pub struct Scope {
    db: Db,
    platform_id: String,
    connector_id: String,
    log_budget: usize,
    dropped_log_lines: usize,
    /// The secret keys the connector's manifest declares; `None` when it has no manifest.
    secrets: Option<Arc<Vec<String>>>,
    /// The secret values, read when the first log line is written, forgotten when a secret changes.
    known: Option<Vec<String>>,
}

impl Scope {
    /// A scope on `platform_id` for `connector_id`, allowing `log_lines` log lines.
    pub fn new(db: Db, platform_id: &str, connector_id: &str, log_lines: usize) -> Self {
        Scope {
            db,
            platform_id: platform_id.to_string(),
            connector_id: connector_id.to_string(),
            log_budget: log_lines,
            dropped_log_lines: 0,
            secrets: None,
            known: None,
        }
    }

    /// Restricts the secrets the connector may read and write to `declared` (its manifest's), when given.
    pub fn with_secrets(mut self, declared: Option<Arc<Vec<String>>>) -> Self {
        self.secrets = declared;
        self
    }

    fn secret_declared(&self, key: &str) -> bool {
        self.secrets
            .as_ref()
            .is_none_or(|keys| keys.iter().any(|k| k == key))
    }

    fn known_secrets(&mut self) -> &[String] {
        if self.known.is_none() {
            self.known = Some(self.read_secrets());
        }
        self.known.as_deref().unwrap_or_default()
    }

    fn read_secrets(&self) -> Vec<String> {
        let keys: Vec<String> = match &self.secrets {
            Some(keys) => keys.to_vec(),
            None => USUAL_SECRETS.iter().map(|k| k.to_string()).collect(),
        };
        keys.iter()
            .filter_map(|k| {
                self.db
                    .secret(&self.platform_id, &self.connector_id, k)
                    .ok()
                    .flatten()
            })
            .collect()
    }

    /// Log lines dropped because the call exceeded its quota.
    pub fn dropped_log_lines(&self) -> usize {
        self.dropped_log_lines
    }
}

fn check_size(key: &str, value: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > 256 {
        return Err("a key is 1 to 256 bytes".into());
    }
    if value.len() > MAX_VALUE {
        return Err(format!("a value is at most {MAX_VALUE} bytes"));
    }
    Ok(())
}

fn trap(e: anyhow::Error) -> wasmtime::Error {
    wasmtime::Error::from_anyhow(e.context("the LMS's storage failed"))
}

impl types::Host for StoreState {}

impl settings::Host for StoreState {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        let s = &self.scope;
        s.db.setting(&s.platform_id, &s.connector_id, &key)
            .map_err(trap)
    }

    fn set(&mut self, key: String, value: String) -> wasmtime::Result<Result<(), String>> {
        if let Err(e) = check_size(&key, &value) {
            return Ok(Err(e));
        }
        let s = &self.scope;
        s.db.set_setting(&s.platform_id, &s.connector_id, &key, &value)
            .map_err(trap)?;
        Ok(Ok(()))
    }

    fn remove(&mut self, key: String) -> wasmtime::Result<()> {
        let s = &self.scope;
        s.db.remove_setting(&s.platform_id, &s.connector_id, &key)
            .map_err(trap)
    }

    fn get_secret(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        let s = &self.scope;
        if !s.secret_declared(&key) {
            tracing::warn!(target: "sandbox", platform = %s.platform_id, connector = %s.connector_id, key, "refused to read an undeclared secret");
            return Ok(None);
        }
        s.db.secret(&s.platform_id, &s.connector_id, &key)
            .map_err(trap)
    }

    fn set_secret(&mut self, key: String, value: String) -> wasmtime::Result<Result<(), String>> {
        if let Err(e) = check_size(&key, &value) {
            return Ok(Err(e));
        }
        let s = &mut self.scope;
        if !s.secret_declared(&key) {
            return Ok(Err(format!(
                "the secret `{key}` is not declared in the manifest"
            )));
        }
        s.known = None;
        s.db.set_secret(&s.platform_id, &s.connector_id, &key, &value)
            .map_err(trap)?;
        Ok(Ok(()))
    }

    fn remove_secret(&mut self, key: String) -> wasmtime::Result<()> {
        let s = &mut self.scope;
        s.known = None;
        s.db.remove_secret(&s.platform_id, &s.connector_id, &key)
            .map_err(trap)
    }
}

fn wit_user(u: crate::db::User) -> types::User {
    types::User {
        id: u.id,
        email: u.email,
        display_name: u.display_name,
        locale: u.locale,
        time_zone: u.time_zone,
    }
}

impl users::Host for StoreState {
    fn get(&mut self, id: String) -> wasmtime::Result<Option<types::User>> {
        let s = &self.scope;
        Ok(s.db.user(&s.platform_id, &id).map_err(trap)?.map(wit_user))
    }

    fn page(&mut self, cursor: Option<String>, limit: u32) -> wasmtime::Result<types::UserPage> {
        let s = &self.scope;
        let limit = limit.clamp(1, 1_000);
        let users =
            s.db.users_page(&s.platform_id, cursor.as_deref(), limit)
                .map_err(trap)?;
        let next_cursor = (users.len() == limit as usize)
            .then(|| users.last().map(|u| u.id.clone()))
            .flatten();
        Ok(types::UserPage {
            users: users.into_iter().map(wit_user).collect(),
            next_cursor,
        })
    }
}

impl log::Host for StoreState {
    fn write(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        let s = &mut self.scope;
        if s.log_budget == 0 {
            s.dropped_log_lines += 1;
            return Ok(());
        }
        s.log_budget -= 1;
        let level = match level {
            log::Level::Debug => "debug",
            log::Level::Info => "info",
            log::Level::Warn => "warn",
            log::Level::Error => "error",
        };
        let mut message = redact(&message, s.known_secrets());
        if message.len() > MAX_LOG_LINE {
            let mut cut = MAX_LOG_LINE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
        }
        tracing::info!(target: "connector", platform = %s.platform_id, connector = %s.connector_id, level, "{message}");
        s.db.connector_log(&s.platform_id, &s.connector_id, level, &message)
            .map_err(trap)
    }
}
