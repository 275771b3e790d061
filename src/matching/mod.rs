//! Matching: policy finds people (the facts table, the scanner and its
//! alerts), needs matched to resources, and the three-list bundle.

pub mod alerts;
pub mod bundle;
pub mod facts_table;
pub mod ranking;
pub mod referrals;
pub mod scan;
pub mod worker;
