//! The LMS's side of the WIT imports (`settings`, `users`, `log` of 0.1.0 and `progress` of 0.2.0), over a
//! [`ConnectorStore`] and the call's [`crate::progress::CallProgress`], scoped to the one platform and connector a
//! store was created for: a connector can never read another platform's or another connector's data, nor report on
//! a delivery it was not given.
//!
//! A host function runs on the runtime's thread and cannot be interrupted, so each one does a bounded, small amount
//! of work: one indexed query on at most a key, a value of [`MAX_VALUE`] bytes, or a page of at most
//! [`MAX_PAGE`] users; a log line cut to [`MAX_LOG_LINE`] bytes before it is blanked (linear in the line, see
//! [`redact`]). Each one's time is counted against the call ([`Scope::host_call`]), so a call cannot make many of
//! them either.

use crate::bindings::v0_1_0::{log, settings, types, users};
use crate::bindings::v0_2_0::progress;
use crate::progress::Refused;
use crate::redact::{cut, redact};
use crate::state::{Scope, StoreState};
use crate::store::{DirectoryUser, LogLevel, StoreFailed, StoredBytes, StoredKind};
use crate::untrusted::{Cleaner, Untrusted};
use crate::wit;

/// Longest log line kept; longer lines are cut.
const MAX_LOG_LINE: usize = 2_000;
/// Longest key or value a connector may store.
const MAX_VALUE: usize = 64 * 1024;
/// Most users one `users.page` returns.
const MAX_PAGE: u32 = 1_000;

fn check_size(key: &str, value: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > 256 {
        return Err("a key is 1 to 256 bytes".into());
    }
    if value.len() > MAX_VALUE {
        return Err(format!("a value is at most {MAX_VALUE} bytes"));
    }
    Ok(())
}

pub(crate) fn trap(error: anyhow::Error) -> wasmtime::Error {
    wasmtime::Error::new(StoreFailed {
        doing: "the LMS's storage failed",
        error,
    })
}

impl types::Host for StoreState {}

impl crate::bindings::v0_2_0::types::Host for StoreState {}

impl crate::bindings::v0_3_0::types::Host for StoreState {}

/// Whether writing `key` = `value` (of `kind`) keeps the connector within its settings quota on the platform (the
/// call's pending writes counted), and within its write rate there ([`crate::rates`]); the refusal, when not, is the
/// error the connector gets, and the first one of a call is logged as a warning. `stored` is what the store holds
/// ([`stored`]).
fn within_quota(
    s: &mut Scope,
    kind: StoredKind,
    key: &str,
    value: &str,
    stored: StoredBytes,
) -> wasmtime::Result<Result<(), String>> {
    let pending = match kind {
        StoredKind::Setting => s.pending.growth_besides(key),
        StoredKind::Secret => s.pending.growth(),
    };
    let others = stored.besides_entry().saturating_add_signed(pending);
    let written = key.len() + value.len();
    let after = others.saturating_add(written as u64);
    let message = if after > s.settings_quota {
        format!(
            "refused: the connector's settings and secrets on this platform would take {after} bytes, over its \
             quota of {} bytes; remove some first",
            s.settings_quota
        )
    } else if !s
        .settings_writes
        .take(&s.platform_id, written, std::time::Instant::now())
    {
        let rate = s.settings_writes.rate();
        format!(
            "refused: the connector wrote settings and secrets faster than {} bytes a second on this platform \
             (after a burst of {} bytes); write less often",
            rate.per_second, rate.burst
        )
    } else {
        return Ok(Ok(()));
    };
    s.refused_writes += 1;
    if s.refused_writes == 1 {
        tracing::warn!(target: "sandbox", platform = %s.platform_id, connector = %s.connector_id, "{message}");
        s.store
            .log(&s.platform_id, &s.connector_id, LogLevel::Warn, &message)
            .map_err(trap)?;
    }
    Ok(Err(message))
}

/// What the store holds for the connector on the platform, and of it for the entry `key` of `kind`.
fn stored(s: &Scope, kind: StoredKind, key: &str) -> wasmtime::Result<StoredBytes> {
    s.store
        .stored_bytes(&s.platform_id, &s.connector_id, Some((kind, key)))
        .map_err(trap)
}

/// What the store holds, for a write of `written` bytes to the plain setting `key`, read once between two
/// hand-overs ([`Scope::usage`]) rather than for every write: the entry the write replaces is taken as empty, which
/// can only overstate what the call's writes add, as long as the write fits even so. When it does not, the call's
/// pending writes go to the store first and the exact figures are read, so that a write is refused only when it
/// would truly pass the quota. A directory of 10,000 members written in one call costs one read per hand-over
/// instead of one per member.
fn stored_for_setting(s: &mut Scope, key: &str, written: usize) -> wasmtime::Result<StoredBytes> {
    let total = match s.usage {
        Some(total) => total,
        None => {
            let total = s
                .store
                .stored_bytes(&s.platform_id, &s.connector_id, None)
                .map_err(trap)?
                .total;
            s.usage = Some(total);
            total
        }
    };
    let at_most = total
        .saturating_add_signed(s.pending.growth_besides(key))
        .saturating_add(written as u64);
    if at_most <= s.settings_quota {
        return Ok(StoredBytes { total, entry: 0 });
    }
    s.store_pending()?;
    stored(s, StoredKind::Setting, key)
}

