//! The public listener (:8080): OAuth2/OIDC endpoints and the guide's API.
//! Handlers are a few lines: parse, one call into the authorization server.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, BasicAuth, Bearer, OAuthForm, OAuthQuery, RequestOrigin};
use axum::Extension;
use axum::Json;
use axum::extract::FromRequest as _;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use oneauth_core::Error;
use oneauth_core::net::ClientIp;
use oneauth_oauth2::authorize::{AuthorizeOutcome, BrowserContext};
use oneauth_oauth2::challenge::{ConsentRequest, LoginRequest, RedirectTo};
use oneauth_oauth2::exchange::SilentExchange;
use oneauth_oauth2::logout::EndSessionRequest;
use oneauth_oauth2::native::NativeLogin;
use serde::Deserialize;

/// Binds an authorization flow to the browser that started it.
pub const BROWSER_COOKIE: &str = "oneauth_browser";

pub async fn discovery_get(State(app): State<AppState>) -> Response {
    cached_json(app.server.discovery().to_string())
}

pub async fn jwks_get(State(app): State<AppState>) -> Response {
    cached_json(app.server.keyring().jwks_json().to_owned())
}

fn cached_json(body: String) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        body,
    )
        .into_response()
}

/// RFC 6749 §4.1.1 authorization endpoint (and the returns from login and consent).
pub async fn authorize_get(
    State(app): State<AppState>,
    jar: CookieJar,
    query: Result<OAuthQuery, ApiError>,
) -> Response {
    let params = match query {
        Ok(OAuthQuery(p)) => p,
        Err(ApiError(e)) => return ui_error_redirect(&app, &e, None),
    };
    let browser = BrowserContext {
        browser_cookie: jar.get(BROWSER_COOKIE).map(|c| c.value().to_owned()),
        session_cookie: jar
            .get(&app.server.config.session.cookie_name)
            .map(|c| c.value().to_owned()),
    };
    match app
        .server
        .authorize(&params, &browser, app.clock.now())
        .await
    {
        AuthorizeOutcome::ErrorPage(e) => {
            ui_error_redirect(&app, &e, params.get("ui_locales").map(String::as_str))
        }
        AuthorizeOutcome::Redirect {
            location,
            set_browser_cookie,
        } => {
            let jar = match set_browser_cookie {
                Some(value) => jar.add(
                    Cookie::build((BROWSER_COOKIE, value))
                        .path("/")
                        .http_only(true)
                        .secure(app.server.config.cookies_secure())
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
fn ui_error_redirect(app: &AppState, e: &Error, ui_locales: Option<&str>) -> Response {
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
    // The error page speaks the language the client asked for.
    if let Some(l) = ui_locales {
        url.query_pairs_mut().append_pair("ui_locales", l);
    }
    Redirect::to(url.as_str()).into_response()
}

/// OIDC Core §5.3 UserInfo.
pub async fn userinfo(State(app): State<AppState>, Bearer(token): Bearer) -> ApiResult<Response> {
    let claims = app.server.userinfo(&token, app.clock.now()).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(claims)).into_response())
}

#[derive(Deserialize)]
pub struct LoginChallengeQuery {
    login_challenge: String,
}

#[derive(Deserialize)]
pub struct ConsentChallengeQuery {
    consent_challenge: String,
}

fn challenge_query<T>(
    q: Result<Query<T>, axum::extract::rejection::QueryRejection>,
    name: &str,
) -> ApiResult<T> {
    q.map(|Query(v)| v)
        .map_err(|_| ApiError(Error::InvalidRequest(format!("{name} is missing."))))
}

pub async fn login_request_get(
    State(app): State<AppState>,
    q: Result<Query<LoginChallengeQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<LoginRequest>> {
    let q = challenge_query(q, "login_challenge")?;
    Ok(Json(
        app.server
            .login_request(&q.login_challenge, app.clock.now())
            .await?,
    ))
}

/// Accepts the challenge for the user of the session cookie.
pub async fn login_accept_put(
    State(app): State<AppState>,
    jar: CookieJar,
    q: Result<Query<LoginChallengeQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<RedirectTo>> {
    let q = challenge_query(q, "login_challenge")?;
    let now = app.clock.now();
    let (session, identity) = app.session(&jar).await?;
    Ok(Json(
        app.server
            .accept_login(&q.login_challenge, &session, &identity, now)
            .await?,
    ))
}

pub async fn consent_request_get(
    State(app): State<AppState>,
    q: Result<Query<ConsentChallengeQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<ConsentRequest>> {
    let q = challenge_query(q, "consent_challenge")?;
    Ok(Json(
        app.server
            .consent_request(&q.consent_challenge, app.clock.now())
            .await?,
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ConsentAcceptBody {
    #[serde(default)]
    grant_scope: Option<Vec<String>>,
}

pub async fn consent_accept_put(
    State(app): State<AppState>,
    jar: CookieJar,
    q: Result<Query<ConsentChallengeQuery>, axum::extract::rejection::QueryRejection>,
    body: axum::body::Bytes,
) -> ApiResult<Json<RedirectTo>> {
    let q = challenge_query(q, "consent_challenge")?;
    let body: ConsentAcceptBody = if body.is_empty() {
        ConsentAcceptBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| Error::InvalidRequest(format!("The JSON body is invalid: {e}")))?
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

pub async fn consent_reject_put(
    State(app): State<AppState>,
    jar: CookieJar,
    q: Result<Query<ConsentChallengeQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<RedirectTo>> {
    let q = challenge_query(q, "consent_challenge")?;
    let (_, identity) = app.session(&jar).await?;
    Ok(Json(
        app.server
            .reject_consent(&q.consent_challenge, &identity, app.clock.now())
            .await?,
    ))
}

pub async fn alive_get() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Ready: the database answers and its schema is the one this binary
/// expects.
pub async fn ready_get(State(app): State<AppState>) -> Response {
    let store = &app.server.store;
    let checked = match store.ping().await {
        Ok(()) => store.schema_current().await,
        Err(e) => Err(e),
    };
    match checked {
        Ok(true) => Json(serde_json::json!({ "status": "ok" })).into_response(),
        Ok(false) => {
            let body = serde_json::json!({ "status": "unavailable", "reason": "database schema differs from this binary's" });
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
        Err(e) => {
            let mut res = ApiError(e.into()).into_response();
            *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            res
        }
    }
}

/// Token endpoint rate limit, per client IP.
async fn token_limit(app: &AppState, ip: ClientIp) -> ApiResult<()> {
    Ok(app
        .server
        .limits
        .token_request(Some(ip.0), app.clock.now())
        .await?)
}

/// RFC 6749 §3.2 token endpoint; also the guide's `/api/oauth2/token`.
pub async fn token_post(
    State(app): State<AppState>,
    Extension(ip): Extension<ClientIp>,
    basic: BasicAuth,
    OAuthForm(params): OAuthForm,
) -> ApiResult<Response> {
    token_limit(&app, ip).await?;
    let client = app
        .server
        .authenticate_client(&basic.credentials(&params))
        .await?;
    app.server
        .limits
        .client_request(&client.client_id, app.clock.now())
        .await?;
    let tokens = app.server.token(&client, &params, app.clock.now()).await?;
    Ok(no_store(Json(tokens)))
}

fn no_store(body: impl IntoResponse) -> Response {
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        body,
    )
        .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    refresh_token: String,
}

/// The guide's `POST /api/oauth/refresh {"refresh_token": …}`. It carries
/// no client credentials, so only public clients' tokens are accepted here;
/// confidential clients refresh at the token endpoint with their secret.
pub async fn refresh_post(
    State(app): State<AppState>,
    Extension(ip): Extension<ClientIp>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> ApiResult<Response> {
    token_limit(&app, ip).await?;
    let now = app.clock.now();
    let client = app
        .server
        .refresh_token_client(&body.refresh_token, now)
        .await?;
    if client.token_endpoint_auth_method != "none" {
        return Err(Error::InvalidClient.into());
    }
    let tokens = app
        .server
        .refresh(&client, &body.refresh_token, None, now)
        .await?;
    Ok(no_store(Json(tokens)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    token: String,
}

/// The guide's `POST /oauth/token/verify`.
pub async fn verify_post(
    State(app): State<AppState>,
    ApiJson(body): ApiJson<VerifyBody>,
) -> ApiResult<Response> {
    Ok(no_store(Json(
        app.server
            .verify_access_token(&body.token, app.clock.now())
            .await?,
    )))
}

fn required<'a>(
    params: &'a std::collections::HashMap<String, String>,
    name: &str,
) -> ApiResult<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .ok_or_else(|| ApiError(Error::InvalidRequest(format!("{name} is missing."))))
}

/// RFC 7662 introspection.
pub async fn introspect_post(
    State(app): State<AppState>,
    basic: BasicAuth,
    OAuthForm(params): OAuthForm,
) -> ApiResult<Response> {
    let client = app
        .server
        .authenticate_client(&basic.credentials(&params))
        .await?;
    let token = required(&params, "token")?;
    let hint = params.get("token_type_hint").map(String::as_str);
    Ok(no_store(Json(
        app.server
            .introspect(&client, token, hint, app.clock.now())
            .await?,
    )))
}

/// RFC 7009 revocation: 200 with an empty body, also for unknown tokens.
pub async fn revoke_post(
    State(app): State<AppState>,
    basic: BasicAuth,
    OAuthForm(params): OAuthForm,
) -> ApiResult<StatusCode> {
    let client = app
        .server
        .authenticate_client(&basic.credentials(&params))
        .await?;
    app.server
        .revoke(&client, required(&params, "token")?, app.clock.now())
        .await?;
    Ok(StatusCode::OK)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogoutBody {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// The guide's logout step 1: revoke both tokens (and the refresh family).
pub async fn token_logout_post(
    State(app): State<AppState>,
    ApiJson(body): ApiJson<LogoutBody>,
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

/// Clears the session cookie with the attributes it was set with.
fn clear_session_cookie(app: &AppState, jar: CookieJar) -> CookieJar {
    jar.remove(oneauth_ui::cookie::session_removal(&app.server.config))
}

async fn end_session_and_go(
    app: &AppState,
    jar: CookieJar,
    target: Option<String>,
) -> ApiResult<Response> {
    let cookie = jar
        .get(&app.server.config.session.cookie_name)
        .map(|c| c.value().to_owned());
    app.server
        .end_login_session(cookie.as_deref(), app.clock.now())
        .await?;
    let jar = clear_session_cookie(app, jar);
    let to = target.unwrap_or_else(|| app.server.ui_endpoint("/logged-out"));
    Ok((jar, Redirect::to(&to)).into_response())
}

#[derive(Deserialize)]
pub struct GuideLogoutQuery {
    post_logout_redirect_uri: Option<String>,
}

/// The guide's logout step 2: end the login session, then go to a
/// registered destination or the logged-out page.
pub async fn session_logout_get(
    State(app): State<AppState>,
    jar: CookieJar,
    Query(q): Query<GuideLogoutQuery>,
) -> ApiResult<Response> {
    let target = match &q.post_logout_redirect_uri {
        Some(uri) => app.server.guide_logout_target(uri).await?,
        None => None,
    };
    end_session_and_go(&app, jar, target).await
}

/// OIDC RP-Initiated Logout 1.0 (GET or form POST).
pub async fn end_session(
    State(app): State<AppState>,
    jar: CookieJar,
    req: axum::extract::Request,
) -> ApiResult<Response> {
    let params = if req.method() == axum::http::Method::POST {
        let OAuthForm(p) = OAuthForm::from_request(req, &app).await?;
        p
    } else {
        let q = req.uri().query().unwrap_or("");
        crate::extract::unique_params(
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect(),
        )?
    };
    let request = EndSessionRequest {
        id_token_hint: params.get("id_token_hint").cloned(),
        client_id: params.get("client_id").cloned(),
        post_logout_redirect_uri: params.get("post_logout_redirect_uri").cloned(),
        state: params.get("state").cloned(),
    };
    let target = app.server.end_session_target(&request).await?;
    end_session_and_go(&app, jar, target).await
}

/// The guide's silent exchange: tokens from the session cookie.
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
pub async fn native_cli_post(
    State(app): State<AppState>,
    Extension(ip): Extension<ClientIp>,
    ApiJson(body): ApiJson<NativeLogin>,
) -> ApiResult<Response> {
    let tokens = app
        .server
        .native_login(body, Some(ip.0), app.clock.now())
        .await?;
    Ok(no_store(Json(tokens)))
}
