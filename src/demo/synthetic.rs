//! Synthetic data for trials and benchmarks (`aidmatch gen`): resources
//! whose titles and texts are recombined from the demo catalogue,
//! households with plausible ages, incomes, disabilities and work (and,
//! given the data key, valid encrypted ID and phone numbers), and policies
//! whose rules vary the demo policies'. Written in batches of 500 rows, each
//! with its change-log entry so running servers pick them up; numbering
//! continues after what earlier runs wrote.

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::db::change_log;
use crate::db::schema::resources;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::privacy::DataCipher;

/// The number after the highest `prefix` ref of a ref column (refs are
/// zero-padded, so they sort as numbers).
fn first_number(refs: &[String], prefix: &str) -> usize {
    refs.iter()
        .filter_map(|r| r.strip_prefix(prefix)?.parse::<usize>().ok())
        .max()
        .unwrap_or(0)
        + 1
}

const REGIONS: &[&str] = &[
    "310000",
    "310104",
    "310115",
    "310118",
    "310118-001",
    "310118-002",
    "310118-003",
    "310118-003-012",
    "320582",
    "430000",
];

#[derive(Insertable)]
#[diesel(table_name = resources)]
struct Row {
    ref_code: String,
    kind: String,
    title: String,
    summary: String,
    body: String,
    provider: String,
    region: String,
    dimensions: String,
    target_groups: String,
    benefit: String,
    capacity_total: Option<i64>,
    capacity_remaining: Option<i64>,
    capacity_unit: Option<String>,
    valid_from: Option<NaiveDate>,
    valid_until: Option<NaiveDate>,
    apply: String,
    status: String,
    version: i64,
    created_by: String,
    created_at: chrono::NaiveDateTime,
    updated_by: String,
    updated_at: chrono::NaiveDateTime,
}

/// Writes `n` published resources (refs `GEN-000001`…), deterministic for a
/// given `seed`; `progress` is told (done, n).
pub fn generate_resources(
    conn: &mut DbConnection,
    n: usize,
    seed: u64,
    mut progress: impl FnMut(usize, usize),
) -> Result<(), AppError> {
    let demo: Vec<Value> = serde_json::from_str(include_str!("resources.json"))
        .map_err(|e| AppError::Internal(format!("demo resources: {e}")))?;
    let mut rng = StdRng::seed_from_u64(seed);
    let now = Utc::now().naive_utc();
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    let last: Vec<String> = resources::table
        .filter(resources::ref_code.like("GEN-%"))
        .order(resources::ref_code.desc())
        .limit(1)
        .select(resources::ref_code)
        .load(conn)?;
    let first = first_number(&last, "GEN-");
    let mut done = 0;
    while done < n {
        let batch = (n - done).min(500);
        let mut rows = Vec::with_capacity(batch);
        for i in 0..batch {
            let number = first + done + i;
            let a = demo.choose(&mut rng).expect("demo resources");
            let b = demo.choose(&mut rng).expect("demo resources");
            let region = REGIONS.choose(&mut rng).copied().unwrap_or("310000");
            let kind = text(a, "kind");
            let remaining: i64 = rng.gen_range(0..50);
            let other_body = text(b, "body");
            let sentences: Vec<&str> = other_body.split('。').filter(|s| !s.is_empty()).collect();
            let extra = sentences
                .choose(&mut rng)
                .copied()
                .unwrap_or("")
                .to_string();
            rows.push(Row {
                ref_code: format!("GEN-{number:06}"),
                title: format!("{}（{}第{}期）", text(a, "title"), region, number % 97 + 1),
                summary: text(a, "summary"),
                body: format!("{}{}。", text(a, "body"), extra),
                provider: text(a, "provider"),
                region: region.to_string(),
                dimensions: a["dimensions"].to_string(),
                target_groups: a["target_groups"].to_string(),
                benefit: text(a, "benefit"),
                capacity_total: (kind != "policy").then_some(50),
                capacity_remaining: (kind != "policy").then_some(remaining),
                capacity_unit: (kind != "policy").then(|| "份".to_string()),
                kind,
                valid_from: NaiveDate::from_ymd_opt(2025, 1, 1),
                valid_until: None,
                apply: a["apply"].to_string(),
                status: "published".into(),
                version: 1,
                created_by: "gen".into(),
                created_at: now,
                updated_by: "gen".into(),
                updated_at: now,
            });
        }
        // One statement a row: diesel's multi-backend connection has no batch insert.
        conn.transaction(|conn| {
            for row in &rows {
                diesel::insert_into(resources::table)
                    .values(row)
                    .execute(conn)?;
                change_log::append(conn, "resource", &row.ref_code, "create")?;
            }
            Ok::<_, AppError>(())
        })?;
        done += batch;
        progress(done, n);
    }
    Ok(())
}

