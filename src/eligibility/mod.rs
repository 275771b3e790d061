//! Eligibility rules: JsonLogic, parsed ("compiled") once into a checked tree.

pub mod rule;

pub use rule::JsonLogicRule;
