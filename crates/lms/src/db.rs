//! The LMS's state, in SQLite (the embedded default) or PostgreSQL (several hosts on one database): platforms, their
//! users, sessions and notifications, connector settings and secrets, the delivery outbox and the audit log. Nothing a
//! user would lose on restart lives only in memory. Every statement is written once ([`crate::sql`]).

use crate::connector_log::{self, ConnectorLog};
use crate::integrity;
use crate::secrets::SecretBox;
use crate::sql::postgres::PgConn;
use crate::sql::{Conn, Location, OptionalExtension, dialect, params};
use anyhow::{Context, Result};
use connector_host::store::{
    ConnectorStore, DirectoryUser, Disabled, LogLevel, StoredBytes, StoredKind,
};
use parking_lot::{FairMutex, FairMutexGuard};
use rusqlite::ToSql;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// How long a write waits for another process's write to the same database to finish (several runners may share a
/// data folder).
pub(crate) const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The schema; `user_version` records which migrations ran.
pub(crate) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE platforms (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    group_name TEXT NOT NULL,
    group_logo_url TEXT,
    default_cover_url TEXT,
    base_url TEXT NOT NULL
);
CREATE TABLE users (
    platform_id TEXT NOT NULL REFERENCES platforms(id),
    id TEXT NOT NULL,
    email TEXT NOT NULL,
    display_name TEXT NOT NULL,
    locale TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'author', 'learner')),
    PRIMARY KEY (platform_id, id)
);
CREATE TABLE connectors (
    platform_id TEXT NOT NULL REFERENCES platforms(id),
    connector_id TEXT NOT NULL,
    available INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'inactive',
    detail TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (platform_id, connector_id)
);
CREATE TABLE connector_settings (
    platform_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (platform_id, connector_id, key)
);
CREATE TABLE connector_secrets (
    platform_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    key TEXT NOT NULL,
    sealed BLOB NOT NULL,
    PRIMARY KEY (platform_id, connector_id, key)
);
CREATE TABLE sessions (
    platform_id TEXT NOT NULL REFERENCES platforms(id),
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    cover_url TEXT,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    PRIMARY KEY (platform_id, id)
);
CREATE TABLE notifications (
    platform_id TEXT NOT NULL REFERENCES platforms(id),
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    session_id TEXT,
    body TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (platform_id, id)
);
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    platform_id TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'in_flight', 'sent', 'skipped', 'failed')),
    conversation TEXT,
    message_id TEXT,
    reason_code TEXT,
    reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    mandatory INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    UNIQUE (platform_id, notification_id, user_id)
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE TABLE activation_states (
    state TEXT PRIMARY KEY,
    platform_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE preferences (
    platform_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    PRIMARY KEY (platform_id, user_id, kind)
);
CREATE TABLE alerts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    platform_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    message TEXT NOT NULL
);
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    platform_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TABLE connector_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    platform_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    level TEXT NOT NULL,
    message TEXT NOT NULL
);
"#,
    r#"
CREATE TABLE paths (
    platform_id TEXT NOT NULL REFERENCES platforms(id),
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    session_id TEXT,
    PRIMARY KEY (platform_id, id)
);
CREATE TABLE enrolments (
    platform_id TEXT NOT NULL,
    path_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    enrolled_at INTEGER NOT NULL,
    PRIMARY KEY (platform_id, path_id, user_id)
);
CREATE TABLE path_steps (
    platform_id TEXT NOT NULL,
    id TEXT NOT NULL,
    path_id TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    send_at INTEGER,
    offset_secs INTEGER,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (platform_id, id),
    CHECK ((send_at IS NULL) <> (offset_secs IS NULL))
);
"#,
    r#"
ALTER TABLE activation_states ADD COLUMN browser TEXT;
CREATE TABLE web_sessions (
    id_hash TEXT PRIMARY KEY,
    platform_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX web_sessions_by_age ON web_sessions (platform_id, created_at);
"#,
    r#"
CREATE TABLE disabled_connectors (
    platform_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    since INTEGER NOT NULL,
    PRIMARY KEY (platform_id, connector_id)
);
"#,
    // Leases: a delivery in flight belongs to one runner until its lease expires; `posting_since` is when an attempt
    // said it was posting, while that attempt's outcome is unknown. One runner drives a platform's outbox at a time.
    r#"
ALTER TABLE deliveries ADD COLUMN lease_owner TEXT;
ALTER TABLE deliveries ADD COLUMN lease_expires_at INTEGER;
ALTER TABLE deliveries ADD COLUMN posting_since INTEGER;
CREATE INDEX deliveries_leases ON deliveries (platform_id, status, lease_expires_at);
CREATE TABLE platform_leases (
    platform_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
-- Before leases, every attempt after the first looked for an earlier message: deliveries left in flight by a crash,
-- and those waiting for a retry, may have been posted, since when they were last touched.
UPDATE deliveries SET posting_since = updated_at
    WHERE status = 'in_flight' OR (status = 'queued' AND attempts > 0);
"#,
    // Invitations once per (session, learner): the invitation that first reached each learner, which a unique key keeps
    // single however many clicks arrive at once. A delivery skipped because its learner shares their e-mail address
    // with another (`shares_with`, who receives it); a failure because the integration was disconnected, waiting to
    // be queued again when it is active again (`on_reconnect`: `waiting`, then `requeued`, once). Alerts carry their
    // topic, so that the disconnection alert is cleared when the integration is active again.
    r#"
CREATE TABLE invitations (
    platform_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    invited_at INTEGER NOT NULL,
    PRIMARY KEY (platform_id, session_id, user_id)
);
INSERT OR IGNORE INTO invitations (platform_id, session_id, user_id, notification_id, invited_at)
    SELECT n.platform_id, n.session_id, d.user_id, n.id, n.created_at
    FROM notifications n JOIN deliveries d ON d.platform_id = n.platform_id AND d.notification_id = n.id
    WHERE n.kind = 'session_assignment' AND n.session_id IS NOT NULL
    ORDER BY n.created_at, n.rowid;
ALTER TABLE deliveries ADD COLUMN shares_with TEXT;
ALTER TABLE deliveries ADD COLUMN on_reconnect TEXT CHECK (on_reconnect IN ('waiting', 'requeued'));
CREATE INDEX deliveries_on_reconnect ON deliveries (platform_id, on_reconnect);
ALTER TABLE alerts ADD COLUMN topic TEXT;
UPDATE alerts SET topic = 'disconnected' WHERE message LIKE 'The Slack integration was disconnected:%';
"#,
    // Path steps an author paused: since when (NULL while the step runs).
    r#"
ALTER TABLE path_steps ADD COLUMN paused_at INTEGER;
"#,
    // Sessions that change and are cancelled, and messages that follow them. Each change of a session is a new
    // revision, whose content is kept (`session_revisions`), so that an update can show what a message first showed;
    // a delivery records the revision its message showed when it was sent (`revision`). An update of messages names
    // the notification whose messages it updates (`source_id`); a reminder, the rule that scheduled it (`reminder`).
    // A platform's reminder rules (`reminders`, NULL: the defaults; empty: none).
    r#"
ALTER TABLE sessions ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sessions ADD COLUMN cancelled_at INTEGER;
CREATE TABLE session_revisions (
    platform_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    cover_url TEXT,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    PRIMARY KEY (platform_id, session_id, revision)
);
INSERT INTO session_revisions (platform_id, session_id, revision, title, description, cover_url, starts_at, ends_at)
    SELECT platform_id, id, revision, title, description, cover_url, starts_at, ends_at FROM sessions;
ALTER TABLE deliveries ADD COLUMN revision INTEGER;
ALTER TABLE notifications ADD COLUMN source_id TEXT;
ALTER TABLE notifications ADD COLUMN reminder TEXT;
CREATE INDEX notifications_by_session ON notifications (platform_id, session_id, kind);
ALTER TABLE platforms ADD COLUMN reminders TEXT;
"#,
    // The connector log moves to a database of its own (`connector_log`): its lines written so far go with it.
    r#"
CREATE TABLE IF NOT EXISTS connector_log_db.connector_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    platform_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    level TEXT NOT NULL,
    message TEXT NOT NULL
);
INSERT INTO connector_log_db.connector_log (platform_id, connector_id, at, level, message)
    SELECT platform_id, connector_id, at, level, message FROM main.connector_log ORDER BY seq;
DROP TABLE main.connector_log;
"#,
    // Several hosts on one database: the signed inbound requests seen recently, by the hash of their replay key, so
    // that a replay is refused whichever host it reaches (`until`: when it stops counting); and the proof of the
    // secrets key (a value sealed with it), so that a host with another key is refused at its start even before
    // anything else is sealed; and the runners of the outbox seen lately, so that each drives its share of the
    // platforms.
    r#"
CREATE TABLE inbound_seen (
    key_hash TEXT PRIMARY KEY,
    until INTEGER NOT NULL
);
CREATE INDEX inbound_seen_by_expiry ON inbound_seen (until);
CREATE TABLE key_check (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sealed BLOB NOT NULL
);
CREATE TABLE runners (
    owner TEXT PRIMARY KEY,
    seen_at INTEGER NOT NULL
);
"#,
    // Claims read only what they take: the first due delivery of a platform, then a batch of its notification, each
    // along an index in the claim's order (without them, every claim read and sorted the platform's or the
    // notification's whole history).
    r#"
CREATE INDEX deliveries_next_due ON deliveries (platform_id, status, next_attempt_at, notification_id);
CREATE INDEX deliveries_claim_order ON deliveries (platform_id, notification_id, status, next_attempt_at, user_id);
"#,
];

