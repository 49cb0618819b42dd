//! Sealed secrets against the key file. A database that holds sealed secrets opens only with the key that sealed
//! them: a missing, unreadable or other key is refused ([`KeyRefused`]) instead of being replaced, since a new key
//! would leave every integration unable to read its credentials while its tile still says Active. A new key is made
//! only when nothing is sealed. When the key is lost for good, [`forget`] drops the sealed secrets on purpose: the
//! integrations that used them are disconnected and their admins alerted, so that they activate again.

use crate::db::{Db, connect, now, secret_context};
use crate::integration::Tile;
use crate::secrets::SecretBox;
use crate::sql::{Conn, Location, OptionalExtension, params};
use anyhow::Result;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

impl Db {
    /// Opens (creating if needed) the database at `path` with the key in `key_file`: refused with [`KeyRefused`]
    /// when the database holds sealed secrets and the key file is missing, unreadable or does not open them; a new
    /// key file is created only when nothing is sealed. A damaged file is refused with
    /// [`crate::integrity::Damaged`].
    pub fn open_with_key_file(path: &Path, key_file: &Path) -> Result<Db> {
        Db::open_at_with_key_file(&Location::Sqlite(path.to_path_buf()), key_file)
    }

    /// [`Db::open_with_key_file`] for a database at `location`, SQLite or PostgreSQL: every host sharing a PostgreSQL
    /// database must be given the same key.
    pub fn open_at_with_key_file(location: &Location, key_file: &Path) -> Result<Db> {
        let opened = connect(location)?;
        let secrets = key_for(&opened.conn, location, key_file)?;
        Ok(Db::over(opened, secrets))
    }
}

/// What is wrong with the key file of a database that holds sealed secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyProblem {
    /// The key file does not exist.
    Missing,
    /// The key file cannot be read or is not a key; why.
    Unreadable(String),
    /// The key opens none or only some of the sealed secrets: how many it does not open.
    DoesNotOpen(usize),
    /// The key is not the one the database was first opened with (another host's, say), though it seals nothing
    /// yet that the key would have to open.
    NotTheKey,
}

/// The key file cannot be used with the database's sealed secrets; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRefused {
    /// The database (a file, or a URL without its password).
    pub database: String,
    /// The key file.
    pub key_file: PathBuf,
    /// How many secrets the database holds sealed.
    pub sealed: usize,
    /// What is wrong.
    pub problem: KeyProblem,
}

impl std::fmt::Display for KeyRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (key, db, n) = (self.key_file.display(), &self.database, self.sealed);
        match &self.problem {
            KeyProblem::Missing => write!(
                f,
                "the key file {key} is missing, and the database {db} holds {n} secrets sealed with it"
            ),
            KeyProblem::Unreadable(why) => write!(
                f,
                "the key file {key} cannot be used ({why}), and the database {db} holds {n} secrets sealed with it"
            ),
            KeyProblem::DoesNotOpen(unopened) => write!(
                f,
                "the key in {key} does not open {unopened} of the {n} secrets sealed in the database {db}: it is \
                 not the key that sealed them"
            ),
            KeyProblem::NotTheKey => write!(
                f,
                "the key in {key} is not the key of the database {db}: it was first opened with another (every \
                 host sharing a database must have the same key)"
            ),
        }
    }
}

impl std::error::Error for KeyRefused {}

/// The key for the database open on `conn` (the file `database`), from `key_file`: see the module's rules.
fn key_for(conn: &Conn, database: &Location, key_file: &Path) -> Result<SecretBox> {
    let sealed = sealed_secrets(conn)?;
    let refuse = |problem| KeyRefused {
        database: database.display(),
        key_file: key_file.to_path_buf(),
        sealed: sealed.len(),
        problem,
    };
    let proof = key_proof(conn)?;
    let anything_sealed = !sealed.is_empty() || proof.is_some();
    let key = match SecretBox::read_key_file(key_file) {
        Ok(None) if !anything_sealed => SecretBox::create_key_file(key_file)?,
        Ok(None) => return Err(refuse(KeyProblem::Missing).into()),
        Err(e) if anything_sealed => {
            return Err(refuse(KeyProblem::Unreadable(format!("{e:#}"))).into());
        }
        Err(e) => return Err(e),
        Ok(Some(key)) => key,
    };
    let unopened = sealed
        .iter()
        .filter(|(owner, value)| key.open(owner, value).is_err())
        .count();
    if unopened > 0 {
        return Err(refuse(KeyProblem::DoesNotOpen(unopened)).into());
    }
    // The database's proof of its key: written by the first start, checked by every later one (another host's
    // included), so that two hosts can never seal with two keys. Written at most once, whoever starts first.
    if proof.is_none() {
        conn.execute(
            "INSERT INTO key_check (id, sealed) VALUES (1, ?1) ON CONFLICT (id) DO NOTHING",
            [key.seal(KEY_PROOF, KEY_PROOF)?],
        )?;
    }
    match key_proof(conn)? {
        Some(proof) if key.open(KEY_PROOF, &proof).is_ok() => Ok(key),
        _ => Err(refuse(KeyProblem::NotTheKey).into()),
    }
}

