//! The identity API on the public listener (`/api/identity/…`): JSON for a
//! custom login UI, doing what the built-in pages do with the same calls
//! into `oneauth-identity`. Each handler parses (a request that spends a
//! login attempt is charged by its extractor, [`Attempt`](crate::limit::Attempt)), makes one or
//! two domain calls and answers.
//!
//! Every request that sends a body must say `Content-Type:
//! application/json` ([`ApiJson`]) and every request that changes state
//! passes [`TrustedOrigin`], as do the reads of the account: a cross-site
//! page can neither post a form here nor script a call without a CORS
//! preflight that only OneAuth's own and the configured first-party origins
//! pass — a registered client's origin does not. Logins set the session cookie exactly as
//! the pages do ([`oneauth_ui::cookie`]). Answers about addresses are the
//! same whether or not an account has them.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, MessageLocale, TrustedOrigin};
use crate::limit::{Attempt, SignedInAttempt};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post};
use axum_extra::extract::CookieJar;
use oneauth_identity::identifier::Address;
use oneauth_identity::{FormRules, ProofCode, Registration, SessionInfo};
use oneauth_oauth2::login::{CompletedLogin, Landing, LoginFrom};
use oneauth_proto::ErrorBody;
use oneauth_proto::identity::{
    AddressRequest, AddressView, Channel, CodeLoginRequest, CodeSent, IdentityResponse,
    IdentityView, LoginCodeSendRequest, PasswordChangeRequest, PasswordLoginRequest,
    ProfileUpdateRequest, RecoveryRequest, RegistrationRequest, RegistrationResponse, SessionView,
    SessionsEnded, SessionsResponse, SocialProviderView, SocialProvidersResponse,
    VerificationRequest,
};
use oneauth_store::{Identity, Session};
use oneauth_ui::Seen;
use std::collections::HashMap;
use time::OffsetDateTime;

/// Every identity route. The public router mounts exactly these, and the
/// OpenAPI test walks them, so a route cannot go undocumented.
pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/api/identity/registration", post(registration_post)),
        ("/api/identity/login/password", post(password_login_post)),
        ("/api/identity/login/code/send", post(login_code_send_post)),
        ("/api/identity/login/code", post(code_login_post)),
        (
            "/api/identity/verification/send",
            post(verification_send_post),
        ),
        ("/api/identity/verification", post(verification_post)),
        ("/api/identity/recovery/send", post(recovery_send_post)),
        ("/api/identity/recovery", post(recovery_post)),
        (
            "/api/identity/settings/password",
            post(settings_password_post),
        ),
        (
            "/api/identity/settings/profile",
            patch(settings_profile_patch),
        ),
        ("/api/identity/whoami", get(whoami_get)),
        (
            "/api/identity/sessions",
            get(sessions_get).delete(sessions_delete),
        ),
        ("/api/identity/sessions/{id}", delete(session_delete)),
        ("/api/identity/social/providers", get(social_providers_get)),
        (
            "/api/identity/login/second-factor",
            post(crate::second_factor::second_factor_post),
        ),
        (
            "/api/identity/login/second-factor/passkey/options",
            post(crate::second_factor::passkey_options_post),
        ),
        (
            "/api/identity/login/second-factor/passkey",
            post(crate::second_factor::passkey_post),
        ),
    ]
    .into_iter()
    // TOTP and recovery codes (issue 17).
    .chain(crate::totp::routes())
    // Passkeys (issue 17).
    .chain(crate::passkeys::routes())
    .collect()
}

fn view(identity: &Identity) -> IdentityView {
    let t = &identity.traits;
    IdentityView {
        id: identity.id.clone(),
        email: t.email.clone(),
        email_verified: t.email_verified,
        phone: t.phone.clone(),
        phone_verified: t.phone_verified,
        username: t.username.clone(),
        name: t.name.clone(),
        has_password: identity.password_hash.is_some(),
        created_at: identity.created_at,
    }
}

/// The caller's own session, as the session list shows it.
fn session_view(s: &Session) -> SessionView {
    info_view(SessionInfo::new(s.clone(), s))
}

