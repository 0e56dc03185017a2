//! A OneAuth on loopback for one test, and a browser-like HTTP client.

use oneauth::server::{Listeners, Running};
use oneauth_core::{Config, ManualClock};
use oneauth_oauth2::client::ClientRegistration;
use reqwest::redirect::Policy;
use std::sync::Arc;
use tokio::net::TcpListener;

pub const PASSWORD: &str = "correct horse battery staple";
pub const EMAIL: &str = "alice@example.com";
pub const REDIRECT: &str = "http://127.0.0.1:3000/callback";
/// RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

pub struct TestServer {
    pub running: Option<Running>,
    pub clock: Arc<ManualClock>,
    pub public: String,
    pub ui: String,
    pub admin: String,
    pub subject: String,
    _dir: tempfile::TempDir,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            tokio::spawn(r.shutdown());
        }
    }
}

async fn loopback() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

/// The guide's client: public, PKCE, skip consent.
pub fn guide_client() -> ClientRegistration {
    ClientRegistration {
        client_id: Some("web-app".into()),
        client_name: Some("Web App".into()),
        redirect_uris: vec![REDIRECT.into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        response_types: vec!["code".into()],
        scope: Some("openid profile email offline".into()),
        token_endpoint_auth_method: Some("none".into()),
        post_logout_redirect_uris: vec!["http://127.0.0.1:3000/logged-out".into()],
        skip_consent: true,
        native_cli_login: true,
        ..Default::default()
    }
}

impl TestServer {
    /// A server with the guide's client and one user.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        Self::try_start_with(tweak).await.unwrap()
    }

    /// As [`TestServer::start_with`], for tests of start-up failures.
    pub async fn try_start_with(tweak: impl FnOnce(&mut Config)) -> anyhow::Result<Self> {
        capture_logs();
        let dir = tempfile::tempdir().unwrap();
        let (public, ui, admin) = (loopback().await, loopback().await, loopback().await);
        let url = |l: &TcpListener| format!("http://{}", l.local_addr().unwrap());
        let mut config = Config {
            issuer: url(&public).parse().unwrap(),
            ui_url: url(&ui).parse().unwrap(),
            data_dir: dir.path().to_owned(),
            ..Config::default()
        };
        config.secrets.system = "test-system-secret-0123456789abcdef".into();
        tweak(&mut config);
        let (p, u, a) = (url(&public), url(&ui), url(&admin));
        let clock = Arc::new(ManualClock::starting_now());
        let running =
            oneauth::server::start_on(config, clock.clone(), Listeners { public, ui, admin })
                .await?;
        let now = oneauth_core::Clock::now(clock.as_ref());
        // A second node on a shared database finds the client and user there.
        let _ = running
            .services
            .server
            .create_client(guide_client(), now)
            .await;
        let created = running
            .services
            .identities
            .create(EMAIL, Some(PASSWORD), Some("Alice Example".into()), now)
            .await;
        let identity = match created {
            Ok(i) => i,
            Err(_) => running
                .services
                .store
                .get_identity_by_email(EMAIL)
                .await
                .unwrap()
                .unwrap(),
        };
        Ok(Self {
            running: Some(running),
            clock,
            public: p,
            ui: u,
            admin: a,
            subject: identity.id,
            _dir: dir,
        })
    }

    pub fn server(&self) -> &oneauth_oauth2::AuthorizationServer {
        &self.services().server
    }

    /// The process's services (the store, configuration, identities): for
    /// setting up and checking what the HTTP API does not show.
    pub fn services(&self) -> &oneauth::server::Services {
        &self.running.as_ref().unwrap().services
    }

    /// The guide's step 1 URL with `extra` parameters replacing defaults.
    pub fn authorize_url(&self, extra: &[(&str, &str)]) -> String {
        let mut params: Vec<(&str, &str)> = vec![
            ("client_id", "web-app"),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "openid profile email offline"),
            ("state", "st-123"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("nonce", "n-456"),
        ];
        for (k, v) in extra {
            params.retain(|(pk, _)| pk != k);
            if !v.is_empty() {
                params.push((k, v));
            }
        }
        let mut url = url::Url::parse(&format!("{}/oauth2/auth", self.public)).unwrap();
        url.query_pairs_mut().extend_pairs(params);
        url.into()
    }
}

