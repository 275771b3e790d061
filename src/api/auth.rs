//! `POST /api/v1/auth/token` and `GET /api/v1/auth/me`.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::identity::load_identity;
use crate::auth::{password, users, ApiUser, Identity};
use crate::error::AppError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/token", web::post().to(issue_token))
        .route("/auth/me", web::get().to(me))
        .route("/auth/logout", web::post().to(logout))
        .route("/auth/password", web::post().to(change_password));
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// The client's address as seen by this server (not a forwarded header, which
/// a client could forge to dodge the throttle).
pub fn client_address(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Checks a username and password, with throttling of failures; shared by the
/// API and the login form.
pub async fn authenticate(
    state: &web::Data<AppState>,
    username: &str,
    password_text: &str,
    address: &str,
) -> Result<Identity, AppError> {
    let username = username.trim().to_string();
    state.throttle.check_and_reserve(&username, address)?;
    let pw = password_text.to_string();
    let name = username.clone();
    let found = state
        .db(move |conn| {
            let Some(user) = users::find_by_username(conn, &name)? else {
                password::verify_against_dummy(&pw);
                return Ok(None);
            };
            if !password::verify_password(&pw, &user.password_hash) {
                return Ok(None);
            }
            load_identity(conn, user.id)
        })
        .await?;
    match found {
        Some(identity) => {
            state.throttle.record_success(&username, address);
            Ok(identity)
        }
        None => {
            // The name is not logged: people type passwords into it.
            tracing::warn!("failed login");
            Err(AppError::Unauthorized(
                "用户名或密码错误，或账号已停用 (invalid username or password)".into(),
            ))
        }
    }
}

#[utoipa::path(post, path = "/api/v1/auth/token", request_body = Credentials,
    responses((status = 200, body = TokenResponse), (status = 401), (status = 429)))]
pub async fn issue_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<Credentials>,
) -> Result<HttpResponse, AppError> {
    let identity = authenticate(
        &state,
        &body.username,
        &body.password,
        &client_address(&req),
    )
    .await?;
    let (token, expires_at) = state.jwt.issue(
        identity.user_id,
        &identity.username,
        identity.role.as_str(),
        identity.token_epoch,
    )?;
    Ok(HttpResponse::Ok().json(TokenResponse { token, expires_at }))
}

#[utoipa::path(get, path = "/api/v1/auth/me", responses((status = 200), (status = 401)))]
pub async fn me(user: ApiUser) -> HttpResponse {
    HttpResponse::Ok().json(user.0)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

#[utoipa::path(post, path = "/api/v1/auth/password", request_body = PasswordChange,
    responses((status = 204), (status = 401), (status = 422)))]
pub async fn change_password(
    state: web::Data<AppState>,
    user: ApiUser,
    body: web::Json<PasswordChange>,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let id = user.0.user_id;
    state
        .db(move |conn| {
            users::change_own_password(conn, id, &body.current_password, &body.new_password)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Ends every session of the caller's account: this token and all others.
#[utoipa::path(post, path = "/api/v1/auth/logout", responses((status = 204), (status = 401)))]
pub async fn logout(state: web::Data<AppState>, user: ApiUser) -> Result<HttpResponse, AppError> {
    let id = user.0.user_id;
    state.db(move |conn| users::end_sessions(conn, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
