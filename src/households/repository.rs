//! Reading and writing household records. ID numbers, phone numbers and
//! addresses are encrypted before they reach the database; ID and phone
//! numbers are also kept as keyed hashes to find a household by them.

use chrono::{NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::validation::{HouseholdInput, MemberInput, Profile};
use crate::db::schema::{households, members};
use crate::db::{change_log, lock_for_write, DbConnection};
use crate::error::AppError;
use crate::privacy::DataCipher;

/// Encryption purposes (bound into each ciphertext) and lookup-hash purposes.
pub const ID_NUMBER: &str = "member.id_number";
pub const MEMBER_PHONE: &str = "member.phone";
pub const CONTACT_PHONE: &str = "household.contact_phone";
pub const ADDRESS: &str = "household.address";
/// Lookup hashes of phone numbers share one purpose, so a number is found
/// whether it was given as a member's or as the household's.
pub const PHONE_LOOKUP: &str = "phone";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = households)]
pub struct HouseholdRow {
    pub id: i64,
    pub ref_code: String,
    pub region: String,
    pub adviser: Option<String>,
    pub head_name: String,
    pub consent: bool,
    pub consent_by: Option<String>,
    pub consent_at: Option<NaiveDateTime>,
    pub address_enc: Option<String>,
    pub contact_phone_enc: Option<String>,
    pub contact_phone_hash: Option<String>,
    pub profile: String,
    pub identified_on: NaiveDate,
    pub status: String,
    pub version: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_by: String,
    pub updated_at: NaiveDateTime,
}

impl HouseholdRow {
    pub fn profile(&self) -> Profile {
        serde_json::from_str(&self.profile).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = members)]
pub struct MemberRow {
    pub id: i64,
    pub household_id: i64,
    pub position: i64,
    pub name: String,
    pub id_number_enc: Option<String>,
    pub id_number_hash: Option<String>,
    pub phone_enc: Option<String>,
    pub phone_hash: Option<String>,
    pub relation: String,
    pub sex: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub disability_grade: i64,
    pub disability_type: Option<String>,
    pub health: String,
    pub employment: Option<String>,
    pub student_stage: Option<String>,
    pub income_monthly: Option<f64>,
}

impl MemberRow {
    pub fn health(&self) -> Vec<String> {
        serde_json::from_str(&self.health).unwrap_or_default()
    }
}

/// A household with its members, in order.
#[derive(Debug, Clone)]
pub struct Household {
    pub row: HouseholdRow,
    pub members: Vec<MemberRow>,
}

/// Which households a listing covers.
#[derive(Debug, Clone)]
pub enum Scope {
    All,
    /// Households whose region starts with one of these prefixes.
    Regions(Vec<String>),
}

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Substring of the name the household is known by, or its ref.
    pub text: Option<String>,
    pub region: Option<String>,
    pub adviser: Option<String>,
    pub page: i64,
    pub per_page: i64,
    /// The largest page allowed (200 unless an export asks for more).
    pub max_per_page: Option<i64>,
}

type Db = <DbConnection as diesel::Connection>::Backend;
type Condition =
    Box<dyn BoxableExpression<households::table, Db, SqlType = diesel::sql_types::Bool>>;

