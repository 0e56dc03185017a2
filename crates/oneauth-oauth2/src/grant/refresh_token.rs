//! The refresh token grant (RFC 6749 §6) with rotation on every use and
//! reuse detection (RFC 9700 §4.14.2).
//!
//! ```text
//! live ──use──> used (successor pair sealed in the row)
//!                 ├─ replay ≤ grace window ──> the same successor pair
//!                 └─ replay > grace window ──> family revoked, invalid_grant
//! ```
//! The grace window spares clients that retry or tabs that race; Hydra's
//! grace period instead turns reuse detection off, and node-oidc-provider
//! has none.

use crate::token::{Grant, TokenResponse};
use crate::{AuthorizationServer, R, internal, parse_scope};
use oneauth_core::Error;
use oneauth_crypto::TokenKind;
use oneauth_store::{Client, IdentityState, Rotation};
use time::OffsetDateTime;

fn invalid(why: &str) -> Error {
    Error::InvalidGrant(why.into())
}

/// RFC 6749 §6: a narrower scope may be asked for, never a wider one.
fn narrowed_scope(asked: Option<&str>, granted: &[String]) -> R<Vec<String>> {
    let Some(asked) = asked else {
        return Ok(granted.to_vec());
    };
    let asked = parse_scope(asked)?;
    if let Some(extra) = asked.iter().find(|s| !granted.contains(s)) {
        return Err(Error::InvalidScope(format!(
            "Scope `{extra}` was not granted originally."
        )));
    }
    Ok(asked)
}

impl AuthorizationServer {
    /// The client a refresh token was issued to, for the guide's
    /// `/api/oauth/refresh`, which carries no client credentials.
    pub async fn refresh_token_client(
        &self,
        refresh_token: &str,
        now: OffsetDateTime,
    ) -> R<Client> {
        let hash = self
            .minter
            .check(
                TokenKind::RefreshToken,
                &self.config.tokens.refresh_token_prefix,
                refresh_token,
            )
            .ok_or_else(|| invalid("The refresh token is invalid."))?;
        let token = self
            .store
            .get_token(
                oneauth_store::TokenKind::Refresh,
                &hash.0,
                now.unix_timestamp(),
            )
            .await?
            .ok_or_else(|| invalid("The refresh token is invalid, expired or revoked."))?;
        self.store
            .get_client(&token.client_id)
            .await?
            .ok_or_else(|| invalid("The client is gone."))
    }

    pub async fn refresh(
        &self,
        client: &Client,
        refresh_token: &str,
        scope: Option<&str>,
        now: OffsetDateTime,
    ) -> R<TokenResponse> {
        let hash = self
            .minter
            .check(
                TokenKind::RefreshToken,
                &self.config.tokens.refresh_token_prefix,
                refresh_token,
            )
            .ok_or_else(|| invalid("The refresh token is invalid."))?;
        let ts = now.unix_timestamp();
        // A used token is still found here (only revocation and expiry hide
        // it): the rotation below tells use from reuse.
        let (old, identity) = self
            .store
            .get_token_with_identity(oneauth_store::TokenKind::Refresh, &hash.0, ts)
            .await?
            .ok_or_else(|| invalid("The refresh token is invalid, expired or revoked."))?;
        if old.client_id != client.client_id {
            return Err(invalid("The refresh token was issued to another client."));
        }
        let scope = narrowed_scope(scope, &old.scope)?;
        if old.subject.is_none() {
            return Err(invalid("The refresh token has no user."));
        }
        let identity = identity
            .filter(|i| i.state == IdentityState::Active)
            .ok_or_else(|| invalid("The user is no longer active."))?;
        let (response, records) = self.mint_tokens(
            &Grant {
                grant_id: &old.grant_id,
                client,
                identity: Some(&identity),
                scope: &scope,
                session_id: old.session_id.as_deref(),
                auth_time: None,
                amr: &[],
                nonce: None,
            },
            now,
        )?;
        let sealed = self.system_keys.seal(
            hash.0.as_bytes(),
            &serde_json::to_vec(&response).map_err(internal)?,
        );
        let grace = self.config.tokens.refresh_grace_secs as i64;
        match self
            .store
            .rotate_refresh(&hash.0, ts, grace, &records, &sealed)
            .await?
        {
            Rotation::Rotated => {
                crate::token::count_issued(&records);
                Ok(response)
            }
            Rotation::Replayed { sealed_successor } => {
                let plain = self
                    .system_keys
                    .open(hash.0.as_bytes(), &sealed_successor)
                    .ok_or_else(|| Error::internal("sealed successor does not open"))?;
                serde_json::from_slice(&plain).map_err(internal)
            }
            Rotation::Reused { grant_id } => {
                let revoked = self.store.revoke_grant(&grant_id, ts).await?;
                tracing::warn!(client_id = %client.client_id, revoked, "refresh token reused after its grace window; family revoked");
                Err(invalid("The refresh token was used already."))
            }
            Rotation::Invalid => Err(invalid("The refresh token is invalid, expired or revoked.")),
        }
    }
}
