//! JSON Web Tokens (HS256) carrying the user id; the user is reloaded from the
//! database on every request, so a disabled account loses access at once.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    pub name: String,
    pub role: String,
    /// The account's session epoch when the token was issued.
    #[serde(default)]
    pub ep: i64,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    pub ttl: Duration,
}

impl JwtKeys {
    pub fn new(secret: &[u8], ttl: Duration) -> JwtKeys {
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl,
        }
    }

    pub fn issue(
        &self,
        user_id: i64,
        username: &str,
        role: &str,
        epoch: i64,
    ) -> Result<(String, DateTime<Utc>), AppError> {
        let now = Utc::now();
        let expires = now + self.ttl;
        let claims = Claims {
            sub: user_id.to_string(),
            name: username.to_string(),
            role: role.to_string(),
            ep: epoch,
            iat: now.timestamp(),
            exp: expires.timestamp(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(format!("token encoding failed: {e}")))?;
        Ok((token, expires))
    }

    /// The user id and session epoch in a valid, unexpired token.
    pub fn verify(&self, token: &str) -> Result<(i64, i64), AppError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        let data = decode::<Claims>(token, &self.decoding, &validation).map_err(|_| {
            AppError::Unauthorized("登录已失效，请重新登录 (invalid or expired token)".into())
        })?;
        let id = data
            .claims
            .sub
            .parse()
            .map_err(|_| AppError::Unauthorized("无效的令牌 (invalid token)".into()))?;
        Ok((id, data.claims.ep))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects_tampering_and_expiry() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef", Duration::hours(1));
        let (token, _) = keys.issue(42, "alice", "admin", 3).unwrap();
        assert_eq!(keys.verify(&token).unwrap(), (42, 3));
        let other = JwtKeys::new(b"another-secret-another-secret-xx", Duration::hours(1));
        assert!(other.verify(&token).is_err());
        let expired = JwtKeys::new(b"0123456789abcdef0123456789abcdef", Duration::hours(-1));
        let (old, _) = expired.issue(42, "alice", "admin", 0).unwrap();
        assert!(keys.verify(&old).is_err());
    }
}
