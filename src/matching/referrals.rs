//! Referrals (转介): the adviser refers a need to a resource; the referral
//! moves referred → accepted → fulfilled, or is declined — by the adviser,
//! or by the charity owning the resource, who sees only the anonymised
//! need. Accepting takes one unit of the resource's capacity with a
//! conditional update, so concurrent acceptances can never take it below
//! zero. The need's status follows its referrals.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::auth::{Identity, Role};
use crate::catalogue::ResourceRow;
use crate::db::schema::{households, needs, referral_events, referrals, resources};
use crate::db::{change_log, lock_for_write, DbConnection};
use crate::domain::vocabulary;
use crate::error::AppError;
use crate::households::{access, needs as need_list};

pub const REFERRAL_STATUSES: &[(&str, &str)] = &[
    ("referred", "已转介"),
    ("accepted", "已接收"),
    ("fulfilled", "已完成"),
    ("declined", "已谢绝"),
];

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = referrals)]
pub struct ReferralRow {
    pub id: i64,
    pub number: String,
    pub need_id: i64,
    pub resource_id: i64,
    pub status: String,
    pub note: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_by: String,
    pub updated_at: NaiveDateTime,
}

/// The need as the resource's charity may see it: no household, no
/// person, no free text.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AnonymousNeed {
    pub dimension: String,
    pub title: String,
    pub urgency: String,
    pub quantity: i64,
    /// The street (`310118-003`), never the community or household.
    pub region: String,
}

/// A referral as the API and pages show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReferralView {
    pub number: String,
    pub status: String,
    pub resource_ref: String,
    pub resource_title: String,
    pub need: AnonymousNeed,
    /// Only for advisers and admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub need_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub household_ref: Option<String>,
    pub note: String,
    pub created_by: String,
    #[serde(with = "crate::domain::timestamp")]
    pub created_at: NaiveDateTime,
    pub updated_by: String,
    #[serde(with = "crate::domain::timestamp")]
    pub updated_at: NaiveDateTime,
}

/// The street part of a region code.
fn street(region: &str) -> String {
    region.split('-').take(2).collect::<Vec<_>>().join("-")
}

