//! The OpenAPI document at `/api/v1/openapi.json`, generated from the
//! handlers' annotations and then finished in one pass (`finish`): every
//! path parameter declared, operation ids made unique, the bearer scheme,
//! and the error responses every operation can give, with their body.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use serde_json::{json, Value};
use utoipa::OpenApi;

use super::{
    alerts, auth, bundles, events, households, hsds, needs, organisations, outbox, referrals,
    regions, resources, screening, users,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "aidmatch API", description = "社会救助资源对接平台 JSON API"),
    paths(
        auth::issue_token,
        auth::me,
        auth::change_password,
        auth::logout,
        resources::search,
        resources::list,
        resources::create,
        resources::read,
        resources::replace,
        resources::publish,
        resources::withdraw,
        resources::history,
        users::list,
        users::create,
        users::read,
        users::update,
        organisations::list,
        organisations::upsert,
        regions::list,
        regions::upsert,
        households::list,
        households::create,
        households::read,
        households::replace,
        households::reveal,
        households::set_status,
        households::withdraw_consent,
        households::lookup,
        households::import_template,
        households::import_workbook,
        hsds::services,
        hsds::service,
        hsds::import,
        screening::screen,
        alerts::list,
        alerts::acknowledge,
        bundles::current,
        bundles::save,
        bundles::saved,
        bundles::read,
        referrals::create,
        referrals::list,
        referrals::read,
        referrals::set_status,
        households::audit_log,
        households::assess,
        households::list_assessments,
        households::add_note,
        households::list_notes,
        needs::list,
        needs::create,
        needs::read,
        needs::replace,
        needs::set_status,
        needs::history,
        events::list,
        events::create,
        events::proposals,
        events::read,
        events::update,
        events::delete,
        events::set_status,
        events::compile,
        events::edit_item,
        events::item_needs,
        events::list_pledges,
        events::pledge,
        events::withdraw_pledge,
        events::list_agreements,
        events::sign,
        events::read_agreement,
        events::read_report,
        events::report_xlsx,
        events::follow_up,
        outbox::list,
        outbox::read,
        outbox::retry,
    ),
    components(schemas(
        crate::catalogue::ResourceDoc,
        crate::catalogue::model::Capacity,
        crate::catalogue::model::Apply,
        crate::auth::users::UserView,
        crate::auth::users::UserInput,
        crate::auth::organisations::Organisation,
        crate::auth::organisations::OrganisationInput,
        crate::domain::region_names::RegionName,
        crate::domain::region_names::RegionNameInput,
        auth::Credentials,
        auth::PasswordChange,
        auth::TokenResponse,
        households::HouseholdSummary,
        crate::eligibility::report::ScreeningResult,
        crate::matching::alerts::AlertRow,
        crate::matching::alerts::AlertView,
        crate::matching::bundle::Bundle,
        crate::matching::bundle::BundleHousehold,
        crate::matching::bundle::BundleMember,
        crate::matching::bundle::BundleAssessment,
        crate::matching::bundle::BundleNeed,
        crate::matching::bundle::NeedResources,
        crate::matching::ranking::Match,
        bundles::SavedBundle,
        referrals::NewReferral,
        referrals::StatusChange,
        crate::matching::referrals::ReferralView,
        crate::matching::referrals::AnonymousNeed,
        bundles::AsOf,
        crate::eligibility::report::EligiblePolicy,
        crate::eligibility::report::NearMiss,
        households::RevealRequest,
        households::StatusRequest,
        households::WithdrawRequest,
        households::Revealed,
        households::LookupRequest,
        crate::households::view::RevealField,
        crate::privacy::audit::AuditEntry,
        crate::households::history::NoteRow,
        crate::households::needs::NeedDoc,
        crate::households::needs::NeedEvent,
        needs::StatusChange,
        crate::events::model::EventView,
        crate::events::model::ItemView,
        crate::events::lifecycle::EventInput,
        crate::events::lifecycle::Proposal,
        crate::events::need_list::ItemEdit,
        crate::events::pledges::PledgeInput,
        crate::events::pledges::PledgeView,
        crate::events::agreements::AgreementInput,
        crate::events::agreements::AgreementView,
        crate::events::agreements::AgreedNeed,
        crate::events::report::EventReport,
        crate::events::report::Figures,
        crate::events::report::DimensionRow,
        crate::events::report::CharityRow,
        events::StatusChange,
        crate::events::need_list::NeedBehind,
        events::Queued,
        crate::mail::outbox::OutboxRow,
    ))
)]
pub struct ApiDoc;

