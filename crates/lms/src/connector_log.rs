//! The connectors' log lines, in a SQLite database of their own beside the LMS's (`NAME.connector-log.EXT` next to
//! `NAME.EXT`). A connector writes its log as fast as its quotas allow, and a hostile one writes without pause: in
//! the LMS's database every line would be a write that the LMS's own transactions (another platform's deliveries
//! included) queue behind, with the write-ahead log's checkpoints on top. In a file of its own, with its own
//! connection and lock, a log line never waits for the LMS nor the LMS for a log line. Nothing else joins with it.
//! On PostgreSQL the log is a table of the LMS's database, written through a connection of its own.

use crate::db::BUSY_TIMEOUT;
use crate::sql::{Conn, dialect, postgres::PgConn};
use anyhow::{Context, Result};
use parking_lot::{FairMutex, FairMutexGuard};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The log database's schema; `user_version` records which migrations ran.
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS connector_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    platform_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    level TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS connector_log_by_owner ON connector_log (platform_id, connector_id, seq);
"#;

/// The name the log database is attached under while the LMS's migrations move older log lines into it.
pub(crate) const ATTACHED: &str = "connector_log_db";

/// Where the log of the LMS database at `path` lives: beside it, or in memory with an in-memory LMS database.
pub(crate) fn path_for(path: &Path) -> PathBuf {
    if path == Path::new(":memory:") {
        return path.to_path_buf();
    }
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let name = match path.extension() {
        Some(ext) => format!("{stem}.connector-log.{}", ext.to_string_lossy()),
        None => format!("{stem}.connector-log"),
    };
    path.with_file_name(name)
}

/// The log database: one connection behind a fair lock, like the LMS's.
#[derive(Clone)]
pub struct ConnectorLog {
    conn: Arc<FairMutex<Conn>>,
}

impl ConnectorLog {
    /// Opens (creating if needed) the log database at `path`.
    pub(crate) fn open(path: &Path) -> Result<ConnectorLog> {
        let conn = Connection::open(path)
            .with_context(|| format!("opening the connector log {}", path.display()))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)
            .with_context(|| format!("creating the connector log {}", path.display()))?;
        Ok(ConnectorLog {
            conn: Arc::new(FairMutex::new(conn.into())),
        })
    }

    /// The log in the PostgreSQL database at `url` (a table the LMS's migrations made), with a connection of its own.
    pub(crate) fn postgres(url: &str) -> Result<ConnectorLog> {
        let conn = PgConn::connect(url)?;
        conn.batch(&dialect::schema(SCHEMA))
            .context("creating the connector log")?;
        Ok(ConnectorLog {
            conn: Arc::new(FairMutex::new(Conn::Postgres(Box::new(conn)))),
        })
    }

    /// The connection, for one unit of work.
    pub(crate) fn conn(&self) -> FairMutexGuard<'_, Conn> {
        self.conn.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Db, MIGRATIONS};
    use crate::secrets::SecretBox;
    use crate::test_support::TempDir;
    use connector_host::ConnectorStore;
    use connector_host::store::LogLevel;

    #[test]
    fn lines_written_before_the_log_had_its_own_database_move_into_it() {
        let dir = TempDir::new("connector-log-move");
        let path = dir.path().join("lms.sqlite3");
        // A database as the LMS left it before the move: the log in the LMS's own database.
        {
            let conn = Connection::open(&path).unwrap();
            for migration in &MIGRATIONS[..8] {
                conn.execute_batch(migration).unwrap();
            }
            conn.pragma_update(None, "user_version", 8).unwrap();
            for line in ["first", "second"] {
                conn.execute(
                    "INSERT INTO connector_log (platform_id, connector_id, at, level, message)
                     VALUES ('p1', 'slack', 1, 'info', ?1)",
                    [line],
                )
                .unwrap();
            }
        }
        let db = Db::open(&path, SecretBox::new([3; 32])).unwrap();
        db.log("p1", "slack", LogLevel::Warn, "third").unwrap();
        let lines: Vec<String> = db
            .log_conn()
            .prepare("SELECT message FROM connector_log ORDER BY seq")
            .unwrap()
            .query_map((), |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(lines, ["first", "second", "third"]);
        assert!(path_for(&path).exists());
        let left: i64 = db
            .conn()
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'connector_log'",
                (),
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0, "the LMS's database keeps no log table");
    }

    #[test]
    fn the_log_lives_beside_the_lms_database() {
        assert_eq!(
            path_for(Path::new("/data/lms.sqlite3")),
            Path::new("/data/lms.connector-log.sqlite3")
        );
        assert_eq!(
            path_for(Path::new("state")),
            Path::new("state.connector-log")
        );
        assert_eq!(path_for(Path::new(":memory:")), Path::new(":memory:"));
    }
}
