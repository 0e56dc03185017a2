//! The passkey API (`/api/identity/passkeys/…`, issue 17) over HTTP: who
//! may call it and every refusal in its documented shape, on SQLite and,
//! when `ONEAUTH_TEST_DATABASE_URL` is set, on PostgreSQL. A real WebAuthn
//! answer needs an authenticator: the browser tests make them with
//! Chromium's virtual one (tests/browser/passkeys.test.mjs).

use crate::support::*;
use reqwest::Method;
use serde_json::{Value, json};

/// `localhost` in the configured URLs (an IP address cannot be a WebAuthn
/// RP ID); the listeners stay on 127.0.0.1. Passkey sign-in enabled.
fn passkeys_on(c: &mut oneauth_core::Config) {
    for u in [&mut c.issuer, &mut c.ui_url] {
        u.set_host(Some("localhost")).unwrap();
    }
    c.login.methods = vec!["password".into(), "passkey".into()];
}

/// Runs `test` on a server over SQLite, then over a fresh PostgreSQL
/// schema when one is configured (saying so loudly when not).
async fn on_each_store<F, Fut>(test: F)
where
    F: Fn(TestServer) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    test(TestServer::start_with(passkeys_on).await).await;
    let Some(url) = fresh_postgres().await else {
        return;
    };
    let on_pg = url.clone();
    test(
        TestServer::start_with(move |c| {
            passkeys_on(c);
            c.database_url = on_pg;
        })
        .await,
    )
    .await;
    drop_schema(&url).await;
}

async fn fresh_postgres() -> Option<String> {
    use sqlx::Connection as _;
    let Some(base) = std::env::var("ONEAUTH_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"SKIPPED: passkeys e2e on PostgreSQL (set ONEAUTH_TEST_DATABASE_URL)\n",
        );
        return None;
    };
    let schema = format!("pk_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{sep}options[search_path]={schema}"))
}

async fn drop_schema(url: &str) {
    use sqlx::Connection as _;
    let (base, schema) = url.rsplit_once("options[search_path]=").unwrap();
    let base = base.trim_end_matches(['?', '&']);
    let mut admin = sqlx::PgConnection::connect(base).await.unwrap();
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&mut admin)
        .await;
}

/// A browser signed in with Alice's password.
async fn signed_in(srv: &TestServer) -> reqwest::Client {
    let b = browser();
    let body = json!({"identifier": EMAIL, "password": PASSWORD});
    let res = identity_post(&b, srv, "login/password", body).await;
    assert_eq!(res.status(), 200);
    b
}

async fn call(b: &reqwest::Client, srv: &TestServer, m: Method, path: &str) -> reqwest::Response {
    b.request(m, format!("{}/api/identity/passkeys{path}", srv.public))
        .send()
        .await
        .unwrap()
}

/// A credential in WebAuthn's JSON shape whose bytes prove nothing.
fn forged_assertion() -> Value {
    json!({
        "id": "Y3JlZA",
        "rawId": "Y3JlZA",
        "type": "public-key",
        "response": {
            "authenticatorData": "AAAA",
            "clientDataJSON": "e30",
            "signature": "AAAA",
            "userHandle": "AZOlxI0ufBqbPypNbo8KGw"
        },
        "clientExtensionResults": {}
    })
}

