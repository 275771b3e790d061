//! Policy finds people (政策找人): published policies checked against every
//! household in their region scope. A policy is scanned when it is
//! published or changed, a household when its record changes, everything
//! by `aidmatch scan`; each scan makes the alerts agree with who
//! qualifies now.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::NaiveDate;
use diesel::Connection;
use rayon::prelude::*;

use super::alerts::{self, Counts, Qualifies};
use super::facts_table::{Entry, FactsTable};
use crate::db::{lock_for_write, DbConnection};
use crate::eligibility::eval;
use crate::eligibility::explain::explain;
use crate::eligibility::rulebook::{Loaded, RuledResource};
use crate::error::AppError;

/// Whether `entry` qualifies for `policy`.
pub fn holds(policy: &RuledResource, entry: &Entry) -> bool {
    eval::holds(policy.rule.root(), &entry.facts)
}

/// Why `entry` qualifies for `policy` (worded only for alerts being raised).
pub fn reasons(policy: &RuledResource, entry: &Entry) -> Vec<String> {
    explain(&policy.rule, &entry.facts).reasons()
}

/// Households checked per parallel task: below this a scope is scanned
/// on one core (splitting it would cost more than it saves).
const SPLIT_AT: usize = 8192;

/// The ids of the households of `table` that qualify for `policy`, in
/// table order. A large scope is split across the cores.
pub fn qualifying(table: &FactsTable, policy: &RuledResource) -> Vec<i64> {
    let scope = table.in_scope(&policy.region);
    if scope.len() < 2 * SPLIT_AT {
        return scope
            .iter()
            .filter(|e| holds(policy, e))
            .map(|e| e.id)
            .collect();
    }
    scope
        .par_iter()
        .with_min_len(SPLIT_AT)
        .filter(|e| holds(policy, e))
        .map(|e| e.id)
        .collect()
}

/// Qualifying pairs, worded lazily: `alerts::reconcile` asks for the
/// reasons of the pairs it raises.
fn pairs<'a>(
    table: &'a FactsTable,
    policy: &'a RuledResource,
    ids: Vec<i64>,
) -> impl Iterator<Item = Qualifies<'a>> + 'a {
    ids.into_iter().filter_map(move |id| {
        let entry = table.get(id)?;
        Some(Qualifies {
            household_id: id,
            resource_ref: policy.ref_code.clone(),
            resource_title: policy.title.clone(),
            reasons: Box::new(move || reasons(policy, entry)),
        })
    })
}

/// The policies the scanner follows on `day`: published, valid, with a rule.
fn live_policies(book: &Loaded, day: NaiveDate) -> impl Iterator<Item = &Arc<RuledResource>> {
    book.resources
        .iter()
        .filter(move |r| r.kind == "policy" && r.valid_on(day))
}

/// Scans one policy (by ref) against every household; a ref that is no
/// longer a live policy has its alerts withdrawn.
pub fn scan_policy(
    conn: &mut DbConnection,
    table: &FactsTable,
    book: &Loaded,
    resource_ref: &str,
    day: NaiveDate,
) -> Result<Counts, AppError> {
    let policy = live_policies(book, day).find(|p| p.ref_code == resource_ref);
    let found: Vec<Qualifies> = match policy {
        Some(p) => pairs(table, p, qualifying(table, p)).collect(),
        None => Vec::new(),
    };
    conn.transaction(|conn| {
        lock_for_write(conn)?;
        let existing = alerts::of_resource(conn, resource_ref)?;
        alerts::reconcile(conn, |_, _| true, existing, found)
    })
}

/// Scans some households against every policy.
pub fn scan_households(
    conn: &mut DbConnection,
    table: &FactsTable,
    book: &Loaded,
    ids: &[i64],
    day: NaiveDate,
) -> Result<Counts, AppError> {
    if ids.is_empty() {
        return Ok(Counts::default());
    }
    let mut found = Vec::new();
    for id in ids {
        let Some(entry) = table.get(*id) else {
            continue; // closed or without consent: its alerts are withdrawn
        };
        for p in live_policies(book, day).filter(|p| p.covers(Some(&entry.region))) {
            if holds(p, entry) {
                found.extend(pairs(table, p, vec![entry.id]));
            }
        }
    }
    let chosen: HashSet<i64> = ids.iter().copied().collect();
    conn.transaction(|conn| {
        lock_for_write(conn)?;
        let existing = alerts::of_households(conn, ids)?;
        alerts::reconcile(conn, |h, _| chosen.contains(&h), existing, found)
    })
}

/// What a full scan did.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Report {
    pub households: usize,
    pub policies: usize,
    pub checks: usize,
    pub counts: Counts,
}

/// Every live policy against every household, one policy (and one
/// transaction) at a time so that only one policy's pairs are held in
/// memory; then the live alerts of policies no longer live are withdrawn.
/// `progress(done, total)` after each policy.
pub fn scan_all(
    conn: &mut DbConnection,
    table: &FactsTable,
    book: &Loaded,
    day: NaiveDate,
    mut progress: impl FnMut(usize, usize),
) -> Result<Report, AppError> {
    let policies: Vec<&Arc<RuledResource>> = live_policies(book, day).collect();
    let mut counts = Counts::default();
    let mut checks = 0;
    for (i, p) in policies.iter().enumerate() {
        checks += table.in_scope(&p.region).len();
        counts += scan_policy(conn, table, book, &p.ref_code, day)?;
        progress(i + 1, policies.len());
    }
    let live: HashSet<&str> = policies.iter().map(|p| p.ref_code.as_str()).collect();
    for stale in alerts::live_refs(conn)? {
        if !live.contains(stale.as_str()) {
            counts += scan_policy(conn, table, book, &stale, day)?;
        }
    }
    Ok(Report {
        households: table.len(),
        policies: policies.len(),
        checks,
        counts,
    })
}
