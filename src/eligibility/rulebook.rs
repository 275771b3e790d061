//! The rule book: every published resource with an eligibility rule, its
//! rule parsed once and kept in memory. It is reloaded from the database
//! when a resource has changed since it was loaded (the change log says
//! so), so every instance agrees with the database and no rule is parsed
//! per evaluation.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::NaiveDate;
use diesel::prelude::*;

use super::explain::{judge, Outcome};
use super::facts::Facts;
use super::JsonLogicRule;
use crate::catalogue::model::Apply;
use crate::catalogue::ResourceRow;
use crate::db::schema::{change_log, resources};
use crate::db::DbConnection;
use crate::domain::RegionCode;
use crate::error::AppError;

/// A published resource with a rule.
#[derive(Debug, Clone)]
pub struct RuledResource {
    pub ref_code: String,
    pub kind: String,
    pub title: String,
    pub summary: String,
    pub provider: String,
    pub region: String,
    pub benefit: String,
    pub dimensions: Vec<String>,
    pub target_groups: Vec<String>,
    pub apply: Apply,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub version: i64,
    pub rule: JsonLogicRule,
    /// The region as a scope, parsed once (`None`: not a valid code, which
    /// covers nothing).
    scope: Option<RegionCode>,
}

impl RuledResource {
    fn of(row: &ResourceRow) -> Option<RuledResource> {
        let rule = JsonLogicRule::parse(&row.eligibility_json()?).ok()?;
        Some(RuledResource {
            ref_code: row.ref_code.clone(),
            kind: row.kind.clone(),
            title: row.title.clone(),
            summary: row.summary.clone(),
            provider: row.provider.clone(),
            region: row.region.clone(),
            benefit: row.benefit.clone(),
            dimensions: row.dimension_codes(),
            target_groups: row.target_group_codes(),
            apply: row.apply_info(),
            valid_from: row.valid_from,
            valid_until: row.valid_until,
            version: row.version,
            rule,
            scope: RegionCode::parse(&row.region).ok(),
        })
    }

    pub fn valid_on(&self, day: NaiveDate) -> bool {
        self.valid_from.is_none_or(|f| f <= day) && self.valid_until.is_none_or(|u| day <= u)
    }

    /// Whether the resource's region scope covers `region` (`None`: the
    /// region is not known, every scope is considered).
    pub fn covers(&self, region: Option<&str>) -> bool {
        match region {
            None => true,
            Some(r) => self.scope.as_ref().is_some_and(|scope| scope.covers(r)),
        }
    }
}

/// The rule book as loaded at one point of the change log.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The newest resource change it reflects.
    pub seq: i64,
    pub resources: Vec<Arc<RuledResource>>,
    /// Ref → position in `resources`.
    by_ref: HashMap<String, usize>,
}

impl Loaded {
    /// Published policies valid on `as_of` whose scope covers `region`.
    pub fn policies<'a>(
        &'a self,
        region: Option<&'a str>,
        as_of: NaiveDate,
    ) -> impl Iterator<Item = &'a Arc<RuledResource>> + 'a {
        self.resources
            .iter()
            .filter(move |r| r.kind == "policy" && r.valid_on(as_of) && r.covers(region))
    }

    pub fn get(&self, ref_code: &str) -> Option<&Arc<RuledResource>> {
        self.by_ref.get(ref_code).map(|&i| &self.resources[i])
    }
}

/// One policy's result for one household.
#[derive(Debug, Clone)]
pub struct Screened {
    pub resource: Arc<RuledResource>,
    pub outcome: Outcome,
}

/// The near misses listed (and worded) at most; the rest are counted.
pub const NEAR_MISSES_LISTED: usize = 20;

/// A household's screening: the eligible policies and the first
/// [`NEAR_MISSES_LISTED`] near misses, each in catalogue order.
#[derive(Debug, Clone, Default)]
pub struct Screen {
    pub eligible: Vec<Screened>,
    pub near: Vec<Screened>,
    /// Every near miss, listed or not.
    pub near_total: usize,
}

