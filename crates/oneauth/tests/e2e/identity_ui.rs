//! The identity pages over HTTP, with codes delivered through the courier
//! to a webhook receiver this test runs: code logins, registration with
//! verification, recovery, settings; and the rules each must keep — CSRF,
//! no account enumeration, code attempts and reuse, no open redirect via
//! `return_to`.

use crate::support::*;
use std::time::Duration;

/// GETs a UI page; returns its HTML and CSRF token.
async fn page(b: &reqwest::Client, url: &str) -> (String, String) {
    let res = b.get(url).send().await.unwrap();
    assert_eq!(res.status(), 200, "{url}");
    let html = res.text().await.unwrap();
    let csrf = hidden(&html, "csrf_token").expect("a CSRF token on the form");
    (html, csrf)
}

async fn post(b: &reqwest::Client, url: String, form: &[(&str, &str)]) -> reqwest::Response {
    b.post(url).form(form).send().await.unwrap()
}

async fn login_challenge(srv: &TestServer, b: &reqwest::Client) -> String {
    let res = b.get(srv.authorize_url(&[])).send().await.unwrap();
    query_param(&location(&res), "login_challenge").unwrap()
}

#[tokio::test]
async fn sms_code_login_continues_the_oauth2_flow() {
    let (srv, inbox) = server_with_inbox().await;
    let now = oneauth_core::Clock::now(srv.clock.as_ref());
    srv.services()
        .identities
        .register(
            oneauth_identity::Registration {
                phone: Some("+86 138 0013 8000".into()),
                password: PASSWORD.into(),
                ..Default::default()
            },
            oneauth_identity::Locale::En,
            now,
        )
        .await
        .unwrap();
    // The sign-up's code went out: the next message waits its cool-down.
    srv.clock.advance(time::Duration::seconds(61));
    let b = browser();
    let challenge = login_challenge(&srv, &b).await;
    let url = format!(
        "{}/login?login_challenge={challenge}&login_methods=phone,password&default_method=phone",
        srv.ui
    );
    let (html, csrf) = page(&b, &url).await;
    assert!(
        html.contains("name=\"method\" value=\"sms_code\""),
        "phone tab opens first"
    );
    assert!(
        !html.contains("method=email_code"),
        "only the tabs asked for"
    );
    let res = post(
        &b,
        format!("{}/login", srv.ui),
        &[
            ("csrf_token", &csrf),
            ("login_challenge", &challenge),
            ("method", "sms_code"),
            ("step", "send"),
            ("identifier", "0086 138-0013-8000"),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("autocomplete=\"one-time-code\""), "{html}");
    let code = inbox.code_for("+8613800138000", "login_code").await;
    let res = post(
        &b,
        format!("{}/login", srv.ui),
        &[
            ("csrf_token", &csrf),
            ("login_challenge", &challenge),
            ("method", "sms_code"),
            ("step", "login"),
            ("identifier", "+8613800138000"),
            ("code", &code),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let callback = follow_to_client(&b, location(&res)).await;
    let code = query_param(&callback, "code").unwrap();
    let tokens: serde_json::Value = exchange(&srv, &code, VERIFIER).await.json().await.unwrap();
    assert!(tokens["id_token"].is_string());
    assert!(
        !logged().contains(&code),
        "the login code never reaches the logs"
    );
}

#[tokio::test]
async fn a_login_code_is_single_use_and_allows_five_guesses() {
    let (srv, inbox) = server_with_inbox().await;
    let b = browser();
    let (_, csrf) = page(&b, &format!("{}/login?method=email", srv.ui)).await;
    let send = [
        ("csrf_token", csrf.as_str()),
        ("method", "email_code"),
        ("step", "send"),
        ("identifier", EMAIL),
    ];
    assert_eq!(
        post(&b, format!("{}/login", srv.ui), &send).await.status(),
        200
    );
    let code = inbox.code_for(EMAIL, "login_code").await;
    let attempt = |c: String| {
        let (b, ui, csrf) = (b.clone(), srv.ui.clone(), csrf.clone());
        async move {
            post(
                &b,
                format!("{ui}/login"),
                &[
                    ("csrf_token", csrf.as_str()),
                    ("method", "email_code"),
                    ("identifier", EMAIL),
                    ("code", c.as_str()),
                    ("return_to", "http://127.0.0.1:3000/done"),
                ],
            )
            .await
        }
    };
    let res = attempt(code.clone()).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        location(&res),
        "http://127.0.0.1:3000/done",
        "an allowed return_to"
    );
    assert_eq!(attempt(code).await.status(), 401, "reused");

    // A new code after the cool-down: five wrong guesses spend it.
    srv.clock.advance(time::Duration::seconds(61));
    let seen = inbox.count(EMAIL, "login_code");
    assert_eq!(
        post(&b, format!("{}/login", srv.ui), &send).await.status(),
        200
    );
    let fresh = inbox.next_code(EMAIL, "login_code", seen).await;
    let wrong = if fresh == "000000" {
        "111111"
    } else {
        "000000"
    };
    // A wrong code is said to be one, with the tries left of the code
    // just asked for, on the form for another try.
    let res = attempt(wrong.into()).await;
    assert_eq!(res.status(), 401);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("The code is wrong. Tries left: 4.") && !html.contains("password is wrong"),
        "{html}"
    );
    assert!(html.contains("autocomplete=\"one-time-code\""), "{html}");
    let res = b
        .post(format!("{}/login", srv.ui))
        .header("accept-language", "zh-CN")
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("method", "email_code"),
            ("identifier", EMAIL),
            ("code", wrong),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let html = res.text().await.unwrap();
    assert!(html.contains("验证码错误，还可以再试 3 次。"), "{html}");
    for _ in 0..2 {
        assert_eq!(attempt(wrong.into()).await.status(), 401);
    }
    // With the reused code, five wrong codes at the address: it is locked
    // out for a minute.
    assert_eq!(attempt(wrong.into()).await.status(), 429);
    srv.clock.advance(time::Duration::seconds(61));
    assert_eq!(attempt(wrong.into()).await.status(), 401);
    assert_eq!(attempt(fresh).await.status(), 401, "out of attempts");
}

#[tokio::test]
async fn return_to_outside_the_allowed_origins_is_not_followed() {
    let (srv, _) = server_with_inbox().await;
    let b = browser();
    let (_, csrf) = page(&b, &format!("{}/login", srv.ui)).await;
    for evil in [
        "https://evil.example/phish",
        "//evil.example/x",
        "javascript:alert(1)",
        "http://127.0.0.1:3000@evil.example/",
    ] {
        let res = post(
            &b,
            format!("{}/login", srv.ui),
            &[
                ("csrf_token", &csrf),
                ("method", "password"),
                ("identifier", EMAIL),
                ("password", PASSWORD),
                ("return_to", evil),
            ],
        )
        .await;
        assert_eq!(res.status(), 303);
        assert_eq!(location(&res), format!("{}/settings", srv.ui), "{evil}");
    }
}

#[tokio::test]
async fn control_characters_in_return_to_never_reach_the_location_header() {
    let (srv, _) = server_with_inbox().await;
    let b = browser();
    let (_, csrf) = page(&b, &format!("{}/login", srv.ui)).await;
    let parsed = format!("{}/settings?tab=sessions", srv.ui);
    for raw in [
        format!("{}/settings?tab=\nsessions", srv.ui),
        format!("{}/sett\tings?tab=sessions", srv.ui),
        format!("{}\r\n/settings?tab=sessions", srv.ui),
    ] {
        let res = post(
            &b,
            format!("{}/login", srv.ui),
            &[
                ("csrf_token", &csrf),
                ("method", "password"),
                ("identifier", EMAIL),
                ("password", PASSWORD),
                ("return_to", &raw),
            ],
        )
        .await;
        assert_eq!(res.status(), 303, "{raw:?}");
        assert_eq!(
            location(&res),
            parsed,
            "the URL's serialisation, not {raw:?}"
        );
    }
}

#[tokio::test]
async fn a_repeated_page_parameter_shows_the_error_page() {
    let (srv, _) = server_with_inbox().await;
    for path in [
        "/register?return_to=a&return_to=b",
        "/recovery?email=a&email=b",
        "/consent?consent_challenge=a&consent_challenge=b",
    ] {
        let res = browser()
            .get(format!("{}{path}", srv.ui))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{path}");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        assert!(
            res.text().await.unwrap().contains("role=\"alert\""),
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_settings_page_signs_out_with_its_csrf_protected_form() {
    let (srv, _) = server_with_inbox().await;
    let b = signed_in(&srv).await;
    let (html, csrf) = page(&b, &format!("{}/settings", srv.ui)).await;
    assert!(
        html.contains(r#"<form method="post" action="/logout""#),
        "{html}"
    );
    let res = post(&b, format!("{}/logout", srv.ui), &[]).await;
    assert_eq!(res.status(), 403, "no CSRF token, no sign-out");
    assert_eq!(settings_status(&srv, &b).await, 200);
    let res = post(&b, format!("{}/logout", srv.ui), &[("csrf_token", &csrf)]).await;
    assert_eq!(location(&res), format!("{}/logged-out", srv.ui));
    assert_eq!(settings_status(&srv, &b).await, 303, "signed out");
}

#[tokio::test]
async fn sign_up_with_email_verification_then_the_oauth2_flow_goes_on() {
    let (srv, inbox) = server_with_inbox().await;
    let b = browser();
    let challenge = login_challenge(&srv, &b).await;
    // The login page's register link carries the parameters over.
    let (html, _) = page(
        &b,
        &format!("{}/login?login_challenge={challenge}&verify_method=email&require_name=true&confirm_password=true", srv.ui),
    )
    .await;
    let link = html
        .split("href=\"/register?")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a register link")
        .replace("&#38;", "&");
    let (html, csrf) = page(&b, &format!("{}/register?{link}", srv.ui)).await;
    assert!(html.contains("name=\"reg_name\""), "require_name: {link}");
    assert!(html.contains("name=\"reg_confirm\""), "confirm_password");
    assert!(html.contains(&challenge), "the challenge carries over");
    let form = |pw2: &'static str| {
        vec![
            ("csrf_token", csrf.clone()),
            ("login_challenge", challenge.clone()),
            ("verify_method", "email".into()),
            ("require_name", "true".into()),
            ("confirm_password", "true".into()),
            ("reg_email", "Bob@Example.com".into()),
            ("reg_name", "Bob".into()),
            ("reg_password", "a perfectly long passphrase".into()),
            ("reg_confirm", pw2.into()),
        ]
    };
    let res = b
        .post(format!("{}/register", srv.ui))
        .form(&form("typo"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("id=\"reg_confirm-error\""),
        "error beside the field"
    );
    let res = b
        .post(format!("{}/register", srv.ui))
        .form(&form("a perfectly long passphrase"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("name=\"email_code\""), "{html}");
    let code = inbox.code_for("bob@example.com", "verification_code").await;
    let res = post(
        &b,
        format!("{}/verification", srv.ui),
        &[
            ("csrf_token", &csrf),
            ("after", "register"),
            ("login_challenge", &challenge),
            ("email", "bob@example.com"),
            ("email_code", &code),
            ("step", "verify"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let callback = follow_to_client(&b, location(&res)).await;
    assert!(query_param(&callback, "code").is_some(), "{callback}");
}

#[tokio::test]
async fn registration_and_recovery_answer_alike_for_taken_and_unknown_addresses() {
    let (srv, inbox) = server_with_inbox().await;
    let b = browser();
    let (_, csrf) = page(&b, &format!("{}/register", srv.ui)).await;
    let register = |email: &'static str| {
        let (b, ui, csrf) = (b.clone(), srv.ui.clone(), csrf.clone());
        async move {
            let res = post(
                &b,
                format!("{ui}/register"),
                &[
                    ("csrf_token", csrf.as_str()),
                    ("reg_email", email),
                    ("reg_password", "a perfectly long passphrase"),
                ],
            )
            .await;
            (res.status(), res.text().await.unwrap().replace(email, "X"))
        }
    };
    assert_eq!(register(EMAIL).await, register("new@example.com").await);
    inbox.next_message(EMAIL, "registration_exists", 0).await;
    assert_eq!(
        inbox.messages_to(EMAIL)[0].0,
        "registration_exists",
        "the owner is told, the registrant is not"
    );

    let (_, csrf) = page(&b, &format!("{}/recovery", srv.ui)).await;
    let recover = |address: &'static str| {
        let (b, ui, csrf) = (b.clone(), srv.ui.clone(), csrf.clone());
        async move {
            let started = std::time::Instant::now();
            let res = post(
                &b,
                format!("{ui}/recovery"),
                &[
                    ("csrf_token", csrf.as_str()),
                    ("address", address),
                    ("step", "send"),
                ],
            )
            .await;
            let status = res.status();
            let html = res.text().await.unwrap().replace(address, "X");
            (status, html, started.elapsed())
        }
    };
    let (s1, h1, t1) = recover(EMAIL).await;
    let (s2, h2, t2) = recover("nobody@example.com").await;
    assert_eq!((s1, h1), (s2, h2));
    assert!(
        t1.abs_diff(t2) < Duration::from_millis(500),
        "{t1:?} vs {t2:?}"
    );
}

#[tokio::test]
async fn recovery_by_code_sets_a_password_and_ends_other_sessions() {
    let (srv, inbox) = server_with_inbox().await;
    verify_alice(&srv, &inbox).await;
    // Another browser is signed in.
    let other = browser();
    let (login, _) = {
        let res = other.get(srv.authorize_url(&[])).send().await.unwrap();
        (location(&res), ())
    };
    let res = submit_login(&other, &login, PASSWORD).await;
    assert_eq!(res.status(), 303);

    let b = browser();
    let (_, csrf) = page(&b, &format!("{}/recovery", srv.ui)).await;
    post(
        &b,
        format!("{}/recovery", srv.ui),
        &[("csrf_token", &csrf), ("address", EMAIL), ("step", "send")],
    )
    .await;
    let code = inbox.code_for(EMAIL, "recovery_code").await;
    let res = post(
        &b,
        format!("{}/recovery", srv.ui),
        &[
            ("csrf_token", &csrf),
            ("address", EMAIL),
            ("step", "reset"),
            ("code", &code),
            ("new_password", "a brand new passphrase"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), format!("{}/settings", srv.ui));
    let settings = b.get(format!("{}/settings", srv.ui)).send().await.unwrap();
    assert_eq!(settings.status(), 200);
    let res = other
        .get(format!("{}/settings", srv.ui))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "the other browser's session ended");
}

/// A new browser, signed in with the password on the login page.
async fn signed_in(srv: &TestServer) -> reqwest::Client {
    let b = browser();
    let (_, csrf) = page(&b, &format!("{}/login", srv.ui)).await;
    let res = post(
        &b,
        format!("{}/login", srv.ui),
        &[
            ("csrf_token", &csrf),
            ("method", "password"),
            ("identifier", EMAIL),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    b
}

async fn settings_status(srv: &TestServer, b: &reqwest::Client) -> reqwest::StatusCode {
    b.get(format!("{}/settings", srv.ui))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn password_change_in_settings_ends_the_other_sessions() {
    let (srv, _) = server_with_inbox().await;
    let (here, there) = (signed_in(&srv).await, signed_in(&srv).await);
    let (html, csrf) = page(&here, &format!("{}/settings", srv.ui)).await;
    assert_eq!(html.matches("<li>").count(), 2, "two sessions listed");
    let res = post(
        &here,
        format!("{}/settings/password", srv.ui),
        &[
            ("csrf_token", &csrf),
            ("current_password", PASSWORD),
            ("new_password", "password"),
        ],
    )
    .await;
    assert_eq!(res.status(), 400, "a common password is refused");
    let res = post(
        &here,
        format!("{}/settings/password", srv.ui),
        &[
            ("csrf_token", &csrf),
            ("current_password", PASSWORD),
            ("new_password", "another long passphrase"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(settings_status(&srv, &here).await, 200);
    assert_eq!(settings_status(&srv, &there).await, 303);
}

#[tokio::test]
async fn ending_all_other_sessions_in_settings_keeps_this_one() {
    let (srv, _) = server_with_inbox().await;
    let here = signed_in(&srv).await;
    let (html, _) = page(&here, &format!("{}/settings", srv.ui)).await;
    assert!(
        !html.contains("/settings/sessions/end-others"),
        "no other session, no button"
    );
    let (there, elsewhere) = (signed_in(&srv).await, signed_in(&srv).await);
    let (html, csrf) = page(&here, &format!("{}/settings", srv.ui)).await;
    assert!(html.contains("End all other sessions"), "{html}");
    let res = post(
        &here,
        format!("{}/settings/sessions/end-others", srv.ui),
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        location(&res),
        format!("{}/settings?saved=sessions", srv.ui)
    );
    let (html, _) = page(&here, &format!("{}/settings?saved=sessions", srv.ui)).await;
    assert!(html.contains("Every other session has ended."), "{html}");
    assert_eq!(html.matches("<li>").count(), 1, "only this session is left");
    assert_eq!(settings_status(&srv, &there).await, 303);
    assert_eq!(settings_status(&srv, &elsewhere).await, 303);
}

#[tokio::test]
async fn every_identity_form_needs_its_csrf_token() {
    let (srv, inbox) = server_with_inbox().await;
    let b = browser();
    page(&b, &format!("{}/login", srv.ui)).await;
    let forms: [(&str, &[(&str, &str)]); 6] = [
        (
            "/login",
            &[
                ("method", "email_code"),
                ("step", "send"),
                ("identifier", EMAIL),
            ],
        ),
        (
            "/register",
            &[
                ("reg_email", "x@example.com"),
                ("reg_password", "a perfectly long passphrase"),
            ],
        ),
        ("/recovery", &[("address", EMAIL), ("step", "send")]),
        ("/verification", &[("address", EMAIL), ("step", "send")]),
        (
            "/settings/password",
            &[("new_password", "another long passphrase")],
        ),
        ("/settings/sessions/end-others", &[]),
    ];
    for (path, fields) in forms {
        for token in [None, Some("forged")] {
            let mut form: Vec<(&str, &str)> = fields.to_vec();
            if let Some(t) = token {
                form.push(("csrf_token", t));
            }
            let res = post(&b, format!("{}{path}", srv.ui), &form).await;
            assert_eq!(res.status(), 403, "{path} with {token:?}");
        }
    }
    // A negative check: give a (wrongly) queued message time to arrive. It
    // can only pass falsely, never fail spuriously.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(inbox.0.lock().unwrap().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn pages_speak_chinese_and_carry_security_headers() {
    let (srv, _) = server_with_inbox().await;
    let b = browser();
    for path in [
        "/login?ui_locales=zh-CN",
        "/register?ui_locales=zh-CN",
        "/recovery?ui_locales=zh-CN",
        "/verification?ui_locales=zh-CN",
    ] {
        let res = b.get(format!("{}{path}", srv.ui)).send().await.unwrap();
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        let html = res.text().await.unwrap();
        assert!(html.contains("lang=\"zh-CN\""), "{path}");
        assert!(!html.contains("<script>"), "no inline script on {path}");
    }
    let html = page_text(&b, format!("{}/login?ui_locales=zh-CN", srv.ui)).await;
    assert!(
        html.contains("登录") && html.contains("短信验证码"),
        "{html}"
    );
}

#[tokio::test]
async fn popup_mode_posts_the_result_to_an_allowed_opener_only() {
    let (srv, _) = server_with_inbox().await;
    let b = browser();
    let (_, csrf) = page(&b, &format!("{}/login?mode=popup", srv.ui)).await;
    let res = post(
        &b,
        format!("{}/login", srv.ui),
        &[
            ("csrf_token", &csrf),
            ("mode", "popup"),
            ("method", "password"),
            ("identifier", EMAIL),
            ("password", PASSWORD),
            ("return_to", "http://127.0.0.1:3000/app"),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("src=\"/assets/popup.js\""));
    assert!(
        html.contains("data-target-origin=\"http://127.0.0.1:3000\""),
        "{html}"
    );
    assert!(html.contains("class=\"popup\""));
    let js = b
        .get(format!("{}/assets/popup.js", srv.ui))
        .send()
        .await
        .unwrap();
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
}
