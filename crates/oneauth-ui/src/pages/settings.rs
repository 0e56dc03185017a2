//! The settings page (`/settings`) and its forms: profile, password,
//! sessions. Every form needs a live session ([`SettingsForm`]); the
//! password form is also a guess at the current password, charged as a
//! login attempt on the identity.

use super::{again, field, invalid_form, weakness};
use crate::{Chrome, PageQuery, UiState, csrf, error_page, lang, page, render};
use askama::Template;
use axum::extract::{Form, FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use oneauth_core::Error;
use oneauth_core::net::ClientIp;
use oneauth_store::{Identity, Session};
use serde::Serialize;
use std::collections::HashMap;
use std::marker::PhantomData;
use time::OffsetDateTime;

type Errors = super::Errors;

// TOTP and recovery codes (issue 17).
pub(super) mod totp;
pub use totp::{
    settings_recovery_codes_post, settings_totp_confirm_post, settings_totp_post,
    settings_totp_remove_post,
};

#[derive(Serialize)]
struct SessionRow {
    id: String,
    when: String,
    last_used: String,
    /// Browser and device, from the login's `User-Agent`.
    device: String,
    ip: Option<String>,
    current: bool,
}

/// A time as the settings page shows it.
fn minute(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|d| {
            d.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// Passkeys (issue 17): the settings page's section, driven by
/// `assets/passkey.js` through the identity JSON API.
#[derive(Serialize)]
struct PasskeySection {
    /// The public listener's origin, where the API is.
    api: String,
    rows: Vec<PasskeyRow>,
    /// Adding or removing needs a new sign-in first (`reauth_url`).
    reauth: bool,
    reauth_url: String,
}

#[derive(Serialize)]
struct PasskeyRow {
    id: String,
    name: String,
    created: String,
    last_used: Option<String>,
    synced: bool,
}

async fn passkey_section(
    state: &UiState,
    session: &Session,
    now: OffsetDateTime,
) -> Result<Option<PasskeySection>, Error> {
    let ids = &state.identities;
    // Shown where passkeys can be used: for sign-in, or as a second factor.
    if !ids.passkeys_enabled() {
        return Ok(None);
    }
    let rows = ids
        .passkeys(&session.identity_id)
        .await?
        .into_iter()
        .map(|p| PasskeyRow {
            id: p.id,
            name: p.name,
            created: minute(p.created_at),
            last_used: p.last_used_at.map(minute),
            synced: p.backup_eligible,
        })
        .collect();
    Ok(Some(PasskeySection {
        api: state.config.issuer.origin().ascii_serialization(),
        rows,
        reauth: !ids.passkey_change_allowed(session, now).await?,
        reauth_url: login_for_settings(state),
    }))
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
    /// TOTP and recovery codes (issue 17); `None` when `mfa.policy` is off.
    totp: Option<totp::TotpSection>,
    passkeys: Option<PasskeySection>,
}
page!(SettingsPage, "settings.html");

pub(super) async fn signed_in(state: &UiState, jar: &CookieJar) -> Option<(Session, Identity)> {
    let cookie = jar.get(&state.config.session.cookie_name)?;
    state
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
    let sessions = state.identities.sessions(session, now).await?;
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
        password_hint: t.password_hint_for(state.config.password.min_length),
        sessions: sessions
            .into_iter()
            .map(|s| SessionRow {
                when: minute(s.authenticated_at),
                last_used: minute(s.last_used_at),
                device: t.device_line(s.browser.as_deref(), s.device.as_deref()),
                ip: s.ip,
                id: s.id,
                current: s.current,
            })
            .collect(),
        logout_url: "/logout".into(),
        reauth_url: (!state.identities.is_recent(session, now.unix_timestamp()))
            .then(|| login_for_settings(state)),
        notice: None,
        error: None,
        errors: Errors::new(),
        totp: totp::section(state, t, session).await?,
        passkeys: passkey_section(state, session, now).await?,
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
        Some("totp") => Some(t.totp_confirmed.into()),
        Some("totp_removed") => Some(t.totp_removed.into()),
        Some("passkey") => Some(t.passkey_saved.into()),
        Some("passkey_renamed") => Some(t.passkey_renamed.into()),
        Some("passkey_removed") => Some(t.passkey_removed.into()),
        _ => None,
    };
    (jar, render(StatusCode::OK, page)).into_response()
}

/// A settings form's class: whether it guesses a secret of the account.
pub trait SettingsClass {
    /// Charged as a login attempt on the identity (`Limits::login_attempt`).
    const GUESSES: bool = false;
}

/// Profile and session forms.
pub struct Plain;
/// The password form: the current password is a guess like a login's.
pub struct PasswordChange;

impl SettingsClass for Plain {}
impl SettingsClass for PasswordChange {
    const GUESSES: bool = true;
}

/// What every settings form starts with: the CSRF check, then the live
/// session (else off to the login page), then the attempt of its class.
pub struct SettingsForm<C> {
    t: &'static crate::i18n::Strings,
    session: Session,
    identity: Identity,
    form: HashMap<String, String>,
    jar: CookieJar,
    class: PhantomData<C>,
}

impl<C: SettingsClass> FromRequest<UiState> for SettingsForm<C> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &UiState) -> Result<Self, Response> {
        let t = lang(req.headers(), None);
        let ip = req.extensions().get::<ClientIp>().map(|ip| ip.0);
        let jar = CookieJar::from_headers(req.headers());
        let Form(form) = Form::<HashMap<String, String>>::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if !csrf::verify(state, &jar, form.get("csrf_token").map(String::as_str)) {
            return Err(error_page(state.chrome(t, false), &Error::CsrfViolation));
        }
        let Some((session, identity)) = signed_in(state, &jar).await else {
            return Err(to_login(state));
        };
        if C::GUESSES {
            let limits = &state.limits;
            let now = state.clock.now();
            if let Err(e) = limits.login_attempt(ip, &identity.id, now).await {
                return Err(error_page(state.chrome(t, false), &e));
            }
        }
        Ok(Self {
            t,
            session,
            identity,
            form,
            jar,
            class: PhantomData,
        })
    }
}

