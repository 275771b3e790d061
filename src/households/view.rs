//! A household as the API and pages show it: SPEC's shape, with ID numbers,
//! phone numbers and the address masked; and the one value a reveal shows.

use chrono::{Datelike, NaiveDate};
use serde_json::{json, Value};

use super::repository::{self, Household, MemberRow};
use crate::error::AppError;
use crate::privacy::{mask, DataCipher};

/// Age in whole years on `on`.
pub fn age(birth: NaiveDate, on: NaiveDate) -> Option<u32> {
    on.years_since(birth)
}

fn masked(
    cipher: &DataCipher,
    purpose: &str,
    sealed: Option<&str>,
    mask: fn(&str) -> String,
) -> Result<Value, AppError> {
    Ok(match sealed {
        Some(s) => Value::String(mask(&cipher.decrypt(purpose, s)?)),
        None => Value::Null,
    })
}

fn member_json(cipher: &DataCipher, m: &MemberRow, today: NaiveDate) -> Result<Value, AppError> {
    Ok(json!({
        "name": m.name,
        "id_number": masked(cipher, repository::ID_NUMBER, m.id_number_enc.as_deref(), mask::id_number)?,
        "phone": masked(cipher, repository::MEMBER_PHONE, m.phone_enc.as_deref(), mask::phone)?,
        "relation": m.relation,
        "sex": m.sex,
        "birth_date": m.birth_date.map(masked_birth_date),
        "age": m.birth_date.and_then(|b| age(b, today)),
        "disability_grade": m.disability_grade,
        "disability_type": m.disability_type,
        "health": m.health(),
        "employment": m.employment,
        "student_stage": m.student_stage,
        "income_monthly": m.income_monthly,
    }))
}

/// A birth date with its month and day hidden: beside a masked ID number
/// it would give the hidden digits away. The age stays visible.
pub fn masked_birth_date(birth: NaiveDate) -> String {
    format!("{}-**-**", birth.year())
}

/// The household document, masked.
pub fn household_json(
    cipher: &DataCipher,
    h: &Household,
    today: NaiveDate,
) -> Result<Value, AppError> {
    let r = &h.row;
    let profile = r.profile();
    let members = h
        .members
        .iter()
        .map(|m| member_json(cipher, m, today))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({
        "ref": r.ref_code,
        "region": r.region,
        "address": masked(cipher, repository::ADDRESS, r.address_enc.as_deref(), mask::address)?,
        "contact_phone": masked(cipher, repository::CONTACT_PHONE, r.contact_phone_enc.as_deref(), mask::phone)?,
        "hukou_local": profile.hukou_local,
        "housing": profile.housing,
        "assets": profile.assets,
        "monthly": profile.monthly,
        "status": profile.status,
        "members": members,
        "consent": r.consent,
        "masked": true,
        "head_name": r.head_name,
        "adviser": r.adviser,
        "identified_on": r.identified_on,
        "consent_by": r.consent_by,
        "consent_at": r.consent_at,
        "record_status": r.status,
        "version": r.version,
        "created_by": r.created_by,
        "created_at": r.created_at,
        "updated_by": r.updated_by,
        "updated_at": r.updated_at,
    }))
}

/// Which personal value a reveal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RevealField {
    IdNumber,
    Phone,
    ContactPhone,
    Address,
}

impl RevealField {
    pub fn as_str(self) -> &'static str {
        match self {
            RevealField::IdNumber => "id_number",
            RevealField::Phone => "phone",
            RevealField::ContactPhone => "contact_phone",
            RevealField::Address => "address",
        }
    }

    /// Whether the value belongs to a member (which one must be named).
    pub fn of_member(self) -> bool {
        matches!(self, RevealField::IdNumber | RevealField::Phone)
    }
}

/// The unmasked value (`None` when the record has none), and the audit
/// subject it is recorded under.
pub fn reveal(
    cipher: &DataCipher,
    h: &Household,
    field: RevealField,
    member: Option<usize>,
) -> Result<(Option<String>, String), AppError> {
    let r = &h.row;
    let open = |purpose: &str, sealed: Option<&String>| -> Result<Option<String>, AppError> {
        sealed.map(|s| cipher.decrypt(purpose, s)).transpose()
    };
    if field.of_member() {
        let index = member.ok_or_else(|| {
            AppError::field(
                "member",
                "请指明是哪位成员（从 0 开始的序号） (member index is required)",
            )
        })?;
        let m = h.members.get(index).ok_or_else(|| {
            AppError::field(
                "member",
                format!("该家庭没有第 {index} 位成员 (no such member)"),
            )
        })?;
        let value = match field {
            RevealField::IdNumber => open(repository::ID_NUMBER, m.id_number_enc.as_ref())?,
            _ => open(repository::MEMBER_PHONE, m.phone_enc.as_ref())?,
        };
        return Ok((value, format!("{}/members[{index}]", r.ref_code)));
    }
    let value = match field {
        RevealField::Address => open(repository::ADDRESS, r.address_enc.as_ref())?,
        _ => open(repository::CONTACT_PHONE, r.contact_phone_enc.as_ref())?,
    };
    Ok((value, r.ref_code.clone()))
}

/// Puts the values on record back where a document sent for replacement
/// still holds their masked form, so a client can send back what it read
/// without revealing anything. A member's values are matched to the member
/// on record at the same position with the same name, else the first with
/// that name; a masked value that matches nothing is left for validation
/// to refuse.
pub fn restore_masked(
    cipher: &DataCipher,
    current: &Household,
    body: &mut Value,
) -> Result<(), AppError> {
    let open = |purpose: &str, sealed: Option<&String>| -> Result<Option<String>, AppError> {
        sealed.map(|s| cipher.decrypt(purpose, s)).transpose()
    };
    let restore =
        |slot: Option<&mut Value>, plain: Option<String>, mask: &dyn Fn(&str) -> String| {
            if let (Some(slot), Some(plain)) = (slot, plain) {
                if slot.as_str() == Some(mask(&plain).as_str()) {
                    *slot = Value::String(plain);
                }
            }
        };
    let Some(obj) = body.as_object_mut() else {
        return Ok(());
    };
    restore(
        obj.get_mut("address"),
        open(repository::ADDRESS, current.row.address_enc.as_ref())?,
        &mask::address,
    );
    restore(
        obj.get_mut("contact_phone"),
        open(
            repository::CONTACT_PHONE,
            current.row.contact_phone_enc.as_ref(),
        )?,
        &mask::phone,
    );
    let Some(Value::Array(sent)) = obj.get_mut("members") else {
        return Ok(());
    };
    for (i, m) in sent.iter_mut().enumerate() {
        let Some(m) = m.as_object_mut() else { continue };
        let name = m.get("name").and_then(Value::as_str).unwrap_or_default();
        let same = |r: &&MemberRow| r.name == name;
        let Some(on_record) = current
            .members
            .get(i)
            .filter(same)
            .or_else(|| current.members.iter().find(same))
        else {
            continue;
        };
        restore(
            m.get_mut("id_number"),
            open(repository::ID_NUMBER, on_record.id_number_enc.as_ref())?,
            &mask::id_number,
        );
        restore(
            m.get_mut("phone"),
            open(repository::MEMBER_PHONE, on_record.phone_enc.as_ref())?,
            &mask::phone,
        );
        restore(
            m.get_mut("birth_date"),
            on_record.birth_date.map(|b| b.to_string()),
            &|plain: &str| {
                NaiveDate::parse_from_str(plain, "%Y-%m-%d")
                    .map(masked_birth_date)
                    .unwrap_or_default()
            },
        );
    }
    Ok(())
}
