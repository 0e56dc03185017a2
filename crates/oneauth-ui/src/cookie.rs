//! The login session cookie (`session.cookie_name`, `ory_kratos_session` by
//! default), built here only: the login pages and the identity JSON API set
//! it with the same attributes, and logout clears it with the same path and
//! domain. Also the sign-up proof cookie, set by both after a sign-up.

use axum_extra::extract::cookie::{Cookie, SameSite};
use oneauth_core::Config;

/// The cookie carrying a new session's token: HttpOnly, `SameSite=Lax`
/// (it must come along on the top-level redirect back from a client),
/// `Secure` under HTTPS, host-only unless `session.cookie_domain` is set,
/// and lasting as long as the session.
pub fn session(config: &Config, value: String) -> Cookie<'static> {
    let mut c = Cookie::build((config.session.cookie_name.clone(), value))
        .path("/")
        .http_only(true)
        .secure(config.cookies_secure())
        .same_site(SameSite::Lax)
        .max_age(time::Duration::seconds(config.session.lifetime_secs as i64))
        .build();
    if !config.session.cookie_domain.is_empty() {
        c.set_domain(config.session.cookie_domain.clone());
    }
    c
}

/// What `CookieJar::remove` needs to delete the session cookie: its name,
/// path and domain.
pub fn session_removal(config: &Config) -> Cookie<'static> {
    let mut c = Cookie::build((config.session.cookie_name.clone(), ""))
        .path("/")
        .build();
    if !config.session.cookie_domain.is_empty() {
        c.set_domain(config.session.cookie_domain.clone());
    }
    c
}

/// Name of the cookie with the sign-up proof (`oneauth_identity::SignUp`).
pub const SIGNUP: &str = "oneauth_signup";

/// The sign-up proof of the browser that signed up: proving an address from
/// this browser keeps the password chosen at the sign-up. HttpOnly,
/// `SameSite=Lax`, host-only, for a session's lifetime (a sign-up finished
/// the same day).
pub fn signup(config: &Config, proof: String) -> Cookie<'static> {
    Cookie::build((SIGNUP, proof))
        .path("/")
        .http_only(true)
        .secure(config.cookies_secure())
        .same_site(SameSite::Lax)
        .max_age(time::Duration::seconds(config.session.lifetime_secs as i64))
        .build()
}
