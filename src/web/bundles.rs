//! The three-list bundle as a printable A4 page: built now
//! (`/households/{ref}/bundle`), saved as a numbered snapshot, and shown
//! again exactly as saved (`/bundles/{number}`).

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::households::STAFF;
use super::session::MaybeWebUser;
use super::{redirect, render, require_role, PageCtx, PageError};
use crate::api::bundles::{as_of_date, build_for, load_saved};
use crate::auth::csrf;
use crate::matching::bundle::{self, Bundle};
use crate::state::AppState;
use crate::web::form::FormData;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/households/{ref}/bundle.xlsx", web::get().to(current_xlsx))
        .route("/households/{ref}/bundle", web::get().to(current))
        .route("/households/{ref}/bundles", web::post().to(save))
        .route("/bundles/{number}.xlsx", web::get().to(saved_xlsx))
        .route("/bundles/{number}", web::get().to(saved));
}

#[derive(Template)]
#[template(path = "bundle.html")]
struct BundlePage {
    ctx: PageCtx,
    b: Bundle,
    /// Saved snapshots of this household (on the live page).
    saved: Vec<(String, String)>,
}

#[derive(Debug, Deserialize)]
struct AsOfParam {
    as_of: Option<String>,
}

async fn current(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
    query: web::Query<AsOfParam>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let as_of = as_of_date(query.as_of.as_deref())?;
    let (household_id, b) = build_for(&state, who.clone(), path.into_inner(), as_of).await?;
    let saved = state
        .db(move |conn| bundle::saved_of(conn, household_id))
        .await?
        .into_iter()
        .map(|r| (r.number, r.created_at.format("%Y-%m-%d %H:%M").to_string()))
        .collect();
    render(&BundlePage {
        ctx: PageCtx::new(&req, Some(who)).with_regions(&state).await?,
        b,
        saved,
    })
}

async fn save(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let data = FormData::parse(&body);
    csrf::verify(&req, &data.csrf())?;
    let as_of = as_of_date(Some(&data.get("as_of")))?;
    let (household_id, b) = build_for(&state, who, path.into_inner(), as_of).await?;
    let saved = state
        .db(move |conn| bundle::save(conn, household_id, b))
        .await?;
    Ok(redirect(&format!(
        "/bundles/{}?done=bundle_saved",
        saved.number.unwrap_or_default()
    )))
}

async fn saved(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let b = load_saved(&state, who.clone(), path.into_inner()).await?;
    render(&BundlePage {
        ctx: PageCtx::new(&req, Some(who)).with_regions(&state).await?,
        b,
        saved: Vec::new(),
    })
}

/// The bundle as an `.xlsx` download.
async fn xlsx_response(state: &web::Data<AppState>, b: Bundle) -> Result<HttpResponse, PageError> {
    let regions = state.db(crate::domain::region_names::names).await?;
    let name = match &b.number {
        Some(n) => format!("一户一案-{n}.xlsx"),
        None => format!("一户一案-{}-{}.xlsx", b.household.ref_code, b.as_of),
    };
    let bytes = web::block(move || bundle::to_xlsx(&b, &regions))
        .await
        .map_err(|e| crate::error::AppError::Internal(format!("xlsx: {e}")))??;
    Ok(crate::export::xlsx_download(&name, bytes))
}

async fn current_xlsx(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
    query: web::Query<AsOfParam>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let as_of = as_of_date(query.as_of.as_deref())?;
    let (_, b) = build_for(&state, who, path.into_inner(), as_of).await?;
    xlsx_response(&state, b).await
}

async fn saved_xlsx(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let b = load_saved(&state, who, path.into_inner()).await?;
    xlsx_response(&state, b).await
}
