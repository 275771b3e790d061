//! A household record's life: closed when the case ends (结案) and reopened
//! when help is needed again; and the withdrawal of consent, after which
//! only what may be kept without consent — the members' names and
//! relations, and the region — stays: personal data, the profile,
//! assessments and case notes are erased, and live needs are closed.
//! Each step is written to the audit log with its reason.

use chrono::Utc;
use diesel::prelude::*;

use super::repository::{self, Household};
use crate::db::schema::{alerts, assessments, case_notes, households, members, needs};
use crate::db::{change_log, lock_for_write, DbConnection};
use crate::error::AppError;
use crate::privacy::audit;

pub const RECORD_STATUSES: &[(&str, &str)] = &[("active", "在册"), ("closed", "已结案")];

const MAX_REASON: usize = 500;

fn check_reason(reason: &str, required: bool) -> Result<(), AppError> {
    if required && reason.trim().is_empty() {
        return Err(AppError::field(
            "reason",
            "请填写原因 (a reason is required)",
        ));
    }
    if reason.chars().count() > MAX_REASON {
        return Err(AppError::field(
            "reason",
            format!("原因不能超过 {MAX_REASON} 字 (reason is too long)"),
        ));
    }
    Ok(())
}

fn current(conn: &mut DbConnection, ref_code: &str) -> Result<Household, AppError> {
    repository::find(conn, ref_code)?
        .ok_or_else(|| AppError::not_found(&format!("家庭 {ref_code}")))
}

/// Closes (`closed`) or reopens (`active`) a household's record.
pub fn set_status(
    conn: &mut DbConnection,
    ref_code: &str,
    to: &str,
    reason: &str,
    actor: &str,
) -> Result<Household, AppError> {
    if !RECORD_STATUSES.iter().any(|(c, _)| *c == to) {
        return Err(AppError::field(
            "status",
            "档案状态须为 active（在册）或 closed（已结案） (status is active or closed)",
        ));
    }
    check_reason(reason, to == "closed")?;
    conn.transaction(|conn| {
        lock_for_write(conn)?;
        let h = current(conn, ref_code)?;
        if h.row.status == to {
            return Err(AppError::Conflict(if to == "closed" {
                "该档案已经结案 (already closed)".into()
            } else {
                "该档案已在册 (already active)".into()
            }));
        }
        diesel::update(households::table.find(h.row.id))
            .set((
                households::status.eq(to),
                households::version.eq(h.row.version + 1),
                households::updated_by.eq(actor),
                households::updated_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
        let action = if to == "closed" { "close" } else { "reopen" };
        audit::record(conn, actor, action, ref_code, "", reason.trim())?;
        change_log::append(conn, "household", ref_code, action)?;
        current(conn, ref_code)
    })
}

/// Consent withdrawn: erases everything beyond names, relations and region,
/// closes live needs and the record.
pub fn withdraw_consent(
    conn: &mut DbConnection,
    ref_code: &str,
    reason: &str,
    actor: &str,
) -> Result<Household, AppError> {
    check_reason(reason, false)?;
    conn.transaction(|conn| {
        lock_for_write(conn)?;
        let h = current(conn, ref_code)?;
        if !h.row.consent {
            return Err(AppError::Conflict(
                "该家庭没有已记录的同意 (no consent is on record)".into(),
            ));
        }
        let now = Utc::now().naive_utc();
        diesel::update(households::table.find(h.row.id))
            .set((
                households::consent.eq(false),
                households::consent_by.eq(None::<String>),
                households::consent_at.eq(None::<chrono::NaiveDateTime>),
                households::address_enc.eq(None::<String>),
                households::contact_phone_enc.eq(None::<String>),
                households::contact_phone_hash.eq(None::<String>),
                households::profile.eq("{}"),
                households::status.eq("closed"),
                households::version.eq(h.row.version + 1),
                households::updated_by.eq(actor),
                households::updated_at.eq(now),
            ))
            .execute(conn)?;
        diesel::update(members::table.filter(members::household_id.eq(h.row.id)))
            .set((
                members::id_number_enc.eq(None::<String>),
                members::id_number_hash.eq(None::<String>),
                members::phone_enc.eq(None::<String>),
                members::phone_hash.eq(None::<String>),
                members::sex.eq(None::<String>),
                members::birth_date.eq(None::<chrono::NaiveDate>),
                members::disability_grade.eq(0),
                members::disability_type.eq(None::<String>),
                members::health.eq("[]"),
                members::employment.eq(None::<String>),
                members::student_stage.eq(None::<String>),
                members::income_monthly.eq(None::<f64>),
            ))
            .execute(conn)?;
        // Needs keep their history but lose their link to the erased
        // assessment; live ones are closed.
        let live: Vec<String> = needs::table
            .filter(needs::household_id.eq(h.row.id))
            .filter(needs::status.eq_any(["open", "matched"]))
            .select(needs::ref_code)
            .load(conn)?;
        diesel::update(needs::table.filter(needs::household_id.eq(h.row.id)))
            .set(needs::assessment_id.eq(None::<i64>))
            .execute(conn)?;
        diesel::delete(assessments::table.filter(assessments::household_id.eq(h.row.id)))
            .execute(conn)?;
        diesel::delete(case_notes::table.filter(case_notes::household_id.eq(h.row.id)))
            .execute(conn)?;
        // Alerts quote the household's facts.
        diesel::delete(alerts::table.filter(alerts::household_id.eq(h.row.id))).execute(conn)?;
        audit::record(conn, actor, "withdraw_consent", ref_code, "", reason.trim())?;
        change_log::append(conn, "household", ref_code, "withdraw_consent")?;
        for need in live {
            super::needs::set_status(conn, &need, "closed", "本人撤回同意", actor)?;
        }
        current(conn, ref_code)
    })
}
