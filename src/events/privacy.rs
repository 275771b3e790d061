//! What keeps a published need list anonymous: no name, address, ID
//! number, phone number or household/need reference may appear in an
//! item's title or note, nor in the event's description. Titles are
//! normalised when the list is compiled; every text is checked again when
//! an admin edits it and when the event is published.

use std::sync::LazyLock;

use diesel::prelude::*;
use regex::Regex;

use super::model::{items_of, EventRow};
use crate::db::schema::{households, members, needs};
use crate::db::DbConnection;
use crate::domain::RegionCode;
use crate::error::{AppError, FieldError};

static PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    vec![
        (
            Regex::new(r"\d{17}[\dXx]").expect("regex"),
            "身份证号码 (an ID number)",
        ),
        (
            Regex::new(r"\d{7,}").expect("regex"),
            "电话号码或证件号码 (a phone or ID number)",
        ),
        (
            // No \b: a Chinese character before the ref is a word character.
            Regex::new(r"(?i)[HNR]-[A-Z0-9-]*\d").expect("regex"),
            "家庭或需求编号 (a household or need reference)",
        ),
        (
            Regex::new(r"\d+\s*(弄|号楼|号|室|幢|栋|单元)").expect("regex"),
            "门牌地址 (an address)",
        ),
    ]
});

/// Phone and ID numbers as they read once spaces and dashes are dropped
/// ("138-0013-8000"), standing alone (a region code's digits run on).
static JOINED: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    vec![
        (
            Regex::new(r"(?:^|\D)1[3-9]\d{9}(?:\D|$)").expect("regex"),
            "手机号码 (a mobile number)",
        ),
        (
            Regex::new(r"(?:^|\D)0\d{2,3}\d{7,8}(?:\D|$)").expect("regex"),
            "电话号码 (a phone number)",
        ),
        (
            Regex::new(r"(?:^|\D)\d{17}[\dXx](?:\D|$)").expect("regex"),
            "身份证号码 (an ID number)",
        ),
    ]
});

/// Why `text` may identify someone, if it may. `known` holds the names of
/// the people concerned and the refs of their households and needs.
pub fn personal_data_in(text: &str, known: &[String]) -> Option<String> {
    // Digits are also read with separators dropped ("138-0013-8000").
    let joined: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '－' | '—' | '.' | '　'))
        .collect();
    for (re, what) in PATTERNS.iter() {
        if re.is_match(text) {
            return Some(format!("含有{what}"));
        }
    }
    for (re, what) in JOINED.iter() {
        if re.is_match(&joined) {
            return Some(format!("含有{what}"));
        }
    }
    known
        .iter()
        .find(|n| n.chars().count() >= 2 && text.to_lowercase().contains(&n.to_lowercase()))
        .map(|_| {
            "含有家庭成员的姓名或家庭、需求编号 (a person's name or a household or need reference)"
                .to_string()
        })
}

/// The names of every member (and head) of the households in `region`'s
/// scope, and the refs of those households and their needs, to keep them
/// out of published texts.
pub fn names_in(conn: &mut DbConnection, region: &str) -> Result<Vec<String>, AppError> {
    let Ok(scope) = RegionCode::parse(region) else {
        return Ok(Vec::new());
    };
    let prefix = format!("{}%", scope.scope_prefix());
    let mut names: Vec<String> = members::table
        .inner_join(households::table)
        .filter(households::region.like(&prefix))
        .select(members::name)
        .load(conn)?;
    names.extend(
        households::table
            .filter(households::region.like(&prefix))
            .select(households::head_name)
            .load::<String>(conn)?,
    );
    names.extend(
        households::table
            .filter(households::region.like(&prefix))
            .select(households::ref_code)
            .load::<String>(conn)?,
    );
    names.extend(
        needs::table
            .inner_join(households::table)
            .filter(households::region.like(&prefix))
            .select(needs::ref_code)
            .load::<String>(conn)?,
    );
    names.retain(|n| n.chars().count() >= 2);
    names.sort();
    names.dedup();
    Ok(names)
}

/// Checks `text` for the field `field`.
pub fn check_text(field: &str, text: &str, names: &[String]) -> Result<(), FieldError> {
    match personal_data_in(text, names) {
        Some(why) => Err(FieldError::new(
            field,
            format!(
                "{why}，公开的需求清单不能包含个人信息 (published lists never carry personal data)"
            ),
        )),
        None => Ok(()),
    }
}

/// Before publishing: every visible item and the description.
pub fn check_event(conn: &mut DbConnection, event: &EventRow) -> Result<(), AppError> {
    let names = names_in(conn, &event.region)?;
    let mut errors = Vec::new();
    for (field, text) in [("title", &event.title), ("description", &event.description)] {
        if let Err(e) = check_text(field, text, &names) {
            errors.push(e);
        }
    }
    for item in items_of(conn, event.id)?.iter().filter(|i| !i.hidden) {
        for (field, text) in [("title", &item.title), ("note", &item.note)] {
            if let Err(e) = check_text(&format!("items[{}].{field}", item.position), text, &names) {
                errors.push(e);
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_data_is_found() {
        let names = vec!["张秀英".to_string(), "李".to_string()];
        assert!(personal_data_in("实习岗位", &names).is_none());
        assert!(personal_data_in("为张秀英送餐", &names).is_some());
        assert!(personal_data_in("联系 15003401474", &names).is_some());
        assert!(personal_data_in("310229194002147829", &names).is_some());
        assert!(personal_data_in("H-0001 的需求", &names).is_some());
        assert!(personal_data_in("户H-0007送餐", &names).is_some());
        assert!(personal_data_in("联系 138-0013-8000", &names).is_some());
        assert!(personal_data_in("电话 021-5972 8866", &names).is_some());
        // Region codes are not phone numbers.
        assert!(personal_data_in("310118-003-012 2026 年第四季度资源对接会", &names).is_none());
        let refs = vec!["H-IMP-1".to_string()];
        assert!(personal_data_in("给h-imp-1送餐", &refs).is_some());
        assert!(personal_data_in("香大路388弄5号", &names).is_some());
        // One-character names are too common to test for.
        assert!(personal_data_in("李子园助餐", &names).is_none());
        assert!(personal_data_in("10 名残障人士", &names).is_none());
    }
}
