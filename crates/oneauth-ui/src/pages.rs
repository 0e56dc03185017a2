//! Login, registration, verification, recovery and settings pages. Every
//! handler is parse → one call into `identities` or the authorization
//! server → render; every word comes from the catalog; every POST checks
//! the CSRF token first.

use crate::params::{Params, method_name};
use crate::social::{self, SocialButton};
use crate::{
    Chrome, MessagePage, PageQuery, UiState, cookie, csrf, error_page, lang, page, render,
};
use askama::Template;
use axum::Extension;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use oneauth_core::Error;
use oneauth_core::net::ClientIp;
use oneauth_identity::identifier::Address;
use oneauth_identity::policy::Weakness;
use oneauth_identity::{Locale, Registration, VerifyMethod};
use oneauth_store::{Identity, Session};
use serde::Serialize;
use std::collections::HashMap;
use time::OffsetDateTime;

type Errors = HashMap<&'static str, String>;

fn form_params(form: &HashMap<String, String>) -> Params {
    let get = |k: &str| form.get(k).filter(|v| !v.is_empty()).cloned();
    Params {
        login_challenge: get("login_challenge"),
        return_to: get("return_to"),
        login_methods: get("login_methods"),
        enable_social: get("enable_social"),
        default_method: get("default_method"),
        mode: get("mode"),
        verify_method: get("verify_method"),
        confirm_password: get("confirm_password"),
        require_username: get("require_username"),
        require_name: get("require_name"),
        email: get("email"),
        phone: get("phone"),
        ui_locales: get("ui_locales"),
    }
}

fn field(form: &HashMap<String, String>, k: &str) -> String {
    form.get(k).map(|v| v.trim().to_owned()).unwrap_or_default()
}

/// The page language: `ui_locales` of the page, else of the OAuth2
/// request, else `Accept-Language`; and the client's name for the heading.
async fn context(
    state: &UiState,
    params: &Params,
    headers: &HeaderMap,
    now: OffsetDateTime,
) -> Result<(&'static crate::i18n::Strings, Option<String>), Error> {
    let mut locales = params.ui_locales.clone();
    let mut client = None;
    if let Some(ch) = &params.login_challenge {
        let req = state.server.login_request(ch, now).await?;
        locales = locales.or(req.ui_locales);
        client = Some(req.client.client_name);
    }
    Ok((lang(headers, locales.as_deref()), client))
}

fn locale(t: &crate::i18n::Strings) -> Locale {
    Locale::from_tag(t.lang)
}

fn weakness(t: &crate::i18n::Strings, w: Weakness) -> String {
    match w {
        Weakness::TooShort { .. } => t.password_too_short.into(),
        Weakness::Common => t.password_common.into(),
        Weakness::SameAsIdentifier => t.password_is_identifier.into(),
    }
}

/// Words for an error a person can act on; `None` for the others, which
/// get the error page.
fn explain(t: &crate::i18n::Strings, e: &Error) -> Option<String> {
    Some(match e {
        Error::InvalidCode => t.wrong_code.into(),
        Error::RateLimited { .. } => t.wait_before_resend.into(),
        Error::AlreadyExists(_) => t.username_taken.into(),
        Error::WeakPassword(_) => t.password_common.into(),
        Error::InvalidRequest(m) => m.clone(),
        _ => return None,
    })
}

// ------------------------------------------------------------------ login

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
}
page!(LoginPage, "login.html");

fn tab_label(t: &crate::i18n::Strings, m: &str) -> &'static str {
    match m {
        "email_code" => t.tab_email_code,
        "sms_code" => t.tab_sms_code,
        _ => t.tab_password,
    }
}

