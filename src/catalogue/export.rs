//! The catalogue as an Excel workbook: one row per resource, Chinese
//! headers and labels, for the lists advisers and managers keep.

use std::collections::HashMap;

use super::model::ResourceRow;
use crate::error::AppError;
use crate::export::xlsx::{workbook, Sheet};

/// Rows in one export at most (a whole city's catalogue).
pub const MAX_ROWS: i64 = 200_000;

const COLUMNS: [(&str, f64); 17] = [
    ("编号", 14.0),
    ("类型", 8.0),
    ("标题", 30.0),
    ("摘要", 40.0),
    ("提供方", 22.0),
    ("所属机构", 22.0),
    ("适用地区代码", 14.0),
    ("需求维度", 18.0),
    ("服务对象", 18.0),
    ("待遇/内容", 30.0),
    ("名额（剩余/总数）", 16.0),
    ("有效期", 22.0),
    ("申请材料", 24.0),
    ("办理流程", 30.0),
    ("联系方式", 18.0),
    ("状态", 8.0),
    ("更新时间", 18.0),
];

/// The `.xlsx` file of `rows`; `organisations` names their owners.
pub fn to_xlsx(
    rows: &[ResourceRow],
    organisations: &HashMap<i64, String>,
) -> Result<Vec<u8>, AppError> {
    let rows = rows
        .iter()
        .map(|r| {
            let apply = r.apply_info();
            vec![
                r.ref_code.clone(),
                r.kind_label().to_string(),
                r.title.clone(),
                r.summary.clone(),
                r.provider.clone(),
                r.organisation_id
                    .and_then(|id| organisations.get(&id).cloned())
                    .unwrap_or_default(),
                r.region.clone(),
                r.dimension_labels().join("、"),
                r.target_group_labels().join("、"),
                r.benefit.clone(),
                r.capacity()
                    .map(|c| format!("{}/{} {}", c.remaining, c.total, c.unit))
                    .unwrap_or_else(|| "不限".into()),
                r.validity_text(),
                apply.materials.join("、"),
                apply.process,
                apply.contact,
                r.status_label().to_string(),
                r.updated_at.format("%Y-%m-%d %H:%M").to_string(),
            ]
        })
        .collect();
    workbook(&[Sheet {
        name: "资源目录".into(),
        columns: COLUMNS.to_vec(),
        rows,
    }])
}
