//! The login UI (listener :8081): server-rendered login, registration,
//! verification, recovery, settings, consent and error pages that work
//! without JavaScript (popup mode adds one small external script). It is one
//! client of the authorization server and the identity service, in the same
//! process.

pub mod cookie;
mod csrf;
pub mod i18n;
mod landing;
mod logout;
mod pages;
pub mod params;
pub mod social;
pub mod theme;

use askama::Template;
use axum::Router;
use axum::extract::{Form, FromRequestParts, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use i18n::Strings;
pub use landing::Seen;
use oneauth_core::{Clock, Config, Error};
use oneauth_crypto::SystemKeys;
use oneauth_identity::Identities;
use oneauth_identity::limit::Limits;
use oneauth_oauth2::AuthorizationServer;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
pub use theme::Theme;

/// What the UI's handlers use: the services themselves (see `AppState` of
/// `oneauth-http`), and the system keys for the CSRF tokens.
#[derive(Clone)]
pub struct UiState {
    pub server: Arc<AuthorizationServer>,
    pub identities: Arc<Identities>,
    pub limits: Arc<Limits>,
    pub config: Arc<Config>,
    pub system_keys: Arc<SystemKeys>,
    pub clock: Arc<dyn Clock>,
    /// The operator's overrides from `ui.templates_dir`.
    pub theme: Arc<Theme>,
}

#[derive(rust_embed::RustEmbed)]
#[folder = "assets/"]
struct Assets;

pub fn router(state: UiState) -> Router {
    Router::new()
        .route("/login", get(pages::login_get).post(pages::login_post))
        .route(
            "/login/second-factor",
            get(pages::second_factor_get).post(pages::second_factor_post),
        )
        .route(
            "/register",
            get(pages::register_get).post(pages::register_post),
        )
        .route(
            "/verification",
            get(pages::verification_get).post(pages::verification_post),
        )
        .route(
            "/recovery",
            get(pages::recovery_get).post(pages::recovery_post),
        )
        .route("/settings", get(pages::settings_get))
        .route("/settings/profile", post(pages::settings_profile_post))
        .route("/settings/password", post(pages::settings_password_post))
        .route(
            "/settings/sessions/end",
            post(pages::settings_session_end_post),
        )
        .route(
            "/settings/sessions/end-others",
            post(pages::settings_other_sessions_end_post),
        )
        // TOTP and recovery codes (issue 17).
        .route("/settings/totp", post(pages::settings_totp_post))
        .route(
            "/settings/totp/confirm",
            post(pages::settings_totp_confirm_post),
        )
        .route(
            "/settings/totp/remove",
            post(pages::settings_totp_remove_post),
        )
        .route(
            "/settings/recovery-codes",
            post(pages::settings_recovery_codes_post),
        )
        .route("/social/{provider}/start", get(social::social_start_get))
        .route(
            "/social/{provider}/callback",
            get(social::social_callback_get),
        )
        .route("/assets/brand.css", get(brand_css_get))
        .route("/consent", get(consent_get).post(consent_post))
        .route("/device", get(pages::device_get).post(pages::device_post))
        .route("/error", get(error_get))
        .route("/logged-out", get(logged_out_get))
        .route("/logout", get(logout::logout_get).post(logout::logout_post))
        .route("/assets/{*path}", get(asset_get))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .with_state(state)
}

/// Scripts only from our own assets (popup mode's postMessage), never
/// inline. No form-action: browsers apply it to the redirects after a login
/// POST, which go on to the client's redirect URI. Images from https (the
/// operator's logo may be anywhere).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; frame-ancestors 'none'; base-uri 'none'";

/// [`CSP`] with images from `img_src` (origins) only, for the consent page.
fn csp_with_images(img_src: &[String]) -> String {
    CSP.replace("https:", &img_src.join(" "))
}

tokio::task_local! {
    /// The request's `x-request-id` (set by the HTTP layer) while its
    /// handler runs, so that every error page shows it, wherever in a flow
    /// it is rendered.
    static REQUEST_ID: Option<String>;
}

/// The `x-request-id` of the request being answered, for support.
fn request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok().flatten()
}

