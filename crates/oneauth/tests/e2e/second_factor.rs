//! The second-factor step (issue 17): a first factor leaves the session
//! pending when the MFA policy or the person's enrolled factors ask for
//! more; a pending session counts for nothing but the second-factor step;
//! clients with `require_mfa` and requests with the multi-factor
//! `acr_values` step a live session up; logins without a browser are
//! refused when a second factor would be due.

use crate::support::*;
use oneauth_core::config::MfaPolicy;
use serde_json::{Value, json};

fn required(c: &mut oneauth_core::Config) {
    c.mfa.policy = MfaPolicy::Required;
}

/// The login challenge of a fresh authorization request in `b`.
async fn challenge(srv: &TestServer, b: &reqwest::Client, extra: &[(&str, &str)]) -> String {
    let res = b.get(srv.authorize_url(extra)).send().await.unwrap();
    let login = location(&res);
    query_param(&login, "login_challenge").unwrap_or_else(|| panic!("no challenge in {login}"))
}

/// `PUT /api/hydra/login/accept` for `challenge` with `b`'s session.
async fn accept(srv: &TestServer, b: &reqwest::Client, challenge: &str) -> reqwest::Response {
    b.put(format!(
        "{}/api/hydra/login/accept?login_challenge={}",
        srv.public,
        urlencode(challenge)
    ))
    .send()
    .await
    .unwrap()
}

async fn login_request(srv: &TestServer, b: &reqwest::Client, challenge: &str) -> Value {
    let res = b
        .get(format!(
            "{}/api/hydra/login?login_challenge={}",
            srv.public,
            urlencode(challenge)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn under_the_required_policy_a_password_leaves_the_session_pending() {
    let srv = TestServer::start_with(required).await;
    let b = browser();
    let ch = challenge(&srv, &b, &[]).await;
    let before = login_request(&srv, &b, &ch).await;
    assert_eq!(before["authentication"]["needed"], json!(["first_factor"]));
    assert_eq!(before["authentication"]["done"], json!([]));

    let login = json!({ "identifier": EMAIL, "password": PASSWORD, "login_challenge": ch });
    let res = identity_post(&b, &srv, "login/password", login).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["second_factor_required"], true, "{body}");
    assert!(
        body.get("redirect_to").is_none(),
        "not on to the client yet"
    );

    // Nothing counts the pending session as a login: the account API,
    // the challenge acceptance, the authorization endpoint.
    let res = b
        .get(format!("{}/api/identity/whoami", srv.public))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 401, "login_required").await, 2004);
    let res = accept(&srv, &b, &ch).await;
    assert_eq!(res.status(), 401);
    let res = b.get(srv.authorize_url(&[])).send().await.unwrap();
    assert!(
        location(&res).starts_with(&format!("{}/login?", srv.ui)),
        "a new request starts at the login page"
    );

    // A custom UI learns where the login stands: a password, and an
    // authenticator to enrol (Alice has none).
    let progress = login_request(&srv, &b, &ch).await["authentication"].clone();
    assert_eq!(progress["done"], json!(["pwd"]));
    assert_eq!(progress["needed"], json!(["enrol_second_factor"]));
    assert_eq!(progress["second_factors"], json!([]));

    // A wrong second factor is refused in the documented shape.
    let res = identity_post(
        &b,
        &srv,
        "login/second-factor",
        json!({ "method": "totp", "code": "000000", "login_challenge": ch }),
    )
    .await;
    assert_eq!(error_code(res, 401, "invalid_code").await, 2006);
}

#[tokio::test]
async fn the_second_factor_step_needs_a_session_and_a_well_formed_body() {
    let srv = TestServer::start_with(required).await;
    let b = browser();
    let res = identity_post(
        &b,
        &srv,
        "login/second-factor",
        json!({ "method": "totp", "code": "123456" }),
    )
    .await;
    assert_eq!(error_code(res, 401, "login_required").await, 2004);
    let res = identity_post(
        &b,
        &srv,
        "login/second-factor",
        json!({ "method": "sms", "code": "123456" }),
    )
    .await;
    assert_eq!(res.status(), 400, "unknown method");
    // The UI page without a session starts the login over.
    let res = b
        .get(format!("{}/login/second-factor?login_challenge=x", srv.ui))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("/login?"), "{}", location(&res));
}

