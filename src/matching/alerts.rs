//! "Policy finds people" alerts: one per household and policy, raised when
//! the household qualifies, withdrawn when it no longer does, acknowledged
//! by the adviser.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{alerts, households};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::households::repository::{in_scope, Scope};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = alerts)]
pub struct AlertRow {
    pub id: i64,
    #[serde(skip)]
    pub household_id: i64,
    pub resource_ref: String,
    pub resource_title: String,
    pub status: String,
    /// JSON array of reasons.
    #[serde(skip)]
    pub reasons: String,
    #[serde(with = "crate::domain::timestamp")]
    pub raised_at: NaiveDateTime,
    #[serde(with = "crate::domain::timestamp")]
    pub changed_at: NaiveDateTime,
    pub changed_by: Option<String>,
}

impl AlertRow {
    pub fn reasons(&self) -> Vec<String> {
        serde_json::from_str(&self.reasons).unwrap_or_default()
    }
}

/// An alert with its household, as lists show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlertView {
    #[serde(flatten)]
    pub alert: AlertRow,
    pub household_ref: String,
    pub head_name: String,
    pub region: String,
    pub adviser: Option<String>,
    #[serde(rename = "reasons")]
    pub reason_list: Vec<String>,
}

/// What a reconciliation changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub raised: usize,
    pub withdrawn: usize,
    pub unchanged: usize,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.raised += o.raised;
        self.withdrawn += o.withdrawn;
        self.unchanged += o.unchanged;
    }
}

/// A household that qualifies for a policy; why is worded only when an
/// alert is raised for it.
pub struct Qualifies<'a> {
    pub household_id: i64,
    pub resource_ref: String,
    pub resource_title: String,
    pub reasons: Box<dyn Fn() -> Vec<String> + 'a>,
}

fn live(status: &str) -> bool {
    matches!(status, "open" | "acknowledged")
}

/// Makes the alerts of the pairs `covered` (household × policy) agree with
/// `qualifying`: new pairs are raised, withdrawn ones raised again, live
/// alerts of pairs that no longer qualify withdrawn. Pairs outside
/// `covered` are not touched.
pub fn reconcile(
    conn: &mut DbConnection,
    covered: impl Fn(i64, &str) -> bool,
    existing: Vec<(i64, String, String)>,
    qualifying: Vec<Qualifies<'_>>,
) -> Result<Counts, AppError> {
    let now = Utc::now().naive_utc();
    let mut counts = Counts::default();
    let current: HashMap<(i64, String), String> = existing
        .into_iter()
        .map(|(h, r, status)| ((h, r), status))
        .collect();
    let mut keep: HashSet<(i64, String)> = HashSet::new();
    // New pairs are written in multi-row inserts (a first full scan may
    // raise millions); pairs raised again are rare and updated one by one.
    let mut new_rows = Vec::new();
    for q in qualifying {
        let key = (q.household_id, q.resource_ref.clone());
        match current.get(&key).map(String::as_str) {
            None => {
                let reasons = serde_json::to_string(&(q.reasons)()).unwrap_or_else(|_| "[]".into());
                new_rows.push(NewAlert {
                    household_id: q.household_id,
                    resource_ref: q.resource_ref,
                    resource_title: q.resource_title,
                    status: "open",
                    reasons,
                    raised_at: now,
                    changed_at: now,
                });
                if new_rows.len() == INSERT_BATCH {
                    counts.raised += insert_all(conn, std::mem::take(&mut new_rows))?;
                }
            }
            Some("withdrawn") => {
                let reasons = serde_json::to_string(&(q.reasons)()).unwrap_or_else(|_| "[]".into());
                diesel::update(
                    alerts::table
                        .filter(alerts::household_id.eq(q.household_id))
                        .filter(alerts::resource_ref.eq(&q.resource_ref)),
                )
                .set((
                    alerts::status.eq("open"),
                    alerts::resource_title.eq(&q.resource_title),
                    alerts::reasons.eq(&reasons),
                    alerts::raised_at.eq(now),
                    alerts::changed_at.eq(now),
                    alerts::changed_by.eq(None::<String>),
                ))
                .execute(conn)?;
                counts.raised += 1;
            }
            Some(_) => counts.unchanged += 1,
        }
        keep.insert(key);
    }
    counts.raised += insert_all(conn, new_rows)?;
    // Pairs that no longer qualify, withdrawn policy by policy.
    let mut gone: HashMap<&str, Vec<i64>> = HashMap::new();
    for ((h, r), status) in &current {
        if live(status) && covered(*h, r) && !keep.contains(&(*h, r.clone())) {
            gone.entry(r.as_str()).or_default().push(*h);
        }
    }
    for (r, households) in gone {
        for chunk in households.chunks(500) {
            counts.withdrawn += diesel::update(
                alerts::table
                    .filter(alerts::resource_ref.eq(r))
                    .filter(alerts::household_id.eq_any(chunk)),
            )
            .set((alerts::status.eq("withdrawn"), alerts::changed_at.eq(now)))
            .execute(conn)?;
        }
    }
    Ok(counts)
}

/// Rows per multi-row insert (7 values each: well under SQLite's and
/// PostgreSQL's limits on bound parameters).
const INSERT_BATCH: usize = 1000;

