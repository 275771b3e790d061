//! The `aidmatch` command line (SPEC "CLI").

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::auth::users::{self, UserInput};
use crate::catalogue::import::import_resources;
use crate::config::Settings;
use crate::startup::{self, Application};
use crate::{catalogue, demo};

#[derive(Debug, Parser)]
#[command(name = "aidmatch", version, about = "社会救助资源对接平台 aidmatch")]
pub struct Cli {
    /// Configuration file (default: aidmatch.toml if present; AIDMATCH_CONFIG).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server.
    Serve {
        /// Load the demo data set when the catalogue is empty.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Manage accounts.
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
    /// Import records from a JSON array or JSON Lines file (all or nothing).
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Load (or refresh) the demo data set.
    Demo,
    /// Rebuild this instance's search index from the database (stop the
    /// server first; it re-reads index/userdict.txt, synonyms.txt, stopwords.txt).
    Reindex,
    /// Policy finds people: check every published policy against every
    /// household and bring the advisers' alerts up to date.
    Scan,
    /// Back the database up into FILE, consistently, while servers run:
    /// SQLite with `VACUUM INTO`, PostgreSQL with `pg_dump --format=custom`.
    /// The data key (`<data dir>/data_key` or AIDMATCH_DATA_KEY) is not in
    /// the backup: keep it safe separately, or personal data is lost.
    Backup { file: PathBuf },
    /// Restore a backup made by `aidmatch backup` over this installation's
    /// database (stop the servers first). The search index is rebuilt at
    /// the next start.
    Restore {
        file: PathBuf,
        /// Confirm that the current database is replaced.
        #[arg(long)]
        yes: bool,
    },
    /// Write synthetic data for trials and benchmarks: published resources
    /// recombined from the demo catalogue, households with valid
    /// (encrypted) ID numbers and plausible ages and incomes, and policies.
    /// Numbering continues after earlier runs; running servers pick the
    /// rows up from the change log.
    Gen {
        /// Resources to write.
        #[arg(long, default_value_t = 0)]
        resources: usize,
        /// Households to write (1–5 members each).
        #[arg(long, default_value_t = 0)]
        households: usize,
        /// Policies (with eligibility rules) to write.
        #[arg(long, default_value_t = 0)]
        policies: usize,
        /// Seed of the random choices (the same seed writes the same data).
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account, or update the one with this name.
    Add {
        username: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        password: String,
        /// Organisation name (required for charities).
        #[arg(long)]
        org: Option<String>,
        /// Region prefix an adviser covers; repeat for several.
        #[arg(long = "region")]
        regions: Vec<String>,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// E-mail address (advisers receive their alert digests there).
        #[arg(long)]
        email: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Catalogue resources in SPEC's "Resource" shape.
    Resources { file: PathBuf },
    /// Household records in SPEC's "Household profile" shape (JSON array or
    /// JSON Lines), or an `.xlsx` workbook in the template's layout (with needs).
    Households { file: PathBuf },
    /// Needs in SPEC's "Need" shape (each names its household_ref).
    Needs { file: PathBuf },
    /// Open Referral HSDS 3.0 service data (a service, an array, a page with
    /// `contents`, or an organization with `services`) as catalogue resources.
    Hsds {
        file: PathBuf,
        /// Region code for services without an aidmatch region, e.g. 310118.
        #[arg(long)]
        region: Option<String>,
        /// Dimension for services whose words suggest none, e.g. social.
        #[arg(long)]
        dimension: Option<String>,
        /// Publish active services at once (default: drafts to review).
        #[arg(long)]
        publish: bool,
    },
}

fn progress_bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// Runs a command; the result is the process exit code.
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    let settings = Settings::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve { demo } => serve(settings, demo).await,
        Command::Migrate => {
            let pool = startup::open_database(&settings)?;
            drop(pool);
            println!(
                "数据库已是最新 (database is up to date): {}",
                settings.database_url_for_display()
            );
            Ok(0)
        }
        Command::User {
            action:
                UserCommand::Add {
                    username,
                    role,
                    password,
                    org,
                    regions,
                    name,
                    email,
                },
        } => {
            let pool = startup::open_database(&settings)?;
            let mut conn = pool.get()?;
            let input = UserInput {
                username: username.clone(),
                display_name: name.unwrap_or_default(),
                password: Some(password),
                role,
                organisation: org,
                regions,
                active: true,
                email,
            };
            let verb = match users::find_by_username(&mut conn, &username)? {
                Some(existing) => {
                    users::update(&mut conn, &existing, &input)?;
                    "已更新 (updated)"
                }
                None => {
                    users::create(&mut conn, &input)?;
                    "已创建 (created)"
                }
            };
            println!("账号 {username} {verb}");
            Ok(0)
        }
        Command::Import { what } => {
            let (file, label) = match &what {
                ImportCommand::Resources { file } => (file, "导入资源"),
                ImportCommand::Households { file } => (file, "导入家庭档案"),
                ImportCommand::Needs { file } => (file, "导入需求"),
                ImportCommand::Hsds { file, .. } => (file, "导入 HSDS 服务数据"),
            };
            let is_workbook = file
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
            if is_workbook {
                if !matches!(what, ImportCommand::Households { .. }) {
                    eprintln!(
                        "只有 import households 接受 .xlsx 工作簿（需求放在其中的「需求」工作表） (only households take a workbook)"
                    );
                    return Ok(2);
                }
                let bytes = std::fs::read(file)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
                let pool = startup::open_database(&settings)?;
                let cipher = startup::data_cipher(&settings, &pool)?;
                let mut conn = pool.get()?;
                let today = chrono::Local::now().date_naive();
                let importer = crate::households::workbook::Importer::Command("import");
                return match crate::households::workbook::import(
                    &mut conn, &cipher, importer, &bytes, today, false,
                ) {
                    Ok(r) => {
                        println!(
                            "导入完成 (import done): 新建家庭 {} 户, 更新 {} 户, 成员 {} 人; 新增需求 {} 项, 跳过已有需求 {} 项",
                            r.households_created, r.households_updated, r.members, r.needs_created, r.needs_skipped
                        );
                        Ok(0)
                    }
                    Err(e) => {
                        eprint!("{e}");
                        Ok(2)
                    }
                };
            }
            let text = std::fs::read_to_string(file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let pool = startup::open_database(&settings)?;
            let mut conn = pool.get()?;
            let bar = progress_bar(0, label);
            let progress = |done: usize, total: usize| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            };
            let today = chrono::Local::now().date_naive();
            let result = match what {
                ImportCommand::Resources { .. } => {
                    import_resources(&mut conn, &text, "import", progress)
                }
                ImportCommand::Households { .. } => {
                    let cipher = startup::data_cipher(&settings, &pool)?;
                    crate::households::import::import_households(
                        &mut conn, &cipher, &text, "import", today, progress,
                    )
                }
                ImportCommand::Needs { .. } => {
                    crate::households::import::import_needs(&mut conn, &text, "import", progress)
                }
                ImportCommand::Hsds {
                    region,
                    dimension,
                    publish,
                    ..
                } => {
                    let options = crate::catalogue::hsds::ReadOptions {
                        region,
                        dimension,
                        publish,
                    };
                    crate::catalogue::hsds::import(&mut conn, &text, &options, "import", progress)
                }
            };
            bar.finish_and_clear();
            match result {
                Ok(report) => {
                    println!(
                        "导入完成 (import done): 新建 {} 条, 更新 {} 条",
                        report.created, report.updated
                    );
                    Ok(0)
                }
                Err(e) => {
                    eprintln!("{e}");
                    Ok(2)
                }
            }
        }
        Command::Reindex => {
            let pool = startup::open_database(&settings)?;
            let config = crate::search::AnalysisConfig::load(&settings.index_config_dir);
            let dir = settings.index_dir();
            let started = std::time::Instant::now();
            // Opening takes the index's writer lock, so a running server is
            // detected; a corrupt or outdated index is recreated by `open`.
            let (index, _) = crate::search::SearchIndex::open(&dir, &config)?;
            let mut conn = pool.get()?;
            let bar = progress_bar(0, "重建搜索索引");
            let n = index.rebuild(&mut conn, |done, total| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            })?;
            bar.finish_and_clear();
            println!(
                "搜索索引已重建 (search index rebuilt): {n} 项资源, {:.1} 秒, {:.1} MB, {}",
                started.elapsed().as_secs_f64(),
                index.size_bytes() as f64 / 1_048_576.0,
                dir.display()
            );
            Ok(0)
        }
        Command::Scan => {
            let pool = startup::open_database(&settings)?;
            let mut conn = pool.get()?;
            let started = std::time::Instant::now();
            let day = chrono::Local::now().date_naive();
            let book = crate::eligibility::rulebook::RuleBook::default().current(&mut conn)?;
            let table = crate::matching::facts_table::FactsTable::load(&mut conn, day)?;
            let bar = progress_bar(0, "政策找人");
            let report =
                crate::matching::scan::scan_all(&mut conn, &table, &book, day, |done, total| {
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                })?;
            bar.finish_and_clear();
            println!(
                "政策找人完成 (scan done): {} 户家庭, {} 项政策, {} 次比对; 新提醒 {} 条, 撤回 {} 条, 不变 {} 条; {:.1} 秒",
                report.households,
                report.policies,
                report.checks,
                report.counts.raised,
                report.counts.withdrawn,
                report.counts.unchanged,
                started.elapsed().as_secs_f64()
            );
            Ok(0)
        }
        Command::Backup { file } => {
            crate::db::backup::backup(&settings, &file)?;
            let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            println!(
                "已备份 (backup written): {} · {:.1} MB",
                file.display(),
                size as f64 / 1_048_576.0
            );
            println!(
                "提醒：个人信息密钥不在备份中，请另行安全保存 (keep the data key safe separately)"
            );
            Ok(0)
        }
        Command::Restore { file, yes } => {
            if !yes {
                eprintln!(
                    "错误 (error): 恢复会覆盖当前数据库。请先停止服务，确认后加 --yes 重新运行 (restoring replaces the database: stop the servers and add --yes)"
                );
                return Ok(2);
            }
            crate::db::backup::restore(&settings, &file)?;
            println!(
                "已从 {} 恢复 (restored)；下次启动时将重建搜索索引 (the search index is rebuilt at the next start)",
                file.display()
            );
            Ok(0)
        }
        Command::Gen {
            resources,
            households,
            policies,
            seed,
        } => {
            if resources + households + policies == 0 {
                eprintln!(
                    "错误 (error): 请至少指定 --resources、--households 或 --policies 之一 (nothing to generate)"
                );
                return Ok(2);
            }
            let limit = 10_000_000;
            if resources > limit || households > limit || policies > 100_000 {
                eprintln!("错误 (error): 数量过大 (at most 10,000,000 resources or households, 100,000 policies)");
                return Ok(2);
            }
            let pool = startup::open_database(&settings)?;
            let cipher = startup::data_cipher(&settings, &pool)?;
            let mut conn = pool.get()?;
            if resources > 0 {
                let started = std::time::Instant::now();
                let bar = progress_bar(resources as u64, "生成资源");
                crate::demo::synthetic::generate_resources(
                    &mut conn,
                    resources,
                    seed,
                    |done, _| bar.set_position(done as u64),
                )?;
                bar.finish_and_clear();
                let secs = started.elapsed().as_secs_f64();
                println!(
                    "已生成 {resources} 项资源 (resources written) · {secs:.1} 秒 · {:.0} 项/秒",
                    resources as f64 / secs.max(1e-9)
                );
            }
            if households > 0 {
                let started = std::time::Instant::now();
                let bar = progress_bar(households as u64, "生成家庭档案");
                crate::demo::synthetic::generate_households(
                    &mut conn,
                    households,
                    seed,
                    Some(&cipher),
                    |done, _| bar.set_position(done as u64),
                )?;
                bar.finish_and_clear();
                let secs = started.elapsed().as_secs_f64();
                println!(
                    "已生成 {households} 户家庭档案 (households written) · {secs:.1} 秒 · {:.0} 户/秒",
                    households as f64 / secs.max(1e-9)
                );
            }
            if policies > 0 {
                crate::demo::synthetic::generate_policies(&mut conn, policies, seed)?;
                println!("已生成 {policies} 项政策 (policies written)");
            }
            println!("正在运行的服务会从变更日志中同步这些数据；未运行时，下次启动会同步 (running servers pick the data up from the change log)");
            Ok(0)
        }
        Command::Demo => {
            let pool = startup::open_database(&settings)?;
            let cipher = startup::data_cipher(&settings, &pool)?;
            let mut conn = pool.get()?;
            load_demo(&mut conn, &cipher, &settings)?;
            Ok(0)
        }
    }
}

