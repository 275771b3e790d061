//! Open Referral HSDS 3.0: the service, funding and material resources of
//! the catalogue as HSDS `service` records (with their organization,
//! location, service area, required documents, phone and schedule), and
//! HSDS data from other directories read back into catalogue resources.
//!
//! What HSDS has a field for goes in that field. What only aidmatch has
//! (its ref, kind, dimensions, target groups, benefit, capacity, validity,
//! JsonLogic rule) travels as HSDS `attributes` under `aidmatch_*`
//! taxonomies, so an export read back gives the same resources. Data from
//! elsewhere has none of those: its ref is derived from its id, its
//! dimension guessed from its words (or given), its age limits become an
//! eligibility rule, and it arrives as a draft for an editor to review.

use chrono::{NaiveDate, SecondsFormat};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use diesel::prelude::*;

use super::model::ResourceRow;
use crate::db::schema::resources;
use crate::db::DbConnection;
use crate::domain::region_names::RegionNames;
use crate::domain::vocabulary::{label, DIMENSIONS, KINDS, TARGET_GROUPS};
use crate::error::AppError;
use crate::import_records::{Position, RecordError};

/// The kinds HSDS describes (a policy is not a service).
pub const KINDS_EXPORTED: &[&str] = &["service", "funding", "material"];

/// Names ids: the same ref always gets the same HSDS id.
const NAMESPACE: Uuid = Uuid::from_u128(0x6a1d_3c2e_9b7f_4e0a_8c55_1f2e_3d4c_5b6a);

fn id_for(kind: &str, key: &str) -> String {
    Uuid::new_v5(&NAMESPACE, format!("{kind}:{key}").as_bytes()).to_string()
}

const TAX_REF: &str = "aidmatch_ref";
const TAX_KIND: &str = "aidmatch_kind";
const TAX_DIMENSION: &str = "aidmatch_dimension";
const TAX_TARGET: &str = "aidmatch_target_group";
const TAX_BENEFIT: &str = "aidmatch_benefit";
const TAX_CAPACITY: &str = "aidmatch_capacity";
const TAX_VALID_FROM: &str = "aidmatch_valid_from";
const TAX_VALID_UNTIL: &str = "aidmatch_valid_until";
const TAX_RULE: &str = "aidmatch_eligibility_rule";
const TAX_SUMMARY: &str = "aidmatch_summary";
/// `service_area.extent_type` of an aidmatch region code.
const REGION_EXTENT: &str = "aidmatch_region";

/// One attribute: `value` under the term `code` of `taxonomy`.
fn attribute(service_id: &str, taxonomy: &str, code: &str, name: &str, value: &str) -> Value {
    json!({
        "id": id_for("attribute", &format!("{service_id}:{taxonomy}:{code}:{value}")),
        "link_id": service_id,
        "link_type": "service",
        "link_entity": "service",
        "value": value,
        "taxonomy_term": {
            "id": id_for("term", &format!("{taxonomy}:{code}")),
            "code": code,
            "name": name,
            "description": name,
            "taxonomy": taxonomy,
            "language": "zh",
        },
    })
}

