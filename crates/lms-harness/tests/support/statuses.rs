//! What the outbox holds, for tests that check every delivery's end.

use lms::db::Db;

/// How many deliveries are in each status, by status.
pub fn statuses(db: &Db) -> Vec<(String, i64)> {
    let conn = db.conn();
    let mut stmt = conn
        .prepare("SELECT status, COUNT(*) FROM deliveries GROUP BY status ORDER BY status")
        .unwrap();
    stmt.query_map((), |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}
