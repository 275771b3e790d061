//! `/api/v1/hsds`: the catalogue's service, funding and material resources
//! as Open Referral HSDS 3.0 (public: published ones only), and importing
//! HSDS data (admins).

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::users::require_admin;
use crate::auth::ApiUser;
use crate::catalogue::hsds::{self, ReadOptions};
use crate::catalogue::import::ImportError;
use crate::error::{AppError, FieldError};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/hsds/services", web::get().to(services))
        .route("/hsds/services/{id}", web::get().to(service))
        .service(
            web::resource("/hsds/import")
                .app_data(web::PayloadConfig::new(50 * 1024 * 1024))
                .route(web::post().to(import)),
        );
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1-based page number (default 1).
    pub page: Option<i64>,
    /// Services per page (default 50, at most 500).
    pub per_page: Option<i64>,
}

/// The published service, funding and material resources, a page at a
/// time, as HSDS 3.0 `service` records (with organization, location,
/// service area, required documents, phones, schedules and `aidmatch_*`
/// attributes), in the HSDS API's page shape. The whole catalogue in one
/// file is the download `/resources.hsds.json`.
#[utoipa::path(get, path = "/api/v1/hsds/services", params(PageParams),
    responses((status = 200, body = Object, description = "an HSDS 3.0 page: {total_items, total_pages, page_number, size, first_page, last_page, empty, contents: [service]}")))]
pub async fn services(
    state: web::Data<AppState>,
    params: web::Query<PageParams>,
) -> Result<HttpResponse, AppError> {
    let page = params.page.unwrap_or(1);
    let per_page = params.per_page.unwrap_or(50);
    let body = state
        .db(move |conn| hsds::export_page(conn, page, per_page))
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// One published service, by its HSDS id or its aidmatch ref.
#[utoipa::path(get, path = "/api/v1/hsds/services/{id}",
    responses((status = 200, body = Object, description = "an HSDS 3.0 service"), (status = 404)))]
pub async fn service(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let s = state.db(move |conn| hsds::export_one(conn, &id)).await?;
    Ok(HttpResponse::Ok().json(s))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// Region code for services that carry no aidmatch region (data from
    /// other directories), e.g. `310118`.
    pub region: Option<String>,
    /// Dimension for services whose words suggest none.
    pub dimension: Option<String>,
    /// Publish active services from elsewhere at once (default: drafts).
    pub publish: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportResult {
    pub created: usize,
    pub updated: usize,
}

/// Imports an HSDS 3.0 document (a service, an array, a page with
/// `contents`, or an organization with `services`): all or nothing; each
/// problem names the service and its HSDS field.
#[utoipa::path(post, path = "/api/v1/hsds/import", params(ImportParams), request_body = Object,
    responses((status = 200, body = ImportResult), (status = 403), (status = 422)))]
pub async fn import(
    state: web::Data<AppState>,
    user: ApiUser,
    params: web::Query<ImportParams>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    require_admin(&user.0)?;
    let text = String::from_utf8(body.to_vec()).map_err(|_| {
        AppError::BadRequest("请求体必须是 UTF-8 JSON (body must be UTF-8 JSON)".into())
    })?;
    let params = params.into_inner();
    let options = ReadOptions {
        region: params.region.filter(|r| !r.trim().is_empty()),
        dimension: params.dimension.filter(|d| !d.trim().is_empty()),
        publish: params.publish.unwrap_or(false),
    };
    let actor = user.0.username.clone();
    let result = state
        .db(move |conn| Ok(hsds::import(conn, &text, &options, &actor, |_, _| {})))
        .await?;
    match result {
        Ok(r) => Ok(HttpResponse::Ok().json(ImportResult {
            created: r.created,
            updated: r.updated,
        })),
        Err(ImportError::Invalid(list)) => Err(AppError::Validation(
            list.into_iter()
                .map(|e| {
                    let field = match (&e.position, &e.field) {
                        (Some(p), Some(f)) => format!("{p} {f}"),
                        (None, Some(f)) => f.clone(),
                        (Some(p), None) => p.to_string(),
                        (None, None) => "$".into(),
                    };
                    FieldError::new(field, e.message)
                })
                .collect(),
        )),
        Err(ImportError::App(e)) => Err(e),
    }
}
