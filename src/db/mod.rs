//! The database: one diesel `MultiConnection` over PostgreSQL and SQLite, chosen by the URL; the r2d2 pool; the
//! SQLite pragmas that make an acknowledged write durable; embedded migrations; the write transaction.
//! Backend-specific SQL lives here and nowhere else.

pub mod bulk;
pub mod schema;

use anyhow::{bail, Context};
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::path::Path;
use std::time::Duration;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// Runs the same diesel DSL on whichever backend `conn` is, for the statements the `MultiConnection` enum cannot
/// express itself (multi-row inserts).
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgresql($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_backend;

pub type Pool = r2d2::Pool<ConnectionManager>;
pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

/// Which backend a database URL names. Anything but `sqlite://` and `postgres://` is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite { path: String },
    Postgres { url: String },
}

impl Backend {
    pub fn from_url(url: &str) -> anyhow::Result<Backend> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                bail!("the SQLite database URL needs a file path, like sqlite://data/haveyoursay.db");
            }
            Ok(Backend::Sqlite { path: path.to_string() })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres { url: url.to_string() })
        } else {
            let scheme = url.split("://").next().filter(|_| url.contains("://")).unwrap_or(url);
            bail!("unsupported database URL scheme '{scheme}': use sqlite://PATH or postgres://USER@HOST/DATABASE")
        }
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, Backend::Sqlite { .. })
    }
}

/// Opens connections for the pool, dispatching on the URL itself so that connection errors keep their cause
/// (the derived `establish` reports every failure as an invalid URL).
#[derive(Debug)]
pub struct ConnectionManager {
    backend: Backend,
}

/// How long a SQLite connection waits for the write lock before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = diesel::ConnectionError;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        match &self.backend {
            Backend::Postgres { url } => PgConnection::establish(url).map(DbConnection::Postgresql),
            Backend::Sqlite { path } => {
                let mut conn = SqliteConnection::establish(path)?;
                // WAL is set once on the file before the pool opens (it persists); these are per connection.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;"
                ))
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1").map_err(diesel::ConnectionError::CouldntSetupConfiguration)
    }

    /// A connection still inside a transaction (its user panicked part-way) is discarded rather than reused:
    /// on SQLite it would hold the write lock.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        type Manager = <DbConnection as Connection>::TransactionManager;
        !matches!(Manager::transaction_manager_status_mut(conn).transaction_depth(), Ok(None))
    }
}

/// Connects to the database, runs pending migrations and returns the pool.
pub fn connect(url: &str, max_connections: u32) -> anyhow::Result<Pool> {
    let backend = Backend::from_url(url)?;
    if let Backend::Sqlite { path } = &backend {
        prepare_sqlite_file(path)?;
    }
    let pool = r2d2::Pool::builder()
        .max_size(max_connections)
        // Open connections as they are needed rather than all at start-up.
        .min_idle(Some(2))
        .connection_timeout(Duration::from_secs(10))
        .build(ConnectionManager { backend })
        .with_context(|| format!("could not connect to the database at {}", redacted(url)))?;
    let mut conn = pool.get().context("could not get a database connection")?;
    migrate(&mut conn)?;
    drop(conn);
    Ok(pool)
}

/// Creates the SQLite file's folder and switches the file to WAL once, on a single connection: several
/// connections switching at once fail with "database is locked".
fn prepare_sqlite_file(path: &str) -> anyhow::Result<()> {
    if let Some(dir) = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("could not create the folder {}", dir.display()))?;
    }
    let mut conn =
        SqliteConnection::establish(path).with_context(|| format!("could not open the SQLite file {path}"))?;
    conn.batch_execute(&format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL;"))
        .context("could not switch the SQLite file to WAL")?;
    Ok(())
}

/// The migration of the pre-release foundation, whose schema was rewritten before the first release.
const PRE_RELEASE_MIGRATION: &str = "20261125000001";

/// Runs the pending migrations of the connection's backend, under the start-up lock so that any number of
/// instances can start together on one PostgreSQL database.
pub fn migrate(conn: &mut DbConnection) -> anyhow::Result<()> {
    with_startup_lock(conn, run_migrations)
}

/// The key of the PostgreSQL advisory lock that start-up work (migrations, the demo load) runs under.
const STARTUP_LOCK: i64 = 0x4859_5341_5953; // "HYSAYS"

