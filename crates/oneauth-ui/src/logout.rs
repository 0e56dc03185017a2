//! The logout confirmation page (`/logout`). A logout URL is a plain GET
//! any site can send a browser to (logout CSRF), so a logout request that
//! does not prove it comes from the session's own app (a valid
//! `id_token_hint`) ends here, and the session ends only when the user
//! confirms with this CSRF-protected form. The settings page's sign-out
//! button posts the same form. Where the browser goes after is the
//! authorization server's sealed `target` (see `oneauth_oauth2::logout`).

use crate::{Chrome, PageQuery, UiState, cookie, csrf, error_page, lang, page, render};
use askama::Template;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use oneauth_core::Error;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Template, Serialize)]
#[template(path = "logout.html", blocks = ["title", "head", "content"])]
struct LogoutPage<'a> {
    c: Chrome<'a>,
    csrf_token: String,
    /// Posted back as it came: the sealed destination.
    target: Option<String>,
}
page!(LogoutPage, "logout.html");

#[derive(Deserialize)]
pub struct LogoutQuery {
    target: Option<String>,
}

/// Asks before signing out. Without a live session there is nothing to
/// end: on to the destination at once.
pub async fn logout_get(
    State(state): State<UiState>,
    PageQuery(q): PageQuery<LogoutQuery>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    // Any session, one still waiting for its second factor too: signing
    // out ends it as well.
    let now = state.clock.now();
    let live = match jar.get(&state.config.session.cookie_name) {
        Some(c) => state
            .identities
            .any_session(c.value(), now)
            .await
            .ok()
            .flatten(),
        None => None,
    };
    if live.is_none() {
        let to = state.server.logout_destination(q.target.as_deref(), now);
        return Redirect::to(&to).into_response();
    }
    let (jar, csrf_token) = csrf::ensure(&state, jar);
    let page = LogoutPage {
        c: state.chrome(lang(&headers, None), false),
        csrf_token,
        target: q.target,
    };
    (jar, render(StatusCode::OK, page)).into_response()
}

/// The user confirmed: end the session, clear its cookie, go on.
pub async fn logout_post(
    State(state): State<UiState>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let c = state.chrome(lang(&headers, None), false);
    if !csrf::verify(&state, &jar, form.get("csrf_token").map(String::as_str)) {
        return error_page(c, &Error::CsrfViolation);
    }
    let config = &state.config;
    let session = jar
        .get(&config.session.cookie_name)
        .map(|c| c.value().to_owned());
    let ended = state
        .server
        .confirm_logout(
            form.get("target").map(String::as_str),
            session.as_deref(),
            state.clock.now(),
        )
        .await;
    match ended {
        Ok(to) => (
            jar.remove(cookie::session_removal(config)),
            Redirect::to(&to),
        )
            .into_response(),
        Err(e) => error_page(c, &e),
    }
}
