//! Creating and changing resources on behalf of a user: the permission check,
//! who owns the resource and which status it gets, then the repository write.
//! The API, the web forms and the import all go through here.

use super::access;
use super::model::ResourceRow;
use super::repository;
use super::validation::ResourceInput;
use crate::auth::organisations;
use crate::auth::{Identity, Role};
use crate::db::DbConnection;
use crate::error::AppError;

/// The provider text and owning organisation of a resource written by `who`.
fn owner_for(
    conn: &mut DbConnection,
    who: &Identity,
    input: &ResourceInput,
) -> Result<(String, Option<i64>), AppError> {
    if who.role == Role::Charity {
        let org = who.organisation_name.clone().unwrap_or_default();
        if let Some(p) = &input.provider {
            if *p != org {
                return Err(AppError::field(
                    "provider",
                    format!("公益组织只能以本机构 \"{org}\" 的名义发布资源 (provider must be your organisation)"),
                ));
            }
        }
        return Ok((org, who.organisation_id));
    }
    provider_and_organisation(conn, input)
}

/// For writes not tied to a charity account: the provider is required, and it
/// links the organisation of that name when one exists.
pub fn provider_and_organisation(
    conn: &mut DbConnection,
    input: &ResourceInput,
) -> Result<(String, Option<i64>), AppError> {
    let Some(provider) = input.provider.clone() else {
        return Err(AppError::field(
            "provider",
            "provider 为必填项 (provider is required)",
        ));
    };
    let org = organisations::find_by_name(conn, &provider)?.map(|o| o.id);
    Ok((provider, org))
}

pub fn create_as(
    conn: &mut DbConnection,
    who: &Identity,
    input: &ResourceInput,
) -> Result<ResourceRow, AppError> {
    access::check_create(who, &input.kind)?;
    let (provider, organisation_id) = owner_for(conn, who, input)?;
    let status = input.status.as_deref().unwrap_or("draft");
    if status == "withdrawn" {
        return Err(AppError::field(
            "status",
            "新资源只能是草稿或直接发布 (a new resource is draft or published)",
        ));
    }
    repository::create(
        conn,
        input,
        &provider,
        organisation_id,
        status,
        &who.username,
        "created",
    )
}

pub fn update_as(
    conn: &mut DbConnection,
    who: &Identity,
    existing: &ResourceRow,
    input: &ResourceInput,
) -> Result<ResourceRow, AppError> {
    access::check_edit(who, existing)?;
    access::check_create(who, &input.kind)?;
    if input.ref_code != existing.ref_code {
        return Err(AppError::field(
            "ref",
            "ref 不能修改，且必须与网址中的一致 (ref cannot be changed)",
        ));
    }
    let status = input.status.as_deref().unwrap_or(&existing.status);
    access::check_transition(&existing.status, status)?;
    let (provider, organisation_id) = owner_for(conn, who, input)?;
    // An admin editing a charity's offer keeps it with that charity.
    let organisation_id = organisation_id.or(existing.organisation_id);
    repository::update(
        conn,
        existing,
        input,
        &provider,
        organisation_id,
        status,
        &who.username,
    )
}

pub fn change_status_as(
    conn: &mut DbConnection,
    who: &Identity,
    existing: &ResourceRow,
    status: &str,
) -> Result<ResourceRow, AppError> {
    access::check_edit(who, existing)?;
    repository::change_status(conn, existing, status, &who.username)
}
