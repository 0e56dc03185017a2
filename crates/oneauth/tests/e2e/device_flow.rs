//! RFC 8628 device authorization: the device's requests over HTTP, the
//! user's side on the UI's `/device` page with a cookie jar, every state
//! of the poll.

use crate::support::*;
use oneauth_core::Clock as _;
use serde_json::Value;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A server with a public device client `tv`.
async fn server() -> TestServer {
    let srv = TestServer::start().await;
    let now = srv.clock.now();
    let reg = oneauth_oauth2::client::ClientRegistration {
        client_id: Some("tv".into()),
        client_name: Some("Living Room TV".into()),
        grant_types: vec![GRANT.into(), "refresh_token".into()],
        scope: Some("openid profile offline".into()),
        token_endpoint_auth_method: Some("none".into()),
        ..Default::default()
    };
    srv.server().create_client(reg, now).await.unwrap();
    srv
}

async fn start(srv: &TestServer, client_id: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/oauth2/device/auth", srv.public))
        .form(&[
            ("client_id", client_id),
            ("scope", "openid profile offline"),
        ])
        .send()
        .await
        .unwrap()
}

/// A started device authorization's answer.
async fn started(srv: &TestServer) -> Value {
    let res = start(srv, "tv").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    res.json().await.unwrap()
}

async fn poll(srv: &TestServer, device_code: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/oauth2/token", srv.public))
        .form(&[
            ("grant_type", GRANT),
            ("device_code", &s(device_code)),
            ("client_id", "tv"),
        ])
        .send()
        .await
        .unwrap()
}

fn wait(srv: &TestServer, secs: i64) {
    srv.clock.advance(time::Duration::seconds(secs));
}

