//! Catalogue pages: the public list and detail pages, the charity/admin
//! resource forms, the management list, and publish/withdraw with confirmation.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use serde_json::{json, Value};

use super::form::{FieldErrors, FormData};
use super::session::MaybeWebUser;
use super::{redirect, render, render_with, require_role, require_user, PageCtx, PageError};
use crate::auth::{csrf, Identity, Role};
use crate::catalogue::access::{self, visibility_for, Visibility};
use crate::catalogue::editing;
use crate::catalogue::export;
use crate::catalogue::model::{Apply, HistoryRow};
use crate::catalogue::repository::{self, ListQuery};
use crate::catalogue::validation::validate_resource;
use crate::catalogue::ResourceRow;
use crate::domain::vocabulary::{self, DIMENSIONS, KINDS, STATUSES, TARGET_GROUPS};
use crate::error::{AppError, FieldError};
use crate::state::AppState;

const PER_PAGE: i64 = 20;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/resources", web::get().to(list))
        .route("/resources.xlsx", web::get().to(export_public))
        .route("/manage/resources.xlsx", web::get().to(export_managed))
        .route("/resources.hsds.json", web::get().to(export_hsds))
        .route("/resources/new", web::get().to(new_form))
        .route("/resources/new", web::post().to(create))
        .route("/resources/{ref}", web::get().to(detail))
        .route("/resources/{ref}/edit", web::get().to(edit_form))
        .route("/resources/{ref}/edit", web::post().to(update))
        .route("/resources/{ref}/withdraw", web::get().to(confirm_withdraw))
        .route("/resources/{ref}/status", web::post().to(change_status))
        .route("/manage/resources", web::get().to(manage));
}

#[derive(Debug, Default, Deserialize)]
struct ListParams {
    q: Option<String>,
    kind: Option<String>,
    status: Option<String>,
    page: Option<i64>,
}

/// A link that keeps the list's filters and changes one.
fn list_link(base: &str, q: &str, kind: &str, status: &str, page: i64) -> String {
    let mut params: Vec<(&str, String)> = Vec::new();
    if !q.is_empty() {
        params.push(("q", q.to_string()));
    }
    if !kind.is_empty() {
        params.push(("kind", kind.to_string()));
    }
    if !status.is_empty() {
        params.push(("status", status.to_string()));
    }
    if page > 1 {
        params.push(("page", page.to_string()));
    }
    match serde_urlencoded::to_string(&params) {
        Ok(s) if !s.is_empty() => format!("{base}?{s}"),
        _ => base.to_string(),
    }
}

pub struct KindTab {
    pub label: String,
    pub link: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "resources/list.html")]
struct ListPage {
    ctx: PageCtx,
    heading: String,
    manage: bool,
    rows: Vec<ResourceRow>,
    total: i64,
    page: i64,
    pages: i64,
    tabs: Vec<KindTab>,
    status_tabs: Vec<KindTab>,
    prev_link: String,
    next_link: String,
    export_link: String,
    filtered: bool,
}

/// What a list (or its export) shows: the visibility and the filters,
/// unknown codes ignored.
fn list_query(
    user: Option<&Identity>,
    params: &ListParams,
    manage: bool,
    page: i64,
) -> (Visibility, ListQuery) {
    let q = params.q.clone().unwrap_or_default().trim().to_string();
    let kind = params
        .kind
        .clone()
        .filter(|k| vocabulary::is_known(KINDS, k));
    let status = params
        .status
        .clone()
        .filter(|s| manage && vocabulary::is_known(STATUSES, s));
    // The public list shows published resources to everyone; the management
    // list shows what the account may manage or read.
    let (vis, organisation_id) = match (user, manage) {
        (Some(u), true) if u.role == Role::Charity => {
            (Visibility::All, Some(u.organisation_id.unwrap_or(-1)))
        }
        (Some(u), true) => (visibility_for(Some(u)), None),
        _ => (Visibility::Public, None),
    };
    let query = ListQuery {
        kind,
        status,
        organisation_id,
        text: Some(q).filter(|t| !t.is_empty()),
        page,
        per_page: PER_PAGE,
    };
    (vis, query)
}

