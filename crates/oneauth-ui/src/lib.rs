//! The login UI (listener :8081): server-rendered login, consent and error
//! pages that work without JavaScript. It is one client of the
//! authorization server's challenge API, in the same process.

mod csrf;
pub mod i18n;

use askama::Template;
use axum::Extension;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use i18n::Strings;
use oneauth_core::net::ClientIp;
use oneauth_core::{Clock, Error};
use oneauth_oauth2::AuthorizationServer;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Clone)]
pub struct UiState {
    pub server: Arc<AuthorizationServer>,
    pub clock: Arc<dyn Clock>,
}

#[derive(rust_embed::RustEmbed)]
#[folder = "assets/"]
struct Assets;

pub fn router(state: UiState) -> Router {
    Router::new()
        .route("/login", get(login_get).post(login_post))
        .route("/consent", get(consent_get).post(consent_post))
        .route("/error", get(error_get))
        .route("/logged-out", get(logged_out_get))
        .route("/assets/{*path}", get(asset_get))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(state)
}

/// Headers on every UI answer: no framing, no sniffing, no referrer (URLs
/// carry challenges), no caching of pages with CSRF tokens.
async fn security_headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut HeaderMap, k: header::HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    res
}

fn lang(headers: &HeaderMap, ui_locales: Option<&str>) -> &'static Strings {
    i18n::pick(
        ui_locales,
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    t: &'a Strings,
    brand: &'a str,
    csrf_token: String,
    client_name: Option<String>,
    login_challenge: Option<String>,
    return_to: Option<String>,
    identifier: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    t: &'a Strings,
    brand: &'a str,
    csrf_token: String,
    client_name: String,
    scopes: Vec<String>,
    consent_challenge: String,
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    t: &'a Strings,
    brand: &'a str,
    heading: &'a str,
    text: String,
    is_error: bool,
    code: Option<String>,
}

const BRAND: &str = "OneAuth";

