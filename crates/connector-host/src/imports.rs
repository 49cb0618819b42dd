//! The LMS's side of the WIT imports (`settings`, `users`, `log`), over a [`ConnectorStore`], scoped to the one
//! platform and connector a store was created for: a connector can never read another platform's or another
//! connector's data.

use crate::bindings::v0_1_0::{log, settings, types, users};
use crate::redact::redact;
use crate::state::StoreState;
use crate::store::{DirectoryUser, LogLevel};

/// Longest log line kept; longer lines are cut.
const MAX_LOG_LINE: usize = 2_000;
/// Longest key or value a connector may store.
const MAX_VALUE: usize = 64 * 1024;

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

/// Cuts `text` to at most `max` bytes on a character boundary, marking the cut.
fn cut(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

impl types::Host for StoreState {}

impl settings::Host for StoreState {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        let s = &self.scope;
        s.store
            .setting(&s.platform_id, &s.connector_id, &key)
            .map_err(trap)
    }

    fn set(&mut self, key: String, value: String) -> wasmtime::Result<Result<(), String>> {
        if let Err(e) = check_size(&key, &value) {
            return Ok(Err(e));
        }
        let s = &self.scope;
        s.store
            .set_setting(&s.platform_id, &s.connector_id, &key, &value)
            .map_err(trap)?;
        Ok(Ok(()))
    }

    fn remove(&mut self, key: String) -> wasmtime::Result<()> {
        let s = &self.scope;
        s.store
            .remove_setting(&s.platform_id, &s.connector_id, &key)
            .map_err(trap)
    }

    fn get_secret(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        let s = &self.scope;
        if !s.secret_declared(&key) {
            tracing::warn!(target: "sandbox", platform = %s.platform_id, connector = %s.connector_id, key, "refused to read an undeclared secret");
            return Ok(None);
        }
        s.store
            .secret(&s.platform_id, &s.connector_id, &key)
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
        s.store
            .set_secret(&s.platform_id, &s.connector_id, &key, &value)
            .map_err(trap)?;
        Ok(Ok(()))
    }

    fn remove_secret(&mut self, key: String) -> wasmtime::Result<()> {
        let s = &mut self.scope;
        s.known = None;
        s.store
            .remove_secret(&s.platform_id, &s.connector_id, &key)
            .map_err(trap)
    }
}

impl From<DirectoryUser> for types::User {
    fn from(u: DirectoryUser) -> Self {
        types::User {
            id: u.id,
            email: u.email,
            display_name: u.display_name,
            locale: u.locale,
            time_zone: u.time_zone,
        }
    }
}

impl users::Host for StoreState {
    fn get(&mut self, id: String) -> wasmtime::Result<Option<types::User>> {
        let s = &self.scope;
        Ok(s.store
            .user(&s.platform_id, &id)
            .map_err(trap)?
            .map(Into::into))
    }

    fn page(&mut self, cursor: Option<String>, limit: u32) -> wasmtime::Result<types::UserPage> {
        let s = &self.scope;
        let limit = limit.clamp(1, 1_000);
        let users = s
            .store
            .users_after(&s.platform_id, cursor.as_deref(), limit)
            .map_err(trap)?;
        let next_cursor = (users.len() == limit as usize)
            .then(|| users.last().map(|u| u.id.clone()))
            .flatten();
        Ok(types::UserPage {
            users: users.into_iter().map(Into::into).collect(),
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
            log::Level::Debug => LogLevel::Debug,
            log::Level::Info => LogLevel::Info,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Error => LogLevel::Error,
        };
        // Cut first, so that blanking secrets costs a bounded time whatever the connector sends.
        let message = cut(message, MAX_LOG_LINE);
        let prefixes = s.rules.clone();
        let message = redact(&message, s.known_secrets(), &prefixes.prefixes);
        tracing::info!(target: "connector", platform = %s.platform_id, connector = %s.connector_id, level = level.as_str(), "{message}");
        s.store
            .log(&s.platform_id, &s.connector_id, level, &message)
            .map_err(trap)
    }
}
