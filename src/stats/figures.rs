//! The figures of the statistics page, each a table (Chinese headers, rows
//! of text) with its chart: households by risk and service type per
//! street, needs by dimension and status and by month, resources by kind
//! and remaining capacity, referrals and their outcomes by month, and the
//! outcomes of each matchmaking event.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::charts::stacked_bars;
use crate::db::schema::{
    agreement_needs, agreements, assessments, event_items, events, households, need_events, needs,
    pledges, referrals, resources,
};
use crate::db::DbConnection;
use crate::domain::region_names::RegionNames;
use crate::domain::vocabulary::{
    label, DIMENSIONS, KINDS, NEED_STATUSES, RISK_LEVELS, SERVICE_TYPES, STATUSES,
};
use crate::domain::RegionCode;
use crate::error::AppError;
use crate::matching::referrals::REFERRAL_STATUSES;

/// What the figures cover.
#[derive(Debug, Clone)]
pub struct Filter {
    /// Region code prefix (a district, street or community); empty for all.
    pub region: String,
    /// Months shown by the monthly tables, ending with `today`'s.
    pub months: u32,
    pub today: NaiveDate,
}

/// One table of figures and its chart.
#[derive(Debug, Clone)]
pub struct Table {
    pub id: &'static str,
    pub title: &'static str,
    pub note: String,
    pub columns: Vec<(&'static str, f64)>,
    pub rows: Vec<Vec<String>>,
    pub chart: String,
}

/// The ids of the tables, in page order.
pub const TABLES: &[&str] = &[
    "households",
    "needs",
    "needs_monthly",
    "resources",
    "referrals",
    "events",
];

fn like_prefix(region: &str) -> String {
    format!("{region}%")
}

fn pct(part: i64, whole: i64) -> String {
    if whole == 0 {
        "—".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

/// `YYYY-MM` of the last `n` months, oldest first.
fn month_keys(today: NaiveDate, n: u32) -> Vec<String> {
    let first = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    (0..n)
        .rev()
        .filter_map(|i| first.checked_sub_months(Months::new(i)))
        .map(|d| d.format("%Y-%m").to_string())
        .collect()
}

fn month_of(t: NaiveDateTime) -> String {
    t.format("%Y-%m").to_string()
}

/// The street a household region belongs to (`310118-003-012` →
/// `310118-003`); a district code stays as it is.
fn street_of(region: &str) -> String {
    let mut parts = region.splitn(3, '-');
    match (parts.next(), parts.next()) {
        (Some(d), Some(s)) => format!("{d}-{s}"),
        (Some(d), None) => d.to_string(),
        _ => region.to_string(),
    }
}

pub fn households(
    conn: &mut DbConnection,
    f: &Filter,
    regions: &RegionNames,
) -> Result<Table, AppError> {
    let rows: Vec<(i64, String)> = households::table
        .filter(households::status.ne("closed"))
        .filter(households::region.like(like_prefix(&f.region)))
        .select((households::id, households::region))
        .load(conn)?;
    let wanted: HashSet<i64> = rows.iter().map(|(id, _)| *id).collect();
    // The latest assessment of each household: rows come newest first.
    let mut latest: HashMap<i64, (String, String, bool)> = HashMap::new();
    let all: Vec<(i64, String, String, bool)> = assessments::table
        .order((
            assessments::household_id.asc(),
            assessments::assessed_on.desc(),
            assessments::id.desc(),
        ))
        .select((
            assessments::household_id,
            assessments::risk,
            assessments::service_type,
            assessments::priority,
        ))
        .load(conn)?;
    for (h, risk, service, priority) in all {
        if wanted.contains(&h) {
            latest.entry(h).or_insert((risk, service, priority));
        }
    }
    // Per street: households, by risk (and not assessed), by service type, priority.
    let mut by_street: BTreeMap<String, [i64; 9]> = BTreeMap::new();
    for (id, region) in &rows {
        let c = by_street.entry(street_of(region)).or_default();
        c[0] += 1;
        match latest.get(id) {
            None => c[4] += 1,
            Some((risk, service, priority)) => {
                if let Some(i) = RISK_LEVELS.iter().position(|(code, _)| code == risk) {
                    c[1 + i] += 1;
                }
                if let Some(i) = SERVICE_TYPES.iter().position(|(code, _)| code == service) {
                    c[5 + i] += 1;
                }
                if *priority {
                    c[8] += 1;
                }
            }
        }
    }
    let mut total = [0_i64; 9];
    let mut out = Vec::new();
    for (street, c) in &by_street {
        for (t, v) in total.iter_mut().zip(c) {
            *t += v;
        }
        let mut row = vec![regions.label(street), street.clone()];
        row.extend(c.iter().map(|v| v.to_string()));
        out.push(row);
    }
    let categories: Vec<String> = by_street.keys().map(|s| regions.label(s)).collect();
    let series: Vec<(String, Vec<f64>)> = ["绿色", "黄色预警", "红色风险", "未评估"]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            (
                name.to_string(),
                by_street.values().map(|c| c[1 + i] as f64).collect(),
            )
        })
        .collect();
    if !by_street.is_empty() {
        let mut row = vec!["合计".to_string(), String::new()];
        row.extend(total.iter().map(|v| v.to_string()));
        out.push(row);
    }
    Ok(Table {
        id: "households",
        title: "在册家庭：按街道的风险等级与服务类型",
        note: format!(
            "按最新一次评估统计；共 {} 户，其中 {} 户未评估，{} 户评估总分高于 70 分需优先介入。",
            total[0], total[4], total[8]
        ),
        columns: vec![
            ("地区", 26.0),
            ("地区代码", 14.0),
            ("家庭数", 8.0),
            ("绿色", 8.0),
            ("黄色预警", 10.0),
            ("红色风险", 10.0),
            ("未评估", 8.0),
            ("基础保障型", 10.0),
            ("发展支持型", 10.0),
            ("危机干预型", 10.0),
            ("优先介入", 10.0),
        ],
        rows: out,
        chart: stacked_bars("各街道家庭风险等级", &categories, &series, true),
    })
}

/// Needs in the filter's region: (id, dimension, status, created_at).
fn needs_in(
    conn: &mut DbConnection,
    f: &Filter,
) -> Result<Vec<(i64, String, String, NaiveDateTime)>, AppError> {
    Ok(needs::table
        .inner_join(households::table)
        .filter(households::region.like(like_prefix(&f.region)))
        .select((
            needs::id,
            needs::dimension,
            needs::status,
            needs::created_at,
        ))
        .load(conn)?)
}

pub fn needs_by_dimension(conn: &mut DbConnection, f: &Filter) -> Result<Table, AppError> {
    let all = needs_in(conn, f)?;
    let mut counts: Vec<[i64; 5]> = vec![[0; 5]; DIMENSIONS.len()];
    for (_, dimension, status, _) in &all {
        if let Some(d) = DIMENSIONS.iter().position(|(c, _)| c == dimension) {
            counts[d][0] += 1;
            if let Some(s) = NEED_STATUSES.iter().position(|(c, _)| c == status) {
                counts[d][1 + s] += 1;
            }
        }
    }
    let mut rows = Vec::new();
    let mut total = [0_i64; 5];
    for ((_, name), c) in DIMENSIONS.iter().zip(&counts) {
        for (t, v) in total.iter_mut().zip(c) {
            *t += v;
        }
        let mut row = vec![name.to_string()];
        row.extend(c.iter().map(|v| v.to_string()));
        row.push(pct(c[3], c[0]));
        rows.push(row);
    }
    let mut row = vec!["合计".to_string()];
    row.extend(total.iter().map(|v| v.to_string()));
    row.push(pct(total[3], total[0]));
    rows.push(row);
    let categories: Vec<String> = DIMENSIONS.iter().map(|(_, n)| n.to_string()).collect();
    let series = NEED_STATUSES
        .iter()
        .enumerate()
        .map(|(s, (_, name))| {
            (
                name.to_string(),
                counts.iter().map(|c| c[1 + s] as f64).collect(),
            )
        })
        .collect::<Vec<_>>();
    Ok(Table {
        id: "needs",
        title: "需求：按维度与状态",
        note: format!(
            "共 {} 项需求，已满足 {}（{}）。",
            total[0],
            total[3],
            pct(total[3], total[0])
        ),
        columns: vec![
            ("维度", 12.0),
            ("需求数", 8.0),
            ("待对接", 8.0),
            ("已对接", 8.0),
            ("已满足", 8.0),
            ("已关闭", 8.0),
            ("满足率", 8.0),
        ],
        rows,
        chart: stacked_bars("各维度需求及状态", &categories, &series, true),
    })
}

pub fn needs_by_month(conn: &mut DbConnection, f: &Filter) -> Result<Table, AppError> {
    let months = month_keys(f.today, f.months);
    let index: HashMap<&str, usize> = months
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    let all = needs_in(conn, f)?;
    // New needs per month and dimension.
    let mut new = vec![vec![0_i64; DIMENSIONS.len()]; months.len()];
    for (_, dimension, _, created) in &all {
        if let (Some(&m), Some(d)) = (
            index.get(month_of(*created).as_str()),
            DIMENSIONS.iter().position(|(c, _)| c == dimension),
        ) {
            new[m][d] += 1;
        }
    }
    // Needs that became matched / fulfilled / closed in each month.
    let ids: HashSet<i64> = all.iter().map(|(id, ..)| *id).collect();
    let events: Vec<(i64, String, NaiveDateTime)> = need_events::table
        .select((need_events::need_id, need_events::status, need_events::at))
        .load(conn)?;
    let mut moved = vec![[0_i64; 3]; months.len()];
    for (need, status, at) in events {
        if !ids.contains(&need) {
            continue;
        }
        let Some(&m) = index.get(month_of(at).as_str()) else {
            continue;
        };
        match status.as_str() {
            "matched" => moved[m][0] += 1,
            "fulfilled" => moved[m][1] += 1,
            "closed" => moved[m][2] += 1,
            _ => {}
        }
    }
    let mut columns: Vec<(&'static str, f64)> = vec![("月份", 10.0), ("新登记", 8.0)];
    columns.extend(DIMENSIONS.iter().map(|(_, n)| (*n, 8.0)));
    columns.extend([
        ("转为已对接", 10.0),
        ("转为已满足", 10.0),
        ("转为已关闭", 10.0),
    ]);
    let rows = months
        .iter()
        .enumerate()
        .map(|(m, key)| {
            let mut row = vec![key.clone(), new[m].iter().sum::<i64>().to_string()];
            row.extend(new[m].iter().map(|v| v.to_string()));
            row.extend(moved[m].iter().map(|v| v.to_string()));
            row
        })
        .collect();
    let series: Vec<(String, Vec<f64>)> = DIMENSIONS
        .iter()
        .enumerate()
        .filter(|(d, _)| new.iter().any(|m| m[*d] > 0))
        .map(|(d, (_, name))| (name.to_string(), new.iter().map(|m| m[d] as f64).collect()))
        .collect();
    Ok(Table {
        id: "needs_monthly",
        title: "需求：逐月新登记（按维度）与状态变化",
        note: format!("最近 {} 个月；状态变化按变更发生的月份统计。", f.months),
        columns,
        rows,
        chart: stacked_bars("逐月新登记需求（按维度）", &months, &series, false),
    })
}

pub fn resources_by_kind(conn: &mut DbConnection, f: &Filter) -> Result<Table, AppError> {
    type Row = (
        String,
        String,
        String,
        Option<i64>,
        Option<i64>,
        Option<String>,
    );
    let all: Vec<Row> = resources::table
        .select((
            resources::kind,
            resources::status,
            resources::region,
            resources::capacity_total,
            resources::capacity_remaining,
            resources::capacity_unit,
        ))
        .load(conn)?;
    // A resource counts for a region it serves there: its scope covers the
    // region, or lies inside it.
    let inside = |scope: &str| {
        f.region.is_empty()
            || scope.starts_with(&f.region)
            || RegionCode::parse(scope).is_ok_and(|c| c.covers(&f.region))
    };
    // Per kind and capacity unit ("" for no limit): resources by status,
    // then the published ones' total and remaining capacity.
    let mut groups: BTreeMap<(usize, String), [i64; 5]> = BTreeMap::new();
    for (kind, status, region, total, remaining, unit) in &all {
        let Some(k) = KINDS.iter().position(|(c, _)| c == kind) else {
            continue;
        };
        if !inside(region) {
            continue;
        }
        let unit = match (total, unit) {
            (Some(_), Some(u)) if !u.is_empty() => u.clone(),
            (Some(_), _) => "个".to_string(),
            (None, _) => String::new(),
        };
        let c = groups.entry((k, unit)).or_default();
        if let Some(s) = STATUSES.iter().position(|(code, _)| code == status) {
            c[s.min(2)] += 1;
        }
        if status == "published" {
            if let (Some(t), Some(r)) = (total, remaining) {
                c[3] += t;
                c[4] += r;
            }
        }
    }
    let mut rows = Vec::new();
    let mut categories = Vec::new();
    let mut used_pct = Vec::new();
    let mut left_pct = Vec::new();
    for ((k, unit), c) in &groups {
        let kind = KINDS[*k].1;
        let limited = !unit.is_empty();
        rows.push(vec![
            kind.to_string(),
            if limited {
                unit.clone()
            } else {
                "不限名额".into()
            },
            c[1].to_string(),
            c[0].to_string(),
            c[2].to_string(),
            if limited {
                c[3].to_string()
            } else {
                "—".into()
            },
            if limited {
                c[4].to_string()
            } else {
                "—".into()
            },
            if limited {
                pct(c[3] - c[4], c[3])
            } else {
                "—".into()
            },
        ]);
        if limited && c[3] > 0 {
            categories.push(format!("{kind}（{unit}）"));
            used_pct.push((c[3] - c[4]) as f64 * 100.0 / c[3] as f64);
            left_pct.push(c[4] as f64 * 100.0 / c[3] as f64);
        }
    }
    let series = vec![
        ("已使用名额 %".to_string(), used_pct),
        ("剩余名额 %".to_string(), left_pct),
    ];
    Ok(Table {
        id: "resources",
        title: "资源：按类型与剩余名额",
        note: "按类型和名额单位分组；名额只统计已发布的资源，图中为使用比例。".into(),
        columns: vec![
            ("类型", 10.0),
            ("名额单位", 10.0),
            ("已发布", 8.0),
            ("草稿", 8.0),
            ("已撤回", 8.0),
            ("名额总数", 10.0),
            ("剩余名额", 10.0),
            ("名额使用率", 10.0),
        ],
        rows,
        chart: stacked_bars("已发布资源的名额使用比例", &categories, &series, true),
    })
}

pub fn referrals_by_month(conn: &mut DbConnection, f: &Filter) -> Result<Table, AppError> {
    let months = month_keys(f.today, f.months);
    let index: HashMap<&str, usize> = months
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    let all: Vec<(String, NaiveDateTime)> = referrals::table
        .inner_join(needs::table.inner_join(households::table))
        .filter(households::region.like(like_prefix(&f.region)))
        .select((referrals::status, referrals::created_at))
        .load(conn)?;
    let mut counts = vec![vec![0_i64; REFERRAL_STATUSES.len()]; months.len()];
    let mut before = vec![0_i64; REFERRAL_STATUSES.len()];
    for (status, created) in &all {
        let Some(s) = REFERRAL_STATUSES.iter().position(|(c, _)| c == status) else {
            continue;
        };
        match index.get(month_of(*created).as_str()) {
            Some(&m) => counts[m][s] += 1,
            None => before[s] += 1,
        }
    }
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut total = vec![0_i64; REFERRAL_STATUSES.len()];
    for (m, key) in months.iter().enumerate() {
        let sum: i64 = counts[m].iter().sum();
        for (t, v) in total.iter_mut().zip(&counts[m]) {
            *t += v;
        }
        let mut row = vec![key.clone(), sum.to_string()];
        row.extend(counts[m].iter().map(|v| v.to_string()));
        row.push(pct(counts[m][2], sum));
        rows.push(row);
    }
    let all_sum: i64 = total.iter().sum();
    let mut row = vec![format!("最近 {} 个月合计", f.months), all_sum.to_string()];
    row.extend(total.iter().map(|v| v.to_string()));
    row.push(pct(total[2], all_sum));
    rows.push(row);
    let series = REFERRAL_STATUSES
        .iter()
        .enumerate()
        .map(|(s, (_, name))| {
            (
                name.to_string(),
                counts.iter().map(|m| m[s] as f64).collect(),
            )
        })
        .collect::<Vec<_>>();
    let earlier: i64 = before.iter().sum();
    Ok(Table {
        id: "referrals",
        title: "转介及其结果（按转介月份）",
        note: format!("每项转介按发起月份计入其当前状态；更早发起的转介 {earlier} 项未列入。"),
        columns: vec![
            ("月份", 14.0),
            ("转介数", 8.0),
            ("已转介", 8.0),
            ("已接收", 8.0),
            ("已完成", 8.0),
            ("已谢绝", 8.0),
            ("完成率", 8.0),
        ],
        rows,
        chart: stacked_bars("逐月转介及当前结果", &months, &series, false),
    })
}

pub fn events_outcomes(
    conn: &mut DbConnection,
    f: &Filter,
    regions: &RegionNames,
) -> Result<Table, AppError> {
    type EventCols = (i64, String, String, String, NaiveDate, String);
    let list: Vec<EventCols> = events::table
        .order(events::held_on.desc())
        .select((
            events::id,
            events::ref_code,
            events::title,
            events::region,
            events::held_on,
            events::status,
        ))
        .load(conn)?;
    let list: Vec<EventCols> = list
        .into_iter()
        .filter(|(_, _, _, region, _, _)| {
            f.region.is_empty()
                || region.starts_with(&f.region)
                || RegionCode::parse(region).is_ok_and(|c| c.covers(&f.region))
        })
        .collect();
    let items: Vec<(i64, i64)> = event_items::table
        .filter(event_items::hidden.eq(false))
        .select((event_items::event_id, event_items::people))
        .load(conn)?;
    let pledged: Vec<(i64, String, i64)> = pledges::table
        .select((pledges::event_id, pledges::status, pledges::quantity))
        .load(conn)?;
    let signed: Vec<i64> = agreements::table.select(agreements::event_id).load(conn)?;
    let linked: Vec<(i64, String)> = agreement_needs::table
        .inner_join(agreements::table)
        .inner_join(needs::table)
        .select((agreements::event_id, needs::status))
        .load(conn)?;
    let mut rows = Vec::new();
    let mut categories = Vec::new();
    let mut series: Vec<(String, Vec<f64>)> = vec![
        ("已签约对接需求".into(), Vec::new()),
        ("已满足需求".into(), Vec::new()),
    ];
    for (id, r, title, region, held_on, status) in &list {
        let n_items = items.iter().filter(|(e, _)| e == id).count();
        let people: i64 = items.iter().filter(|(e, _)| e == id).map(|(_, p)| p).sum();
        let live: Vec<&(i64, String, i64)> = pledged
            .iter()
            .filter(|(e, s, _)| e == id && s != "withdrawn")
            .collect();
        let n_agreements = signed.iter().filter(|e| *e == id).count();
        let needs_linked = linked.iter().filter(|(e, _)| e == id).count();
        let fulfilled = linked
            .iter()
            .filter(|(e, s)| e == id && s == "fulfilled")
            .count();
        rows.push(vec![
            r.clone(),
            title.clone(),
            regions.label(region),
            held_on.to_string(),
            label(crate::events::model::EVENT_STATUSES, status).to_string(),
            n_items.to_string(),
            people.to_string(),
            live.len().to_string(),
            live.iter().map(|(_, _, q)| q).sum::<i64>().to_string(),
            n_agreements.to_string(),
            needs_linked.to_string(),
            fulfilled.to_string(),
            pct(fulfilled as i64, needs_linked as i64),
        ]);
        if categories.len() < 12 {
            categories.push(format!("{held_on} {title}"));
            series[0].1.push((needs_linked - fulfilled) as f64);
            series[1].1.push(fulfilled as f64);
        }
    }
    Ok(Table {
        id: "events",
        title: "资源对接会成果",
        note: format!("共 {} 场；图中为最近 {} 场。", list.len(), categories.len()),
        columns: vec![
            ("编号", 14.0),
            ("名称", 28.0),
            ("地区", 22.0),
            ("举办日期", 12.0),
            ("状态", 8.0),
            ("清单项", 8.0),
            ("涉及人数", 8.0),
            ("有效认领", 8.0),
            ("认领数量", 8.0),
            ("签约协议", 8.0),
            ("对接需求", 8.0),
            ("已满足", 8.0),
            ("满足率", 8.0),
        ],
        rows,
        chart: stacked_bars("各场对接会的需求对接结果", &categories, &series, true),
    })
}

/// Every table, in page order.
pub fn all(conn: &mut DbConnection, f: &Filter) -> Result<Vec<Table>, AppError> {
    TABLES.iter().map(|id| one(conn, f, id)).collect()
}

/// The table `id`, or not found.
pub fn one(conn: &mut DbConnection, f: &Filter, id: &str) -> Result<Table, AppError> {
    let regions = crate::domain::region_names::names(conn)?;
    match id {
        "households" => households(conn, f, &regions),
        "needs" => needs_by_dimension(conn, f),
        "needs_monthly" => needs_by_month(conn, f),
        "resources" => resources_by_kind(conn, f),
        "referrals" => referrals_by_month(conn, f),
        "events" => events_outcomes(conn, f, &regions),
        other => Err(AppError::not_found(&format!("统计表 {other}"))),
    }
}

/// Tables as one workbook, a sheet each (names cut to Excel's 31 characters).
pub fn to_xlsx(tables: &[Table]) -> Result<Vec<u8>, AppError> {
    let sheets: Vec<crate::export::xlsx::Sheet> = tables
        .iter()
        .map(|t| crate::export::xlsx::Sheet {
            name: t
                .title
                .chars()
                .filter(|c| !matches!(c, ':' | '：' | '\\' | '/' | '?' | '*' | '[' | ']'))
                .take(31)
                .collect(),
            columns: t.columns.clone(),
            rows: t.rows.clone(),
        })
        .collect();
    crate::export::xlsx::workbook(&sheets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_streets() {
        let today = NaiveDate::from_ymd_opt(2026, 2, 14).unwrap();
        assert_eq!(
            month_keys(today, 3),
            vec!["2025-12".to_string(), "2026-01".into(), "2026-02".into()]
        );
        assert_eq!(street_of("310118-003-012"), "310118-003");
        assert_eq!(street_of("310118"), "310118");
        assert_eq!(pct(1, 4), "25.0%");
        assert_eq!(pct(1, 0), "—");
    }
}
