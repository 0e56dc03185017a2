//! A GitHub-style OAuth2 upstream: no id_token, so the account comes from
//! its API with the access token: the numeric `id` and the name from
//! `/user`, verified addresses from `/user/emails` (GitHub's REST API,
//! "Get the authenticated user" and "List email addresses for the
//! authenticated user"). The code exchange is authenticated with the client
//! secret in the body, as GitHub documents it.

use super::{Http, PendingLogin, Upstream, UpstreamAccount, failed, pkce_challenge};
use async_trait::async_trait;
use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse as _, TokenUrl,
};
use oneauth_core::Result;
use oneauth_core::config::SocialProvider;
use serde::Deserialize;
use url::Url;

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

pub(crate) struct GitHubStyle {
    name: String,
    client: Client,
    scopes: Vec<String>,
    userinfo_url: Url,
    emails_url: Url,
}

#[derive(Deserialize)]
struct User {
    /// A number at GitHub; a string elsewhere.
    id: serde_json::Value,
    login: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct Email {
    email: String,
    #[serde(default)]
    primary: bool,
    #[serde(default)]
    verified: bool,
}

impl GitHubStyle {
    pub(crate) fn new(p: &SocialProvider, redirect: Url) -> Self {
        let e = &p.oauth2;
        let client = BasicClient::new(ClientId::new(p.client_id.clone()))
            .set_client_secret(ClientSecret::new(p.client_secret.expose().to_owned()))
            .set_auth_uri(AuthUrl::from_url(e.authorize_url.clone()))
            .set_token_uri(TokenUrl::from_url(e.token_url.clone()))
            .set_redirect_uri(RedirectUrl::from_url(redirect))
            .set_auth_type(AuthType::RequestBody);
        let scopes = if p.scopes.is_empty() {
            vec!["read:user".into(), "user:email".into()]
        } else {
            p.scopes.clone()
        };
        Self {
            name: p.display_name.clone(),
            client,
            scopes,
            userinfo_url: e.userinfo_url.clone(),
            emails_url: e.emails_url.clone(),
        }
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        http: &reqwest::Client,
        url: &Url,
        token: &str,
    ) -> Result<T> {
        let what = "its user API could not be read";
        http.get(url.clone())
            .bearer_auth(token)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| failed(&self.name, what, e.without_url()))?
            .json()
            .await
            .map_err(|e| failed(&self.name, what, e))
    }
}

#[async_trait]
impl Upstream for GitHubStyle {
    async fn authorize_url(
        &self,
        _http: &reqwest::Client,
        state: &str,
        _nonce: &str,
        pkce_verifier: Option<&str>,
        _now: i64,
    ) -> Result<Url> {
        let mut req = self
            .client
            .authorize_url(|| CsrfToken::new(state.to_owned()))
            .add_scopes(self.scopes.iter().cloned().map(Scope::new));
        if let Some(v) = pkce_verifier {
            req = req.set_pkce_challenge(pkce_challenge(v));
        }
        Ok(req.url().0)
    }

    async fn account(
        &self,
        http: &reqwest::Client,
        code: &str,
        pending: &PendingLogin,
        _now: i64,
    ) -> Result<UpstreamAccount> {
        let mut req = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()));
        if let Some(v) = &pending.pkce_verifier {
            req = req.set_pkce_verifier(PkceCodeVerifier::new(v.clone()));
        }
        let tokens = req
            .request_async(&Http(http))
            .await
            .map_err(|e| failed(&self.name, "the code exchange was refused", e))?;
        let token = tokens.access_token().secret();
        let user: User = self.get(http, &self.userinfo_url, token).await?;
        let subject = match user.id {
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::String(s) if !s.is_empty() => s,
            _ => return Err(failed(&self.name, "its user has no id", "no id")),
        };
        let emails: Vec<Email> = self.get(http, &self.emails_url, token).await?;
        // The primary address if verified, else any verified one.
        let email = emails
            .iter()
            .filter(|e| e.verified)
            .max_by_key(|e| e.primary)
            .or_else(|| emails.iter().find(|e| e.primary));
        Ok(UpstreamAccount {
            subject,
            email: email.map(|e| e.email.clone()),
            email_verified: email.is_some_and(|e| e.verified),
            name: user.name.filter(|n| !n.is_empty()).or(user.login),
        })
    }
}
