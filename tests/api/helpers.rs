//! Test helpers: every test gets its own real server on a random port with a
//! fresh database (SQLite in a temporary directory, or a new PostgreSQL
//! database when `AIDMATCH_TEST_POSTGRES` names a server), and talks HTTP.

use std::path::PathBuf;

use aidmatch::auth::organisations::{self, OrganisationInput};
use aidmatch::auth::users::{self, UserInput};
use aidmatch::config::{Secret, Settings};
use aidmatch::startup::{open_database, Application};
use diesel::connection::SimpleConnection;
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const PASSWORD: &str = "Test-password-1";
pub const ORG_A: &str = "测试慈善基金会";
pub const ORG_B: &str = "另一家爱心企业";

pub struct TestApp {
    pub address: String,
    pub handle: actix_web::dev::ServerHandle,
    pub initial_admin_password: Option<String>,
    pub client: reqwest::Client,
    pub settings: Settings,
    _data_dir: tempfile::TempDir,
    pg_database: Option<(String, String)>,
}

/// The PostgreSQL server URL for tests, if configured.
pub fn postgres_server() -> Option<String> {
    std::env::var("AIDMATCH_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
}

fn create_pg_database(server: &str) -> (String, String) {
    let name = format!("aidmatch_test_{}", uuid::Uuid::new_v4().simple());
    let admin_url = format!("{}/postgres", server.trim_end_matches('/'));
    let mut conn = aidmatch::db::establish(&admin_url).expect("connect to PostgreSQL");
    conn.batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create test database");
    (
        admin_url,
        format!("{}/{name}", server.trim_end_matches('/')),
    )
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((admin_url, url)) = &self.pg_database {
            let name = url.rsplit('/').next().unwrap_or_default().to_string();
            if let Ok(mut conn) = aidmatch::db::establish(admin_url) {
                let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// Starts a server, or `None` when the backend is not configured here.
pub async fn try_spawn(backend: Backend) -> Option<TestApp> {
    spawn_with(backend, true).await
}

/// Starts a server; `seed` creates the test accounts first (otherwise the
/// server creates its first admin itself).
pub async fn spawn_with(backend: Backend, seed: bool) -> Option<TestApp> {
    spawn_configured(backend, seed, |_| {}).await
}

/// Starts a server with settings changed by `configure` (an SMTP server, say).
pub async fn spawn_configured(
    backend: Backend,
    seed: bool,
    configure: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let pg_database = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => {
            let server = postgres_server()?;
            Some(create_pg_database(&server))
        }
    };
    let settings = Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: data_dir.path().to_path_buf(),
        database_url: pg_database.as_ref().map(|(_, url)| url.clone()),
        jwt_secret: Some(Secret::new("test-secret-test-secret-test-secret-0123")),
        // Instances sharing a database share the data key (as deployed).
        data_key: Some(Secret::new("5a".repeat(32))),
        smtp_url: None,
        token_ttl_hours: 1,
        secure_cookies: false,
        index_config_dir: PathBuf::from("index"),
        login_max_failures_per_account: 5,
        login_max_failures_per_address: 12,
        login_window_secs: 900,
        background_scan: true,
        background_mail: true,
        mail_from: "aidmatch <noreply@aidmatch.local>".into(),
        mail_retry_secs: 1,
        mail_plan_secs: 1,
        public_url: None,
    };
    let mut settings = settings;
    configure(&mut settings);
    if seed {
        seed_accounts(&settings);
    }
    let app = Application::build(settings.clone()).expect("build application");
    let address = format!("http://127.0.0.1:{}", app.port());
    assert_eq!(
        app.initial_admin_password.is_none(),
        seed,
        "first admin only on an empty database"
    );
    let initial_admin_password = app.initial_admin_password.clone();
    let handle = app.handle();
    actix_web::rt::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("client");
    Some(TestApp {
        address,
        handle,
        client,
        settings,
        initial_admin_password,
        _data_dir: data_dir,
        pg_database,
    })
}

/// One account per role: `admin`, `adviser` (310118-003), `adviser_b`
/// (310104, another district), `charity_a`
/// (organisation A), `charity_b` (organisation B), `charity_none` (no organisation).
fn seed_accounts(settings: &Settings) {
    let pool = open_database(settings).expect("open database");
    let mut conn = pool.get().expect("connection");
    for (name, kind, email) in [
        (ORG_A, "charity", "org-a@charity.test"),
        (ORG_B, "company", "org-b@company.test"),
        ("上海市民政局", "government", "mzj@gov.test"),
    ] {
        organisations::upsert(
            &mut conn,
            &OrganisationInput {
                name: name.into(),
                kind: kind.into(),
                region: "310118".into(),
                contact: String::new(),
                email: Some(email.into()),
            },
        )
        .expect("organisation");
    }
    let accounts: [(&str, &str, Option<&str>, Vec<String>); 5] = [
        ("admin", "admin", None, vec![]),
        ("adviser", "adviser", None, vec!["310118-003".into()]),
        ("adviser_b", "adviser", None, vec!["310104".into()]),
        ("charity_a", "charity", Some(ORG_A), vec![]),
        ("charity_b", "charity", Some(ORG_B), vec![]),
    ];
    for (username, role, org, regions) in accounts {
        users::create(
            &mut conn,
            &UserInput {
                username: username.into(),
                display_name: format!("测试{username}"),
                password: Some(PASSWORD.into()),
                role: role.into(),
                organisation: org.map(str::to_string),
                regions,
                active: true,
                email: (role == "adviser").then(|| format!("{username}@advisers.test")),
            },
        )
        .expect("user");
    }
}

/// Starts another server on `settings` (same database and data directory,
/// or another data directory to act as a second instance).
pub async fn start_server(settings: Settings) -> (String, actix_web::dev::ServerHandle) {
    let app = Application::build(settings).expect("build application");
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    actix_web::rt::spawn(app.run_until_stopped());
    (address, handle)
}

/// A second view of the same test (another instance): shares nothing that
/// would drop the first test's database.
pub fn detached(app: &TestApp) -> TestApp {
    TestApp {
        address: app.address.clone(),
        handle: app.handle.clone(),
        initial_admin_password: None,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .expect("client"),
        settings: app.settings.clone(),
        _data_dir: tempfile::tempdir().expect("temp dir"),
        pg_database: None,
    }
}

impl TestApp {
    /// Stops this server and waits until its index (and writer lock) is released.
    pub async fn stop(&self) {
        self.handle.stop(true).await;
        // The index sync task notices within one tick that the index is gone.
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    }

    /// Points this test at another running server (after a restart).
    pub fn moved_to(&mut self, address: String, handle: actix_web::dev::ServerHandle) {
        self.address = address;
        self.handle = handle;
    }

    /// Runs the real `aidmatch` binary against this test's database and
    /// data directory (and no configuration file).
    pub fn cli<I, S>(&self, args: I) -> std::process::Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command(args).output().expect("run aidmatch")
    }

    /// The real `aidmatch` binary set up as [`TestApp::cli`] runs it, to be
    /// spawned (and killed) by the test.
    pub fn command<I, S>(&self, args: I) -> std::process::Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_aidmatch"));
        cmd.args(args)
            .env("AIDMATCH_DATA_DIR", self.data_dir())
            .env("DATABASE_URL", self.database_url())
            .env(
                "AIDMATCH_DATA_KEY",
                self.settings
                    .data_key
                    .as_ref()
                    .map(|k| k.expose().to_string())
                    .unwrap_or_default(),
            )
            .env("AIDMATCH_CONFIG", self.data_dir().join("none.toml"))
            .env("RUST_LOG", "warn");
        cmd
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.settings.data_dir.clone()
    }

    pub fn database_url(&self) -> String {
        self.settings.database_url()
    }

    pub async fn token(&self, username: &str) -> String {
        let resp = self
            .client
            .post(self.url("/api/v1/auth/token"))
            .json(&json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .expect("token request");
        assert_eq!(resp.status(), 200, "login of {username}");
        let body: Value = resp.json().await.expect("json");
        body["token"].as_str().expect("token").to_string()
    }

    /// Sends `method path` with an optional token and JSON body; returns status and JSON.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        self.call(reqwest::Method::PUT, path, token, Some(body))
            .await
    }
}

