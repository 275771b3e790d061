//! Matchmaking event pages: the list (with next quarter's proposals for
//! admins), creating and editing an event, and the event page — the public,
//! anonymised need list; charities' pledge form and pledges; the admin's
//! controls (compile, edit items, publish, held, close, delete), pledges
//! and agreements.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::form::{FieldErrors, FormData};
use super::session::MaybeWebUser;
use super::{redirect, render, render_with, require_role, PageCtx, PageError};
use crate::auth::{csrf, Identity, Role};
use crate::domain::vocabulary::TARGET_GROUPS;
use crate::error::AppError;
use crate::events::agreements::{self, AgreementView};
use crate::events::lifecycle::{self, EventInput, Proposal};
use crate::events::model::{self, EventRow, EventView};
use crate::events::need_list::{self, ItemEdit};
use crate::events::pledges::{self, PledgeInput, PledgeView};
use crate::state::AppState;

const ADMIN: &[Role] = &[Role::Admin];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/events", web::get().to(list))
        .route("/events", web::post().to(create))
        .route("/events/new", web::get().to(new_form))
        .route("/events/{ref}", web::get().to(detail))
        .route("/events/{ref}/edit", web::get().to(edit_form))
        .route("/events/{ref}/edit", web::post().to(edit))
        .route("/events/{ref}/status", web::post().to(set_status))
        .route("/events/{ref}/delete", web::post().to(delete))
        .route("/events/{ref}/need-list", web::post().to(compile))
        .route("/events/{ref}/items/{id}", web::post().to(edit_item))
        .route("/events/{ref}/pledges", web::post().to(pledge))
        .route("/pledges/{number}/withdraw", web::post().to(withdraw));
}

fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

#[derive(Template)]
#[template(path = "events/list.html")]
struct ListPage {
    ctx: PageCtx,
    events: Vec<EventRow>,
    proposals: Vec<Proposal>,
}

async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
) -> Result<HttpResponse, PageError> {
    let admin = user.0.as_ref().is_some_and(Identity::is_admin);
    let (events, proposals) = state
        .db(move |conn| {
            let events = lifecycle::list(conn, admin)?;
            let proposals = if admin {
                lifecycle::proposals(conn, today())?
            } else {
                Vec::new()
            };
            Ok((events, proposals))
        })
        .await?;
    render(&ListPage {
        ctx: PageCtx::new(&req, user.0).with_regions(&state).await?,
        events,
        proposals,
    })
}

#[derive(Template)]
#[template(path = "events/form.html")]
struct FormPage {
    ctx: PageCtx,
    /// `None`: a new event.
    editing: Option<String>,
    form: EventInput,
    errors: FieldErrors,
    general_error: String,
}

#[derive(Debug, Deserialize)]
struct Prefill {
    region: Option<String>,
    quarter: Option<String>,
    held_on: Option<String>,
}

async fn new_form(
    req: HttpRequest,
    user: MaybeWebUser,
    q: web::Query<Prefill>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, ADMIN)?;
    let q = q.into_inner();
    render(&FormPage {
        ctx: PageCtx::new(&req, Some(who)),
        editing: None,
        form: EventInput {
            region: q.region.unwrap_or_default(),
            quarter: q.quarter.unwrap_or_default(),
            held_on: q.held_on.unwrap_or_default(),
            starts_at: "14:00".into(),
            ends_at: "16:30".into(),
            ..Default::default()
        },
        errors: FieldErrors::default(),
        general_error: String::new(),
    })
}

fn input_of(data: &FormData) -> EventInput {
    EventInput {
        region: data.get("region"),
        quarter: data.get("quarter"),
        title: data.get("title"),
        held_on: data.get("held_on"),
        starts_at: data.get("starts_at"),
        ends_at: data.get("ends_at"),
        venue: data.get("venue"),
        description: data.get("description"),
    }
}

fn form_failure(
    req: &HttpRequest,
    who: Identity,
    editing: Option<String>,
    form: EventInput,
    e: AppError,
) -> Result<HttpResponse, PageError> {
    let status = match &e {
        AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::Conflict(_) => StatusCode::CONFLICT,
        _ => return Err(e.into()),
    };
    let (errors, general_error) = FieldErrors::from_error(&e);
    render_with(
        status,
        &FormPage {
            ctx: PageCtx::new(req, Some(who)),
            editing,
            form,
            errors,
            general_error,
        },
    )
}

