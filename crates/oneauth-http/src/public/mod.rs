//! The public listener (:8080): OAuth2/OIDC endpoints and the guide's API.
//! Handlers are a few lines: parse, one call into the authorization server.

mod hydra;

pub use hydra::*;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{
    ApiJson, ApiQuery, BasicAuth, Bearer, CookielessJson, OAuthForm, OAuthQuery, RequestOrigin,
};
use axum::Extension;
use axum::Json;
use axum::extract::FromRequest as _;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use oneauth_core::Error;
use oneauth_core::net::ClientIp;
use oneauth_oauth2::authorize::{AuthorizeOutcome, BrowserContext};
use oneauth_oauth2::exchange::SilentExchange;
use oneauth_oauth2::introspect::TokenStatus;
use oneauth_oauth2::logout::{EndSessionRequest, Logout};
use oneauth_oauth2::native::NativeLogin;
use oneauth_proto::oauth2::{TokenForm, TokenParamsForm};
use oneauth_proto::{ErrorBody, TokenResponse};
use serde::Deserialize;

/// Binds an authorization flow to the browser that started it.
pub const BROWSER_COOKIE: &str = "oneauth_browser";

#[utoipa::path(
    get,
    path = "/.well-known/openid-configuration",
    tag = "oauth2",
    responses((status = 200, description = "OpenID Connect Discovery 1.0 metadata (RFC 8414 fields too); `issuer` is exactly the configured issuer.", body = Object))
)]
pub async fn discovery_get(State(app): State<AppState>) -> Response {
    cached_json(app.server.discovery_json())
}

#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "oauth2",
    responses((status = 200, description = "RFC 7517 JWK set: the current signing keys and those still verifying.", body = Object))
)]
pub async fn jwks_get(State(app): State<AppState>) -> Response {
    cached_json(app.server.keyring().jwks_json())
}

/// A document serialised beforehand: no copy, static headers.
fn cached_json(body: axum::body::Bytes) -> Response {
    const HEADERS: [(header::HeaderName, HeaderValue); 2] = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        ),
    ];
    (HEADERS, body).into_response()
}

/// RFC 6749 §4.1.1 authorization endpoint (and the returns from login and consent).
#[utoipa::path(
    get,
    path = "/oauth2/auth",
    tag = "oauth2",
    params(
        ("client_id" = String, Query),
        ("redirect_uri" = String, Query, description = "Exactly as registered."),
        ("response_type" = String, Query, description = "`code`."),
        ("scope" = Option<String>, Query, description = "At most 64 distinct scopes in at most 2048 bytes, else `invalid_scope`."),
        ("state" = Option<String>, Query),
        ("code_challenge" = Option<String>, Query, description = "PKCE (RFC 7636); required from every client (RFC 9700 §2.1.1) unless a confidential one is registered with `allow_no_pkce`."),
        ("code_challenge_method" = Option<String>, Query, description = "`S256` only."),
        ("nonce" = Option<String>, Query),
        ("prompt" = Option<String>, Query, description = "`none`, `login` or `consent`."),
        ("max_age" = Option<i64>, Query, description = "Seconds; `0` asks for a login as `prompt=login` does."),
        ("login_hint" = Option<String>, Query),
        ("ui_locales" = Option<String>, Query),
        ("acr_values" = Option<String>, Query, description = "Space-delimited (OIDC Core §3.1.2.1). `urn:oneauth:acr:mfa` asks for a second factor (unless the MFA policy is `off`); unknown values are ignored. The id_token's `acr` says which level the login reached."),
    ),
    responses(
        (status = 303, description = "To the login UI with a `login_challenge`, to consent, or back to the client with `code`, `state` and `iss` (RFC 9207) — or an error per RFC 6749 §4.1.2.1. Errors that must not go to an unverified redirect URI go to the UI's error page (`error`, `code`, `ui_locales`, and `client_id` when the client is registered: the page links back to the origin of its registered redirect URI)."),
    )
)]
pub async fn authorize_get(
    State(app): State<AppState>,
    jar: CookieJar,
    query: Result<OAuthQuery, ApiError>,
) -> Response {
    let params = match query {
        Ok(OAuthQuery(p)) => p,
        Err(ApiError(e)) => return ui_error_redirect(&app, &e, None, None),
    };
    let browser = BrowserContext {
        browser_cookie: jar.get(BROWSER_COOKIE).map(|c| c.value().to_owned()),
        session_cookie: jar
            .get(&app.config.session.cookie_name)
            .map(|c| c.value().to_owned()),
    };
    match app
        .server
        .authorize(&params, &browser, app.clock.now())
        .await
    {
        AuthorizeOutcome::ErrorPage { error, client_id } => ui_error_redirect(
            &app,
            &error,
            client_id.as_deref(),
            params.get("ui_locales").map(String::as_str),
        ),
        AuthorizeOutcome::Redirect {
            location,
            set_browser_cookie,
        } => {
            let jar = match set_browser_cookie {
                Some(value) => jar.add(
                    Cookie::build((BROWSER_COOKIE, value))
                        .path("/")
                        .http_only(true)
                        .secure(app.config.cookies_secure())
                        .same_site(SameSite::Lax)
                        .build(),
                ),
                None => jar,
            };
            (jar, Redirect::to(&location)).into_response()
        }
    }
}

