//! Login, registration, verification, recovery and settings pages, one
//! module each. Every handler is parse → one call into `identities` or the
//! authorization server → render; every word comes from the catalog. What
//! the form POSTs share is here: the [`FormCtx`] extractor (language,
//! frame, CSRF check, the login-attempt limit of its route class) and the
//! one mapping from a domain error to the page's answer ([`again`]).

mod device;
mod login;
mod recovery;
mod register;
mod second_factor;
mod settings;
mod verification;

pub use device::{device_get, device_post};
pub use login::{login_get, login_post};
pub use recovery::{recovery_get, recovery_post};
pub use register::{register_get, register_post};
pub use second_factor::{second_factor_get, second_factor_post};
pub use settings::{
    settings_get,
    settings_other_sessions_end_post,
    settings_password_post,
    settings_profile_post,
    // TOTP and recovery codes (issue 17).
    settings_recovery_codes_post,
    settings_session_end_post,
    settings_totp_confirm_post,
    settings_totp_post,
    settings_totp_remove_post,
};
pub use verification::{verification_get, verification_post};

use crate::i18n::Strings;
use crate::params::Params;
use crate::{Page, UiState, csrf, error_page, lang, render, status_of};
use axum::extract::{Form, FromRequest, Request};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use oneauth_core::Error;
use oneauth_core::net::ClientIp;
use oneauth_identity::identifier::Address;
use oneauth_identity::policy::Weakness;
use oneauth_identity::{Locale, ProofCode};
use oneauth_store::SeenFrom;
use std::collections::HashMap;
use std::marker::PhantomData;
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
) -> Result<(&'static Strings, Option<String>), Error> {
    let mut locales = params.ui_locales.clone();
    let mut client = None;
    if let Some(ch) = &params.login_challenge {
        let req = state.server.login_request(ch, None, now).await?;
        locales = locales.or(req.ui_locales);
        client = Some(req.client.client_name);
    }
    Ok((lang(headers, locales.as_deref()), client))
}

fn locale(t: &Strings) -> Locale {
    Locale::from_tag(t.lang)
}

fn weakness(t: &Strings, w: Weakness) -> String {
    match w {
        Weakness::TooShort { .. } => t.password_too_short.into(),
        Weakness::Common => t.password_common.into(),
        Weakness::SameAsIdentifier => t.password_is_identifier.into(),
    }
}

/// Words for an error a person can act on; `None` for the others, which
/// get the error page.
fn explain(t: &Strings, e: &Error) -> Option<String> {
    Some(match e {
        Error::InvalidCode { .. } => t.code_refused(e),
        Error::RateLimited { .. } => t.wait_before_resend.into(),
        Error::AlreadyExists(_) => t.username_taken.into(),
        Error::WeakPassword(_) => t.password_common.into(),
        Error::InvalidRequest(m) => m.clone(),
        _ => return None,
    })
}

/// A form refused for `e`: the page again, its words already in it, with
/// the status every page gives that error ([`status_of`]); errors a person
/// cannot act on get the error page instead ([`error_page`]).
fn again<P: Page>(jar: CookieJar, e: &Error, page: P) -> Response {
    (jar, render(status_of(e), page)).into_response()
}

/// The error that stands for fields the form got wrong ([`again`]: 400).
fn invalid_form() -> Error {
    Error::InvalidRequest("The form has errors.".into())
}

/// A route class of the login pages: whether its language may come from
/// the login request, and which identifier a POST spends a login attempt
/// on. Every class in one table, below; the attempt is charged by
/// [`FormCtx`] after the CSRF check and before any password or code work.
pub trait FormClass {
    /// The login request's `ui_locales` and client name count.
    const FROM_LOGIN_REQUEST: bool = true;
    /// The identifier charged (per IP and per identifier and account:
    /// `Limits::login_attempt`); `None`: no attempt.
    fn attempt(form: &HashMap<String, String>) -> Option<String>;
}

