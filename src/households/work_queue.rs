//! The adviser's work queue (issue "Household records" §5): their
//! households ordered by priority and risk, the first home visits and the
//! monthly follow-ups that are due, and the latest case notes.

use std::cmp::Ordering;
use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;

use super::deadlines::{self, Due};
use super::history::AssessmentRow;
use super::repository::{in_scope, HouseholdRow, Scope};
use crate::db::schema::{assessments, case_notes, households, needs};
use crate::db::DbConnection;
use crate::error::AppError;

/// At most this many households are put in one queue (an adviser has tens
/// or hundreds; an admin looking at everyone is told the list was cut).
pub const MAX_HOUSEHOLDS: i64 = 2_000;
/// Case notes shown under "recent".
pub const RECENT_NOTES: i64 = 10;

/// The latest assessment of a household, as the queue and lists show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Latest {
    pub assessed_on: NaiveDate,
    pub total: i64,
    pub priority: bool,
    pub risk: String,
    pub service_type: String,
}

impl From<&AssessmentRow> for Latest {
    fn from(a: &AssessmentRow) -> Latest {
        Latest {
            assessed_on: a.assessed_on,
            total: a.total,
            priority: a.priority,
            risk: a.risk.clone(),
            service_type: a.service_type.clone(),
        }
    }
}

/// One household in the queue.
#[derive(Debug, Clone)]
pub struct QueueItem {
    pub ref_code: String,
    pub head_name: String,
    pub region: String,
    pub adviser: Option<String>,
    pub identified_on: NaiveDate,
    pub latest: Option<Latest>,
    pub open_needs: i64,
    pub last_contact: Option<NaiveDate>,
    pub first_visit: Option<Due>,
    pub follow_up: Option<Due>,
}

impl QueueItem {
    pub fn risk(&self) -> &str {
        self.latest.as_ref().map(|l| l.risk.as_str()).unwrap_or("")
    }

    pub fn priority(&self) -> bool {
        self.latest.as_ref().is_some_and(|l| l.priority)
    }

    pub fn total(&self) -> i64 {
        self.latest.as_ref().map(|l| l.total).unwrap_or(-1)
    }
}

/// A recent case note with its household.
#[derive(Debug, Clone)]
pub struct RecentNote {
    pub household_ref: String,
    pub head_name: String,
    pub noted_on: NaiveDate,
    pub kind: String,
    pub body: String,
    pub created_by: String,
}

#[derive(Debug, Clone, Default)]
pub struct WorkQueue {
    /// Ordered by [`by_urgency`].
    pub households: Vec<QueueItem>,
    /// Households still waiting for their first home visit, overdue first.
    pub first_visits: Vec<QueueItem>,
    /// Red-risk households with their next monthly follow-up, overdue first.
    pub follow_ups: Vec<QueueItem>,
    pub recent_notes: Vec<RecentNote>,
    /// The queue was cut at [`MAX_HOUSEHOLDS`].
    pub truncated: bool,
}

/// Red before yellow before green; a household never assessed comes after
/// yellow (it needs its assessment) and before green.
pub fn risk_rank(risk: &str) -> u8 {
    match risk {
        "red" => 4,
        "yellow" => 3,
        "" => 2,
        "green" => 1,
        _ => 0,
    }
}

/// The queue's order: priority households first, then by risk, then by
/// assessment total (higher first), then the longest-known first.
pub fn by_urgency(a: &QueueItem, b: &QueueItem) -> Ordering {
    b.priority()
        .cmp(&a.priority())
        .then(risk_rank(b.risk()).cmp(&risk_rank(a.risk())))
        .then(b.total().cmp(&a.total()))
        .then(a.identified_on.cmp(&b.identified_on))
        .then(a.ref_code.cmp(&b.ref_code))
}

/// Overdue first, then soonest due.
fn by_due(
    due: impl Fn(&QueueItem) -> Option<NaiveDate>,
) -> impl Fn(&QueueItem, &QueueItem) -> Ordering {
    move |a, b| due(a).cmp(&due(b)).then(a.ref_code.cmp(&b.ref_code))
}

