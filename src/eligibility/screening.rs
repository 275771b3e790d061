//! "People find policy" (人找政策): a resident's answers about their
//! household, read into facts. Nothing of it is stored.
//!
//! The answers take SPEC's "Household profile" shape; a member may give an
//! `age` instead of a `birth_date`, names are optional, and personal values
//! a full profile may carry (ID numbers, phones, address) are ignored.

use chrono::NaiveDate;
use serde_json::{Map, Value};

use super::facts::{FactsInput, MemberFacts};
use crate::domain::fields::FieldReader;
use crate::domain::vocabulary::{
    DISABILITY_TYPES, EMPLOYMENT, HEALTH_TAGS, RELATIONS, SEXES, STUDENT_STAGES,
};
use crate::domain::RegionCode;
use crate::error::FieldError;
use crate::households::validation::{Assets, Housing, Monthly, Profile};

const MAX_MEMBERS: usize = 30;
const MAX_MONEY: f64 = 100_000_000.0;

/// A checked screening request.
#[derive(Debug, Clone, PartialEq)]
pub struct Screening {
    pub input: FactsInput,
    /// `None`: the resident did not say where they live.
    pub region: Option<String>,
    pub as_of: NaiveDate,
}

const PROFILE_FIELDS: &[&str] = &[
    "ref",
    "region",
    "address",
    "contact_phone",
    "hukou_local",
    "housing",
    "assets",
    "monthly",
    "status",
    "members",
    "consent",
    "adviser",
    "identified_on",
];
const MEMBER_FIELDS: &[&str] = &[
    "name",
    "id_number",
    "phone",
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

fn money(r: &mut FieldReader<'_>, field: &str, label: &str) -> Option<Option<f64>> {
    match r.present(field) {
        None => Some(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(x) if (0.0..=MAX_MONEY).contains(&x) => Some(Some(x)),
            _ => {
                r.fail(
                    field,
                    format!("{label}须在 0 到 1 亿元之间 ({field} is out of range)"),
                );
                None
            }
        },
        Some(_) => {
            r.fail(
                field,
                format!("{label}须填写数字 ({field} must be a number)"),
            );
            None
        }
    }
}

fn read_member(
    obj: &Map<String, Value>,
    path: &str,
    index: usize,
    as_of: NaiveDate,
) -> (Option<MemberFacts>, Vec<FieldError>) {
    let mut r = FieldReader::nested(obj, path);
    r.reject_unknown(MEMBER_FIELDS);
    let name = r.string("name", false, 50).unwrap_or_default();
    let relation = r.code("relation", RELATIONS, false);
    let sex = r.code("sex", SEXES, false);
    let birth_date = r.date("birth_date");
    let age = match r.present("age") {
        None => Some(None),
        Some(v) => match v.as_u64() {
            Some(a) if a <= 120 => Some(Some(a as u32)),
            _ => {
                r.fail("age", "年龄须为 0 到 120 之间的整数 (age must be 0–120)");
                None
            }
        },
    };
    if let (Some(None), Some(None)) = (&birth_date, &age) {
        r.fail("age", "请填写年龄 (age or birth_date is required)");
    }
    if let Some(Some(b)) = birth_date {
        if b > as_of {
            r.fail(
                "birth_date",
                "出生日期不能晚于判断日期 (birth_date is after as_of)",
            );
        }
    }
    let grade = match r.present("disability_grade") {
        None => Some(0),
        Some(v) => match v.as_i64() {
            Some(g) if (0..=4).contains(&g) => Some(g),
            _ => {
                r.fail(
                    "disability_grade",
                    "残疾等级须为 0（无）或 1–4 级 (disability_grade is 0–4)",
                );
                None
            }
        },
    };
    let disability_type = r.code("disability_type", DISABILITY_TYPES, false);
    let health = r.codes("health", HEALTH_TAGS, false);
    let employment = r.code("employment", EMPLOYMENT, false);
    let student_stage = r.code("student_stage", STUDENT_STAGES, false);
    let income = money(&mut r, "income_monthly", "月收入");
    let errors = std::mem::take(&mut r.errors);
    if !errors.is_empty() {
        return (None, errors);
    }
    let member = (|| {
        Some(MemberFacts {
            // Named members are masked in explanations; unnamed ones are
            // called 本人 / 家人 N there.
            name,
            relation: relation?.unwrap_or_else(|| if index == 0 { "self" } else { "other" }.into()),
            sex: sex?,
            birth_date: birth_date?,
            age: age?,
            disability_grade: grade?,
            disability_type: disability_type?,
            health: health?,
            employment: employment?,
            student_stage: student_stage?,
            income_monthly: income?,
        })
    })();
    (member, Vec::new())
}

/// Reads `{profile, as_of?}`; every problem is named by its path.
pub fn parse(body: &Value, today: NaiveDate) -> Result<Screening, Vec<FieldError>> {
    let Value::Object(top) = body else {
        return Err(vec![FieldError::new(
            "$",
            "请求须为 JSON 对象 {profile, as_of} (the body must be an object)",
        )]);
    };
    let mut t = FieldReader::new(top);
    t.reject_unknown(&["profile", "as_of"]);
    let as_of = t.date("as_of").flatten().unwrap_or(today);
    let Some(Value::Object(obj)) = t.present("profile") else {
        t.fail("profile", "请填写家庭情况 profile (profile is required)");
        return Err(t.errors);
    };
    let mut r = FieldReader::nested(obj, "profile");
    r.reject_unknown(PROFILE_FIELDS);
    let region = match r.string("region", false, 32) {
        Some(s) if !s.is_empty() => match RegionCode::parse(&s) {
            Ok(code) => Some(code.as_str().to_string()),
            Err(e) => {
                r.fail("region", e);
                None
            }
        },
        _ => None,
    };
    let hukou_local = r.boolean("hukou_local", false);
    let mut part = |name: &str| -> Option<Map<String, Value>> {
        match r.object(name) {
            Some(Some(o)) => Some(o.clone()),
            _ => None,
        }
    };
    let (housing_obj, assets_obj, monthly_obj) = (part("housing"), part("assets"), part("monthly"));
    let mut housing = Housing::default();
    if let Some(o) = &housing_obj {
        let mut h = FieldReader::nested(o, "profile.housing");
        housing.owned = h.boolean("owned", false).flatten();
        housing.area_m2 = h.number("area_m2", 0.0, 10_000.0).flatten();
        r.errors.extend(h.errors);
    }
    let mut assets = Assets::default();
    if let Some(o) = &assets_obj {
        let mut a = FieldReader::nested(o, "profile.assets");
        assets.financial = money(&mut a, "financial", "家庭存款等金融资产").flatten();
        r.errors.extend(a.errors);
    }
    let mut monthly = Monthly::default();
    if let Some(o) = &monthly_obj {
        let mut m = FieldReader::nested(o, "profile.monthly");
        monthly.medical_expense = money(&mut m, "medical_expense", "每月医疗支出").flatten();
        monthly.education_expense = money(&mut m, "education_expense", "每月教育支出").flatten();
        monthly.rent = money(&mut m, "rent", "每月房租").flatten();
        r.errors.extend(m.errors);
    }
    let status = r.target_groups("status").unwrap_or_default();
    let mut members = Vec::new();
    match r.present("members") {
        Some(Value::Array(items)) if !items.is_empty() && items.len() <= MAX_MEMBERS => {
            for (i, item) in items.iter().enumerate() {
                let path = r.path(&format!("members[{i}]"));
                match item {
                    Value::Object(m) => {
                        let (member, errors) = read_member(m, &path, i, as_of);
                        r.errors.extend(errors);
                        members.extend(member);
                    }
                    _ => r.errors.push(FieldError::new(
                        path,
                        "成员须为对象 (a member must be an object)",
                    )),
                }
            }
        }
        Some(Value::Array(items)) if items.len() > MAX_MEMBERS => {
            r.fail(
                "members",
                format!("成员不能超过 {MAX_MEMBERS} 人 (too many members)"),
            );
        }
        _ => r.fail(
            "members",
            "请至少填写一位家庭成员 (at least one member is required)",
        ),
    }
    let mut errors = t.errors;
    errors.extend(r.errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Screening {
        input: FactsInput {
            region: region.clone().unwrap_or_default(),
            profile: Profile {
                hukou_local: hukou_local.flatten(),
                housing,
                assets,
                monthly,
                status,
            },
            members,
        },
        region,
        as_of,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    #[test]
    fn answers_become_facts_and_mistakes_are_named() {
        let s = parse(
            &json!({"profile": {"hukou_local": true, "region": "310118-003",
                                "members": [{"age": 82, "income_monthly": 1200}, {"birth_date": "2015-06-01"}]}}),
            today(),
        )
        .unwrap();
        assert_eq!(s.region.as_deref(), Some("310118-003"));
        assert_eq!(s.input.members[0].age, Some(82));
        assert_eq!(s.input.members[0].name, "");
        assert_eq!(s.as_of, today());
        let errors = parse(
            &json!({"profile": {"hukou_local": "yes", "members": [{"age": 200}, {}]}, "as_of": "x"}),
            today(),
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "as_of",
                "profile.hukou_local",
                "profile.members[0].age",
                "profile.members[1].age"
            ]
        );
        assert!(parse(&json!({}), today()).is_err());
    }
}
