//! Who is making a request: roles, the signed-in identity and the extractors
//! that find it (a Bearer token for the API; the session cookie for pages is
//! read in `web::session`).

use std::future::Future;
use std::pin::Pin;

use actix_web::{web, FromRequest, HttpRequest};
use serde::Serialize;

use super::{organisations, users};
use crate::db::DbConnection;
use crate::domain::RegionCode;
use crate::error::AppError;
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Adviser,
    Charity,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "adviser" => Some(Role::Adviser),
            "charity" => Some(Role::Charity),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Adviser => "adviser",
            Role::Charity => "charity",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "民政管理员",
            Role::Adviser => "社区救助顾问",
            Role::Charity => "公益组织/爱心企业",
        }
    }
}

/// A signed-in, active user as loaded for this request.
#[derive(Debug, Clone, Serialize)]
pub struct Identity {
    pub user_id: i64,
    #[serde(skip)]
    pub token_epoch: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub organisation_id: Option<i64>,
    pub organisation_name: Option<String>,
    pub regions: Vec<String>,
}

impl Identity {
    /// The system itself acting as an admin (background work such as
    /// follow-up mail), never a signed-in user.
    pub fn system() -> Identity {
        Identity {
            user_id: 0,
            token_epoch: 0,
            username: "system".into(),
            display_name: "系统".into(),
            role: Role::Admin,
            organisation_id: None,
            organisation_name: None,
            regions: Vec::new(),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn name_for_display(&self) -> &str {
        if self.display_name.is_empty() {
            &self.username
        } else {
            &self.display_name
        }
    }

    pub fn role_label(&self) -> &str {
        self.role.label()
    }

    /// Whether one of this account's region prefixes covers `region`.
    pub fn covers_region(&self, region: &str) -> bool {
        self.regions
            .iter()
            .filter_map(|r| RegionCode::parse(r).ok())
            .any(|r| r.covers(region))
    }
}

/// Loads the identity of an active user, or `None` when the account is gone
/// or disabled.
pub fn load_identity(conn: &mut DbConnection, user_id: i64) -> Result<Option<Identity>, AppError> {
    let Some(row) = users::find_by_id(conn, user_id)? else {
        return Ok(None);
    };
    if !row.active {
        return Ok(None);
    }
    let Some(role) = Role::parse(&row.role) else {
        return Ok(None);
    };
    let organisation_name = match row.organisation_id {
        Some(id) => organisations::find_by_id(conn, id)?.map(|o| o.name),
        None => None,
    };
    Ok(Some(Identity {
        user_id: row.id,
        token_epoch: row.token_epoch,
        regions: users::regions_of(conn, row.id)?,
        username: row.username,
        display_name: row.display_name,
        role,
        organisation_id: row.organisation_id,
        organisation_name,
    }))
}

/// Resolves a token to an active identity.
pub async fn identity_from_token(state: &AppState, token: &str) -> Result<Identity, AppError> {
    let (user_id, epoch) = state.jwt.verify(token)?;
    state
        .db(move |conn| load_identity(conn, user_id))
        .await?
        .filter(|identity| identity.token_epoch == epoch)
        .ok_or_else(|| {
            AppError::Unauthorized("登录已失效或账号已停用，请重新登录 (session ended)".into())
        })
}

fn bearer_token(req: &HttpRequest) -> Option<String> {
    let header = req.headers().get("Authorization")?.to_str().ok()?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))?;
    Some(token.trim().to_string())
}

/// An API caller that must be signed in (Bearer token).
pub struct ApiUser(pub Identity);

/// An API caller that may be anonymous; a bad token is still an error.
pub struct MaybeApiUser(pub Option<Identity>);

type BoxFut<T> = Pin<Box<dyn Future<Output = Result<T, AppError>>>>;

impl FromRequest for MaybeApiUser {
    type Error = AppError;
    type Future = BoxFut<Self>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let token = bearer_token(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let Some(token) = token else {
                return Ok(MaybeApiUser(None));
            };
            let state = state.ok_or_else(|| AppError::Internal("state missing".into()))?;
            Ok(MaybeApiUser(Some(
                identity_from_token(&state, &token).await?,
            )))
        })
    }
}

impl FromRequest for ApiUser {
    type Error = AppError;
    type Future = BoxFut<Self>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let inner = MaybeApiUser::from_request(req, payload);
        Box::pin(async move {
            match inner.await?.0 {
                Some(identity) => Ok(ApiUser(identity)),
                None => Err(AppError::Unauthorized(
                    "需要登录：请在 Authorization 头中提供 Bearer 令牌 (authentication required)"
                        .into(),
                )),
            }
        })
    }
}