/// What keeps the connector quotas and the retention of log and audit rows cheap: a running total of the bytes
/// each connector keeps per platform (kept exact by triggers, whatever writes the rows, and recounted at every
/// open), and indexes to find a platform's oldest rows. Run at every open, after the migrations.
const QUOTAS_AND_RETENTION: &str = r#"
CREATE TABLE IF NOT EXISTS connector_usage (
    platform_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    PRIMARY KEY (platform_id, connector_id)
);
DELETE FROM connector_usage;
INSERT INTO connector_usage (platform_id, connector_id, bytes)
    SELECT platform_id, connector_id, SUM(bytes) FROM (
        SELECT platform_id, connector_id, length(CAST(key AS BLOB)) + length(CAST(value AS BLOB)) AS bytes
            FROM connector_settings
        UNION ALL
        SELECT platform_id, connector_id, length(CAST(key AS BLOB)) + length(sealed) FROM connector_secrets
    ) GROUP BY platform_id, connector_id;
CREATE TRIGGER IF NOT EXISTS connector_settings_added AFTER INSERT ON connector_settings BEGIN
    INSERT INTO connector_usage (platform_id, connector_id, bytes)
        VALUES (NEW.platform_id, NEW.connector_id, length(CAST(NEW.key AS BLOB)) + length(CAST(NEW.value AS BLOB)))
        ON CONFLICT (platform_id, connector_id) DO UPDATE SET bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER IF NOT EXISTS connector_settings_changed AFTER UPDATE ON connector_settings BEGIN
    UPDATE connector_usage SET bytes = bytes - length(CAST(OLD.key AS BLOB)) - length(CAST(OLD.value AS BLOB))
        WHERE platform_id = OLD.platform_id AND connector_id = OLD.connector_id;
    INSERT INTO connector_usage (platform_id, connector_id, bytes)
        VALUES (NEW.platform_id, NEW.connector_id, length(CAST(NEW.key AS BLOB)) + length(CAST(NEW.value AS BLOB)))
        ON CONFLICT (platform_id, connector_id) DO UPDATE SET bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER IF NOT EXISTS connector_settings_removed AFTER DELETE ON connector_settings BEGIN
    UPDATE connector_usage SET bytes = bytes - length(CAST(OLD.key AS BLOB)) - length(CAST(OLD.value AS BLOB))
        WHERE platform_id = OLD.platform_id AND connector_id = OLD.connector_id;
END;
CREATE TRIGGER IF NOT EXISTS connector_secrets_added AFTER INSERT ON connector_secrets BEGIN
    INSERT INTO connector_usage (platform_id, connector_id, bytes)
        VALUES (NEW.platform_id, NEW.connector_id, length(CAST(NEW.key AS BLOB)) + length(NEW.sealed))
        ON CONFLICT (platform_id, connector_id) DO UPDATE SET bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER IF NOT EXISTS connector_secrets_changed AFTER UPDATE ON connector_secrets BEGIN
    UPDATE connector_usage SET bytes = bytes - length(CAST(OLD.key AS BLOB)) - length(OLD.sealed)
        WHERE platform_id = OLD.platform_id AND connector_id = OLD.connector_id;
    INSERT INTO connector_usage (platform_id, connector_id, bytes)
        VALUES (NEW.platform_id, NEW.connector_id, length(CAST(NEW.key AS BLOB)) + length(NEW.sealed))
        ON CONFLICT (platform_id, connector_id) DO UPDATE SET bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER IF NOT EXISTS connector_secrets_removed AFTER DELETE ON connector_secrets BEGIN
    UPDATE connector_usage SET bytes = bytes - length(CAST(OLD.key AS BLOB)) - length(OLD.sealed)
        WHERE platform_id = OLD.platform_id AND connector_id = OLD.connector_id;
END;
CREATE INDEX IF NOT EXISTS audit_log_by_platform ON audit_log (platform_id, seq);
"#;

