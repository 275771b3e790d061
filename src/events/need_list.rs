//! The published need list: the open needs of the event's region,
//! aggregated by dimension, target group and a normalised title, with
//! counts and the highest urgency ("残疾人 · 就业 · 实习岗位 ×10"). The
//! needs behind each item are kept for the admin (to bind them in
//! agreements) and never shown to charities or the public.

use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;

use chrono::NaiveDate;
use diesel::prelude::*;
use regex::Regex;
use serde::Deserialize;

use super::model::{event_or_404, items_of, ItemRow};
use super::privacy;
use crate::auth::Identity;
use crate::db::schema::{event_item_needs, event_items, households, needs};
use crate::db::{lock_for_write, DbConnection};
use crate::domain::vocabulary::{self, DIMENSIONS, TARGET_GROUPS};
use crate::domain::RegionCode;
use crate::error::{AppError, FieldError};
use crate::matching::facts_table;
use crate::matching::ranking::household_groups;

/// Framing that says who the need is for, not what it is ("为残障成员寻找").
static FOR_WHOM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(为|帮|给|帮助|协助|替)[^，,。；;]{0,12}?(寻找|找|申请|申领|提供|联系|解决|对接|争取|办理|安排)")
        .expect("regex")
});
static LEADING_VERB: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(申请|申领|需要|希望|寻求|请求|急需|办理)").expect("regex"));
static REFS_AND_NUMBERS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)[HNR]-[A-Z0-9-]*\d|\d{5,}[\dXx]?").expect("regex"));

/// A need's title as a list item: the framing and any reference or long
/// number dropped; the dimension's name when what is left would name a
/// person or says nothing.
pub fn normalise_title(title: &str, dimension: &str, names: &[String]) -> String {
    let fallback = || format!("{}需求", vocabulary::label(DIMENSIONS, dimension));
    let t = REFS_AND_NUMBERS.replace_all(title.trim(), "");
    let t = FOR_WHOM.replace(t.trim(), "");
    let t = LEADING_VERB.replace(t.trim(), "");
    let t: String = t
        .trim_matches(|c: char| c.is_whitespace() || "，,。.；;：:、".contains(c))
        .chars()
        .take(40)
        .collect();
    if t.chars().count() < 2 || privacy::personal_data_in(&t, names).is_some() {
        fallback()
    } else {
        t
    }
}

/// The target groups tried first for a need of each dimension.
fn preferred_groups(dimension: &str) -> &'static [&'static str] {
    match dimension {
        "education" => &["child_in_difficulty", "child", "disabled"],
        "employment" => &["disabled", "unemployed", "new_citizen"],
        "daily_care" | "rehabilitation" => &["disabled", "elderly_alone", "elderly"],
        "medical" => &["serious_illness", "disabled", "elderly"],
        "family" => &["single_parent", "child_in_difficulty", "child"],
        "social" => &["elderly_alone", "new_citizen", "disabled"],
        _ => &[],
    }
}

/// Then the rest, most specific first.
const GROUP_ORDER: &[&str] = &[
    "disabled",
    "serious_illness",
    "child_in_difficulty",
    "elderly_alone",
    "tekun",
    "dibao",
    "elderly",
    "child",
    "low_income",
    "expenditure_poverty",
    "unemployed",
    "single_parent",
    "new_citizen",
];

/// The one target group a need is listed under ('' when none fits).
pub fn primary_group(dimension: &str, groups: &HashSet<String>) -> String {
    preferred_groups(dimension)
        .iter()
        .chain(GROUP_ORDER)
        .find(|g| groups.contains(**g))
        .map(|g| g.to_string())
        .unwrap_or_default()
}

fn urgency_rank(u: &str) -> u8 {
    match u {
        "high" => 0,
        "medium" => 1,
        _ => 2,
    }
}

