//! `/api/v1/households`: list, create, read, replace; reveal one masked
//! value (audited); find a household by an ID number. `/api/v1/audit`: the
//! audit log, for admins.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Page, Paging};
use crate::auth::{ApiUser, Identity, Role};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::households::history::{self, NoteRow};
use crate::households::repository::{self, Household, ListQuery};
use crate::households::validation::{validate_household, HouseholdInput};
use crate::households::view::{self, RevealField};
use crate::households::{access, id_number, lifecycle};
use crate::privacy::audit::{self, AuditEntry};
use crate::privacy::DataCipher;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/households", web::get().to(list))
        .route("/households", web::post().to(create))
        .route("/households/lookup", web::post().to(lookup))
        .route(
            "/households/import/template.xlsx",
            web::get().to(import_template),
        )
        .service(
            web::resource("/households/import")
                .app_data(web::PayloadConfig::new(
                    crate::households::workbook::MAX_BYTES + 1,
                ))
                .route(web::post().to(import_workbook)),
        )
        .route("/households/{ref}", web::get().to(read))
        .route("/households/{ref}", web::put().to(replace))
        .route("/households/{ref}/reveal", web::post().to(reveal))
        .route("/households/{ref}/status", web::post().to(set_status))
        .route(
            "/households/{ref}/withdraw-consent",
            web::post().to(withdraw_consent),
        )
        .route(
            "/households/{ref}/assessments",
            web::get().to(list_assessments),
        )
        .route("/households/{ref}/assessments", web::post().to(assess))
        .route("/households/{ref}/notes", web::get().to(list_notes))
        .route("/households/{ref}/notes", web::post().to(add_note))
        .route("/audit", web::get().to(audit_log));
}

fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

fn visible(conn: &mut DbConnection, who: &Identity, ref_code: &str) -> Result<Household, AppError> {
    access::visible_household(conn, who, ref_code)
}

