//! Matching a need to resources: candidates are the newest resources of
//! the need's dimension in scope and those the search index finds for its
//! words (within the dimension and beyond it); their rows are read from the
//! database, and they are kept when they are
//! published, valid, cover the household's region, have capacity left and
//! the household meets their rule, and are ranked by dimension and target
//! group fit, eligibility, text relevance, locality and capacity. Every
//! match says why it was ranked.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalogue::ResourceRow;
use crate::db::schema::resources;
use crate::db::DbConnection;
use crate::domain::vocabulary::{self, DIMENSIONS, TARGET_GROUPS};
use crate::domain::RegionCode;
use crate::eligibility::eval::holds;
use crate::eligibility::facts::Facts;
use crate::eligibility::rulebook::Loaded;
use crate::error::AppError;
use crate::households::needs::NeedDoc;
use crate::search::query::SearchRequest;
use crate::search::SearchIndex;

/// The most resources of a need's dimension considered beyond those its
/// words find.
const MAX_DIMENSION_CANDIDATES: usize = 300;

/// A resource suggested for a need, with its score and reasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Match {
    #[serde(rename = "ref")]
    pub ref_code: String,
    pub kind: String,
    pub title: String,
    pub provider: String,
    pub region: String,
    pub benefit: String,
    /// Units left (`None`: no capacity is kept, e.g. a policy).
    pub remaining: Option<i64>,
    pub unit: Option<String>,
    pub score: f64,
    pub why: Vec<String>,
}

