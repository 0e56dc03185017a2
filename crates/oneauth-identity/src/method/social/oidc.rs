//! A generic OpenID Connect upstream, configured by discovery. The account
//! comes from the id_token, verified: signature against the provider's
//! JWKS, `iss`, `aud`, `exp` and our `nonce` (OIDC Core §3.1.3.7).

use super::{Http, PendingLogin, Upstream, UpstreamAccount, failed, pkce_challenge};
use async_trait::async_trait;
use oneauth_core::Result;
use oneauth_core::config::SocialProvider;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse as _,
};
use std::sync::Mutex;
use url::Url;

/// Discovery (with the JWKS) is reused this long, so key rotations at the
/// provider are seen within it.
const METADATA_TTL_SECS: i64 = 600;

pub(crate) struct Oidc {
    name: String,
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: ClientSecret,
    scopes: Vec<String>,
    redirect: RedirectUrl,
    metadata: Mutex<Option<(CoreProviderMetadata, i64)>>,
}

impl Oidc {
    pub(crate) fn new(p: &SocialProvider, redirect: Url) -> anyhow::Result<Self> {
        let issuer = p
            .issuer
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("social.providers `{}`: issuer missing", p.id))?;
        // The issuer is compared with `iss` as a string: keep it exactly as
        // configured (no trailing slash added).
        let issuer = IssuerUrl::new(issuer.as_str().trim_end_matches('/').to_owned())?;
        let scopes = if p.scopes.is_empty() {
            vec!["openid".into(), "email".into(), "profile".into()]
        } else {
            p.scopes.clone()
        };
        Ok(Self {
            name: p.display_name.clone(),
            issuer,
            client_id: ClientId::new(p.client_id.clone()),
            client_secret: ClientSecret::new(p.client_secret.expose().to_owned()),
            scopes,
            redirect: RedirectUrl::from_url(redirect),
            metadata: Mutex::new(None),
        })
    }

    async fn metadata(&self, http: &reqwest::Client, now: i64) -> Result<CoreProviderMetadata> {
        if let Some((m, at)) = self.metadata.lock().expect("not poisoned").as_ref()
            && now - at < METADATA_TTL_SECS
        {
            return Ok(m.clone());
        }
        let m = CoreProviderMetadata::discover_async(self.issuer.clone(), &Http(http))
            .await
            .map_err(|e| failed(&self.name, "its discovery document could not be read", e))?;
        *self.metadata.lock().expect("not poisoned") = Some((m.clone(), now));
        Ok(m)
    }

    async fn client(
        &self,
        http: &reqwest::Client,
        now: i64,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
    > {
        let metadata = self.metadata(http, now).await?;
        // client_secret_basic unless the provider offers only _post (OIDC
        // Discovery: basic is the default when the list is absent).
        let auth = match metadata.token_endpoint_auth_methods_supported() {
            Some(m)
                if !m.contains(&CoreClientAuthMethod::ClientSecretBasic)
                    && m.contains(&CoreClientAuthMethod::ClientSecretPost) =>
            {
                AuthType::RequestBody
            }
            _ => AuthType::BasicAuth,
        };
        Ok(CoreClient::from_provider_metadata(
            metadata,
            self.client_id.clone(),
            Some(self.client_secret.clone()),
        )
        .set_redirect_uri(self.redirect.clone())
        .set_auth_type(auth))
    }
}

#[async_trait]
impl Upstream for Oidc {
    async fn authorize_url(
        &self,
        http: &reqwest::Client,
        state: &str,
        nonce: &str,
        pkce_verifier: Option<&str>,
        now: i64,
    ) -> Result<Url> {
        let client = self.client(http, now).await?;
        let (state, nonce) = (CsrfToken::new(state.into()), Nonce::new(nonce.into()));
        let mut req = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || state,
            move || nonce,
        );
        for s in self.scopes.iter().filter(|s| *s != "openid") {
            req = req.add_scope(Scope::new(s.clone()));
        }
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
        now: i64,
    ) -> Result<UpstreamAccount> {
        let client = self.client(http, now).await?;
        let mut req = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| failed(&self.name, "it has no token endpoint", e))?;
        if let Some(v) = &pending.pkce_verifier {
            req = req.set_pkce_verifier(PkceCodeVerifier::new(v.clone()));
        }
        let tokens = req
            .request_async(&Http(http))
            .await
            .map_err(|e| failed(&self.name, "the code exchange was refused", e))?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| failed(&self.name, "it sent no id_token", "no id_token"))?;
        let now_utc = chrono_at(now);
        let verifier = client
            .id_token_verifier()
            .set_allowed_algs([
                CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
                CoreJwsSigningAlgorithm::EcdsaP256Sha256,
                CoreJwsSigningAlgorithm::EdDsa,
            ])
            .set_time_fn(move || now_utc);
        let claims = id_token
            .claims(&verifier, &Nonce::new(pending.nonce.clone()))
            .map_err(|e| failed(&self.name, "its id_token did not verify", e))?;
        Ok(UpstreamAccount {
            subject: claims.subject().as_str().to_owned(),
            email: claims.email().map(|e| e.as_str().to_owned()),
            email_verified: claims.email_verified() == Some(true),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned()),
        })
    }
}

/// Our clock's `now` for the id_token's `exp` and `iat` checks.
fn chrono_at(now: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(now, 0).unwrap_or_default()
}