fn load_demo(
    conn: &mut crate::db::DbConnection,
    cipher: &crate::privacy::DataCipher,
    settings: &Settings,
) -> anyhow::Result<()> {
    let bar = progress_bar(0, "载入演示数据");
    let sender = crate::mail::Sender::of(settings);
    let report = demo::load(conn, cipher, &sender, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    println!(
        "演示数据已载入 (demo data loaded): {} 个机构, {} 项资源 (新建 {}, 更新 {}), {} 个账号, 新建 {} 户家庭档案",
        report.organisations,
        report.resources.created + report.resources.updated,
        report.resources.created,
        report.resources.updated,
        report.accounts,
        report.households
    );
    if report.event {
        println!("已创建并发布本季度的演示资源对接会 (demo matchmaking event published): /events");
    }
    println!("演示账号 (demo logins):\n{}", demo::logins_text());
    Ok(())
}

async fn serve(settings: Settings, demo: bool) -> anyhow::Result<i32> {
    if demo {
        let pool = startup::open_database(&settings)?;
        let cipher = startup::data_cipher(&settings, &pool)?;
        let mut conn = pool.get()?;
        if catalogue::repository::count(&mut conn)? == 0 {
            load_demo(&mut conn, &cipher, &settings)?;
        } else {
            println!(
                "演示账号 (demo logins, if the demo data was loaded):\n{}",
                demo::logins_text()
            );
        }
    }
    let backend = settings.backend().name();
    let bind = settings.bind.clone();
    let app = Application::build(settings)?;
    if let Some(pw) = &app.initial_admin_password {
        println!("首次启动已创建管理员账号 (first admin created): admin / {pw}");
        println!("请妥善保存，此密码只显示一次 (shown only once).");
    }
    let host = bind.rsplit_once(':').map(|(h, _)| h).unwrap_or("127.0.0.1");
    println!(
        "aidmatch 已启动 (listening): http://{}:{}/  [database: {backend}]",
        if host == "0.0.0.0" { "127.0.0.1" } else { host },
        app.port()
    );
    app.run_until_stopped().await?;
    Ok(0)
}
