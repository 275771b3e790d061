//! The adviser's home page: their households by priority and risk, the
//! first home visits and red-risk follow-ups that are due (overdue ones
//! first, in red), and the latest case notes.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::households::{today, STAFF};
use super::session::MaybeWebUser;
use super::{render, require_role, PageCtx, PageError};
use crate::auth::{Identity, Role};
use crate::households::access;
use crate::households::deadlines::{FIRST_VISIT_DAYS, FOLLOW_UP_DAYS};
use crate::households::work_queue::{self, Whose, WorkQueue};
use crate::matching::alerts::{self, AlertQuery, AlertView};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/work", web::get().to(work))
        .route("/alerts/{id}/acknowledge", web::post().to(acknowledge));
}

#[derive(Template)]
#[template(path = "work_queue.html")]
struct QueuePage {
    ctx: PageCtx,
    queue: WorkQueue,
    /// Policy finds people: open alerts, grouped by household.
    alerts: Vec<HouseholdAlerts>,
    /// How many open alerts in all.
    alert_count: usize,
    /// Whose queue: an adviser's username, or empty for every household.
    adviser: String,
    is_admin: bool,
    first_visit_days: i64,
    follow_up_days: i64,
}

/// One household's open alerts.
pub struct HouseholdAlerts {
    pub household_ref: String,
    pub head_name: String,
    pub alerts: Vec<AlertView>,
}

/// Alerts grouped by household, the households with the newest alert first.
fn group(alerts: Vec<AlertView>) -> Vec<HouseholdAlerts> {
    let mut out: Vec<HouseholdAlerts> = Vec::new();
    for a in alerts {
        match out.iter_mut().find(|g| g.household_ref == a.household_ref) {
            Some(g) => g.alerts.push(a),
            None => out.push(HouseholdAlerts {
                household_ref: a.household_ref.clone(),
                head_name: a.head_name.clone(),
                alerts: vec![a],
            }),
        }
    }
    out
}

#[derive(Debug, Deserialize)]
struct QueueParams {
    adviser: Option<String>,
}

/// The queue of `who` (an adviser), or for an admin every household or one
/// adviser's.
pub async fn show(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    who: Identity,
    adviser: Option<String>,
) -> Result<HttpResponse, PageError> {
    let scope = access::scope(&who)?;
    let adviser = match who.role {
        Role::Adviser => Some(who.username.clone()),
        _ => adviser.filter(|a| !a.is_empty()),
    };
    let whose = match &adviser {
        Some(username) => Whose::Adviser {
            username: username.clone(),
            // An adviser also picks up the unassigned households of their
            // streets; an admin looking at one adviser sees only theirs.
            unassigned: who.role == Role::Adviser,
        },
        None => Whose::All,
    };
    let alert_query = AlertQuery {
        statuses: vec!["open".into()],
        household_id: None,
        adviser: adviser.clone(),
        limit: 1_000,
    };
    let (queue, alerts) = state
        .db(move |conn| {
            let queue = work_queue::load(conn, &scope, &whose, today())?;
            let alerts = alerts::list(conn, &scope, &alert_query)?;
            Ok((queue, alerts))
        })
        .await?;
    render(&QueuePage {
        is_admin: who.role == Role::Admin,
        ctx: PageCtx::new(req, Some(who)).with_regions(state).await?,
        queue,
        alert_count: alerts.len(),
        alerts: group(alerts),
        adviser: adviser.unwrap_or_default(),
        first_visit_days: FIRST_VISIT_DAYS,
        follow_up_days: FOLLOW_UP_DAYS,
    })
}

async fn work(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    params: web::Query<QueueParams>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    show(&state, &req, who, params.into_inner().adviser).await
}

/// The adviser has acted on a "policy finds people" alert; back to where
/// the button was.
async fn acknowledge(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    path: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let data = super::form::FormData::parse(&body);
    crate::auth::csrf::verify(&req, &data.csrf())?;
    let id = path.into_inner();
    let household_ref = state
        .db(move |conn| {
            use crate::db::schema::households;
            use diesel::prelude::*;
            let not_found = || crate::error::AppError::not_found(&format!("提醒 {id}"));
            let alert = alerts::find(conn, id)?.ok_or_else(not_found)?;
            let r: String = households::table
                .find(alert.household_id)
                .select(households::ref_code)
                .first(conn)?;
            access::visible_household(conn, &who, &r).map_err(|_| not_found())?;
            alerts::acknowledge(conn, id, &who.username)?;
            Ok(r)
        })
        .await?;
    let back = if data.get("back") == "household" {
        format!("/households/{household_ref}?done=alert_done#alerts")
    } else {
        "/work?done=alert_done#alerts".to_string()
    };
    Ok(super::redirect(&back))
}