#[allow(clippy::too_many_arguments)]
fn login_page<'a>(
    state: &'a UiState,
    t: &'static crate::i18n::Strings,
    params: Params,
    csrf_token: String,
    client_name: Option<String>,
    asked: Option<&str>,
    identifier: String,
) -> LoginPage<'a> {
    let methods = params.methods(&state.server.identities.method_names());
    let method = params.active_method(asked, &methods);
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
        if let Some(cookie) = jar.get(&state.server.config.session.cookie_name)
            && let Ok(Some((session, identity))) =
                state.server.identities.session(cookie.value(), now).await
            && let Ok(to) = state
                .server
                .accept_login(challenge, &session, &identity, now)
                .await
        {
            return (jar, Redirect::to(&to.redirect_to)).into_response();
        }
        if let Ok(req) = state.server.login_request(challenge, now).await
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
    );
    if page.method == "sms_code" {
        page.identifier = page.params.phone.clone().unwrap_or_default();
    }
    (jar, render(StatusCode::OK, page)).into_response()
}

pub async fn login_post(
    State(state): State<UiState>,
    Extension(ip): Extension<ClientIp>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let now = state.clock.now();
    let params = form_params(&form);
    let (t, client_name) = match context(&state, &params, &headers, now).await {
        Ok(v) => v,
        Err(e) => return error_page(state.chrome(lang(&headers, None), params.popup()), &e),
    };
    let c = state.chrome(t, params.popup());
    if !csrf::verify(&state, &jar, form.get("csrf_token").map(String::as_str)) {
        return error_page(c, &Error::CsrfViolation);
    }
    let identifier = field(&form, "identifier");
    // Limits come before any password or code work.
    if let Err(e) = state
        .server
        .limits
        .login_attempt(Some(ip.0), &identifier, now)
        .await
    {
        return error_page(c, &e);
    }
    let asked = form.get("method").map(String::as_str);
    let (jar, csrf_token) = csrf::ensure(&state, jar);
    let mut page = login_page(
        &state,
        t,
        params,
        csrf_token,
        client_name,
        asked,
        identifier.clone(),
    );
    // A method that is not offered here is refused like an unknown one.
    if asked.and_then(method_name) != Some(page.method) {
        page.error = Some(t.wrong_credentials.into());
        return (jar, render(StatusCode::BAD_REQUEST, page)).into_response();
    }
    let method = page.method;
    let identities = &state.server.identities;
    if method != "password" && field(&form, "step") == "send" {
        let result = identities.begin_login(method, &form, locale(t), now).await;
        let status = match result {
            Ok(()) => {
                page.code_sent = true;
                page.notice = Some(t.code_sent.into());
                StatusCode::OK
            }
            Err(Error::InvalidRequest(_)) => {
                let msg = if method == "email_code" {
                    t.invalid_email
                } else {
                    t.invalid_phone
                };
                page.errors.insert("identifier", msg.into());
                StatusCode::BAD_REQUEST
            }
            Err(e @ Error::RateLimited { .. }) => {
                // A code is out already: the form for it stays.
                page.code_sent = true;
                page.error = explain(t, &e);
                StatusCode::TOO_MANY_REQUESTS
            }
            Err(e) => return (jar, error_page(c, &e)).into_response(),
        };
        return (jar, render(status, page)).into_response();
    }
    match identities.authenticate(method, &form, now).await {
        Ok((identity, amr)) => {
            let target = page.params;
            finish_login(&state, jar, c, &target, &identity, amr, now).await
        }
        Err(Error::InvalidCredentials | Error::InvalidCode | Error::InvalidRequest(_)) => {
            if method == "password" {
                page.error = Some(t.wrong_credentials.into());
            } else {
                page.code_sent = true;
                page.errors.insert("code", t.wrong_code.into());
            }
            (jar, render(StatusCode::UNAUTHORIZED, page)).into_response()
        }
        Err(e) => (jar, error_page(c, &e)).into_response(),
    }
}

