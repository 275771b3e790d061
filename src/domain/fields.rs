//! Reading a JSON document field by field ("parse, don't validate"),
//! collecting every field that is wrong, each named by its path, with a
//! message in Chinese and English.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::Regex;
use serde_json::{Map, Value};

use crate::domain::vocabulary::{self, TARGET_GROUPS};
use crate::error::FieldError;

static GROUP_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z][a-z0-9_]{1,39}$").expect("valid regex"));

/// Collects field errors while reading one JSON object.
pub struct FieldReader<'a> {
    obj: &'a Map<String, Value>,
    /// The path of this object inside the document (`members[1]`), put
    /// before every field named in an error.
    prefix: String,
    pub errors: Vec<FieldError>,
}

impl<'a> FieldReader<'a> {
    pub fn new(obj: &'a Map<String, Value>) -> FieldReader<'a> {
        FieldReader::nested(obj, "")
    }

    /// A reader for an object found at `prefix` in a larger document.
    pub fn nested(obj: &'a Map<String, Value>, prefix: &str) -> FieldReader<'a> {
        FieldReader {
            obj,
            prefix: prefix.to_string(),
            errors: Vec::new(),
        }
    }

    pub fn obj(&self) -> &'a Map<String, Value> {
        self.obj
    }

    /// The full path of `field`.
    pub fn path(&self, field: &str) -> String {
        if self.prefix.is_empty() {
            field.to_string()
        } else {
            format!("{}.{field}", self.prefix)
        }
    }

    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        let path = self.path(field);
        self.errors.push(FieldError::new(path, message));
    }