/// Errors that must not go to an unverified redirect URI are shown on
/// the UI's error page.
fn ui_error_redirect(
    app: &AppState,
    e: &Error,
    client_id: Option<&str>,
    ui_locales: Option<&str>,
) -> Response {
    if matches!(e, Error::Internal(_) | Error::Unavailable(_)) {
        tracing::error!(error = ?e, "authorization request failed");
    }
    let code = e.code();
    let mut url = url::Url::parse(&app.server.ui_endpoint("/error")).expect("UI URL is valid");
    url.query_pairs_mut()
        .append_pair("error", code.oauth_error())
        .append_pair("error_description", &e.to_string())
        .append_pair(
            "code",
            &code.number().map(|n| n.to_string()).unwrap_or_default(),
        );
    // The page looks the client up for its way back to the application.
    if let Some(id) = client_id {
        url.query_pairs_mut().append_pair("client_id", id);
    }
    // The error page speaks the language the client asked for.
    if let Some(l) = ui_locales {
        url.query_pairs_mut().append_pair("ui_locales", l);
    }
    Redirect::to(url.as_str()).into_response()
}

/// OIDC Core §5.3 UserInfo.
#[utoipa::path(
    method(get, post),
    path = "/userinfo",
    tag = "oauth2",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OIDC Core §5.3 claims by the token's scopes.", body = Object),
        (status = 401, description = "The bearer token is missing, invalid or not for `openid`.", body = ErrorBody),
    )
)]
pub async fn userinfo(State(app): State<AppState>, Bearer(token): Bearer) -> ApiResult<Response> {
    let claims = app.server.userinfo(&token, app.clock.now()).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(claims)).into_response())
}

#[utoipa::path(
    get,
    path = "/health/alive",
    tag = "health",
    responses((status = 200, description = "`{\"status\": \"ok\"}`", body = Object))
)]
pub async fn alive_get() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Ready: the database answers and its schema is the one this binary
/// expects.
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "health",
    responses(
        (status = 200, description = "The database answers and has this binary's schema.", body = Object),
        (status = 503, description = "The database is down or has another schema version.", body = Object),
    )
)]
pub async fn ready_get(State(app): State<AppState>) -> Response {
    match app.server.ready().await {
        Ok(true) => Json(serde_json::json!({ "status": "ok" })).into_response(),
        Ok(false) => {
            let body = serde_json::json!({ "status": "unavailable", "reason": "database schema differs from this binary's" });
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
        Err(e) => {
            let mut res = ApiError(e).into_response();
            *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            res
        }
    }
}

/// RFC 6749 §3.2 token endpoint; also the guide's `/api/oauth2/token`.
#[utoipa::path(
    post,
    path = "/oauth2/token",
    tag = "oauth2",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    security((), ("client_secret_basic" = [])),
    responses(
        (status = 200, description = "RFC 6749 §5.1 token response.", body = TokenResponse),
        (status = 400, description = "RFC 6749 §5.2 error (`invalid_grant`, `invalid_request`, …).", body = ErrorBody),
        (status = 401, description = "Client authentication failed (`invalid_client`).", body = ErrorBody),
        (status = 429, description = "Rate limited; see `Retry-After`.", body = ErrorBody),
    )
)]
pub async fn token_post(
    State(app): State<AppState>,
    basic: BasicAuth,
    OAuthForm(form): OAuthForm<TokenForm>,
) -> ApiResult<Response> {
    let credentials = basic.credentials(form.client_id.clone(), form.client_secret.clone());
    let client = app
        .server
        .authenticate_token_client(&credentials, app.clock.now())
        .await?;
    let tokens = app.server.token(&client, form, app.clock.now()).await?;
    Ok(no_store(Json(tokens)))
}

