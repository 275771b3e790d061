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
use crate::db::change_log::Follower;
use crate::db::DbPool;
use crate::eligibility::rulebook::RuleBook;
use crate::error::AppError;

/// The scanner's state: the facts table and how far the change log has been
/// followed for resources. Only the instance holding the "scanner" lease
/// scans; the others wait, and take over when it lapses.
pub struct Scanner {
    state: Mutex<Option<(FactsTable, Follower)>>,
    holder: String,
}

/// After loading, the last changes are looked at again (idempotently), in
/// case a transaction holding an earlier sequence number was still in
/// flight (PostgreSQL).
const LOAD_OVERLAP: i64 = 200;

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
        let Some((table, follower)) = guard.as_mut().filter(|(t, _)| t.day == day) else {
            let started = std::time::Instant::now();
            let table = FactsTable::load(&mut conn, day)?;
            let report = scan::scan_all(&mut conn, &table, &book, day, |_, _| {})?;
            tracing::info!(
                raised = report.counts.raised,
                withdrawn = report.counts.withdrawn,
                households = report.households,
                policies = report.policies,
                secs = started.elapsed().as_secs_f64(),
                "full policy scan done"
            );
            let follower = Follower::new(table.seq - LOAD_OVERLAP);
            *guard = Some((table, follower));
            return Ok(());
        };
        let changes = follower.next(&mut conn)?;
        let mut resources: Vec<&str> = Vec::new();
        let mut households: Vec<&str> = Vec::new();
        for c in &changes {
            match c.entity.as_str() {
                "resource" => resources.push(&c.entity_ref),
                "household" => households.push(&c.entity_ref),
                _ => {}
            }
        }
        resources.sort_unstable();
        resources.dedup();
        let result = (|| {
            let households = table.apply(&mut conn, &households)?;
            for r in &resources {
                scan::scan_policy(&mut conn, table, &book, r, day)?;
            }
            scan::scan_households(&mut conn, table, &book, &households, day)?;
            Ok(())
        })();
        if result.is_err() {
            // The changes were taken from the log: start over (load and scan
            // everything) rather than miss them.
            *guard = None;
        }
        result
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
