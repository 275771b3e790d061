//! Checks a resource document field by field ("parse, don't validate"): the
//! result is a [`ResourceInput`] whose every field is known to be valid, or
//! the list of every field that is not, each named by its path.

use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::Regex;
use serde_json::Value;

use super::model::{Apply, Capacity};
use crate::domain::fields::FieldReader as Reader;
use crate::domain::vocabulary::{self, DIMENSIONS, KINDS, STATUSES};
use crate::domain::RegionCode;
use crate::eligibility::JsonLogicRule;
use crate::error::FieldError;

/// Refs that would collide with routes (`/resources/new`, `/api/v1/resources/search`).
const RESERVED_REFS: &[&str] = &["new", "search"];

static REF_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$").expect("valid regex"));

/// Fields a client may send: the contract's, plus the bookkeeping ones we add
/// to responses (ignored on input, so a fetched document can be sent back).
const CONTRACT_FIELDS: &[&str] = &[
    "ref",
    "kind",
    "title",
    "summary",
    "body",
    "provider",
    "region",
    "dimensions",
    "target_groups",
    "eligibility",
    "benefit",
    "capacity",
    "valid_from",
    "valid_until",
    "apply",
    "status",
];
const OUTPUT_ONLY_FIELDS: &[&str] = &[
    "organisation",
    "version",
    "created_by",
    "created_at",
    "updated_by",
    "updated_at",
    "published_by",
    "published_at",
    "withdrawn_by",
    "withdrawn_at",
];

const MAX_TITLE: usize = 200;
const MAX_SUMMARY: usize = 500;
const MAX_BODY: usize = 100_000;
const MAX_PROVIDER: usize = 100;
const MAX_BENEFIT: usize = 2_000;

/// A resource document whose fields have all been checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceInput {
    pub ref_code: String,
    pub kind: String,
    pub title: String,
    pub summary: String,
    pub body: String,
    /// `None` when absent: a charity's own organisation fills it in.
    pub provider: Option<String>,
    pub region: RegionCode,
    pub dimensions: Vec<String>,
    pub target_groups: Vec<String>,
    pub eligibility: Option<JsonLogicRule>,
    pub benefit: String,
    pub capacity: Option<Capacity>,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub apply: Apply,
    /// `None` when absent: the caller decides (new resources start as drafts).
    pub status: Option<String>,
}

fn non_negative_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().filter(|i| *i >= 0).or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 9.0e15)
                .map(|f| f as i64)
        }),
        _ => None,
    }
}

fn read_capacity(r: &mut Reader<'_>) -> Option<Option<Capacity>> {
    let Some(value) = r.present("capacity") else {
        return Some(None);
    };
    let Value::Object(cap) = value else {
        r.fail(
            "capacity",
            "capacity 必须是 {total, remaining, unit} 对象或 null (capacity must be an object)",
        );
        return None;
    };
    let mut ok = true;
    let total = match cap.get("total").and_then(non_negative_int) {
        Some(t) => t,
        None => {
            r.fail(
                "capacity.total",
                "capacity.total 必须是非负整数 (must be a non-negative integer)",
            );
            ok = false;
            0
        }
    };
    let remaining = match cap.get("remaining") {
        None | Some(Value::Null) => total,
        Some(v) => match non_negative_int(v) {
            Some(n) if n <= total => n,
            Some(_) => {
                r.fail(
                    "capacity.remaining",
                    "capacity.remaining 不能大于 capacity.total (remaining exceeds total)",
                );
                ok = false;
                0
            }
            None => {
                r.fail(
                    "capacity.remaining",
                    "capacity.remaining 必须是非负整数 (must be a non-negative integer)",
                );
                ok = false;
                0
            }
        },
    };
    let unit = match cap.get("unit") {
        Some(Value::String(u)) if !u.trim().is_empty() && u.chars().count() <= 20 => {
            u.trim().to_string()
        }
        _ => {
            r.fail(
                "capacity.unit",
                "capacity.unit 必须是不超过 20 字的计量单位，如 \"份\" (unit is required)",
            );
            ok = false;
            String::new()
        }
    };
    for key in cap.keys() {
        if !["total", "remaining", "unit"].contains(&key.as_str()) {
            r.fail(&format!("capacity.{key}"), "未知字段 (unknown field)");
            ok = false;
        }
    }
    ok.then_some(Some(Capacity {
        total,
        remaining,
        unit,
    }))
}

