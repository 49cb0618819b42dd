//! One connection to the LMS database, SQLite or PostgreSQL, with rusqlite's shapes: the same statements (written in
//! the SQL both accept, with `?N` placeholders), the same parameters ([`rusqlite::ToSql`]), the same row reads
//! ([`rusqlite::types::FromSql`]) and the same errors ([`rusqlite::Error`]), so that every query of the LMS is written
//! once. [`dialect`] turns a statement into PostgreSQL's form; [`postgres`] runs it there.
//!
//! Write transactions ([`Conn::write`]) are serialised per database on both: SQLite takes its write lock at once
//! (`BEGIN IMMEDIATE`), PostgreSQL a transaction-scoped advisory lock, so that a transaction that reads then writes
//! sees no other write in between on either, whichever host runs it.

pub mod dialect;
pub mod postgres;
pub mod scratch;

use rusqlite::ToSql;
use rusqlite::types::FromSql;
use std::path::PathBuf;

pub use rusqlite::{Error, OptionalExtension, Result, named_params, params};

/// Where the LMS keeps its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file (the embedded default), or `:memory:`.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its URL (`postgres://user@host:port/db?options=-csearch_path%3Dschema`).
    Postgres(String),
}

impl Location {
    /// `postgres://` and `postgresql://` URLs name a PostgreSQL database; anything else is a SQLite file's path
    /// (`sqlite://PATH` and `sqlite:PATH` are read as the path).
    pub fn parse(text: &str) -> Location {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Location::Postgres(text.to_string())
        } else {
            let path = text
                .strip_prefix("sqlite://")
                .or_else(|| text.strip_prefix("sqlite:"))
                .unwrap_or(text);
            Location::Sqlite(PathBuf::from(path))
        }
    }

    /// What to show of it: the file's path, or the URL without its password.
    pub fn display(&self) -> String {
        match self {
            Location::Sqlite(path) => path.display().to_string(),
            Location::Postgres(url) => postgres::redacted(url),
        }
    }
}

/// Which database a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A connection: to a SQLite file, or to a PostgreSQL database.
pub enum Conn {
    /// SQLite.
    Sqlite(rusqlite::Connection),
    /// PostgreSQL.
    Postgres(Box<postgres::PgConn>),
}

impl From<rusqlite::Connection> for Conn {
    fn from(conn: rusqlite::Connection) -> Self {
        Conn::Sqlite(conn)
    }
}

impl Conn {
    /// Which database this is.
    pub fn kind(&self) -> Kind {
        match self {
            Conn::Sqlite(_) => Kind::Sqlite,
            Conn::Postgres(_) => Kind::Postgres,
        }
    }

