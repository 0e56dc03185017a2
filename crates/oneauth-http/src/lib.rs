//! The HTTP layer: the public and admin routers, extractors, the error
//! mapping, request logging and CORS. Protocol logic lives below, in
//! `oneauth-oauth2` and `oneauth-identity`.

pub mod admin;
pub mod device;
pub mod error;
pub mod extract;
pub mod guard;
pub mod identity;
pub mod limit;
pub mod metrics;
pub mod miniprogram;
pub mod openapi;
// TOTP and recovery codes (issue 17).
// Passkeys (issue 17).
pub mod passkeys;
pub mod public;
pub mod second_factor;
pub mod totp;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, Method, header};
use axum::routing::{get, post, put};
use axum_extra::extract::CookieJar;
use error::ApiError;
use oneauth_core::{Clock, Config, Error};
use oneauth_identity::Identities;
use oneauth_identity::limit::Limits;
use oneauth_oauth2::{AuthorizationServer, CrossOrigin};
use oneauth_store::{Identity, Session};
use std::sync::Arc;
use tower_http::cors::{AllowCredentials, AllowOrigin, CorsLayer};

/// What the public and admin handlers use: the services themselves, so a
/// handler names the one it calls (no reaching through the authorization
/// server into its parts).
#[derive(Clone)]
pub struct AppState {
    pub server: Arc<AuthorizationServer>,
    pub identities: Arc<Identities>,
    pub limits: Arc<Limits>,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
}

impl AppState {
    /// The live session of the request's session cookie.
    pub async fn session(&self, jar: &CookieJar) -> Result<(Session, Identity), ApiError> {
        let cookie = jar
            .get(&self.config.session.cookie_name)
            .ok_or_else(|| Error::LoginRequired("No login session.".into()))?;
        self.identities
            .session(cookie.value(), self.clock.now())
            .await?
            .ok_or_else(|| {
                ApiError(Error::LoginRequired(
                    "The login session is invalid or has ended.".into(),
                ))
            })
    }
}

/// Every public route. Discovery's endpoints must all be here (tested).
pub fn public_router(app: AppState) -> Router {
    let body_limit = app.config.body_limit_bytes;
    let mut router = Router::new();
    for (path, methods) in identity::routes() {
        router = router.route(path, methods);
    }
    router
        .route(
            "/.well-known/openid-configuration",
            get(public::discovery_get),
        )
        .route("/.well-known/jwks.json", get(public::jwks_get))
        .route("/oauth2/auth", get(public::authorize_get))
        .route(
            "/oauth2/token",
            limit::token_requests(&app, post(public::token_post)),
        )
        .route(
            "/oauth2/device/auth",
            limit::token_requests(&app, post(device::device_authorization_post)),
        )
        .route(
            "/api/oauth2/token",
            limit::token_requests(&app, post(public::token_post)),
        )
        .route("/oauth2/introspect", post(public::introspect_post))
        .route("/oauth2/revoke", post(public::revoke_post))
        .route(
            "/oauth2/sessions/logout",
            get(public::end_session).post(public::end_session),
        )
        .route(
            "/api/oauth/refresh",
            limit::token_requests(&app, post(public::refresh_post)),
        )
        .route("/oauth/token/verify", post(public::verify_post))
        .route("/api/oauth/logout", post(public::token_logout_post))
        .route("/api/auth/logout", get(public::session_logout_get))
        .route("/api/oauth/web/exchange", post(public::web_exchange_post))
        .route("/oauth/native/cli", post(public::native_cli_post))
        .route(
            "/api/oauth/miniprogram/login",
            limit::token_requests(&app, post(miniprogram::miniprogram_login_post)),
        )
        .route(
            "/api/oauth/miniprogram/phone",
            // Each binding spends the platform's quota: the token endpoint's limit.
            limit::token_requests(&app, post(miniprogram::miniprogram_phone_post)),
        )
        .route("/userinfo", get(public::userinfo).post(public::userinfo))
        .route("/api/hydra/login", get(public::login_request_get))
        .route("/api/hydra/login/accept", put(public::login_accept_put))
        .route("/api/hydra/consent", get(public::consent_request_get))
        .route("/api/hydra/consent/accept", put(public::consent_accept_put))
        .route("/api/hydra/consent/reject", put(public::consent_reject_put))
        .route("/health/alive", get(public::alive_get))
        .route("/health/ready", get(public::ready_get))
        .route("/api/openapi.json", get(openapi::openapi_get))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(cors(app.clone()))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(app)
}

