//! Failed-login throttling, per account and per client address: after too many
//! failures inside a sliding window, further attempts are refused until the
//! oldest failure leaves the window.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::AppError;

pub struct LoginThrottle {
    window: Duration,
    per_account: usize,
    per_address: usize,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginThrottle {
    pub fn new(window: Duration, per_account: usize, per_address: usize) -> LoginThrottle {
        LoginThrottle {
            window,
            per_account,
            per_address,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(username: &str, address: &str) -> [(String, bool); 2] {
        [
            (format!("user:{}", username.to_lowercase()), true),
            (format!("addr:{address}"), false),
        ]
    }

    /// Refuses the attempt when the account or the address is locked out;
    /// otherwise counts it as a failure straight away, so that parallel
    /// guesses cannot all pass the check before any of them fails. A
    /// successful login takes the count back ([`Self::record_success`]).
    /// Limits are per server instance.
    pub fn check_and_reserve(&self, username: &str, address: &str) -> Result<(), AppError> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        for (key, is_account) in Self::keys(username, address) {
            let limit = if is_account {
                self.per_account
            } else {
                self.per_address
            };
            if let Some(times) = map.get_mut(&key) {
                while times
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > self.window)
                {
                    times.pop_front();
                }
                if times.len() >= limit {
                    let oldest = times.front().copied().unwrap_or(now);
                    let wait = self.window.saturating_sub(now.duration_since(oldest));
                    return Err(AppError::RateLimited {
                        retry_after_secs: wait.as_secs().max(1),
                    });
                }
            }
        }
        if map.len() > 100_000 {
            // Bound memory under a flood of distinct names: forget stale entries.
            map.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) <= self.window)
            });
        }
        for (key, _) in Self::keys(username, address) {
            map.entry(key).or_default().push_back(now);
        }
        Ok(())
    }

    /// A successful login clears the account's failures and takes back the
    /// attempt reserved for the address.
    pub fn record_success(&self, username: &str, address: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&format!("user:{}", username.to_lowercase()));
        if let Some(times) = map.get_mut(&format!("addr:{address}")) {
            times.pop_back();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_an_account_after_the_limit_and_counts_addresses() {
        let t = LoginThrottle::new(Duration::from_secs(60), 3, 5);
        for _ in 0..3 {
            assert!(t.check_and_reserve("alice", "1.1.1.1").is_ok());
        }
        assert!(
            t.check_and_reserve("alice", "2.2.2.2").is_err(),
            "account locked from any address"
        );
        // A success gives the address its attempt back.
        assert!(t.check_and_reserve("bob", "1.1.1.1").is_ok());
        t.record_success("bob", "1.1.1.1");
        assert!(t.check_and_reserve("carol", "1.1.1.1").is_ok());
        assert!(t.check_and_reserve("dave", "1.1.1.1").is_ok());
        assert!(
            t.check_and_reserve("erin", "1.1.1.1").is_err(),
            "address locked for every account"
        );
        assert!(t.check_and_reserve("erin", "3.3.3.3").is_ok());
    }
}
