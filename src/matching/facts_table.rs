//! Every active, consented household's facts, derived once and kept in
//! memory, so a policy is checked against all households without reading
//! them from the database. The scanner follows the change log and reloads
//! a household written anywhere. A table holds one day's facts (ages move
//! on): the scanner loads a new table when the day changes. Entries are
//! kept in region order, so the households of a region scope are one
//! contiguous run, and derived in that order, so a scan reads memory in
//! sequence.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::db::schema::{change_log as log, households, members};
use crate::db::DbConnection;
use crate::domain::RegionCode;
use crate::eligibility::facts::{derive, Facts, FactsInput, MemberFacts};
use crate::error::AppError;
use crate::households::repository::{HouseholdRow, MemberRow};

/// One household as the scanner sees it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: i64,
    pub ref_code: String,
    pub region: String,
    pub adviser: Option<String>,
    /// The facts on the table's day.
    pub facts: Facts,
}

#[derive(Debug)]
pub struct FactsTable {
    /// The change log's newest entry when the table was loaded (the
    /// scanner follows the log from there).
    pub seq: i64,
    pub day: NaiveDate,
    /// Ordered by region, then id.
    entries: Vec<Entry>,
    /// Household id → position in `entries`.
    positions: HashMap<i64, usize>,
}

const CHUNK: usize = 500;

/// Loads the active, consented households among `ids` (all when `None`),
/// a chunk at a time, so that only one chunk's rows are held besides the
/// entries (a city's rows at once would leave hundreds of megabytes of
/// freed but fragmented heap behind).
pub fn load_entries(
    conn: &mut DbConnection,
    ids: Option<&[i64]>,
    day: NaiveDate,
) -> Result<Vec<Entry>, AppError> {
    let all: Vec<i64>;
    let ids = match ids {
        Some(ids) => ids,
        None => {
            all = households::table
                .filter(households::status.eq("active"))
                .filter(households::consent.eq(true))
                .order((households::region.asc(), households::id.asc()))
                .select(households::id)
                .load(conn)?;
            &all
        }
    };
    let mut entries = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<HouseholdRow> = households::table
            .filter(households::id.eq_any(chunk))
            .filter(households::status.eq("active"))
            .filter(households::consent.eq(true))
            .order((households::region.asc(), households::id.asc()))
            .select(HouseholdRow::as_select())
            .load(conn)?;
        let mut by_household: HashMap<i64, Vec<MemberRow>> = HashMap::new();
        let list: Vec<MemberRow> = members::table
            .filter(members::household_id.eq_any(chunk))
            .order((members::household_id.asc(), members::position.asc()))
            .select(MemberRow::as_select())
            .load(conn)?;
        for m in list {
            by_household.entry(m.household_id).or_default().push(m);
        }
        entries.extend(rows.into_iter().map(|row| {
            let list = by_household.remove(&row.id).unwrap_or_default();
            let input = FactsInput {
                region: row.region.clone(),
                profile: row.profile(),
                members: list.iter().map(MemberFacts::of).collect(),
            };
            Entry {
                facts: derive(&input, day),
                id: row.id,
                ref_code: row.ref_code,
                region: row.region,
                adviser: row.adviser,
            }
        }));
    }
    Ok(entries)
}

fn newest_seq(conn: &mut DbConnection) -> Result<i64, AppError> {
    Ok(log::table
        .select(diesel::dsl::max(log::seq))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0))
}

impl FactsTable {
    /// Every household, as of the change log's newest entry.
    pub fn load(conn: &mut DbConnection, day: NaiveDate) -> Result<FactsTable, AppError> {
        let seq = newest_seq(conn)?;
        let mut table = FactsTable {
            seq,
            day,
            entries: load_entries(conn, None, day)?,
            positions: HashMap::new(),
        };
        table.reorder();
        Ok(table)
    }

    fn reorder(&mut self) {
        self.entries
            .sort_unstable_by(|a, b| (&a.region, a.id).cmp(&(&b.region, b.id)));
        self.positions = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id, i))
            .collect();
    }

    /// The household `id`, when it is active and consented.
    pub fn get(&self, id: i64) -> Option<&Entry> {
        self.positions.get(&id).map(|&i| &self.entries[i])
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Reloads the households of `refs` (written since; a closed or
    /// unconsented one drops out) and returns their ids.
    pub fn apply(&mut self, conn: &mut DbConnection, refs: &[&str]) -> Result<Vec<i64>, AppError> {
        let mut changed_refs: Vec<&str> = refs.to_vec();
        changed_refs.sort();
        changed_refs.dedup();
        let mut changed_ids: Vec<i64> = Vec::new();
        for chunk in changed_refs.chunks(CHUNK) {
            changed_ids.extend(
                households::table
                    .filter(households::ref_code.eq_any(chunk))
                    .select(households::id)
                    .load::<i64>(conn)?,
            );
        }
        if !changed_ids.is_empty() {
            let changed: std::collections::HashSet<i64> = changed_ids.iter().copied().collect();
            self.entries.retain(|e| !changed.contains(&e.id));
            self.entries
                .extend(load_entries(conn, Some(&changed_ids), self.day)?);
            self.reorder();
        }
        Ok(changed_ids)
    }

    /// The households inside `scope` (a resource's region): one run of
    /// the region-ordered entries.
    pub fn in_scope(&self, scope: &str) -> &[Entry] {
        let Ok(code) = RegionCode::parse(scope) else {
            return &[];
        };
        let start = self
            .entries
            .partition_point(|e| e.region.as_str() < code.scope_prefix());
        let len = self.entries[start..].partition_point(|e| code.covers(&e.region));
        &self.entries[start..start + len]
    }
}