async fn list_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Option<Identity>,
    params: ListParams,
    manage: bool,
) -> Result<HttpResponse, PageError> {
    let base = if manage {
        "/manage/resources"
    } else {
        "/resources"
    };
    let page = params.page.unwrap_or(1).clamp(1, 100_000);
    let (vis, query) = list_query(user.as_ref(), &params, manage, page);
    let q = query.text.clone().unwrap_or_default();
    let kind = query.kind.clone().unwrap_or_default();
    let status = query.status.clone().unwrap_or_default();
    let (total, rows) = state
        .db(move |conn| repository::list(conn, vis, &query))
        .await?;
    let pages = ((total + PER_PAGE - 1) / PER_PAGE).max(1);
    let mut tabs = vec![KindTab {
        label: "全部".into(),
        link: list_link(base, &q, "", &status, 1),
        active: kind.is_empty(),
    }];
    for (code, label) in KINDS {
        tabs.push(KindTab {
            label: label.to_string(),
            link: list_link(base, &q, code, &status, 1),
            active: kind == *code,
        });
    }
    let mut status_tabs = Vec::new();
    if manage {
        status_tabs.push(KindTab {
            label: "全部状态".into(),
            link: list_link(base, &q, &kind, "", 1),
            active: status.is_empty(),
        });
        for (code, label) in STATUSES {
            status_tabs.push(KindTab {
                label: label.to_string(),
                link: list_link(base, &q, &kind, code, 1),
                active: status == *code,
            });
        }
    }
    let heading = match (&user, manage) {
        (Some(u), true) if u.role == Role::Charity => format!(
            "本机构资源 · {}",
            u.organisation_name.clone().unwrap_or_default()
        ),
        (_, true) => "资源管理".to_string(),
        _ => "资源目录".to_string(),
    };
    let mut ctx = PageCtx::new(&req, user).with_regions(&state).await?;
    ctx.q = q.clone();
    render(&ListPage {
        ctx,
        heading,
        manage,
        total,
        page,
        pages,
        prev_link: if page > 1 {
            list_link(base, &q, &kind, &status, page - 1)
        } else {
            String::new()
        },
        next_link: if page < pages {
            list_link(base, &q, &kind, &status, page + 1)
        } else {
            String::new()
        },
        export_link: list_link(&format!("{base}.xlsx"), &q, &kind, &status, 1),
        filtered: !q.is_empty() || !kind.is_empty() || !status.is_empty(),
        rows,
        tabs,
        status_tabs,
    })
}

async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, PageError> {
    list_page(state, req, user.0, params.into_inner(), false).await
}

async fn manage(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, PageError> {
    let who = require_user(&req, user.0)?;
    list_page(state, req, Some(who), params.into_inner(), true).await
}

/// The list's rows (all pages) as an `.xlsx` download.
async fn export(
    state: web::Data<AppState>,
    user: Option<Identity>,
    params: ListParams,
    manage: bool,
) -> Result<HttpResponse, PageError> {
    let (vis, query) = list_query(user.as_ref(), &params, manage, 1);
    let bytes = state
        .db(move |conn| {
            let rows = repository::list_all(conn, vis, &query, export::MAX_ROWS)?;
            let organisations = repository::all_organisation_names(conn)?;
            export::to_xlsx(&rows, &organisations)
        })
        .await?;
    let day = chrono::Local::now().format("%Y%m%d");
    let name = format!("资源目录-{day}.xlsx");
    Ok(crate::export::xlsx_download(&name, bytes))
}

/// The published services, funding and material as an HSDS 3.0 download,
/// streamed a chunk of rows at a time (a city's catalogue is hundreds of MB).
async fn export_hsds(state: web::Data<AppState>) -> Result<HttpResponse, PageError> {
    // Reach the database first, so an outage is a 503, not an empty file.
    state.db(crate::db::ping).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let pool = state.pool.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let result = pool.get().map_err(AppError::from).and_then(|mut conn| {
            crate::catalogue::hsds::export_all(&mut conn, |chunk| tx.blocking_send(chunk).is_ok())
        });
        if let Err(e) = result {
            tracing::warn!("HSDS download cut short: {e}");
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, actix_web::Error>(web::Bytes::from(chunk)), rx))
    });
    let day = chrono::Local::now().format("%Y%m%d");
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            "Content-Disposition",
            crate::export::content_disposition(&format!("aidmatch-hsds-services-{day}.json")),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .streaming(body))
}

