//! Rate limits and budgets that cannot be dodged: per-identifier limits on
//! the identifier as lookups read it and on the account it names, per-IP
//! limits on an IPv6 client's /64, one send budget per address for every
//! message, and one wrong-code budget per address over every purpose.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const PHONE: &str = "+86 138 0013 8000";
const WRONG_PW: &str = "not the password at all";

fn api(srv: &TestServer, path: &str) -> String {
    format!("{}/api/identity/{path}", srv.public)
}

/// Status, `Retry-After` and body of a JSON post.
async fn post(url: String, body: Value, forwarded_for: Option<&str>) -> (u16, Option<u64>, Value) {
    let mut req = reqwest::Client::new().post(url).json(&body);
    if let Some(f) = forwarded_for {
        req = req.header("X-Forwarded-For", f);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let text = res.text().await.unwrap();
    (
        status,
        retry,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

async fn cli_login(srv: &TestServer, username: &str, forwarded_for: Option<&str>) -> u16 {
    let body = json!({
        "client_id": "web-app", "username": username, "password": WRONG_PW,
        "code_verifier": VERIFIER, "scope": "openid"
    });
    post(
        format!("{}/oauth/native/cli", srv.public),
        body,
        forwarded_for,
    )
    .await
    .0
}

async fn password_login(srv: &TestServer, identifier: &str) -> u16 {
    let body = json!({ "identifier": identifier, "password": WRONG_PW });
    post(api(srv, "login/password"), body, None).await.0
}

#[tokio::test]
async fn spellings_of_a_phone_and_the_accounts_other_identifiers_share_one_budget() {
    let srv = TestServer::start_with(|c| {
        c.limits.login_per_identifier_per_minute = 4;
        c.password.argon2_memory_kib = 64;
        c.password.argon2_iterations = 1;
    })
    .await;
    let sign_up = json!({ "email": "carol@example.com", "phone": PHONE, "password": "a perfectly long passphrase" });
    assert_eq!(post(api(&srv, "registration"), sign_up, None).await.0, 202);
    // Three spellings of one phone, over two endpoints, then the email of
    // the same account: four attempts at one account.
    assert_eq!(password_login(&srv, PHONE).await, 401);
    assert_eq!(cli_login(&srv, "+86-138-0013-8000", None).await, 401);
    assert_eq!(password_login(&srv, "0086 13800138000").await, 401);
    assert_eq!(password_login(&srv, "CAROL@example.com").await, 401);
    assert_eq!(password_login(&srv, "+8613800138000").await, 429);
    assert_eq!(cli_login(&srv, "carol@example.com", None).await, 429);
    // Another account is not affected.
    assert_eq!(password_login(&srv, EMAIL).await, 401);
    srv.clock.advance(time::Duration::seconds(61));
    assert_eq!(password_login(&srv, "+86 (138) 0013 8000").await, 401);
}

#[tokio::test]
async fn addresses_of_one_ipv6_64_share_a_budget() {
    let srv = TestServer::start_with(|c| {
        c.limits.login_per_ip_per_minute = 2;
        c.limits.login_per_identifier_per_minute = 0;
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let from = |ip: &'static str| cli_login(&srv, "x@example.com", Some(ip));
    assert_eq!(from("2001:db8:1:2::1").await, 401);
    assert_eq!(from("2001:db8:1:2:aaaa:bbbb:cccc:dddd").await, 401);
    assert_eq!(from("2001:db8:1:2::3").await, 429, "the same /64");
    assert_eq!(from("2001:db8:1:3::1").await, 401, "the next /64");
    // An IPv4-mapped address is its IPv4 address.
    assert_eq!(from("198.51.100.1").await, 401);
    assert_eq!(from("::ffff:198.51.100.1").await, 401);
    assert_eq!(from("198.51.100.1").await, 429);
}

/// Waits until the courier is idle, then counts what reached `to`.
async fn delivered(inbox: &Inbox, to: &str, template: &str) -> usize {
    let mut last = usize::MAX;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let n = inbox.count(to, template);
        if n == last {
            return n;
        }
        last = n;
    }
}

#[tokio::test]
async fn repeated_sign_ups_with_a_taken_address_send_at_most_its_budget() {
    let (srv, inbox) = server_with_inbox().await;
    let sign_up = json!({ "email": EMAIL, "password": "a perfectly long passphrase" });
    let mut answers = Vec::new();
    // Two sign-ups a minute for a quarter of an hour.
    for _ in 0..15 {
        for _ in 0..2 {
            answers.push(
                post(api(&srv, "registration"), sign_up.clone(), None)
                    .await
                    .0,
            );
        }
        srv.clock.advance(time::Duration::seconds(61));
    }
    assert_eq!(answers.iter().filter(|s| **s == 202).count(), 10);
    assert_eq!(answers.iter().filter(|s| **s == 429).count(), 20);
    assert_eq!(delivered(&inbox, EMAIL, "registration_exists").await, 10);
    // Every other kind of message to the address shares the budget.
    let address = json!({ "address": EMAIL });
    for (path, body) in [
        ("verification/send", address.clone()),
        ("recovery/send", address),
        (
            "login/code/send",
            json!({ "method": "email_code", "identifier": EMAIL }),
        ),
    ] {
        let (status, retry, _) = post(api(&srv, path), body, None).await;
        assert_eq!(status, 429, "{path}");
        assert!(retry.unwrap() > 60, "{path}: the hourly cap");
    }
    assert_eq!(inbox.messages_to(EMAIL).len(), 10);
}

#[tokio::test]
async fn a_sign_up_answers_and_waits_alike_for_taken_and_new_addresses() {
    let (srv, inbox) = server_with_inbox().await;
    let new = "newcomer@example.com";
    let sign_up =
        |email: &str| json!({ "email": email, "password": "a perfectly long passphrase" });
    let hide = |v: Value, email: &str| v.to_string().replace(email, "X");
    let (s1, _, b1) = post(api(&srv, "registration"), sign_up(EMAIL), None).await;
    let (s2, _, b2) = post(api(&srv, "registration"), sign_up(new), None).await;
    assert_eq!((s1, hide(b1, EMAIL)), (s2, hide(b2, new)));
    assert_eq!(s1, 202);
    // At once again, or asking for the code again: the same wait for both.
    for (path, body) in [
        ("registration", sign_up as fn(&str) -> Value),
        ("verification/send", |e: &str| json!({ "address": e })),
    ] {
        let taken = post(api(&srv, path), body(EMAIL), None).await;
        let fresh = post(api(&srv, path), body(new), None).await;
        assert_eq!(taken, fresh, "{path}");
        assert_eq!(taken.0, 429, "{path}");
    }
    assert_eq!(delivered(&inbox, EMAIL, "registration_exists").await, 1);
    assert_eq!(delivered(&inbox, new, "verification_code").await, 1);
}

#[tokio::test]
async fn wrong_codes_over_every_purpose_lock_the_address_out() {
    let (srv, inbox) = server_with_inbox().await;
    let address = json!({ "address": EMAIL });
    assert_eq!(
        post(api(&srv, "verification/send"), address, None).await.0,
        202
    );
    let code = inbox.code_for(EMAIL, "verification_code").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let verify = |c: &str| json!({ "address": EMAIL, "code": c, "login": true });
    let guesses = [
        (
            "login/code",
            json!({ "method": "email_code", "identifier": EMAIL, "code": wrong }),
        ),
        (
            "login/code",
            json!({ "method": "email_code", "identifier": EMAIL, "code": wrong }),
        ),
        (
            "recovery",
            json!({ "address": EMAIL, "code": wrong, "new_password": "a fresh passphrase" }),
        ),
        (
            "recovery",
            json!({ "address": EMAIL, "code": wrong, "new_password": "a fresh passphrase" }),
        ),
        ("verification", verify(wrong)),
    ];
    for (path, body) in guesses {
        assert_eq!(post(api(&srv, path), body, None).await.0, 401, "{path}");
    }
    // Locked out: the right code too waits for the lock-out's end.
    let (status, retry, body) = post(api(&srv, "verification"), verify(&code), None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("rate_limited"))
    );
    assert_eq!(retry, Some(60));
    srv.clock.advance(time::Duration::seconds(61));
    let (status, _, body) = post(api(&srv, "verification"), verify(&code), None).await;
    assert_eq!(status, StatusCode::OK.as_u16(), "{body}");
    assert!(body["session"].is_object(), "logged in: {body}");
}
