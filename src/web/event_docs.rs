//! The event pages that are documents or on-site work: recording an
//! agreement (the needs behind an item, for the admin), the printable
//! agreement and need list (A4), and the report with its chart and
//! workbook.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::form::{FieldErrors, FormData};
use super::session::MaybeWebUser;
use super::{redirect, render, render_with, require_role, require_user, PageCtx, PageError};
use crate::auth::{csrf, Identity, Role};
use crate::error::AppError;
use crate::events::agreements::{self, AgreementInput, AgreementView};
use crate::events::mailings;
use crate::events::model::{self, EventView, ItemView};
use crate::events::need_list::{self, NeedBehind};
use crate::events::pledges::{self, PledgeView};
use crate::events::report::{self, ChartRow, EventReport};
use crate::state::AppState;

const ADMIN: &[Role] = &[Role::Admin];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/events/{ref}/agreements/new",
        web::get().to(agreement_form),
    )
    .route("/events/{ref}/agreements", web::post().to(sign))
    .route(
        "/events/{ref}/agreements/{number}/print",
        web::get().to(print_agreement),
    )
    .route("/events/{ref}/print", web::get().to(print_list))
    .route(
        "/events/{ref}/need-list.xlsx",
        web::get().to(need_list_xlsx),
    )
    .route("/events/{ref}/report", web::get().to(report_page))
    .route("/events/{ref}/report.xlsx", web::get().to(report_xlsx))
    .route("/events/{ref}/follow-ups", web::post().to(follow_up));
}

fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

#[derive(Template)]
#[template(path = "events/agreement_form.html")]
struct AgreementForm {
    ctx: PageCtx,
    e: EventView,
    item: ItemView,
    pledge: Option<PledgeView>,
    needs: Vec<NeedBehind>,
    chosen: Vec<String>,
    signatory: String,
    signed_on: String,
    note: String,
    errors: FieldErrors,
    general_error: String,
}

#[derive(Debug, Deserialize)]
struct FormQuery {
    pledge: Option<String>,
    item: Option<i64>,
}

struct FormState {
    chosen: Vec<String>,
    signatory: String,
    signed_on: String,
    note: String,
    error: Option<AppError>,
}

async fn form_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    who: Identity,
    r: String,
    q: FormQuery,
    f: FormState,
) -> Result<HttpResponse, PageError> {
    let viewer = who.clone();
    let (e, item, pledge, needs) = state
        .db(move |conn| {
            let row = model::event_or_404(conn, &r)?;
            let e = model::view(conn, &row, true)?;
            let pledge = match q.pledge.as_deref().filter(|p| !p.is_empty()) {
                Some(n) => Some(
                    pledges::list(conn, &viewer, &r)?
                        .into_iter()
                        .find(|p| p.number == n)
                        .ok_or_else(|| AppError::not_found(&format!("认领 {n}")))?,
                ),
                None => None,
            };
            let item_id = pledge.as_ref().map(|p| p.item_id).or(q.item).unwrap_or(0);
            let item = e
                .items
                .iter()
                .find(|i| i.id == item_id)
                .cloned()
                .ok_or_else(|| AppError::not_found(&format!("清单项 {item_id}")))?;
            let needs = need_list::needs_of_item(conn, item_id)?;
            Ok((e, item, pledge, needs))
        })
        .await?;
    let (status, errors, general_error) = match f.error {
        None => (StatusCode::OK, FieldErrors::default(), String::new()),
        Some(err) => {
            let status = match &err {
                AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
                AppError::Conflict(_) => StatusCode::CONFLICT,
                _ => return Err(err.into()),
            };
            let (errors, general) = FieldErrors::from_error(&err);
            (status, errors, general)
        }
    };
    render_with(
        status,
        &AgreementForm {
            ctx: PageCtx::new(req, Some(who)),
            e,
            item,
            pledge,
            needs,
            chosen: f.chosen,
            signatory: f.signatory,
            signed_on: f.signed_on,
            note: f.note,
            errors,
            general_error,
        },
    )
}

async fn agreement_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
    q: web::Query<FormQuery>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, ADMIN)?;
    let f = FormState {
        chosen: Vec::new(),
        signatory: String::new(),
        signed_on: today().to_string(),
        note: String::new(),
        error: None,
    };
    form_page(&state, &req, who, path.into_inner(), q.into_inner(), f).await
}