/// (Re)compiles a draft event's need list from the open needs of active,
/// consented households in its scope. Edits made to an earlier list are
/// replaced. Returns the number of items.
pub fn compile(
    conn: &mut DbConnection,
    who: &Identity,
    ref_code: &str,
    today: NaiveDate,
) -> Result<usize, AppError> {
    if !who.is_admin() {
        return Err(AppError::forbidden());
    }
    conn.transaction(|conn| {
        lock_for_write(conn)?;
        let event = event_or_404(conn, ref_code)?;
        if event.status != "draft" {
            return Err(AppError::Conflict(
                "需求清单发布后不能重新汇总 (the list is compiled while the event is a draft)"
                    .into(),
            ));
        }
        let scope = RegionCode::parse(&event.region)
            .map_err(|e| AppError::Internal(format!("event region: {e}")))?;
        let prefix = format!("{}%", scope.scope_prefix());
        let open: Vec<(i64, i64, String, String, String, i64)> = needs::table
            .inner_join(households::table)
            .filter(needs::status.eq("open"))
            .filter(households::status.eq("active"))
            .filter(households::consent.eq(true))
            .filter(households::region.like(&prefix))
            .order(needs::id.asc())
            .select((
                needs::id,
                needs::household_id,
                needs::dimension,
                needs::title,
                needs::urgency,
                needs::quantity,
            ))
            .load(conn)?;
        let mut ids: Vec<i64> = open.iter().map(|n| n.1).collect();
        ids.sort_unstable();
        ids.dedup();
        let entries = facts_table::load_entries(conn, Some(&ids), today)?;
        let by_id: std::collections::HashMap<i64, &facts_table::Entry> =
            entries.iter().map(|e| (e.id, e)).collect();
        let names = privacy::names_in(conn, &event.region)?;
        // (dimension, group, title) -> (people, households, urgency, needs)
        type Group = (i64, HashSet<i64>, String, Vec<i64>);
        let mut groups: BTreeMap<(String, String, String), Group> = BTreeMap::new();
        for (need_id, household_id, dimension, title, urgency, quantity) in open {
            let Some(entry) = by_id.get(&household_id) else {
                continue;
            };
            if !scope.covers(&entry.region) {
                continue;
            }
            let group = primary_group(&dimension, &household_groups(&entry.facts.to_json()));
            let title = normalise_title(&title, &dimension, &names);
            let g = groups
                .entry((dimension, group, title))
                .or_insert_with(|| (0, HashSet::new(), "low".into(), Vec::new()));
            g.0 += quantity.max(1);
            g.1.insert(household_id);
            if urgency_rank(&urgency) < urgency_rank(&g.2) {
                g.2 = urgency;
            }
            g.3.push(need_id);
        }
        let mut items: Vec<_> = groups.into_iter().collect();
        let dim_pos = |d: &str| DIMENSIONS.iter().position(|(c, _)| *c == d).unwrap_or(99);
        items.sort_by(|a, b| {
            urgency_rank(&a.1 .2)
                .cmp(&urgency_rank(&b.1 .2))
                .then(b.1 .0.cmp(&a.1 .0))
                .then(dim_pos(&a.0 .0).cmp(&dim_pos(&b.0 .0)))
                .then(a.0.cmp(&b.0))
        });
        diesel::delete(event_items::table.filter(event_items::event_id.eq(event.id)))
            .execute(conn)?;
        for (position, ((dimension, group, title), (people, households, urgency, need_ids))) in
            items.iter().enumerate()
        {
            let item_id: i64 = diesel::insert_into(event_items::table)
                .values((
                    event_items::event_id.eq(event.id),
                    event_items::position.eq(position as i64 + 1),
                    event_items::dimension.eq(dimension),
                    event_items::target_group.eq(group),
                    event_items::title.eq(title),
                    event_items::people.eq(people),
                    event_items::households.eq(households.len() as i64),
                    event_items::urgency.eq(urgency),
                    event_items::note.eq(""),
                    event_items::hidden.eq(false),
                ))
                .returning(event_items::id)
                .get_result(conn)?;
            for need_id in need_ids {
                diesel::insert_into(event_item_needs::table)
                    .values((
                        event_item_needs::item_id.eq(item_id),
                        event_item_needs::need_id.eq(need_id),
                    ))
                    .execute(conn)?;
            }
        }
        Ok(items.len())
    })
}

/// An admin's edit of one item.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ItemEdit {
    pub title: String,
    #[serde(default)]
    pub note: String,
    /// `''` for none.
    #[serde(default)]
    pub target_group: String,
    #[serde(default)]
    pub hidden: bool,
}

