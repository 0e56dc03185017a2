//! The recovery page (`/recovery`): a code to a verified address, then a
//! new password with it, which is also a login.

use super::{FormCtx, RecoveryForm, again, field, invalid_form, send_code, weakness};
use crate::landing::logged_in;
use crate::params::Params;
use crate::{Chrome, PageQuery, UiState, csrf, error_page, lang, page, render};
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use oneauth_core::Error;
use oneauth_identity::ProofCode;
use oneauth_identity::identifier::Address;
use serde::Serialize;

type Errors = super::Errors;

#[derive(Template, Serialize)]
#[template(path = "recovery.html", blocks = ["title", "head", "content"])]
struct RecoveryPage<'a> {
    c: Chrome<'a>,
    params: Params,
    csrf_token: String,
    address: String,
    code_sent: bool,
    password_hint: String,
    notice: Option<String>,
    error: Option<String>,
    errors: Errors,
}
page!(RecoveryPage, "recovery.html");

fn recovery_page<'a>(
    state: &'a UiState,
    t: &'static crate::i18n::Strings,
    params: Params,
    csrf_token: String,
) -> RecoveryPage<'a> {
    RecoveryPage {
        c: state.chrome(t, params.popup()),
        address: params
            .email
            .clone()
            .or(params.phone.clone())
            .unwrap_or_default(),
        params,
        csrf_token,
        code_sent: false,
        password_hint: t.password_hint_for(state.config.password.min_length),
        notice: None,
        error: None,
        errors: Errors::new(),
    }
}

pub async fn recovery_get(
    State(state): State<UiState>,
    PageQuery(params): PageQuery<Params>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let t = lang(&headers, params.ui_locales.as_deref());
    let (jar, csrf_token) = csrf::ensure(&state, jar);
    let page = recovery_page(&state, t, params, csrf_token);
    (jar, render(StatusCode::OK, page)).into_response()
}

pub async fn recovery_post(State(state): State<UiState>, ctx: FormCtx<RecoveryForm>) -> Response {
    let (now, t, form, jar, params) = (ctx.now, ctx.t, ctx.form, ctx.jar, ctx.params);
    let seen = ctx.seen_from;
    let c = state.chrome(t, params.popup());
    let mut page = recovery_page(&state, t, params.clone(), ctx.csrf_token);
    page.address = field(&form, "address");
    let Ok(address) = Address::parse(&page.address) else {
        page.errors.insert("address", t.invalid_email.into());
        return again(jar, &invalid_form(), page);
    };
    if field(&form, "step") != "reset" {
        if let Err(e) = send_code(&state, ProofCode::Recovery, &address, t, now).await {
            return (jar, error_page(c, &e)).into_response();
        }
        page.code_sent = true;
        page.notice = Some(t.code_sent.into());
        return (jar, render(StatusCode::OK, page)).into_response();
    }
    page.code_sent = true;
    let ids = &state.identities;
    let new_password = form.get("new_password").cloned().unwrap_or_default();
    if let Some(w) = ids.policy().check(&new_password, &[address.as_str()]) {
        page.errors.insert("new_password", weakness(t, w));
        return again(jar, &invalid_form(), page);
    }
    let code = field(&form, "code");
    match ids.recover(&address, &code, &new_password, now).await {
        Ok(identity) => logged_in(&state, jar, c, &params, &identity, &["otp"], &seen, now).await,
        Err(e @ Error::InvalidCode { .. }) => {
            page.errors.insert("code", t.code_refused(&e));
            again(jar, &e, page)
        }
        Err(e) => (jar, error_page(c, &e)).into_response(),
    }
}
