//! Social login through upstream providers, over real HTTP: a second
//! OneAuth as a generic OpenID Connect upstream (discovery, JWKS, nonce,
//! PKCE), a loopback stand-in for GitHub's OAuth2 API, and the protections:
//! the state bound to the browser, the email linking rule, no open
//! redirect via `return_to`.

use crate::support::*;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use oneauth_core::SecretString;
use oneauth_core::config::{OAuth2Endpoints, SocialKind, SocialProvider};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const UPSTREAM_SECRET: &str = "downstream-at-upstream-secret-0123456789";
const CAROL: &str = "carol@example.net";

fn provider(id: &str, kind: SocialKind) -> SocialProvider {
    SocialProvider {
        id: id.into(),
        display_name: format!("{id} SSO"),
        kind,
        client_id: "downstream".into(),
        client_secret: SecretString::new(UPSTREAM_SECRET),
        scopes: Vec::new(),
        pkce: true,
        issuer: None,
        oauth2: OAuth2Endpoints::default(),
    }
}

/// The `href` of the first social button on a page, unescaped.
fn button_href(html: &str) -> String {
    let marker = "class=\"social-button\" href=\"";
    let start = html.find(marker).expect("a social button") + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end]
        .replace("&amp;", "&")
        .replace("&#38;", "&")
        .replace("&#x2f;", "/")
}

