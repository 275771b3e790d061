//! Need-list pages: every need the user may see (filtered by status and
//! dimension), adding a need to a household (from an assessment's
//! suggestion or by hand), editing it, and moving it along its lifecycle
//! (closing asks for confirmation).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::json;

use super::form::{FieldErrors, FormData};
use super::households::STAFF;
use super::session::MaybeWebUser;
use super::{redirect, render, render_with, require_role, PageCtx, PageError};
use crate::auth::{csrf, Identity};
use crate::db::schema::assessments;
use crate::db::DbConnection;
use crate::domain::vocabulary::{self, DIMENSIONS, NEED_STATUSES, URGENCIES};
use crate::error::AppError;
use crate::households::assessment::{Scores, NEED_FROM};
use crate::households::needs::{self, NeedDoc, NeedEvent, NeedQuery};
use crate::households::{access, history};
use crate::state::AppState;

const PER_PAGE: i64 = 20;
type Table = &'static [(&'static str, &'static str)];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/needs", web::get().to(list))
        .route("/needs.xlsx", web::get().to(export_xlsx))
        .route("/households/{ref}/needs/new", web::get().to(new_form))
        .route("/households/{ref}/needs/new", web::post().to(create))
        .route("/needs/{ref}", web::get().to(detail))
        .route("/needs/{ref}/edit", web::get().to(edit_form))
        .route("/needs/{ref}/edit", web::post().to(update))
        .route("/needs/{ref}/close", web::get().to(confirm_close))
        .route("/needs/{ref}/status", web::post().to(change_status));
}

#[derive(Debug, Default, Deserialize)]
struct ListParams {
    status: Option<String>,
    dimension: Option<String>,
    page: Option<i64>,
}

pub struct Tab {
    pub label: String,
    pub link: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "needs/list.html")]
struct ListPage {
    ctx: PageCtx,
    rows: Vec<NeedDoc>,
    total: i64,
    page: i64,
    pages: i64,
    status_tabs: Vec<Tab>,
    dimension_tabs: Vec<Tab>,
    prev_link: String,
    next_link: String,
    filtered: bool,
    export_link: String,
}

fn list_link(status: &str, dimension: &str, page: i64) -> String {
    link_to("/needs", status, dimension, page)
}

fn link_to(base: &str, status: &str, dimension: &str, page: i64) -> String {
    let mut params: Vec<(&str, String)> = Vec::new();
    if !status.is_empty() {
        params.push(("status", status.into()));
    }
    if !dimension.is_empty() {
        params.push(("dimension", dimension.into()));
    }
    if page > 1 {
        params.push(("page", page.to_string()));
    }
    match serde_urlencoded::to_string(&params) {
        Ok(s) if !s.is_empty() => format!("{base}?{s}"),
        _ => base.into(),
    }
}

/// The list's filters (unknown codes ignored) and query.
fn list_query(params: &ListParams, page: i64, per_page: i64) -> (String, String, NeedQuery) {
    let known = |v: &Option<String>, t: Table| {
        v.clone()
            .filter(|s| vocabulary::is_known(t, s))
            .unwrap_or_default()
    };
    let status = known(&params.status, NEED_STATUSES);
    let dimension = known(&params.dimension, DIMENSIONS);
    let q = NeedQuery {
        household_ref: None,
        status: Some(status.clone()).filter(|s| !s.is_empty()),
        dimension: Some(dimension.clone()).filter(|s| !s.is_empty()),
        page,
        per_page,
        max_per_page: Some(per_page.max(1)),
    };
    (status, dimension, q)
}

/// The filtered need list, every page, as an `.xlsx` download.
async fn export_xlsx(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let scope = access::scope(&who)?;
    let (status, dimension, q) = list_query(&params, 1, crate::households::export::MAX_ROWS);
    let bytes = state
        .db(move |conn| {
            let (rows, total) = needs::list(conn, &scope, &q)?;
            let regions = crate::domain::region_names::names(conn)?;
            // Need details are free text about a family: the export is audited.
            let filter =
                serde_urlencoded::to_string([("status", &status), ("dimension", &dimension)])
                    .unwrap_or_default();
            crate::privacy::audit::record(
                conn,
                &who.username,
                "export",
                "needs",
                "list",
                &format!("{total} rows; {filter}"),
            )?;
            crate::households::export::needs_xlsx(&rows, &regions)
        })
        .await?;
    let day = chrono::Local::now().format("%Y%m%d");
    Ok(crate::export::xlsx_download(
        &format!("需求清单-{day}.xlsx"),
        bytes,
    ))
}