async fn export_public(
    state: web::Data<AppState>,
    user: MaybeWebUser,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, PageError> {
    export(state, user.0, params.into_inner(), false).await
}

async fn export_managed(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, PageError> {
    let who = require_user(&req, user.0)?;
    export(state, Some(who), params.into_inner(), true).await
}

#[derive(Template)]
#[template(path = "resources/detail.html")]
struct DetailPage {
    ctx: PageCtx,
    r: ResourceRow,
    organisation: String,
    apply: Apply,
    can_edit: bool,
    history: Vec<HistoryRow>,
    show_history: bool,
}

async fn load_visible(
    state: &web::Data<AppState>,
    who: Option<Identity>,
    ref_code: String,
) -> Result<(ResourceRow, String, Vec<HistoryRow>), PageError> {
    Ok(state
        .db(move |conn| {
            let row = match repository::find(conn, &ref_code)? {
                Some(row) if access::can_view(who.as_ref(), &row) => row,
                _ => return Err(AppError::not_found(&format!("资源 {ref_code}"))),
            };
            let names = repository::organisation_names(conn, std::slice::from_ref(&row))?;
            let org = row
                .organisation_id
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_default();
            let history = repository::history(conn, row.id)?;
            Ok((row, org, history))
        })
        .await?)
}

async fn detail(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (r, organisation, history) =
        load_visible(&state, user.0.clone(), path.into_inner()).await?;
    let can_edit = user
        .0
        .as_ref()
        .is_some_and(|u| access::check_edit(u, &r).is_ok());
    let show_history = user.0.is_some();
    render(&DetailPage {
        ctx: PageCtx::new(&req, user.0).with_regions(&state).await?,
        apply: r.apply_info(),
        r,
        organisation,
        can_edit,
        history,
        show_history,
    })
}

/// The resource form's values, as typed (so a rejected form comes back as it was).
#[derive(Debug, Default, Clone)]
pub struct ResourceForm {
    pub ref_code: String,
    pub kind: String,
    pub title: String,
    pub summary: String,
    pub body: String,
    pub provider: String,
    pub region: String,
    pub dimensions: Vec<String>,
    pub target_groups: Vec<String>,
    pub eligibility: String,
    pub benefit: String,
    pub capacity_total: String,
    pub capacity_remaining: String,
    pub capacity_unit: String,
    pub valid_from: String,
    pub valid_until: String,
    pub materials: String,
    pub process: String,
    pub contact: String,
    pub url: String,
    pub address: String,
    pub hours: String,
    pub status: String,
}

impl ResourceForm {
    fn from_row(r: &ResourceRow) -> ResourceForm {
        let apply = r.apply_info();
        let cap = r.capacity();
        ResourceForm {
            ref_code: r.ref_code.clone(),
            kind: r.kind.clone(),
            title: r.title.clone(),
            summary: r.summary.clone(),
            body: r.body.clone(),
            provider: r.provider.clone(),
            region: r.region.clone(),
            dimensions: r.dimension_codes(),
            target_groups: r.target_group_codes(),
            eligibility: r.eligibility_pretty(),
            benefit: r.benefit.clone(),
            capacity_total: cap
                .as_ref()
                .map(|c| c.total.to_string())
                .unwrap_or_default(),
            capacity_remaining: cap
                .as_ref()
                .map(|c| c.remaining.to_string())
                .unwrap_or_default(),
            capacity_unit: cap.map(|c| c.unit).unwrap_or_default(),
            valid_from: r.valid_from.map(|d| d.to_string()).unwrap_or_default(),
            valid_until: r.valid_until.map(|d| d.to_string()).unwrap_or_default(),
            materials: apply.materials.join("\n"),
            process: apply.process,
            contact: apply.contact,
            url: apply.url.unwrap_or_default(),
            address: apply.address,
            hours: apply.hours,
            status: r.status.clone(),
        }
    }

    fn from_form(f: &FormData) -> ResourceForm {
        ResourceForm {
            ref_code: f.get("ref"),
            kind: f.get("kind"),
            title: f.get("title"),
            summary: f.get("summary"),
            body: f.get("body"),
            provider: f.get("provider"),
            region: f.get("region"),
            dimensions: f.all("dimensions"),
            target_groups: f.all("target_groups"),
            eligibility: f.get("eligibility"),
            benefit: f.get("benefit"),
            capacity_total: f.get("capacity_total"),
            capacity_remaining: f.get("capacity_remaining"),
            capacity_unit: f.get("capacity_unit"),
            valid_from: f.get("valid_from"),
            valid_until: f.get("valid_until"),
            materials: f.get("materials"),
            process: f.get("process"),
            contact: f.get("contact"),
            url: f.get("url"),
            address: f.get("address"),
            hours: f.get("hours"),
            status: f.get("status"),
        }
    }

    /// The document the API would receive for this form, and the errors of
    /// fields that cannot even be turned into JSON (the eligibility rule).
    fn to_json(&self) -> (Value, Vec<FieldError>) {
        let mut errors = Vec::new();
        let number_or_text = |s: &str| match s.parse::<i64>() {
            Ok(n) => json!(n),
            Err(_) => json!(s),
        };
        let eligibility = if self.eligibility.is_empty() {
            Value::Null
        } else {
            serde_json::from_str::<Value>(&self.eligibility).unwrap_or_else(|e| {
                errors.push(FieldError::new(
                    "eligibility",
                    format!("不是合法的 JSON：{e} (invalid JSON)"),
                ));
                Value::Null
            })
        };
        let capacity = if self.capacity_total.is_empty()
            && self.capacity_remaining.is_empty()
            && self.capacity_unit.is_empty()
        {
            Value::Null
        } else {
            json!({
                "total": number_or_text(&self.capacity_total),
                "remaining": if self.capacity_remaining.is_empty() { Value::Null } else { number_or_text(&self.capacity_remaining) },
                "unit": self.capacity_unit,
            })
        };
        let materials: Vec<&str> = self
            .materials
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let opt = |s: &str| if s.is_empty() { Value::Null } else { json!(s) };
        let doc = json!({
            "ref": self.ref_code,
            "kind": self.kind,
            "title": self.title,
            "summary": self.summary,
            "body": self.body,
            "provider": opt(&self.provider),
            "region": self.region,
            "dimensions": self.dimensions,
            "target_groups": self.target_groups,
            "eligibility": eligibility,
            "benefit": self.benefit,
            "capacity": capacity,
            "valid_from": opt(&self.valid_from),
            "valid_until": opt(&self.valid_until),
            "apply": {"materials": materials, "process": self.process, "contact": self.contact, "url": opt(&self.url),
                      "address": self.address, "hours": self.hours},
            "status": opt(&self.status),
        });
        (doc, errors)
    }

    pub fn has_dimension(&self, code: &&str) -> bool {
        self.dimensions.iter().any(|d| d == code)
    }

    pub fn has_target_group(&self, code: &&str) -> bool {
        self.target_groups.iter().any(|d| d == code)
    }
}

#[derive(Template)]
#[template(path = "resources/form.html")]
struct FormPage {
    ctx: PageCtx,
    form: ResourceForm,
    errors: FieldErrors,
    general_error: String,
    editing: bool,
    action: String,
    /// Charities post under their own name and never post policies.
    is_charity: bool,
    kinds: Vec<(&'static str, &'static str)>,
    dimensions: &'static [(&'static str, &'static str)],
    target_groups: &'static [(&'static str, &'static str)],
}

fn form_page(
    req: &HttpRequest,
    who: Identity,
    form: ResourceForm,
    errors: FieldErrors,
    general_error: String,
    editing: bool,
) -> FormPage {
    let is_charity = who.role == Role::Charity;
    let action = if editing {
        format!("/resources/{}/edit", form.ref_code)
    } else {
        "/resources/new".to_string()
    };
    FormPage {
        ctx: PageCtx::new(req, Some(who)),
        kinds: KINDS
            .iter()
            .copied()
            .filter(|(k, _)| !(is_charity && *k == "policy"))
            .collect(),
        form,
        errors,
        general_error,
        editing,
        action,
        is_charity,
        dimensions: DIMENSIONS,
        target_groups: TARGET_GROUPS,
    }
}

const EDITORS: &[Role] = &[Role::Admin, Role::Charity];

async fn new_form(req: HttpRequest, user: MaybeWebUser) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, EDITORS)?;
    let mut form = ResourceForm {
        kind: if who.role == Role::Charity {
            "service".into()
        } else {
            "policy".into()
        },
        status: "draft".into(),
        ..Default::default()
    };
    if who.role == Role::Charity {
        form.provider = who.organisation_name.clone().unwrap_or_default();
        form.kind = "service".into();
    }
    render(&form_page(
        &req,
        who,
        form,
        FieldErrors::default(),
        String::new(),
        false,
    ))
}