pub(crate) fn no_store(body: impl IntoResponse) -> Response {
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        body,
    )
        .into_response()
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    refresh_token: String,
}

/// The guide's `POST /api/oauth/refresh {"refresh_token": …}`. It carries
/// no client credentials, so only public clients' tokens are accepted here;
/// confidential clients refresh at the token endpoint with their secret.
#[utoipa::path(
    post,
    path = "/api/oauth/refresh",
    tag = "guide",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "A new token set; the refresh token rotated.", body = TokenResponse),
        (status = 400, description = "The refresh token is invalid, expired or used (`invalid_grant`).", body = ErrorBody),
        (status = 401, description = "The token belongs to a confidential client, which refreshes at the token endpoint (`invalid_client`).", body = ErrorBody),
        (status = 429, description = "Rate limited; see `Retry-After`.", body = ErrorBody),
    )
)]
pub async fn refresh_post(
    State(app): State<AppState>,
    CookielessJson(body): CookielessJson<RefreshBody>,
) -> ApiResult<Response> {
    let now = app.clock.now();
    let client = app
        .server
        .refresh_token_client(&body.refresh_token, now)
        .await?;
    if !client.is_public() {
        return Err(Error::InvalidClient.into());
    }
    let tokens = app
        .server
        .refresh(&client, &body.refresh_token, None, now)
        .await?;
    Ok(no_store(Json(tokens)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    token: String,
}

/// The guide's `POST /oauth/token/verify`.
#[utoipa::path(
    post,
    path = "/oauth/token/verify",
    tag = "guide",
    request_body = VerifyBody,
    responses((status = 200, description = "`{active: true, sub, exp, iat, scope, client_id, token_type}` for a live access token, `{active: false}` for anything else.", body = TokenStatus))
)]
pub async fn verify_post(
    State(app): State<AppState>,
    CookielessJson(body): CookielessJson<VerifyBody>,
) -> ApiResult<Response> {
    Ok(no_store(Json(
        app.server
            .verify_access_token(&body.token, app.clock.now())
            .await?,
    )))
}

/// RFC 7662 introspection.
#[utoipa::path(
    post,
    path = "/oauth2/introspect",
    tag = "oauth2",
    request_body(content = TokenParamsForm, content_type = "application/x-www-form-urlencoded"),
    security(("client_secret_basic" = [])),
    responses(
        (status = 200, description = "RFC 7662 §2.2.", body = TokenStatus),
        (status = 401, description = "Client authentication failed.", body = ErrorBody),
    )
)]
pub async fn introspect_post(
    State(app): State<AppState>,
    basic: BasicAuth,
    OAuthForm(form): OAuthForm<TokenParamsForm>,
) -> ApiResult<Response> {
    let credentials = basic.credentials(form.client_id, form.client_secret);
    Ok(no_store(Json(
        app.server
            .introspect(
                &credentials,
                form.token.as_deref(),
                form.token_type_hint.as_deref(),
                app.clock.now(),
            )
            .await?,
    )))
}

