//! Who may see and change which resource (issue "Foundation" §3):
//! anyone sees published resources; advisers and admins see the whole
//! catalogue; a charity sees and edits its own organisation's funding,
//! material and service resources and never policies; admins change anything.

use super::model::ResourceRow;
use crate::auth::{Identity, Role};
use crate::error::AppError;

/// Which rows a caller may list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Published resources only.
    Public,
    /// Published ones plus every resource of this organisation.
    PublicAndOrganisation(i64),
    /// Everything.
    All,
}

pub fn visibility_for(who: Option<&Identity>) -> Visibility {
    match who {
        None => Visibility::Public,
        Some(i) => match i.role {
            Role::Admin | Role::Adviser => Visibility::All,
            Role::Charity => match i.organisation_id {
                Some(org) => Visibility::PublicAndOrganisation(org),
                None => Visibility::Public,
            },
        },
    }
}

pub fn can_view(who: Option<&Identity>, row: &ResourceRow) -> bool {
    match visibility_for(who) {
        Visibility::All => true,
        Visibility::Public => row.status == "published",
        Visibility::PublicAndOrganisation(org) => {
            row.status == "published" || row.organisation_id == Some(org)
        }
    }
}

/// May `who` create a resource of `kind`?
pub fn check_create(who: &Identity, kind: &str) -> Result<(), AppError> {
    match who.role {
        Role::Admin => Ok(()),
        Role::Adviser => Err(AppError::Forbidden(
            "救助顾问只能查阅资源目录，不能新建资源 (advisers cannot create resources)".into(),
        )),
        Role::Charity if kind == "policy" => Err(AppError::Forbidden(
            "公益组织不能发布政策类资源 (charities cannot create policies)".into(),
        )),
        Role::Charity if who.organisation_id.is_none() => Err(AppError::Forbidden(
            "账号未关联机构，不能新建资源 (account has no organisation)".into(),
        )),
        Role::Charity => Ok(()),
    }
}

/// May `who` change `row` (edit, publish, withdraw)?
pub fn check_edit(who: &Identity, row: &ResourceRow) -> Result<(), AppError> {
    match who.role {
        Role::Admin => Ok(()),
        Role::Adviser => Err(AppError::Forbidden(
            "救助顾问不能修改资源 (advisers cannot change resources)".into(),
        )),
        Role::Charity if row.kind == "policy" => Err(AppError::Forbidden(
            "公益组织不能修改政策类资源 (charities cannot change policies)".into(),
        )),
        Role::Charity
            if row.organisation_id.is_none() || row.organisation_id != who.organisation_id =>
        {
            Err(AppError::Forbidden(
                "只能修改本机构发布的资源 (you may only change your own organisation's resources)"
                    .into(),
            ))
        }
        Role::Charity => Ok(()),
    }
}

/// The status workflow: draft -> published -> withdrawn; a draft may be
/// withdrawn without being published, and a withdrawn resource reopened as a draft.
pub fn check_transition(from: &str, to: &str) -> Result<(), AppError> {
    let allowed = matches!(
        (from, to),
        ("draft", "published")
            | ("draft", "withdrawn")
            | ("published", "withdrawn")
            | ("withdrawn", "draft")
    );
    if from == to || allowed {
        Ok(())
    } else {
        Err(AppError::Conflict(format!(
            "资源状态不能从 {from} 变为 {to} (status change {from} -> {to} is not allowed)"
        )))
    }
}
