//! The device authorization grant (RFC 8628) for CLIs, TVs and headless
//! tools: the device asks for a pair of codes, the user approves on any
//! browser at the login UI's `/device` page, the device polls the token
//! endpoint. Not the page itself (oneauth-ui) nor the HTTP endpoint.
//!
//! ```text
//! device                            OneAuth                      the user's browser
//! POST /oauth2/device/auth ----> Pending (device_code, user_code)
//! POST /oauth2/token (polls) --> authorization_pending | slow_down (interval + 5 s)
//!                                   <---- /device: user code, login, approve or deny
//!                                Approved | Denied
//! POST /oauth2/token ----------> Approved -> Used: tokens, once | access_denied
//!                                past expires_at: expired_token
//! ```
//!
//! Every change is a compare-and-swap on the stored row, so nodes sharing
//! the database see one pace (the interval is stored) and issue once.

use crate::challenge::ClientSummary;
use crate::token::{Grant, TokenResponse};
use crate::{AuthorizationServer, R, parse_scope};
use oneauth_core::Error;
use oneauth_crypto::TokenKind;
use oneauth_identity::limit::{GuessRule, ip_key};
use oneauth_proto::oauth2::GrantType;
use oneauth_store::{
    Client, DeviceCode, DeviceCodeState, Identity, IdentityState, Session, StoreError,
};
use serde::Serialize;
use std::net::IpAddr;
use time::OffsetDateTime;

const DEVICE_CODE_PREFIX: &str = "ory_dc_";
/// Long enough to find a browser and sign in, short enough that an unused
/// pair of codes does not linger (RFC 8628 §6.1 suggests minutes).
const TTL_SECS: i64 = 600;
/// The polling interval a device starts with (RFC 8628 §3.2 default).
const INTERVAL_SECS: i64 = 5;
/// What each `slow_down` adds to the interval (RFC 8628 §3.5).
const SLOW_DOWN_SECS: i64 = 5;
/// Consonants only (RFC 8628 §6.1): no vowels to spell words, no 0/O or
/// 1/I to confuse. 20⁸ ≈ 2.6 × 10¹⁰ codes.
const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
const USER_CODE_LEN: usize = 8;
/// The budget bucket of user-code guesses from one address.
const GUESSES: &str = "user-code-guess";
/// Compare-and-swap rounds before a contended poll is told to wait.
const TRIES: usize = 4;

/// RFC 8628 §3.2: the device authorization response.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeviceAuthorization {
    pub device_code: String,
    /// `XXXX-XXXX`; compared without case and dashes.
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// What the device page shows the user before they answer.
#[derive(Debug, Clone)]
pub struct DeviceRequest {
    /// Normalised and formatted (`XXXX-XXXX`).
    pub user_code: String,
    pub client: ClientSummary,
    pub scope: Vec<String>,
}

/// A fresh user code, uniformly random over [`ALPHABET`].
pub fn random_user_code() -> String {
    oneauth_crypto::random_string(ALPHABET, USER_CODE_LEN)
}

/// The code as the user may type it: any case, with or without the dash
/// and spaces; `None` when it cannot be a user code.
pub fn parse_user_code(raw: &str) -> Option<String> {
    let code: String = raw
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == USER_CODE_LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// `BCDFGHJK` as `BCDF-GHJK`, the form shown on the device and the page.
pub fn format_user_code(code: &str) -> String {
    let (a, b) = code.split_at(code.len() / 2);
    format!("{a}-{b}")
}

/// The outcome of one poll (RFC 8628 §3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
    /// Approved: this poll takes the tokens.
    Issue,
    Pending,
    /// Polled sooner than the interval after the last poll: the interval
    /// grows by [`SLOW_DOWN_SECS`].
    SlowDown,
    Denied,
    Expired,
    /// The tokens went to an earlier poll.
    Used,
}

