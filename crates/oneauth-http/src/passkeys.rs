//! The passkey API on the public listener (`/api/identity/passkeys/…`):
//! registering, listing, renaming and removing the caller's passkeys, and
//! passwordless sign-in, as JSON. The built-in settings and login pages
//! call it from `passkey.js`; a custom UI calls it the same way.
//!
//! The same rules as the rest of the identity API: every request passes
//! [`TrustedOrigin`] (first-party origins only, the CSRF defence of
//! cookie-authenticated calls), bodies are `application/json`
//! ([`ApiJson`]), and a sign-in ends in the same `logged_in` as a password
//! login. Sign-ins count as login attempts of the client IP (no identifier
//! is typed).

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, TrustedOrigin};
use crate::identity::{logged_in, no_store};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::{MethodRouter, get, patch, post};
use axum_extra::extract::CookieJar;
use oneauth_core::net::ClientIp;
use oneauth_identity::{Ceremony, PasskeyInfo};
use oneauth_proto::ErrorBody;
use oneauth_proto::identity::IdentityResponse;
use oneauth_proto::passkey::{
    PasskeyCeremony, PasskeyLoginRequest, PasskeyRegistrationRequest, PasskeyRenameRequest,
    PasskeyView, PasskeysResponse,
};
use oneauth_ui::Seen;

/// Every passkey route; [`crate::identity::routes`] includes them, so the
/// public router mounts them and the OpenAPI test walks them.
pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/api/identity/passkeys", get(passkeys_get)),
        (
            "/api/identity/passkeys/registration/options",
            post(passkey_registration_options_post),
        ),
        (
            "/api/identity/passkeys/registration",
            post(passkey_registration_post),
        ),
        (
            "/api/identity/passkeys/{id}",
            patch(passkey_patch).delete(passkey_delete),
        ),
        (
            "/api/identity/passkeys/login/options",
            post(passkey_login_options_post),
        ),
        ("/api/identity/passkeys/login", post(passkey_login_post)),
    ]
}

/// A passwordless sign-in's call, charged as a login attempt of the
/// client IP before it runs (no identifier is typed).
pub struct SignInAttempt;

impl FromRequestParts<AppState> for SignInAttempt {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let ip = parts.extensions.get::<ClientIp>().map(|ip| ip.0);
        app.limits.passkey_attempt(ip, app.clock.now()).await?;
        Ok(Self)
    }
}

pub(crate) fn ceremony(c: Ceremony) -> Response {
    no_store(
        StatusCode::OK,
        PasskeyCeremony {
            ceremony_id: c.id,
            options: c.options,
        },
    )
}

fn view(p: PasskeyInfo) -> PasskeyView {
    PasskeyView {
        id: p.id,
        name: p.name,
        created_at: p.created_at,
        last_used_at: p.last_used_at,
        backup_eligible: p.backup_eligible,
    }
}

async fn list(app: &AppState, identity_id: &str) -> ApiResult<Response> {
    let passkeys = app.identities.passkeys(identity_id).await?;
    Ok(no_store(
        StatusCode::OK,
        PasskeysResponse {
            passkeys: passkeys.into_iter().map(view).collect(),
        },
    ))
}

/// The caller's passkeys.
#[utoipa::path(
    get,
    path = "/api/identity/passkeys",
    tag = "identity",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Oldest first.", body = PasskeysResponse),
        (status = 401, description = "No live session (`login_required`).", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not trusted.", body = ErrorBody),
    )
)]
pub async fn passkeys_get(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
) -> ApiResult<Response> {
    let (session, _) = app.session(&jar).await?;
    list(&app, &session.identity_id).await
}

/// Starts adding a passkey: options for `navigator.credentials.create()`.
#[utoipa::path(
    post,
    path = "/api/identity/passkeys/registration/options",
    tag = "identity",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "A discoverable credential with user verification is asked for; the caller's passkeys are excluded.", body = PasskeyCeremony),
        (status = 400, description = "Passkeys are off on this server (its UI is on an IP address, not a domain), or of no use (`passkey` is not a login method and `mfa.policy` is `off`).", body = ErrorBody),
        (status = 401, description = "No live session (`login_required`), or the login is older than `session.privileged_max_age_secs` or, when the identity has a passkey already, did not prove it (`reauthentication_required`, 2008: sign in again, with the passkey, and retry).", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not trusted.", body = ErrorBody),
    )
)]
pub async fn passkey_registration_options_post(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
) -> ApiResult<Response> {
    let (session, _) = app.session(&jar).await?;
    let c = app
        .identities
        .passkey_registration_options(&session, app.clock.now())
        .await?;
    Ok(ceremony(c))
}

