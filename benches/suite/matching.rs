//! Eligibility and matching in process: loading the facts table, one
//! policy and all policies against every household, wording an alert's
//! reasons, a household's three-list bundle and a resident's screening.

use std::time::Instant;

use aidmatch::eligibility::rulebook::RuleBook;
use aidmatch::eligibility::{report, screening};
use aidmatch::households::repository;
use aidmatch::matching::bundle;
use aidmatch::matching::facts_table::FactsTable;
use aidmatch::matching::scan;
use serde_json::json;

use crate::data::Data;
use crate::results::{Goal, Results};

pub fn run(data: &Data, results: &mut Results) {
    let mut conn = data.pool.get().expect("connection");
    let day = chrono::Local::now().date_naive();
    let book = RuleBook::default().current(&mut conn).expect("rule book");
    let policies: Vec<_> = book
        .resources
        .iter()
        .filter(|r| r.kind == "policy" && r.valid_on(day))
        .collect();

    let t = Instant::now();
    let table = FactsTable::load(&mut conn, day).expect("facts table");
    let secs = t.elapsed().as_secs_f64();

    results.add(
        "facts.load_s",
        &format!("facts table: {} households loaded and derived", table.len()),
        secs,
        "s",
        Goal::Lower,
        "done at start and once a day by the scanner",
    );
    // One policy against all households, each policy on its own.
    let mut per_policy = Vec::with_capacity(policies.len());
    let mut qualifying = 0usize;
    let t_all = Instant::now();
    for p in &policies {
        let t = Instant::now();
        let found = scan::qualifying(&table, p);
        per_policy.push(t.elapsed());
        qualifying += found.len();
        std::hint::black_box(found);
    }
    let all = t_all.elapsed();
    results.latencies(
        "scan.one_policy",
        &format!("one policy against all {} households", table.len()),
        per_policy,
        Some(100.0),
        "every policy timed on its own",
    );
    results.add(
        "scan.all_policies_s",
        &format!("all {} policies against all households", policies.len()),
        all.as_secs_f64(),
        "s",
        Goal::Below(10.0),
        format!("{qualifying} qualifying pairs"),
    );

    // Wording why, for alerts being raised.
    let mut worded = 0usize;
    let t = Instant::now();
    for p in policies.iter().take(20) {
        for id in scan::qualifying(&table, p).into_iter().take(200) {
            std::hint::black_box(scan::reasons(p, table.get(id).expect("entry")));
            worded += 1;
        }
    }
    results.add(
        "scan.reasons_us",
        "wording a new alert's reasons",
        t.elapsed().as_secs_f64() * 1e6 / worded.max(1) as f64,
        "µs",
        Goal::Lower,
        format!("n={worded}"),
    );
    drop(table);

    // Bundles of households with needs.
    let refs = crate::data::households_with_needs(&mut conn);
    let mut samples = Vec::new();
    for round in 0..4 {
        for r in &refs {
            let h = repository::find(&mut conn, r)
                .expect("find")
                .expect("household");
            let t = Instant::now();
            let b = bundle::build(
                &mut conn,
                &data.cipher,
                data.index(),
                &book,
                &h,
                day,
                "bench",
            )
            .expect("bundle");
            if round > 0 {
                samples.push(t.elapsed());
            }
            std::hint::black_box(b);
        }
    }
    results.latencies(
        "bundle.in_process",
        &format!(
            "three-list bundle in process ({} resources)",
            data.index().num_docs()
        ),
        samples,
        Some(50.0),
        "50 households with needs",
    );

    // Screening: the answers parsed, every policy checked, the result
    // worded and serialised (what the handler does, without HTTP).
    let bodies = screening_bodies();
    let rules = RuleBook::default();
    let mut samples = Vec::new();
    for i in 0..600 {
        let t = Instant::now();
        let request = screening::parse(&bodies[i % bodies.len()], day).expect("answers");
        let result = report::run(&mut conn, &rules, &request).expect("screening");
        std::hint::black_box(serde_json::to_vec(&result).expect("json"));
        samples.push(t.elapsed());
    }
    results.latencies(
        "screening.in_process",
        &format!("screening in process, {} policies", policies.len()),
        samples,
        None,
        "3 residents' answers in turn",
    );
}

/// Three residents' answers: an elderly couple, a family on dibao with a
/// disabled parent, a migrant family.
pub fn screening_bodies() -> [serde_json::Value; 3] {
    [
        json!({"profile": {"hukou_local": true, "region": "310118-003-012",
            "members": [{"age": 82, "income_monthly": 1200, "health": ["chronic"]}, {"age": 55, "income_monthly": 0, "employment": "unemployed"}]}}),
        json!({"profile": {"hukou_local": true, "members": [{"age": 35, "income_monthly": 2000, "disability_grade": 2, "disability_type": "physical"},
            {"age": 8, "student_stage": "primary"}], "status": ["dibao"], "assets": {"financial": 3000}}}),
        json!({"profile": {"hukou_local": false, "region": "310104-001-002",
            "members": [{"age": 40, "income_monthly": 6000, "employment": "employed"}, {"age": 10, "student_stage": "primary"}]}}),
    ]
}
