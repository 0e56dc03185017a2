//! TOTP and recovery codes over the identity JSON API
//! (`/api/identity/totp…`, `/api/identity/recovery-codes`), on SQLite and
//! on PostgreSQL (when `ONEAUTH_TEST_DATABASE_URL` is set): enrolment
//! confirmed with a code computed here, a code counted once, wrong codes
//! counting down, recovery codes once each and replaced as a set, and
//! the refusals — no session, a stale one, another site, bad bodies,
//! `mfa.policy = off`.

use crate::support::*;
use aws_lc_rs::hmac;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Each test on SQLite, and on a fresh PostgreSQL schema when
/// `ONEAUTH_TEST_DATABASE_URL` is set (loudly skipped otherwise).
macro_rules! on_both_stores {
    ($($name:ident),+ $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(None).await;
                }
            )+
        }
        mod on_postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(url) = super::fresh_postgres(stringify!($name)).await else {
                        return;
                    };
                    super::$name(Some(url.clone())).await;
                    super::drop_schema(&url).await;
                }
            )+
        }
    };
}

on_both_stores!(
    an_app_is_enrolled_confirmed_and_each_code_counts_once,
    recovery_codes_work_once_each_and_a_new_set_retires_the_old,
    the_api_refuses_without_a_fresh_session_from_another_site_or_with_bad_bodies,
    wrong_codes_count_down_then_lock_out_with_retry_after,
);

/// A URL of a new, empty schema on `ONEAUTH_TEST_DATABASE_URL`, or `None`
/// after saying loudly that `test` skips.
pub(crate) async fn fresh_postgres(test: &str) -> Option<String> {
    use sqlx::Connection as _;
    let Some(base) = std::env::var("ONEAUTH_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        // Past libtest's capture of passing tests' output: it must be seen.
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("SKIPPED: totp::on_postgres::{test} (set ONEAUTH_TEST_DATABASE_URL)\n")
                .as_bytes(),
        );
        return None;
    };
    let schema = format!("totp_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{sep}options[search_path]={schema}"))
}

pub(crate) async fn drop_schema(url: &str) {
    use sqlx::Connection as _;
    let (base, schema) = url.rsplit_once("options[search_path]=").unwrap();
    let base = base.trim_end_matches(['?', '&']);
    let mut admin = sqlx::PgConnection::connect(base).await.unwrap();
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&mut admin)
        .await;
}

pub(crate) async fn server(
    db: Option<String>,
    tweak: impl FnOnce(&mut oneauth_core::Config),
) -> TestServer {
    TestServer::start_with(|c| {
        if let Some(url) = db {
            c.database_url = url;
        }
        c.ui.brand_name = "Acme".into();
        tweak(c);
    })
    .await
}

fn url(srv: &TestServer, path: &str) -> String {
    format!("{}/api/identity/{path}", srv.public)
}

/// Method, path and optional JSON body; the status, the `Cache-Control`
/// header and the JSON answer.
pub(crate) async fn call(
    b: &reqwest::Client,
    srv: &TestServer,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Option<String>, Value) {
    let req = b.request(method, url(srv, path));
    let req = match body {
        Some(body) => req.json(&body),
        None => req,
    };
    let res = req.send().await.unwrap();
    let status = res.status();
    let cache = res
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, cache, body)
}

fn assert_error(answer: &(StatusCode, Option<String>, Value), status: u16, error: &str) {
    let (got, _, body) = answer;
    assert_eq!(got.as_u16(), status, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    assert!(body["code"].is_u64(), "{body}");
}

/// A browser logged in as Alice with her password, just now.
pub(crate) async fn logged_in(srv: &TestServer) -> reqwest::Client {
    let b = browser();
    let res = identity_post(
        &b,
        srv,
        "login/password",
        json!({"identifier": EMAIL, "password": PASSWORD}),
    )
    .await;
    assert_eq!(res.status(), 200);
    b
}

/// The code an authenticator app shows for `secret` at the server's time.
pub(crate) fn totp(srv: &TestServer, secret: &str) -> String {
    let now = oneauth_core::Clock::now(srv.clock.as_ref()).unix_timestamp();
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &base32(secret));
    let tag = hmac::sign(&key, &((now / 30) as u64).to_be_bytes());
    let h = tag.as_ref();
    let o = usize::from(h[19] & 0x0f);
    let n = u32::from_be_bytes([h[o], h[o + 1], h[o + 2], h[o + 3]]) & 0x7fff_ffff;
    format!("{:06}", n % 1_000_000)
}

