//! Building the application: data directory, database, migrations, keys,
//! the first admin account, and the HTTP server bound to its listener.

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{DefaultHeaders, NormalizePath, TrailingSlash};
use actix_web::{web, App, HttpServer};
use rand::RngCore;
use tracing_actix_web::TracingLogger;

use crate::auth::jwt::JwtKeys;
use crate::auth::throttle::LoginThrottle;
use crate::auth::users::{self, UserInput};
use crate::config::Settings;
use crate::db::{self, DbPool};
use crate::error::AppError;
use crate::privacy::DataCipher;
use crate::search::{AnalysisConfig, SearchIndex};
use crate::state::AppState;
use crate::{api, web as pages};
use std::sync::Arc;

/// Opens the database named by the settings, creating the data directory and
/// running pending migrations.
pub fn open_database(settings: &Settings) -> Result<DbPool, AppError> {
    std::fs::create_dir_all(&settings.data_dir).map_err(|e| {
        AppError::Internal(format!(
            "cannot create data directory {}: {e}",
            settings.data_dir.display()
        ))
    })?;
    let pool = db::connect_pool(&settings.database_url())?;
    let mut conn = pool.get()?;
    let ran = db::run_migrations(&mut conn)?;
    if ran > 0 {
        tracing::info!(
            migrations = ran,
            backend = settings.backend().name(),
            "database migrated"
        );
    }
    Ok(pool)
}

/// Opens this instance's search index and brings it up to date with the
/// database: rebuilt from scratch when new, missing, corrupt or outdated;
/// otherwise caught up from the change log.
pub fn open_search(settings: &Settings, pool: &DbPool) -> Result<Arc<SearchIndex>, AppError> {
    let config = AnalysisConfig::load(&settings.index_config_dir);
    let (index, fresh) = SearchIndex::open(&settings.index_dir(), &config)?;
    let mut conn = pool.get()?;
    if fresh {
        let n = index.rebuild(&mut conn, |_, _| {})?;
        tracing::info!(documents = n, "search index built from the database");
    }
    let n = index.catch_up(&mut conn)?;
    if n > 0 {
        tracing::info!(changes = n, "search index caught up");
    }
    Ok(Arc::new(index))
}

/// Applies new change-log entries to the index every quarter second, so a
/// write made through any instance is searchable on every instance promptly.
/// The task holds the index weakly: it ends when the server (and so the
/// index, with its writer lock) is gone.
fn spawn_index_sync(search: &Arc<SearchIndex>, pool: DbPool) {
    let search = Arc::downgrade(search);
    actix_web::rt::spawn(async move {
        let mut failures = 0u32;
        loop {
            actix_web::rt::time::sleep(Duration::from_millis(250)).await;
            let Some(s) = search.upgrade() else { return };
            let p = pool.clone();
            let result = web::block(move || -> Result<usize, AppError> {
                let mut conn = p.get()?;
                s.catch_up(&mut conn)
            })
            .await;
            match result {
                Ok(Ok(_)) => failures = 0,
                Ok(Err(e)) => {
                    failures += 1;
                    if failures == 1 || failures.is_multiple_of(100) {
                        tracing::warn!(error = %e, "search index sync failed; retrying");
                    }
                }
                Err(_) => return,
            }
        }
    });
}

/// The JWT secret from the settings, or the one generated into the data
/// directory on first start.
pub fn jwt_secret(settings: &Settings) -> Result<Vec<u8>, AppError> {
    if let Some(secret) = settings
        .jwt_secret
        .as_ref()
        .filter(|s| !s.expose().is_empty())
    {
        return Ok(secret.expose().as_bytes().to_vec());
    }
    let path = settings.data_dir.join("jwt_secret");
    read_or_create_secret(&path)
}

/// The cipher for personal data: the configured data key, or the one
/// generated into the data directory; checked against the database.
pub fn data_cipher(settings: &Settings, pool: &DbPool) -> Result<DataCipher, AppError> {
    let hex_key = match settings
        .data_key
        .as_ref()
        .filter(|k| !k.expose().is_empty())
    {
        Some(key) => key.expose().to_string(),
        None => String::from_utf8(read_or_create_secret(&settings.data_dir.join("data_key"))?)
            .map_err(|_| AppError::Internal("data_key file is not text".into()))?,
    };
    let cipher = DataCipher::from_hex(&hex_key)?;
    let mut conn = pool.get()?;
    crate::privacy::keystore::check_key(&mut conn, &cipher)?;
    Ok(cipher)
}

fn read_or_create_secret(path: &Path) -> Result<Vec<u8>, AppError> {
    let io = |e: std::io::Error| AppError::Internal(format!("{}: {e}", path.display()));
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim();
        if existing.len() >= 32 {
            return Ok(existing.as_bytes().to_vec());
        }
    }
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(io)?;
    std::io::Write::write_all(&mut file, secret.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(secret.into_bytes())
}

