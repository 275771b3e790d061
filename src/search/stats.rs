//! Counting the whole matching set (total, per kind, per dimension) from
//! fast fields, without scoring: far cheaper than facet collectors when a
//! query matches much of the catalogue.

use std::collections::BTreeMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use crate::domain::vocabulary::{DIMENSIONS, KINDS};

/// The fast field holding a resource's kind as its index in [`KINDS`].
pub const KIND_ORD: &str = "kind_ord";
/// The fast field holding a resource's dimensions as a bit mask over [`DIMENSIONS`].
pub const DIM_MASK: &str = "dim_mask";

pub fn kind_ord(kind: &str) -> u64 {
    KINDS
        .iter()
        .position(|(k, _)| *k == kind)
        .unwrap_or(KINDS.len()) as u64
}

pub fn dim_mask(dimensions: &[String]) -> u64 {
    dimensions
        .iter()
        .filter_map(|d| DIMENSIONS.iter().position(|(c, _)| c == d))
        .fold(0, |mask, i| mask | (1 << i))
}

#[derive(Debug, Default, Clone)]
pub struct Counts {
    pub total: usize,
    kinds: [u64; 4],
    dims: [u64; 12],
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.total += other.total;
        for (a, b) in self.kinds.iter_mut().zip(other.kinds) {
            *a += b;
        }
        for (a, b) in self.dims.iter_mut().zip(other.dims) {
            *a += b;
        }
    }

    /// Non-zero counts by kind code.
    pub fn by_kind(&self) -> BTreeMap<String, u64> {
        KINDS
            .iter()
            .zip(self.kinds)
            .filter(|(_, n)| *n > 0)
            .map(|((code, _), n)| (code.to_string(), n))
            .collect()
    }

    /// Non-zero counts by dimension code.
    pub fn by_dimension(&self) -> BTreeMap<String, u64> {
        DIMENSIONS
            .iter()
            .zip(self.dims)
            .filter(|(_, n)| *n > 0)
            .map(|((code, _), n)| (code.to_string(), n))
            .collect()
    }
}

pub struct CountsCollector;

pub struct SegmentCounts {
    kind: Column<u64>,
    dims: Column<u64>,
    counts: Counts,
}

impl Collector for CountsCollector {
    type Fruit = Counts;
    type Child = SegmentCounts;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<SegmentCounts> {
        Ok(SegmentCounts {
            kind: segment.fast_fields().u64(KIND_ORD)?,
            dims: segment.fast_fields().u64(DIM_MASK)?,
            counts: Counts::default(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Counts>) -> tantivy::Result<Counts> {
        let mut all = Counts::default();
        for f in &fruits {
            all.add(f);
        }
        Ok(all)
    }
}

impl SegmentCollector for SegmentCounts {
    type Fruit = Counts;

    fn collect(&mut self, doc: DocId, _: Score) {
        self.counts.total += 1;
        if let Some(k) = self.kind.first(doc) {
            if let Some(slot) = self.counts.kinds.get_mut(k as usize) {
                *slot += 1;
            }
        }
        let mut mask = self.dims.first(doc).unwrap_or(0);
        while mask != 0 {
            let i = mask.trailing_zeros() as usize;
            if let Some(slot) = self.counts.dims.get_mut(i) {
                *slot += 1;
            }
            mask &= mask - 1;
        }
    }

    fn harvest(self) -> Counts {
        self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_ordinals_and_bits() {
        assert_eq!(kind_ord("policy"), 0);
        assert_eq!(kind_ord("service"), 3);
        assert_eq!(
            dim_mask(&["housing".into(), "safety".into()]),
            1 | (1 << 11)
        );
    }
}
