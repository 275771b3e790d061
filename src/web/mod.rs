//! Server-rendered pages (Chinese, from `templates/`), usable without JavaScript.

pub mod admin;
pub mod bundles;
pub mod catalogue;
pub mod event_docs;
pub mod events;
pub mod form;
pub mod households;
pub mod hsds_import;
pub mod needs;
pub mod outbox;
pub mod pages;
pub mod referrals;
pub mod screening;
pub mod search;
pub mod session;
pub mod stats;
pub mod work_queue;

use actix_web::http::header::{self, ContentType};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use askama::Template;

use crate::auth::{Identity, Role};
use crate::domain::region_names::{self, RegionNames};
use crate::error::AppError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/app.css", web::get().to(pages::stylesheet))
        .route("/static/assess.js", web::get().to(pages::assess_script))
        .configure(pages::configure)
        .configure(hsds_import::configure)
        .configure(catalogue::configure)
        .configure(admin::configure)
        .configure(stats::configure)
        .configure(households::configure)
        .configure(needs::configure)
        .configure(work_queue::configure)
        .configure(search::configure)
        .configure(screening::configure)
        .configure(bundles::configure)
        .configure(referrals::configure)
        .configure(event_docs::configure)
        .configure(events::configure)
        .configure(outbox::configure);
}

/// What every page's layout needs.
pub struct PageCtx {
    pub user: Option<Identity>,
    pub csrf: String,
    /// The search box's current text.
    pub q: String,
    pub flash: String,
    /// Region names, loaded by pages that show region codes.
    pub regions: RegionNames,
}

impl PageCtx {
    pub fn new(req: &HttpRequest, user: Option<Identity>) -> PageCtx {
        let flash =
            web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
                .ok()
                .and_then(|q| q.get("done").cloned())
                .map(|code| flash_text(&code).to_string())
                .unwrap_or_default();
        PageCtx {
            user,
            csrf: crate::auth::csrf::token_of(req),
            q: String::new(),
            flash,
            regions: RegionNames::default(),
        }
    }

    /// Loads region names so the page can show them beside codes.
    pub async fn with_regions(mut self, state: &web::Data<AppState>) -> Result<PageCtx, AppError> {
        self.regions = state.db(region_names::names).await?;
        Ok(self)
    }

    pub fn region_label(&self, code: &str) -> String {
        self.regions.label(code)
    }

    pub fn is_role(&self, role: &str) -> bool {
        self.user.as_ref().is_some_and(|u| u.role.as_str() == role)
    }

    /// The Chinese label of a vocabulary code (`table`: dimension, risk,
    /// service_type, urgency, need_status, note_kind, relation, sex,
    /// disability_type, health, employment, student_stage, target_group).
    pub fn label(&self, table: &str, code: &str) -> String {
        use crate::domain::vocabulary::*;
        let t: &[(&str, &str)] = match table {
            "dimension" => DIMENSIONS,
            "risk" => RISK_LEVELS,
            "service_type" => SERVICE_TYPES,
            "urgency" => URGENCIES,
            "need_status" => NEED_STATUSES,
            "note_kind" => NOTE_KINDS,
            "relation" => RELATIONS,
            "sex" => SEXES,
            "disability_type" => DISABILITY_TYPES,
            "health" => HEALTH_TAGS,
            "employment" => EMPLOYMENT,
            "student_stage" => STUDENT_STAGES,
            "target_group" => TARGET_GROUPS,
            _ => &[],
        };
        label(t, code).to_string()
    }

    pub fn can_offer(&self) -> bool {
        self.user
            .as_ref()
            .is_some_and(|u| matches!(u.role, Role::Admin | Role::Charity))
    }
}