/// Creates the `admin` account with a random password when there is no
/// account at all; returns that password so it can be printed once.
pub fn ensure_first_admin(pool: &DbPool) -> Result<Option<String>, AppError> {
    let mut conn = pool.get()?;
    if users::count(&mut conn)? > 0 {
        return Ok(None);
    }
    let password = crate::auth::password::generate_password();
    users::create(
        &mut conn,
        &UserInput {
            username: "admin".into(),
            display_name: "系统管理员".into(),
            password: Some(password.clone()),
            role: "admin".into(),
            organisation: None,
            regions: vec![],
            active: true,
            email: None,
        },
    )?;
    Ok(Some(password))
}

pub struct Application {
    port: u16,
    server: Server,
    /// Set when this start created the first admin account.
    pub initial_admin_password: Option<String>,
}

impl Application {
    /// Prepares everything and binds the listener (port 0 picks a free port).
    pub fn build(settings: Settings) -> Result<Application, AppError> {
        let pool = open_database(&settings)?;
        let initial_admin_password = ensure_first_admin(&pool)?;
        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| AppError::Internal(format!("cannot listen on {}: {e}", settings.bind)))?;
        let address = listener
            .local_addr()
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let port = address.port();
        // Links in mail point at the address actually bound (port 0 picks one).
        let mut settings = settings;
        if settings
            .public_url
            .as_deref()
            .is_none_or(|u| u.trim().is_empty())
        {
            settings.public_url = Some(format!("http://{address}"));
        }
        let server = run(listener, pool, settings)?;
        Ok(Application {
            port,
            server,
            initial_admin_password,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server (gracefully) from elsewhere.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped; SIGINT/SIGTERM shut down gracefully.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "same-origin"))
        .add((
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'self'",
        ))
        .add((
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=()",
        ))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
}

fn run(listener: TcpListener, pool: DbPool, settings: Settings) -> Result<Server, AppError> {
    let jwt = JwtKeys::new(
        &jwt_secret(&settings)?,
        chrono::Duration::hours(settings.token_ttl_hours.max(1)),
    );
    let throttle = LoginThrottle::new(
        Duration::from_secs(settings.login_window_secs),
        settings.login_max_failures_per_account,
        settings.login_max_failures_per_address,
    );
    let cipher = data_cipher(&settings, &pool)?;
    let search = open_search(&settings, &pool)?;
    spawn_index_sync(&search, pool.clone());
    let rules: Arc<crate::eligibility::rulebook::RuleBook> = Default::default();
    let holder = crate::db::lease::holder_id(&settings.data_dir);
    let scanner = Arc::new(crate::matching::worker::Scanner::new(holder.clone()));
    if settings.background_scan {
        crate::matching::worker::spawn(scanner.clone(), pool.clone(), rules.clone());
    }
    let postman =
        Arc::new(crate::mail::worker::Postman::new(&settings, holder).map_err(AppError::Internal)?);
    if settings.background_mail {
        crate::mail::worker::spawn(postman.clone(), pool.clone());
    }
    let state = web::Data::new(AppState {
        postman,
        pool,
        settings,
        jwt,
        throttle,
        search,
        cipher,
        rules: rules.clone(),
        scanner: scanner.clone(),
    });
    // Prometheus metrics at /metrics: request counts and latencies by
    // method, route pattern (never the concrete path) and status.
    let metrics = actix_web_prom::PrometheusMetricsBuilder::new("aidmatch")
        .endpoint("/metrics")
        .mask_unmatched_patterns("UNKNOWN")
        .build()
        .map_err(|e| AppError::Internal(format!("metrics: {e}")))?;
    // Work that holds a database connection runs on each worker's blocking
    // pool; more such threads than connections would only wait for one (and
    // each thread keeps its own allocator caches), so the pools together
    // match the connection pool.
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let blocking = (state.pool.max_size() as usize).div_ceil(workers).max(2);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(api::json_config())
            .app_data(api::query_config())
            .app_data(api::path_config())
            .app_data(web::PayloadConfig::new(4 * 1024 * 1024))
            .wrap(actix_web::middleware::from_fn(
                pages::session::error_pages_with_menu,
            ))
            .wrap(actix_web::middleware::from_fn(pages::session::csrf_cookie))
            .wrap(security_headers())
            .wrap(NormalizePath::new(TrailingSlash::Trim))
            .wrap(TracingLogger::<crate::telemetry::PrivateRootSpan>::new())
            .wrap(metrics.clone())
            .configure(api::configure)
            .configure(pages::configure)
            .default_service(web::to(pages::not_found))
    })
    .workers(workers)
    .worker_max_blocking_threads(blocking)
    .shutdown_timeout(10)
    .listen(listener)
    .map_err(|e| AppError::Internal(format!("cannot start server: {e}")))?
    .run();
    Ok(server)
}