/// RFC 7009 revocation: 200 with an empty body, also for unknown tokens.
#[utoipa::path(
    post,
    path = "/oauth2/revoke",
    tag = "oauth2",
    request_body(content = TokenParamsForm, content_type = "application/x-www-form-urlencoded"),
    security(("client_secret_basic" = [])),
    responses(
        (status = 200, description = "RFC 7009: revoked, or was not a token of the client's (the same answer)."),
        (status = 401, description = "Client authentication failed.", body = ErrorBody),
    )
)]
pub async fn revoke_post(
    State(app): State<AppState>,
    basic: BasicAuth,
    OAuthForm(form): OAuthForm<TokenParamsForm>,
) -> ApiResult<StatusCode> {
    let credentials = basic.credentials(form.client_id, form.client_secret);
    let client = app.server.authenticate_client(&credentials).await?;
    let token = form
        .token
        .ok_or_else(|| Error::InvalidRequest("token is missing.".into()))?;
    app.server.revoke(&client, &token, app.clock.now()).await?;
    Ok(StatusCode::OK)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutBody {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// The guide's logout step 1: revoke both tokens (and the refresh family).
#[utoipa::path(
    post,
    path = "/api/oauth/logout",
    tag = "guide",
    request_body = LogoutBody,
    responses((status = 200, description = "`{\"revoked\": true}`: both tokens and the refresh token's family are revoked.", body = Object))
)]
pub async fn token_logout_post(
    State(app): State<AppState>,
    CookielessJson(body): CookielessJson<LogoutBody>,
) -> ApiResult<Json<serde_json::Value>> {
    app.server
        .revoke_pair(
            body.access_token.as_deref(),
            body.refresh_token.as_deref(),
            app.clock.now(),
        )
        .await?;
    Ok(Json(serde_json::json!({ "revoked": true })))
}

/// The login session cookie's value, if the browser sent one.
fn session_cookie(app: &AppState, jar: &CookieJar) -> Option<String> {
    jar.get(&app.config.session.cookie_name)
        .map(|c| c.value().to_owned())
}

/// A logout's answer: the session ended, so its cookie is cleared (with the
/// attributes it was set with) and the browser goes on; or the UI asks the
/// user first.
fn logout_answer(app: &AppState, jar: CookieJar, logout: Logout) -> Response {
    match logout {
        Logout::Ended { location } => {
            let jar = jar.remove(oneauth_ui::cookie::session_removal(&app.config));
            (jar, Redirect::to(&location)).into_response()
        }
        Logout::Confirm { location } => Redirect::to(&location).into_response(),
    }
}

#[derive(Deserialize)]
pub struct GuideLogoutQuery {
    post_logout_redirect_uri: Option<String>,
    id_token_hint: Option<String>,
}

/// The guide's logout step 2: end the login session, then go to a
/// registered destination or the logged-out page. Without an
/// `id_token_hint` of the session's user, the user confirms first.
#[utoipa::path(
    get,
    path = "/api/auth/logout",
    tag = "guide",
    params(
        ("post_logout_redirect_uri" = Option<String>, Query, description = "A registered post-logout URI or the origin of a registered redirect URI; anything else leads to the logged-out page (no open redirect)."),
        ("id_token_hint" = Option<String>, Query, description = "An id_token of the session's user: the session ends without asking."),
    ),
    security(("session_cookie" = [])),
    responses(
        (status = 303, description = "With a valid `id_token_hint` of the session's user, or without a live session: the session ended, its cookie is cleared, on to `post_logout_redirect_uri` or the logged-out page. Otherwise (logout CSRF) to the UI's confirmation page `/logout`, which ends the session when the user confirms and then goes on the same way."),
        (status = 400, description = "The query is malformed or repeats a parameter, or `id_token_hint` is not an id_token of this issuer.", body = ErrorBody),
    )
)]
pub async fn session_logout_get(
    State(app): State<AppState>,
    jar: CookieJar,
    ApiQuery(q): ApiQuery<GuideLogoutQuery>,
) -> ApiResult<Response> {
    let logout = app
        .server
        .guide_logout(
            q.post_logout_redirect_uri.as_deref(),
            q.id_token_hint.as_deref(),
            session_cookie(&app, &jar).as_deref(),
            app.clock.now(),
        )
        .await?;
    Ok(logout_answer(&app, jar, logout))
}

