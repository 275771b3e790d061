//! Signed agreements (对接协议): on site, the admin binds a pledge to
//! concrete needs of its item. Each need is referred to the pledged
//! resource (as any referral: the need becomes matched), the pledge
//! becomes signed, and the agreement can be printed for signature.

use chrono::{NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::model::{event_or_404, items_of, label, AgreementRow, EventRow, ItemView, PledgeRow};
use super::pledges;
use crate::auth::{Identity, Role};
use crate::db::schema::{
    agreement_needs, agreements, households, needs, organisations, referrals, resources,
};
use crate::db::{lock_for_write, DbConnection};
use crate::domain::vocabulary::{self, DIMENSIONS, URGENCIES};
use crate::error::{AppError, FieldError};
use crate::matching::referrals::{self as referral_flow, REFERRAL_STATUSES};

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct AgreementInput {
    /// The pledge's number (`PL-000001`).
    pub pledge: String,
    /// The needs bound, by ref; all must be open needs of the pledge's item.
    pub needs: Vec<String>,
    /// Who signs for the charity.
    pub charity_signatory: String,
    /// `YYYY-MM-DD`; defaults to today.
    #[serde(default)]
    pub signed_on: String,
    #[serde(default)]
    pub note: String,
}

/// One need bound by an agreement, anonymised: the charity sees what is
/// needed, never who needs it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgreedNeed {
    pub position: usize,
    pub dimension_label: String,
    pub urgency_label: String,
    pub quantity: i64,
    pub referral: String,
    pub referral_status: String,
    pub referral_status_label: String,
    /// Admins only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub need_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub household_ref: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgreementView {
    pub number: String,
    pub event_ref: String,
    pub event_title: String,
    pub held_on: NaiveDate,
    pub venue: String,
    pub organisation: String,
    pub pledge: String,
    pub resource_ref: String,
    pub resource_title: String,
    pub quantity: i64,
    pub conditions: String,
    pub deadline: Option<NaiveDate>,
    pub item: ItemView,
    pub needs: Vec<AgreedNeed>,
    pub signed_on: NaiveDate,
    pub charity_signatory: String,
    pub note: String,
    pub created_by: String,
    #[serde(with = "crate::domain::timestamp")]
    pub created_at: NaiveDateTime,
}

