//! A quick integrity check of the database when it is opened: SQLite's `PRAGMA quick_check` (the file's pages,
//! records and indexes' counts) and `PRAGMA foreign_key_check` (rows whose parent is missing), so that a damaged
//! file is refused at start with what SQLite found, instead of failing later in the middle of a delivery.

use anyhow::{Context, Result};
use rusqlite::{Connection, ErrorCode};
use std::path::{Path, PathBuf};

/// The most problems reported: enough to recognise the damage, few enough to read.
const MAX_FINDINGS: usize = 20;

/// The database file is damaged: SQLite's findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damaged {
    /// The database file.
    pub database: PathBuf,
    /// What SQLite found, one problem per entry.
    pub findings: Vec<String>,
}

impl std::fmt::Display for Damaged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let file = self.database.display();
        writeln!(
            f,
            "the database {file} is damaged; SQLite's integrity check found:"
        )?;
        for finding in &self.findings {
            writeln!(f, "  - {finding}")?;
        }
        write!(
            f,
            "Nothing was changed. What to do: stop every process using {file}, then restore it from a backup \
             (together with its -wal file, or without one); or salvage what is readable with \
             `sqlite3 {file} .recover | sqlite3 recovered.sqlite3`, check it, and put it in its place."
        )
    }
}

impl std::error::Error for Damaged {}

/// Checks the database open on `conn` (the file `database`); a damaged file is a [`Damaged`] error, and any other
/// failure to read it an ordinary one.
pub fn check(conn: &Connection, database: &Path) -> Result<()> {
    let damaged = |findings: Vec<String>| Damaged {
        database: database.to_path_buf(),
        findings,
    };
    let findings = match findings(conn) {
        Ok(findings) => findings,
        Err(e) if is_damage(&e) => return Err(damaged(vec![e.to_string()]).into()),
        Err(e) => {
            return Err(e).with_context(|| format!("checking the database {}", database.display()));
        }
    };
    if findings.is_empty() {
        Ok(())
    } else {
        Err(damaged(findings).into())
    }
}

/// What `quick_check` and `foreign_key_check` report (nothing for a sound file).
fn findings(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut found: Vec<String> = {
        let mut stmt = conn.prepare(&format!("PRAGMA quick_check({MAX_FINDINGS})"))?;
        let rows = stmt.query_map((), |r| r.get::<_, String>(0))?;
        rows.filter(|r| !matches!(r.as_deref(), Ok("ok")))
            .collect::<rusqlite::Result<_>>()?
    };
    let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
    let rows = stmt.query_map((), |r| {
        let table: String = r.get(0)?;
        let rowid: Option<i64> = r.get(1)?;
        let parent: String = r.get(2)?;
        Ok(format!(
            "row {} of `{table}` refers to a missing row of `{parent}`",
            rowid.map_or("?".to_string(), |id| id.to_string())
        ))
    })?;
    for row in rows.take(MAX_FINDINGS.saturating_sub(found.len())) {
        found.push(row?);
    }
    Ok(found)
}

/// Whether SQLite's error says the file is not a database or is corrupt.
fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
    )
}

#[cfg(test)]
mod tests {
    use super::Damaged;
    use crate::db::Db;
    use crate::secrets::SecretBox;
    use crate::test_support::{TempDir, platform_with_users};
    use std::path::Path;

    /// A database of a few hundred rows (several pages) at `path`, closed.
    fn sound_database(path: &Path) {
        let db = Db::open(path, SecretBox::new([1; 32])).unwrap();
        platform_with_users(&db, 300);
    }

    fn damaged(path: &Path) -> Damaged {
        let e = Db::open(path, SecretBox::new([1; 32]))
            .err()
            .expect("refused");
        e.downcast::<Damaged>().expect("a Damaged error")
    }

    #[test]
    fn a_sound_database_opens_again() {
        let dir = TempDir::new("integrity-sound");
        let path = dir.path().join("lms.sqlite3");
        sound_database(&path);
        assert!(Db::open(&path, SecretBox::new([1; 32])).is_ok());
    }

    #[test]
    fn a_page_overwritten_with_garbage_is_refused_naming_the_file() {
        let dir = TempDir::new("integrity-garbage");
        let path = dir.path().join("lms.sqlite3");
        sound_database(&path);
        let mut bytes = std::fs::read(&path).unwrap();
        let page = 4096;
        assert!(bytes.len() > 6 * page, "{} bytes", bytes.len());
        for b in &mut bytes[3 * page..5 * page] {
            *b = 0xA5;
        }
        std::fs::write(&path, &bytes).unwrap();
        let damaged = damaged(&path);
        assert_eq!(damaged.database, path);
        assert!(!damaged.findings.is_empty());
        let text = damaged.to_string();
        assert!(
            text.contains(&format!("the database {} is damaged", path.display())),
            "{text}"
        );
        assert!(text.contains("restore it from a backup"), "{text}");
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused() {
        let dir = TempDir::new("integrity-not-a-db");
        let path = dir.path().join("lms.sqlite3");
        std::fs::write(&path, "these are not the pages of a database ".repeat(200)).unwrap();
        let damaged = damaged(&path);
        assert!(damaged.findings[0].contains("not a database"), "{damaged}");
    }

    #[test]
    fn rows_whose_parent_is_missing_are_reported() {
        let dir = TempDir::new("integrity-foreign-keys");
        let path = dir.path().join("lms.sqlite3");
        sound_database(&path);
        {
            let db = Db::open(&path, SecretBox::new([1; 32])).unwrap();
            db.conn()
                .execute_batch(
                    "PRAGMA foreign_keys = OFF;
                     INSERT INTO users (platform_id, id, email, display_name, locale, time_zone, role)
                     VALUES ('ghost', 'u', 'u@example.org', 'U', 'en', 'UTC', 'learner');",
                )
                .unwrap();
        }
        let damaged = damaged(&path);
        assert_eq!(
            damaged.findings,
            vec!["row 302 of `users` refers to a missing row of `platforms`".to_string()]
        );
    }
}