#[derive(Insertable)]
#[diesel(table_name = alerts)]
struct NewAlert {
    household_id: i64,
    resource_ref: String,
    resource_title: String,
    status: &'static str,
    reasons: String,
    raised_at: NaiveDateTime,
    changed_at: NaiveDateTime,
}

/// Inserts new open alerts; returns how many.
fn insert_all(conn: &mut DbConnection, rows: Vec<NewAlert>) -> Result<usize, AppError> {
    if rows.is_empty() {
        return Ok(0);
    }
    // diesel's multi-backend connection has no multi-row insert; each
    // backend's own connection has.
    let insert = diesel::insert_into(alerts::table).values(&rows);
    Ok(match conn {
        DbConnection::Sqlite(c) => insert.execute(c)?,
        DbConnection::Postgresql(c) => insert.execute(c)?,
    })
}

/// The alerts of one policy: (household, policy, status).
pub fn of_resource(
    conn: &mut DbConnection,
    resource_ref: &str,
) -> Result<Vec<(i64, String, String)>, AppError> {
    Ok(alerts::table
        .filter(alerts::resource_ref.eq(resource_ref))
        .select((alerts::household_id, alerts::resource_ref, alerts::status))
        .load(conn)?)
}

/// The alerts of some households.
pub fn of_households(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<Vec<(i64, String, String)>, AppError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        out.extend(
            alerts::table
                .filter(alerts::household_id.eq_any(chunk))
                .select((alerts::household_id, alerts::resource_ref, alerts::status))
                .load::<(i64, String, String)>(conn)?,
        );
    }
    Ok(out)
}

/// The policies that have open or acknowledged alerts.
pub fn live_refs(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    Ok(alerts::table
        .filter(alerts::status.eq_any(["open", "acknowledged"]))
        .select(alerts::resource_ref)
        .distinct()
        .load(conn)?)
}

#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    /// Only these statuses (empty: the live ones, open and acknowledged).
    pub statuses: Vec<String>,
    pub household_id: Option<i64>,
    /// Only households assigned to this adviser (or unassigned).
    pub adviser: Option<String>,
    pub limit: i64,
}

/// Alerts in `scope`, newest first.
pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    q: &AlertQuery,
) -> Result<Vec<AlertView>, AppError> {
    let statuses: Vec<String> = if q.statuses.is_empty() {
        vec!["open".into(), "acknowledged".into()]
    } else {
        q.statuses.clone()
    };
    let mut ids = households::table.select(households::id).into_boxed();
    if let Some(cond) = in_scope(scope) {
        ids = ids.filter(cond);
    }
    if let Some(a) = &q.adviser {
        ids = ids.filter(
            households::adviser
                .eq(a.clone())
                .or(households::adviser.is_null()),
        );
    }
    if let Some(h) = q.household_id {
        ids = ids.filter(households::id.eq(h));
    }
    let household_ids: Vec<i64> = ids.load(conn)?;
    let mut rows: Vec<AlertRow> = Vec::new();
    for chunk in household_ids.chunks(500) {
        rows.extend(
            alerts::table
                .filter(alerts::household_id.eq_any(chunk))
                .filter(alerts::status.eq_any(&statuses))
                .select(AlertRow::as_select())
                .load(conn)?,
        );
    }
    rows.sort_by(|a, b| b.raised_at.cmp(&a.raised_at).then(b.id.cmp(&a.id)));
    rows.truncate(q.limit.clamp(1, 1_000) as usize);
    let owners: HashMap<i64, (String, String, String, Option<String>)> = {
        let ids: Vec<i64> = rows.iter().map(|r| r.household_id).collect();
        households::table
            .filter(households::id.eq_any(ids))
            .select((
                households::id,
                households::ref_code,
                households::head_name,
                households::region,
                households::adviser,
            ))
            .load::<(i64, String, String, String, Option<String>)>(conn)?
            .into_iter()
            .map(|(id, r, n, region, a)| (id, (r, n, region, a)))
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|alert| {
            let (household_ref, head_name, region, adviser) =
                owners.get(&alert.household_id).cloned().unwrap_or_default();
            AlertView {
                reason_list: alert.reasons(),
                alert,
                household_ref,
                head_name,
                region,
                adviser,
            }
        })
        .collect())
}

pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<AlertRow>, AppError> {
    Ok(alerts::table
        .find(id)
        .select(AlertRow::as_select())
        .first(conn)
        .optional()?)
}

/// The adviser has acted on an alert (told the family, helped them apply).
pub fn acknowledge(conn: &mut DbConnection, id: i64, actor: &str) -> Result<AlertRow, AppError> {
    let alert = find(conn, id)?.ok_or_else(|| AppError::not_found(&format!("提醒 {id}")))?;
    if alert.status != "open" {
        return Err(AppError::Conflict(
            "该提醒已处理或已撤回 (the alert is not open)".into(),
        ));
    }
    diesel::update(alerts::table.find(id))
        .set((
            alerts::status.eq("acknowledged"),
            alerts::changed_at.eq(Utc::now().naive_utc()),
            alerts::changed_by.eq(actor),
        ))
        .execute(conn)?;
    find(conn, id)?.ok_or_else(|| AppError::Internal("alert vanished".into()))
}
