//! Admin pages: accounts (roles, organisations, regions), organisations,
//! region names, and the audit log of personal-data reads.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::form::{FieldErrors, FormData};
use super::session::MaybeWebUser;
use super::{redirect, render, render_with, require_role, PageCtx, PageError};
use crate::auth::organisations::{self, Organisation, OrganisationInput};
use crate::auth::users::{self, UserInput, UserView};
use crate::auth::{csrf, Role};
use crate::domain::region_names::{self, RegionName, RegionNameInput};
use crate::domain::vocabulary::ORGANISATION_KINDS;
use crate::error::AppError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/users", web::get().to(users_page))
        .route("/admin/users", web::post().to(save_user))
        .route("/admin/organisations", web::get().to(organisations_page))
        .route("/admin/organisations", web::post().to(save_organisation))
        .route("/admin/regions", web::get().to(regions_page))
        .route("/admin/regions", web::post().to(save_region))
        .route("/admin/audit", web::get().to(audit_page));
}

const ADMIN: &[Role] = &[Role::Admin];

/// The user form's values as typed.
#[derive(Debug, Default, Clone)]
pub struct UserForm {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub organisation: String,
    pub regions: String,
    pub email: String,
    pub active: bool,
    /// Editing an existing account (the password may stay empty).
    pub existing: bool,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    ctx: PageCtx,
    users: Vec<UserView>,
    organisations: Vec<Organisation>,
    form: UserForm,
    errors: FieldErrors,
    general_error: String,
}

async fn users_data(
    state: &web::Data<AppState>,
) -> Result<(Vec<UserView>, Vec<Organisation>), AppError> {
    state
        .db(|conn| Ok((users::list(conn)?, organisations::list(conn)?)))
        .await
}

#[derive(serde::Deserialize)]
struct EditParam {
    edit: Option<String>,
}

async fn users_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    params: web::Query<EditParam>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, ADMIN)?;
    let (users, organisations) = users_data(&state).await?;
    let form = match params
        .edit
        .as_deref()
        .and_then(|name| users.iter().find(|u| u.username == name))
    {
        Some(u) => UserForm {
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            role: u.role.clone(),
            organisation: u.organisation.clone().unwrap_or_default(),
            regions: u.regions.join(" "),
            email: u.email.clone(),
            active: u.active,
            existing: true,
        },
        None => UserForm {
            role: "adviser".into(),
            active: true,
            ..Default::default()
        },
    };
    render(&UsersPage {
        ctx: PageCtx::new(&req, Some(who)),
        users,
        organisations,
        form,
        errors: FieldErrors::default(),
        general_error: String::new(),
    })
}

async fn save_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, ADMIN)?;
    let data = FormData::parse(&body);
    csrf::verify(&req, &data.csrf())?;
    let form = UserForm {
        username: data.get("username"),
        display_name: data.get("display_name"),
        role: data.get("role"),
        organisation: data.get("organisation"),
        regions: data.get("regions"),
        email: data.get("email"),
        active: data.get("active") == "on",
        existing: data.get("existing") == "1",
    };
    let password = data.get_raw("password");
    let input = UserInput {
        username: form.username.clone(),
        display_name: form.display_name.clone(),
        password: Some(password).filter(|p| !p.is_empty()),
        role: form.role.clone(),
        organisation: Some(form.organisation.clone()).filter(|o| !o.is_empty()),
        regions: form
            .regions
            .split(|c: char| c.is_whitespace() || c == ',' || c == '，')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        active: form.active,
        email: Some(form.email.clone()),
    };
    let existing = form.existing;
    let me = who.user_id;
    let result = state
        .db(move |conn| {
            if existing {
                let row = users::find_by_username(conn, &input.username)?
                    .ok_or_else(|| AppError::not_found("用户"))?;
                if row.id == me && (!input.active || input.role != "admin") {
                    return Err(AppError::Conflict(
                        "不能停用自己或取消自己的管理员角色 (you cannot demote or disable yourself)".into(),
                    ));
                }
                users::update(conn, &row, &input)
            } else {
                users::create(conn, &input)
            }
        })
        .await;
    match result {
        Ok(_) => Ok(redirect("/admin/users?done=user_saved")),
        Err(e @ (AppError::Validation(_) | AppError::Conflict(_))) => {
            let (errors, general_error) = FieldErrors::from_error(&e);
            let (users, organisations) = users_data(&state).await?;
            render_with(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                &UsersPage {
                    ctx: PageCtx::new(&req, Some(who)),
                    users,
                    organisations,
                    form,
                    errors,
                    general_error,
                },
            )
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "admin/organisations.html")]
struct OrganisationsPage {
    ctx: PageCtx,
    organisations: Vec<Organisation>,
    name: String,
    kind: String,
    region: String,
    contact: String,
    email: String,
    kinds: &'static [(&'static str, &'static str)],
    errors: FieldErrors,
}