async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, ADMIN)?;
    let data = FormData::parse(&body);
    csrf::verify(&req, &data.csrf())?;
    let form = input_of(&data);
    let (actor, attempt) = (who.clone(), form.clone());
    match state
        .db(move |conn| lifecycle::create(conn, &actor, &attempt, today()))
        .await
    {
        Ok(e) => Ok(redirect(&format!("/events/{}?done=created", e.ref_code))),
        Err(e) => form_failure(&req, who, None, form, e),
    }
}

async fn edit_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, ADMIN)?;
    let r = path.into_inner();
    let e = state.db(move |conn| model::event_or_404(conn, &r)).await?;
    render(&FormPage {
        ctx: PageCtx::new(&req, Some(who)),
        editing: Some(e.ref_code.clone()),
        form: EventInput {
            region: e.region.clone(),
            quarter: e.quarter.clone(),
            title: e.title.clone(),
            held_on: e.held_on.to_string(),
            starts_at: e.starts_at.format("%H:%M").to_string(),
            ends_at: e.ends_at.format("%H:%M").to_string(),
            venue: e.venue.clone(),
            description: e.description.clone(),
        },
        errors: FieldErrors::default(),
        general_error: String::new(),
    })
}

async fn edit(
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
    let form = input_of(&data);
    let (actor, attempt, rr) = (who.clone(), form.clone(), r.clone());
    let sender = state.postman.sender.clone();
    match state
        .db(move |conn| lifecycle::update(conn, &actor, &sender, &rr, &attempt, today()))
        .await
    {
        Ok(_) => {
            state.postman.wake();
            Ok(redirect(&format!("/events/{r}?done=saved")))
        }
        Err(e) => form_failure(&req, who, Some(r), form, e),
    }
}

#[derive(Template)]
#[template(path = "events/detail.html")]
struct DetailPage {
    ctx: PageCtx,
    e: EventView,
    is_admin: bool,
    is_charity: bool,
    pledges: Vec<PledgeView>,
    agreements: Vec<AgreementView>,
    /// The charity's published resources: (ref, title).
    offerable: Vec<(String, String)>,
    groups: &'static [(&'static str, &'static str)],
    /// The pledge form as typed (after an error).
    pledge: PledgeInput,
    errors: FieldErrors,
    general_error: String,
    /// The item whose edit failed.
    failed_item: i64,
}

/// Renders the event page for `who` (errors from a failed action).
async fn detail_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    who: Option<Identity>,
    r: String,
    failure: Option<(AppError, PledgeInput, i64)>,
) -> Result<HttpResponse, PageError> {
    let viewer = who.clone();
    let (e, pledges, agreements, offerable) = state
        .db(move |conn| {
            let row = model::event_or_404(conn, &r)?;
            let admin = viewer.as_ref().is_some_and(Identity::is_admin);
            if !row.is_public() && !admin {
                return Err(AppError::not_found(&format!("对接会 {r}")));
            }
            let e = model::view(conn, &row, admin)?;
            let (mut pl, mut ag, mut off) = (Vec::new(), Vec::new(), Vec::new());
            if let Some(v) = viewer.as_ref().filter(|v| v.role != Role::Adviser) {
                pl = pledges::list(conn, v, &r)?;
                ag = agreements::list(conn, v, &r)?;
                if let Some(org) = v.organisation_id.filter(|_| v.role == Role::Charity) {
                    off = pledges::offerable(conn, org)?;
                }
            }
            Ok((e, pl, ag, off))
        })
        .await?;
    let (status, errors, general_error, pledge, failed_item) = match failure {
        None => (
            StatusCode::OK,
            FieldErrors::default(),
            String::new(),
            PledgeInput::default(),
            0,
        ),
        Some((err, pledge, item)) => {
            let status = match &err {
                AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
                AppError::Conflict(_) => StatusCode::CONFLICT,
                _ => return Err(err.into()),
            };
            let (errors, general) = FieldErrors::from_error(&err);
            (status, errors, general, pledge, item)
        }
    };
    render_with(
        status,
        &DetailPage {
            is_admin: who.as_ref().is_some_and(Identity::is_admin),
            is_charity: who.as_ref().is_some_and(|w| w.role == Role::Charity),
            ctx: PageCtx::new(req, who).with_regions(state).await?,
            e,
            pledges,
            agreements,
            offerable,
            groups: TARGET_GROUPS,
            pledge,
            errors,
            general_error,
            failed_item,
        },
    )
}

async fn detail(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    detail_page(&state, &req, user.0, path.into_inner(), None).await
}

