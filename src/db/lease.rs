//! Leases: background work that must run once across instances sharing a
//! database (the policy scanner, the mail worker) is done by the instance
//! holding its lease. The holder renews the lease on every step; when it
//! stops (or dies) the lease expires and another instance takes it over.
//! Taking and renewing are conditional writes, so at most one instance
//! holds a lease at a time (clocks are assumed to agree within seconds).

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::Connection;

use super::schema::leases;
use super::DbConnection;
use crate::error::AppError;

/// An instance's name as a lease holder: its host and data directory.
/// Every instance has a data directory of its own (its index replica), so
/// the name is unique; and an instance restarted on the same directory is
/// the same holder, taking its leases back at once.
pub fn holder_id(data_dir: &std::path::Path) -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    let dir = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    format!("{host}:{}", dir.display())
}

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

/// Takes or renews the lease `name` for `holder` until `ttl` from now.
/// Returns whether `holder` holds it.
pub fn acquire(
    conn: &mut DbConnection,
    name: &str,
    holder: &str,
    ttl: Duration,
) -> Result<bool, AppError> {
    let at = now();
    let renewed = diesel::update(
        leases::table
            .filter(leases::name.eq(name))
            .filter(leases::holder.eq(holder).or(leases::expires_at.lt(at))),
    )
    .set((leases::holder.eq(holder), leases::expires_at.eq(at + ttl)))
    .execute(conn)?;
    if renewed == 1 {
        return Ok(true);
    }
    // No row yet, or another holder's live lease. Insert in a savepoint: if
    // another instance inserted first, only the savepoint is undone.
    let inserted = conn.transaction(|conn| {
        diesel::insert_into(leases::table)
            .values((
                leases::name.eq(name),
                leases::holder.eq(holder),
                leases::expires_at.eq(at + ttl),
            ))
            .execute(conn)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Gives the lease up (on shutdown), so another instance need not wait for
/// it to expire.
pub fn release(conn: &mut DbConnection, name: &str, holder: &str) -> Result<(), AppError> {
    diesel::delete(
        leases::table
            .filter(leases::name.eq(name))
            .filter(leases::holder.eq(holder)),
    )
    .execute(conn)?;
    Ok(())
}

/// Releases a lease from a plain thread (a worker stopping with its server
/// may outlive the async runtime).
pub fn release_in_background(pool: super::DbPool, name: &'static str, holder: String) {
    std::thread::spawn(move || {
        if let Ok(mut conn) = pool.get() {
            let _ = release(&mut conn, name, &holder);
        }
    });
}

/// Who holds `name` now, if anyone.
pub fn holder(conn: &mut DbConnection, name: &str) -> Result<Option<String>, AppError> {
    Ok(leases::table
        .filter(leases::name.eq(name))
        .filter(leases::expires_at.ge(now()))
        .select(leases::holder)
        .first(conn)
        .optional()?)
}
