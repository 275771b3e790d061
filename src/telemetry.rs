//! Structured logging with `tracing`; `RUST_LOG` overrides the default level.
//! Request bodies are never logged, so personal data stays out of the log.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn,diesel=warn"));
    // A second initialisation (tests start many servers) is harmless.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}