/// After any successful authentication: a new session (the old one ends,
/// so a fixated cookie is worth nothing), then on to the OAuth2 flow, the
/// popup's opener, an allowed `return_to`, or the default page.
pub(crate) async fn finish_login(
    state: &UiState,
    jar: CookieJar,
    c: Chrome<'_>,
    params: &Params,
    identity: &Identity,
    amr: &str,
    now: OffsetDateTime,
) -> Response {
    let config = &state.server.config;
    let previous = jar
        .get(&config.session.cookie_name)
        .map(|c| c.value().to_owned());
    let (token, session) = match state
        .server
        .identities
        .log_in(previous.as_deref(), identity, &[amr], now)
        .await
    {
        Ok(s) => s,
        Err(e) => return error_page(c, &e),
    };
    let jar = jar.add(cookie::session(config, token));
    if let Some(challenge) = &params.login_challenge {
        return match state
            .server
            .accept_login(challenge, &session, identity, now)
            .await
        {
            Ok(to) => (jar, Redirect::to(&to.redirect_to)).into_response(),
            Err(e) => (jar, error_page(c, &e)).into_response(),
        };
    }
    let allowed = match &params.return_to {
        Some(to) => state.server.allowed_return_to(to).await.unwrap_or(None),
        None => None,
    };
    if params.popup() {
        let target_origin = allowed
            .as_deref()
            .and_then(|u| url::Url::parse(u).ok())
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        return (jar, render(StatusCode::OK, PopupDone { c, target_origin })).into_response();
    }
    let to = allowed.unwrap_or_else(|| default_target(state));
    (jar, Redirect::to(&to)).into_response()
}

fn default_target(state: &UiState) -> String {
    let cfg = &state.server.config.ui;
    if cfg.default_return_to.is_empty() {
        state.server.ui_endpoint("/settings")
    } else {
        cfg.default_return_to.clone()
    }
}

#[derive(Template, Serialize)]
#[template(path = "popup_done.html", blocks = ["title", "head", "content"])]
struct PopupDone<'a> {
    c: Chrome<'a>,
    target_origin: String,
}
page!(PopupDone, "popup_done.html");

// ------------------------------------------------------------ registration

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
        password_hint: t.password_hint_for(state.server.config.password.min_length),
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

