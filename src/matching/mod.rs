//! Matching: policy finds people (the facts table, the scanner and its
//! alerts).

pub mod alerts;
pub mod facts_table;
pub mod scan;
pub mod worker;
