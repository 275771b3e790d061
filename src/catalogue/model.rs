//! Resource rows as stored, and the SPEC "Resource" JSON contract they convert to.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::db::schema::resources;
use crate::domain::vocabulary::{self, DIMENSIONS, KINDS, STATUSES, TARGET_GROUPS};

/// A row of `resources`.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = resources)]
pub struct ResourceRow {
    pub id: i64,
    pub ref_code: String,
    pub kind: String,
    pub title: String,
    pub summary: String,
    pub body: String,
    pub provider: String,
    pub organisation_id: Option<i64>,
    pub region: String,
    pub dimensions: String,
    pub target_groups: String,
    pub eligibility: Option<String>,
    pub benefit: String,
    pub capacity_total: Option<i64>,
    pub capacity_remaining: Option<i64>,
    pub capacity_unit: Option<String>,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub apply: String,
    pub status: String,
    pub version: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_by: String,
    pub updated_at: NaiveDateTime,
    pub published_by: Option<String>,
    pub published_at: Option<NaiveDateTime>,
    pub withdrawn_by: Option<String>,
    pub withdrawn_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Capacity {
    pub total: i64,
    pub remaining: i64,
    pub unit: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Apply {
    pub materials: Vec<String>,
    pub process: String,
    pub contact: String,
    pub url: Option<String>,
    /// Where to apply or be served (办理/服务地点); optional.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub address: String,
    /// When (办理/服务时间), in words; optional.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hours: String,
}

/// The SPEC "Resource" contract, plus bookkeeping fields (added, never renamed).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ResourceDoc {
    #[serde(rename = "ref")]
    pub ref_code: String,
    pub kind: String,
    pub title: String,
    pub summary: String,
    pub body: String,
    pub provider: String,
    pub region: String,
    pub dimensions: Vec<String>,
    pub target_groups: Vec<String>,
    #[schema(value_type = Option<Object>)]
    pub eligibility: Option<Value>,
    pub benefit: String,
    pub capacity: Option<Capacity>,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub apply: Apply,
    pub status: String,
    pub organisation: Option<String>,
    pub version: i64,
    pub created_by: String,
    #[serde(with = "crate::domain::timestamp")]
    pub created_at: NaiveDateTime,
    pub updated_by: String,
    #[serde(with = "crate::domain::timestamp")]
    pub updated_at: NaiveDateTime,
    pub published_by: Option<String>,
    #[serde(default, with = "crate::domain::timestamp::option")]
    pub published_at: Option<NaiveDateTime>,
    pub withdrawn_by: Option<String>,
    #[serde(default, with = "crate::domain::timestamp::option")]
    pub withdrawn_at: Option<NaiveDateTime>,
}

impl ResourceRow {
    pub fn dimension_codes(&self) -> Vec<String> {
        serde_json::from_str(&self.dimensions).unwrap_or_default()
    }

    pub fn target_group_codes(&self) -> Vec<String> {
        serde_json::from_str(&self.target_groups).unwrap_or_default()
    }

    pub fn eligibility_json(&self) -> Option<Value> {
        self.eligibility
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
    }

    pub fn apply_info(&self) -> Apply {
        serde_json::from_str(&self.apply).unwrap_or_default()
    }

    pub fn capacity(&self) -> Option<Capacity> {
        match (self.capacity_total, self.capacity_remaining) {
            (Some(total), Some(remaining)) => Some(Capacity {
                total,
                remaining,
                unit: self.capacity_unit.clone().unwrap_or_default(),
            }),
            _ => None,
        }
    }

    pub fn to_doc(&self, organisation: Option<String>) -> ResourceDoc {
        ResourceDoc {
            ref_code: self.ref_code.clone(),
            kind: self.kind.clone(),
            title: self.title.clone(),
            summary: self.summary.clone(),
            body: self.body.clone(),
            provider: self.provider.clone(),
            region: self.region.clone(),
            dimensions: self.dimension_codes(),
            target_groups: self.target_group_codes(),
            eligibility: self.eligibility_json(),
            benefit: self.benefit.clone(),
            capacity: self.capacity(),
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            apply: self.apply_info(),
            status: self.status.clone(),
            organisation,
            version: self.version,
            created_by: self.created_by.clone(),
            created_at: self.created_at,
            updated_by: self.updated_by.clone(),
            updated_at: self.updated_at,
            published_by: self.published_by.clone(),
            published_at: self.published_at,
            withdrawn_by: self.withdrawn_by.clone(),
            withdrawn_at: self.withdrawn_at,
        }
    }

    // Labels for pages.
    pub fn kind_label(&self) -> &str {
        vocabulary::label(KINDS, &self.kind)
    }

    pub fn status_label(&self) -> &str {
        vocabulary::label(STATUSES, &self.status)
    }

    pub fn dimension_labels(&self) -> Vec<String> {
        self.dimension_codes()
            .iter()
            .map(|c| vocabulary::label(DIMENSIONS, c).to_string())
            .collect()
    }

    pub fn target_group_labels(&self) -> Vec<String> {
        self.target_group_codes()
            .iter()
            .map(|c| vocabulary::label(TARGET_GROUPS, c).to_string())
            .collect()
    }

    pub fn eligibility_pretty(&self) -> String {
        self.eligibility_json()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_default()
    }

    /// "2025-07-01 至 长期有效" style validity text.
    pub fn validity_text(&self) -> String {
        let from = self
            .valid_from
            .map(|d| d.to_string())
            .unwrap_or_else(|| "即日起".into());
        let until = self
            .valid_until
            .map(|d| d.to_string())
            .unwrap_or_else(|| "长期有效".into());
        format!("{from} 至 {until}")
    }
}

/// One entry of a resource's status history.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = crate::db::schema::resource_history)]
pub struct HistoryRow {
    #[serde(skip)]
    pub id: i64,
    #[serde(skip)]
    pub resource_id: i64,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor: String,
    #[serde(with = "crate::domain::timestamp")]
    pub at: NaiveDateTime,
}

impl HistoryRow {
    pub fn action_label(&self) -> &str {
        match self.action.as_str() {
            "created" => "创建",
            "updated" => "修改",
            "published" => "发布",
            "withdrawn" => "撤回",
            "draft" => "退回草稿",
            "imported" => "导入",
            other => other,
        }
    }
}
