//! Rate limits where a request enters, by route class (the limits
//! themselves, per class, are one table: `oneauth_limit::Class`). No
//! handler calls the limits.
//!
//! - Token requests (the token endpoint and the guide's refresh): per
//!   client IP, a layer on their routes ([`token_requests`]), before the
//!   client is authenticated or the body read.
//! - Login attempts: the identity API's requests that guess a password or
//!   code, send a code or sign up name the identifier they spend an attempt
//!   on (one table, [`LoginAttempt`]); their extractors ([`Attempt`],
//!   [`SignedInAttempt`]) charge it (`Limits::login_attempt`: per client
//!   IP, per identifier and per account) before any hashing or sending.
//!   The login pages do the same in their form extractor, and the CLI
//!   login inside its domain operation.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::ApiJson;
use axum::extract::{FromRequest, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use axum::routing::MethodRouter;
use axum_extra::extract::CookieJar;
use oneauth_core::net::ClientIp;
use oneauth_proto::identity::{
    AddressRequest, CodeLoginRequest, LoginCodeSendRequest, PasswordLoginRequest, RecoveryRequest,
    RegistrationRequest, VerificationRequest,
};
use oneauth_store::{Identity, Session};
use serde::de::DeserializeOwned;

/// A request that spends a login attempt: a password or code guess, a
/// code sent, a sign-up. Which identifier it spends it on.
pub trait LoginAttempt {
    fn identifier(&self) -> &str;
}

/// The identity API's route classes that spend login attempts, in one
/// table: each request type names the identifier it is counted on.
macro_rules! login_attempts {
    ($($request:ty => |$r:ident| $identifier:expr;)*) => {$(
        impl LoginAttempt for $request {
            fn identifier(&self) -> &str {
                let $r = self;
                $identifier
            }
        }
    )*};
}

login_attempts! {
    RegistrationRequest => |r| r.email.as_deref().or(r.phone.as_deref()).unwrap_or("");
    PasswordLoginRequest => |r| &r.identifier;
    LoginCodeSendRequest => |r| &r.identifier;
    CodeLoginRequest => |r| &r.identifier;
    AddressRequest => |r| &r.address;
    VerificationRequest => |r| &r.address;
    RecoveryRequest => |r| &r.address;
}

/// The JSON body of a [`LoginAttempt`], charged to the limits
/// (`Limits::login_attempt`: per client IP, per identifier and per
/// account) once it parsed and before any hashing or sending.
pub struct Attempt<T>(pub T);

impl<T: LoginAttempt + DeserializeOwned + Send> FromRequest<AppState> for Attempt<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, app: &AppState) -> Result<Self, ApiError> {
        let ip = req.extensions().get::<ClientIp>().map(|ip| ip.0);
        let ApiJson(body) = ApiJson::<T>::from_request(req, app).await?;
        let now = app.clock.now();
        app.limits.login_attempt(ip, body.identifier(), now).await?;
        Ok(Self(body))
    }
}

/// A signed-in request whose JSON body guesses a secret of the account
/// (the current password): charged as a login attempt on the identity.
pub struct SignedInAttempt<T> {
    pub session: Session,
    pub identity: Identity,
    pub body: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for SignedInAttempt<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, app: &AppState) -> Result<Self, ApiError> {
        let ip = req.extensions().get::<ClientIp>().map(|ip| ip.0);
        let jar = CookieJar::from_headers(req.headers());
        let ApiJson(body) = ApiJson::<T>::from_request(req, app).await?;
        let (session, identity) = app.session(&jar).await?;
        let now = app.clock.now();
        app.limits.login_attempt(ip, &identity.id, now).await?;
        Ok(Self {
            session,
            identity,
            body,
        })
    }
}

/// `route` limited as a token request: per client IP.
pub fn token_requests(app: &AppState, route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    route.route_layer(axum::middleware::from_fn_with_state(
        app.clone(),
        count_token_request,
    ))
}

async fn count_token_request(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let ip = req.extensions().get::<ClientIp>().map(|ip| ip.0);
    let limits = &app.limits;
    match limits.token_request(ip, app.clock.now()).await {
        Ok(()) => next.run(req).await,
        Err(e) => ApiError(e).into_response(),
    }
}
