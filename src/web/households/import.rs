//! Importing households, members and needs from an Excel workbook: the
//! page with the template and the upload form, the template download, and
//! the upload (checked only, or imported), which lists every problem by
//! sheet, row and column.

use actix_multipart::form::bytes::Bytes as FileBytes;
use actix_multipart::form::text::Text;
use actix_multipart::form::{MultipartForm, MultipartFormConfig};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::STAFF;
use crate::auth::csrf;
use crate::households::access;
use crate::households::workbook::{self, CellError, Importer, WorkbookError, WorkbookReport};
use crate::state::AppState;
use crate::web::session::MaybeWebUser;
use crate::web::{render, render_with, require_role, PageCtx, PageError};

/// Problems listed on the page at most (the count is always given).
const SHOWN_ERRORS: usize = 200;

#[derive(MultipartForm)]
pub struct Upload {
    #[multipart(limit = "21MB")]
    file: Option<FileBytes>,
    csrf_token: Option<Text<String>>,
    mode: Option<Text<String>>,
}

/// Uploads up to the workbook limit are read into memory.
pub fn upload_config() -> MultipartFormConfig {
    MultipartFormConfig::default()
        .total_limit(workbook::MAX_BYTES + 64 * 1024)
        .memory_limit(workbook::MAX_BYTES + 64 * 1024)
}

#[derive(Template)]
#[template(path = "households/import.html")]
struct ImportPage {
    ctx: PageCtx,
    report: Option<WorkbookReport>,
    errors: Vec<CellError>,
    shown: Vec<CellError>,
    problem: String,
    filename: String,
}

fn page(ctx: PageCtx) -> ImportPage {
    ImportPage {
        ctx,
        report: None,
        errors: Vec::new(),
        shown: Vec::new(),
        problem: String::new(),
        filename: String::new(),
    }
}

pub async fn form(req: HttpRequest, user: MaybeWebUser) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    access::scope(&who)?;
    render(&page(PageCtx::new(&req, Some(who))))
}

pub async fn template(req: HttpRequest, user: MaybeWebUser) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    access::scope(&who)?;
    let bytes = web::block(workbook::template)
        .await
        .map_err(|e| crate::error::AppError::Internal(format!("xlsx: {e}")))??;
    Ok(crate::export::xlsx_download("家庭档案导入模板.xlsx", bytes))
}

pub async fn upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    form: Result<MultipartForm<Upload>, actix_web::Error>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, STAFF)?;
    access::scope(&who)?;
    let mut p = page(PageCtx::new(&req, Some(who.clone())));
    let form = match form {
        Ok(f) => f.into_inner(),
        Err(e) => {
            p.problem = format!(
                "上传失败，请重新选择文件（不超过 {} MB） (upload failed): {e}",
                workbook::MAX_BYTES / 1024 / 1024
            );
            return render_with(StatusCode::BAD_REQUEST, &p);
        }
    };
    let token = form.csrf_token.map(|t| t.into_inner()).unwrap_or_default();
    csrf::verify(&req, &token)?;
    let dry_run = form.mode.map(|m| m.into_inner()).as_deref() != Some("import");
    let Some(file) = form.file.filter(|f| !f.data.is_empty()) else {
        p.problem = "请选择要上传的 .xlsx 文件 (choose a file)".into();
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &p);
    };
    p.filename = file.file_name.clone().unwrap_or_default();
    let cipher = state.cipher.clone();
    let bytes = file.data.to_vec();
    let today = chrono::Local::now().date_naive();
    let result = state
        .db(move |conn| {
            Ok(workbook::import(
                conn,
                &cipher,
                Importer::User(&who),
                &bytes,
                today,
                dry_run,
            ))
        })
        .await?;
    match result {
        Ok(report) => {
            p.report = Some(report);
            render(&p)
        }
        Err(WorkbookError::Invalid(errors)) => {
            p.shown = errors.iter().take(SHOWN_ERRORS).cloned().collect();
            p.errors = errors;
            render_with(StatusCode::UNPROCESSABLE_ENTITY, &p)
        }
        Err(WorkbookError::App(e)) => Err(e.into()),
    }
}
