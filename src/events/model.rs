//! Rows and the views the API and pages show.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{agreements, event_items, events, pledges};
use crate::db::DbConnection;
use crate::domain::vocabulary::{self, DIMENSIONS, TARGET_GROUPS, URGENCIES};
use crate::error::AppError;

pub const EVENT_STATUSES: &[(&str, &str)] = &[
    ("draft", "草稿"),
    ("published", "已发布"),
    ("held", "已举行"),
    ("closed", "已结束"),
];

pub const PLEDGE_STATUSES: &[(&str, &str)] = &[
    ("pledged", "已认领"),
    ("signed", "已签约"),
    ("withdrawn", "已撤回"),
];

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = events)]
pub struct EventRow {
    #[serde(skip)]
    pub id: i64,
    #[serde(rename = "ref")]
    pub ref_code: String,
    pub region: String,
    pub quarter: String,
    pub title: String,
    pub held_on: NaiveDate,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
    pub venue: String,
    pub description: String,
    pub status: String,
    pub version: i64,
    pub created_by: String,
    #[serde(with = "crate::domain::timestamp")]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::domain::timestamp")]
    pub updated_at: NaiveDateTime,
    #[serde(with = "crate::domain::timestamp::option")]
    pub published_at: Option<NaiveDateTime>,
    #[serde(with = "crate::domain::timestamp::option")]
    pub held_at: Option<NaiveDateTime>,
    #[serde(with = "crate::domain::timestamp::option")]
    pub closed_at: Option<NaiveDateTime>,
}

impl EventRow {
    pub fn status_label(&self) -> &'static str {
        label(EVENT_STATUSES, &self.status)
    }

    /// Published, held or closed: its need list is public.
    pub fn is_public(&self) -> bool {
        self.status != "draft"
    }

    /// Charities may pledge and agreements may be signed.
    pub fn is_open(&self) -> bool {
        matches!(self.status.as_str(), "published" | "held")
    }

    pub fn time_range(&self) -> String {
        format!(
            "{} {}–{}",
            self.held_on,
            self.starts_at.format("%H:%M"),
            self.ends_at.format("%H:%M")
        )
    }
}

/// A label from a static table (the code itself when unknown).
pub fn label(table: &'static [(&'static str, &'static str)], code: &str) -> &'static str {
    table
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or("")
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = event_items)]
pub struct ItemRow {
    pub id: i64,
    pub event_id: i64,
    pub position: i64,
    pub dimension: String,
    pub target_group: String,
    pub title: String,
    pub people: i64,
    pub households: i64,
    pub urgency: String,
    pub note: String,
    pub hidden: bool,
}

/// One line of a published need list: aggregated, anonymised — no name,
/// address, ID, phone or household reference, ever.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemView {
    /// The item's number within its event.
    pub id: i64,
    pub dimension: String,
    pub dimension_label: String,
    /// `''` when the households share no target group.
    pub target_group: String,
    pub target_group_label: String,
    pub title: String,
    /// People asking (the needs' quantities together).
    pub people: i64,
    pub households: i64,
    pub urgency: String,
    pub urgency_label: String,
    pub note: String,
    /// Quantity pledged so far (pledges not withdrawn).
    pub pledged: i64,
    /// Only admins see hidden items.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
}

impl ItemView {
    pub fn of(row: &ItemRow, pledged: i64) -> ItemView {
        ItemView {
            id: row.id,
            dimension: row.dimension.clone(),
            dimension_label: vocabulary::label(DIMENSIONS, &row.dimension).to_string(),
            target_group: row.target_group.clone(),
            target_group_label: if row.target_group.is_empty() {
                String::new()
            } else {
                vocabulary::label(TARGET_GROUPS, &row.target_group).to_string()
            },
            title: row.title.clone(),
            people: row.people,
            households: row.households,
            urgency: row.urgency.clone(),
            urgency_label: vocabulary::label(URGENCIES, &row.urgency).to_string(),
            note: row.note.clone(),
            pledged,
            hidden: row.hidden,
        }
    }