/// What the database's proof of its key seals, bound to itself.
const KEY_PROOF: &str = "lms key proof";

/// The database's proof of its key, once a start wrote it.
fn key_proof(conn: &Conn) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .query_row("SELECT sealed FROM key_check WHERE id = 1", (), |r| {
            r.get(0)
        })
        .optional()?)
}

/// Every sealed secret, with the owner it is bound to.
fn sealed_secrets(conn: &Conn) -> Result<Vec<(String, Vec<u8>)>> {
    let mut stmt =
        conn.prepare("SELECT platform_id, connector_id, key, sealed FROM connector_secrets")?;
    let rows = stmt.query_map((), |r| {
        let (platform, connector, key): (String, String, String) =
            (r.get(0)?, r.get(1)?, r.get(2)?);
        Ok((secret_context(&platform, &connector, &key), r.get(3)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// What [`forget`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Forgotten {
    /// Sealed secrets deleted.
    pub secrets: usize,
    /// Integrations (platform, connector) turned Disconnected.
    pub disconnected: Vec<(String, String)>,
    /// Platforms whose admins were alerted.
    pub alerted: Vec<String>,
}

/// What the admins of a platform whose sealed secrets were forgotten read, on the tile and in the alerts.
pub const FORGOTTEN_REASON: &str = "The LMS's secrets key was lost, so its sealed credentials were forgotten on \
    purpose: click ACTIVATE to connect again.";

/// Forgets every sealed secret of the database at `database` (whose key is lost), in one transaction: the
/// integrations that were not Inactive turn Disconnected with [`FORGOTTEN_REASON`], the admins of every platform
/// concerned get an alert, and each platform's audit log records `actor`. The key file is left as it is: when it
/// is missing, the next start makes a new one, since nothing is sealed any more.
pub fn forget(database: &Location, actor: &str) -> Result<Forgotten> {
    let mut conn = connect(database)?.conn;
    let tx = conn.write()?;
    let owners: Vec<(String, String)> = {
        let mut stmt = tx.prepare(
            "SELECT platform_id, connector_id FROM connector_secrets
             UNION SELECT platform_id, connector_id FROM connectors WHERE state <> 'inactive'",
        )?;
        let rows = stmt.query_map((), |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let secrets = tx.execute("DELETE FROM connector_secrets", ())?;
    // The proof of the lost key goes too: the next start makes a new key and proves it.
    tx.execute("DELETE FROM key_check", ())?;
    let tile = Tile::Disconnected(FORGOTTEN_REASON.into());
    let (state, detail) = tile.stored()?;
    let at = now();
    let mut forgotten = Forgotten {
        secrets,
        ..Forgotten::default()
    };
    for (platform, connector) in &owners {
        let changed = tx.execute(
            "UPDATE connectors SET state = ?3, detail = ?4, updated_at = ?5
             WHERE platform_id = ?1 AND connector_id = ?2 AND state <> 'inactive'",
            params![platform, connector, state, detail, at],
        )?;
        if changed > 0 {
            forgotten
                .disconnected
                .push((platform.clone(), connector.clone()));
        }
    }
    let platforms: BTreeSet<&String> = owners.iter().map(|(p, _)| p).collect();
    for platform in platforms {
        tx.execute(
            "INSERT INTO alerts (platform_id, at, message) VALUES (?1, ?2, ?3)",
            params![platform, at, FORGOTTEN_REASON],
        )?;
        tx.execute(
            "INSERT INTO audit_log (platform_id, at, actor, action, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                platform,
                at,
                actor,
                "secrets.forgotten",
                "the sealed secrets were forgotten: the key that sealed them is lost"
            ],
        )?;
        forgotten.alerted.push(platform.clone());
    }
    tx.commit()?;
    Ok(forgotten)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;
    use crate::test_support::{TempDir, platform_with_users};
    use connector_host::ConnectorStore;

    /// A data folder whose database holds two sealed secrets and an Active tile, its key in `secrets.key`.
    fn folder_with_secrets(name: &str) -> (TempDir, PathBuf, PathBuf) {
        let dir = TempDir::new(name);
        let (db_path, key) = (
            dir.path().join("lms.sqlite3"),
            dir.path().join("secrets.key"),
        );
        let db = Db::open_with_key_file(&db_path, &key).unwrap();
        platform_with_users(&db, 1);
        db.set_secret("p", "slack", "bot_token", "xoxb-1").unwrap();
        db.set_secret("p", "slack", "client_secret", "s").unwrap();
        db.conn()
            .execute(
                "INSERT INTO connectors (platform_id, connector_id, available, state, detail, updated_at)
                 VALUES ('p', 'slack', 1, 'active', 'WS', 0)",
                (),
            )
            .unwrap();
        (dir, db_path, key)
    }

    fn refused(db_path: &Path, key: &Path) -> KeyRefused {
        let e = Db::open_with_key_file(db_path, key).err().expect("refused");
        e.downcast::<KeyRefused>().expect("a KeyRefused error")
    }

    #[test]
    fn a_key_is_made_when_nothing_is_sealed_and_reused_after() {
        let dir = TempDir::new("sealed-new");
        let (db_path, key) = (
            dir.path().join("lms.sqlite3"),
            dir.path().join("secrets.key"),
        );
        let db = Db::open_with_key_file(&db_path, &key).unwrap();
        assert!(key.exists());
        db.set_secret("p", "slack", "bot_token", "xoxb-1").unwrap();
        drop(db);
        let db = Db::open_with_key_file(&db_path, &key).unwrap();
        assert_eq!(
            db.secret("p", "slack", "bot_token").unwrap().as_deref(),
            Some("xoxb-1")
        );
    }

    #[test]
    fn another_key_is_refused_even_before_anything_is_sealed() {
        let dir = TempDir::new("sealed-proof");
        let (db_path, key) = (
            dir.path().join("lms.sqlite3"),
            dir.path().join("secrets.key"),
        );
        drop(Db::open_with_key_file(&db_path, &key).unwrap());
        // Another host's key (or a key file replaced by mistake): nothing is sealed, yet it is not the database's.
        std::fs::write(&key, "ab".repeat(32)).unwrap();
        let other = refused(&db_path, &key);
        assert_eq!(other.problem, KeyProblem::NotTheKey);
        assert!(
            other.to_string().contains("must have the same key"),
            "{other}"
        );
        // Without a key file, the database's proof says a key was made: none is made again.
        std::fs::remove_file(&key).unwrap();
        assert_eq!(refused(&db_path, &key).problem, KeyProblem::Missing);
        assert!(!key.exists());
    }

    #[test]
    fn a_missing_key_is_refused_and_not_replaced() {
        let (_dir, db_path, key) = folder_with_secrets("sealed-missing");
        std::fs::remove_file(&key).unwrap();
        let refused = refused(&db_path, &key);
        assert_eq!(refused.problem, KeyProblem::Missing);
        assert_eq!(refused.sealed, 2);
        assert_eq!(refused.key_file, key);
        assert!(
            refused.to_string().contains(&format!(
                "the key file {} is missing, and the database {} holds 2 secrets",
                key.display(),
                db_path.display()
            )),
            "{refused}"
        );
        assert!(!key.exists(), "no new key was made");
    }

    #[test]
    fn another_key_is_refused_with_how_many_secrets_it_does_not_open() {
        let (_dir, db_path, key) = folder_with_secrets("sealed-other");
        std::fs::write(&key, "ab".repeat(32)).unwrap();
        assert_eq!(refused(&db_path, &key).problem, KeyProblem::DoesNotOpen(2));
        std::fs::write(&key, "not a key").unwrap();
        assert!(matches!(
            refused(&db_path, &key).problem,
            KeyProblem::Unreadable(why) if why.contains("is not a key")
        ));
    }

    #[test]
    fn forgetting_disconnects_alerts_audits_and_lets_a_new_key_in() {
        let (_dir, db_path, key) = folder_with_secrets("sealed-forget");
        std::fs::remove_file(&key).unwrap();
        let forgotten = forget(&Location::Sqlite(db_path.clone()), "operator o").unwrap();
        assert_eq!(
            forgotten,
            Forgotten {
                secrets: 2,
                disconnected: vec![("p".into(), "slack".into())],
                alerted: vec!["p".into()],
            }
        );
        let db = Db::open_with_key_file(&db_path, &key).unwrap();
        assert!(key.exists(), "nothing sealed: a new key");
        assert_eq!(db.secret("p", "slack", "bot_token").unwrap(), None);
        let conn = db.conn();
        let tile: (String, String) = conn
            .query_row(
                "SELECT state, detail FROM connectors WHERE platform_id = 'p'",
                (),
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(tile, ("disconnected".into(), FORGOTTEN_REASON.into()));
        let alert: String = conn
            .query_row(
                "SELECT message FROM alerts WHERE platform_id = 'p'",
                (),
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(alert, FORGOTTEN_REASON);
        let audit: (String, String) = conn
            .query_row(
                "SELECT actor, action FROM audit_log WHERE platform_id = 'p' ORDER BY seq DESC LIMIT 1",
                (),
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(audit, ("operator o".into(), "secrets.forgotten".into()));
    }
}
