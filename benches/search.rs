//! Search benchmark (run with `cargo bench --bench search`; not a test).
//!
//! Generates a synthetic catalogue (default 100,000 resources; set
//! `AIDMATCH_BENCH_RESOURCES`), builds the index from the database and
//! reports: index build time and size; p50/p99 latency of in-process search;
//! p50/p99 of the HTTP endpoint with 16 concurrent clients; and, in the same
//! run, the same queries through SQLite FTS5 with the trigram tokenizer.
//! `AIDMATCH_BENCH_ROUNDS` sets the repetitions (default 40);
//! `AIDMATCH_BENCH_NO_FILTERS=1` leaves out the default validity filter.

use std::time::{Duration, Instant};

use aidmatch::config::{Secret, Settings};
use aidmatch::demo::synthetic::generate_resources;
use aidmatch::search::{AnalysisConfig, SearchIndex, SearchRequest};
use aidmatch::startup::{open_database, Application};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

const QUERIES: &[&str] = &[
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
    let rounds: usize = std::env::var("AIDMATCH_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        database_url: None,
        jwt_secret: Some(Secret::new("bench-secret-bench-secret-bench-secret")),
        smtp_url: None,
        token_ttl_hours: 1,
        index_config_dir: "index".into(),
        secure_cookies: false,
        login_max_failures_per_account: 5,
        login_max_failures_per_address: 20,
        login_window_secs: 900,
    };
    let pool = open_database(&settings).expect("database");
    let mut conn = pool.get().expect("connection");
    let t = Instant::now();
    generate_resources(&mut conn, n, 42, |_, _| {}).expect("generate");
    println!(
        "generated {n} resources in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // Index build from the database.
    let config = AnalysisConfig::load(&settings.index_config_dir);
    let (index, _) = SearchIndex::open(&settings.index_dir(), &config).expect("index");
    let t = Instant::now();
    index.rebuild(&mut conn, |_, _| {}).expect("rebuild");
    let build = t.elapsed();
    println!(
        "index build: {:.1} s, {} documents, {:.1} MB on disk",
        build.as_secs_f64(),
        index.num_docs(),
        index.size_bytes() as f64 / 1_048_576.0
    );

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
    for q in QUERIES {
        index.search(&request(q)).expect("search");
    }
    let mut samples = Vec::new();
    for _ in 0..rounds {
        for q in QUERIES {
            let t = Instant::now();
            let r = index.search(&request(q)).expect("search");
            samples.push(t.elapsed());
            std::hint::black_box(r);
        }
    }
    let (_, tantivy_p99) = report("tantivy in-process (top 20, facets, snippets)", samples);
    drop(index);

    // Baseline: SQLite FTS5 with the trigram tokenizer, same queries, top 20.
    let t = Instant::now();
    conn.batch_execute(
        "CREATE VIRTUAL TABLE fts USING fts5(ref_code UNINDEXED, title, summary, body, tokenize='trigram');
         INSERT INTO fts (ref_code, title, summary, body) SELECT ref_code, title, summary, body FROM resources;",
    )
    .expect("fts5");
    println!("FTS5 trigram build: {:.1} s", t.elapsed().as_secs_f64());
    let fts = |conn: &mut aidmatch::db::DbConnection, q: &str| -> usize {
        // Trigram MATCH needs 3+ characters; shorter terms fall back to LIKE,
        // which is how such a system has to serve two-character Chinese words.
        let rows: Vec<RefRow> = if q.chars().count() >= 3 {
            diesel::sql_query("SELECT ref_code FROM fts WHERE fts MATCH ? ORDER BY rank LIMIT 20")
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
    for q in QUERIES {
        fts(&mut conn, q);
    }
    let mut samples = Vec::new();
    for _ in 0..(rounds / 4).max(2) {
        for q in QUERIES {
            let t = Instant::now();
            std::hint::black_box(fts(&mut conn, q));
            samples.push(t.elapsed());
        }
    }
    let (_, fts_p99) = report("SQLite FTS5 trigram (top 20)", samples);
    println!(
        "tantivy p99 is {:.1}x faster than the FTS5 baseline",
        fts_p99.as_secs_f64() / tantivy_p99.as_secs_f64()
    );
    drop(conn);

    // The HTTP endpoint under 16 concurrent clients.
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings).expect("server");
        let base = format!("http://127.0.0.1:{}/api/v1/resources/search", app.port());
        let handle = app.handle();
        actix_web::rt::spawn(app.run_until_stopped());
        let client = reqwest::Client::new();
        for q in QUERIES {
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
        let clients = 16;
        let per_client = (rounds * QUERIES.len() / clients).max(20);
        let started = Instant::now();
        let tasks: Vec<_> = (0..clients)
            .map(|c| {
                let client = client.clone();
                let base = base.clone();
                tokio::spawn(async move {
                    let mut samples = Vec::with_capacity(per_client);
                    for i in 0..per_client {
                        let q = QUERIES[(c * 7 + i) % QUERIES.len()];
                        let t = Instant::now();
                        let resp = client.get(&base).query(&[("q", q)]).send().await.unwrap();
                        assert!(resp.status().is_success());
                        resp.bytes().await.unwrap();
                        samples.push(t.elapsed());
                    }
                    samples
                })
            })
            .collect();
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
