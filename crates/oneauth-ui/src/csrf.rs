//! CSRF protection for the UI's forms: a random cookie (HttpOnly,
//! SameSite=Lax) and, in each form, an HMAC of it under the system secret.
//! A cross-site page can neither read the cookie nor compute the token.

use crate::UiState;
use aws_lc_rs::hmac;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};

const COOKIE: &str = "oneauth_csrf";

fn token_for(state: &UiState, cookie: &str) -> String {
    oneauth_crypto::b64url(hmac::sign(&state.system_keys.csrf, cookie.as_bytes()))
}

/// The form token for this browser, setting the cookie when it has none.
pub fn ensure(state: &UiState, jar: CookieJar) -> (CookieJar, String) {
    if let Some(c) = jar.get(COOKIE).filter(|c| c.value().len() == 43) {
        let token = token_for(state, c.value());
        return (jar, token);
    }
    let value = oneauth_crypto::random_b64url(32);
    let token = token_for(state, &value);
    let cookie = Cookie::build((COOKIE, value))
        .path("/")
        .http_only(true)
        .secure(state.config.cookies_secure())
        .same_site(SameSite::Lax)
        .build();
    (jar.add(cookie), token)
}

pub fn verify(state: &UiState, jar: &CookieJar, submitted: Option<&str>) -> bool {
    match (jar.get(COOKIE), submitted) {
        (Some(c), Some(s)) => {
            oneauth_crypto::ct_eq(token_for(state, c.value()).as_bytes(), s.as_bytes())
        }
        _ => false,
    }
}
