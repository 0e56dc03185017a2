//! The identity JSON API (`/api/identity/…`) over HTTP, codes delivered by
//! the courier to a webhook receiver the test runs: a person's whole walk
//! (sign-up, verification, logins by password and by code, settings,
//! sessions, recovery), logins that continue an OAuth2 flow, and the rules
//! the API keeps — no calls from other sites, JSON bodies only, the same
//! answers for unknown addresses, login rate limits — and its OpenAPI
//! document.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const BOB: &str = "bob@example.com";
const BOB_PW: &str = "a perfectly long passphrase";

fn url(srv: &TestServer, path: &str) -> String {
    format!("{}/api/identity/{path}", srv.public)
}

async fn send(
    b: &reqwest::Client,
    method: Method,
    url: String,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let req = b.request(method, url);
    let req = match body {
        Some(body) => req.json(&body),
        None => req,
    };
    let res = req.send().await.unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, body)
}

async fn post(
    b: &reqwest::Client,
    srv: &TestServer,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    send(b, Method::POST, url(srv, path), Some(body)).await
}

async fn get(b: &reqwest::Client, srv: &TestServer, path: &str) -> (StatusCode, Value) {
    send(b, Method::GET, url(srv, path), None).await
}

fn assert_error(answer: &(StatusCode, Value), status: u16, error: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"], error, "{}", answer.1);
    assert!(answer.1["error_description"].is_string(), "{}", answer.1);
    assert!(answer.1["code"].is_u64(), "{}", answer.1);
}

/// The session cookie a response sets, as its `Set-Cookie` line.
fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("ory_kratos_session="))
        .map(str::to_owned)
}

/// `Set-Cookie` without its value.
fn attributes(set_cookie: &str) -> Vec<String> {
    let mut parts: Vec<String> = set_cookie
        .split(';')
        .skip(1)
        .map(|p| p.trim().to_ascii_lowercase())
        .collect();
    parts.sort();
    parts
}

async fn password_login(b: &reqwest::Client, srv: &TestServer, who: &str, pw: &str) -> Value {
    let answer = post(
        b,
        srv,
        "login/password",
        json!({ "identifier": who, "password": pw }),
    )
    .await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    answer.1
}