fn read_apply(r: &mut Reader<'_>) -> Option<Apply> {
    let Some(value) = r.present("apply") else {
        return Some(Apply::default());
    };
    let Value::Object(obj) = value else {
        r.fail(
            "apply",
            "apply 必须是对象 {materials, process, contact, url, address, hours} (apply must be an object)",
        );
        return None;
    };
    let mut ok = true;
    let mut apply = Apply::default();
    for (key, v) in obj {
        let path = format!("apply.{key}");
        match (key.as_str(), v) {
            (_, Value::Null) => {}
            ("materials", Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    match item.as_str().map(str::trim) {
                        Some(s) if !s.is_empty() && s.chars().count() <= 200 => {
                            apply.materials.push(s.to_string())
                        }
                        _ => {
                            r.fail(
                                &format!("{path}[{i}]"),
                                "申请材料必须是非空文字 (must be non-empty text)",
                            );
                            ok = false;
                        }
                    }
                }
            }
            ("materials", _) => {
                r.fail(
                    &path,
                    "apply.materials 必须是文字数组 (must be an array of strings)",
                );
                ok = false;
            }
            ("process" | "contact" | "address" | "hours", Value::String(s))
                if s.chars().count() <= 2_000 =>
            {
                let s = s.trim().to_string();
                match key.as_str() {
                    "process" => apply.process = s,
                    "contact" => apply.contact = s,
                    "address" => apply.address = s,
                    _ => apply.hours = s,
                }
            }
            ("process" | "contact" | "address" | "hours", _) => {
                r.fail(
                    &path,
                    format!("{path} 必须是不超过 2000 字的文字 (must be text)"),
                );
                ok = false;
            }
            ("url", Value::String(s)) if s.trim().is_empty() => {}
            ("url", Value::String(s)) => match url::Url::parse(s.trim()) {
                Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {
                    apply.url = Some(s.trim().to_string())
                }
                _ => {
                    r.fail(
                        &path,
                        "apply.url 必须是 http(s) 网址 (must be an http or https URL)",
                    );
                    ok = false;
                }
            },
            ("url", _) => {
                r.fail(&path, "apply.url 必须是字符串 (must be a string)");
                ok = false;
            }
            _ => {
                r.fail(&path, "未知字段 (unknown field)");
                ok = false;
            }
        }
    }
    ok.then_some(apply)
}

