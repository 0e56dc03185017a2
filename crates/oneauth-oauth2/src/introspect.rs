//! Token status and revocation: the guide's `/oauth/token/verify`, RFC 7662
//! introspection, RFC 7009 revocation, and the guide's two-token logout.

use crate::client::ClientCredentials;
use crate::{AuthorizationServer, R};
use oneauth_core::Error;
use oneauth_crypto::{TokenHash, TokenKind};
use oneauth_store::{Client, Identity, IdentityState, Token};
use serde::Serialize;
use time::OffsetDateTime;

/// RFC 7662 §2.2 answer; only `active` when the token is not live.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct TokenStatus {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// `access_token` or `refresh_token` (RFC 7662 leaves this to us).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_use: Option<&'static str>,
}

impl TokenStatus {
    pub fn inactive() -> Self {
        Self {
            active: false,
            sub: None,
            exp: None,
            iat: None,
            scope: None,
            client_id: None,
            token_type: None,
            iss: None,
            token_use: None,
        }
    }
}

impl AuthorizationServer {
    /// The stored token behind a presented value, if it is live: not
    /// expired, not revoked, not a rotated-away refresh token, and its user
    /// (if any) still active; with that user. `kinds` limits what is looked
    /// for, in order.
    pub async fn live_token(
        &self,
        presented: &str,
        kinds: &[oneauth_store::TokenKind],
        now: OffsetDateTime,
    ) -> R<Option<(Token, Option<Identity>)>> {
        for kind in kinds {
            let Some(hash) = self.presented_hash(presented, *kind) else {
                continue;
            };
            // One lookup for the token and its user: this is the hot path
            // of verification, introspection and userinfo.
            let found = self
                .store
                .get_token_with_identity(*kind, &hash.0, now.unix_timestamp())
                .await?;
            if let Some(live) = found.and_then(live) {
                return Ok(Some(live));
            }
        }
        Ok(None)
    }

    fn status(&self, token: Token) -> TokenStatus {
        TokenStatus {
            active: true,
            sub: Some(
                token
                    .subject
                    .clone()
                    .unwrap_or_else(|| token.client_id.clone()),
            ),
            exp: Some(token.expires_at),
            iat: Some(token.issued_at),
            scope: Some(token.scope.join(" ")),
            client_id: Some(token.client_id),
            token_type: Some("bearer"),
            iss: Some(self.issuer()),
            token_use: Some(match token.kind {
                oneauth_store::TokenKind::Access => "access_token",
                oneauth_store::TokenKind::Refresh => "refresh_token",
            }),
        }
    }

    /// The guide's `POST /oauth/token/verify`: live access tokens only; any
    /// other value (expired, revoked, unknown, malformed, a refresh token)
    /// gets the same `{"active": false}`.
    pub async fn verify_access_token(&self, token: &str, now: OffsetDateTime) -> R<TokenStatus> {
        Ok(
            match self
                .live_token(token, &[oneauth_store::TokenKind::Access], now)
                .await?
            {
                Some((t, _)) => self.status(t),
                None => TokenStatus::inactive(),
            },
        )
    }

    /// RFC 7662 introspection: authenticates the caller, then answers for
    /// `token`. A public client sees only its own tokens. The client and
    /// the token are read together (one read transaction where the store
    /// has them): a resource server asks for every request it serves.
    pub async fn introspect(
        &self,
        creds: &ClientCredentials,
        token: Option<&str>,
        hint: Option<&str>,
        now: OffsetDateTime,
    ) -> R<TokenStatus> {
        use oneauth_store::TokenKind::{Access, Refresh};
        let claimed = creds.claimed()?;
        // The hint orders the search (RFC 7662 §2.1); it never limits it. A
        // value is a token of one kind at most: its tag names the kind.
        let kinds = if hint == Some("refresh_token") {
            [Refresh, Access]
        } else {
            [Access, Refresh]
        };
        let lookup = token.and_then(|t| {
            kinds
                .into_iter()
                .find_map(|kind| Some((kind, self.presented_hash(t, kind)?)))
        });
        let (client, found) = self
            .store
            .get_client_and_token(
                claimed.id.as_str(),
                lookup.as_ref().map(|(kind, hash)| (*kind, hash.0.as_str())),
                now.unix_timestamp(),
            )
            .await?;
        let caller = self.check_client(&claimed, client)?;
        if token.is_none() {
            return Err(Error::InvalidRequest("token is missing.".into()));
        }
        Ok(match found.and_then(live) {
            Some((t, _)) if !caller.is_public() || t.client_id == caller.client_id => {
                self.status(t)
            }
            _ => TokenStatus::inactive(),
        })
    }