#[tokio::test]
async fn a_person_signs_up_verifies_logs_in_manages_the_account_and_recovers_it() {
    let (srv, inbox) = server_with_inbox().await;
    let b = browser();
    let registration = |confirmation: &str| {
        json!({
            "email": "Bob@Example.com",
            "username": "Bob",
            "name": "Bob",
            "password": BOB_PW,
            "password_confirmation": confirmation,
            "verify_method": "email",
            "confirm_password": true,
            "require_username": true,
            "require_name": true,
        })
    };
    let typo = post(&b, &srv, "registration", registration("typo")).await;
    assert_error(&typo, 400, "invalid_request");
    let mut nameless = registration(BOB_PW);
    nameless["name"] = Value::Null;
    assert_error(
        &post(&b, &srv, "registration", nameless).await,
        400,
        "invalid_request",
    );
    let (status, body) = post(&b, &srv, "registration", registration(BOB_PW)).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        body,
        json!({ "verify": [{ "channel": "email", "address": BOB }] })
    );

    // Verification by the code the courier delivered.
    let code = inbox.code_for(BOB, "verification_code").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_error(
        &post(
            &b,
            &srv,
            "verification",
            json!({ "address": BOB, "code": wrong }),
        )
        .await,
        401,
        "invalid_code",
    );
    let (status, body) = post(
        &b,
        &srv,
        "verification",
        json!({ "address": BOB, "code": code }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["identity"]["email_verified"], true);
    assert!(body.get("session").is_none(), "no login without `login`");
    assert_error(&get(&b, &srv, "whoami").await, 401, "login_required");

    // Login by password (username), with the UI's very cookie.
    let res = b
        .post(url(&srv, "login/password"))
        .json(&json!({ "identifier": "bob", "password": BOB_PW }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let api_cookie = session_cookie(&res).expect("the session cookie is set");
    let ui_browser = browser();
    let page = ui_browser
        .get(format!("{}/login", srv.ui))
        .send()
        .await
        .unwrap();
    let csrf = hidden(&page.text().await.unwrap(), "csrf_token").unwrap();
    let ui_login = ui_browser
        .post(format!("{}/login", srv.ui))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("method", "password"),
            ("identifier", "bob"),
            ("password", BOB_PW),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ui_login.status(), 303);
    let ui_cookie = session_cookie(&ui_login).unwrap();
    assert_eq!(attributes(&api_cookie), attributes(&ui_cookie));
    assert!(attributes(&api_cookie).contains(&"httponly".to_owned()));
    assert!(attributes(&api_cookie).contains(&"samesite=lax".to_owned()));

    let (status, me) = get(&b, &srv, "whoami").await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["identity"]["username"], "bob");
    assert_eq!(me["identity"]["email"], BOB);
    assert_eq!(me["session"]["amr"], json!(["pwd"]));
    assert_eq!(me["session"]["current"], true);

    // Login by an email code in another browser, once the sign-up code's
    // cool-down (one for every message to the address) is over.
    srv.clock.advance(time::Duration::seconds(61));
    let phone = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
        .build()
        .unwrap();
    let (status, sent) = post(
        &phone,
        &srv,
        "login/code/send",
        json!({ "method": "email_code", "identifier": BOB }),
    )
    .await;
    assert_eq!(status, 202, "{sent}");
    assert_eq!(sent, json!({ "expires_in": 600, "resend_after": 60 }));
    let code = inbox.code_for(BOB, "login_code").await;
    let (status, body) = post(
        &phone,
        &srv,
        "login/code",
        json!({ "method": "email_code", "identifier": BOB, "code": code }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session"]["amr"], json!(["otp"]));
    let phone_session = body["session"]["id"].as_str().unwrap().to_owned();

    // Sessions: this browser, the UI's and the phone's.
    let (_, list) = get(&b, &srv, "sessions").await;
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 3, "{list}");
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    // Each says where it came from: device and browser from the login's
    // User-Agent, its IP as the server saw it, its start and last use.
    let on_phone = sessions.iter().find(|s| s["id"] == phone_session).unwrap();
    assert_eq!(on_phone["device"], "iPhone", "{on_phone}");
    assert_eq!(on_phone["browser"], "Safari 17", "{on_phone}");
    assert_eq!(on_phone["ip"], "127.0.0.1", "{on_phone}");
    assert_eq!(on_phone["last_used_at"], on_phone["authenticated_at"]);
    assert_eq!(on_phone["current"], false);

    // Settings: profile fields left out stay, null clears.
    let (status, body) = send(
        &b,
        Method::PATCH,
        url(&srv, "settings/profile"),
        Some(json!({ "name": "Robert" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["identity"]["name"], "Robert");
    assert_eq!(body["identity"]["username"], "bob");
    let (_, body) = send(
        &b,
        Method::PATCH,
        url(&srv, "settings/profile"),
        Some(json!({ "username": null })),
    )
    .await;
    assert_eq!(body["identity"]["username"], Value::Null);
    assert_eq!(body["identity"]["name"], "Robert");

    // One session ends by id (the phone's), the others all at once.
    let (status, body) = send(
        &b,
        Method::DELETE,
        url(&srv, &format!("sessions/{phone_session}")),
        None,
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "ended": 1 })));
    assert_error(&get(&phone, &srv, "whoami").await, 401, "login_required");
    assert_error(
        &send(&b, Method::DELETE, url(&srv, "sessions/nope"), None).await,
        404,
        "not_found",
    );
    let (status, body) = send(&b, Method::DELETE, url(&srv, "sessions"), None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "ended": 1 })));
    let ui_settings = ui_browser
        .get(format!("{}/settings", srv.ui))
        .send()
        .await
        .unwrap();
    assert_eq!(ui_settings.status(), 303, "the UI's session ended");

    // A password change ends the other sessions. (A new minute: the login
    // limit per identifier holds 10 attempts a minute.)
    srv.clock.advance(time::Duration::seconds(61));
    let other = browser();
    password_login(&other, &srv, BOB, BOB_PW).await;
    let change =
        |current: &str, new: &str| json!({ "current_password": current, "new_password": new });
    assert_error(
        &post(
            &b,
            &srv,
            "settings/password",
            change("wrong", "another long passphrase"),
        )
        .await,
        401,
        "invalid_credentials",
    );
    assert_error(
        &post(&b, &srv, "settings/password", change(BOB_PW, "password")).await,
        400,
        "weak_password",
    );
    let (status, body) = post(
        &b,
        &srv,
        "settings/password",
        change(BOB_PW, "another long passphrase"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(get(&b, &srv, "whoami").await.0, 200);
    assert_error(&get(&other, &srv, "whoami").await, 401, "login_required");

    // Recovery by a code to the verified address: a new password, every
    // old session ended, the recovering browser logged in.
    let lost = browser();
    let (status, _) = post(&lost, &srv, "recovery/send", json!({ "address": BOB })).await;
    assert_eq!(status, 202);
    let code = inbox.code_for(BOB, "recovery_code").await;
    assert_error(
        &post(
            &lost,
            &srv,
            "recovery",
            json!({ "address": BOB, "code": code, "new_password": "12345678" }),
        )
        .await,
        400,
        "weak_password",
    );
    let (status, body) = post(
        &lost,
        &srv,
        "recovery",
        json!({ "address": BOB, "code": code, "new_password": "a recovered passphrase" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(get(&lost, &srv, "whoami").await.0, 200);
    assert_error(&get(&b, &srv, "whoami").await, 401, "login_required");
    password_login(&browser(), &srv, BOB, "a recovered passphrase").await;
    assert!(!logged().contains(&code), "codes never reach the logs");
}

#[tokio::test]
async fn logins_with_a_login_challenge_continue_the_oauth2_flow() {
    let (srv, inbox) = server_with_inbox().await;
    // Sign-up by phone, verified and logged in at once.
    let b = browser();
    let (status, body) = post(
        &b,
        &srv,
        "registration",
        json!({ "phone": "+86 138 0013 8000", "password": BOB_PW, "verify_method": "phone" }),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["verify"][0]["address"], "+8613800138000");
    let code = inbox.code_for("+8613800138000", "verification_code").await;
    let res = b.get(srv.authorize_url(&[])).send().await.unwrap();
    let challenge = query_param(&location(&res), "login_challenge").unwrap();
    let (status, body) = post(
        &b,
        &srv,
        "verification",
        json!({
            "address": "0086 138-0013-8000",
            "code": code,
            "login": true,
            "login_challenge": challenge,
        }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["identity"]["phone_verified"], true);
    let callback = follow_to_client(&b, s(&body["redirect_to"])).await;
    assert!(query_param(&callback, "code").is_some(), "{callback}");

    // An SMS-code login for another authorization request, after the
    // sign-up code's cool-down.
    srv.clock.advance(time::Duration::seconds(61));
    let b = browser();
    let res = b.get(srv.authorize_url(&[])).send().await.unwrap();
    let challenge = query_param(&location(&res), "login_challenge").unwrap();
    let (status, _) = post(
        &b,
        &srv,
        "login/code/send",
        json!({ "method": "sms_code", "identifier": "+86 138 0013 8000" }),
    )
    .await;
    assert_eq!(status, 202);
    let code = inbox.code_for("+8613800138000", "login_code").await;
    let (status, body) = post(
        &b,
        &srv,
        "login/code",
        json!({
            "method": "sms_code",
            "identifier": "+8613800138000",
            "code": code,
            "login_challenge": challenge,
        }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session"]["amr"], json!(["sms"]));
    let callback = follow_to_client(&b, s(&body["redirect_to"])).await;
    let code = query_param(&callback, "code").unwrap();
    let tokens: Value = exchange(&srv, &code, VERIFIER).await.json().await.unwrap();
    assert!(tokens["id_token"].is_string(), "{tokens}");

    // A password login with a used challenge: the session starts, the
    // challenge is refused.
    let (status, body) = post(
        &browser(),
        &srv,
        "login/password",
        json!({ "identifier": EMAIL, "password": PASSWORD, "login_challenge": challenge }),
    )
    .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn other_sites_cannot_call_the_api_with_the_cookie() {
    let (srv, _) = server_with_inbox().await;
    let b = browser();
    let evil = "https://evil.example";
    let res = b
        .post(url(&srv, "login/password"))
        .header("Origin", evil)
        .json(&json!({ "identifier": EMAIL, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(
        session_cookie(&res).is_none(),
        "no login cookie for a forged login"
    );
    assert_eq!(error_code(res, 403, "access_denied").await, 3001);

    // A registered client's origin may not either: it is a third party
    // (until #13 it could; cross_origin.rs has the whole rule).
    let res = b
        .post(url(&srv, "login/password"))
        .header("Origin", "http://127.0.0.1:3000")
        .json(&json!({ "identifier": EMAIL, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 403, "access_denied").await, 3001);
    // OneAuth's own origins may.
    for origin in [srv.ui.as_str(), srv.public.as_str()] {
        let res = b
            .post(url(&srv, "login/password"))
            .header("Origin", origin)
            .json(&json!({ "identifier": EMAIL, "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{origin}");
    }
    // With the cookie now in the browser, every state change is refused
    // from the other site.
    let forged: [(Method, &str, Option<Value>); 5] = [
        (
            Method::POST,
            "settings/password",
            Some(json!({ "current_password": PASSWORD, "new_password": "hijacked passphrase" })),
        ),
        (
            Method::PATCH,
            "settings/profile",
            Some(json!({ "name": "Mallory" })),
        ),
        (Method::DELETE, "sessions", None),
        (Method::DELETE, "sessions/any", None),
        (
            Method::POST,
            "recovery/send",
            Some(json!({ "address": EMAIL })),
        ),
    ];
    for (method, path, body) in forged {
        let mut req = b
            .request(method.clone(), url(&srv, path))
            .header("Origin", evil);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 403, "{method} {path}");
    }
    let (_, me) = get(&b, &srv, "whoami").await;
    assert_eq!(me["identity"]["name"], "Alice Example", "nothing changed");
    let (_, list) = get(&b, &srv, "sessions").await;
    assert_eq!(
        list["sessions"].as_array().unwrap().len(),
        1,
        "the second login replaced the first session: {list}"
    );

    // CORS: the preflight a cross-origin script needs fails for the other
    // site and for a registered client, and passes for OneAuth's UI.
    let preflight = |origin: &str| {
        reqwest::Client::new()
            .request(Method::OPTIONS, url(&srv, "settings/profile"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "PATCH")
            .header("Access-Control-Request-Headers", "content-type")
            .send()
    };
    for origin in [evil, "http://127.0.0.1:3000"] {
        let res = preflight(origin).await.unwrap();
        assert!(
            res.headers().get("access-control-allow-origin").is_none(),
            "{origin}"
        );
    }
    let res = preflight(&srv.ui).await.unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        srv.ui.as_str()
    );
    assert_eq!(res.headers()["access-control-allow-credentials"], "true");
    let methods = res.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap();
    assert!(
        methods.contains("PATCH") && methods.contains("DELETE"),
        "{methods}"
    );
}

#[tokio::test]
async fn bodies_must_be_json_so_forms_cannot_post_them() {
    let (srv, _) = server_with_inbox().await;
    let b = browser();
    // What a cross-site form or a "simple" cross-site fetch can send.
    for content_type in [
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
    ] {
        let res = b
            .post(url(&srv, "login/password"))
            .header("Content-Type", content_type)
            .body(format!("identifier={EMAIL}&password={PASSWORD}"))
            .send()
            .await
            .unwrap();
        assert!(session_cookie(&res).is_none());
        assert_eq!(
            error_code(res, 415, "invalid_request").await,
            4415,
            "{content_type}"
        );
    }
    password_login(&b, &srv, EMAIL, PASSWORD).await;
    let res = b
        .patch(url(&srv, "settings/profile"))
        .header("Content-Type", "text/plain")
        .body(r#"{"name":"Mallory"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 415, "invalid_request").await, 4415);
    let res = b
        .post(url(&srv, "settings/password"))
        .header("Content-Type", "text/plain")
        .body(r#"{"current_password":"x","new_password":"hijacked passphrase"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
    assert_eq!(
        get(&b, &srv, "whoami").await.1["identity"]["name"],
        "Alice Example"
    );
    // Malformed JSON and unknown fields are our error JSON too.
    let res = b
        .post(url(&srv, "login/password"))
        .header("Content-Type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 400, "invalid_request").await, 4001);
    assert_error(
        &post(
            &b,
            &srv,
            "recovery/send",
            json!({ "address": EMAIL, "admin": true }),
        )
        .await,
        400,
        "invalid_request",
    );
}

#[tokio::test]
async fn answers_do_not_reveal_which_addresses_have_accounts() {
    let (srv, inbox) = server_with_inbox().await;
    // Alice's address is verified, so recovery would really send to it.
    verify_alice(&srv, &inbox).await;
    srv.clock.advance(time::Duration::seconds(61));

    let b = browser();
    let nobody = "nobody@example.com";
    for path in ["recovery/send", "verification/send"] {
        let started = std::time::Instant::now();
        let known = post(&b, &srv, path, json!({ "address": EMAIL })).await;
        let t1 = started.elapsed();
        let started = std::time::Instant::now();
        let unknown = post(&b, &srv, path, json!({ "address": nobody })).await;
        let t2 = started.elapsed();
        assert_eq!(known, unknown, "{path}");
        assert_eq!(known.0, 202);
        assert!(
            t1.abs_diff(t2) < std::time::Duration::from_millis(500),
            "{path}: {t1:?} vs {t2:?}"
        );
        // The cool-down holds for both alike.
        assert_eq!(
            post(&b, &srv, path, json!({ "address": EMAIL })).await,
            post(&b, &srv, path, json!({ "address": nobody })).await,
        );
        // One cool-down for every kind of message: wait it out.
        srv.clock.advance(time::Duration::seconds(61));
    }
    let send = |who: &str| json!({ "method": "email_code", "identifier": who });
    assert_eq!(
        post(&b, &srv, "login/code/send", send(EMAIL)).await,
        post(&b, &srv, "login/code/send", send(nobody)).await,
    );
    // A wrong login code is a wrong code (not a wrong password), and the
    // same answer for an address without an account.
    let wrong = inbox.code_for(EMAIL, "login_code").await;
    let wrong = if wrong == "000000" {
        "111111"
    } else {
        "000000"
    };
    let code = |who: &str| json!({ "method": "email_code", "identifier": who, "code": wrong });
    let known = post(&b, &srv, "login/code", code(EMAIL)).await;
    assert_eq!(known, post(&b, &srv, "login/code", code(nobody)).await);
    assert_error(&known, 401, "invalid_code");
    assert_eq!(known.1["code"], 2006, "{}", known.1);
    // The tries left belong to the code just asked for at that address;
    // where no code was asked for, nothing is counted.
    assert_eq!(
        known.1["error_description"], "The code is wrong; 4 tries left.",
        "{}",
        known.1
    );
    let unasked = post(&b, &srv, "login/code", code("stranger@example.com")).await;
    assert_error(&unasked, 401, "invalid_code");
    assert_eq!(
        unasked.1["error_description"],
        "The code is wrong or expired; ask for a new one."
    );
    let recover = |who: &str| json!({ "address": who, "code": "123456", "new_password": "a fresh passphrase" });
    let known = post(&b, &srv, "recovery", recover(EMAIL)).await;
    assert_eq!(known, post(&b, &srv, "recovery", recover(nobody)).await);
    assert_error(&known, 401, "invalid_code");
    let login = |who: &str| json!({ "identifier": who, "password": "not the password" });
    let known = post(&b, &srv, "login/password", login(EMAIL)).await;
    assert_eq!(known, post(&b, &srv, "login/password", login(nobody)).await);
    assert_error(&known, 401, "invalid_credentials");
    // A sign-up with a taken address answers as one with a new address;
    // the owner is told by message (once the code's cool-down is over).
    srv.clock.advance(time::Duration::seconds(61));
    let register = |email: &str| json!({ "email": email, "password": BOB_PW });
    let (s1, b1) = post(&b, &srv, "registration", register(EMAIL)).await;
    let (s2, b2) = post(&b, &srv, "registration", register(BOB)).await;
    assert_eq!(
        (s1, b1.to_string().replace(EMAIL, "X")),
        (s2, b2.to_string().replace(BOB, "X"))
    );
    for _ in 0..200 {
        if inbox.count(EMAIL, "registration_exists") == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        inbox.count(EMAIL, "registration_exists"),
        1,
        "the owner is told"
    );
}

#[tokio::test]
async fn login_attempts_are_rate_limited_per_identifier() {
    let (srv, _) = server_with_inbox().await;
    let b = browser();
    let wrong = json!({ "identifier": EMAIL, "password": "not the password" });
    for _ in 0..10 {
        assert_eq!(post(&b, &srv, "login/password", wrong.clone()).await.0, 401);
    }
    let res = b
        .post(url(&srv, "login/password"))
        .json(&json!({ "identifier": EMAIL, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
    assert!(body.get("code").is_none(), "{body}");
    // Code logins and sends count for the same identifier.
    let (status, _) = post(
        &b,
        &srv,
        "login/code/send",
        json!({ "method": "email_code", "identifier": EMAIL }),
    )
    .await;
    assert_eq!(status, 429);
    srv.clock.advance(time::Duration::seconds(61));
    password_login(&b, &srv, EMAIL, PASSWORD).await;
}

#[tokio::test]
async fn the_openapi_document_lists_every_identity_route_and_the_guides_endpoints() {
    let srv = TestServer::start().await;
    let res = reqwest::get(format!("{}/api/openapi.json", srv.public))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let parsed: utoipa::openapi::OpenApi =
        serde_json::from_value(doc.clone()).expect("an OpenAPI document");
    assert_eq!(
        parsed.servers.unwrap()[0].url,
        srv.public,
        "the issuer is the server"
    );
    let paths = doc["paths"].as_object().unwrap();
    let client = reqwest::Client::new();
    let methods = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ];
    // Every identity route of the router is documented, method for method:
    // a method the document lists is served, the others answer 405.
    let routes: Vec<&str> = oneauth_http::identity::routes()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    for path in &routes {
        let item = paths
            .get(*path)
            .unwrap_or_else(|| panic!("{path} is not in the document"));
        for m in &methods {
            let documented = item.get(m.as_str().to_lowercase()).is_some();
            let status = client
                .request(
                    m.clone(),
                    format!("{}{}", srv.public, path.replace("{id}", "x")),
                )
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(
                status != 405,
                documented,
                "{m} {path}: answered {status}, documented: {documented}"
            );
        }
    }
    for path in paths.keys().filter(|p| p.starts_with("/api/identity/")) {
        assert!(
            routes.contains(&path.as_str()),
            "{path} is documented but not routed"
        );
    }
    // The guide's endpoints (and the standard ones) are there and served.
    for path in [
        "/api/oauth2/token",
        "/api/oauth/web/exchange",
        "/api/oauth/refresh",
        "/api/oauth/logout",
        "/api/auth/logout",
        "/oauth/token/verify",
        "/oauth/native/cli",
        "/api/hydra/login",
        "/api/hydra/login/accept",
        "/api/hydra/consent",
        "/api/hydra/consent/accept",
        "/api/hydra/consent/reject",
        "/.well-known/openid-configuration",
        "/.well-known/jwks.json",
        "/oauth2/auth",
        "/oauth2/token",
        "/oauth2/introspect",
        "/oauth2/revoke",
        "/oauth2/sessions/logout",
        "/userinfo",
        "/api/openapi.json",
    ] {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
    for (path, item) in paths {
        for m in &methods {
            if item.get(m.as_str().to_lowercase()).is_none() {
                continue;
            }
            let status = client
                .request(
                    m.clone(),
                    format!("{}{}", srv.public, path.replace("{id}", "x")),
                )
                .send()
                .await
                .unwrap()
                .status();
            assert!(
                status != 404 && status != 405,
                "{m} {path} is documented but answered {status}"
            );
        }
    }
}
