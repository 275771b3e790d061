//! Eligibility rules: JsonLogic, parsed ("compiled") once into a checked
//! tree, evaluated with json-logic-js's semantics against a household's
//! facts, and explained condition by condition.

pub mod eval;
pub mod explain;
pub mod facts;
pub mod js;
pub mod path;
pub mod report;
pub mod rule;
pub mod rulebook;
pub mod screening;

pub use rule::JsonLogicRule;