/// Decides a poll at `now`: the outcome and the row to write (unchanged
/// for the final outcomes, which need no write).
pub fn poll(d: &DeviceCode, now: i64) -> (Poll, DeviceCode) {
    let mut next = d.clone();
    let outcome = match d.state {
        DeviceCodeState::Used => Poll::Used,
        _ if d.expires_at <= now => Poll::Expired,
        DeviceCodeState::Denied => Poll::Denied,
        DeviceCodeState::Approved => {
            next.state = DeviceCodeState::Used;
            Poll::Issue
        }
        DeviceCodeState::Pending if d.last_polled_at.is_some_and(|t| now - t < d.interval_secs) => {
            next.interval_secs += SLOW_DOWN_SECS;
            Poll::SlowDown
        }
        DeviceCodeState::Pending => Poll::Pending,
    };
    if matches!(outcome, Poll::Issue | Poll::Pending | Poll::SlowDown) {
        next.last_polled_at = Some(now);
    }
    (outcome, next)
}

fn invalid_device_code() -> Error {
    Error::InvalidGrant("The device code is invalid.".into())
}

impl AuthorizationServer {
    /// RFC 8628 §3.1–3.2: a new device authorization for `client`, which
    /// must be registered for the grant. `scope` is checked against the
    /// client's scopes as at the authorization endpoint.
    pub async fn authorize_device(
        &self,
        client: &Client,
        scope: Option<&str>,
        now: OffsetDateTime,
    ) -> R<DeviceAuthorization> {
        if !client.allows_grant(GrantType::DeviceCode) {
            return Err(Error::UnauthorizedClient(
                "The client may not use the device authorization grant.".into(),
            ));
        }
        let scope = parse_scope(scope.unwrap_or(""))?;
        if let Some(s) = scope.iter().find(|s| !client.scope.contains(s)) {
            return Err(Error::InvalidScope(format!(
                "The client may not request scope `{s}`."
            )));
        }
        let (device_code, hash) = self
            .minter
            .mint(TokenKind::DeviceCode, DEVICE_CODE_PREFIX, now);
        let now_secs = now.unix_timestamp();
        // A user code that is in use already (one in 2.6 × 10¹⁰ per live
        // code) is drawn again.
        for _ in 0..TRIES {
            let user_code = random_user_code();
            let row = DeviceCode {
                id: uuid::Uuid::now_v7().to_string(),
                device_code_hash: hash.0.clone(),
                user_code_hash: self.system_keys.hash_user_code(&user_code),
                client_id: client.client_id.clone(),
                scope: scope.clone(),
                state: DeviceCodeState::Pending,
                subject: None,
                session_id: None,
                granted_scope: vec![],
                amr: vec![],
                auth_time: None,
                interval_secs: INTERVAL_SECS,
                last_polled_at: None,
                created_at: now_secs,
                expires_at: now_secs + TTL_SECS,
                version: 0,
            };
            match self.store.insert_device_code(&row).await {
                Ok(()) => {
                    let shown = format_user_code(&user_code);
                    let uri = self.ui_endpoint("/device");
                    return Ok(DeviceAuthorization {
                        device_code,
                        verification_uri_complete: format!("{uri}?user_code={shown}"),
                        verification_uri: uri,
                        user_code: shown,
                        expires_in: TTL_SECS,
                        interval: INTERVAL_SECS,
                    });
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::internal("no free user code"))
    }

    /// The pending, unexpired authorization behind a user code, and the
    /// code normalised. Each try is charged to `ip`'s guess budget first
    /// and refunded when right, so wrong codes from one address are limited
    /// as wrong one-time codes are (`codes.failures_before_lockout` and the
    /// lock-outs after it).
    async fn pending_device(
        &self,
        raw: &str,
        ip: Option<IpAddr>,
        now: OffsetDateTime,
    ) -> R<(String, DeviceCode)> {
        let rule = GuessRule::from_config(&self.config.codes);
        let at = now.unix_timestamp();
        // Without an address (not on the HTTP path) all callers share one.
        let from = ip.map_or_else(|| "unknown".to_owned(), ip_key);
        let budgets = self.limits.budgets();
        let charged = budgets
            .spend(GUESSES, &from, |b| rule.charge(b, at).map(|n| (n, n)))
            .await?;
        let found = match parse_user_code(raw) {
            Some(code) => self
                .store
                .get_device_code_by_user_code(&self.system_keys.hash_user_code(&code))
                .await?
                .filter(|d| d.state == DeviceCodeState::Pending && d.expires_at > at)
                .map(|d| (code, d)),
            None => None,
        };
        let Some(found) = found else {
            metrics::counter!("oneauth_device_user_code_failures_total").increment(1);
            return Err(Error::InvalidUserCode);
        };
        budgets
            .spend(GUESSES, &from, |b| Ok((rule.refund(b, &charged), ())))
            .await?;
        Ok(found)
    }

    /// What the device page shows for a user code (RFC 8628 §3.3): the
    /// client and the scopes it asks for.
    pub async fn device_request(
        &self,
        user_code: &str,
        ip: Option<IpAddr>,
        now: OffsetDateTime,
    ) -> R<DeviceRequest> {
        let (code, d) = self.pending_device(user_code, ip, now).await?;
        let client = self
            .store
            .get_client(&d.client_id)
            .await?
            .ok_or(Error::InvalidUserCode)?;
        Ok(DeviceRequest {
            user_code: format_user_code(&code),
            client: client.into(),
            scope: d.scope,
        })
    }

    /// The signed-in user's answer to a device authorization. Approving
    /// grants every scope asked for and remembers the consent, as the
    /// consent page does; the page always asks, even for scopes granted
    /// before, because a user code can be phished (RFC 8628 §5.4).
    pub async fn answer_device(
        &self,
        user_code: &str,
        ip: Option<IpAddr>,
        approve: bool,
        (session, identity): (&Session, &Identity),
        now: OffsetDateTime,
    ) -> R<()> {
        let (_, mut d) = self.pending_device(user_code, ip, now).await?;
        if approve && !crate::second_factor::multi_factor(session) {
            let client = self.store.get_client(&d.client_id).await?;
            if client.is_some_and(|c| self.demands_mfa(&c, &[])) {
                return Err(Error::SecondFactorRequired);
            }
        }
        if approve {
            d.state = DeviceCodeState::Approved;
            d.subject = Some(identity.id.clone());
            d.session_id = Some(session.id.clone());
            d.granted_scope = d.scope.clone();
            d.amr = session.amr.clone();
            d.auth_time = Some(session.authenticated_at);
        } else {
            d.state = DeviceCodeState::Denied;
        }
        // Answered from another tab or node first: this answer is late.
        if !self.store.update_device_code(&d, &[]).await? {
            return Err(Error::InvalidUserCode);
        }
        if approve {
            self.store
                .upsert_consent(
                    &identity.id,
                    &d.client_id,
                    &d.granted_scope,
                    now.unix_timestamp(),
                )
                .await?;
        }
        Ok(())
    }

    /// RFC 8628 §3.4–3.5: one poll of the token endpoint with a device
    /// code. Tokens are minted before the swap and stored with it, so the
    /// one poll that moves the row from Approved to Used is the one whose
    /// tokens exist; an unknown code, or another client's, is
    /// `invalid_grant`, as is a code whose tokens were issued.
    pub async fn poll_device(
        &self,
        client: &Client,
        device_code: &str,
        now: OffsetDateTime,
    ) -> R<TokenResponse> {
        let hash = self
            .minter
            .check(TokenKind::DeviceCode, DEVICE_CODE_PREFIX, device_code)
            .ok_or_else(invalid_device_code)?;
        for _ in 0..TRIES {
            let d = self
                .store
                .get_device_code(&hash.0)
                .await?
                .filter(|d| d.client_id == client.client_id)
                .ok_or_else(invalid_device_code)?;
            let (outcome, next) = poll(&d, now.unix_timestamp());
            let (response, records) = match outcome {
                Poll::Issue => {
                    let (response, records) = self.mint_device_tokens(client, &d, now).await?;
                    (Some(response), records)
                }
                Poll::Pending | Poll::SlowDown => (None, vec![]),
                Poll::Denied => return Err(Error::DeviceAccessDenied),
                Poll::Expired => return Err(Error::ExpiredToken),
                Poll::Used => {
                    return Err(Error::InvalidGrant(
                        "The device code was used already.".into(),
                    ));
                }
            };
            if !self.store.update_device_code(&next, &records).await? {
                continue;
            }
            return match (outcome, response) {
                (Poll::Issue, Some(response)) => {
                    crate::token::count_issued(&records);
                    Ok(response)
                }
                (Poll::SlowDown, _) => Err(Error::SlowDown {
                    interval_secs: next.interval_secs,
                }),
                _ => Err(Error::AuthorizationPending),
            };
        }
        // Every round lost to another poll of the same code: it is polling
        // too fast anyway.
        Err(Error::AuthorizationPending)
    }

    async fn mint_device_tokens(
        &self,
        client: &Client,
        d: &DeviceCode,
        now: OffsetDateTime,
    ) -> R<(TokenResponse, Vec<oneauth_store::Token>)> {
        let subject = d.subject.as_deref().ok_or_else(invalid_device_code)?;
        let identity = self
            .store
            .get_identity(subject)
            .await?
            .filter(|i| i.state == IdentityState::Active)
            .ok_or_else(|| Error::InvalidGrant("The user is no longer active.".into()))?;
        self.mint_tokens(
            &Grant {
                grant_id: &d.id,
                client,
                identity: Some(&identity),
                scope: &d.granted_scope,
                session_id: d.session_id.as_deref(),
                auth_time: d.auth_time,
                amr: &d.amr,
                nonce: None,
            },
            now,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending() -> DeviceCode {
        DeviceCode {
            id: "g".into(),
            device_code_hash: "d".into(),
            user_code_hash: "u".into(),
            client_id: "tv".into(),
            scope: vec!["openid".into()],
            state: DeviceCodeState::Pending,
            subject: None,
            session_id: None,
            granted_scope: vec![],
            amr: vec![],
            auth_time: None,
            interval_secs: 5,
            last_polled_at: None,
            created_at: 1000,
            expires_at: 1600,
            version: 3,
        }
    }

    #[test]
    fn user_codes_are_eight_unambiguous_letters_read_in_any_form() {
        for _ in 0..200 {
            let code = random_user_code();
            assert_eq!(code.len(), 8);
            assert!(code.bytes().all(|b| ALPHABET.contains(&b)), "{code}");
            let shown = format_user_code(&code);
            assert_eq!(shown.len(), 9);
            assert_eq!(&shown[4..5], "-");
            assert_eq!(parse_user_code(&shown).as_deref(), Some(code.as_str()));
            let typed = format!(" {} ", shown.to_lowercase().replace('-', " "));
            assert_eq!(parse_user_code(&typed).as_deref(), Some(code.as_str()));
        }
        for wrong in ["BCDF-GHJ", "BCDF-GHJKL", "ABCD-EFGH", "BCDF-GHJ1", ""] {
            assert_eq!(parse_user_code(wrong), None, "{wrong}");
        }
    }

    #[test]
    fn a_pending_poll_waits_and_a_fast_one_slows_down_by_five_seconds() {
        let (outcome, next) = poll(&pending(), 1010);
        assert_eq!(outcome, Poll::Pending);
        assert_eq!(next.last_polled_at, Some(1010));
        assert_eq!(next.interval_secs, 5);
        let (outcome, next) = poll(&next, 1014);
        assert_eq!(outcome, Poll::SlowDown);
        assert_eq!((next.interval_secs, next.last_polled_at), (10, Some(1014)));
        // The grown interval counts from the last poll.
        assert_eq!(poll(&next, 1020).0, Poll::SlowDown);
        assert_eq!(poll(&next, 1024).0, Poll::Pending);
    }

    #[test]
    fn an_approved_code_issues_once_and_final_states_stay_final() {
        let mut approved = pending();
        approved.state = DeviceCodeState::Approved;
        // However fast: the answer is not held back by the pace.
        approved.last_polled_at = Some(1100);
        let (outcome, used) = poll(&approved, 1100);
        assert_eq!(outcome, Poll::Issue);
        assert_eq!(used.state, DeviceCodeState::Used);
        assert_eq!(poll(&used, 1105).0, Poll::Used);
        assert_eq!(poll(&used, 2000).0, Poll::Used);

        let mut denied = pending();
        denied.state = DeviceCodeState::Denied;
        let (outcome, unchanged) = poll(&denied, 1100);
        assert_eq!((outcome, &unchanged), (Poll::Denied, &denied));

        for state in [DeviceCodeState::Pending, DeviceCodeState::Approved] {
            let mut late = pending();
            late.state = state;
            let (outcome, unchanged) = poll(&late, 1600);
            assert_eq!((outcome, &unchanged), (Poll::Expired, &late));
        }
    }
}
