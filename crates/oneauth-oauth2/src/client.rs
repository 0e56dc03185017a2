//! Client registration (RFC 7591 metadata, as Hydra's admin API takes it)
//! and client authentication at the token endpoint (RFC 6749 §2.3).

use crate::{AuthorizationServer, R};
use oneauth_core::Error;
use oneauth_core::config::AccessTokenStrategy;
pub use oneauth_proto::id::ClientId;
pub use oneauth_proto::oauth2::{AuthMethod, GrantType, ResponseType};
use oneauth_store::Client;
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use time::OffsetDateTime;

/// RFC 7591 client metadata as submitted. Missing fields get Hydra's defaults.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientRegistration {
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_name: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub response_types: Vec<String>,
    /// Space-delimited, as RFC 7591 §2 has it.
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    pub skip_consent: bool,
    #[serde(default)]
    pub id_token_signed_response_alg: Option<String>,
    /// `opaque` or `jwt` (RFC 9068 access tokens).
    #[serde(default)]
    pub access_token_strategy: Option<String>,
    /// Allow `POST /oauth/native/cli` password logins.
    #[serde(default)]
    pub native_cli_login: bool,
    /// Let a confidential legacy back end use the code flow without PKCE
    /// (RFC 9700 §2.1.1 wants it from every client). Refused for public
    /// clients.
    #[serde(default)]
    pub allow_no_pkce: bool,
    /// Every login for this client proves a second factor, even when the
    /// MFA policy is `optional`.
    #[serde(default)]
    pub require_mfa: bool,
    /// Shown on the consent page; https only.
    #[serde(default)]
    pub logo_uri: Option<String>,
    #[serde(default)]
    pub policy_uri: Option<String>,
    #[serde(default)]
    pub tos_uri: Option<String>,
    /// The client's home page: where the error page leads back to.
    #[serde(default)]
    pub client_uri: Option<String>,
}