async fn organisations_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, ADMIN)?;
    let organisations = state.db(organisations::list).await?;
    render(&OrganisationsPage {
        ctx: PageCtx::new(&req, Some(who)),
        organisations,
        name: String::new(),
        kind: "charity".into(),
        region: String::new(),
        contact: String::new(),
        email: String::new(),
        kinds: ORGANISATION_KINDS,
        errors: FieldErrors::default(),
    })
}

async fn save_organisation(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, ADMIN)?;
    let data = FormData::parse(&body);
    csrf::verify(&req, &data.csrf())?;
    let input = OrganisationInput {
        name: data.get("name"),
        kind: data.get("kind"),
        region: data.get("region"),
        contact: data.get("contact"),
        email: Some(data.get("email")),
    };
    let attempt = input.clone();
    match state
        .db(move |conn| organisations::upsert(conn, &attempt))
        .await
    {
        Ok(_) => Ok(redirect("/admin/organisations?done=org_saved")),
        Err(e @ AppError::Validation(_)) => {
            let (errors, _) = FieldErrors::from_error(&e);
            let organisations = state.db(organisations::list).await?;
            render_with(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                &OrganisationsPage {
                    ctx: PageCtx::new(&req, Some(who)),
                    organisations,
                    name: input.name,
                    kind: input.kind,
                    region: input.region,
                    contact: input.contact,
                    email: input.email.unwrap_or_default(),
                    kinds: ORGANISATION_KINDS,
                    errors,
                },
            )
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "admin/regions.html")]
struct RegionsPage {
    ctx: PageCtx,
    regions: Vec<RegionName>,
    code: String,
    name: String,
    errors: FieldErrors,
}

async fn regions_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, ADMIN)?;
    let regions = state.db(region_names::list).await?;
    render(&RegionsPage {
        ctx: PageCtx::new(&req, Some(who)),
        regions,
        code: String::new(),
        name: String::new(),
        errors: FieldErrors::default(),
    })
}

async fn save_region(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, ADMIN)?;
    let data = FormData::parse(&body);
    csrf::verify(&req, &data.csrf())?;
    let input = RegionNameInput {
        code: data.get("code"),
        name: data.get("name"),
    };
    let attempt = input.clone();
    match state
        .db(move |conn| region_names::upsert(conn, &attempt))
        .await
    {
        Ok(_) => Ok(redirect("/admin/regions?done=region_saved")),
        Err(e @ AppError::Validation(_)) => {
            let (errors, _) = FieldErrors::from_error(&e);
            let regions = state.db(region_names::list).await?;
            render_with(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                &RegionsPage {
                    ctx: PageCtx::new(&req, Some(who)),
                    regions,
                    code: input.code,
                    name: input.name,
                    errors,
                },
            )
        }
        Err(e) => Err(e.into()),
    }
}

const AUDIT_PER_PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    ctx: PageCtx,
    entries: Vec<crate::privacy::audit::AuditEntry>,
    subject: String,
    total: i64,
    page: i64,
    pages: i64,
    prev_link: String,
    next_link: String,
}

#[derive(serde::Deserialize)]
struct AuditParams {
    subject: Option<String>,
    page: Option<i64>,
}

fn audit_link(subject: &str, page: i64) -> String {
    let mut params: Vec<(&str, String)> = Vec::new();
    if !subject.is_empty() {
        params.push(("subject", subject.into()));
    }
    if page > 1 {
        params.push(("page", page.to_string()));
    }
    match serde_urlencoded::to_string(&params) {
        Ok(s) if !s.is_empty() => format!("/admin/audit?{s}"),
        _ => "/admin/audit".into(),
    }
}

/// Who saw which personal data, and when; newest first.
async fn audit_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    params: web::Query<AuditParams>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, ADMIN)?;
    let subject = params
        .subject
        .clone()
        .unwrap_or_default()
        .trim()
        .to_string();
    let page = params.page.unwrap_or(1).clamp(1, 100_000);
    let filter = subject.clone();
    let (entries, total) = state
        .db(move |conn| {
            crate::privacy::audit::list(
                conn,
                Some(filter.as_str()).filter(|s| !s.is_empty()),
                page,
                AUDIT_PER_PAGE,
            )
        })
        .await?;
    let pages = ((total + AUDIT_PER_PAGE - 1) / AUDIT_PER_PAGE).max(1);
    render(&AuditPage {
        ctx: PageCtx::new(&req, Some(who)),
        prev_link: if page > 1 {
            audit_link(&subject, page - 1)
        } else {
            String::new()
        },
        next_link: if page < pages {
            audit_link(&subject, page + 1)
        } else {
            String::new()
        },
        entries,
        subject,
        total,
        page,
        pages,
    })
}
