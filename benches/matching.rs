//! Eligibility and matching benchmark (`cargo bench --bench matching`; not
//! a test).
//!
//! Generates 100,000 households (`AIDMATCH_BENCH_HOUSEHOLDS`), 500
//! policies (`AIDMATCH_BENCH_POLICIES`) and a 10,000-resource catalogue
//! (`AIDMATCH_BENCH_RESOURCES`), then reports: loading the facts table;
//! one policy against all households (every policy timed on its own,
//! p50/p99/max); all policies against all households; a screening request
//! end to end over HTTP (p50/p99); and building a household's three-list
//! bundle (p50/p99). `AIDMATCH_BENCH_DIR=path` keeps the generated data
//! and reuses it; `AIDMATCH_BENCH_ONLY=scan,bundle,screening` (the
//! default: all three) picks what is measured, e.g. for a profiler.

use std::time::{Duration, Instant};

use aidmatch::config::{Secret, Settings};
use aidmatch::db::schema::{households, needs, resources};
use aidmatch::demo::synthetic::{generate_households, generate_policies, generate_resources};
use aidmatch::eligibility::rulebook::{Loaded, RuleBook, RuledResource};
use aidmatch::eligibility::{report, screening};
use aidmatch::households::needs::{create as create_need, NeedInput};
use aidmatch::households::repository;
use aidmatch::matching::bundle;
use aidmatch::matching::facts_table::FactsTable;
use aidmatch::matching::scan;
use aidmatch::privacy::DataCipher;
use aidmatch::search::{AnalysisConfig, SearchIndex};
use aidmatch::startup::{open_database, Application};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::json;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

fn report(name: &str, mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let (p50, p99) = (percentile(&samples, 0.5), percentile(&samples, 0.99));
    println!(
        "{name}: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms (n={})",
        ms(p50),
        ms(p99),
        ms(*samples.last().unwrap_or(&Duration::ZERO)),
        samples.len()
    );
    (p50, p99)
}

/// Whether `part` is to be measured.
fn wanted(part: &str) -> bool {
    std::env::var("AIDMATCH_BENCH_ONLY")
        .map(|parts| parts.split(',').any(|p| p.trim() == part))
        .unwrap_or(true)
}

