//! What the outbox holds, for tests that check every delivery's end (with `rows.rs`).

use crate::rows::pairs;
use lms::db::Db;

/// How many deliveries are in each status, by status.
pub fn statuses(db: &Db) -> Vec<(String, i64)> {
    pairs(
        &db.conn(),
        "SELECT status, COUNT(*) FROM deliveries GROUP BY status ORDER BY status",
    )
}
