//! The public listener (:8080): OAuth2/OIDC endpoints and the guide's API.
//! Handlers are a few lines: parse, one call into the authorization server.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{BasicAuth, Bearer, OAuthForm, OAuthQuery};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use oneauth_core::Error;
use oneauth_oauth2::authorize::{AuthorizeOutcome, BrowserContext};
use oneauth_oauth2::challenge::{ConsentRequest, LoginRequest, RedirectTo};
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
        Err(ApiError(e)) => return ui_error_redirect(&app, &e),
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
        AuthorizeOutcome::ErrorPage(e) => ui_error_redirect(&app, &e),
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
fn ui_error_redirect(app: &AppState, e: &Error) -> Response {
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
    Redirect::to(url.as_str()).into_response()
}

/// RFC 6749 §3.2 token endpoint; also the guide's `/api/oauth2/token`.
pub async fn token_post(
    State(app): State<AppState>,
    basic: BasicAuth,
    OAuthForm(params): OAuthForm,
) -> ApiResult<Response> {
    let client = app
        .server
        .authenticate_client(&basic.credentials(&params))
        .await?;
    let tokens = app.server.token(&client, &params, app.clock.now()).await?;
    Ok((
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(tokens),
    )
        .into_response())
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

pub async fn ready_get(State(app): State<AppState>) -> Response {
    match app.server.store.ping().await {
        Ok(()) => Json(serde_json::json!({ "status": "ok" })).into_response(),
        Err(e) => {
            let mut res = ApiError(e.into()).into_response();
            *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            res
        }
    }
}
