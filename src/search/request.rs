//! Reading a search request from a query string (`kind`, `dimension` and
//! `target_group` may repeat), with errors naming the parameter.

use chrono::NaiveDate;

use super::SearchRequest;
use crate::domain::vocabulary::{self, DIMENSIONS, KINDS, TARGET_GROUPS};
use crate::domain::RegionCode;
use crate::error::{AppError, FieldError};

/// Parses `q, kind, dimension, target_group, region, valid_on, available,
/// page, per_page`. `valid_on` defaults to `today`.
pub fn parse(query_string: &str, today: NaiveDate) -> Result<SearchRequest, AppError> {
    let mut req = SearchRequest {
        valid_on: Some(today),
        page: 1,
        per_page: 20,
        ..Default::default()
    };
    let mut errors = Vec::new();
    for (key, value) in url::form_urlencoded::parse(query_string.as_bytes()) {
        let value = value.trim().to_string();
        if value.is_empty() {
            continue;
        }
        let mut code_of = |table: &[(&str, &str)], into: &mut Vec<String>| {
            if vocabulary::is_known(table, &value) {
                if !into.contains(&value) {
                    into.push(value.clone());
                }
            } else {
                errors.push(FieldError::new(
                    key.to_string(),
                    format!(
                        "未知代码 \"{value}\"，可选：{} (unknown code)",
                        vocabulary::codes(table)
                    ),
                ));
            }
        };
        match key.as_ref() {
            "q" => req.q = value.chars().take(200).collect(),
            "kind" => code_of(KINDS, &mut req.kinds),
            "dimension" => code_of(DIMENSIONS, &mut req.dimensions),
            "target_group" => {
                // An open list: any well-formed code may be asked for.
                let well_formed = value.len() <= 40
                    && value
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if vocabulary::is_known(TARGET_GROUPS, &value) || well_formed {
                    if !req.target_groups.contains(&value) {
                        req.target_groups.push(value.clone());
                    }
                } else {
                    errors.push(FieldError::new(
                        "target_group",
                        format!("服务对象代码 \"{value}\" 格式不对 (malformed code)"),
                    ));
                }
            }
            "region" => match RegionCode::parse(&value) {
                Ok(r) => req.region = Some(r),
                Err(msg) => errors.push(FieldError::new("region", msg)),
            },
            "valid_on" => match NaiveDate::parse_from_str(&value, "%Y-%m-%d") {
                Ok(d) => req.valid_on = Some(d),
                Err(_) => errors.push(FieldError::new(
                    "valid_on",
                    "valid_on 必须是 YYYY-MM-DD 日期 (must be a date)",
                )),
            },
            "available" => match value.as_str() {
                "true" | "1" | "on" | "yes" => req.available = true,
                "false" | "0" | "off" | "no" => req.available = false,
                _ => errors.push(FieldError::new(
                    "available",
                    "available 必须是 true 或 false",
                )),
            },
            "page" => match value.parse::<usize>() {
                Ok(p) if (1..=10_000).contains(&p) => req.page = p,
                _ => errors.push(FieldError::new("page", "page 必须是 1–10000 的整数")),
            },
            "per_page" => match value.parse::<usize>() {
                Ok(p) if (1..=100).contains(&p) => req.per_page = p,
                _ => errors.push(FieldError::new("per_page", "per_page 必须是 1–100 的整数")),
            },
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok(req)
    } else {
        Err(AppError::Validation(errors))
    }
}