    /// The SQLite connection, for what only SQLite has (pragmas, integrity checks); `None` on PostgreSQL.
    pub fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match self {
            Conn::Sqlite(c) => Some(c),
            Conn::Postgres(_) => None,
        }
    }

    /// Runs one statement; returns how many rows it changed.
    pub fn execute<P: Params>(&self, sql: &str, params: P) -> Result<usize> {
        match self {
            Conn::Sqlite(c) => {
                params.with(|b| on_sqlite!(b, p => c.prepare_cached(sql)?.execute(p)))
            }
            Conn::Postgres(c) => params.with(|p| c.execute(sql, p)),
        }
    }

    /// Runs statements separated by `;`, without parameters.
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match self {
            Conn::Sqlite(c) => c.execute_batch(sql),
            Conn::Postgres(c) => c.batch(sql),
        }
    }

    /// The first row of a query, read by `f`; [`Error::QueryReturnedNoRows`] when there is none.
    pub fn query_row<T, P, F>(&self, sql: &str, params: P, f: F) -> Result<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, f)
    }

    /// A statement to run, kept prepared for the next time (on both databases).
    pub fn prepare_cached(&self, sql: &str) -> Result<Stmt<'_>> {
        Ok(match self {
            Conn::Sqlite(c) => Stmt::Sqlite(c.prepare_cached(sql)?),
            Conn::Postgres(c) => Stmt::Postgres {
                conn: c,
                sql: sql.to_string(),
            },
        })
    }

    /// A statement to run (prepared once on SQLite, kept prepared on PostgreSQL).
    pub fn prepare(&self, sql: &str) -> Result<Stmt<'_>> {
        self.prepare_cached(sql)
    }

    /// Begins a write transaction that, on PostgreSQL, takes no database-wide lock: it locks only the rows it selects
    /// with [`dialect::lock_rows`] (skipping those another transaction holds), so that it runs beside other hosts'
    /// write transactions. On SQLite, where there is one writer at a time anyway, it is [`Conn::write`]. For what
    /// reads nothing it relies on but the rows it locks.
    pub fn write_rows(&mut self) -> Result<Tx<'_>> {
        match self {
            Conn::Sqlite(_) => return self.write(),
            Conn::Postgres(c) => c.begin(false)?,
        }
        Ok(Tx {
            conn: self,
            done: false,
        })
    }

    /// Begins a write transaction whose loss in a crash of the database server is harmless (a connector's plain
    /// settings: its caches and pacing state), which commits without waiting for the server to flush it to disk: on
    /// PostgreSQL a transaction with `synchronous_commit` off and no database-wide lock, which a server crash may lose
    /// the last fraction of a second of but never corrupts, as SQLite's `synchronous = NORMAL` already treats every
    /// write on a power loss.
    pub fn write_unsynced(&mut self) -> Result<Tx<'_>> {
        match self {
            Conn::Sqlite(_) => return self.write(),
            Conn::Postgres(c) => c.begin_unsynced()?,
        }
        Ok(Tx {
            conn: self,
            done: false,
        })
    }

    /// Ends the open transaction: commits it or rolls it back.
    fn finish(&self, commit: bool) -> Result<()> {
        match self {
            Conn::Sqlite(c) => c.execute_batch(if commit { "COMMIT" } else { "ROLLBACK" }),
            Conn::Postgres(c) => c.finish(commit),
        }
    }

    /// Begins a write transaction: it holds the database's write lock from its first statement (SQLite's
    /// `BEGIN IMMEDIATE`; on PostgreSQL an advisory lock that every write transaction takes), so that what it read
    /// stays true until it commits. Dropped without [`Tx::commit`], it rolls back.
    pub fn write(&mut self) -> Result<Tx<'_>> {
        match self {
            Conn::Sqlite(c) => c.execute_batch("BEGIN IMMEDIATE")?,
            Conn::Postgres(c) => c.begin(true)?,
        }
        Ok(Tx {
            conn: self,
            done: false,
        })
    }
}

/// A transaction; it reads and writes like its connection. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx<'a> {
    conn: &'a mut Conn,
    done: bool,
}

impl Tx<'_> {
    /// Commits it.
    pub fn commit(mut self) -> Result<()> {
        self.done = true;
        self.conn.finish(true)
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if !self.done {
            // A rollback that fails leaves nothing to undo: the connection's transaction is gone with it.
            let _ = self.conn.finish(false);
        }
    }
}

/// A statement of a connection.
pub enum Stmt<'a> {
    /// SQLite's prepared statement.
    Sqlite(rusqlite::CachedStatement<'a>),
    /// A statement PostgreSQL keeps prepared on the connection.
    Postgres {
        /// The connection.
        conn: &'a postgres::PgConn,
        /// The statement as written.
        sql: String,
    },
}

