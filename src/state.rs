//! What every request handler shares.

use actix_web::web;

use crate::auth::jwt::JwtKeys;
use crate::auth::throttle::LoginThrottle;
use crate::config::Settings;
use crate::db::{DbConnection, DbPool};
use crate::error::AppError;
use crate::privacy::DataCipher;
use crate::search::SearchIndex;

pub struct AppState {
    pub pool: DbPool,
    pub settings: Settings,
    pub jwt: JwtKeys,
    pub throttle: LoginThrottle,
    pub search: std::sync::Arc<SearchIndex>,
    /// Encrypts and decrypts personal data.
    pub cipher: DataCipher,
    /// Published resources' eligibility rules, parsed once.
    pub rules: std::sync::Arc<crate::eligibility::rulebook::RuleBook>,
    /// Policy finds people: the background scanner's state.
    pub scanner: std::sync::Arc<crate::matching::worker::Scanner>,
    /// Delivers the outbox.
    pub postman: std::sync::Arc<crate::mail::worker::Postman>,
}

impl AppState {
    /// Runs blocking database work on the blocking thread pool.
    pub async fn db<T, F>(&self, work: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get()?;
            work(&mut conn)
        })
        .await?
    }
}
