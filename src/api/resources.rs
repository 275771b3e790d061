//! `/api/v1/resources`: list, create, read, replace, publish, withdraw, history.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

use super::{Page, Paging};
use crate::auth::{ApiUser, MaybeApiUser};
use crate::catalogue::access::{self, visibility_for};
use crate::catalogue::editing;
use crate::catalogue::model::HistoryRow;
use crate::catalogue::repository::{self, ListQuery};
use crate::catalogue::validation::validate_resource;
use crate::catalogue::{ResourceDoc, ResourceRow};
use crate::db::DbConnection;
use crate::domain::vocabulary::{self, KINDS, STATUSES};
use crate::error::AppError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/resources/search", web::get().to(search))
        .route("/resources", web::get().to(list))
        .route("/resources", web::post().to(create))
        .route("/resources/{ref}", web::get().to(read))
        .route("/resources/{ref}", web::put().to(replace))
        .route("/resources/{ref}/publish", web::post().to(publish))
        .route("/resources/{ref}/withdraw", web::post().to(withdraw))
        .route("/resources/{ref}/history", web::get().to(history));
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    pub kind: Option<String>,
    pub status: Option<String>,
    /// Substring of title, summary or provider.
    pub q: Option<String>,
    /// Only this organisation's resources (by name).
    pub organisation: Option<String>,
}

fn doc_of(conn: &mut DbConnection, row: &ResourceRow) -> Result<ResourceDoc, AppError> {
    let names = repository::organisation_names(conn, std::slice::from_ref(row))?;
    Ok(row.to_doc(row.organisation_id.and_then(|id| names.get(&id).cloned())))
}

/// Loads a resource the caller may see; one it may not see is "not found".
fn visible(
    conn: &mut DbConnection,
    who: Option<&crate::auth::Identity>,
    ref_code: &str,
) -> Result<ResourceRow, AppError> {
    match repository::find(conn, ref_code)? {
        Some(row) if access::can_view(who, &row) => Ok(row),
        _ => Err(AppError::not_found(&format!("资源 {ref_code}"))),
    }
}

#[utoipa::path(get, path = "/api/v1/resources", params(ListParams, Paging),
    responses((status = 200, body = Page<ResourceDoc>)))]