/// Short confirmations shown after a redirect (`?done=saved`).
fn flash_text(code: &str) -> &'static str {
    match code {
        "saved" => "已保存。",
        "created" => "已创建。",
        "published" => "已发布。",
        "withdrawn" => "已撤回。",
        "draft" => "已退回草稿。",
        "user_saved" => "账号已保存。",
        "org_saved" => "机构已保存。",
        "region_saved" => "地区已保存。",
        "password_changed" => "密码已修改。",
        "logged_out" => "已退出登录。",
        "note_added" => "服务记录已添加。",
        "assessed" => "评估已保存。",
        "need_added" => "需求已加入需求清单。",
        "need_saved" => "需求已保存。",
        "need_status" => "需求状态已更新。",
        "closed" => "档案已结案。",
        "reopened" => "档案已重新开案。",
        "consent_withdrawn" => "已撤回同意，个人信息已清除。",
        "alert_done" => "提醒已标记为已处理。",
        "bundle_saved" => "方案已存档。",
        "referred" => "已转介。",
        "referral_status" => "转介状态已更新。",
        "event_published" => "需求清单已发布，邀请邮件已加入发件箱。",
        "event_held" => "对接会已标记为已举行。",
        "event_closed" => "对接会已结束。",
        "event_deleted" => "对接会草稿已删除。",
        "list_compiled" => "需求清单已汇总，请检查后发布。",
        "pledged" => "认领已提交。",
        "pledge_withdrawn" => "认领已撤回。",
        "agreement_signed" => "协议已登记，所选需求已转介。",
        "follow_ups" => "跟进提醒已加入发件箱。",
        "mail_retry" => "邮件将重新发送。",
        _ => "",
    }
}

/// Any path no page or API route claims.
pub async fn not_found() -> Result<HttpResponse, PageError> {
    Err(AppError::NotFound("没有这个页面 (page not found)".into()).into())
}

pub fn render<T: Template>(page: &T) -> Result<HttpResponse, PageError> {
    render_with(StatusCode::OK, page)
}

pub fn render_with<T: Template>(status: StatusCode, page: &T) -> Result<HttpResponse, PageError> {
    let html = page.render().map_err(AppError::from)?;
    Ok(HttpResponse::build(status)
        .content_type(ContentType::html())
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(html))
}

pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_string()))
        .finish()
}

/// An error on a page: rendered as an HTML page; "not signed in" sends the
/// browser to the login form and back.
#[derive(Debug)]
pub struct PageError {
    pub error: AppError,
    pub return_to: Option<String>,
}

impl From<AppError> for PageError {
    fn from(error: AppError) -> Self {
        PageError {
            error,
            return_to: None,
        }
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    ctx: PageCtx,
    status: u16,
    title: String,
    message: String,
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.error.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Unauthorized(_) = self.error {
            let next = self.return_to.clone().unwrap_or_else(|| "/".into());
            let target = format!(
                "/login?{}",
                serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default()
            );
            return redirect(&target);
        }
        let status = self.status_code();
        if status.is_server_error() {
            tracing::error!(error = %self.error, "page failed");
        }
        let title = match status.as_u16() {
            403 => "无权访问",
            404 => "页面不存在",
            409 => "操作冲突",
            422 | 400 => "输入有误",
            429 => "请求过于频繁",
            _ => "出错了",
        };
        let info = ErrorInfo {
            status: status.as_u16(),
            title: title.into(),
            message: self.error.public_message(),
        };
        let mut resp = render_error(&info, None, String::new());
        // The session middleware re-renders this with the signed-in user's menu.
        resp.extensions_mut().insert(info);
        resp
    }
}

/// What an error page says; kept on the response so that
/// [`session::error_pages_with_menu`] can render it again for the signed-in user.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub status: u16,
    pub title: String,
    pub message: String,
}

pub fn render_error(info: &ErrorInfo, user: Option<Identity>, csrf: String) -> HttpResponse {
    let status = StatusCode::from_u16(info.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let page = ErrorPage {
        ctx: PageCtx {
            user,
            csrf,
            q: String::new(),
            flash: String::new(),
            regions: RegionNames::default(),
        },
        status: info.status,
        title: info.title.clone(),
        message: info.message.clone(),
    };
    match page.render() {
        Ok(html) => HttpResponse::build(status)
            .content_type(ContentType::html())
            .body(html),
        Err(_) => HttpResponse::build(status).body(info.message.clone()),
    }
}

/// Requires a signed-in user; otherwise the login page, returning to `req`'s path.
pub fn require_user(req: &HttpRequest, user: Option<Identity>) -> Result<Identity, PageError> {
    user.ok_or_else(|| PageError {
        error: AppError::Unauthorized("请先登录 (please sign in)".into()),
        return_to: Some(match req.query_string() {
            "" => req.path().to_string(),
            q => format!("{}?{q}", req.path()),
        }),
    })
}

pub fn require_role(
    req: &HttpRequest,
    user: Option<Identity>,
    roles: &[Role],
) -> Result<Identity, PageError> {
    let user = require_user(req, user)?;
    if roles.contains(&user.role) {
        Ok(user)
    } else {
        Err(AppError::forbidden().into())
    }
}