const STREETS: &[&str] = &[
    "310118-001-001",
    "310118-002-003",
    "310118-003-012",
    "310118-003-005",
    "310104-001-002",
    "310104-004-001",
    "310115-010-020",
    "320582-003-001",
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "高", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建国", "建华", "志强", "美玲", "德明",
    "丽华", "玉兰",
];

/// A member's valid ID number: region 310118, birth date, a sequence whose
/// last digit's parity gives the sex, and the check character.
fn id_number(birth: NaiveDate, male: bool, rng: &mut StdRng) -> String {
    let seq = rng.gen_range(0..500) * 2 + u32::from(male);
    let first17 = format!("310118{}{seq:03}", birth.format("%Y%m%d"));
    let check = crate::households::id_number::check_char(first17.as_bytes());
    format!("{first17}{check}")
}

/// Writes `n` consented households (refs `GH-000001`…, continuing after
/// earlier runs) with 1–5 members each: Chinese names, plausible ages,
/// incomes, disabilities, health and work. With `cipher`, each member also
/// gets a valid ID number and the household a mobile number and an
/// address, encrypted and hashed as the application stores them.
/// Deterministic for a `seed`.
pub fn generate_households(
    conn: &mut DbConnection,
    n: usize,
    seed: u64,
    cipher: Option<&DataCipher>,
    mut progress: impl FnMut(usize, usize),
) -> Result<(), AppError> {
    use crate::db::schema::{households, members};
    use crate::households::repository::{
        id_lookup, phone_lookup, ADDRESS, CONTACT_PHONE, ID_NUMBER,
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let now = Utc::now().naive_utc();
    let today = Utc::now().date_naive();
    let last: Vec<String> = households::table
        .filter(households::ref_code.like("GH-%"))
        .order(households::ref_code.desc())
        .limit(1)
        .select(households::ref_code)
        .load(conn)?;
    let first = first_number(&last, "GH-");
    let statuses = [
        "dibao",
        "low_income",
        "tekun",
        "single_parent",
        "expenditure_poverty",
    ];
    let mut done = 0;
    while done < n {
        let batch = (n - done).min(500);
        conn.transaction(|conn| {
            for i in 0..batch {
                let number = first + done + i;
                let size = *[1, 1, 2, 2, 2, 3, 3, 4, 5].choose(&mut rng).unwrap_or(&2);
                let surname = SURNAMES.choose(&mut rng).copied().unwrap_or("王");
                let head = format!(
                    "{surname}{}",
                    GIVEN.choose(&mut rng).copied().unwrap_or("伟")
                );
                let street = STREETS
                    .choose(&mut rng)
                    .copied()
                    .unwrap_or("310118-003-012");
                let phone = format!(
                    "13{}{:08}",
                    rng.gen_range(0..10),
                    rng.gen_range(0..100_000_000)
                );
                let address = format!(
                    "上海市青浦区{}路{}弄{}号{}室",
                    ["新桥", "香大", "华新", "赵巷", "徐泾"]
                        .choose(&mut rng)
                        .copied()
                        .unwrap_or("新桥"),
                    rng.gen_range(1..900),
                    rng.gen_range(1..40),
                    rng.gen_range(101..1200)
                );
                let mut status: Vec<&str> = Vec::new();
                if rng.gen_bool(0.2) {
                    status.push(statuses.choose(&mut rng).copied().unwrap_or("dibao"));
                }
                let profile = serde_json::json!({
                    "hukou_local": rng.gen_bool(0.8),
                    "housing": {"owned": rng.gen_bool(0.5), "area_m2": rng.gen_range(10..120)},
                    "assets": {"financial": rng.gen_range(0..120) * 1000},
                    "monthly": {"medical_expense": rng.gen_range(0..60) * 100,
                                "education_expense": rng.gen_range(0..20) * 100,
                                "rent": rng.gen_range(0..30) * 100},
                    "status": status,
                });
                let ref_code = format!("GH-{number:06}");
                let id: i64 = diesel::insert_into(households::table)
                    .values((
                        households::ref_code.eq(&ref_code),
                        households::region.eq(street),
                        households::head_name.eq(&head),
                        households::address_enc.eq(cipher.map(|c| c.encrypt(ADDRESS, &address))),
                        households::contact_phone_enc
                            .eq(cipher.map(|c| c.encrypt(CONTACT_PHONE, &phone))),
                        households::contact_phone_hash.eq(cipher.map(|c| phone_lookup(c, &phone))),
                        households::consent.eq(true),
                        households::consent_by.eq(Some("gen")),
                        households::consent_at.eq(Some(now)),
                        households::profile.eq(profile.to_string()),
                        households::identified_on.eq(today),
                        households::status.eq("active"),
                        households::version.eq(1),
                        households::created_by.eq("gen"),
                        households::created_at.eq(now),
                        households::updated_by.eq("gen"),
                        households::updated_at.eq(now),
                    ))
                    .returning(households::id)
                    .get_result(conn)?;
                for position in 0..size {
                    let age: i64 = if position == 0 {
                        rng.gen_range(25..95)
                    } else {
                        rng.gen_range(0..90)
                    };
                    let birth = today - chrono::Duration::days(age * 365 + rng.gen_range(0..365));
                    let grade: i64 = if rng.gen_bool(0.08) {
                        rng.gen_range(1..5)
                    } else {
                        0
                    };
                    let employment = match age {
                        0..=5 => None,
                        6..=17 => Some("student"),
                        18..=59 => ["employed", "unemployed", "flexible", "unable"]
                            .choose(&mut rng)
                            .copied(),
                        _ => Some("retired"),
                    };
                    let stage = match age {
                        3..=5 => Some("preschool"),
                        6..=11 => Some("primary"),
                        12..=14 => Some("junior"),
                        15..=17 => Some("senior"),
                        _ => None,
                    };
                    let mut health: Vec<&str> = Vec::new();
                    if rng.gen_bool(if age > 60 { 0.4 } else { 0.1 }) {
                        health.push("chronic");
                    }
                    if rng.gen_bool(0.03) {
                        health.push("serious_illness");
                    }
                    let income = match employment {
                        Some("employed") => Some(f64::from(rng.gen_range(25..120) * 100)),
                        Some("flexible") => Some(f64::from(rng.gen_range(5..40) * 100)),
                        Some("retired") => Some(f64::from(rng.gen_range(10..50) * 100)),
                        _ => None,
                    };
                    let male = rng.gen_bool(0.5);
                    let name = if position == 0 {
                        head.clone()
                    } else {
                        let family = if position == 1 && age >= 20 {
                            SURNAMES.choose(&mut rng).copied().unwrap_or("李")
                        } else {
                            surname
                        };
                        format!(
                            "{family}{}",
                            GIVEN.choose(&mut rng).copied().unwrap_or("芳")
                        )
                    };
                    let relation = match position {
                        0 => "self",
                        1 if age >= 20 => "spouse",
                        _ => "child",
                    };
                    let id_number = cipher.map(|c| (c, id_number(birth, male, &mut rng)));
                    diesel::insert_into(members::table)
                        .values((
                            members::household_id.eq(id),
                            members::position.eq(position as i64),
                            members::name.eq(&name),
                            members::id_number_enc
                                .eq(id_number.as_ref().map(|(c, n)| c.encrypt(ID_NUMBER, n))),
                            members::id_number_hash
                                .eq(id_number.as_ref().map(|(c, n)| id_lookup(c, n))),
                            members::relation.eq(relation),
                            members::sex.eq(if male { "M" } else { "F" }),
                            members::birth_date.eq(birth),
                            members::disability_grade.eq(grade),
                            members::disability_type.eq((grade > 0).then_some("physical")),
                            members::health
                                .eq(serde_json::to_string(&health).unwrap_or_else(|_| "[]".into())),
                            members::employment.eq(employment),
                            members::student_stage.eq(stage),
                            members::income_monthly.eq(income),
                        ))
                        .execute(conn)?;
                }
                change_log::append(conn, "household", &ref_code, "create")?;
            }
            Ok::<_, AppError>(())
        })?;
        done += batch;
        progress(done, n);
    }
    Ok(())
}

/// Writes `n` published policies (refs `GP-000001`…, continuing after earlier
/// runs) whose rules are the
/// demo policies' rules with their thresholds varied, scoped to assorted
/// regions.
pub fn generate_policies(conn: &mut DbConnection, n: usize, seed: u64) -> Result<(), AppError> {
    let demo: Vec<Value> = serde_json::from_str(include_str!("resources.json"))
        .map_err(|e| AppError::Internal(format!("demo resources: {e}")))?;
    let ruled: Vec<&Value> = demo
        .iter()
        .filter(|r| r["kind"] == "policy" && !r["eligibility"].is_null())
        .collect();
    let mut rng = StdRng::seed_from_u64(seed);
    let now = Utc::now().naive_utc();
    let last: Vec<String> = resources::table
        .filter(resources::ref_code.like("GP-%"))
        .order(resources::ref_code.desc())
        .limit(1)
        .select(resources::ref_code)
        .load(conn)?;
    let first = first_number(&last, "GP-");
    // Numbers above 100 in a rule are thresholds (incomes, assets): vary them.
    fn vary(v: &Value, rng: &mut StdRng) -> Value {
        match v {
            Value::Number(x) if x.as_f64().is_some_and(|f| f > 100.0) => {
                let f = x.as_f64().unwrap_or(0.0) * rng.gen_range(0.7..1.3);
                serde_json::json!(f.round())
            }
            Value::Array(items) => Value::Array(items.iter().map(|i| vary(i, rng)).collect()),
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), vary(v, rng))).collect())
            }
            other => other.clone(),
        }
    }
    conn.transaction(|conn| {
        for i in 0..n {
            let number = first + i;
            let ref_code = format!("GP-{number:06}");
            let a = ruled
                .choose(&mut rng)
                .copied()
                .ok_or_else(|| AppError::Internal("no demo policies".into()))?;
            let region = REGIONS.choose(&mut rng).copied().unwrap_or("310000");
            let rule = vary(&a["eligibility"], &mut rng);
            diesel::insert_into(resources::table)
                .values((
                    resources::ref_code.eq(&ref_code),
                    resources::kind.eq("policy"),
                    resources::title.eq(format!(
                        "{}（{}）",
                        a["title"].as_str().unwrap_or("政策"),
                        number
                    )),
                    resources::summary.eq(a["summary"].as_str().unwrap_or("")),
                    resources::body.eq(""),
                    resources::provider.eq(a["provider"].as_str().unwrap_or("")),
                    resources::region.eq(region),
                    resources::dimensions.eq(a["dimensions"].to_string()),
                    resources::target_groups.eq(a["target_groups"].to_string()),
                    resources::eligibility.eq(Some(rule.to_string())),
                    resources::benefit.eq(a["benefit"].as_str().unwrap_or("")),
                    resources::valid_from.eq(NaiveDate::from_ymd_opt(2025, 1, 1)),
                    resources::apply.eq(a["apply"].to_string()),
                    resources::status.eq("published"),
                    resources::version.eq(1),
                    resources::created_by.eq("gen"),
                    resources::created_at.eq(now),
                    resources::updated_by.eq("gen"),
                    resources::updated_at.eq(now),
                ))
                .execute(conn)?;
            change_log::append(conn, "resource", &ref_code, "create")?;
        }
        Ok(())
    })
}
