//! The statistics page for admins: every table of `stats::figures` with
//! its SVG chart, filtered by region and period, and each table (or all of
//! them) as an `.xlsx` download.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::session::MaybeWebUser;
use super::{render, render_with, require_role, PageCtx, PageError};
use crate::auth::Role;
use crate::domain::RegionCode;
use crate::error::AppError;
use crate::state::AppState;
use crate::stats::figures::{self, Filter, Table};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/stats", web::get().to(page))
        .route("/admin/stats.xlsx", web::get().to(download));
}

const PERIODS: &[u32] = &[3, 6, 12, 24];

#[derive(Debug, Default, Deserialize)]
struct Params {
    region: Option<String>,
    months: Option<u32>,
    table: Option<String>,
}

/// The filter the parameters ask for, or what is wrong with them.
fn filter(params: &Params) -> Result<Filter, String> {
    let region = params.region.clone().unwrap_or_default().trim().to_string();
    if !region.is_empty() {
        RegionCode::parse(&region).map_err(|e| format!("地区代码有误：{e}"))?;
    }
    let months = params.months.unwrap_or(12);
    if !PERIODS.contains(&months) {
        return Err("统计期间只能选 3、6、12 或 24 个月 (months must be 3, 6, 12 or 24)".into());
    }
    Ok(Filter {
        region,
        months,
        today: chrono::Local::now().date_naive(),
    })
}

fn query(f: &Filter, table: Option<&str>) -> String {
    let mut params = vec![("months", f.months.to_string())];
    if !f.region.is_empty() {
        params.insert(0, ("region", f.region.clone()));
    }
    if let Some(t) = table {
        params.push(("table", t.to_string()));
    }
    serde_urlencoded::to_string(&params).unwrap_or_default()
}

#[derive(Template)]
#[template(path = "admin/stats.html")]
struct StatsPage {
    ctx: PageCtx,
    tables: Vec<Table>,
    region: String,
    months: u32,
    periods: &'static [u32],
    error: String,
    all_link: String,
    links: Vec<String>,
}

async fn page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    params: web::Query<Params>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, &[Role::Admin])?;
    let ctx = PageCtx::new(&req, Some(who)).with_regions(&state).await?;
    let f = match filter(&params) {
        Ok(f) => f,
        Err(error) => {
            return render_with(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                &StatsPage {
                    ctx,
                    tables: Vec::new(),
                    region: params.region.clone().unwrap_or_default(),
                    months: 12,
                    periods: PERIODS,
                    error,
                    all_link: String::new(),
                    links: Vec::new(),
                },
            )
        }
    };
    let filter = f.clone();
    let tables = state.db(move |conn| figures::all(conn, &filter)).await?;
    let links = tables
        .iter()
        .map(|t| format!("/admin/stats.xlsx?{}", query(&f, Some(t.id))))
        .collect();
    render(&StatsPage {
        ctx,
        tables,
        all_link: format!("/admin/stats.xlsx?{}", query(&f, None)),
        links,
        region: f.region,
        months: f.months,
        periods: PERIODS,
        error: String::new(),
    })
}

/// One table (`table=`) or all of them as a workbook.
async fn download(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    params: web::Query<Params>,
) -> Result<HttpResponse, PageError> {
    require_role(&req, user.0, &[Role::Admin])?;
    let f = filter(&params).map_err(AppError::BadRequest)?;
    let table = params.table.clone().filter(|t| !t.is_empty());
    if let Some(t) = &table {
        if !figures::TABLES.contains(&t.as_str()) {
            return Err(AppError::not_found(&format!("统计表 {t}")).into());
        }
    }
    let which = table.clone();
    let (bytes, name) = state
        .db(move |conn| {
            let tables = match &which {
                Some(t) => vec![figures::one(conn, &f, t)?],
                None => figures::all(conn, &f)?,
            };
            let name = match &which {
                Some(_) => tables[0].title.to_string(),
                None => "统计报表".to_string(),
            };
            Ok((figures::to_xlsx(&tables)?, name))
        })
        .await?;
    let day = chrono::Local::now().format("%Y%m%d");
    let name: String = name
        .chars()
        .filter(|c| !matches!(c, '：' | ':' | '/' | '\\'))
        .collect();
    Ok(crate::export::xlsx_download(
        &format!("{name}-{day}.xlsx"),
        bytes,
    ))
}
