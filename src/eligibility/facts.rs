//! A household's facts (SPEC "Eligibility rules"): what a rule's `var`s
//! name, derived from the profile on an `as_of` date — ages in whole years
//! on that date, per-capita figures over the members.

use chrono::NaiveDate;
use serde_json::{json, Map, Value};

use crate::households::repository::{Household, MemberRow};
use crate::households::validation::Profile;

/// One member as the facts see them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemberFacts {
    pub name: String,
    pub relation: String,
    pub sex: Option<String>,
    pub birth_date: Option<NaiveDate>,
    /// Given directly when there is no birth date (a resident's answer).
    pub age: Option<u32>,
    pub disability_grade: i64,
    pub disability_type: Option<String>,
    pub health: Vec<String>,
    pub employment: Option<String>,
    pub student_stage: Option<String>,
    pub income_monthly: Option<f64>,
}

impl MemberFacts {
    pub fn of(m: &MemberRow) -> MemberFacts {
        MemberFacts {
            name: m.name.clone(),
            relation: m.relation.clone(),
            sex: m.sex.clone(),
            birth_date: m.birth_date,
            age: None,
            disability_grade: m.disability_grade,
            disability_type: m.disability_type.clone(),
            health: m.health(),
            employment: m.employment.clone(),
            student_stage: m.student_stage.clone(),
            income_monthly: m.income_monthly,
        }
    }

    /// Whole years on `as_of` (from the birth date when there is one).
    pub fn age_on(&self, as_of: NaiveDate) -> Option<u32> {
        match self.birth_date {
            Some(b) => as_of.years_since(b),
            None => self.age,
        }
    }
}

/// What facts are derived from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FactsInput {
    pub region: String,
    pub profile: Profile,
    pub members: Vec<MemberFacts>,
}

impl FactsInput {
    pub fn of(h: &Household) -> FactsInput {
        FactsInput {
            region: h.row.region.clone(),
            profile: h.row.profile(),
            members: h.members.iter().map(MemberFacts::of).collect(),
        }
    }
}

/// The household facts, in slot order (`members` is kept apart).
pub const HOUSEHOLD_FACTS: [&str; 13] = [
    "hukou_local",
    "region",
    "status",
    "size",
    "income_total",
    "income_per_capita",
    "financial_assets_per_capita",
    "housing_owned",
    "housing_area_per_capita",
    "medical_expense_monthly",
    "education_expense_monthly",
    "rent_monthly",
    "lives_alone",
];

/// A member's facts, in slot order.
pub const MEMBER_FACTS: [&str; 11] = [
    "name",
    "relation",
    "sex",
    "birth_date",
    "age",
    "disability_grade",
    "disability_type",
    "health",
    "employment",
    "student_stage",
    "income_monthly",
];

/// The slot of a household fact.
pub fn household_slot(name: &str) -> Option<usize> {
    HOUSEHOLD_FACTS.iter().position(|f| *f == name)
}

/// The slot of a member fact.
pub fn member_slot(name: &str) -> Option<usize> {
    MEMBER_FACTS.iter().position(|f| *f == name)
}

/// One member's facts, by slot.
pub type MemberFactSlots = [Value; MEMBER_FACTS.len()];

/// A household's facts (SPEC), held by slot: what a rule is evaluated
/// against. [`Facts::to_json`] gives the same facts as the JSON object a
/// rule's `var`s name.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub household: [Value; HOUSEHOLD_FACTS.len()],
    pub members: Vec<MemberFactSlots>,
}

impl Facts {
    /// One household fact by name (`null` when unknown).
    pub fn get(&self, name: &str) -> &Value {
        const NULL: Value = Value::Null;
        household_slot(name)
            .map(|i| &self.household[i])
            .unwrap_or(&NULL)
    }

    /// The members as a JSON array of objects.
    pub fn members_json(&self) -> Value {
        Value::Array(self.members.iter().map(member_json).collect())
    }

    /// The facts as one JSON object.
    pub fn to_json(&self) -> Value {
        let mut map: Map<String, Value> = HOUSEHOLD_FACTS
            .iter()
            .zip(&self.household)
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        map.insert("members".into(), self.members_json());
        Value::Object(map)
    }
}