#[tokio::test]
async fn the_passkey_api_needs_a_live_recent_session_from_a_first_party_origin() {
    on_each_store(|srv| async move {
        let anonymous = browser();
        for (m, path) in [
            (Method::GET, ""),
            (Method::POST, "/registration/options"),
            (Method::DELETE, "/0193a5c4-8d2e-7c1a-9b3f-2a4d6e8f0a1b"),
        ] {
            let res = call(&anonymous, &srv, m.clone(), path).await;
            assert_eq!(
                error_code(res, 401, "login_required").await,
                2004,
                "{m} {path}"
            );
        }
        let res = identity_post(
            &anonymous,
            &srv,
            "passkeys/registration",
            json!({"ceremony_id": "x", "name": "k", "credential": {}}),
        )
        .await;
        assert_eq!(error_code(res, 401, "login_required").await, 2004);

        let b = signed_in(&srv).await;
        let list: Value = call(&b, &srv, Method::GET, "").await.json().await.unwrap();
        assert_eq!(list, json!({"passkeys": []}));
        let res = call(&b, &srv, Method::POST, "/registration/options").await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["cache-control"], "no-store");
        let c: Value = res.json().await.unwrap();
        assert!(c["ceremony_id"].as_str().is_some_and(|id| id.len() >= 32));
        let pk = &c["options"]["publicKey"];
        assert_eq!(pk["rp"]["id"], "localhost");
        assert_eq!(pk["user"]["name"], EMAIL);
        assert_eq!(pk["authenticatorSelection"]["residentKey"], "required");
        assert_eq!(pk["authenticatorSelection"]["userVerification"], "required");

        // A cross-site page may not start one with the cookie.
        let res = b
            .post(format!(
                "{}/api/identity/passkeys/registration/options",
                srv.public
            ))
            .header("origin", "https://evil.example")
            .send()
            .await
            .unwrap();
        assert_eq!(error_code(res, 403, "access_denied").await, 3001);
        // The built-in UI's pages call it from the UI's origin: allowed,
        // with credentials.
        let ui_origin = srv.services().config.ui_url.origin().ascii_serialization();
        let preflight = b
            .request(
                Method::OPTIONS,
                format!("{}/api/identity/passkeys/registration", srv.public),
            )
            .header("origin", &ui_origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
            .await
            .unwrap();
        assert_eq!(preflight.status(), 200);
        let h = preflight.headers();
        assert_eq!(h["access-control-allow-origin"], ui_origin.as_str());
        assert_eq!(h["access-control-allow-credentials"], "true");
        let res = b
            .post(format!(
                "{}/api/identity/passkeys/registration/options",
                srv.public
            ))
            .header("origin", &ui_origin)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);

        // The UI's pages may fetch from the public listener only.
        let page = b.get(format!("{}/login", srv.ui)).send().await.unwrap();
        let csp = page.headers()["content-security-policy"].to_str().unwrap();
        let public = srv.services().config.issuer.origin().ascii_serialization();
        assert!(
            csp.ends_with(&format!("; connect-src {public}")) && csp.contains("script-src 'self'"),
            "{csp}"
        );
        let html = page.text().await.unwrap();
        assert!(
            html.contains("/assets/passkey.js"),
            "the login page offers passkeys"
        );
        assert!(html.contains(r#"autocomplete="username webauthn""#));

        // A stale login may not add a passkey.
        let max_age = srv.services().config.session.privileged_max_age_secs;
        srv.clock
            .advance(time::Duration::seconds(max_age as i64 + 1));
        let res = call(&b, &srv, Method::POST, "/registration/options").await;
        assert_eq!(
            error_code(res, 401, "reauthentication_required").await,
            2008
        );
    })
    .await;
}

#[tokio::test]
async fn a_registration_refuses_malformed_replayed_and_foreign_ceremonies() {
    on_each_store(|srv| async move {
        let b = signed_in(&srv).await;
        let start = |b: reqwest::Client| {
            let url = format!("{}/api/identity/passkeys/registration/options", srv.public);
            async move {
                let c: Value = b.post(url).send().await.unwrap().json().await.unwrap();
                s(&c["ceremony_id"])
            }
        };
        let finish = |id: &str, name: &str, credential: Value| {
            identity_post(
                &b,
                &srv,
                "passkeys/registration",
                json!({"ceremony_id": id, "name": name, "credential": credential}),
            )
        };
        let id = start(b.clone()).await;
        let res = finish(&id, "", json!({})).await;
        assert_eq!(
            error_code(res, 400, "invalid_request").await,
            4001,
            "empty name"
        );
        let res = finish(&id, "laptop", json!({"id": 1})).await;
        assert_eq!(
            error_code(res, 400, "invalid_request").await,
            4001,
            "malformed credential"
        );
        let res = finish(&id, "laptop", json!({"id": 1})).await;
        assert_eq!(
            error_code(res, 401, "passkey_refused").await,
            2011,
            "spent by the malformed answer"
        );
        let res = finish("never-started", "laptop", json!({})).await;
        assert_eq!(error_code(res, 401, "passkey_refused").await, 2011);

        // A body that is not JSON, or not all there, is the documented
        // error, not a 500.
        let res = b
            .post(format!("{}/api/identity/passkeys/registration", srv.public))
            .header("content-type", "application/json")
            .body("{\"ceremony_id\":")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{body}");

        // Bob cannot finish Alice's ceremony.
        let bob = srv
            .services()
            .identities
            .create(
                "bob@example.com",
                Some(PASSWORD),
                None,
                oneauth_core::Clock::now(srv.clock.as_ref()),
            )
            .await
            .unwrap();
        let bobs = browser();
        let login = json!({"identifier": "bob@example.com", "password": PASSWORD});
        assert_eq!(
            identity_post(&bobs, &srv, "login/password", login)
                .await
                .status(),
            200
        );
        let alices = start(b.clone()).await;
        let res = identity_post(
            &bobs,
            &srv,
            "passkeys/registration",
            json!({"ceremony_id": alices, "name": "mine", "credential": forged_assertion()}),
        )
        .await;
        assert_eq!(error_code(res, 401, "passkey_refused").await, 2011);
        assert!(
            srv.services()
                .identities
                .passkeys(&bob.id)
                .await
                .unwrap()
                .is_empty()
        );

        // Renaming or removing what is not there.
        let path = "/0193a5c4-8d2e-7c1a-9b3f-2a4d6e8f0a1b";
        let res = b
            .patch(format!("{}/api/identity/passkeys{path}", srv.public))
            .json(&json!({"name": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(error_code(res, 404, "not_found").await, 4404);
        let res = call(&b, &srv, Method::DELETE, path).await;
        assert_eq!(error_code(res, 404, "not_found").await, 4404);
    })
    .await;
}

#[tokio::test]
async fn a_passwordless_sign_in_refuses_replays_and_unknown_passkeys() {
    on_each_store(|srv| async move {
        let b = browser();
        let start = || async {
            let res = identity_post(&b, &srv, "passkeys/login/options", json!({})).await;
            assert_eq!(res.status(), 200);
            let c: Value = res.json().await.unwrap();
            assert_eq!(c["options"]["mediation"], "conditional");
            assert_eq!(
                c["options"]["publicKey"]["userVerification"], "required",
                "{c}"
            );
            s(&c["ceremony_id"])
        };
        let finish = |id: String, credential: Value| {
            identity_post(
                &b,
                &srv,
                "passkeys/login",
                json!({"ceremony_id": id, "credential": credential}),
            )
        };
        let id = start().await;
        let res = finish(id.clone(), json!({"rawId": 5})).await;
        assert_eq!(error_code(res, 400, "invalid_request").await, 4001);
        let res = finish(id, forged_assertion()).await;
        assert_eq!(
            error_code(res, 401, "passkey_refused").await,
            2011,
            "replayed: the ceremony went with its first finish"
        );
        let res = finish(start().await, forged_assertion()).await;
        assert_eq!(
            error_code(res, 401, "passkey_refused").await,
            2011,
            "a passkey not registered here"
        );
        let res = finish("never-started".into(), forged_assertion()).await;
        assert_eq!(error_code(res, 401, "passkey_refused").await, 2011);
        assert!(
            b.get(format!("{}/api/identity/whoami", srv.public))
                .send()
                .await
                .unwrap()
                .status()
                == 401,
            "no session came of it"
        );
    })
    .await;
}

#[tokio::test]
async fn passkey_sign_in_is_a_login_method_of_its_own() {
    let srv = TestServer::start_with(|c| {
        passkeys_on(c);
        c.login.methods = vec!["password".into()];
    })
    .await;
    let res = identity_post(&browser(), &srv, "passkeys/login/options", json!({})).await;
    assert_eq!(error_code(res, 400, "invalid_request").await, 4001);
    // Registration (for a second factor) still works.
    let b = signed_in(&srv).await;
    let res = call(&b, &srv, Method::POST, "/registration/options").await;
    assert_eq!(res.status(), 200);

    // On an IP address there is no RP ID: passkey sign-in fails start-up.
    let e = TestServer::try_start_with(|c| {
        c.login.methods = vec!["password".into(), "passkey".into()];
    })
    .await
    .err()
    .expect("127.0.0.1 is no RP ID");
    assert!(e.to_string().contains("never an IP address"), "{e}");
}

/// A ceremony lives in the database: a node finishes what another
/// started, once.
#[tokio::test]
async fn a_ceremony_started_on_one_node_is_finished_on_another_once() {
    let Some(url) = fresh_postgres().await else {
        return;
    };
    let on_pg = |c: &mut oneauth_core::Config| {
        passkeys_on(c);
        c.database_url = url.clone();
    };
    let one = TestServer::start_with(on_pg).await;
    let two = TestServer::start_with(on_pg).await;
    let b = browser();
    let c: Value = identity_post(&b, &one, "passkeys/login/options", json!({}))
        .await
        .json()
        .await
        .unwrap();
    let body = json!({"ceremony_id": c["ceremony_id"], "credential": {"rawId": 5}});
    // Node two found the ceremony (a malformed answer, not an unknown
    // ceremony), and took it: node one no longer has it.
    let res = identity_post(&b, &two, "passkeys/login", body.clone()).await;
    assert_eq!(error_code(res, 400, "invalid_request").await, 4001);
    let res = identity_post(&b, &one, "passkeys/login", body).await;
    assert_eq!(error_code(res, 401, "passkey_refused").await, 2011);
    drop((one, two));
    drop_schema(&url).await;
}
