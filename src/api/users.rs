//! `/api/v1/users`: account management, for admins only.

use actix_web::{web, HttpResponse};

use crate::auth::users::{self, UserInput, UserView};
use crate::auth::{ApiUser, Identity, Role};
use crate::error::AppError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(list))
        .route("/users", web::post().to(create))
        .route("/users/{username}", web::get().to(read))
        .route("/users/{username}", web::put().to(update));
}

pub fn require_admin(who: &Identity) -> Result<(), AppError> {
    if who.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "仅民政管理员可以执行此操作 (admins only)".into(),
        ))
    }
}

#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, body = [UserView]), (status = 403)))]
pub async fn list(state: web::Data<AppState>, user: ApiUser) -> Result<HttpResponse, AppError> {
    require_admin(&user.0)?;
    Ok(HttpResponse::Ok().json(state.db(users::list).await?))
}

#[utoipa::path(post, path = "/api/v1/users", request_body = UserInput,
    responses((status = 201, body = UserView), (status = 403), (status = 422)))]
pub async fn create(
    state: web::Data<AppState>,
    user: ApiUser,
    body: web::Json<UserInput>,
) -> Result<HttpResponse, AppError> {
    require_admin(&user.0)?;
    let input = body.into_inner();
    let view = state
        .db(move |conn| {
            let row = users::create(conn, &input)?;
            users::view_of(conn, &row)
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

#[utoipa::path(get, path = "/api/v1/users/{username}", responses((status = 200, body = UserView), (status = 404)))]
pub async fn read(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    require_admin(&user.0)?;
    let name = path.into_inner();
    let view = state
        .db(move |conn| {
            let row =
                users::find_by_username(conn, &name)?.ok_or_else(|| AppError::not_found("用户"))?;
            users::view_of(conn, &row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(put, path = "/api/v1/users/{username}", request_body = UserInput,
    responses((status = 200, body = UserView), (status = 403), (status = 404), (status = 422)))]
pub async fn update(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
    body: web::Json<UserInput>,
) -> Result<HttpResponse, AppError> {
    require_admin(&user.0)?;
    let name = path.into_inner();
    let input = body.into_inner();
    let me = user.0.user_id;
    let view = state
        .db(move |conn| {
            let row =
                users::find_by_username(conn, &name)?.ok_or_else(|| AppError::not_found("用户"))?;
            if row.id == me && (!input.active || input.role != "admin") {
                return Err(AppError::Conflict(
                    "不能停用自己或取消自己的管理员角色 (you cannot demote or disable yourself)"
                        .into(),
                ));
            }
            let row = users::update(conn, &row, &input)?;
            users::view_of(conn, &row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