fn main() {
    let n_households = env_usize("AIDMATCH_BENCH_HOUSEHOLDS", 100_000);
    let n_policies = env_usize("AIDMATCH_BENCH_POLICIES", 500);
    let n_resources = env_usize("AIDMATCH_BENCH_RESOURCES", 10_000);
    let temp = tempfile::tempdir().expect("temp dir");
    let data_dir = match std::env::var_os("AIDMATCH_BENCH_DIR") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => temp.path().to_path_buf(),
    };
    std::fs::create_dir_all(&data_dir).expect("bench directory");
    let settings = Settings {
        bind: "127.0.0.1:0".into(),
        data_dir,
        database_url: None,
        jwt_secret: Some(Secret::new("bench-secret-bench-secret-bench-secret")),
        data_key: Some(Secret::new("ab".repeat(32))),
        smtp_url: None,
        token_ttl_hours: 1,
        index_config_dir: "index".into(),
        secure_cookies: false,
        login_max_failures_per_account: 5,
        login_max_failures_per_address: 20,
        login_window_secs: 900,
        background_scan: true,
        background_mail: false,
        mail_from: "aidmatch <noreply@aidmatch.local>".into(),
        mail_retry_secs: 1,
        mail_plan_secs: 60,
        public_url: None,
    };
    let pool = open_database(&settings).expect("database");
    let mut conn = pool.get().expect("connection");
    let have: i64 = households::table
        .count()
        .get_result(&mut conn)
        .expect("count");
    if have as usize != n_households {
        conn.batch_execute(
            "DELETE FROM referral_events; DELETE FROM referrals; DELETE FROM alerts; DELETE FROM bundles;
             DELETE FROM need_events; DELETE FROM needs; DELETE FROM members; DELETE FROM households;
             DELETE FROM change_log; DELETE FROM resource_history; DELETE FROM resources;",
        )
        .expect("empty");
        let t = Instant::now();
        generate_households(&mut conn, n_households, 7, None, |_, _| {}).expect("households");
        println!(
            "generated {n_households} households in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let t = Instant::now();
        generate_resources(&mut conn, n_resources, 42, |_, _| {}).expect("resources");
        generate_policies(&mut conn, n_policies, 11).expect("policies");
        println!(
            "generated {n_resources} resources and {n_policies} policies in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        // Needs for the bundle households: two each for the first 200.
        let ids: Vec<(i64, String)> = households::table
            .order(households::id.asc())
            .limit(200)
            .select((households::id, households::ref_code))
            .load(&mut conn)
            .expect("households");
        for (id, r) in &ids {
            for (dimension, title) in [
                ("daily_care", "老人助餐送餐"),
                ("medical", "慢性病用药补助"),
            ] {
                let input = NeedInput {
                    household_ref: r.clone(),
                    dimension: dimension.into(),
                    title: title.into(),
                    detail: String::new(),
                    urgency: "medium".into(),
                    quantity: 1,
                    status: None,
                };
                create_need(&mut conn, *id, &input, None, "bench").expect("need");
            }
        }
    }
    let config = AnalysisConfig::load(&settings.index_config_dir);
    let (index, _) = SearchIndex::open(&settings.index_dir(), &config).expect("index");
    let catalogue: i64 = resources::table
        .count()
        .get_result(&mut conn)
        .expect("count");
    if index.num_docs() as i64 != catalogue {
        let t = Instant::now();
        index.rebuild(&mut conn, |_, _| {}).expect("rebuild");
        println!(
            "index build ({catalogue} resources): {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let day = chrono::Local::now().date_naive();

    let book = RuleBook::default().current(&mut conn).expect("rule book");
    let policies: Vec<_> = book
        .resources
        .iter()
        .filter(|r| r.kind == "policy")
        .collect();
    println!(
        "rule book: {} resources with rules ({} policies)",
        book.resources.len(),
        policies.len()
    );

    if wanted("scan") {
        // The facts table.
        let t = Instant::now();
        let table = FactsTable::load(&mut conn, day).expect("facts table");
        println!(
            "facts table: {} households loaded and derived in {:.2} s",
            table.len(),
            t.elapsed().as_secs_f64()
        );
        scan_benchmarks(&table, &policies);
    }
    let cipher = DataCipher::from_hex(&"ab".repeat(32)).expect("cipher");
    if wanted("bundle") {
        bundle_benchmark(&mut conn, &cipher, &index, &book, day, catalogue);
    }
    if wanted("screening") {
        screening_in_process(&mut conn, n_policies);
    }
    drop(conn);
    drop(index); // the server opens it again
    if wanted("screening") {
        screening_benchmark(settings, n_policies);
    }
}

fn scan_benchmarks(table: &FactsTable, policies: &[&std::sync::Arc<RuledResource>]) {
    // One policy against all households, each policy on its own.
    let mut per_policy = Vec::with_capacity(policies.len());
    let mut qualifying = 0usize;
    let t_all = Instant::now();
    for p in policies {
        let t = Instant::now();
        let found = scan::qualifying(table, p);
        per_policy.push(t.elapsed());
        qualifying += found.len();
        std::hint::black_box(found);
    }
    let all = t_all.elapsed();
    report(
        &format!("one policy against all {} households", table.len()),
        per_policy,
    );
    // Wording why, for alerts being raised: per qualifying household.
    let sample: Vec<_> = policies
        .iter()
        .take(20)
        .map(|p| {
            (
                p,
                scan::qualifying(table, p)
                    .into_iter()
                    .take(200)
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    let t = Instant::now();
    let mut worded = 0usize;
    for (p, ids) in &sample {
        for id in ids {
            std::hint::black_box(scan::reasons(p, table.get(*id).expect("entry")));
            worded += 1;
        }
    }
    println!(
        "wording the reasons of a new alert: {:.1} µs each (n={worded})",
        t.elapsed().as_secs_f64() * 1e6 / worded.max(1) as f64
    );
    println!(
        "all {} policies against all households: {:.2} s ({} qualify)",
        policies.len(),
        all.as_secs_f64(),
        qualifying
    );
}

/// A bundle with a 10,000-resource catalogue.
fn bundle_benchmark(
    conn: &mut aidmatch::db::DbConnection,
    cipher: &DataCipher,
    index: &SearchIndex,
    book: &Loaded,
    day: chrono::NaiveDate,
    catalogue: i64,
) {
    let refs: Vec<String> = needs::table
        .inner_join(households::table)
        .select(households::ref_code)
        .distinct()
        .limit(50)
        .load(conn)
        .expect("households with needs");
    let mut samples = Vec::new();
    for round in 0..3 {
        for r in &refs {
            let h = repository::find(conn, r).expect("find").expect("household");
            let t = Instant::now();
            let b = bundle::build(conn, cipher, index, book, &h, day, "bench").expect("bundle");
            if round > 0 {
                samples.push(t.elapsed());
            }
            std::hint::black_box(b);
        }
    }
    report(
        &format!("bundle of one household ({catalogue}-resource catalogue)"),
        samples,
    );
}

/// Three residents' answers: an elderly couple, a family on dibao with a
/// disabled parent, a migrant family.
fn screening_bodies() -> [serde_json::Value; 3] {
    [
        json!({"profile": {"hukou_local": true, "region": "310118-003-012",
            "members": [{"age": 82, "income_monthly": 1200, "health": ["chronic"]}, {"age": 55, "income_monthly": 0, "employment": "unemployed"}]}}),
        json!({"profile": {"hukou_local": true, "members": [{"age": 35, "income_monthly": 2000, "disability_grade": 2, "disability_type": "physical"},
            {"age": 8, "student_stage": "primary"}], "status": ["dibao"], "assets": {"financial": 3000}}}),
        json!({"profile": {"hukou_local": false, "region": "310104-001-002",
            "members": [{"age": 40, "income_monthly": 6000, "employment": "employed"}, {"age": 10, "student_stage": "primary"}]}}),
    ]
}

/// Screening in process: the answers parsed, every policy checked, the
/// result worded and serialised (what the handler does, without HTTP).
fn screening_in_process(conn: &mut aidmatch::db::DbConnection, n_policies: usize) {
    let book = RuleBook::default();
    let day = chrono::Local::now().date_naive();
    let bodies = screening_bodies();
    let mut samples = Vec::new();
    let mut bytes = 0;
    for i in 0..600 {
        let t = Instant::now();
        let request = screening::parse(&bodies[i % bodies.len()], day).expect("answers");
        let result = report::run(conn, &book, &request).expect("screening");
        let json = serde_json::to_vec(&result).expect("json");
        samples.push(t.elapsed());
        bytes += json.len();
    }
    report(
        &format!(
            "screening in process, {n_policies} policies ({} bytes of JSON per answer)",
            bytes / 600
        ),
        samples,
    );
}

/// Screening over HTTP, end to end.
fn screening_benchmark(settings: Settings, n_policies: usize) {
    // The request alone: the server's scanner (whose first step scans every
    // household) is not running beside it.
    let settings = Settings {
        background_scan: false,
        ..settings
    };
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings).expect("server");
        let url = format!("http://127.0.0.1:{}/api/v1/screening", app.port());
        actix_web::rt::spawn(app.run_until_stopped());
        let client = reqwest::Client::new();
        let bodies = screening_bodies();
        for b in &bodies {
            client
                .post(&url)
                .json(b)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
        }
        let mut samples = Vec::new();
        let mut eligible = 0;
        for i in 0..600 {
            // Timed until the whole response has arrived; reading it is
            // the client's business.
            let t = Instant::now();
            let body = client
                .post(&url)
                .json(&bodies[i % bodies.len()])
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            samples.push(t.elapsed());
            let resp: serde_json::Value = serde_json::from_slice(&body).unwrap();
            eligible += resp["eligible"].as_array().map(Vec::len).unwrap_or(0);
        }
        report(
            &format!(
                "screening over HTTP, {} policies (one client; {} eligible results)",
                n_policies, eligible
            ),
            samples,
        );
        // The floor: the same server's health check, which also takes a
        // database connection on the blocking pool.
        let health = url.replace("/api/v1/screening", "/healthz");
        let mut samples = Vec::new();
        for _ in 0..600 {
            let t = Instant::now();
            client
                .get(&health)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            samples.push(t.elapsed());
        }
        report("/healthz over HTTP on the same server (the floor)", samples);
    });
}