/// [`CSP`] with fetches allowed to the public listener only: the passkey
/// pages call the identity JSON API there (`assets/passkey.js`).
fn csp_with_api(issuer: &url::Url) -> String {
    format!(
        "{CSP}; connect-src {}",
        issuer.origin().ascii_serialization()
    )
}

/// Headers on every UI answer: no framing, no sniffing, no referrer (URLs
/// carry challenges), no caching of pages with CSRF tokens.
async fn security_headers(
    State(state): State<UiState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut res = REQUEST_ID.scope(id, next.run(req)).await;
    let h = res.headers_mut();
    let set = |h: &mut HeaderMap, k: header::HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    // A page that loads images of its own sets a narrower policy (consent).
    if !h.contains_key(header::CONTENT_SECURITY_POLICY)
        && let Ok(v) = HeaderValue::from_str(&csp_with_api(&state.config.issuer))
    {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    res
}

/// A page's query parameters. A malformed query, or a parameter given
/// twice, shows the error page (`invalid_request`), not axum's plain text.
pub struct PageQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequestParts<UiState> for PageQuery<T> {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &UiState,
    ) -> Result<Self, Self::Rejection> {
        Query::try_from_uri(&parts.uri)
            .map(|Query(v)| Self(v))
            .map_err(|e| {
                let c = state.chrome(lang(&parts.headers, None), false);
                error_page(c, &Error::InvalidRequest(e.body_text()))
            })
    }
}

fn lang(headers: &HeaderMap, ui_locales: Option<&str>) -> &'static Strings {
    i18n::pick(
        ui_locales,
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

/// What every page's frame shows: language, brand, layout; and the
/// overrides, so that [`render`] finds them from any page.
#[derive(Clone, Copy, Serialize)]
pub(crate) struct Chrome<'a> {
    pub t: &'static Strings,
    pub brand: &'a str,
    pub logo: &'a str,
    pub popup: bool,
    #[serde(skip)]
    pub theme: &'a Theme,
}

/// A page: its askama template and the file name an operator's template
/// replaces it with (docs/ui-templates.md lists each page's context).
pub(crate) trait Page: Template + Serialize {
    const FILE: &'static str;
    fn chrome(&self) -> Chrome<'_>;
    /// The `title`, `head` and `content` blocks, for an operator's
    /// `base.html` around the built-in page.
    fn blocks(&self) -> askama::Result<[String; 3]>;
}

/// Implements [`Page`] for a page struct whose template is
/// `#[template(path = $file, blocks = ["title", "head", "content"])]` and
/// whose frame is its field `c`.
macro_rules! page {
    ($page:ident, $file:literal) => {
        impl crate::Page for $page<'_> {
            const FILE: &'static str = $file;
            fn chrome(&self) -> crate::Chrome<'_> {
                self.c
            }
            fn blocks(&self) -> askama::Result<[String; 3]> {
                Ok([
                    self.as_title().render()?,
                    self.as_head().render()?,
                    self.as_content().render()?,
                ])
            }
        }
    };
}
pub(crate) use page;

impl UiState {
    pub(crate) fn chrome(&self, t: &'static Strings, popup: bool) -> Chrome<'_> {
        let ui = &self.config.ui;
        Chrome {
            t,
            brand: &ui.brand_name,
            logo: &ui.logo_url,
            popup,
            theme: &self.theme,
        }
    }
}

#[derive(Template, Serialize)]
#[template(path = "consent.html", blocks = ["title", "head", "content"])]
struct ConsentPage<'a> {
    c: Chrome<'a>,
    csrf_token: String,
    client_name: String,
    /// Host of the redirect URI; empty for a native app's own scheme.
    client_domain: String,
    logo_uri: Option<String>,
    policy_uri: Option<String>,
    tos_uri: Option<String>,
    client_uri: Option<String>,
    scopes: Vec<String>,
    consent_challenge: String,
}
page!(ConsentPage, "consent.html");

#[derive(Template, Serialize)]
#[template(path = "message.html", blocks = ["title", "head", "content"])]
pub(crate) struct MessagePage<'a> {
    pub c: Chrome<'a>,
    pub heading: &'a str,
    pub text: String,
    pub is_error: bool,
    pub code: Option<String>,
    /// The request's `x-request-id`, for support.
    pub request_id: Option<String>,
    /// Where to go from an error page.
    pub way_on: Option<Link<'a>>,
}
page!(MessagePage, "message.html");