    /// RFC 7009: revokes a token of the calling client; a refresh token takes
    /// its whole family with it. Unknown tokens are not an error (§2.2).
    pub async fn revoke(&self, caller: &Client, token: &str, now: OffsetDateTime) -> R<()> {
        use oneauth_store::TokenKind::{Access, Refresh};
        let Some(found) = self.stored_token(token, &[Refresh, Access], now).await? else {
            return Ok(());
        };
        if found.client_id != caller.client_id {
            return Err(Error::UnauthorizedClient(
                "The token was issued to another client.".into(),
            ));
        }
        self.revoke_found(&found, now).await
    }

    /// The guide's `POST /api/oauth/logout`: both tokens, and the refresh
    /// token's family, whatever their state. Unknown values are ignored.
    pub async fn revoke_pair(
        &self,
        access_token: Option<&str>,
        refresh_token: Option<&str>,
        now: OffsetDateTime,
    ) -> R<()> {
        use oneauth_store::TokenKind::{Access, Refresh};
        for (value, kind) in [(refresh_token, Refresh), (access_token, Access)] {
            if let Some(v) = value
                && let Some(found) = self.stored_token(v, &[kind], now).await?
            {
                self.revoke_found(&found, now).await?;
            }
        }
        Ok(())
    }

    /// A stored token even when used (so a rotated refresh token still
    /// names its family).
    async fn stored_token(
        &self,
        presented: &str,
        kinds: &[oneauth_store::TokenKind],
        now: OffsetDateTime,
    ) -> R<Option<Token>> {
        for kind in kinds {
            if let Some(hash) = self.presented_hash(presented, *kind)
                && let Some(token) = self
                    .store
                    .get_token(*kind, &hash.0, now.unix_timestamp())
                    .await?
            {
                return Ok(Some(token));
            }
        }
        Ok(None)
    }

    /// The lookup hash of a presented value, if it can be a token of `kind`.
    fn presented_hash(&self, presented: &str, kind: oneauth_store::TokenKind) -> Option<TokenHash> {
        let t = &self.config.tokens;
        match kind {
            // RFC 9068 JWT access tokens are looked up by their hash too.
            oneauth_store::TokenKind::Access => self
                .minter
                .check(TokenKind::AccessToken, &t.access_token_prefix, presented)
                .or_else(|| (presented.split('.').count() == 3).then(|| TokenHash::of(presented))),
            oneauth_store::TokenKind::Refresh => {
                self.minter
                    .check(TokenKind::RefreshToken, &t.refresh_token_prefix, presented)
            }
        }
    }

    async fn revoke_found(&self, token: &Token, now: OffsetDateTime) -> R<()> {
        let ts = now.unix_timestamp();
        match token.kind {
            oneauth_store::TokenKind::Refresh => {
                self.store.revoke_grant(&token.grant_id, ts).await?
            }
            oneauth_store::TokenKind::Access => {
                u64::from(self.store.revoke_token(&token.hash, ts).await?)
            }
        };
        Ok(())
    }
}

/// A token and its user as looked up, if the token is live: not a
/// rotated-away refresh token, and its user (if any) still active (the
/// store leaves out expired and revoked tokens).
fn live((token, identity): (Token, Option<Identity>)) -> Option<(Token, Option<Identity>)> {
    if token.used_at.is_some() {
        return None;
    }
    let identity = identity.filter(|i| i.state == IdentityState::Active);
    if token.subject.is_some() && identity.is_none() {
        return None;
    }
    Some((token, identity))
}
