//! The change log: one row per write to a searchable entity, numbered by a
//! monotonically increasing sequence. Search indexes record the last sequence
//! they applied and catch up from there.

use chrono::Utc;
use diesel::prelude::*;

use super::schema::change_log;
use super::DbConnection;
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = change_log)]
pub struct Change {
    pub seq: i64,
    pub entity: String,
    pub entity_ref: String,
    pub op: String,
    pub at: chrono::NaiveDateTime,
}

/// Records that `entity` `entity_ref` changed; call inside the write's transaction.
pub fn append(
    conn: &mut DbConnection,
    entity: &str,
    entity_ref: &str,
    op: &str,
) -> Result<(), AppError> {
    diesel::insert_into(change_log::table)
        .values((
            change_log::entity.eq(entity),
            change_log::entity_ref.eq(entity_ref),
            change_log::op.eq(op),
            change_log::at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Changes after `after`, oldest first, at most `limit`.
pub fn since(conn: &mut DbConnection, after: i64, limit: i64) -> Result<Vec<Change>, AppError> {
    Ok(change_log::table
        .filter(change_log::seq.gt(after))
        .order(change_log::seq.asc())
        .limit(limit)
        .select(Change::as_select())
        .load(conn)?)
}

/// Follows the change log, each change seen once, on PostgreSQL too: there
/// sequence numbers become visible out of order (a transaction holding seq
/// 10 may commit after the one holding 11), and a rolled-back transaction
/// leaves a gap for ever. The follower keeps a low-water mark (every change
/// at or below it seen), the changes above it already seen, and when each
/// gap was first noticed; a gap open longer than `patience` is taken to be
/// a rollback and passed over. (The search index keeps the same bookkeeping
/// in its own commits, with this type; see `search::sync`.)
#[derive(Debug, Clone)]
pub struct Follower {
    pub(crate) applied_upto: i64,
    pub(crate) applied_above: std::collections::BTreeSet<i64>,
    pub(crate) gaps_seen: std::collections::BTreeMap<i64, std::time::Instant>,
    patience: std::time::Duration,
}

const PAGE: i64 = 1_000;

/// How long a gap may stay open before it is taken to be a rollback: long
/// enough for the longest import transaction (holding a gap open costs
/// nothing but memory; later changes are applied meanwhile).
pub const GAP_PATIENCE: std::time::Duration = std::time::Duration::from_secs(600);

impl Follower {
    /// Follows the changes after `applied_upto`.
    pub fn new(applied_upto: i64) -> Follower {
        Follower {
            applied_upto,
            applied_above: Default::default(),
            gaps_seen: Default::default(),
            patience: GAP_PATIENCE,
        }
    }

    /// The changes not seen before, oldest first.
    pub fn next(&mut self, conn: &mut DbConnection) -> Result<Vec<Change>, AppError> {
        let mut fresh = Vec::new();
        let mut after = self.applied_upto;
        loop {
            let page = since(conn, after, PAGE)?;
            let Some(last) = page.last().map(|c| c.seq) else {
                break;
            };
            after = last;
            let full = page.len() as i64 == PAGE;
            fresh.extend(
                page.into_iter()
                    .filter(|c| self.applied_above.insert(c.seq)),
            );
            if !full {
                break;
            }
        }
        self.advance(std::time::Instant::now());
        Ok(fresh)
    }

    /// Moves the low-water mark over seen changes and over gaps open too
    /// long.
    pub(crate) fn advance(&mut self, now: std::time::Instant) {
        loop {
            let next = self.applied_upto + 1;
            if self.applied_above.remove(&next) {
                self.applied_upto = next;
                self.gaps_seen.remove(&next);
                continue;
            }
            if self.applied_above.is_empty() {
                self.gaps_seen.clear();
                return;
            }
            // `next` is missing while a later change was seen: a gap.
            let first_seen = *self.gaps_seen.entry(next).or_insert(now);
            if now.duration_since(first_seen) >= self.patience {
                self.gaps_seen.remove(&next);
                self.applied_upto = next;
                continue;
            }
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn the_mark_waits_at_a_gap_then_passes_it() {
        let mut f = Follower::new(10);
        let t0 = Instant::now();
        // 11 and 13 seen, 12 still in flight.
        f.applied_above.extend([11, 13]);
        f.advance(t0);
        assert_eq!(f.applied_upto, 11);
        assert!(f.applied_above.contains(&13));
        // 12 commits: the mark moves over both.
        f.applied_above.insert(12);
        f.advance(t0);
        assert_eq!(f.applied_upto, 13);
        assert!(f.applied_above.is_empty());
        // 14 rolled back, 15 seen: passed over after the patience.
        f.applied_above.insert(15);
        f.advance(t0);
        assert_eq!(f.applied_upto, 13);
        f.advance(t0 + Duration::from_secs(601));
        assert_eq!(f.applied_upto, 15);
    }
}
