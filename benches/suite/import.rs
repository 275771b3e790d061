//! Import rates: a JSON file of resources and one of households imported
//! into an empty database the way `aidmatch import` does it (checked in
//! full first, then written in one transaction with history and change log).

use std::time::Instant;

use aidmatch::catalogue::import::import_resources;
use aidmatch::catalogue::model::ResourceRow;
use aidmatch::db::schema::resources;
use aidmatch::households::id_number::check_char;
use aidmatch::households::import::import_households;
use aidmatch::startup::{data_cipher, open_database};
use diesel::prelude::*;
use serde_json::Value;

use crate::data::{settings, Data};
use crate::results::{Goal, Results};

pub fn run(data: &Data, n_resources: usize, n_households: usize, results: &mut Results) {
    let scratch = tempfile::tempdir().expect("temp dir");
    let settings = settings(scratch.path().to_path_buf());
    let pool = open_database(&settings).expect("scratch database");
    let cipher = data_cipher(&settings, &pool).expect("data key");
    let mut conn = pool.get().expect("connection");

    let text = resources_file(data, n_resources);
    let t = Instant::now();
    let report = import_resources(&mut conn, &text, "bench", |_, _| {}).expect("import");
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(report.created, n_resources);
    results.add(
        "import.resources_per_s",
        "import resources (JSON, all or nothing)",
        n_resources as f64 / secs,
        "/s",
        Goal::Higher,
        format!(
            "{n_resources} in {secs:.1} s into an empty SQLite database ({:.1} MB of JSON)",
            text.len() as f64 / 1_048_576.0
        ),
    );

    let text = households_file(n_households);
    let today = chrono::Local::now().date_naive();
    let t = Instant::now();
    let report = import_households(&mut conn, &cipher, &text, "bench", today, |_, _| {})
        .unwrap_or_else(|e| panic!("household import: {e:?}"));
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(report.created, n_households);
    results.add(
        "import.households_per_s",
        "import households with members (JSON, all or nothing)",
        n_households as f64 / secs,
        "/s",
        Goal::Higher,
        format!("{n_households} in {secs:.1} s; ID numbers checked and encrypted"),
    );
}

/// `n` resources from the bench catalogue, as SPEC's Resource records
/// with new refs.
fn resources_file(data: &Data, n: usize) -> String {
    let mut conn = data.pool.get().expect("connection");
    let rows: Vec<ResourceRow> = resources::table
        .order(resources::id.asc())
        .limit(n as i64)
        .select(ResourceRow::as_select())
        .load(&mut conn)
        .expect("resources");
    assert_eq!(
        rows.len(),
        n,
        "the bench catalogue is smaller than the import"
    );
    let docs: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut doc = serde_json::to_value(row.to_doc(None)).expect("doc");
            doc["ref"] = Value::from(format!("IMP-{:06}", i + 1));
            doc
        })
        .collect();
    serde_json::to_string(&docs).expect("json")
}

/// `n` households made from the demo households, each with new refs and
/// valid, distinct ID numbers.
fn households_file(n: usize) -> String {
    let demo: Vec<Value> =
        serde_json::from_str(include_str!("../../src/demo/households.json")).expect("demo");
    const KEEP: &[&str] = &[
        "ref",
        "region",
        "address",
        "contact_phone",
        "hukou_local",
        "housing",
        "assets",
        "monthly",
        "status",
        "members",
        "consent",
    ];
    let records: Vec<Value> = (0..n)
        .map(|i| {
            let (template, copy) = (i % demo.len(), i / demo.len());
            let mut h = demo[template].clone();
            if let Value::Object(map) = &mut h {
                map.retain(|k, _| KEEP.contains(&k.as_str()));
            }
            h["ref"] = Value::from(format!("H-IMP-{:06}", i + 1));
            // Every copy with consent recorded, so that all of it is kept.
            h["consent"] = Value::from(true);
            if let Some(members) = h["members"].as_array_mut() {
                for m in members {
                    let birth = m["birth_date"]
                        .as_str()
                        .unwrap_or("1970-01-01")
                        .replace('-', "");
                    let male = m["sex"].as_str() == Some("M");
                    // Region code by template, sequence by copy: distinct.
                    let seq = copy * 2 + usize::from(male);
                    let first17 = format!("31{:04}{birth}{seq:03}", 100 + template);
                    let check = check_char(first17.as_bytes());
                    m["id_number"] = Value::from(format!("{first17}{check}"));
                }
            }
            h
        })
        .collect();
    serde_json::to_string(&records).expect("json")
}
