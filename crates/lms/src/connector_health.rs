//! A connector the host disabled on a platform after repeated failed calls: what the platform shows of it, and
//! re-enabling it, audited with who did it. The state is the store's ([`ConnectorStore::disabled`]), so a re-enable
//! made from the command line is honoured by a running server at its next call.

use crate::db::Db;
use crate::integration::Lms;
use anyhow::Result;
use connector_host::ConnectorStore;
use connector_host::store::Disabled;

/// Re-enables `connector` on `platform_id` for `actor` and records it in the platform's audit log; false (and
/// nothing recorded) when it was not disabled.
pub fn enable(db: &Db, platform_id: &str, connector: &str, actor: &str) -> Result<bool> {
    if !db.enable(platform_id, connector)? {
        return Ok(false);
    }
    db.audit(platform_id, actor, "connector.enabled", connector)?;
    tracing::info!(
        platform = platform_id,
        connector,
        actor,
        "connector re-enabled"
    );
    Ok(true)
}

impl Lms {
    /// Whether the connector is disabled on `platform_id`, and why.
    pub fn connector_disabled(&self, platform_id: &str) -> Result<Option<Disabled>> {
        self.sandbox().disabled(platform_id)
    }

    /// Re-enables the connector on `platform_id`: refused unless `user_id` is one of its admins (refusals are
    /// audited); false when it was not disabled.
    pub fn enable_connector(&self, platform_id: &str, user_id: &str) -> Result<bool> {
        self.require_admin(platform_id, user_id, "re-enable")?;
        enable(
            self.db(),
            platform_id,
            self.sandbox().connector_id(),
            user_id,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{TempDir, platform_with_users};

    #[test]
    fn being_disabled_is_durable_and_a_re_enable_is_audited_once() {
        let dir = TempDir::new("connector-health");
        let (db_path, key) = (
            dir.path().join("lms.sqlite3"),
            dir.path().join("secrets.key"),
        );
        let db = Db::open_with_key_file(&db_path, &key).unwrap();
        platform_with_users(&db, 0);
        assert!(
            db.disable("p", "slack", "3 consecutive failed calls")
                .unwrap()
        );
        assert!(
            !db.disable("p", "slack", "again").unwrap(),
            "the first reason stays"
        );
        drop(db);
        // Another process (or a restart) sees it.
        let db = Db::open_with_key_file(&db_path, &key).unwrap();
        let disabled = db.disabled("p", "slack").unwrap().unwrap();
        assert_eq!(disabled.reason, "3 consecutive failed calls");
        assert!(disabled.since > 0);
        assert_eq!(db.disabled("p", "other").unwrap(), None);
        assert!(enable(&db, "p", "slack", "admin").unwrap());
        assert_eq!(db.disabled("p", "slack").unwrap(), None);
        assert!(!enable(&db, "p", "slack", "admin").unwrap());
        let audited: Vec<(String, String, String)> = {
            let conn = db.conn();
            let mut stmt = conn
                .prepare("SELECT actor, action, detail FROM audit_log WHERE action = 'connector.enabled'")
                .unwrap();
            stmt.query_map((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        assert_eq!(
            audited,
            vec![("admin".into(), "connector.enabled".into(), "slack".into())]
        );
    }
}