/// Screens `facts` against `policies`.
pub fn screen<'a>(policies: impl Iterator<Item = &'a Arc<RuledResource>>, facts: &Facts) -> Screen {
    let mut out = Screen::default();
    for p in policies {
        // Most policies fail on several conditions: word only the rest.
        let verdict = judge(&p.rule, facts);
        if verdict.near_miss() {
            out.near_total += 1;
            if out.near.len() >= NEAR_MISSES_LISTED {
                continue;
            }
        }
        let Some(outcome) = verdict.word(&p.rule, facts) else {
            continue;
        };
        let list = if verdict.eligible() {
            &mut out.eligible
        } else {
            &mut out.near
        };
        list.push(Screened {
            resource: p.clone(),
            outcome,
        });
    }
    out
}

#[derive(Default)]
pub struct RuleBook {
    loaded: RwLock<Arc<Loaded>>,
}

fn newest_resource_change(conn: &mut DbConnection) -> Result<i64, AppError> {
    Ok(change_log::table
        .filter(change_log::entity.eq("resource"))
        .select(diesel::dsl::max(change_log::seq))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0))
}

impl RuleBook {
    /// The rule book as of the database's newest resource change.
    pub fn current(&self, conn: &mut DbConnection) -> Result<Arc<Loaded>, AppError> {
        let seq = newest_resource_change(conn)?;
        {
            let loaded = self.loaded.read().map_err(|_| poisoned())?;
            if loaded.seq == seq && seq != 0 {
                return Ok(loaded.clone());
            }
        }
        let rows: Vec<ResourceRow> = resources::table
            .filter(resources::status.eq("published"))
            .filter(resources::eligibility.is_not_null())
            .order(resources::id.asc())
            .select(ResourceRow::as_select())
            .load(conn)?;
        let resources: Vec<Arc<RuledResource>> = rows
            .iter()
            .filter_map(RuledResource::of)
            .map(Arc::new)
            .collect();
        let fresh = Arc::new(Loaded {
            seq,
            by_ref: resources
                .iter()
                .enumerate()
                .map(|(i, r)| (r.ref_code.clone(), i))
                .collect(),
            resources,
        });
        *self.loaded.write().map_err(|_| poisoned())? = fresh.clone();
        Ok(fresh)
    }
}

fn poisoned() -> AppError {
    AppError::Internal("rule book lock poisoned".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eligibility::facts::{derive, FactsInput, MemberFacts};
    use serde_json::json;

    fn policy(n: usize, limit: i64) -> Arc<RuledResource> {
        let rule = json!({"and": [{"==": [{"var": "hukou_local"}, true]},
                                   {"<": [{"var": "income_per_capita"}, limit]}]});
        Arc::new(RuledResource {
            ref_code: format!("P-{n}"),
            kind: "policy".into(),
            title: format!("政策 {n}"),
            summary: String::new(),
            provider: String::new(),
            region: "310118".into(),
            benefit: String::new(),
            dimensions: Vec::new(),
            target_groups: Vec::new(),
            apply: Apply::default(),
            valid_from: None,
            valid_until: None,
            version: 1,
            rule: JsonLogicRule::parse(&rule).unwrap(),
            scope: RegionCode::parse("310118").ok(),
        })
    }

    #[test]
    fn near_misses_are_listed_up_to_the_limit_and_all_counted() {
        // 3 policies the household meets, 25 it misses on income alone.
        let policies: Vec<Arc<RuledResource>> = (0..28)
            .map(|n| policy(n, if n < 3 { 5000 } else { 1000 }))
            .collect();
        let mut input = FactsInput {
            region: "310118-003-012".into(),
            ..Default::default()
        };
        input.profile.hukou_local = Some(true);
        input.members = vec![MemberFacts {
            name: "张三".into(),
            income_monthly: Some(2000.0),
            ..Default::default()
        }];
        let facts = derive(
            &input,
            chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        );
        let found = screen(policies.iter(), &facts);
        assert_eq!(found.eligible.len(), 3);
        assert_eq!(found.near.len(), NEAR_MISSES_LISTED);
        assert_eq!(found.near_total, 25);
        assert_eq!(found.near[0].resource.ref_code, "P-3", "catalogue order");
        assert_eq!(
            found.near[0].outcome.near_miss().unwrap().text,
            "家庭月人均收入 2000 元，高于 1000 元"
        );
        // A scope that does not cover the household leaves the policy out.
        let book = Loaded {
            seq: 1,
            by_ref: HashMap::new(),
            resources: policies,
        };
        assert_eq!(book.policies(Some("310104-001"), facts_day()).count(), 0);
        assert_eq!(book.policies(Some("310118-003"), facts_day()).count(), 28);
    }

    fn facts_day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }
}
