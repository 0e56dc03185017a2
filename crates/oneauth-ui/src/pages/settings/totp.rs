//! The settings page's authenticator-app (TOTP) and recovery-code
//! sections (issue 17) and their forms. Server-rendered, no script: the
//! QR code is an inline `<svg>` drawn by `oneauth-identity`. A secret or
//! new recovery codes are shown in the answer to the POST that made them
//! (never on a GET), the codes this once.

use super::{Plain, SettingsForm, SettingsPage, login_for_settings, saved, settings_page};
use crate::pages::{Errors, again, invalid_form};
use crate::{UiState, csrf, error_page, render};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use oneauth_core::Error;
use oneauth_identity::TotpEnrolment;
use oneauth_store::Session;
use serde::Serialize;

/// An enrolment as the settings page and the second-factor step show it.
#[derive(Serialize)]
pub(crate) struct EnrolmentView {
    /// In groups of four, for typing in.
    pub(crate) secret_grouped: String,
    pub(crate) qr_svg: String,
}

/// What the sections show.
#[derive(Serialize, Default)]
pub(super) struct TotpSection {
    pub(super) enrolled: bool,
    /// Any second factor (an app or a passkey): recovery codes back it up.
    pub(super) any_factor: bool,
    /// A set-up in progress: its QR code, key and confirm form.
    pub(super) enrolment: Option<EnrolmentView>,
    /// "n of 10 recovery codes left".
    pub(super) codes_left_text: String,
    /// New recovery codes, shown this once.
    pub(super) new_codes: Vec<String>,
    pub(super) error: Option<String>,
    /// When the change needs a new login (with the second factor).
    pub(super) reauth_url: Option<String>,
}

pub(crate) fn view(e: TotpEnrolment) -> EnrolmentView {
    let groups: Vec<String> = e
        .secret
        .as_bytes()
        .chunks(4)
        .map(|g| String::from_utf8_lossy(g).into_owned())
        .collect();
    EnrolmentView {
        secret_grouped: groups.join(" "),
        qr_svg: e.qr_svg,
    }
}

/// The sections as a GET shows them; `None` when second factors are off.
pub(super) async fn section(
    state: &UiState,
    t: &'static crate::i18n::Strings,
    session: &Session,
) -> Result<Option<TotpSection>, Error> {
    let ids = &state.identities;
    if !ids.second_factors_enabled() {
        return Ok(None);
    }
    let factors = ids.second_factors(&session.identity_id).await?;
    let left = factors.recovery_codes;
    Ok(Some(TotpSection {
        enrolled: factors.totp,
        any_factor: factors.any(),
        codes_left_text: t
            .recovery_left
            .replace("{n}", &left.to_string())
            .replace("{total}", &oneauth_identity::RECOVERY_CODES.to_string()),
        ..TotpSection::default()
    }))
}

/// The settings page with the sections changed by `edit`, answered with
/// the status of `status_of` (200 for `None`).
async fn page_with(
    state: &UiState,
    f: SettingsForm<Plain>,
    status_of: Option<&Error>,
    errors: Errors,
    edit: impl FnOnce(&mut TotpSection),
) -> Response {
    let (jar, csrf_token) = csrf::ensure(state, f.jar);
    let page = settings_page(state, f.t, &f.session, &f.identity, csrf_token).await;
    let mut page: SettingsPage<'_> = match page {
        Ok(page) => page,
        Err(e) => return error_page(state.chrome(f.t, false), &e),
    };
    if let Some(section) = page.totp.as_mut() {
        edit(section);
    }
    page.errors = errors;
    match status_of {
        Some(e) => again(jar, e, page),
        None => (jar, render(StatusCode::OK, page)).into_response(),
    }
}

/// A refusal the sections show: a new login for `ReauthenticationRequired`
/// (with the link), the error page for anything else.
async fn refused(state: &UiState, f: SettingsForm<Plain>, e: Error) -> Response {
    if !matches!(e, Error::ReauthenticationRequired) {
        return error_page(state.chrome(f.t, false), &e);
    }
    let t = f.t;
    let url = login_for_settings(state);
    page_with(state, f, Some(&e), Errors::new(), |s| {
        s.error = Some(t.factor_reauth_needed.into());
        s.reauth_url = Some(url);
    })
    .await
}

/// Starts a set-up: the QR code and key, and the confirm form.
pub async fn settings_totp_post(State(state): State<UiState>, f: SettingsForm<Plain>) -> Response {
    let ids = &state.identities;
    match ids
        .begin_totp_enrolment(&f.session, state.clock.now())
        .await
    {
        Ok(e) => {
            page_with(&state, f, None, Errors::new(), |s| {
                s.enrolment = Some(view(e));
            })
            .await
        }
        Err(e) => refused(&state, f, e).await,
    }
}

/// Confirms the set-up with a first code; shows the first recovery codes.
pub async fn settings_totp_confirm_post(
    State(state): State<UiState>,
    f: SettingsForm<Plain>,
) -> Response {
    let ids = &state.identities;
    let code = f.form.get("code").cloned().unwrap_or_default();
    match ids.confirm_totp(&f.session, &code, state.clock.now()).await {
        Ok(Some(codes)) => page_with(&state, f, None, Errors::new(), |s| s.new_codes = codes).await,
        Ok(None) => saved(&state, "totp"),
        Err(e @ Error::InvalidCode { .. }) => {
            let t = f.t;
            let enrolment = match ids.totp_enrolment_in_progress(&f.session).await {
                Ok(e) => e.map(view),
                Err(e) => return error_page(state.chrome(t, false), &e),
            };
            let errors = Errors::from([("code", t.code_refused(&e))]);
            page_with(&state, f, Some(&e), errors, |s| s.enrolment = enrolment).await
        }
        // The set-up was replaced or finished elsewhere: start again.
        Err(Error::InvalidRequest(_)) => {
            let t = f.t;
            page_with(&state, f, Some(&invalid_form()), Errors::new(), |s| {
                s.error = Some(t.totp_start_again.into());
            })
            .await
        }
        Err(e) => refused(&state, f, e).await,
    }
}

/// Removes the authenticator app (a recent login with the second factor).
pub async fn settings_totp_remove_post(
    State(state): State<UiState>,
    f: SettingsForm<Plain>,
) -> Response {
    let ids = &state.identities;
    match ids.remove_totp(&f.session, state.clock.now()).await {
        Ok(()) => saved(&state, "totp_removed"),
        Err(e) => refused(&state, f, e).await,
    }
}

/// Replaces the recovery codes; shows the new ones this once.
pub async fn settings_recovery_codes_post(
    State(state): State<UiState>,
    f: SettingsForm<Plain>,
) -> Response {
    let ids = &state.identities;
    match ids
        .regenerate_recovery_codes(&f.session, state.clock.now())
        .await
    {
        Ok(codes) => page_with(&state, f, None, Errors::new(), |s| s.new_codes = codes).await,
        Err(e) => refused(&state, f, e).await,
    }
}