/// Puts the items in their lists. Pure, so the ordering and the deadlines
/// are tested without a database.
pub fn arrange(mut items: Vec<QueueItem>, recent_notes: Vec<RecentNote>) -> WorkQueue {
    items.sort_by(by_urgency);
    let mut first_visits: Vec<QueueItem> = items
        .iter()
        .filter(|i| i.first_visit.is_some())
        .cloned()
        .collect();
    first_visits.sort_by(by_due(|i| i.first_visit.as_ref().map(|d| d.due_on)));
    let mut follow_ups: Vec<QueueItem> = items
        .iter()
        .filter(|i| i.follow_up.is_some())
        .cloned()
        .collect();
    follow_ups.sort_by(by_due(|i| i.follow_up.as_ref().map(|d| d.due_on)));
    WorkQueue {
        households: items,
        first_visits,
        follow_ups,
        recent_notes,
        truncated: false,
    }
}

/// The latest assessment of each of these households.
pub fn latest_assessments(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<HashMap<i64, Latest>, AppError> {
    let mut latest = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows = assessments::table
            .filter(assessments::household_id.eq_any(chunk))
            .order((
                assessments::household_id.asc(),
                assessments::assessed_on.desc(),
                assessments::id.desc(),
            ))
            .select(AssessmentRow::as_select())
            .load(conn)?;
        for a in &rows {
            latest
                .entry(a.household_id)
                .or_insert_with(|| Latest::from(a));
        }
    }
    Ok(latest)
}

/// Open needs per household.
pub fn open_needs(conn: &mut DbConnection, ids: &[i64]) -> Result<HashMap<i64, i64>, AppError> {
    let mut counts = HashMap::new();
    for chunk in ids.chunks(500) {
        let owners: Vec<i64> = needs::table
            .filter(needs::household_id.eq_any(chunk))
            .filter(needs::status.eq("open"))
            .select(needs::household_id)
            .load(conn)?;
        for id in owners {
            *counts.entry(id).or_insert(0) += 1;
        }
    }
    Ok(counts)
}

/// Whose households a queue holds.
#[derive(Debug, Clone)]
pub enum Whose {
    /// Every household in scope.
    All,
    /// One adviser's, and with `unassigned` the unassigned ones in scope too
    /// (an adviser's own queue; an admin looking at an adviser sees theirs).
    Adviser { username: String, unassigned: bool },
}

