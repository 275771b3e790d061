//! Accounts, roles and sessions: users and organisations, argon2 passwords,
//! JWTs, the request identity, login throttling and CSRF tokens.

pub mod csrf;
pub mod identity;
pub mod jwt;
pub mod organisations;
pub mod password;
pub mod throttle;
pub mod users;

pub use identity::{ApiUser, Identity, MaybeApiUser, Role};
