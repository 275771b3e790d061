//! After the event: what was published, pledged, signed and fulfilled
//! within 90 days of the event, overall, per dimension and per charity.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::model::{event_or_404, items_of, EventRow};
use crate::auth::Identity;
use crate::db::schema::{
    agreement_needs, agreements, needs, organisations, pledges, referral_events, referrals,
};
use crate::db::DbConnection;
use crate::domain::vocabulary::{self, DIMENSIONS};
use crate::error::AppError;
use crate::export::xlsx::{workbook, Sheet};

/// A referral counts as fulfilled in the report when it was fulfilled
/// within this many days of the event.
pub const FULFILLED_WITHIN_DAYS: i64 = 90;

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Figures {
    /// Visible items of the need list, and the people they count.
    pub items: i64,
    pub people: i64,
    /// Items with at least one pledge, and the quantity pledged.
    pub pledged_items: i64,
    pub pledged: i64,
    pub pledges: i64,
    pub agreements: i64,
    /// Needs bound by agreements.
    pub signed: i64,
    /// Of those, fulfilled within 90 days of the event.
    pub fulfilled: i64,
    /// Signed but neither fulfilled nor declined.
    pub pending: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DimensionRow {
    pub dimension: String,
    pub label: String,
    pub figures: Figures,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CharityRow {
    pub organisation: String,
    pub figures: Figures,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventReport {
    pub event_ref: String,
    pub title: String,
    pub held_on: NaiveDate,
    pub status: String,
    /// Fulfilled referrals count up to this day.
    pub fulfilled_by: NaiveDate,
    pub totals: Figures,
    pub by_dimension: Vec<DimensionRow>,
    pub by_charity: Vec<CharityRow>,
}

/// The report of one event (admins).
pub fn build(
    conn: &mut DbConnection,
    who: &Identity,
    event_ref: &str,
) -> Result<EventReport, AppError> {
    if !who.is_admin() {
        return Err(AppError::forbidden());
    }
    let event = event_or_404(conn, event_ref)?;
    of_event(conn, &event)
}

/// The server's calendar day of a UTC time stored in the database.
fn local_day(at: NaiveDateTime) -> NaiveDate {
    use chrono::TimeZone;
    chrono::Utc
        .from_utc_datetime(&at)
        .with_timezone(&chrono::Local)
        .date_naive()
}

pub fn of_event(conn: &mut DbConnection, event: &EventRow) -> Result<EventReport, AppError> {
    let fulfilled_by = event.held_on + Duration::days(FULFILLED_WITHIN_DAYS);
    let items = items_of(conn, event.id)?;
    let mut totals = Figures::default();
    let mut by_dim: BTreeMap<usize, (String, Figures)> = BTreeMap::new();
    let mut dim = |d: &str| -> usize {
        let pos = DIMENSIONS.iter().position(|(c, _)| *c == d).unwrap_or(99);
        by_dim
            .entry(pos)
            .or_insert_with(|| (d.to_string(), Figures::default()));
        pos
    };
    let mut positions: HashMap<i64, usize> = HashMap::new();
    for i in items.iter().filter(|i| !i.hidden) {
        let p = dim(&i.dimension);
        positions.insert(i.id, p);
    }
    for i in items.iter().filter(|i| !i.hidden) {
        let f = &mut by_dim.get_mut(&positions[&i.id]).expect("entry").1;
        f.items += 1;
        f.people += i.people;
        totals.items += 1;
        totals.people += i.people;
    }
    // Pledges (withdrawn ones left out), per item and charity.
    let pledge_rows: Vec<(i64, i64, i64, String)> = pledges::table
        .inner_join(organisations::table)
        .filter(pledges::event_id.eq(event.id))
        .filter(pledges::status.ne("withdrawn"))
        .select((
            pledges::id,
            pledges::item_id,
            pledges::quantity,
            organisations::name,
        ))
        .load(conn)?;
    let mut by_charity: BTreeMap<String, Figures> = BTreeMap::new();
    let mut pledged_items: HashMap<usize, std::collections::HashSet<i64>> = HashMap::new();
    let mut charity_items: HashMap<String, std::collections::HashSet<i64>> = HashMap::new();
    for (_, item_id, quantity, org) in &pledge_rows {
        let Some(pos) = positions.get(item_id) else {
            continue;
        };
        let f = &mut by_dim.get_mut(pos).expect("entry").1;
        f.pledged += quantity;
        f.pledges += 1;
        pledged_items.entry(*pos).or_default().insert(*item_id);
        totals.pledged += quantity;
        totals.pledges += 1;
        let c = by_charity.entry(org.clone()).or_default();
        c.pledged += quantity;
        c.pledges += 1;
        charity_items
            .entry(org.clone())
            .or_default()
            .insert(*item_id);
    }
    for (org, set) in &charity_items {
        by_charity.entry(org.clone()).or_default().pledged_items = set.len() as i64;
    }
    for (pos, set) in &pledged_items {
        by_dim.get_mut(pos).expect("entry").1.pledged_items = set.len() as i64;
        totals.pledged_items += set.len() as i64;
    }
    // Agreements and the needs they bind, with their referrals' outcome.
    let agreement_rows: Vec<(i64, i64, String)> = agreements::table
        .inner_join(pledges::table.inner_join(organisations::table))
        .filter(agreements::event_id.eq(event.id))
        .select((agreements::id, pledges::item_id, organisations::name))
        .load(conn)?;
    for (_, item_id, org) in &agreement_rows {
        totals.agreements += 1;
        by_charity.entry(org.clone()).or_default().agreements += 1;
        if let Some(pos) = positions.get(item_id) {
            by_dim.get_mut(pos).expect("entry").1.agreements += 1;
        }
    }
    let bound: Vec<(i64, i64, String, String, i64)> = agreement_needs::table
        .inner_join(agreements::table.inner_join(pledges::table.inner_join(organisations::table)))
        .inner_join(referrals::table)
        .inner_join(needs::table)
        .filter(agreements::event_id.eq(event.id))
        .select((
            agreement_needs::referral_id,
            pledges::item_id,
            organisations::name,
            referrals::status,
            needs::id,
        ))
        .load(conn)?;
    let referral_ids: Vec<i64> = bound.iter().map(|b| b.0).collect();
    let fulfilled_at: Vec<(i64, NaiveDateTime)> = referral_events::table
        .filter(referral_events::referral_id.eq_any(&referral_ids))
        .filter(referral_events::status.eq("fulfilled"))
        .select((referral_events::referral_id, referral_events::at))
        .load(conn)?;
    let fulfilled_at: HashMap<i64, NaiveDateTime> = fulfilled_at.into_iter().collect();
    for (referral_id, item_id, org, status, _) in &bound {
        let in_time = status == "fulfilled"
            && fulfilled_at
                .get(referral_id)
                .is_some_and(|at| local_day(*at) <= fulfilled_by);
        let pending = matches!(status.as_str(), "referred" | "accepted");
        let add = |f: &mut Figures| {
            f.signed += 1;
            if in_time {
                f.fulfilled += 1;
            }
            if pending {
                f.pending += 1;
            }
        };
        add(&mut totals);
        add(by_charity.entry(org.clone()).or_default());
        if let Some(pos) = positions.get(item_id) {
            add(&mut by_dim.get_mut(pos).expect("entry").1);
        }
    }
    Ok(EventReport {
        event_ref: event.ref_code.clone(),
        title: event.title.clone(),
        held_on: event.held_on,
        status: event.status.clone(),
        fulfilled_by,
        totals,
        by_dimension: by_dim
            .into_values()
            .map(|(d, figures)| DimensionRow {
                label: vocabulary::label(DIMENSIONS, &d).to_string(),
                dimension: d,
                figures,
            })
            .collect(),
        by_charity: by_charity
            .into_iter()
            .map(|(organisation, figures)| CharityRow {
                organisation,
                figures,
            })
            .collect(),
    })
}

fn figure_cells(f: &Figures) -> Vec<String> {
    [
        f.items,
        f.people,
        f.pledged_items,
        f.pledged,
        f.agreements,
        f.signed,
        f.fulfilled,
        f.pending,
    ]
    .iter()
    .map(|n| n.to_string())
    .collect()
}

const FIGURE_COLUMNS: [(&str, f64); 8] = [
    ("发布项数", 10.0),
    ("需求人数", 10.0),
    ("被认领项数", 12.0),
    ("认领数量", 10.0),
    ("签约协议", 10.0),
    ("签约需求", 10.0),
    ("90天内完成", 12.0),
    ("进行中", 10.0),
];

/// The report as an `.xlsx` workbook: overview, per dimension, per charity.
pub fn xlsx(r: &EventReport) -> Result<Vec<u8>, AppError> {
    let mut overview_cols = vec![("对接会", 40.0), ("日期", 12.0)];
    overview_cols.extend(FIGURE_COLUMNS);
    let mut overview = vec![r.title.clone(), r.held_on.to_string()];
    overview.extend(figure_cells(&r.totals));
    let mut dim_cols = vec![("需求维度", 14.0)];
    dim_cols.extend(FIGURE_COLUMNS);
    let mut charity_cols = vec![("机构", 30.0)];
    charity_cols.extend(FIGURE_COLUMNS);
    workbook(&[
        Sheet {
            name: "概览".into(),
            columns: overview_cols,
            rows: vec![overview],
        },
        Sheet {
            name: "按需求维度".into(),
            columns: dim_cols,
            rows: r
                .by_dimension
                .iter()
                .map(|d| {
                    let mut row = vec![d.label.clone()];
                    row.extend(figure_cells(&d.figures));
                    row
                })
                .collect(),
        },
        Sheet {
            name: "按机构".into(),
            columns: charity_cols,
            rows: r
                .by_charity
                .iter()
                .map(|c| {
                    let mut row = vec![c.organisation.clone()];
                    row.extend(figure_cells(&c.figures));
                    row
                })
                .collect(),
        },
    ])
}

/// One bar group of the chart: a dimension's published, pledged, signed
/// and fulfilled counts, as widths in the SVG's units.
pub struct ChartRow {
    pub label: String,
    pub y: i64,
    pub bars: Vec<(i64, i64, &'static str, i64)>,
}

/// The per-dimension chart, laid out for `templates/events/chart.svg`:
/// bars scaled to 400 units for the largest count.
pub fn chart(r: &EventReport) -> (Vec<ChartRow>, i64) {
    let max = r
        .by_dimension
        .iter()
        .map(|d| d.figures.people.max(d.figures.pledged))
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = |n: i64| (n * 400 + max - 1) / max;
    let rows: Vec<ChartRow> = r
        .by_dimension
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let y = 10 + i as i64 * 64;
            let f = &d.figures;
            ChartRow {
                label: d.label.clone(),
                y,
                bars: vec![
                    (y, scale(f.people), "#4C78A8", f.people),
                    (y + 13, scale(f.pledged), "#F58518", f.pledged),
                    (y + 26, scale(f.signed), "#54A24B", f.signed),
                    (y + 39, scale(f.fulfilled), "#B279A2", f.fulfilled),
                ],
            }
        })
        .collect();
    let height = 20 + rows.len() as i64 * 64;
    (rows, height)
}
