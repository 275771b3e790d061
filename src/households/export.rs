//! The household list and the need list as Excel workbooks: the same rows
//! and columns the list pages show (names as the list shows them; ID
//! numbers, phones and addresses are never exported), for every page.

use super::needs::NeedDoc;
use super::repository::HouseholdRow;
use super::work_queue::{self, Latest};
use crate::db::DbConnection;
use crate::domain::region_names::RegionNames;
use crate::domain::vocabulary::{
    label, DIMENSIONS, NEED_STATUSES, RISK_LEVELS, SERVICE_TYPES, URGENCIES,
};
use crate::error::AppError;
use crate::export::xlsx::{workbook, Sheet};

/// Rows in one export at most.
pub const MAX_ROWS: i64 = 100_000;

/// A household with what the list shows beside it.
pub struct Listed {
    pub row: HouseholdRow,
    pub latest: Option<Latest>,
    pub open_needs: i64,
}

/// Adds each household's latest assessment and open-need count.
pub fn with_details(
    conn: &mut DbConnection,
    rows: Vec<HouseholdRow>,
) -> Result<Vec<Listed>, AppError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut latest = work_queue::latest_assessments(conn, &ids)?;
    let open = work_queue::open_needs(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|row| Listed {
            latest: latest.remove(&row.id),
            open_needs: open.get(&row.id).copied().unwrap_or(0),
            row,
        })
        .collect())
}

const HOUSEHOLD_COLUMNS: [(&str, f64); 14] = [
    ("编号", 14.0),
    ("户主", 10.0),
    ("地区", 26.0),
    ("地区代码", 16.0),
    ("风险等级", 10.0),
    ("评估总分", 10.0),
    ("优先介入", 10.0),
    ("服务类型", 12.0),
    ("评估日期", 12.0),
    ("待对接需求", 10.0),
    ("救助顾问", 12.0),
    ("发现日期", 12.0),
    ("本人同意", 10.0),
    ("档案状态", 10.0),
];

fn yes_no(b: bool) -> String {
    if b { "是" } else { "否" }.into()
}

/// The household list as an `.xlsx` file.
pub fn households_xlsx(rows: &[Listed], regions: &RegionNames) -> Result<Vec<u8>, AppError> {
    let rows = rows
        .iter()
        .map(|h| {
            let (risk, total, priority, service, on) = match &h.latest {
                Some(a) => (
                    label(RISK_LEVELS, &a.risk).to_string(),
                    a.total.to_string(),
                    yes_no(a.priority),
                    label(SERVICE_TYPES, &a.service_type).to_string(),
                    a.assessed_on.to_string(),
                ),
                None => (
                    "未评估".into(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ),
            };
            vec![
                h.row.ref_code.clone(),
                h.row.head_name.clone(),
                regions.label(&h.row.region),
                h.row.region.clone(),
                risk,
                total,
                priority,
                service,
                on,
                h.open_needs.to_string(),
                h.row.adviser.clone().unwrap_or_else(|| "未分配".into()),
                h.row.identified_on.to_string(),
                if h.row.consent {
                    "已记录"
                } else {
                    "未记录"
                }
                .into(),
                if h.row.status == "closed" {
                    "已结案"
                } else {
                    "在册"
                }
                .into(),
            ]
        })
        .collect();
    workbook(&[Sheet {
        name: "家庭档案".into(),
        columns: HOUSEHOLD_COLUMNS.to_vec(),
        rows,
    }])
}

const NEED_COLUMNS: [(&str, f64); 13] = [
    ("需求编号", 14.0),
    ("家庭编号", 14.0),
    ("地区", 26.0),
    ("地区代码", 16.0),
    ("维度", 10.0),
    ("需求", 30.0),
    ("说明", 40.0),
    ("紧急程度", 10.0),
    ("数量", 8.0),
    ("状态", 10.0),
    ("登记人", 12.0),
    ("登记时间", 18.0),
    ("更新时间", 18.0),
];

/// The need list as an `.xlsx` file.
pub fn needs_xlsx(rows: &[NeedDoc], regions: &RegionNames) -> Result<Vec<u8>, AppError> {
    let rows = rows
        .iter()
        .map(|n| {
            vec![
                n.ref_code.clone(),
                n.household_ref.clone(),
                regions.label(&n.region),
                n.region.clone(),
                label(DIMENSIONS, &n.dimension).to_string(),
                n.title.clone(),
                n.detail.clone(),
                label(URGENCIES, &n.urgency).to_string(),
                n.quantity.to_string(),
                label(NEED_STATUSES, &n.status).to_string(),
                n.created_by.clone(),
                n.created_at.format("%Y-%m-%d %H:%M").to_string(),
                n.updated_at.format("%Y-%m-%d %H:%M").to_string(),
            ]
        })
        .collect();
    workbook(&[Sheet {
        name: "需求清单".into(),
        columns: NEED_COLUMNS.to_vec(),
        rows,
    }])
}
