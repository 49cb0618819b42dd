//! The LMS's side of the WIT imports (`settings`, `users`, `log`), scoped to the one platform and connector a store
//! was created for: a connector can never read another platform's or another connector's data.

use super::StoreState;
use super::lms::connector::{log, settings, types, users};
use crate::db::Db;

/// Longest log line kept; longer lines are cut.
const MAX_LOG_LINE: usize = 2_000;
/// Longest key or value a connector may store.
const MAX_VALUE: usize = 64 * 1024;

/// The platform and connector a store serves.
pub struct Scope {
    db: Db,
    platform_id: String,
    connector_id: String,
    log_budget: usize,
    dropped_log_lines: usize,
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
        }
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
        s.db.secret(&s.platform_id, &s.connector_id, &key)
            .map_err(trap)
    }

    fn set_secret(&mut self, key: String, value: String) -> wasmtime::Result<Result<(), String>> {
        if let Err(e) = check_size(&key, &value) {
            return Ok(Err(e));
        }
        let s = &self.scope;
        s.db.set_secret(&s.platform_id, &s.connector_id, &key, &value)
            .map_err(trap)?;
        Ok(Ok(()))
    }

    fn remove_secret(&mut self, key: String) -> wasmtime::Result<()> {
        let s = &self.scope;
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
        let mut message = message;
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