/// The HSDS `service` record of one resource.
pub fn service_of(r: &ResourceRow, organisation: Option<&str>, regions: &RegionNames) -> Value {
    let id = id_for("service", &r.ref_code);
    let apply = r.apply_info();
    let provider = if r.provider.is_empty() {
        organisation.unwrap_or_default().to_string()
    } else {
        r.provider.clone()
    };
    let org_id = id_for("organization", &provider);
    let mut description = r.summary.clone();
    if !r.body.is_empty() {
        if !description.is_empty() {
            description.push_str("\n\n");
        }
        description.push_str(&r.body);
    }
    let mut eligibility = Vec::new();
    let groups = r.target_group_labels();
    if !groups.is_empty() {
        eligibility.push(format!("服务对象：{}", groups.join("、")));
    }
    if r.eligibility.is_some() {
        eligibility.push("另有资格条件，aidmatch 按家庭情况逐条判断".into());
    }

    let mut attributes = vec![
        attribute(&id, TAX_REF, "ref", "aidmatch 编号", &r.ref_code),
        attribute(&id, TAX_KIND, &r.kind, label(KINDS, &r.kind), &r.kind),
        attribute(&id, TAX_SUMMARY, "summary", "摘要", &r.summary),
    ];
    for d in r.dimension_codes() {
        attributes.push(attribute(&id, TAX_DIMENSION, &d, label(DIMENSIONS, &d), &d));
    }
    for g in r.target_group_codes() {
        attributes.push(attribute(&id, TAX_TARGET, &g, label(TARGET_GROUPS, &g), &g));
    }
    if !r.benefit.is_empty() {
        attributes.push(attribute(
            &id,
            TAX_BENEFIT,
            "benefit",
            "待遇/内容",
            &r.benefit,
        ));
    }
    if let Some(c) = r.capacity() {
        attributes.push(attribute(
            &id,
            TAX_CAPACITY,
            "capacity",
            "名额",
            &json!({"total": c.total, "remaining": c.remaining, "unit": c.unit}).to_string(),
        ));
    }
    if let Some(d) = r.valid_from {
        attributes.push(attribute(
            &id,
            TAX_VALID_FROM,
            "valid_from",
            "生效日期",
            &d.to_string(),
        ));
    }
    if let Some(d) = r.valid_until {
        attributes.push(attribute(
            &id,
            TAX_VALID_UNTIL,
            "valid_until",
            "截止日期",
            &d.to_string(),
        ));
    }
    if let Some(rule) = &r.eligibility {
        attributes.push(attribute(
            &id,
            TAX_RULE,
            "jsonlogic",
            "资格规则（JsonLogic）",
            rule,
        ));
    }

    let mut service = json!({
        "id": id,
        "organization_id": org_id,
        "name": r.title,
        "description": description,
        "status": if r.status == "published" { "active" } else { "defunct" },
        "application_process": apply.process,
        "eligibility_description": eligibility.join("；"),
        "last_modified": r.updated_at.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true),
        "organization": {
            "id": org_id,
            "name": provider,
            "description": organisation
                .filter(|o| *o != provider)
                .map(|o| format!("{provider}（{o}）"))
                .unwrap_or_else(|| provider.clone()),
        },
        "service_areas": [{
            "id": id_for("service_area", &format!("{}:{}", r.ref_code, r.region)),
            "service_id": id,
            "name": regions.label(&r.region),
            "description": format!("适用地区代码 {}", r.region),
            "extent": r.region,
            "extent_type": REGION_EXTENT,
        }],
        "required_documents": apply.materials.iter().enumerate().map(|(i, m)| json!({
            "id": id_for("required_document", &format!("{}:{i}", r.ref_code)),
            "service_id": id,
            "document": m,
        })).collect::<Vec<_>>(),
        "attributes": attributes,
    });
    let obj = service.as_object_mut().expect("an object");
    if let Some(u) = &apply.url {
        obj.insert("url".into(), json!(u));
    }
    if !apply.contact.is_empty() {
        obj.insert(
            "phones".into(),
            json!([{
                "id": id_for("phone", &r.ref_code),
                "service_id": id,
                "number": apply.contact,
            }]),
        );
    }
    if !apply.hours.is_empty() {
        obj.insert(
            "schedules".into(),
            json!([{
                "id": id_for("schedule", &r.ref_code),
                "service_id": id,
                "description": apply.hours,
            }]),
        );
    }
    if !apply.address.is_empty() {
        let location_id = id_for("location", &format!("{}:{}", provider, apply.address));
        obj.insert(
            "service_at_locations".into(),
            json!([{
                "id": id_for("service_at_location", &r.ref_code),
                "service_id": id,
                "location_id": location_id,
                "location": {
                    "id": location_id,
                    "location_type": "physical",
                    "organization_id": org_id,
                    "name": provider,
                    "addresses": [{
                        "id": id_for("address", &format!("{}:{}", provider, apply.address)),
                        "location_id": location_id,
                        "address_1": apply.address,
                        "city": regions.label(&r.region),
                        "state_province": "",
                        "postal_code": "",
                        "country": "CN",
                        "address_type": "physical",
                    }],
                },
            }]),
        );
    }
    service
}

