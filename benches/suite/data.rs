//! The data set every measure runs on: a synthetic city (by default
//! 100,000 resources, 100,000 households, 500 policies) written by the same
//! generator as `aidmatch gen`, its search index and its alerts.
//!
//! `AIDMATCH_BENCH_DIR=path` keeps the data set there and reuses it when a
//! later run asks for the same sizes (`bench-data.json` records them); the
//! generation, index build and first scan are then not measured again.

use std::path::PathBuf;
use std::time::Instant;

use aidmatch::auth::users::{self, UserInput};
use aidmatch::config::Settings;
use aidmatch::db::schema::{households, needs, resources};
use aidmatch::db::{DbConnection, DbPool};
use aidmatch::demo::synthetic::{generate_households, generate_policies, generate_resources};
use aidmatch::eligibility::rulebook::RuleBook;
use aidmatch::households::needs::{create as create_need, NeedInput};
use aidmatch::matching::facts_table::FactsTable;
use aidmatch::matching::scan;
use aidmatch::privacy::DataCipher;
use aidmatch::search::{AnalysisConfig, SearchIndex};
use aidmatch::startup::{data_cipher, open_database};
use diesel::prelude::*;
use serde_json::json;

use crate::results::{Goal, Results};
use crate::Config;

/// The account the HTTP measures sign in with.
pub const ADMIN: (&str, &str) = ("bench-admin", "Bench#Admin#2026");

/// Households (the first ones) given two open needs each, for bundles.
pub const WITH_NEEDS: i64 = 200;

pub struct Data {
    pub settings: Settings,
    pub pool: DbPool,
    index: Option<SearchIndex>,
    pub cipher: DataCipher,
    _temp: Option<tempfile::TempDir>,
}

impl Data {
    pub fn index(&self) -> &SearchIndex {
        self.index.as_ref().expect("the index is open")
    }

    /// Closes the index, for the server to open it (one writer only).
    pub fn close_index(&mut self) {
        self.index = None;
    }
}

pub fn settings(data_dir: PathBuf) -> Settings {
    Settings {
        bind: "127.0.0.1:0".into(),
        data_dir,
        database_url: None,
        jwt_secret: None,
        data_key: None,
        smtp_url: None,
        token_ttl_hours: 12,
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
    }
}

/// Opens the data set, generating it (and measuring that) when it is
/// missing or of other sizes.
pub fn prepare(cfg: &Config, results: &mut Results) -> Data {
    let (data_dir, temp) = match &cfg.dir {
        Some(dir) => (dir.clone(), None),
        None => {
            let temp = tempfile::tempdir().expect("temp dir");
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    std::fs::create_dir_all(&data_dir).expect("bench directory");
    let marker = data_dir.join("bench-data.json");
    let wanted = json!({
        "resources": cfg.resources,
        "households": cfg.households,
        "policies": cfg.policies,
        "seed": 1,
    });
    let reuse = std::fs::read_to_string(&marker)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|m| m == wanted);
    if !reuse {
        // Only what this suite writes is removed.
        let _ = std::fs::remove_file(&marker);
        for f in ["aidmatch.db", "aidmatch.db-wal", "aidmatch.db-shm"] {
            let _ = std::fs::remove_file(data_dir.join(f));
        }
        let _ = std::fs::remove_dir_all(data_dir.join("index"));
    }
    let settings = settings(data_dir);
    let pool = open_database(&settings).expect("database");
    let cipher = data_cipher(&settings, &pool).expect("data key");
    let config = AnalysisConfig::load(&settings.index_config_dir);
    let (index, _) = SearchIndex::open(&settings.index_dir(), &config).expect("index");
    let mut conn = pool.get().expect("connection");
    if reuse {
        println!("reusing the data set in {}", settings.data_dir.display());
    } else {
        println!(
            "generating {} resources, {} households, {} policies in {}",
            cfg.resources,
            cfg.households,
            cfg.policies,
            settings.data_dir.display()
        );
        generate(cfg, &mut conn, &cipher, results);
    }
    let catalogue: i64 = resources::table
        .count()
        .get_result(&mut conn)
        .expect("count");
    if index.num_docs() as i64 != catalogue {
        let t = Instant::now();
        index.rebuild(&mut conn, |_, _| {}).expect("rebuild");
        let secs = t.elapsed().as_secs_f64();
        results.add(
            "index.build_s",
            &format!("search index build from the database ({catalogue} resources)"),
            secs,
            "s",
            Goal::Lower,
            format!(
                "{:.0} resources/s; {:.0} MB on disk",
                catalogue as f64 / secs,
                index.size_bytes() as f64 / 1_048_576.0
            ),
        );
    }
    if !reuse {
        first_scan(&mut conn, results);
        std::fs::write(&marker, wanted.to_string()).expect("marker");
    }
    drop(conn);
    Data {
        settings,
        pool,
        index: Some(index),
        cipher,
        _temp: temp,
    }
}

fn generate(cfg: &Config, conn: &mut DbConnection, cipher: &DataCipher, results: &mut Results) {
    let t = Instant::now();
    generate_resources(conn, cfg.resources, 42, |_, _| {}).expect("resources");
    let secs = t.elapsed().as_secs_f64();
    results.add(
        "gen.resources_per_s",
        "aidmatch gen: resources written",
        cfg.resources as f64 / secs,
        "/s",
        Goal::Higher,
        format!("{} in {secs:.1} s", cfg.resources),
    );
    let t = Instant::now();
    generate_households(conn, cfg.households, 7, Some(cipher), |_, _| {}).expect("households");
    let secs = t.elapsed().as_secs_f64();
    results.add(
        "gen.households_per_s",
        "aidmatch gen: households written (members encrypted)",
        cfg.households as f64 / secs,
        "/s",
        Goal::Higher,
        format!("{} in {secs:.1} s", cfg.households),
    );
    generate_policies(conn, cfg.policies, 11).expect("policies");
    let ids: Vec<(i64, String)> = households::table
        .order(households::id.asc())
        .limit(WITH_NEEDS)
        .select((households::id, households::ref_code))
        .load(conn)
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
            create_need(conn, *id, &input, None, "bench").expect("need");
        }
    }
    users::create(
        conn,
        &UserInput {
            username: ADMIN.0.into(),
            display_name: "基准测试管理员".into(),
            password: Some(ADMIN.1.into()),
            role: "admin".into(),
            organisation: None,
            regions: Vec::new(),
            active: true,
            email: None,
        },
    )
    .expect("bench admin");
}

/// 50 households with open needs, for bundles.
pub fn households_with_needs(conn: &mut DbConnection) -> Vec<String> {
    needs::table
        .inner_join(households::table)
        .select(households::ref_code)
        .distinct()
        .limit(50)
        .load(conn)
        .expect("households with needs")
}

/// The first full scan of a new city: every policy against every
/// household, every qualifying pair written as an alert.
fn first_scan(conn: &mut DbConnection, results: &mut Results) {
    let day = chrono::Local::now().date_naive();
    let book = RuleBook::default().current(conn).expect("rule book");
    let table = FactsTable::load(conn, day).expect("facts");
    let t = Instant::now();
    let report = scan::scan_all(conn, &table, &book, day, |_, _| {}).expect("scan");
    let secs = t.elapsed().as_secs_f64();
    results.add(
        "scan.first_full_s",
        "first full scan, alerts written (aidmatch scan)",
        secs,
        "s",
        Goal::Lower,
        format!(
            "{} policies × {} households; {} alerts raised",
            report.policies, report.households, report.counts.raised
        ),
    );
}
