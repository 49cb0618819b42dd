//! PostgreSQL under rusqlite's shapes: a connection (tokio-postgres, driven on a runtime of its own so that a call
//! blocks its caller as a SQLite call does, from any thread, inside an async runtime or not), statements kept
//! prepared per connection, parameters bound by the type PostgreSQL infers for them, and cells read back as
//! rusqlite reads SQLite's values.

use super::dialect;
use super::{Bind, ColumnRef};
use bytes::BytesMut;
use rusqlite::types::{FromSql, FromSqlError, ToSqlOutput, Value, ValueRef};
use rusqlite::{Error, Result};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, Mutex};
use tokio_postgres::types::{IsNull, Kind as PgKind, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, Config, NoTls, Statement};

/// The key of the advisory lock every write transaction takes: one writer at a time per database, as on SQLite.
const WRITE_LOCK: i64 = 0x4c4d_535f_5752_4954; // "LMS_WRIT"

/// The runtime that drives every PostgreSQL connection of the process (their sockets), apart from the callers'.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("lms-postgres")
        .enable_all()
        .build()
        .expect("starting the PostgreSQL runtime")
});

/// Waits for `f` on the calling thread. The connection's socket is driven on [`RUNTIME`], so this never needs the
/// caller's runtime, and works from inside one (blocking that thread as a SQLite call does).
fn block<F: std::future::Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

