//! The change log: one row per write to a searchable entity, numbered by a
//! monotonically increasing sequence. Search indexes record the last sequence
//! they applied and catch up from there.

use chrono::Utc;
use diesel::prelude::*;

use super::schema::change_log;
use super::DbConnection;
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = change_log)]
pub struct Change {
    pub seq: i64,
    pub entity: String,
    pub entity_ref: String,
    pub op: String,
    pub at: chrono::NaiveDateTime,
}

/// Records that `entity` `entity_ref` changed; call inside the write's transaction.
pub fn append(
    conn: &mut DbConnection,
    entity: &str,
    entity_ref: &str,
    op: &str,
) -> Result<(), AppError> {
    diesel::insert_into(change_log::table)
        .values((
            change_log::entity.eq(entity),
            change_log::entity_ref.eq(entity_ref),
            change_log::op.eq(op),
            change_log::at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Changes after `after`, oldest first, at most `limit`.
pub fn since(conn: &mut DbConnection, after: i64, limit: i64) -> Result<Vec<Change>, AppError> {
    Ok(change_log::table
        .filter(change_log::seq.gt(after))
        .order(change_log::seq.asc())
        .limit(limit)
        .select(Change::as_select())
        .load(conn)?)
}
