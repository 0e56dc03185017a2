//! The example CLI against a real OneAuth: `login --browser` through the
//! loopback redirect (a test HTTP client plays the browser and signs in on
//! the login UI), then `whoami`, `refresh` and `logout`, and the token
//! file is the user's alone.

use oneauth::server::{Listeners, Running, start_on};
use oneauth_core::{Clock, Config, SystemClock};
use oneauth_oauth2::client::ClientRegistration;
use std::io::BufRead;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use tokio::net::TcpListener;

const EMAIL: &str = "carol@example.com";
const PASSWORD: &str = "correct horse battery staple";
const CLIENT: &str = "example-cli";

struct Server {
    _running: Running,
    public: String,
    ui: String,
    _data: tempfile::TempDir,
}

/// OneAuth on three loopback ports with the CLI's client, registered as
/// the README says: public, and its redirect URI without a port.
async fn start() -> Server {
    let data = tempfile::tempdir().unwrap();
    let bind = || TcpListener::bind("127.0.0.1:0");
    let (public, ui, admin) = (
        bind().await.unwrap(),
        bind().await.unwrap(),
        bind().await.unwrap(),
    );
    let url = |l: &TcpListener| format!("http://{}", l.local_addr().unwrap());
    let (public_url, ui_url) = (url(&public), url(&ui));
    let mut config = Config {
        issuer: public_url.parse().unwrap(),
        ui_url: ui_url.parse().unwrap(),
        data_dir: data.path().to_owned(),
        ..Config::default()
    };
    config.secrets.system = "test-system-secret-0123456789abcdef".into();
    // The device flow polls at the pace of real seconds: a real clock.
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let running = start_on(config, clock.clone(), Listeners { public, ui, admin })
        .await
        .unwrap();
    let now = clock.now();
    let client = ClientRegistration {
        client_id: Some(CLIENT.into()),
        redirect_uris: vec!["http://127.0.0.1/callback".into()],
        grant_types: vec![
            "authorization_code".into(),
            "refresh_token".into(),
            "urn:ietf:params:oauth:grant-type:device_code".into(),
        ],
        scope: Some("openid profile email offline".into()),
        token_endpoint_auth_method: Some("none".into()),
        skip_consent: true,
        ..Default::default()
    };
    running
        .services
        .server
        .create_client(client, now)
        .await
        .unwrap();
    running
        .services
        .identities
        .create(EMAIL, Some(PASSWORD), Some("Carol".into()), now)
        .await
        .unwrap();
    Server {
        _running: running,
        public: public_url,
        ui: ui_url,
        _data: data,
    }
}

// std's process API on the blocking pool: tokio's `process` feature would
// rebuild tokio and everything above it for this one test.
fn cli(srv: &Server, dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oneauth-example-cli"));
    cmd.env("ONEAUTH_ISSUER", &srv.public)
        .env("ONEAUTH_CLIENT_ID", CLIENT)
        .env("ONEAUTH_CLI_DIR", dir);
    cmd
}

/// Runs the CLI with `args` to its end: its stdout, after asserting success.
async fn run(srv: &Server, dir: &Path, args: &[&str]) -> String {
    let mut cmd = cli(srv, dir);
    cmd.args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    assert!(out.status.success(), "{args:?}: {}", text(out.stderr));
    text(out.stdout)
}

/// A hidden input's value on an HTML page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name}")) + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_owned()
}

