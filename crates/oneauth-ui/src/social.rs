//! Social login in the UI: a button per configured provider (with the
//! guide's `enable_social=true`), the start endpoint that sends the browser
//! to the provider, and the callback that finishes the login like any
//! other (session, challenge, `return_to`, popup). The pending login lives
//! sealed in a short-lived cookie scoped to `/social/`, so the state is
//! bound to the browser that started it and no node keeps it in memory.

use crate::params::Params;
use crate::{PageQuery, UiState, error_page, lang};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use oneauth_identity::method::social::{AMR, Callback};

const COOKIE: &str = "oneauth_social";

/// A provider's button on the login and register pages.
#[derive(serde::Serialize)]
pub(crate) struct SocialButton {
    pub href: String,
    pub label: String,
}

/// The buttons for `params` (none unless `enable_social=true`). The page's
/// parameters ride along to the start endpoint, so the login continues
/// where it would have after a password.
pub(crate) fn buttons(
    state: &UiState,
    t: &crate::i18n::Strings,
    params: &Params,
) -> Vec<SocialButton> {
    if !params.social() {
        return Vec::new();
    }
    state
        .identities
        .social()
        .providers()
        .iter()
        .map(|p| SocialButton {
            href: start_path(&p.id, params),
            label: t.social_button.replace("{name}", &p.display_name),
        })
        .collect()
}

/// The start endpoint of a provider, with the login page's parameters.
pub fn start_path(provider: &str, params: &Params) -> String {
    let query = params.query();
    let provider: String = url::form_urlencoded::byte_serialize(provider.as_bytes()).collect();
    if query.is_empty() {
        format!("/social/{provider}/start")
    } else {
        format!("/social/{provider}/start?{query}")
    }
}

fn pending_cookie(state: &UiState, value: String) -> Cookie<'static> {
    Cookie::build((COOKIE, value))
        .path("/social/")
        .http_only(true)
        .secure(state.config.cookies_secure())
        // Lax: the cookie must come along on the provider's top-level
        // redirect back to the callback.
        .same_site(SameSite::Lax)
        .max_age(time::Duration::minutes(10))
        .build()
}

/// `GET /social/{provider}/start`: off to the provider.
pub async fn social_start_get(
    State(state): State<UiState>,
    Path(provider): Path<String>,
    PageQuery(params): PageQuery<Params>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    let now = state.clock.now();
    let c = state.chrome(lang(&headers, params.ui_locales.as_deref()), params.popup());
    match state
        .identities
        .social_start(&provider, &params.query(), now)
        .await
    {
        Ok(start) => (
            jar.add(pending_cookie(&state, start.cookie)),
            Redirect::to(&start.authorize_url),
        )
            .into_response(),
        Err(e) => error_page(c, &e),
    }
}

/// `GET /social/{provider}/callback`: back from the provider.
pub async fn social_callback_get(
    State(state): State<UiState>,
    Path(provider): Path<String>,
    PageQuery(callback): PageQuery<Callback>,
    headers: HeaderMap,
    crate::Seen(seen): crate::Seen,
    jar: CookieJar,
) -> Response {
    let now = state.clock.now();
    let pending = jar.get(COOKIE).map(|c| c.value().to_owned());
    // Single use: whatever happens, this pending login is over.
    let jar = jar.remove(Cookie::build(COOKIE).path("/social/"));
    let result = state
        .identities
        .social_finish(&provider, pending.as_deref(), &callback, now)
        .await;
    let (identity, continuation) = match result {
        Ok(v) => v,
        Err(e) => {
            return (
                jar,
                error_page(state.chrome(lang(&headers, None), false), &e),
            )
                .into_response();
        }
    };
    let params: Params = serde_urlencoded::from_str(&continuation).unwrap_or_default();
    let c = state.chrome(lang(&headers, params.ui_locales.as_deref()), params.popup());
    crate::landing::logged_in(&state, jar, c, &params, &identity, &[AMR], &seen, now).await
}
