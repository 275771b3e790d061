//! Reading and writing resources. Every write records who and when, appends
//! to the status history and to the change log, in one transaction.

use std::collections::HashMap;

use chrono::Utc;
use diesel::prelude::*;

use super::access::Visibility;
use super::model::{HistoryRow, ResourceRow};
use super::validation::ResourceInput;
use crate::db::schema::{organisations, resource_history, resources};
use crate::db::{change_log, DbConnection};
use crate::error::AppError;

type Db = <DbConnection as diesel::Connection>::Backend;

diesel::define_sql_function! {
    /// SQL `lower()`: LIKE is case-insensitive for ASCII on SQLite but not on
    /// PostgreSQL, so both sides are lowered.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Filters and paging for a catalogue listing.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub kind: Option<String>,
    pub status: Option<String>,
    pub organisation_id: Option<i64>,
    /// Plain substring match on title, summary and provider (full-text search is `search`).
    pub text: Option<String>,
    pub page: i64,
    pub per_page: i64,
}

/// Columns a write sets from a validated document.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = resources, treat_none_as_null = true)]
struct ResourceWrite<'a> {
    kind: &'a str,
    title: &'a str,
    summary: &'a str,
    body: &'a str,
    provider: &'a str,
    organisation_id: Option<i64>,
    region: &'a str,
    dimensions: String,
    target_groups: String,
    eligibility: Option<String>,
    benefit: &'a str,
    capacity_total: Option<i64>,
    capacity_remaining: Option<i64>,
    capacity_unit: Option<&'a str>,
    valid_from: Option<chrono::NaiveDate>,
    valid_until: Option<chrono::NaiveDate>,
    apply: String,
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, AppError> {
    serde_json::to_string(value).map_err(|e| AppError::Internal(format!("json: {e}")))
}

fn write_of<'a>(
    input: &'a ResourceInput,
    provider: &'a str,
    organisation_id: Option<i64>,
) -> Result<ResourceWrite<'a>, AppError> {
    Ok(ResourceWrite {
        kind: &input.kind,
        title: &input.title,
        summary: &input.summary,
        body: &input.body,
        provider,
        organisation_id,
        region: input.region.as_str(),
        dimensions: to_json(&input.dimensions)?,
        target_groups: to_json(&input.target_groups)?,
        eligibility: input
            .eligibility
            .as_ref()
            .map(|r| to_json(r.source()))
            .transpose()?,
        benefit: &input.benefit,
        capacity_total: input.capacity.as_ref().map(|c| c.total),
        capacity_remaining: input.capacity.as_ref().map(|c| c.remaining),
        capacity_unit: input.capacity.as_ref().map(|c| c.unit.as_str()),
        valid_from: input.valid_from,
        valid_until: input.valid_until,
        apply: to_json(&input.apply)?,
    })
}

pub fn find(conn: &mut DbConnection, ref_code: &str) -> Result<Option<ResourceRow>, AppError> {
    Ok(resources::table
        .filter(resources::ref_code.eq(ref_code))
        .select(ResourceRow::as_select())
        .first(conn)
        .optional()?)
}

fn filtered<'a>(vis: Visibility, q: &'a ListQuery) -> resources::BoxedQuery<'a, Db> {
    let mut query = resources::table.into_boxed::<Db>();
    query = match vis {
        Visibility::Public => query.filter(resources::status.eq("published")),
        Visibility::PublicAndOrganisation(org) => query.filter(
            resources::status
                .eq("published")
                .or(resources::organisation_id.eq(org)),
        ),
        Visibility::All => query,
    };
    if let Some(kind) = &q.kind {
        query = query.filter(resources::kind.eq(kind));
    }
    if let Some(status) = &q.status {
        query = query.filter(resources::status.eq(status));
    }
    if let Some(org) = q.organisation_id {
        query = query.filter(resources::organisation_id.eq(org));
    }
    if let Some(text) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let pattern = format!(
            "%{}%",
            text.to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        query = query.filter(
            lower(resources::title)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(resources::summary).like(pattern.clone()).escape('\\'))
                .or(lower(resources::provider).like(pattern).escape('\\')),
        );
    }
    query
}