/// A cookie-keeping client that does not follow redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Opens `url`, which sends the browser to the login page, and signs in
/// there with the password: the answer to the form.
async fn password_login(srv: &Server, b: &reqwest::Client, url: &str) -> reqwest::Response {
    let login = location(&b.get(url).send().await.unwrap());
    let html = b.get(&login).send().await.unwrap().text().await.unwrap();
    // The form carries where it came from: an OAuth2 login challenge, or
    // the page to return to.
    let (from, value) = match query_param(&login, "return_to") {
        Some(back) => ("return_to", back),
        None => ("login_challenge", hidden(&html, "login_challenge")),
    };
    b.post(format!("{}/login", srv.ui))
        .form(&[
            ("csrf_token", hidden(&html, "csrf_token").as_str()),
            (from, value.as_str()),
            ("method", "password"),
            ("identifier", EMAIL),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap()
}

/// What the user does with the printed URL: opens it, signs in with a
/// password, and the browser follows the redirects back to the CLI.
async fn sign_in_in_browser(srv: &Server, url: &str) {
    let b = browser();
    let redirect_uri = query_param(url, "redirect_uri").expect("a redirect_uri in the printed URL");
    assert!(
        redirect_uri.starts_with("http://127.0.0.1:"),
        "{redirect_uri}"
    );
    let res = password_login(srv, &b, url).await;
    let mut next = location(&res);
    for _ in 0..10 {
        if next.starts_with(&redirect_uri) {
            let res = b.get(&next).send().await.unwrap();
            assert_eq!(res.status(), 200, "the CLI answers the browser");
            return;
        }
        next = location(&b.get(&next).send().await.unwrap());
    }
    panic!("never came back to {redirect_uri}");
}

/// Runs `login <how>` while `act` plays the person with the URL the CLI
/// prints; asserts that the CLI then says it signed in.
async fn login<F: Future<Output = ()>>(
    srv: &Server,
    dir: &Path,
    how: &str,
    act: impl FnOnce(String) -> F,
) {
    let mut login = cli(srv, dir)
        .args(["login", how])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Read on to the end: the CLI prints more once signed in.
    let stdout = login.stdout.take().unwrap();
    let (url_tx, url_rx) = tokio::sync::oneshot::channel();
    let mut url_tx = Some(url_tx);
    let rest = tokio::task::spawn_blocking(move || {
        let mut rest = Vec::new();
        for line in std::io::BufReader::new(stdout).lines().map(Result::unwrap) {
            match url_tx.take_if(|_| line.starts_with("http")) {
                Some(tx) => tx.send(line).unwrap(),
                None => rest.push(line),
            }
        }
        rest
    });
    act(url_rx.await.expect("the CLI prints a URL")).await;
    let status = tokio::task::spawn_blocking(move || login.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
    let rest = rest.await.unwrap();
    assert!(rest.iter().any(|l| l.starts_with("Signed in")), "{rest:?}");
}

#[tokio::test]
async fn browser_login_whoami_refresh_logout() {
    let server = start().await;
    let srv = &server;
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("oneauth");

    login(srv, &dir, "--browser", |url| async move {
        assert!(
            url.starts_with(&format!("{}/oauth2/auth?", srv.public)),
            "{url}"
        );
        for param in [
            "state=",
            "nonce=",
            "code_challenge=",
            "code_challenge_method=S256",
        ] {
            assert!(url.contains(param), "{param} in {url}");
        }
        sign_in_in_browser(srv, &url).await;
    })
    .await;

    let file = dir.join("tokens.json");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&dir), 0o700);
    let tokens = |f: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap()
    };
    let first = tokens(&file);

    let me: serde_json::Value = serde_json::from_str(&run(srv, &dir, &["whoami"]).await).unwrap();
    assert_eq!(me["email"], EMAIL, "{me}");

    run(srv, &dir, &["refresh"]).await;
    let second = tokens(&file);
    assert_ne!(first["access_token"], second["access_token"]);
    assert_eq!(mode(&file), 0o600);
    run(srv, &dir, &["whoami"]).await;

    run(srv, &dir, &["logout"]).await;
    assert!(!file.exists());
    // Both tokens are revoked on the server, not only forgotten here.
    let http = reqwest::Client::new();
    let verify: serde_json::Value = http
        .post(format!("{}/oauth/token/verify", srv.public))
        .json(&serde_json::json!({ "token": second["access_token"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(verify["active"], false, "{verify}");
    let refresh = http
        .post(format!("{}/oauth2/token", srv.public))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT),
            ("refresh_token", second["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refresh.status(), 400);
}

/// What the person does on another device: opens the URL with the code,
/// signs in, and allows the device on the UI's `/device` page.
async fn approve_on_device_page(srv: &Server, url: &str) {
    let b = browser();
    let res = password_login(srv, &b, url).await;
    let back = location(&res);
    assert!(back.starts_with(&format!("{}/device", srv.ui)), "{back}");
    let html = b.get(back).send().await.unwrap().text().await.unwrap();
    let res = b
        .post(format!("{}/device", srv.ui))
        .form(&[
            ("csrf_token", hidden(&html, "csrf_token").as_str()),
            ("user_code", hidden(&html, "user_code").as_str()),
            ("action", "allow"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn device_login_then_whoami() {
    let server = start().await;
    let srv = &server;
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("oneauth");
    login(srv, &dir, "--device", |url| async move {
        assert!(
            url.starts_with(&format!("{}/device?user_code=", srv.ui)),
            "{url}"
        );
        approve_on_device_page(srv, &url).await;
    })
    .await;
    let me: serde_json::Value = serde_json::from_str(&run(srv, &dir, &["whoami"]).await).unwrap();
    assert_eq!(me["email"], EMAIL, "{me}");
}
