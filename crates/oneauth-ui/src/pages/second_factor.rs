//! The second-factor step (`/login/second-factor`): after a first factor
//! when the person enrolled one or the policy asks for one, or on top of a
//! live session when a client or request demands one (step-up). It offers
//! what the person enrolled (authenticator app code, passkey, recovery
//! code), or the enrolment of an authenticator app when there is none yet.

use super::settings::totp::{EnrolmentView, view};
use super::{FormCtx, SecondFactorForm, again, field};
use crate::landing::land;
use crate::params::Params;
use crate::{Chrome, PageQuery, UiState, cookie, csrf, error_page, lang, page, render};
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use oneauth_core::Error;
use oneauth_identity::factors::Proof;
use oneauth_oauth2::login::Landing;
use oneauth_store::{Identity, Session};
use serde::Serialize;
use time::OffsetDateTime;

type Errors = super::Errors;

/// The page's passkey button (`assets/passkey.js`): where it fetches its
/// ceremony and sends the answer (the identity API, on the public origin),
/// what it adds to the answer, and where it goes without a `redirect_to`.
#[derive(Serialize)]
struct PasskeyButton {
    options: String,
    finish: String,
    body: String,
    done: String,
}

#[derive(Template, Serialize)]
#[template(path = "second_factor.html", blocks = ["title", "head", "content"])]
struct SecondFactorPage<'a> {
    c: Chrome<'a>,
    params: Params,
    csrf_token: String,
    totp: bool,
    passkey: Option<PasskeyButton>,
    recovery_code: bool,
    enrol: Option<EnrolmentView>,
    /// New recovery codes, shown once after an enrolment, then a link on.
    recovery_codes: Vec<String>,
    continue_to: Option<String>,
    error: Option<String>,
    errors: Errors,
}
page!(SecondFactorPage, "second_factor.html");

async fn step_page<'a>(
    state: &'a UiState,
    t: &'static crate::i18n::Strings,
    params: Params,
    csrf_token: String,
    session: &Session,
    now: OffsetDateTime,
) -> Result<SecondFactorPage<'a>, Error> {
    let ids = &state.identities;
    let factors = ids.second_factors(&session.identity_id).await?;
    let enrol = if factors.any() {
        None
    } else {
        // The same key again after a wrong first code: the app has it.
        let e = match ids.totp_enrolment_in_progress(session).await? {
            Some(e) => e,
            None => ids.begin_totp_enrolment(session, now).await?,
        };
        Some(view(e))
    };
    let passkey = if factors.passkeys > 0 {
        let api = |path: &str| state.server.endpoint(path);
        Some(PasskeyButton {
            options: api("/api/identity/login/second-factor/passkey/options"),
            finish: api("/api/identity/login/second-factor/passkey"),
            body: serde_json::json!({ "login_challenge": params.login_challenge }).to_string(),
            done: state
                .server
                .page_after_login(params.return_to.as_deref())
                .await,
        })
    } else {
        None
    };
    Ok(SecondFactorPage {
        c: state.chrome(t, params.popup()),
        params,
        csrf_token,
        totp: factors.totp,
        passkey,
        recovery_code: factors.recovery_codes > 0,
        enrol,
        recovery_codes: vec![],
        continue_to: None,
        error: None,
        errors: Errors::new(),
    })
}

/// The session this step works on; without one, the login starts over.
async fn stepping(
    state: &UiState,
    jar: &CookieJar,
    now: OffsetDateTime,
) -> Option<(Session, Identity)> {
    let cookie = jar.get(&state.config.session.cookie_name)?;
    state
        .identities
        .second_factor_session(cookie.value(), now)
        .await
        .ok()
        .flatten()
}

fn start_over(params: &Params) -> Response {
    Redirect::to(&format!("/login?{}", params.query())).into_response()
}

pub async fn second_factor_get(
    State(state): State<UiState>,
    PageQuery(params): PageQuery<Params>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let now = state.clock.now();
    let t = lang(&headers, params.ui_locales.as_deref());
    let Some((session, _)) = stepping(&state, &jar, now).await else {
        return start_over(&params);
    };
    let (jar, csrf_token) = csrf::ensure(&state, jar);
    let c = state.chrome(t, params.popup());
    match step_page(&state, t, params.clone(), csrf_token, &session, now).await {
        Ok(page) => (jar, render(StatusCode::OK, page)).into_response(),
        // Enrolling needs a recent login: a step-up of an old session
        // signs in again first, then comes back here with a fresh one.
        Err(Error::ReauthenticationRequired) => (jar, start_over(&params)).into_response(),
        Err(e) => (jar, error_page(c, &e)).into_response(),
    }
}

