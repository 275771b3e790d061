//! The admins' page for bringing Open Referral HSDS 3.0 service data into
//! the catalogue: upload a file, give the region (and a default dimension)
//! for data from other directories, choose whether to publish at once;
//! all or nothing, every problem named by service and HSDS field.

use actix_multipart::form::bytes::Bytes as FileBytes;
use actix_multipart::form::text::Text;
use actix_multipart::form::{MultipartForm, MultipartFormConfig};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::session::MaybeWebUser;
use super::{render, render_with, require_role, PageCtx, PageError};
use crate::auth::{csrf, Role};
use crate::catalogue::hsds::{self, ReadOptions};
use crate::catalogue::import::ImportError;
use crate::domain::vocabulary::DIMENSIONS;
use crate::import_records::RecordError;
use crate::state::AppState;

const MAX_BYTES: usize = 50 * 1024 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/manage/resources/hsds")
            .app_data(
                MultipartFormConfig::default()
                    .total_limit(MAX_BYTES + 64 * 1024)
                    .memory_limit(MAX_BYTES + 64 * 1024),
            )
            .route(web::get().to(form))
            .route(web::post().to(upload)),
    );
}

#[derive(MultipartForm)]
pub struct Upload {
    #[multipart(limit = "51MB")]
    file: Option<FileBytes>,
    csrf_token: Option<Text<String>>,
    region: Option<Text<String>>,
    dimension: Option<Text<String>>,
    publish: Option<Text<String>>,
}

#[derive(Template)]
#[template(path = "resources/hsds_import.html")]
struct ImportPage {
    ctx: PageCtx,
    region: String,
    dimension: String,
    publish: bool,
    dimensions: &'static [(&'static str, &'static str)],
    done: Option<(usize, usize)>,
    problem: String,
    errors: Vec<RecordError>,
}

fn page(ctx: PageCtx) -> ImportPage {
    ImportPage {
        ctx,
        region: String::new(),
        dimension: String::new(),
        publish: false,
        dimensions: DIMENSIONS,
        done: None,
        problem: String::new(),
        errors: Vec::new(),
    }
}

async fn form(req: HttpRequest, user: MaybeWebUser) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, &[Role::Admin])?;
    render(&page(PageCtx::new(&req, Some(who))))
}

async fn upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: MaybeWebUser,
    form: Result<MultipartForm<Upload>, actix_web::Error>,
) -> Result<HttpResponse, PageError> {
    let who = require_role(&req, user.0, &[Role::Admin])?;
    let mut p = page(PageCtx::new(&req, Some(who.clone())));
    let form = match form {
        Ok(f) => f.into_inner(),
        Err(e) => {
            p.problem = format!("上传失败，请重新选择文件（不超过 50 MB） (upload failed): {e}");
            return render_with(StatusCode::BAD_REQUEST, &p);
        }
    };
    let text_of = |t: Option<Text<String>>| {
        t.map(|t| t.into_inner().trim().to_string())
            .unwrap_or_default()
    };
    csrf::verify(&req, &text_of(form.csrf_token))?;
    p.region = text_of(form.region);
    p.dimension = text_of(form.dimension);
    p.publish = text_of(form.publish) == "1";
    let Some(file) = form.file.filter(|f| !f.data.is_empty()) else {
        p.problem = "请选择要上传的 HSDS JSON 文件 (choose a file)".into();
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &p);
    };
    let Ok(text) = String::from_utf8(file.data.to_vec()) else {
        p.problem = "文件不是 UTF-8 编码的 JSON (the file is not UTF-8 JSON)".into();
        return render_with(StatusCode::UNPROCESSABLE_ENTITY, &p);
    };
    let options = ReadOptions {
        region: Some(p.region.clone()).filter(|r| !r.is_empty()),
        dimension: Some(p.dimension.clone()).filter(|d| !d.is_empty()),
        publish: p.publish,
    };
    let actor = who.username.clone();
    let result = state
        .db(move |conn| Ok(hsds::import(conn, &text, &options, &actor, |_, _| {})))
        .await?;
    match result {
        Ok(r) => {
            p.done = Some((r.created, r.updated));
            render(&p)
        }
        Err(ImportError::Invalid(errors)) => {
            p.errors = errors;
            render_with(StatusCode::UNPROCESSABLE_ENTITY, &p)
        }
        Err(ImportError::App(e)) => Err(e.into()),
    }
}