/// Validates a submitted form; on failure, the page to show again.
fn checked(form: &ResourceForm) -> Result<crate::catalogue::ResourceInput, (FieldErrors, String)> {
    let (value, mut errors) = form.to_json();
    match validate_resource(&value) {
        Ok(input) if errors.is_empty() => Ok(input),
        Ok(_) => Err((FieldErrors::from_list(&errors), String::new())),
        Err(more) => {
            errors.extend(more);
            Err((FieldErrors::from_list(&errors), String::new()))
        }
    }
}

async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, EDITORS)?;
    let data = FormData::parse(&body);
    csrf::verify(&req, &data.csrf())?;
    let mut form = ResourceForm::from_form(&data);
    if who.role == Role::Charity {
        form.provider = who.organisation_name.clone().unwrap_or_default();
    }
    let input = match checked(&form) {
        Ok(input) => input,
        Err((errors, general)) => {
            return render_with(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                &form_page(&req, who, form, errors, general, false),
            )
        }
    };
    let actor = who.clone();
    match state
        .db(move |conn| editing::create_as(conn, &actor, &input))
        .await
    {
        Ok(row) => Ok(redirect(&format!(
            "/resources/{}?done=created",
            row.ref_code
        ))),
        Err(e @ (AppError::Validation(_) | AppError::Conflict(_))) => {
            let (mut errors, general) = FieldErrors::from_error(&e);
            if let AppError::Conflict(msg) = &e {
                errors.0.insert("ref".into(), msg.clone());
            }
            let general = if errors.is_empty() {
                general
            } else {
                String::new()
            };
            render_with(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                &form_page(&req, who, form, errors, general, false),
            )
        }
        Err(e) => Err(e.into()),
    }
}

