//! Quarterly matchmaking events (资源对接会, seed 002 §1.4.4): an admin
//! creates an event for a region and quarter (or takes the system's
//! proposal), compiles the region's open needs into an aggregated,
//! anonymised need list, reviews it and publishes it; charities pledge
//! against its items; on site the admin records signed agreements that bind
//! a pledge to concrete needs (each referred to the pledged resource); the
//! report follows what was published, pledged, signed and fulfilled.

pub mod agreements;
pub mod calendar;
pub mod lifecycle;
pub mod mailings;
pub mod model;
pub mod need_list;
pub mod pledges;
pub mod privacy;
pub mod report;

pub use model::{EventRow, EventView, ItemView};
