//! Search benchmark (run with `cargo bench --bench search`; not a test).
//!
//! Generates a synthetic catalogue (default 100,000 resources; set
//! `AIDMATCH_BENCH_RESOURCES`), builds the index from the database and
//! reports: index build time and size; p50/p99 latency of in-process search;
//! p50/p99 of the HTTP endpoint with 16 concurrent clients; and, in the same
//! run, the same queries through SQLite FTS5 with the trigram tokenizer.
//! `AIDMATCH_BENCH_ROUNDS` sets the repetitions (default 40);
//! `AIDMATCH_BENCH_NO_FILTERS=1` leaves out the default validity filter.
//! `AIDMATCH_BENCH_DIR=path` keeps the database and index there and reuses
//! them on the next run (no generation, no rebuild when they hold the same
//! number of resources; the build time is then not measured);
//! `AIDMATCH_BENCH_ONLY=inprocess,fts,http` runs only the phases named.

use std::time::{Duration, Instant};

use aidmatch::config::{Secret, Settings};
use aidmatch::demo::synthetic::generate_resources;
use aidmatch::search::{AnalysisConfig, SearchIndex, SearchRequest};
use aidmatch::startup::{open_database, Application};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

const ALL_QUERIES: &[&str] = &[
    "低保",
    "最低生活保障",
    "临时救助",
    "高龄津贴",
    "法律援助",
    "医疗救助",
    "长护险",
    "两项补贴",
    "老人吃饭没人管",
    "看病太贵",
    "低保怎么申请",
    "孩子放学没人带",
    "家里房子漏雨",
    "心里难受想找人聊聊",
    "失业了找不到工作",
    "dibao",
    "canji buzhu",
    "lin shi jiu zhu",
    "残障人士补贴",
    "长者助餐",
    "就医报销",
    "适老化改造",
    "困境儿童",
    "助学金",
    "爱心物资",
    "居家养老服务",
    "特困人员救助供养",
    "心理疏导",
    "课后托管",
    "宠物医院",
];