pub async fn register_post(
    State(state): State<UiState>,
    Extension(ip): Extension<ClientIp>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let now = state.clock.now();
    let params = form_params(&form);
    let (t, _) = match context(&state, &params, &headers, now).await {
        Ok(v) => v,
        Err(e) => return error_page(state.chrome(lang(&headers, None), params.popup()), &e),
    };
    let c = state.chrome(t, params.popup());
    if !csrf::verify(&state, &jar, form.get("csrf_token").map(String::as_str)) {
        return error_page(c, &Error::CsrfViolation);
    }
    let (email, phone) = (field(&form, "reg_email"), field(&form, "reg_phone"));
    if let Err(e) = state
        .server
        .limits
        .login_attempt(
            Some(ip.0),
            if email.is_empty() { &phone } else { &email },
            now,
        )
        .await
    {
        return error_page(c, &e);
    }
    let (jar, csrf_token) = csrf::ensure(&state, jar);
    let mut page = register_page(&state, t, params.clone(), csrf_token);
    page.email = email.clone();
    page.phone = phone.clone();
    page.username = field(&form, "reg_username");
    page.name = field(&form, "reg_name");
    let password = form.get("reg_password").cloned().unwrap_or_default();
    // Each field's own error beside it, all at once.
    if page.need_email && email.is_empty() {
        page.errors.insert("reg_email", t.field_required.into());
    } else if !email.is_empty() && Address::email(&email).is_err() {
        page.errors.insert("reg_email", t.invalid_email.into());
    }
    if page.need_phone && phone.is_empty() {
        page.errors.insert("reg_phone", t.field_required.into());
    } else if !phone.is_empty() && Address::phone(&phone).is_err() {
        page.errors.insert("reg_phone", t.invalid_phone.into());
    }
    if page.ask_username {
        if page.username.is_empty() {
            page.errors.insert("reg_username", t.field_required.into());
        } else if oneauth_identity::normalize_username(&page.username).is_err() {
            page.errors
                .insert("reg_username", t.invalid_username.into());
        }
    }
    if page.ask_name && page.name.is_empty() {
        page.errors.insert("reg_name", t.field_required.into());
    }
    let ids: Vec<&str> = [email.as_str(), phone.as_str(), page.username.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(w) = state.server.identities.policy().check(&password, &ids) {
        page.errors.insert("reg_password", weakness(t, w));
    }
    if page.ask_confirm && form.get("reg_confirm") != Some(&password) {
        page.errors.insert("reg_confirm", t.passwords_differ.into());
    }
    if !page.errors.is_empty() {
        return (jar, render(StatusCode::BAD_REQUEST, page)).into_response();
    }
    let reg = Registration {
        email: Some(email),
        phone: Some(phone),
        username: page.ask_username.then(|| page.username.clone()),
        name: page.ask_name.then(|| page.name.clone()),
        password,
        verify: verify_method(&params),
    };
    match state.server.identities.register(reg, locale(t), now).await {
        Ok(signup) => {
            let jar = jar.add(crate::cookie::signup(&state.server.config, signup.proof));
            let page =
                VerificationPage::for_addresses(c, params, page.csrf_token, &signup.verify, true);
            (jar, render(StatusCode::OK, page)).into_response()
        }
        Err(e @ Error::AlreadyExists(_)) => {
            page.errors
                .insert("reg_username", explain(t, &e).unwrap_or_default());
            (jar, render(StatusCode::BAD_REQUEST, page)).into_response()
        }
        Err(e) => match explain(t, &e) {
            Some(msg) => {
                page.error = Some(msg);
                (jar, render(StatusCode::BAD_REQUEST, page)).into_response()
            }
            None => (jar, error_page(c, &e)).into_response(),
        },
    }
}

// ------------------------------------------------------------ verification

#[derive(Serialize)]
struct AddressRow {
    /// `email` or `phone`: the form field names.
    kind: String,
    label: &'static str,
    value: String,
}

#[derive(Template, Serialize)]
#[template(path = "verification.html", blocks = ["title", "head", "content"])]
struct VerificationPage<'a> {
    c: Chrome<'a>,
    params: Params,
    csrf_token: String,
    after_register: bool,
    addresses: Vec<AddressRow>,
    notice: Option<String>,
    error: Option<String>,
    errors: Errors,
}
page!(VerificationPage, "verification.html");

impl<'a> VerificationPage<'a> {
    fn for_addresses(
        c: Chrome<'a>,
        mut params: Params,
        csrf_token: String,
        addresses: &[Address],
        after_register: bool,
    ) -> Self {
        // The addresses travel as their own fields, not as prefills.
        params.email = None;
        params.phone = None;
        Self {
            addresses: addresses.iter().map(|a| row(c, a)).collect(),
            notice: (!addresses.is_empty()).then(|| c.t.code_sent.into()),
            c,
            params,
            csrf_token,
            after_register,
            error: None,
            errors: Errors::new(),
        }
    }
}

fn row(c: Chrome<'_>, a: &Address) -> AddressRow {
    match a {
        Address::Email(e) => AddressRow {
            kind: "email".into(),
            label: c.t.email,
            value: e.clone(),
        },
        Address::Phone(p) => AddressRow {
            kind: "phone".into(),
            label: c.t.phone,
            value: p.clone(),
        },
    }
}

pub async fn verification_get(
    State(state): State<UiState>,
    PageQuery(params): PageQuery<Params>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let t = lang(&headers, params.ui_locales.as_deref());
    let c = state.chrome(t, params.popup());
    let (jar, csrf_token) = csrf::ensure(&state, jar);
    let page = VerificationPage::for_addresses(c, params, csrf_token, &[], false);
    (jar, render(StatusCode::OK, page)).into_response()
}