#[derive(Serialize)]
pub(crate) struct Link<'a> {
    pub href: String,
    pub label: &'a str,
}

/// Renders `page`: the operator's template when there is one, else the
/// built-in. A failing override is logged and answered with the built-in
/// error page (not the override's, which may be what failed).
pub(crate) fn render<P: Page>(status: StatusCode, page: P) -> Response {
    let html = match page.chrome().theme.render(&page) {
        Some(overridden) => overridden,
        None => page.render().map_err(Error::internal),
    };
    match html {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(page = P::FILE, error = ?e, "page failed to render");
            let (status, page) = error_message(page.chrome(), &e);
            match page.render() {
                Ok(html) => (status, Html(html)).into_response(),
                Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response(),
            }
        }
    }
}

pub(crate) fn error_page(c: Chrome<'_>, err: &Error) -> Response {
    if matches!(err, Error::Internal(_) | Error::Unavailable(_)) {
        tracing::error!(error = ?err, "ui request failed");
    }
    let (status, page) = error_message(c, err);
    let mut res = render(status, page);
    if let Error::RateLimited { retry_after_secs } = err {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
    }
    res
}

/// The one status of an error on every page: its code's (400 for what a
/// form got wrong, 401 for a wrong secret or code, 429 for a limit, …).
pub(crate) fn status_of(err: &Error) -> StatusCode {
    StatusCode::from_u16(err.code().http_status()).unwrap_or(StatusCode::BAD_REQUEST)
}

/// The error page for `err`, in the page's language.
fn error_message<'a>(c: Chrome<'a>, err: &Error) -> (StatusCode, MessagePage<'a>) {
    let code = err.code();
    let status = status_of(err);
    let text = match err {
        Error::CsrfViolation => c.t.csrf_failed.to_owned(),
        Error::RateLimited { .. } => c.t.too_many_attempts.to_owned(),
        // The server's own description, in English as it is written.
        e if c.t.lang == "en" => e.to_string(),
        e => format!("{}（{e}）", c.t.error_text(code.number())),
    };
    let page = MessagePage {
        c,
        heading: c.t.error,
        text,
        is_error: true,
        code: code.number().map(|n| n.to_string()),
        request_id: request_id(),
        // Inside a flow the page does not know where the person came from
        // (only the authorization endpoint's errors do, see `error_get`):
        // signing in again is always a way on.
        way_on: Some(Link {
            href: "/login".into(),
            label: c.t.back_to_sign_in,
        }),
    };
    (status, page)
}

/// The accent colour from `ui.brand_color` (validated at start-up), as a
/// stylesheet: no inline style is needed, so the CSP stays strict.
async fn brand_css_get(State(state): State<UiState>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8".to_owned()),
            (header::CACHE_CONTROL, "public, max-age=300".to_owned()),
        ],
        format!(":root {{ --brand: {}; }}\n", state.config.ui.brand_color),
    )
        .into_response()
}

#[derive(Deserialize)]
struct ConsentQuery {
    consent_challenge: String,
}

async fn consent_get(
    State(state): State<UiState>,
    PageQuery(q): PageQuery<ConsentQuery>,
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
        Err(e) => return error_page(state.chrome(lang(&headers, None), false), &e),
    };
    let t = lang(&headers, req.ui_locales.as_deref());
    let c = state.chrome(t, false);
    if current_identity(&state, &jar)
        .await
        .is_none_or(|i| i.id != req.subject)
    {
        return error_page(c, &Error::LoginRequired(t.session_required.into()));
    }
    let (jar, csrf_token) = csrf::ensure(&state, jar);
    // The client's logo and the operator's, and no other image.
    let images: Vec<String> = [req.client.logo_uri.as_deref(), Some(c.logo)]
        .into_iter()
        .flatten()
        .filter_map(https_origin)
        .collect();
    let client = req.client;
    let page = ConsentPage {
        c,
        csrf_token,
        client_name: client.client_name,
        client_domain: req.redirect_host,
        logo_uri: client.logo_uri,
        policy_uri: client.policy_uri,
        tos_uri: client.tos_uri,
        client_uri: client.client_uri,
        scopes: req
            .requested_scope
            .iter()
            .map(|s| t.scope(s).map_or_else(|| s.clone(), str::to_owned))
            .collect(),
        consent_challenge: q.consent_challenge,
    };
    let csp = csp_with_images(&images);
    let mut res = (jar, render(StatusCode::OK, page)).into_response();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// The origin of an absolute https URL; `None` for anything else (a
