//! Second factors at login: whether a login must still prove one (the MFA
//! policy and what the person enrolled), the pending session until it does,
//! and the complete session after. Not the factors themselves (TOTP,
//! recovery codes, passkeys: `method/`), nor what a client or a request
//! demands (the authorization server's login gate).
//!
//! ```text
//! first factor ──> policy off, nothing enrolled (optional), or amr has mfa ──> complete session
//!              └─> otherwise ──> pending session (PENDING_SECS) ──second factor──> complete session
//!                                                                 (new id, amr + factor + mfa,
//!                                                                  authenticated_at of the first)
//! ```

use crate::Identities;
use crate::sessions::NewSession;
use oneauth_core::config::MfaPolicy;
use oneauth_core::{Error, Result};
use oneauth_store::{Identity, Session};
use time::OffsetDateTime;

/// How long the second-factor step may take after the first factor.
pub const PENDING_SECS: i64 = 600;

/// The amr value of a multi-factor login (RFC 8176 §2).
pub const MFA: &str = "mfa";

/// What a person enrolled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Factors {
    /// A confirmed authenticator app.
    pub totp: bool,
    pub passkeys: usize,
    /// Unused recovery codes.
    pub recovery_codes: usize,
}

impl Factors {
    /// Recovery codes alone are a way back in, not a factor to enrol.
    pub fn any(&self) -> bool {
        self.totp || self.passkeys > 0
    }
}

