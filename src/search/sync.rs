//! Keeping the index in step with the database. Every write to a resource
//! appends to the change log in the same transaction; the index applies the
//! log in order and records, in its own commit, how far it got.
//!
//! On PostgreSQL, sequence numbers become visible out of order (a transaction
//! holding seq 10 may commit after the one holding 11), and a rolled-back
//! transaction leaves a gap for ever. So the index keeps a low-water mark
//! (`applied_upto`: everything at or below it is applied) and the set of
//! later changes already applied; a gap still open after `GAP_PATIENCE` is
//! taken to be a rollback and passed over.

use std::collections::BTreeSet;
use std::time::Instant;

use diesel::prelude::*;

use super::schema::document;
use super::{tantivy_err, Payload, SearchIndex};
use crate::catalogue::repository;
use crate::catalogue::ResourceRow;
use crate::db::schema::{change_log, resources};
use crate::db::{change_log as log, DbConnection};
use crate::error::AppError;

/// After a rebuild, the last changes are applied again (idempotently), in case
/// a transaction holding an earlier sequence number was still in flight.
const REBUILD_OVERLAP: i64 = 1_000;
const BATCH: i64 = 2_000;

/// The index's change-log bookkeeping, committed with the index.
pub use crate::db::change_log::Follower as SyncState;

impl SearchIndex {
    fn commit(&self, writer: &mut tantivy::IndexWriter, applied_upto: i64) -> Result<(), AppError> {
        let payload = serde_json::to_string(&Payload {
            schema: super::schema::SCHEMA_VERSION,
            applied_upto,
        })
        .map_err(tantivy_err)?;
        let mut prepared = writer.prepare_commit().map_err(tantivy_err)?;
        prepared.set_payload(&payload);
        prepared.commit().map_err(tantivy_err)?;
        self.reader.reload().map_err(tantivy_err)?;
        self.warm();
        Ok(())
    }

    fn index_row(
        &self,
        writer: &tantivy::IndexWriter,
        ref_code: &str,
        row: Option<&ResourceRow>,
    ) -> Result<(), AppError> {
        writer.delete_term(tantivy::Term::from_field_text(
            self.fields.ref_code,
            ref_code,
        ));
        if let Some(r) = row.filter(|r| r.status == "published") {
            writer
                .add_document(document(&self.fields, r))
                .map_err(tantivy_err)?;
        }
        Ok(())
    }

    /// Applies every change not yet applied; returns how many resources were
    /// re-indexed. Cheap when there is nothing new (one indexed query).
    pub fn catch_up(&self, conn: &mut DbConnection) -> Result<usize, AppError> {
        let mut total = 0;
        // Read on from here: past the low-water mark, and past pages already
        // read this call (below an open gap a page may hold only changes
        // applied before; reading from the mark alone would return that
        // same page until the gap is passed over).
        let mut after = i64::MIN;
        loop {
            let mut state = self.sync.lock().unwrap_or_else(|p| p.into_inner());
            after = after.max(state.applied_upto);
            let changes = log::since(conn, after, BATCH)?;
            let Some(last) = changes.last().map(|c| c.seq) else {
                if !state.gaps_seen.is_empty() {
                    let before = state.applied_upto;
                    state.advance(Instant::now());
                    if state.applied_upto != before {
                        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
                        self.commit(&mut writer, state.applied_upto)?;
                    }
                }
                return Ok(total);
            };
            after = last;
            let fresh: Vec<_> = changes
                .iter()
                .filter(|c| !state.applied_above.contains(&c.seq))
                .collect();
            let refs: BTreeSet<&str> = fresh
                .iter()
                .filter(|c| c.entity == "resource")
                .map(|c| c.entity_ref.as_str())
                .collect();
            let before = state.applied_upto;
            let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
            for r in &refs {
                let row = repository::find(conn, r)?;
                self.index_row(&writer, r, row.as_ref())?;
            }
            total += refs.len();
            for c in &fresh {
                state.applied_above.insert(c.seq);
            }
            state.advance(Instant::now());
            if !fresh.is_empty() || state.applied_upto != before {
                self.commit(&mut writer, state.applied_upto)?;
            }
            if (changes.len() as i64) < BATCH {
                return Ok(total);
            }
        }
    }

    /// Empties the index and fills it from the resources table; `progress`
    /// is told (done, total). Changes made meanwhile are picked up by the
    /// next catch-up: the mark recorded lies before the log's end as it was
    /// *before* reading.
    pub fn rebuild(
        &self,
        conn: &mut DbConnection,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<usize, AppError> {
        let mut state = self.sync.lock().unwrap_or_else(|p| p.into_inner());
        let log_end: i64 = change_log::table
            .select(diesel::dsl::max(change_log::seq))
            .first::<Option<i64>>(conn)?
            .unwrap_or(0);
        let total: i64 = resources::table
            .filter(resources::status.eq("published"))
            .count()
            .get_result(conn)?;
        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        writer.delete_all_documents().map_err(tantivy_err)?;
        let mut done = 0usize;
        let mut last_id = 0i64;
        loop {
            let rows: Vec<ResourceRow> = resources::table
                .filter(resources::status.eq("published"))
                .filter(resources::id.gt(last_id))
                .order(resources::id.asc())
                .limit(1_000)
                .select(ResourceRow::as_select())
                .load(conn)?;
            let Some(last) = rows.last() else { break };
            last_id = last.id;
            for r in &rows {
                writer
                    .add_document(document(&self.fields, r))
                    .map_err(tantivy_err)?;
            }
            done += rows.len();
            progress(done, total as usize);
        }
        let mark = (log_end - REBUILD_OVERLAP).max(0);
        *state = SyncState::new(mark);
        self.commit(&mut writer, mark)?;
        // A fresh build leaves many small segments; searching one is faster.
        let segments: Vec<_> = self
            .reader
            .searcher()
            .segment_readers()
            .iter()
            .map(|s| s.segment_id())
            .collect();
        if segments.len() > 1 {
            writer.merge(&segments).wait().map_err(tantivy_err)?;
            self.reader.reload().map_err(tantivy_err)?;
            self.warm();
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn low_water_mark_waits_for_gaps_then_passes_them() {
        let t0 = Instant::now();
        let mut s = SyncState::new(10);
        s.applied_above.extend([11, 12, 14]);
        s.advance(t0);
        assert_eq!(s.applied_upto, 12, "13 is missing");
        s.advance(t0 + Duration::from_secs(1));
        assert_eq!(s.applied_upto, 12, "still waiting for 13");
        s.applied_above.insert(13);
        s.advance(t0 + Duration::from_secs(2));
        assert_eq!(s.applied_upto, 14);
        s.applied_above.insert(16);
        s.advance(t0);
        assert_eq!(s.applied_upto, 14);
        s.advance(t0 + crate::db::change_log::GAP_PATIENCE + Duration::from_secs(1));
        assert_eq!(s.applied_upto, 16, "a long-open gap is a rollback");
    }
}
