//! Charities' pledges against a published need list's items: a quantity,
//! one of their organisation's published resources, conditions and a
//! deadline. A pledge stays `pledged` until an agreement signs it, or its
//! charity withdraws it.

use chrono::{NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::model::{event_or_404, items_of, label, ItemRow, PledgeRow, PLEDGE_STATUSES};
use crate::auth::{Identity, Role};
use crate::db::schema::{organisations, pledges, resources};
use crate::db::{lock_for_write, DbConnection};
use crate::error::{AppError, FieldError};

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct PledgeInput {
    pub item_id: i64,
    pub quantity: i64,
    /// The ref of one of the organisation's published resources.
    pub resource_ref: String,
    #[serde(default)]
    pub conditions: String,
    /// `YYYY-MM-DD`, optional: the pledge holds until then.
    #[serde(default)]
    pub deadline: String,
}

/// A pledge as charities, admins and the API see it: no need and no
/// household behind it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PledgeView {
    pub number: String,
    pub event_ref: String,
    pub item_id: i64,
    pub item_title: String,
    pub organisation: String,
    pub resource_ref: String,
    pub resource_title: String,
    pub quantity: i64,
    pub conditions: String,
    pub deadline: Option<NaiveDate>,
    pub status: String,
    pub status_label: String,
    pub created_by: String,
    #[serde(with = "crate::domain::timestamp")]
    pub created_at: NaiveDateTime,
}

fn view_of(
    row: &PledgeRow,
    event_ref: &str,
    item: Option<&ItemRow>,
    organisation: String,
    resource: (String, String),
) -> PledgeView {
    PledgeView {
        number: row.number.clone(),
        event_ref: event_ref.to_string(),
        item_id: row.item_id,
        item_title: item.map(|i| i.title.clone()).unwrap_or_default(),
        organisation,
        resource_ref: resource.0,
        resource_title: resource.1,
        quantity: row.quantity,
        conditions: row.conditions.clone(),
        deadline: row.deadline,
        status: row.status.clone(),
        status_label: label(PLEDGE_STATUSES, &row.status).to_string(),
        created_by: row.created_by.clone(),
        created_at: row.created_at,
    }
}

/// The pledges of an event: all for admins, a charity's own for a charity.
pub fn list(
    conn: &mut DbConnection,
    who: &Identity,
    event_ref: &str,
) -> Result<Vec<PledgeView>, AppError> {
    let event = event_or_404(conn, event_ref)?;
    let mut q = pledges::table
        .inner_join(organisations::table)
        .inner_join(resources::table)
        .filter(pledges::event_id.eq(event.id))
        .into_boxed();
    match who.role {
        Role::Admin => {}
        Role::Charity => {
            q = q.filter(pledges::organisation_id.eq(who.organisation_id.unwrap_or(-1)));
        }
        Role::Adviser => return Err(AppError::forbidden()),
    }
    let rows: Vec<(PledgeRow, String, String, String)> = q
        .order(pledges::id.asc())
        .select((
            PledgeRow::as_select(),
            organisations::name,
            resources::ref_code,
            resources::title,
        ))
        .load(conn)?;
    let items = items_of(conn, event.id)?;
    Ok(rows
        .into_iter()
        .map(|(p, org, rref, rtitle)| {
            let item = items.iter().find(|i| i.id == p.item_id);
            view_of(&p, &event.ref_code, item, org, (rref, rtitle))
        })
        .collect())
}

pub fn find(conn: &mut DbConnection, number: &str) -> Result<PledgeRow, AppError> {
    pledges::table
        .filter(pledges::number.eq(number))
        .select(PledgeRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found(&format!("认领 {number}")))
}

