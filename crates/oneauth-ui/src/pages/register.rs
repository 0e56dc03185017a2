//! The sign-up page (`/register`): the fields the client app asked for
//! (`verify_method`, `require_username`, `require_name`,
//! `confirm_password`), each problem beside its field, then the
//! verification page for the addresses to prove.

use super::verification::VerificationPage;
use super::{
    FormCtx, RegisterForm, again, context, explain, field, invalid_form, locale, weakness,
};
use crate::i18n::Strings;
use crate::params::Params;
use crate::social::{self, SocialButton};
use crate::{Chrome, PageQuery, UiState, csrf, error_page, lang, page, render};
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use oneauth_core::Error;
use oneauth_identity::{Field, FormRules, Invalid, Problem, Registration, VerifyMethod};
use serde::Serialize;

type Errors = super::Errors;

#[derive(Template, Serialize)]
#[template(path = "register.html", blocks = ["title", "head", "content"])]
struct RegisterPage<'a> {
    c: Chrome<'a>,
    params: Params,
    csrf_token: String,
    ask_email: bool,
    need_email: bool,
    ask_phone: bool,
    need_phone: bool,
    ask_username: bool,
    ask_name: bool,
    ask_confirm: bool,
    email: String,
    phone: String,
    username: String,
    name: String,
    password_hint: String,
    error: Option<String>,
    errors: Errors,
    social: Vec<SocialButton>,
}
page!(RegisterPage, "register.html");

fn verify_method(params: &Params) -> Option<VerifyMethod> {
    params
        .verify_method
        .as_deref()
        .and_then(VerifyMethod::parse)
}

fn register_page<'a>(
    state: &'a UiState,
    t: &'static crate::i18n::Strings,
    params: Params,
    csrf_token: String,
) -> RegisterPage<'a> {
    let v = verify_method(&params);
    let need_email = matches!(v, None | Some(VerifyMethod::Email | VerifyMethod::Both));
    let need_phone = matches!(v, Some(VerifyMethod::Phone | VerifyMethod::Both));
    RegisterPage {
        c: state.chrome(t, params.popup()),
        social: social::buttons(state, t, &params),
        csrf_token,
        ask_email: need_email || params.email.is_some(),
        need_email,
        ask_phone: need_phone || params.phone.is_some(),
        need_phone,
        ask_username: params.require_username(),
        ask_name: params.require_name(),
        ask_confirm: params.confirm_password(),
        email: params.email.clone().unwrap_or_default(),
        phone: params.phone.clone().unwrap_or_default(),
        username: String::new(),
        name: String::new(),
        password_hint: t.password_hint_for(state.config.password.min_length),
        params,
        error: None,
        errors: Errors::new(),
    }
}

pub async fn register_get(
    State(state): State<UiState>,
    PageQuery(params): PageQuery<Params>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let now = state.clock.now();
    let (t, _) = match context(&state, &params, &headers, now).await {
        Ok(v) => v,
        Err(e) => return error_page(state.chrome(lang(&headers, None), false), &e),
    };
    let (jar, csrf_token) = csrf::ensure(&state, jar);
    let page = register_page(&state, t, params, csrf_token);
    (jar, render(StatusCode::OK, page)).into_response()
}

/// The form field of a problem, and its words.
fn problem_words(t: &Strings, i: &Invalid) -> (&'static str, String) {
    let name = match i.field {
        Field::Email => "reg_email",
        Field::Phone => "reg_phone",
        Field::Username => "reg_username",
        Field::Name => "reg_name",
        Field::Password => "reg_password",
        Field::Confirmation => "reg_confirm",
    };
    let words = match (i.field, i.problem) {
        (Field::Confirmation, _) => t.passwords_differ.into(),
        (_, Problem::Weak(w)) => weakness(t, w),
        (_, Problem::Missing) => t.field_required.into(),
        (Field::Phone, _) => t.invalid_phone.into(),
        (Field::Username, _) => t.invalid_username.into(),
        _ => t.invalid_email.into(),
    };
    (name, words)
}

pub async fn register_post(State(state): State<UiState>, ctx: FormCtx<RegisterForm>) -> Response {
    let (now, t, form, jar, params) = (ctx.now, ctx.t, ctx.form, ctx.jar, ctx.params);
    let c = state.chrome(t, params.popup());
    let mut page = register_page(&state, t, params.clone(), ctx.csrf_token);
    page.email = field(&form, "reg_email");
    page.phone = field(&form, "reg_phone");
    page.username = field(&form, "reg_username");
    page.name = field(&form, "reg_name");
    let reg = Registration {
        email: Some(page.email.clone()),
        phone: Some(page.phone.clone()),
        username: page.ask_username.then(|| page.username.clone()),
        name: page.ask_name.then(|| page.name.clone()),
        password: form.get("reg_password").cloned().unwrap_or_default(),
        // The page asks for an email unless told otherwise.
        verify: Some(verify_method(&params).unwrap_or(VerifyMethod::Email)),
    };
    let rules = FormRules {
        confirm_password: page.ask_confirm,
        require_username: page.ask_username,
        require_name: page.ask_name,
    };
    let confirmation = form
        .get("reg_confirm")
        .filter(|_| page.ask_confirm)
        .map(String::as_str);
    // Each field's own error beside it, all at once.
    for invalid in reg.problems(rules, confirmation, state.identities.policy()) {
        let (name, words) = problem_words(t, &invalid);
        page.errors.entry(name).or_insert(words);
    }
    if !page.errors.is_empty() {
        return again(jar, &invalid_form(), page);
    }
    match state.identities.register(reg, locale(t), now).await {
        Ok(signup) => {
            let jar = jar.add(crate::cookie::signup(&state.config, signup.proof));
            let page =
                VerificationPage::for_addresses(c, params, page.csrf_token, &signup.verify, true);
            (jar, render(StatusCode::OK, page)).into_response()
        }
        Err(e @ Error::AlreadyExists(_)) => {
            page.errors
                .insert("reg_username", explain(t, &e).unwrap_or_default());
            again(jar, &e, page)
        }
        Err(e) => match explain(t, &e) {
            Some(msg) => {
                page.error = Some(msg);
                // A sign-up refused for any reason a person can act on is
                // a form to correct (a send budget's wait too: 400).
                again(jar, &invalid_form(), page)
            }
            None => (jar, error_page(c, &e)).into_response(),
        },
    }
}
