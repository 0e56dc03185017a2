//! End-to-end tests over real HTTP on loopback: each test starts OneAuth on
//! port 0 with a fresh SQLite database and an injected clock. Files are
//! named by the rule they check.

mod support;

mod account_pre_hijacking;
mod content_types;
mod cross_origin;
mod device_flow;
mod discovery;
mod errors;
mod flow;
mod grants_end;
mod guide_replay;
mod identity_api;
mod identity_lifecycle;
mod identity_ui;
mod keys_and_jwt;
mod limits;
mod listeners;
mod logout;
mod miniprogram;
mod native_cli;
mod no_secrets_in_logs;
mod oidc_acr;
mod openidconnect_client;
mod ops;
mod passkeys;
mod recent_login;
mod rfc6749_authorize;
mod rfc6749_client_credentials;
mod rfc6749_code;
mod rfc6749_refresh;
mod rfc7009_revoke;
mod rfc7636_pkce;
mod rfc7662_introspect;
mod rfc8252_native;
mod scope_limits;
mod second_factor;
mod silent_exchange;
mod social_login;
// TOTP and recovery codes (issue 17).
mod totp;
mod ui_login;
mod ui_templates;