/// The benchmark's queries; `AIDMATCH_BENCH_QUERY` runs just one (for profiling).
fn queries() -> Vec<&'static str> {
    match std::env::var("AIDMATCH_BENCH_QUERY") {
        Ok(q) => vec![Box::leak(q.into_boxed_str())],
        Err(_) => ALL_QUERIES.to_vec(),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let (p50, p99) = (percentile(&samples, 0.50), percentile(&samples, 0.99));
    println!(
        "{name:<42} n={:<6} p50={:>8.3} ms  p99={:>8.3} ms  max={:>8.3} ms",
        samples.len(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        samples.last().unwrap().as_secs_f64() * 1e3
    );
    (p50, p99)
}

#[derive(QueryableByName)]
struct RefRow {
    #[diesel(sql_type = Text)]
    #[allow(dead_code)]
    ref_code: String,
}

fn main() {
    let n: usize = std::env::var("AIDMATCH_BENCH_RESOURCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let queries = queries();
    let rounds: usize = std::env::var("AIDMATCH_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
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
        data_key: None,
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
    let existing: i64 = aidmatch::db::schema::resources::table
        .count()
        .get_result(&mut conn)
        .expect("count resources");
    if existing as usize != n {
        conn.batch_execute(
            "DELETE FROM change_log; DELETE FROM resource_history; DELETE FROM resources;",
        )
        .expect("empty the catalogue");
        let t = Instant::now();
        generate_resources(&mut conn, n, 42, |_, _| {}).expect("generate");
        println!(
            "generated {n} resources in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }

    // Index build from the database.
    let config = AnalysisConfig::load(&settings.index_config_dir);
    let (index, _) = SearchIndex::open(&settings.index_dir(), &config).expect("index");
    if existing as usize != n || index.num_docs() as usize != n {
        let t = Instant::now();
        index.rebuild(&mut conn, |_, _| {}).expect("rebuild");
        println!("index build: {:.1} s", t.elapsed().as_secs_f64());
    }
    println!(
        "index: {} documents, {:.1} MB on disk",
        index.num_docs(),
        index.size_bytes() as f64 / 1_048_576.0
    );

    let only = std::env::var("AIDMATCH_BENCH_ONLY").ok();
    let run = |phase: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|p| p == phase))
    };

    // In-process search: every query `rounds` times, after one warm-up pass.
    let request = |q: &str| SearchRequest {
        q: q.to_string(),
        // AIDMATCH_BENCH_NO_FILTERS=1 measures the text query alone.
        valid_on: std::env::var_os("AIDMATCH_BENCH_NO_FILTERS")
            .is_none()
            .then(|| chrono::Local::now().date_naive()),
        page: 1,
        per_page: 20,
        ..Default::default()
    };
    let mut tantivy_p99 = None;
    if run("inprocess") {
        for q in &queries {
            index.search(&request(q)).expect("search");
        }
        let mut samples = Vec::new();
        let mut per_query: Vec<Vec<Duration>> = vec![Vec::new(); queries.len()];
        for _ in 0..rounds {
            for (i, q) in queries.iter().enumerate() {
                let t = Instant::now();
                let r = index.search(&request(q)).expect("search");
                let took = t.elapsed();
                samples.push(took);
                per_query[i].push(took);
                std::hint::black_box(r);
            }
        }
        tantivy_p99 = Some(report("tantivy in-process (top 20, facets, snippets)", samples).1);
        let mut medians: Vec<(Duration, &str)> = per_query
            .iter_mut()
            .zip(&queries)
            .filter(|(s, _)| !s.is_empty())
            .map(|(s, q)| {
                s.sort();
                (percentile(s, 0.5), *q)
            })
            .collect();
        medians.sort_by(|a, b| b.cmp(a));
        let slowest: Vec<String> = medians
            .iter()
            .take(5)
            .map(|(d, q)| format!("{q} {:.2} ms", d.as_secs_f64() * 1e3))
            .collect();
        println!("  slowest queries (median): {}", slowest.join(", "));
    }
    drop(index);

    // Baseline: SQLite FTS5 with the trigram tokenizer, same queries, top 20.
    if run("fts") {
        let t = Instant::now();
        conn.batch_execute(
        "DROP TABLE IF EXISTS fts; CREATE VIRTUAL TABLE fts USING fts5(ref_code UNINDEXED, title, summary, body, tokenize='trigram');
         INSERT INTO fts (ref_code, title, summary, body) SELECT ref_code, title, summary, body FROM resources;",
    )
    .expect("fts5");
        println!("FTS5 trigram build: {:.1} s", t.elapsed().as_secs_f64());
        let fts = |conn: &mut aidmatch::db::DbConnection, q: &str| -> usize {
            // Trigram MATCH needs 3+ characters; shorter terms fall back to LIKE,
            // which is how such a system has to serve two-character Chinese words.
            let rows: Vec<RefRow> = if q.chars().count() >= 3 {
                diesel::sql_query(
                    "SELECT ref_code FROM fts WHERE fts MATCH ? ORDER BY rank LIMIT 20",
                )
                .bind::<Text, _>(format!("\"{}\"", q.replace('"', "")))
                .load(conn)
                .unwrap_or_default()
            } else {
                diesel::sql_query("SELECT ref_code FROM fts WHERE title LIKE ?1 OR summary LIKE ?1 OR body LIKE ?1 LIMIT 20")
                .bind::<Text, _>(format!("%{q}%"))
                .load(conn)
                .unwrap_or_default()
            };
            rows.len()
        };
        for q in &queries {
            fts(&mut conn, q);
        }
        let mut samples = Vec::new();
        for _ in 0..(rounds / 4).max(2) {
            for q in &queries {
                let t = Instant::now();
                std::hint::black_box(fts(&mut conn, q));
                samples.push(t.elapsed());
            }
        }
        let (_, fts_p99) = report("SQLite FTS5 trigram (top 20)", samples);
        if let Some(tantivy_p99) = tantivy_p99 {
            println!(
                "tantivy p99 is {:.1}x faster than the FTS5 baseline",
                fts_p99.as_secs_f64() / tantivy_p99.as_secs_f64()
            );
        }
    }
    drop(conn);
    if !run("http") {
        return;
    }

    // The HTTP endpoint under 16 concurrent clients.
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings).expect("server");
        let base = format!("http://127.0.0.1:{}/api/v1/resources/search", app.port());
        let handle = app.handle();
        actix_web::rt::spawn(app.run_until_stopped());
        let client = reqwest::Client::new();
        for q in &queries {
            client
                .get(&base)
                .query(&[("q", q)])
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
        }
        // 16 keep-alive clients, each sending its next query as soon as the
        // last one is answered. A first, unmeasured round opens the 16
        // connections, so that only searches are timed.
        let clients = 16;
        let run_clients = |per_client: usize| {
            (0..clients)
                .map(|c| {
                    let client = client.clone();
                    let base = base.clone();
                    let queries = queries.clone();
                    tokio::spawn(async move {
                        let mut samples = Vec::with_capacity(per_client);
                        for i in 0..per_client {
                            let q = queries[(c * 7 + i) % queries.len()];
                            let t = Instant::now();
                            let resp = client.get(&base).query(&[("q", q)]).send().await.unwrap();
                            assert!(resp.status().is_success());
                            resp.bytes().await.unwrap();
                            samples.push(t.elapsed());
                        }
                        samples
                    })
                })
                .collect::<Vec<_>>()
        };
        for t in run_clients(queries.len().min(8)) {
            t.await.unwrap();
        }
        let per_client = (rounds * queries.len() / clients).max(200);
        let started = Instant::now();
        let tasks = run_clients(per_client);
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let elapsed = started.elapsed();
        let count = all.len();
        report("HTTP /api/v1/resources/search, 16 clients", all);
        println!(
            "HTTP throughput: {:.0} requests/s",
            count as f64 / elapsed.as_secs_f64()
        );
        handle.stop(true).await;
    });
}