/// One page of the resources `vis` allows, newest change first, and the total.
pub fn list(
    conn: &mut DbConnection,
    vis: Visibility,
    q: &ListQuery,
) -> Result<(i64, Vec<ResourceRow>), AppError> {
    let total: i64 = filtered(vis, q).count().get_result(conn)?;
    let per_page = q.per_page.clamp(1, 200);
    let page = q.page.clamp(1, 100_000);
    let rows = filtered(vis, q)
        .order((resources::updated_at.desc(), resources::id.desc()))
        .limit(per_page)
        .offset((page - 1) * per_page)
        .select(ResourceRow::as_select())
        .load(conn)?;
    Ok((total, rows))
}

/// Every resource `vis` allows that matches `q` (its page ignored), by
/// ref, at most `limit`.
pub fn list_all(
    conn: &mut DbConnection,
    vis: Visibility,
    q: &ListQuery,
    limit: i64,
) -> Result<Vec<ResourceRow>, AppError> {
    Ok(filtered(vis, q)
        .order(resources::ref_code.asc())
        .limit(limit)
        .select(ResourceRow::as_select())
        .load(conn)?)
}

/// Every organisation's name by id.
pub fn all_organisation_names(conn: &mut DbConnection) -> Result<HashMap<i64, String>, AppError> {
    Ok(organisations::table
        .select((organisations::id, organisations::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect())
}

/// Organisation names by id, for the rows given.
pub fn organisation_names(
    conn: &mut DbConnection,
    rows: &[ResourceRow],
) -> Result<HashMap<i64, String>, AppError> {
    let ids: Vec<i64> = rows.iter().filter_map(|r| r.organisation_id).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(organisations::table
        .filter(organisations::id.eq_any(ids))
        .select((organisations::id, organisations::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect())
}

pub fn history(conn: &mut DbConnection, resource_id: i64) -> Result<Vec<HistoryRow>, AppError> {
    Ok(resource_history::table
        .filter(resource_history::resource_id.eq(resource_id))
        .order(resource_history::id.asc())
        .select(HistoryRow::as_select())
        .load(conn)?)
}

fn record_history(
    conn: &mut DbConnection,
    resource_id: i64,
    action: &str,
    from: Option<&str>,
    to: &str,
    actor: &str,
) -> Result<(), AppError> {
    diesel::insert_into(resource_history::table)
        .values((
            resource_history::resource_id.eq(resource_id),
            resource_history::action.eq(action),
            resource_history::from_status.eq(from),
            resource_history::to_status.eq(to),
            resource_history::actor.eq(actor),
            resource_history::at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Sets the published/withdrawn who-and-when columns for a move into `status`.
fn stamp_status(
    conn: &mut DbConnection,
    id: i64,
    status: &str,
    actor: &str,
) -> Result<(), AppError> {
    let now = Utc::now().naive_utc();
    let target = resources::table.find(id);
    match status {
        "published" => diesel::update(target)
            .set((
                resources::published_by.eq(actor),
                resources::published_at.eq(now),
            ))
            .execute(conn)?,
        "withdrawn" => diesel::update(target)
            .set((
                resources::withdrawn_by.eq(actor),
                resources::withdrawn_at.eq(now),
            ))
            .execute(conn)?,
        _ => 0,
    };
    Ok(())
}

fn reload(conn: &mut DbConnection, ref_code: &str) -> Result<ResourceRow, AppError> {
    find(conn, ref_code)?.ok_or_else(|| AppError::not_found("资源"))
}

/// Creates a resource in `status`; `action` names it in the history
/// ("created" or "imported").
pub fn create(
    conn: &mut DbConnection,
    input: &ResourceInput,
    provider: &str,
    organisation_id: Option<i64>,
    status: &str,
    actor: &str,
    action: &str,
) -> Result<ResourceRow, AppError> {
    let write = write_of(input, provider, organisation_id)?;
    let now = Utc::now().naive_utc();
    conn.transaction(|conn| {
        crate::db::lock_for_write(conn)?;
        if find(conn, &input.ref_code)?.is_some() {
            return Err(AppError::Conflict(format!(
                "ref \"{}\" 已存在 (a resource with this ref already exists)",
                input.ref_code
            )));
        }
        diesel::insert_into(resources::table)
            .values((
                write,
                resources::ref_code.eq(&input.ref_code),
                resources::status.eq(status),
                resources::version.eq(1i64),
                resources::created_by.eq(actor),
                resources::created_at.eq(now),
                resources::updated_by.eq(actor),
                resources::updated_at.eq(now),
            ))
            .execute(conn)?;
        let row = reload(conn, &input.ref_code)?;
        record_history(conn, row.id, action, None, status, actor)?;
        stamp_status(conn, row.id, status, actor)?;
        change_log::append(conn, "resource", &row.ref_code, "upsert")?;
        reload(conn, &row.ref_code)
    })
}

/// Replaces a resource's content (and moves it to `status` when that differs).
pub fn update(
    conn: &mut DbConnection,
    existing: &ResourceRow,
    input: &ResourceInput,
    provider: &str,
    organisation_id: Option<i64>,
    status: &str,
    actor: &str,
) -> Result<ResourceRow, AppError> {
    let write = write_of(input, provider, organisation_id)?;
    conn.transaction(|conn| {
        let changed = diesel::update(
            resources::table
                .find(existing.id)
                .filter(resources::version.eq(existing.version)),
        )
        .set((
            write,
            resources::status.eq(status),
            resources::version.eq(existing.version + 1),
            resources::updated_by.eq(actor),
            resources::updated_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)?;
        if changed == 0 {
            return Err(stale(&existing.ref_code));
        }
        let action = if status == existing.status {
            "updated"
        } else {
            status_action(status)
        };
        record_history(
            conn,
            existing.id,
            action,
            Some(&existing.status),
            status,
            actor,
        )?;
        if status != existing.status {
            stamp_status(conn, existing.id, status, actor)?;
        }
        change_log::append(conn, "resource", &existing.ref_code, "upsert")?;
        reload(conn, &existing.ref_code)
    })
}

/// The resource changed since it was read (another edit won the race).
fn stale(ref_code: &str) -> AppError {
    AppError::Conflict(format!(
        "资源 {ref_code} 刚被他人修改，请刷新后重试 (the resource changed meanwhile; reload and retry)"
    ))
}

fn status_action(status: &str) -> &'static str {
    match status {
        "published" => "published",
        "withdrawn" => "withdrawn",
        _ => "draft",
    }
}

/// Moves a resource to another status (publish, withdraw, reopen).
pub fn change_status(
    conn: &mut DbConnection,
    existing: &ResourceRow,
    status: &str,
    actor: &str,
) -> Result<ResourceRow, AppError> {
    super::access::check_transition(&existing.status, status)?;
    if existing.status == status {
        return Ok(existing.clone());
    }
    conn.transaction(|conn| {
        let changed = diesel::update(
            resources::table
                .find(existing.id)
                .filter(resources::version.eq(existing.version)),
        )
        .set((
            resources::status.eq(status),
            resources::version.eq(existing.version + 1),
            resources::updated_by.eq(actor),
            resources::updated_at.eq(Utc::now().naive_utc()),
        ))
        .execute(conn)?;
        if changed == 0 {
            return Err(stale(&existing.ref_code));
        }
        record_history(
            conn,
            existing.id,
            status_action(status),
            Some(&existing.status),
            status,
            actor,
        )?;
        stamp_status(conn, existing.id, status, actor)?;
        change_log::append(conn, "resource", &existing.ref_code, "upsert")?;
        reload(conn, &existing.ref_code)
    })
}

pub fn count(conn: &mut DbConnection) -> Result<i64, AppError> {
    Ok(resources::table.count().get_result(conn)?)
}
