//! The login and consent challenges as JSON (Hydra's shape), so a custom
//! UI can replace the built-in pages.

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiQuery, TrustedOrigin};
use axum::Json;
use axum::extract::State;
use axum_extra::extract::CookieJar;
use oneauth_oauth2::challenge::{ConsentRequest, LoginRequest, RedirectTo};
use oneauth_proto::ErrorBody;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct LoginChallengeQuery {
    login_challenge: String,
}

#[derive(Deserialize)]
pub struct ConsentChallengeQuery {
    consent_challenge: String,
}

#[utoipa::path(
    get,
    path = "/api/hydra/login",
    tag = "hydra",
    params(("login_challenge" = String, Query)),
    responses(
        (status = 200, description = "The login request as a login UI needs it.", body = LoginRequest),
        (status = 400, description = "The challenge is missing, unknown, expired or used.", body = ErrorBody),
    )
)]
pub async fn login_request_get(
    State(app): State<AppState>,
    jar: CookieJar,
    ApiQuery(q): ApiQuery<LoginChallengeQuery>,
) -> ApiResult<Json<LoginRequest>> {
    let now = app.clock.now();
    // The browser's session, pending or not, for `authentication`.
    let session = match jar.get(&app.config.session.cookie_name) {
        Some(c) => app.identities.any_session(c.value(), now).await?,
        None => None,
    };
    Ok(Json(
        app.server
            .login_request(&q.login_challenge, session.as_ref().map(|(s, _)| s), now)
            .await?,
    ))
}

/// Accepts the challenge for the user of the session cookie.
#[utoipa::path(
    put,
    path = "/api/hydra/login/accept",
    tag = "hydra",
    params(("login_challenge" = String, Query)),
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Accepted for the session's identity; send the browser to `redirect_to`.", body = RedirectTo),
        (status = 400, description = "The challenge is missing, unknown, expired or used.", body = ErrorBody),
        (status = 401, description = "No live session (`login_required`; a session still waiting for its second factor is none), or the client, the request's `acr_values` or the MFA policy needs a second factor the session has not proven (`second_factor_required`, 2010: prove one with `POST /api/identity/login/second-factor`, then accept again).", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not OneAuth's own or first-party.", body = ErrorBody),
    )
)]
pub async fn login_accept_put(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
    ApiQuery(q): ApiQuery<LoginChallengeQuery>,
) -> ApiResult<Json<RedirectTo>> {
    let now = app.clock.now();
    let (session, identity) = app.session(&jar).await?;
    Ok(Json(
        app.server
            .accept_login(&q.login_challenge, &session, &identity, now)
            .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/hydra/consent",
    tag = "hydra",
    params(("consent_challenge" = String, Query)),
    responses(
        (status = 200, description = "The consent request as a consent UI needs it.", body = ConsentRequest),
        (status = 400, description = "The challenge is missing, unknown, expired or used.", body = ErrorBody),
    )
)]
pub async fn consent_request_get(
    State(app): State<AppState>,
    ApiQuery(q): ApiQuery<ConsentChallengeQuery>,
) -> ApiResult<Json<ConsentRequest>> {
    Ok(Json(
        app.server
            .consent_request(&q.consent_challenge, app.clock.now())
            .await?,
    ))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentAcceptBody {
    #[serde(default)]
    grant_scope: Option<Vec<String>>,
}

#[utoipa::path(
    put,
    path = "/api/hydra/consent/accept",
    tag = "hydra",
    params(("consent_challenge" = String, Query)),
    request_body(content = Option<ConsentAcceptBody>, description = "Optional; without it every requested scope is granted."),
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Granted (and remembered); send the browser to `redirect_to`.", body = RedirectTo),
        (status = 400, description = "The challenge is missing, unknown or used, or a scope was not requested.", body = ErrorBody),
        (status = 401, description = "No live session (`login_required`).", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not OneAuth's own or first-party.", body = ErrorBody),
    )
)]
pub async fn consent_accept_put(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
    ApiQuery(q): ApiQuery<ConsentChallengeQuery>,
    body: axum::body::Bytes,
) -> ApiResult<Json<RedirectTo>> {
    // No body, or `null` as the document allows: every requested scope.
    let body: ConsentAcceptBody = if body.is_empty() {
        ConsentAcceptBody::default()
    } else {
        crate::extract::parse_json::<Option<_>>(&body)?.unwrap_or_default()
    };
    let (_, identity) = app.session(&jar).await?;
    Ok(Json(
        app.server
            .accept_consent(
                &q.consent_challenge,
                &identity,
                body.grant_scope,
                app.clock.now(),
            )
            .await?,
    ))
}

#[utoipa::path(
    put,
    path = "/api/hydra/consent/reject",
    tag = "hydra",
    params(("consent_challenge" = String, Query)),
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Denied; `redirect_to` returns `access_denied` to the client.", body = RedirectTo),
        (status = 400, description = "The challenge is missing, unknown, expired or used.", body = ErrorBody),
        (status = 401, description = "No live session (`login_required`).", body = ErrorBody),
        (status = 403, description = "The request's `Origin` is not OneAuth's own or first-party.", body = ErrorBody),
    )
)]
pub async fn consent_reject_put(
    State(app): State<AppState>,
    _: TrustedOrigin,
    jar: CookieJar,
    ApiQuery(q): ApiQuery<ConsentChallengeQuery>,
) -> ApiResult<Json<RedirectTo>> {
    let (_, identity) = app.session(&jar).await?;
    Ok(Json(
        app.server
            .reject_consent(&q.consent_challenge, &identity, app.clock.now())
            .await?,
    ))
}