    pub fn present(&self, field: &str) -> Option<&'a Value> {
        match self.obj.get(field) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v),
        }
    }

    pub fn string(&mut self, field: &str, required: bool, max_chars: usize) -> Option<String> {
        match self.present(field) {
            None if required => {
                self.fail(field, format!("{field} 为必填项 ({field} is required)"));
                None
            }
            None => None,
            Some(Value::String(s)) => {
                let s = s.trim().to_string();
                if required && s.is_empty() {
                    self.fail(
                        field,
                        format!("{field} 不能为空 ({field} must not be empty)"),
                    );
                    None
                } else if s.chars().count() > max_chars {
                    self.fail(
                        field,
                        format!("{field} 不能超过 {max_chars} 个字 ({field} is too long)"),
                    );
                    None
                } else {
                    Some(s)
                }
            }
            Some(_) => {
                self.fail(
                    field,
                    format!("{field} 必须是字符串 ({field} must be a string)"),
                );
                None
            }
        }
    }

    /// An array of codes from `table`, without duplicates.
    pub fn codes(
        &mut self,
        field: &str,
        table: &[(&str, &str)],
        required: bool,
    ) -> Option<Vec<String>> {
        let Some(value) = self.present(field) else {
            if required {
                self.fail(
                    field,
                    format!("{field} 为必填项，至少选择一项 ({field} is required)"),
                );
                return None;
            }
            return Some(Vec::new());
        };
        let Value::Array(items) = value else {
            self.fail(
                field,
                format!("{field} 必须是代码数组 ({field} must be an array of codes)"),
            );
            return None;
        };
        if required && items.is_empty() {
            self.fail(
                field,
                format!("{field} 至少选择一项 ({field} must not be empty)"),
            );
            return None;
        }
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item.as_str() {
                Some(code) if vocabulary::is_known(table, code) => {
                    if seen.insert(code.to_string()) {
                        out.push(code.to_string());
                    }
                }
                Some(code) => {
                    self.fail(
                        &format!("{field}[{i}]"),
                        format!(
                            "未知代码 \"{code}\"，可选：{} (unknown code)",
                            vocabulary::codes(table)
                        ),
                    );
                    return None;
                }
                None => {
                    self.fail(
                        &format!("{field}[{i}]"),
                        "必须是字符串代码 (must be a string code)",
                    );
                    return None;
                }
            }
        }
        Some(out)
    }

    /// `true` or `false`; `None` (with an error) when required and absent
    /// or not a boolean.
    pub fn boolean(&mut self, field: &str, required: bool) -> Option<Option<bool>> {
        match self.present(field) {
            None if required => {
                self.fail(field, format!("{field} 为必填项 ({field} is required)"));
                None
            }
            None => Some(None),
            Some(Value::Bool(b)) => Some(Some(*b)),
            Some(_) => {
                self.fail(
                    field,
                    format!("{field} 必须是 true 或 false ({field} must be a boolean)"),
                );
                None
            }
        }
    }

    /// A number within `min..=max`; absent is `Some(None)`.
    pub fn number(&mut self, field: &str, min: f64, max: f64) -> Option<Option<f64>> {
        match self.present(field) {
            None => Some(None),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(x) if (min..=max).contains(&x) => Some(Some(x)),
                _ => {
                    self.fail(
                        field,
                        format!("{field} 必须在 {min} 到 {max} 之间 ({field} is out of range)"),
                    );
                    None
                }
            },
            Some(_) => {
                self.fail(
                    field,
                    format!("{field} 必须是数字 ({field} must be a number)"),
                );
                None
            }
        }
    }

    /// A whole number within `min..=max`; absent is `Some(None)`.
    pub fn integer(&mut self, field: &str, min: i64, max: i64) -> Option<Option<i64>> {
        match self.present(field) {
            None => Some(None),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(x) if (min..=max).contains(&x) => Some(Some(x)),
                _ => {
                    self.fail(
                        field,
                        format!(
                            "{field} 必须是 {min} 到 {max} 之间的整数 ({field} must be a whole number in range)"
                        ),
                    );
                    None
                }
            },
            Some(_) => {
                self.fail(
                    field,
                    format!("{field} 必须是整数 ({field} must be a whole number)"),
                );
                None
            }
        }
    }

    /// A nested object; absent is `Some(None)`.
    pub fn object(&mut self, field: &str) -> Option<Option<&'a Map<String, Value>>> {
        match self.present(field) {
            None => Some(None),
            Some(Value::Object(o)) => Some(Some(o)),
            Some(_) => {
                self.fail(
                    field,
                    format!("{field} 必须是对象 ({field} must be an object)"),
                );
                None
            }
        }
    }

    /// One code from `table`; absent is `Some(None)` unless required.
    pub fn code(
        &mut self,
        field: &str,
        table: &[(&str, &str)],
        required: bool,
    ) -> Option<Option<String>> {
        match self.present(field) {
            None if required => {
                self.fail(field, format!("{field} 为必填项 ({field} is required)"));
                None
            }
            None => Some(None),
            Some(Value::String(code)) if vocabulary::is_known(table, code.trim()) => {
                Some(Some(code.trim().to_string()))
            }
            Some(Value::String(code)) if code.trim().is_empty() && !required => Some(None),
            Some(other) => {
                let shown = other
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| other.to_string());
                self.fail(
                    field,
                    format!(
                        "未知代码 \"{shown}\"，可选：{} (unknown code)",
                        vocabulary::codes(table)
                    ),
                );
                None
            }
        }
    }

    /// Errors for every field of the object not in `known`.
    pub fn reject_unknown(&mut self, known: &[&str]) {
        let unknown: Vec<String> = self
            .obj
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .cloned()
            .collect();
        for key in unknown {
            self.fail(&key, format!("未知字段 \"{key}\" (unknown field)"));
        }
    }

    pub fn date(&mut self, field: &str) -> Option<Option<NaiveDate>> {
        match self.present(field) {
            None => Some(None),
            Some(Value::String(s)) if s.trim().is_empty() => Some(None),
            Some(Value::String(s)) => match NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
                Ok(d) => Some(Some(d)),
                Err(_) => {
                    self.fail(
                        field,
                        format!("{field} 必须是 YYYY-MM-DD 格式的日期 (got \"{s}\")"),
                    );
                    None
                }
            },
            Some(_) => {
                self.fail(field, format!("{field} 必须是 YYYY-MM-DD 字符串或 null"));
                None
            }
        }
    }

    /// Target groups are an open list (SPEC): the known codes and any other
    /// well-formed code (lower-case letters, digits, `_`).
    pub fn target_groups(&mut self, field: &str) -> Option<Vec<String>> {
        let r = self;
        let Some(value) = r.present(field) else {
            return Some(Vec::new());
        };
        let Value::Array(items) = value else {
            r.fail(
                field,
                format!("{field} 必须是代码数组 (must be an array of codes)"),
            );
            return None;
        };
        let mut out: Vec<String> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item.as_str() {
                Some(code)
                    if vocabulary::is_known(TARGET_GROUPS, code) || GROUP_RE.is_match(code) =>
                {
                    if !out.iter().any(|c| c == code) {
                        out.push(code.to_string());
                    }
                }
                Some(code) => {
                    r.fail(
                        &format!("{field}[{i}]"),
                        format!(
                            "服务对象代码 \"{code}\" 格式不对：应为小写字母、数字和下划线，如 {} (malformed code)",
                            vocabulary::codes(&TARGET_GROUPS[..4])
                        ),
                    );
                    return None;
                }
                None => {
                    r.fail(
                        &format!("{field}[{i}]"),
                        "必须是字符串代码 (must be a string code)",
                    );
                    return None;
                }
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::vocabulary::DIMENSIONS;
    use serde_json::json;

    #[test]
    fn nested_paths_and_typed_fields() {
        let doc = json!({"consent": "yes", "area_m2": 32.5, "grade": 7, "dimension": "housing",
                         "other": "sleep", "unknown": 1});
        let obj = doc.as_object().unwrap();
        let mut r = FieldReader::nested(obj, "members[1]");
        assert_eq!(r.boolean("consent", true), None);
        assert_eq!(r.number("area_m2", 0.0, 10_000.0), Some(Some(32.5)));
        assert_eq!(r.integer("grade", 0, 4), None);
        assert_eq!(r.integer("missing", 0, 4), Some(None));
        assert_eq!(
            r.code("dimension", DIMENSIONS, true),
            Some(Some("housing".into()))
        );
        assert_eq!(r.code("other", DIMENSIONS, false), None);
        assert_eq!(r.code("absent", DIMENSIONS, false), Some(None));
        r.reject_unknown(&["consent", "area_m2", "grade", "dimension", "other"]);
        let fields: Vec<&str> = r.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "members[1].consent",
                "members[1].grade",
                "members[1].other",
                "members[1].unknown"
            ]
        );
        assert!(r.errors[1].message.contains("0 到 4"));
    }
}