    /// "残疾人 · 就业 · 实习岗位 ×10".
    pub fn headline(&self) -> String {
        let mut parts = Vec::new();
        if !self.target_group_label.is_empty() {
            parts.push(self.target_group_label.as_str());
        }
        parts.push(self.dimension_label.as_str());
        parts.push(self.title.as_str());
        format!("{} ×{}", parts.join(" · "), self.people)
    }
}

/// An event as the API shows it, with its need list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventView {
    #[serde(rename = "ref")]
    pub ref_code: String,
    pub region: String,
    pub region_name: String,
    pub quarter: String,
    pub title: String,
    pub held_on: NaiveDate,
    /// `HH:MM`
    pub starts_at: String,
    pub ends_at: String,
    pub venue: String,
    pub description: String,
    pub status: String,
    pub status_label: String,
    pub version: i64,
    #[serde(with = "crate::domain::timestamp::option")]
    pub published_at: Option<NaiveDateTime>,
    pub items: Vec<ItemView>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pledges)]
pub struct PledgeRow {
    pub id: i64,
    pub number: String,
    pub event_id: i64,
    pub item_id: i64,
    pub organisation_id: i64,
    pub resource_id: i64,
    pub quantity: i64,
    pub conditions: String,
    pub deadline: Option<NaiveDate>,
    pub status: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = agreements)]
pub struct AgreementRow {
    pub id: i64,
    pub number: String,
    pub event_id: i64,
    pub pledge_id: i64,
    pub signed_on: NaiveDate,
    pub charity_signatory: String,
    pub note: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

pub fn find_event(conn: &mut DbConnection, ref_code: &str) -> Result<Option<EventRow>, AppError> {
    Ok(events::table
        .filter(events::ref_code.eq(ref_code))
        .select(EventRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn event_or_404(conn: &mut DbConnection, ref_code: &str) -> Result<EventRow, AppError> {
    find_event(conn, ref_code)?.ok_or_else(|| AppError::not_found(&format!("对接会 {ref_code}")))
}

pub fn items_of(conn: &mut DbConnection, event_id: i64) -> Result<Vec<ItemRow>, AppError> {
    Ok(event_items::table
        .filter(event_items::event_id.eq(event_id))
        .order(event_items::position.asc())
        .select(ItemRow::as_select())
        .load(conn)?)
}

/// Quantity pledged per item of an event (withdrawn pledges left out).
pub fn pledged_per_item(
    conn: &mut DbConnection,
    event_id: i64,
) -> Result<std::collections::HashMap<i64, i64>, AppError> {
    let rows: Vec<(i64, i64)> = pledges::table
        .filter(pledges::event_id.eq(event_id))
        .filter(pledges::status.ne("withdrawn"))
        .select((pledges::item_id, pledges::quantity))
        .load(conn)?;
    let mut out = std::collections::HashMap::new();
    for (item, q) in rows {
        *out.entry(item).or_insert(0) += q;
    }
    Ok(out)
}

/// The event and its items; hidden items only when `with_hidden`.
pub fn view(
    conn: &mut DbConnection,
    event: &EventRow,
    with_hidden: bool,
) -> Result<EventView, AppError> {
    let names = crate::domain::region_names::names(conn)?;
    let pledged = pledged_per_item(conn, event.id)?;
    let items = items_of(conn, event.id)?
        .iter()
        .filter(|i| with_hidden || !i.hidden)
        .map(|i| ItemView::of(i, pledged.get(&i.id).copied().unwrap_or(0)))
        .collect();
    Ok(EventView {
        ref_code: event.ref_code.clone(),
        region: event.region.clone(),
        region_name: names.label(&event.region),
        quarter: event.quarter.clone(),
        title: event.title.clone(),
        held_on: event.held_on,
        starts_at: event.starts_at.format("%H:%M").to_string(),
        ends_at: event.ends_at.format("%H:%M").to_string(),
        venue: event.venue.clone(),
        description: event.description.clone(),
        status: event.status.clone(),
        status_label: event.status_label().to_string(),
        version: event.version,
        published_at: event.published_at,
        items,
    })
}
