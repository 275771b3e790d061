//! Closing a household's record (结案), reopening it, and withdrawing
//! consent (which erases its personal data): each asks for confirmation
//! and a reason first.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::STAFF;
use crate::auth::{csrf, Identity};
use crate::error::AppError;
use crate::households::{access, lifecycle};
use crate::state::AppState;
use crate::web::form::FormData;
use crate::web::session::MaybeWebUser;
use crate::web::{redirect, render, render_with, require_role, PageCtx, PageError};

#[derive(Template)]
#[template(path = "households/confirm.html")]
struct ConfirmPage {
    ctx: PageCtx,
    ref_code: String,
    head_name: String,
    heading: String,
    question: String,
    action: String,
    /// A hidden `status` field, when the form sets one.
    status: String,
    reason_label: String,
    reason: String,
    button: String,
    error: String,
}

fn confirm_page(
    req: &HttpRequest,
    who: Identity,
    (ref_code, head_name): (String, String),
    withdraw: bool,
) -> ConfirmPage {
    let (heading, question, action, status, reason_label, button) = if withdraw {
        (
            "撤回同意",
            format!(
                "确定为“{head_name}”户撤回本人同意吗？撤回后将清除住址、电话、身份证号、家庭情况、成员的出生日期、健康与收入等信息，删除全部评估和服务记录，关闭待对接和已对接的需求，并将档案结案；只保留成员姓名、关系和所在地区。此操作不能撤销。"
            ),
            format!("/households/{ref_code}/withdraw-consent"),
            String::new(),
            "撤回原因（可选）",
            "确认撤回并清除",
        )
    } else {
        (
            "结案",
            format!("确定将“{head_name}”户结案吗？结案后不再出现在工作台上，需要时可以重新开案。"),
            format!("/households/{ref_code}/status"),
            "closed".to_string(),
            "结案原因（必填，如：已纳入低保并稳定、迁出本区）",
            "确认结案",
        )
    };
    ConfirmPage {
        ctx: PageCtx::new(req, Some(who)),
        ref_code,
        head_name,
        heading: heading.into(),
        question,
        action,
        status,
        reason_label: reason_label.into(),
        reason: String::new(),
        button: button.into(),
        error: String::new(),
    }
}

async fn names(
    state: &web::Data<AppState>,
    who: &Identity,
    ref_code: String,
) -> Result<(String, String), PageError> {
    let who = who.clone();
    Ok(state
        .db(move |conn| {
            let h = access::visible_household(conn, &who, &ref_code)?;
            Ok((h.row.ref_code, h.row.head_name))
        })
        .await?)
}

pub async fn confirm_close(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let names = names(&state, &who, path.into_inner()).await?;
    render(&confirm_page(&req, who, names, false))
}

pub async fn confirm_withdraw(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let names = names(&state, &who, path.into_inner()).await?;
    render(&confirm_page(&req, who, names, true))
}

/// The confirmation again with the error, or the household page.
async fn finish(
    req: &HttpRequest,
    who: Identity,
    names: (String, String),
    withdraw: bool,
    reason: String,
    outcome: Result<(), AppError>,
    done: &str,
) -> Result<HttpResponse, PageError> {
    match outcome {
        Ok(()) => Ok(redirect(&format!("/households/{}?done={done}", names.0))),
        Err(e @ (AppError::Validation(_) | AppError::Conflict(_))) => {
            let mut page = confirm_page(req, who, names, withdraw);
            page.reason = reason;
            page.error = match &e {
                AppError::Validation(list) => list
                    .iter()
                    .map(|f| f.message.clone())
                    .collect::<Vec<_>>()
                    .join("；"),
                other => other.public_message(),
            };
            render_with(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn set_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let data = FormData::parse(&body);
    csrf::verify(&req, &data.csrf())?;
    let names = names(&state, &who, path.into_inner()).await?;
    let (status, reason) = (data.get("status"), data.get("reason"));
    let actor = who.clone();
    let (target, why) = (names.0.clone(), reason.clone());
    let closing = status == "closed";
    let outcome = state
        .db(move |conn| {
            access::visible_household(conn, &actor, &target)?;
            lifecycle::set_status(conn, &target, &status, &why, &actor.username).map(|_| ())
        })
        .await;
    if !closing {
        // Reopening has no form to come back to: an error has its own page.
        outcome?;
        return Ok(redirect(&format!("/households/{}?done=reopened", names.0)));
    }
    finish(&req, who, names, false, reason, outcome, "closed").await
}

pub async fn withdraw_consent(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let data = FormData::parse(&body);
    csrf::verify(&req, &data.csrf())?;
    let names = names(&state, &who, path.into_inner()).await?;
    let reason = data.get("reason");
    let actor = who.clone();
    let (target, why) = (names.0.clone(), reason.clone());
    let outcome = state
        .db(move |conn| {
            access::visible_household(conn, &actor, &target)?;
            lifecycle::withdraw_consent(conn, &target, &why, &actor.username).map(|_| ())
        })
        .await;
    finish(&req, who, names, true, reason, outcome, "consent_withdrawn").await
}
