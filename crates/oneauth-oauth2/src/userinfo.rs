//! OIDC Core §5.3 UserInfo: claims of the token's user, by granted scope.

use crate::token::scope_claims;
use crate::{AuthorizationServer, R};
use oneauth_core::Error;
use oneauth_store::{Identity, Token};
use serde_json::{Value, json};
use time::OffsetDateTime;

impl AuthorizationServer {
    /// The live access token behind a bearer value, with its (active) user.
    pub async fn access_token(
        &self,
        bearer: &str,
        now: OffsetDateTime,
    ) -> R<(Token, Option<Identity>)> {
        self.live_token(bearer, &[oneauth_store::TokenKind::Access], now)
            .await?
            .ok_or_else(|| {
                Error::InvalidToken("The access token is invalid, expired or revoked.".into())
            })
    }

    pub async fn userinfo(&self, bearer: &str, now: OffsetDateTime) -> R<Value> {
        let (token, identity) = self.access_token(bearer, now).await?;
        if !token.scope.iter().any(|s| s == "openid") {
            return Err(Error::InvalidToken(
                "The access token was not issued for openid.".into(),
            ));
        }
        // `live_token` gives the user only when it is active.
        let identity =
            identity.ok_or_else(|| Error::InvalidToken("The access token has no user.".into()))?;
        let mut claims = serde_json::Map::new();
        claims.insert("sub".into(), json!(identity.id));
        scope_claims(&identity, &token.scope, &mut claims);
        Ok(Value::Object(claims))
    }
}