async fn load_editable(
    state: &web::Data<AppState>,
    who: &Identity,
    ref_code: String,
) -> Result<ResourceRow, PageError> {
    let (row, _, _) = load_visible(state, Some(who.clone()), ref_code).await?;
    access::check_edit(who, &row)?;
    Ok(row)
}

async fn edit_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, EDITORS)?;
    let row = load_editable(&state, &who, path.into_inner()).await?;
    let form = ResourceForm::from_row(&row);
    render(&form_page(
        &req,
        who,
        form,
        FieldErrors::default(),
        String::new(),
        true,
    ))
}

async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, EDITORS)?;
    let data = FormData::parse(&body);
    csrf::verify(&req, &data.csrf())?;
    let existing = load_editable(&state, &who, path.into_inner()).await?;
    let mut form = ResourceForm::from_form(&data);
    form.ref_code = existing.ref_code.clone();
    if who.role == Role::Charity {
        form.provider = who.organisation_name.clone().unwrap_or_default();
    }
    let input = match checked(&form) {
        Ok(input) => input,
        Err((errors, general)) => {
            return render_with(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                &form_page(&req, who, form, errors, general, true),
            )
        }
    };
    let actor = who.clone();
    match state
        .db(move |conn| editing::update_as(conn, &actor, &existing, &input))
        .await
    {
        Ok(row) => Ok(redirect(&format!("/resources/{}?done=saved", row.ref_code))),
        Err(e @ (AppError::Validation(_) | AppError::Conflict(_))) => {
            let (errors, general) = FieldErrors::from_error(&e);
            render_with(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                &form_page(&req, who, form, errors, general, true),
            )
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "resources/confirm.html")]
struct ConfirmPage {
    ctx: PageCtx,
    r: ResourceRow,
    status: String,
    question: String,
    button: String,
}

async fn confirm_withdraw(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, EDITORS)?;
    let r = load_editable(&state, &who, path.into_inner()).await?;
    access::check_transition(&r.status, "withdrawn")?;
    render(&ConfirmPage {
        ctx: PageCtx::new(&req, Some(who)),
        question: format!(
            "确定撤回“{}”吗？撤回后居民和顾问将无法在目录中看到它。",
            r.title
        ),
        button: "确认撤回".into(),
        status: "withdrawn".into(),
        r,
    })
}

async fn change_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, EDITORS)?;
    let data = FormData::parse(&body);
    csrf::verify(&req, &data.csrf())?;
    let status = data.get("status");
    if !vocabulary::is_known(STATUSES, &status) {
        return Err(AppError::field("status", "未知状态 (unknown status)").into());
    }
    let existing = load_editable(&state, &who, path.into_inner()).await?;
    let row = state
        .db(move |conn| editing::change_status_as(conn, &who, &existing, &status))
        .await?;
    Ok(redirect(&format!(
        "/resources/{}?done={}",
        row.ref_code, row.status
    )))
}
