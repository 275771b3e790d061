//! `/api/v1/regions`: names of region codes. Anyone may read them; admins
//! create and rename them.

use actix_web::{web, HttpResponse};

use super::users::require_admin;
use crate::auth::ApiUser;
use crate::domain::region_names::{self, RegionName, RegionNameInput};
use crate::error::AppError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/regions", web::get().to(list))
        .route("/regions", web::post().to(upsert));
}

#[utoipa::path(get, path = "/api/v1/regions", responses((status = 200, body = [RegionName])))]
pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(state.db(region_names::list).await?))
}

/// Creates a region name, or renames the region with the same code.
#[utoipa::path(post, path = "/api/v1/regions", request_body = RegionNameInput,
    responses((status = 200, body = RegionName), (status = 403), (status = 422)))]
pub async fn upsert(
    state: web::Data<AppState>,
    user: ApiUser,
    body: web::Json<RegionNameInput>,
) -> Result<HttpResponse, AppError> {
    require_admin(&user.0)?;
    let input = body.into_inner();
    let region = state
        .db(move |conn| region_names::upsert(conn, &input))
        .await?;
    Ok(HttpResponse::Ok().json(region))
}
