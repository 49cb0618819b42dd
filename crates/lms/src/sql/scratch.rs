//! A schema of its own in a PostgreSQL database, for a test: tests run in parallel on one database, each in a fresh
//! schema, dropped at the end. Where no PostgreSQL is reachable, a test skips (saying so), except under `CI=true`,
//! where that is a failure.

use super::postgres::PgConn;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The database tests use unless `LMS_TEST_POSTGRES` names another: the project machine's, with trust auth.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A fresh schema, dropped (with everything in it) when this is dropped.
pub struct Scratch {
    base: String,
    schema: String,
}

impl Scratch {
    /// A fresh schema named after `name` in the test database; `None` (with a message on stderr) when no PostgreSQL
    /// answers. Panics when none answers under `CI=true`.
    pub fn new(name: &str) -> Option<Scratch> {
        static N: AtomicUsize = AtomicUsize::new(0);
        let base = std::env::var("LMS_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.to_string());
        let conn = match PgConn::connect(&base) {
            Ok(conn) => conn,
            Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("CI=true needs PostgreSQL at {base}: {e:#}")
            }
            Err(e) => {
                eprintln!(
                    "skipped: no PostgreSQL at {base} ({e:#}); set LMS_TEST_POSTGRES to run this test"
                );
                return None;
            }
        };
        let clean: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(30)
            .collect();
        let schema = format!(
            "t_{clean}_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            rand::random::<u16>()
        );
        conn.batch(&format!("CREATE SCHEMA {schema}"))
            .unwrap_or_else(|e| panic!("creating the schema {schema}: {e}"));
        Some(Scratch { base, schema })
    }

    /// The URL of the database with this schema first on the search path: what a host is given.
    pub fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-csearch_path%3D{}", self.base, self.schema)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Ok(conn) = PgConn::connect(&self.base) {
            let _ = conn.batch(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
        }
    }
}