fn record(
    conn: &mut DbConnection,
    id: i64,
    status: &str,
    note: &str,
    actor: &str,
) -> Result<(), AppError> {
    diesel::insert_into(referral_events::table)
        .values((
            referral_events::referral_id.eq(id),
            referral_events::status.eq(status),
            referral_events::note.eq(note),
            referral_events::actor.eq(actor),
            referral_events::at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Refers a need the adviser may see to a published resource.
pub fn create(
    conn: &mut DbConnection,
    who: &Identity,
    need_ref: &str,
    resource_ref: &str,
    note: &str,
) -> Result<ReferralView, AppError> {
    if who.role == Role::Charity {
        access::scope(who)?;
    }
    if note.chars().count() > 500 {
        return Err(AppError::field(
            "note",
            "说明不能超过 500 字 (note is too long)",
        ));
    }
    conn.transaction(|conn| {
        // Writers queue here rather than fail upgrading a read (SQLite).
        lock_for_write(conn)?;
        let need = access::changeable_need(conn, who, need_ref)?;
        if !matches!(need.status.as_str(), "open" | "matched") {
            return Err(AppError::field(
                "need_ref",
                format!(
                    "需求状态为“{}”，不能再转介 (only open or matched needs are referred)",
                    vocabulary::label(vocabulary::NEED_STATUSES, &need.status)
                ),
            ));
        }
        let resource = crate::catalogue::repository::find(conn, resource_ref)?
            .filter(|r| r.status == "published")
            .ok_or_else(|| {
                AppError::field(
                    "resource_ref",
                    format!("没有已发布的资源 {resource_ref} (no such published resource)"),
                )
            })?;
        let need_id: i64 = needs::table
            .filter(needs::ref_code.eq(need_ref))
            .select(needs::id)
            .first(conn)?;
        let live: i64 = referrals::table
            .filter(referrals::need_id.eq(need_id))
            .filter(referrals::resource_id.eq(resource.id))
            .filter(referrals::status.eq_any(["referred", "accepted"]))
            .count()
            .get_result(conn)?;
        if live > 0 {
            return Err(AppError::Conflict(
                "该需求已转介到这项资源 (already referred to this resource)".into(),
            ));
        }
        let numbers: Vec<String> = referrals::table.select(referrals::number).load(conn)?;
        let number = crate::households::repository::next_numbered("R-", &numbers);
        let now = Utc::now().naive_utc();
        let id: i64 = diesel::insert_into(referrals::table)
            .values((
                referrals::number.eq(&number),
                referrals::need_id.eq(need_id),
                referrals::resource_id.eq(resource.id),
                referrals::status.eq("referred"),
                referrals::note.eq(note),
                referrals::created_by.eq(&who.username),
                referrals::created_at.eq(now),
                referrals::updated_by.eq(&who.username),
                referrals::updated_at.eq(now),
            ))
            .returning(referrals::id)
            .get_result(conn)?;
        record(conn, id, "referred", note, &who.username)?;
        if need.status == "open" {
            need_list::set_status(
                conn,
                need_ref,
                "matched",
                &format!("转介至 {}", resource.title),
                &who.username,
            )?;
        }
        view(conn, who, &number)
    })
}

fn load(conn: &mut DbConnection, number: &str) -> Result<(ReferralRow, ResourceRow), AppError> {
    referrals::table
        .inner_join(resources::table)
        .filter(referrals::number.eq(number))
        .select((ReferralRow::as_select(), ResourceRow::as_select()))
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found(&format!("转介 {number}")))
}

/// May `who` act on (and see) this referral? The need's adviser (or an
/// admin), or the charity owning the resource.
fn check_party(
    conn: &mut DbConnection,
    who: &Identity,
    r: &ReferralRow,
    res: &ResourceRow,
) -> Result<(), AppError> {
    let not_found = || AppError::not_found(&format!("转介 {}", r.number));
    match who.role {
        Role::Charity => {
            if who.organisation_id.is_some() && res.organisation_id == who.organisation_id {
                Ok(())
            } else {
                Err(not_found())
            }
        }
        _ => {
            let need_ref: String = needs::table
                .find(r.need_id)
                .select(needs::ref_code)
                .first(conn)?;
            access::visible_need(conn, who, &need_ref)
                .map(|_| ())
                .map_err(|_| not_found())
        }
    }
}

/// One referral as `who` may see it.
pub fn view(
    conn: &mut DbConnection,
    who: &Identity,
    number: &str,
) -> Result<ReferralView, AppError> {
    let (r, res) = load(conn, number)?;
    check_party(conn, who, &r, &res)?;
    let (need_ref, title, dimension, urgency, quantity, household_ref, region): (
        String,
        String,
        String,
        String,
        i64,
        String,
        String,
    ) = needs::table
        .inner_join(households::table)
        .filter(needs::id.eq(r.need_id))
        .select((
            needs::ref_code,
            needs::title,
            needs::dimension,
            needs::urgency,
            needs::quantity,
            households::ref_code,
            households::region,
        ))
        .first(conn)?;
    let insider = who.role != Role::Charity;
    Ok(ReferralView {
        number: r.number,
        status: r.status,
        resource_ref: res.ref_code,
        resource_title: res.title,
        need: AnonymousNeed {
            dimension,
            title,
            urgency,
            quantity,
            region: street(&region),
        },
        need_ref: insider.then_some(need_ref),
        household_ref: insider.then_some(household_ref),
        note: if insider { r.note } else { String::new() },
        created_by: r.created_by,
        created_at: r.created_at,
        updated_by: r.updated_by,
        updated_at: r.updated_at,
    })
}

/// Moves a referral on. `accepted` takes one unit of capacity (refused when
/// none is left); declining an accepted referral gives it back.
pub fn set_status(
    conn: &mut DbConnection,
    who: &Identity,
    number: &str,
    to: &str,
    note: &str,
) -> Result<ReferralView, AppError> {
    if !REFERRAL_STATUSES.iter().any(|(c, _)| *c == to) || to == "referred" {
        return Err(AppError::field(
            "status",
            "状态须为 accepted、fulfilled 或 declined (unknown status)",
        ));
    }
    if note.chars().count() > 500 {
        return Err(AppError::field(
            "note",
            "说明不能超过 500 字 (note is too long)",
        ));
    }
    conn.transaction(|conn| {
        // Writers queue here rather than fail upgrading a read (SQLite);
        // the conditional updates below still decide who gets a unit.
        lock_for_write(conn)?;
        let (r, res) = load(conn, number)?;
        check_party(conn, who, &r, &res)?;
        let from = r.status.as_str();
        let allowed = matches!(
            (from, to),
            ("referred", "accepted")
                | ("referred", "declined")
                | ("accepted", "fulfilled")
                | ("accepted", "declined")
        );
        if !allowed {
            let label = |c: &str| vocabulary::label(REFERRAL_STATUSES, c).to_string();
            return Err(AppError::Conflict(format!(
                "转介不能从“{}”改为“{}” (a referral cannot go from {from} to {to})",
                label(from),
                label(to)
            )));
        }
        // The status changes only from the state it was read in.
        let moved = diesel::update(
            referrals::table
                .filter(referrals::id.eq(r.id))
                .filter(referrals::status.eq(from)),
        )
        .set((
            referrals::status.eq(to),
            referrals::updated_by.eq(&who.username),
            referrals::updated_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)?;
        if moved == 0 {
            return Err(AppError::Conflict(
                "转介已被他人处理，请刷新 (changed meanwhile)".into(),
            ));
        }
        if res.capacity_remaining.is_some() {
            if to == "accepted" {
                // Never below zero, however many accept at once.
                let taken = diesel::update(
                    resources::table
                        .filter(resources::id.eq(res.id))
                        .filter(resources::capacity_remaining.ge(1)),
                )
                .set(resources::capacity_remaining.eq(resources::capacity_remaining - 1))
                .execute(conn)?;
                if taken == 0 {
                    return Err(AppError::Conflict(format!(
                        "“{}”已无剩余名额 (no capacity left)",
                        res.title
                    )));
                }
                change_log::append(conn, "resource", &res.ref_code, "capacity")?;
            } else if from == "accepted" && to == "declined" {
                diesel::update(resources::table.filter(resources::id.eq(res.id)))
                    .set(resources::capacity_remaining.eq(resources::capacity_remaining + 1))
                    .execute(conn)?;
                change_log::append(conn, "resource", &res.ref_code, "capacity")?;
            }
        }
        record(conn, r.id, to, note, &who.username)?;
        // The need follows: fulfilled with its referral; open again when no
        // live referral is left.
        let (need_ref, need_status): (String, String) = needs::table
            .find(r.need_id)
            .select((needs::ref_code, needs::status))
            .first(conn)?;
        match to {
            "fulfilled" if need_status == "matched" => {
                need_list::set_status(
                    conn,
                    &need_ref,
                    "fulfilled",
                    &format!("{} 已完成", res.title),
                    &who.username,
                )?;
            }
            "declined" => {
                let live: i64 = referrals::table
                    .filter(referrals::need_id.eq(r.need_id))
                    .filter(referrals::status.eq_any(["referred", "accepted"]))
                    .count()
                    .get_result(conn)?;
                if live == 0 && need_status == "matched" {
                    need_list::set_status(
                        conn,
                        &need_ref,
                        "open",
                        &format!("{} 已谢绝", res.title),
                        &who.username,
                    )?;
                }
            }
            _ => {}
        }
        view(conn, who, number)
    })
}

/// Referrals `who` may see: a charity's own resources' (anonymised), an
/// adviser's households', or all for an admin; newest first.
pub fn list(
    conn: &mut DbConnection,
    who: &Identity,
    need_ref: Option<&str>,
    status: Option<&str>,
) -> Result<Vec<ReferralView>, AppError> {
    let mut q = referrals::table
        .inner_join(resources::table)
        .select(referrals::number)
        .order(referrals::id.desc())
        .limit(500)
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(referrals::status.eq(s.to_string()));
    }
    if who.role == Role::Charity {
        q = q.filter(resources::organisation_id.eq(who.organisation_id.unwrap_or(-1)));
    }
    if let Some(n) = need_ref {
        let need = access::visible_need(conn, who, n)?;
        let id: i64 = needs::table
            .filter(needs::ref_code.eq(&need.ref_code))
            .select(needs::id)
            .first(conn)?;
        q = q.filter(referrals::need_id.eq(id));
    }
    let numbers: Vec<String> = q.load(conn)?;
    let mut out = Vec::new();
    for n in numbers {
        match view(conn, who, &n) {
            Ok(v) => out.push(v),
            Err(AppError::NotFound(_)) => continue, // another street's
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}
