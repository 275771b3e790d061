//! The 12-dimension needs scale (SPEC, seed 002 §1.2): each dimension scored
//! 0 (no need) to 4 (severe), the total normalised to 0–100, above 70 a
//! priority; a suggested risk level and service type the adviser confirms or
//! overrides; the dimensions that call for a need.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::domain::vocabulary::{DIMENSIONS, RISK_LEVELS, SERVICE_TYPES};
use crate::error::FieldError;

/// The highest score of one dimension.
pub const MAX_SCORE: u8 = 4;
/// Totals above this call for priority intervention (优先介入).
pub const PRIORITY_ABOVE: u32 = 70;
/// A dimension scored this high suggests a need for it.
pub const NEED_FROM: u8 = 3;

/// Labels of the five points of the scale.
pub const SCORE_LABELS: [&str; 5] = ["无需求", "轻度", "中度", "较重", "严重"];

/// Scores for all 12 dimensions, in the vocabulary's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scores(BTreeMap<String, u8>);

impl Scores {
    /// Reads `{dimension: 0..4}` with every dimension present.
    pub fn parse(value: &Value, field: &str) -> Result<Scores, Vec<FieldError>> {
        let Some(obj) = value.as_object() else {
            return Err(vec![FieldError::new(
                field,
                "评分必须是对象：{维度代码: 0–4} (scores must be an object of dimension: 0–4)",
            )]);
        };
        let mut errors = Vec::new();
        let mut scores = BTreeMap::new();
        for key in obj.keys() {
            if !DIMENSIONS.iter().any(|(c, _)| c == key) {
                errors.push(FieldError::new(
                    format!("{field}.{key}"),
                    format!("未知维度 \"{key}\" (unknown dimension)"),
                ));
            }
        }
        for (code, label) in DIMENSIONS {
            match obj.get(*code).and_then(Value::as_u64) {
                Some(s) if s <= u64::from(MAX_SCORE) => {
                    scores.insert(code.to_string(), s as u8);
                }
                Some(_) | None if obj.contains_key(*code) => errors.push(FieldError::new(
                    format!("{field}.{code}"),
                    format!("{label}的评分须为 0–4 的整数 (a score is a whole number 0–4)"),
                )),
                _ => errors.push(FieldError::new(
                    format!("{field}.{code}"),
                    format!("请为“{label}”评分 (every dimension must be scored)"),
                )),
            }
        }
        if errors.is_empty() {
            Ok(Scores(scores))
        } else {
            Err(errors)
        }
    }

    pub fn get(&self, dimension: &str) -> u8 {
        self.0.get(dimension).copied().unwrap_or(0)
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(&self.0).unwrap_or(Value::Null)
    }

    /// The total normalised to 0–100 (rounded).
    pub fn total(&self) -> u32 {
        let sum: u32 = self.0.values().map(|s| u32::from(*s)).sum();
        let max = u32::from(MAX_SCORE) * DIMENSIONS.len() as u32;
        (sum * 100 + max / 2) / max
    }

    pub fn priority(&self) -> bool {
        self.total() > PRIORITY_ABOVE
    }

    /// Red when safety, mental or medical needs are severe or the total calls
    /// for priority; yellow when any dimension is heavy or the total is 40 or
    /// more; green otherwise.
    pub fn suggested_risk(&self) -> &'static str {
        let acute = ["safety", "mental", "medical"]
            .iter()
            .any(|d| self.get(d) >= MAX_SCORE);
        if acute || self.priority() {
            "red"
        } else if self.total() >= 40 || self.0.values().any(|s| *s >= NEED_FROM) {
            "yellow"
        } else {
            "green"
        }
    }

    /// Crisis intervention for a red risk or a severe safety or mental
    /// need; development support when the heaviest needs are employment,
    /// education or social integration; basic support otherwise (seed 002:
    /// 独居老人属基础保障型，失业青年属发展支持型，突发疾病家庭属危机干预型).
    pub fn suggested_service_type(&self, risk: &str) -> &'static str {
        if risk == "red" || self.get("safety") >= MAX_SCORE || self.get("mental") >= MAX_SCORE {
            return "crisis";
        }
        let top = self.0.values().copied().max().unwrap_or(0);
        let developmental = ["employment", "education", "social"]
            .iter()
            .any(|d| top >= NEED_FROM - 1 && self.get(d) == top);
        if developmental {
            "development"
        } else {
            "basic"
        }
    }

    /// Dimensions scored high enough to suggest a need, heaviest first.
    pub fn suggested_needs(&self) -> Vec<&'static str> {
        let mut dims: Vec<(&'static str, u8)> = DIMENSIONS
            .iter()
            .map(|(code, _)| (*code, self.get(code)))
            .filter(|(_, s)| *s >= NEED_FROM)
            .collect();
        dims.sort_by_key(|d| std::cmp::Reverse(d.1));
        dims.into_iter().map(|(d, _)| d).collect()
    }
}

