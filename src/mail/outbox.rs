//! The outbox: every e-mail is a row, written in the same transaction as
//! what caused it, so nothing is lost while the SMTP server is down. The
//! worker claims due rows (a conditional update, so two instances never
//! send one row), sends them and records the outcome; a failed attempt is
//! retried with exponential backoff until `MAX_ATTEMPTS`.

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::Connection;
use serde::Serialize;

use super::compose::{compose, Letter};
use crate::db::schema::outbox;
use crate::db::DbConnection;
use crate::error::AppError;

/// After this many failed attempts a message is marked `failed` (an admin
/// may send it again).
pub const MAX_ATTEMPTS: i64 = 10;

/// How long a claim lasts: a worker that dies mid-send leaves the row to
/// be claimed again after this.
const CLAIM_SECS: i64 = 300;

pub const KINDS: &[(&str, &str)] = &[
    ("invitation", "对接会邀请"),
    ("reminder", "会前提醒"),
    ("follow_up", "协议跟进"),
    ("alert_digest", "政策找人提醒汇总"),
];

pub const STATUSES: &[(&str, &str)] = &[
    ("pending", "待发送"),
    ("sending", "发送中"),
    ("sent", "已发送"),
    ("failed", "发送失败"),
];

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: i64,
    pub kind: String,
    pub dedupe_key: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    #[serde(skip)]
    pub raw: String,
    pub message_id: String,
    pub status: String,
    pub attempts: i64,
    #[serde(with = "crate::domain::timestamp")]
    pub next_attempt_at: NaiveDateTime,
    #[serde(with = "crate::domain::timestamp::option")]
    pub claimed_until: Option<NaiveDateTime>,
    pub last_error: String,
    #[serde(with = "crate::domain::timestamp")]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::domain::timestamp::option")]
    pub sent_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = outbox)]
struct NewRow<'a> {
    kind: &'a str,
    dedupe_key: &'a str,
    recipient: &'a str,
    subject: &'a str,
    body_text: &'a str,
    raw: &'a str,
    message_id: &'a str,
    status: &'a str,
    attempts: i64,
    next_attempt_at: NaiveDateTime,
    last_error: &'a str,
    created_at: NaiveDateTime,
}

fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

/// Queues `letter` unless a message with `dedupe_key` was queued before
/// (an invitation per event and charity, a digest per adviser and day).
/// Returns whether it was queued now. Call it inside the transaction that
/// makes the message due.
pub fn enqueue(
    conn: &mut DbConnection,
    from: &str,
    kind: &str,
    dedupe_key: &str,
    letter: &Letter,
) -> Result<bool, AppError> {
    let exists: i64 = outbox::table
        .filter(outbox::dedupe_key.eq(dedupe_key))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        return Ok(false);
    }
    let composed = compose(from, letter)?;
    let at = now();
    // In a savepoint: if another transaction queued the same key meanwhile,
    // the unique key refuses this row and only the savepoint is undone (a
    // failed statement would otherwise abort a PostgreSQL transaction).
    let inserted = conn.transaction(|conn| {
        diesel::insert_into(outbox::table)
            .values(NewRow {
                kind,
                dedupe_key,
                recipient: &letter.to,
                subject: &letter.subject,
                body_text: &letter.text,
                raw: &composed.raw,
                message_id: &composed.message_id,
                status: "pending",
                attempts: 0,
                next_attempt_at: at,
                last_error: "",
                created_at: at,
            })
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

/// Claims the next due message for this worker: a pending one whose time
/// has come. The claim is a conditional update, so of two workers only one
/// gets a message; it lasts `CLAIM_SECS`, ample for one SMTP transaction.
pub fn claim_next(conn: &mut DbConnection) -> Result<Option<OutboxRow>, AppError> {
    let at = now();
    for _ in 0..5 {
        let candidate: Option<i64> = outbox::table
            .filter(outbox::status.eq("pending"))
            .filter(outbox::next_attempt_at.le(at))
            .order(outbox::id.asc())
            .select(outbox::id)
            .first(conn)
            .optional()?;
        let Some(id) = candidate else {
            return Ok(None);
        };
        let n = diesel::update(
            outbox::table.filter(outbox::id.eq(id)).filter(
                outbox::status.eq("pending").or(outbox::status
                    .eq("sending")
                    .and(outbox::claimed_until.lt(at))),
            ),
        )
        .set((
            outbox::status.eq("sending"),
            outbox::claimed_until.eq(Some(at + Duration::seconds(CLAIM_SECS))),
        ))
        .execute(conn)?;
        if n == 1 {
            return Ok(Some(
                outbox::table
                    .find(id)
                    .select(OutboxRow::as_select())
                    .first(conn)?,
            ));
        }
        // Another worker took it: look again.
    }
    Ok(None)
}

/// What an interrupted send leaves behind.
pub const INTERRUPTED: &str =
    "发送过程中服务停止，邮件可能已经送达；请核实后再重新发送 (interrupted mid-send: it may have been delivered; check before sending again)";

/// Messages left `sending` by a process that stopped mid-send (claimed
/// before `started`, or with their claim run out) may or may not have been
/// delivered. They are not sent again automatically — that could deliver
/// them twice — but marked failed, for an admin to check and resend.
/// Returns how many.
pub fn fail_interrupted(
    conn: &mut DbConnection,
    started: NaiveDateTime,
) -> Result<usize, AppError> {
    let claimed_before = started + Duration::seconds(CLAIM_SECS);
    Ok(diesel::update(
        outbox::table.filter(outbox::status.eq("sending")).filter(
            outbox::claimed_until
                .lt(claimed_before)
                .or(outbox::claimed_until.lt(now())),
        ),
    )
    .set((
        outbox::status.eq("failed"),
        outbox::claimed_until.eq(None::<NaiveDateTime>),
        outbox::last_error.eq(INTERRUPTED),
    ))
    .execute(conn)?)
}

pub fn mark_sent(conn: &mut DbConnection, id: i64) -> Result<(), AppError> {
    let at = now();
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq("sent"),
            outbox::sent_at.eq(Some(at)),
            outbox::claimed_until.eq(None::<NaiveDateTime>),
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::last_error.eq(""),
        ))
        .execute(conn)?;
    Ok(())
}