/// `POST /login`: a password or code attempt, or a code sent.
pub struct LoginForm;
/// `POST /register`: a sign-up, counted on its email, else its phone.
pub struct RegisterForm;
/// `POST /verification`: sending a code to an address typed in.
pub struct VerificationForm;
/// `POST /recovery`: a recovery code sent or used.
pub struct RecoveryForm;
/// `POST /login/second-factor`: a second factor proven or enrolled.
pub struct SecondFactorForm;

impl FormClass for LoginForm {
    fn attempt(form: &HashMap<String, String>) -> Option<String> {
        Some(field(form, "identifier"))
    }
}

impl FormClass for RegisterForm {
    fn attempt(form: &HashMap<String, String>) -> Option<String> {
        let email = field(form, "reg_email");
        Some(if email.is_empty() {
            field(form, "reg_phone")
        } else {
            email
        })
    }
}

impl FormClass for VerificationForm {
    fn attempt(form: &HashMap<String, String>) -> Option<String> {
        (field(form, "step") == "send").then(|| field(form, "address"))
    }
}

impl FormClass for SecondFactorForm {
    // Guesses are counted per identity by the factor itself (TOTP and
    // recovery codes share the one-time codes' guess budget).
    fn attempt(_: &HashMap<String, String>) -> Option<String> {
        None
    }
}

impl FormClass for RecoveryForm {
    // A reset never depended on the login request still being live: the
    // page's own `ui_locales`, else the browser's language.
    const FROM_LOGIN_REQUEST: bool = false;
    fn attempt(form: &HashMap<String, String>) -> Option<String> {
        Some(field(form, "address"))
    }
}

/// What every form POST of these pages starts with: the time, the form
/// and its page parameters, the language and client name ([`context`]),
/// the CSRF check, the login attempt of its [`FormClass`], and the CSRF
/// token for the page that answers. Each refusal is the error page.
pub struct FormCtx<C> {
    now: OffsetDateTime,
    form: HashMap<String, String>,
    params: Params,
    t: &'static Strings,
    client_name: Option<String>,
    jar: CookieJar,
    csrf_token: String,
    seen_from: SeenFrom,
    class: PhantomData<C>,
}

impl<C: FormClass> FromRequest<UiState> for FormCtx<C> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &UiState) -> Result<Self, Response> {
        let now = state.clock.now();
        let headers = req.headers().clone();
        let ip = req.extensions().get::<ClientIp>().map(|ip| ip.0);
        let crate::Seen(seen_from) = crate::Seen::from_parts(&headers, req.extensions());
        let jar = CookieJar::from_headers(&headers);
        let Form(form) = Form::<HashMap<String, String>>::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let params = form_params(&form);
        let (t, client_name) = if C::FROM_LOGIN_REQUEST {
            context(state, &params, &headers, now)
                .await
                .map_err(|e| error_page(state.chrome(lang(&headers, None), params.popup()), &e))?
        } else {
            (lang(&headers, params.ui_locales.as_deref()), None)
        };
        let c = state.chrome(t, params.popup());
        if !csrf::verify(state, &jar, form.get("csrf_token").map(String::as_str)) {
            return Err(error_page(c, &Error::CsrfViolation));
        }
        if let Some(identifier) = C::attempt(&form) {
            // Before any password or code work.
            let limits = &state.limits;
            if let Err(e) = limits.login_attempt(ip, &identifier, now).await {
                return Err(error_page(c, &e));
            }
        }
        let (jar, csrf_token) = csrf::ensure(state, jar);
        Ok(Self {
            now,
            form,
            params,
            t,
            client_name,
            jar,
            csrf_token,
            seen_from,
            class: PhantomData,
        })
    }
}

/// The first step of verification and recovery: a code to an address
/// typed in. The answer is the same for every address (no account
/// enumeration); a cool-down answers alike too, since unknown addresses
/// have one.
async fn send_code(
    state: &UiState,
    kind: ProofCode,
    address: &Address,
    t: &Strings,
    now: OffsetDateTime,
) -> Result<(), Error> {
    let ids = &state.identities;
    match ids.send_proof_code(kind, address, locale(t), now).await {
        Ok(()) | Err(Error::RateLimited { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}