/// A page of services as the HSDS API's `/services` returns it (one page
/// holding them all).
pub fn page_of(services: Vec<Value>) -> Value {
    let n = services.len();
    json!({
        "total_items": n,
        "total_pages": 1,
        "page_number": 1,
        "size": n,
        "first_page": true,
        "last_page": true,
        "empty": n == 0,
        "contents": services,
    })
}

/// How data from elsewhere is read in.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Region for services that do not carry an aidmatch region.
    pub region: Option<String>,
    /// Dimension for services whose words suggest none.
    pub dimension: Option<String>,
    /// Publish active services from elsewhere at once (else drafts).
    pub publish: bool,
}

/// The services of an HSDS document: one service, an array of them, a
/// page (`contents`), or an organization with its `services`.
fn services_in(doc: &Value) -> Result<Vec<(String, Value)>, RecordError> {
    let whole = |message: &str| RecordError {
        position: None,
        record_ref: None,
        field: None,
        message: message.into(),
    };
    match doc {
        Value::Array(items) => Ok(items
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("[{i}]"), s.clone()))
            .collect()),
        Value::Object(o) if o.contains_key("contents") => match &o["contents"] {
            Value::Array(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, s)| (format!("contents[{i}]"), s.clone()))
                .collect()),
            _ => Err(whole("contents 必须是数组 (contents must be an array)")),
        },
        Value::Object(o) if o.get("services").is_some_and(Value::is_array) => {
            // An organization: its services belong to it.
            let mut organisation = o.clone();
            organisation.remove("services");
            Ok(o["services"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(i, s)| {
                    let mut s = s.clone();
                    if let Value::Object(m) = &mut s {
                        m.entry("organization")
                            .or_insert_with(|| Value::Object(organisation.clone()));
                    }
                    (format!("services[{i}]"), s)
                })
                .collect())
        }
        Value::Object(o) if o.contains_key("name") => Ok(vec![(String::new(), doc.clone())]),
        _ => Err(whole(
            "不是 HSDS 3.0 数据：应为 service 记录、其数组、分页列表（contents）或带 services 的 organization (not HSDS 3.0 service data)",
        )),
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or_default()
        .to_string()
}

/// The values of the attributes under `taxonomy`.
fn attributes_of(service: &Value, taxonomy: &str) -> Vec<String> {
    service
        .get("attributes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|a| {
            a.pointer("/taxonomy_term/taxonomy")
                .and_then(Value::as_str)
                .is_some_and(|t| t == taxonomy)
        })
        .filter_map(|a| a.get("value").and_then(Value::as_str).map(str::to_string))
        .collect()
}

fn first_attribute(service: &Value, taxonomy: &str) -> Option<String> {
    attributes_of(service, taxonomy).into_iter().next()
}

/// Words that suggest a dimension, for services from elsewhere.
const DIMENSION_WORDS: &[(&str, &[&str])] = &[
    (
        "mental",
        &["counsel", "mental", "psycholog", "心理", "咨询", "情绪"],
    ),
    (
        "legal",
        &["legal", "law", "advice", "法律", "维权", "援助律师"],
    ),
    (
        "housing",
        &[
            "housing", "shelter", "homeless", "rent", "住房", "租房", "安置",
        ],
    ),
    (
        "employment",
        &["employment", "job", "career", "就业", "岗位", "培训"],
    ),
    (
        "education",
        &["education", "school", "tutor", "教育", "学业", "助学"],
    ),
    (
        "medical",
        &[
            "medical", "health", "clinic", "doctor", "医疗", "就医", "药",
        ],
    ),
    (
        "rehabilitation",
        &["rehabilitation", "therapy", "康复", "护理"],
    ),
    (
        "daily_care",
        &["meal", "food", "care", "助餐", "照料", "养老"],
    ),
    (
        "income",
        &["benefit", "cash", "financial", "救助金", "补贴", "低保"],
    ),
    ("family", &["family", "parent", "家庭", "亲子"]),
    ("safety", &["safety", "violence", "abuse", "安全", "家暴"]),
];