/// OIDC RP-Initiated Logout 1.0 (GET or form POST).
#[utoipa::path(
    method(get, post),
    path = "/oauth2/sessions/logout",
    tag = "oauth2",
    params(
        ("id_token_hint" = Option<String>, Query, description = "An id_token we issued (expired ones too); of the session's user, the session ends without asking."),
        ("client_id" = Option<String>, Query),
        ("post_logout_redirect_uri" = Option<String>, Query, description = "Registered for the client."),
        ("state" = Option<String>, Query),
    ),
    responses(
        (status = 303, description = "OIDC RP-Initiated Logout 1.0. With a valid `id_token_hint` of the session's user, or without a live session: the session ended, on to the post-logout URI (with `state`) or the logged-out page. Otherwise (logout CSRF) to the UI's confirmation page `/logout`, which ends the session when the user confirms and then goes on the same way."),
        (status = 400, description = "The hint or URI is invalid, or a parameter is repeated.", body = ErrorBody),
    )
)]
pub async fn end_session(
    State(app): State<AppState>,
    jar: CookieJar,
    req: axum::extract::Request,
) -> ApiResult<Response> {
    let request: EndSessionRequest = if req.method() == axum::http::Method::POST {
        OAuthForm::from_request(req, &app).await?.0
    } else {
        let query = req.uri().query().unwrap_or("");
        crate::extract::form_from(crate::extract::parse_params(query.as_bytes())?)?
    };
    let logout = app
        .server
        .end_session(
            &request,
            session_cookie(&app, &jar).as_deref(),
            app.clock.now(),
        )
        .await?;
    Ok(logout_answer(&app, jar, logout))
}

/// The guide's silent exchange: tokens from the session cookie.
#[utoipa::path(
    post,
    path = "/api/oauth/web/exchange",
    tag = "guide",
    request_body = SilentExchange,
    security(("session_cookie" = [])),
    responses(
        (status = 200, description = "Tokens for the session's user, without a redirect.", body = TokenResponse),
        (status = 400, description = "The client, redirect URI, scope or verifier is wrong.", body = ErrorBody),
        (status = 401, description = "No live session (`login_required`).", body = ErrorBody),
        (status = 403, description = "The `Origin` is not OneAuth's or the client's, or consent is missing.", body = ErrorBody),
    )
)]
pub async fn web_exchange_post(
    State(app): State<AppState>,
    jar: CookieJar,
    RequestOrigin(origin): RequestOrigin,
    ApiJson(body): ApiJson<SilentExchange>,
) -> ApiResult<Response> {
    let (session, identity) = app.session(&jar).await?;
    let tokens = app
        .server
        .silent_exchange(
            &body,
            &session,
            &identity,
            origin.as_deref(),
            app.clock.now(),
        )
        .await?;
    Ok(no_store(Json(tokens)))
}

/// The guide's CLI login.
#[utoipa::path(
    post,
    path = "/oauth/native/cli",
    tag = "guide",
    request_body = NativeLogin,
    responses(
        (status = 200, description = "Tokens for headless tools.", body = TokenResponse),
        (status = 401, description = "`invalid_credentials`, the same for every reason.", body = ErrorBody),
        (status = 400, description = "`unauthorized_client` (4014): the client may not use the CLI login; or the body is malformed.", body = ErrorBody),
        (status = 429, description = "Rate limited; see `Retry-After`.", body = ErrorBody),
    )
)]
pub async fn native_cli_post(
    State(app): State<AppState>,
    Extension(ip): Extension<ClientIp>,
    CookielessJson(body): CookielessJson<NativeLogin>,
) -> ApiResult<Response> {
    let tokens = app
        .server
        .native_login(body, Some(ip.0), app.clock.now())
        .await?;
    Ok(no_store(Json(tokens)))
}
