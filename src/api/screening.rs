//! `POST /api/v1/screening` (public, no login, nothing stored): which
//! policies a household is likely eligible for, with reasons, how to
//! apply, and the near misses.

use actix_web::{web, HttpResponse};
use serde_json::Value;

use crate::eligibility::report::{self, ScreeningResult};
use crate::eligibility::screening;
use crate::error::AppError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/screening", web::post().to(screen));
}

#[utoipa::path(post, path = "/api/v1/screening", request_body = Object,
    responses((status = 200, body = ScreeningResult), (status = 422)))]
pub async fn screen(
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let today = chrono::Local::now().date_naive();
    let request = screening::parse(&body, today).map_err(AppError::Validation)?;
    let rules = state.rules.clone();
    let result = state
        .db(move |conn| report::run(conn, &rules, &request))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(result))
}