/// A registered client as the admin API shows it; the secret appears once,
/// in the answer to its creation.
#[derive(Debug, Clone, Serialize)]
pub struct ClientView {
    #[serde(flatten)]
    pub client: Client,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl ClientView {
    pub fn new(client: Client, client_secret: Option<String>) -> Self {
        Self {
            client,
            client_secret,
        }
    }
}

/// A redirect URI we accept at registration: absolute, no fragment
/// (RFC 6749 §3.1.2), https, a private-use scheme for native apps, or
/// http on a loopback host (RFC 8252 §7.3); other http only when
/// `allow_http` (development): codes and tokens would cross the network
/// in clear (RFC 9700 §2.6).
fn check_redirect_uri(uri: &str, allow_http: bool) -> R<()> {
    let invalid = |why: &str| Error::InvalidRedirectUri(format!("redirect URI `{uri}` {why}"));
    let parsed = url::Url::parse(uri).map_err(|_| invalid("is not an absolute URI"))?;
    if parsed.fragment().is_some() {
        return Err(invalid("must not have a fragment"));
    }
    if matches!(parsed.scheme(), "javascript" | "data" | "file" | "vbscript") {
        return Err(invalid("has a forbidden scheme"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid("must not carry credentials"));
    }
    // RFC 8252 §7.1, §8.4: a private-use scheme names a domain the app's
    // publisher controls, in reverse order; one without a dot (`myapp:`)
    // is easily claimed by another app on the device.
    if is_private_use_scheme(&parsed) && !parsed.scheme().contains('.') {
        return Err(invalid(
            "uses a private-use scheme that is not a reverse domain name (like com.example.app)",
        ));
    }
    let loopback = parsed
        .host()
        .is_some_and(|h| oneauth_core::net::is_loopback_host(&h));
    if parsed.scheme() == "http" && !loopback && !allow_http {
        return Err(invalid(
            "uses http on a host other than 127.0.0.1, [::1] or localhost: use https",
        ));
    }
    Ok(())
}

/// A native app's own scheme (RFC 8252 §7.1): any but http and https
/// (`check_redirect_uri` refuses the dangerous ones).
fn is_private_use_scheme(uri: &url::Url) -> bool {
    !matches!(uri.scheme(), "http" | "https")
}

/// RFC 8252 §8.5: a native app is a public client; a secret registered for
/// it would ship in every copy of the app and prove nothing, so a client
/// with a secret cannot have private-use scheme redirect URIs.
fn check_native_client(method: AuthMethod, redirect_uris: &[String]) -> R<()> {
    if method == AuthMethod::None {
        return Ok(());
    }
    match redirect_uris
        .iter()
        .find(|r| url::Url::parse(r).is_ok_and(|u| is_private_use_scheme(&u)))
    {
        Some(uri) => Err(Error::InvalidRedirectUri(format!(
            "redirect URI `{uri}` is a native app's: register the client with \
             token_endpoint_auth_method none (RFC 8252 §8.5)"
        ))),
        None => Ok(()),
    }
}

/// A redirect URI registered as `http://127.0.0.1/…` or `http://[::1]/…`
/// without a port: a native app listening on whatever port the system gives
/// it (RFC 8252 §7.3). Not `localhost`, which may resolve elsewhere (§8.3).
fn is_any_port_loopback(uri: &url::Url) -> bool {
    uri.scheme() == "http"
        && uri.port().is_none()
        && match uri.host() {
            Some(url::Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
            Some(url::Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
            _ => false,
        }
}

/// Whether `presented` is one of the `registered` redirect URIs: simple
/// string comparison, no normalisation (RFC 6749 §3.1.2.3, RFC 9700 §4.1.3),
/// so a URI that differs in any byte, origin or path, never matches. The
/// one exception is RFC 8252 §7.3: a port-less loopback IP registration
/// matches the same URI with any port.
pub fn redirect_uri_registered(registered: &[String], presented: &str) -> bool {
    registered
        .iter()
        .any(|r| r == presented || matches_with_any_port(r, presented))
}

/// `presented` is `registered` (a port-less loopback IP URI) with a port
/// inserted right after the host, and nothing else changed.
fn matches_with_any_port(registered: &str, presented: &str) -> bool {
    let Ok(reg) = url::Url::parse(registered) else {
        return false;
    };
    if !is_any_port_loopback(&reg) {
        return false;
    }
    // Compare the strings, not parsed forms, so that no normalisation
    // lets a different URI through: `http://HOST` + `:PORT` + the rest.
    let Some(host) = reg.host_str() else {
        return false;
    };
    let authority = format!("http://{host}");
    let (Some(reg_rest), Some(pres_rest)) = (
        registered.strip_prefix(&authority),
        presented.strip_prefix(&authority),
    ) else {
        return false;
    };
    // `http://127.0.0.1:80/cb` parses without a port but is not port-less.
    if !reg_rest.starts_with('/') {
        return false;
    }
    let Some(pres_rest) = pres_rest.strip_prefix(':') else {
        return false;
    };
    let digits = pres_rest.bytes().take_while(u8::is_ascii_digit).count();
    // Canonical ports only: no leading zero, 1–65535.
    (1..=5).contains(&digits)
        && !pres_rest.starts_with('0')
        && pres_rest[..digits].parse::<u16>().is_ok_and(|p| p != 0)
        && &pres_rest[digits..] == reg_rest
}

/// Where a person may go back to the application: the origin of the
/// client's first registered http(s) redirect URI. Registered data only,
/// never a URL from the request; `None` for clients with only native
/// (custom-scheme or any-port loopback) redirect URIs.
pub fn home_origin(registered: &[String]) -> Option<String> {
    registered.iter().find_map(|r| {
        let url = url::Url::parse(r).ok()?;
        (matches!(url.scheme(), "https" | "http") && !is_any_port_loopback(&url))
            .then(|| url.origin().ascii_serialization())
    })
}

/// Registered values of a closed set, `default` when none are given.
fn parse_values<T: FromStr>(kind: &str, values: &[String], default: T) -> R<Vec<T>> {
    if values.is_empty() {
        return Ok(vec![default]);
    }
    values.iter().map(|v| parse_value(kind, v)).collect()
}

fn parse_value<T: FromStr>(kind: &str, value: &str) -> R<T> {
    value
        .parse()
        .map_err(|_| Error::InvalidClientMetadata(format!("unsupported {kind} `{value}`")))
}

impl AuthorizationServer {
    /// Where a person goes back to the client `client_id`, if it is
    /// registered: its `client_uri`, else [`home_origin`].
    pub async fn client_home(&self, client_id: &str) -> R<Option<String>> {
        Ok(self
            .store
            .get_client(client_id)
            .await?
            .and_then(|c| c.client_uri.or_else(|| home_origin(&c.redirect_uris))))
    }

    /// Registers a client. Returns it with its secret in clear, once.
    pub async fn create_client(
        &self,
        reg: ClientRegistration,
        now: OffsetDateTime,
    ) -> R<ClientView> {
        let client_id = reg
            .client_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let (client, secret) = self.build_client(client_id, reg, None, now)?;
        self.store
            .insert_client(&client)
            .await
            .map_err(|e| match e {
                oneauth_store::StoreError::Conflict => Error::AlreadyExists(format!(
                    "A client with id `{}` exists already.",
                    client.client_id
                )),
                e => e.into(),
            })?;
        Ok(ClientView::new(client, secret))
    }

    /// Replaces a client's metadata; keeps its secret unless a new one is given.
    pub async fn update_client(
        &self,
        id: &str,
        reg: ClientRegistration,
        now: OffsetDateTime,
    ) -> R<Option<ClientView>> {
        let Some(existing) = self.store.get_client(id).await? else {
            return Ok(None);
        };
        let (mut client, secret) = self.build_client(id.to_owned(), reg, Some(&existing), now)?;
        client.created_at = existing.created_at;
        Ok(self
            .store
            .update_client(&client)
            .await?
            .then(|| ClientView::new(client, secret)))
    }

    fn build_client(
        &self,
        client_id: String,
        reg: ClientRegistration,
        existing: Option<&Client>,
        now: OffsetDateTime,
    ) -> R<(Client, Option<String>)> {
        check_client_id(&client_id)?;
        let grant_types =
            parse_values("grant type", &reg.grant_types, GrantType::AuthorizationCode)?;
        let response_types =
            parse_values("response type", &reg.response_types, ResponseType::Code)?;
        let method = match &reg.token_endpoint_auth_method {
            Some(m) => parse_value("token_endpoint_auth_method", m)?,
            None => AuthMethod::ClientSecretBasic,
        };
        for uri in reg
            .redirect_uris
            .iter()
            .chain(&reg.post_logout_redirect_uris)
        {
            check_redirect_uri(uri, self.config.allow_http_redirect_uris)?;
        }
        if grant_types.contains(&GrantType::AuthorizationCode) && reg.redirect_uris.is_empty() {
            return Err(Error::InvalidClientMetadata(
                "the authorization_code grant needs at least one redirect URI".into(),
            ));
        }
        check_native_client(method, &reg.redirect_uris)?;
        if method == AuthMethod::None {
            check_public_client(&grant_types, reg.allow_no_pkce)?;
        }
        if let Some(alg) = &reg.id_token_signed_response_alg
            && oneauth_core::config::SigningAlg::parse(alg).is_none()
        {
            return Err(Error::InvalidClientMetadata(format!(
                "unsupported id_token_signed_response_alg `{alg}`"
            )));
        }
        let access_token_strategy = match &reg.access_token_strategy {
            Some(s) => Some(AccessTokenStrategy::parse(s).ok_or_else(|| {
                Error::InvalidClientMetadata(format!(
                    "access_token_strategy must be opaque or jwt, not `{s}`"
                ))
            })?),
            None => None,
        };
        // A client may be allowed no more scopes than one request may name.
        let scope = crate::parse_scope(
            reg.scope
                .as_deref()
                .unwrap_or("openid offline_access offline profile email"),
        )
        .map_err(|e| Error::InvalidClientMetadata(e.to_string()))?;
        let (secret, secret_hash) = self.client_secret(method, reg.client_secret, existing)?;
        let client = Client {
            client_name: reg.client_name.unwrap_or_else(|| client_id.clone()),
            client_id,
            secret_hash,
            redirect_uris: reg.redirect_uris,
            grant_types,
            response_types,
            scope,
            token_endpoint_auth_method: method,
            post_logout_redirect_uris: reg.post_logout_redirect_uris,
            skip_consent: reg.skip_consent,
            id_token_signed_response_alg: reg.id_token_signed_response_alg,
            access_token_strategy,
            native_cli_login: reg.native_cli_login,
            allow_no_pkce: reg.allow_no_pkce,
            require_mfa: reg.require_mfa,
            logo_uri: https_uri("logo_uri", reg.logo_uri)?,
            policy_uri: https_uri("policy_uri", reg.policy_uri)?,
            tos_uri: https_uri("tos_uri", reg.tos_uri)?,
            client_uri: https_uri("client_uri", reg.client_uri)?,
            created_at: now.unix_timestamp(),
            updated_at: now.unix_timestamp(),
        };
        Ok((client, secret))
    }

    /// The secret to show (once) and the HMAC to store. Confidential
    /// clients get a generated secret unless one is given, or keep the one
    /// they have; public clients have none.
    fn client_secret(
        &self,
        method: AuthMethod,
        given: Option<String>,
        existing: Option<&Client>,
    ) -> R<(Option<String>, Option<String>)> {
        if method == AuthMethod::None {
            return Ok((None, None));
        }
        if let Some(s) = given {
            if s.len() < 16 {
                return Err(Error::InvalidClientMetadata(
                    "client_secret must have at least 16 characters".into(),
                ));
            }
            let h = self.system_keys.hash_client_secret(&s);
            return Ok((Some(s), Some(h)));
        }
        if let Some(h) = existing.and_then(|c| c.secret_hash.clone()) {
            return Ok((None, Some(h)));
        }
        let s = oneauth_crypto::random_b64url(32);
        let h = self.system_keys.hash_client_secret(&s);
        Ok((Some(s), Some(h)))
    }
}

/// A URI the consent page shows or links to: absolute https with a host
/// and no credentials, so the page never loads or links anything in clear
/// or of another scheme (`javascript:`).
fn https_uri(field: &str, uri: Option<String>) -> R<Option<String>> {
    let Some(uri) = uri else { return Ok(None) };
    let ok = url::Url::parse(&uri).is_ok_and(|u| {
        u.scheme() == "https"
            && u.host().is_some()
            && u.username().is_empty()
            && u.password().is_none()
    });
    if !ok {
        return Err(Error::InvalidClientMetadata(format!(
            "{field} must be an absolute https URI without credentials"
        )));
    }
    Ok(Some(uri))
}

fn check_client_id(client_id: &str) -> R<()> {
    if client_id.is_empty()
        || client_id.len() > 255
        || client_id
            .chars()
            .any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(Error::InvalidClientMetadata(
            "client_id must be 1–255 visible characters".into(),
        ));
    }
    Ok(())
}

/// What a public client (no secret) may not be registered for.
fn check_public_client(grant_types: &[GrantType], allow_no_pkce: bool) -> R<()> {
    if allow_no_pkce {
        return Err(Error::InvalidClientMetadata(
            "a public client cannot go without PKCE (allow_no_pkce)".into(),
        ));
    }
    if grant_types.contains(&GrantType::ClientCredentials) {
        return Err(Error::InvalidClientMetadata(
            "a public client cannot use client_credentials".into(),
        ));
    }
    Ok(())
}

/// How a client presented itself at the token endpoint.
#[derive(Debug, Default)]
pub struct ClientCredentials {
    /// From `Authorization: Basic` (already form-decoded).
    pub basic: Option<(ClientId, String)>,
    /// `client_id` and `client_secret` of the body.
    pub body_id: Option<ClientId>,
    pub body_secret: Option<String>,
}

/// The client a request names, how it authenticates, and the secret it
/// presented: before any lookup.
pub(crate) struct ClaimedClient<'a> {
    pub(crate) id: &'a ClientId,
    secret: Option<&'a str>,
    method: AuthMethod,
}

impl ClientCredentials {
    /// Which client the request claims to be, by one authentication method
    /// only; `invalid_client` when it names none.
    pub(crate) fn claimed(&self) -> R<ClaimedClient<'_>> {
        let (id, secret, method) = match (&self.basic, &self.body_id, &self.body_secret) {
            (Some(_), _, Some(_)) => {
                return Err(Error::InvalidRequest(
                    "Use one client authentication method, not two.".into(),
                ));
            }
            (Some((id, _)), Some(body_id), None) if id != body_id => {
                return Err(Error::InvalidRequest(
                    "client_id in the body differs from the authenticated client.".into(),
                ));
            }
            (Some((id, s)), _, None) => (id, Some(s.as_str()), AuthMethod::ClientSecretBasic),
            (None, Some(id), Some(s)) => (id, Some(s.as_str()), AuthMethod::ClientSecretPost),
            (None, Some(id), None) => (id, None, AuthMethod::None),
            (None, None, _) => return Err(Error::InvalidClient),
        };
        Ok(ClaimedClient { id, secret, method })
    }
}

impl AuthorizationServer {
    /// RFC 6749 §2.3: authenticates the client with the method it
    /// registered, and only that one. Secrets are compared in constant time.
    pub async fn authenticate_client(&self, creds: &ClientCredentials) -> R<Client> {
        let claimed = creds.claimed()?;
        let client = self.store.get_client(claimed.id.as_str()).await?;
        self.check_client(&claimed, client)
    }

