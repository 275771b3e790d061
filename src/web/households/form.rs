//! The household form's values as typed, so a rejected form (or one that
//! only added or removed a member) comes back exactly as it was; and the
//! household document the form stands for, checked by the same validation
//! as the API.
//!
//! Personal values already on record are never put into the page: their
//! inputs start empty with the masked value beside them, and an input left
//! empty keeps what is on record.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::error::{AppError, FieldError};
use crate::households::repository::{self, Household};
use crate::households::view::masked_birth_date;
use crate::privacy::{mask, DataCipher};
use crate::web::form::FormData;

/// The most members one form carries.
pub const MAX_MEMBERS: usize = 30;

#[derive(Debug, Clone, Default)]
pub struct MemberForm {
    /// The member's position on record (`None`: a new member).
    pub orig: Option<usize>,
    pub name: String,
    pub id_number: String,
    /// The masked ID number on record (empty when none).
    pub id_masked: String,
    pub phone: String,
    pub phone_masked: String,
    /// Remove the ID number / phone on record.
    pub clear_id: bool,
    pub clear_phone: bool,
    pub relation: String,
    pub sex: String,
    pub birth_date: String,
    /// The birth date on record, masked to its year.
    pub birth_masked: String,
    pub disability_grade: String,
    pub disability_type: String,
    pub health: Vec<String>,
    pub employment: String,
    pub student_stage: String,
    pub income_monthly: String,
    /// Errors by field name (`""`: the member as a whole).
    pub errors: BTreeMap<String, String>,
}

impl MemberForm {
    pub fn has_health(&self, code: &&str) -> bool {
        self.health.iter().any(|h| h == code)
    }

    pub fn error(&self, field: &str) -> &str {
        self.errors.get(field).map(String::as_str).unwrap_or("")
    }

    /// The value of the hidden input that ties this row to the record.
    pub fn orig_value(&self) -> String {
        self.orig.map(|o| o.to_string()).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Default)]
pub struct HouseholdForm {
    pub ref_code: String,
    pub version: String,
    pub region: String,
    pub adviser: String,
    pub identified_on: String,
    pub consent: bool,
    pub address: String,
    pub address_masked: String,
    pub contact_phone: String,
    pub contact_phone_masked: String,
    pub clear_address: bool,
    pub clear_contact_phone: bool,
    /// `""` unknown, `"true"`, `"false"`.
    pub hukou_local: String,
    pub housing_owned: String,
    pub area_m2: String,
    pub financial: String,
    pub medical_expense: String,
    pub education_expense: String,
    pub rent: String,
    pub status: Vec<String>,
    pub members: Vec<MemberForm>,
    /// Errors by path (`region`, `housing.area_m2`); members' are on them.
    pub errors: BTreeMap<String, String>,
}

/// What the form asked for besides saving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormAction {
    Save,
    AddMember,
    RemoveMember(usize),
}

fn opt_text<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

fn number_text(v: Option<f64>) -> String {
    v.map(|x| {
        if x.fract() == 0.0 && x.abs() < 1e15 {
            format!("{}", x as i64)
        } else {
            x.to_string()
        }
    })
    .unwrap_or_default()
}

/// A typed number as JSON: a number when it reads as one, otherwise the text
/// (which validation then names as "not a number").
fn number_value(s: &str) -> Option<Value> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    Some(match s.parse::<f64>() {
        Ok(x) if x.is_finite() => json!(x),
        _ => json!(s),
    })
}

fn integer_value(s: &str) -> Option<Value> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    Some(match s.parse::<i64>() {
        Ok(x) => json!(x),
        _ => json!(s),
    })
}

fn bool_value(s: &str) -> Option<Value> {
    match s {
        "true" => Some(json!(true)),
        "false" => Some(json!(false)),
        _ => None,
    }
}

fn put(obj: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        obj.insert(key.to_string(), v);
    }
}

fn text_value(s: &str) -> Option<Value> {
    let s = s.trim();
    (!s.is_empty()).then(|| json!(s))
}

/// Personal values on record, opened so an input left empty keeps them.
#[derive(Debug, Clone, Default)]
pub struct Kept {
    pub address: Option<String>,
    pub contact_phone: Option<String>,
    /// By position on record.
    pub members: Vec<KeptMember>,
}

#[derive(Debug, Clone, Default)]
pub struct KeptMember {
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub birth_date: Option<chrono::NaiveDate>,
}