#[tokio::test]
async fn under_the_required_policy_the_ui_sends_a_password_login_to_the_second_factor_step() {
    let srv = TestServer::start_with(required).await;
    let b = browser();
    let res = b.get(srv.authorize_url(&[])).send().await.unwrap();
    let res = submit_login(&b, &location(&res), PASSWORD).await;
    assert_eq!(res.status(), 303);
    let to = location(&res);
    assert!(
        to.starts_with("/login/second-factor?login_challenge="),
        "{to}"
    );
}

/// The guide's CLI password login (`/oauth/native/cli`) as `client_id`.
async fn cli_password_login(srv: &TestServer, client_id: &str) -> reqwest::Response {
    post_json(
        format!("{}/oauth/native/cli", srv.public),
        json!({
            "client_id": client_id,
            "username": EMAIL,
            "password": PASSWORD,
            "code_verifier": VERIFIER,
            "scope": "openid"
        }),
    )
    .await
}

#[tokio::test]
async fn a_cli_password_login_is_refused_when_a_second_factor_is_due() {
    let srv = TestServer::start_with(required).await;
    let res = cli_password_login(&srv, "web-app").await;
    assert_eq!(error_code(res, 401, "second_factor_required").await, 2010);
}

/// Registers a second client like the guide's, with `require_mfa`.
async fn strict_client(srv: &TestServer) {
    let now = oneauth_core::Clock::now(srv.clock.as_ref());
    let mut strict = guide_client();
    strict.client_id = Some("strict-app".into());
    strict.require_mfa = true;
    srv.server().create_client(strict, now).await.unwrap();
}

/// A browser with a complete password session (policy optional, Alice
/// enrolled nothing: no second factor asked).
async fn signed_in(srv: &TestServer) -> reqwest::Client {
    let b = browser();
    let login = json!({ "identifier": EMAIL, "password": PASSWORD });
    let res = identity_post(&b, srv, "login/password", login).await;
    let body: Value = res.json().await.unwrap();
    assert!(body.get("second_factor_required").is_none(), "{body}");
    b
}

#[tokio::test]
async fn a_client_with_require_mfa_steps_a_live_session_up() {
    let srv = TestServer::start().await;
    strict_client(&srv).await;
    let b = signed_in(&srv).await;
    // The guide's client takes the session as it is …
    let res = b.get(srv.authorize_url(&[])).send().await.unwrap();
    assert!(location(&res).starts_with(REDIRECT), "{}", location(&res));
    // … the strict one sends it to the second-factor step, not to a new login.
    let res = b
        .get(srv.authorize_url(&[("client_id", "strict-app")]))
        .send()
        .await
        .unwrap();
    let to = location(&res);
    assert!(
        to.starts_with(&format!("{}/login/second-factor?login_challenge=", srv.ui)),
        "{to}"
    );
    let ch = query_param(&to, "login_challenge").unwrap();
    let progress = login_request(&srv, &b, &ch).await["authentication"].clone();
    assert_eq!(progress["done"], json!(["pwd"]));
    assert_eq!(progress["needed"], json!(["enrol_second_factor"]));
    // Accepting it without the factor is refused with its own error.
    let res = accept(&srv, &b, &ch).await;
    assert_eq!(error_code(res, 401, "second_factor_required").await, 2010);
    // prompt=none cannot ask: the client hears login_required.
    let res = b
        .get(srv.authorize_url(&[("client_id", "strict-app"), ("prompt", "none")]))
        .send()
        .await
        .unwrap();
    let back = location(&res);
    assert!(back.starts_with(REDIRECT), "{back}");
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("login_required")
    );
    // The silent exchange of the strict client is refused too.
    let res = b
        .post(format!("{}/api/oauth/web/exchange", srv.public))
        .json(&json!({
            "client_id": "strict-app",
            "redirect_uri": REDIRECT,
            "scope": "openid",
            "code_verifier": VERIFIER,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 401, "second_factor_required").await, 2010);
}