fn base32(s: &str) -> Vec<u8> {
    let (mut buffer, mut bits, mut out) = (0u64, 0, Vec::new());
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => panic!("not base32: {s}"),
        };
        buffer = (buffer << 5) | u64::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

/// Enrols an app for the logged-in browser; its secret and the first
/// recovery codes.
pub(crate) async fn enrol(srv: &TestServer, b: &reqwest::Client) -> (String, Vec<String>) {
    let (status, cache, e) = call(b, srv, Method::POST, "totp", None).await;
    assert_eq!(status, 200, "{e}");
    assert_eq!(cache.as_deref(), Some("no-store"));
    let secret = s(&e["secret"]);
    let code = totp(srv, &secret);
    let (status, cache, done) = call(
        b,
        srv,
        Method::POST,
        "totp/confirm",
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(cache.as_deref(), Some("no-store"));
    let codes = done["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(s)
        .collect();
    (secret, codes)
}

async fn an_app_is_enrolled_confirmed_and_each_code_counts_once(db: Option<String>) {
    let srv = server(db, |_| {}).await;
    let b = logged_in(&srv).await;
    let (_, _, status) = call(&b, &srv, Method::GET, "totp", None).await;
    assert_eq!(status, json!({"enrolled": false, "available": true}));

    let (status, _, e) = call(&b, &srv, Method::POST, "totp", None).await;
    assert_eq!(status, 200);
    let secret = s(&e["secret"]);
    assert_eq!(secret.len(), 32);
    assert_eq!(
        s(&e["uri"]),
        format!(
            "otpauth://totp/Acme:alice%40example.com?secret={secret}&issuer=Acme&algorithm=SHA1&digits=6&period=30"
        )
    );
    assert!(s(&e["qr_svg"]).starts_with("<svg "));
    // A wrong first code counts down and confirms nothing.
    let right: u32 = totp(&srv, &secret).parse().unwrap();
    let wrong = call(
        &b,
        &srv,
        Method::POST,
        "totp/confirm",
        Some(json!({"code": format!("{:06}", (right + 1) % 1_000_000)})),
    )
    .await;
    assert_error(&wrong, 401, "invalid_code");
    assert!(
        s(&wrong.2["error_description"]).contains("4 tries left"),
        "{}",
        wrong.2
    );
    let code = totp(&srv, &secret);
    let (status, _, done) = call(
        &b,
        &srv,
        Method::POST,
        "totp/confirm",
        Some(json!({"code": code})),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["recovery_codes"].as_array().unwrap().len(), 10);
    let (_, _, status) = call(&b, &srv, Method::GET, "totp", None).await;
    assert_eq!(status, json!({"enrolled": true, "available": true}));
    let ids = &srv.services().identities;
    let now = oneauth_core::Clock::now(srv.clock.as_ref());
    // The confirming code is used up: a replay is refused, on the
    // second-factor check the login step will call too.
    assert!(ids.verify_totp(&srv.subject, &code, now).await.is_err());
    srv.clock.advance(time::Duration::seconds(30));
    let now = oneauth_core::Clock::now(srv.clock.as_ref());
    let next = totp(&srv, &secret);
    ids.verify_totp(&srv.subject, &next, now).await.unwrap();
    assert!(ids.verify_totp(&srv.subject, &next, now).await.is_err());
    // Confirming again, or starting over, is refused once confirmed.
    let again = call(
        &b,
        &srv,
        Method::POST,
        "totp/confirm",
        Some(json!({"code": next})),
    )
    .await;
    assert_error(&again, 400, "invalid_request");
    // Starting over needs a login with the second factor now.
    let restart = call(&b, &srv, Method::POST, "totp", None).await;
    assert_error(&restart, 401, "reauthentication_required");
    // So does removing it: a password login proved one factor only.
    let remove = call(&b, &srv, Method::DELETE, "totp", None).await;
    assert_error(&remove, 401, "reauthentication_required");
    let (_, _, status) = call(&b, &srv, Method::GET, "totp", None).await;
    assert_eq!(status["enrolled"], true);
}

async fn recovery_codes_work_once_each_and_a_new_set_retires_the_old(db: Option<String>) {
    let srv = server(db, |_| {}).await;
    let b = logged_in(&srv).await;
    let none = call(&b, &srv, Method::POST, "recovery-codes", None).await;
    assert_error(&none, 400, "invalid_request");
    let (_, codes) = enrol(&srv, &b).await;
    let left = call(&b, &srv, Method::GET, "recovery-codes", None).await;
    assert_eq!(left.2, json!({"left": 10}));
    let ids = &srv.services().identities;
    let now = oneauth_core::Clock::now(srv.clock.as_ref());
    for c in &codes {
        assert_eq!(c.len(), 11, "{c}");
        ids.use_recovery_code(&srv.subject, c, now).await.unwrap();
    }
    let reused = ids.use_recovery_code(&srv.subject, &codes[0], now).await;
    assert!(
        matches!(
            reused,
            Err(oneauth_core::Error::InvalidCode {
                tries_left: Some(4)
            })
        ),
        "{reused:?}"
    );
    let left = call(&b, &srv, Method::GET, "recovery-codes", None).await;
    assert_eq!(left.2, json!({"left": 0}));
    let (status, cache, fresh) = call(&b, &srv, Method::POST, "recovery-codes", None).await;
    assert_eq!(status, 200, "{fresh}");
    assert_eq!(cache.as_deref(), Some("no-store"));
    let fresh: Vec<String> = fresh["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(s)
        .collect();
    assert_eq!(fresh.len(), 10);
    let (_, _, again) = call(&b, &srv, Method::POST, "recovery-codes", None).await;
    let newest: Vec<String> = again["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(s)
        .collect();
    assert!(
        ids.use_recovery_code(&srv.subject, &fresh[0], now)
            .await
            .is_err(),
        "a new set retires the old"
    );
    ids.use_recovery_code(&srv.subject, &newest[0], now)
        .await
        .unwrap();
    let left = call(&b, &srv, Method::GET, "recovery-codes", None).await;
    assert_eq!(left.2, json!({"left": 9}));
    // A stale login may not mint new codes.
    srv.clock.advance(time::Duration::seconds(
        srv.services().config.session.privileged_max_age_secs as i64 + 1,
    ));
    let stale = call(&b, &srv, Method::POST, "recovery-codes", None).await;
    assert_error(&stale, 401, "reauthentication_required");
}

async fn the_api_refuses_without_a_fresh_session_from_another_site_or_with_bad_bodies(
    db: Option<String>,
) {
    let srv = server(db, |_| {}).await;
    let anonymous = browser();
    for (method, path) in [
        (Method::GET, "totp"),
        (Method::POST, "totp"),
        (Method::DELETE, "totp"),
        (Method::GET, "recovery-codes"),
        (Method::POST, "recovery-codes"),
    ] {
        let answer = call(&anonymous, &srv, method.clone(), path, None).await;
        assert_error(&answer, 401, "login_required");
    }
    let answer = call(
        &anonymous,
        &srv,
        Method::POST,
        "totp/confirm",
        Some(json!({"code": "123456"})),
    )
    .await;
    assert_error(&answer, 401, "login_required");

    let b = logged_in(&srv).await;
    // Another site's page cannot start an enrolment in the user's browser.
    let res = b
        .post(url(&srv, "totp"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 403, "access_denied").await, 3001);
    // Bodies: JSON only, of the documented shape.
    let res = b
        .post(url(&srv, "totp/confirm"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("code=123456")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 415, "invalid_request").await, 4415);
    for body in [
        json!({}),
        json!({"code": 123456}),
        json!({"code": "1", "x": 1}),
    ] {
        let answer = call(&b, &srv, Method::POST, "totp/confirm", Some(body)).await;
        assert_eq!(answer.0.as_u16() / 100, 4, "{}", answer.2);
        assert_eq!(answer.2["error"], "invalid_request", "{}", answer.2);
    }
    // No enrolment started: nothing to confirm.
    let answer = call(
        &b,
        &srv,
        Method::POST,
        "totp/confirm",
        Some(json!({"code": "123456"})),
    )
    .await;
    assert_error(&answer, 400, "invalid_request");
    // A malformed code is a wrong one.
    let (status, _, _) = call(&b, &srv, Method::POST, "totp", None).await;
    assert_eq!(status, 200);
    let answer = call(
        &b,
        &srv,
        Method::POST,
        "totp/confirm",
        Some(json!({"code": "12 34"})),
    )
    .await;
    assert_error(&answer, 401, "invalid_code");
    // A stale login may not start one.
    srv.clock.advance(time::Duration::seconds(
        srv.services().config.session.privileged_max_age_secs as i64 + 1,
    ));
    let stale = call(&b, &srv, Method::POST, "totp", None).await;
    assert_error(&stale, 401, "reauthentication_required");
}

#[tokio::test]
async fn with_mfa_off_nothing_can_be_enrolled() {
    let srv = server(None, |c| {
        c.mfa.policy = oneauth_core::config::MfaPolicy::Off;
    })
    .await;
    let b = logged_in(&srv).await;
    let (_, _, status) = call(&b, &srv, Method::GET, "totp", None).await;
    assert_eq!(status, json!({"enrolled": false, "available": false}));
    let refused = call(&b, &srv, Method::POST, "totp", None).await;
    assert_error(&refused, 403, "access_denied");
    assert!(
        s(&refused.2["error_description"]).contains("mfa.policy = off"),
        "{}",
        refused.2
    );
}

#[tokio::test]
async fn the_openapi_document_lists_the_totp_endpoints() {
    let srv = TestServer::start().await;
    let doc: Value = reqwest::get(format!("{}/api/openapi.json", srv.public))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (path, methods) in [
        ("/api/identity/totp", &["get", "post", "delete"][..]),
        ("/api/identity/totp/confirm", &["post"][..]),
        ("/api/identity/recovery-codes", &["get", "post"][..]),
    ] {
        for m in methods {
            assert!(doc["paths"][path][m].is_object(), "{m} {path}");
        }
    }
}

#[tokio::test]
async fn the_settings_forms_need_their_csrf_token() {
    let srv = server(None, |_| {}).await;
    let b = logged_in(&srv).await;
    for path in [
        "/settings/totp",
        "/settings/totp/confirm",
        "/settings/totp/remove",
        "/settings/recovery-codes",
    ] {
        let res = b
            .post(format!("{}{path}", srv.ui))
            .form(&[("code", "123456")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{path}");
    }
    let (_, _, status) = call(&b, &srv, Method::GET, "totp", None).await;
    assert_eq!(status["enrolled"], false);
    assert!(
        srv.services()
            .store
            .get_totp(&srv.subject)
            .await
            .unwrap()
            .is_none(),
        "nothing was started"
    );
}

async fn wrong_codes_count_down_then_lock_out_with_retry_after(db: Option<String>) {
    let srv = server(db, |_| {}).await;
    let b = logged_in(&srv).await;
    let (_, _, e) = call(&b, &srv, Method::POST, "totp", None).await;
    let secret = s(&e["secret"]);
    let right: u32 = totp(&srv, &secret).parse().unwrap();
    let wrong = json!({"code": format!("{:06}", (right + 1) % 1_000_000)});
    for left in [
        "4 tries left",
        "3 tries left",
        "2 tries left",
        "1 try left",
        "no tries left",
    ] {
        let answer = call(&b, &srv, Method::POST, "totp/confirm", Some(wrong.clone())).await;
        assert_error(&answer, 401, "invalid_code");
        assert!(
            s(&answer.2["error_description"]).contains(left),
            "{left}: {}",
            answer.2
        );
    }
    // Locked out: the right code waits too.
    let res = b
        .post(url(&srv, "totp/confirm"))
        .json(&json!({"code": totp(&srv, &secret)}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "rate_limited");
    srv.clock.advance(time::Duration::seconds(retry as i64));
    let (status, _, done) = call(
        &b,
        &srv,
        Method::POST,
        "totp/confirm",
        Some(json!({"code": totp(&srv, &secret)})),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    let metrics = reqwest::get(format!("{}/metrics", srv.admin))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for outcome in ["invalid_code", "rate_limited", "success"] {
        let needle =
            format!("oneauth_second_factor_checks_total{{factor=\"totp\",outcome=\"{outcome}\"}}");
        assert!(metrics.contains(&needle), "/metrics lacks {needle}");
    }
}
