//! The JSON API under `/api/v1` (SPEC "Interfaces"). Callers authenticate
//! with `Authorization: Bearer <token>` from `POST /api/v1/auth/token`.

pub mod alerts;
pub mod auth;
pub mod bundles;
pub mod events;
pub mod households;
pub mod hsds;
pub mod needs;
pub mod openapi;
pub mod organisations;
pub mod outbox;
pub mod referrals;
pub mod regions;
pub mod resources;
pub mod screening;
pub mod users;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz)).service(
        web::scope("/api/v1")
            .route("/openapi.json", web::get().to(openapi::document))
            .configure(auth::configure)
            .configure(resources::configure)
            .configure(hsds::configure)
            .configure(households::configure)
            .configure(needs::configure)
            .configure(screening::configure)
            .configure(alerts::configure)
            .configure(bundles::configure)
            .configure(referrals::configure)
            .configure(events::configure)
            .configure(outbox::configure)
            .configure(users::configure)
            .configure(organisations::configure)
            .configure(regions::configure)
            .default_service(web::to(not_found)),
    );
}

async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound("没有这个接口 (no such endpoint)".into()))
}

/// `GET /healthz`: 200 when the database answers, 503 otherwise.
async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let backend = state.settings.backend().name();
    match state.db(crate::db::ping).await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({"status": "ok", "database": backend})),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            HttpResponse::ServiceUnavailable()
                .json(serde_json::json!({"status": "unavailable", "database": backend}))
        }
    }
}

/// Malformed JSON bodies get the standard error shape, not actix's text.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(4 * 1024 * 1024)
        .error_handler(|err, _req| {
            AppError::BadRequest(format!("请求体不是合法的 JSON：{err} (invalid JSON body)")).into()
        })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        AppError::BadRequest(format!("查询参数有误：{err} (invalid query parameters)")).into()
    })
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _req| {
        AppError::BadRequest(format!("路径参数有误：{err} (invalid path)")).into()
    })
}

/// `page` / `per_page` query parameters.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

impl Paging {
    pub fn page(&self) -> i64 {
        self.page.unwrap_or(1).clamp(1, 100_000)
    }
    pub fn per_page(&self) -> i64 {
        self.per_page.unwrap_or(20).clamp(1, 200)
    }
}

/// A page of items.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    pub items: Vec<T>,
}
