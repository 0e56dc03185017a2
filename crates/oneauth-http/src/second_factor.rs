//! The second-factor step of the identity API (`/api/identity/login/
//! second-factor…`): what the built-in `/login/second-factor` page does,
//! for a custom login UI. It works on the session a first factor left
//! pending (`second_factor_required` in the login's answer), or on a live
//! session that a client or request now asks to step up.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, TrustedOrigin};
use crate::identity::landed;
use crate::passkeys::ceremony;
use axum::extract::State;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use oneauth_core::Error;
use oneauth_identity::factors::Proof;
use oneauth_proto::ErrorBody;
use oneauth_proto::identity::{IdentityResponse, SecondFactorMethod, SecondFactorRequest};
use oneauth_proto::passkey::{PasskeyCeremony, PasskeyLoginRequest};
use oneauth_store::{Identity, Session};

impl AppState {
    /// The session the second-factor step works on (pending, or live
    /// without a second factor).
    pub async fn second_factor_session(
        &self,
        jar: &CookieJar,
    ) -> Result<(Session, Identity), ApiError> {
        let cookie = jar
            .get(&self.config.session.cookie_name)
            .ok_or_else(|| Error::LoginRequired("No login session.".into()))?;
        self.identities
            .second_factor_session(cookie.value(), self.clock.now())
            .await?
            .ok_or_else(|| {
                ApiError(Error::LoginRequired(
                    "No login is waiting for a second factor: sign in first.".into(),
                ))
            })
    }
}

/// Checks `proof` for the session's identity; on success the session is
/// replaced by a complete one and the login goes on.
async fn proven(
    app: &AppState,
    jar: CookieJar,
    (session, identity): (&Session, &Identity),
    proof: Proof<'_>,
    login_challenge: Option<&str>,
) -> ApiResult<Response> {
    let now = app.clock.now();
    let amr = app
        .identities
        .prove_second_factor(session, proof, now)
        .await?;
    let done = app
        .server
        .complete_second_factor(session, identity, amr, login_challenge, None, now)
        .await?;
    Ok(landed(app, jar, identity, done))
}

/// Proves a second factor typed in (an authenticator app's code or a
/// recovery code) for the session's login, which then goes on as a login
/// does.
#[utoipa::path(
    post,
    path = "/api/identity/login/second-factor",
    tag = "identity",
    request_body = SecondFactorRequest,
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Proven: a new, complete session cookie is set (amr gains `otp` and `mfa`); `redirect_to` when a `login_challenge` was accepted.", body = IdentityResponse),
        (status = 400, description = "A field is missing or unknown, second factors are off (`mfa.policy = off`), or the login challenge is unknown or used.", body = ErrorBody),
        (status = 401, description = "`login_required`: no session waits for a second factor; `invalid_code` (2006): the code is wrong or used (a TOTP step counts once), with the tries left.", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not trusted.", body = ErrorBody),
        (status = 429, description = "Too many wrong codes for this account; see `Retry-After`.", body = ErrorBody),
    )
)]
pub async fn second_factor_post(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
    ApiJson(body): ApiJson<SecondFactorRequest>,
) -> ApiResult<Response> {
    let (session, identity) = app.second_factor_session(&jar).await?;
    let proof = match body.method {
        SecondFactorMethod::Totp => Proof::Totp(&body.code),
        SecondFactorMethod::RecoveryCode => Proof::RecoveryCode(&body.code),
    };
    proven(
        &app,
        jar,
        (&session, &identity),
        proof,
        body.login_challenge.as_deref(),
    )
    .await
}

/// Starts a passkey as the second factor: options for
/// `navigator.credentials.get()` listing the identity's passkeys.
#[utoipa::path(
    post,
    path = "/api/identity/login/second-factor/passkey/options",
    tag = "identity",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The ceremony (5 minutes, used once): its id and the options.", body = PasskeyCeremony),
        (status = 400, description = "Passkeys are off on this server.", body = ErrorBody),
        (status = 401, description = "`login_required`: no session waits for a second factor.", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not trusted.", body = ErrorBody),
    )
)]
pub async fn passkey_options_post(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
) -> ApiResult<Response> {
    let (session, _) = app.second_factor_session(&jar).await?;
    let c = app
        .identities
        .passkey_second_factor_options(&session.identity_id, app.clock.now())
        .await?;
    Ok(ceremony(c))
}

/// Proves a passkey as the second factor of the session's login, which
/// then goes on as a login does.
#[utoipa::path(
    post,
    path = "/api/identity/login/second-factor/passkey",
    tag = "identity",
    request_body = PasskeyLoginRequest,
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Proven: a new, complete session cookie is set (amr gains `hwk` or `swk`, and `mfa`); `redirect_to` when a `login_challenge` was accepted.", body = IdentityResponse),
        (status = 400, description = "`credential` is not a WebAuthn credential (the ceremony is spent), or the login challenge is unknown or used.", body = ErrorBody),
        (status = 401, description = "`login_required`: no session waits for a second factor; `passkey_refused` (2011): the ceremony is unknown, expired, used or another identity's, or the assertion did not verify.", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not trusted.", body = ErrorBody),
    )
)]
pub async fn passkey_post(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
    ApiJson(body): ApiJson<PasskeyLoginRequest>,
) -> ApiResult<Response> {
    let (session, identity) = app.second_factor_session(&jar).await?;
    let proof = Proof::Passkey {
        ceremony: &body.ceremony_id,
        credential: body.credential,
    };
    proven(
        &app,
        jar,
        (&session, &identity),
        proof,
        body.login_challenge.as_deref(),
    )
    .await
}
