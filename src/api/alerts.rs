//! `/api/v1/alerts`: policy finds people — the households that now qualify
//! for a published policy, for their advisers (scoped like households).

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::Page;
use crate::auth::{ApiUser, Role};
use crate::error::AppError;
use crate::households::access;
use crate::matching::alerts::{self, AlertQuery, AlertRow, AlertView};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/alerts", web::get().to(list))
        .route("/alerts/{id}/acknowledge", web::post().to(acknowledge));
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertParams {
    /// `open`, `acknowledged`, `withdrawn`, or `all`; default: open and acknowledged.
    pub status: Option<String>,
    /// One household's alerts.
    pub household: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/alerts", params(AlertParams),
    responses((status = 200, body = Page<AlertView>), (status = 403),
        (status = 404, description = "household 所指的家庭不存在 (unknown household)"), (status = 422)))]
pub async fn list(
    state: web::Data<AppState>,
    user: ApiUser,
    params: web::Query<AlertParams>,
) -> Result<HttpResponse, AppError> {
    let who = user.0;
    let scope = access::scope(&who)?;
    let params = params.into_inner();
    let statuses = match params.status.as_deref() {
        None | Some("") => Vec::new(),
        Some("all") => vec!["open".into(), "acknowledged".into(), "withdrawn".into()],
        Some(s @ ("open" | "acknowledged" | "withdrawn")) => vec![s.to_string()],
        Some(_) => {
            return Err(AppError::field(
                "status",
                "状态须为 open、acknowledged、withdrawn 或 all (unknown status)",
            ))
        }
    };
    let items = state
        .db(move |conn| {
            let household_id = match params.household.filter(|h| !h.is_empty()) {
                Some(r) => Some(access::visible_household(conn, &who, &r)?.row.id),
                None => None,
            };
            alerts::list(
                conn,
                &scope,
                &AlertQuery {
                    statuses,
                    household_id,
                    adviser: (who.role == Role::Adviser).then(|| who.username.clone()),
                    limit: 1_000,
                },
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page {
        total: items.len() as i64,
        page: 1,
        per_page: items.len() as i64,
        items,
    }))
}

#[utoipa::path(post, path = "/api/v1/alerts/{id}/acknowledge",
    responses((status = 200, body = AlertRow), (status = 403), (status = 404), (status = 409)))]
pub async fn acknowledge(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let who = user.0;
    access::scope(&who)?;
    let row = state
        .db(move |conn| {
            let alert = alerts::find(conn, id)?
                .ok_or_else(|| AppError::not_found(&format!("提醒 {id}")))?;
            let household = households_ref(conn, alert.household_id)?;
            access::visible_household(conn, &who, &household)
                .map_err(|_| AppError::not_found(&format!("提醒 {id}")))?;
            alerts::acknowledge(conn, id, &who.username)
        })
        .await?;
    Ok(HttpResponse::Ok().json(row))
}

fn households_ref(conn: &mut crate::db::DbConnection, id: i64) -> Result<String, AppError> {
    use crate::db::schema::households;
    use diesel::prelude::*;
    Ok(households::table
        .find(id)
        .select(households::ref_code)
        .first(conn)?)
}