impl Stmt<'_> {
    /// Runs it; returns how many rows it changed.
    pub fn execute<P: Params>(&mut self, params: P) -> Result<usize> {
        match self {
            Stmt::Sqlite(s) => params.with(|b| on_sqlite!(b, p => s.execute(p))),
            Stmt::Postgres { conn, sql } => params.with(|p| conn.execute(sql, p)),
        }
    }

    /// Every row of the query, each read by `f` (read at once: the rows are all in memory when this returns).
    pub fn query_map<T, P, F>(
        &mut self,
        params: P,
        mut f: F,
    ) -> Result<std::vec::IntoIter<Result<T>>>
    where
        P: Params,
        F: FnMut(&Row<'_>) -> Result<T>,
    {
        let rows: Vec<Result<T>> = match self {
            Stmt::Sqlite(s) => params.with(|b| {
                let mut rows = on_sqlite!(b, p => s.query(p)?);
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    out.push(f(&Row::Sqlite(row)));
                }
                Ok::<_, Error>(out)
            })?,
            Stmt::Postgres { conn, sql } => params
                .with(|p| conn.query(sql, p))?
                .iter()
                .map(|row| f(&Row::Postgres(row)))
                .collect(),
        };
        Ok(rows.into_iter())
    }

    /// The first row of the query, read by `f`; [`Error::QueryReturnedNoRows`] when there is none.
    pub fn query_row<T, P, F>(&mut self, params: P, f: F) -> Result<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> Result<T>,
    {
        match self {
            Stmt::Sqlite(s) => {
                params.with(|b| on_sqlite!(b, p => s.query_row(p, |row| f(&Row::Sqlite(row)))))
            }
            Stmt::Postgres { conn, sql } => {
                let rows = params.with(|p| conn.query(sql, p))?;
                match rows.first() {
                    Some(row) => f(&Row::Postgres(row)),
                    None => Err(Error::QueryReturnedNoRows),
                }
            }
        }
    }
}

/// A row of a query's result.
pub enum Row<'a> {
    /// SQLite's.
    Sqlite(&'a rusqlite::Row<'a>),
    /// PostgreSQL's.
    Postgres(&'a tokio_postgres::Row),
}

impl Row<'_> {
    /// The value of column `idx` (its position, or its name), read as `T` exactly as rusqlite reads it from SQLite.
    pub fn get<I: Column, T: FromSql>(&self, idx: I) -> Result<T> {
        match self {
            Row::Sqlite(r) => match idx.column() {
                ColumnRef::Index(i) => r.get(i),
                ColumnRef::Name(n) => r.get(n),
            },
            Row::Postgres(r) => postgres::get(r, idx.column()),
        }
    }
}

/// A column of a row: by position or by name.
#[derive(Debug, Clone, Copy)]
pub enum ColumnRef<'a> {
    /// Its position, from 0.
    Index(usize),
    /// Its name.
    Name(&'a str),
}

/// What names a column: a position or a name.
pub trait Column {
    /// The column named.
    fn column(&self) -> ColumnRef<'_>;
}

impl Column for usize {
    fn column(&self) -> ColumnRef<'_> {
        ColumnRef::Index(*self)
    }
}

impl Column for &str {
    fn column(&self) -> ColumnRef<'_> {
        ColumnRef::Name(self)
    }
}

/// A statement's parameters as given: by position (`?N`) or by name (`:name`).
#[derive(Clone, Copy)]
pub enum Bind<'a> {
    /// `params![…]`, an array, or none.
    Positional(&'a [&'a dyn ToSql]),
    /// `named_params! {…}`.
    Named(&'a [(&'a str, &'a dyn ToSql)]),
}

/// A statement's parameters, in the forms rusqlite takes them: `params![…]`, an array of values,
/// `named_params! {…}`, or `()` for none.
pub trait Params {
    /// Calls `f` with the parameters.
    fn with<R>(self, f: impl FnOnce(Bind<'_>) -> R) -> R;
}

impl Params for &[&dyn ToSql] {
    fn with<R>(self, f: impl FnOnce(Bind<'_>) -> R) -> R {
        f(Bind::Positional(self))
    }
}

impl Params for &[(&str, &dyn ToSql)] {
    fn with<R>(self, f: impl FnOnce(Bind<'_>) -> R) -> R {
        f(Bind::Named(self))
    }
}

impl<T: ToSql, const N: usize> Params for [T; N] {
    fn with<R>(self, f: impl FnOnce(Bind<'_>) -> R) -> R {
        let refs: Vec<&dyn ToSql> = self.iter().map(|v| v as &dyn ToSql).collect();
        f(Bind::Positional(&refs))
    }
}

impl Params for () {
    fn with<R>(self, f: impl FnOnce(Bind<'_>) -> R) -> R {
        f(Bind::Positional(&[]))
    }
}

/// `$body` with `$p` bound to rusqlite's form of the parameters `$bind` (by position or by name).
macro_rules! on_sqlite {
    ($bind:expr, $p:ident => $body:expr) => {
        match $bind {
            Bind::Positional($p) => $body,
            Bind::Named($p) => $body,
        }
    };
}
use on_sqlite;