async fn sign(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, ADMIN)?;
    let data = FormData::parse(&body);
    csrf::verify(&req, &data.csrf())?;
    let r = path.into_inner();
    let input = AgreementInput {
        pledge: data.get("pledge"),
        needs: data.all("needs"),
        charity_signatory: data.get("charity_signatory"),
        signed_on: data.get("signed_on"),
        note: data.get("note"),
    };
    let (actor, rr, attempt) = (who.clone(), r.clone(), input.clone());
    match state
        .db(move |conn| agreements::sign(conn, &actor, &rr, &attempt, today()))
        .await
    {
        Ok(a) => Ok(redirect(&format!(
            "/events/{r}?done=agreement_signed&agreement={}#agreements",
            a.number
        ))),
        Err(e) => {
            let q = FormQuery {
                pledge: Some(input.pledge.clone()),
                item: None,
            };
            let f = FormState {
                chosen: input.needs,
                signatory: input.charity_signatory,
                signed_on: input.signed_on,
                note: input.note,
                error: Some(e),
            };
            form_page(&state, &req, who, r, q, f).await
        }
    }
}

#[derive(Template)]
#[template(path = "events/agreement_print.html")]
struct AgreementPrint {
    ctx: PageCtx,
    a: AgreementView,
}

async fn print_agreement(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, &[Role::Admin, Role::Charity])?;
    let (r, number) = path.into_inner();
    let viewer = who.clone();
    let a = state
        .db(move |conn| {
            let a = agreements::view(conn, &viewer, &number)?;
            if a.event_ref != r {
                return Err(AppError::not_found(&format!("协议 {number}")));
            }
            Ok(a)
        })
        .await?;
    render(&AgreementPrint {
        ctx: PageCtx::new(&req, Some(who)),
        a,
    })
}

#[derive(Template)]
#[template(path = "events/list_print.html")]
struct ListPrint {
    ctx: PageCtx,
    e: EventView,
}

async fn print_list(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let r = path.into_inner();
    let admin = user.0.as_ref().is_some_and(Identity::is_admin);
    let e = state
        .db(move |conn| {
            let row = model::event_or_404(conn, &r)?;
            if !row.is_public() && !admin {
                return Err(AppError::not_found(&format!("对接会 {r}")));
            }
            // Printed for the public: hidden items stay out.
            model::view(conn, &row, false)
        })
        .await?;
    render(&ListPrint {
        ctx: PageCtx::new(&req, user.0),
        e,
    })
}

/// The need list (as printed: hidden items left out) as an `.xlsx` download.
async fn need_list_xlsx(
    state: web::Data<AppState>,
    user: MaybeWebUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let r = path.into_inner();
    let admin = user.0.as_ref().is_some_and(Identity::is_admin);
    let (bytes, name) = state
        .db(move |conn| {
            let row = model::event_or_404(conn, &r)?;
            if !row.is_public() && !admin {
                return Err(AppError::not_found(&format!("对接会 {r}")));
            }
            let e = model::view(conn, &row, false)?;
            Ok((crate::events::need_list::to_xlsx(&e)?, e.ref_code))
        })
        .await?;
    Ok(crate::export::xlsx_download(
        &format!("需求清单-{name}.xlsx"),
        bytes,
    ))
}

#[derive(Template)]
#[template(path = "events/report.html")]
struct ReportPage {
    ctx: PageCtx,
    r: EventReport,
    chart: Vec<ChartRow>,
    chart_height: i64,
}

async fn report_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, ADMIN)?;
    let r = path.into_inner();
    let viewer = who.clone();
    let rep = state
        .db(move |conn| report::build(conn, &viewer, &r))
        .await?;
    let (chart, chart_height) = report::chart(&rep);
    render(&ReportPage {
        ctx: PageCtx::new(&req, Some(who)),
        r: rep,
        chart,
        chart_height,
    })
}

async fn report_xlsx(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let who = require_user(&req, user.0)?;
    let r = path.into_inner();
    let (bytes, name) = state
        .db(move |conn| {
            let rep = report::build(conn, &who, &r)?;
            Ok((report::xlsx(&rep)?, rep.event_ref))
        })
        .await?;
    Ok(crate::export::xlsx_download(
        &format!("对接会成果报告-{name}.xlsx"),
        bytes,
    ))
}

async fn follow_up(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, ADMIN)?;
    let data = FormData::parse(&body);
    csrf::verify(&req, &data.csrf())?;
    let r = path.into_inner();
    let sender = state.postman.sender.clone();
    let rr = r.clone();
    let queued = state
        .db(move |conn| mailings::follow_up_now(conn, &who, &sender, &rr, today()))
        .await?;
    state.postman.wake();
    Ok(redirect(&format!(
        "/events/{r}/report?done=follow_ups&queued={queued}"
    )))
}