async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let scope = access::scope(&who)?;
    let known = |v: &Option<String>, t: Table| {
        v.clone()
            .filter(|s| vocabulary::is_known(t, s))
            .unwrap_or_default()
    };
    let status = known(&params.status, NEED_STATUSES);
    let dimension = known(&params.dimension, DIMENSIONS);
    let page = params.page.unwrap_or(1).clamp(1, 100_000);
    let q = NeedQuery {
        household_ref: None,
        status: Some(status.clone()).filter(|s| !s.is_empty()),
        dimension: Some(dimension.clone()).filter(|s| !s.is_empty()),
        page,
        per_page: PER_PAGE,
        ..Default::default()
    };
    let (rows, total) = state.db(move |conn| needs::list(conn, &scope, &q)).await?;
    let pages = ((total + PER_PAGE - 1) / PER_PAGE).max(1);
    let mut status_tabs = vec![Tab {
        label: "全部状态".into(),
        link: list_link("", &dimension, 1),
        active: status.is_empty(),
    }];
    for (code, label) in NEED_STATUSES {
        status_tabs.push(Tab {
            label: label.to_string(),
            link: list_link(code, &dimension, 1),
            active: status == *code,
        });
    }
    let mut dimension_tabs = vec![Tab {
        label: "全部维度".into(),
        link: list_link(&status, "", 1),
        active: dimension.is_empty(),
    }];
    for (code, label) in DIMENSIONS {
        dimension_tabs.push(Tab {
            label: label.to_string(),
            link: list_link(&status, code, 1),
            active: dimension == *code,
        });
    }
    render(&ListPage {
        ctx: PageCtx::new(&req, Some(who)),
        rows,
        total,
        page,
        pages,
        prev_link: if page > 1 {
            list_link(&status, &dimension, page - 1)
        } else {
            String::new()
        },
        next_link: if page < pages {
            list_link(&status, &dimension, page + 1)
        } else {
            String::new()
        },
        filtered: !status.is_empty() || !dimension.is_empty(),
        export_link: link_to("/needs.xlsx", &status, &dimension, 1),
        status_tabs,
        dimension_tabs,
    })
}

/// The need form's values as typed.
#[derive(Debug, Clone, Default)]
pub struct NeedForm {
    pub dimension: String,
    pub title: String,
    pub detail: String,
    pub urgency: String,
    pub quantity: String,
    pub version: String,
    /// Added from the latest assessment's suggestion.
    pub from_assessment: bool,
}

impl NeedForm {
    fn from_form(f: &FormData) -> NeedForm {
        NeedForm {
            dimension: f.get("dimension"),
            title: f.get("title"),
            detail: f.get("detail"),
            urgency: f.get("urgency"),
            quantity: f.get("quantity"),
            version: f.get("version"),
            from_assessment: f.get("from_assessment") == "1",
        }
    }

    fn to_json(&self, household_ref: &str) -> serde_json::Value {
        let quantity = match self.quantity.parse::<i64>() {
            Ok(n) => json!(n),
            Err(_) if self.quantity.is_empty() => serde_json::Value::Null,
            Err(_) => json!(self.quantity),
        };
        json!({
            "household_ref": household_ref,
            "dimension": self.dimension,
            "title": self.title,
            "detail": self.detail,
            "urgency": if self.urgency.is_empty() { serde_json::Value::Null } else { json!(self.urgency) },
            "quantity": quantity,
        })
    }
}

#[derive(Template)]
#[template(path = "needs/form.html")]
struct FormPage {
    ctx: PageCtx,
    household_ref: String,
    head_name: String,
    /// The need being edited (empty: a new one).
    need_ref: String,
    form: NeedForm,
    errors: FieldErrors,
    general_error: String,
    dimensions: Table,
    urgencies: Table,
}

impl FormPage {
    /// The form of a household's need (`need_ref` empty: a new one).
    fn new(
        req: &HttpRequest,
        who: Identity,
        (household_ref, head_name): (String, String),
        need_ref: String,
        form: NeedForm,
    ) -> FormPage {
        FormPage {
            ctx: PageCtx::new(req, Some(who)),
            household_ref,
            head_name,
            need_ref,
            form,
            errors: FieldErrors::default(),
            general_error: String::new(),
            dimensions: DIMENSIONS,
            urgencies: URGENCIES,
        }
    }