/// The target groups a household belongs to, from its facts: the statuses
/// it holds and what its members' ages, disabilities, health and work say.
pub fn household_groups(facts: &Value) -> HashSet<String> {
    let mut groups: HashSet<String> = facts
        .get("status")
        .and_then(Value::as_array)
        .map(|s| {
            s.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let members = facts
        .get("members")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let lives_alone = facts.get("lives_alone") == Some(&Value::Bool(true));
    for m in &members {
        let age = m.get("age").and_then(Value::as_u64);
        if age.is_some_and(|a| a >= 60) {
            groups.insert("elderly".into());
            if lives_alone {
                groups.insert("elderly_alone".into());
            }
        }
        if age.is_some_and(|a| a < 18) {
            groups.insert("child".into());
        }
        if m.get("disability_grade")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            > 0
        {
            groups.insert("disabled".into());
        }
        if m.get("employment").and_then(Value::as_str) == Some("unemployed") {
            groups.insert("unemployed".into());
        }
        let health = m.get("health").and_then(Value::as_array);
        if health.is_some_and(|h| h.iter().any(|t| t == "serious_illness")) {
            groups.insert("serious_illness".into());
        }
        if m.get("sex").and_then(Value::as_str) == Some("F") {
            groups.insert("women".into());
        }
    }
    groups
}

/// The best `limit` resources for `need` of a household with `facts` in
/// `region`, on `as_of`.
#[allow(clippy::too_many_arguments)]
pub fn match_need(
    conn: &mut DbConnection,
    search: &SearchIndex,
    book: &Loaded,
    region: &str,
    facts: &Facts,
    groups: &HashSet<String>,
    need: &NeedDoc,
    as_of: NaiveDate,
    limit: usize,
) -> Result<Vec<Match>, AppError> {
    let region_code = RegionCode::parse(region).ok();
    // Text relevance of the title, and of the detail on its own (a long
    // query needs half its words in a resource), within the dimension and
    // beyond it.
    let mut relevance: HashMap<String, f32> = HashMap::new();
    let mut words: Vec<String> = Vec::new();
    let texts = [need.title.trim(), need.detail.trim()];
    for text in texts.iter().filter(|t| !t.is_empty()) {
        let base = SearchRequest {
            q: text.to_string(),
            region: region_code.clone(),
            valid_on: Some(as_of),
            available: true,
            page: 1,
            per_page: 50,
            ..Default::default()
        };
        let within = search.search(&SearchRequest {
            dimensions: vec![need.dimension.clone()],
            ..base.clone()
        })?;
        let beyond = search.search(&SearchRequest {
            per_page: 20,
            ..base
        })?;
        for w in &within.words {
            if !words.contains(w) {
                words.push(w.clone());
            }
        }
        for h in within.hits.iter().chain(&beyond.hits) {
            let e = relevance.entry(h.ref_code.clone()).or_insert(0.0);
            *e = e.max(h.score);
        }
    }
    let top = relevance.values().copied().fold(0.0f32, f32::max);
    // Candidates: the words' best matches, and the newest resources of the
    // need's dimension that the index finds in scope, valid and available.
    // Their rows come from the database (the source of truth: the index
    // may lag a write by a moment) and are checked again below.
    let mut refs: Vec<String> = relevance.keys().cloned().collect();
    refs.extend(search.filtered_refs(
        &SearchRequest {
            dimensions: vec![need.dimension.clone()],
            region: region_code.clone(),
            valid_on: Some(as_of),
            available: true,
            ..Default::default()
        },
        MAX_DIMENSION_CANDIDATES,
    )?);
    refs.sort();
    refs.dedup();
    let mut rows: Vec<ResourceRow> = Vec::with_capacity(refs.len());
    for chunk in refs.chunks(500) {
        // By ref only: with a status condition SQLite would walk the status
        // index over the whole catalogue instead.
        rows.extend(
            resources::table
                .filter(resources::ref_code.eq_any(chunk))
                .select(ResourceRow::as_select())
                .load::<ResourceRow>(conn)?
                .into_iter()
                .filter(|r| r.status == "published"),
        );
    }
    let dimension_label = vocabulary::label(DIMENSIONS, &need.dimension);
    let mut matches: Vec<Match> = Vec::new();
    for r in rows {
        // Hard conditions: validity, scope, capacity, eligibility.
        if r.valid_from.is_some_and(|f| f > as_of) || r.valid_until.is_some_and(|u| u < as_of) {
            continue;
        }
        if !RegionCode::parse(&r.region).is_ok_and(|s| s.covers(region)) {
            continue;
        }
        let capacity = r.capacity();
        if capacity
            .as_ref()
            .is_some_and(|c| c.remaining < need.quantity.max(1))
        {
            continue;
        }
        let mut why = Vec::new();
        let mut score = 0.0;
        if r.eligibility.is_some() {
            let Some(ruled) = book.get(&r.ref_code) else {
                continue;
            };
            if !holds(ruled.rule.root(), facts) {
                continue;
            }
            score += 1.0;
            why.push("符合资格条件".to_string());
        }
        if r.dimension_codes().contains(&need.dimension) {
            score += 3.0;
            why.insert(0, format!("对应需求维度：{dimension_label}"));
        }
        let target_groups = r.target_group_codes();
        let shared: Vec<&str> = target_groups
            .iter()
            .filter(|g| groups.contains(*g))
            .map(|g| vocabulary::label(TARGET_GROUPS, g))
            .collect();
        if !shared.is_empty() {
            score += 0.75 * shared.len().min(2) as f64;
            why.push(format!("服务对象相符：{}", shared.join("、")));
        }
        if let Some(rel) = relevance.get(&r.ref_code).filter(|_| top > 0.0) {
            let part = 2.0 * f64::from(*rel / top);
            score += part;
            if !words.is_empty() && part >= 0.5 {
                why.push(format!("与需求描述相关（{}）", words.join("、")));
            }
        }
        // A street's or community's own resource is the nearest help.
        if r.region.contains('-') {
            score += 0.5;
            why.push("本街道/社区的资源".to_string());
        }
        if let Some(c) = &capacity {
            score += 0.25;
            why.push(format!("剩余 {} {}", c.remaining, c.unit));
        }
        if score < 1.0 {
            continue; // neither the dimension nor the words fit
        }
        matches.push(Match {
            ref_code: r.ref_code.clone(),
            kind: r.kind.clone(),
            title: r.title.clone(),
            provider: r.provider.clone(),
            region: r.region.clone(),
            benefit: r.benefit.clone(),
            remaining: capacity.as_ref().map(|c| c.remaining),
            unit: capacity.map(|c| c.unit),
            score: (score * 100.0).round() / 100.0,
            why,
        });
    }
    matches.sort_by(|a, b| {
        b.score
            .partial_cmp(&a.score)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.ref_code.cmp(&b.ref_code))
    });
    matches.truncate(limit);
    Ok(matches)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn groups_come_from_status_and_members() {
        let g = household_groups(&json!({"status": ["dibao"], "lives_alone": true,
            "members": [{"age": 82, "disability_grade": 2, "health": ["serious_illness"], "sex": "F"}]}));
        for code in [
            "dibao",
            "elderly",
            "elderly_alone",
            "disabled",
            "serious_illness",
            "women",
        ] {
            assert!(g.contains(code), "{code}");
        }
        assert!(!g.contains("child"));
    }
}