/// Checks an adviser's risk level and service type (codes).
pub fn check_choice(field: &str, table: &[(&str, &str)], code: &str) -> Result<(), FieldError> {
    if table.iter().any(|(c, _)| *c == code) {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            format!(
                "未知代码 \"{code}\"，可选：{} (unknown code)",
                crate::domain::vocabulary::codes(table)
            ),
        ))
    }
}

pub fn check_risk(code: &str) -> Result<(), FieldError> {
    check_choice("risk", RISK_LEVELS, code)
}

pub fn check_service_type(code: &str) -> Result<(), FieldError> {
    check_choice("service_type", SERVICE_TYPES, code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scores(pairs: &[(&str, u8)]) -> Scores {
        let mut all: serde_json::Map<String, Value> = DIMENSIONS
            .iter()
            .map(|(c, _)| (c.to_string(), json!(0)))
            .collect();
        for (d, s) in pairs {
            all.insert(d.to_string(), json!(s));
        }
        Scores::parse(&Value::Object(all), "scores").unwrap()
    }

    #[test]
    fn totals_are_normalised_and_70_is_the_line() {
        assert_eq!(scores(&[]).total(), 0);
        let all_four: Vec<(&str, u8)> = DIMENSIONS.iter().map(|(c, _)| (*c, 4)).collect();
        assert_eq!(scores(&all_four).total(), 100);
        // 34 of 48 points is 70.8 → 71: priority; 33 is 68.75 → 69: not.
        let mut pairs: Vec<(&str, u8)> = DIMENSIONS.iter().map(|(c, _)| (*c, 3)).collect();
        pairs[0].1 = 0;
        pairs[1].1 = 1; // 3*10 + 0 + 1 = 31
        assert_eq!(scores(&pairs).total(), 65);
        pairs[0].1 = 3; // 34
        assert_eq!(scores(&pairs).total(), 71);
        assert!(scores(&pairs).priority());
        pairs[1].1 = 0; // 33
        assert_eq!(scores(&pairs).total(), 69);
        assert!(!scores(&pairs).priority());
    }

    #[test]
    fn risk_and_service_type_follow_the_heaviest_needs() {
        let lonely = scores(&[("daily_care", 3), ("social", 2), ("medical", 2)]);
        assert_eq!(lonely.suggested_risk(), "yellow");
        assert_eq!(lonely.suggested_service_type("yellow"), "basic");
        let jobless = scores(&[("employment", 3), ("income", 2)]);
        assert_eq!(jobless.suggested_service_type("yellow"), "development");
        let violence = scores(&[("safety", 4), ("family", 3)]);
        assert_eq!(violence.suggested_risk(), "red");
        assert_eq!(violence.suggested_service_type("red"), "crisis");
        assert_eq!(scores(&[("housing", 1)]).suggested_risk(), "green");
        assert_eq!(
            violence.suggested_needs(),
            ["safety", "family"],
            "heaviest first"
        );
    }

    #[test]
    fn every_dimension_must_be_scored_0_to_4() {
        let errors = Scores::parse(&json!({"housing": 5, "moon": 1}), "scores").unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"scores.moon"));
        assert!(fields.contains(&"scores.housing"));
        assert!(fields.contains(&"scores.safety"));
        assert_eq!(errors.len(), 13);
        assert!(check_risk("red").is_ok() && check_risk("purple").is_err());
        assert!(check_service_type("crisis").is_ok());
    }
}