fn guess_dimension(words: &str) -> Option<&'static str> {
    let lower = words.to_lowercase();
    DIMENSION_WORDS
        .iter()
        .find(|(_, ws)| ws.iter().any(|w| lower.contains(w)))
        .map(|(d, _)| *d)
}

/// "周四、周五 10:00–18:00；说明" from a schedule record.
fn schedule_words(s: &Value) -> String {
    const DAYS: &[(&str, &str)] = &[
        ("MO", "周一"),
        ("TU", "周二"),
        ("WE", "周三"),
        ("TH", "周四"),
        ("FR", "周五"),
        ("SA", "周六"),
        ("SU", "周日"),
    ];
    let mut parts = Vec::new();
    let days: Vec<&str> = text(s, "byday")
        .split(',')
        .filter_map(|d| DAYS.iter().find(|(c, _)| *c == d.trim()).map(|(_, l)| *l))
        .collect();
    if !days.is_empty() {
        parts.push(days.join("、"));
    }
    let (opens, closes) = (text(s, "opens_at"), text(s, "closes_at"));
    let short = |t: &str| t.get(..5).unwrap_or(t).to_string();
    if !opens.is_empty() && !closes.is_empty() {
        parts.push(format!("{}–{}", short(&opens), short(&closes)));
    }
    let mut out = parts.join(" ");
    let description = text(s, "description");
    if !description.is_empty() {
        if out.is_empty() {
            out = description;
        } else {
            out = format!("{out}（{description}）");
        }
    }
    out
}