#[tokio::test]
async fn acr_values_asking_for_mfa_step_a_live_session_up() {
    let srv = TestServer::start().await;
    let b = signed_in(&srv).await;
    let res = b
        .get(srv.authorize_url(&[("acr_values", oneauth_oauth2::mfa::ACR_MFA)]))
        .send()
        .await
        .unwrap();
    assert!(
        location(&res).starts_with(&format!("{}/login/second-factor?", srv.ui)),
        "{}",
        location(&res)
    );
    // A fresh password login for such a request lands on the step as well.
    let b = browser();
    let res = b
        .get(srv.authorize_url(&[("acr_values", oneauth_oauth2::mfa::ACR_MFA)]))
        .send()
        .await
        .unwrap();
    let res = submit_login(&b, &location(&res), PASSWORD).await;
    assert!(
        location(&res).starts_with("/login/second-factor?login_challenge="),
        "{}",
        location(&res)
    );
}

#[tokio::test]
async fn a_cli_login_for_a_client_with_require_mfa_is_refused() {
    let srv = TestServer::start().await;
    strict_client(&srv).await;
    let res = cli_password_login(&srv, "strict-app").await;
    assert_eq!(error_code(res, 401, "second_factor_required").await, 2010);
}

/// The payload of a token response's id_token.
fn id_token_claims(tokens: &Value) -> Value {
    let payload = s(&tokens["id_token"]).split('.').nth(1).unwrap().to_owned();
    serde_json::from_slice(&oneauth_crypto::b64url_decode(&payload).unwrap()).unwrap()
}

/// A password login for an authorization request in a new browser: the
/// browser and the challenge its login now waits on.
async fn pending_login(srv: &TestServer) -> (reqwest::Client, String) {
    let b = browser();
    let ch = challenge(srv, &b, &[]).await;
    let login = json!({ "identifier": EMAIL, "password": PASSWORD, "login_challenge": ch });
    let body: Value = identity_post(&b, srv, "login/password", login)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["second_factor_required"], true, "{body}");
    (b, ch)
}

async fn second_factor(
    srv: &TestServer,
    b: &reqwest::Client,
    method: &str,
    code: &str,
    ch: &str,
) -> reqwest::Response {
    let body = json!({ "method": method, "code": code, "login_challenge": ch });
    identity_post(b, srv, "login/second-factor", body).await
}

async fn an_enrolled_authenticator_is_asked_at_every_login(db: Option<String>) {
    use crate::totp::{enrol, logged_in, server, totp};
    let srv = server(db, |_| {}).await;
    let (secret, recovery) = enrol(&srv, &logged_in(&srv).await).await;

    let (b, ch) = pending_login(&srv).await;
    let progress = login_request(&srv, &b, &ch).await["authentication"].clone();
    assert_eq!(progress["needed"], json!(["second_factor"]));
    assert_eq!(progress["second_factors"], json!(["totp", "recovery_code"]));
    // The code that confirmed the enrolment was this step's: used.
    let res = second_factor(&srv, &b, "totp", &totp(&srv, &secret), &ch).await;
    assert_eq!(error_code(res, 401, "invalid_code").await, 2006);
    srv.clock.advance(time::Duration::seconds(30));
    let res = second_factor(&srv, &b, "totp", &totp(&srv, &secret), &ch).await;
    assert_eq!(res.status(), 200);
    let done: Value = res.json().await.unwrap();
    assert_eq!(
        done["session"]["amr"],
        json!(["pwd", "otp", "mfa"]),
        "{done}"
    );
    let callback = follow_to_client(&b, s(&done["redirect_to"])).await;
    let code = query_param(&callback, "code").unwrap();
    let tokens: Value = exchange(&srv, &code, VERIFIER).await.json().await.unwrap();
    let claims = id_token_claims(&tokens);
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], oneauth_oauth2::mfa::ACR_MFA);
    // The same step again, in another login: refused.
    let (b2, ch2) = pending_login(&srv).await;
    let res = second_factor(&srv, &b2, "totp", &totp(&srv, &secret), &ch2).await;
    assert_eq!(error_code(res, 401, "invalid_code").await, 2006);
    // A recovery code instead, once.
    let res = second_factor(&srv, &b2, "recovery_code", &recovery[0], &ch2).await;
    assert_eq!(res.status(), 200);
    let (b3, ch3) = pending_login(&srv).await;
    let res = second_factor(&srv, &b3, "recovery_code", &recovery[0], &ch3).await;
    assert_eq!(error_code(res, 401, "invalid_code").await, 2006);
    // The multi-factor session (recent) may remove the app; the next login
    // asks for no second factor.
    let res = b
        .delete(format!("{}/api/identity/totp", srv.public))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let login = json!({ "identifier": EMAIL, "password": PASSWORD });
    let body: Value = identity_post(&browser(), &srv, "login/password", login)
        .await
        .json()
        .await
        .unwrap();
    assert!(body.get("second_factor_required").is_none(), "{body}");
}

