//! The verification page (`/verification`): proving an address with the
//! code sent to it, after a sign-up (then it is the first login) or on its
//! own (an address typed in gets a code first).

use super::{FormCtx, VerificationForm, again, field, invalid_form, send_code};
use crate::landing::logged_in;
use crate::params::Params;
use crate::{Chrome, MessagePage, PageQuery, UiState, csrf, error_page, lang, page, render};
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use oneauth_core::Error;
use oneauth_identity::ProofCode;
use oneauth_identity::identifier::Address;
use oneauth_store::Identity;
use serde::Serialize;
use std::collections::HashMap;

type Errors = super::Errors;

#[derive(Serialize)]
struct AddressRow {
    /// `email` or `phone`: the form field names.
    kind: String,
    label: &'static str,
    value: String,
}

#[derive(Template, Serialize)]
#[template(path = "verification.html", blocks = ["title", "head", "content"])]
pub(super) struct VerificationPage<'a> {
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
    pub(super) fn for_addresses(
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
    ctx: FormCtx<VerificationForm>,
) -> Response {
    let (now, t, form, jar, params) = (ctx.now, ctx.t, ctx.form, ctx.jar, ctx.params);
    let seen = ctx.seen_from;
    let c = state.chrome(t, params.popup());
    let step = field(&form, "step");
    if step == "send" {
        // A standalone verification: one address typed in.
        let mut page = VerificationPage::for_addresses(c, params, ctx.csrf_token, &[], false);
        let Ok(address) = Address::parse(&field(&form, "address")) else {
            page.errors.insert("address", t.invalid_email.into());
            return again(jar, &invalid_form(), page);
        };
        if let Err(e) = send_code(&state, ProofCode::Verification, &address, t, now).await {
            return (jar, error_page(c, &e)).into_response();
        }
        page.addresses = vec![row(c, &address)];
        page.notice = Some(t.code_sent.into());
        return (jar, render(StatusCode::OK, page)).into_response();
    }
    let addresses = posted_addresses(&form);
    let after_register = field(&form, "after") == "register";
    let mut page = VerificationPage::for_addresses(
        c,
        params.clone(),
        ctx.csrf_token,
        &addresses,
        after_register,
    );
    page.notice = None;
    if addresses.is_empty() {
        return again(jar, &invalid_form(), page);
    }
    if step == "resend" {
        for a in &addresses {
            if let Err(e) = send_code(&state, ProofCode::Verification, a, t, now).await {
                return (jar, error_page(c, &e)).into_response();
            }
        }
        page.notice = Some(t.code_sent.into());
        return (jar, render(StatusCode::OK, page)).into_response();
    }
    let signup_proof = jar.get(crate::cookie::SIGNUP).map(|c| c.value().to_owned());
    let mut verified: Option<Identity> = None;
    for a in &addresses {
        let kind = a.kind();
        let code = field(&form, &format!("{kind}_code"));
        let ids = &state.identities;
        match ids.verify(a, &code, signup_proof.as_deref(), now).await {
            Ok(i) => verified = Some(i),
            Err(e @ Error::InvalidCode { .. }) => {
                page.errors.insert(kind, t.code_refused(&e));
            }
            Err(e) => return (jar, error_page(c, &e)).into_response(),
        }
    }
    let Some(identity) = verified.filter(|_| page.errors.is_empty()) else {
        return again(jar, &Error::INVALID_CODE, page);
    };
    if after_register {
        // The codes prove the addresses: this is their first login (a
        // password chosen at a sign-up in another browser is gone by now,
        // see `Identities::verify`).
        return logged_in(&state, jar, c, &params, &identity, &["otp"], &seen, now).await;
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