/// The adviser a household is assigned to: the one named (who must be an
/// active adviser covering its region), or the adviser recording it.
fn adviser_for(
    conn: &mut DbConnection,
    who: &Identity,
    input: &HouseholdInput,
) -> Result<Option<String>, AppError> {
    let Some(name) = &input.adviser else {
        return Ok((who.role == Role::Adviser).then(|| who.username.clone()));
    };
    crate::households::import::check_adviser(conn, name, input.region.as_str()).map(Some)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Substring of the household's name or ref.
    pub q: Option<String>,
    /// Region prefix.
    pub region: Option<String>,
    /// Only this adviser's households (username).
    pub adviser: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HouseholdSummary {
    #[serde(rename = "ref")]
    pub ref_code: String,
    pub region: String,
    pub head_name: String,
    pub adviser: Option<String>,
    pub consent: bool,
    pub identified_on: chrono::NaiveDate,
    pub version: i64,
}

impl HouseholdSummary {
    fn of(r: repository::HouseholdRow) -> HouseholdSummary {
        HouseholdSummary {
            ref_code: r.ref_code,
            region: r.region,
            head_name: r.head_name,
            adviser: r.adviser,
            consent: r.consent,
            identified_on: r.identified_on,
            version: r.version,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/households", params(ListParams, Paging),
    responses((status = 200, body = Page<HouseholdSummary>), (status = 401), (status = 403)))]
pub async fn list(
    state: web::Data<AppState>,
    user: ApiUser,
    params: web::Query<ListParams>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, AppError> {
    let scope = access::scope(&user.0)?;
    let params = params.into_inner();
    let paging = *paging;
    let page = state
        .db(move |conn| {
            let q = ListQuery {
                text: params.q,
                region: params.region.filter(|r| !r.is_empty()),
                adviser: params.adviser.filter(|a| !a.is_empty()),
                page: paging.page(),
                per_page: paging.per_page(),
                ..Default::default()
            };
            let (rows, total) = repository::list(conn, &scope, &q)?;
            let items = rows.into_iter().map(HouseholdSummary::of).collect();
            Ok(Page {
                total,
                page: q.page,
                per_page: q.per_page,
                items,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// Check everything (database checks too) and write nothing.
    pub dry_run: Option<bool>,
}

/// The Excel template for [`import_workbook`], with examples.
#[utoipa::path(get, path = "/api/v1/households/import/template.xlsx",
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (status = 403)))]
pub async fn import_template(user: ApiUser) -> Result<HttpResponse, AppError> {
    access::scope(&user.0)?;
    let bytes = web::block(crate::households::workbook::template)
        .await
        .map_err(|e| AppError::Internal(format!("xlsx: {e}")))??;
    Ok(crate::export::xlsx_download("家庭档案导入模板.xlsx", bytes))
}

/// Imports households, members and needs from an `.xlsx` workbook sent as
/// the request body: all or nothing; each problem is a detail whose
/// `field` is its cell (`家庭成员!F3`).
#[utoipa::path(post, path = "/api/v1/households/import", params(ImportParams),
    request_body(content = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses((status = 200, body = crate::households::workbook::WorkbookReport),
              (status = 403), (status = 413), (status = 422)))]
pub async fn import_workbook(
    state: web::Data<AppState>,
    user: ApiUser,
    params: web::Query<ImportParams>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let who = user.0;
    access::scope(&who)?;
    if body.is_empty() {
        return Err(AppError::BadRequest(
            "请求体应为 .xlsx 工作簿 (send the workbook as the request body)".into(),
        ));
    }
    let dry_run = params.dry_run.unwrap_or(false);
    let cipher = state.cipher.clone();
    let report = state
        .db(move |conn| {
            crate::households::workbook::import(
                conn,
                &cipher,
                crate::households::workbook::Importer::User(&who),
                &body,
                today(),
                dry_run,
            )
            .map_err(AppError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

#[utoipa::path(post, path = "/api/v1/households", request_body = Object,
    responses((status = 201, body = Object, description = "the household, personal data masked"),
              (status = 403), (status = 409), (status = 422)))]
pub async fn create(
    state: web::Data<AppState>,
    user: ApiUser,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let who = user.0;
    access::scope(&who)?;
    let input = validate_household(&body, today()).map_err(AppError::Validation)?;
    access::check_create(&who, &input.region)?;
    let cipher = state.cipher.clone();
    let doc = state
        .db(move |conn| {
            let adviser = adviser_for(conn, &who, &input)?;
            let h = repository::create(
                conn,
                &cipher,
                &input,
                adviser.as_deref(),
                &who.username,
                today(),
            )?;
            view::household_json(&cipher, &h, today())
        })
        .await?;
    let location = format!(
        "/api/v1/households/{}",
        doc["ref"].as_str().unwrap_or_default()
    );
    Ok(HttpResponse::Created()
        .insert_header(("Location", location))
        .json(doc))
}

#[utoipa::path(get, path = "/api/v1/households/{ref}",
    responses((status = 200, body = Object, description = "the household, personal data masked"),
              (status = 403), (status = 404)))]
pub async fn read(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let ref_code = path.into_inner();
    let cipher = state.cipher.clone();
    let doc = state
        .db(move |conn| {
            let h = visible(conn, &user.0, &ref_code)?;
            audit::record(conn, &user.0.username, "view", &h.row.ref_code, "", "")?;
            view::household_json(&cipher, &h, today())
        })
        .await?;
    Ok(HttpResponse::Ok().json(doc))
}

#[utoipa::path(put, path = "/api/v1/households/{ref}", request_body = Object,
    responses((status = 200, body = Object), (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn replace(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let who = user.0;
    access::scope(&who)?;
    let ref_code = path.into_inner();
    let body = body.into_inner();
    if let Some(r) = body.get("ref").and_then(Value::as_str) {
        if r != ref_code {
            return Err(AppError::field(
                "ref",
                "编号不能修改 (the ref cannot change)",
            ));
        }
    }
    let version = body.get("version").and_then(Value::as_i64);
    let mut body = body;
    let cipher = state.cipher.clone();
    let doc = state
        .db(move |conn| {
            let current = visible(conn, &who, &ref_code)?;
            // Masked values sent back as they were read mean "unchanged".
            view::restore_masked(&cipher, &current, &mut body)?;
            let input = validate_household(&body, today()).map_err(AppError::Validation)?;
            access::check_create(&who, &input.region)?;
            if current.row.consent && !input.consent {
                return Err(AppError::field(
                    "consent",
                    "已记录的同意不能在此撤回；请使用“撤回同意” (POST /api/v1/households/{ref}/withdraw-consent)，个人信息将被清除 (withdraw consent through withdraw-consent)",
                ));
            }
            let h = repository::update(conn, &cipher, &ref_code, &input, version, &who.username)?;
            view::household_json(&cipher, &h, today())
        })
        .await?;
    Ok(HttpResponse::Ok().json(doc))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StatusRequest {
    /// `closed` (结案; a reason is required) or `active` (reopened).
    pub status: String,
    #[serde(default)]
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/households/{ref}/status", request_body = StatusRequest,
    responses((status = 200, body = Object, description = "the household, personal data masked"),
              (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn set_status(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
    body: web::Json<StatusRequest>,
) -> Result<HttpResponse, AppError> {
    let ref_code = path.into_inner();
    let request = body.into_inner();
    let cipher = state.cipher.clone();
    let doc = state
        .db(move |conn| {
            visible(conn, &user.0, &ref_code)?;
            let h = lifecycle::set_status(
                conn,
                &ref_code,
                &request.status,
                &request.reason,
                &user.0.username,
            )?;
            view::household_json(&cipher, &h, today())
        })
        .await?;
    Ok(HttpResponse::Ok().json(doc))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct WithdrawRequest {
    #[serde(default)]
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/households/{ref}/withdraw-consent", request_body = WithdrawRequest,
    responses((status = 200, body = Object, description = "what is left: names, relations and region"),
              (status = 403), (status = 404), (status = 409), (status = 422)))]
pub async fn withdraw_consent(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
    body: web::Json<WithdrawRequest>,
) -> Result<HttpResponse, AppError> {
    let ref_code = path.into_inner();
    let reason = body.into_inner().reason;
    let cipher = state.cipher.clone();
    let doc = state
        .db(move |conn| {
            visible(conn, &user.0, &ref_code)?;
            let h = lifecycle::withdraw_consent(conn, &ref_code, &reason, &user.0.username)?;
            view::household_json(&cipher, &h, today())
        })
        .await?;
    Ok(HttpResponse::Ok().json(doc))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RevealRequest {
    pub field: RevealField,
    /// Which member (from 0), for `id_number` and `phone`.
    pub member: Option<usize>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Revealed {
    pub field: String,
    pub value: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/households/{ref}/reveal", request_body = RevealRequest,
    responses((status = 200, body = Revealed), (status = 403), (status = 404), (status = 422)))]
pub async fn reveal(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
    body: web::Json<RevealRequest>,
) -> Result<HttpResponse, AppError> {
    let ref_code = path.into_inner();
    let request = body.into_inner();
    let cipher: DataCipher = state.cipher.clone();
    let revealed = state
        .db(move |conn| {
            let h = visible(conn, &user.0, &ref_code)?;
            access::check_reveal(&user.0, &h.row)?;
            let (value, subject) = view::reveal(&cipher, &h, request.field, request.member)?;
            // No reveal without its audit entry: the value is returned only
            // once the entry is written.
            audit::record(
                conn,
                &user.0.username,
                "reveal",
                &subject,
                request.field.as_str(),
                "",
            )?;
            Ok(Revealed {
                field: request.field.as_str().to_string(),
                value,
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(revealed))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LookupRequest {
    pub id_number: String,
}

#[utoipa::path(post, path = "/api/v1/households/lookup", request_body = LookupRequest,
    responses((status = 200, body = Page<HouseholdSummary>), (status = 403), (status = 422)))]
pub async fn lookup(
    state: web::Data<AppState>,
    user: ApiUser,
    body: web::Json<LookupRequest>,
) -> Result<HttpResponse, AppError> {
    let who = user.0;
    access::scope(&who)?;
    let id = id_number::parse(&body.id_number)
        .map_err(|e| AppError::field("id_number", e.to_string()))?;
    let cipher = state.cipher.clone();
    let page = state
        .db(move |conn| {
            let mut items = Vec::new();
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
                items.push(HouseholdSummary::of(h.row));
            }
            Ok(Page {
                total: items.len() as i64,
                page: 1,
                per_page: items.len() as i64,
                items,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// A household ref: its entries and its members'.
    pub subject: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/audit", params(AuditParams, Paging),
    responses((status = 200, body = Page<AuditEntry>), (status = 403)))]
pub async fn audit_log(
    state: web::Data<AppState>,
    user: ApiUser,
    params: web::Query<AuditParams>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, AppError> {
    if !user.0.is_admin() {
        return Err(AppError::Forbidden(
            "只有管理员可以查看审计日志 (only admins read the audit log)".into(),
        ));
    }
    let subject = params.into_inner().subject.filter(|s| !s.is_empty());
    let paging = *paging;
    let page = state
        .db(move |conn| {
            let (items, total) =
                audit::list(conn, subject.as_deref(), paging.page(), paging.per_page())?;
            Ok(Page {
                total,
                page: paging.page(),
                per_page: paging.per_page(),
                items,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[utoipa::path(post, path = "/api/v1/households/{ref}/assessments", request_body = Object,
    responses((status = 201, body = Object, description = "the assessment with its total, priority and suggestions"),
              (status = 403), (status = 404), (status = 422)))]
pub async fn assess(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let ref_code = path.into_inner();
    let input = history::parse_assessment(&body, today()).map_err(AppError::Validation)?;
    let row = state
        .db(move |conn| {
            let h = visible(conn, &user.0, &ref_code)?;
            access::require_consent(&h)?;
            history::add_assessment(conn, h.row.id, &h.row.ref_code, &input, &user.0.username)
        })
        .await?;
    Ok(HttpResponse::Created().json(row.to_json()))
}

#[utoipa::path(get, path = "/api/v1/households/{ref}/assessments",
    responses((status = 200, body = Object, description = "every assessment, newest first"), (status = 404)))]
pub async fn list_assessments(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let ref_code = path.into_inner();
    let items = state
        .db(move |conn| {
            let h = visible(conn, &user.0, &ref_code)?;
            history::assessments_of(conn, h.row.id)
        })
        .await?;
    let items: Vec<Value> = items.iter().map(|a| a.to_json()).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "total": items.len(), "items": items })))
}

#[utoipa::path(post, path = "/api/v1/households/{ref}/notes", request_body = Object,
    responses((status = 201, body = NoteRow), (status = 403), (status = 404), (status = 422)))]
pub async fn add_note(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, AppError> {
    let ref_code = path.into_inner();
    let (noted_on, kind, text) =
        history::parse_note(&body, today()).map_err(AppError::Validation)?;
    let row = state
        .db(move |conn| {
            let h = visible(conn, &user.0, &ref_code)?;
            access::require_consent(&h)?;
            history::add_note(conn, h.row.id, noted_on, &kind, &text, &user.0.username)
        })
        .await?;
    Ok(HttpResponse::Created().json(row))
}

#[utoipa::path(get, path = "/api/v1/households/{ref}/notes",
    responses((status = 200, body = Page<NoteRow>), (status = 404)))]
pub async fn list_notes(
    state: web::Data<AppState>,
    user: ApiUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let ref_code = path.into_inner();
    let items = state
        .db(move |conn| {
            let h = visible(conn, &user.0, &ref_code)?;
            history::notes_of(conn, h.row.id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page {
        total: items.len() as i64,
        page: 1,
        per_page: items.len() as i64,
        items,
    }))
}