fn posted_addresses(form: &HashMap<String, String>) -> Vec<Address> {
    let mut out = Vec::new();
    if let Ok(a) = Address::email(&field(form, "email")) {
        out.push(a);
    }
    if let Ok(a) = Address::phone(&field(form, "phone")) {
        out.push(a);
    }
    out
}

pub async fn verification_post(
    State(state): State<UiState>,
    Extension(ip): Extension<ClientIp>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let now = state.clock.now();
    let mut params = form_params(&form);
    let (t, _) = match context(&state, &params, &headers, now).await {
        Ok(v) => v,
        Err(e) => return error_page(state.chrome(lang(&headers, None), params.popup()), &e),
    };
    let c = state.chrome(t, params.popup());
    if !csrf::verify(&state, &jar, form.get("csrf_token").map(String::as_str)) {
        return error_page(c, &Error::CsrfViolation);
    }
    let after_register = field(&form, "after") == "register";
    let ids = &state.server.identities;
    let (jar, csrf_token) = csrf::ensure(&state, jar);
    let step = field(&form, "step");
    if step == "send" {
        // A standalone verification: one address typed in.
        let raw = field(&form, "address");
        if let Err(e) = state
            .server
            .limits
            .login_attempt(Some(ip.0), &raw, now)
            .await
        {
            return (jar, error_page(c, &e)).into_response();
        }
        let mut page = VerificationPage::for_addresses(c, params, csrf_token, &[], false);
        let Ok(address) = Address::parse(&raw) else {
            page.errors.insert("address", t.invalid_email.into());
            return (jar, render(StatusCode::BAD_REQUEST, page)).into_response();
        };
        return match ids.send_verification_code(&address, locale(t), now).await {
            Ok(()) | Err(Error::RateLimited { .. }) => {
                page.addresses = vec![row(c, &address)];
                page.notice = Some(t.code_sent.into());
                (jar, render(StatusCode::OK, page)).into_response()
            }
            Err(e) => (jar, error_page(c, &e)).into_response(),
        };
    }
    let addresses = posted_addresses(&form);
    params.email = None;
    params.phone = None;
    let mut page =
        VerificationPage::for_addresses(c, params.clone(), csrf_token, &addresses, after_register);
    page.notice = None;
    if addresses.is_empty() {
        return (jar, render(StatusCode::BAD_REQUEST, page)).into_response();
    }
    if step == "resend" {
        for a in &addresses {
            if let Err(e @ (Error::Internal(_) | Error::Unavailable(_))) =
                ids.send_verification_code(a, locale(t), now).await
            {
                return (jar, error_page(c, &e)).into_response();
            }
        }
        page.notice = Some(t.code_sent.into());
        return (jar, render(StatusCode::OK, page)).into_response();
    }
    let signup_proof = jar.get(crate::cookie::SIGNUP).map(|c| c.value().to_owned());
    let mut verified: Option<Identity> = None;
    for a in &addresses {
        let kind = match a {
            Address::Email(_) => "email",
            Address::Phone(_) => "phone",
        };
        match ids
            .verify(
                a,
                &field(&form, &format!("{kind}_code")),
                signup_proof.as_deref(),
                now,
            )
            .await
        {
            Ok(i) => verified = Some(i),
            Err(Error::InvalidCode) => {
                page.errors.insert(kind, t.wrong_code.into());
            }
            Err(e) => return (jar, error_page(c, &e)).into_response(),
        }
    }
    if !page.errors.is_empty() {
        return (jar, render(StatusCode::UNAUTHORIZED, page)).into_response();
    }
    let identity = verified.expect("at least one address was verified");
    if after_register {
        // The codes prove the addresses: this is their first login (a
        // password chosen at a sign-up in another browser is gone by now,
        // see `Identities::verify`).
        return finish_login(&state, jar, c, &params, &identity, "otp", now).await;
    }
    let done = MessagePage {
        c,
        heading: t.verified,
        text: t.verified_text.into(),
        is_error: false,
        code: None,
        request_id: None,
        way_on: None,
    };
    (jar, render(StatusCode::OK, done)).into_response()
}

