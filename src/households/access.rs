//! Who may see and change which household (issue "Household records" §1):
//! admins every one; an adviser those inside their assigned region
//! prefixes; charities none, ever.

use super::repository::{HouseholdRow, Scope};
use crate::auth::{Identity, Role};
use crate::domain::RegionCode;
use crate::error::AppError;

fn charity_refused() -> AppError {
    AppError::Forbidden(
        "公益组织不能查看或修改家庭档案，只能看到匿名汇总的需求清单 (charities never see household records)"
            .into(),
    )
}

/// The households a listing may show to `who`.
pub fn scope(who: &Identity) -> Result<Scope, AppError> {
    match who.role {
        Role::Admin => Ok(Scope::All),
        Role::Charity => Err(charity_refused()),
        Role::Adviser => Ok(Scope::Regions(
            who.regions
                .iter()
                .filter_map(|r| RegionCode::parse(r).ok())
                .map(|r| r.scope_prefix().to_string())
                .collect(),
        )),
    }
}

/// May `who` see (and so change) this household? Outside an adviser's
/// regions it is "not found": its existence is not given away.
pub fn check_visible(who: &Identity, row: &HouseholdRow) -> Result<(), AppError> {
    match who.role {
        Role::Admin => Ok(()),
        Role::Charity => Err(charity_refused()),
        Role::Adviser if who.covers_region(&row.region) => Ok(()),
        Role::Adviser => Err(AppError::not_found(&format!("家庭 {}", row.ref_code))),
    }
}

/// May `who` record a household in `region`?
pub fn check_create(who: &Identity, region: &RegionCode) -> Result<(), AppError> {
    match who.role {
        Role::Admin => Ok(()),
        Role::Charity => Err(charity_refused()),
        Role::Adviser if who.covers_region(region.as_str()) => Ok(()),
        Role::Adviser => Err(AppError::Forbidden(format!(
            "地区 {} 不在您负责的范围内 (region outside your assignment)",
            region.as_str()
        ))),
    }
}

/// May `who` see an unmasked ID number, phone number or address? The
/// advisers responsible for the household may, one value at a time, and
/// every time is written to the audit log; admins read that log instead.
pub fn check_reveal(who: &Identity, row: &HouseholdRow) -> Result<(), AppError> {
    check_visible(who, row)?;
    match who.role {
        Role::Adviser => Ok(()),
        _ => Err(AppError::Forbidden(
            "只有负责该家庭的救助顾问可以查看完整的个人信息 (only the household's adviser may reveal personal data)"
                .into(),
        )),
    }
}
