//! Which documents of a segment match, one bit per document. The query's
//! words are read straight from their posting lists; filters, deletions and
//! facets are worked out once per segment and kept (a segment's documents
//! never change, only its deletions grow). Counting a match set of any size
//! is then a few thousand word operations, and scoring only has to rank.

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use fixedbitset::FixedBitSet;
use tantivy::columnar::Column;
use tantivy::index::SegmentId;
use tantivy::schema::IndexRecordOption;
use tantivy::{Searcher, SegmentReader, Term};

use super::stats::{Counts, FACET_KEY, KIND_SHIFT};
use crate::domain::vocabulary::{DIMENSIONS, KINDS};

/// The documents of `segment` holding `term` (deleted ones included).
pub fn term_docs(segment: &SegmentReader, term: &Term) -> tantivy::Result<FixedBitSet> {
    let mut bits = FixedBitSet::with_capacity(segment.max_doc() as usize);
    let inverted = segment.inverted_index(term.field())?;
    if let Some(mut postings) = inverted.read_block_postings(term, IndexRecordOption::Basic)? {
        while !postings.docs().is_empty() {
            for doc in postings.docs() {
                bits.insert(*doc as usize);
            }
            postings.advance();
        }
    }
    Ok(bits)
}

/// The documents holding at least one of `terms`.
pub fn any_term(segment: &SegmentReader, terms: &[Term]) -> tantivy::Result<FixedBitSet> {
    let mut bits = FixedBitSet::with_capacity(segment.max_doc() as usize);
    for term in terms {
        bits.union_with(&term_docs(segment, term)?);
    }
    Ok(bits)
}

/// The documents in at least `k` of `sets` (all of length `len`): the sets
/// are added up bit by bit in binary counters, then compared with `k`.
pub fn at_least(sets: &[FixedBitSet], k: usize, len: usize) -> FixedBitSet {
    let mut out = FixedBitSet::with_capacity(len);
    if k == 0 {
        out.insert_range(..);
        return out;
    }
    if k > sets.len() {
        return out;
    }
    if k == 1 || k == sets.len() {
        // A plain union or intersection.
        out = sets[0].clone();
        for set in &sets[1..] {
            if k == 1 {
                out.union_with(set);
            } else {
                out.intersect_with(set);
            }
        }
        return out;
    }
    let planes_needed = (usize::BITS - sets.len().leading_zeros()) as usize;
    let mut planes = vec![0usize; planes_needed];
    for (w, word) in out.as_mut_slice().iter_mut().enumerate() {
        planes.fill(0);
        for set in sets {
            let mut carry = set.as_slice().get(w).copied().unwrap_or(0);
            for plane in planes.iter_mut() {
                if carry == 0 {
                    break;
                }
                let next = *plane & carry;
                *plane ^= carry;
                carry = next;
            }
        }
        // Bits whose count is >= k: compare the counters with k from the
        // most significant plane down.
        let (mut greater, mut equal) = (0usize, !0usize);
        for (i, plane) in planes.iter().enumerate().rev() {
            if (k >> i) & 1 == 1 {
                equal &= plane;
            } else {
                greater |= equal & plane;
                equal &= !plane;
            }
        }
        *word = greater | equal;
    }
    out
}

/// Per-segment documents of each kind and each dimension.
pub struct FacetSets {
    kinds: Vec<FixedBitSet>,
    dims: Vec<FixedBitSet>,
}

impl FacetSets {
    fn build(segment: &SegmentReader) -> tantivy::Result<FacetSets> {
        let len = segment.max_doc() as usize;
        let mut kinds = vec![FixedBitSet::with_capacity(len); KINDS.len()];
        let mut dims = vec![FixedBitSet::with_capacity(len); DIMENSIONS.len()];
        let keys = segment.fast_fields().u64(FACET_KEY)?;
        for doc in 0..segment.max_doc() {
            let Some(key) = keys.first(doc) else {
                continue;
            };
            if let Some(set) = kinds.get_mut((key >> KIND_SHIFT) as usize) {
                set.insert(doc as usize);
            }
            let mut mask = key & ((1 << KIND_SHIFT) - 1);
            while mask != 0 {
                if let Some(set) = dims.get_mut(mask.trailing_zeros() as usize) {
                    set.insert(doc as usize);
                }
                mask &= mask - 1;
            }
        }
        Ok(FacetSets { kinds, dims })
    }

    /// Adds the counts of the documents in `matches` to `counts`.
    pub fn count(&self, matches: &FixedBitSet, counts: &mut Counts) {
        counts.total += matches.count_ones(..);
        for (slot, set) in counts.kinds.iter_mut().zip(&self.kinds) {
            *slot += matches.intersection_count(set) as u64;
        }
        for (slot, set) in counts.dims.iter_mut().zip(&self.dims) {
            *slot += matches.intersection_count(set) as u64;
        }
    }
}

