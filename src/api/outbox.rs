//! `/api/v1/outbox` (admins): every e-mail, its status, attempts and last
//! error; a failed message can be sent again.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::{Page, Paging};
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::mail::outbox::{self, OutboxRow, STATUSES};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/outbox", web::get().to(list))
        .route("/outbox/{id}", web::get().to(read))
        .route("/outbox/{id}/retry", web::post().to(retry));
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `pending`, `sending`, `sent` or `failed`.
    pub status: Option<String>,
}

fn only_admin(user: &ApiUser) -> Result<(), AppError> {
    if user.0.is_admin() {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

#[utoipa::path(get, path = "/api/v1/outbox", params(ListParams, Paging),
    responses((status = 200, body = Page<OutboxRow>), (status = 403), (status = 422)))]
pub async fn list(
    state: web::Data<AppState>,
    user: ApiUser,
    params: web::Query<ListParams>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, AppError> {
    only_admin(&user)?;
    let status = params.status.clone().filter(|s| !s.is_empty());
    if let Some(s) = status
        .as_deref()
        .filter(|s| !STATUSES.iter().any(|(c, _)| c == s))
    {
        return Err(AppError::field(
            "status",
            format!("未知状态 \"{s}\"，可选 pending、sending、sent、failed (unknown status)"),
        ));
    }
    let (page, per_page) = (paging.page(), paging.per_page());
    let (total, items) = state
        .db(move |conn| outbox::list(conn, status.as_deref(), page, per_page))
        .await?;
    Ok(HttpResponse::Ok().json(Page {
        total,
        page,
        per_page,
        items,
    }))
}

#[utoipa::path(get, path = "/api/v1/outbox/{id}",
    responses((status = 200, body = OutboxRow), (status = 403), (status = 404)))]
pub async fn read(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    only_admin(&user)?;
    let id = path.into_inner();
    let row = state
        .db(move |conn| outbox::find(conn, id)?.ok_or_else(|| AppError::not_found("邮件")))
        .await?;
    Ok(HttpResponse::Ok().json(row))
}

#[utoipa::path(post, path = "/api/v1/outbox/{id}/retry",
    responses((status = 200, body = OutboxRow), (status = 403), (status = 404), (status = 409)))]
pub async fn retry(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    only_admin(&user)?;
    let id = path.into_inner();
    let row = state.db(move |conn| outbox::retry(conn, id)).await?;
    state.postman.wake();
    Ok(HttpResponse::Ok().json(row))
}
