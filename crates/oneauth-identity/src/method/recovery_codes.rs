//! Recovery codes: ten per identity, each ten symbols of an alphabet
//! without look-alikes (about 49 bits), shown once as `xxxxx-xxxxx`,
//! stored as an HMAC under a system key (bound to the identity), each
//! used once (a conditional update, so two nodes cannot both accept one).
//! A regeneration replaces the whole set. They stand in for a second
//! factor at login (RFC 8176 `otp`: a one-time password); guesses spend
//! the same budget as TOTP codes.

use crate::Identities;
use aws_lc_rs::hmac;
use oneauth_core::{Error, Result};
use oneauth_store::Session;
use time::OffsetDateTime;

/// How many codes a set has.
pub const RECOVERY_CODES: usize = 10;
/// Lower-case letters and digits without 0/o, 1/l/i.
const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
const LEN: usize = 10;

/// A code as typed, normalised: case, spaces and dashes do not matter.
fn normalise(raw: &str) -> Option<String> {
    let code: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (code.len() == LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

fn format(code: &str) -> String {
    format!("{}-{}", &code[..LEN / 2], &code[LEN / 2..])
}

impl Identities {
    fn recovery_hash(&self, identity_id: &str, code: &str) -> String {
        let key = &self.factors.keys.recovery_code;
        oneauth_crypto::b64url(hmac::sign(key, format!("{identity_id}:{code}").as_bytes()))
    }

    /// A new set of codes replaces the identity's old one; the codes, to
    /// show once.
    pub(crate) async fn new_recovery_codes(
        &self,
        identity_id: &str,
        now: i64,
    ) -> Result<Vec<String>> {
        let codes: Vec<String> = (0..RECOVERY_CODES)
            .map(|_| oneauth_crypto::random_string(ALPHABET, LEN))
            .collect();
        let hashes: Vec<String> = codes
            .iter()
            .map(|c| self.recovery_hash(identity_id, c))
            .collect();
        self.store
            .replace_recovery_codes(identity_id, &hashes, now)
            .await?;
        Ok(codes.iter().map(|c| format(c)).collect())
    }

    /// Replaces the identity's recovery codes with ten new ones (the old
    /// ones stop working) and returns them, to show once. Needs a recent
    /// login, as a password change does, and a second factor to recover:
    /// the codes stand in for one.
    pub async fn regenerate_recovery_codes(
        &self,
        session: &Session,
        now: OffsetDateTime,
    ) -> Result<Vec<String>> {
        if !self.second_factors_enabled() {
            return Err(Error::AccessDenied(
                "Second factors are turned off on this server (mfa.policy = off).".into(),
            ));
        }
        let now = now.unix_timestamp();
        if !self.is_recent(session, now) {
            return Err(Error::ReauthenticationRequired);
        }
        if !self.has_second_factor(&session.identity_id).await? {
            return Err(Error::InvalidRequest(
                "Recovery codes stand in for a second factor: set one up first.".into(),
            ));
        }
        self.new_recovery_codes(&session.identity_id, now).await
    }

    /// Uses one recovery code of the identity, once. A wrong, used or
    /// malformed code is `InvalidCode` with the tries left before the
    /// identity's second-factor guesses lock out.
    pub async fn use_recovery_code(
        &self,
        identity_id: &str,
        code: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        let now = now.unix_timestamp();
        let hash = normalise(code).map(|c| self.recovery_hash(identity_id, &c));
        self.guarded("recovery_code", identity_id, now, async || {
            let Some(hash) = hash else {
                return Ok(None);
            };
            let used = self
                .store
                .use_recovery_code(identity_id, &hash, now)
                .await?;
            Ok(used.then_some(()))
        })
        .await
    }

    /// How many unused recovery codes the identity has.
    pub async fn recovery_codes_left(&self, identity_id: &str) -> Result<usize> {
        let n = self.store.recovery_codes_left(identity_id).await?;
        Ok(usize::try_from(n).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_typed_loosely() {
        assert_eq!(normalise(" ABCDE-fghjk ").as_deref(), Some("abcdefghjk"));
        assert_eq!(normalise("abcde fghjk").as_deref(), Some("abcdefghjk"));
        assert_eq!(normalise("abcde-fghj"), None, "too short");
        assert_eq!(normalise("abcde-fghj0"), None, "not in the alphabet");
        assert_eq!(format("abcdefghjk"), "abcde-fghjk");
    }
}
