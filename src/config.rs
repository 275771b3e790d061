//! Settings: defaults, then an optional TOML file (`aidmatch.toml`, or the
//! file named by `AIDMATCH_CONFIG` / `--config`), then environment variables,
//! which win. See `docs/aidmatch.example.toml` for every key.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::db::Backend;

/// A secret that never prints.
#[derive(Clone, Deserialize, Default)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// Address to listen on; port 0 picks a free port.
    pub bind: String,
    /// Holds the SQLite file, the search index, generated keys and the mail folder.
    pub data_dir: PathBuf,
    /// `postgres://...` for PostgreSQL; empty means SQLite at `<data_dir>/aidmatch.db`.
    pub database_url: Option<String>,
    /// HS256 secret; empty means one is generated into `<data_dir>/jwt_secret`.
    pub jwt_secret: Option<Secret>,
    /// The key personal data is encrypted with: 64 hexadecimal digits
    /// (`AIDMATCH_DATA_KEY`); empty means one is generated into
    /// `<data_dir>/data_key`. Instances sharing one PostgreSQL must share it.
    #[serde(default)]
    pub data_key: Option<Secret>,
    /// `smtp://host:port`; empty means mail is written to `<data_dir>/outbox/`.
    pub smtp_url: Option<Secret>,
    /// How long a login lasts.
    pub token_ttl_hours: i64,
    /// Folder of the search analysis files (userdict.txt, synonyms.txt, stopwords.txt).
    pub index_config_dir: PathBuf,
    /// Mark cookies `Secure` (set when serving over HTTPS).
    pub secure_cookies: bool,
    /// Failed logins allowed per account, and per client address, in `login_window_secs`.
    pub login_max_failures_per_account: usize,
    pub login_max_failures_per_address: usize,
    pub login_window_secs: u64,
    /// Run the "policy finds people" scanner in this instance
    /// (`AIDMATCH_BACKGROUND_SCAN=false` to leave it to `aidmatch scan`).
    #[serde(default = "enabled")]
    pub background_scan: bool,
    /// Deliver the outbox from this instance (`AIDMATCH_BACKGROUND_MAIL=false`
    /// to leave it to another).
    #[serde(default = "enabled")]
    pub background_mail: bool,
    /// The sender of every message, `Name <address>`.
    #[serde(default = "default_mail_from")]
    pub mail_from: String,
    /// The first retry's delay after a failed delivery, doubled per attempt.
    #[serde(default = "default_mail_retry_secs")]
    pub mail_retry_secs: u64,
    /// How often the mail worker queues what the calendar makes due
    /// (reminders, follow-ups, daily digests).
    #[serde(default = "default_mail_plan_secs")]
    pub mail_plan_secs: u64,
    /// The address people reach the site at, for links in e-mail
    /// (`https://aidmatch.example.org`); empty means `http://<bind>`.
    #[serde(default)]
    pub public_url: Option<String>,
}

fn default_mail_from() -> String {
    "aidmatch 社会救助资源对接平台 <noreply@aidmatch.local>".into()
}

fn default_mail_retry_secs() -> u64 {
    30
}

fn default_mail_plan_secs() -> u64 {
    60
}

fn enabled() -> bool {
    true
}

impl Settings {
    /// Loads settings from `file` (if it exists) and the environment.
    pub fn load(file: Option<&Path>) -> Result<Settings, config::ConfigError> {
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("AIDMATCH_CONFIG").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("aidmatch.toml"));
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        config::Config::builder()
            .set_default("bind", "127.0.0.1:8080")?
            .set_default("data_dir", "data")?
            .set_default("token_ttl_hours", 12)?
            .set_default("secure_cookies", false)?
            .set_default("index_config_dir", "index")?
            .set_default("login_max_failures_per_account", 5)?
            .set_default("login_max_failures_per_address", 20)?
            .set_default("login_window_secs", 900)?
            .set_default("background_scan", true)?
            .add_source(config::File::from(file).required(false))
            .add_source(
                config::Environment::with_prefix("AIDMATCH")
                    .try_parsing(true)
                    .ignore_empty(true),
            )
            .set_override_option("database_url", env("DATABASE_URL"))?
            .set_override_option("smtp_url", env("SMTP_URL"))?
            .build()?
            .try_deserialize()
    }

    /// The site's address for links in e-mail, without a trailing slash.
    pub fn public_url(&self) -> String {
        match self
            .public_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.bind),
        }
    }

    /// Where this instance keeps its search index.
    pub fn index_dir(&self) -> PathBuf {
        self.data_dir.join("index")
    }

    /// The effective database URL.
    pub fn database_url(&self) -> String {
        match self.database_url.as_deref().filter(|u| !u.is_empty()) {
            Some(url) => url.to_string(),
            None => self
                .data_dir
                .join("aidmatch.db")
                .to_string_lossy()
                .into_owned(),
        }
    }

    pub fn backend(&self) -> Backend {
        Backend::of_url(&self.database_url())
    }

    /// The database URL with any password hidden, for logs.
    pub fn database_url_for_display(&self) -> String {
        let url = self.database_url();
        match url::Url::parse(&url) {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(Some("***"));
                u.to_string()
            }
            _ => url,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment_with_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("aidmatch.toml");
        std::fs::write(
            &file,
            "bind = \"0.0.0.0:9000\"\ndata_dir = \"/srv/aidmatch\"\njwt_secret = \"from-file-secret\"\n",
        )
        .unwrap();
        let s = Settings::load(Some(&file)).unwrap();
        assert_eq!(s.bind, "0.0.0.0:9000");
        assert_eq!(s.data_dir, PathBuf::from("/srv/aidmatch"));
        assert_eq!(
            s.token_ttl_hours, 12,
            "defaults fill what the file leaves out"
        );
        assert_eq!(s.database_url(), "/srv/aidmatch/aidmatch.db");
        assert_eq!(s.backend(), Backend::Sqlite);
        assert!(
            !format!("{s:?}").contains("from-file-secret"),
            "secrets never print"
        );

        let pg = Settings {
            database_url: Some("postgres://u:pw@db:5432/aidmatch".into()),
            ..s
        };
        assert_eq!(pg.backend(), Backend::Postgresql);
        assert!(!pg.database_url_for_display().contains("pw"));
    }
}