#[tokio::test]
async fn an_enrolled_authenticator_is_asked_at_every_login_on_sqlite() {
    an_enrolled_authenticator_is_asked_at_every_login(None).await;
}

#[tokio::test]
async fn an_enrolled_authenticator_is_asked_at_every_login_on_postgres() {
    let test = "an_enrolled_authenticator_is_asked_at_every_login";
    let Some(url) = crate::totp::fresh_postgres(test).await else {
        return;
    };
    an_enrolled_authenticator_is_asked_at_every_login(Some(url.clone())).await;
    crate::totp::drop_schema(&url).await;
}

/// Recovery by an email code sets the new password, but the login it makes
/// still waits for the second factor: the mailbox alone does not own the
/// account.
#[tokio::test]
async fn a_recovery_by_email_code_still_needs_the_second_factor() {
    use crate::totp::{enrol, logged_in, totp};
    let (srv, inbox) = server_with_inbox().await;
    verify_alice(&srv, &inbox).await;
    let (secret, _) = enrol(&srv, &logged_in(&srv).await).await;
    let lost = browser();
    let send = json!({ "address": EMAIL });
    assert_eq!(
        identity_post(&lost, &srv, "recovery/send", send)
            .await
            .status(),
        202
    );
    let code = inbox.code_for(EMAIL, "recovery_code").await;
    let reset = json!({ "address": EMAIL, "code": code, "new_password": "a recovered passphrase" });
    let res = identity_post(&lost, &srv, "recovery", reset).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["second_factor_required"], true, "{body}");
    let res = lost
        .get(format!("{}/api/identity/whoami", srv.public))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 401, "login_required").await, 2004);
    srv.clock.advance(time::Duration::seconds(30));
    let res = identity_post(
        &lost,
        &srv,
        "login/second-factor",
        json!({ "method": "totp", "code": totp(&srv, &secret) }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let done: Value = res.json().await.unwrap();
    assert_eq!(done["session"]["amr"], json!(["otp", "mfa"]), "{done}");
}

/// `prompt=login` and `max_age` need both factors again: a second factor
/// alone on top of an old session does not make a fresh login.
#[tokio::test]
async fn prompt_login_and_max_age_need_both_factors_again() {
    use crate::totp::{enrol, logged_in, totp};
    let srv = TestServer::start().await;
    let (secret, _) = enrol(&srv, &logged_in(&srv).await).await;
    let (b, ch) = pending_login(&srv).await;
    srv.clock.advance(time::Duration::seconds(30));
    let res = second_factor(&srv, &b, "totp", &totp(&srv, &secret), &ch).await;
    assert_eq!(res.status(), 200);
    srv.clock.advance(time::Duration::seconds(120));
    for fresh in [("prompt", "login"), ("max_age", "60")] {
        let res = b.get(srv.authorize_url(&[fresh])).send().await.unwrap();
        let to = location(&res);
        assert!(
            to.starts_with(&format!("{}/login?", srv.ui)),
            "{fresh:?}: a new login, not the second-factor step: {to}"
        );
        let ch = query_param(&to, "login_challenge").unwrap();
        // The live multi-factor session is too old for this request.
        let progress = login_request(&srv, &b, &ch).await["authentication"].clone();
        assert_eq!(progress["needed"], json!(["first_factor"]), "{fresh:?}");
        let res = accept(&srv, &b, &ch).await;
        assert_eq!(error_code(res, 401, "login_required").await, 2004);
    }
    // The password again leaves the new session pending: both factors.
    let ch = challenge(&srv, &b, &[("prompt", "login")]).await;
    let login = json!({ "identifier": EMAIL, "password": PASSWORD, "login_challenge": ch });
    let body: Value = identity_post(&b, &srv, "login/password", login)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["second_factor_required"], true, "{body}");
}

