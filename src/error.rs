//! One error type for the application, mapped to an HTTP status and the JSON
//! body `{"error": {"code", "message", "field"?, "details"?}}` from SPEC.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// A problem with one input field. `field` is a path such as `capacity.total`
/// or `apply.url`; `message` is Chinese first, English after.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{}", describe_fields(.0))]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("登录失败次数过多，请 {retry_after_secs} 秒后再试 (too many failed logins)")]
    RateLimited { retry_after_secs: u64 },
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("database connection error: {0}")]
    Connection(#[from] diesel::ConnectionError),
    #[error("database unavailable: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("{0}")]
    Internal(String),
}

fn describe_fields(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether a database error means the database went away (PostgreSQL
/// restarting or unreachable) rather than a fault of the request: such
/// requests get 503, and the pool replaces the connection.
fn connection_lost(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
        | Error::DatabaseError(DatabaseErrorKind::UnableToSendCommand, _) => true,
        Error::DatabaseError(_, info) => {
            let m = info.message();
            [
                "terminating connection",
                "server closed the connection",
                "the database system is shutting down",
                "the database system is starting up",
                "the database system is in recovery mode",
                "no connection to the server",
                "connection to server",
                "SSL connection has been closed",
            ]
            .iter()
            .any(|p| m.contains(p))
        }
        _ => false,
    }
}

impl AppError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn not_found(what: &str) -> Self {
        AppError::NotFound(format!("{what} 不存在 (not found)"))
    }

    pub fn forbidden() -> Self {
        AppError::Forbidden("无权执行此操作 (forbidden for your role)".into())
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "validation_failed",
            AppError::BadRequest(_) => "bad_request",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::Database(diesel::result::Error::NotFound) => "not_found",
            AppError::Database(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => "conflict",
            AppError::Connection(_) | AppError::Pool(_) => "unavailable",
            AppError::Database(e) if connection_lost(e) => "unavailable",
            AppError::Database(_) | AppError::Internal(_) => "internal",
        }
    }

    /// The message shown to the client; internal details stay in the log.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Database(diesel::result::Error::NotFound) => "记录不存在 (not found)".into(),
            AppError::Database(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => "记录已存在 (already exists)".into(),
            AppError::Database(e) if connection_lost(e) => {
                "数据库暂不可用，请稍后重试 (database unavailable, try again shortly)".into()
            }
            AppError::Database(_) | AppError::Internal(_) => {
                "服务器内部错误 (internal server error)".into()
            }
            AppError::Connection(_) | AppError::Pool(_) => {
                "数据库暂不可用，请稍后重试 (database unavailable, try again shortly)".into()
            }
            other => other.to_string(),
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a [FieldError]>,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self.code() {
            "validation_failed" => StatusCode::UNPROCESSABLE_ENTITY,
            "bad_request" => StatusCode::BAD_REQUEST,
            "unauthorized" => StatusCode::UNAUTHORIZED,
            "forbidden" => StatusCode::FORBIDDEN,
            "not_found" => StatusCode::NOT_FOUND,
            "conflict" => StatusCode::CONFLICT,
            "rate_limited" => StatusCode::TOO_MANY_REQUESTS,
            "unavailable" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if self.status_code().is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let (field, details) = match self {
            AppError::Validation(errors) => (
                errors.first().map(|e| e.field.as_str()),
                Some(errors.as_slice()),
            ),
            _ => (None, None),
        };
        let mut resp = HttpResponse::build(self.status_code());
        if let AppError::RateLimited { retry_after_secs } = self {
            resp.insert_header(("Retry-After", retry_after_secs.to_string()));
        }
        resp.json(ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.public_message(),
                field,
                details,
            },
        })
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::Internal(format!("blocking task failed: {e}"))
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(format!("template: {e}"))
    }
}
