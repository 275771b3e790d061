//! Checks a household document (SPEC "Household profile") field by field:
//! the result is a [`HouseholdInput`] whose every field is valid, or every
//! field that is not, named by its path (`members[1].id_number`).

use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::id_number::{self, IdNumber};
use super::phone;
use crate::domain::fields::FieldReader;
use crate::domain::vocabulary::{
    DISABILITY_TYPES, EMPLOYMENT, HEALTH_TAGS, RELATIONS, SEXES, STUDENT_STAGES,
};
use crate::domain::RegionCode;
use crate::error::FieldError;

static REF_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$").expect("valid regex"));

/// Fields of the contract, plus the bookkeeping ones responses add (ignored
/// on input, so a fetched document can be sent back).
const HOUSEHOLD_FIELDS: &[&str] = &[
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
const HOUSEHOLD_OUTPUT_FIELDS: &[&str] = &[
    "version",
    "head_name",
    "consent_by",
    "consent_at",
    "record_status",
    "created_by",
    "created_at",
    "updated_by",
    "updated_at",
    "latest_assessment",
    "masked",
];
const MEMBER_FIELDS: &[&str] = &[
    "name",
    "id_number",
    "phone",
    "relation",
    "sex",
    "birth_date",
    "disability_grade",
    "disability_type",
    "health",
    "employment",
    "student_stage",
    "income_monthly",
    "age",
];
/// What may be kept before consent is recorded (besides bookkeeping).
const WITHOUT_CONSENT: &[&str] = &[
    "ref",
    "region",
    "consent",
    "members",
    "adviser",
    "identified_on",
];

const MAX_MEMBERS: usize = 30;
const MAX_NAME: usize = 50;
const MAX_ADDRESS: usize = 200;
const MAX_MONEY: f64 = 100_000_000.0;

/// The parts of a profile that are not personal data (kept as JSON).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hukou_local: Option<bool>,
    #[serde(default)]
    pub housing: Housing,
    #[serde(default)]
    pub assets: Assets,
    #[serde(default)]
    pub monthly: Monthly,
    #[serde(default)]
    pub status: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Housing {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owned: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area_m2: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Assets {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub financial: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Monthly {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub medical_expense: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub education_expense: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rent: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MemberInput {
    pub name: String,
    pub id_number: Option<IdNumber>,
    pub phone: Option<String>,
    pub relation: String,
    pub sex: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub disability_grade: i64,
    pub disability_type: Option<String>,
    pub health: Vec<String>,
    pub employment: Option<String>,
    pub student_stage: Option<String>,
    pub income_monthly: Option<f64>,
}

/// A household document whose fields have all been checked.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdInput {
    /// `None`: a new ref is given on create.
    pub ref_code: Option<String>,
    pub region: RegionCode,
    pub consent: bool,
    pub address: Option<String>,
    pub contact_phone: Option<String>,
    pub profile: Profile,
    pub members: Vec<MemberInput>,
    /// The adviser's username; `None` leaves it to the caller.
    pub adviser: Option<String>,
    pub identified_on: Option<NaiveDate>,
}

impl HouseholdInput {
    /// The name the household is known by: its head's (or first member's).
    pub fn head_name(&self) -> &str {
        self.members
            .iter()
            .find(|m| m.relation == "self")
            .or(self.members.first())
            .map(|m| m.name.as_str())
            .unwrap_or_default()
    }
}

fn money(r: &mut FieldReader<'_>, field: &str) -> Option<Option<f64>> {
    r.number(field, 0.0, MAX_MONEY)
}

fn read_member(
    obj: &Map<String, Value>,
    path: &str,
    today: NaiveDate,
    consent: bool,
) -> (Option<MemberInput>, Vec<FieldError>) {
    let mut r = FieldReader::nested(obj, path);
    r.reject_unknown(MEMBER_FIELDS);
    if !consent {
        let beyond: Vec<String> = obj
            .iter()
            .filter(|(k, v)| !v.is_null() && !matches!(k.as_str(), "name" | "relation"))
            .map(|(k, _)| k.clone())
            .collect();
        for key in beyond {
            r.fail(
                &key,
                "未记录本人同意前只能保存姓名和地区 (without consent only a name and region may be kept)",
            );
        }
    }
    let name = r.string("name", true, MAX_NAME);
    let relation = r
        .code("relation", RELATIONS, false)
        .map(|rel| rel.unwrap_or_else(|| "self".into()));
    let sex = r.code("sex", SEXES, false);
    let birth_date = r.date("birth_date");
    let id_number = match r.string("id_number", false, 32) {
        Some(s) if !s.is_empty() => match id_number::parse(&s) {
            Ok(id) => Some(Some(id)),
            Err(e) => {
                r.fail("id_number", e.to_string());
                None
            }
        },
        Some(_) => Some(None),
        None if r.present("id_number").is_none() => Some(None),
        None => None,
    };
    let phone = match r.string("phone", false, 32) {
        Some(s) if !s.is_empty() => match phone::normalise(&s) {
            Ok(p) => Some(Some(p)),
            Err(e) => {
                r.fail("phone", e);
                None
            }
        },
        Some(_) => Some(None),
        None if r.present("phone").is_none() => Some(None),
        None => None,
    };
    let grade = r.integer("disability_grade", 0, 4);
    let disability_type = r.code("disability_type", DISABILITY_TYPES, false);
    let health = r.codes("health", HEALTH_TAGS, false);
    let employment = r.code("employment", EMPLOYMENT, false);
    let student_stage = r.code("student_stage", STUDENT_STAGES, false);
    let income = money(&mut r, "income_monthly");

    // The birth date inside the ID number is the birth date.
    let mut birth = birth_date.flatten();
    if let (Some(Some(id)), Some(b)) = (&id_number, birth_date) {
        match b {
            Some(b) if b != id.birth_date => r.fail(
                "birth_date",
                format!(
                    "出生日期 {b} 与身份证号中的 {} 不一致 (birth_date does not match the ID number)",
                    id.birth_date
                ),
            ),
            _ => birth = Some(id.birth_date),
        }
    }
    if let (Some(Some(id)), Some(Some(s))) = (&id_number, &sex) {
        if s != id.sex {
            r.fail(
                "sex",
                "性别与身份证号第 17 位（奇数为男，偶数为女）不一致 (sex does not match the ID number)",
            );
        }
    }
    if let Some(b) = birth {
        if b > today {
            r.fail(
                "birth_date",
                "出生日期不能晚于今天 (birth_date is in the future)",
            );
        } else if today.years_since(b).unwrap_or(0) > 120 {
            r.fail(
                "birth_date",
                "出生日期早于 120 年前，请核对 (birth_date is more than 120 years ago)",
            );
        }
    }
    if let (Some(g), Some(t)) = (grade, &disability_type) {
        let g = g.unwrap_or(0);
        if g > 0 && t.is_none() {
            r.fail(
                "disability_type",
                "有残疾等级时须填写残疾类别 (disability_type is required with a grade)",
            );
        }
        if g == 0 && t.is_some() {
            r.fail(
                "disability_grade",
                "填写了残疾类别时须填写 1–4 级残疾等级 (a disability type needs a grade 1–4)",
            );
        }
    }
    let errors = std::mem::take(&mut r.errors);
    if !errors.is_empty() {
        return (None, errors);
    }
    let member = (|| {
        let id_number = id_number?;
        Some(MemberInput {
            name: name?,
            sex: sex?.or_else(|| id_number.as_ref().map(|id| id.sex.to_string())),
            id_number,
            phone: phone?,
            relation: relation?,
            birth_date: birth,
            disability_grade: grade?.unwrap_or(0),
            disability_type: disability_type?,
            health: health?,
            employment: employment?,
            student_stage: student_stage?,
            income_monthly: income?,
        })
    })();
    (member, Vec::new())
}

/// Checks a household document; `today` bounds birth dates.
pub fn validate_household(
    value: &Value,
    today: NaiveDate,
) -> Result<HouseholdInput, Vec<FieldError>> {
    let Value::Object(obj) = value else {
        return Err(vec![FieldError::new(
            "$",
            "家庭档案必须是 JSON 对象 (a household must be a JSON object)",
        )]);
    };
    let mut r = FieldReader::new(obj);
    let known: Vec<&str> = HOUSEHOLD_FIELDS
        .iter()
        .chain(HOUSEHOLD_OUTPUT_FIELDS)
        .copied()
        .collect();
    r.reject_unknown(&known);
    let consent = r.boolean("consent", true).flatten();
    if consent == Some(false) {
        let beyond: Vec<String> = obj
            .iter()
            .filter(|(k, v)| {
                !v.is_null()
                    && HOUSEHOLD_FIELDS.contains(&k.as_str())
                    && !WITHOUT_CONSENT.contains(&k.as_str())
                    && !is_empty_value(v)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in beyond {
            r.fail(
                &key,
                "未记录本人同意前只能保存姓名和地区 (without consent only a name and region may be kept)",
            );
        }
    }
    let ref_code = match r.string("ref", false, 64) {
        Some(s) if s.is_empty() => Some(None),
        Some(s) if REF_RE.is_match(&s) => Some(Some(s)),
        Some(s) => {
            r.fail(
                "ref",
                format!("编号 \"{s}\" 只能含字母、数字、点、横线和下划线 (malformed ref)"),
            );
            None
        }
        None if r.present("ref").is_none() => Some(None),
        None => None,
    };
    let region = match r.string("region", true, 32) {
        Some(s) => match RegionCode::parse(&s) {
            Ok(code) => Some(code),
            Err(e) => {
                r.fail("region", e);
                None
            }
        },
        None => None,
    };
    let address = r.string("address", false, MAX_ADDRESS);
    let contact_phone = match r.string("contact_phone", false, 32) {
        Some(s) if !s.is_empty() => match phone::normalise(&s) {
            Ok(p) => Some(Some(p)),
            Err(e) => {
                r.fail("contact_phone", e);
                None
            }
        },
        Some(_) => Some(None),
        None if r.present("contact_phone").is_none() => Some(None),
        None => None,
    };
    let hukou_local = r.boolean("hukou_local", false);
    let housing = read_part(&mut r, "housing", |p| {
        Some(Housing {
            owned: p.boolean("owned", false)?,
            area_m2: p.number("area_m2", 0.0, 10_000.0)?,
        })
    });
    let assets = read_part(&mut r, "assets", |p| {
        Some(Assets {
            financial: money(p, "financial")?,
        })
    });
    let monthly = read_part(&mut r, "monthly", |p| {
        Some(Monthly {
            medical_expense: money(p, "medical_expense")?,
            education_expense: money(p, "education_expense")?,
            rent: money(p, "rent")?,
        })
    });
    let status = r.target_groups("status");
    let adviser = r.string("adviser", false, 64);
    let identified_on = r.date("identified_on");
    if let Some(Some(d)) = identified_on {
        if d > today {
            r.fail(
                "identified_on",
                "发现日期不能晚于今天 (identified_on is in the future)",
            );
        }
    }

    let mut members = Vec::new();
    let mut members_ok = true;
    match r.present("members") {
        Some(Value::Array(items)) if !items.is_empty() && items.len() <= MAX_MEMBERS => {
            for (i, item) in items.iter().enumerate() {
                let path = r.path(&format!("members[{i}]"));
                let Value::Object(m) = item else {
                    r.errors.push(FieldError::new(
                        path,
                        "成员必须是 JSON 对象 (a member must be an object)",
                    ));
                    members_ok = false;
                    continue;
                };
                let (member, errors) = read_member(m, &path, today, consent != Some(false));
                r.errors.extend(errors);
                match member {
                    Some(member) => members.push(member),
                    None => members_ok = false,
                }
            }
        }
        Some(Value::Array(items)) if items.len() > MAX_MEMBERS => {
            r.fail(
                "members",
                format!("成员不能超过 {MAX_MEMBERS} 人 (too many members)"),
            );
            members_ok = false;
        }
        Some(Value::Array(_)) | None => {
            r.fail(
                "members",
                "至少登记一名家庭成员（户主） (at least one member is required)",
            );
            members_ok = false;
        }
        Some(_) => {
            r.fail("members", "members 必须是数组 (members must be an array)");
            members_ok = false;
        }
    }
    if members_ok {
        if members.iter().filter(|m| m.relation == "self").count() > 1 {
            r.fail(
                "members",
                "只能有一名成员的关系为“本人” (only one member may be self)",
            );
        }
        for (i, m) in members.iter().enumerate() {
            let Some(id) = &m.id_number else { continue };
            if members[..i]
                .iter()
                .any(|o| o.id_number.as_ref().is_some_and(|x| x.number == id.number))
            {
                r.fail(
                    &format!("members[{i}].id_number"),
                    "身份证号与前面的成员重复 (the same ID number appears twice)",
                );
            }
        }
    }

    if !r.errors.is_empty() {
        return Err(r.errors);
    }
    let input = (|| {
        Some(HouseholdInput {
            ref_code: ref_code?,
            region: region?,
            consent: consent?,
            address: address.filter(|a| !a.is_empty()),
            contact_phone: contact_phone?,
            profile: Profile {
                hukou_local: hukou_local?,
                housing: housing?,
                assets: assets?,
                monthly: monthly?,
                status: status?,
            },
            members,
            adviser: adviser.filter(|a| !a.is_empty()),
            identified_on: identified_on?,
        })
    })();
    input.ok_or_else(|| vec![FieldError::new("$", "家庭档案无效 (invalid household)")])
}

/// A nested part read with its own reader (errors carry its path).
fn read_part<T: Default>(
    r: &mut FieldReader<'_>,
    field: &str,
    read: impl FnOnce(&mut FieldReader<'_>) -> Option<T>,
) -> Option<T> {
    let obj = r.object(field)?;
    let Some(obj) = obj else {
        return Some(T::default());
    };
    let path = r.path(field);
    let mut part = FieldReader::nested(obj, &path);
    let value = read(&mut part);
    r.errors.extend(part.errors);
    value
}

fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(|v| v.is_null() || is_empty_value(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    fn id(first17: &str) -> String {
        format!("{first17}{}", id_number::check_char(first17.as_bytes()))
    }

    fn spec_example() -> Value {
        json!({
          "ref": "H-0001",
          "region": "310118-003-012",
          "address": "上海市青浦区香花桥街道新桥路88弄5号301室", "contact_phone": "13800001234",
          "hukou_local": true,
          "housing": { "owned": false, "area_m2": 32.5 },
          "assets": { "financial": 20000 },
          "monthly": { "medical_expense": 800, "education_expense": 0, "rent": 1200 },
          "status": ["dibao"],
          "members": [
            { "name": "张三", "id_number": id("31022919500302123"), "relation": "self", "sex": "M",
              "birth_date": "1950-03-02", "disability_grade": 0, "disability_type": null,
              "health": ["chronic"], "employment": "retired", "student_stage": null,
              "income_monthly": 2600 }
          ],
          "consent": true
        })
    }

    fn fields(v: Value) -> Vec<String> {
        validate_household(&v, today())
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn the_spec_example_is_valid() {
        let h = validate_household(&spec_example(), today()).unwrap();
        assert_eq!(h.head_name(), "张三");
        assert_eq!(h.members[0].sex.as_deref(), Some("M"));
        assert_eq!(h.profile.status, ["dibao"]);
        assert_eq!(h.profile.housing.area_m2, Some(32.5));
    }

    #[test]
    fn id_numbers_are_checked_against_the_birth_date() {
        let mut v = spec_example();
        v["members"][0]["birth_date"] = json!("1950-03-03");
        assert_eq!(fields(v), ["members[0].birth_date"]);
        let mut v = spec_example();
        let good = id("31022919500302123");
        let wrong_check = if good.ends_with('0') { '1' } else { '0' };
        let bad = format!("{}{wrong_check}", &good[..17]);
        v["members"][0]["id_number"] = json!(bad);
        assert_eq!(fields(v), ["members[0].id_number"]);
        let mut v = spec_example();
        v["members"][0]["sex"] = json!("F");
        assert_eq!(fields(v), ["members[0].sex"]);
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut v = spec_example();
        v["region"] = json!("abc");
        v["contact_phone"] = json!("12345");
        v["housing"]["area_m2"] = json!(-1);
        v["members"][0]["relation"] = json!("cousin");
        v["members"][0]["disability_grade"] = json!(2);
        v["nickname"] = json!("x");
        let mut got = fields(v);
        got.sort();
        assert_eq!(
            got,
            [
                "contact_phone",
                "housing.area_m2",
                "members[0].disability_type",
                "members[0].relation",
                "nickname",
                "region",
            ]
        );
    }

    #[test]
    fn without_consent_only_a_name_and_region_are_kept() {
        let ok = json!({"region": "310118-003-012", "consent": false,
                        "members": [{"name": "李四"}]});
        let h = validate_household(&ok, today()).unwrap();
        assert!(!h.consent);
        assert_eq!(h.members[0].relation, "self");
        let mut v = spec_example();
        v["consent"] = json!(false);
        let got = fields(v);
        assert!(got.contains(&"address".to_string()), "{got:?}");
        assert!(got.contains(&"members[0].id_number".to_string()), "{got:?}");
        assert_eq!(
            fields(json!({"region": "310118", "members": []})),
            ["consent", "members"]
        );
    }
}
