//! The authorization code grant's token request (RFC 6749 §4.1.3).

use crate::token::{Grant, TokenResponse};
use crate::{AuthorizationServer, R, pkce};
use oneauth_core::Error;
use oneauth_crypto::TokenKind;
use oneauth_store::{Client, IdentityState, TakenCode};
use std::collections::HashMap;
use time::OffsetDateTime;

fn invalid(why: &str) -> Error {
    Error::InvalidGrant(why.into())
}

impl AuthorizationServer {
    /// Exchanges a code once. A second use is refused and revokes every
    /// token the first use issued (RFC 6749 §4.1.2, RFC 9700 §4.5).
    pub async fn exchange_code(
        &self,
        client: &Client,
        params: &HashMap<String, String>,
        now: OffsetDateTime,
    ) -> R<TokenResponse> {
        let code = params
            .get("code")
            .ok_or_else(|| Error::InvalidRequest("code is missing.".into()))?;
        let redirect_uri = params.get("redirect_uri");
        let verifier = params.get("code_verifier");
        let hash = self
            .minter
            .check(
                TokenKind::AuthorizationCode,
                &self.config.tokens.authorization_code_prefix,
                code,
            )
            .ok_or_else(|| invalid("The authorization code is invalid."))?;
        let code = match self.store.take_code(&hash.0, now.unix_timestamp()).await? {
            TakenCode::Fresh(c) => c,
            TakenCode::Reused { grant_id } => {
                let revoked = self
                    .store
                    .revoke_grant(&grant_id, now.unix_timestamp())
                    .await?;
                tracing::warn!(client_id = %client.client_id, revoked, "authorization code reused; its tokens are revoked");
                return Err(invalid("The authorization code was used already."));
            }
            TakenCode::Unknown => return Err(invalid("The authorization code is invalid.")),
        };
        if code.expires_at <= now.unix_timestamp() {
            return Err(invalid("The authorization code has expired."));
        }
        if code.client_id != client.client_id {
            return Err(invalid(
                "The authorization code was issued to another client.",
            ));
        }
        if redirect_uri != Some(&code.redirect_uri) {
            return Err(invalid(
                "redirect_uri differs from the authorization request's.",
            ));
        }
        match (&code.code_challenge, verifier) {
            (Some(challenge), Some(v)) if pkce::verify(v, challenge) => {}
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "The PKCE code_verifier does not match the code_challenge.",
                ));
            }
            (Some(_), None) => return Err(invalid("code_verifier is missing.")),
            // RFC 9700 §4.8.2: a verifier for a code issued without a
            // challenge is a downgrade attempt.
            (None, Some(_)) => {
                return Err(invalid(
                    "code_verifier was sent but the request had no code_challenge.",
                ));
            }
            (None, None) => {}
        }
        let identity = self
            .store
            .get_identity(&code.subject)
            .await?
            .filter(|i| i.state == IdentityState::Active)
            .ok_or_else(|| invalid("The user is no longer active."))?;
        let tokens = self
            .issue_tokens(
                Grant {
                    grant_id: &code.grant_id,
                    client,
                    identity: Some(&identity),
                    scope: &code.scope,
                    session_id: Some(&code.session_id),
                    auth_time: Some(code.auth_time),
                    amr: &code.amr,
                    nonce: code.nonce.as_deref(),
                },
                now,
            )
            .await?;
        // A reuse that raced this exchange may have revoked the grant before
        // these tokens were stored; it marked the code first, so look again.
        if self.store.code_reused(&hash.0).await? {
            self.store
                .revoke_grant(&code.grant_id, now.unix_timestamp())
                .await?;
            return Err(invalid("The authorization code was used already."));
        }
        Ok(tokens)
    }
}