/// A valid service resource owned by `provider`.
pub fn service(ref_code: &str, provider: &str) -> Value {
    json!({
        "ref": ref_code, "kind": "service", "title": "社区长者助餐服务",
        "summary": "为辖区老人提供助餐和送餐上门", "body": "每餐补贴 5 元。",
        "provider": provider, "region": "310118-003",
        "dimensions": ["daily_care"], "target_groups": ["elderly"],
        "eligibility": null, "benefit": "每餐补贴 5 元",
        "capacity": {"total": 40, "remaining": 40, "unit": "人"},
        "valid_from": "2026-01-01", "valid_until": null,
        "apply": {"materials": ["身份证"], "process": "到社区食堂登记", "contact": "021-59700000", "url": null}
    })
}

/// A valid policy with a JsonLogic rule.
pub fn policy(ref_code: &str) -> Value {
    json!({
        "ref": ref_code, "kind": "policy", "title": "上海市最低生活保障",
        "summary": "差额补助", "body": "", "provider": "上海市民政局", "region": "310000",
        "dimensions": ["income"], "target_groups": ["dibao", "low_income"],
        "eligibility": {"and": [{"==": [{"var": "hukou_local"}, true]},
                                {"<": [{"var": "income_per_capita"}, 1510]}]},
        "benefit": "差额补足", "capacity": null, "valid_from": "2025-07-01", "valid_until": null,
        "apply": {"materials": ["身份证", "户口簿"], "process": "街道受理", "contact": "021-1", "url": "https://mzj.sh.gov.cn/"},
        "status": "published"
    })
}

/// Generates `#[actix_web::test]` functions running `$test(app)` on each backend.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        pub mod sqlite {
            $(
                #[actix_web::test]
                async fn $name() {
                    let app = $crate::helpers::try_spawn($crate::helpers::Backend::Sqlite)
                        .await
                        .expect("SQLite is always available");
                    super::$name(app).await;
                }
            )*
        }
        pub mod postgres {
            $(
                #[actix_web::test]
                async fn $name() {
                    match $crate::helpers::try_spawn($crate::helpers::Backend::Postgres).await {
                        Some(app) => super::$name(app).await,
                        None => eprintln!("skipped: AIDMATCH_TEST_POSTGRES is not set"),
                    }
                }
            )*
        }
    };
}
