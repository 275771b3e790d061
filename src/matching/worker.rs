//! The background scanner: keeps the facts table current and scans what
//! changed — a policy published, edited or withdrawn; a household written —
//! once a second. On start, and when the day changes (ages move on, a
//! policy's validity begins or ends), it loads every household and scans
//! everything, so changes made while no server ran are caught up.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::web;

use super::facts_table::FactsTable;
use super::scan;
use crate::db::{change_log, DbPool};
use crate::eligibility::rulebook::RuleBook;
use crate::error::AppError;

/// The scanner's state: the facts table and how far the change log has been
/// followed for resources. Only the instance holding the "scanner" lease
/// scans; the others wait, and take over when it lapses.
pub struct Scanner {
    state: Mutex<Option<(FactsTable, i64)>>,
    holder: String,
}

/// The scanner's lease: renewed every step (once a second).
pub const LEASE: &str = "policy-scanner";
const LEASE_SECS: i64 = 30;

fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

impl Scanner {
    pub fn new(holder: String) -> Scanner {
        Scanner {
            state: Mutex::new(None),
            holder,
        }
    }

    /// One step: the first of each day (and the first after taking the
    /// lease over) loads and scans everything; later ones scan what changed
    /// since.
    pub fn step(&self, pool: &DbPool, rules: &RuleBook) -> Result<(), AppError> {
        let mut conn = pool.get()?;
        let mut guard = self
            .state
            .lock()
            .map_err(|_| AppError::Internal("scanner lock poisoned".into()))?;
        let lease = chrono::Duration::seconds(LEASE_SECS);
        if !crate::db::lease::acquire(&mut conn, LEASE, &self.holder, lease)? {
            // Another instance scans; catch up in full if this one takes over.
            *guard = None;
            return Ok(());
        }
        let day = today();
        let book = rules.current(&mut conn)?;
        let Some((table, resource_seq)) = guard.as_mut().filter(|(t, _)| t.day == day) else {
            let table = FactsTable::load(&mut conn, day)?;
            let report = scan::scan_all(&mut conn, &table, &book, day, |_, _| {})?;
            if report.counts.raised + report.counts.withdrawn > 0 {
                tracing::info!(
                    raised = report.counts.raised,
                    withdrawn = report.counts.withdrawn,
                    households = report.households,
                    policies = report.policies,
                    "policy scan caught up"
                );
            }
            let seq = table.seq;
            *guard = Some((table, seq));
            return Ok(());
        };
        let mut refs: Vec<String> = Vec::new();
        loop {
            let batch = change_log::since(&mut conn, *resource_seq, 1_000)?;
            let Some(last) = batch.last() else { break };
            *resource_seq = last.seq;
            refs.extend(
                batch
                    .into_iter()
                    .filter(|c| c.entity == "resource")
                    .map(|c| c.entity_ref),
            );
        }
        refs.sort();
        refs.dedup();
        let households = table.refresh(&mut conn)?;
        for r in &refs {
            scan::scan_policy(&mut conn, table, &book, r, day)?;
        }
        scan::scan_households(&mut conn, table, &book, &households, day)?;
        Ok(())
    }
}

/// Runs [`Scanner::step`] every second while the server runs.
pub fn spawn(scanner: Arc<Scanner>, pool: DbPool, rules: Arc<RuleBook>) {
    let holder = scanner.holder.clone();
    let scanner = Arc::downgrade(&scanner);
    actix_web::rt::spawn(async move {
        let mut failures = 0u32;
        loop {
            actix_web::rt::time::sleep(Duration::from_millis(1_000)).await;
            let Some(s) = scanner.upgrade() else {
                crate::db::lease::release_in_background(pool, LEASE, holder);
                return;
            };
            let (p, r) = (pool.clone(), rules.clone());
            match web::block(move || s.step(&p, &r)).await {
                Ok(Ok(())) => failures = 0,
                Ok(Err(e)) => {
                    failures += 1;
                    if failures == 1 || failures.is_multiple_of(60) {
                        tracing::warn!(error = %e, "policy scan failed; retrying");
                    }
                }
                Err(e) => {
                    failures += 1;
                    tracing::error!(error = %e, "policy scan step failed; retrying");
                }
            }
        }
    });
}