/// The URL with its password replaced by `***`.
pub fn redacted(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((user, host)) if user.contains(':') => {
                let name = user.split(':').next().unwrap_or_default();
                format!("{scheme}://{name}:***@{host}")
            }
            _ => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// A PostgreSQL error as a rusqlite one (its message kept whole).
fn error(e: tokio_postgres::Error) -> Error {
    let message = match e.as_db_error() {
        Some(db) => format!("PostgreSQL: {} ({})", db.message(), db.code().code()),
        None => format!("PostgreSQL: {e}"),
    };
    Error::ToSqlConversionFailure(message.into())
}

/// One connection to a PostgreSQL database; reconnects on its next use when the server closed it.
pub struct PgConn {
    config: Config,
    client: Mutex<Client>,
    /// Statements prepared on this connection, by their text as written, with the names of their `:name`
    /// parameters in the order of their numbers.
    prepared: Mutex<HashMap<String, (Statement, Vec<String>)>>,
    /// Whether a transaction is open: a connection lost in one is not silently replaced (its statements would then
    /// each commit on their own) until the transaction ends.
    in_transaction: AtomicBool,
}

impl PgConn {
    /// Connects to the database at `url`.
    pub fn connect(url: &str) -> anyhow::Result<PgConn> {
        let config: Config = url
            .parse()
            .map_err(|e| anyhow::anyhow!("the database URL {} is not valid: {e}", redacted(url)))?;
        let client =
            open(&config).map_err(|e| anyhow::anyhow!("connecting to {}: {e}", redacted(url)))?;
        Ok(PgConn {
            config,
            client: Mutex::new(client),
            prepared: Mutex::default(),
            in_transaction: AtomicBool::new(false),
        })
    }

    /// The client, connected again first when the server closed it.
    fn client(&self) -> Result<std::sync::MutexGuard<'_, Client>> {
        let mut client = self.client.lock().unwrap_or_else(|p| p.into_inner());
        if client.is_closed() {
            if self.in_transaction.load(Ordering::Relaxed) {
                return Err(Error::ToSqlConversionFailure(
                    "PostgreSQL: the connection was lost in the middle of a transaction".into(),
                ));
            }
            *client = open(&self.config).map_err(error)?;
            self.prepared
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clear();
        }
        Ok(client)
    }

    /// The statement `sql` prepared on this connection, and `params` in the order of its placeholders.
    fn statement(
        &self,
        client: &Client,
        sql: &str,
        params: Bind<'_>,
    ) -> Result<(Statement, Vec<Bound>)> {
        let mut prepared = self.prepared.lock().unwrap_or_else(|p| p.into_inner());
        let (statement, names) = match prepared.get(sql) {
            Some(s) => s.clone(),
            None => {
                let (text, names) = dialect::postgres(sql);
                let statement = block(client.prepare(&text)).map_err(error)?;
                prepared.insert(sql.to_string(), (statement.clone(), names.clone()));
                (statement, names)
            }
        };
        let values = match params {
            Bind::Positional(p) => bind(p)?,
            Bind::Named(given) => {
                let ordered = names
                    .iter()
                    .map(|name| {
                        given
                            .iter()
                            .find(|(n, _)| n.strip_prefix(':') == Some(name.as_str()))
                            .map(|(_, v)| *v)
                            .ok_or_else(|| Error::InvalidParameterName(format!(":{name}")))
                    })
                    .collect::<Result<Vec<_>>>()?;
                bind(&ordered)?
            }
        };
        Ok((statement, values))
    }

    /// Runs one statement with `params`; returns how many rows it changed.
    pub fn execute(&self, sql: &str, params: Bind<'_>) -> Result<usize> {
        let client = self.client()?;
        let (statement, values) = self.statement(&client, sql, params)?;
        let n = block(client.execute(&statement, &refs(&values))).map_err(error)?;
        Ok(n as usize)
    }

    /// The rows of a query with `params`.
    pub fn query(&self, sql: &str, params: Bind<'_>) -> Result<Vec<tokio_postgres::Row>> {
        let client = self.client()?;
        let (statement, values) = self.statement(&client, sql, params)?;
        block(client.query(&statement, &refs(&values))).map_err(error)
    }

    /// Runs statements separated by `;` (no parameters), in PostgreSQL's own SQL.
    pub fn batch(&self, sql: &str) -> Result<()> {
        let client = self.client()?;
        block(client.batch_execute(sql)).map_err(error)
    }

    /// Begins a transaction: `BEGIN`, then, when `exclusive`, the advisory lock every [`super::Conn::write`]
    /// transaction takes.
    pub fn begin(&self, exclusive: bool) -> Result<()> {
        if exclusive {
            self.batch(&format!(
                "BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})"
            ))?;
        } else {
            self.batch("BEGIN")?;
        }
        self.in_transaction.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Begins a transaction whose commit does not wait for the disk (`synchronous_commit` off).
    pub fn begin_unsynced(&self) -> Result<()> {
        self.batch("BEGIN; SET LOCAL synchronous_commit = off")?;
        self.in_transaction.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Ends the transaction: commits it, or rolls it back. A connection lost meanwhile rolled it back: that is an
    /// error for a commit only.
    pub fn finish(&self, commit: bool) -> Result<()> {
        let ended = self.batch(if commit { "COMMIT" } else { "ROLLBACK" });
        self.in_transaction.store(false, Ordering::Relaxed);
        match ended {
            Err(e) if commit => Err(e),
            _ => Ok(()),
        }
    }
}

/// What every connection sets first: a lock is waited for at most as long as SQLite's busy time-out (an error then,
/// as SQLite's "database is locked"), and a session that stays idle in a transaction (a host frozen while it held
/// the write lock) is ended by the server, releasing its locks for the other hosts.
const SESSION: &str = "SET lock_timeout = '30s'; SET idle_in_transaction_session_timeout = '60s'";

/// Connects, and drives the connection's socket on [`RUNTIME`].
fn open(config: &Config) -> std::result::Result<Client, tokio_postgres::Error> {
    let config = config.clone();
    let connected = RUNTIME.spawn(async move {
        let (client, connection) = config.connect(NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!("PostgreSQL connection closed: {e}");
            }
        });
        client.batch_execute(SESSION).await?;
        Ok::<_, tokio_postgres::Error>(client)
    });
    block(connected).expect("the PostgreSQL runtime is running")
}

/// The parameters as values PostgreSQL binds by the type it inferred for each.
fn bind(params: &[&dyn rusqlite::ToSql]) -> Result<Vec<Bound>> {
    params
        .iter()
        .map(|p| {
            Ok(Bound(match rusqlite::ToSql::to_sql(*p)? {
                ToSqlOutput::Borrowed(v) => v.into(),
                ToSqlOutput::Owned(v) => v,
                other => {
                    return Err(Error::ToSqlConversionFailure(
                        format!("a parameter of a kind PostgreSQL does not take: {other:?}").into(),
                    ));
                }
            }))
        })
        .collect()
}