/// The documents whose i64 fast field `field` lies in `range`.
pub fn i64_range(
    segment: &SegmentReader,
    field: &str,
    range: RangeInclusive<i64>,
) -> tantivy::Result<FixedBitSet> {
    let column: Column<i64> = segment.fast_fields().i64(field)?;
    let mut docs = Vec::new();
    column.get_docids_for_value_range(range, 0..segment.max_doc(), &mut docs);
    let mut bits = FixedBitSet::with_capacity(segment.max_doc() as usize);
    for doc in docs {
        bits.insert(doc as usize);
    }
    Ok(bits)
}

/// The documents not deleted.
fn alive_docs(segment: &SegmentReader) -> FixedBitSet {
    let len = segment.max_doc() as usize;
    let mut bits = FixedBitSet::with_capacity(len);
    match segment.alive_bitset() {
        None => bits.insert_range(..),
        Some(alive) => {
            for doc in alive.iter_alive() {
                bits.insert(doc as usize);
            }
        }
    }
    bits
}

/// More cached sets than this for one segment (filters on many different
/// days, say) and its cache starts over.
const MAX_SETS_PER_SEGMENT: usize = 64;

#[derive(Default)]
struct SegmentEntry {
    sets: HashMap<String, Arc<FixedBitSet>>,
    facets: Option<Arc<FacetSets>>,
}

/// Sets worth keeping between searches, per segment.
#[derive(Default)]
pub struct SetCache {
    segments: Mutex<HashMap<SegmentId, SegmentEntry>>,
    /// The searcher generation whose segments the cache was last pruned to.
    pruned_for: AtomicU64,
}

impl SetCache {
    /// Forgets the segments `searcher` no longer has (merged away).
    pub fn prune(&self, searcher: &Searcher) {
        let generation = searcher.generation().generation_id();
        if self.pruned_for.swap(generation, Ordering::Relaxed) == generation {
            return;
        }
        let live: Vec<SegmentId> = searcher
            .segment_readers()
            .iter()
            .map(|s| s.segment_id())
            .collect();
        self.lock().retain(|id, _| live.contains(id));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SegmentId, SegmentEntry>> {
        self.segments.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The set cached under `key` for `segment`, made by `make` when absent.
    /// (Made outside the lock: two searches may both make it; one is kept.)
    pub fn get(
        &self,
        segment: &SegmentReader,
        key: &str,
        make: impl FnOnce() -> tantivy::Result<FixedBitSet>,
    ) -> tantivy::Result<Arc<FixedBitSet>> {
        let id = segment.segment_id();
        if let Some(set) = self.lock().get(&id).and_then(|e| e.sets.get(key)) {
            return Ok(set.clone());
        }
        let set = Arc::new(make()?);
        let mut segments = self.lock();
        let entry = segments.entry(id).or_default();
        if entry.sets.len() >= MAX_SETS_PER_SEGMENT {
            entry.sets.clear();
        }
        entry.sets.insert(key.to_string(), set.clone());
        Ok(set)
    }

    /// The documents of `segment` not deleted (deletions only ever grow, so
    /// their number identifies them).
    pub fn alive(&self, segment: &SegmentReader) -> tantivy::Result<Arc<FixedBitSet>> {
        let key = format!("alive:{}", segment.num_deleted_docs());
        self.get(segment, &key, || Ok(alive_docs(segment)))
    }

    pub fn facets(&self, segment: &SegmentReader) -> tantivy::Result<Arc<FacetSets>> {
        let id = segment.segment_id();
        if let Some(f) = self.lock().get(&id).and_then(|e| e.facets.clone()) {
            return Ok(f);
        }
        let facets = Arc::new(FacetSets::build(segment)?);
        self.lock().entry(id).or_default().facets = Some(facets.clone());
        Ok(facets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(len: usize, bits: &[usize]) -> FixedBitSet {
        let mut s = FixedBitSet::with_capacity(len);
        for b in bits {
            s.insert(*b);
        }
        s
    }

    #[test]
    fn at_least_counts_membership() {
        let len = 200;
        // Document d is in set i when bit i of d is set (d < 32: 5 sets).
        let sets: Vec<FixedBitSet> = (0..5)
            .map(|i| {
                let docs: Vec<usize> = (0..len).filter(|d| (d % 32) >> i & 1 == 1).collect();
                set(len, &docs)
            })
            .collect();
        for k in 0..=6 {
            let got = at_least(&sets, k, len);
            for d in 0..len {
                let n = (d % 32).count_ones() as usize;
                assert_eq!(got.contains(d), n >= k, "doc {d}, k {k}");
            }
            assert!(got.len() == len);
        }
    }

    #[test]
    fn at_least_one_of_one_is_the_set() {
        let s = set(70, &[0, 3, 64, 69]);
        assert_eq!(at_least(std::slice::from_ref(&s), 1, 70), s);
        assert_eq!(at_least(&[], 1, 70).count_ones(..), 0);
    }
}
