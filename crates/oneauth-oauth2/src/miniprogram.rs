//! Mini-program login and phone binding
//! (`POST /api/oauth/miniprogram/login`, `…/phone`): the platform's login
//! code becomes the token set of the client the mini-program serves, as
//! the token endpoint answers it; the platform's phone-number code binds a
//! verified number. The exchange with the platform and the linking rules
//! are `oneauth_identity::method::miniprogram`'s.
//!
//! Scope: a mini-program cannot run the authorization endpoint, so there
//! is no scope request to narrow; a login gets the client's registered
//! scope (`oneauth clients create --scope`), no consent screen, like a
//! first-party app. Register a client per mini-program with what it needs.

use crate::token::TokenResponse;
use crate::{AuthorizationServer, R};
use oneauth_core::Error;
use oneauth_identity::method::miniprogram::AMR;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MiniProgramLogin {
    /// The OneAuth client the mini-program serves (`[[miniprogram.apps]]`).
    pub client_id: String,
    /// The one-time code of `wx.login()`.
    pub code: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MiniProgramPhone {
    /// The one-time code of the `getPhoneNumber` button's event.
    pub code: String,
}

/// The answer to a phone binding.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PhoneBinding {
    /// The identity that has the number: the caller's, or after a merge
    /// the account it was joined to.
    pub sub: String,
    /// E.164, as the platform verified it.
    pub phone_number: String,
    /// The caller's account was joined to the one that had verified this
    /// number; its tokens are revoked: log in again (`wx.login()` and the
    /// login endpoint) for tokens of the joined account.
    pub merged: bool,
}

impl AuthorizationServer {
    /// A login code of the mini-program serving `client_id` for a token set.
    pub async fn miniprogram_login(
        &self,
        req: MiniProgramLogin,
        now: OffsetDateTime,
    ) -> R<TokenResponse> {
        let client = self
            .store
            .get_client(&req.client_id)
            .await?
            .ok_or_else(|| {
                Error::UnauthorizedClient(format!(
                    "The client `{}` of this mini-program is not registered.",
                    req.client_id
                ))
            })?;
        let identity = self
            .identities
            .miniprogram_login(&client.client_id, &req.code, now)
            .await?;
        self.check_sessionless_login(&client, &identity, AMR)
            .await?;
        self.issue_sessionless(&client, &identity, &client.scope, AMR, now)
            .await
    }

    /// Binds the phone number behind a `getPhoneNumber` code to the user of
    /// the access token `bearer`, which a login of the same mini-program
    /// issued.
    pub async fn miniprogram_phone(
        &self,
        bearer: &str,
        req: MiniProgramPhone,
        now: OffsetDateTime,
    ) -> R<PhoneBinding> {
        let (token, identity) = self.access_token(bearer, now).await?;
        let identity =
            identity.ok_or_else(|| Error::InvalidToken("The access token has no user.".into()))?;
        let bound = self
            .identities
            .miniprogram_bind_phone(&token.client_id, identity, &req.code, now)
            .await?;
        Ok(PhoneBinding {
            phone_number: bound.identity.traits.phone.clone().unwrap_or_default(),
            sub: bound.identity.id,
            merged: bound.merged,
        })
    }
}
