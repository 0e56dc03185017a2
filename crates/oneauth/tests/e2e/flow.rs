//! The guide's "Web OAuth2 Login Flow", steps 1–6.

use crate::support::*;
use base64::Engine as _;

fn claims(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn guide_flow_lands_with_code_state_iss_and_exchanges_for_the_guides_token_set() {
    let srv = TestServer::start().await;
    let b = browser();
    let res = b.get(srv.authorize_url(&[])).send().await.unwrap();
    let login = location(&res);
    let res = submit_login(&b, &login, PASSWORD).await;
    let callback = follow_to_client(&b, location(&res)).await;
    assert_eq!(query_param(&callback, "state").as_deref(), Some("st-123"));
    assert_eq!(
        query_param(&callback, "iss").as_deref(),
        Some(srv.public.as_str()),
        "RFC 9207 iss"
    );
    let code = query_param(&callback, "code").unwrap();
    assert!(code.starts_with("ory_ac_"), "{code}");

    let res = exchange(&srv, &code, VERIFIER).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(
        body["access_token"]
            .as_str()
            .unwrap()
            .starts_with("ory_at_"),
        "{body}"
    );
    assert!(
        body["refresh_token"]
            .as_str()
            .unwrap()
            .starts_with("ory_rt_"),
        "{body}"
    );
    assert!(
        body["id_token"].as_str().unwrap().starts_with("eyJ"),
        "{body}"
    );
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["scope"], "openid profile email offline");

    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(id["iss"], srv.public.as_str());
    assert_eq!(id["sub"], srv.subject.as_str());
    assert_eq!(id["aud"], serde_json::json!(["web-app"]));
    assert_eq!(id["nonce"], "n-456");
    assert_eq!(id["email"], EMAIL);
    assert_eq!(id["name"], "Alice Example");
    assert_eq!(id["amr"], serde_json::json!(["pwd"]));
    for claim in ["exp", "iat", "auth_time", "at_hash", "sid"] {
        assert!(!id[claim].is_null(), "id_token lacks {claim}: {id}");
    }
    let header = claims(&format!(
        "x.{}",
        body["id_token"]
            .as_str()
            .unwrap()
            .split('.')
            .next()
            .unwrap()
    ));
    assert_eq!(header["alg"], "RS256");

    let at = body["access_token"].as_str().unwrap();
    for res in [
        reqwest::Client::new()
            .get(format!("{}/userinfo", srv.public))
            .bearer_auth(at)
            .send()
            .await
            .unwrap(),
        reqwest::Client::new()
            .post(format!("{}/userinfo", srv.public))
            .bearer_auth(at)
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(res.status(), 200);
        let info: serde_json::Value = res.json().await.unwrap();
        assert_eq!(info["sub"], srv.subject.as_str());
        assert_eq!(info["email"], EMAIL);
    }
}

#[tokio::test]
async fn refresh_token_only_with_offline_scope() {
    let srv = TestServer::start().await;
    let code = login_for_code(&srv, &browser(), &[("scope", "openid email")]).await;
    let body: serde_json::Value = exchange(&srv, &code, VERIFIER).await.json().await.unwrap();
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert_eq!(body["scope"], "openid email");
}

#[tokio::test]
async fn live_session_skips_the_login_form_unless_prompt_login() {
    let srv = TestServer::start().await;
    let b = browser();
    login_for_code(&srv, &b, &[]).await;

    let res = b
        .get(srv.authorize_url(&[("state", "again")]))
        .send()
        .await
        .unwrap();
    let next = location(&res);
    assert!(
        !next.contains("/login"),
        "a live session must skip the form: {next}"
    );
    let callback = follow_to_client(&b, next).await;
    assert_eq!(query_param(&callback, "state").as_deref(), Some("again"));

    let res = b
        .get(srv.authorize_url(&[("prompt", "login")]))
        .send()
        .await
        .unwrap();
    assert!(location(&res).starts_with(&format!("{}/login?login_challenge=", srv.ui)));
}

#[tokio::test]
async fn max_age_exceeded_asks_for_the_password_again() {
    let srv = TestServer::start().await;
    let b = browser();
    login_for_code(&srv, &b, &[]).await;
    srv.clock.advance(time::Duration::seconds(120));
    let res = b
        .get(srv.authorize_url(&[("max_age", "60")]))
        .send()
        .await
        .unwrap();
    assert!(location(&res).contains("/login?login_challenge="));
    let res = b
        .get(srv.authorize_url(&[("max_age", "600")]))
        .send()
        .await
        .unwrap();
    assert!(!location(&res).contains("/login"));
}

