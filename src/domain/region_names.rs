//! Names of region codes ("310118" → "青浦区"), kept by admins, so pages can
//! show a place name beside a code.

use std::collections::HashMap;

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::RegionCode;
use crate::db::schema::regions;
use crate::db::DbConnection;
use crate::error::{AppError, FieldError};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = regions)]
pub struct RegionName {
    pub code: String,
    pub name: String,
    #[serde(with = "crate::domain::timestamp")]
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct RegionNameInput {
    pub code: String,
    pub name: String,
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<RegionName>, AppError> {
    Ok(regions::table
        .order(regions::code.asc())
        .select(RegionName::as_select())
        .load(conn)?)
}

/// Every name by code.
pub fn names(conn: &mut DbConnection) -> Result<RegionNames, AppError> {
    Ok(RegionNames(
        regions::table
            .select((regions::code, regions::name))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect(),
    ))
}

/// Creates or renames a region.
pub fn upsert(conn: &mut DbConnection, input: &RegionNameInput) -> Result<RegionName, AppError> {
    let mut errors = Vec::new();
    let code = match RegionCode::parse(&input.code) {
        Ok(c) => Some(c),
        Err(msg) => {
            errors.push(FieldError::new("code", msg));
            None
        }
    };
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        errors.push(FieldError::new(
            "name",
            "地区名称为必填项，不超过 50 字 (name is required)",
        ));
    }
    let Some(code) = code.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let now = Utc::now().naive_utc();
    let exists = regions::table
        .find(code.as_str())
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if exists {
        diesel::update(regions::table.find(code.as_str()))
            .set((regions::name.eq(name), regions::updated_at.eq(now)))
            .execute(conn)?;
    } else {
        diesel::insert_into(regions::table)
            .values((
                regions::code.eq(code.as_str()),
                regions::name.eq(name),
                regions::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(regions::table
        .find(code.as_str())
        .select(RegionName::as_select())
        .first(conn)?)
}

/// Region names for display.
#[derive(Debug, Clone, Default)]
pub struct RegionNames(pub HashMap<String, String>);

impl RegionNames {
    /// "青浦区 · 香花桥街道" for `310118-003`: the names of the code and its
    /// named ancestors; the bare code when none is named.
    pub fn label(&self, code: &str) -> String {
        let mut parts = Vec::new();
        let mut ancestors = vec![code.to_string()];
        if let Some((district, _)) = code.split_once('-') {
            ancestors.insert(0, district.to_string());
            if code.matches('-').count() == 2 {
                if let Some((street, _)) = code.rsplit_once('-') {
                    ancestors.insert(1, street.to_string());
                }
            }
        }
        for a in &ancestors {
            if let Some(name) = self.0.get(a) {
                parts.push(name.as_str());
            }
        }
        if parts.is_empty() {
            code.to_string()
        } else {
            parts.join(" · ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_use_named_ancestors() {
        let names = RegionNames(
            [("310118", "青浦区"), ("310118-003", "香花桥街道")]
                .into_iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        );
        assert_eq!(names.label("310118"), "青浦区");
        assert_eq!(names.label("310118-003"), "青浦区 · 香花桥街道");
        assert_eq!(names.label("310118-003-012"), "青浦区 · 香花桥街道");
        assert_eq!(names.label("310104"), "310104");
    }
}
