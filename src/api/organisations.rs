//! `/api/v1/organisations`: providers. Anyone signed in may list them; admins
//! create and change them.

use actix_web::{web, HttpResponse};

use super::users::require_admin;
use crate::auth::organisations::{self, Organisation, OrganisationInput};
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/organisations", web::get().to(list))
        .route("/organisations", web::post().to(upsert));
}

#[utoipa::path(get, path = "/api/v1/organisations", responses((status = 200, body = [Organisation])))]
pub async fn list(state: web::Data<AppState>, _user: ApiUser) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(state.db(organisations::list).await?))
}

/// Creates an organisation, or updates the one with the same name.
#[utoipa::path(post, path = "/api/v1/organisations", request_body = OrganisationInput,
    responses((status = 200, body = Organisation), (status = 403), (status = 422)))]
pub async fn upsert(
    state: web::Data<AppState>,
    user: ApiUser,
    body: web::Json<OrganisationInput>,
) -> Result<HttpResponse, AppError> {
    require_admin(&user.0)?;
    let input = body.into_inner();
    let org = state
        .db(move |conn| organisations::upsert(conn, &input))
        .await?;
    Ok(HttpResponse::Ok().json(org))
}