/// A step-up that has to enrol a first factor needs a recent login: an old
/// session is sent to sign in again (then comes back with a fresh one).
#[tokio::test]
async fn a_step_up_of_an_old_session_without_factors_signs_in_again_first() {
    let srv = TestServer::start().await;
    strict_client(&srv).await;
    let b = signed_in(&srv).await;
    srv.clock.advance(time::Duration::seconds(3600));
    let res = b
        .get(srv.authorize_url(&[("client_id", "strict-app")]))
        .send()
        .await
        .unwrap();
    let step = location(&res);
    assert!(step.contains("/login/second-factor?"), "{step}");
    let res = b.get(&step).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let again = location(&res);
    assert!(again.starts_with("/login?login_challenge="), "{again}");
    // The password again: a fresh session, and the enrolment is offered.
    let res = submit_login(&b, &format!("{}{again}", srv.ui), PASSWORD).await;
    let to = location(&res);
    assert!(to.starts_with("/login/second-factor?"), "{to}");
    let html = page_text(&b, format!("{}{to}", srv.ui)).await;
    assert!(html.contains("totp-secret"), "the enrolment: {html}");
}

/// Who may not use the step: another site's page (the Origin check, even
/// with the pending session's cookie), a form without its CSRF token, and
/// a browser without a session (the passkey pair too).
#[tokio::test]
async fn the_second_factor_step_refuses_other_sites_forged_forms_and_no_session() {
    use crate::totp::{enrol, logged_in, totp};
    let srv = TestServer::start().await;
    let (secret, _) = enrol(&srv, &logged_in(&srv).await).await;
    let (b, ch) = pending_login(&srv).await;
    srv.clock.advance(time::Duration::seconds(30));
    let code = totp(&srv, &secret);
    let api = |path: &str| format!("{}/api/identity/login/{path}", srv.public);
    for (path, body) in [
        (
            "second-factor",
            json!({ "method": "totp", "code": code, "login_challenge": ch }),
        ),
        ("second-factor/passkey/options", json!({})),
        (
            "second-factor/passkey",
            json!({ "ceremony_id": "x", "credential": {} }),
        ),
    ] {
        let res = b
            .post(api(path))
            .header("Origin", "https://evil.example")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{path} from another site");
        let res = browser().post(api(path)).json(&body).send().await.unwrap();
        assert_eq!(
            error_code(res, 401, "login_required").await,
            2004,
            "{path} without a session"
        );
    }
    // The UI form without its CSRF token.
    let res = b
        .post(format!("{}/login/second-factor", srv.ui))
        .form(&[
            ("method", "totp"),
            ("code", code.as_str()),
            ("login_challenge", ch.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403, "a forged form");
    // None of it spent the code: the right one still completes the login.
    let res = second_factor(&srv, &b, "totp", &code, &ch).await;
    assert_eq!(res.status(), 200);
}

/// Signing out ends a session still waiting for its second factor: the
/// step cannot be finished with it afterwards.
#[tokio::test]
async fn logout_ends_a_pending_session() {
    use crate::totp::{enrol, logged_in, totp};
    let srv = TestServer::start().await;
    let (secret, _) = enrol(&srv, &logged_in(&srv).await).await;
    let (b, ch) = pending_login(&srv).await;
    let res = b
        .get(format!(
            "{}/api/auth/logout?post_logout_redirect_uri={}",
            srv.public,
            urlencode("http://127.0.0.1:3000")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let res = confirm_logout(&srv, &b, &location(&res)).await;
    assert_eq!(res.status(), 303);
    srv.clock.advance(time::Duration::seconds(30));
    let res = second_factor(&srv, &b, "totp", &totp(&srv, &secret), &ch).await;
    assert_eq!(error_code(res, 401, "login_required").await, 2004);
}
