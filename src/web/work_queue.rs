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
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/work", web::get().to(work));
}

#[derive(Template)]
#[template(path = "work_queue.html")]
struct QueuePage {
    ctx: PageCtx,
    queue: WorkQueue,
    /// Whose queue: an adviser's username, or empty for every household.
    adviser: String,
    is_admin: bool,
    first_visit_days: i64,
    follow_up_days: i64,
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
    let queue = state
        .db(move |conn| work_queue::load(conn, &scope, &whose, today()))
        .await?;
    render(&QueuePage {
        is_admin: who.role == Role::Admin,
        ctx: PageCtx::new(req, Some(who)).with_regions(state).await?,
        queue,
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