/// Password login on a (upstream) OneAuth login page for `email`.
async fn password_login(b: &reqwest::Client, login_url: &str, email: &str) -> reqwest::Response {
    let html = b.get(login_url).send().await.unwrap().text().await.unwrap();
    let ui = login_url.split("/login").next().unwrap();
    b.post(format!("{ui}/login"))
        .form(&[
            ("csrf_token", hidden(&html, "csrf_token").unwrap().as_str()),
            (
                "login_challenge",
                hidden(&html, "login_challenge").unwrap().as_str(),
            ),
            ("method", "password"),
            ("identifier", email),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap()
}

/// An upstream OneAuth with a confidential client for the downstream, and
/// the downstream OneAuth using it as the generic OIDC provider `corp`.
/// The upstream answers on `localhost`, the downstream on 127.0.0.1: two
/// sites, so the browser keeps their cookies apart (cookies ignore ports).
async fn oidc_pair() -> (TestServer, TestServer, String) {
    let upstream = TestServer::start_with(|c| {
        for u in [&mut c.issuer, &mut c.ui_url] {
            u.set_host(Some("localhost")).unwrap();
        }
    })
    .await;
    let on_localhost = |u: &str| u.replace("127.0.0.1", "localhost");
    let issuer = on_localhost(&upstream.public);
    let downstream = TestServer::start_with(|c| {
        let mut p = provider("corp", SocialKind::Oidc);
        p.issuer = Some(issuer.parse().unwrap());
        c.social.providers = vec![p];
    })
    .await;
    // The operator's steps at the upstream, through its admin API: the
    // client, and a user whose address is verified there.
    let res = post_json(
        format!("{}/admin/clients", upstream.admin),
        serde_json::json!({
            "client_id": "downstream",
            "client_name": "Downstream",
            "client_secret": UPSTREAM_SECRET,
            "redirect_uris": [format!("{}/social/corp/callback", downstream.ui)],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "scope": "openid email profile",
            "token_endpoint_auth_method": "client_secret_basic",
            "skip_consent": true,
        }),
    )
    .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let res = post_json(
        format!("{}/admin/identities", upstream.admin),
        serde_json::json!({"email": CAROL, "password": PASSWORD, "name": "Carol Upstream"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let store = &upstream.services().store;
    let mut carol = store.get_identity_by_email(CAROL).await.unwrap().unwrap();
    carol.traits.email_verified = true;
    store.update_identity(&carol).await.unwrap();
    let upstream_ui = on_localhost(&upstream.ui);
    (upstream, downstream, upstream_ui)
}

/// The guide's flow at the downstream, logging in with `corp` at the
/// upstream as `email`; returns the downstream's token response.
async fn oidc_social_tokens(
    downstream: &TestServer,
    upstream_ui: &str,
    b: &reqwest::Client,
    email: &str,
) -> serde_json::Value {
    let res = b.get(downstream.authorize_url(&[])).send().await.unwrap();
    let login = format!("{}&enable_social=true", location(&res));
    let html = b.get(&login).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Continue with corp SSO"), "{html}");
    let start = format!("{}{}", downstream.ui, button_href(&html));
    let upstream_login = follow_until(b, start, &format!("{upstream_ui}/login")).await;
    let res = password_login(b, &upstream_login, email).await;
    assert_eq!(res.status(), 303, "upstream login");
    let callback = follow_until(b, location(&res), &downstream.ui).await;
    assert!(callback.contains("/social/corp/callback?"), "{callback}");
    let upstream_code = query_param(&callback, "code").unwrap();
    let back = follow_to_client(b, callback).await;
    let code = query_param(&back, "code").unwrap_or_else(|| panic!("no code in {back}"));
    assert_eq!(query_param(&back, "state").as_deref(), Some("st-123"));
    let res = exchange(downstream, &code, VERIFIER).await;
    assert_eq!(res.status(), 200);
    let logs = logged();
    assert!(!logs.contains(&upstream_code) && !logs.contains(UPSTREAM_SECRET));
    res.json().await.unwrap()
}

fn id_token_claims(tokens: &serde_json::Value) -> serde_json::Value {
    use base64::Engine as _;
    let jwt = s(&tokens["id_token"]);
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn login_through_an_upstream_oneauth_by_oidc_discovery_maps_to_one_identity() {
    let (_upstream, downstream, upstream_ui) = oidc_pair().await;
    let tokens = oidc_social_tokens(&downstream, &upstream_ui, &browser(), CAROL).await;
    let claims = id_token_claims(&tokens);
    assert_eq!(claims["email"], CAROL, "{claims}");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["name"], "Carol Upstream");
    assert_eq!(claims["amr"], serde_json::json!(["oidc"]));
    let sub = s(&claims["sub"]);
    assert_ne!(sub, downstream.subject);
    // The access token works at the downstream.
    let info = reqwest::Client::new()
        .get(format!("{}/userinfo", downstream.public))
        .bearer_auth(s(&tokens["access_token"]))
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), 200);

    // Another browser, another upstream sign-in: the same identity.
    let again = oidc_social_tokens(&downstream, &upstream_ui, &browser(), CAROL).await;
    assert_eq!(id_token_claims(&again)["sub"], sub.as_str());
    let identities = downstream.services().store.list_identities().await.unwrap();
    assert_eq!(identities.len(), 2, "alice and carol, nobody else");
}

#[tokio::test]
async fn an_unverified_upstream_email_does_not_link_to_the_account_that_has_it() {
    let (_upstream, downstream, upstream_ui) = oidc_pair().await;
    // Alice exists at both ends; the upstream has not verified her address
    // (and neither has the downstream), so the sign-in gets a new identity.
    let claims =
        id_token_claims(&oidc_social_tokens(&downstream, &upstream_ui, &browser(), EMAIL).await);
    assert_ne!(claims["sub"], downstream.subject.as_str());
    assert!(claims.get("email").is_none_or(|e| e.is_null()), "{claims}");
}

// ------------------------------------------------------ GitHub-style OAuth2

/// Stands in for an external service, GitHub, which tests cannot reach: a
/// loopback server speaking its documented OAuth app endpoints (authorize
/// redirect, `POST /login/oauth/access_token`, `GET /user`,
/// `GET /user/emails`).
#[derive(Clone, Default)]
struct FakeGitHub {
    /// code -> PKCE challenge.
    codes: Arc<Mutex<HashMap<String, String>>>,
    /// What `/user/emails` answers.
    emails: Arc<Mutex<serde_json::Value>>,
}

const GITHUB_TOKEN: &str = "gho_loopback_token";

async fn gh_authorize(
    State(gh): State<FakeGitHub>,
    Query(q): Query<HashMap<String, String>>,
) -> impl IntoResponse {
    assert_eq!(q["client_id"], "downstream");
    assert_eq!(q["code_challenge_method"], "S256");
    let code = format!("gh-code-{}", gh.codes.lock().unwrap().len());
    gh.codes
        .lock()
        .unwrap()
        .insert(code.clone(), q["code_challenge"].clone());
    let sep = if q["redirect_uri"].contains('?') {
        '&'
    } else {
        '?'
    };
    Redirect::to(&format!(
        "{}{sep}code={code}&state={}",
        q["redirect_uri"],
        urlencode(&q["state"])
    ))
}

async fn gh_token(
    State(gh): State<FakeGitHub>,
    Form(f): Form<HashMap<String, String>>,
) -> impl IntoResponse {
    use base64::Engine as _;
    let challenge = gh.codes.lock().unwrap().remove(&f["code"]);
    let pkce_ok = challenge.is_some_and(|c| {
        let digest =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, f["code_verifier"].as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest) == c
    });
    if f["client_secret"] != UPSTREAM_SECRET || !pkce_ok {
        // GitHub answers a bad code with 200 and an error body.
        return axum::Json(serde_json::json!({"error": "bad_verification_code"}));
    }
    axum::Json(serde_json::json!({
        "access_token": GITHUB_TOKEN, "token_type": "bearer", "scope": "read:user,user:email"
    }))
}

fn gh_authorized(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {GITHUB_TOKEN}"))
        && headers.contains_key("user-agent")
}

async fn gh_user(headers: HeaderMap) -> axum::response::Response {
    if !gh_authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    axum::Json(serde_json::json!({"id": 4242, "login": "octocat", "name": "The Octocat"}))
        .into_response()
}

async fn gh_emails(State(gh): State<FakeGitHub>, headers: HeaderMap) -> axum::response::Response {
    if !gh_authorized(&headers) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    axum::Json(gh.emails.lock().unwrap().clone()).into_response()
}

impl FakeGitHub {
    async fn start(emails: serde_json::Value) -> (Self, OAuth2Endpoints) {
        use axum::routing::{get, post};
        let gh = Self::default();
        *gh.emails.lock().unwrap() = emails;
        let app = axum::Router::new()
            .route("/login/oauth/authorize", get(gh_authorize))
            .route("/login/oauth/access_token", post(gh_token))
            .route("/user", get(gh_user))
            .route("/user/emails", get(gh_emails))
            .with_state(gh.clone());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://localhost:{}", l.local_addr().unwrap().port());
        tokio::spawn(async move { axum::serve(l, app).await });
        let u = |p: &str| format!("{base}{p}").parse().unwrap();
        let endpoints = OAuth2Endpoints {
            authorize_url: u("/login/oauth/authorize"),
            token_url: u("/login/oauth/access_token"),
            userinfo_url: u("/user"),
            emails_url: u("/user/emails"),
        };
        (gh, endpoints)
    }
}

async fn github_server(emails: serde_json::Value) -> TestServer {
    let (_gh, endpoints) = FakeGitHub::start(emails).await;
    TestServer::start_with(|c| {
        let mut p = provider("github", SocialKind::OAuth2);
        p.display_name = "GitHub".into();
        p.oauth2 = endpoints;
        c.social.providers = vec![p];
    })
    .await
}

/// Login page with `enable_social=true` and `extra` parameters → GitHub →
/// callback; returns the callback's answer.
async fn github_login(srv: &TestServer, b: &reqwest::Client, extra: &str) -> reqwest::Response {
    let html = page_text(b, format!("{}/login?enable_social=true{extra}", srv.ui)).await;
    assert!(html.contains(">Continue with GitHub</a>"), "{html}");
    let start = format!("{}{}", srv.ui, button_href(&html));
    let callback = follow_until(b, start, &format!("{}/social/github/callback", srv.ui)).await;
    b.get(callback).send().await.unwrap()
}

async fn whoami(srv: &TestServer, b: &reqwest::Client) -> serde_json::Value {
    let res = b
        .get(format!("{}/api/identity/whoami", srv.public))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn verified(email: &str, verified: bool) -> serde_json::Value {
    serde_json::json!([
        {"email": "octo-old@example.org", "primary": false, "verified": false, "visibility": null},
        {"email": email, "primary": true, "verified": verified, "visibility": "public"},
    ])
}

#[tokio::test]
async fn github_style_oauth2_login_creates_then_finds_the_identity() {
    let srv = github_server(verified("octo@example.com", true)).await;
    let b = browser();
    let res = github_login(&srv, &b, "&return_to=http%3A%2F%2F127.0.0.1%3A3000%2Fdone").await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        location(&res),
        "http://127.0.0.1:3000/done",
        "an allowed return_to"
    );
    let me = whoami(&srv, &b).await;
    assert_eq!(me["identity"]["email"], "octo@example.com");
    assert_eq!(me["identity"]["email_verified"], true);
    assert_eq!(me["identity"]["name"], "The Octocat");
    assert_eq!(me["identity"]["has_password"], false);
    assert_eq!(me["session"]["amr"], serde_json::json!(["oidc"]));
    let id = me["identity"]["id"].clone();

    let other = browser();
    github_login(&srv, &other, "").await;
    assert_eq!(whoami(&srv, &other).await["identity"]["id"], id);
}

#[tokio::test]
async fn a_verified_upstream_email_links_to_the_account_that_verified_it() {
    let srv = github_server(verified(EMAIL, true)).await;
    let store = &srv.services().store;
    let mut alice = store.get_identity(&srv.subject).await.unwrap().unwrap();
    alice.traits.email_verified = true;
    store.update_identity(&alice).await.unwrap();
    let b = browser();
    github_login(&srv, &b, "").await;
    assert_eq!(
        whoami(&srv, &b).await["identity"]["id"],
        srv.subject.as_str()
    );
}

#[tokio::test]
async fn an_unverified_github_email_creates_a_new_identity_without_it() {
    let srv = github_server(verified(EMAIL, false)).await;
    let b = browser();
    github_login(&srv, &b, "").await;
    let me = whoami(&srv, &b).await;
    assert_ne!(me["identity"]["id"], srv.subject.as_str());
    assert!(me["identity"]["email"].is_null(), "{me}");
}

#[tokio::test]
async fn return_to_outside_the_allowed_origins_is_not_followed_after_social_login() {
    let srv = github_server(verified("octo@example.com", true)).await;
    let res = github_login(
        &srv,
        &browser(),
        "&return_to=https%3A%2F%2Fevil.example%2Fphish",
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), format!("{}/settings", srv.ui));
}

/// The callback's answer when the upstream's redirect is altered by `f`.
async fn tampered_callback(
    srv: &TestServer,
    b: &reqwest::Client,
    f: impl FnOnce(url::Url) -> url::Url,
) -> reqwest::Response {
    let html = page_text(b, format!("{}/login?enable_social=true", srv.ui)).await;
    let start = format!("{}{}", srv.ui, button_href(&html));
    let callback = follow_until(b, start, &format!("{}/social/github/callback", srv.ui)).await;
    b.get(f(callback.parse().unwrap()).as_str())
        .send()
        .await
        .unwrap()
}

fn with_query(mut u: url::Url, pairs: &[(&str, &str)]) -> url::Url {
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u
}

async fn error_page_code(res: reqwest::Response, status: u16) -> String {
    assert_eq!(res.status(), status);
    assert!(
        res.headers()
            .get_all("set-cookie")
            .iter()
            .all(|c| !c.to_str().unwrap().starts_with("ory_kratos_session=")),
        "no session"
    );
    res.text().await.unwrap()
}

#[tokio::test]
async fn a_tampered_or_missing_state_or_another_browser_is_refused() {
    let srv = github_server(verified("octo@example.com", true)).await;
    let code_of = |u: &url::Url| query_param(u.as_str(), "code").unwrap();
    let html = error_page_code(
        tampered_callback(&srv, &browser(), |u| {
            let code = code_of(&u);
            with_query(u, &[("code", &code), ("state", "forged")])
        })
        .await,
        400,
    )
    .await;
    assert!(html.contains("4012"), "{html}");
    let html = error_page_code(
        tampered_callback(&srv, &browser(), |u| {
            let code = code_of(&u);
            with_query(u, &[("code", &code)])
        })
        .await,
        400,
    )
    .await;
    assert!(html.contains("4012"), "{html}");
    // The genuine callback URL, opened in another browser (login CSRF).
    let mut carried = None;
    tampered_callback(&srv, &browser(), |u| {
        carried = Some(u.clone());
        with_query(u, &[("state", "x")])
    })
    .await;
    let res = browser()
        .get(carried.unwrap().as_str())
        .send()
        .await
        .unwrap();
    assert!(error_page_code(res, 400).await.contains("4012"));
}

#[tokio::test]
async fn an_upstream_refusal_lands_on_the_error_page_with_its_code() {
    let srv = github_server(verified("octo@example.com", true)).await;
    let res = tampered_callback(&srv, &browser(), |u| {
        let state = query_param(u.as_str(), "state").unwrap();
        with_query(u, &[("error", "access_denied"), ("state", &state)])
    })
    .await;
    let html = error_page_code(res, 403).await;
    assert!(
        html.contains("3001") && html.contains("cancelled"),
        "{html}"
    );
    // A code the provider does not accept: a failed exchange.
    let res = tampered_callback(&srv, &browser(), |u| {
        let state = query_param(u.as_str(), "state").unwrap();
        with_query(u, &[("code", "not-a-code"), ("state", &state)])
    })
    .await;
    let html = error_page_code(res, 401).await;
    assert!(html.contains("2007"), "{html}");
    assert!(!html.contains(UPSTREAM_SECRET));
}

#[tokio::test]
async fn the_identity_api_lists_the_providers_with_their_start_urls() {
    let srv = github_server(verified("octo@example.com", true)).await;
    let res = reqwest::get(format!("{}/api/identity/social/providers", srv.public))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"providers": [{
            "id": "github",
            "display_name": "GitHub",
            "start_url": format!("{}/social/github/start", srv.ui),
        }]})
    );
    // The register page offers them too (a first social login creates
    // the account), carrying the page's parameters to the start endpoint.
    let html = reqwest::get(format!(
        "{}/register?enable_social=true&return_to=http%3A%2F%2F127.0.0.1%3A3000%2Fdone",
        srv.ui
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    let href = button_href(&html);
    assert!(href.starts_with("/social/github/start?"), "{href}");
    assert_eq!(
        query_param(&format!("{}{href}", srv.ui), "return_to").as_deref(),
        Some("http://127.0.0.1:3000/done")
    );
    // Without enable_social the login page shows no buttons.
    let html = reqwest::get(format!("{}/login", srv.ui))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("social-button"));
}