    /// A client at the token or device authorization endpoint: authenticated
    /// as [`Self::authenticate_client`], then counted against its per-client
    /// rate limit (a client's own requests, whichever IP they come from).
    pub async fn authenticate_token_client(
        &self,
        creds: &ClientCredentials,
        now: OffsetDateTime,
    ) -> R<Client> {
        let client = self.authenticate_client(creds).await?;
        self.limits.client_request(&client.client_id, now).await?;
        Ok(client)
    }

    /// Whether `client` (as stored under the claimed id) is the one that
    /// presented `claimed`: the registered method, and its secret.
    pub(crate) fn check_client(
        &self,
        claimed: &ClaimedClient<'_>,
        client: Option<Client>,
    ) -> R<Client> {
        let client = client.ok_or(Error::InvalidClient)?;
        if client.token_endpoint_auth_method != claimed.method {
            return Err(Error::InvalidClient);
        }
        match (claimed.secret, &client.secret_hash) {
            (None, None) => Ok(client),
            (Some(s), Some(stored)) if self.system_keys.verify_client_secret(s, stored) => {
                Ok(client)
            }
            _ => Err(Error::InvalidClient),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{
        AuthMethod, check_native_client, check_redirect_uri, home_origin, redirect_uri_registered,
    };

    #[test]
    fn the_way_home_is_the_origin_of_the_first_web_redirect_uri() {
        let uris = |u: &[&str]| u.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            home_origin(&uris(&[
                "com.example.app:/cb",
                "https://app.example:8443/a/cb?x=1"
            ]))
            .as_deref(),
            Some("https://app.example:8443")
        );
        assert_eq!(
            home_origin(&uris(&["http://127.0.0.1:3000/callback"])).as_deref(),
            Some("http://127.0.0.1:3000")
        );
        assert_eq!(home_origin(&uris(&["com.example.app:/cb"])), None);
        // A native app's any-port loopback URI is no place to go back to.
        assert_eq!(
            home_origin(&uris(&["http://127.0.0.1/cb", "http://[::1]/cb"])),
            None
        );
        assert_eq!(home_origin(&[]), None);
    }

    #[test]
    fn http_redirect_uris_only_on_loopback_unless_allowed() {
        for ok in [
            "https://app.example/cb",
            "http://127.0.0.1:3000/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:3000/cb",
            "http://localhost:3000/cb",
            "com.example.app:/cb",
        ] {
            assert!(check_redirect_uri(ok, false).is_ok(), "{ok}");
        }
        for bad in [
            "http://app.example/cb",
            "http://10.0.0.5:3000/cb",
            "http://localhost.app.example/cb",
        ] {
            let e = check_redirect_uri(bad, false).unwrap_err();
            assert_eq!(e.code().oauth_error(), "invalid_redirect_uri", "{bad}");
            assert!(e.to_string().contains("use https"), "{e}");
            assert!(check_redirect_uri(bad, true).is_ok(), "{bad}");
        }
        // The other checks hold with the development setting too.
        assert!(check_redirect_uri("http://app.example/cb#x", true).is_err());
    }

    #[test]
    fn redirect_uris_match_exactly() {
        let registered = vec!["https://app.example.com/cb".to_owned()];
        assert!(redirect_uri_registered(
            &registered,
            "https://app.example.com/cb"
        ));
        for other in [
            "https://app.example.com/cb/",
            "https://APP.example.com/cb",
            "https://app.example.com:443/cb",
            "https://app.example.com/cb?x=1",
            "https://app.example.com.evil.test/cb",
        ] {
            assert!(!redirect_uri_registered(&registered, other), "{other}");
        }
    }

    #[test]
    fn a_port_less_loopback_ip_uri_matches_any_port_and_nothing_else() {
        let registered = vec![
            "http://127.0.0.1/cb?x=1".to_owned(),
            "http://[::1]/oauth/cb".to_owned(),
            "http://localhost/cb".to_owned(),
            "http://127.0.0.1:80/fixed".to_owned(),
            "http://127.0.0.2/other".to_owned(),
        ];
        for ok in [
            "http://127.0.0.1/cb?x=1",
            "http://127.0.0.1:51004/cb?x=1",
            "http://127.0.0.1:1/cb?x=1",
            "http://127.0.0.1:65535/cb?x=1",
            "http://[::1]:8400/oauth/cb",
            "http://localhost/cb",
            "http://127.0.0.1:80/fixed",
        ] {
            assert!(redirect_uri_registered(&registered, ok), "{ok}");
        }
        for bad in [
            // Only the port may differ (RFC 8252 §7.3).
            "http://127.0.0.1:51004/cb",
            "http://127.0.0.1:51004/cb?x=2",
            "http://127.0.0.1:51004/cb/?x=1",
            "http://127.0.0.2:51004/cb?x=1",
            "https://127.0.0.1:51004/cb?x=1",
            "http://[::1]:8400/oauth/cb#f",
            "http://[0:0:0:0:0:0:0:1]:8400/oauth/cb",
            "http://127.0.0.1:0/cb?x=1",
            "http://127.0.0.1:080/cb?x=1",
            "http://127.0.0.1:65536/cb?x=1",
            "http://127.0.0.1:/cb?x=1",
            "http://127.0.0.1:5000@evil.example/cb?x=1",
            // localhost is not loopback for this (§8.3).
            "http://localhost:5000/cb",
            // A registered port is a fixed port.
            "http://127.0.0.1:5000/fixed",
            "http://127.0.0.1:5000:80/fixed",
            // The two addresses RFC 8252 names, not all of 127.0.0.0/8.
            "http://127.0.0.2:5000/other",
        ] {
            assert!(!redirect_uri_registered(&registered, bad), "{bad}");
        }
    }

    #[test]
    fn private_use_schemes_are_reverse_domain_names_for_public_clients() {
        assert!(check_redirect_uri("com.example.app:/oauth2redirect", false).is_ok());
        let e = check_redirect_uri("myapp:/cb", false).unwrap_err();
        assert_eq!(e.code().oauth_error(), "invalid_redirect_uri");
        assert!(e.to_string().contains("reverse domain name"), "{e}");

        let native = ["com.example.app:/cb".to_owned()];
        let web = [
            "https://app.example/cb".to_owned(),
            "http://127.0.0.1/cb".to_owned(),
        ];
        assert!(check_native_client(AuthMethod::None, &native).is_ok());
        assert!(check_native_client(AuthMethod::ClientSecretBasic, &web).is_ok());
        for method in [AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost] {
            let e = check_native_client(method, &native).unwrap_err();
            assert_eq!(e.code().oauth_error(), "invalid_redirect_uri");
        }
    }
}
