//! OneAuth through the `openidconnect` crate, configured by discovery.

use crate::loopback::Callback;
use crate::tokens::Tokens;
use anyhow::{Context, bail};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreDeviceAuthorizationResponse, CoreProviderMetadata,
    CoreTokenResponse, CoreUserInfoClaims,
};
use openidconnect::{
    AccessToken, AuthorizationCode, ClientId, CsrfToken, DeviceAuthorizationUrl, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, HttpRequest, HttpResponse, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, RefreshToken, Scope, TokenResponse,
};

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// reqwest 0.13 as openidconnect's HTTP client (its built-in one is for
/// reqwest 0.12). Redirects are not followed (RFC 6749 §4.1.3 has none).
async fn http(req: HttpRequest) -> Result<HttpResponse, reqwest::Error> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let (parts, body) = req.into_parts();
    let res = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let mut out = openidconnect::http::Response::builder().status(res.status());
    if let Some(h) = out.headers_mut() {
        *h = res.headers().clone();
    }
    Ok(out
        .body(res.bytes().await?.to_vec())
        .expect("status and headers came from a response"))
}

pub struct Provider {
    issuer: String,
    client_id: String,
    client: Client,
}

impl Provider {
    pub async fn discover(issuer: &str, client_id: &str) -> anyhow::Result<Self> {
        let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.into())?, &http)
            .await
            .with_context(|| format!("discovery at {issuer}"))?;
        let client =
            CoreClient::from_provider_metadata(metadata, ClientId::new(client_id.into()), None);
        Ok(Self {
            issuer: issuer.into(),
            client_id: client_id.into(),
            client,
        })
    }

    /// RFC 8252 §7.3 with PKCE (§8.1), state and nonce: prints the URL to
    /// open, waits for the browser to come back, exchanges the code and
    /// checks the id_token.
    pub async fn login_in_browser(&self) -> anyhow::Result<Tokens> {
        let callback = Callback::bind().await?;
        let redirect_uri = callback.redirect_uri()?;
        let client = self
            .client
            .clone()
            .set_redirect_uri(RedirectUrl::new(redirect_uri)?);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scopes(["profile", "email", "offline"].map(|s| Scope::new(s.into())))
            .set_pkce_challenge(challenge)
            .url();
        println!("Open this URL in your browser to sign in:\n{url}");
        let answer = callback.answer().await?;
        if answer.state != *state.secret() {
            bail!("the answer's state is not this login's: ignored");
        }
        let response = client
            .exchange_code(AuthorizationCode::new(answer.code))?
            .set_pkce_verifier(verifier)
            .request_async(&http)
            .await
            .context("code exchange")?;
        let id_token = response.id_token().context("no id_token")?;
        id_token
            .claims(&client.id_token_verifier(), &nonce)
            .context("the id_token does not verify")?;
        Ok(self.tokens(&response, None))
    }

    /// RFC 8628: shows a code to type on another device's browser and polls
    /// the token endpoint (at the pace the server asks) until the person
    /// approves, denies, or the code expires.
    pub async fn login_on_device(&self) -> anyhow::Result<Tokens> {
        let endpoint = device_endpoint(&self.issuer).await?;
        let client = self
            .client
            .clone()
            .set_device_authorization_url(DeviceAuthorizationUrl::new(endpoint)?);
        let details: CoreDeviceAuthorizationResponse = client
            .exchange_device_code()
            .add_scopes(["profile", "email", "offline"].map(|s| Scope::new(s.into())))
            .request_async(&http)
            .await
            .context("device authorization")?;
        println!(
            "On a phone or computer, open {} and enter the code {}",
            details.verification_uri().as_str(),
            details.user_code().secret()
        );
        if let Some(complete) = details.verification_uri_complete() {
            println!("or open this URL:\n{}", complete.secret());
        }
        let response = client
            .exchange_device_access_token(&details)?
            .request_async(&http, tokio::time::sleep, None)
            .await
            .context("device sign-in")?;
        let id_token = response.id_token().context("no id_token")?;
        // No nonce in the device flow: the signature, issuer, audience
        // and expiry are what is checked.
        id_token
            .claims(&client.id_token_verifier(), |_: Option<&Nonce>| Ok(()))
            .context("the id_token does not verify")?;
        Ok(self.tokens(&response, None))
    }

    /// New tokens for the refresh token (RFC 6749 §6); the old refresh
    /// token is kept if the server does not rotate it.
    pub async fn refresh(&self, tokens: &Tokens) -> anyhow::Result<Tokens> {
        let refresh = tokens
            .refresh_token
            .clone()
            .context("no refresh token: sign in again")?;
        let response = self
            .client
            .exchange_refresh_token(&RefreshToken::new(refresh))?
            .request_async(&http)
            .await
            .context("refresh")?;
        Ok(self.tokens(&response, Some(tokens)))
    }

    pub async fn userinfo(&self, tokens: &Tokens) -> anyhow::Result<CoreUserInfoClaims> {
        self.client
            .user_info(AccessToken::new(tokens.access_token.clone()), None)?
            .request_async(&http)
            .await
            .context("userinfo")
    }

    fn tokens(&self, response: &CoreTokenResponse, old: Option<&Tokens>) -> Tokens {
        let keep = |f: fn(&Tokens) -> &Option<String>| old.and_then(|t| f(t).clone());
        Tokens {
            issuer: self.issuer.clone(),
            client_id: self.client_id.clone(),
            access_token: response.access_token().secret().clone(),
            refresh_token: response
                .refresh_token()
                .map(|t| t.secret().clone())
                .or_else(|| keep(|t| &t.refresh_token)),
            id_token: response
                .id_token()
                .map(|t| t.to_string())
                .or_else(|| keep(|t| &t.id_token)),
        }
    }
}

/// The device authorization endpoint from discovery (the crate's core
/// provider metadata does not carry it).
async fn device_endpoint(issuer: &str) -> anyhow::Result<String> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let doc: serde_json::Value = reqwest::get(&url).await?.error_for_status()?.json().await?;
    doc["device_authorization_endpoint"]
        .as_str()
        .map(str::to_owned)
        .context("the server offers no device flow")
}

/// The guide's logout, step 1: `POST /api/oauth/logout` revokes the access
/// and the refresh token. (Step 3, ending the browser session, is the
/// browser's.)
pub async fn revoke(tokens: &Tokens) -> anyhow::Result<()> {
    let res = reqwest::Client::new()
        .post(format!(
            "{}/api/oauth/logout",
            tokens.issuer.trim_end_matches('/')
        ))
        .json(&serde_json::json!({
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
        }))
        .send()
        .await?;
    if !res.status().is_success() {
        bail!("logout failed: {} {}", res.status(), res.text().await?);
    }
    Ok(())
}
