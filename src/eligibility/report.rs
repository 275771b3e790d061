//! Screening results as the API and pages show them.

use serde::{Deserialize, Serialize};

use super::facts::derive;
use super::rulebook::{screen, RuleBook, Screened};
use super::screening::Screening;
use crate::catalogue::model::Apply;
use crate::db::DbConnection;
use crate::error::AppError;

/// An eligible policy: why, and how to apply.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EligiblePolicy {
    #[serde(rename = "ref")]
    pub ref_code: String,
    pub title: String,
    pub kind: String,
    pub provider: String,
    pub summary: String,
    pub benefit: String,
    pub reasons: Vec<String>,
    pub apply: Apply,
}

/// A policy missed on exactly one condition.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NearMiss {
    #[serde(rename = "ref")]
    pub ref_code: String,
    pub title: String,
    /// The one condition that failed.
    pub failed: String,
    /// The conditions that held.
    pub held: Vec<String>,
}

impl EligiblePolicy {
    pub fn of(s: &Screened) -> EligiblePolicy {
        let r = &s.resource;
        EligiblePolicy {
            ref_code: r.ref_code.clone(),
            title: r.title.clone(),
            kind: r.kind.clone(),
            provider: r.provider.clone(),
            summary: r.summary.clone(),
            benefit: r.benefit.clone(),
            reasons: s.outcome.reasons(),
            apply: r.apply.clone(),
        }
    }
}

impl NearMiss {
    pub fn of(s: &Screened) -> Option<NearMiss> {
        let failed = s.outcome.near_miss()?;
        Some(NearMiss {
            ref_code: s.resource.ref_code.clone(),
            title: s.resource.title.clone(),
            failed: failed.text.clone(),
            held: s
                .outcome
                .conditions
                .iter()
                .filter(|c| c.held)
                .map(|c| c.text.clone())
                .collect(),
        })
    }
}

/// What a screening answers.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScreeningResult {
    pub as_of: chrono::NaiveDate,
    pub region: Option<String>,
    pub eligible: Vec<EligiblePolicy>,
    /// The first near misses (at most 20), in catalogue order.
    pub near_misses: Vec<NearMiss>,
    /// How many near misses there are in all.
    pub near_misses_total: usize,
}

/// Screens the answers against every published policy valid on their date
/// whose region scope covers them. Nothing is stored.
pub fn run(
    conn: &mut DbConnection,
    book: &RuleBook,
    s: &Screening,
) -> Result<ScreeningResult, AppError> {
    let loaded = book.current(conn)?;
    let facts = derive(&s.input, s.as_of);
    let found = screen(loaded.policies(s.region.as_deref(), s.as_of), &facts);
    Ok(ScreeningResult {
        as_of: s.as_of,
        region: s.region.clone(),
        eligible: found.eligible.iter().map(EligiblePolicy::of).collect(),
        near_misses: found.near.iter().filter_map(NearMiss::of).collect(),
        near_misses_total: found.near_total,
    })
}