/// Validates a resource document. On success every field of the result is
/// valid; on failure every bad field is listed.
pub fn validate_resource(value: &Value) -> Result<ResourceInput, Vec<FieldError>> {
    let Value::Object(obj) = value else {
        return Err(vec![FieldError::new(
            "$",
            "资源必须是 JSON 对象 (a resource must be a JSON object)",
        )]);
    };
    let mut r = Reader::new(obj);
    for key in obj.keys() {
        if !CONTRACT_FIELDS.contains(&key.as_str()) && !OUTPUT_ONLY_FIELDS.contains(&key.as_str()) {
            r.fail(key, format!("未知字段 \"{key}\" (unknown field)"));
        }
    }

    let ref_code = r.string("ref", true, 64);
    if let Some(code) = &ref_code {
        if RESERVED_REFS.iter().any(|r| r.eq_ignore_ascii_case(code)) {
            r.fail("ref", format!("ref 不能是保留字 \"{code}\" (reserved)"));
        } else if !REF_RE.is_match(code) {
            r.fail(
                "ref",
                "ref 只能包含字母、数字、点、下划线和连字符，2–64 位 (ref must be 2-64 letters, digits, '.', '_' or '-')",
            );
        }
    }
    let kind = r.string("kind", true, 20);
    if let Some(k) = &kind {
        if !vocabulary::is_known(KINDS, k) {
            r.fail(
                "kind",
                format!(
                    "未知资源类型 \"{k}\"，可选：{} (unknown kind)",
                    vocabulary::codes(KINDS)
                ),
            );
        }
    }
    let title = r.string("title", true, MAX_TITLE);
    let summary = r.string("summary", false, MAX_SUMMARY).unwrap_or_default();
    let body = r.string("body", false, MAX_BODY).unwrap_or_default();
    let provider = r
        .string("provider", false, MAX_PROVIDER)
        .filter(|p| !p.is_empty());
    let region = match r.string("region", true, 30) {
        Some(s) => match RegionCode::parse(&s) {
            Ok(code) => Some(code),
            Err(msg) => {
                r.fail("region", msg);
                None
            }
        },
        None => None,
    };
    let dimensions = r.codes("dimensions", DIMENSIONS, true);
    let target_groups = r.target_groups("target_groups");
    let eligibility = match r.present("eligibility") {
        None => Some(None),
        Some(rule) => match JsonLogicRule::parse(rule) {
            Ok(parsed) => Some(Some(parsed)),
            Err(msg) => {
                r.fail(
                    "eligibility",
                    format!("eligibility 不是合法的 JsonLogic 规则：{msg}"),
                );
                None
            }
        },
    };
    let benefit = r.string("benefit", false, MAX_BENEFIT).unwrap_or_default();
    let capacity = read_capacity(&mut r);
    if let (Some(Some(_)), Some("policy")) = (&capacity, kind.as_deref()) {
        r.fail(
            "capacity",
            "政策类资源没有名额，capacity 应为空 (policies have no capacity)",
        );
    }
    let valid_from = r.date("valid_from");
    let valid_until = r.date("valid_until");
    if let (Some(Some(from)), Some(Some(until))) = (valid_from, valid_until) {
        if until < from {
            r.fail(
                "valid_until",
                format!(
                    "有效期截止日 {until} 早于起始日 {from} (valid_until is before valid_from)"
                ),
            );
        }
    }
    let apply = read_apply(&mut r);
    let status = r.string("status", false, 20);
    if let Some(s) = &status {
        if !vocabulary::is_known(STATUSES, s) {
            r.fail(
                "status",
                format!(
                    "未知状态 \"{s}\"，可选：{} (unknown status)",
                    vocabulary::codes(STATUSES)
                ),
            );
        }
    }

    if !r.errors.is_empty() {
        return Err(r.errors);
    }
    // Every `None` below was reported as an error above, so these all hold.
    match (
        ref_code,
        kind,
        title,
        region,
        dimensions,
        target_groups,
        eligibility,
        capacity,
        valid_from,
        valid_until,
        apply,
    ) {
        (
            Some(ref_code),
            Some(kind),
            Some(title),
            Some(region),
            Some(dimensions),
            Some(target_groups),
            Some(eligibility),
            Some(capacity),
            Some(valid_from),
            Some(valid_until),
            Some(apply),
        ) => Ok(ResourceInput {
            ref_code,
            kind,
            title,
            summary,
            body,
            provider,
            region,
            dimensions,
            target_groups,
            eligibility,
            benefit,
            capacity,
            valid_from,
            valid_until,
            apply,
            status,
        }),
        _ => Err(vec![FieldError::new(
            "$",
            "资源数据不完整 (incomplete resource)",
        )]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({
            "ref": "P-SH-DIBAO", "kind": "policy", "title": "上海市最低生活保障",
            "summary": "差额补助", "body": "", "provider": "上海市民政局", "region": "310000",
            "dimensions": ["income"], "target_groups": ["dibao", "low_income"],
            "eligibility": {"<": [{"var": "income_per_capita"}, 1510]},
            "benefit": "差额补足", "capacity": null, "valid_from": "2025-07-01", "valid_until": null,
            "apply": {"materials": ["身份证"], "process": "街道受理", "contact": "021-1", "url": null},
            "status": "published"
        })
    }

    fn fields_of(v: Value) -> Vec<String> {
        validate_resource(&v)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn the_spec_example_is_valid() {
        let r = validate_resource(&valid()).unwrap();
        assert_eq!(r.ref_code, "P-SH-DIBAO");
        assert_eq!(r.region.scope_prefix(), "31");
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut v = valid();
        v["kind"] = json!("gift");
        v["dimensions"] = json!(["income", "wealth"]);
        v["region"] = json!("31-01");
        v["valid_from"] = json!("2025/07/01");
        v["eligibility"] = json!({"nope": 1});
        v["color"] = json!("red");
        let fields = fields_of(v);
        for f in [
            "kind",
            "dimensions[1]",
            "region",
            "valid_from",
            "eligibility",
            "color",
        ] {
            assert!(
                fields.contains(&f.to_string()),
                "{f} missing from {fields:?}"
            );
        }
    }

    #[test]
    fn capacity_rules() {
        let mut v = valid();
        v["capacity"] = json!({"total": 5, "remaining": 1, "unit": "份"});
        assert_eq!(fields_of(v.clone()), vec!["capacity"]);
        v["kind"] = json!("material");
        assert!(validate_resource(&v).is_ok());
        v["capacity"] = json!({"total": 5, "remaining": 6, "unit": "份"});
        assert_eq!(fields_of(v.clone()), vec!["capacity.remaining"]);
        v["capacity"] = json!({"total": -1, "unit": ""});
        assert_eq!(fields_of(v), vec!["capacity.total", "capacity.unit"]);
    }

    #[test]
    fn dates_must_be_ordered() {
        let mut v = valid();
        v["valid_until"] = json!("2025-01-01");
        assert_eq!(fields_of(v), vec!["valid_until"]);
    }
}