fn info_view(s: SessionInfo) -> SessionView {
    SessionView {
        id: s.id,
        authenticated_at: s.authenticated_at,
        expires_at: s.expires_at,
        amr: s.amr,
        current: s.current,
        last_used_at: s.last_used_at,
        device: s.device,
        browser: s.browser,
        ip: s.ip,
    }
}

fn address_view(a: &Address) -> AddressView {
    AddressView {
        channel: match a {
            Address::Email(_) => Channel::Email,
            Address::Phone(_) => Channel::Phone,
        },
        address: a.as_str().to_owned(),
    }
}

/// Personal data and session ids: never cached.
pub(crate) fn no_store(status: StatusCode, body: impl serde::Serialize) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

fn code_sent(app: &AppState) -> Response {
    let c = &app.config.codes;
    no_store(
        StatusCode::ACCEPTED,
        CodeSent {
            expires_in: c.ttl_secs,
            resend_after: c.resend_cooldown_secs,
        },
    )
}

/// After any successful authentication, as the login page does it
/// ([`AuthorizationServer::complete_login`]): the session cookie, and
/// `redirect_to` for an accepted login challenge. A challenge that cannot
/// be accepted is reported, with the new session kept.
///
/// [`AuthorizationServer::complete_login`]: oneauth_oauth2::AuthorizationServer::complete_login
pub(crate) async fn logged_in(
    app: &AppState,
    jar: CookieJar,
    identity: &Identity,
    amr: &[&str],
    login_challenge: Option<&str>,
    Seen(seen_from): Seen,
    now: OffsetDateTime,
) -> ApiResult<Response> {
    let config = &app.config;
    let previous = jar.get(&config.session.cookie_name).map(|c| c.value());
    let from = LoginFrom {
        previous,
        seen_from: &seen_from,
    };
    let done = app
        .server
        .complete_login(from, identity, amr, login_challenge, None, now)
        .await?;
    Ok(landed(app, jar, identity, done))
}

/// The answer to a completed login or second factor: the session cookie,
/// and where the login goes on.
pub(crate) fn landed(
    app: &AppState,
    jar: CookieJar,
    identity: &Identity,
    done: CompletedLogin,
) -> Response {
    let jar = jar.add(oneauth_ui::cookie::session(&app.config, done.session_token));
    let (redirect_to, second_factor_required) = match done.landing {
        Ok(Landing::Flow { redirect_to }) => (Some(redirect_to), false),
        Ok(Landing::Page { .. }) => (None, false),
        Ok(Landing::SecondFactor) => (None, true),
        Err(e) => return (jar, ApiError(e)).into_response(),
    };
    let body = IdentityResponse {
        identity: view(identity),
        session: Some(session_view(&done.session)),
        redirect_to,
        second_factor_required,
    };
    (jar, no_store(StatusCode::OK, body)).into_response()
}

/// Sends a verification or recovery code: the same answer whether or not
/// an account has the address.
async fn send_proof_code(
    app: &AppState,
    kind: ProofCode,
    locale: oneauth_identity::Locale,
    address: &str,
) -> ApiResult<Response> {
    let address = Address::parse(address)?;
    let now = app.clock.now();
    app.identities
        .send_proof_code(kind, &address, locale, now)
        .await?;
    Ok(code_sent(app))
}

