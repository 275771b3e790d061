//! Browser sessions: the JWT lives in an HttpOnly, SameSite=Strict cookie; the
//! CSRF cookie is issued by the middleware here.

use std::future::Future;
use std::pin::Pin;

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use crate::auth::csrf::{self, CsrfToken};
use crate::auth::identity::identity_from_token;
use crate::auth::Identity;
use crate::error::AppError;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "aidmatch_session";

pub fn session_cookie(token: &str, secure: bool, max_age_hours: i64) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token.to_string())
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .max_age(actix_web::cookie::time::Duration::hours(max_age_hours))
        .finish()
}

pub fn expired_session_cookie() -> Cookie<'static> {
    let mut c = Cookie::build(SESSION_COOKIE, "")
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .finish();
    c.make_removal();
    c
}

/// Gives every browser a CSRF token cookie (not the API, which uses Bearer tokens).
pub async fn csrf_cookie(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let is_page = !req.path().starts_with("/api/") && req.path() != "/healthz";
    let fresh = if is_page && req.cookie(csrf::COOKIE).is_none() {
        let token = csrf::new_token();
        req.extensions_mut().insert(CsrfToken(token.clone()));
        Some(token)
    } else {
        None
    };
    let secure = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.settings.secure_cookies)
        .unwrap_or(false);
    let mut res = next.call(req).await?;
    if let Some(token) = fresh {
        res.response_mut()
            .add_cookie(&csrf::cookie(&token, secure))
            .map_err(actix_web::error::ErrorInternalServerError)?;
    }
    Ok(res)
}

/// The signed-in browser user, if any. An invalid or expired cookie is
/// treated as signed out.
pub struct MaybeWebUser(pub Option<Identity>);

impl FromRequest for MaybeWebUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let token = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string());
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let (Some(token), Some(state)) = (token, state) else {
                return Ok(MaybeWebUser(None));
            };
            match identity_from_token(&state, &token).await {
                Ok(identity) => Ok(MaybeWebUser(Some(identity))),
                Err(AppError::Unauthorized(_)) => Ok(MaybeWebUser(None)),
                Err(other) => Err(other),
            }
        })
    }
}

/// Error pages are rendered where the user is not known (from an error
/// value); this renders them again with the signed-in user's menu.
pub async fn error_pages_with_menu(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let res = next.call(req).await?;
    let info = res
        .response()
        .extensions()
        .get::<super::ErrorInfo>()
        .cloned();
    let Some(info) = info else {
        return Ok(res.map_into_boxed_body());
    };
    let http_req = res.request().clone();
    let user = MaybeWebUser::extract(&http_req)
        .await
        .ok()
        .and_then(|u| u.0);
    if user.is_none() {
        return Ok(res.map_into_boxed_body());
    }
    let csrf = csrf::token_of(&http_req);
    let mut fresh = super::render_error(&info, user, csrf);
    // Keep cookies the inner response set (e.g. a new CSRF token).
    for cookie in res.response().cookies() {
        let _ = fresh.add_cookie(&cookie);
    }
    Ok(ServiceResponse::new(http_req, fresh))
}
