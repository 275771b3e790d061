//! The admins' view of the outbox: every message with its status, attempts
//! and last error, filtered by status and paged; a failed message can be
//! sent again, and any message read as text.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::form::FormData;
use super::session::MaybeWebUser;
use super::{redirect, render, require_role, PageCtx, PageError};
use crate::auth::{csrf, Role};
use crate::error::AppError;
use crate::mail::outbox::{self, OutboxRow, KINDS, STATUSES};
use crate::state::AppState;

const ADMIN: &[Role] = &[Role::Admin];
const PER_PAGE: i64 = 50;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/outbox", web::get().to(list))
        .route("/admin/outbox/{id}", web::get().to(show))
        .route("/admin/outbox/{id}/retry", web::post().to(retry));
}

#[derive(Template)]
#[template(path = "admin/outbox.html")]
struct OutboxPage {
    ctx: PageCtx,
    rows: Vec<OutboxRow>,
    counts: Vec<(String, i64)>,
    status: String,
    statuses: &'static [(&'static str, &'static str)],
    kinds: &'static [(&'static str, &'static str)],
    page: i64,
    pages: i64,
    total: i64,
    delivery: String,
}

#[derive(Debug, Deserialize)]
struct ListParams {
    status: Option<String>,
    page: Option<i64>,
}

async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, ADMIN)?;
    let status = params
        .status
        .clone()
        .filter(|s| STATUSES.iter().any(|(c, _)| c == s))
        .unwrap_or_default();
    let page = params.page.unwrap_or(1).clamp(1, 100_000);
    let filter = status.clone();
    let (total, rows, counts) = state
        .db(move |conn| {
            let (total, rows) = outbox::list(
                conn,
                Some(filter.as_str()).filter(|s| !s.is_empty()),
                page,
                PER_PAGE,
            )?;
            Ok((total, rows, outbox::counts(conn)?))
        })
        .await?;
    render(&OutboxPage {
        ctx: PageCtx::new(&req, Some(who)),
        rows,
        counts,
        status,
        statuses: STATUSES,
        kinds: KINDS,
        page,
        pages: (total + PER_PAGE - 1) / PER_PAGE,
        total,
        delivery: state.postman.mailer.describe(),
    })
}

#[derive(Template)]
#[template(path = "admin/outbox_message.html")]
struct MessagePage {
    ctx: PageCtx,
    m: OutboxRow,
    statuses: &'static [(&'static str, &'static str)],
    kinds: &'static [(&'static str, &'static str)],
}

async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, ADMIN)?;
    let id = path.into_inner();
    let m = state
        .db(move |conn| outbox::find(conn, id)?.ok_or_else(|| AppError::not_found("邮件")))
        .await?;
    render(&MessagePage {
        ctx: PageCtx::new(&req, Some(who)),
        m,
        statuses: STATUSES,
        kinds: KINDS,
    })
}

async fn retry(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    require_role(&req, user.0, ADMIN)?;
    let data = FormData::parse(&body);
    csrf::verify(&req, &data.csrf())?;
    let id = path.into_inner();
    state.db(move |conn| outbox::retry(conn, id)).await?;
    state.postman.wake();
    Ok(redirect("/admin/outbox?done=mail_retry"))
}
