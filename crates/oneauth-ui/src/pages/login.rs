//! The login page (`/login`): a tab per login method, the password form or
//! a code form in two steps (send, then sign in), social buttons.

use super::{FormCtx, LoginForm, again, context, explain, field, invalid_form, locale};
use crate::landing::logged_in;
use crate::params::{Params, method_name};
use crate::social::{self, SocialButton};
use crate::{Chrome, PageQuery, UiState, csrf, error_page, lang, page, render};
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use oneauth_core::Error;
use serde::Serialize;

type Errors = super::Errors;

#[derive(Serialize)]
struct Tab {
    href: String,
    label: &'static str,
    active: bool,
}

#[derive(Template, Serialize)]
#[template(path = "login.html", blocks = ["title", "head", "content"])]
struct LoginPage<'a> {
    c: Chrome<'a>,
    params: Params,
    csrf_token: String,
    client_name: Option<String>,
    tabs: Vec<Tab>,
    method: &'static str,
    identifier: String,
    code_sent: bool,
    notice: Option<String>,
    error: Option<String>,
    errors: Errors,
    social: Vec<SocialButton>,
    passkey: Option<PasskeySignIn>,
    /// `login_methods=passkey`: no form with fields.
    passkey_only: bool,
}
page!(LoginPage, "login.html");

/// Passkeys (issue 17): the "Sign in with a passkey" button's calls, for
/// `assets/passkey.js`.
#[derive(Serialize)]
struct PasskeySignIn {
    options: String,
    finish: String,
    /// More fields of the finish, as JSON: the login challenge.
    body: String,
    /// Where the browser goes after a login without a challenge.
    done: String,
    /// `default_method=passkey`: above the form.
    first: bool,
}

async fn passkey_sign_in(state: &UiState, params: &Params) -> Option<PasskeySignIn> {
    if !state.identities.passkey_login_enabled() || !params.offers_passkey() {
        return None;
    }
    let api = state.config.issuer.origin().ascii_serialization();
    let done = state
        .server
        .page_after_login(params.return_to.as_deref())
        .await;
    Some(PasskeySignIn {
        options: format!("{api}/api/identity/passkeys/login/options"),
        finish: format!("{api}/api/identity/passkeys/login"),
        body: serde_json::json!({ "login_challenge": params.login_challenge }).to_string(),
        done,
        first: params.passkey_first(),
    })
}

fn tab_label(t: &crate::i18n::Strings, m: &str) -> &'static str {
    match m {
        "email_code" => t.tab_email_code,
        "sms_code" => t.tab_sms_code,
        _ => t.tab_password,
    }
}

#[allow(clippy::too_many_arguments)]
async fn login_page<'a>(
    state: &'a UiState,
    t: &'static crate::i18n::Strings,
    params: Params,
    csrf_token: String,
    client_name: Option<String>,
    asked: Option<&str>,
    identifier: String,
) -> LoginPage<'a> {
    let configured = state.identities.method_names();
    let methods = params.methods(&configured);
    let method = params.active_method(asked, &methods);
    let passkey = passkey_sign_in(state, &params).await;
    let passkey_only = passkey.is_some() && params.passkey_only(&configured);
    let tabs = methods
        .iter()
        .map(|m| Tab {
            href: format!("/login?{}", params.query_with("method", m)),
            label: tab_label(t, m),
            active: *m == method,
        })
        .collect();
    LoginPage {
        c: state.chrome(t, params.popup()),
        social: social::buttons(state, t, &params),
        params,
        csrf_token,
        client_name,
        tabs,
        method,
        identifier,
        code_sent: false,
        notice: None,
        error: None,
        errors: Errors::new(),
        passkey,
        passkey_only,
    }
}

#[derive(serde::Deserialize)]
pub struct LoginQuery {
    #[serde(flatten)]
    params: Params,
    method: Option<String>,
}

