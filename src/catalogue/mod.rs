//! The resource catalogue: policy, funding, material and service resources.

pub mod access;
pub mod editing;
pub mod export;
pub mod hsds;
pub mod import;
pub mod model;
pub mod repository;
pub mod validation;

pub use model::{ResourceDoc, ResourceRow};
pub use validation::ResourceInput;
