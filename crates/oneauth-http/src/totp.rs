//! TOTP and recovery codes on the public listener
//! (`/api/identity/totp…`, `/api/identity/recovery-codes`): the JSON face
//! of the settings page's second-factor sections, with the same calls
//! into `oneauth-identity`. Session-authenticated and cross-site-proof as
//! the rest of the identity API ([`TrustedOrigin`]); answers that carry a
//! secret or codes are `no-store`.

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiJson, TrustedOrigin};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use axum_extra::extract::CookieJar;
use oneauth_proto::ErrorBody;
use oneauth_proto::totp::{
    RecoveryCodes, RecoveryCodesLeft, TotpCodeRequest, TotpConfirmed, TotpEnrolmentResponse,
    TotpStatus,
};

/// The routes, mounted with the identity API's (and checked against the
/// OpenAPI document with them).
pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        (
            "/api/identity/totp",
            get(totp_get).post(totp_post).delete(totp_delete),
        ),
        ("/api/identity/totp/confirm", post(totp_confirm_post)),
        (
            "/api/identity/recovery-codes",
            get(recovery_codes_get).post(recovery_codes_post),
        ),
    ]
}

/// Secrets and codes: never cached.
fn no_store(body: impl serde::Serialize) -> Response {
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        Json(body),
    )
        .into_response()
}

async fn status(app: &AppState, identity_id: &str) -> ApiResult<Response> {
    let ids = &app.identities;
    Ok(no_store(TotpStatus {
        enrolled: ids.has_totp(identity_id).await?,
        available: ids.second_factors_enabled(),
    }))
}

/// Whether the caller has an authenticator app set up.
#[utoipa::path(
    get,
    path = "/api/identity/totp",
    tag = "identity",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The caller's TOTP status.", body = TotpStatus),
        (status = 401, description = "No live session (`login_required`).", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not trusted.", body = ErrorBody),
    )
)]
pub async fn totp_get(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
) -> ApiResult<Response> {
    let (session, _) = app.session(&jar).await?;
    status(&app, &session.identity_id).await
}

/// Starts setting up an authenticator app: a new secret (replacing one
/// not confirmed yet), as text, `otpauth://` URI and QR code.
#[utoipa::path(
    post,
    path = "/api/identity/totp",
    tag = "identity",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The secret, shown once; confirm it with `POST /api/identity/totp/confirm`.", body = TotpEnrolmentResponse),
        (status = 400, description = "An authenticator app is set up already (`already_exists`): remove it first.", body = ErrorBody),
        (status = 401, description = "No live session (`login_required`), or the login is older than `session.privileged_max_age_secs`, or did not prove the second factor the identity has (`reauthentication_required`, 2008).", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not trusted, or second factors are off on this server (`access_denied`).", body = ErrorBody),
    )
)]
pub async fn totp_post(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
) -> ApiResult<Response> {
    let (session, _) = app.session(&jar).await?;
    let e = app
        .identities
        .begin_totp_enrolment(&session, app.clock.now())
        .await?;
    Ok(no_store(TotpEnrolmentResponse {
        secret: e.secret,
        uri: e.uri,
        qr_svg: e.qr_svg,
    }))
}

/// Confirms the set-up with a first code from the app.
#[utoipa::path(
    post,
    path = "/api/identity/totp/confirm",
    tag = "identity",
    request_body = TotpCodeRequest,
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Confirmed; `recovery_codes` (shown this once) when the identity had none left.", body = TotpConfirmed),
        (status = 400, description = "The body is malformed, or no set-up is in progress (`invalid_request`).", body = ErrorBody),
        (status = 401, description = "No live session (`login_required`), or the code is wrong or used (`invalid_code`, 2006, with the tries left before a lock-out).", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not trusted, or second factors are off on this server (`access_denied`).", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`.", body = ErrorBody),
        (status = 429, description = "Locked out after wrong codes (TOTP and recovery codes together; the right code waits too); see `Retry-After`.", body = ErrorBody),
    )
)]
pub async fn totp_confirm_post(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
    ApiJson(body): ApiJson<TotpCodeRequest>,
) -> ApiResult<Response> {
    let (session, _) = app.session(&jar).await?;
    let recovery_codes = app
        .identities
        .confirm_totp(&session, &body.code, app.clock.now())
        .await?;
    Ok(no_store(TotpConfirmed { recovery_codes }))
}

/// Removes the authenticator app (recovery codes stay).
#[utoipa::path(
    delete,
    path = "/api/identity/totp",
    tag = "identity",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Removed.", body = TotpStatus),
        (status = 401, description = "No live session (`login_required`), or the login is not recent or did not prove a second factor (`reauthentication_required`, 2008: sign in again with the second factor, then retry).", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not trusted.", body = ErrorBody),
        (status = 404, description = "No authenticator app is set up.", body = ErrorBody),
    )
)]
pub async fn totp_delete(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
) -> ApiResult<Response> {
    let (session, _) = app.session(&jar).await?;
    app.identities
        .remove_totp(&session, app.clock.now())
        .await?;
    status(&app, &session.identity_id).await
}

/// How many recovery codes the caller has left.
#[utoipa::path(
    get,
    path = "/api/identity/recovery-codes",
    tag = "identity",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Unused codes.", body = RecoveryCodesLeft),
        (status = 401, description = "No live session (`login_required`).", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not trusted.", body = ErrorBody),
    )
)]
pub async fn recovery_codes_get(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
) -> ApiResult<Response> {
    let (session, _) = app.session(&jar).await?;
    let left = app
        .identities
        .recovery_codes_left(&session.identity_id)
        .await?;
    Ok(no_store(RecoveryCodesLeft { left }))
}

/// Replaces the caller's recovery codes with ten new ones.
#[utoipa::path(
    post,
    path = "/api/identity/recovery-codes",
    tag = "identity",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The new codes, shown this once; the old ones no longer work.", body = RecoveryCodes),
        (status = 400, description = "The identity has no second factor to recover (`invalid_request`).", body = ErrorBody),
        (status = 401, description = "No live session (`login_required`), or the login is older than `session.privileged_max_age_secs` (`reauthentication_required`, 2008).", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not trusted, or second factors are off on this server (`access_denied`).", body = ErrorBody),
    )
)]
pub async fn recovery_codes_post(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
) -> ApiResult<Response> {
    let (session, _) = app.session(&jar).await?;
    let recovery_codes = app
        .identities
        .regenerate_recovery_codes(&session, app.clock.now())
        .await?;
    Ok(no_store(RecoveryCodes { recovery_codes }))
}