#[tokio::test]
async fn max_age_zero_asks_for_the_password_even_within_the_same_second() {
    let srv = TestServer::start().await;
    let b = browser();
    login_for_code(&srv, &b, &[]).await;
    // The clock has not moved: the session is 0 seconds old.
    let res = b
        .get(srv.authorize_url(&[("max_age", "0")]))
        .send()
        .await
        .unwrap();
    let login = location(&res);
    assert!(login.contains("/login?login_challenge="), "{login}");
    // The login page does not accept the live session for it either.
    let page = b.get(&login).send().await.unwrap();
    assert_eq!(page.status(), 200, "the form is shown");
    // A fresh login completes the request.
    let code = login_for_code(&srv, &b, &[("max_age", "0")]).await;
    assert_eq!(exchange(&srv, &code, VERIFIER).await.status(), 200);
}

#[tokio::test]
async fn tokens_codes_and_sessions_are_stored_only_as_hashes() {
    let srv = TestServer::start().await;
    const CLIENT_SECRET: &str = "a-client-secret-nobody-may-read";
    let confidential = oneauth_oauth2::client::ClientRegistration {
        client_id: Some("backend".into()),
        client_secret: Some(CLIENT_SECRET.into()),
        grant_types: vec!["client_credentials".into()],
        token_endpoint_auth_method: Some("client_secret_basic".into()),
        ..Default::default()
    };
    srv.server()
        .create_client(confidential, oneauth_core::Clock::now(srv.clock.as_ref()))
        .await
        .unwrap();
    let b = browser();
    let code = login_for_code(&srv, &b, &[]).await;
    let body: serde_json::Value = exchange(&srv, &code, VERIFIER).await.json().await.unwrap();
    let dir = &srv.services().config.data_dir;
    let mut bytes = Vec::new();
    for f in ["oneauth.db", "oneauth.db-wal"] {
        bytes.extend(std::fs::read(dir.join(f)).unwrap_or_default());
    }
    assert!(bytes.len() > 10_000, "read the database");
    let secrets = [
        CLIENT_SECRET,
        code.as_str(),
        body["access_token"].as_str().unwrap(),
        body["refresh_token"].as_str().unwrap(),
        PASSWORD,
    ];
    for s in secrets {
        let needle = &s.as_bytes()[s.len() - 20..];
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "`{s}` is stored in clear"
        );
    }
}