pub fn admin_router(app: AppState) -> Router {
    use axum::routing::get as g;
    let body_limit = app.config.body_limit_bytes;
    Router::new()
        .route(
            "/admin/clients",
            g(admin::clients_get).post(admin::clients_post),
        )
        .route(
            "/admin/clients/{id}",
            g(admin::client_get)
                .put(admin::client_put)
                .delete(admin::client_delete),
        )
        .route(
            "/admin/identities",
            g(admin::identities_get).post(admin::identities_post),
        )
        .route(
            "/admin/identities/{id}",
            g(admin::identity_get)
                .patch(admin::identity_patch)
                .delete(admin::identity_delete),
        )
        .route("/health/alive", get(public::alive_get))
        .route("/health/ready", get(public::ready_get))
        .route("/metrics", get(metrics::metrics_get))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            admin::require_token,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(app)
}

/// Which kind of endpoint a public path is, for CORS. Any path not named
/// here (a new route too) is [`CrossOrigin::Account`], the strictest.
fn cross_origin_kind(path: &str) -> CrossOrigin {
    match path {
        "/api/oauth/web/exchange" => CrossOrigin::SilentExchange,
        "/oauth2/token"
        | "/oauth2/device/auth"
        | "/api/oauth2/token"
        | "/api/oauth/refresh"
        | "/oauth/token/verify"
        | "/api/oauth/logout"
        | "/oauth2/introspect"
        | "/oauth2/revoke"
        | "/userinfo"
        | "/.well-known/openid-configuration"
        | "/.well-known/jwks.json" => CrossOrigin::Tokens,
        _ => CrossOrigin::Account,
    }
}

/// Browsers may call the public API cross-origin as
/// [`AuthorizationServer::allows_cross_origin`] says per kind of endpoint:
/// with the session cookie only from OneAuth's own and first-party origins
/// (and the silent exchange from client origins); the token endpoints
/// from client origins too, without credentials.
fn cors(app: AppState) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::async_predicate(
            move |origin: HeaderValue, parts: &axum::http::request::Parts| {
                let app = app.clone();
                let kind = cross_origin_kind(parts.uri.path());
                async move {
                    let Ok(origin) = origin.to_str() else {
                        return false;
                    };
                    app.server
                        .allows_cross_origin(origin, kind)
                        .await
                        .unwrap_or(false)
                }
            },
        ))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .allow_credentials(AllowCredentials::predicate(|_, parts| {
            cross_origin_kind(parts.uri.path()).with_credentials()
        }))
        .max_age(std::time::Duration::from_secs(600))
}

async fn not_found() -> ApiError {
    ApiError(Error::NotFound("No such endpoint.".into()))
}

async fn method_not_allowed() -> ApiError {
    ApiError(Error::MethodNotAllowed)
}

/// What [`request_context`] needs, the same for the three listeners.
pub struct ListenerContext {
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub limits: guard::RequestLimits,
}

impl ListenerContext {
    pub fn new(config: &oneauth_core::Config) -> Self {
        Self {
            trusted_proxies: config.trusted_proxies.clone(),
            limits: guard::RequestLimits::new(config),
        }
    }
}

/// The outermost layer of every route: decides the client address once
/// per request (the peer, or what trusted proxies report) for rate limits
/// and logs, gives the request an id, applies the body and time limits
/// ([`guard`]), and writes one log line and the request metrics. The path
/// only is logged, never the query (it carries codes and challenges) nor
/// any header value. One layer instead of several: each `from_fn` layer
/// costs a service clone and a boxed future per request.
pub async fn request_context(
    State(ctx): State<Arc<ListenerContext>>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let ip = oneauth_core::net::client_ip(peer, forwarded, &ctx.trusted_proxies);
    req.extensions_mut().insert(oneauth_core::net::ClientIp(ip));
    let id = req
        .headers()
        .get("x-request-id")
        .filter(|v| {
            v.len() <= 64
                && v.as_bytes()
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .cloned()
        .unwrap_or_else(|| {
            // A v4 UUID from the thread's CSPRNG: `new_v4` costs a
            // getrandom(2) system call per request.
            let uuid = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
            let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
            HeaderValue::from_str(uuid.hyphenated().encode_lower(&mut text))
                .expect("a UUID is a valid header value")
        });
    let method = req.method().clone();
    // Cheap clones (shared buffers), kept past `next.run`.
    let uri = req.uri().clone();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .cloned();
    req.headers_mut().insert("x-request-id", id.clone());
    let started = std::time::Instant::now();
    let mut res = ctx.limits.run(req, next).await;
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    metrics::record_request(
        route.as_ref().map_or("unmatched", |m| m.as_str()),
        method.as_str(),
        status,
        elapsed.as_secs_f64(),
    );
    tracing::info!(
        request_id = %id.to_str().unwrap_or_default(),
        method = %method,
        path = %uri.path(),
        status,
        micros = elapsed.as_micros() as u64,
        "request"
    );
    res.headers_mut().insert("x-request-id", id);
    res
}