/// A cookie-keeping client that does not follow redirects.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location on a {} answer", res.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A hidden input's value on an HTML page.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// GET the login page and POST the form; returns the answer to the POST.
pub async fn submit_login(
    b: &reqwest::Client,
    login_url: &str,
    password: &str,
) -> reqwest::Response {
    let page = b.get(login_url).send().await.unwrap();
    assert_eq!(page.status(), 200, "login page");
    let html = page.text().await.unwrap();
    let csrf = hidden(&html, "csrf_token").expect("csrf token on the login form");
    let challenge = hidden(&html, "login_challenge").expect("challenge on the login form");
    let ui = login_url.split("/login").next().unwrap();
    b.post(format!("{ui}/login"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("login_challenge", challenge.as_str()),
            ("method", "password"),
            ("identifier", EMAIL),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

/// A page's text, whatever its status.
pub async fn page_text(b: &reqwest::Client, url: impl reqwest::IntoUrl) -> String {
    b.get(url).send().await.unwrap().text().await.unwrap()
}

/// Follows redirects by hand until one leaves OneAuth; returns that URL.
pub async fn follow_to_client(b: &reqwest::Client, url: String) -> String {
    follow_until(b, url, "http://127.0.0.1:3000").await
}

/// Follows redirects by hand until the URL starts with `stop`; returns it.
pub async fn follow_until(b: &reqwest::Client, mut url: String, stop: &str) -> String {
    for _ in 0..12 {
        if url.starts_with(stop) {
            return url;
        }
        let res = b.get(&url).send().await.unwrap();
        assert!(
            res.status().is_redirection(),
            "{url} answered {}: {}",
            res.status(),
            res.text().await.unwrap()
        );
        url = location(&res);
    }
    panic!("too many redirects on the way to {stop}");
}

/// The UI's confirmation page behind `location` (a redirect to it),
/// confirmed with its form: the answer to the POST.
pub async fn confirm_logout(
    srv: &TestServer,
    b: &reqwest::Client,
    location: &str,
) -> reqwest::Response {
    assert!(
        location.starts_with(&format!("{}/logout", srv.ui)),
        "asks first: {location}"
    );
    let page = b.get(location).send().await.unwrap();
    assert_eq!(page.status(), 200, "the confirmation page");
    let html = page.text().await.unwrap();
    let csrf = hidden(&html, "csrf_token").expect("a CSRF token on the form");
    let mut form = vec![("csrf_token", csrf)];
    if let Some(t) = hidden(&html, "target") {
        form.push(("target", t));
    }
    b.post(format!("{}/logout", srv.ui))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// Steps 1–4 of the guide: authorize, log in, come back with a code.
pub async fn login_for_code(
    srv: &TestServer,
    b: &reqwest::Client,
    extra: &[(&str, &str)],
) -> String {
    let res = b.get(srv.authorize_url(extra)).send().await.unwrap();
    let login = location(&res);
    assert!(
        login.starts_with(&format!("{}/login?login_challenge=", srv.ui)),
        "{login}"
    );
    let res = submit_login(b, &login, PASSWORD).await;
    assert_eq!(res.status(), 303, "login POST");
    let callback = follow_to_client(b, location(&res)).await;
    query_param(&callback, "code").unwrap_or_else(|| panic!("no code in {callback}"))
}

/// The guide's step 5 request, byte for byte in shape.
pub async fn exchange(srv: &TestServer, code: &str, verifier: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/api/oauth2/token", srv.public))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=authorization_code&code={}&redirect_uri={}&client_id=web-app&code_verifier={}",
            urlencode(code),
            urlencode(REDIRECT),
            urlencode(verifier)
        ))
        .send()
        .await
        .unwrap()
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// An error answer in the documented shape; returns its code.
pub async fn error_code(res: reqwest::Response, status: u16, error: &str) -> u64 {
    assert_eq!(res.status(), status);
    let body: serde_json::Value = res.json().await.expect("error body is JSON");
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    body["code"]
        .as_u64()
        .unwrap_or_else(|| panic!("no numeric code in {body}"))
}

/// A full login and code exchange; the token response.
pub async fn tokens(srv: &TestServer, b: &reqwest::Client) -> serde_json::Value {
    let code = login_for_code(srv, b, &[]).await;
    let res = exchange(srv, &code, VERIFIER).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

pub async fn post_json(url: String, body: serde_json::Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
}

pub fn s(v: &serde_json::Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_owned()
}

/// Key of the courier webhook's signature in tests.
pub const HOOK_SECRET: &str = "webhook-secret-for-tests-0123";

/// Messages the courier posted to a webhook receiver the test runs:
/// (to, template, body) of each, in order of arrival.
#[derive(Clone, Default)]
pub struct Inbox(pub Arc<std::sync::Mutex<Vec<(String, String, String)>>>);

impl Inbox {
    pub async fn start() -> (Self, String) {
        let inbox = Self::default();
        let seen = inbox.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |body: axum::Json<serde_json::Value>| {
                let seen = seen.clone();
                async move {
                    let s = |k: &str| body[k].as_str().unwrap_or_default().to_owned();
                    seen.0
                        .lock()
                        .unwrap()
                        .push((s("to"), s("template"), s("body")));
                    axum::http::StatusCode::NO_CONTENT
                }
            }),
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, app).await });
        (inbox, url)
    }

    pub fn messages_to(&self, to: &str) -> Vec<(String, String)> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, _, _)| t == to)
            .map(|(_, tpl, body)| (tpl.clone(), body.clone()))
            .collect()
    }

    /// How many `template` messages reached `to` so far.
    pub fn count(&self, to: &str, template: &str) -> usize {
        self.messages_to(to)
            .iter()
            .filter(|(t, _)| t == template)
            .count()
    }

    /// The code of the first `template` message to `to` after the `seen`
    /// ones, waiting for its delivery (the courier sends in the background).
    pub async fn next_code(&self, to: &str, template: &str, seen: usize) -> String {
        self.next_message(to, template, seen)
            .await
            .split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 6)
            .expect("a code in the message")
            .to_owned()
    }

    /// The body of the first `template` message to `to` after the `seen`
    /// ones, polling until the courier has delivered it (bounded).
    pub async fn next_message(&self, to: &str, template: &str, seen: usize) -> String {
        for _ in 0..200 {
            let messages: Vec<String> = self
                .messages_to(to)
                .into_iter()
                .filter(|(t, _)| t == template)
                .map(|(_, b)| b)
                .collect();
            if let Some(body) = messages.get(seen) {
                return body.clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no {template} message reached {to}");
    }

    /// The code of the first `template` message to `to`.
    pub async fn code_for(&self, to: &str, template: &str) -> String {
        self.next_code(to, template, 0).await
    }
}

/// A server whose courier posts every message to an [`Inbox`], with cheap
/// password hashes.
pub async fn server_with_inbox() -> (TestServer, Inbox) {
    server_with_inbox_and(|_| {}).await
}

/// As [`server_with_inbox`], with `tweak` applied last.
pub async fn server_with_inbox_and(tweak: impl FnOnce(&mut Config)) -> (TestServer, Inbox) {
    let (inbox, url) = Inbox::start().await;
    let srv = TestServer::start_with(|c| {
        c.courier.email_provider = oneauth_core::config::EmailProvider::Webhook;
        c.courier.sms_provider = oneauth_core::config::SmsProvider::Webhook;
        c.courier.webhook.url = url;
        c.courier.webhook.secret = HOOK_SECRET.into();
        c.courier.poll_interval_ms = 50;
        c.password.argon2_memory_kib = 64;
        c.password.argon2_iterations = 1;
        tweak(c);
    })
    .await;
    (srv, inbox)
}

/// Everything the servers of this test binary logged, for checks that no
/// secret ever reaches a log.
pub static LOGS: std::sync::OnceLock<Arc<std::sync::Mutex<Vec<u8>>>> = std::sync::OnceLock::new();

#[derive(Clone)]
struct LogSink(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures every log line at debug level and above, once per test binary,
/// except those of the test's own HTTP client (its cookie jar logs cookies).
pub fn capture_logs() {
    LOGS.get_or_init(|| {
        let buf = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = LogSink(buf.clone());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "debug,cookie_store=off,reqwest=off",
            ))
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .try_init();
        buf
    });
}