impl Kept {
    pub fn of(cipher: &DataCipher, h: &Household) -> Result<Kept, AppError> {
        let open = |purpose: &str, sealed: &Option<String>| -> Result<Option<String>, AppError> {
            sealed
                .as_deref()
                .map(|s| cipher.decrypt(purpose, s))
                .transpose()
        };
        Ok(Kept {
            address: open(repository::ADDRESS, &h.row.address_enc)?,
            contact_phone: open(repository::CONTACT_PHONE, &h.row.contact_phone_enc)?,
            members: h
                .members
                .iter()
                .map(|m| {
                    Ok(KeptMember {
                        id_number: open(repository::ID_NUMBER, &m.id_number_enc)?,
                        phone: open(repository::MEMBER_PHONE, &m.phone_enc)?,
                        birth_date: m.birth_date,
                    })
                })
                .collect::<Result<_, AppError>>()?,
        })
    }
}

impl HouseholdForm {
    /// An empty form for a new household (one member: the head).
    pub fn blank(today: chrono::NaiveDate) -> HouseholdForm {
        HouseholdForm {
            identified_on: today.to_string(),
            members: vec![MemberForm {
                relation: "self".into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    /// The form for editing a household on record: personal values masked.
    pub fn of(cipher: &DataCipher, h: &Household) -> Result<HouseholdForm, AppError> {
        let kept = Kept::of(cipher, h)?;
        let r = &h.row;
        let p = r.profile();
        let members = h
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let k = kept.members.get(i).cloned().unwrap_or_default();
                MemberForm {
                    orig: Some(i),
                    name: m.name.clone(),
                    id_masked: k
                        .id_number
                        .as_deref()
                        .map(mask::id_number)
                        .unwrap_or_default(),
                    phone_masked: k.phone.as_deref().map(mask::phone).unwrap_or_default(),
                    relation: m.relation.clone(),
                    sex: opt_text(&m.sex),
                    birth_masked: m.birth_date.map(masked_birth_date).unwrap_or_default(),
                    disability_grade: m.disability_grade.to_string(),
                    disability_type: opt_text(&m.disability_type),
                    health: m.health(),
                    employment: opt_text(&m.employment),
                    student_stage: opt_text(&m.student_stage),
                    income_monthly: number_text(m.income_monthly),
                    ..Default::default()
                }
            })
            .collect();
        Ok(HouseholdForm {
            ref_code: r.ref_code.clone(),
            version: r.version.to_string(),
            region: r.region.clone(),
            adviser: opt_text(&r.adviser),
            identified_on: r.identified_on.to_string(),
            consent: r.consent,
            address: String::new(),
            address_masked: kept
                .address
                .as_deref()
                .map(mask::address)
                .unwrap_or_default(),
            contact_phone: String::new(),
            contact_phone_masked: kept
                .contact_phone
                .as_deref()
                .map(mask::phone)
                .unwrap_or_default(),
            clear_address: false,
            clear_contact_phone: false,
            hukou_local: opt_text(&p.hukou_local),
            housing_owned: opt_text(&p.housing.owned),
            area_m2: number_text(p.housing.area_m2),
            financial: number_text(p.assets.financial),
            medical_expense: number_text(p.monthly.medical_expense),
            education_expense: number_text(p.monthly.education_expense),
            rent: number_text(p.monthly.rent),
            status: p.status,
            members,
            errors: BTreeMap::new(),
        })
    }

    /// The form as posted, and what the button pressed asks for.
    pub fn from_form(f: &FormData) -> (HouseholdForm, FormAction) {
        let mut members = Vec::new();
        let rows = f.all("member");
        for i in rows.iter().filter_map(|m| m.parse::<usize>().ok()) {
            if members.len() >= MAX_MEMBERS {
                break;
            }
            let g = |field: &str| f.get(&format!("m{i}_{field}"));
            members.push(MemberForm {
                orig: g("orig").parse().ok(),
                name: g("name"),
                id_number: g("id_number"),
                id_masked: g("id_masked"),
                phone: g("phone"),
                phone_masked: g("phone_masked"),
                clear_id: g("clear_id") == "yes",
                clear_phone: g("clear_phone") == "yes",
                relation: g("relation"),
                sex: g("sex"),
                birth_date: g("birth_date"),
                birth_masked: g("birth_masked"),
                disability_grade: g("disability_grade"),
                disability_type: g("disability_type"),
                health: f.all(&format!("m{i}_health")),
                employment: g("employment"),
                student_stage: g("student_stage"),
                income_monthly: g("income_monthly"),
                errors: BTreeMap::new(),
            });
        }
        let action = if !f.get("add_member").is_empty() {
            FormAction::AddMember
        } else if let Ok(i) = f.get("remove_member").parse::<usize>() {
            FormAction::RemoveMember(i)
        } else {
            FormAction::Save
        };
        let mut form = HouseholdForm {
            ref_code: f.get("ref"),
            version: f.get("version"),
            region: f.get("region"),
            adviser: f.get("adviser"),
            identified_on: f.get("identified_on"),
            consent: f.get("consent") == "yes",
            address: f.get("address"),
            address_masked: f.get("address_masked"),
            contact_phone: f.get("contact_phone"),
            contact_phone_masked: f.get("contact_phone_masked"),
            clear_address: f.get("clear_address") == "yes",
            clear_contact_phone: f.get("clear_contact_phone") == "yes",
            hukou_local: f.get("hukou_local"),
            housing_owned: f.get("housing_owned"),
            area_m2: f.get("area_m2"),
            financial: f.get("financial"),
            medical_expense: f.get("medical_expense"),
            education_expense: f.get("education_expense"),
            rent: f.get("rent"),
            status: f.all("status"),
            members,
            errors: BTreeMap::new(),
        };
        if rows.len() > MAX_MEMBERS {
            form.errors.insert(
                "members".into(),
                format!("成员不能超过 {MAX_MEMBERS} 人 (too many members)"),
            );
        }
        (form, action)
    }

    /// Adds an empty member row, or says why not.
    pub fn add_member(&mut self) {
        if self.members.len() >= MAX_MEMBERS {
            self.errors.insert(
                "members".into(),
                format!("成员不能超过 {MAX_MEMBERS} 人 (too many members)"),
            );
            return;
        }
        let relation = if self.members.iter().any(|m| m.relation == "self") {
            "child"
        } else {
            "self"
        };
        self.members.push(MemberForm {
            relation: relation.into(),
            ..Default::default()
        });
    }

    pub fn remove_member(&mut self, index: usize) {
        if index < self.members.len() {
            self.members.remove(index);
        }
    }

    /// The household document this form stands for; empty inputs of
    /// personal values keep what `kept` holds.
    pub fn to_json(&self, kept: &Kept, creating: bool) -> Value {
        let mut doc = Map::new();
        put(&mut doc, "region", Some(json!(self.region)));
        doc.insert("consent".into(), json!(self.consent));
        put(&mut doc, "identified_on", text_value(&self.identified_on));
        if creating {
            put(&mut doc, "adviser", text_value(&self.adviser));
        }
        let keep = |clear: bool, v: &Option<String>| {
            if clear {
                None
            } else {
                v.clone().map(Value::from)
            }
        };
        put(
            &mut doc,
            "address",
            text_value(&self.address).or_else(|| keep(self.clear_address, &kept.address)),
        );
        put(
            &mut doc,
            "contact_phone",
            text_value(&self.contact_phone)
                .or_else(|| keep(self.clear_contact_phone, &kept.contact_phone)),
        );
        put(&mut doc, "hukou_local", bool_value(&self.hukou_local));
        let mut housing = Map::new();
        put(&mut housing, "owned", bool_value(&self.housing_owned));
        put(&mut housing, "area_m2", number_value(&self.area_m2));
        if !housing.is_empty() {
            doc.insert("housing".into(), Value::Object(housing));
        }
        if let Some(v) = number_value(&self.financial) {
            doc.insert("assets".into(), json!({ "financial": v }));
        }
        let mut monthly = Map::new();
        put(
            &mut monthly,
            "medical_expense",
            number_value(&self.medical_expense),
        );
        put(
            &mut monthly,
            "education_expense",
            number_value(&self.education_expense),
        );
        put(&mut monthly, "rent", number_value(&self.rent));
        if !monthly.is_empty() {
            doc.insert("monthly".into(), Value::Object(monthly));
        }
        if !self.status.is_empty() {
            doc.insert("status".into(), json!(self.status));
        }
        let members: Vec<Value> = self
            .members
            .iter()
            .map(|m| {
                let k = m
                    .orig
                    .and_then(|o| kept.members.get(o).cloned())
                    .unwrap_or_default();
                let mut obj = Map::new();
                obj.insert("name".into(), json!(m.name));
                put(&mut obj, "relation", text_value(&m.relation));
                put(
                    &mut obj,
                    "id_number",
                    text_value(&m.id_number).or_else(|| keep(m.clear_id, &k.id_number)),
                );
                put(
                    &mut obj,
                    "phone",
                    text_value(&m.phone).or_else(|| keep(m.clear_phone, &k.phone)),
                );
                put(&mut obj, "sex", text_value(&m.sex));
                put(
                    &mut obj,
                    "birth_date",
                    text_value(&m.birth_date)
                        .or_else(|| k.birth_date.map(|b| Value::from(b.to_string()))),
                );
                if m.disability_grade.trim() != "0" {
                    put(
                        &mut obj,
                        "disability_grade",
                        integer_value(&m.disability_grade),
                    );
                }
                put(&mut obj, "disability_type", text_value(&m.disability_type));
                if !m.health.is_empty() {
                    obj.insert("health".into(), json!(m.health));
                }
                put(&mut obj, "employment", text_value(&m.employment));
                put(&mut obj, "student_stage", text_value(&m.student_stage));
                put(&mut obj, "income_monthly", number_value(&m.income_monthly));
                Value::Object(obj)
            })
            .collect();
        doc.insert("members".into(), Value::Array(members));
        Value::Object(doc)
    }

    /// Puts each error next to its input: `members[i].field` on member
    /// `i`, every other by its path.
    pub fn attach_errors(&mut self, errors: &[FieldError]) {
        for e in errors {
            let mut target = (&mut self.errors, e.field.clone());
            if let Some(rest) = e.field.strip_prefix("members[") {
                if let Some((index, field)) = rest.split_once(']') {
                    if let Some(m) = index
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| self.members.get_mut(i))
                    {
                        target = (&mut m.errors, field.trim_start_matches('.').to_string());
                    }
                }
            }
            let (map, key) = target;
            map.entry(key)
                .and_modify(|m: &mut String| {
                    m.push('；');
                    m.push_str(&e.message)
                })
                .or_insert_with(|| e.message.clone());
        }
    }

    pub fn error(&self, field: &str) -> &str {
        self.errors.get(field).map(String::as_str).unwrap_or("")
    }

    pub fn error_count(&self) -> usize {
        self.errors.len() + self.members.iter().map(|m| m.errors.len()).sum::<usize>()
    }

    pub fn has_status(&self, code: &&str) -> bool {
        self.status.iter().any(|s| s == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posted(pairs: &[(&str, &str)]) -> FormData {
        FormData::parse(
            serde_urlencoded::to_string(pairs)
                .expect("encodes")
                .as_bytes(),
        )
    }

    #[test]
    fn empty_personal_inputs_keep_what_is_on_record() {
        let (form, action) = HouseholdForm::from_form(&posted(&[
            ("region", "310118-003"),
            ("consent", "yes"),
            ("member", "0"),
            ("m0_orig", "1"),
            ("m0_name", "李四"),
            ("m0_relation", "self"),
            ("m0_disability_grade", "0"),
            ("member", "1"),
            ("m1_name", "李小"),
            ("m1_relation", "child"),
            ("m1_id_number", "11010520100101002X"),
            ("m1_health", "chronic"),
            ("area_m2", "32.5"),
            ("rent", "abc"),
        ]));
        assert_eq!(action, FormAction::Save);
        let kept = Kept {
            address: Some("青浦区华新镇1号".into()),
            contact_phone: None,
            members: vec![
                KeptMember::default(),
                KeptMember {
                    id_number: Some("ID-ON-RECORD".into()),
                    phone: Some("13900001111".into()),
                    birth_date: None,
                },
            ],
        };
        let doc = form.to_json(&kept, false);
        assert_eq!(doc["address"], "青浦区华新镇1号");
        assert_eq!(doc["members"][0]["id_number"], "ID-ON-RECORD");
        assert_eq!(doc["members"][0]["phone"], "13900001111");
        assert!(doc["members"][0].get("disability_grade").is_none());
        assert_eq!(doc["members"][1]["id_number"], "11010520100101002X");
        assert_eq!(doc["members"][1]["health"], json!(["chronic"]));
        assert_eq!(doc["housing"]["area_m2"], json!(32.5));
        assert_eq!(doc["monthly"]["rent"], "abc");
        assert!(doc.get("adviser").is_none());
    }

    #[test]
    fn more_members_than_allowed_are_refused_not_dropped() {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for i in 0..=MAX_MEMBERS {
            pairs.push(("member".into(), i.to_string()));
            pairs.push((format!("m{i}_name"), format!("成员{i}")));
        }
        let body = serde_urlencoded::to_string(&pairs).expect("encodes");
        let (form, _) = HouseholdForm::from_form(&FormData::parse(body.as_bytes()));
        assert_eq!(form.members.len(), MAX_MEMBERS);
        assert!(form.error("members").contains("成员不能超过"));
    }

    #[test]
    fn buttons_add_and_remove_members_and_errors_find_their_inputs() {
        let (mut form, action) = HouseholdForm::from_form(&posted(&[
            ("member", "0"),
            ("m0_name", "甲"),
            ("member", "1"),
            ("m1_name", "乙"),
            ("remove_member", "0"),
        ]));
        assert_eq!(action, FormAction::RemoveMember(0));
        form.remove_member(0);
        assert_eq!(form.members.len(), 1);
        form.add_member();
        assert_eq!(form.members.len(), 2);
        form.attach_errors(&[
            FieldError::new("members[1].id_number", "bad"),
            FieldError::new("housing.area_m2", "range"),
            FieldError::new("members", "one self"),
        ]);
        assert_eq!(form.members[1].error("id_number"), "bad");
        assert_eq!(form.error("housing.area_m2"), "range");
        assert_eq!(form.error("members"), "one self");
        assert_eq!(form.error_count(), 3);
    }
}