/// Finishes adding a passkey with the browser's credential.
#[utoipa::path(
    post,
    path = "/api/identity/passkeys/registration",
    tag = "identity",
    request_body = PasskeyRegistrationRequest,
    security(("session_cookie" = [])),
    responses(
        (status = 201, description = "Registered.", body = PasskeyView),
        (status = 400, description = "The name is empty or too long, `credential` is not a WebAuthn credential (`invalid_request`; the ceremony is spent), or the passkey is registered already (`already_exists`).", body = ErrorBody),
        (status = 401, description = "No live session (`login_required`); the login is no longer recent (`reauthentication_required`); or `passkey_refused` (2011): the ceremony is unknown, expired, used or another identity's, or the credential did not verify.", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not trusted.", body = ErrorBody),
    )
)]
pub async fn passkey_registration_post(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
    ApiJson(body): ApiJson<PasskeyRegistrationRequest>,
) -> ApiResult<Response> {
    let (session, _) = app.session(&jar).await?;
    let info = app
        .identities
        .finish_passkey_registration(
            &session,
            &body.ceremony_id,
            &body.name,
            body.credential,
            app.clock.now(),
        )
        .await?;
    Ok(no_store(StatusCode::CREATED, view(info)))
}

/// Renames one of the caller's passkeys.
#[utoipa::path(
    patch,
    path = "/api/identity/passkeys/{id}",
    tag = "identity",
    params(("id" = String, Path, description = "A passkey id from `GET /api/identity/passkeys`.")),
    request_body = PasskeyRenameRequest,
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Renamed; the caller's passkeys.", body = PasskeysResponse),
        (status = 400, description = "The name is empty, too long or has control characters.", body = ErrorBody),
        (status = 401, description = "No live session (`login_required`).", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not trusted.", body = ErrorBody),
        (status = 404, description = "No such passkey of the caller's.", body = ErrorBody),
    )
)]
pub async fn passkey_patch(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PasskeyRenameRequest>,
) -> ApiResult<Response> {
    let (session, _) = app.session(&jar).await?;
    app.identities
        .rename_passkey(&session, &id, &body.name)
        .await?;
    list(&app, &session.identity_id).await
}

/// Removes one of the caller's passkeys.
#[utoipa::path(
    delete,
    path = "/api/identity/passkeys/{id}",
    tag = "identity",
    params(("id" = String, Path, description = "A passkey id from `GET /api/identity/passkeys`.")),
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Removed; the caller's passkeys left.", body = PasskeysResponse),
        (status = 401, description = "No live session (`login_required`), or the login is not recent or did not prove a passkey (`reauthentication_required`, 2008).", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not trusted.", body = ErrorBody),
        (status = 404, description = "No such passkey of the caller's.", body = ErrorBody),
    )
)]
pub async fn passkey_delete(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (session, _) = app.session(&jar).await?;
    app.identities
        .remove_passkey(&session, &id, app.clock.now())
        .await?;
    list(&app, &session.identity_id).await
}

/// Starts a passwordless sign-in: options for `navigator.credentials.get()`.
#[utoipa::path(
    post,
    path = "/api/identity/passkeys/login/options",
    tag = "identity",
    responses(
        (status = 200, description = "No credentials are listed: the authenticator offers its discoverable ones. `mediation` is `conditional` (autofill); drop it for a sign-in started by a button.", body = PasskeyCeremony),
        (status = 400, description = "`passkey` is not in `login.methods`, or passkeys are off on this server.", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not trusted.", body = ErrorBody),
        (status = 429, description = "Too many sign-in attempts from this IP; see `Retry-After`.", body = ErrorBody),
    )
)]
pub async fn passkey_login_options_post(
    State(app): State<AppState>,
    _: TrustedOrigin,
    _: SignInAttempt,
) -> ApiResult<Response> {
    let c = app
        .identities
        .passkey_login_options(app.clock.now())
        .await?;
    Ok(ceremony(c))
}

/// Signs in with a passkey and sets the session cookie, as a password
/// login does; the session's amr is `hwk` (or `swk` for a synced passkey)
/// and `mfa`.
#[utoipa::path(
    post,
    path = "/api/identity/passkeys/login",
    tag = "identity",
    request_body = PasskeyLoginRequest,
    responses(
        (status = 200, description = "Logged in: the `ory_kratos_session` cookie is set; `redirect_to` when a `login_challenge` was accepted.", body = IdentityResponse),
        (status = 400, description = "`credential` is not a WebAuthn credential (the ceremony is spent), passkey sign-in is not enabled, or the login challenge is unknown or used.", body = ErrorBody),
        (status = 401, description = "`passkey_refused` (2011): the ceremony is unknown, expired or used (a replay), the passkey is not registered here, or the assertion did not verify (no user verification, a counter gone backwards).", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not trusted.", body = ErrorBody),
        (status = 429, description = "Too many sign-in attempts from this IP; see `Retry-After`.", body = ErrorBody),
    )
)]
pub async fn passkey_login_post(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
    seen: Seen,
    _: SignInAttempt,
    ApiJson(body): ApiJson<PasskeyLoginRequest>,
) -> ApiResult<Response> {
    let now = app.clock.now();
    let (identity, amr) = app
        .identities
        .finish_passkey_login(&body.ceremony_id, body.credential, now)
        .await?;
    let challenge = body.login_challenge.as_deref();
    logged_in(&app, jar, &identity, &amr, challenge, seen, now).await
}