/// Signs in from the device page and comes back to the question: its HTML.
async fn sign_in_at_device_page(srv: &TestServer, b: &reqwest::Client, url: &str) -> String {
    let res = b.get(url).send().await.unwrap();
    assert_eq!(res.status(), 303, "the login page first");
    let login = location(&res);
    assert!(
        login.starts_with(&format!("{}/login?return_to=", srv.ui)),
        "{login}"
    );
    let html = page_text(b, &login).await;
    let back = query_param(&login, "return_to").unwrap();
    let res = b
        .post(format!("{}/login", srv.ui))
        .form(&[
            ("csrf_token", hidden(&html, "csrf_token").unwrap().as_str()),
            ("return_to", back.as_str()),
            ("method", "password"),
            ("identifier", EMAIL),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), back, "back to the device page");
    let res = b.get(&back).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

/// Answers the question on `html` with `action` (`allow` or `deny`).
async fn answer(srv: &TestServer, b: &reqwest::Client, html: &str, action: &str) -> String {
    let res = b
        .post(format!("{}/device", srv.ui))
        .form(&[
            ("csrf_token", hidden(html, "csrf_token").unwrap().as_str()),
            ("user_code", hidden(html, "user_code").unwrap().as_str()),
            ("action", action),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

#[tokio::test]
async fn an_approved_device_gets_its_tokens_once() {
    let srv = server().await;
    let d = started(&srv).await;
    let user_code = s(&d["user_code"]);
    assert_eq!(user_code.len(), 9, "{d}");
    assert_eq!(&user_code[4..5], "-");
    assert!(
        user_code
            .chars()
            .all(|c| c == '-' || "BCDFGHJKLMNPQRSTVWXZ".contains(c)),
        "{user_code}"
    );
    assert_eq!(d["verification_uri"], format!("{}/device", srv.ui));
    assert_eq!(
        d["verification_uri_complete"],
        format!("{}/device?user_code={user_code}", srv.ui)
    );
    assert_eq!(
        (d["expires_in"].as_i64(), d["interval"].as_i64()),
        (Some(600), Some(5))
    );

    assert_eq!(
        error_code(
            poll(&srv, &d["device_code"]).await,
            400,
            "authorization_pending"
        )
        .await,
        4015
    );

    // Typed as a user might: lower case, no dash.
    let b = browser();
    let typed = user_code.replace('-', "").to_lowercase();
    let html =
        sign_in_at_device_page(&srv, &b, &format!("{}/device?user_code={typed}", srv.ui)).await;
    assert!(html.contains("Living Room TV"), "{html}");
    assert!(html.contains(&user_code), "the code to compare: {html}");
    assert!(html.contains("See your name and username"), "{html}");
    let done = answer(&srv, &b, &html, "allow").await;
    assert!(done.contains("Device connected"), "{done}");

    wait(&srv, 5);
    let res = poll(&srv, &d["device_code"]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let tokens: Value = res.json().await.unwrap();
    assert!(
        s(&tokens["access_token"]).starts_with("ory_at_"),
        "{tokens}"
    );
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
    assert!(tokens["id_token"].is_string(), "{tokens}");
    assert_eq!(tokens["scope"], "openid profile offline");
    let v: Value = post_json(
        format!("{}/oauth/token/verify", srv.public),
        serde_json::json!({ "token": tokens["access_token"] }),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(v["sub"], srv.subject.as_str(), "{v}");

    wait(&srv, 5);
    assert_eq!(
        error_code(poll(&srv, &d["device_code"]).await, 400, "invalid_grant").await,
        4006,
        "a device code yields tokens once"
    );
    // The code cannot be answered again either.
    let again = page_text(&b, format!("{}/device?user_code={user_code}", srv.ui)).await;
    assert!(
        again.contains("That code is wrong or has expired"),
        "{again}"
    );
}

#[tokio::test]
async fn polling_faster_than_the_interval_slows_down_by_five_seconds_each_time() {
    let srv = server().await;
    let d = started(&srv).await;
    let pending = |res| error_code(res, 400, "authorization_pending");
    let slow = |res| error_code(res, 400, "slow_down");
    assert_eq!(pending(poll(&srv, &d["device_code"]).await).await, 4015);
    assert_eq!(slow(poll(&srv, &d["device_code"]).await).await, 4016);
    // The interval is 10 s now, counted from the last poll.
    wait(&srv, 9);
    assert_eq!(slow(poll(&srv, &d["device_code"]).await).await, 4016);
    // 15 s now.
    wait(&srv, 14);
    let res = poll(&srv, &d["device_code"]).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "slow_down", "{body}");
    assert!(
        s(&body["error_description"]).contains("20 seconds"),
        "the new interval is said: {body}"
    );
    wait(&srv, 20);
    assert_eq!(pending(poll(&srv, &d["device_code"]).await).await, 4015);
}

#[tokio::test]
async fn a_denied_device_gets_access_denied() {
    let srv = server().await;
    let d = started(&srv).await;
    let b = browser();
    let html = sign_in_at_device_page(&srv, &b, &s(&d["verification_uri_complete"])).await;
    let done = answer(&srv, &b, &html, "deny").await;
    assert!(done.contains("Device not connected"), "{done}");
    assert_eq!(
        error_code(poll(&srv, &d["device_code"]).await, 400, "access_denied").await,
        4018
    );
}

#[tokio::test]
async fn an_unanswered_device_code_expires() {
    let srv = server().await;
    let d = started(&srv).await;
    wait(&srv, 600);
    assert_eq!(
        error_code(poll(&srv, &d["device_code"]).await, 400, "expired_token").await,
        4017
    );
    // Its user code is no longer accepted on the page.
    let html = page_text(&browser(), s(&d["verification_uri_complete"])).await;
    assert!(html.contains("That code is wrong or has expired"), "{html}");
}

#[tokio::test]
async fn wrong_user_codes_are_counted_and_limited_per_address() {
    let srv = server().await;
    let d = started(&srv).await;
    let b = browser();
    // Wrong codes: the form again, with the reason, as a 400.
    for _ in 0..4 {
        let res = b
            .get(format!("{}/device?user_code=BBBB-BBBB", srv.ui))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let html = res.text().await.unwrap();
        assert!(html.contains("aria-invalid=\"true\""), "{html}");
    }
    // A right code is not charged: the budget is unchanged by it.
    let res = b
        .get(s(&d["verification_uri_complete"]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "a right code goes on to the login");
    // The fifth wrong code locks the address out, even for a right code.
    let res = b
        .get(format!("{}/device?user_code=not-a-code", srv.ui))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = b
        .get(s(&d["verification_uri_complete"]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let metrics = reqwest::get(format!("{}/metrics", srv.admin))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The recorder is the process's: other tests' wrong codes count too.
    let failures: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("oneauth_device_user_code_failures_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("wrong codes are counted:\n{metrics}"));
    assert!(failures >= 5, "{failures}");
}

#[tokio::test]
async fn a_client_without_the_grant_is_refused() {
    let srv = server().await;
    assert_eq!(
        error_code(start(&srv, "web-app").await, 400, "unauthorized_client").await,
        4014
    );
    let d = started(&srv).await;
    let res = reqwest::Client::new()
        .post(format!("{}/oauth2/token", srv.public))
        .form(&[
            ("grant_type", GRANT),
            ("device_code", &s(&d["device_code"])),
            ("client_id", "web-app"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 400, "unauthorized_client").await, 4014);
    // Another client that may use the grant cannot redeem tv's code.
    let now = srv.clock.now();
    let other = oneauth_oauth2::client::ClientRegistration {
        client_id: Some("cli".into()),
        client_secret: Some("cli-secret-0123456789".into()),
        grant_types: vec![GRANT.into()],
        ..Default::default()
    };
    srv.server().create_client(other, now).await.unwrap();
    let res = reqwest::Client::new()
        .post(format!("{}/oauth2/token", srv.public))
        .basic_auth("cli", Some("cli-secret-0123456789"))
        .form(&[
            ("grant_type", GRANT),
            ("device_code", &s(&d["device_code"])),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 400, "invalid_grant").await, 4006);
    // A confidential client authenticates at the device endpoint too.
    let res = reqwest::Client::new()
        .post(format!("{}/oauth2/device/auth", srv.public))
        .basic_auth("cli", Some("wrong-secret-0123456789"))
        .form(&[("scope", "openid")])
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 401, "invalid_client").await, 2001);
    let res = reqwest::Client::new()
        .post(format!("{}/oauth2/device/auth", srv.public))
        .basic_auth("cli", Some("cli-secret-0123456789"))
        .form(&[("scope", "openid")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Scopes beyond the client's are refused.
    let res = reqwest::Client::new()
        .post(format!("{}/oauth2/device/auth", srv.public))
        .form(&[("client_id", "tv"), ("scope", "openid admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 400, "invalid_scope").await, 4002);
}

#[tokio::test]
async fn discovery_advertises_the_device_endpoint_and_grant() {
    let srv = server().await;
    let doc: Value = reqwest::get(format!("{}/.well-known/openid-configuration", srv.public))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["device_authorization_endpoint"],
        format!("{}/oauth2/device/auth", srv.public)
    );
    assert!(
        doc["grant_types_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g == GRANT),
        "{doc}"
    );
}

#[tokio::test]
async fn the_device_page_speaks_chinese_with_labels() {
    let srv = server().await;
    let res = browser()
        .get(format!("{}/device", srv.ui))
        .header("Accept-Language", "zh-CN")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("<h1>连接设备</h1>"), "{html}");
    assert!(
        html.contains("<label for=\"user-code\">代码</label>"),
        "{html}"
    );
}

#[test]
fn the_cli_registers_a_device_client() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_oneauth"))
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "clients",
            "create",
            "--id",
            "my-cli",
            "--grant-type",
            &format!("{GRANT},refresh_token"),
            "--scope",
            "openid,offline",
            "--token-endpoint-auth-method",
            "none",
        ])
        .env(
            "ONEAUTH_SECRETS__SYSTEM",
            "test-system-secret-0123456789abcdef",
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(GRANT), "{stdout}");
}

/// Three nodes on one database: started on one, answered on another's
/// page, polled on a third; the pace is the database's, and of polls on
/// every node at once exactly one gets the tokens.
#[tokio::test]
async fn nodes_sharing_the_database_keep_one_pace_and_issue_once() {
    let a = server().await;
    let shared = a.services().config.database_url();
    let on_a = move |c: &mut oneauth_core::Config| c.database_url = shared.clone();
    let (b, c) = (
        TestServer::start_with(on_a.clone()).await,
        TestServer::start_with(on_a).await,
    );
    for other in [&b, &c] {
        other.clock.advance(a.clock.now() - other.clock.now());
    }
    let d = started(&a).await;
    assert_eq!(
        error_code(
            poll(&b, &d["device_code"]).await,
            400,
            "authorization_pending"
        )
        .await,
        4015
    );
    assert_eq!(
        error_code(poll(&c, &d["device_code"]).await, 400, "slow_down").await,
        4016,
        "a poll on another node counts"
    );

    let browser = browser();
    let url = format!("{}/device?user_code={}", b.ui, s(&d["user_code"]));
    let html = sign_in_at_device_page(&b, &browser, &url).await;
    answer(&b, &browser, &html, "allow").await;

    for node in [&a, &b, &c] {
        node.clock.advance(time::Duration::seconds(10));
    }
    let (x, y, z) = tokio::join!(
        poll(&a, &d["device_code"]),
        poll(&b, &d["device_code"]),
        poll(&c, &d["device_code"]),
    );
    let statuses = [x.status(), y.status(), z.status()];
    assert_eq!(
        statuses.iter().filter(|s| s.as_u16() == 200).count(),
        1,
        "one poll of three gets the tokens: {statuses:?}"
    );
}

/// Only a signed-in user's own form answers a device: a forged form (no
/// CSRF token) is refused, and a browser without a session is sent to
/// sign in; the device keeps waiting either way.
#[tokio::test]
async fn an_answer_needs_the_forms_token_and_a_session() {
    let srv = server().await;
    let d = started(&srv).await;
    let user_code = s(&d["user_code"]);
    let signed_in = browser();
    sign_in_at_device_page(&srv, &signed_in, &s(&d["verification_uri_complete"])).await;
    let forged = signed_in
        .post(format!("{}/device", srv.ui))
        .form(&[("user_code", user_code.as_str()), ("action", "allow")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403, "no CSRF token");

    let signed_out = browser();
    let res = signed_out
        .get(s(&d["verification_uri_complete"]))
        .send()
        .await
        .unwrap();
    let html = page_text(&signed_out, &location(&res)).await;
    let res = signed_out
        .post(format!("{}/device", srv.ui))
        .form(&[
            ("csrf_token", hidden(&html, "csrf_token").unwrap().as_str()),
            ("user_code", user_code.as_str()),
            ("action", "allow"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(
        location(&res).starts_with(&format!("{}/login?", srv.ui)),
        "to sign in first"
    );
    assert_eq!(
        error_code(
            poll(&srv, &d["device_code"]).await,
            400,
            "authorization_pending"
        )
        .await,
        4015
    );
}
