//! The end of every login in the UI (the pages and social login): the
//! new session's cookie, then on to where
//! [`AuthorizationServer::complete_login`](oneauth_oauth2::AuthorizationServer::complete_login)
//! says — the OAuth2 flow, the popup's opener, or a page.

use crate::params::Params;
use crate::{Chrome, UiState, cookie, error_page, page, render};
use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use oneauth_oauth2::login::Landing;
use oneauth_store::Identity;
use serde::Serialize;
use time::OffsetDateTime;

#[derive(Template, Serialize)]
#[template(path = "popup_done.html", blocks = ["title", "head", "content"])]
struct PopupDone<'a> {
    c: Chrome<'a>,
    target_origin: String,
}
page!(PopupDone, "popup_done.html");

/// After any successful authentication, with the page's parameters
/// (`login_challenge`, `return_to`, popup mode).
pub(crate) async fn logged_in(
    state: &UiState,
    jar: CookieJar,
    c: Chrome<'_>,
    params: &Params,
    identity: &Identity,
    amr: &str,
    now: OffsetDateTime,
) -> Response {
    let config = &state.config;
    let previous = jar.get(&config.session.cookie_name).map(|c| c.value());
    let done = match state
        .server
        .complete_login(
            previous,
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
    let answer = match done.landing {
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
    };
    (jar, answer).into_response()
}