/// One member's facts as a JSON object.
pub fn member_json(slots: &MemberFactSlots) -> Value {
    Value::Object(
        MEMBER_FACTS
            .iter()
            .zip(slots)
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

fn per_capita(total: Option<f64>, size: usize) -> Value {
    match total {
        Some(t) if size > 0 => json!(t / size as f64),
        _ => Value::Null,
    }
}

fn opt<T: serde::Serialize>(v: &Option<T>) -> Value {
    v.as_ref().map(|x| json!(x)).unwrap_or(Value::Null)
}

/// The facts on `as_of`.
pub fn derive(input: &FactsInput, as_of: NaiveDate) -> Facts {
    let p = &input.profile;
    let size = input.members.len();
    let income_total: f64 = input.members.iter().filter_map(|m| m.income_monthly).sum();
    let members = input
        .members
        .iter()
        .map(|m| {
            [
                json!(m.name),
                json!(m.relation),
                opt(&m.sex),
                opt(&m.birth_date),
                opt(&m.age_on(as_of)),
                json!(m.disability_grade),
                opt(&m.disability_type),
                json!(m.health),
                opt(&m.employment),
                opt(&m.student_stage),
                opt(&m.income_monthly),
            ]
        })
        .collect();
    Facts {
        household: [
            opt(&p.hukou_local),
            json!(input.region),
            json!(p.status),
            json!(size),
            json!(income_total),
            per_capita(Some(income_total), size),
            per_capita(p.assets.financial, size),
            opt(&p.housing.owned),
            per_capita(p.housing.area_m2, size),
            opt(&p.monthly.medical_expense),
            opt(&p.monthly.education_expense),
            opt(&p.monthly.rent),
            json!(size == 1),
        ],
        members,
    }
}

/// How a fact is named in Chinese, and its unit.
pub fn label(fact: &str) -> Option<(&'static str, &'static str)> {
    Some(match fact {
        "hukou_local" => ("本市户籍", ""),
        "region" => ("所在地区", ""),
        "status" => ("现享救助", ""),
        "size" => ("家庭人口", "人"),
        "income_total" => ("家庭月收入", "元"),
        "income_per_capita" => ("家庭月人均收入", "元"),
        "financial_assets_per_capita" => ("人均金融资产", "元"),
        "housing_owned" => ("自有住房", ""),
        "housing_area_per_capita" => ("人均住房面积", "平方米"),
        "medical_expense_monthly" => ("每月医疗支出", "元"),
        "education_expense_monthly" => ("每月教育支出", "元"),
        "rent_monthly" => ("每月房租", "元"),
        "lives_alone" => ("独居", ""),
        "members" => ("家庭成员", ""),
        "members.length" => ("家庭成员人数", "人"),
        // A member's own facts (inside some / all / none over members).
        "age" => ("年龄", "岁"),
        "sex" => ("性别", ""),
        "relation" => ("与户主关系", ""),
        "disability_grade" => ("残疾等级", "级"),
        "disability_type" => ("残疾类别", ""),
        "health" => ("健康状况", ""),
        "employment" => ("就业状况", ""),
        "student_stage" => ("在学阶段", ""),
        "income_monthly" => ("月收入", "元"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn facts_follow_the_spec() {
        let mut input = FactsInput {
            region: "310118-003-012".into(),
            ..Default::default()
        };
        input.profile.hukou_local = Some(true);
        input.profile.assets.financial = Some(20000.0);
        input.profile.housing.area_m2 = Some(32.0);
        input.members = vec![
            MemberFacts {
                name: "张三".into(),
                birth_date: Some(d("1946-11-23")),
                income_monthly: Some(2600.0),
                ..Default::default()
            },
            MemberFacts {
                name: "李四".into(),
                birth_date: Some(d("1946-11-24")),
                income_monthly: None,
                ..Default::default()
            },
        ];
        let f = derive(&input, d("2026-11-23")).to_json();
        assert_eq!(f["size"], 2);
        assert_eq!(f["income_total"], 2600.0);
        assert_eq!(f["income_per_capita"], 1300.0);
        assert_eq!(f["financial_assets_per_capita"], 10000.0);
        assert_eq!(f["housing_area_per_capita"], 16.0);
        assert_eq!(f["lives_alone"], false);
        assert_eq!(f["housing_owned"], Value::Null);
        // Turning 80 on the day counts; the day after the birthday does not yet.
        assert_eq!(f["members"][0]["age"], 80);
        assert_eq!(f["members"][1]["age"], 79);
    }
}