fn saved(state: &UiState, what: &str) -> Response {
    Redirect::to(&state.server.ui_endpoint(&format!("/settings?saved={what}"))).into_response()
}

/// The settings page again, with the form's errors.
async fn settings_again(
    state: &UiState,
    f: SettingsForm<impl SettingsClass>,
    status_of: &Error,
    errors: Errors,
    username: Option<String>,
) -> Response {
    let (jar, csrf_token) = csrf::ensure(state, f.jar);
    match settings_page(state, f.t, &f.session, &f.identity, csrf_token).await {
        Ok(mut page) => {
            page.errors = errors;
            if let Some(u) = username {
                page.username = u;
            }
            again(jar, status_of, page)
        }
        Err(e) => error_page(state.chrome(f.t, false), &e),
    }
}

pub async fn settings_profile_post(
    State(state): State<UiState>,
    f: SettingsForm<Plain>,
) -> Response {
    let (name, username) = (field(&f.form, "name"), field(&f.form, "username"));
    let ids = &state.identities;
    let now = state.clock.now();
    let result = ids
        .update_profile(&f.identity.id, Some(name), Some(username.clone()), now)
        .await;
    let message = match result {
        Ok(_) => return saved(&state, "profile"),
        Err(Error::AlreadyExists(_)) => f.t.username_taken,
        Err(Error::InvalidRequest(_)) => f.t.invalid_username,
        Err(e) => return error_page(state.chrome(f.t, false), &e),
    };
    let errors = Errors::from([("username", message.into())]);
    settings_again(&state, f, &invalid_form(), errors, Some(username)).await
}

pub async fn settings_password_post(
    State(state): State<UiState>,
    f: SettingsForm<PasswordChange>,
) -> Response {
    let now = state.clock.now();
    let t = f.t;
    let new_password = f.form.get("new_password").cloned().unwrap_or_default();
    let tr = &f.identity.traits;
    let ids: Vec<&str> = [&tr.email, &tr.phone, &tr.username]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let mut errors = Errors::new();
    let identities = &state.identities;
    if let Some(w) = identities.policy().check(&new_password, &ids) {
        errors.insert("new_password", weakness(t, w));
    } else {
        let current = f.form.get("current_password").map(String::as_str);
        match identities
            .change_password(&f.session, current, &new_password, now)
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
    // A login too old for the change is the answer, whatever else is wrong.
    let status_of = if identities.is_recent(&f.session, now.unix_timestamp()) {
        invalid_form()
    } else {
        Error::ReauthenticationRequired
    };
    settings_again(&state, f, &status_of, errors, None).await
}

pub async fn settings_session_end_post(
    State(state): State<UiState>,
    f: SettingsForm<Plain>,
) -> Response {
    let ids = &state.identities;
    let id = field(&f.form, "session_id");
    match ids
        .end_own_session(&f.session, &id, state.clock.now())
        .await
    {
        Ok(()) => saved(&state, "session"),
        Err(e) => error_page(state.chrome(f.t, false), &e),
    }
}

pub async fn settings_other_sessions_end_post(
    State(state): State<UiState>,
    f: SettingsForm<Plain>,
) -> Response {
    let ids = &state.identities;
    match ids.end_other_sessions(&f.session, state.clock.now()).await {
        Ok(_) => saved(&state, "sessions"),
        Err(e) => error_page(state.chrome(f.t, false), &e),
    }
}
