//! Referral pages: an adviser refers a need to a resource from the bundle;
//! advisers and the resources' charities follow their referrals and move
//! them on (accept, fulfil, decline).

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::form::FormData;
use super::session::MaybeWebUser;
use super::{redirect, render, require_user, PageCtx, PageError};
use crate::auth::csrf;
use crate::matching::referrals::{self, ReferralView, REFERRAL_STATUSES};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/referrals", web::get().to(list))
        .route("/referrals", web::post().to(create))
        .route("/referrals/{number}/status", web::post().to(set_status));
}

#[derive(Template)]
#[template(path = "referrals.html")]
struct ReferralsPage {
    ctx: PageCtx,
    rows: Vec<ReferralView>,
    status: String,
    statuses: &'static [(&'static str, &'static str)],
    is_charity: bool,
}

#[derive(Debug, Deserialize)]
struct ListParams {
    status: Option<String>,
}

async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, PageError> {
    let who = require_user(&req, user.0)?;
    let status = params
        .status
        .clone()
        .filter(|s| REFERRAL_STATUSES.iter().any(|(c, _)| c == s))
        .unwrap_or_default();
    let viewer = who.clone();
    let filter = status.clone();
    let rows = state
        .db(move |conn| {
            referrals::list(
                conn,
                &viewer,
                None,
                Some(filter.as_str()).filter(|s| !s.is_empty()),
            )
        })
        .await?;
    render(&ReferralsPage {
        is_charity: who.role == crate::auth::Role::Charity,
        ctx: PageCtx::new(&req, Some(who)).with_regions(&state).await?,
        rows,
        status,
        statuses: REFERRAL_STATUSES,
    })
}

/// Refers a need to a resource (from the bundle page), then back there.
async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = require_user(&req, user.0)?;
    let data = FormData::parse(&body);
    csrf::verify(&req, &data.csrf())?;
    let (need, resource, household) = (
        data.get("need_ref"),
        data.get("resource_ref"),
        data.get("household_ref"),
    );
    state
        .db(move |conn| referrals::create(conn, &who, &need, &resource, &data.get("note")))
        .await?;
    Ok(redirect(&if household.is_empty() {
        "/referrals?done=referred".to_string()
    } else {
        format!("/households/{household}/bundle?done=referred#resource-list")
    }))
}

async fn set_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = require_user(&req, user.0)?;
    let data = FormData::parse(&body);
    csrf::verify(&req, &data.csrf())?;
    let number = path.into_inner();
    state
        .db(move |conn| {
            referrals::set_status(conn, &who, &number, &data.get("status"), &data.get("note"))
        })
        .await?;
    Ok(redirect("/referrals?done=referral_status"))
}
