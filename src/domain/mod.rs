//! Vocabulary and value types shared by every part of aidmatch (SPEC "Domain
//! vocabulary"): codes are part of the contract.

pub mod fields;
pub mod region;
pub mod region_names;
pub mod timestamp;
pub mod vocabulary;

pub use region::RegionCode;