/// An admin's form on the event page: the role and the CSRF token checked.
fn admin_form(
    req: &HttpRequest,
    user: MaybeWebUser,
    body: &[u8],
) -> Result<(Identity, FormData), PageError> {
    let who = require_role(req, user.0, ADMIN)?;
    let data = FormData::parse(body);
    csrf::verify(req, &data.csrf())?;
    Ok((who, data))
}

/// Runs an admin's action on event `r`: on success to `done(result)`; when
/// refused, the event page again with the error (`item`: the item whose
/// form failed, 0 for none).
async fn act<T: Send + 'static>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    who: Identity,
    r: String,
    item: i64,
    work: impl FnOnce(&mut crate::db::DbConnection, &Identity, &str) -> Result<T, AppError>
        + Send
        + 'static,
    done: impl FnOnce(T) -> String,
) -> Result<HttpResponse, PageError> {
    let (actor, rr) = (who.clone(), r.clone());
    match state.db(move |conn| work(conn, &actor, &rr)).await {
        Ok(v) => {
            // Whatever the action queued (invitations, say) goes out now.
            state.postman.wake();
            Ok(redirect(&done(v)))
        }
        Err(e) => {
            detail_page(
                state,
                req,
                Some(who),
                r,
                Some((e, PledgeInput::default(), item)),
            )
            .await
        }
    }
}

async fn set_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (who, data) = admin_form(&req, user, &body)?;
    let r = path.into_inner();
    let (to, sender, back) = (data.get("status"), state.postman.sender.clone(), r.clone());
    act(
        &state,
        &req,
        who,
        r,
        0,
        move |conn, who, r| lifecycle::transition(conn, who, &sender, r, &to, today()),
        move |e| format!("/events/{back}?done=event_{}", e.status),
    )
    .await
}

async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (who, data) = admin_form(&req, user, &body)?;
    let r = path.into_inner();
    let confirmed = data.get("confirm") == "yes";
    act(
        &state,
        &req,
        who,
        r,
        0,
        move |conn, who, r| {
            if !confirmed {
                return Err(AppError::field(
                    "confirm",
                    "请勾选“确认删除”后再删除 (confirm to delete)",
                ));
            }
            lifecycle::delete(conn, who, r)
        },
        |()| "/events?done=event_deleted".to_string(),
    )
    .await
}

async fn compile(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (who, _) = admin_form(&req, user, &body)?;
    let r = path.into_inner();
    let back = r.clone();
    act(
        &state,
        &req,
        who,
        r,
        0,
        |conn, who, r| need_list::compile(conn, who, r, today()),
        move |_| format!("/events/{back}?done=list_compiled#need-list"),
    )
    .await
}

async fn edit_item(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<(String, i64)>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (who, data) = admin_form(&req, user, &body)?;
    let (r, id) = path.into_inner();
    let edit = ItemEdit {
        title: data.get("title"),
        note: data.get("note"),
        target_group: data.get("target_group"),
        hidden: data.get("hidden") == "on",
    };
    let back = r.clone();
    act(
        &state,
        &req,
        who,
        r,
        id,
        move |conn, who, r| need_list::edit_item(conn, who, r, id, &edit),
        move |_| format!("/events/{back}?done=saved#item-{id}"),
    )
    .await
}

async fn pledge(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, &[Role::Charity])?;
    let data = FormData::parse(&body);
    csrf::verify(&req, &data.csrf())?;
    let r = path.into_inner();
    let input = PledgeInput {
        item_id: data.get("item_id").parse().unwrap_or(0),
        quantity: data.get("quantity").parse().unwrap_or(0),
        resource_ref: data.get("resource_ref"),
        conditions: data.get("conditions"),
        deadline: data.get("deadline"),
    };
    let (actor, rr, attempt) = (who.clone(), r.clone(), input.clone());
    match state
        .db(move |conn| pledges::create(conn, &actor, &rr, &attempt, today()))
        .await
    {
        Ok(_) => Ok(redirect(&format!("/events/{r}?done=pledged#pledges"))),
        Err(e) => detail_page(&state, &req, Some(who), r, Some((e, input, 0))).await,
    }
}

async fn withdraw(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, &[Role::Charity, Role::Admin])?;
    let data = FormData::parse(&body);
    csrf::verify(&req, &data.csrf())?;
    let number = path.into_inner();
    let event = state
        .db(move |conn| pledges::withdraw(conn, &who, &number))
        .await?;
    Ok(redirect(&format!(
        "/events/{event}?done=pledge_withdrawn#pledges"
    )))
}