/// Keeps a write of a plain setting until the next hand-over ([`crate::pending`]), or hands the pending writes over
/// now when they are many. `stored` is what the store holds ([`stored`]).
fn pend(
    s: &mut Scope,
    key: String,
    value: Option<String>,
    stored: StoredBytes,
) -> wasmtime::Result<()> {
    s.pending.write(key, value, stored.entry);
    if s.pending.full() {
        s.store_pending()?;
    }
    Ok(())
}

impl settings::Host for StoreState {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        self.scope.host_call(|s| {
            if let Some(pending) = s.pending.get(&key) {
                return Ok(pending.map(str::to_string));
            }
            s.store
                .setting(&s.platform_id, &s.connector_id, &key)
                .map_err(trap)
        })
    }

    fn set(&mut self, key: String, value: String) -> wasmtime::Result<Result<(), String>> {
        self.scope.host_call(|s| {
            if let Err(e) = check_size(&key, &value) {
                return Ok(Err(e));
            }
            let stored = stored_for_setting(s, &key, key.len() + value.len())?;
            if let Err(e) = within_quota(s, StoredKind::Setting, &key, &value, stored)? {
                return Ok(Err(e));
            }
            pend(s, key, Some(value), stored)?;
            Ok(Ok(()))
        })
    }

    fn remove(&mut self, key: String) -> wasmtime::Result<()> {
        self.scope.host_call(|s| {
            if check_size(&key, "").is_err() {
                // No such key can be stored.
                return Ok(());
            }
            // A removal is never refused: what it frees is counted at the next hand-over, not before.
            pend(s, key, None, StoredBytes::default())
        })
    }

    fn get_secret(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        self.scope.host_call(|s| {
            if !s.secret_declared(&key) {
                tracing::warn!(target: "sandbox", platform = %s.platform_id, connector = %s.connector_id, key, "refused to read an undeclared secret");
                return Ok(None);
            }
            Ok(s.known_secrets()?.get(&key).map(str::to_string))
        })
    }

    fn set_secret(&mut self, key: String, value: String) -> wasmtime::Result<Result<(), String>> {
        self.scope.host_call(|s| {
            if let Err(e) = check_size(&key, &value) {
                return Ok(Err(e));
            }
            if !s.secret_declared(&key) {
                return Ok(Err(format!(
                    "the secret `{key}` is not declared in the manifest"
                )));
            }
            let stored = stored(s, StoredKind::Secret, &key)?;
            if let Err(e) = within_quota(s, StoredKind::Secret, &key, &value, stored)? {
                return Ok(Err(e));
            }
            s.known = None;
            s.usage = None;
            s.store
                .set_secret(&s.platform_id, &s.connector_id, &key, &value)
                .map_err(trap)?;
            Ok(Ok(()))
        })
    }

    fn remove_secret(&mut self, key: String) -> wasmtime::Result<()> {
        self.scope.host_call(|s| {
            s.known = None;
            s.usage = None;
            s.store
                .remove_secret(&s.platform_id, &s.connector_id, &key)
                .map_err(trap)
        })
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
        self.scope.host_call(|s| {
            Ok(s.store
                .user(&s.platform_id, &id)
                .map_err(trap)?
                .map(Into::into))
        })
    }

    fn page(&mut self, cursor: Option<String>, limit: u32) -> wasmtime::Result<types::UserPage> {
        self.scope.host_call(|s| {
            let limit = limit.clamp(1, MAX_PAGE);
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
        })
    }
}

impl log::Host for StoreState {
    fn write(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        self.scope.host_call(|s| {
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
            let mut message = message;
            cut(&mut message, MAX_LOG_LINE);
            let rules = s.rules.clone();
            let message = redact(&message, s.known_secrets()?.values(), &rules.prefixes);
            s.charge_log_bytes(message.len())?;
            tracing::info!(target: "connector", platform = %s.platform_id, connector = %s.connector_id, level = level.as_str(), "{message}");
            s.store
                .log(&s.platform_id, &s.connector_id, level, &message)
                .map_err(trap)
        })
    }
}

fn refused(r: Refused) -> wasmtime::Error {
    wasmtime::Error::new(r)
}

/// The error of a call whose reports the embedder could not record: the store's failure, not the connector's.
pub(crate) fn unrecorded(error: anyhow::Error) -> wasmtime::Error {
    wasmtime::Error::new(StoreFailed {
        doing: "the LMS could not record the delivery's progress",
        error,
    })
}

impl progress::Host for StoreState {
    fn posting(&mut self, delivery_id: String) -> wasmtime::Result<()> {
        self.progress
            .as_mut()
            .ok_or(Refused::NotDelivering)
            .and_then(|call| call.posting(delivery_id))
            .map_err(refused)
    }

    fn outcome(&mut self, mut outcome: wit::DeliveryOutcome) -> wasmtime::Result<()> {
        let call = self
            .progress
            .as_mut()
            .ok_or(Refused::NotDelivering)
            .map_err(refused)?;
        self.scope.host_call(|scope| {
            let rules = scope.rules.clone();
            outcome.clean(&Cleaner {
                secrets: scope.known_secrets()?.values(),
                prefixes: &rules.prefixes,
            });
            Ok(())
        })?;
        call.outcome(outcome).map_err(refused)
    }
}
