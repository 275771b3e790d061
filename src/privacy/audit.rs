//! The audit log: who saw which personal data, and when. Entries are only
//! ever appended; admins read them.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::audit_log;
use crate::db::DbConnection;
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    #[serde(with = "crate::domain::timestamp")]
    pub at: NaiveDateTime,
    pub actor: String,
    /// `reveal` (a masked value shown), `view` (a record read), `lookup`
    /// (found by ID number), `close`, `reopen`, `withdraw_consent`,
    /// `export` (a household or need list downloaded; subject `households`
    /// or `needs`, detail the row count and filter).
    pub action: String,
    /// What was read: a household ref, `H-0001/members[1]` for a member.
    pub subject: String,
    /// Which value: `id_number`, `phone`, `contact_phone`, `address`.
    pub field: String,
    /// The reason given (for close, reopen, withdraw_consent).
    pub detail: String,
}

pub fn record(
    conn: &mut DbConnection,
    actor: &str,
    action: &str,
    subject: &str,
    field: &str,
    detail: &str,
) -> Result<(), AppError> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::at.eq(Utc::now().naive_utc()),
            audit_log::actor.eq(actor),
            audit_log::action.eq(action),
            audit_log::subject.eq(subject),
            audit_log::field.eq(field),
            audit_log::detail.eq(detail),
        ))
        .execute(conn)?;
    Ok(())
}

/// Newest first; `subject` narrows to one household (its members included).
pub fn list(
    conn: &mut DbConnection,
    subject: Option<&str>,
    page: i64,
    per_page: i64,
) -> Result<(Vec<AuditEntry>, i64), AppError> {
    let filtered = || {
        let mut q = audit_log::table.into_boxed();
        if let Some(s) = subject {
            q = q.filter(
                audit_log::subject
                    .eq(s.to_string())
                    .or(audit_log::subject.like(format!("{s}/%"))),
            );
        }
        q
    };
    let total: i64 = filtered().count().get_result(conn)?;
    let rows = filtered()
        .order(audit_log::id.desc())
        .limit(per_page)
        .offset((page.max(1) - 1) * per_page)
        .select((
            audit_log::id,
            audit_log::at,
            audit_log::actor,
            audit_log::action,
            audit_log::subject,
            audit_log::field,
            audit_log::detail,
        ))
        .load(conn)?;
    Ok((rows, total))
}
