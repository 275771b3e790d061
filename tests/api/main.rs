//! Black-box tests: each spawns the real server with a fresh database and
//! talks HTTP (and runs the real `aidmatch` binary for imports).

mod alerts;
mod auth;
mod backup;
mod browser;
mod bundles;
mod crash;
mod event_pages;
mod events;
mod exports;
mod faults;
mod helpers;
mod household_pages;
mod households;
mod hsds;
mod import;
mod instances;
mod mail;
mod pages;
mod privacy;
mod referrals;
mod relevance;
mod resources;
mod screening;
mod search;
mod stats;
mod workbooks;
