//! A standard Rust client, the `openidconnect` crate, configured from
//! discovery alone: it runs the code flow with PKCE and verifies the id_token.

use crate::support::*;
use oneauth_oauth2::mfa::{ACR_MFA, ACR_SINGLE};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClientId, CsrfToken, HttpRequest, HttpResponse, IssuerUrl, Nonce,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse as _,
};

/// reqwest 0.13 as openidconnect's HTTP client (its built-in one is for 0.12).
async fn http(req: HttpRequest) -> Result<HttpResponse, std::io::Error> {
    let io = |e: reqwest::Error| std::io::Error::other(e);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(io)?;
    let (parts, body) = req.into_parts();
    let res = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(io)?;
    let mut builder = openidconnect::http::Response::builder().status(res.status());
    for (k, v) in res.headers() {
        builder = builder.header(k, v);
    }
    builder
        .body(res.bytes().await.map_err(io)?.to_vec())
        .map_err(std::io::Error::other)
}

#[tokio::test]
async fn openidconnect_crate_discovers_logs_in_and_verifies_the_id_token() {
    let srv = TestServer::start().await;
    let provider =
        CoreProviderMetadata::discover_async(IssuerUrl::new(srv.public.clone()).unwrap(), &http)
            .await
            .expect("discovery");
    let acr_values: Vec<&str> = provider
        .acr_values_supported()
        .expect("acr_values_supported")
        .iter()
        .map(|acr| acr.as_str())
        .collect();
    assert_eq!(acr_values, [ACR_SINGLE, ACR_MFA]);
    let client =
        CoreClient::from_provider_metadata(provider, ClientId::new("web-app".into()), None)
            .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();

    let b = browser();
    let res = b.get(auth_url.as_str()).send().await.unwrap();
    let res = submit_login(&b, &location(&res), PASSWORD).await;
    let callback = follow_to_client(&b, location(&res)).await;
    assert_eq!(
        query_param(&callback, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    let code = query_param(&callback, "code").unwrap();

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("token exchange");
    let id_token = tokens.id_token().expect("id_token");
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("id_token verifies against the JWKS");
    assert_eq!(claims.subject().as_str(), srv.subject);
    assert_eq!(claims.email().map(|e| e.as_str()), Some(EMAIL));
    assert_eq!(claims.issuer().as_str(), srv.public);
    assert_eq!(
        claims.auth_context_ref().map(|acr| acr.as_str()),
        Some(ACR_SINGLE),
        "a password login"
    );
}
