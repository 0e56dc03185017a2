//! One-time codes: six digits, short-lived, single use, a few guesses each,
//! a resend cool-down and an hourly cap per address. Stored as an HMAC
//! under the system secret, bound to the code's id.

use aws_lc_rs::hmac;
use oneauth_core::config::Codes as CodesConfig;
use oneauth_core::{Error, Result};
use oneauth_store::{CodePurpose, OneTimeCode, Store};
use std::sync::Arc;

pub struct OneTimeCodes {
    store: Arc<dyn Store>,
    key: hmac::Key,
    cfg: CodesConfig,
}

/// A uniformly random six-digit code (rejection sampling: no modulo bias).
fn random_code() -> String {
    const BOUND: u32 = 4_294_000_000; // the largest multiple of 10^6 below 2^32
    loop {
        let mut b = [0u8; 4];
        aws_lc_rs::rand::fill(&mut b).expect("system RNG");
        let n = u32::from_le_bytes(b);
        if n < BOUND {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

/// The code as typed, if it can be one: six digits, spaces ignored.
fn parse_code(raw: &str) -> Option<String> {
    let code: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    (code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

impl OneTimeCodes {
    pub fn new(store: Arc<dyn Store>, key: hmac::Key, cfg: &CodesConfig) -> Self {
        Self {
            store,
            key,
            cfg: cfg.clone(),
        }
    }

    fn hash(&self, id: &str, code: &str) -> String {
        oneauth_crypto::b64url(hmac::sign(&self.key, format!("{id}:{code}").as_bytes()))
    }

    /// Makes a new code for (purpose, address), retiring earlier ones.
    /// `identity_id` is `None` for addresses without an account: the code
    /// is stored (so cool-downs and timing match) but never redeemable.
    pub async fn issue(
        &self,
        purpose: CodePurpose,
        address: &str,
        identity_id: Option<String>,
        now: i64,
    ) -> Result<String> {
        // Both limits come from the stored codes, so they hold across nodes.
        let (last_hour, newest) = self
            .store
            .one_time_codes_sent(purpose, address, now - 3600)
            .await?;
        if let Some(newest) = newest {
            let wait = newest + self.cfg.resend_cooldown_secs as i64 - now;
            if wait > 0 {
                return Err(Error::RateLimited {
                    retry_after_secs: wait as u64,
                });
            }
        }
        if self.cfg.per_address_per_hour > 0 && last_hour >= self.cfg.per_address_per_hour as i64 {
            return Err(Error::RateLimited {
                retry_after_secs: 3600,
            });
        }
        let code = random_code();
        let id = uuid::Uuid::now_v7().to_string();
        self.store
            .insert_one_time_code(&OneTimeCode {
                code_hash: self.hash(&id, &code),
                id,
                purpose,
                address: address.to_owned(),
                identity_id,
                attempts: 0,
                created_at: now,
                expires_at: now + self.cfg.ttl_secs as i64,
            })
            .await?;
        Ok(code)
    }

    /// Redeems a code: the identity it was sent for. Every failure (wrong,
    /// expired, used, out of attempts, no account) is the same
    /// `InvalidCode`; each guess spends an attempt before it is compared.
    pub async fn redeem(
        &self,
        purpose: CodePurpose,
        address: &str,
        code: &str,
        now: i64,
    ) -> Result<String> {
        let code = parse_code(code).ok_or(Error::InvalidCode)?;
        let stored = self
            .store
            .spend_one_time_code_attempt(purpose, address, self.cfg.max_attempts as i64, now)
            .await?
            .ok_or(Error::InvalidCode)?;
        let presented = self.hash(&stored.id, &code);
        if !oneauth_crypto::ct_eq(presented.as_bytes(), stored.code_hash.as_bytes()) {
            return Err(Error::InvalidCode);
        }
        if !self.store.take_one_time_code(&stored.id, now).await? {
            return Err(Error::InvalidCode);
        }
        stored.identity_id.ok_or(Error::InvalidCode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_parse_loosely() {
        for _ in 0..100 {
            let c = random_code();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
        assert_eq!(parse_code(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(parse_code("12345"), None);
        assert_eq!(parse_code("12345a"), None);
    }
}
