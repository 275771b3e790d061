//! The postman: delivers the outbox in the background. Every tick (or at
//! once when woken after a message was queued) it claims due messages one
//! at a time and sends each. When the server cannot be reached, the message
//! is given back untried and the worker waits before the next try, so an
//! outage costs no attempts and loses nothing; when the server is back
//! every message is delivered, once. Every `mail_plan_secs` it also
//! queues what is due by the calendar: event reminders and follow-ups,
//! and the advisers' daily alert digests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web;
use tokio::sync::Notify;

use super::outbox;
use super::transport::Mailer;
use super::Sender;
use crate::config::Settings;
use crate::db::{DbConnection, DbPool};
use crate::error::AppError;

/// Messages sent per round at most.
const BATCH: i64 = 50;

pub struct Postman {
    pub mailer: Mailer,
    pub sender: Sender,
    /// The first retry's delay; doubled per failed attempt.
    pub retry_base_secs: u64,
    /// How often the calendar is consulted.
    plan_every: Duration,
    wake: Notify,
    last_planned: std::sync::Mutex<Option<Instant>>,
    /// This instance as a lease holder: only the holder of the mail lease
    /// plans and delivers.
    holder: String,
    /// When this process started: a message claimed before then was being
    /// sent by a process that has since stopped.
    started: chrono::NaiveDateTime,
}

/// The mail worker's lease: renewed every step.
pub const LEASE: &str = "mail-worker";
const LEASE_SECS: i64 = 30;

/// What one delivery round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub sent: usize,
    pub failed: usize,
    /// The server was unreachable: the batch was given back.
    pub unreachable: bool,
}

impl Postman {
    pub fn new(settings: &Settings, holder: String) -> Result<Postman, String> {
        Ok(Postman {
            mailer: Mailer::from_settings(settings)?,
            sender: Sender::of(settings),
            retry_base_secs: settings.mail_retry_secs,
            plan_every: Duration::from_secs(settings.mail_plan_secs.max(1)),
            wake: Notify::new(),
            last_planned: Default::default(),
            holder,
            started: chrono::Utc::now().naive_utc(),
        })
    }

    /// Asks the worker to look at the outbox now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Sends due messages one at a time (each claimed just before it is
    /// sent), up to a batch; stops early when the server is unreachable.
    pub fn deliver(&self, conn: &mut DbConnection) -> Result<Round, AppError> {
        let mut round = Round::default();
        let interrupted = outbox::fail_interrupted(conn, self.started)?;
        if interrupted > 0 {
            tracing::warn!(
                messages = interrupted,
                "mail sends interrupted by a stop; marked failed for an admin to check"
            );
        }
        for _ in 0..BATCH {
            let Some(row) = outbox::claim_next(conn)? else {
                break;
            };
            match self.mailer.send(
                &row.message_id,
                &row.recipient,
                &self.sender.from,
                row.raw.as_bytes(),
            ) {
                Ok(()) => {
                    // Delivered: record it, trying again if the database is
                    // briefly busy, so the message is not sent a second time.
                    let mut recorded = outbox::mark_sent(conn, row.id);
                    for _ in 0..5 {
                        if recorded.is_ok() {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(200));
                        recorded = outbox::mark_sent(conn, row.id);
                    }
                    recorded?;
                    round.sent += 1;
                }
                Err(e) if e.unreachable => {
                    // Never offered: give it back untried.
                    round.unreachable = true;
                    let delay = chrono::Duration::seconds(self.retry_base_secs.max(1) as i64);
                    outbox::release(conn, row.id, delay, &e.message)?;
                    break;
                }
                Err(e) => {
                    tracing::warn!(id = row.id, error = %e.message, "mail delivery failed");
                    outbox::mark_failed(conn, &row, &e.message, e.permanent, self.retry_base_secs)?;
                    round.failed += 1;
                }
            }
        }
        Ok(round)
    }

    /// Queues what the calendar makes due, at most once per `plan_every`.
    fn plan(&self, conn: &mut DbConnection) -> Result<(), AppError> {
        {
            let mut last = self
                .last_planned
                .lock()
                .map_err(|_| AppError::Internal("postman lock poisoned".into()))?;
            if last.is_some_and(|t| t.elapsed() < self.plan_every) {
                return Ok(());
            }
            *last = Some(Instant::now());
        }
        let today = chrono::Local::now().date_naive();
        let queued = crate::events::mailings::plan(conn, &self.sender, today)?
            + super::digest::plan(conn, &self.sender, today)?;
        if queued > 0 {
            tracing::info!(queued, "mail queued by the calendar");
        }
        Ok(())
    }

    /// One tick: plan, then deliver — when this instance holds the lease.
    pub fn step(&self, pool: &DbPool) -> Result<Round, AppError> {
        let mut conn = pool.get()?;
        let lease = chrono::Duration::seconds(LEASE_SECS);
        if !crate::db::lease::acquire(&mut conn, LEASE, &self.holder, lease)? {
            return Ok(Round::default());
        }
        self.plan(&mut conn)?;
        self.deliver(&mut conn)
    }
}

/// Runs the postman while the server runs.
pub fn spawn(postman: Arc<Postman>, pool: DbPool) {
    tracing::info!(to = %postman.mailer.describe(), "mail worker started");
    let holder = postman.holder.clone();
    let postman = Arc::downgrade(&postman);
    actix_web::rt::spawn(async move {
        let mut failures = 0u32;
        let mut pause = Duration::from_millis(1_000);
        loop {
            let Some(p) = postman.upgrade() else {
                crate::db::lease::release_in_background(pool, LEASE, holder);
                return;
            };
            // Sleep for the pause, or less when a message is queued.
            tokio::select! {
                _ = p.wake.notified() => {}
                _ = actix_web::rt::time::sleep(pause) => {}
            }
            let pool = pool.clone();
            let worker = p.clone();
            drop(p);
            match web::block(move || worker.step(&pool)).await {
                Ok(Ok(round)) => {
                    failures = 0;
                    pause = if round.unreachable {
                        Duration::from_secs(2)
                    } else {
                        Duration::from_millis(1_000)
                    };
                }
                Ok(Err(e)) => {
                    failures += 1;
                    if failures == 1 || failures.is_multiple_of(60) {
                        tracing::warn!(error = %e, "mail worker failed; retrying");
                    }
                }
                // The blocking task panicked or was cancelled: say so and
                // carry on (the loop ends when the postman is dropped).
                Err(e) => {
                    failures += 1;
                    tracing::error!(error = %e, "mail worker step failed; retrying");
                }
            }
        }
    });
}