// ---------------------------------------------------------------- recovery

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
        password_hint: t.password_hint_for(state.server.config.password.min_length),
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

pub async fn recovery_post(
    State(state): State<UiState>,
    Extension(ip): Extension<ClientIp>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let now = state.clock.now();
    let params = form_params(&form);
    let t = lang(&headers, params.ui_locales.as_deref());
    let c = state.chrome(t, params.popup());
    if !csrf::verify(&state, &jar, form.get("csrf_token").map(String::as_str)) {
        return error_page(c, &Error::CsrfViolation);
    }
    let raw = field(&form, "address");
    if let Err(e) = state
        .server
        .limits
        .login_attempt(Some(ip.0), &raw, now)
        .await
    {
        return error_page(c, &e);
    }
    let (jar, csrf_token) = csrf::ensure(&state, jar);
    let mut page = recovery_page(&state, t, params.clone(), csrf_token);
    page.address = raw.clone();
    let Ok(address) = Address::parse(&raw) else {
        page.errors.insert("address", t.invalid_email.into());
        return (jar, render(StatusCode::BAD_REQUEST, page)).into_response();
    };
    let ids = &state.server.identities;
    if field(&form, "step") != "reset" {
        // The same answer for every address: no account enumeration. A
        // cool-down answers alike too, since unknown addresses have one.
        return match ids.send_recovery_code(&address, locale(t), now).await {
            Ok(()) | Err(Error::RateLimited { .. }) => {
                page.code_sent = true;
                page.notice = Some(t.code_sent.into());
                (jar, render(StatusCode::OK, page)).into_response()
            }
            Err(e) => (jar, error_page(c, &e)).into_response(),
        };
    }
    page.code_sent = true;
    let new_password = form.get("new_password").cloned().unwrap_or_default();
    if let Some(w) = ids.policy().check(&new_password, &[address.as_str()]) {
        page.errors.insert("new_password", weakness(t, w));
        return (jar, render(StatusCode::BAD_REQUEST, page)).into_response();
    }
    match ids
        .recover(&address, &field(&form, "code"), &new_password, now)
        .await
    {
        Ok(identity) => finish_login(&state, jar, c, &params, &identity, "otp", now).await,
        Err(Error::InvalidCode) => {
            page.errors.insert("code", t.wrong_code.into());
            (jar, render(StatusCode::UNAUTHORIZED, page)).into_response()
        }
        Err(e) => (jar, error_page(c, &e)).into_response(),
    }
}

// ---------------------------------------------------------------- settings

#[derive(Serialize)]
struct SessionRow {
    id: String,
    when: String,
    current: bool,
}

#[derive(Template, Serialize)]
#[template(path = "settings.html", blocks = ["title", "head", "content"])]
struct SettingsPage<'a> {
    c: Chrome<'a>,
    csrf_token: String,
    email: Option<String>,
    email_verified: bool,
    phone: Option<String>,
    phone_verified: bool,
    /// For password managers: which account the new password belongs to.
    account: String,
    name: String,
    username: String,
    has_password: bool,
    password_hint: String,
    sessions: Vec<SessionRow>,
    logout_url: String,
    /// When the login is too old to set a password
    /// (`session.privileged_max_age_secs`): the login page, coming back here.
    reauth_url: Option<String>,
    notice: Option<String>,
    error: Option<String>,
    errors: Errors,
}
page!(SettingsPage, "settings.html");