/// Where PostgreSQL's schema is not SQLite's migration in PostgreSQL's types: by migration number, its own text. A
/// PostgreSQL database is never older than the store that made it, so a migration moving older data has nothing to
/// move there.
const POSTGRES_MIGRATIONS: &[(usize, &str)] = &[
    // 6: the same tables and columns; the invitations of earlier deliveries had none to fill in.
    (
        6,
        r#"
CREATE TABLE invitations (
    platform_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    notification_id TEXT NOT NULL,
    invited_at BIGINT NOT NULL,
    PRIMARY KEY (platform_id, session_id, user_id)
);
ALTER TABLE deliveries ADD COLUMN shares_with TEXT;
ALTER TABLE deliveries ADD COLUMN on_reconnect TEXT CHECK (on_reconnect IN ('waiting', 'requeued'));
CREATE INDEX deliveries_on_reconnect ON deliveries (platform_id, on_reconnect);
ALTER TABLE alerts ADD COLUMN topic TEXT;
"#,
    ),
    // 9: the connector log stays in the LMS's database ([`connector_log`]).
    (9, ""),
];

/// [`QUOTAS_AND_RETENTION`] on PostgreSQL: the same running total, kept by one trigger per table.
const POSTGRES_QUOTAS_AND_RETENTION: &str = r#"
CREATE TABLE IF NOT EXISTS connector_usage (
    platform_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    PRIMARY KEY (platform_id, connector_id)
);
DELETE FROM connector_usage;
INSERT INTO connector_usage (platform_id, connector_id, bytes)
    SELECT platform_id, connector_id, SUM(bytes) FROM (
        SELECT platform_id, connector_id, octet_length(key) + octet_length(value) AS bytes FROM connector_settings
        UNION ALL
        SELECT platform_id, connector_id, octet_length(key) + octet_length(sealed) FROM connector_secrets
    ) AS entries GROUP BY platform_id, connector_id;
CREATE OR REPLACE FUNCTION lms_settings_usage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE connector_usage SET bytes = bytes - octet_length(OLD.key) - octet_length(OLD.value)
            WHERE platform_id = OLD.platform_id AND connector_id = OLD.connector_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO connector_usage (platform_id, connector_id, bytes)
            VALUES (NEW.platform_id, NEW.connector_id, octet_length(NEW.key) + octet_length(NEW.value))
            ON CONFLICT (platform_id, connector_id) DO UPDATE SET bytes = connector_usage.bytes + excluded.bytes;
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER connector_settings_usage AFTER INSERT OR UPDATE OR DELETE ON connector_settings
    FOR EACH ROW EXECUTE FUNCTION lms_settings_usage();
CREATE OR REPLACE FUNCTION lms_secrets_usage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE connector_usage SET bytes = bytes - octet_length(OLD.key) - octet_length(OLD.sealed)
            WHERE platform_id = OLD.platform_id AND connector_id = OLD.connector_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO connector_usage (platform_id, connector_id, bytes)
            VALUES (NEW.platform_id, NEW.connector_id, octet_length(NEW.key) + octet_length(NEW.sealed))
            ON CONFLICT (platform_id, connector_id) DO UPDATE SET bytes = connector_usage.bytes + excluded.bytes;
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER connector_secrets_usage AFTER INSERT OR UPDATE OR DELETE ON connector_secrets
    FOR EACH ROW EXECUTE FUNCTION lms_secrets_usage();
CREATE INDEX IF NOT EXISTS audit_log_by_platform ON audit_log (platform_id, seq);
"#;

/// How many log and audit rows are kept: the newest ones of each platform (and connector, for the log). Older
/// rows are deleted as new ones arrive: every `trim_every` rows written for a platform (and connector), at most
/// `2 × trim_every` of its rows past the limit go, so the work per row written is bounded and a table holds at
/// most `limit + trim_every` rows per owner once caught up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Connector log lines kept per platform and connector.
    pub log_rows: usize,
    /// Audit rows kept per platform.
    pub audit_rows: usize,
    /// Rows written for one owner between two trims.
    pub trim_every: usize,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            log_rows: 10_000,
            audit_rows: 100_000,
            trim_every: 64,
        }
    }
}

/// Writing connections per PostgreSQL database: statements wait for the server's answer, and several platforms'
/// calls queueing behind one connection would spend their time budget waiting.
const POSTGRES_WRITERS: usize = 4;

/// The writing connections: a free one when there is one, else the next in turn.
struct Writers {
    conns: Vec<FairMutex<Conn>>,
    next: std::sync::atomic::AtomicUsize,
}

impl Writers {
    fn get(&self) -> FairMutexGuard<'_, Conn> {
        if let Some(free) = self.conns.iter().find_map(|c| c.try_lock()) {
            return free;
        }
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.conns.len();
        self.conns[i].lock()
    }
}

/// A handle on the LMS database; cheap to clone.
#[derive(Clone)]
pub struct Db {
    /// The writing connections, each behind a fair lock: waiters get it in turn, so a connector that writes without
    /// pause (up to its quotas) cannot keep another platform's call waiting for more than a turn. One on SQLite
    /// (one writer at a time anyway); [`POSTGRES_WRITERS`] on PostgreSQL, where statements of several platforms'
    /// calls run side by side (each a round trip to the server).
    writers: Arc<Writers>,
    /// Read-only connections for the reads a connector makes ([`Readers`]); none for an in-memory database.
    readers: Option<Arc<Readers>>,
    /// The connectors' log lines, in a database of their own ([`connector_log`]).
    log: ConnectorLog,
    secrets: SecretBox,
    retention: Retention,
    /// Rows written per log or audit owner since its last trim (in this process).
    since_trim: Arc<Mutex<HashMap<String, usize>>>,
}

/// A platform (a customer of the LMS) and its platform group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// Id.
    pub id: String,
    /// The platform's name.
    pub name: String,
    /// The platform group's name: the sender of messages.
    pub group_name: String,
    /// The platform group's logo.
    pub group_logo_url: Option<String>,
    /// The platform's default session cover.
    pub default_cover_url: Option<String>,
    /// Where the platform's pages are, for session links.
    pub base_url: String,
}

/// A user of a platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id.
    pub id: String,
    /// E-mail address.
    pub email: String,
    /// Name.
    pub display_name: String,
    /// BCP 47 language tag.
    pub locale: String,
    /// IANA time zone.
    pub time_zone: String,
    /// What the user may do on the platform.
    pub role: Role,
}

/// What a user may do on a platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Manages the platform, its connectors included.
    Admin,
    /// Writes paths and sessions and invites learners.
    Author,
    /// Takes paths and sessions.
    Learner,
}