fn render(status: StatusCode, page: impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

fn error_page(t: &Strings, err: &Error) -> Response {
    if matches!(err, Error::Internal(_) | Error::Unavailable(_)) {
        tracing::error!(error = ?err, "ui request failed");
    }
    let code = err.code();
    let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut res = render(
        status,
        MessagePage {
            t,
            brand: BRAND,
            heading: t.error,
            text: err.to_string(),
            is_error: true,
            code: code.number().map(|n| n.to_string()),
        },
    );
    if let Error::RateLimited { retry_after_secs } = err {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
    }
    res
}

fn session_cookie<'c>(state: &UiState, value: String) -> Cookie<'c> {
    let cfg = &state.server.config;
    let mut c = Cookie::build((cfg.session.cookie_name.clone(), value))
        .path("/")
        .http_only(true)
        .secure(cfg.cookies_secure())
        .same_site(SameSite::Lax)
        .max_age(time::Duration::seconds(cfg.session.lifetime_secs as i64))
        .build();
    if !cfg.session.cookie_domain.is_empty() {
        c.set_domain(cfg.session.cookie_domain.clone());
    }
    c
}

#[derive(Deserialize)]
struct LoginQuery {
    login_challenge: Option<String>,
    return_to: Option<String>,
}

async fn login_get(
    State(state): State<UiState>,
    Query(q): Query<LoginQuery>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let now = state.clock.now();
    let (jar, csrf_token) = csrf::ensure(&state, jar);
    let mut page = LoginPage {
        t: lang(&headers, None),
        brand: BRAND,
        csrf_token,
        client_name: None,
        login_challenge: None,
        return_to: q.return_to,
        identifier: String::new(),
        error: None,
    };
    if let Some(challenge) = q.login_challenge {
        let req = match state.server.login_request(&challenge, now).await {
            Ok(r) => r,
            Err(e) => return error_page(page.t, &e),
        };
        page.t = lang(&headers, req.ui_locales.as_deref());
        // A live session that satisfies the request needs no form.
        if let Some(cookie) = jar.get(&state.server.config.session.cookie_name)
            && let Ok(Some((session, identity))) =
                state.server.identities.session(cookie.value(), now).await
            && let Ok(to) = state
                .server
                .accept_login(&challenge, &session, &identity, now)
                .await
        {
            return (jar, Redirect::to(&to.redirect_to)).into_response();
        }
        page.client_name = Some(req.client.client_name);
        page.identifier = req.login_hint.unwrap_or_default();
        page.login_challenge = Some(challenge);
    }
    (jar, render(StatusCode::OK, page)).into_response()
}

async fn login_post(
    State(state): State<UiState>,
    Extension(ip): Extension<ClientIp>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let now = state.clock.now();
    let field = |k: &str| form.get(k).filter(|v| !v.is_empty()).cloned();
    let mut t = lang(&headers, None);
    if let Some(ch) = field("login_challenge") {
        match state.server.login_request(&ch, now).await {
            Ok(req) => t = lang(&headers, req.ui_locales.as_deref()),
            Err(e) => return error_page(t, &e),
        }
    }
    if !csrf::verify(&state, &jar, form.get("csrf_token").map(String::as_str)) {
        return error_page(t, &Error::CsrfViolation);
    }
    // Limits come before any password work: a flood costs no argon2 time.
    if let Err(e) = state
        .server
        .limits
        .login_attempt(Some(ip.0), &field("identifier").unwrap_or_default(), now)
        .await
    {
        return error_page(t, &e);
    }
    let method = field("method").unwrap_or_else(|| "password".into());
    let identity = match state
        .server
        .identities
        .authenticate(&method, &form, now)
        .await
    {
        Ok((identity, amr)) => (identity, amr),
        Err(e @ (Error::InvalidCredentials | Error::InvalidRequest(_))) => {
            let error = if matches!(e, Error::InvalidCredentials) {
                t.wrong_credentials.to_owned()
            } else {
                e.to_string()
            };
            let (jar, csrf_token) = csrf::ensure(&state, jar);
            let client_name = match field("login_challenge") {
                Some(ch) => state
                    .server
                    .login_request(&ch, now)
                    .await
                    .ok()
                    .map(|r| r.client.client_name),
                None => None,
            };
            let page = LoginPage {
                t,
                brand: BRAND,
                csrf_token,
                client_name,
                login_challenge: field("login_challenge"),
                return_to: field("return_to"),
                identifier: field("identifier").unwrap_or_default(),
                error: Some(error),
            };
            return (jar, render(StatusCode::UNAUTHORIZED, page)).into_response();
        }
        Err(e) => return error_page(t, &e),
    };
    let (identity, amr) = identity;
    // A new session on every login; the one the browser had (if any) ends,
    // so a fixated or stolen old cookie is worth nothing.
    if let Some(old) = jar.get(&state.server.config.session.cookie_name)
        && let Ok(Some((old_session, _))) = state.server.identities.session(old.value(), now).await
        && let Err(e) = state.server.identities.end_session(&old_session, now).await
    {
        return error_page(t, &e);
    }
    let (token, session) = match state
        .server
        .identities
        .start_session(&identity, &[amr], now)
        .await
    {
        Ok(s) => s,
        Err(e) => return error_page(t, &e),
    };
    let jar = jar.add(session_cookie(&state, token));
    if let Some(challenge) = field("login_challenge") {
        return match state
            .server
            .accept_login(&challenge, &session, &identity, now)
            .await
        {
            Ok(to) => (jar, Redirect::to(&to.redirect_to)).into_response(),
            Err(e) => (jar, error_page(t, &e)).into_response(),
        };
    }
    if let Some(to) = field("return_to")
        && state
            .server
            .is_allowed_return_to(&to)
            .await
            .unwrap_or(false)
    {
        return (jar, Redirect::to(&to)).into_response();
    }
    let page = MessagePage {
        t,
        brand: BRAND,
        heading: t.signed_in,
        text: t.signed_in_text.into(),
        is_error: false,
        code: None,
    };
    (jar, render(StatusCode::OK, page)).into_response()
}

#[derive(Deserialize)]
struct ConsentQuery {
    consent_challenge: String,
}

async fn consent_get(
    State(state): State<UiState>,
    Query(q): Query<ConsentQuery>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let now = state.clock.now();
    let req = match state
        .server
        .consent_request(&q.consent_challenge, now)
        .await
    {
        Ok(r) => r,
        Err(e) => return error_page(lang(&headers, None), &e),
    };
    let t = lang(&headers, req.ui_locales.as_deref());
    if current_identity(&state, &jar)
        .await
        .is_none_or(|i| i.id != req.subject)
    {
        return error_page(t, &Error::LoginRequired(t.session_required.into()));
    }
    let (jar, csrf_token) = csrf::ensure(&state, jar);
    let page = ConsentPage {
        t,
        brand: BRAND,
        csrf_token,
        client_name: req.client.client_name,
        scopes: req.requested_scope,
        consent_challenge: q.consent_challenge,
    };
    (jar, render(StatusCode::OK, page)).into_response()
}

async fn consent_post(
    State(state): State<UiState>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let now = state.clock.now();
    let t = lang(&headers, None);
    if !csrf::verify(&state, &jar, form.get("csrf_token").map(String::as_str)) {
        return error_page(t, &Error::CsrfViolation);
    }
    let Some(identity) = current_identity(&state, &jar).await else {
        return error_page(t, &Error::LoginRequired(t.session_required.into()));
    };
    let challenge = form
        .get("consent_challenge")
        .map(String::as_str)
        .unwrap_or_default();
    let result = match form.get("action").map(String::as_str) {
        Some("allow") => {
            state
                .server
                .accept_consent(challenge, &identity, None, now)
                .await
        }
        Some("deny") => state.server.reject_consent(challenge, &identity, now).await,
        _ => Err(Error::InvalidRequest("Choose allow or deny.".into())),
    };
    match result {
        Ok(to) => Redirect::to(&to.redirect_to).into_response(),
        Err(e) => error_page(t, &e),
    }
}

async fn current_identity(state: &UiState, jar: &CookieJar) -> Option<oneauth_store::Identity> {
    let cookie = jar.get(&state.server.config.session.cookie_name)?;
    let now = state.clock.now();
    state
        .server
        .identities
        .session(cookie.value(), now)
        .await
        .ok()
        .flatten()
        .map(|(_, i)| i)
}

#[derive(Deserialize)]
struct ErrorQuery {
    error: Option<String>,
    error_description: Option<String>,
    code: Option<String>,
}

async fn logged_out_get(headers: HeaderMap) -> Response {
    let t = lang(&headers, None);
    render(
        StatusCode::OK,
        MessagePage {
            t,
            brand: BRAND,
            heading: t.logged_out,
            text: t.logged_out_text.into(),
            is_error: false,
            code: None,
        },
    )
}

/// Where the authorization endpoint sends errors it must not redirect.
async fn error_get(Query(q): Query<ErrorQuery>, headers: HeaderMap) -> Response {
    let t = lang(&headers, None);
    let text = q
        .error_description
        .or(q.error)
        .unwrap_or_else(|| t.error.into());
    let code = q
        .code
        .filter(|c| c.len() <= 4 && c.bytes().all(|b| b.is_ascii_digit()));
    render(
        StatusCode::BAD_REQUEST,
        MessagePage {
            t,
            brand: BRAND,
            heading: t.error,
            text,
            is_error: true,
            code,
        },
    )
}

async fn asset_get(axum::extract::Path(path): axum::extract::Path<String>) -> Response {
    match Assets::get(&path) {
        Some(file) => {
            let mime = file.metadata.mimetype().to_owned();
            (
                [
                    (header::CONTENT_TYPE, mime),
                    (header::CACHE_CONTROL, "public, max-age=3600".into()),
                ],
                file.data,
            )
                .into_response()
        }
        None => not_found().await,
    }
}

async fn not_found() -> Response {
    error_page(&i18n::EN, &Error::NotFound("No such page.".into()))
}
