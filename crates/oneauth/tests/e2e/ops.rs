//! Operations: readiness, metrics, client IPs behind trusted proxies, and
//! rate limits that hold across nodes sharing one database.

use crate::support::*;
use oneauth_core::Clock as _;

#[tokio::test]
async fn ready_checks_the_database_and_schema() {
    let srv = TestServer::start().await;
    for base in [&srv.public, &srv.admin] {
        let res = reqwest::get(format!("{base}/health/ready")).await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(
            reqwest::get(format!("{base}/health/alive"))
                .await
                .unwrap()
                .status(),
            200
        );
    }
}

#[tokio::test]
async fn metrics_count_requests_logins_and_tokens() {
    let srv = TestServer::start().await;
    tokens(&srv, &browser()).await;
    let text = reqwest::get(format!("{}/metrics", srv.admin))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "oneauth_http_requests_total{route=\"/oauth2/auth\",method=\"GET\",status=\"303\"}",
        "oneauth_http_request_duration_seconds_bucket{route=\"/api/oauth2/token\",method=\"POST\"",
        "oneauth_logins_total{method=\"password\",outcome=\"success\"}",
        "oneauth_tokens_issued_total{kind=\"access\"}",
        "oneauth_db_pool_connections",
        // The token exchange was a write: one group commit at least.
        "oneauth_sqlite_write_group_seconds_bucket",
    ] {
        assert!(text.contains(needle), "/metrics lacks {needle}:\n{text}");
    }
    let public = reqwest::get(format!("{}/metrics", srv.public))
        .await
        .unwrap();
    assert_eq!(
        public.status(),
        404,
        "metrics are on the admin listener only"
    );
}

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let srv = TestServer::start().await;
    let id_of = |res: &reqwest::Response| {
        res.headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let get = |id: Option<&str>| {
        let mut req = reqwest::Client::new().get(format!("{}/health/alive", srv.public));
        if let Some(id) = id {
            req = req.header("X-Request-Id", id);
        }
        req.send()
    };
    // A caller's id is kept, so a proxy's id follows the request through.
    let res = get(Some("edge-7f3a-01")).await.unwrap();
    assert_eq!(id_of(&res).as_deref(), Some("edge-7f3a-01"));
    // Without one, or with one that could smuggle text into the logs, the
    // server makes its own: a fresh v4 UUID each time.
    let mut seen = Vec::new();
    for sent in [
        None,
        Some("two words"),
        Some("a\"quote"),
        Some(&*"x".repeat(65)),
    ] {
        let id = id_of(&get(sent).await.unwrap()).expect("an id");
        let uuid = uuid::Uuid::parse_str(&id).expect("a UUID");
        assert_eq!(uuid.get_version_num(), 4, "{id}");
        assert!(!seen.contains(&id), "ids repeat: {id}");
        seen.push(id);
    }
    // Errors too, and on the other listeners.
    for url in [
        format!("{}/no-such-endpoint", srv.public),
        format!("{}/health/alive", srv.admin),
        format!("{}/login", srv.ui),
    ] {
        let res = reqwest::get(&url).await.unwrap();
        assert!(id_of(&res).is_some(), "{url} answered without an id");
    }
}

async fn cli_attempt(base: &str, forwarded_for: Option<&str>) -> u16 {
    let mut req = reqwest::Client::new().post(format!("{base}/oauth/native/cli")).json(&serde_json::json!({
        "client_id": "web-app", "username": "x@example.com", "password": "nope", "code_verifier": VERIFIER, "scope": "openid"
    }));
    if let Some(f) = forwarded_for {
        req = req.header("X-Forwarded-For", f);
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn x_forwarded_for_counts_only_from_trusted_proxies() {
    let trusting = TestServer::start_with(|c| {
        c.limits.login_per_ip_per_minute = 1;
        c.limits.login_per_identifier_per_minute = 0;
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    // Behind a trusted proxy, each real client has its own budget.
    assert_eq!(
        cli_attempt(&trusting.public, Some("198.51.100.1")).await,
        401
    );
    assert_eq!(
        cli_attempt(&trusting.public, Some("198.51.100.2")).await,
        401
    );
    assert_eq!(
        cli_attempt(&trusting.public, Some("198.51.100.1")).await,
        429
    );

    let wary = TestServer::start_with(|c| {
        c.limits.login_per_ip_per_minute = 1;
        c.limits.login_per_identifier_per_minute = 0;
    })
    .await;
    // From an untrusted peer the header is ignored: no dodging by spoofing it.
    assert_eq!(cli_attempt(&wary.public, Some("198.51.100.1")).await, 401);
    assert_eq!(cli_attempt(&wary.public, Some("198.51.100.2")).await, 429);
}

#[tokio::test]
async fn a_limit_holds_for_the_sum_of_two_nodes_sharing_the_database() {
    let a = TestServer::start_with(|c| c.limits.login_per_identifier_per_minute = 4).await;
    let shared = a.services().config.database_url();
    let b = TestServer::start_with(move |c| {
        c.limits.login_per_identifier_per_minute = 4;
        c.database_url = shared;
    })
    .await;
    // Each test server has its own clock, set when it started: put b's on
    // a's, or the nodes may count in different one-minute windows.
    b.clock.advance(a.clock.now() - b.clock.now());
    let mut statuses = Vec::new();
    for node in [&a, &b, &a, &b, &a, &b] {
        statuses.push(cli_attempt(&node.public, None).await);
    }
    assert_eq!(
        statuses,
        [401, 401, 401, 401, 429, 429],
        "4 attempts in all, across both nodes"
    );
}

#[tokio::test]
async fn the_token_endpoint_is_limited_per_client() {
    let srv = TestServer::start_with(|c| c.limits.token_per_client_per_minute = 2).await;
    let attempt = || {
        reqwest::Client::new()
            .post(format!("{}/oauth2/token", srv.public))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", "ory_ac_x.y"),
                ("client_id", "web-app"),
            ])
            .send()
    };
    assert_eq!(attempt().await.unwrap().status(), 400);
    assert_eq!(attempt().await.unwrap().status(), 400);
    let res = attempt().await.unwrap();
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(res.status(), 429);
}