    fn with_errors(mut self, errors: FieldErrors, general_error: String) -> FormPage {
        self.errors = errors;
        self.general_error = general_error;
        self
    }
}

/// The household a need is added to (visible, with consent): its id, ref
/// and name.
fn household_for_need(
    conn: &mut DbConnection,
    who: &Identity,
    ref_code: &str,
) -> Result<(i64, String, String), AppError> {
    let h = access::visible_household(conn, who, ref_code)?;
    access::require_consent(&h)?;
    Ok((h.row.id, h.row.ref_code, h.row.head_name))
}

#[derive(Debug, Deserialize)]
struct NewParams {
    dimension: Option<String>,
}

async fn new_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
    params: web::Query<NewParams>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let viewer = who.clone();
    let ref_code = path.into_inner();
    let (_, household_ref, head_name) = state
        .db(move |conn| household_for_need(conn, &viewer, &ref_code))
        .await?;
    let dimension = params
        .dimension
        .clone()
        .filter(|d| vocabulary::is_known(DIMENSIONS, d))
        .unwrap_or_default();
    let form = NeedForm {
        from_assessment: !dimension.is_empty(),
        dimension,
        urgency: "medium".into(),
        quantity: "1".into(),
        ..Default::default()
    };
    render(&FormPage::new(
        &req,
        who,
        (household_ref, head_name),
        String::new(),
        form,
    ))
}

/// The household's latest assessment, when it scores `dimension` high
/// enough to have suggested this need.
fn suggesting_assessment(
    conn: &mut DbConnection,
    household_id: i64,
    dimension: &str,
) -> Result<Option<i64>, AppError> {
    let latest = history::assessments_of(conn, household_id)?;
    Ok(latest.first().and_then(|a| {
        let scores = Scores::parse(&a.scores(), "scores").ok()?;
        (scores.get(dimension) >= NEED_FROM).then_some(a.id)
    }))
}

async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let data = FormData::parse(&body);
    csrf::verify(&req, &data.csrf())?;
    let form = NeedForm::from_form(&data);
    let ref_code = path.into_inner();
    let viewer = who.clone();
    let lookup = ref_code.clone();
    let (household_id, household_ref, head_name) = state
        .db(move |conn| household_for_need(conn, &viewer, &lookup))
        .await?;
    let input = needs::parse_need(&form.to_json(&household_ref));
    let fail = |errors: FieldErrors, general_error: String, form: NeedForm, who: Identity| {
        render_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &FormPage::new(
                &req,
                who,
                (household_ref.clone(), head_name.clone()),
                String::new(),
                form,
            )
            .with_errors(errors, general_error),
        )
    };
    let input = match input {
        Ok(i) => i,
        Err(list) => return fail(FieldErrors::from_list(&list), String::new(), form, who),
    };
    let actor = who.clone();
    let from_assessment = form.from_assessment;
    let saved = state
        .db(move |conn| {
            let assessment = if from_assessment {
                suggesting_assessment(conn, household_id, &input.dimension)?
            } else {
                None
            };
            needs::create(conn, household_id, &input, assessment, &actor.username)
        })
        .await;
    match saved {
        Ok(_) => Ok(redirect(&format!(
            "/households/{household_ref}?done=need_added#needs"
        ))),
        Err(e @ (AppError::Validation(_) | AppError::Conflict(_))) => {
            let (errors, general) = FieldErrors::from_error(&e);
            fail(errors, general, form, who)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "needs/detail.html")]
struct DetailPage {
    ctx: PageCtx,
    n: NeedDoc,
    head_name: String,
    events: Vec<NeedEvent>,
    /// Statuses the need may move to next (closing is confirmed first).
    next: Vec<(&'static str, &'static str)>,
    /// From an assessment (its date).
    assessed_on: Option<chrono::NaiveDate>,
}

fn next_statuses(from: &str) -> Vec<(&'static str, &'static str)> {
    NEED_STATUSES
        .iter()
        .copied()
        .filter(|(to, _)| *to != from && needs::check_transition(from, to).is_ok())
        .collect()
}

