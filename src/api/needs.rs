//! `/api/v1/needs`: households' need lists, scoped like the households
//! themselves; each need's status moves open → matched → fulfilled / closed
//! with who and when recorded.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

use super::{Page, Paging};
use crate::auth::{ApiUser, Identity};
use crate::db::DbConnection;
use crate::domain::vocabulary::{self, DIMENSIONS, NEED_STATUSES};
use crate::error::AppError;
use crate::households::needs::{self, NeedDoc, NeedEvent, NeedQuery};
use crate::households::{access, repository};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/needs", web::get().to(list))
        .route("/needs", web::post().to(create))
        .route("/needs/{ref}", web::get().to(read))
        .route("/needs/{ref}", web::put().to(replace))
        .route("/needs/{ref}/status", web::post().to(set_status))
        .route("/needs/{ref}/history", web::get().to(history));
}

fn visible(conn: &mut DbConnection, who: &Identity, ref_code: &str) -> Result<NeedDoc, AppError> {
    access::visible_need(conn, who, ref_code)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    pub household: Option<String>,
    pub status: Option<String>,
    pub dimension: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/needs", params(ListParams, Paging),
    responses((status = 200, body = Page<NeedDoc>), (status = 403), (status = 422)))]
pub async fn list(
    state: web::Data<AppState>,
    user: ApiUser,
    params: web::Query<ListParams>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, AppError> {
    let scope = access::scope(&user.0)?;
    let params = params.into_inner();
    let nonempty = |v: Option<String>| v.filter(|s| !s.is_empty());
    let status = nonempty(params.status);
    if let Some(s) = status
        .as_deref()
        .filter(|s| !vocabulary::is_known(NEED_STATUSES, s))
    {
        return Err(AppError::field(
            "status",
            format!("未知状态 \"{s}\" (unknown status)"),
        ));
    }
    let dimension = nonempty(params.dimension);
    if let Some(d) = dimension
        .as_deref()
        .filter(|d| !vocabulary::is_known(DIMENSIONS, d))
    {
        return Err(AppError::field(
            "dimension",
            format!("未知维度 \"{d}\" (unknown dimension)"),
        ));
    }
    let q = NeedQuery {
        household_ref: nonempty(params.household),
        status,
        dimension,
        page: paging.page(),
        per_page: paging.per_page(),
        ..Default::default()
    };
    let page = state
        .db(move |conn| {
            let (items, total) = needs::list(conn, &scope, &q)?;
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

#[utoipa::path(post, path = "/api/v1/needs", request_body = Object,
    responses((status = 201, body = NeedDoc), (status = 403), (status = 404), (status = 422)))]
pub async fn create(
    state: web::Data<AppState>,
    user: ApiUser,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let who = user.0;
    access::scope(&who)?;
    let input = needs::parse_need(&body).map_err(AppError::Validation)?;
    let doc = state
        .db(move |conn| {
            let household = repository::find(conn, &input.household_ref)?.ok_or_else(|| {
                AppError::field(
                    "household_ref",
                    format!(
                        "没有编号为 {} 的家庭 (no such household)",
                        input.household_ref
                    ),
                )
            })?;
            access::check_visible(&who, &household.row).map_err(|_| {
                AppError::field(
                    "household_ref",
                    format!(
                        "没有编号为 {} 的家庭 (no such household)",
                        input.household_ref
                    ),
                )
            })?;
            if !household.row.consent {
                return Err(AppError::field(
                    "household_ref",
                    "该家庭尚未记录本人同意，不能登记需求 (record consent first)",
                ));
            }
            if let Some(s) = input.status.as_deref().filter(|s| *s != "open") {
                return Err(AppError::field(
                    "status",
                    format!("新需求的状态只能是 open (a new need is open, not {s})"),
                ));
            }
            needs::create(conn, household.row.id, &input, None, &who.username)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/needs/{}", doc.ref_code)))
        .json(doc))
}

#[utoipa::path(get, path = "/api/v1/needs/{ref}",
    responses((status = 200, body = NeedDoc), (status = 403), (status = 404)))]
pub async fn read(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let ref_code = path.into_inner();
    let doc = state
        .db(move |conn| visible(conn, &user.0, &ref_code))
        .await?;
    Ok(HttpResponse::Ok().json(doc))
}

#[utoipa::path(put, path = "/api/v1/needs/{ref}", request_body = Object,
    responses((status = 200, body = NeedDoc), (status = 404), (status = 409), (status = 422)))]
pub async fn replace(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let ref_code = path.into_inner();
    let mut body = body.into_inner();
    let version = body.get("version").and_then(Value::as_i64);
    let doc = state
        .db(move |conn| {
            let current = access::changeable_need(conn, &user.0, &ref_code)?;
            if let Value::Object(obj) = &mut body {
                obj.entry("household_ref")
                    .or_insert_with(|| Value::String(current.household_ref.clone()));
            }
            let input = needs::parse_need(&body).map_err(AppError::Validation)?;
            if input.household_ref != current.household_ref {
                return Err(AppError::field(
                    "household_ref",
                    "需求不能转到另一个家庭 (a need stays with its household)",
                ));
            }
            needs::update(conn, &ref_code, &input, version, &user.0.username)
        })
        .await?;
    Ok(HttpResponse::Ok().json(doc))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StatusChange {
    pub status: String,
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(post, path = "/api/v1/needs/{ref}/status", request_body = StatusChange,
    responses((status = 200, body = NeedDoc), (status = 404), (status = 422)))]
pub async fn set_status(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
    body: web::Json<StatusChange>,
) -> Result<HttpResponse, AppError> {
    let ref_code = path.into_inner();
    let change = body.into_inner();
    if !vocabulary::is_known(NEED_STATUSES, &change.status) {
        return Err(AppError::field(
            "status",
            format!(
                "状态须为：{} (unknown status)",
                vocabulary::codes(NEED_STATUSES)
            ),
        ));
    }
    if change.note.chars().count() > 1_000 {
        return Err(AppError::field(
            "note",
            "说明不能超过 1000 字 (note is too long)",
        ));
    }
    let doc = state
        .db(move |conn| {
            access::changeable_need(conn, &user.0, &ref_code)?;
            needs::set_status(
                conn,
                &ref_code,
                &change.status,
                change.note.trim(),
                &user.0.username,
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(doc))
}

#[utoipa::path(get, path = "/api/v1/needs/{ref}/history",
    responses((status = 200, body = Vec<NeedEvent>), (status = 404)))]
pub async fn history(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let ref_code = path.into_inner();
    let events = state
        .db(move |conn| {
            visible(conn, &user.0, &ref_code)?;
            needs::events(conn, &ref_code)
        })
        .await?;
    Ok(HttpResponse::Ok().json(events))
}
