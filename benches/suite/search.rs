//! Search in process: tantivy (top 20 with facets and snippets) and, on
//! the same catalogue and queries, SQLite FTS5 with the trigram tokenizer
//! as the baseline.

use std::time::{Duration, Instant};

use aidmatch::db::DbConnection;
use aidmatch::search::{SearchIndex, SearchRequest};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::results::{percentile, Goal, Results};
use crate::Config;

/// Official names, abbreviations, colloquial needs, pinyin, near misses.
pub const QUERIES: &[&str] = &[
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

/// `AIDMATCH_BENCH_QUERY` runs just one query (for profiling).
pub fn queries() -> Vec<&'static str> {
    match std::env::var("AIDMATCH_BENCH_QUERY") {
        Ok(q) => vec![Box::leak(q.into_boxed_str())],
        Err(_) => QUERIES.to_vec(),
    }
}

fn request(q: &str) -> SearchRequest {
    SearchRequest {
        q: q.to_string(),
        valid_on: Some(chrono::Local::now().date_naive()),
        page: 1,
        per_page: 20,
        ..Default::default()
    }
}

pub fn in_process(cfg: &Config, index: &SearchIndex, results: &mut Results) {
    let queries = queries();
    for q in &queries {
        index.search(&request(q)).expect("search");
    }
    let mut samples = Vec::new();
    let mut per_query: Vec<Vec<Duration>> = vec![Vec::new(); queries.len()];
    for _ in 0..cfg.rounds {
        for (i, q) in queries.iter().enumerate() {
            let t = Instant::now();
            let r = index.search(&request(q)).expect("search");
            let took = t.elapsed();
            samples.push(took);
            per_query[i].push(took);
            std::hint::black_box(r);
        }
    }
    let mut medians: Vec<(Duration, &str)> = per_query
        .iter_mut()
        .zip(&queries)
        .map(|(s, q)| {
            s.sort();
            (percentile(s, 0.5), *q)
        })
        .collect();
    medians.sort_by(|a, b| b.cmp(a));
    let slowest: Vec<String> = medians
        .iter()
        .take(3)
        .map(|(d, q)| format!("{q} {:.1} ms", d.as_secs_f64() * 1e3))
        .collect();
    results.latencies(
        "search.tantivy",
        &format!(
            "search in process, {} resources (tantivy)",
            index.num_docs()
        ),
        samples,
        None,
        &format!(
            "{} queries, top 20, facets, snippets; slowest: {}",
            queries.len(),
            slowest.join(", ")
        ),
    );
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct RefRow {
    #[diesel(sql_type = Text)]
    #[allow(dead_code)]
    ref_code: String,
}

/// The FTS5 baseline. Its table is kept in the bench database (rebuilt
/// when the catalogue's size changes).
pub fn fts5(cfg: &Config, conn: &mut DbConnection, results: &mut Results) {
    let queries = queries();
    let catalogue: i64 = aidmatch::db::schema::resources::table
        .count()
        .get_result(conn)
        .expect("count");
    let have = diesel::sql_query("SELECT count(*) AS n FROM bench_fts")
        .get_result::<Count>(conn)
        .map(|c| c.n)
        .unwrap_or(-1);
    if have != catalogue {
        let t = Instant::now();
        conn.batch_execute(
            "DROP TABLE IF EXISTS bench_fts;
             CREATE VIRTUAL TABLE bench_fts USING fts5(ref_code UNINDEXED, title, summary, body, tokenize='trigram');
             INSERT INTO bench_fts (ref_code, title, summary, body) SELECT ref_code, title, summary, body FROM resources;",
        )
        .expect("fts5");
        println!(
            "  (FTS5 trigram table built in {:.1} s)",
            t.elapsed().as_secs_f64()
        );
    }
    let fts = |conn: &mut DbConnection, q: &str| -> usize {
        // Trigram MATCH needs 3+ characters; shorter terms fall back to
        // LIKE, which is how such a system has to serve two-character
        // Chinese words.
        let rows: Vec<RefRow> = if q.chars().count() >= 3 {
            diesel::sql_query(
                "SELECT ref_code FROM bench_fts WHERE bench_fts MATCH ? ORDER BY rank LIMIT 20",
            )
            .bind::<Text, _>(format!("\"{}\"", q.replace('"', "")))
            .load(conn)
            .unwrap_or_default()
        } else {
            diesel::sql_query(
                "SELECT ref_code FROM bench_fts WHERE title LIKE ?1 OR summary LIKE ?1 OR body LIKE ?1 LIMIT 20",
            )
            .bind::<Text, _>(format!("%{q}%"))
            .load(conn)
            .unwrap_or_default()
        };
        rows.len()
    };
    for q in &queries {
        fts(conn, q);
    }
    let mut samples = Vec::new();
    for _ in 0..(cfg.rounds / 4).max(2) {
        for q in &queries {
            let t = Instant::now();
            std::hint::black_box(fts(conn, q));
            samples.push(t.elapsed());
        }
    }
    results.latencies(
        "search.fts5",
        &format!("baseline: SQLite FTS5 trigram, {catalogue} resources"),
        samples,
        None,
        "same queries, top 20 by rank (LIKE under 3 characters); no facets, no snippets",
    );
    if let (Some(ours), Some(theirs)) = (
        results.get("search.tantivy.p99_ms"),
        results.get("search.fts5.p99_ms"),
    ) {
        results.add(
            "search.speedup_p99",
            "search p99: FTS5 baseline ÷ tantivy",
            theirs / ours,
            "×",
            Goal::Higher,
            "how many times faster than the baseline at p99",
        );
    }
}
