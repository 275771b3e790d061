//! The household list (only the households the user may see), filtered by
//! name, ref and region, and the search by ID number (sent by POST, so the
//! number never appears in a URL or a log; every hit is audited).

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::STAFF;
use crate::auth::csrf;
use crate::households::repository::{self, ListQuery};
use crate::households::{access, export, id_number};
use crate::privacy::audit;
use crate::state::AppState;
use crate::web::form::FormData;
use crate::web::session::MaybeWebUser;
use crate::web::{render, render_with, require_role, PageCtx, PageError};

const PER_PAGE: i64 = 20;

#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    q: Option<String>,
    region: Option<String>,
    page: Option<i64>,
}

/// A household row with what the list shows beside it.
pub type ListRow = export::Listed;

#[derive(Template)]
#[template(path = "households/list.html")]
struct ListPage {
    ctx: PageCtx,
    rows: Vec<ListRow>,
    total: i64,
    page: i64,
    pages: i64,
    region: String,
    prev_link: String,
    next_link: String,
    filtered: bool,
    /// The ID-number search: whether one was made, and its error.
    looked_up: bool,
    lookup_error: String,
    /// The name/ref filter as typed.
    query: String,
    /// The `.xlsx` download of the filtered list.
    export_link: String,
}

fn link(q: &str, region: &str, page: i64) -> String {
    link_to("/households", q, region, page)
}

fn link_to(base: &str, q: &str, region: &str, page: i64) -> String {
    let mut params: Vec<(&str, String)> = Vec::new();
    if !q.is_empty() {
        params.push(("q", q.into()));
    }
    if !region.is_empty() {
        params.push(("region", region.into()));
    }
    if page > 1 {
        params.push(("page", page.to_string()));
    }
    match serde_urlencoded::to_string(&params) {
        Ok(s) if !s.is_empty() => format!("{base}?{s}"),
        _ => base.into(),
    }
}

/// The list's query from its parameters.
fn list_query(params: &ListParams, page: i64, per_page: i64) -> (String, String, ListQuery) {
    let q = params.q.clone().unwrap_or_default().trim().to_string();
    let region = params.region.clone().unwrap_or_default().trim().to_string();
    let query = ListQuery {
        text: Some(q.clone()).filter(|t| !t.is_empty()),
        region: Some(region.clone()).filter(|r| !r.is_empty()),
        adviser: None,
        page,
        per_page,
        max_per_page: Some(per_page.max(1)),
    };
    (q, region, query)
}

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let scope = access::scope(&who)?;
    let page = params.page.unwrap_or(1).clamp(1, 100_000);
    let (q, region, query) = list_query(&params, page, PER_PAGE);
    let (rows, total) = state
        .db(move |conn| {
            let (rows, total) = repository::list(conn, &scope, &query)?;
            Ok((export::with_details(conn, rows)?, total))
        })
        .await?;
    let pages = ((total + PER_PAGE - 1) / PER_PAGE).max(1);
    let ctx = PageCtx::new(&req, Some(who)).with_regions(&state).await?;
    let filtered = !q.is_empty() || !region.is_empty();
    let export_link = link_to("/households.xlsx", &q, &region, 1);
    render(&ListPage {
        prev_link: if page > 1 {
            link(&q, &region, page - 1)
        } else {
            String::new()
        },
        next_link: if page < pages {
            link(&q, &region, page + 1)
        } else {
            String::new()
        },
        ctx,
        rows,
        total,
        page,
        pages,
        region,
        filtered,
        looked_up: false,
        lookup_error: String::new(),
        export_link,
        query: q,
    })
}

/// The filtered list, every page, as an `.xlsx` download (audited: it is a
/// list of names).
pub async fn export_xlsx(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let scope = access::scope(&who)?;
    let (q, region, query) = list_query(&params, 1, export::MAX_ROWS);
    let bytes = state
        .db(move |conn| {
            let (rows, total) = repository::list(conn, &scope, &query)?;
            let rows = export::with_details(conn, rows)?;
            let regions = crate::domain::region_names::names(conn)?;
            let filter =
                serde_urlencoded::to_string([("q", &q), ("region", &region)]).unwrap_or_default();
            audit::record(
                conn,
                &who.username,
                "export",
                "households",
                "list",
                &format!("{total} rows; {filter}"),
            )?;
            export::households_xlsx(&rows, &regions)
        })
        .await?;
    let day = chrono::Local::now().format("%Y%m%d");
    Ok(crate::export::xlsx_download(
        &format!("家庭档案-{day}.xlsx"),
        bytes,
    ))
}

/// Finds the households a member of which has this ID number.
pub async fn lookup(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    let data = FormData::parse(&body);
    csrf::verify(&req, &data.csrf())?;
    access::scope(&who)?;
    let ctx = PageCtx::new(&req, Some(who.clone()))
        .with_regions(&state)
        .await?;
    let parsed = id_number::parse(&data.get("id_number"));
    let (rows, lookup_error) = match parsed {
        Err(e) => (Vec::new(), e.to_string()),
        Ok(id) => {
            let cipher = state.cipher.clone();
            let rows = state
                .db(move |conn| {
                    let mut found = Vec::new();
                    for r in repository::refs_by_id_number(conn, &cipher, &id.number)? {
                        let Some(h) = repository::find(conn, &r)? else {
                            continue;
                        };
                        if access::check_visible(&who, &h.row).is_err() {
                            continue;
                        }
                        audit::record(
                            conn,
                            &who.username,
                            "lookup",
                            &h.row.ref_code,
                            "id_number",
                            "",
                        )?;
                        found.push(h.row);
                    }
                    export::with_details(conn, found)
                })
                .await?;
            (rows, String::new())
        }
    };
    let status = if lookup_error.is_empty() {
        actix_web::http::StatusCode::OK
    } else {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    render_with(
        status,
        &ListPage {
            ctx,
            total: rows.len() as i64,
            rows,
            page: 1,
            pages: 1,
            region: String::new(),
            prev_link: String::new(),
            next_link: String::new(),
            filtered: true,
            looked_up: true,
            lookup_error,
            query: String::new(),
            export_link: String::new(),
        },
    )
}