pub async fn list(
    state: web::Data<AppState>,
    user: MaybeApiUser,
    params: web::Query<ListParams>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, AppError> {
    if let Some(kind) = params
        .kind
        .as_deref()
        .filter(|k| !vocabulary::is_known(KINDS, k))
    {
        return Err(AppError::field(
            "kind",
            format!("未知资源类型 \"{kind}\" (unknown kind)"),
        ));
    }
    if let Some(s) = params
        .status
        .as_deref()
        .filter(|s| !vocabulary::is_known(STATUSES, s))
    {
        return Err(AppError::field(
            "status",
            format!("未知状态 \"{s}\" (unknown status)"),
        ));
    }
    let vis = visibility_for(user.0.as_ref());
    let params = params.into_inner();
    let paging = *paging;
    let page = state
        .db(move |conn| {
            let organisation_id = match params.organisation.as_deref().filter(|o| !o.is_empty()) {
                Some(name) => Some(
                    crate::auth::organisations::find_by_name(conn, name)?
                        .map(|o| o.id)
                        .unwrap_or(-1),
                ),
                None => None,
            };
            let q = ListQuery {
                kind: params.kind,
                status: params.status,
                organisation_id,
                text: params.q,
                page: paging.page(),
                per_page: paging.per_page(),
            };
            let (total, rows) = repository::list(conn, vis, &q)?;
            let names = repository::organisation_names(conn, &rows)?;
            let items = rows
                .iter()
                .map(|r| r.to_doc(r.organisation_id.and_then(|id| names.get(&id).cloned())))
                .collect();
            Ok(Page {
                total,
                page: q.page,
                per_page: q.per_page,
                items,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[utoipa::path(post, path = "/api/v1/resources", request_body = ResourceDoc,
    responses((status = 201, body = ResourceDoc), (status = 401), (status = 403), (status = 422)))]
pub async fn create(
    state: web::Data<AppState>,
    user: ApiUser,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let input = validate_resource(&body).map_err(AppError::Validation)?;
    let who = user.0;
    let doc = state
        .db(move |conn| {
            let row = editing::create_as(conn, &who, &input)?;
            doc_of(conn, &row)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/resources/{}", doc.ref_code)))
        .json(doc))
}

#[utoipa::path(get, path = "/api/v1/resources/{ref}",
    responses((status = 200, body = ResourceDoc), (status = 404)))]
pub async fn read(
    state: web::Data<AppState>,
    user: MaybeApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let ref_code = path.into_inner();
    let doc = state
        .db(move |conn| {
            let row = visible(conn, user.0.as_ref(), &ref_code)?;
            doc_of(conn, &row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(doc))
}

#[utoipa::path(put, path = "/api/v1/resources/{ref}", request_body = ResourceDoc,
    responses((status = 200, body = ResourceDoc), (status = 403), (status = 404), (status = 422)))]
pub async fn replace(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let ref_code = path.into_inner();
    let mut body = body.into_inner();
    // The ref in the URL is the resource's; a body may omit it.
    if let Value::Object(obj) = &mut body {
        obj.entry("ref")
            .or_insert_with(|| Value::String(ref_code.clone()));
    }
    let input = validate_resource(&body).map_err(AppError::Validation)?;
    let who = user.0;
    let doc = state
        .db(move |conn| {
            let existing = visible(conn, Some(&who), &ref_code)?;
            let row = editing::update_as(conn, &who, &existing, &input)?;
            doc_of(conn, &row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(doc))
}

async fn set_status(
    state: web::Data<AppState>,
    user: ApiUser,
    ref_code: String,
    status: &'static str,
) -> Result<HttpResponse, AppError> {
    let who = user.0;
    let doc = state
        .db(move |conn| {
            let existing = visible(conn, Some(&who), &ref_code)?;
            let row = editing::change_status_as(conn, &who, &existing, status)?;
            doc_of(conn, &row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(doc))
}

#[utoipa::path(post, path = "/api/v1/resources/{ref}/publish",
    responses((status = 200, body = ResourceDoc), (status = 403), (status = 404), (status = 409)))]
pub async fn publish(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    set_status(state, user, path.into_inner(), "published").await
}

#[utoipa::path(post, path = "/api/v1/resources/{ref}/withdraw",
    responses((status = 200, body = ResourceDoc), (status = 403), (status = 404), (status = 409)))]
pub async fn withdraw(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    set_status(state, user, path.into_inner(), "withdrawn").await
}

#[utoipa::path(get, path = "/api/v1/resources/{ref}/history",
    responses((status = 200), (status = 404)))]
pub async fn history(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let ref_code = path.into_inner();
    let who = user.0;
    let rows: Vec<HistoryRow> = state
        .db(move |conn| {
            let row = visible(conn, Some(&who), &ref_code)?;
            repository::history(conn, row.id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// Full-text search over published resources (SPEC): `q`, `kind`,
/// `dimension`, `target_group` (each repeatable), `region`, `valid_on`
/// (default today), `available`, `page`, `per_page`.
#[utoipa::path(get, path = "/api/v1/resources/search",
    params(
        ("q" = Option<String>, Query, description = "words, abbreviations or full pinyin; empty lists by recency"),
        ("kind" = Option<String>, Query), ("dimension" = Option<String>, Query),
        ("target_group" = Option<String>, Query), ("region" = Option<String>, Query, description = "a household's region code"),
        ("valid_on" = Option<String>, Query), ("available" = Option<bool>, Query),
        ("page" = Option<i64>, Query), ("per_page" = Option<i64>, Query),
    ),
    responses((status = 200, body = crate::search::SearchResults), (status = 422)))]
pub async fn search(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, AppError> {
    let request =
        crate::search::request::parse(req.query_string(), chrono::Local::now().date_naive())?;
    // Searching is CPU work of about a millisecond on memory-mapped files
    // (no I/O wait, no locks held long): it runs on the worker itself, one
    // request after another, rather than hopping to the blocking pool where
    // many searches at once would only share the same cores.
    let results = state.search.search(&request)?;
    Ok(HttpResponse::Ok().json(results))
}
