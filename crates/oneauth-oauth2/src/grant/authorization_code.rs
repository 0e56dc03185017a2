//! The authorization code grant's token request (RFC 6749 §4.1.3).

use super::CodeExchange;
use crate::token::{Grant, TokenResponse};
use crate::{AuthorizationServer, R, pkce};
use oneauth_core::Error;
use oneauth_crypto::TokenKind;
use oneauth_store::{AuthorizationCode, Client, Identity, IdentityState, TakenCode};
use time::OffsetDateTime;

fn invalid(why: &str) -> Error {
    Error::InvalidGrant(why.into())
}

impl AuthorizationServer {
    /// Exchanges a code once. A second use is refused and revokes every
    /// token the first use issued (RFC 6749 §4.1.2, RFC 9700 §4.5).
    ///
    /// The code is checked and the tokens minted from a read, then taken
    /// and the tokens stored in one write: of two exchanges at once, the
    /// one whose write comes second finds the code used and revokes the
    /// other's tokens, which are stored by then.
    pub async fn exchange_code(
        &self,
        client: &Client,
        exchange: &CodeExchange,
        now: OffsetDateTime,
    ) -> R<TokenResponse> {
        let hash = self
            .minter
            .check(
                TokenKind::AuthorizationCode,
                &self.config.tokens.authorization_code_prefix,
                &exchange.code,
            )
            .ok_or_else(|| invalid("The authorization code is invalid."))?;
        let Some(code) = self.store.get_unused_code(&hash.0).await? else {
            return Err(self.spend_code(client, &hash.0, now).await);
        };
        let checked = async {
            check_code(&code, client, exchange, now)?;
            self.active_identity(&code.subject).await
        };
        let identity = match checked.await {
            Ok(identity) => identity,
            // Any presentation spends the code, a failed one too.
            Err(e) => {
                return Err(match self.spend_code(client, &hash.0, now).await {
                    Error::InvalidGrant(_) => e,
                    other => other,
                });
            }
        };
        let (response, records) = self.mint_tokens(
            &Grant {
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
        )?;
        match self
            .store
            .redeem_code(&hash.0, now.unix_timestamp(), &records)
            .await?
        {
            TakenCode::Fresh(_) => {
                crate::token::count_issued(&records);
                Ok(response)
            }
            TakenCode::Reused { grant_id } => Err(self.code_reused(client, &grant_id, now).await),
            TakenCode::Unknown => Err(invalid("The authorization code is invalid.")),
        }
    }

    async fn active_identity(&self, id: &str) -> R<Identity> {
        self.store
            .get_identity(id)
            .await?
            .filter(|i| i.state == IdentityState::Active)
            .ok_or_else(|| invalid("The user is no longer active."))
    }

    /// Takes a code that will not be exchanged: the error to answer with.
    /// A code used before has its first use's tokens revoked.
    async fn spend_code(&self, client: &Client, hash: &str, now: OffsetDateTime) -> Error {
        match self.store.take_code(hash, now.unix_timestamp()).await {
            Ok(TakenCode::Reused { grant_id }) => self.code_reused(client, &grant_id, now).await,
            Ok(_) => invalid("The authorization code is invalid."),
            Err(e) => e.into(),
        }
    }

    /// Revokes every token of a grant whose code came back: the error.
    async fn code_reused(&self, client: &Client, grant_id: &str, now: OffsetDateTime) -> Error {
        match self
            .store
            .revoke_grant(grant_id, now.unix_timestamp())
            .await
        {
            Ok(revoked) => {
                tracing::warn!(client_id = %client.client_id, revoked, "authorization code reused; its tokens are revoked");
                invalid("The authorization code was used already.")
            }
            Err(e) => e.into(),
        }
    }
}

/// What a code exchange must match (RFC 6749 §4.1.3, RFC 7636 §4.6).
fn check_code(
    code: &AuthorizationCode,
    client: &Client,
    exchange: &CodeExchange,
    now: OffsetDateTime,
) -> R<()> {
    if code.expires_at <= now.unix_timestamp() {
        return Err(invalid("The authorization code has expired."));
    }
    if code.client_id != client.client_id {
        return Err(invalid(
            "The authorization code was issued to another client.",
        ));
    }
    if exchange.redirect_uri.as_ref() != Some(&code.redirect_uri) {
        return Err(invalid(
            "redirect_uri differs from the authorization request's.",
        ));
    }
    match (&code.code_challenge, &exchange.code_verifier) {
        (Some(challenge), Some(v)) if pkce::verify(v, challenge) => Ok(()),
        (Some(_), Some(_)) => Err(invalid(
            "The PKCE code_verifier does not match the code_challenge.",
        )),
        (Some(_), None) => Err(invalid("code_verifier is missing.")),
        // RFC 9700 §4.8.2: a verifier for a code issued without a
        // challenge is a downgrade attempt.
        (None, Some(_)) => Err(invalid(
            "code_verifier was sent but the request had no code_challenge.",
        )),
        // A code issued before PKCE became required for this client.
        (None, None) if pkce::required(client) => Err(invalid(
            "The authorization request had no PKCE code_challenge, which this client needs.",
        )),
        (None, None) => Ok(()),
    }
}