impl Role {
    /// The role as the `users` table stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Author => "author",
            Role::Learner => "learner",
        }
    }

    /// Whether the role may write paths and invite learners (admins and authors).
    pub fn is_author(self) -> bool {
        matches!(self, Role::Admin | Role::Author)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl rusqlite::ToSql for Role {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

impl rusqlite::types::FromSql for Role {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        Ok(match value.as_str()? {
            "admin" => Role::Admin,
            "author" => Role::Author,
            "learner" => Role::Learner,
            other => {
                return Err(rusqlite::types::FromSqlError::Other(
                    format!("unknown role `{other}`").into(),
                ));
            }
        })
    }
}

/// What an alert is about, when something later settles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertTopic {
    /// The integration was disconnected; settled when it is active again.
    Disconnected,
}

impl AlertTopic {
    /// The topic as the `alerts` table stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertTopic::Disconnected => "disconnected",
        }
    }
}

/// A path or course session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Cover image.
    pub cover_url: Option<String>,
    /// Start, Unix seconds.
    pub starts_at: i64,
    /// End, Unix seconds.
    pub ends_at: i64,
}

/// Read-only connections to a database file beside its one writing connection, for the reads a connector makes
/// through the host (settings, secrets, users, quotas, whether it is disabled): in write-ahead-log mode they never
/// wait for a write, so a connector that keeps the writing connection busy (up to its quotas and rates) does not make
/// another platform's reads wait their turn behind it.
struct Readers {
    conns: Vec<parking_lot::Mutex<Conn>>,
    next: std::sync::atomic::AtomicUsize,
}

/// Read-only connections per database file.
const READERS: usize = 4;

impl Readers {
    /// `READERS` read-only connections to the database file at `path`; none for an in-memory database, which a
    /// second connection would not see.
    fn open(path: &Path) -> Result<Option<Readers>> {
        if path == Path::new(":memory:") {
            return Ok(None);
        }
        let conns = (0..READERS)
            .map(|_| {
                let conn = rusqlite::Connection::open_with_flags(
                    path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .with_context(|| format!("opening the database {} to read", path.display()))?;
                conn.busy_timeout(BUSY_TIMEOUT)?;
                Ok(parking_lot::Mutex::new(conn.into()))
            })
            .collect::<Result<_>>()?;
        Ok(Some(Readers {
            conns,
            next: Default::default(),
        }))
    }

    /// `READERS` more connections to the PostgreSQL database at `url`.
    fn postgres(url: &str) -> Result<Readers> {
        let conns = (0..READERS)
            .map(|_| {
                Ok(parking_lot::Mutex::new(Conn::Postgres(Box::new(
                    PgConn::connect(url)?,
                ))))
            })
            .collect::<Result<_>>()?;
        Ok(Readers {
            conns,
            next: Default::default(),
        })
    }

    /// A free connection if there is one, else the next one in turn.
    fn get(&self) -> parking_lot::MutexGuard<'_, Conn> {
        if let Some(free) = self.conns.iter().find_map(|c| c.try_lock()) {
            return free;
        }
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % self.conns.len();
        self.conns[i].lock()
    }
}

/// A connection to read with: a read-only one, or the writing one for an in-memory database.
pub enum Reading<'a> {
    /// A read-only connection.
    Reader(parking_lot::MutexGuard<'a, Conn>),
    /// The writing connection.
    Writer(FairMutexGuard<'a, Conn>),
}

impl std::ops::Deref for Reading<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        match self {
            Reading::Reader(c) => c,
            Reading::Writer(c) => c,
        }
    }
}

/// A database opened and brought up to date, before its secrets key is known.
pub(crate) struct Opened {
    pub(crate) conn: Conn,
    /// More writing connections (PostgreSQL).
    more_writers: Vec<Conn>,
    log: ConnectorLog,
    readers: Option<Readers>,
}

/// Opens (creating if needed) the database at `location` and brings its schema up to date ([`connect_sqlite`],
/// [`connect_postgres`]).
pub(crate) fn connect(location: &Location) -> Result<Opened> {
    match location {
        Location::Sqlite(path) => connect_sqlite(path),
        Location::Postgres(url) => connect_postgres(url),
    }
}