/// The delay before attempt `attempts + 1`: `base` doubled per failed
/// attempt, at most six hours.
pub fn backoff(base_secs: u64, attempts: i64) -> Duration {
    let factor = 1i64 << attempts.clamp(0, 16);
    Duration::seconds(
        (base_secs.max(1) as i64)
            .saturating_mul(factor)
            .min(6 * 3600),
    )
}

/// Records a failed attempt: retried after the backoff, or `failed` after
/// the last attempt (or at once when the failure is permanent).
pub fn mark_failed(
    conn: &mut DbConnection,
    row: &OutboxRow,
    error: &str,
    permanent: bool,
    base_secs: u64,
) -> Result<(), AppError> {
    let attempts = row.attempts + 1;
    let give_up = permanent || attempts >= MAX_ATTEMPTS;
    diesel::update(outbox::table.find(row.id))
        .set((
            outbox::status.eq(if give_up { "failed" } else { "pending" }),
            outbox::attempts.eq(attempts),
            outbox::next_attempt_at.eq(now() + backoff(base_secs, attempts - 1)),
            outbox::claimed_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(truncate(error, 500)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Gives a claimed message back untried (the server was unreachable before
/// it could be offered): due again after `delay`, no attempt counted.
pub fn release(
    conn: &mut DbConnection,
    id: i64,
    delay: Duration,
    error: &str,
) -> Result<(), AppError> {
    diesel::update(outbox::table.find(id).filter(outbox::status.eq("sending")))
        .set((
            outbox::status.eq("pending"),
            outbox::next_attempt_at.eq(now() + delay),
            outbox::claimed_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(truncate(error, 500)),
        ))
        .execute(conn)?;
    Ok(())
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// An admin sends a failed message again.
pub fn retry(conn: &mut DbConnection, id: i64) -> Result<OutboxRow, AppError> {
    let row: OutboxRow = outbox::table
        .find(id)
        .select(OutboxRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("邮件"))?;
    if row.status != "failed" {
        return Err(AppError::Conflict(
            "只有发送失败的邮件可以重新发送 (only failed messages are retried)".into(),
        ));
    }
    diesel::update(outbox::table.find(id).filter(outbox::status.eq("failed")))
        .set((
            outbox::status.eq("pending"),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(outbox::table
        .find(id)
        .select(OutboxRow::as_select())
        .first(conn)?)
}

/// Counts by status, for the admin page's summary.
pub fn counts(conn: &mut DbConnection) -> Result<Vec<(String, i64)>, AppError> {
    Ok(outbox::table
        .group_by(outbox::status)
        .select((outbox::status, diesel::dsl::count_star()))
        .load(conn)?)
}

/// A page of messages, newest first, optionally of one status.
pub fn list(
    conn: &mut DbConnection,
    status: Option<&str>,
    page: i64,
    per_page: i64,
) -> Result<(i64, Vec<OutboxRow>), AppError> {
    let mut count = outbox::table.into_boxed();
    let mut rows = outbox::table.into_boxed();
    if let Some(s) = status {
        count = count.filter(outbox::status.eq(s.to_string()));
        rows = rows.filter(outbox::status.eq(s.to_string()));
    }
    let total: i64 = count.count().get_result(conn)?;
    let items = rows
        .order(outbox::id.desc())
        .offset((page.max(1) - 1) * per_page)
        .limit(per_page)
        .select(OutboxRow::as_select())
        .load(conn)?;
    Ok((total, items))
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<OutboxRow>, AppError> {
    Ok(outbox::table
        .find(id)
        .select(OutboxRow::as_select())
        .first(conn)
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(30, 0), Duration::seconds(30));
        assert_eq!(backoff(30, 1), Duration::seconds(60));
        assert_eq!(backoff(30, 3), Duration::seconds(240));
        assert_eq!(backoff(30, 40), Duration::seconds(6 * 3600));
        assert_eq!(backoff(0, 0), Duration::seconds(1));
    }
}
