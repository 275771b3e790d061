//! The three-list bundle: `GET /api/v1/households/{ref}/bundle[?as_of=]`
//! (built now, not stored), saved snapshots (`POST` and `GET
//! /api/v1/households/{ref}/bundles`, `GET /api/v1/bundles/{number}`).

use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::auth::{ApiUser, Identity};
use crate::error::AppError;
use crate::households::access;
use crate::matching::bundle::{self, Bundle};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/households/{ref}/bundle", web::get().to(current))
        .route("/households/{ref}/bundles", web::post().to(save))
        .route("/households/{ref}/bundles", web::get().to(saved))
        .route("/bundles/{number}", web::get().to(read));
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
pub struct AsOf {
    /// The day the facts (ages) and validity are taken on; default today.
    pub as_of: Option<String>,
}

/// The `as_of` date, checked.
pub fn as_of_date(raw: Option<&str>) -> Result<NaiveDate, AppError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(chrono::Local::now().date_naive()),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
            AppError::field(
                "as_of",
                "as_of 须为 YYYY-MM-DD 格式的日期 (as_of must be a date)",
            )
        }),
    }
}

/// Builds the bundle of a household `who` may see.
pub async fn build_for(
    state: &web::Data<AppState>,
    who: Identity,
    ref_code: String,
    as_of: NaiveDate,
) -> Result<(i64, Bundle), AppError> {
    let cipher = state.cipher.clone();
    let search = state.search.clone();
    let rules = state.rules.clone();
    state
        .db(move |conn| {
            let h = access::visible_household(conn, &who, &ref_code)?;
            access::require_consent(&h)?;
            let book = rules.current(conn)?;
            let b = bundle::build(conn, &cipher, &search, &book, &h, as_of, &who.username)?;
            Ok((h.row.id, b))
        })
        .await
}

#[utoipa::path(get, path = "/api/v1/households/{ref}/bundle", params(AsOf),
    responses((status = 200, body = Bundle), (status = 403), (status = 404), (status = 422)))]
pub async fn current(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
    query: web::Query<AsOf>,
) -> Result<HttpResponse, AppError> {
    let as_of = as_of_date(query.as_of.as_deref())?;
    let (_, b) = build_for(&state, user.0, path.into_inner(), as_of).await?;
    Ok(HttpResponse::Ok().json(b))
}

#[utoipa::path(post, path = "/api/v1/households/{ref}/bundles", request_body = AsOf,
    responses((status = 201, body = Bundle, description = "the saved, numbered snapshot"),
              (status = 403), (status = 404), (status = 422)))]
pub async fn save(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
    body: Option<web::Json<AsOf>>,
) -> Result<HttpResponse, AppError> {
    let as_of = as_of_date(body.as_ref().and_then(|b| b.as_of.as_deref()))?;
    let (household_id, b) = build_for(&state, user.0, path.into_inner(), as_of).await?;
    let saved = state
        .db(move |conn| bundle::save(conn, household_id, b))
        .await?;
    let location = format!(
        "/api/v1/bundles/{}",
        saved.number.clone().unwrap_or_default()
    );
    Ok(HttpResponse::Created()
        .insert_header(("Location", location))
        .json(saved))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SavedBundle {
    pub number: String,
    pub as_of: NaiveDate,
    pub created_by: String,
    #[serde(with = "crate::domain::timestamp")]
    pub created_at: chrono::NaiveDateTime,
}

#[utoipa::path(get, path = "/api/v1/households/{ref}/bundles",
    responses((status = 200, body = Vec<SavedBundle>), (status = 403), (status = 404)))]
pub async fn saved(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let ref_code = path.into_inner();
    let list = state
        .db(move |conn| {
            let h = access::visible_household(conn, &user.0, &ref_code)?;
            bundle::saved_of(conn, h.row.id)
        })
        .await?;
    let items: Vec<SavedBundle> = list
        .into_iter()
        .map(|b| SavedBundle {
            number: b.number,
            as_of: b.as_of,
            created_by: b.created_by,
            created_at: b.created_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(items))
}

/// A saved bundle `who` may see, exactly as it was saved.
pub async fn load_saved(
    state: &web::Data<AppState>,
    who: Identity,
    number: String,
) -> Result<Bundle, AppError> {
    state
        .db(move |conn| {
            let not_found = || AppError::not_found(&format!("一户一案 {number}"));
            let (row, household_ref) = bundle::find(conn, &number)?.ok_or_else(not_found)?;
            access::scope(&who)?;
            access::visible_household(conn, &who, &household_ref).map_err(|_| not_found())?;
            row.bundle()
        })
        .await
}

#[utoipa::path(get, path = "/api/v1/bundles/{number}",
    responses((status = 200, body = Bundle), (status = 403), (status = 404)))]
pub async fn read(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let b = load_saved(&state, user.0, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(b))
}
