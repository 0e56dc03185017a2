//! The token endpoint's grants (RFC 6749 §4, §6). The set is closed: a
//! grant type is one of these or `unsupported_grant_type`. The form is
//! parsed here once into a [`TokenRequest`]; the grants take its typed
//! fields.

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod refresh_token;

use crate::{AuthorizationServer, R, token::TokenResponse};
use oneauth_core::Error;
pub use oneauth_proto::oauth2::{GrantType, TokenForm};
use oneauth_store::Client;
use time::OffsetDateTime;

/// RFC 6749 §4.1.3: the authorization code exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeExchange {
    pub code: String,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
}

/// One token request, by grant, with the parameters that grant takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRequest {
    AuthorizationCode(CodeExchange),
    /// RFC 6749 §6.
    RefreshToken {
        refresh_token: String,
        scope: Option<String>,
    },
    /// RFC 6749 §4.4.
    ClientCredentials {
        scope: Option<String>,
    },
    /// RFC 8628 §3.4: a device's poll.
    DeviceCode {
        device_code: String,
    },
}

fn missing(name: &str) -> Error {
    Error::InvalidRequest(format!("{name} is missing."))
}

impl TokenRequest {
    /// Parses a token form. The grant type is read first and handed to
    /// `permitted` before the grant's own parameters are looked at: a client
    /// that may not use a grant hears `unauthorized_client`, not which
    /// parameter of that grant it left out.
    pub fn parse(form: TokenForm, permitted: impl FnOnce(GrantType) -> R<()>) -> R<Self> {
        let raw = form.grant_type.ok_or_else(|| missing("grant_type"))?;
        let grant = GrantType::parse(&raw).ok_or_else(|| {
            Error::UnsupportedGrantType(format!("Grant type `{raw}` is not supported."))
        })?;
        permitted(grant)?;
        Ok(match grant {
            GrantType::AuthorizationCode => Self::AuthorizationCode(CodeExchange {
                code: form.code.ok_or_else(|| missing("code"))?,
                redirect_uri: form.redirect_uri,
                code_verifier: form.code_verifier,
            }),
            GrantType::RefreshToken => Self::RefreshToken {
                refresh_token: form.refresh_token.ok_or_else(|| missing("refresh_token"))?,
                scope: form.scope,
            },
            GrantType::ClientCredentials => Self::ClientCredentials { scope: form.scope },
            GrantType::DeviceCode => Self::DeviceCode {
                device_code: form.device_code.ok_or_else(|| missing("device_code"))?,
            },
        })
    }
}

/// The client is registered for `grant` (RFC 6749 §5.2 `unauthorized_client`).
fn client_may_use(client: &Client, grant: GrantType) -> R<()> {
    if client.allows_grant(grant) {
        Ok(())
    } else {
        Err(Error::UnauthorizedClient(format!(
            "The client may not use the {grant} grant."
        )))
    }
}

impl AuthorizationServer {
    /// RFC 6749 §3.2: one token request from an authenticated client.
    pub async fn token(
        &self,
        client: &Client,
        form: TokenForm,
        now: OffsetDateTime,
    ) -> R<TokenResponse> {
        match TokenRequest::parse(form, |grant| client_may_use(client, grant))? {
            TokenRequest::AuthorizationCode(exchange) => {
                self.exchange_code(client, &exchange, now).await
            }
            TokenRequest::RefreshToken {
                refresh_token,
                scope,
            } => {
                self.refresh(client, &refresh_token, scope.as_deref(), now)
                    .await
            }
            TokenRequest::ClientCredentials { scope } => {
                self.client_credentials(client, scope.as_deref(), now).await
            }
            TokenRequest::DeviceCode { device_code } => {
                self.poll_device(client, &device_code, now).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Pair<'a> = (&'a str, &'a str);

    fn form(pairs: &[Pair]) -> TokenForm {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.to_string())
        };
        TokenForm {
            grant_type: get("grant_type"),
            code: get("code"),
            redirect_uri: get("redirect_uri"),
            code_verifier: get("code_verifier"),
            refresh_token: get("refresh_token"),
            device_code: get("device_code"),
            scope: get("scope"),
            client_id: get("client_id"),
            client_secret: get("client_secret"),
        }
    }

    fn parse(pairs: &[(&str, &str)]) -> R<TokenRequest> {
        TokenRequest::parse(form(pairs), |_| Ok(()))
    }

    fn message(e: Error) -> (String, String) {
        (e.code().oauth_error().to_owned(), e.to_string())
    }

    #[test]
    fn every_grant_parses_into_its_variant() {
        assert_eq!(
            parse(&[
                ("grant_type", "authorization_code"),
                ("code", "c"),
                ("redirect_uri", "https://app/cb"),
                ("code_verifier", "v"),
                ("scope", "ignored"),
            ])
            .unwrap(),
            TokenRequest::AuthorizationCode(CodeExchange {
                code: "c".into(),
                redirect_uri: Some("https://app/cb".into()),
                code_verifier: Some("v".into()),
            })
        );
        assert_eq!(
            parse(&[("grant_type", "refresh_token"), ("refresh_token", "r")]).unwrap(),
            TokenRequest::RefreshToken {
                refresh_token: "r".into(),
                scope: None
            }
        );
        assert_eq!(
            parse(&[("grant_type", "client_credentials"), ("scope", "a b")]).unwrap(),
            TokenRequest::ClientCredentials {
                scope: Some("a b".into())
            }
        );
        let device = "urn:ietf:params:oauth:grant-type:device_code";
        assert_eq!(
            parse(&[("grant_type", device), ("device_code", "d")]).unwrap(),
            TokenRequest::DeviceCode {
                device_code: "d".into()
            }
        );
        let (e, d) = message(parse(&[("grant_type", device)]).unwrap_err());
        assert_eq!(
            (e.as_str(), d.as_str()),
            ("invalid_request", "device_code is missing.")
        );
    }

    #[test]
    fn a_missing_or_unknown_parameter_is_the_precise_error() {
        let cases: [(&[Pair], &str, &str); 4] = [
            (&[], "invalid_request", "grant_type is missing."),
            (
                &[("grant_type", "password")],
                "unsupported_grant_type",
                "Grant type `password` is not supported.",
            ),
            (
                &[("grant_type", "authorization_code")],
                "invalid_request",
                "code is missing.",
            ),
            (
                &[("grant_type", "refresh_token"), ("scope", "x")],
                "invalid_request",
                "refresh_token is missing.",
            ),
        ];
        for (pairs, error, description) in cases {
            let (e, d) = message(parse(pairs).unwrap_err());
            assert_eq!((e.as_str(), d.as_str()), (error, description), "{pairs:?}");
        }
    }

    #[test]
    fn the_client_is_asked_before_the_grant_parameters_are_read() {
        let refused = TokenRequest::parse(form(&[("grant_type", "authorization_code")]), |g| {
            assert_eq!(g, GrantType::AuthorizationCode);
            Err(Error::UnauthorizedClient("no".into()))
        })
        .unwrap_err();
        assert_eq!(message(refused).0, "unauthorized_client");
    }
}
