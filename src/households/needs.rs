//! A household's need list (SPEC "Need"): each need with its status
//! lifecycle open → matched → fulfilled / closed, and who changed it when.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

use super::repository::Scope;
use crate::db::schema::{households, need_events, needs};
use crate::db::{change_log, lock_for_write, DbConnection};
use crate::domain::fields::FieldReader;
use crate::domain::vocabulary::{DIMENSIONS, NEED_STATUSES, URGENCIES};
use crate::error::{AppError, FieldError};

const NEED_FIELDS: &[&str] = &[
    "ref",
    "household_ref",
    "dimension",
    "title",
    "detail",
    "urgency",
    "quantity",
    "status",
];
const NEED_OUTPUT_FIELDS: &[&str] = &[
    "version",
    "region",
    "created_by",
    "created_at",
    "updated_by",
    "updated_at",
];

/// A need as submitted, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NeedInput {
    pub household_ref: String,
    pub dimension: String,
    pub title: String,
    pub detail: String,
    pub urgency: String,
    pub quantity: i64,
    /// `None`: a new need is open; an edit keeps the status.
    pub status: Option<String>,
}

pub fn parse_need(value: &Value) -> Result<NeedInput, Vec<FieldError>> {
    let Value::Object(obj) = value else {
        return Err(vec![FieldError::new(
            "$",
            "需求必须是 JSON 对象 (a need must be a JSON object)",
        )]);
    };
    let mut r = FieldReader::new(obj);
    let known: Vec<&str> = NEED_FIELDS
        .iter()
        .chain(NEED_OUTPUT_FIELDS)
        .copied()
        .collect();
    r.reject_unknown(&known);
    let household_ref = r.string("household_ref", true, 64);
    let dimension = r.code("dimension", DIMENSIONS, true);
    let title = r.string("title", true, 100);
    let detail = r.string("detail", false, 2_000);
    let urgency = r.code("urgency", URGENCIES, false);
    let quantity = r.integer("quantity", 1, 100_000);
    let status = r.code("status", NEED_STATUSES, false);
    if !r.errors.is_empty() {
        return Err(r.errors);
    }
    let input = (|| {
        Some(NeedInput {
            household_ref: household_ref?,
            dimension: dimension??,
            title: title?,
            detail: detail.unwrap_or_default(),
            urgency: urgency?.unwrap_or_else(|| "medium".into()),
            quantity: quantity?.unwrap_or(1),
            status: status?,
        })
    })();
    input.ok_or_else(|| vec![FieldError::new("$", "需求无效 (invalid need)")])
}

/// Whether the household already has a need of this dimension and title
/// that is not closed (an import of the same list again skips it).
pub fn has_open_duplicate(
    conn: &mut DbConnection,
    household_id: i64,
    dimension: &str,
    title: &str,
) -> Result<bool, AppError> {
    let n: i64 = needs::table
        .filter(needs::household_id.eq(household_id))
        .filter(needs::dimension.eq(dimension))
        .filter(needs::title.eq(title))
        .filter(needs::status.ne("closed"))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// May a need go from `from` to `to`? Fulfilled is final; a match that
/// falls through goes back to open; a closed need may be reopened.
pub fn check_transition(from: &str, to: &str) -> Result<(), AppError> {
    let allowed = matches!(
        (from, to),
        ("open", "matched")
            | ("open", "closed")
            | ("matched", "fulfilled")
            | ("matched", "closed")
            | ("matched", "open")
            | ("closed", "open")
    );
    if allowed {
        Ok(())
    } else {
        let label = |c: &str| crate::domain::vocabulary::label(NEED_STATUSES, c).to_string();
        Err(AppError::field(
            "status",
            format!(
                "需求不能从“{}”改为“{}” (a need cannot go from {from} to {to})",
                label(from),
                label(to)
            ),
        ))
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = needs)]
pub struct NeedRow {
    pub id: i64,
    pub ref_code: String,
    pub household_id: i64,
    pub dimension: String,
    pub title: String,
    pub detail: String,
    pub urgency: String,
    pub quantity: i64,
    pub status: String,
    pub assessment_id: Option<i64>,
    pub version: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_by: String,
    pub updated_at: NaiveDateTime,
}

/// A need with its household's ref and region (for scoping).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NeedDoc {
    #[serde(rename = "ref")]
    pub ref_code: String,
    pub household_ref: String,
    pub region: String,
    pub dimension: String,
    pub title: String,
    pub detail: String,
    pub urgency: String,
    pub quantity: i64,
    pub status: String,
    pub version: i64,
    pub created_by: String,
    #[serde(with = "crate::domain::timestamp")]
    pub created_at: NaiveDateTime,
    pub updated_by: String,
    #[serde(with = "crate::domain::timestamp")]
    pub updated_at: NaiveDateTime,
}

fn doc(row: NeedRow, household_ref: String, region: String) -> NeedDoc {
    NeedDoc {
        ref_code: row.ref_code,
        household_ref,
        region,
        dimension: row.dimension,
        title: row.title,
        detail: row.detail,
        urgency: row.urgency,
        quantity: row.quantity,
        status: row.status,
        version: row.version,
        created_by: row.created_by,
        created_at: row.created_at,
        updated_by: row.updated_by,
        updated_at: row.updated_at,
    }
}