/// Opens (creating if needed) the SQLite database at `path`, its read-only connections and its connector log
/// ([`connector_log`]): checks its integrity ([`integrity::check`]), then brings its schema up to date.
fn connect_sqlite(path: &Path) -> Result<Opened> {
    let conn = rusqlite::Connection::open(path)
        .with_context(|| format!("opening the database {}", path.display()))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    integrity::check(&conn, path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    let log_path = connector_log::path_for(path);
    let log = ConnectorLog::open(&log_path)?;
    // Attached for the migrations only, so that the one moving the log finds where it goes.
    conn.execute(
        &format!("ATTACH DATABASE ?1 AS {}", connector_log::ATTACHED),
        [log_path.to_string_lossy()],
    )
    .context("attaching the connector log")?;
    let mut conn = Conn::from(conn);
    {
        let tx = conn.write()?;
        // Under the write lock: another process opening the same folder at the same moment waits, then finds the
        // migrations done.
        let sqlite = tx.sqlite().expect("a SQLite connection");
        let version: usize = sqlite.pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (i, migration) in MIGRATIONS.iter().enumerate().skip(version) {
            sqlite
                .execute_batch(migration)
                .with_context(|| format!("migration {}", i + 1))?;
            sqlite.pragma_update(None, "user_version", i + 1)?;
        }
        sqlite
            .execute_batch(QUOTAS_AND_RETENTION)
            .context("setting up the connector quotas and the retention of log rows")?;
        tx.commit()?;
    }
    conn.execute_batch(&format!("DETACH DATABASE {}", connector_log::ATTACHED))?;
    Ok(Opened {
        conn,
        more_writers: Vec::new(),
        log,
        readers: Readers::open(path)?,
    })
}

/// Opens the PostgreSQL database at `url` and brings its schema up to date: the same migrations as SQLite's, in
/// PostgreSQL's types ([`dialect::schema`]), where [`POSTGRES_MIGRATIONS`] says otherwise; `lms_schema` records how
/// many ran. Every host starting at once waits for the first to finish them (the write lock).
fn connect_postgres(url: &str) -> Result<Opened> {
    let mut conn = Conn::Postgres(Box::new(PgConn::connect(url)?));
    {
        let tx = conn.write()?;
        tx.execute_batch("CREATE TABLE IF NOT EXISTS lms_schema (version BIGINT NOT NULL)")?;
        let version: Option<i64> = tx
            .query_row("SELECT version FROM lms_schema", (), |r| r.get(0))
            .optional()?;
        if version.is_none() {
            tx.execute("INSERT INTO lms_schema (version) VALUES (0)", ())?;
        }
        let version = version.unwrap_or(0).max(0) as usize;
        for (i, migration) in MIGRATIONS.iter().enumerate().skip(version) {
            let own = POSTGRES_MIGRATIONS
                .iter()
                .find(|(n, _)| *n == i + 1)
                .map(|(_, sql)| sql.to_string());
            tx.execute_batch(&own.unwrap_or_else(|| dialect::schema(migration)))
                .with_context(|| format!("migration {}", i + 1))?;
            tx.execute("UPDATE lms_schema SET version = ?1", [i as i64 + 1])?;
        }
        tx.execute_batch(POSTGRES_QUOTAS_AND_RETENTION)
            .context("setting up the connector quotas and the retention of log rows")?;
        tx.commit()?;
    }
    Ok(Opened {
        conn,
        more_writers: (1..POSTGRES_WRITERS)
            .map(|_| Ok(Conn::Postgres(Box::new(PgConn::connect(url)?))))
            .collect::<Result<_>>()?,
        log: ConnectorLog::postgres(url)?,
        readers: Some(Readers::postgres(url)?),
    })
}

impl Db {
    /// Opens (creating if needed) the database at `path`, sealing secrets with `secrets`. A damaged file is refused
    /// with [`integrity::Damaged`].
    pub fn open(path: &Path, secrets: SecretBox) -> Result<Db> {
        Db::open_at(&Location::Sqlite(path.to_path_buf()), secrets)
    }

    /// Opens (creating if needed) the database at `location`, SQLite or PostgreSQL, sealing secrets with `secrets`.
    pub fn open_at(location: &Location, secrets: SecretBox) -> Result<Db> {
        Ok(Db::over(connect(location)?, secrets))
    }

    /// The database opened by [`connect`], sealing secrets with `secrets`.
    pub(crate) fn over(opened: Opened, secrets: SecretBox) -> Db {
        Db {
            writers: Arc::new(Writers {
                conns: std::iter::once(opened.conn)
                    .chain(opened.more_writers)
                    .map(FairMutex::new)
                    .collect(),
                next: Default::default(),
            }),
            readers: opened.readers.map(Arc::new),
            log: opened.log,
            secrets,
            retention: Retention::default(),
            since_trim: Arc::default(),
        }
    }

    /// The same database keeping log and audit rows under `retention`.
    pub fn with_retention(mut self, retention: Retention) -> Db {
        self.retention = Retention {
            trim_every: retention.trim_every.max(1),
            ..retention
        };
        self
    }

    /// Whether the owner `key` wrote its `trim_every`-th row since its last trim (and counts this one).
    fn due_for_trim(&self, key: String) -> bool {
        let mut counts = self
            .since_trim
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = counts.entry(key).or_default();
        *count += 1;
        if *count >= self.retention.trim_every {
            *count = 0;
            true
        } else {
            false
        }
    }

    /// A key for `purpose` derived from the secrets key ([`SecretBox::derive`]): the same on every host of the
    /// database and across restarts.
    pub fn derived_key(&self, purpose: &str) -> [u8; 32] {
        self.secrets.derive(purpose)
    }

    /// A writing connection, for one unit of work (a free one, else the next in turn).
    pub fn conn(&self) -> FairMutexGuard<'_, Conn> {
        self.writers.get()
    }

    /// A connection to read committed data with, which waits for no write ([`Readers`]).
    pub fn read(&self) -> Reading<'_> {
        match &self.readers {
            Some(readers) => Reading::Reader(readers.get()),
            None => Reading::Writer(self.conn()),
        }
    }

    /// The connector log's connection ([`connector_log`]), for one unit of work.
    pub fn log_conn(&self) -> FairMutexGuard<'_, Conn> {
        self.log.conn()
    }

    /// Creates or updates a platform.
    pub fn upsert_platform(&self, p: &Platform) -> Result<()> {
        self.conn().execute(
            "INSERT INTO platforms (id, name, group_name, group_logo_url, default_cover_url, base_url)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO UPDATE SET name = ?2, group_name = ?3, group_logo_url = ?4,
                 default_cover_url = ?5, base_url = ?6",
            params![p.id, p.name, p.group_name, p.group_logo_url, p.default_cover_url, p.base_url],
        )?;
        Ok(())
    }

    /// A platform by id.
    pub fn platform(&self, id: &str) -> Result<Option<Platform>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, name, group_name, group_logo_url, default_cover_url, base_url FROM platforms WHERE id = ?1",
                [id],
                |r| {
                    Ok(Platform {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        group_name: r.get(2)?,
                        group_logo_url: r.get(3)?,
                        default_cover_url: r.get(4)?,
                        base_url: r.get(5)?,
                    })
                },
            )
            .optional()?)
    }

    /// Creates or updates a user of a platform.
    pub fn upsert_user(&self, platform_id: &str, u: &User) -> Result<()> {
        self.conn().execute(
            "INSERT INTO users (platform_id, id, email, display_name, locale, time_zone, role)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (platform_id, id) DO UPDATE SET email = ?3, display_name = ?4, locale = ?5,
                 time_zone = ?6, role = ?7",
            params![
                platform_id,
                u.id,
                u.email,
                u.display_name,
                u.locale,
                u.time_zone,
                u.role
            ],
        )?;
        Ok(())
    }

    /// Sets a user's locale (their language switch); `false` when there is no such user.
    pub fn set_locale(&self, platform_id: &str, user_id: &str, locale: &str) -> Result<bool> {
        let n = self.conn().execute(
            "UPDATE users SET locale = ?3 WHERE platform_id = ?1 AND id = ?2",
            params![platform_id, user_id, locale],
        )?;
        Ok(n == 1)
    }

    /// A user of a platform.
    pub fn user(&self, platform_id: &str, id: &str) -> Result<Option<User>> {
        Ok(self
            .read()
            .query_row(
                "SELECT id, email, display_name, locale, time_zone, role FROM users
                 WHERE platform_id = ?1 AND id = ?2",
                [platform_id, id],
                user_row,
            )
            .optional()?)
    }

    /// What a delivery needs of its recipient, in one statement (one read transaction): the user `id` of the
    /// platform, if any, and whether their notification preference `preference` is on (the default).
    pub fn recipient(
        &self,
        platform_id: &str,
        id: &str,
        preference: &str,
    ) -> Result<(Option<User>, bool)> {
        Ok(self.read().query_row(
            "SELECT u.id, u.email, u.display_name, u.locale, u.time_zone, u.role,
                    (SELECT enabled FROM preferences WHERE platform_id = ?1 AND user_id = ?2 AND kind = ?3)
             FROM (SELECT 1) AS one LEFT JOIN users u ON u.platform_id = ?1 AND u.id = ?2",
            [platform_id, id, preference],
            |r| {
                let user = match r.get::<_, Option<String>>(0)? {
                    Some(_) => Some(user_row(r)?),
                    None => None,
                };
                Ok((user, r.get::<_, Option<bool>>(6)?.unwrap_or(true)))
            },
        )?)
    }

    /// A page of a platform's users, ordered by id, after `after` (exclusive).
    pub fn users_page(
        &self,
        platform_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<User>> {
        let conn = self.read();
        let mut stmt = conn.prepare_cached(
            "SELECT id, email, display_name, locale, time_zone, role FROM users
             WHERE platform_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![platform_id, after.unwrap_or(""), limit], user_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Creates or overwrites a session, as a seed or an import does: its current revision takes the new content, and
    /// no message sent about it changes (an author's change is [`crate::sessions::edit_session`]).
    pub fn upsert_session(&self, platform_id: &str, s: &Session) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.write()?;
        tx.execute(
            "INSERT INTO sessions (platform_id, id, title, description, cover_url, starts_at, ends_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (platform_id, id) DO UPDATE SET title = ?3, description = ?4, cover_url = ?5,
                 starts_at = ?6, ends_at = ?7",
            params![platform_id, s.id, s.title, s.description, s.cover_url, s.starts_at, s.ends_at],
        )?;
        crate::sessions::keep_revision(&tx, platform_id, &s.id)?;
        tx.commit()?;
        Ok(())
    }

    /// A session.
    pub fn session(&self, platform_id: &str, id: &str) -> Result<Option<Session>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, title, description, cover_url, starts_at, ends_at FROM sessions
                 WHERE platform_id = ?1 AND id = ?2",
                [platform_id, id],
                session_row,
            )
            .optional()?)
    }

    /// A platform's sessions, by start.
    pub fn sessions(&self, platform_id: &str) -> Result<Vec<Session>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, title, description, cover_url, starts_at, ends_at FROM sessions WHERE platform_id = ?1
             ORDER BY starts_at, id",
        )?;
        let rows = stmt.query_map([platform_id], session_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Appends to the audit log, deleting the platform's oldest rows past the retention limit.
    pub fn audit(&self, platform_id: &str, actor: &str, action: &str, detail: &str) -> Result<()> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO audit_log (platform_id, at, actor, action, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![platform_id, now(), actor, action, detail],
        )?;
        if self.due_for_trim(format!("audit\u{0}{platform_id}")) {
            let r = self.retention;
            conn.prepare_cached(
                "DELETE FROM audit_log WHERE seq IN (SELECT seq FROM audit_log WHERE platform_id = ?1
                 ORDER BY seq DESC LIMIT ?2 OFFSET ?3)",
            )?
            .execute(params![platform_id, 2 * r.trim_every as i64, r.audit_rows as i64])?;
        }
        Ok(())
    }

    /// Raises an alert for the platform's admins.
    pub fn alert(&self, platform_id: &str, message: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO alerts (platform_id, at, message) VALUES (?1, ?2, ?3)",
            params![platform_id, now(), message],
        )?;
        Ok(())
    }

    /// Raises an alert about `topic` for the platform's admins, which [`Db::clear_alerts`] clears when the topic is
    /// settled.
    pub fn alert_about(&self, platform_id: &str, topic: AlertTopic, message: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO alerts (platform_id, at, message, topic) VALUES (?1, ?2, ?3, ?4)",
            params![platform_id, now(), message, topic.as_str()],
        )?;
        Ok(())
    }

    /// Clears the platform's alerts about `topic`; returns how many there were.
    pub fn clear_alerts(&self, platform_id: &str, topic: AlertTopic) -> Result<usize> {
        Ok(self.conn().execute(
            "DELETE FROM alerts WHERE platform_id = ?1 AND topic = ?2",
            params![platform_id, topic.as_str()],
        )?)
    }

    /// Appends a connector's log line.
    pub fn connector_log(
        &self,
        platform_id: &str,
        connector_id: &str,
        level: &str,
        message: &str,
    ) -> Result<()> {
        let conn = self.log.conn();
        conn.execute(
            "INSERT INTO connector_log (platform_id, connector_id, at, level, message) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![platform_id, connector_id, now(), level, message],
        )?;
        if self.due_for_trim(format!("log\u{0}{platform_id}\u{0}{connector_id}")) {
            let r = self.retention;
            conn.prepare_cached(
                "DELETE FROM connector_log WHERE seq IN (SELECT seq FROM connector_log
                 WHERE platform_id = ?1 AND connector_id = ?2 ORDER BY seq DESC LIMIT ?3 OFFSET ?4)",
            )?
            .execute(params![
                platform_id,
                connector_id,
                2 * r.trim_every as i64,
                r.log_rows as i64
            ])?;
        }
        Ok(())
    }

    /// A secret of a connector on a platform, unsealed.
    pub fn secret(&self, platform: &str, connector: &str, key: &str) -> Result<Option<String>> {
        let sealed: Option<Vec<u8>> = self
            .read()
            .query_row(
                "SELECT sealed FROM connector_secrets WHERE platform_id = ?1 AND connector_id = ?2 AND key = ?3",
                [platform, connector, key],
                |r| r.get(0),
            )
            .optional()?;
        sealed
            .map(|s| {
                self.secrets
                    .open(&secret_context(platform, connector, key), &s)
            })
            .transpose()
    }
}

