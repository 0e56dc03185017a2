//! The identity service's rules over the limiter ([`oneauth_limit`]):
//! which keys a login attempt counts on, and the budgets of an address
//! (its sends, [`SendRule`], and its code guesses, [`GuessRule`]).
//!
//! Per-identifier limits count on the identifier as lookups read it, and
//! also on the identity it names, so an account's email, phone and
//! username share one budget (the price: someone who spends one of them
//! can learn that another names the same account). Per-IP limits count an
//! IPv6 client by its /64 ([`ip_key`]).

mod rules;

use crate::identifier::{LoginIdentifier, identity_with};
use oneauth_core::Error;
use oneauth_core::config::Limits as LimitsConfig;
pub use oneauth_limit::{BufferedCounter, Counter, FLUSH, MemoryCounter, StoreCounter, ip_key};
use oneauth_limit::{Class, Limiter};
use oneauth_store::Store;
pub use rules::{GuessRule, SendRule};
use std::net::IpAddr;
use std::sync::Arc;
use time::OffsetDateTime;

/// What a per-identifier limit counts on: the identifier as lookups read
/// it (`+86 138…`, `+86-138…` and `0086 138…` are one), or, when it can
/// name no account, as typed, trimmed and in lower case.
pub fn identifier_key(raw: &str) -> String {
    match LoginIdentifier::parse(raw) {
        Ok(id) => id.as_str().to_owned(),
        Err(_) => raw.trim().to_lowercase(),
    }
}

pub struct Limits {
    limiter: Arc<Limiter>,
    /// To find the identity an identifier names.
    store: Arc<dyn Store>,
}

impl Limits {
    pub fn new(cfg: &LimitsConfig, store: Arc<dyn Store>) -> Self {
        Self {
            limiter: Arc::new(Limiter::new(cfg, store.clone())),
            store,
        }
    }

    /// The budgets ([`Limiter::spend`]), for the courier's sends and the
    /// codes' guesses.
    pub fn budgets(&self) -> Arc<Limiter> {
        self.limiter.clone()
    }

    /// A password or code attempt, a code sent or a sign-up, from `ip` for
    /// `identifier`: counted on the identifier normalised (see
    /// [`identifier_key`]), and on the identity it names if any, so other
    /// spellings and the account's other identifiers buy no extra attempts.
    pub async fn login_attempt(
        &self,
        ip: Option<IpAddr>,
        identifier: &str,
        now: OffsetDateTime,
    ) -> Result<(), Error> {
        if let Some(ip) = ip {
            self.limiter.hit(Class::LoginIp, &ip_key(ip), now).await?;
        }
        let subject = identifier_key(identifier);
        self.limiter
            .hit(Class::LoginIdentifier, &subject, now)
            .await?;
        if !self.limiter.enabled(Class::LoginIdentity) {
            return Ok(());
        }
        // Looked up only once the identifier's own limit passed, so a flood
        // costs no reads.
        let identity = match LoginIdentifier::parse(&subject) {
            Ok(id) => identity_with(self.store.as_ref(), &id).await?,
            Err(_) => None,
        };
        match identity {
            Some(identity) => {
                self.limiter
                    .hit(Class::LoginIdentity, &identity.id, now)
                    .await
            }
            None => Ok(()),
        }
    }

    /// A passkey sign-in's start or finish, from `ip`: on the login
    /// attempts of the IP only, since no identifier is typed (an assertion
    /// cannot be guessed; the limit bounds the ceremonies stored).
    pub async fn passkey_attempt(
        &self,
        ip: Option<IpAddr>,
        now: OffsetDateTime,
    ) -> Result<(), Error> {
        match ip {
            Some(ip) => self.limiter.hit(Class::LoginIp, &ip_key(ip), now).await,
            None => Ok(()),
        }
    }

    pub async fn token_request(
        &self,
        ip: Option<IpAddr>,
        now: OffsetDateTime,
    ) -> Result<(), Error> {
        match ip {
            Some(ip) => self.limiter.hit(Class::TokenIp, &ip_key(ip), now).await,
            None => Ok(()),
        }
    }

    pub async fn client_request(&self, client_id: &str, now: OffsetDateTime) -> Result<(), Error> {
        self.limiter.hit(Class::TokenClient, client_id, now).await
    }

    pub fn forget_before(&self, now: OffsetDateTime) {
        self.limiter.forget_before(now);
    }
}

#[cfg(test)]
mod tests;
