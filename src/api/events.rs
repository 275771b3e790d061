//! `/api/v1/events`: quarterly matchmaking events. Admins create, compile,
//! edit, publish and run them; anyone may read a published need list
//! (aggregated and anonymised); charities pledge against its items; admins
//! record agreements and read the report.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::auth::{ApiUser, MaybeApiUser};
use crate::error::AppError;
use crate::events::agreements::{self, AgreementInput, AgreementView};
use crate::events::lifecycle::{self, EventInput, Proposal};
use crate::events::mailings;
use crate::events::model::{self, EventView};
use crate::events::need_list::{self, ItemEdit, NeedBehind};
use crate::events::pledges::{self, PledgeInput, PledgeView};
use crate::events::report::{self, EventReport};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/events", web::get().to(list))
        .route("/events", web::post().to(create))
        .route("/events/proposals", web::get().to(proposals))
        .route("/events/{ref}", web::get().to(read))
        .route("/events/{ref}", web::put().to(update))
        .route("/events/{ref}", web::delete().to(delete))
        .route("/events/{ref}/status", web::post().to(set_status))
        .route("/events/{ref}/need-list", web::post().to(compile))
        .route("/events/{ref}/items/{id}", web::put().to(edit_item))
        .route("/events/{ref}/items/{id}/needs", web::get().to(item_needs))
        .route("/events/{ref}/pledges", web::get().to(list_pledges))
        .route("/events/{ref}/pledges", web::post().to(pledge))
        .route(
            "/pledges/{number}/withdraw",
            web::post().to(withdraw_pledge),
        )
        .route("/events/{ref}/agreements", web::get().to(list_agreements))
        .route("/events/{ref}/agreements", web::post().to(sign))
        .route("/agreements/{number}", web::get().to(read_agreement))
        .route("/events/{ref}/report", web::get().to(read_report))
        .route("/events/{ref}/report.xlsx", web::get().to(report_xlsx))
        .route("/events/{ref}/follow-ups", web::post().to(follow_up));
}

fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

#[utoipa::path(get, path = "/api/v1/events",
    responses((status = 200, body = Vec<EventView>)))]
pub async fn list(
    state: web::Data<AppState>,
    user: MaybeApiUser,
) -> Result<HttpResponse, AppError> {
    let admin = user.0.as_ref().is_some_and(|u| u.is_admin());
    let views = state
        .db(move |conn| {
            lifecycle::list(conn, admin)?
                .iter()
                .map(|e| model::view(conn, e, admin))
                .collect::<Result<Vec<_>, _>>()
        })
        .await?;
    Ok(HttpResponse::Ok().json(views))
}

#[utoipa::path(post, path = "/api/v1/events", request_body = EventInput,
    responses((status = 201, body = EventView), (status = 403), (status = 409), (status = 422)))]
pub async fn create(
    state: web::Data<AppState>,
    user: ApiUser,
    body: web::Json<EventInput>,
) -> Result<HttpResponse, AppError> {
    let input = body.into_inner();
    let view = state
        .db(move |conn| {
            let e = lifecycle::create(conn, &user.0, &input, today())?;
            model::view(conn, &e, true)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/events/{}", view.ref_code)))
        .json(view))
}

#[utoipa::path(get, path = "/api/v1/events/proposals",
    responses((status = 200, body = Vec<Proposal>), (status = 403)))]
pub async fn proposals(
    state: web::Data<AppState>,
    user: ApiUser,
) -> Result<HttpResponse, AppError> {
    if !user.0.is_admin() {
        return Err(AppError::forbidden());
    }
    let list = state
        .db(move |conn| lifecycle::proposals(conn, today()))
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(get, path = "/api/v1/events/{ref}",
    responses((status = 200, body = EventView), (status = 404)))]