/// A charity pledges against an item of a published (or on-site: held)
/// event.
pub fn create(
    conn: &mut DbConnection,
    who: &Identity,
    event_ref: &str,
    input: &PledgeInput,
    today: NaiveDate,
) -> Result<PledgeView, AppError> {
    let Some(org_id) = who.organisation_id.filter(|_| who.role == Role::Charity) else {
        return Err(AppError::Forbidden(
            "只有公益组织或爱心企业的账号可以认领需求 (only charities pledge)".into(),
        ));
    };
    conn.transaction(|conn| {
        lock_for_write(conn)?;
        let event = event_or_404(conn, event_ref)?;
        if !event.is_open() {
            return Err(AppError::Conflict(format!(
                "对接会{}，不接受认领 (pledges are taken while an event is published or held)",
                event.status_label()
            )));
        }
        let items = items_of(conn, event.id)?;
        let mut errors = Vec::new();
        let item = items.iter().find(|i| i.id == input.item_id && !i.hidden);
        if item.is_none() {
            errors.push(FieldError::new(
                "item_id",
                "请选择清单中的一项 (choose an item of the list)",
            ));
        }
        if input.quantity < 1 || input.quantity > 10_000 {
            errors.push(FieldError::new(
                "quantity",
                "认领数量须为 1–10000 (quantity from 1 to 10000)",
            ));
        }
        let resource: Option<(i64, String, String, Option<i64>, String)> = resources::table
            .filter(resources::ref_code.eq(input.resource_ref.trim()))
            .select((
                resources::id,
                resources::ref_code,
                resources::title,
                resources::organisation_id,
                resources::status,
            ))
            .first(conn)
            .optional()?;
        let resource = match resource {
            Some(r) if r.3 == Some(org_id) && r.4 == "published" => Some(r),
            Some(r) if r.3 == Some(org_id) => {
                errors.push(FieldError::new(
                    "resource_ref",
                    format!("资源 {} 尚未发布 (the resource is not published)", r.1),
                ));
                None
            }
            _ => {
                errors.push(FieldError::new(
                    "resource_ref",
                    "请选择本机构已发布的资源 (choose one of your organisation's published resources)",
                ));
                None
            }
        };
        let conditions = input.conditions.trim();
        if conditions.chars().count() > 500 {
            errors.push(FieldError::new(
                "conditions",
                "条件说明不能超过 500 字 (conditions too long)",
            ));
        }
        let deadline = match input.deadline.trim() {
            "" => None,
            d => match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
                Ok(d) if d >= today => Some(d),
                Ok(_) => {
                    errors.push(FieldError::new(
                        "deadline",
                        "截止日期不能早于今天 (the deadline is in the past)",
                    ));
                    None
                }
                Err(_) => {
                    errors.push(FieldError::new(
                        "deadline",
                        "截止日期格式为 YYYY-MM-DD (date like 2026-12-31)",
                    ));
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let (item, resource) = (item.expect("checked"), resource.expect("checked"));
        let numbers: Vec<String> = pledges::table.select(pledges::number).load(conn)?;
        let number = crate::households::repository::next_numbered("PL-", &numbers);
        let now = Utc::now().naive_utc();
        diesel::insert_into(pledges::table)
            .values((
                pledges::number.eq(&number),
                pledges::event_id.eq(event.id),
                pledges::item_id.eq(item.id),
                pledges::organisation_id.eq(org_id),
                pledges::resource_id.eq(resource.0),
                pledges::quantity.eq(input.quantity),
                pledges::conditions.eq(conditions),
                pledges::deadline.eq(deadline),
                pledges::status.eq("pledged"),
                pledges::created_by.eq(&who.username),
                pledges::created_at.eq(now),
                pledges::updated_at.eq(now),
            ))
            .execute(conn)?;
        let row = find(conn, &number)?;
        Ok(view_of(
            &row,
            &event.ref_code,
            Some(item),
            who.organisation_name.clone().unwrap_or_default(),
            (resource.1, resource.2),
        ))
    })
}

/// The pledging charity (or an admin) withdraws a pledge not yet signed.
/// Returns the event's ref.
pub fn withdraw(conn: &mut DbConnection, who: &Identity, number: &str) -> Result<String, AppError> {
    conn.transaction(|conn| {
        lock_for_write(conn)?;
        let p = find(conn, number)?;
        let own = who.role == Role::Charity && who.organisation_id == Some(p.organisation_id);
        if !own && !who.is_admin() {
            return Err(AppError::not_found(&format!("认领 {number}")));
        }
        if p.status != "pledged" {
            return Err(AppError::Conflict(format!(
                "认领{}，不能撤回 (only open pledges are withdrawn)",
                label(PLEDGE_STATUSES, &p.status)
            )));
        }
        diesel::update(pledges::table.find(p.id))
            .set((
                pledges::status.eq("withdrawn"),
                pledges::updated_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
        Ok(crate::db::schema::events::table
            .find(p.event_id)
            .select(crate::db::schema::events::ref_code)
            .first(conn)?)
    })
}

/// The published resources an organisation can pledge: (ref, title).
pub fn offerable(
    conn: &mut DbConnection,
    organisation_id: i64,
) -> Result<Vec<(String, String)>, AppError> {
    Ok(resources::table
        .filter(resources::organisation_id.eq(organisation_id))
        .filter(resources::status.eq("published"))
        .order(resources::title.asc())
        .select((resources::ref_code, resources::title))
        .load(conn)?)
}