/// The host reads and writes the connector's state through the LMS's database.
impl ConnectorStore for Db {
    /// A plain setting of a connector on a platform.
    fn setting(&self, platform: &str, connector: &str, key: &str) -> Result<Option<String>> {
        Ok(self
            .read()
            .query_row(
                "SELECT value FROM connector_settings WHERE platform_id = ?1 AND connector_id = ?2 AND key = ?3",
                [platform, connector, key],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Writes plain settings in one transaction, without waiting for the disk ([`Conn::write_unsynced`]): a
    /// connector writes its caches and pacing state there, up to a page of a Slack directory at a time. Several rows
    /// per statement ([`in_statements`]), which on PostgreSQL is one round trip instead of one a row.
    fn write_settings(
        &self,
        platform: &str,
        connector: &str,
        writes: &[(&str, Option<&str>)],
    ) -> Result<()> {
        let sets: Vec<(&str, &str)> = writes
            .iter()
            .filter_map(|(k, v)| Some((*k, (*v)?)))
            .collect();
        let removals: Vec<&str> = writes
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| *k)
            .collect();
        let mut conn = self.conn();
        let tx = conn.write_unsynced()?;
        for rows in in_statements(&sets) {
            let values = (0..rows.len())
                .map(|i| format!("(?1, ?2, ?{}, ?{})", 3 + 2 * i, 4 + 2 * i))
                .collect::<Vec<_>>()
                .join(", ");
            let mut params: Vec<&dyn ToSql> = vec![&platform, &connector];
            for (key, value) in rows {
                params.extend([key as &dyn ToSql, value as &dyn ToSql]);
            }
            tx.prepare_cached(&format!(
                "INSERT INTO connector_settings (platform_id, connector_id, key, value) VALUES {values}
                 ON CONFLICT (platform_id, connector_id, key) DO UPDATE SET value = excluded.value"
            ))?
            .execute(params.as_slice())?;
        }
        for keys in in_statements(&removals) {
            let list = (0..keys.len())
                .map(|i| format!("?{}", 3 + i))
                .collect::<Vec<_>>()
                .join(", ");
            let mut params: Vec<&dyn ToSql> = vec![&platform, &connector];
            params.extend(keys.iter().map(|k| k as &dyn ToSql));
            tx.prepare_cached(&format!(
                "DELETE FROM connector_settings WHERE platform_id = ?1 AND connector_id = ?2 AND key IN ({list})"
            ))?
            .execute(params.as_slice())?;
        }
        Ok(tx.commit()?)
    }

    /// Writes a secret, sealed.
    fn set_secret(&self, platform: &str, connector: &str, key: &str, value: &str) -> Result<()> {
        let sealed = self
            .secrets
            .seal(&secret_context(platform, connector, key), value)?;
        self.conn().execute(
            "INSERT INTO connector_secrets (platform_id, connector_id, key, sealed) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (platform_id, connector_id, key) DO UPDATE SET sealed = ?4",
            params![platform, connector, key, sealed],
        )?;
        Ok(())
    }

    /// Removes a secret.
    fn remove_secret(&self, platform: &str, connector: &str, key: &str) -> Result<()> {
        self.conn().execute(
            "DELETE FROM connector_secrets WHERE platform_id = ?1 AND connector_id = ?2 AND key = ?3",
            [platform, connector, key],
        )?;
        Ok(())
    }

    /// From the running total the triggers keep, and the entry a write replaces: two indexed lookups.
    fn stored_bytes(
        &self,
        platform: &str,
        connector: &str,
        entry: Option<(StoredKind, &str)>,
    ) -> Result<StoredBytes> {
        // One statement, so one read transaction (and on PostgreSQL one round trip) for both figures: this runs
        // for every write a connector makes.
        let conn = self.read();
        let (total, replaced): (Option<i64>, Option<i64>) = match entry {
            None => (
                conn.prepare_cached(
                    "SELECT bytes FROM connector_usage WHERE platform_id = ?1 AND connector_id = ?2",
                )?
                .query_row([platform, connector], |r| r.get(0))
                .optional()?,
                None,
            ),
            Some((kind, key)) => {
                let sql = match kind {
                    StoredKind::Setting => {
                        "SELECT (SELECT bytes FROM connector_usage WHERE platform_id = ?1 AND connector_id = ?2),
                                (SELECT octet_length(key) + octet_length(value) FROM connector_settings
                                 WHERE platform_id = ?1 AND connector_id = ?2 AND key = ?3)"
                    }
                    StoredKind::Secret => {
                        "SELECT (SELECT bytes FROM connector_usage WHERE platform_id = ?1 AND connector_id = ?2),
                                (SELECT octet_length(key) + octet_length(sealed) FROM connector_secrets
                                 WHERE platform_id = ?1 AND connector_id = ?2 AND key = ?3)"
                    }
                };
                conn.prepare_cached(sql)?
                    .query_row([platform, connector, key], |r| Ok((r.get(0)?, r.get(1)?)))?
            }
        };
        let (total, replaced) = (total.unwrap_or(0), replaced.unwrap_or(0));
        Ok(StoredBytes {
            total: total.max(0) as u64,
            entry: replaced.max(0) as u64,
        })
    }

    /// Every secret in one read, each unsealed.
    fn secrets(&self, platform: &str, connector: &str) -> Result<Vec<(String, String)>> {
        let sealed: Vec<(String, Vec<u8>)> = {
            let conn = self.read();
            let mut stmt = conn.prepare_cached(
                "SELECT key, sealed FROM connector_secrets WHERE platform_id = ?1 AND connector_id = ?2",
            )?;
            stmt.query_map([platform, connector], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?
        };
        sealed
            .into_iter()
            .map(|(key, sealed)| {
                let value = self
                    .secrets
                    .open(&secret_context(platform, connector, &key), &sealed)?;
                Ok((key, value))
            })
            .collect()
    }

    fn user(&self, platform: &str, id: &str) -> Result<Option<DirectoryUser>> {
        Ok(Db::user(self, platform, id)?.map(User::into_directory))
    }

    fn users_after(
        &self,
        platform: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DirectoryUser>> {
        Ok(self
            .users_page(platform, after, limit)?
            .into_iter()
            .map(User::into_directory)
            .collect())
    }

    fn log(&self, platform: &str, connector: &str, level: LogLevel, message: &str) -> Result<()> {
        self.connector_log(platform, connector, level.as_str(), message)
    }

    fn alert(&self, platform: &str, message: &str) -> Result<()> {
        Db::alert(self, platform, message)
    }

    /// One lookup by primary key.
    fn disabled(&self, platform: &str, connector: &str) -> Result<Option<Disabled>> {
        Ok(self
            .read()
            .prepare_cached(
                "SELECT reason, since FROM disabled_connectors WHERE platform_id = ?1 AND connector_id = ?2",
            )?
            .query_row([platform, connector], |r| {
                Ok(Disabled {
                    reason: r.get(0)?,
                    since: r.get(1)?,
                })
            })
            .optional()?)
    }

    fn disable(&self, platform: &str, connector: &str, reason: &str) -> Result<bool> {
        Ok(self.conn().execute(
            "INSERT INTO disabled_connectors (platform_id, connector_id, reason, since) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (platform_id, connector_id) DO NOTHING",
            params![platform, connector, reason, now()],
        )? > 0)
    }

    fn enable(&self, platform: &str, connector: &str) -> Result<bool> {
        Ok(self.conn().execute(
            "DELETE FROM disabled_connectors WHERE platform_id = ?1 AND connector_id = ?2",
            [platform, connector],
        )? > 0)
    }
}

impl User {
    /// The user as a connector may see them (without their role).
    pub fn into_directory(self) -> DirectoryUser {
        DirectoryUser {
            id: self.id,
            email: self.email,
            display_name: self.display_name,
            locale: self.locale,
            time_zone: self.time_zone,
        }
    }
}

/// A session from a row of `id, title, description, cover_url, starts_at, ends_at`.
pub(crate) fn session_row(r: &crate::sql::Row<'_>) -> rusqlite::Result<Session> {
    Ok(Session {
        id: r.get(0)?,
        title: r.get(1)?,
        description: r.get(2)?,
        cover_url: r.get(3)?,
        starts_at: r.get(4)?,
        ends_at: r.get(5)?,
    })
}

/// A user from a row of `id, email, display_name, locale, time_zone, role`.
pub(crate) fn user_row(r: &crate::sql::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        email: r.get(1)?,
        display_name: r.get(2)?,
        locale: r.get(3)?,
        time_zone: r.get(4)?,
        role: r.get(5)?,
    })
}

/// Most rows [`Db::write_settings`] writes in one statement.
const ROWS_PER_STATEMENT: usize = 64;

/// `rows` split into the rows of each statement: as many of [`ROWS_PER_STATEMENT`] as fit, then the powers of two that
/// make up the rest, so that a database caches at most seven statements of each kind whatever the numbers written.
fn in_statements<T>(rows: &[T]) -> impl Iterator<Item = &[T]> {
    let (full, rest) = rows.split_at(rows.len() - rows.len() % ROWS_PER_STATEMENT);
    let parts = (0..usize::BITS)
        .rev()
        .map(|bit| 1usize << bit)
        .filter(move |part| rest.len() & part != 0)
        .scan(rest, |left, part| {
            let (part, after) = left.split_at(part);
            *left = after;
            Some(part)
        });
    full.chunks(ROWS_PER_STATEMENT).chain(parts)
}

/// Binds a sealed secret to its owner, so that a sealed value copied to another row does not open.
pub(crate) fn secret_context(platform_id: &str, connector_id: &str, key: &str) -> String {
    format!("{platform_id}\u{0}{connector_id}\u{0}{key}")
}

/// The current time in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use crate::test_support::memory_db;
    use connector_host::ConnectorStore;
    use connector_host::store::StoredKind;

    #[test]
    fn rows_are_written_in_statements_of_64_then_powers_of_two() {
        let sizes = |n| {
            super::in_statements(&vec![(); n])
                .map(<[()]>::len)
                .collect::<Vec<_>>()
        };
        assert_eq!(sizes(0), Vec::<usize>::new());
        assert_eq!(sizes(1), [1]);
        assert_eq!(sizes(200), [64, 64, 64, 8]);
        assert_eq!(sizes(127), [64, 32, 16, 8, 4, 2, 1]);
    }

    #[test]
    fn a_recipient_and_their_preference_are_read_together() {
        let db = memory_db();
        for id in ["p", "q"] {
            db.upsert_platform(&super::Platform {
                id: id.into(),
                name: id.into(),
                group_name: id.into(),
                group_logo_url: None,
                default_cover_url: None,
                base_url: format!("https://{id}.example"),
            })
            .unwrap();
        }
        let ada = super::User {
            id: "u1".into(),
            email: "ada@example.com".into(),
            display_name: "Ada".into(),
            locale: "fr-FR".into(),
            time_zone: "Europe/Paris".into(),
            role: super::Role::Learner,
        };
        db.upsert_user("p", &ada).unwrap();
        let prefer = |user: &str, kind: &str, enabled: bool| {
            db.conn()
                .execute(
                    "INSERT INTO preferences (platform_id, user_id, kind, enabled) VALUES (?1, ?2, ?3, ?4)",
                    rusqlite::params!["p", user, kind, enabled],
                )
                .unwrap();
        };
        prefer("u1", "off_kind", false);
        prefer("u1", "on_kind", true);
        prefer("gone", "off_kind", false);
        assert_eq!(
            db.recipient("p", "u1", "unset_kind").unwrap(),
            (Some(ada.clone()), true)
        );
        assert_eq!(
            db.recipient("p", "u1", "off_kind").unwrap(),
            (Some(ada.clone()), false)
        );
        assert_eq!(
            db.recipient("p", "u1", "on_kind").unwrap(),
            (Some(ada), true)
        );
        // Another platform's user is not this one's; a preference left by a user no longer there still reads.
        assert_eq!(db.recipient("q", "u1", "off_kind").unwrap(), (None, true));
        assert_eq!(
            db.recipient("p", "gone", "off_kind").unwrap(),
            (None, false)
        );
    }

    #[test]
    fn settings_written_together_are_stored_and_counted_as_one_would_one_by_one() {
        let db = memory_db();
        db.set_setting("p", "c", "kept", "1").unwrap();
        db.set_setting("p", "c", "replaced", "short").unwrap();
        db.set_setting("p", "c", "removed", "gone").unwrap();
        db.set_setting("other", "c", "removed", "stays").unwrap();
        db.write_settings(
            "p",
            "c",
            &[
                ("added", Some("new")),
                ("missing", None),
                ("removed", None),
                ("replaced", Some("a longer value")),
            ],
        )
        .unwrap();
        let value = |p: &str, k: &str| db.setting(p, "c", k).unwrap();
        assert_eq!(value("p", "added").as_deref(), Some("new"));
        assert_eq!(value("p", "kept").as_deref(), Some("1"));
        assert_eq!(value("p", "replaced").as_deref(), Some("a longer value"));
        assert_eq!(value("p", "removed"), None);
        assert_eq!(value("other", "removed").as_deref(), Some("stays"));
        // The running total the quota reads follows every write of the transaction.
        let bytes = ["added", "new", "kept", "1", "replaced", "a longer value"]
            .iter()
            .map(|s| s.len() as u64)
            .sum::<u64>();
        assert_eq!(db.stored_bytes("p", "c", None).unwrap().total, bytes);
        assert_eq!(db.stored_bytes("other", "c", None).unwrap().total, 12);
        let replaced = db
            .stored_bytes("p", "c", Some((StoredKind::Setting, "replaced")))
            .unwrap();
        assert_eq!(
            replaced.entry,
            ("replaced".len() + "a longer value".len()) as u64
        );
        assert_eq!(replaced.besides_entry(), bytes - replaced.entry);
        // An entry not stored, or of a platform that stores nothing: nothing to replace.
        let absent = db
            .stored_bytes("p", "c", Some((StoredKind::Setting, "missing")))
            .unwrap();
        assert_eq!((absent.total, absent.entry), (bytes, 0));
        let nothing = db
            .stored_bytes("none", "c", Some((StoredKind::Secret, "bot_token")))
            .unwrap();
        assert_eq!((nothing.total, nothing.entry), (0, 0));

        // Many rows at once: several statements of each kind in one transaction.
        let keys: Vec<String> = (0..150).map(|i| format!("member:{i:03}")).collect();
        let sets: Vec<(&str, Option<&str>)> =
            keys.iter().map(|k| (k.as_str(), Some("U1 0"))).collect();
        db.write_settings("q", "c", &sets).unwrap();
        let removals: Vec<(&str, Option<&str>)> =
            keys[..70].iter().map(|k| (k.as_str(), None)).collect();
        db.write_settings("q", "c", &removals).unwrap();
        let left = (0..150)
            .filter(|i| value("q", &keys[*i]).is_some())
            .collect::<Vec<_>>();
        assert_eq!(left, (70..150).collect::<Vec<_>>());
        assert_eq!(
            db.stored_bytes("q", "c", None).unwrap().total,
            80 * (10 + 4)
        );
    }
}