pub(crate) async fn signed_in(state: &UiState, jar: &CookieJar) -> Option<(Session, Identity)> {
    let cookie = jar.get(&state.server.config.session.cookie_name)?;
    state
        .server
        .identities
        .session(cookie.value(), state.clock.now())
        .await
        .ok()
        .flatten()
}

/// The login page, coming back to the settings. With a live session it
/// still asks: a new login, which also makes the session recent.
fn login_for_settings(state: &UiState) -> String {
    let mut url = url::Url::parse(&state.server.ui_endpoint("/login")).expect("UI URL is valid");
    url.query_pairs_mut()
        .append_pair("return_to", &state.server.ui_endpoint("/settings"));
    url.into()
}

fn to_login(state: &UiState) -> Response {
    Redirect::to(&login_for_settings(state)).into_response()
}

async fn settings_page<'a>(
    state: &'a UiState,
    t: &'static crate::i18n::Strings,
    session: &Session,
    identity: &Identity,
    csrf_token: String,
) -> Result<SettingsPage<'a>, Error> {
    let now = state.clock.now();
    let sessions = state.server.identities.sessions(session, now).await?;
    let tr = &identity.traits;
    Ok(SettingsPage {
        c: state.chrome(t, false),
        csrf_token,
        email: tr.email.clone(),
        email_verified: tr.email_verified || tr.email.is_none(),
        phone: tr.phone.clone(),
        phone_verified: tr.phone_verified || tr.phone.is_none(),
        account: tr
            .email
            .clone()
            .or(tr.phone.clone())
            .or(tr.username.clone())
            .unwrap_or_default(),
        name: tr.name.clone().unwrap_or_default(),
        username: tr.username.clone().unwrap_or_default(),
        has_password: identity.password_hash.is_some(),
        password_hint: t.password_hint_for(state.server.config.password.min_length),
        sessions: sessions
            .into_iter()
            .map(|s| SessionRow {
                when: OffsetDateTime::from_unix_timestamp(s.authenticated_at)
                    .ok()
                    .and_then(|d| {
                        d.format(time::macros::format_description!(
                            "[year]-[month]-[day] [hour]:[minute] UTC"
                        ))
                        .ok()
                    })
                    .unwrap_or_default(),
                id: s.id,
                current: s.current,
            })
            .collect(),
        logout_url: "/logout".into(),
        reauth_url: (!state
            .server
            .identities
            .is_recent(session, now.unix_timestamp()))
        .then(|| login_for_settings(state)),
        notice: None,
        error: None,
        errors: Errors::new(),
    })
}

#[derive(serde::Deserialize)]
pub struct SettingsQuery {
    saved: Option<String>,
    ui_locales: Option<String>,
}

pub async fn settings_get(
    State(state): State<UiState>,
    PageQuery(q): PageQuery<SettingsQuery>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let t = lang(&headers, q.ui_locales.as_deref());
    let Some((session, identity)) = signed_in(&state, &jar).await else {
        return to_login(&state);
    };
    let (jar, csrf_token) = csrf::ensure(&state, jar);
    let mut page = match settings_page(&state, t, &session, &identity, csrf_token).await {
        Ok(p) => p,
        Err(e) => return error_page(state.chrome(t, false), &e),
    };
    page.notice = match q.saved.as_deref() {
        Some("profile") => Some(t.saved.into()),
        Some("password") => Some(t.password_changed.into()),
        Some("session") => Some(t.session_ended.into()),
        Some("sessions") => Some(t.other_sessions_ended.into()),
        _ => None,
    };
    (jar, render(StatusCode::OK, page)).into_response()
}

/// CSRF and session checks shared by the settings forms.
async fn settings_guard(
    state: &UiState,
    headers: &HeaderMap,
    jar: &CookieJar,
    form: &HashMap<String, String>,
) -> Result<(&'static crate::i18n::Strings, Session, Identity), Response> {
    let t = lang(headers, None);
    if !csrf::verify(state, jar, form.get("csrf_token").map(String::as_str)) {
        return Err(error_page(state.chrome(t, false), &Error::CsrfViolation));
    }
    match signed_in(state, jar).await {
        Some((s, i)) => Ok((t, s, i)),
        None => Err(to_login(state)),
    }
}