/// Signs an agreement.
pub fn sign(
    conn: &mut DbConnection,
    who: &Identity,
    event_ref: &str,
    input: &AgreementInput,
    today: NaiveDate,
) -> Result<AgreementView, AppError> {
    if !who.is_admin() {
        return Err(AppError::Forbidden(
            "只有民政管理员可以登记对接协议 (only admins record agreements)".into(),
        ));
    }
    conn.transaction(|conn| {
        lock_for_write(conn)?;
        let event = event_or_404(conn, event_ref)?;
        if !event.is_open() {
            return Err(AppError::Conflict(format!(
                "对接会{}，不能登记协议 (agreements are signed while an event is published or held)",
                event.status_label()
            )));
        }
        let pledge = pledges::find(conn, input.pledge.trim())?;
        if pledge.event_id != event.id {
            return Err(AppError::field(
                "pledge",
                "该认领不属于这场对接会 (the pledge belongs to another event)",
            ));
        }
        if pledge.status != "pledged" {
            return Err(AppError::Conflict(format!(
                "认领 {} {}，不能再签约 (only open pledges are signed)",
                pledge.number,
                label(super::model::PLEDGE_STATUSES, &pledge.status)
            )));
        }
        let mut errors = Vec::new();
        let mut refs: Vec<String> = input
            .needs
            .iter()
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect();
        refs.sort();
        refs.dedup();
        let behind = super::need_list::needs_of_item(conn, pledge.item_id)?;
        let mut people = 0;
        if refs.is_empty() {
            errors.push(FieldError::new(
                "needs",
                "请选择协议对应的需求 (choose the needs the agreement meets)",
            ));
        }
        for r in &refs {
            match behind.iter().find(|n| &n.need_ref == r) {
                None => errors.push(FieldError::new(
                    "needs",
                    format!("需求 {r} 不在该清单项下 (not a need of the pledged item)"),
                )),
                Some(n) if n.status != "open" => errors.push(FieldError::new(
                    "needs",
                    format!(
                        "需求 {r} 状态为“{}”，只能签约待对接的需求 (only open needs are bound)",
                        vocabulary::label(vocabulary::NEED_STATUSES, &n.status)
                    ),
                )),
                Some(n) => people += n.quantity.max(1),
            }
        }
        if people > pledge.quantity {
            errors.push(FieldError::new(
                "needs",
                format!(
                    "所选需求共 {people} 人，超过认领数量 {} (more than the pledge covers)",
                    pledge.quantity
                ),
            ));
        }
        let signatory = input.charity_signatory.trim();
        if signatory.is_empty() || signatory.chars().count() > 50 {
            errors.push(FieldError::new(
                "charity_signatory",
                "请填写签约代表姓名（不超过 50 字）(signatory required)",
            ));
        }
        let signed_on = match input.signed_on.trim() {
            "" => Some(today),
            d => match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
                Ok(d) if d <= today => Some(d),
                Ok(_) => {
                    errors.push(FieldError::new(
                        "signed_on",
                        "签约日期不能晚于今天 (signed in the future)",
                    ));
                    None
                }
                Err(_) => {
                    errors.push(FieldError::new(
                        "signed_on",
                        "签约日期格式为 YYYY-MM-DD (date like 2026-12-31)",
                    ));
                    None
                }
            },
        };
        let note = input.note.trim();
        if note.chars().count() > 500 {
            errors.push(FieldError::new("note", "备注不能超过 500 字 (note too long)"));
        } else {
            // The charity reads and prints the note.
            let people = super::privacy::names_in(conn, &event.region)?;
            if let Err(e) = super::privacy::check_text("note", note, &people) {
                errors.push(e);
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let numbers: Vec<String> = agreements::table.select(agreements::number).load(conn)?;
        let number = crate::households::repository::next_numbered("AG-", &numbers);
        let resource_ref: String = resources::table
            .find(pledge.resource_id)
            .select(resources::ref_code)
            .first(conn)?;
        let now = Utc::now().naive_utc();
        let agreement_id: i64 = diesel::insert_into(agreements::table)
            .values((
                agreements::number.eq(&number),
                agreements::event_id.eq(event.id),
                agreements::pledge_id.eq(pledge.id),
                agreements::signed_on.eq(signed_on.expect("checked")),
                agreements::charity_signatory.eq(signatory),
                agreements::note.eq(note),
                agreements::created_by.eq(&who.username),
                agreements::created_at.eq(now),
            ))
            .returning(agreements::id)
            .get_result(conn)?;
        for r in &refs {
            let referral = referral_flow::create(
                conn,
                who,
                r,
                &resource_ref,
                &format!("{} 对接协议 {number}", event.title),
            )?;
            let (need_id, referral_id): (i64, i64) = referrals::table
                .inner_join(needs::table)
                .filter(referrals::number.eq(&referral.number))
                .select((needs::id, referrals::id))
                .first(conn)?;
            diesel::insert_into(agreement_needs::table)
                .values((
                    agreement_needs::agreement_id.eq(agreement_id),
                    agreement_needs::need_id.eq(need_id),
                    agreement_needs::referral_id.eq(referral_id),
                ))
                .execute(conn)?;
        }
        diesel::update(crate::db::schema::pledges::table.find(pledge.id))
            .set((
                crate::db::schema::pledges::status.eq("signed"),
                crate::db::schema::pledges::updated_at.eq(now),
            ))
            .execute(conn)?;
        view(conn, who, &number)
    })
}

fn find(conn: &mut DbConnection, number: &str) -> Result<AgreementRow, AppError> {
    agreements::table
        .filter(agreements::number.eq(number))
        .select(AgreementRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found(&format!("协议 {number}")))
}

/// An agreement for an admin, or for the charity that signed it
/// (anonymised).
pub fn view(
    conn: &mut DbConnection,
    who: &Identity,
    number: &str,
) -> Result<AgreementView, AppError> {
    let a = find(conn, number)?;
    let pledge: PledgeRow = crate::db::schema::pledges::table
        .find(a.pledge_id)
        .select(PledgeRow::as_select())
        .first(conn)?;
    let own = who.role == Role::Charity && who.organisation_id == Some(pledge.organisation_id);
    if !own && !who.is_admin() {
        return Err(AppError::not_found(&format!("协议 {number}")));
    }
    let event: EventRow = crate::db::schema::events::table
        .find(a.event_id)
        .select(EventRow::as_select())
        .first(conn)?;
    build(conn, &event, &a, &pledge, who.is_admin())
}

fn build(
    conn: &mut DbConnection,
    event: &EventRow,
    a: &AgreementRow,
    pledge: &PledgeRow,
    admin: bool,
) -> Result<AgreementView, AppError> {
    let organisation: String = organisations::table
        .find(pledge.organisation_id)
        .select(organisations::name)
        .first(conn)?;
    let (resource_ref, resource_title): (String, String) = resources::table
        .find(pledge.resource_id)
        .select((resources::ref_code, resources::title))
        .first(conn)?;
    let item_row = items_of(conn, event.id)?
        .into_iter()
        .find(|i| i.id == pledge.item_id)
        .ok_or_else(|| AppError::Internal("pledge without item".into()))?;
    let pledged = super::model::pledged_per_item(conn, event.id)?;
    let item = ItemView::of(&item_row, pledged.get(&item_row.id).copied().unwrap_or(0));
    let rows: Vec<(String, String, String, i64, String, String)> = agreement_needs::table
        .inner_join(needs::table.inner_join(households::table))
        .inner_join(referrals::table)
        .filter(agreement_needs::agreement_id.eq(a.id))
        .order(needs::id.asc())
        .select((
            needs::ref_code,
            households::ref_code,
            needs::dimension,
            needs::quantity,
            needs::urgency,
            referrals::number,
        ))
        .load(conn)?;
    let mut list = Vec::new();
    for (i, (need_ref, household_ref, dimension, quantity, urgency, referral)) in
        rows.into_iter().enumerate()
    {
        let status: String = referrals::table
            .filter(referrals::number.eq(&referral))
            .select(referrals::status)
            .first(conn)?;
        list.push(AgreedNeed {
            position: i + 1,
            dimension_label: vocabulary::label(DIMENSIONS, &dimension).to_string(),
            urgency_label: vocabulary::label(URGENCIES, &urgency).to_string(),
            quantity,
            referral,
            referral_status_label: vocabulary::label(REFERRAL_STATUSES, &status).to_string(),
            referral_status: status,
            need_ref: admin.then_some(need_ref),
            household_ref: admin.then_some(household_ref),
        });
    }
    Ok(AgreementView {
        number: a.number.clone(),
        event_ref: event.ref_code.clone(),
        event_title: event.title.clone(),
        held_on: event.held_on,
        venue: event.venue.clone(),
        organisation,
        pledge: pledge.number.clone(),
        resource_ref,
        resource_title,
        quantity: pledge.quantity,
        conditions: pledge.conditions.clone(),
        deadline: pledge.deadline,
        item,
        needs: list,
        signed_on: a.signed_on,
        charity_signatory: a.charity_signatory.clone(),
        note: a.note.clone(),
        created_by: a.created_by.clone(),
        created_at: a.created_at,
    })
}

/// An agreement as its charity sees it (no need or household refs), for
/// the mail sent to the charity.
pub fn anonymous(conn: &mut DbConnection, number: &str) -> Result<AgreementView, AppError> {
    let a = find(conn, number)?;
    let pledge: PledgeRow = crate::db::schema::pledges::table
        .find(a.pledge_id)
        .select(PledgeRow::as_select())
        .first(conn)?;
    let event: EventRow = crate::db::schema::events::table
        .find(a.event_id)
        .select(EventRow::as_select())
        .first(conn)?;
    build(conn, &event, &a, &pledge, false)
}

/// An event's agreements: all for admins, a charity's own for a charity.
pub fn list(
    conn: &mut DbConnection,
    who: &Identity,
    event_ref: &str,
) -> Result<Vec<AgreementView>, AppError> {
    let event = event_or_404(conn, event_ref)?;
    let rows: Vec<(AgreementRow, PledgeRow)> = agreements::table
        .inner_join(crate::db::schema::pledges::table)
        .filter(agreements::event_id.eq(event.id))
        .order(agreements::id.asc())
        .select((AgreementRow::as_select(), PledgeRow::as_select()))
        .load(conn)?;
    let mut out = Vec::new();
    for (a, p) in rows {
        let own = who.role == Role::Charity && who.organisation_id == Some(p.organisation_id);
        if who.is_admin() || own {
            out.push(build(conn, &event, &a, &p, who.is_admin())?);
        }
    }
    Ok(out)
}