#[derive(Debug, Clone, Queryable, Serialize, utoipa::ToSchema)]
pub struct NeedEvent {
    pub status: String,
    pub note: String,
    pub actor: String,
    #[serde(with = "crate::domain::timestamp")]
    pub at: NaiveDateTime,
}

fn record_event(
    conn: &mut DbConnection,
    need_id: i64,
    status: &str,
    note: &str,
    actor: &str,
) -> Result<(), AppError> {
    diesel::insert_into(need_events::table)
        .values((
            need_events::need_id.eq(need_id),
            need_events::status.eq(status),
            need_events::note.eq(note),
            need_events::actor.eq(actor),
            need_events::at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

fn next_ref(conn: &mut DbConnection) -> Result<String, AppError> {
    let refs: Vec<String> = needs::table
        .filter(needs::ref_code.like("N-%"))
        .select(needs::ref_code)
        .load(conn)?;
    Ok(super::repository::next_numbered("N-", &refs))
}

/// Adds a need to a household's list (open unless the input says otherwise).
pub fn create(
    conn: &mut DbConnection,
    household_id: i64,
    input: &NeedInput,
    assessment_id: Option<i64>,
    actor: &str,
) -> Result<NeedDoc, AppError> {
    conn.transaction(|conn| {
        lock_for_write(conn)?;
        let ref_code = next_ref(conn)?;
        let status = input.status.clone().unwrap_or_else(|| "open".into());
        let now = Utc::now().naive_utc();
        let id: i64 = diesel::insert_into(needs::table)
            .values((
                needs::ref_code.eq(&ref_code),
                needs::household_id.eq(household_id),
                needs::dimension.eq(&input.dimension),
                needs::title.eq(&input.title),
                needs::detail.eq(&input.detail),
                needs::urgency.eq(&input.urgency),
                needs::quantity.eq(input.quantity),
                needs::status.eq(&status),
                needs::assessment_id.eq(assessment_id),
                needs::version.eq(1),
                needs::created_by.eq(actor),
                needs::created_at.eq(now),
                needs::updated_by.eq(actor),
                needs::updated_at.eq(now),
            ))
            .returning(needs::id)
            .get_result(conn)?;
        record_event(conn, id, &status, "登记需求", actor)?;
        change_log::append(conn, "need", &ref_code, "create")?;
        find(conn, &ref_code)?.ok_or_else(|| AppError::Internal("need vanished".into()))
    })
}

pub fn find(conn: &mut DbConnection, ref_code: &str) -> Result<Option<NeedDoc>, AppError> {
    let found: Option<(NeedRow, String, String)> = needs::table
        .inner_join(households::table)
        .filter(needs::ref_code.eq(ref_code))
        .select((
            NeedRow::as_select(),
            households::ref_code,
            households::region,
        ))
        .first(conn)
        .optional()?;
    Ok(found.map(|(row, h, region)| doc(row, h, region)))
}

/// Edits a need's text, dimension, urgency and quantity (the status changes
/// through [`set_status`]).
pub fn update(
    conn: &mut DbConnection,
    ref_code: &str,
    input: &NeedInput,
    expected_version: Option<i64>,
    actor: &str,
) -> Result<NeedDoc, AppError> {
    conn.transaction(|conn| {
        lock_for_write(conn)?;
        let current = find(conn, ref_code)?
            .ok_or_else(|| AppError::not_found(&format!("需求 {ref_code}")))?;
        if expected_version.is_some_and(|v| v != current.version) {
            return Err(AppError::Conflict(format!(
                "该需求已被他人修改（当前版本 {}），请刷新后再改 (stale version)",
                current.version
            )));
        }
        if let Some(to) = input.status.as_deref().filter(|s| *s != current.status) {
            check_transition(&current.status, to)?;
        }
        let status = input.status.clone().unwrap_or(current.status.clone());
        diesel::update(needs::table.filter(needs::ref_code.eq(ref_code)))
            .set((
                needs::dimension.eq(&input.dimension),
                needs::title.eq(&input.title),
                needs::detail.eq(&input.detail),
                needs::urgency.eq(&input.urgency),
                needs::quantity.eq(input.quantity),
                needs::status.eq(&status),
                needs::version.eq(current.version + 1),
                needs::updated_by.eq(actor),
                needs::updated_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
        let id: i64 = needs::table
            .filter(needs::ref_code.eq(ref_code))
            .select(needs::id)
            .first(conn)?;
        if status != current.status {
            record_event(conn, id, &status, "", actor)?;
        }
        change_log::append(conn, "need", ref_code, "update")?;
        find(conn, ref_code)?.ok_or_else(|| AppError::Internal("need vanished".into()))
    })
}

/// Moves a need along its lifecycle, with a note of why.
pub fn set_status(
    conn: &mut DbConnection,
    ref_code: &str,
    to: &str,
    note: &str,
    actor: &str,
) -> Result<NeedDoc, AppError> {
    conn.transaction(|conn| {
        lock_for_write(conn)?;
        let current = find(conn, ref_code)?
            .ok_or_else(|| AppError::not_found(&format!("需求 {ref_code}")))?;
        check_transition(&current.status, to)?;
        let id: i64 = needs::table
            .filter(needs::ref_code.eq(ref_code))
            .select(needs::id)
            .first(conn)?;
        diesel::update(needs::table.find(id))
            .set((
                needs::status.eq(to),
                needs::version.eq(current.version + 1),
                needs::updated_by.eq(actor),
                needs::updated_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
        record_event(conn, id, to, note, actor)?;
        change_log::append(conn, "need", ref_code, "status")?;
        find(conn, ref_code)?.ok_or_else(|| AppError::Internal("need vanished".into()))
    })
}

pub fn events(conn: &mut DbConnection, ref_code: &str) -> Result<Vec<NeedEvent>, AppError> {
    Ok(need_events::table
        .inner_join(needs::table)
        .filter(needs::ref_code.eq(ref_code))
        .order(need_events::id.asc())
        .select((
            need_events::status,
            need_events::note,
            need_events::actor,
            need_events::at,
        ))
        .load(conn)?)
}

type Db = <DbConnection as diesel::Connection>::Backend;
type NeedCondition =
    Box<dyn BoxableExpression<needs::table, Db, SqlType = diesel::sql_types::Bool>>;

/// "The need's household has `column_test` `value`", as a subquery (the
/// multi-backend connection cannot box a typed subquery).
fn household_where(column_test: &str, value: String) -> NeedCondition {
    Box::new(
        diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
            "needs.household_id IN (SELECT id FROM households WHERE {column_test}"
        ))
        .bind::<diesel::sql_types::Text, _>(value)
        .sql(")"),
    )
}

#[derive(Debug, Clone, Default)]
pub struct NeedQuery {
    pub household_ref: Option<String>,
    pub status: Option<String>,
    pub dimension: Option<String>,
    pub page: i64,
    pub per_page: i64,
    /// The largest page allowed (200 unless an export asks for more).
    pub max_per_page: Option<i64>,
}

/// One page of needs in `scope`, most urgent and newest first.
pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    q: &NeedQuery,
) -> Result<(Vec<NeedDoc>, i64), AppError> {
    let filtered = || {
        let mut query = needs::table.into_boxed();
        if let Scope::Regions(prefixes) = scope {
            let mut cond: NeedCondition = Box::new(needs::id.eq(-1));
            for p in prefixes {
                cond = Box::new(cond.or(household_where("region LIKE ", format!("{p}%"))));
            }
            query = query.filter(cond);
        }
        if let Some(h) = &q.household_ref {
            query = query.filter(household_where("ref_code = ", h.clone()));
        }
        if let Some(s) = &q.status {
            query = query.filter(needs::status.eq(s.clone()));
        }
        if let Some(d) = &q.dimension {
            query = query.filter(needs::dimension.eq(d.clone()));
        }
        query
    };
    let total: i64 = filtered().count().get_result(conn)?;
    let per_page = q.per_page.clamp(1, q.max_per_page.unwrap_or(200));
    let rows: Vec<NeedRow> = filtered()
        .order(needs::id.desc())
        .limit(per_page)
        .offset((q.page.max(1) - 1) * per_page)
        .select(NeedRow::as_select())
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.household_id).collect();
    let mut owners: std::collections::HashMap<i64, (String, String)> = Default::default();
    for chunk in ids.chunks(500) {
        owners.extend(
            households::table
                .filter(households::id.eq_any(chunk))
                .select((households::id, households::ref_code, households::region))
                .load::<(i64, String, String)>(conn)?
                .into_iter()
                .map(|(id, r, region)| (id, (r, region))),
        );
    }
    let docs = rows
        .into_iter()
        .map(|r| {
            let (h, region) = owners.get(&r.household_id).cloned().unwrap_or_default();
            doc(r, h, region)
        })
        .collect();
    Ok((docs, total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn needs_are_checked_and_defaulted() {
        let n = parse_need(
            &json!({"household_ref": "H-0001", "dimension": "employment",
                                   "title": "为残障成员寻找实习岗位"}),
        )
        .unwrap();
        assert_eq!(n.urgency, "medium");
        assert_eq!(n.quantity, 1);
        assert_eq!(n.status, None);
        let errors =
            parse_need(&json!({"dimension": "moon", "urgency": "now", "quantity": 0})).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["household_ref", "dimension", "title", "urgency", "quantity"]
        );
    }

    #[test]
    fn the_lifecycle() {
        assert!(check_transition("open", "matched").is_ok());
        assert!(check_transition("matched", "fulfilled").is_ok());
        assert!(check_transition("matched", "open").is_ok());
        assert!(check_transition("closed", "open").is_ok());
        assert!(check_transition("fulfilled", "open").is_err());
        assert!(check_transition("open", "fulfilled").is_err());
    }
}
