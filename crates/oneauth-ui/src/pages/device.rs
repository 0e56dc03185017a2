//! The device page (RFC 8628 §3.3): the user enters, or arrives with, the
//! code a device shows; signs in with any login method on the login page,
//! which comes back here by `return_to`; sees the client, the scopes and
//! the code again; and allows or denies. What a code means, how guesses are
//! limited and what an answer does are the authorization server's
//! (`oneauth_oauth2::grant::device_code`).

use super::settings::signed_in;
use super::{FormClass, FormCtx, again};
use crate::{Chrome, MessagePage, PageQuery, UiState, csrf, error_page, lang, page, render};
use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use oneauth_core::Error;
use oneauth_core::net::ClientIp;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Template, Serialize)]
#[template(path = "device.html", blocks = ["title", "head", "content"])]
struct DevicePage<'a> {
    c: Chrome<'a>,
    csrf_token: String,
    user_code: String,
    error: Option<&'a str>,
    /// Set once the code is known and the user signed in: the question.
    client_name: Option<String>,
    scopes: Vec<String>,
}
page!(DevicePage, "device.html");

#[derive(Deserialize)]
pub struct DeviceQuery {
    user_code: Option<String>,
}

/// The code form; with `?user_code=` (the form's own GET, or a device's
/// `verification_uri_complete`), the question for a signed-in user, else
/// the login page first.
pub async fn device_get(
    State(state): State<UiState>,
    PageQuery(q): PageQuery<DeviceQuery>,
    Extension(ip): Extension<ClientIp>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let t = lang(&headers, None);
    let c = state.chrome(t, false);
    let Some(raw) = q.user_code.filter(|code| !code.trim().is_empty()) else {
        return entry(&state, c, jar, String::new(), None);
    };
    let now = state.clock.now();
    // The code is checked before the login, so a mistyped one is said at
    // once; each check counts against the address's guesses.
    let req = match state.server.device_request(&raw, Some(ip.0), now).await {
        Ok(req) => req,
        Err(e) => return refused(&state, c, jar, raw, &e),
    };
    if signed_in(&state, &jar).await.is_none() {
        return Redirect::to(&login_then_back(&state, "/login", &req.user_code)).into_response();
    }
    let (jar, csrf_token) = csrf::ensure(&state, jar);
    let page = DevicePage {
        c,
        csrf_token,
        user_code: req.user_code,
        error: None,
        client_name: Some(req.client.client_name),
        scopes: req
            .scope
            .iter()
            .map(|s| t.scope(s).map_or_else(|| s.clone(), str::to_owned))
            .collect(),
    };
    (jar, render(StatusCode::OK, page)).into_response()
}

/// `POST /device`: the answer. The user-code guess is charged by the
/// authorization server, not as a login attempt.
pub struct DeviceForm;

impl FormClass for DeviceForm {
    const FROM_LOGIN_REQUEST: bool = false;
    fn attempt(_: &HashMap<String, String>) -> Option<String> {
        None
    }
}

/// The answer: `action` is `allow` or `deny`.
pub async fn device_post(
    State(state): State<UiState>,
    Extension(ip): Extension<ClientIp>,
    ctx: FormCtx<DeviceForm>,
) -> Response {
    let c = state.chrome(ctx.t, false);
    let user_code = ctx.form.get("user_code").cloned().unwrap_or_default();
    let Some((session, identity)) = signed_in(&state, &ctx.jar).await else {
        return Redirect::to(&login_then_back(&state, "/login", &user_code)).into_response();
    };
    let approve = match ctx.form.get("action").map(String::as_str) {
        Some("allow") => true,
        Some("deny") => false,
        _ => return error_page(c, &Error::InvalidRequest("Choose allow or deny.".into())),
    };
    let answered = state
        .server
        .answer_device(
            &user_code,
            Some(ip.0),
            approve,
            (&session, &identity),
            ctx.now,
        )
        .await;
    if let Err(Error::SecondFactorRequired) = answered {
        // The device's client demands a second factor: prove one on top
        // of this session, then answer again.
        let step_up = login_then_back(&state, "/login/second-factor", &user_code);
        return Redirect::to(&step_up).into_response();
    }
    if let Err(e) = answered {
        return refused(&state, c, ctx.jar, user_code, &e);
    }
    let t = ctx.t;
    let (heading, text) = if approve {
        (t.device_approved, t.device_approved_text)
    } else {
        (t.device_denied, t.device_denied_text)
    };
    render(
        StatusCode::OK,
        MessagePage {
            c,
            heading,
            text: text.into(),
            is_error: false,
            code: None,
            request_id: None,
            way_on: None,
        },
    )
}

/// The code form: empty, or with what was typed and the wrong code's
/// words and status ([`again`]).
fn entry(
    state: &UiState,
    c: Chrome<'_>,
    jar: CookieJar,
    user_code: String,
    wrong: Option<&Error>,
) -> Response {
    let (jar, csrf_token) = csrf::ensure(state, jar);
    let page = DevicePage {
        c,
        csrf_token,
        user_code,
        error: wrong.map(|_| c.t.wrong_user_code),
        client_name: None,
        scopes: vec![],
    };
    match wrong {
        Some(e) => again(jar, e, page),
        None => (jar, render(StatusCode::OK, page)).into_response(),
    }
}

/// A wrong code goes back to the form; anything else (too many wrong
/// codes, the store down) is the error page.
fn refused(state: &UiState, c: Chrome<'_>, jar: CookieJar, raw: String, e: &Error) -> Response {
    match e {
        Error::InvalidUserCode => entry(state, c, jar, raw, Some(e)),
        e => error_page(c, e),
    }
}

/// The login page, coming back to the question for this code.
/// The UI page `page` (the login, or the second-factor step), coming back
/// to this device's page.
fn login_then_back(state: &UiState, page: &str, user_code: &str) -> String {
    let mut back = url::Url::parse(&state.server.ui_endpoint("/device")).expect("UI URL is valid");
    back.query_pairs_mut().append_pair("user_code", user_code);
    let mut login = url::Url::parse(&state.server.ui_endpoint(page)).expect("UI URL is valid");
    login
        .query_pairs_mut()
        .append_pair("return_to", back.as_str());
    login.into()
}
