//! The LMS's side of the contract: where a connector's settings, secrets and log live, and the directory of users it
//! may read. An LMS embeds the host by implementing [`ConnectorStore`] over its own database; every call names the
//! platform and the connector it is for, and the host never asks for another platform's data on a connector's
//! behalf.

use anyhow::Result;

/// A user of the LMS directory, as a connector may see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    /// The LMS's stable identifier of the user.
    pub id: String,
    /// The user's e-mail address, as entered in the LMS.
    pub email: String,
    /// The name shown for the user in the LMS.
    pub display_name: String,
    /// A BCP 47 language tag such as `fr-FR`.
    pub locale: String,
    /// An IANA time zone such as `Europe/Paris`.
    pub time_zone: String,
}

/// How serious a connector log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Detail for developers.
    Debug,
    /// Normal operation.
    Info,
    /// Something an admin may want to look at.
    Warn,
    /// Something failed.
    Error,
}

impl LogLevel {
    /// The level's name in lower case (`debug`, `info`, `warn`, `error`).
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// Where a connector keeps a value: a plain setting or a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredKind {
    /// A plain setting.
    Setting,
    /// A secret.
    Secret,
}

/// What a connector keeps on a platform ([`ConnectorStore::stored_bytes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoredBytes {
    /// Bytes of every key and value.
    pub total: u64,
    /// Bytes of the entry asked about (its key and value), 0 when it is not stored.
    pub entry: u64,
}

impl StoredBytes {
    /// Bytes of every key and value but the entry's.
    pub fn besides_entry(self) -> u64 {
        self.total.saturating_sub(self.entry)
    }
}

/// The LMS's storage failed inside a host function: the host's fault, not the connector's. The host function traps
/// with it, so the call fails, but the failure does not count towards disabling the connector.
#[derive(Debug)]
pub(crate) struct StoreFailed {
    /// What the host was doing, in words an admin understands.
    pub doing: &'static str,
    /// The store's error.
    pub error: anyhow::Error,
}

impl std::fmt::Display for StoreFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {:#}", self.doing, self.error)
    }
}

impl std::error::Error for StoreFailed {}

/// A connector disabled on a platform after repeated failed calls: why, and since when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Disabled {
    /// Why it was disabled (the failures that did it).
    pub reason: String,
    /// When, in Unix seconds.
    pub since: i64,
}

/// The LMS's storage, as the host uses it on a connector's behalf. Implementations must be cheap to call from many
/// threads at once; an error is reported to the connector as a failed call (it traps), never as data.
pub trait ConnectorStore: Send + Sync + 'static {
    /// A plain setting of `connector` on `platform`.
    fn setting(&self, platform: &str, connector: &str, key: &str) -> Result<Option<String>>;
    /// Writes plain settings in one transaction, all or none: each `(key, Some(value))` sets a key, each
    /// `(key, None)` removes one (removing a missing key is not an error). The keys are distinct and sorted. The host
    /// gathers a call's writes and hands them over before each outgoing request and when the call ends, so this is
    /// called with up to a few thousand writes at a time; it need not wait for the disk (they are the connector's
    /// caches and pacing state, which it can rebuild).
    fn write_settings(
        &self,
        platform: &str,
        connector: &str,
        writes: &[(&str, Option<&str>)],
    ) -> Result<()>;
    /// Writes one plain setting ([`ConnectorStore::write_settings`]).
    fn set_setting(&self, platform: &str, connector: &str, key: &str, value: &str) -> Result<()> {
        self.write_settings(platform, connector, &[(key, Some(value))])
    }
    /// Writes a secret (the LMS stores it encrypted).
    fn set_secret(&self, platform: &str, connector: &str, key: &str, value: &str) -> Result<()>;
    /// Removes a secret; removing a missing key is not an error.
    fn remove_secret(&self, platform: &str, connector: &str, key: &str) -> Result<()>;
    /// Bytes `connector` keeps on `platform` in settings and secrets: the length of every key and value (a store that
    /// seals secrets may count the sealed value), and of them those of `entry` when given (the value a write is about
    /// to replace; 0 when there is none). The host checks the per-platform quota with it before every write, so it
    /// must be cheap.
    fn stored_bytes(
        &self,
        platform: &str,
        connector: &str,
        entry: Option<(StoredKind, &str)>,
    ) -> Result<StoredBytes>;
    /// Every secret of `connector` on `platform`, key and value, unsealed. The host reads them at most once per call
    /// (and again after the connector changes one): it answers the connector's reads from them and blanks their
    /// values out of what the connector writes to its log, reports and returns.
    fn secrets(&self, platform: &str, connector: &str) -> Result<Vec<(String, String)>>;
    /// A user of `platform` by id.
    fn user(&self, platform: &str, id: &str) -> Result<Option<DirectoryUser>>;
    /// Up to `limit` users of `platform` whose id sorts after `after` (from the first when `None`), in id order.
    fn users_after(
        &self,
        platform: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DirectoryUser>>;
    /// Appends a line to the connector's log on `platform` (already cut and blanked by the host). The host bounds
    /// what one call writes; the store bounds what is kept (it should drop the oldest lines of a platform and
    /// connector past a retention limit, in bounded work per line).
    fn log(&self, platform: &str, connector: &str, level: LogLevel, message: &str) -> Result<()>;
    /// Raises an alert for the platform's admins (the connector was disabled after repeated failures).
    fn alert(&self, platform: &str, message: &str) -> Result<()>;
    /// Whether `connector` is disabled on `platform`, and why. Durable: it survives restarts and every process
    /// sharing the store sees it. The host reads it at the start of every call, so it must be cheap.
    fn disabled(&self, platform: &str, connector: &str) -> Result<Option<Disabled>>;
    /// Disables `connector` on `platform` for `reason`, now. Returns false, changing nothing, when it already was.
    fn disable(&self, platform: &str, connector: &str, reason: &str) -> Result<bool>;
    /// Re-enables `connector` on `platform`. Returns false when it was not disabled.
    fn enable(&self, platform: &str, connector: &str) -> Result<bool>;
}