#[tokio::test]
async fn consent_is_asked_remembered_and_denial_returns_access_denied() {
    let (srv, b, consent) = logged_in_to_consent().await;
    assert!(
        consent.starts_with(&format!("{}/consent?consent_challenge=", srv.ui)),
        "{consent}"
    );
    let html = b.get(&consent).send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains("Third Party") && html.contains("email"),
        "{html}"
    );
    let csrf = hidden(&html, "csrf_token").unwrap();
    let challenge = hidden(&html, "consent_challenge").unwrap();
    let res = b
        .post(format!("{}/consent", srv.ui))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("consent_challenge", challenge.as_str()),
            ("action", "allow"),
        ])
        .send()
        .await
        .unwrap();
    let callback = follow_to_client(&b, location(&res)).await;
    assert!(query_param(&callback, "code").is_some(), "{callback}");

    // Remembered: the next request for the same scopes skips the page.
    let res = b
        .get(srv.authorize_url(&[("client_id", "third-party")]))
        .send()
        .await
        .unwrap();
    let callback = follow_to_client(&b, location(&res)).await;
    assert!(query_param(&callback, "code").is_some(), "{callback}");

    // prompt=consent asks again; deny sends access_denied to the client.
    // The session is live, so the authorization endpoint goes straight to consent.
    let res = b
        .get(srv.authorize_url(&[("client_id", "third-party"), ("prompt", "consent")]))
        .send()
        .await
        .unwrap();
    let consent = location(&res);
    assert!(
        consent.starts_with(&format!("{}/consent?consent_challenge=", srv.ui)),
        "{consent}"
    );
    let html = b.get(&consent).send().await.unwrap().text().await.unwrap();
    let res = b
        .post(format!("{}/consent", srv.ui))
        .form(&[
            ("csrf_token", hidden(&html, "csrf_token").unwrap().as_str()),
            (
                "consent_challenge",
                hidden(&html, "consent_challenge").unwrap().as_str(),
            ),
            ("action", "deny"),
        ])
        .send()
        .await
        .unwrap();
    let denied = location(&res);
    assert!(denied.starts_with(REDIRECT), "{denied}");
    assert_eq!(
        query_param(&denied, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(query_param(&denied, "state").as_deref(), Some("st-123"));
}

#[tokio::test]
async fn a_login_verifier_only_counts_in_the_browser_that_started_the_flow() {
    let srv = TestServer::start().await;
    let victim = browser();
    let res = victim.get(srv.authorize_url(&[])).send().await.unwrap();
    let res = submit_login(&victim, &location(&res), PASSWORD).await;
    let verifier_url = location(&res);
    let attacker = browser();
    let res = attacker.get(&verifier_url).send().await.unwrap();
    let to = location(&res);
    assert!(to.starts_with(&format!("{}/error", srv.ui)), "{to}");
    assert_eq!(query_param(&to, "error").as_deref(), Some("access_denied"));
    // The error page leads back to the application to start again.
    let html = page_text(&attacker, &to).await;
    assert!(html.contains("href=\"http://127.0.0.1:3000\""), "{html}");
}

#[tokio::test]
async fn consent_accept_takes_a_null_body_as_the_document_says() {
    // The document gives the body as `ConsentAcceptBody | null`; a `null`
    // was a 400 (found by schemathesis). It grants every requested scope.
    let (srv, b, consent) = logged_in_to_consent().await;
    let challenge = query_param(&consent, "consent_challenge").unwrap();
    let res = b
        .put(format!("{}/api/hydra/consent/accept", srv.public))
        .query(&[("consent_challenge", challenge.as_str())])
        .header("content-type", "application/json")
        .body("null")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    let callback = follow_to_client(&b, body["redirect_to"].as_str().unwrap().to_owned()).await;
    assert!(query_param(&callback, "code").is_some(), "{callback}");
}

/// A third-party client that asks for consent, and a browser logged in for
/// it: the server, the browser and the consent page's URL.
async fn logged_in_to_consent() -> (TestServer, reqwest::Client, String) {
    let srv = TestServer::start().await;
    let mut reg = guide_client();
    reg.client_id = Some("third-party".into());
    reg.client_name = Some("Third Party".into());
    reg.skip_consent = false;
    reg.logo_uri = Some("https://cdn.third.example/logo.png".into());
    reg.policy_uri = Some("https://third.example/privacy".into());
    reg.tos_uri = Some("https://third.example/terms".into());
    reg.client_uri = Some("https://third.example/".into());
    srv.server()
        .create_client(reg, oneauth_core::Clock::now(srv.clock.as_ref()))
        .await
        .unwrap();
    let b = browser();
    let res = b
        .get(srv.authorize_url(&[("client_id", "third-party")]))
        .send()
        .await
        .unwrap();
    let res = submit_login(&b, &location(&res), PASSWORD).await;
    let res = b.get(location(&res)).send().await.unwrap();
    let consent = location(&res);
    (srv, b, consent)
}

#[tokio::test]
async fn consent_page_shows_the_clients_domain_logo_and_links_and_loads_only_its_logo() {
    let (srv, b, consent) = logged_in_to_consent().await;
    let res = b.get(&consent).send().await.unwrap();
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = res.text().await.unwrap();
    let redirect_host = url::Url::parse(&guide_client().redirect_uris[0])
        .unwrap()
        .host_str()
        .unwrap()
        .to_owned();
    assert!(
        html.contains(&format!("<strong>{redirect_host}</strong>")),
        "{html}"
    );
    assert!(
        html.contains(r#"src="https://cdn.third.example/logo.png""#),
        "{html}"
    );
    for link in [
        "https://third.example/privacy",
        "https://third.example/terms",
        "https://third.example/",
    ] {
        assert!(
            html.contains(&format!(
                r#"href="{link}" target="_blank" rel="noopener noreferrer""#
            )),
            "{link} in {html}"
        );
    }
    assert!(
        csp.contains("img-src 'self' https://cdn.third.example data:;"),
        "{csp}"
    );
    assert!(
        !csp.contains("https:;") && !csp.contains("https: "),
        "{csp}"
    );
    // The other pages keep the general policy.
    let login = b.get(format!("{}/login", srv.ui)).send().await.unwrap();
    assert!(
        login.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("img-src 'self' https: data:")
    );
}

#[tokio::test]
async fn client_page_uris_are_https_only_and_shown_by_the_admin_api() {
    let srv = TestServer::start().await;
    let c = reqwest::Client::new();
    let register = |id: &str, field: &str, uri: &str| {
        let mut body = serde_json::json!({
            "client_id": id,
            "redirect_uris": ["https://app.example/cb"],
            "token_endpoint_auth_method": "none",
        });
        body[field] = uri.into();
        c.post(format!("{}/admin/clients", srv.admin))
            .json(&body)
            .send()
    };
    for field in ["logo_uri", "policy_uri", "tos_uri", "client_uri"] {
        for bad in [
            "http://app.example/x",
            "javascript:alert(1)",
            "not a uri",
            "https://u:p@app.example/",
        ] {
            let res = register("refused", field, bad).await.unwrap();
            assert_eq!(res.status(), 400, "{field} {bad}");
            let body: serde_json::Value = res.json().await.unwrap();
            assert_eq!(body["code"], 4008, "{field} {bad}: {body}");
        }
        let id = format!("with-{field}");
        let res = register(&id, field, "https://app.example/page")
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{field}");
        let shown: serde_json::Value = c
            .get(format!("{}/admin/clients/{id}", srv.admin))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(shown[field], "https://app.example/page", "{shown}");
    }
}
