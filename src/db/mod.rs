//! Database access: one connection type over SQLite and PostgreSQL, a pool,
//! embedded migrations and the change log.
//!
//! Everything backend-specific lives in this file: how a URL picks a backend,
//! the SQLite pragmas, and which migration folder runs.

pub mod backup;
pub mod change_log;
pub mod lease;
pub mod schema;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{CustomizeConnection, Pool, PooledConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::AppError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgresql");

/// A connection to whichever backend `DATABASE_URL` names.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

pub type DbPool = Pool<Manager>;
pub type PooledConn = PooledConnection<Manager>;

/// Which backend a database URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgresql,
}

impl Backend {
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgresql
        } else {
            Backend::Sqlite
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgresql => "postgresql",
        }
    }
}

/// SQLite needs its pragmas on every new connection; PostgreSQL needs nothing.
#[derive(Debug)]
struct ConnectionSetup;

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for ConnectionSetup {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        if let DbConnection::Sqlite(c) = conn {
            c.batch_execute(
                // No memory-mapped I/O: each connection would map the file
                // on its own and a large database's pages would count in the
                // server's RSS several times over; reads go through the OS
                // cache and an 8 MB page cache per connection instead.
                "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA foreign_keys = ON; PRAGMA mmap_size = 0; PRAGMA cache_size = -8000;",
            )
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// Opens one connection, choosing the backend from the URL explicitly (the
/// derived `establish` would let SQLite accept any string as a file name).
pub fn establish(url: &str) -> Result<DbConnection, AppError> {
    let conn = match Backend::of_url(url) {
        Backend::Postgresql => {
            DbConnection::Postgresql(diesel::PgConnection::establish(&with_connect_timeout(url))?)
        }
        Backend::Sqlite => DbConnection::Sqlite(diesel::SqliteConnection::establish(
            url.trim_start_matches("sqlite://"),
        )?),
    };
    Ok(conn)
}

/// Seconds to wait for PostgreSQL to accept a connection, unless the URL
/// says otherwise: while the server is down, requests fail fast with 503.
const PG_CONNECT_TIMEOUT_SECS: u32 = 5;

/// `url` with libpq's `connect_timeout` added when it has none.
fn with_connect_timeout(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if !u.query_pairs().any(|(k, _)| k == "connect_timeout") => {
            u.query_pairs_mut()
                .append_pair("connect_timeout", &PG_CONNECT_TIMEOUT_SECS.to_string());
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// Opens connections for the pool with [`establish`].
#[derive(Debug)]
pub struct Manager {
    url: String,
}

impl diesel::r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        establish(&self.url).map_err(|e| match e {
            AppError::Connection(c) => diesel::r2d2::Error::ConnectionError(c),
            other => diesel::r2d2::Error::ConnectionError(diesel::ConnectionError::BadConnection(
                other.to_string(),
            )),
        })
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// Builds the pool. SQLite gets few connections: it has one writer anyway.
pub fn connect_pool(url: &str) -> Result<DbPool, AppError> {
    let max = match Backend::of_url(url) {
        Backend::Sqlite => 4,
        Backend::Postgresql => 10,
    };
    if Backend::of_url(url) == Backend::Sqlite {
        // WAL is a property of the file: switch it once here, or the pool's
        // connections, opened at the same time, race to switch a new file
        // and one of them finds it locked.
        establish(url)?.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;")?;
    }
    Pool::builder()
        .max_size(max)
        // A request waits at most this long for a connection; then it gets
        // 503 "数据库暂不可用" instead of hanging while the database is down.
        .connection_timeout(Duration::from_secs(5))
        .connection_customizer(Box::new(ConnectionSetup))
        .build(Manager {
            url: url.to_string(),
        })
        .map_err(|e| AppError::Internal(format!("database pool: {e}")))
}

/// Runs every pending migration of the connection's backend; returns how many ran.
pub fn run_migrations(conn: &mut DbConnection) -> Result<usize, AppError> {
    let ran = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConnection::Postgresql(c) => c
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map(|v| v.len()),
    }
    .map_err(|e| AppError::Internal(format!("migration failed: {e}")))?;
    Ok(ran)
}

/// Call first inside a transaction that reads before it writes. SQLite starts
/// transactions deferred: one that reads, then writes after another
/// connection committed, fails with SQLITE_BUSY_SNAPSHOT, which no busy
/// timeout retries. A write statement (even one touching no row) takes the
/// write lock up front instead. On PostgreSQL it is a harmless no-op.
pub fn lock_for_write(conn: &mut DbConnection) -> Result<(), AppError> {
    conn.batch_execute("UPDATE change_log SET seq = seq WHERE 1 = 0")?;
    Ok(())
}

/// A cheap round trip, for `/healthz`.
pub fn ping(conn: &mut DbConnection) -> Result<(), AppError> {
    conn.batch_execute("SELECT 1")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_get_a_connect_timeout() {
        assert_eq!(
            with_connect_timeout("postgres://u@127.0.0.1:5432/db"),
            "postgres://u@127.0.0.1:5432/db?connect_timeout=5"
        );
        assert_eq!(
            with_connect_timeout("postgres://u@h/db?sslmode=disable"),
            "postgres://u@h/db?sslmode=disable&connect_timeout=5"
        );
        assert_eq!(
            with_connect_timeout("postgres://u@h/db?connect_timeout=1"),
            "postgres://u@h/db?connect_timeout=1"
        );
    }
}
