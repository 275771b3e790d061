//! Who may see and change which household (issue "Household records" §1):
//! admins every one; an adviser those inside their assigned region
//! prefixes; charities none, ever.

use super::needs::{self, NeedDoc};
use super::repository::{self, Household, HouseholdRow, Scope};
use crate::auth::{Identity, Role};
use crate::db::DbConnection;
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
/// adviser responsible for the household may, one value at a time, and
/// every time is written to the audit log; admins read that log instead.
pub fn check_reveal(who: &Identity, row: &HouseholdRow) -> Result<(), AppError> {
    check_visible(who, row)?;
    match (&who.role, &row.adviser) {
        // The adviser it is assigned to; while unassigned, the advisers of
        // its region.
        (Role::Adviser, Some(assigned)) if *assigned == who.username => Ok(()),
        (Role::Adviser, None) => Ok(()),
        (Role::Adviser, Some(assigned)) => Err(AppError::Forbidden(format!(
            "该家庭由顾问 {assigned} 负责，只有负责顾问可以查看完整的个人信息 (only the household's own adviser may reveal personal data)"
        ))),
        _ => Err(AppError::Forbidden(
            "只有负责该家庭的救助顾问可以查看完整的个人信息 (only the household's adviser may reveal personal data)"
                .into(),
        )),
    }
}

/// Loads a household `who` may see: a charity is refused outright, an
/// adviser outside its region is told it does not exist.
pub fn visible_household(
    conn: &mut DbConnection,
    who: &Identity,
    ref_code: &str,
) -> Result<Household, AppError> {
    scope(who)?;
    let h = repository::find(conn, ref_code)?
        .ok_or_else(|| AppError::not_found(&format!("家庭 {ref_code}")))?;
    check_visible(who, &h.row)?;
    Ok(h)
}

/// Loads a need `who` may see (through its household).
pub fn visible_need(
    conn: &mut DbConnection,
    who: &Identity,
    ref_code: &str,
) -> Result<NeedDoc, AppError> {
    scope(who)?;
    let not_found = || AppError::not_found(&format!("需求 {ref_code}"));
    let need = needs::find(conn, ref_code)?.ok_or_else(not_found)?;
    let household = repository::find(conn, &need.household_ref)?.ok_or_else(not_found)?;
    check_visible(who, &household.row).map_err(|_| not_found())?;
    Ok(need)
}

/// Loads a need `who` may change: visible, and its household's consent on
/// record (after consent is withdrawn its needs stay closed).
pub fn changeable_need(
    conn: &mut DbConnection,
    who: &Identity,
    ref_code: &str,
) -> Result<NeedDoc, AppError> {
    let need = visible_need(conn, who, ref_code)?;
    let household = visible_household(conn, who, &need.household_ref)?;
    require_consent(&household)?;
    Ok(need)
}

/// Anything beyond a name and region (assessments, notes, needs) needs the
/// household's recorded consent.
pub fn require_consent(h: &Household) -> Result<(), AppError> {
    if h.row.consent {
        Ok(())
    } else {
        Err(AppError::field(
            "consent",
            "未记录本人同意，只能保存姓名和地区；请先记录同意 (record consent first)",
        ))
    }
}