pub async fn second_factor_post(
    State(state): State<UiState>,
    ctx: FormCtx<SecondFactorForm>,
) -> Response {
    let (now, t, form, jar, params) = (ctx.now, ctx.t, ctx.form, ctx.jar, ctx.params);
    let c = state.chrome(t, params.popup());
    let Some((session, identity)) = stepping(&state, &jar, now).await else {
        return start_over(&params);
    };
    let ids = &state.identities;
    let code = field(&form, "code");
    let method = field(&form, "method");
    let proven = match method.as_str() {
        "totp" => {
            ids.prove_second_factor(&session, Proof::Totp(&code), now)
                .await
        }
        "recovery_code" => {
            ids.prove_second_factor(&session, Proof::RecoveryCode(&code), now)
                .await
        }
        "totp_enrol" => match ids.confirm_totp(&session, &code, now).await {
            Ok(codes) => {
                return finish(&state, jar, c, &params, (&session, &identity), codes, now).await;
            }
            Err(e) => Err(e),
        },
        _ => Err(Error::InvalidRequest(
            "Unknown second-factor method.".into(),
        )),
    };
    match proven {
        Ok(amr) => {
            let done = state
                .server
                .complete_second_factor(
                    &session,
                    &identity,
                    amr,
                    params.login_challenge.as_deref(),
                    params.return_to.as_deref(),
                    now,
                )
                .await;
            match done {
                Ok(done) => {
                    let jar = jar.add(cookie::session(&state.config, done.session_token));
                    (jar, land(c, &params, done.landing)).into_response()
                }
                Err(e) => (jar, error_page(c, &e)).into_response(),
            }
        }
        Err(e @ Error::InvalidCode { .. }) => {
            // The same choices again, with the refusal under the field.
            let page = step_page(&state, t, params, ctx.csrf_token, &session, now).await;
            match page {
                Ok(mut page) => {
                    page.errors.insert(
                        if method == "recovery_code" {
                            "recovery_code"
                        } else {
                            "code"
                        },
                        t.code_refused(&e),
                    );
                    again(jar, &e, page)
                }
                Err(e) => (jar, error_page(c, &e)).into_response(),
            }
        }
        Err(e) => (jar, error_page(c, &e)).into_response(),
    }
}

/// An authenticator app enrolled during login: the session completes with
/// it, and new recovery codes are shown once before the login goes on.
async fn finish(
    state: &UiState,
    jar: CookieJar,
    c: Chrome<'_>,
    params: &Params,
    (session, identity): (&Session, &Identity),
    recovery_codes: Option<Vec<String>>,
    now: OffsetDateTime,
) -> Response {
    let done = match state
        .server
        .complete_second_factor(
            session,
            identity,
            "otp",
            params.login_challenge.as_deref(),
            params.return_to.as_deref(),
            now,
        )
        .await
    {
        Ok(done) => done,
        Err(e) => return (jar, error_page(c, &e)).into_response(),
    };
    let jar = jar.add(cookie::session(&state.config, done.session_token));
    let Some(recovery_codes) = recovery_codes.filter(|codes| !codes.is_empty()) else {
        return (jar, land(c, params, done.landing)).into_response();
    };
    let continue_to = match done.landing {
        Ok(Landing::Flow { redirect_to }) => redirect_to,
        Ok(Landing::Page { to, .. }) => to,
        // Completed just now: no second factor is due any more.
        Ok(Landing::SecondFactor) => format!("/login/second-factor?{}", params.query()),
        Err(e) => return (jar, error_page(c, &e)).into_response(),
    };
    let (jar, csrf_token) = csrf::ensure(state, jar);
    let page = SecondFactorPage {
        c,
        params: params.clone(),
        csrf_token,
        totp: false,
        passkey: None,
        recovery_code: false,
        enrol: None,
        recovery_codes,
        continue_to: Some(continue_to),
        error: None,
        errors: Errors::new(),
    };
    (jar, render(StatusCode::OK, page)).into_response()
}