/// Signs a person up and sends codes to the addresses to verify.
#[utoipa::path(
    post,
    path = "/api/identity/registration",
    tag = "identity",
    request_body = RegistrationRequest,
    responses(
        (status = 202, description = "Codes went to the addresses to verify (for an address with an account already, its owner got a notice instead: the answer is the same). The `oneauth_signup` cookie keeps the sign-up proof: verifying with it keeps the password chosen here; a first proof of an address without it removes that password and ends the identity's sessions and grants (account pre-hijacking).", body = RegistrationResponse),
        (status = 400, description = "A field is missing or malformed, the passwords differ, the password is weak (`weak_password`) or the username is taken (`already_exists`).", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`.", body = ErrorBody),
        (status = 429, description = "Too many attempts from this IP or for this address, or a message (a code or a notice, for taken and new addresses alike) went to an address a moment ago or its hourly cap is reached; see `Retry-After`.", body = ErrorBody),
    )
)]
pub async fn registration_post(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
    MessageLocale(locale): MessageLocale,
    Attempt(body): Attempt<RegistrationRequest>,
) -> ApiResult<Response> {
    let now = app.clock.now();
    let reg = Registration {
        email: body.email,
        phone: body.phone,
        username: body.username,
        name: body.name,
        password: body.password,
        verify: body.verify_method,
    };
    let rules = FormRules {
        confirm_password: body.confirm_password,
        require_username: body.require_username,
        require_name: body.require_name,
    };
    let confirmation = body.password_confirmation.as_deref();
    let policy = app.identities.policy();
    // The first problem is the answer; the page shows them all.
    if let Some(first) = reg.problems(rules, confirmation, policy).into_iter().next() {
        return Err(ApiError(first.error));
    }
    let signup = app.identities.register(reg, locale, now).await?;
    let jar = jar.add(oneauth_ui::cookie::signup(&app.config, signup.proof));
    let body = RegistrationResponse {
        verify: signup.verify.iter().map(address_view).collect(),
    };
    Ok((jar, no_store(StatusCode::ACCEPTED, body)).into_response())
}

/// Logs in with a password and sets the session cookie.
#[utoipa::path(
    post,
    path = "/api/identity/login/password",
    tag = "identity",
    request_body = PasswordLoginRequest,
    responses(
        (status = 200, description = "Logged in: the `ory_kratos_session` cookie is set; `redirect_to` when a `login_challenge` was accepted.", body = IdentityResponse),
        (status = 400, description = "A field is missing, or the login challenge is unknown or used.", body = ErrorBody),
        (status = 401, description = "`invalid_credentials`, the same for an unknown account, a wrong password and a disabled identity.", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not trusted.", body = ErrorBody),
        (status = 429, description = "Too many attempts; see `Retry-After`.", body = ErrorBody),
    )
)]
pub async fn password_login_post(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
    seen: Seen,
    Attempt(body): Attempt<PasswordLoginRequest>,
) -> ApiResult<Response> {
    let now = app.clock.now();
    let challenge = body.login_challenge;
    let fields = HashMap::from([
        ("identifier".to_owned(), body.identifier),
        ("password".to_owned(), body.password),
    ]);
    let ids = &app.identities;
    let (identity, amr) = ids.authenticate("password", &fields, now).await?;
    logged_in(
        &app,
        jar,
        &identity,
        &[amr],
        challenge.as_deref(),
        seen,
        now,
    )
    .await
}

/// Sends a login code by email or SMS.
#[utoipa::path(
    post,
    path = "/api/identity/login/code/send",
    tag = "identity",
    request_body = LoginCodeSendRequest,
    responses(
        (status = 202, description = "A code went to the address if it has an account; the answer is the same if not.", body = CodeSent),
        (status = 400, description = "The address is malformed, or the method is not enabled.", body = ErrorBody),
        (status = 429, description = "A message (of any kind) went to the address a moment ago or its hourly cap is reached (for unknown addresses too), or too many attempts from this IP or for this address; see `Retry-After`.", body = ErrorBody),
    )
)]
pub async fn login_code_send_post(
    State(app): State<AppState>,
    _: TrustedOrigin,
    MessageLocale(locale): MessageLocale,
    Attempt(body): Attempt<LoginCodeSendRequest>,
) -> ApiResult<Response> {
    let now = app.clock.now();
    let fields = HashMap::from([("identifier".to_owned(), body.identifier)]);
    app.identities
        .begin_login(body.method.name(), &fields, locale, now)
        .await?;
    Ok(code_sent(&app))
}

/// Logs in with a code sent by `…/login/code/send` and sets the session
/// cookie.
#[utoipa::path(
    post,
    path = "/api/identity/login/code",
    tag = "identity",
    request_body = CodeLoginRequest,
    responses(
        (status = 200, description = "Logged in: the `ory_kratos_session` cookie is set; `redirect_to` when a `login_challenge` was accepted.", body = IdentityResponse),
        (status = 400, description = "The address is malformed, the method is not enabled, or the login challenge is unknown.", body = ErrorBody),
        (status = 401, description = "`invalid_code` (2006): the code is wrong, expired, used or out of attempts — or the address has no account: the same answer.", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not trusted.", body = ErrorBody),
        (status = 429, description = "Too many attempts, or the address is locked out after wrong codes (over login, verification and recovery; the right code waits too); see `Retry-After`.", body = ErrorBody),
    )
)]
pub async fn code_login_post(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
    seen: Seen,
    Attempt(body): Attempt<CodeLoginRequest>,
) -> ApiResult<Response> {
    let now = app.clock.now();
    let challenge = body.login_challenge;
    let fields = HashMap::from([
        ("identifier".to_owned(), body.identifier),
        ("code".to_owned(), body.code),
    ]);
    let ids = &app.identities;
    let (identity, amr) = ids.authenticate(body.method.name(), &fields, now).await?;
    logged_in(
        &app,
        jar,
        &identity,
        &[amr],
        challenge.as_deref(),
        seen,
        now,
    )
    .await
}

/// Sends a verification code to an address.
#[utoipa::path(
    post,
    path = "/api/identity/verification/send",
    tag = "identity",
    request_body = AddressRequest,
    responses(
        (status = 202, description = "A code went to the address if an active account has it; the answer is the same if not.", body = CodeSent),
        (status = 400, description = "The address is malformed.", body = ErrorBody),
        (status = 429, description = "A message (of any kind) went to the address a moment ago or its hourly cap is reached (for unknown addresses too), or too many attempts from this IP or for this address; see `Retry-After`.", body = ErrorBody),
    )
)]
pub async fn verification_send_post(
    State(app): State<AppState>,
    _: TrustedOrigin,
    MessageLocale(locale): MessageLocale,
    Attempt(body): Attempt<AddressRequest>,
) -> ApiResult<Response> {
    send_proof_code(&app, ProofCode::Verification, locale, &body.address).await
}

/// Marks an address verified with the code sent to it; with `login`, also
/// logs in.
#[utoipa::path(
    post,
    path = "/api/identity/verification",
    tag = "identity",
    request_body = VerificationRequest,
    responses(
        (status = 200, description = "Verified. With `login`, the `ory_kratos_session` cookie is set and `session` (and `redirect_to` for a `login_challenge`) come along. The first proof of an address of a new sign-up keeps the password chosen there only with that sign-up's `oneauth_signup` cookie; otherwise the password is removed and every session and grant of the identity ends.", body = IdentityResponse),
        (status = 400, description = "The address is malformed.", body = ErrorBody),
        (status = 401, description = "`invalid_code`: wrong, expired, used or out of attempts.", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not trusted.", body = ErrorBody),
        (status = 429, description = "Too many attempts, or the address is locked out after wrong codes (over login, verification and recovery; the right code waits too); see `Retry-After`.", body = ErrorBody),
    )
)]
pub async fn verification_post(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
    seen: Seen,
    Attempt(body): Attempt<VerificationRequest>,
) -> ApiResult<Response> {
    let now = app.clock.now();
    let address = Address::parse(&body.address)?;
    let signup_proof = jar.get(oneauth_ui::cookie::SIGNUP).map(|c| c.value());
    let ids = &app.identities;
    let identity = ids.verify(&address, &body.code, signup_proof, now).await?;
    if body.login {
        // The code proves the address: a one-time password.
        let challenge = body.login_challenge.as_deref();
        return logged_in(&app, jar, &identity, &["otp"], challenge, seen, now).await;
    }
    let body = IdentityResponse {
        identity: view(&identity),
        session: None,
        redirect_to: None,
        second_factor_required: false,
    };
    Ok(no_store(StatusCode::OK, body))
}

/// Sends a recovery code to a verified address.
#[utoipa::path(
    post,
    path = "/api/identity/recovery/send",
    tag = "identity",
    request_body = AddressRequest,
    responses(
        (status = 202, description = "A code went to the address if it is the verified address of an active account; the answer (and its time) is the same if not.", body = CodeSent),
        (status = 400, description = "The address is malformed.", body = ErrorBody),
        (status = 429, description = "A message (of any kind) went to the address a moment ago or its hourly cap is reached (for unknown addresses too), or too many attempts from this IP or for this address; see `Retry-After`.", body = ErrorBody),
    )
)]
pub async fn recovery_send_post(
    State(app): State<AppState>,
    _: TrustedOrigin,
    MessageLocale(locale): MessageLocale,
    Attempt(body): Attempt<AddressRequest>,
) -> ApiResult<Response> {
    send_proof_code(&app, ProofCode::Recovery, locale, &body.address).await
}

/// Sets a new password with a recovery code: every session and every
/// OAuth grant of the identity ends, and the caller is logged in.
#[utoipa::path(
    post,
    path = "/api/identity/recovery",
    tag = "identity",
    request_body = RecoveryRequest,
    responses(
        (status = 200, description = "The password is set, every other session and every OAuth grant of the identity ended, and the `ory_kratos_session` cookie holds a new one.", body = IdentityResponse),
        (status = 400, description = "The address is malformed or the new password weak (`weak_password`; the code is not spent).", body = ErrorBody),
        (status = 401, description = "`invalid_code`: wrong, expired, used, out of attempts — or no account: the same answer.", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not trusted.", body = ErrorBody),
        (status = 429, description = "Too many attempts, or the address is locked out after wrong codes (over login, verification and recovery; the right code waits too); see `Retry-After`.", body = ErrorBody),
    )
)]
pub async fn recovery_post(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
    seen: Seen,
    Attempt(body): Attempt<RecoveryRequest>,
) -> ApiResult<Response> {
    let now = app.clock.now();
    let address = Address::parse(&body.address)?;
    let ids = &app.identities;
    let identity = ids
        .recover(&address, &body.code, &body.new_password, now)
        .await?;
    let challenge = body.login_challenge.as_deref();
    logged_in(&app, jar, &identity, &["otp"], challenge, seen, now).await
}

/// Sets or changes the password on a recent login; every other session
/// and every OAuth grant of the identity ends.
#[utoipa::path(
    post,
    path = "/api/identity/settings/password",
    tag = "identity",
    request_body = PasswordChangeRequest,
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Changed; only the caller's session is left, and every OAuth grant of the identity (refresh and access tokens) is revoked.", body = IdentityResponse),
        (status = 400, description = "The new password is weak (`weak_password`).", body = ErrorBody),
        (status = 401, description = "No live session (`login_required`), the current password is wrong (`invalid_credentials`), or the session's login is older than `session.privileged_max_age_secs` (`reauthentication_required`, 2008: sign in again — password or code — and retry).", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not trusted.", body = ErrorBody),
        (status = 429, description = "Too many attempts; see `Retry-After`.", body = ErrorBody),
    )
)]
pub async fn settings_password_post(
    State(app): State<AppState>,
    _: TrustedOrigin,
    // The current password is a guess like a login's.
    attempt: SignedInAttempt<PasswordChangeRequest>,
) -> ApiResult<Response> {
    let now = app.clock.now();
    let SignedInAttempt {
        session,
        identity,
        body,
    } = attempt;
    let ids = &app.identities;
    let current = body.current_password.as_deref();
    ids.change_password(&session, current, &body.new_password, now)
        .await?;
    let identity = ids.get(&identity.id).await?.unwrap_or(identity);
    let body = IdentityResponse {
        identity: view(&identity),
        session: Some(session_view(&session)),
        redirect_to: None,
        second_factor_required: false,
    };
    Ok(no_store(StatusCode::OK, body))
}

/// Changes name and username.
#[utoipa::path(
    patch,
    path = "/api/identity/settings/profile",
    tag = "identity",
    request_body = ProfileUpdateRequest,
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Saved.", body = IdentityResponse),
        (status = 400, description = "The username is malformed, or taken (`already_exists`).", body = ErrorBody),
        (status = 401, description = "No live session (`login_required`).", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not trusted.", body = ErrorBody),
    )
)]
pub async fn settings_profile_patch(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
    ApiJson(body): ApiJson<ProfileUpdateRequest>,
) -> ApiResult<Response> {
    let now = app.clock.now();
    let (session, identity) = app.session(&jar).await?;
    let t = identity.traits;
    // Left out: unchanged; null or "": cleared.
    let name = body.name.unwrap_or(t.name).unwrap_or_default();
    let username = body.username.unwrap_or(t.username).unwrap_or_default();
    let identity = app
        .identities
        .update_profile(&identity.id, Some(name), Some(username), now)
        .await?;
    let body = IdentityResponse {
        identity: view(&identity),
        session: Some(session_view(&session)),
        redirect_to: None,
        second_factor_required: false,
    };
    Ok(no_store(StatusCode::OK, body))
}

/// The identity and session of the request's session cookie.
#[utoipa::path(
    get,
    path = "/api/identity/whoami",
    tag = "identity",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Logged in.", body = IdentityResponse),
        (status = 401, description = "No live session (`login_required`).", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not trusted.", body = ErrorBody),
    )
)]
pub async fn whoami_get(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
) -> ApiResult<Response> {
    let (session, identity) = app.session(&jar).await?;
    let body = IdentityResponse {
        identity: view(&identity),
        session: Some(session_view(&session)),
        redirect_to: None,
        second_factor_required: false,
    };
    Ok(no_store(StatusCode::OK, body))
}

/// The caller's live sessions.
#[utoipa::path(
    get,
    path = "/api/identity/sessions",
    tag = "identity",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Newest first; `current` marks the caller's.", body = SessionsResponse),
        (status = 401, description = "No live session (`login_required`).", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not trusted.", body = ErrorBody),
    )
)]
pub async fn sessions_get(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
) -> ApiResult<Response> {
    let (session, _) = app.session(&jar).await?;
    let sessions = app.identities.sessions(&session, app.clock.now()).await?;
    Ok(no_store(
        StatusCode::OK,
        SessionsResponse {
            sessions: sessions.into_iter().map(info_view).collect(),
        },
    ))
}

/// Ends every session of the caller's identity but the caller's own.
#[utoipa::path(
    delete,
    path = "/api/identity/sessions",
    tag = "identity",
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "The other sessions ended.", body = SessionsEnded),
        (status = 401, description = "No live session (`login_required`).", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not trusted.", body = ErrorBody),
    )
)]
pub async fn sessions_delete(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
) -> ApiResult<Response> {
    let (session, _) = app.session(&jar).await?;
    let ended = app
        .identities
        .end_other_sessions(&session, app.clock.now())
        .await?;
    Ok(no_store(StatusCode::OK, SessionsEnded { ended }))
}

/// Ends one of the caller's sessions; ending the caller's own also clears
/// the cookie (a logout).
#[utoipa::path(
    delete,
    path = "/api/identity/sessions/{id}",
    tag = "identity",
    params(("id" = String, Path, description = "A session id from `GET /api/identity/sessions`.")),
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Ended.", body = SessionsEnded),
        (status = 401, description = "No live session (`login_required`).", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not trusted.", body = ErrorBody),
        (status = 404, description = "No such session of the caller's (another identity's session is not found either).", body = ErrorBody),
    )
)]
pub async fn session_delete(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (session, _) = app.session(&jar).await?;
    app.identities
        .end_own_session(&session, &id, app.clock.now())
        .await?;
    let jar = if id == session.id {
        jar.remove(oneauth_ui::cookie::session_removal(&app.config))
    } else {
        jar
    };
    Ok((jar, no_store(StatusCode::OK, SessionsEnded { ended: 1 })).into_response())
}

/// The social login providers and their start URLs. Social login is a
/// browser flow (two redirects): a custom UI links to `start_url`; the
/// login ends on the built-in UI's callback, which continues it like a
/// password login (session cookie, `login_challenge`, `return_to`, popup).
#[utoipa::path(
    get,
    path = "/api/identity/social/providers",
    tag = "identity",
    responses(
        (status = 200, description = "In the configured order; empty when none is configured.", body = SocialProvidersResponse),
    )
)]
pub async fn social_providers_get(State(app): State<AppState>) -> Json<SocialProvidersResponse> {
    let providers = app
        .identities
        .social()
        .providers()
        .iter()
        .map(|p| SocialProviderView {
            id: p.id.clone(),
            display_name: p.display_name.clone(),
            start_url: app
                .server
                .ui_endpoint(&oneauth_ui::social::start_path(&p.id, &Default::default())),
        })
        .collect();
    Json(SocialProvidersResponse { providers })
}