/// The condition "the household's region is inside `scope`" (`None`: all).
pub fn in_scope(scope: &Scope) -> Option<Condition> {
    let Scope::Regions(prefixes) = scope else {
        return None;
    };
    let mut cond: Condition = Box::new(households::id.eq(-1));
    for p in prefixes {
        cond = Box::new(cond.or(households::region.like(format!("{p}%"))));
    }
    Some(cond)
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, AppError> {
    serde_json::to_string(value).map_err(|e| AppError::Internal(format!("json: {e}")))
}

/// The normalised form an ID number is hashed in.
pub fn id_lookup(cipher: &DataCipher, id_number: &str) -> String {
    cipher.lookup_hash(ID_NUMBER, &id_number.trim().to_ascii_uppercase())
}

pub fn phone_lookup(cipher: &DataCipher, phone: &str) -> String {
    cipher.lookup_hash(PHONE_LOOKUP, phone)
}

fn insert_members(
    conn: &mut DbConnection,
    cipher: &DataCipher,
    household_id: i64,
    list: &[MemberInput],
) -> Result<(), AppError> {
    for (i, m) in list.iter().enumerate() {
        diesel::insert_into(members::table)
            .values((
                members::household_id.eq(household_id),
                members::position.eq(i as i64),
                members::name.eq(&m.name),
                members::id_number_enc.eq(m
                    .id_number
                    .as_ref()
                    .map(|id| cipher.encrypt(ID_NUMBER, &id.number))),
                members::id_number_hash
                    .eq(m.id_number.as_ref().map(|id| id_lookup(cipher, &id.number))),
                members::phone_enc.eq(m.phone.as_ref().map(|p| cipher.encrypt(MEMBER_PHONE, p))),
                members::phone_hash.eq(m.phone.as_ref().map(|p| phone_lookup(cipher, p))),
                members::relation.eq(&m.relation),
                members::sex.eq(&m.sex),
                members::birth_date.eq(m.birth_date),
                members::disability_grade.eq(m.disability_grade),
                members::disability_type.eq(&m.disability_type),
                members::health.eq(json(&m.health)?),
                members::employment.eq(&m.employment),
                members::student_stage.eq(&m.student_stage),
                members::income_monthly.eq(m.income_monthly),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Whether `ref_code` is taken.
pub fn exists(conn: &mut DbConnection, ref_code: &str) -> Result<bool, AppError> {
    Ok(households::table
        .filter(households::ref_code.eq(ref_code))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Writes a new household (its ref given, or the next `H-` number).
pub fn create(
    conn: &mut DbConnection,
    cipher: &DataCipher,
    input: &HouseholdInput,
    adviser: Option<&str>,
    actor: &str,
    today: NaiveDate,
) -> Result<Household, AppError> {
    conn.transaction(|conn| {
        lock_for_write(conn)?;
        let ref_code = match &input.ref_code {
            Some(r) => {
                if exists(conn, r)? {
                    return Err(AppError::Conflict(format!(
                        "家庭编号 {r} 已存在 (household {r} already exists)"
                    )));
                }
                r.clone()
            }
            None => next_ref(conn)?,
        };
        let now = Utc::now().naive_utc();
        let id: i64 = diesel::insert_into(households::table)
            .values((
                households::ref_code.eq(&ref_code),
                households::region.eq(input.region.as_str()),
                households::adviser.eq(adviser),
                households::head_name.eq(input.head_name()),
                households::consent.eq(input.consent),
                households::consent_by.eq(input.consent.then_some(actor)),
                households::consent_at.eq(input.consent.then_some(now)),
                households::address_enc
                    .eq(input.address.as_ref().map(|a| cipher.encrypt(ADDRESS, a))),
                households::contact_phone_enc.eq(input
                    .contact_phone
                    .as_ref()
                    .map(|p| cipher.encrypt(CONTACT_PHONE, p))),
                households::contact_phone_hash.eq(input
                    .contact_phone
                    .as_ref()
                    .map(|p| phone_lookup(cipher, p))),
                households::profile.eq(json(&input.profile)?),
                households::identified_on.eq(input.identified_on.unwrap_or(today)),
                households::status.eq("active"),
                households::version.eq(1),
                households::created_by.eq(actor),
                households::created_at.eq(now),
                households::updated_by.eq(actor),
                households::updated_at.eq(now),
            ))
            .returning(households::id)
            .get_result(conn)?;
        insert_members(conn, cipher, id, &input.members)?;
        change_log::append(conn, "household", &ref_code, "create")?;
        find(conn, &ref_code)?.ok_or_else(|| AppError::Internal("household vanished".into()))
    })
}

/// `H-000001`, `H-000002`, …: one more than the highest number in use.
fn next_ref(conn: &mut DbConnection) -> Result<String, AppError> {
    let refs: Vec<String> = households::table
        .filter(households::ref_code.like("H-%"))
        .select(households::ref_code)
        .load(conn)?;
    Ok(next_numbered("H-", &refs))
}

/// `PREFIX000042` → the next ref after the highest numbered one in `refs`.
pub fn next_numbered(prefix: &str, refs: &[String]) -> String {
    let highest = refs
        .iter()
        .filter_map(|r| r.strip_prefix(prefix)?.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    format!("{prefix}{:06}", highest + 1)
}

/// Replaces a household's record when `expected_version` is current.
pub fn update(
    conn: &mut DbConnection,
    cipher: &DataCipher,
    ref_code: &str,
    input: &HouseholdInput,
    expected_version: Option<i64>,
    actor: &str,
) -> Result<Household, AppError> {
    conn.transaction(|conn| {
        lock_for_write(conn)?;
        let current = find(conn, ref_code)?
            .ok_or_else(|| AppError::NotFound(format!("没有编号为 {ref_code} 的家庭")))?;
        if let Some(v) = expected_version {
            if v != current.row.version {
                return Err(AppError::Conflict(format!(
                    "该家庭档案已被他人修改（当前版本 {}），请刷新后再改 (stale version {v})",
                    current.row.version
                )));
            }
        }
        let now = Utc::now().naive_utc();
        let consent_changed = input.consent && !current.row.consent;
        diesel::update(households::table.filter(households::id.eq(current.row.id)))
            .set((
                households::region.eq(input.region.as_str()),
                households::head_name.eq(input.head_name()),
                households::consent.eq(input.consent),
                households::address_enc
                    .eq(input.address.as_ref().map(|a| cipher.encrypt(ADDRESS, a))),
                households::contact_phone_enc.eq(input
                    .contact_phone
                    .as_ref()
                    .map(|p| cipher.encrypt(CONTACT_PHONE, p))),
                households::contact_phone_hash.eq(input
                    .contact_phone
                    .as_ref()
                    .map(|p| phone_lookup(cipher, p))),
                households::profile.eq(json(&input.profile)?),
                households::version.eq(current.row.version + 1),
                households::updated_by.eq(actor),
                households::updated_at.eq(now),
            ))
            .execute(conn)?;
        if consent_changed {
            diesel::update(households::table.filter(households::id.eq(current.row.id)))
                .set((
                    households::consent_by.eq(actor),
                    households::consent_at.eq(now),
                ))
                .execute(conn)?;
        }
        if let Some(day) = input.identified_on {
            diesel::update(households::table.filter(households::id.eq(current.row.id)))
                .set(households::identified_on.eq(day))
                .execute(conn)?;
        }
        diesel::delete(members::table.filter(members::household_id.eq(current.row.id)))
            .execute(conn)?;
        insert_members(conn, cipher, current.row.id, &input.members)?;
        change_log::append(conn, "household", ref_code, "update")?;
        find(conn, ref_code)?.ok_or_else(|| AppError::Internal("household vanished".into()))
    })
}

pub fn find(conn: &mut DbConnection, ref_code: &str) -> Result<Option<Household>, AppError> {
    let Some(row) = households::table
        .filter(households::ref_code.eq(ref_code))
        .select(HouseholdRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let list = members::table
        .filter(members::household_id.eq(row.id))
        .order(members::position.asc())
        .select(MemberRow::as_select())
        .load(conn)?;
    Ok(Some(Household { row, members: list }))
}

/// Refs of the households a member of which has this ID number.
pub fn refs_by_id_number(
    conn: &mut DbConnection,
    cipher: &DataCipher,
    id_number: &str,
) -> Result<Vec<String>, AppError> {
    Ok(members::table
        .inner_join(households::table)
        .filter(members::id_number_hash.eq(id_lookup(cipher, id_number)))
        .select(households::ref_code)
        .distinct()
        .load(conn)?)
}

/// One page of households in `scope`, newest first, and the total.
pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    q: &ListQuery,
) -> Result<(Vec<HouseholdRow>, i64), AppError> {
    let filtered = || {
        let mut query = households::table.into_boxed();
        if let Some(cond) = in_scope(scope) {
            query = query.filter(cond);
        }
        if let Some(region) = &q.region {
            query = query.filter(households::region.like(format!("{region}%")));
        }
        if let Some(adviser) = &q.adviser {
            query = query.filter(households::adviser.eq(adviser.clone()));
        }
        if let Some(text) = q.text.as_deref().filter(|t| !t.is_empty()) {
            // `%` and `_` typed in the filter are themselves, not wildcards.
            let escaped = text
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            let pattern = format!("%{escaped}%");
            query = query.filter(
                households::head_name
                    .like(pattern.clone())
                    .escape('\\')
                    .or(households::ref_code.like(pattern).escape('\\')),
            );
        }
        query
    };
    let total: i64 = filtered().count().get_result(conn)?;
    let per_page = q.per_page.clamp(1, q.max_per_page.unwrap_or(200));
    let rows = filtered()
        .order(households::id.desc())
        .limit(per_page)
        .offset((q.page.max(1) - 1) * per_page)
        .select(HouseholdRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

#[cfg(test)]
mod tests {
    use super::next_numbered;

    #[test]
    fn refs_number_on_from_the_highest() {
        let refs: Vec<String> = ["H-000002", "H-0009", "H-IMP-1"].map(String::from).to_vec();
        assert_eq!(next_numbered("H-", &refs), "H-000010");
        assert_eq!(next_numbered("N-", &[]), "N-000001");
    }
}