/// Runs `f` holding the start-up lock: on PostgreSQL a session advisory lock, so that instances starting at
/// the same moment take turns; SQLite serialises writers itself.
pub fn with_startup_lock<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    use diesel::RunQueryDsl;
    if !matches!(conn, DbConnection::Postgresql(_)) {
        return f(conn);
    }
    diesel::sql_query(format!("SELECT pg_advisory_lock({STARTUP_LOCK})"))
        .execute(conn)
        .context("could not take the start-up lock")?;
    let result = f(conn);
    let unlocked = diesel::sql_query(format!("SELECT pg_advisory_unlock({STARTUP_LOCK})")).execute(conn);
    let value = result?;
    unlocked.context("could not release the start-up lock")?;
    Ok(value)
}

fn run_migrations(conn: &mut DbConnection) -> anyhow::Result<()> {
    refuse_pre_release(conn)?;
    let applied = match conn {
        DbConnection::Postgresql(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|v| v.len()),
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
    }
    .map_err(|e| anyhow::anyhow!("database migration failed: {e}"))?;
    if applied > 0 {
        tracing::info!(applied, "database migrations applied");
    }
    Ok(())
}

/// Refuses a database made by the pre-release foundation, whose schema cannot be upgraded, with a message
/// saying what to do rather than a migration error.
fn refuse_pre_release(conn: &mut DbConnection) -> anyhow::Result<()> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Applied {
        #[diesel(sql_type = diesel::sql_types::Text)]
        version: String,
    }
    // The table is absent from a new database: nothing to refuse.
    let applied: Vec<Applied> =
        diesel::sql_query("SELECT version FROM __diesel_schema_migrations").load(conn).unwrap_or_default();
    if applied.iter().any(|a| a.version == PRE_RELEASE_MIGRATION) {
        bail!(
            "this database was made by a pre-release build of Have Your Say, whose schema cannot be upgraded: \
             move it aside (for SQLite, the file and its -wal and -shm files) and start again with a new one"
        );
    }
    Ok(())
}

/// Runs `f` as one write transaction. On SQLite it begins IMMEDIATE, taking the write lock up front, so that a
/// transaction that reads before it writes can never fail on upgrading its lock; nested `transaction` calls
/// inside `f` become savepoints on both backends.
pub fn write<T, E>(conn: &mut DbConnection, f: impl FnOnce(&mut DbConnection) -> Result<T, E>) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let DbConnection::Sqlite(sqlite) = conn else {
        return conn.transaction(f);
    };
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    let result = f(conn);
    let DbConnection::Sqlite(sqlite) = conn else { unreachable!("the backend of a connection never changes") };
    match result {
        Ok(value) => match AnsiTransactionManager::commit_transaction(sqlite) {
            Ok(()) => Ok(value),
            Err(e) => {
                let _ = AnsiTransactionManager::rollback_transaction(sqlite);
                Err(e.into())
            }
        },
        Err(e) => {
            AnsiTransactionManager::rollback_transaction(sqlite)?;
            Err(e)
        }
    }
}

/// Sends a PostgreSQL notification on `channel`, delivered to listeners when the transaction commits; does
/// nothing on SQLite.
pub fn notify(conn: &mut DbConnection, channel: &str, payload: &str) -> diesel::QueryResult<()> {
    use diesel::RunQueryDsl;
    match conn {
        DbConnection::Postgresql(c) => diesel::sql_query("SELECT pg_notify($1, $2)")
            .bind::<diesel::sql_types::Text, _>(channel)
            .bind::<diesel::sql_types::Text, _>(payload)
            .execute(c)
            .map(drop),
        DbConnection::Sqlite(_) => Ok(()),
    }
}

/// Whether an error is a unique-key violation (the same on both backends through diesel).
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(e, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
}

/// The URL without its password, for messages.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}://{user}@{}", &url[..s], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_picks_the_backend() {
        assert!(Backend::from_url("sqlite://data/x.db").unwrap().is_sqlite());
        assert!(!Backend::from_url("postgres://u@h/db").unwrap().is_sqlite());
        let err = Backend::from_url("mysql://u@h/db").unwrap_err().to_string();
        assert!(err.contains("unsupported database URL scheme 'mysql'"), "{err}");
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(redacted("postgres://u:secret@h:5432/db"), "postgres://u@h:5432/db");
    }
}