/// Builds the queue of the households in `scope` that `whose` names.
pub fn load(
    conn: &mut DbConnection,
    scope: &Scope,
    whose: &Whose,
    today: NaiveDate,
) -> Result<WorkQueue, AppError> {
    let mut query = households::table
        .filter(households::status.eq("active"))
        .into_boxed();
    if let Some(cond) = in_scope(scope) {
        query = query.filter(cond);
    }
    match whose {
        Whose::All => {}
        Whose::Adviser {
            username,
            unassigned: true,
        } => {
            query = query.filter(
                households::adviser
                    .eq(username.clone())
                    .or(households::adviser.is_null()),
            );
        }
        Whose::Adviser { username, .. } => {
            query = query.filter(households::adviser.eq(username.clone()));
        }
    }
    let rows: Vec<HouseholdRow> = query
        .order(households::id.asc())
        .limit(MAX_HOUSEHOLDS + 1)
        .select(HouseholdRow::as_select())
        .load(conn)?;
    let truncated = rows.len() as i64 > MAX_HOUSEHOLDS;
    let rows = &rows[..rows.len().min(MAX_HOUSEHOLDS as usize)];
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();

    let latest = latest_assessments(conn, &ids)?;
    let open = open_needs(conn, &ids)?;
    // Per household: whether a home visit was made, and the last contact.
    let mut visited: HashMap<i64, bool> = HashMap::new();
    let mut last_contact: HashMap<i64, NaiveDate> = HashMap::new();
    for chunk in ids.chunks(500) {
        let notes: Vec<(i64, String, NaiveDate)> = case_notes::table
            .filter(case_notes::household_id.eq_any(chunk))
            .select((
                case_notes::household_id,
                case_notes::kind,
                case_notes::noted_on,
            ))
            .load(conn)?;
        for (id, kind, on) in notes {
            if kind == "home_visit" {
                visited.insert(id, true);
            }
            let last = last_contact.entry(id).or_insert(on);
            *last = (*last).max(on);
        }
    }

    let items = rows
        .iter()
        .map(|r| {
            let latest = latest.get(&r.id).cloned();
            let contact = last_contact.get(&r.id).copied();
            QueueItem {
                first_visit: deadlines::first_visit(
                    r.identified_on,
                    visited.get(&r.id).copied().unwrap_or(false),
                    today,
                ),
                follow_up: deadlines::follow_up(
                    latest.as_ref().map(|l| l.risk.as_str()),
                    contact,
                    r.identified_on,
                    today,
                ),
                ref_code: r.ref_code.clone(),
                head_name: r.head_name.clone(),
                region: r.region.clone(),
                adviser: r.adviser.clone(),
                identified_on: r.identified_on,
                open_needs: open.get(&r.id).copied().unwrap_or(0),
                last_contact: contact,
                latest,
            }
        })
        .collect();

    let mut recent = Vec::new();
    let names: HashMap<i64, (&str, &str)> = rows
        .iter()
        .map(|r| (r.id, (r.ref_code.as_str(), r.head_name.as_str())))
        .collect();
    if !ids.is_empty() {
        // The newest notes of any of these households (a few queries of the
        // newest notes overall would miss ours when they are few).
        let mut candidates: Vec<(i64, NaiveDate, i64, String, String, String)> = Vec::new();
        for chunk in ids.chunks(500) {
            candidates.extend(
                case_notes::table
                    .filter(case_notes::household_id.eq_any(chunk))
                    .order((case_notes::noted_on.desc(), case_notes::id.desc()))
                    .limit(RECENT_NOTES)
                    .select((
                        case_notes::id,
                        case_notes::noted_on,
                        case_notes::household_id,
                        case_notes::kind,
                        case_notes::body,
                        case_notes::created_by,
                    ))
                    .load::<(i64, NaiveDate, i64, String, String, String)>(conn)?,
            );
        }
        candidates.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
        for (_, noted_on, hid, kind, body, created_by) in
            candidates.into_iter().take(RECENT_NOTES as usize)
        {
            let (r, name) = names.get(&hid).copied().unwrap_or_default();
            recent.push(RecentNote {
                household_ref: r.to_string(),
                head_name: name.to_string(),
                noted_on,
                kind,
                body,
                created_by,
            });
        }
    }
    let mut queue = arrange(items, recent);
    queue.truncated = truncated;
    Ok(queue)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn item(ref_code: &str, latest: Option<(i64, bool, &str)>, identified: &str) -> QueueItem {
        let today = d("2026-11-23");
        let identified_on = d(identified);
        let latest = latest.map(|(total, priority, risk)| Latest {
            assessed_on: identified_on,
            total,
            priority,
            risk: risk.into(),
            service_type: "basic".into(),
        });
        QueueItem {
            ref_code: ref_code.into(),
            head_name: String::new(),
            region: "310118-003".into(),
            adviser: None,
            identified_on,
            first_visit: deadlines::first_visit(identified_on, false, today),
            follow_up: deadlines::follow_up(
                latest.as_ref().map(|l| l.risk.as_str()),
                None,
                identified_on,
                today,
            ),
            latest,
            open_needs: 0,
            last_contact: None,
        }
    }

    #[test]
    fn priority_then_risk_then_total() {
        let q = arrange(
            vec![
                item("green", Some((20, false, "green")), "2026-11-01"),
                item("yellow-40", Some((40, false, "yellow")), "2026-11-01"),
                item("never", None, "2026-11-01"),
                item("red-50", Some((50, false, "red")), "2026-11-01"),
                item("prio-75", Some((75, true, "yellow")), "2026-11-01"),
                item("yellow-60", Some((60, false, "yellow")), "2026-11-01"),
            ],
            Vec::new(),
        );
        let order: Vec<&str> = q.households.iter().map(|i| i.ref_code.as_str()).collect();
        assert_eq!(
            order,
            [
                "prio-75",
                "red-50",
                "yellow-60",
                "yellow-40",
                "never",
                "green"
            ]
        );
    }

    #[test]
    fn overdue_visits_come_first_and_only_red_is_followed_up() {
        let q = arrange(
            vec![
                item("new", Some((30, false, "green")), "2026-11-20"),
                item("late", Some((30, false, "red")), "2026-09-01"),
                item("soon", None, "2026-10-30"),
            ],
            Vec::new(),
        );
        let visits: Vec<(&str, i64)> = q
            .first_visits
            .iter()
            .map(|i| {
                (
                    i.ref_code.as_str(),
                    i.first_visit.as_ref().unwrap().days_left,
                )
            })
            .collect();
        assert_eq!(visits, [("late", -53), ("soon", 6), ("new", 27)]);
        assert!(q.first_visits[0].first_visit.as_ref().unwrap().overdue());
        let follow: Vec<&str> = q.follow_ups.iter().map(|i| i.ref_code.as_str()).collect();
        assert_eq!(follow, ["late"]);
    }
}
