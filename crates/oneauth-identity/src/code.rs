//! One-time codes: six digits, short-lived, single use, a few guesses each
//! and a guess budget per address over every purpose ([`GuessRule`]);
//! sending spends the address's send budget in the outbox. Stored as an
//! HMAC under the system secret, bound to the code's id.

use crate::Locale;
use crate::courier::Outbox;
use crate::courier::templates::Template;
use crate::identifier::Address;
use crate::limit::GuessRule;
use aws_lc_rs::hmac;
use oneauth_core::config::Codes as CodesConfig;
use oneauth_core::{Error, Result};
use oneauth_limit::Limiter;
use oneauth_store::{CodePurpose, OneTimeCode, Store};
use std::sync::Arc;

pub struct OneTimeCodes {
    store: Arc<dyn Store>,
    key: hmac::Key,
    cfg: CodesConfig,
    limits: Arc<Limiter>,
    guesses: GuessRule,
}

/// The budget bucket of code guesses at an address.
const GUESSES: &str = "code-guess";

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
    pub fn new(
        store: Arc<dyn Store>,
        key: hmac::Key,
        cfg: &CodesConfig,
        limits: Arc<Limiter>,
    ) -> Self {
        Self {
            store,
            key,
            cfg: cfg.clone(),
            limits,
            guesses: GuessRule::from_config(cfg),
        }
    }

    fn hash(&self, id: &str, code: &str) -> String {
        oneauth_crypto::b64url(hmac::sign(&self.key, format!("{id}:{code}").as_bytes()))
    }

    /// Sends a new code for (purpose, address), retiring earlier ones.
    /// `identity_id` is `None` for addresses without an account: nothing
    /// is sent, but the send budget is spent and a code stored (never
    /// redeemable), so answers, cool-downs and timing match. The budget is
    /// spent first: a refused send leaves the current code working.
    pub async fn send(
        &self,
        outbox: &Outbox,
        purpose: CodePurpose,
        address: &Address,
        identity_id: Option<String>,
        locale: Locale,
        now: i64,
    ) -> Result<()> {
        let code = random_code();
        if identity_id.is_some() {
            let template = match purpose {
                CodePurpose::Login => Template::LoginCode(&code),
                CodePurpose::Verification => Template::VerificationCode(&code),
                CodePurpose::Recovery => Template::RecoveryCode(&code),
            };
            outbox.enqueue(address, template, locale, now).await?;
        } else {
            outbox.withhold(address, purpose, now).await?;
        }
        let id = uuid::Uuid::now_v7().to_string();
        self.store
            .insert_one_time_code(&OneTimeCode {
                code_hash: self.hash(&id, &code),
                id,
                purpose,
                address: address.as_str().to_owned(),
                identity_id,
                attempts: 0,
                created_at: now,
                expires_at: now + self.cfg.ttl_secs as i64,
            })
            .await?;
        Ok(())
    }

    /// Redeems a code: the identity it was sent for. Every failure (wrong,
    /// expired, used, out of attempts, no account) is `InvalidCode`, a wrong
    /// guess at a live code with its tries left (the same whether or not an
    /// account has the address); a locked-out address is `RateLimited` (even with the
    /// right code). Each guess is charged to the address's guess budget and
    /// spends an attempt of the code before it is compared.
    pub async fn redeem(
        &self,
        purpose: CodePurpose,
        address: &str,
        code: &str,
        now: i64,
    ) -> Result<String> {
        let code = parse_code(code).ok_or(Error::INVALID_CODE)?;
        let rule = self.guesses;
        let charged = self
            .limits
            .spend(GUESSES, address, |b| rule.charge(b, now).map(|n| (n, n)))
            .await?;
        let redeemed = self.check(purpose, address, &code, now).await;
        if redeemed.is_ok() {
            self.limits
                .spend(GUESSES, address, |b| Ok((rule.refund(b, &charged), ())))
                .await?;
        }
        redeemed
    }

    async fn check(
        &self,
        purpose: CodePurpose,
        address: &str,
        code: &str,
        now: i64,
    ) -> Result<String> {
        let stored = self
            .store
            .spend_one_time_code_attempt(purpose, address, self.cfg.max_attempts as i64, now)
            .await?
            .ok_or(Error::INVALID_CODE)?;
        let presented = self.hash(&stored.id, code);
        if !oneauth_crypto::ct_eq(presented.as_bytes(), stored.code_hash.as_bytes()) {
            // The code was asked for at this address, by the requester in
            // the usual case: its count of tries is theirs to know.
            let left = i64::from(self.cfg.max_attempts) - stored.attempts;
            return Err(Error::InvalidCode {
                tries_left: Some(u32::try_from(left).unwrap_or(0)),
            });
        }
        if !self.store.take_one_time_code(&stored.id, now).await? {
            return Err(Error::INVALID_CODE);
        }
        stored.identity_id.ok_or(Error::INVALID_CODE)
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
