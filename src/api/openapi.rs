//! The OpenAPI document at `/api/v1/openapi.json`, generated from the handlers.

use actix_web::HttpResponse;
use utoipa::OpenApi;

use super::{alerts, auth, households, needs, organisations, regions, resources, screening, users};

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
        screening::screen,
        alerts::list,
        alerts::acknowledge,
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
    ))
)]
pub struct ApiDoc;

pub async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