/// A second factor as submitted.
#[derive(Debug)]
pub enum Proof<'a> {
    Totp(&'a str),
    RecoveryCode(&'a str),
    Passkey {
        ceremony: &'a str,
        credential: serde_json::Value,
    },
}

/// Whether a login that proved `amr`, of someone who `enrolled` a factor
/// ([`Factors::any`]), must still prove a second factor under `policy`. A
/// passkey with user verification is multi-factor by itself (its amr has
/// `mfa`).
pub fn second_factor_needed(policy: MfaPolicy, enrolled: bool, amr: &[&str]) -> bool {
    if amr.contains(&MFA) {
        return false;
    }
    match policy {
        MfaPolicy::Off => false,
        MfaPolicy::Optional => enrolled,
        MfaPolicy::Required => true,
    }
}

impl Identities {
    pub fn mfa_policy(&self) -> MfaPolicy {
        self.mfa_policy
    }

    /// What the identity enrolled.
    pub async fn second_factors(&self, identity_id: &str) -> Result<Factors> {
        Ok(Factors {
            totp: self.has_totp(identity_id).await?,
            passkeys: self.passkeys(identity_id).await?.len(),
            recovery_codes: self.recovery_codes_left(identity_id).await?,
        })
    }

    /// [`Factors::any`] without counting: the question every login asks.
    pub(crate) async fn has_second_factor(&self, identity_id: &str) -> Result<bool> {
        Ok(self.has_totp(identity_id).await?
            || !self.store.list_passkeys(identity_id).await?.is_empty())
    }

    /// The rule for adding, replacing or removing a second factor: a
    /// recent login (`session.privileged_max_age_secs`) which, when the
    /// identity has a factor already, proved one: a stolen cookie or a
    /// first factor alone can neither take a factor away nor put its own
    /// in beside it.
    pub(crate) async fn check_factor_change(&self, session: &Session, now: i64) -> Result<()> {
        let proved = session.amr.iter().any(|a| a == MFA);
        if !self.is_recent(session, now)
            || (!proved && self.has_second_factor(&session.identity_id).await?)
        {
            return Err(Error::ReauthenticationRequired);
        }
        Ok(())
    }

    /// Whether a first-factor login with `amr` starts as a pending session.
    pub(crate) async fn must_prove_second_factor(
        &self,
        identity_id: &str,
        amr: &[&str],
    ) -> Result<bool> {
        // Under `off` and `required` the answer needs no lookup.
        let enrolled = match self.mfa_policy {
            MfaPolicy::Optional if !amr.contains(&MFA) => {
                self.has_second_factor(identity_id).await?
            }
            _ => false,
        };
        Ok(second_factor_needed(self.mfa_policy, enrolled, amr))
    }

    /// A login without a browser (a CLI's password, a mini-program) has
    /// no second-factor step: refused when the identity would need one.
    pub async fn check_no_second_factor_needed(
        &self,
        identity: &Identity,
        amr: &[&str],
    ) -> Result<()> {
        if self.must_prove_second_factor(&identity.id, amr).await? {
            return Err(Error::SecondFactorRequired);
        }
        Ok(())
    }

    /// The session the second-factor step works on: a pending one, or a
    /// complete one without a second factor that a client or request now
    /// demands (step-up).
    pub async fn second_factor_session(
        &self,
        cookie: &str,
        now: OffsetDateTime,
    ) -> Result<Option<(Session, Identity)>> {
        Ok(self
            .any_session(cookie, now)
            .await?
            .filter(|(s, _)| !s.amr.iter().any(|a| a == MFA)))
    }

    /// Checks a second factor of the session's identity; the factor's amr.
    pub async fn prove_second_factor(
        &self,
        session: &Session,
        proof: Proof<'_>,
        now: OffsetDateTime,
    ) -> Result<&'static str> {
        self.require_enabled()?;
        let id = &session.identity_id;
        match proof {
            Proof::Totp(code) => self.verify_totp(id, code, now).await.map(|()| "otp"),
            // A recovery code is a one-time password (RFC 8176 has no
            // closer value); the session list and logs tell them apart.
            Proof::RecoveryCode(code) => {
                self.use_recovery_code(id, code, now).await.map(|()| "otp")
            }
            Proof::Passkey {
                ceremony,
                credential,
            } => {
                self.finish_passkey_second_factor(id, ceremony, credential, now)
                    .await
            }
        }
    }

    /// Replaces `session` (pending, or complete without a second factor)
    /// by a complete one that proved `factor_amr` too: a new id (the
    /// privilege changed), the first factor's `authenticated_at` (so
    /// `max_age` and `prompt=login` cannot be met by a second factor
    /// alone), amr + the factor + `mfa`. The old session ends once: a
    /// second submission of the same step finds it gone.
    pub async fn complete_second_factor(
        &self,
        session: &Session,
        identity: &Identity,
        factor_amr: &str,
        now: OffsetDateTime,
    ) -> Result<(String, Session)> {
        if !self
            .store
            .revoke_session(&session.id, now.unix_timestamp())
            .await?
        {
            return Err(Error::LoginRequired(
                "The login session has ended; sign in again.".into(),
            ));
        }
        let mut amr: Vec<&str> = session.amr.iter().map(String::as_str).collect();
        for a in [factor_amr, MFA] {
            if !amr.contains(&a) {
                amr.push(a);
            }
        }
        self.open_session(
            NewSession {
                identity,
                amr: &amr,
                seen_from: &session.seen_from,
                authenticated_at: session.authenticated_at,
                second_factor_pending: false,
            },
            now,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_must_prove_a_second_factor() {
        let none = Factors::default();
        let totp = Factors {
            totp: true,
            ..Factors::default()
        };
        let passkey = Factors {
            passkeys: 1,
            ..Factors::default()
        };
        let only_codes = Factors {
            recovery_codes: 3,
            ..Factors::default()
        };
        use MfaPolicy::*;
        assert!(!second_factor_needed(Off, totp.any(), &["pwd"]));
        assert!(!second_factor_needed(Optional, none.any(), &["pwd"]));
        assert!(!second_factor_needed(Optional, only_codes.any(), &["pwd"]));
        assert!(second_factor_needed(Optional, totp.any(), &["pwd"]));
        assert!(second_factor_needed(Optional, passkey.any(), &["otp"]));
        assert!(second_factor_needed(Required, none.any(), &["pwd"]));
        // A passkey with user verification is both factors at once.
        assert!(!second_factor_needed(Required, totp.any(), &["hwk", "mfa"]));
    }
}
