//! What the database holds, read back by tests and benchmarks.

use lms::sql::Conn;
use rusqlite::types::FromSql;

/// The two columns of every row `sql` selects (it takes no parameter).
pub fn pairs<A: FromSql, B: FromSql>(conn: &Conn, sql: &str) -> Vec<(A, B)> {
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map((), |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}