pub async fn read(
    state: web::Data<AppState>,
    user: MaybeApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let r = path.into_inner();
    let admin = user.0.as_ref().is_some_and(|u| u.is_admin());
    let view = state
        .db(move |conn| {
            let e = model::event_or_404(conn, &r)?;
            if !e.is_public() && !admin {
                return Err(AppError::not_found(&format!("对接会 {r}")));
            }
            model::view(conn, &e, admin)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(put, path = "/api/v1/events/{ref}", request_body = EventInput,
    responses((status = 200, body = EventView), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn update(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
    body: web::Json<EventInput>,
) -> Result<HttpResponse, AppError> {
    let (r, input) = (path.into_inner(), body.into_inner());
    let sender = state.postman.sender.clone();
    let view = state
        .db(move |conn| {
            let e = lifecycle::update(conn, &user.0, &sender, &r, &input, today())?;
            model::view(conn, &e, true)
        })
        .await?;
    state.postman.wake();
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(delete, path = "/api/v1/events/{ref}",
    responses((status = 204), (status = 403), (status = 404), (status = 409)))]
pub async fn delete(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let r = path.into_inner();
    state
        .db(move |conn| lifecycle::delete(conn, &user.0, &r))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StatusChange {
    /// `published`, `held` or `closed`.
    pub status: String,
}

#[utoipa::path(post, path = "/api/v1/events/{ref}/status", request_body = StatusChange,
    responses((status = 200, body = EventView), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn set_status(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
    body: web::Json<StatusChange>,
) -> Result<HttpResponse, AppError> {
    let (r, to) = (path.into_inner(), body.into_inner().status);
    let sender = state.postman.sender.clone();
    let view = state
        .db(move |conn| {
            let e = lifecycle::transition(conn, &user.0, &sender, &r, to.trim(), today())?;
            model::view(conn, &e, true)
        })
        .await?;
    state.postman.wake();
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(post, path = "/api/v1/events/{ref}/need-list",
    responses((status = 200, body = EventView), (status = 403), (status = 404), (status = 409)))]
pub async fn compile(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let r = path.into_inner();
    let view = state
        .db(move |conn| {
            need_list::compile(conn, &user.0, &r, today())?;
            let e = model::event_or_404(conn, &r)?;
            model::view(conn, &e, true)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(put, path = "/api/v1/events/{ref}/items/{id}", request_body = ItemEdit,
    responses((status = 200, body = EventView), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn edit_item(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<(String, i64)>,
    body: web::Json<ItemEdit>,
) -> Result<HttpResponse, AppError> {
    let ((r, id), edit) = (path.into_inner(), body.into_inner());
    let view = state
        .db(move |conn| {
            need_list::edit_item(conn, &user.0, &r, id, &edit)?;
            let e = model::event_or_404(conn, &r)?;
            model::view(conn, &e, true)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(get, path = "/api/v1/events/{ref}/items/{id}/needs",
    responses((status = 200, body = Vec<NeedBehind>), (status = 403), (status = 404)))]
pub async fn item_needs(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, AppError> {
    if !user.0.is_admin() {
        return Err(AppError::forbidden());
    }
    let (r, id) = path.into_inner();
    let list = state
        .db(move |conn| {
            let e = model::event_or_404(conn, &r)?;
            if !model::items_of(conn, e.id)?.iter().any(|i| i.id == id) {
                return Err(AppError::not_found(&format!("清单项 {id}")));
            }
            need_list::needs_of_item(conn, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(get, path = "/api/v1/events/{ref}/pledges",
    responses((status = 200, body = Vec<PledgeView>), (status = 403), (status = 404)))]
pub async fn list_pledges(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let r = path.into_inner();
    let list = state
        .db(move |conn| pledges::list(conn, &user.0, &r))
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(post, path = "/api/v1/events/{ref}/pledges", request_body = PledgeInput,
    responses((status = 201, body = PledgeView), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn pledge(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
    body: web::Json<PledgeInput>,
) -> Result<HttpResponse, AppError> {
    let (r, input) = (path.into_inner(), body.into_inner());
    let view = state
        .db(move |conn| pledges::create(conn, &user.0, &r, &input, today()))
        .await?;
    Ok(HttpResponse::Created().json(view))
}

#[utoipa::path(post, path = "/api/v1/pledges/{number}/withdraw",
    responses((status = 204), (status = 404), (status = 409)))]
pub async fn withdraw_pledge(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let n = path.into_inner();
    state
        .db(move |conn| pledges::withdraw(conn, &user.0, &n).map(|_| ()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/events/{ref}/agreements",
    responses((status = 200, body = Vec<AgreementView>), (status = 404)))]
pub async fn list_agreements(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let r = path.into_inner();
    let list = state
        .db(move |conn| agreements::list(conn, &user.0, &r))
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(post, path = "/api/v1/events/{ref}/agreements", request_body = AgreementInput,
    responses((status = 201, body = AgreementView), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn sign(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
    body: web::Json<AgreementInput>,
) -> Result<HttpResponse, AppError> {
    let (r, input) = (path.into_inner(), body.into_inner());
    let view = state
        .db(move |conn| agreements::sign(conn, &user.0, &r, &input, today()))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/agreements/{}", view.number)))
        .json(view))
}

#[utoipa::path(get, path = "/api/v1/agreements/{number}",
    responses((status = 200, body = AgreementView), (status = 404)))]
pub async fn read_agreement(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let n = path.into_inner();
    let view = state
        .db(move |conn| agreements::view(conn, &user.0, &n))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(get, path = "/api/v1/events/{ref}/report",
    responses((status = 200, body = EventReport), (status = 403), (status = 404)))]
pub async fn read_report(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let r = path.into_inner();
    let report = state
        .db(move |conn| report::build(conn, &user.0, &r))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

#[utoipa::path(get, path = "/api/v1/events/{ref}/report.xlsx",
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (status = 403), (status = 404)))]
pub async fn report_xlsx(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let r = path.into_inner();
    let (bytes, name) = state
        .db(move |conn| {
            let rep = report::build(conn, &user.0, &r)?;
            Ok((report::xlsx(&rep)?, rep.event_ref))
        })
        .await?;
    Ok(crate::export::xlsx_download(
        &format!("对接会成果报告-{name}.xlsx"),
        bytes,
    ))
}

/// How many follow-ups were queued.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Queued {
    pub queued: usize,
}

#[utoipa::path(post, path = "/api/v1/events/{ref}/follow-ups",
    responses((status = 200, body = Queued), (status = 403), (status = 404), (status = 409)))]
pub async fn follow_up(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let r = path.into_inner();
    let sender = state.postman.sender.clone();
    let queued = state
        .db(move |conn| mailings::follow_up_now(conn, &user.0, &sender, &r, today()))
        .await?;
    state.postman.wake();
    Ok(HttpResponse::Ok().json(Queued { queued }))
}
