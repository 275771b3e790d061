//! The search page: the same query string as `GET /api/v1/resources/search`,
//! so a result list can be shared as a link; facets as links.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::session::MaybeWebUser;
use super::{render, render_with, PageCtx, PageError};
use crate::domain::vocabulary::{self, DIMENSIONS, KINDS};
use crate::error::AppError;
use crate::search::query::Hit;
use crate::search::request;
use crate::search::synonyms::Expansion;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/search", web::get().to(search_page));
}

/// A facet or filter link: following it toggles one parameter.
pub struct FacetLink {
    pub label: String,
    pub count: u64,
    pub link: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    ctx: PageCtx,
    hits: Vec<Hit>,
    total: usize,
    page: usize,
    pages: usize,
    kind_links: Vec<FacetLink>,
    dimension_links: Vec<FacetLink>,
    active_filters: Vec<FacetLink>,
    available_link: FacetLink,
    region: String,
    synonyms_used: Vec<Expansion>,
    words: Vec<String>,
    prev_link: String,
    next_link: String,
    error: String,
}

impl SearchPage {
    pub fn kind_label(&self, code: &str) -> String {
        vocabulary::label(KINDS, code).to_string()
    }
}

/// The query's parameters, without paging.
fn params_of(query_string: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query_string.as_bytes())
        .into_owned()
        .filter(|(k, v)| k != "page" && !v.trim().is_empty())
        .collect()
}

fn link_with(params: &[(String, String)]) -> String {
    match serde_urlencoded::to_string(params) {
        Ok(s) if !s.is_empty() => format!("/search?{s}"),
        _ => "/search".into(),
    }
}

/// The link that adds `key=value`, or removes it when present.
fn toggle(params: &[(String, String)], key: &str, value: &str) -> (String, bool) {
    let active = params.iter().any(|(k, v)| k == key && v == value);
    let next: Vec<(String, String)> = if active {
        params
            .iter()
            .filter(|(k, v)| !(k == key && v == value))
            .cloned()
            .collect()
    } else {
        let mut p = params.to_vec();
        p.push((key.into(), value.into()));
        p
    };
    (link_with(&next), active)
}

async fn search_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
) -> Result<HttpResponse, PageError> {
    let params = params_of(req.query_string());
    let mut ctx = PageCtx::new(&req, user.0).with_regions(&state).await?;
    ctx.q = params
        .iter()
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let region = params
        .iter()
        .find(|(k, _)| k == "region")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let today = chrono::Local::now().date_naive();
    let parsed = request::parse(req.query_string(), today);
    let (results, error) = match parsed {
        Ok(r) => {
            let index = state.search.clone();
            (
                Some(
                    web::block(move || index.search(&r))
                        .await
                        .map_err(AppError::from)??,
                ),
                String::new(),
            )
        }
        Err(e @ AppError::Validation(_)) => (None, e.to_string()),
        Err(e) => return Err(e.into()),
    };
    let counts = |name: &str, code: &str| -> u64 {
        results
            .as_ref()
            .and_then(|r| {
                if name == "kind" {
                    r.facets.kind.get(code)
                } else {
                    r.facets.dimension.get(code)
                }
            })
            .copied()
            .unwrap_or(0)
    };
    let facet_links = |name: &str, table: &[(&str, &str)]| -> Vec<FacetLink> {
        table
            .iter()
            .map(|(code, label)| {
                let (link, active) = toggle(&params, name, code);
                FacetLink {
                    label: label.to_string(),
                    count: counts(name, code),
                    link,
                    active,
                }
            })
            .filter(|f| f.count > 0 || f.active)
            .collect()
    };
    let kind_links = facet_links("kind", KINDS);
    let dimension_links = facet_links("dimension", DIMENSIONS);
    let active_filters: Vec<FacetLink> = params
        .iter()
        .filter(|(k, _)| k != "q")
        .map(|(k, v)| {
            let label = match k.as_str() {
                "kind" => format!("类型：{}", vocabulary::label(KINDS, v)),
                "dimension" => format!("维度：{}", vocabulary::label(DIMENSIONS, v)),
                "target_group" => {
                    format!("对象：{}", vocabulary::label(vocabulary::TARGET_GROUPS, v))
                }
                "region" => format!("地区：{v}"),
                "available" => "仅有剩余名额".into(),
                "valid_on" => format!("有效日期：{v}"),
                other => format!("{other}：{v}"),
            };
            FacetLink {
                label,
                count: 0,
                link: toggle(&params, k, v).0,
                active: true,
            }
        })
        .collect();
    let (available_href, available_active) = toggle(&params, "available", "true");
    let available_link = FacetLink {
        label: "仅显示有剩余名额的".into(),
        count: 0,
        link: available_href,
        active: available_active,
    };
    let status = if error.is_empty() {
        actix_web::http::StatusCode::OK
    } else {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    let (hits, total, page, per_page, synonyms_used, words) = match results {
        Some(r) => (
            r.hits,
            r.total,
            r.page,
            r.per_page,
            r.synonyms_used,
            r.words,
        ),
        None => (Vec::new(), 0, 1, 20, Vec::new(), Vec::new()),
    };
    let pages = total.div_ceil(per_page).max(1);
    let page_link = |p: usize| {
        let mut ps = params.clone();
        if p > 1 {
            ps.push(("page".into(), p.to_string()));
        }
        link_with(&ps)
    };
    let page_view = SearchPage {
        ctx,
        hits,
        total,
        page,
        pages,
        kind_links,
        dimension_links,
        active_filters,
        available_link,
        region,
        synonyms_used,
        words,
        prev_link: if page > 1 {
            page_link(page - 1)
        } else {
            String::new()
        },
        next_link: if page < pages {
            page_link(page + 1)
        } else {
            String::new()
        },
        error,
    };
    if status.is_success() {
        render(&page_view)
    } else {
        render_with(status, &page_view)
    }
}
