//! Home, login and logout, and the stylesheet.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::form::FormData;
use super::session::{expired_session_cookie, session_cookie, MaybeWebUser};
use super::{redirect, render, render_with, PageCtx, PageError};
use crate::api::auth::{authenticate, client_address};
use crate::auth::csrf;
use crate::catalogue::access::Visibility;
use crate::catalogue::repository::{self, ListQuery};
use crate::catalogue::ResourceRow;
use crate::error::AppError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/login", web::get().to(login_form))
        .route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout))
        .route("/account", web::get().to(account_page))
        .route("/account", web::post().to(change_password));
}

pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../templates/app.css"))
}

/// The assessment form's live total (the form works without it).
pub async fn assess_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../templates/assess.js"))
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: PageCtx,
    recent: Vec<ResourceRow>,
    counts: Vec<(String, i64)>,
}

async fn home(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
) -> Result<HttpResponse, PageError> {
    // An adviser's home page is their work queue.
    if let Some(who) = user
        .0
        .clone()
        .filter(|u| u.role == crate::auth::Role::Adviser)
    {
        return super::work_queue::show(&state, &req, who, None).await;
    }
    let (recent, counts) = state
        .db(|conn| {
            let mut counts = Vec::new();
            for (kind, label) in crate::domain::vocabulary::KINDS {
                let q = ListQuery {
                    kind: Some(kind.to_string()),
                    page: 1,
                    per_page: 1,
                    ..Default::default()
                };
                counts.push((
                    label.to_string(),
                    repository::list(conn, Visibility::Public, &q)?.0,
                ));
            }
            let q = ListQuery {
                page: 1,
                per_page: 6,
                ..Default::default()
            };
            Ok((repository::list(conn, Visibility::Public, &q)?.1, counts))
        })
        .await?;
    render(&HomePage {
        ctx: PageCtx::new(&req, user.0).with_regions(&state).await?,
        recent,
        counts,
    })
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    ctx: PageCtx,
    username: String,
    next: String,
    error: String,
}

#[derive(Deserialize)]
struct NextParam {
    next: Option<String>,
}

/// Only paths on this site are followed after login: `next` is resolved
/// against a placeholder origin and must stay on it (this rejects `//host`,
/// `/\\host`, and control characters browsers would strip).
fn safe_next(next: &str) -> String {
    const ORIGIN: &str = "http://aidmatch.invalid/";
    if !next.starts_with('/') || next.chars().any(|c| c.is_control() || c == '\\') {
        return "/".into();
    }
    let Ok(base) = url::Url::parse(ORIGIN) else {
        return "/".into();
    };
    match base.join(next) {
        Ok(u) if u.host_str() == Some("aidmatch.invalid") && u.scheme() == "http" => {
            let mut target = u.path().to_string();
            if let Some(q) = u.query() {
                target.push('?');
                target.push_str(q);
            }
            target
        }
        _ => "/".into(),
    }
}

async fn login_form(
    req: HttpRequest,
    user: MaybeWebUser,
    params: web::Query<NextParam>,
) -> Result<HttpResponse, PageError> {
    let next = safe_next(params.next.as_deref().unwrap_or("/"));
    if user.0.is_some() {
        return Ok(redirect(&next));
    }
    render(&LoginPage {
        ctx: PageCtx::new(&req, None),
        username: String::new(),
        next,
        error: String::new(),
    })
}

async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = FormData::parse(&body);
    csrf::verify(&req, &form.csrf())?;
    let username = form.get("username");
    let next = safe_next(&form.get("next"));
    match authenticate(
        &state,
        &username,
        &form.get_raw("password"),
        &client_address(&req),
    )
    .await
    {
        Ok(identity) => {
            let (token, _) = state.jwt.issue(
                identity.user_id,
                &identity.username,
                identity.role.as_str(),
                identity.token_epoch,
            )?;
            let cookie = session_cookie(
                &token,
                state.settings.secure_cookies,
                state.settings.token_ttl_hours.max(1),
            );
            let mut resp = redirect(&next);
            resp.add_cookie(&cookie)
                .map_err(|e| AppError::Internal(e.to_string()))?;
            Ok(resp)
        }
        Err(e @ (AppError::Unauthorized(_) | AppError::RateLimited { .. })) => {
            let status = actix_web::ResponseError::status_code(&e);
            render_with(
                status,
                &LoginPage {
                    ctx: PageCtx::new(&req, None),
                    username,
                    next,
                    error: e.public_message(),
                },
            )
        }
        Err(other) => Err(other.into()),
    }
}

/// Signing out ends every session of the account (the token in this cookie
/// and any copy of it), not just this browser's cookie.
async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = FormData::parse(&body);
    csrf::verify(&req, &form.csrf())?;
    if let Some(who) = user.0 {
        state
            .db(move |conn| crate::auth::users::end_sessions(conn, who.user_id))
            .await?;
    }
    let mut resp = redirect("/?done=logged_out");
    resp.add_cookie(&expired_session_cookie())
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(resp)
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    ctx: PageCtx,
    errors: super::form::FieldErrors,
}

async fn account_page(req: HttpRequest, user: MaybeWebUser) -> Result<HttpResponse, PageError> {
    let who = super::require_user(&req, user.0)?;
    render(&AccountPage {
        ctx: PageCtx::new(&req, Some(who)),
        errors: Default::default(),
    })
}

async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = super::require_user(&req, user.0)?;
    let form = FormData::parse(&body);
    csrf::verify(&req, &form.csrf())?;
    let (current, new) = (
        form.get_raw("current_password"),
        form.get_raw("new_password"),
    );
    if new != form.get_raw("confirm_password") {
        let mut errors = super::form::FieldErrors::default();
        errors.0.insert(
            "confirm_password".into(),
            "两次输入的新密码不一致 (passwords do not match)".into(),
        );
        return render_with(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            &AccountPage {
                ctx: PageCtx::new(&req, Some(who)),
                errors,
            },
        );
    }
    let id = who.user_id;
    match state
        .db(move |conn| crate::auth::users::change_own_password(conn, id, &current, &new))
        .await
    {
        Ok(()) => Ok(redirect("/account?done=password_changed")),
        Err(e @ AppError::Validation(_)) => render_with(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            &AccountPage {
                ctx: PageCtx::new(&req, Some(who)),
                errors: super::form::FieldErrors::from_error(&e).0,
            },
        ),
        Err(e) => Err(e.into()),
    }
}
