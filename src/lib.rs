//! aidmatch: a social-assistance resource-matching system (社会救助资源对接平台).
//!
//! The modules follow the architecture: the catalogue of resources, accounts
//! and roles, households, eligibility rules and matching, matchmaking events,
//! mail, the database, and the HTTP surface (JSON API and server-rendered
//! pages).

pub mod api;
pub mod auth;
pub mod catalogue;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod eligibility;
pub mod error;
pub mod events;
pub mod export;
pub mod households;
pub mod import_records;
pub mod mail;
pub mod matching;
pub mod privacy;
pub mod search;
pub mod startup;
pub mod state;
pub mod stats;
pub mod telemetry;
pub mod web;