/// The values as tokio-postgres takes parameters.
fn refs(values: &[Bound]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

/// A value bound to a parameter, encoded as the parameter's type (an integer for a `bigint` or an `integer`, text
/// for `text`, and so on), as SQLite would take it.
#[derive(Debug)]
struct Bound(Value);

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for Bound {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> std::result::Result<IsNull, BoxError> {
        if let PgKind::Domain(inner) = ty.kind() {
            return self.to_sql(inner, out);
        }
        match &self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Integer(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::NUMERIC
                | Type::TEXT
                | Type::VARCHAR
                | Type::BPCHAR
                | Type::NAME
                | Type::UNKNOWN => i.to_string().as_str().to_sql(&Type::TEXT, out),
                _ => Err(format!("an integer cannot be bound to a {ty} parameter").into()),
            },
            Value::Real(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                _ => Err(format!("a real cannot be bound to a {ty} parameter").into()),
            },
            Value::Text(s) => match *ty {
                Type::INT8 => s.parse::<i64>()?.to_sql(ty, out),
                Type::INT4 => s.parse::<i32>()?.to_sql(ty, out),
                Type::BYTEA => s.as_bytes().to_sql(ty, out),
                _ => s.as_str().to_sql(&Type::TEXT, out),
            },
            Value::Blob(b) => match *ty {
                Type::BYTEA => b.as_slice().to_sql(ty, out),
                _ => Err(format!("bytes cannot be bound to a {ty} parameter").into()),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A cell of a row, as SQLite would hold it.
struct Cell(Value);

impl<'a> tokio_postgres::types::FromSql<'a> for Cell {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> std::result::Result<Self, BoxError> {
        Ok(Cell(match *ty {
            Type::INT8 => Value::Integer(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Integer(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Value::Integer(i16::from_sql(ty, raw)?.into()),
            Type::OID => Value::Integer(u32::from_sql(ty, raw)?.into()),
            Type::BOOL => Value::Integer(bool::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Real(f32::from_sql(ty, raw)?.into()),
            Type::BYTEA => Value::Blob(Vec::<u8>::from_sql(ty, raw)?),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                Value::Text(String::from_sql(ty, raw)?)
            }
            _ => {
                return Err(format!(
                    "a column of type {ty} (cast it to bigint, text or bytea in the query)"
                )
                .into());
            }
        }))
    }

    fn from_sql_null(_: &Type) -> std::result::Result<Self, BoxError> {
        Ok(Cell(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Column `idx` of `row`, read as rusqlite reads the same value from SQLite.
pub(super) fn get<T: FromSql>(row: &tokio_postgres::Row, idx: ColumnRef<'_>) -> Result<T> {
    let i = match idx {
        ColumnRef::Index(i) => i,
        ColumnRef::Name(name) => row
            .columns()
            .iter()
            .position(|c| c.name() == name)
            .ok_or_else(|| Error::InvalidColumnName(name.to_string()))?,
    };
    if i >= row.len() {
        return Err(Error::InvalidColumnIndex(i));
    }
    let Cell(value) = row.try_get::<_, Cell>(i).map_err(|e| {
        Error::FromSqlConversionFailure(i, rusqlite::types::Type::Null, Box::new(e))
    })?;
    let kind = value.data_type();
    T::column_result(ValueRef::from(&value)).map_err(|e| match e {
        FromSqlError::InvalidType => {
            Error::InvalidColumnType(i, row.columns()[i].name().to_string(), kind)
        }
        FromSqlError::OutOfRange(n) => Error::IntegralValueOutOfRange(i, n),
        FromSqlError::Other(e) => Error::FromSqlConversionFailure(i, kind, e),
        other => Error::FromSqlConversionFailure(i, kind, Box::new(other)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            redacted("postgres://lms:s3cret@db:5432/lms"),
            "postgres://lms:***@db:5432/lms"
        );
        assert_eq!(redacted("postgres://lms@db/lms"), "postgres://lms@db/lms");
    }
}