fn address_words(a: &Value) -> String {
    [
        "address_1",
        "address_2",
        "city",
        "region",
        "state_province",
        "postal_code",
    ]
    .iter()
    .map(|k| text(a, k))
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(", ")
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// One HSDS service as an aidmatch resource document (SPEC "Resource").
fn resource_of(service: &Value, options: &ReadOptions) -> Result<Value, Vec<(String, String)>> {
    let mut problems = Vec::new();
    if !service.is_object() {
        return Err(vec![(
            String::new(),
            "service 必须是 JSON 对象 (a service must be an object)".into(),
        )]);
    }
    let id = text(service, "id");
    let name = text(service, "name");
    if name.is_empty() {
        problems.push(("name".into(), "name 为必填项 (name is required)".into()));
    }
    let ours = first_attribute(service, TAX_REF);
    let ref_code = match &ours {
        Some(r) => r.clone(),
        None if !id.is_empty() => {
            let clean: String = id
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .take(56)
                .collect();
            format!("HSDS-{clean}")
        }
        None => {
            problems.push(("id".into(), "id 为必填项 (id is required)".into()));
            String::new()
        }
    };
    let description = text(service, "description");
    let (summary, body) = match (&ours, first_attribute(service, TAX_SUMMARY)) {
        (Some(_), Some(summary)) => {
            let body = description
                .strip_prefix(summary.as_str())
                .map(|b| b.trim_start_matches("\n\n").to_string())
                .unwrap_or_else(|| description.clone());
            (summary, body)
        }
        _ => {
            let first = description
                .split_inclusive(['。', '.', '\n'])
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            let summary = truncate(&first, 500);
            let mut body = if description.chars().count() > summary.chars().count() {
                description.clone()
            } else {
                String::new()
            };
            for (key, title) in [
                ("eligibility_description", "适用对象"),
                ("fees_description", "费用"),
                ("alert", "提示"),
                ("interpretation_services", "语言服务"),
                ("wait_time", "等候时间"),
            ] {
                let t = text(service, key);
                if !t.is_empty() {
                    if !body.is_empty() {
                        body.push_str("\n\n");
                    }
                    body.push_str(&format!("{title}：{t}"));
                }
            }
            (summary, body)
        }
    };
    let organisation = service.get("organization").cloned().unwrap_or(Value::Null);
    let provider = truncate(&text(&organisation, "name"), 100);
    if provider.is_empty() {
        problems.push((
            "organization.name".into(),
            "缺少提供机构（organization.name） (the service names no organization)".into(),
        ));
    }
    let region = service
        .get("service_areas")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|a| text(a, "extent_type") == REGION_EXTENT)
        .map(|a| text(a, "extent"))
        .or_else(|| options.region.clone());
    if region.is_none() {
        problems.push((
            "service_areas".into(),
            "没有 aidmatch 地区代码：请指定导入地区（如 310118） (no region: give one for data from elsewhere)".into(),
        ));
    }
    let kind = first_attribute(service, TAX_KIND).unwrap_or_else(|| "service".into());
    let mut dimensions = attributes_of(service, TAX_DIMENSION);
    if dimensions.is_empty() {
        let words = format!(
            "{name} {description} {}",
            service
                .get("attributes")
                .map(Value::to_string)
                .unwrap_or_default()
        );
        match guess_dimension(&words).map(str::to_string).or(options.dimension.clone()) {
            Some(d) => dimensions.push(d),
            None => problems.push((
                "name".into(),
                "无法判断需求维度：请指定导入的默认维度 (no dimension could be inferred; give a default)".into(),
            )),
        }
    }
    let mut target_groups = attributes_of(service, TAX_TARGET);
    let min_age = service.get("minimum_age").and_then(Value::as_f64);
    let max_age = service.get("maximum_age").and_then(Value::as_f64);
    let eligibility = match first_attribute(service, TAX_RULE) {
        Some(rule) => match serde_json::from_str::<Value>(&rule) {
            Ok(v) => v,
            Err(e) => {
                problems.push((
                    "attributes".into(),
                    format!("资格规则不是合法的 JSON：{e} (invalid rule)"),
                ));
                Value::Null
            }
        },
        None => {
            let mut conditions = Vec::new();
            if let Some(min) = min_age.filter(|a| *a > 0.0) {
                conditions.push(json!({">=": [{"var": "age"}, min]}));
                if min >= 60.0 && !target_groups.iter().any(|g| g == "elderly") {
                    target_groups.push("elderly".into());
                }
            }
            if let Some(max) = max_age.filter(|a| *a < 120.0) {
                conditions.push(json!({"<=": [{"var": "age"}, max]}));
                if max <= 18.0 && !target_groups.iter().any(|g| g == "child") {
                    target_groups.push("child".into());
                }
            }
            match conditions.len() {
                0 => Value::Null,
                1 => json!({"some": [{"var": "members"}, conditions[0]]}),
                _ => json!({"some": [{"var": "members"}, {"and": conditions}]}),
            }
        }
    };
    let capacity = match first_attribute(service, TAX_CAPACITY) {
        Some(c) => serde_json::from_str::<Value>(&c).unwrap_or_else(|e| {
            problems.push((
                "attributes".into(),
                format!("名额不是合法的 JSON：{e} (invalid capacity)"),
            ));
            Value::Null
        }),
        None => Value::Null,
    };
    let date_attr = |tax: &str| {
        first_attribute(service, tax)
            .filter(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok())
            .map(Value::from)
            .unwrap_or(Value::Null)
    };

    // How to apply.
    let materials: Vec<String> = service
        .get("required_documents")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|d| truncate(&text(d, "document"), 200))
        .filter(|d| !d.is_empty())
        .collect();
    let phone = service
        .get("phones")
        .and_then(Value::as_array)
        .and_then(|p| p.first())
        .map(|p| text(p, "number").trim_matches('"').to_string())
        .or_else(|| {
            service
                .pointer("/contacts/0/phones/0/number")
                .and_then(Value::as_str)
                .map(|s| s.trim_matches('"').to_string())
        })
        .unwrap_or_default();
    let email = text(service, "email");
    let contact = match (phone.is_empty(), email.is_empty()) {
        (false, false) => format!("{phone}；{email}"),
        (false, true) => phone,
        (true, false) => email,
        (true, true) => String::new(),
    };
    let url = text(service, "url");
    let url = url::Url::parse(&url)
        .ok()
        .filter(|u| u.scheme() == "http" || u.scheme() == "https")
        .map(|_| url);
    let address = service
        .get("service_at_locations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|sal| sal.get("location"))
        .filter_map(|l| l.pointer("/addresses/0"))
        .map(address_words)
        .find(|a| !a.is_empty())
        .unwrap_or_default();
    let address = if ours.is_some() {
        // Ours: the address is address_1 as written.
        service
            .pointer("/service_at_locations/0/location/addresses/0/address_1")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    } else {
        address
    };
    let schedules: Vec<&Value> = service
        .get("schedules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .chain(
            service
                .get("service_at_locations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|s| s.get("schedules").and_then(Value::as_array))
                .flatten(),
        )
        .collect();
    let hours = if ours.is_some() {
        schedules
            .first()
            .map(|s| text(s, "description"))
            .unwrap_or_default()
    } else {
        let mut seen = Vec::new();
        for w in schedules.iter().map(|s| schedule_words(s)) {
            if !w.is_empty() && !seen.contains(&w) {
                seen.push(w);
            }
        }
        seen.join("；")
    };

    let status = match (text(service, "status").as_str(), ours.is_some()) {
        ("active", true) => Some("published"),
        ("active", false) if options.publish => Some("published"),
        ("active", false) => None,
        ("inactive" | "defunct" | "temporarily closed", _) => Some("withdrawn"),
        (other, _) => {
            problems.push((
                "status".into(),
                format!("status 应为 active、inactive、defunct 或 temporarily closed，而不是「{other}」 (unknown status)"),
            ));
            None
        }
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut doc = Map::new();
    for (k, v) in [
        ("ref", json!(ref_code)),
        ("kind", json!(kind)),
        ("title", json!(truncate(&name, 200))),
        ("summary", json!(summary)),
        ("body", json!(truncate(&body, 100_000))),
        ("provider", json!(provider)),
        ("region", json!(region)),
        ("dimensions", json!(dimensions)),
        ("target_groups", json!(target_groups)),
        ("eligibility", eligibility),
        (
            "benefit",
            json!(first_attribute(service, TAX_BENEFIT).unwrap_or_default()),
        ),
        ("capacity", capacity),
        ("valid_from", date_attr(TAX_VALID_FROM)),
        ("valid_until", date_attr(TAX_VALID_UNTIL)),
        (
            "apply",
            json!({"materials": materials, "process": truncate(&text(service, "application_process"), 2000),
                   "contact": truncate(&contact, 2000), "url": url,
                   "address": truncate(&address, 2000), "hours": truncate(&hours, 2000)}),
        ),
    ] {
        doc.insert(k.into(), v);
    }
    if let Some(s) = status {
        doc.insert("status".into(), json!(s));
    }
    Ok(Value::Object(doc))
}

/// The HSDS field a resource field came from, for error messages.
pub fn hsds_field(field: &str) -> &str {
    match field.split(['.', '[']).next().unwrap_or(field) {
        "title" => "name",
        "summary" | "body" => "description",
        "provider" => "organization.name",
        "region" => "service_areas",
        "apply" => match field {
            f if f.starts_with("apply.materials") => "required_documents",
            "apply.contact" => "phones",
            "apply.url" => "url",
            "apply.process" => "application_process",
            "apply.address" => "service_at_locations",
            "apply.hours" => "schedules",
            _ => "attributes",
        },
        _ => "attributes",
    }
}

/// Reads an HSDS document into resource documents, one per service in
/// order; or every problem, each naming its service and HSDS field.
pub fn read(input: &str, options: &ReadOptions) -> Result<Vec<Value>, Vec<RecordError>> {
    let doc: Value = serde_json::from_str(input.trim_start_matches('\u{feff}')).map_err(|e| {
        vec![RecordError {
            position: None,
            record_ref: None,
            field: None,
            message: format!(
                "不是合法的 JSON：第 {} 行第 {} 列 {e} (invalid JSON)",
                e.line(),
                e.column()
            ),
        }]
    })?;
    let services = services_in(&doc).map_err(|e| vec![e])?;
    if services.is_empty() {
        return Err(vec![RecordError {
            position: None,
            record_ref: None,
            field: None,
            message: "没有任何 service 记录 (no services)".into(),
        }]);
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, (path, service)) in services.iter().enumerate() {
        match resource_of(service, options) {
            Ok(v) => out.push(v),
            Err(problems) => {
                errors.extend(problems.into_iter().map(|(field, message)| RecordError {
                    position: Some(Position::Index(i)),
                    record_ref: Some(text(service, "id")).filter(|s| !s.is_empty()),
                    field: Some(if path.is_empty() {
                        field
                    } else {
                        format!("{path}.{field}")
                    }),
                    message,
                }))
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Services on one page of the HSDS API at most.
pub const MAX_PER_PAGE: i64 = 500;

/// What every exported service needs: region names and organisation names.
struct Names {
    regions: RegionNames,
    organisations: std::collections::HashMap<i64, String>,
}

impl Names {
    fn load(conn: &mut DbConnection) -> Result<Names, AppError> {
        Ok(Names {
            regions: crate::domain::region_names::names(conn)?,
            organisations: super::repository::all_organisation_names(conn)?,
        })
    }

    fn service(&self, r: &ResourceRow) -> Value {
        let org = r.organisation_id.and_then(|id| self.organisations.get(&id));
        service_of(r, org.map(String::as_str), &self.regions)
    }
}

/// Published resources of the exported kinds, by ref.
fn exported() -> resources::BoxedQuery<'static, <DbConnection as diesel::Connection>::Backend> {
    resources::table
        .filter(resources::status.eq("published"))
        .filter(resources::kind.eq_any(KINDS_EXPORTED))
        .order(resources::ref_code.asc())
        .into_boxed()
}

fn exported_count(conn: &mut DbConnection) -> Result<i64, AppError> {
    Ok(resources::table
        .filter(resources::status.eq("published"))
        .filter(resources::kind.eq_any(KINDS_EXPORTED))
        .count()
        .get_result(conn)?)
}

/// One page of the published service, funding and material resources as
/// HSDS services, the way the HSDS API's `/services` pages them.
pub fn export_page(conn: &mut DbConnection, page: i64, per_page: i64) -> Result<Value, AppError> {
    let per_page = per_page.clamp(1, MAX_PER_PAGE);
    let total = exported_count(conn)?;
    let pages = ((total + per_page - 1) / per_page).max(1);
    let page = page.clamp(1, pages);
    let names = Names::load(conn)?;
    let rows: Vec<ResourceRow> = exported()
        .limit(per_page)
        .offset((page - 1) * per_page)
        .select(ResourceRow::as_select())
        .load(conn)?;
    let services: Vec<Value> = rows.iter().map(|r| names.service(r)).collect();
    Ok(json!({
        "total_items": total,
        "total_pages": pages,
        "page_number": page,
        "size": services.len(),
        "first_page": page == 1,
        "last_page": page == pages,
        "empty": services.is_empty(),
        "contents": services,
    }))
}

/// Every published service, funding and material resource as one HSDS
/// page, written to `out` a chunk of rows at a time (so a whole city's
/// catalogue never sits in memory at once). `out` returns false to stop.
pub fn export_all(
    conn: &mut DbConnection,
    mut out: impl FnMut(Vec<u8>) -> bool,
) -> Result<(), AppError> {
    const CHUNK: i64 = 500;
    let total = exported_count(conn)?;
    let names = Names::load(conn)?;
    let head = format!(
        "{{\"total_items\":{total},\"total_pages\":1,\"page_number\":1,\"size\":{total},\"first_page\":true,\"last_page\":true,\"empty\":{},\"contents\":[",
        total == 0
    );
    if !out(head.into_bytes()) {
        return Ok(());
    }
    let mut last = String::new();
    let mut first = true;
    loop {
        let rows: Vec<ResourceRow> = exported()
            .filter(resources::ref_code.gt(last.clone()))
            .limit(CHUNK)
            .select(ResourceRow::as_select())
            .load(conn)?;
        let Some(end) = rows.last() else { break };
        last = end.ref_code.clone();
        let mut buf = Vec::new();
        for r in &rows {
            if !first {
                buf.push(b',');
            }
            first = false;
            serde_json::to_writer(&mut buf, &names.service(r))
                .map_err(|e| AppError::Internal(format!("json: {e}")))?;
        }
        if !out(buf) {
            return Ok(());
        }
    }
    out(b"]}".to_vec());
    Ok(())
}

/// One published service by its HSDS id or its aidmatch ref.
pub fn export_one(conn: &mut DbConnection, id_or_ref: &str) -> Result<Value, AppError> {
    let by_ref: Option<ResourceRow> = exported()
        .filter(resources::ref_code.eq(id_or_ref.to_string()))
        .select(ResourceRow::as_select())
        .first(conn)
        .optional()?;
    let row = match by_ref {
        Some(r) => Some(r),
        None => {
            // An HSDS id is derived from the ref: find the ref it comes from.
            let refs: Vec<String> = exported().select(resources::ref_code).load(conn)?;
            match refs.into_iter().find(|r| id_for("service", r) == id_or_ref) {
                Some(r) => exported()
                    .filter(resources::ref_code.eq(r))
                    .select(ResourceRow::as_select())
                    .first(conn)
                    .optional()?,
                None => None,
            }
        }
    };
    let row = row.ok_or_else(|| AppError::not_found(&format!("服务 {id_or_ref}")))?;
    Ok(Names::load(conn)?.service(&row))
}

/// Imports an HSDS document: every service checked first (HSDS fields
/// named), then all written in one transaction, or nothing.
pub fn import(
    conn: &mut DbConnection,
    text: &str,
    options: &ReadOptions,
    actor: &str,
    progress: impl FnMut(usize, usize),
) -> Result<super::import::ImportReport, super::import::ImportError> {
    use super::import::{import_resources, ImportError};
    let docs = read(text, options).map_err(ImportError::Invalid)?;
    let array = serde_json::to_string(&docs)
        .map_err(|e| ImportError::App(AppError::Internal(e.to_string())))?;
    import_resources(conn, &array, actor, progress).map_err(|e| match e {
        ImportError::Invalid(list) => ImportError::Invalid(
            list.into_iter()
                .map(|mut e| {
                    if let Some(f) = &e.field {
                        e.field = Some(format!("{}（aidmatch {f}）", hsds_field(f)));
                    }
                    e
                })
                .collect(),
        ),
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_uuids() {
        let a = id_for("service", "S-1");
        assert_eq!(a, id_for("service", "S-1"));
        assert_ne!(a, id_for("service", "S-2"));
        assert!(Uuid::parse_str(&a).is_ok());
    }

    #[test]
    fn foreign_services_get_a_ref_dimension_and_age_rule() {
        let s = json!({
            "id": "ac148810-d857-441c-9679-408f346de14b", "name": "Community Counselling",
            "description": "Counselling Services provided by trained professionals. More.",
            "status": "active", "minimum_age": 12, "maximum_age": 120,
            "organization": {"id": "x", "name": "Example Org", "description": "d"},
            "schedules": [{"id": "s", "byday": "TH,FR", "opens_at": "10:00:00", "closes_at": "18:00:00"}]
        });
        let options = ReadOptions {
            region: Some("310118".into()),
            ..Default::default()
        };
        let r = resource_of(&s, &options).unwrap();
        assert_eq!(r["ref"], "HSDS-ac148810-d857-441c-9679-408f346de14b");
        assert_eq!(r["dimensions"], json!(["mental"]));
        assert_eq!(
            r["summary"],
            "Counselling Services provided by trained professionals."
        );
        assert_eq!(r["apply"]["hours"], "周四、周五 10:00–18:00");
        assert_eq!(
            r["eligibility"],
            json!({"some": [{"var": "members"}, {">=": [{"var": "age"}, 12.0]}]})
        );
        assert!(r.get("status").is_none(), "a draft until reviewed");
        let no_region = resource_of(&s, &ReadOptions::default()).unwrap_err();
        assert_eq!(no_region[0].0, "service_areas");
    }
}
