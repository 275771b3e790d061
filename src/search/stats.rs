//! Facet counts (total, per kind, per dimension) and the fast field they
//! are counted from.

use std::collections::BTreeMap;

use crate::domain::vocabulary::{DIMENSIONS, KINDS};

/// The fast field holding a resource's kind and dimensions: the kind's
/// index in [`KINDS`] above bit 16, a bit mask over [`DIMENSIONS`] below.
pub const FACET_KEY: &str = "facet_key";
pub const KIND_SHIFT: u32 = 16;

pub fn facet_key(kind: &str, dimensions: &[String]) -> u64 {
    (kind_ord(kind) << KIND_SHIFT) | dim_mask(dimensions)
}

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
    pub(super) kinds: [u64; KINDS.len()],
    pub(super) dims: [u64; DIMENSIONS.len()],
}

impl Counts {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_ordinals_and_bits() {
        assert_eq!(kind_ord("policy"), 0);
        assert_eq!(kind_ord("service"), 3);
        assert_eq!(facet_key("service", &["housing".into()]), (3 << 16) | 1);
        assert_eq!(
            dim_mask(&["housing".into(), "safety".into()]),
            1 | (1 << 11)
        );
    }
}
