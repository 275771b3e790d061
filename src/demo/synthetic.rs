//! Synthetic catalogues for benchmarks: many resources whose titles and
//! texts are recombined from the demo catalogue, written in bulk.

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::db::schema::resources;
use crate::db::DbConnection;
use crate::error::AppError;

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
    let mut done = 0;
    while done < n {
        let batch = (n - done).min(500);
        let mut rows = Vec::with_capacity(batch);
        for i in 0..batch {
            let number = done + i + 1;
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
            }
            Ok::<_, diesel::result::Error>(())
        })?;
        done += batch;
        progress(done, n);
    }
    Ok(())
}