/// The finished document (built once).
pub fn document_json() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_else(|_| json!({}));
        finish(doc)
    })
}

pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(document_json())
}

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// The error responses, by status: (status, description, when it applies).
fn error_responses(method: &str, path: &str, has_input: bool) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    if has_input {
        out.push((
            "400",
            "请求格式错误：JSON 或参数无法解析 (malformed request)",
        ));
        out.push(("422", "字段校验未通过 (validation failed)"));
    }
    out.push(("401", "未登录或令牌无效 (not signed in)"));
    out.push(("403", "无权进行此操作 (forbidden for this role)"));
    if path.contains('{') {
        out.push(("404", "记录不存在或不可见 (not found)"));
    }
    if method != "get" {
        out.push(("409", "与当前状态冲突 (conflict with the current state)"));
    }
    if path.ends_with("/auth/token") {
        out.push((
            "429",
            "登录失败次数过多，请稍后再试 (too many failed sign-ins)",
        ));
    }
    out.push(("503", "数据库暂不可用，请稍后重试 (database unavailable)"));
    out
}

/// Completes what the annotations leave out.
fn finish(mut doc: Value) -> Value {
    let error_schema = json!({
        "type": "object",
        "description": "错误 (error)：code 为机器可读的代码，message 为中英文说明",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "enum": ["validation_failed", "bad_request", "unauthorized",
                    "forbidden", "not_found", "conflict", "rate_limited", "unavailable", "internal"]},
                "message": {"type": "string"},
                "field": {"type": "string", "description": "the first field in error"},
                "details": {"type": "array", "items": {
                    "type": "object",
                    "required": ["field", "message"],
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}}
                }}
            }
        }}
    });
    let components = doc
        .as_object_mut()
        .map(|d| d.entry("components").or_insert_with(|| json!({})));
    if let Some(Value::Object(components)) = components {
        if let Value::Object(schemas) = components.entry("schemas").or_insert_with(|| json!({})) {
            schemas.insert("Error".into(), error_schema);
        }
        components.insert(
            "securitySchemes".into(),
            json!({"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "POST /api/v1/auth/token 取得的令牌 (token from /auth/token)"}}),
        );
    }
    // Signed in or not: each operation says what it allows by its 401/403.
    doc["security"] = json!([{"bearer": []}, {}]);

    let error_body =
        json!({"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}});
    let Some(Value::Object(paths)) = doc.get_mut("paths") else {
        return doc;
    };
    for (path, item) in paths.iter_mut() {
        let template: Vec<String> = path
            .split('{')
            .skip(1)
            .filter_map(|p| p.split('}').next())
            .map(str::to_string)
            .collect();
        for method in METHODS {
            let Some(Value::Object(op)) = item.get_mut(method) else {
                continue;
            };
            // A unique id: the method and the path.
            let id: String = format!("{method}{path}")
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join("_");
            op.insert("operationId".into(), Value::String(id));
            let params = op
                .entry("parameters")
                .or_insert_with(|| json!([]))
                .as_array_mut()
                .map(std::mem::take)
                .unwrap_or_default();
            let mut params: Vec<Value> = params;
            for name in &template {
                let declared = params
                    .iter()
                    .any(|p| p["in"] == "path" && p["name"] == name.as_str());
                if !declared {
                    let schema = if name == "id" {
                        json!({"type": "integer", "format": "int64"})
                    } else {
                        json!({"type": "string"})
                    };
                    params.push(
                        json!({"name": name, "in": "path", "required": true, "schema": schema}),
                    );
                }
            }
            let has_input = !params.is_empty() || op.contains_key("requestBody");
            op.insert("parameters".into(), Value::Array(params));
            let responses = op
                .entry("responses")
                .or_insert_with(|| json!({}))
                .as_object_mut();
            if let Some(responses) = responses {
                for (status, description) in error_responses(method, path, has_input) {
                    responses
                        .entry(status)
                        .or_insert_with(|| json!({"description": description}));
                }
                for (status, response) in responses.iter_mut() {
                    if status.starts_with('4') || status.starts_with('5') {
                        if let Value::Object(r) = response {
                            r.entry("content").or_insert_with(|| error_body.clone());
                        }
                    }
                }
            }
        }
    }
    doc
}