async fn detail(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let viewer = who.clone();
    let ref_code = path.into_inner();
    let (n, head_name, events, assessed_on) = state
        .db(move |conn| {
            let n = access::visible_need(conn, &viewer, &ref_code)?;
            let h = access::visible_household(conn, &viewer, &n.household_ref)?;
            let events = needs::events(conn, &n.ref_code)?;
            let assessed_on = needs_assessment_date(conn, &n.ref_code)?;
            Ok((n, h.row.head_name, events, assessed_on))
        })
        .await?;
    render(&DetailPage {
        ctx: PageCtx::new(&req, Some(who)),
        next: next_statuses(&n.status),
        n,
        head_name,
        events,
        assessed_on,
    })
}

fn needs_assessment_date(
    conn: &mut DbConnection,
    need_ref: &str,
) -> Result<Option<chrono::NaiveDate>, AppError> {
    use crate::db::schema::needs as n;
    Ok(n::table
        .inner_join(assessments::table.on(n::assessment_id.eq(assessments::id.nullable())))
        .filter(n::ref_code.eq(need_ref))
        .select(assessments::assessed_on)
        .first(conn)
        .optional()?)
}

async fn edit_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let viewer = who.clone();
    let ref_code = path.into_inner();
    let (n, head_name) = state
        .db(move |conn| {
            let n = access::changeable_need(conn, &viewer, &ref_code)?;
            let h = access::visible_household(conn, &viewer, &n.household_ref)?;
            Ok((n, h.row.head_name))
        })
        .await?;
    let form = NeedForm {
        dimension: n.dimension,
        title: n.title,
        detail: n.detail,
        urgency: n.urgency,
        quantity: n.quantity.to_string(),
        version: n.version.to_string(),
        from_assessment: false,
    };
    render(&FormPage::new(
        &req,
        who,
        (n.household_ref, head_name),
        n.ref_code,
        form,
    ))
}

async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let data = FormData::parse(&body);
    csrf::verify(&req, &data.csrf())?;
    let form = NeedForm::from_form(&data);
    let ref_code = path.into_inner();
    let viewer = who.clone();
    let lookup = ref_code.clone();
    let (current, head_name) = state
        .db(move |conn| {
            let n = access::changeable_need(conn, &viewer, &lookup)?;
            let h = access::visible_household(conn, &viewer, &n.household_ref)?;
            Ok((n, h.row.head_name))
        })
        .await?;
    let fail = |errors: FieldErrors, general_error: String, form: NeedForm, who: Identity| {
        render_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            &FormPage::new(
                &req,
                who,
                (current.household_ref.clone(), head_name.clone()),
                current.ref_code.clone(),
                form,
            )
            .with_errors(errors, general_error),
        )
    };
    let input = match needs::parse_need(&form.to_json(&current.household_ref)) {
        Ok(i) => i,
        Err(list) => return fail(FieldErrors::from_list(&list), String::new(), form, who),
    };
    let version = form.version.parse::<i64>().ok();
    let actor = who.clone();
    let target = ref_code.clone();
    let saved = state
        .db(move |conn| {
            access::changeable_need(conn, &actor, &target)?;
            needs::update(conn, &target, &input, version, &actor.username)
        })
        .await;
    match saved {
        Ok(n) => Ok(redirect(&format!("/needs/{}?done=need_saved", n.ref_code))),
        Err(e @ (AppError::Validation(_) | AppError::Conflict(_))) => {
            let (errors, general) = FieldErrors::from_error(&e);
            fail(errors, general, form, who)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "needs/confirm.html")]
struct ConfirmPage {
    ctx: PageCtx,
    n: NeedDoc,
}

async fn confirm_close(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let viewer = who.clone();
    let ref_code = path.into_inner();
    let n = state
        .db(move |conn| access::changeable_need(conn, &viewer, &ref_code))
        .await?;
    needs::check_transition(&n.status, "closed")?;
    render(&ConfirmPage {
        ctx: PageCtx::new(&req, Some(who)),
        n,
    })
}

async fn change_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let data = FormData::parse(&body);
    csrf::verify(&req, &data.csrf())?;
    let to = data.get("status");
    if !vocabulary::is_known(NEED_STATUSES, &to) {
        return Err(AppError::field("status", "未知状态 (unknown status)").into());
    }
    let note = data.get("note");
    if note.chars().count() > 500 {
        return Err(AppError::field("note", "说明不能超过 500 字 (note is too long)").into());
    }
    let ref_code = path.into_inner();
    let n = state
        .db(move |conn| {
            access::changeable_need(conn, &who, &ref_code)?;
            needs::set_status(conn, &ref_code, &to, &note, &who.username)
        })
        .await?;
    Ok(redirect(&format!("/needs/{}?done=need_status", n.ref_code)))
}