pub async fn login_get(
    State(state): State<UiState>,
    PageQuery(q): PageQuery<LoginQuery>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let now = state.clock.now();
    let params = q.params;
    let (t, client_name) = match context(&state, &params, &headers, now).await {
        Ok(v) => v,
        Err(e) => return error_page(state.chrome(lang(&headers, None), false), &e),
    };
    let mut identifier = params.email.clone().unwrap_or_default();
    if let Some(challenge) = &params.login_challenge {
        // A live session that satisfies the request needs no form.
        if let Some(cookie) = jar.get(&state.config.session.cookie_name)
            && let Ok(Some((session, identity))) =
                state.identities.session(cookie.value(), now).await
            && let Ok(to) = state
                .server
                .accept_login(challenge, &session, &identity, now)
                .await
        {
            return (jar, Redirect::to(&to.redirect_to)).into_response();
        }
        if let Ok(req) = state.server.login_request(challenge, None, now).await
            && let Some(hint) = req.login_hint
        {
            identifier = hint;
        }
    }
    let (jar, csrf_token) = csrf::ensure(&state, jar);
    let mut page = login_page(
        &state,
        t,
        params,
        csrf_token,
        client_name,
        q.method.as_deref(),
        identifier,
    )
    .await;
    if page.method == "sms_code" {
        page.identifier = page.params.phone.clone().unwrap_or_default();
    }
    (jar, render(StatusCode::OK, page)).into_response()
}

pub async fn login_post(State(state): State<UiState>, ctx: FormCtx<LoginForm>) -> Response {
    let (now, t, form, jar, params) = (ctx.now, ctx.t, ctx.form, ctx.jar, ctx.params);
    let seen = ctx.seen_from;
    let c = state.chrome(t, params.popup());
    let asked = form.get("method").map(String::as_str);
    let identifier = field(&form, "identifier");
    let mut page = login_page(
        &state,
        t,
        params,
        ctx.csrf_token,
        ctx.client_name,
        asked,
        identifier,
    )
    .await;
    // A method that is not offered here is refused like an unknown one.
    if asked.and_then(method_name) != Some(page.method) {
        page.error = Some(t.wrong_credentials.into());
        return again(jar, &invalid_form(), page);
    }
    let method = page.method;
    let identities = &state.identities;
    if method != "password" && field(&form, "step") == "send" {
        return match identities.begin_login(method, &form, locale(t), now).await {
            Ok(()) => {
                page.code_sent = true;
                page.notice = Some(t.code_sent.into());
                (jar, render(StatusCode::OK, page)).into_response()
            }
            Err(e @ Error::InvalidRequest(_)) => {
                let msg = if method == "email_code" {
                    t.invalid_email
                } else {
                    t.invalid_phone
                };
                page.errors.insert("identifier", msg.into());
                again(jar, &e, page)
            }
            Err(e @ Error::RateLimited { .. }) => {
                // A code is out already: the form for it stays.
                page.code_sent = true;
                page.error = explain(t, &e);
                again(jar, &e, page)
            }
            Err(e) => (jar, error_page(c, &e)).into_response(),
        };
    }
    match identities.authenticate(method, &form, now).await {
        Ok((identity, amr)) => {
            logged_in(&state, jar, c, &page.params, &identity, &[amr], &seen, now).await
        }
        // Malformed input fails like a wrong secret.
        Err(
            e @ (Error::InvalidCredentials | Error::InvalidCode { .. } | Error::InvalidRequest(_)),
        ) => {
            let refused = if method == "password" {
                page.error = Some(t.wrong_credentials.into());
                Error::InvalidCredentials
            } else {
                page.code_sent = true;
                page.errors.insert("code", t.code_refused(&e));
                match e {
                    Error::InvalidCode { .. } => e,
                    _ => Error::INVALID_CODE,
                }
            };
            again(jar, &refused, page)
        }
        Err(e) => (jar, error_page(c, &e)).into_response(),
    }
}