/// Edits an item of a draft or published event (a published item keeps
/// its title, which charities have pledged against, but its note and
/// visibility may change). Texts are checked for personal data.
pub fn edit_item(
    conn: &mut DbConnection,
    who: &Identity,
    ref_code: &str,
    item_id: i64,
    edit: &ItemEdit,
) -> Result<ItemRow, AppError> {
    if !who.is_admin() {
        return Err(AppError::forbidden());
    }
    conn.transaction(|conn| {
        lock_for_write(conn)?;
        let event = event_or_404(conn, ref_code)?;
        let item = items_of(conn, event.id)?
            .into_iter()
            .find(|i| i.id == item_id)
            .ok_or_else(|| AppError::not_found(&format!("清单项 {item_id}")))?;
        if matches!(event.status.as_str(), "held" | "closed") {
            return Err(AppError::Conflict(
                "对接会已举行，需求清单不能再修改 (the list is fixed once the event is held)"
                    .into(),
            ));
        }
        let names = privacy::names_in(conn, &event.region)?;
        let title = edit.title.trim();
        let note = edit.note.trim();
        let group = edit.target_group.trim();
        let mut errors = Vec::new();
        if event.status == "draft" {
            if title.chars().count() < 2 || title.chars().count() > 40 {
                errors.push(FieldError::new(
                    "title",
                    "标题须为 2–40 字 (title of 2 to 40 characters)",
                ));
            } else if let Err(e) = privacy::check_text("title", title, &names) {
                errors.push(e);
            }
            if !group.is_empty() && !TARGET_GROUPS.iter().any(|(c, _)| *c == group) {
                errors.push(FieldError::new(
                    "target_group",
                    format!("未知的服务对象 {group} (unknown target group)"),
                ));
            }
        } else if title != item.title || group != item.target_group {
            errors.push(FieldError::new(
                "title",
                "清单发布后不能修改标题和服务对象 (title and group are fixed once published)",
            ));
        } else if let Err(e) = privacy::check_text("title", title, &names) {
            // Shown again (un-hidden): checked again.
            errors.push(e);
        }
        if note.chars().count() > 200 {
            errors.push(FieldError::new(
                "note",
                "备注不能超过 200 字 (note too long)",
            ));
        } else if let Err(e) = privacy::check_text("note", note, &names) {
            errors.push(e);
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        if event.status == "published" && edit.hidden && !item.hidden {
            let pledged = super::model::pledged_per_item(conn, event.id)?;
            if pledged.get(&item.id).copied().unwrap_or(0) > 0 {
                return Err(AppError::Conflict(
                    "已有认领的清单项不能隐藏 (an item with pledges stays visible)".into(),
                ));
            }
        }
        diesel::update(event_items::table.find(item.id))
            .set((
                event_items::title.eq(title),
                event_items::note.eq(note),
                event_items::target_group.eq(group),
                event_items::hidden.eq(edit.hidden),
            ))
            .execute(conn)?;
        Ok(items_of(conn, event.id)?
            .into_iter()
            .find(|i| i.id == item_id)
            .expect("just updated"))
    })
}

/// A need behind an item, for the admin binding needs in an agreement
/// (never shown to charities or the public).
#[derive(Debug, Clone, Queryable, serde::Serialize, utoipa::ToSchema)]
pub struct NeedBehind {
    pub need_ref: String,
    pub household_ref: String,
    pub title: String,
    pub status: String,
    pub quantity: i64,
}

/// The needs behind an item.
pub fn needs_of_item(conn: &mut DbConnection, item_id: i64) -> Result<Vec<NeedBehind>, AppError> {
    Ok(event_item_needs::table
        .inner_join(needs::table.inner_join(households::table))
        .filter(event_item_needs::item_id.eq(item_id))
        .order(needs::id.asc())
        .select((
            needs::ref_code,
            households::ref_code,
            needs::title,
            needs::status,
            needs::quantity,
        ))
        .load(conn)?)
}

/// The published (anonymised) need list as an `.xlsx` file, one row per
/// item, for charities to plan pledges in their own spreadsheets.
pub fn to_xlsx(e: &super::model::EventView) -> Result<Vec<u8>, AppError> {
    use crate::export::xlsx::{workbook, Sheet};
    let rows = e
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            vec![
                (i + 1).to_string(),
                item.target_group_label.clone(),
                item.dimension_label.clone(),
                item.title.clone(),
                item.people.to_string(),
                item.households.to_string(),
                item.urgency_label.clone(),
                item.pledged.to_string(),
                item.note.clone(),
            ]
        })
        .collect();
    workbook(&[Sheet {
        name: "需求清单".into(),
        columns: vec![
            ("序号", 6.0),
            ("服务对象", 14.0),
            ("需求维度", 12.0),
            ("需求", 30.0),
            ("人数", 8.0),
            ("户数", 8.0),
            ("紧急程度", 10.0),
            ("已认领", 8.0),
            ("备注", 36.0),
        ],
        rows,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_normalised() {
        let names = vec!["王小明".to_string()];
        assert_eq!(
            normalise_title("为残障成员寻找实习岗位", "employment", &names),
            "实习岗位"
        );
        assert_eq!(
            normalise_title("申请低保及重病增发", "income", &names),
            "低保及重病增发"
        );
        assert_eq!(
            normalise_title("独居老人每日助餐", "daily_care", &names),
            "独居老人每日助餐"
        );
        assert_eq!(
            normalise_title("王小明的助学金", "education", &names),
            "教育需求"
        );
        assert_eq!(
            normalise_title("H-0007 联系 13800138000", "legal", &names),
            "联系"
        );
        assert_eq!(normalise_title("申请", "housing", &names), "住房需求");
    }

    #[test]
    fn the_group_fits_the_dimension() {
        let groups: HashSet<String> = ["elderly", "disabled", "child"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(primary_group("education", &groups), "child");
        assert_eq!(primary_group("employment", &groups), "disabled");
        assert_eq!(primary_group("housing", &groups), "disabled");
        assert_eq!(primary_group("housing", &HashSet::new()), "");
    }
}
