//! aidmatch's benchmark suite, one command: `scripts/bench` (which installs
//! `wrk` if it is missing, then runs `cargo bench`). Not a test.
//!
//! On a synthetic city (`data.rs`; by default 100,000 resources, 100,000
//! households, 500 policies) it measures, in one run: search in process
//! with the SQLite FTS5 baseline beside it; the facts table, one-policy and
//! all-policies scans, a bundle and a screening in process; import rates;
//! the statistics page, the household list and HSDS exports and a
//! household workbook import;
//! and the real server (the release binary): its start, its memory, search,
//! screening and bundle latencies over HTTP, and throughput under `wrk` at
//! 64 connections against `/healthz`. It prints a table with the targets
//! and the previous run's figures and writes the results as JSON to
//! `target/bench/<time>.json` and `target/bench/latest.json`.
//!
//! Settings (environment):
//! - `AIDMATCH_BENCH_RESOURCES`, `_HOUSEHOLDS`, `_POLICIES`: sizes
//!   (100000, 100000, 500);
//! - `AIDMATCH_BENCH_DIR`: keep the data set there and reuse it;
//! - `AIDMATCH_BENCH_ONLY=search,matching,import,reports,server`: parts to run;
//! - `AIDMATCH_BENCH_ROUNDS` (40): search rounds over the 30 queries;
//! - `AIDMATCH_BENCH_IMPORT` (20000): resources imported (households: a
//!   quarter of that);
//! - `AIDMATCH_BENCH_WRK_SECS` (10): length of each wrk run;
//! - `AIDMATCH_BENCH_OUT` (`target/bench`): where the JSON goes;
//! - `AIDMATCH_BENCH_QUERY`: search only this query (for profiling).

mod data;
mod import;
mod matching;
mod reports;
mod results;
mod search;
mod server;

use std::path::PathBuf;

use results::{read_rows, Results};

pub struct Config {
    pub resources: usize,
    pub households: usize,
    pub policies: usize,
    pub rounds: usize,
    pub import: usize,
    pub wrk_secs: u64,
    pub dir: Option<PathBuf>,
    pub only: Option<Vec<String>>,
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

impl Config {
    fn from_env() -> Config {
        Config {
            resources: env_number("AIDMATCH_BENCH_RESOURCES", 100_000),
            households: env_number("AIDMATCH_BENCH_HOUSEHOLDS", 100_000),
            policies: env_number("AIDMATCH_BENCH_POLICIES", 500),
            rounds: env_number("AIDMATCH_BENCH_ROUNDS", 40),
            import: env_number("AIDMATCH_BENCH_IMPORT", 20_000),
            wrk_secs: env_number("AIDMATCH_BENCH_WRK_SECS", 10),
            dir: std::env::var_os("AIDMATCH_BENCH_DIR").map(PathBuf::from),
            only: std::env::var("AIDMATCH_BENCH_ONLY")
                .ok()
                .map(|v| v.split(',').map(|p| p.trim().to_string()).collect()),
        }
    }

    fn wanted(&self, part: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|parts| parts.iter().any(|p| p == part))
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is expected.
    let cfg = Config::from_env();
    let out_dir = std::env::var_os("AIDMATCH_BENCH_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench"));
    let previous = read_rows(&out_dir.join("latest.json"));
    let mut results = Results::new(serde_json::json!({
        "resources": cfg.resources,
        "households": cfg.households,
        "policies": cfg.policies,
        "rounds": cfg.rounds,
        "import": cfg.import,
        "wrk_secs": cfg.wrk_secs,
        "database": "sqlite",
        "only": cfg.only,
    }));

    println!("== data set");
    let mut data = data::prepare(&cfg, &mut results);
    if cfg.wanted("search") {
        println!("== search in process");
        search::in_process(&cfg, data.index(), &mut results);
        let mut conn = data.pool.get().expect("connection");
        search::fts5(&cfg, &mut conn, &mut results);
    }
    if cfg.wanted("matching") {
        println!("== eligibility and matching in process");
        matching::run(&data, &mut results);
    }
    if cfg.wanted("import") {
        println!("== import");
        let n = cfg.import.min(cfg.resources);
        import::run(&data, n, (cfg.import / 4).max(1), &mut results);
    }
    if cfg.wanted("reports") {
        println!("== statistics, exports and the household workbook");
        reports::run(&data, (cfg.import / 4).clamp(1, 20_000), &mut results);
    }
    if cfg.wanted("server") {
        println!("== the server over HTTP");
        data.close_index();
        server::run(&cfg, &data, &mut results);
    }

    results.print_table(previous.as_deref());
    match results.write_json(&out_dir) {
        Ok(path) => println!("results written to {}", path.display()),
        Err(e) => eprintln!("could not write the results: {e}"),
    }
}
