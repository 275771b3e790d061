//! `/api/v1/referrals`: a need referred to a resource, accepted (taking one
//! unit of capacity), fulfilled or declined by the adviser or by the
//! charity owning the resource (who sees only the anonymised need).

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::Page;
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::matching::referrals::{self, ReferralView};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/referrals", web::get().to(list))
        .route("/referrals", web::post().to(create))
        .route("/referrals/{number}", web::get().to(read))
        .route("/referrals/{number}/status", web::post().to(set_status));
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewReferral {
    pub need_ref: String,
    pub resource_ref: String,
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(post, path = "/api/v1/referrals", request_body = NewReferral,
    responses((status = 201, body = ReferralView), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn create(
    state: web::Data<AppState>,
    user: ApiUser,
    body: web::Json<NewReferral>,
) -> Result<HttpResponse, AppError> {
    let b = body.into_inner();
    let view = state
        .db(move |conn| {
            referrals::create(
                conn,
                &user.0,
                b.need_ref.trim(),
                b.resource_ref.trim(),
                b.note.trim(),
            )
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/referrals/{}", view.number)))
        .json(view))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// One need's referrals.
    pub need: Option<String>,
    pub status: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/referrals", params(ListParams),
    responses((status = 200, body = Page<ReferralView>), (status = 404)))]
pub async fn list(
    state: web::Data<AppState>,
    user: ApiUser,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    let p = params.into_inner();
    let items = state
        .db(move |conn| {
            referrals::list(
                conn,
                &user.0,
                p.need.as_deref().filter(|s| !s.is_empty()),
                p.status.as_deref().filter(|s| !s.is_empty()),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page {
        total: items.len() as i64,
        page: 1,
        per_page: items.len() as i64,
        items,
    }))
}

#[utoipa::path(get, path = "/api/v1/referrals/{number}",
    responses((status = 200, body = ReferralView), (status = 404)))]
pub async fn read(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let number = path.into_inner();
    let view = state
        .db(move |conn| referrals::view(conn, &user.0, &number))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StatusChange {
    /// `accepted`, `fulfilled` or `declined`.
    pub status: String,
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(post, path = "/api/v1/referrals/{number}/status", request_body = StatusChange,
    responses((status = 200, body = ReferralView), (status = 404), (status = 409), (status = 422)))]
pub async fn set_status(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
    body: web::Json<StatusChange>,
) -> Result<HttpResponse, AppError> {
    let number = path.into_inner();
    let b = body.into_inner();
    let view = state
        .db(move |conn| {
            referrals::set_status(conn, &user.0, &number, b.status.trim(), b.note.trim())
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
