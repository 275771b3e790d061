//! Figures for managers: tables of households, needs, resources, referrals
//! and events with server-drawn SVG charts, each downloadable.

pub mod charts;
pub mod figures;
