//! End-to-end tests over real HTTP on loopback: each test starts OneAuth on
//! port 0 with a fresh SQLite database and an injected clock. Files are
//! named by the rule they check.

mod support;

mod discovery;
mod errors;
mod flow;
mod openidconnect_client;
mod rfc6749_authorize;
mod rfc6749_code;
mod rfc7636_pkce;
mod ui_login;
