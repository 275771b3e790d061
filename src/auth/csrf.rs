//! Cross-site request forgery protection for cookie-authenticated forms:
//! every browser gets a random token in an HttpOnly, SameSite=Strict cookie;
//! every form carries it in a hidden field; a POST whose field does not equal
//! its cookie is refused. (The API takes Bearer tokens only, so it needs none.)

use actix_web::cookie::{Cookie, SameSite};
use actix_web::HttpRequest;
use rand::distributions::Alphanumeric;
use rand::Rng;

use crate::error::AppError;

pub const COOKIE: &str = "aidmatch_csrf";
pub const FIELD: &str = "csrf_token";

/// The request's token, kept in request extensions by the middleware.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

pub fn new_token() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

pub fn cookie(token: &str, secure: bool) -> Cookie<'static> {
    Cookie::build(COOKIE, token.to_string())
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .finish()
}

/// The token of this request (from the cookie, or freshly made by the middleware).
pub fn token_of(req: &HttpRequest) -> String {
    use actix_web::HttpMessage;
    if let Some(t) = req.extensions().get::<CsrfToken>() {
        return t.0.clone();
    }
    req.cookie(COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default()
}

/// Checks a submitted form token against the cookie, in constant time.
pub fn verify(req: &HttpRequest, submitted: &str) -> Result<(), AppError> {
    let expected = req
        .cookie(COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    let ok = !expected.is_empty()
        && expected.len() == submitted.len()
        && expected
            .bytes()
            .zip(submitted.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if ok {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "表单已过期或来源不明，请刷新页面后重试 (CSRF check failed)".into(),
        ))
    }
}