fn saved(state: &UiState, what: &str) -> Response {
    Redirect::to(&state.server.ui_endpoint(&format!("/settings?saved={what}"))).into_response()
}

pub async fn settings_profile_post(
    State(state): State<UiState>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (t, session, identity) = match settings_guard(&state, &headers, &jar, &form).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let result = state
        .server
        .identities
        .update_profile(
            &identity.id,
            Some(field(&form, "name")),
            Some(field(&form, "username")),
            state.clock.now(),
        )
        .await;
    let message = match result {
        Ok(_) => return saved(&state, "profile"),
        Err(Error::AlreadyExists(_)) => t.username_taken,
        Err(Error::InvalidRequest(_)) => t.invalid_username,
        Err(e) => return error_page(state.chrome(t, false), &e),
    };
    let (jar, csrf_token) = csrf::ensure(&state, jar);
    match settings_page(&state, t, &session, &identity, csrf_token).await {
        Ok(mut page) => {
            page.username = field(&form, "username");
            page.errors.insert("username", message.into());
            (jar, render(StatusCode::BAD_REQUEST, page)).into_response()
        }
        Err(e) => error_page(state.chrome(t, false), &e),
    }
}

pub async fn settings_password_post(
    State(state): State<UiState>,
    Extension(ip): Extension<ClientIp>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let now = state.clock.now();
    let (t, session, identity) = match settings_guard(&state, &headers, &jar, &form).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(e) = state
        .server
        .limits
        .login_attempt(Some(ip.0), &identity.id, now)
        .await
    {
        return error_page(state.chrome(t, false), &e);
    }
    let new_password = form.get("new_password").cloned().unwrap_or_default();
    let tr = &identity.traits;
    let ids: Vec<&str> = [&tr.email, &tr.phone, &tr.username]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let mut errors = Errors::new();
    if let Some(w) = state.server.identities.policy().check(&new_password, &ids) {
        errors.insert("new_password", weakness(t, w));
    } else {
        match state
            .server
            .identities
            .change_password(
                &session,
                form.get("current_password").map(String::as_str),
                &new_password,
                now,
            )
            .await
        {
            Ok(()) => return saved(&state, "password"),
            Err(Error::InvalidCredentials) => {
                errors.insert("current_password", t.wrong_password.into());
            }
            // The page comes back with a link to sign in again.
            Err(Error::ReauthenticationRequired) => {}
            Err(e) => return error_page(state.chrome(t, false), &e),
        }
    }
    let (jar, csrf_token) = csrf::ensure(&state, jar);
    match settings_page(&state, t, &session, &identity, csrf_token).await {
        Ok(mut page) => {
            page.errors = errors;
            let status = if page.reauth_url.is_some() {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::BAD_REQUEST
            };
            (jar, render(status, page)).into_response()
        }
        Err(e) => error_page(state.chrome(t, false), &e),
    }
}

pub async fn settings_session_end_post(
    State(state): State<UiState>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (t, session, _) = match settings_guard(&state, &headers, &jar, &form).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match state
        .server
        .identities
        .end_own_session(&session, &field(&form, "session_id"), state.clock.now())
        .await
    {
        Ok(()) => saved(&state, "session"),
        Err(e) => error_page(state.chrome(t, false), &e),
    }
}

pub async fn settings_other_sessions_end_post(
    State(state): State<UiState>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let (t, session, _) = match settings_guard(&state, &headers, &jar, &form).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match state
        .server
        .identities
        .end_other_sessions(&session, state.clock.now())
        .await
    {
        Ok(_) => saved(&state, "sessions"),
        Err(e) => error_page(state.chrome(t, false), &e),
    }
}