/// relative logo path is `'self'` already).
fn https_origin(uri: &str) -> Option<String> {
    let u = url::Url::parse(uri).ok()?;
    (u.scheme() == "https").then(|| u.origin().ascii_serialization())
}

async fn consent_post(
    State(state): State<UiState>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let now = state.clock.now();
    let t = lang(&headers, None);
    let c = state.chrome(t, false);
    if !csrf::verify(&state, &jar, form.get("csrf_token").map(String::as_str)) {
        return error_page(c, &Error::CsrfViolation);
    }
    let Some(identity) = current_identity(&state, &jar).await else {
        return error_page(c, &Error::LoginRequired(t.session_required.into()));
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
        Err(e) => error_page(c, &e),
    }
}

pub(crate) async fn current_identity(
    state: &UiState,
    jar: &CookieJar,
) -> Option<oneauth_store::Identity> {
    let cookie = jar.get(&state.config.session.cookie_name)?;
    let now = state.clock.now();
    state
        .identities
        .session(cookie.value(), now)
        .await
        .ok()
        .flatten()
        .map(|(_, i)| i)
}

#[derive(Deserialize)]
struct ErrorQuery {
    code: Option<String>,
    /// A registered client (the authorization endpoint verified it): the
    /// way on leads back to it.
    client_id: Option<String>,
    ui_locales: Option<String>,
}

async fn logged_out_get(State(state): State<UiState>, headers: HeaderMap) -> Response {
    let t = lang(&headers, None);
    render(
        StatusCode::OK,
        MessagePage {
            c: state.chrome(t, false),
            heading: t.logged_out,
            text: t.logged_out_text.into(),
            is_error: false,
            code: None,
            request_id: None,
            way_on: None,
        },
    )
}

/// Where the authorization endpoint sends errors it must not redirect:
/// the error in plain words by its code (never the URL's own text, which
/// anyone can write), the request id for support, and a way on: back to
/// the client's registered origin, else to the login page.
async fn error_get(
    State(state): State<UiState>,
    PageQuery(q): PageQuery<ErrorQuery>,
    headers: HeaderMap,
) -> Response {
    let t = lang(&headers, q.ui_locales.as_deref());
    let code = q
        .code
        .filter(|c| c.len() <= 4 && c.bytes().all(|b| b.is_ascii_digit()));
    let home = match q.client_id.as_deref() {
        Some(id) => match state.server.client_home(id).await {
            Ok(home) => home,
            Err(e) => return error_page(state.chrome(t, false), &e),
        },
        None => None,
    };
    let way_on = match home {
        Some(href) => Link {
            href,
            label: t.back_to_app,
        },
        None => Link {
            href: "/login".into(),
            label: t.back_to_sign_in,
        },
    };
    render(
        StatusCode::BAD_REQUEST,
        MessagePage {
            c: state.chrome(t, false),
            heading: t.error,
            text: t
                .error_text(code.as_deref().and_then(|c| c.parse().ok()))
                .into(),
            is_error: true,
            code,
            request_id: request_id(),
            way_on: Some(way_on),
        },
    )
}

async fn asset_get(
    State(state): State<UiState>,
    axum::extract::Path(path): axum::extract::Path<String>,
) -> Response {
    if let Some(file) = state.theme.asset(&path) {
        return (
            [
                (header::CONTENT_TYPE, file.mime.clone()),
                (header::CACHE_CONTROL, "public, max-age=3600".into()),
            ],
            file.data.clone(),
        )
            .into_response();
    }
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
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

async fn not_found(State(state): State<UiState>) -> Response {
    error_page(
        state.chrome(&i18n::EN, false),
        &Error::NotFound("No such page.".into()),
    )
}
