//! The end of every login in the UI (the pages and social login): the
//! new session's cookie, then on to where
//! [`AuthorizationServer::complete_login`](oneauth_oauth2::AuthorizationServer::complete_login)
//! says — the OAuth2 flow, the popup's opener, or a page.

use crate::params::Params;
use crate::{Chrome, UiState, cookie, error_page, page, render};
use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::{Extensions, HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use oneauth_core::Error;
use oneauth_core::net::ClientIp;
use oneauth_oauth2::login::{Landing, LoginFrom};
use oneauth_store::{Identity, SeenFrom};
use serde::Serialize;
use time::OffsetDateTime;

#[derive(Template, Serialize)]
#[template(path = "popup_done.html", blocks = ["title", "head", "content"])]
struct PopupDone<'a> {
    c: Chrome<'a>,
    target_origin: String,
}
page!(PopupDone, "popup_done.html");

/// What the server saw of the browser a request came from, for the
/// session a login starts: its `User-Agent` (the first
/// [`MAX_USER_AGENT`] bytes) and its IP ([`ClientIp`]).
pub struct Seen(pub SeenFrom);

/// Longer agents are cut: the list shows a device and a browser, not
/// whatever a client chose to send.
const MAX_USER_AGENT: usize = 512;

impl Seen {
    pub fn from_parts(headers: &HeaderMap, extensions: &Extensions) -> Self {
        let user_agent = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(MAX_USER_AGENT).collect());
        let ip = extensions.get::<ClientIp>().map(|ip| ip.0.to_string());
        Self(SeenFrom { user_agent, ip })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Seen {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(&parts.headers, &parts.extensions))
    }
}

/// After any successful authentication, with the page's parameters
/// (`login_challenge`, `return_to`, popup mode) and what was seen of the
/// browser.
#[allow(clippy::too_many_arguments)] // the login's parts, each used once
pub(crate) async fn logged_in(
    state: &UiState,
    jar: CookieJar,
    c: Chrome<'_>,
    params: &Params,
    identity: &Identity,
    amr: &[&str],
    seen_from: &SeenFrom,
    now: OffsetDateTime,
) -> Response {
    let config = &state.config;
    let previous = jar.get(&config.session.cookie_name).map(|c| c.value());
    let done = match state
        .server
        .complete_login(
            LoginFrom {
                previous,
                seen_from,
            },
            identity,
            amr,
            params.login_challenge.as_deref(),
            params.return_to.as_deref(),
            now,
        )
        .await
    {
        Ok(done) => done,
        Err(e) => return error_page(c, &e),
    };
    let jar = jar.add(cookie::session(config, done.session_token));
    (jar, land(c, params, done.landing)).into_response()
}

/// Where a completed login (or second factor) goes on.
pub(crate) fn land(c: Chrome<'_>, params: &Params, landing: Result<Landing, Error>) -> Response {
    match landing {
        Ok(Landing::SecondFactor) => {
            Redirect::to(&format!("/login/second-factor?{}", params.query())).into_response()
        }
        Ok(Landing::Flow { redirect_to }) => Redirect::to(&redirect_to).into_response(),
        Ok(Landing::Page { opener_origin, .. }) if params.popup() => render(
            StatusCode::OK,
            PopupDone {
                c,
                target_origin: opener_origin,
            },
        ),
        Ok(Landing::Page { to, .. }) => Redirect::to(&to).into_response(),
        Err(e) => error_page(c, &e),
    }
}