pub fn logged() -> String {
    String::from_utf8_lossy(&LOGS.get().expect("capture_logs() ran").lock().unwrap()).into_owned()
}

/// POST a JSON body to `/api/identity/{path}` from browser `b`.
pub async fn identity_post(
    b: &reqwest::Client,
    srv: &TestServer,
    path: &str,
    body: serde_json::Value,
) -> reqwest::Response {
    b.post(format!("{}/api/identity/{path}", srv.public))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Whether the guide's verify endpoint calls an access token active.
pub async fn token_active(srv: &TestServer, access_token: &serde_json::Value) -> bool {
    let v: serde_json::Value = post_json(
        format!("{}/oauth/token/verify", srv.public),
        serde_json::json!({ "token": access_token }),
    )
    .await
    .json()
    .await
    .unwrap();
    v["active"].as_bool().unwrap()
}

/// The guide's CLI login for the guide's client; the token response.
pub async fn cli_login(srv: &TestServer, username: &str, password: &str) -> serde_json::Value {
    let res = post_json(
        format!("{}/oauth/native/cli", srv.public),
        serde_json::json!({
            "client_id": "web-app",
            "username": username,
            "password": password,
            "code_verifier": VERIFIER,
            "scope": "openid offline"
        }),
    )
    .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Alice's email verified by the code the courier delivered.
pub async fn verify_alice(srv: &TestServer, inbox: &Inbox) {
    let ids = &srv.services().identities;
    let now = oneauth_core::Clock::now(srv.clock.as_ref());
    let alice = oneauth_identity::identifier::Address::email(EMAIL).unwrap();
    ids.send_verification_code(&alice, oneauth_identity::Locale::En, now)
        .await
        .unwrap();
    let code = inbox.code_for(EMAIL, "verification_code").await;
    ids.verify(&alice, &code, None, now).await.unwrap();
    // Past the send cool-down the code started, for the test's next message.
    srv.clock.advance(time::Duration::seconds(61));
}
