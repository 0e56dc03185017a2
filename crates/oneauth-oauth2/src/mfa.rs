//! Multi-factor authentication as the authorization server sees it: which
//! logins must prove a second factor, and the authentication context class
//! (OIDC Core §2 `acr`) an id_token states. Proving the factors is
//! `oneauth_identity`'s.

use crate::AuthorizationServer;
use oneauth_core::config::MfaPolicy;
use oneauth_store::Client;

/// `acr` of a login that proved one factor.
pub const ACR_SINGLE: &str = "urn:oneauth:acr:sfa";
/// `acr` of a multi-factor login (its `amr` has `mfa`); a client asks for
/// one with this in `acr_values`.
pub const ACR_MFA: &str = "urn:oneauth:acr:mfa";
/// Every `acr` OneAuth issues, weakest first (discovery's
/// `acr_values_supported`).
pub const ACR_VALUES: [&str; 2] = [ACR_SINGLE, ACR_MFA];

/// The `acr` of a login authenticated by `amr` (RFC 8176 values): the
/// login says itself whether it was multi-factor, with `mfa`, so a passkey
/// with user verification alone counts and two passwords would not.
pub fn acr_for(amr: &[String]) -> &'static str {
    if amr.iter().any(|m| m == oneauth_identity::factors::MFA) {
        ACR_MFA
    } else {
        ACR_SINGLE
    }
}

/// Whether a login under `policy` for `client`'s `request` must prove a
/// second factor. Policy `off` has no second factors to prove (none can
/// be enrolled), so neither the client's flag nor `acr_values` can demand
/// one then: the id_token's `acr` tells the client what it got.
fn mfa_demanded(policy: MfaPolicy, client: &Client, acr_values: &[String]) -> bool {
    match policy {
        MfaPolicy::Off => false,
        MfaPolicy::Required => true,
        MfaPolicy::Optional => client.require_mfa || acr_values.iter().any(|v| v == ACR_MFA),
    }
}

impl AuthorizationServer {
    /// Whether this login must prove a second factor: the policy is
    /// `required`, or (unless it is `off`) the client was registered with
    /// `require_mfa` or the request asks for [`ACR_MFA`] in `acr_values`.
    /// `acr_values`: the request's (none for logins outside an
    /// authorization request: a device's, a CLI's, a silent exchange).
    pub fn demands_mfa(&self, client: &Client, acr_values: &[String]) -> bool {
        mfa_demanded(self.config.mfa.policy, client, acr_values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientRegistration;
    use crate::test_server::{self, Fixture};
    use crate::token::Grant;
    use oneauth_store::AuthorizeRequest;
    use time::OffsetDateTime;

    fn request(acr_values: &[&str]) -> AuthorizeRequest {
        AuthorizeRequest {
            client_id: "app".into(),
            redirect_uri: "https://app.example/cb".into(),
            scope: vec!["openid".into()],
            state: None,
            nonce: None,
            code_challenge: None,
            prompt: vec![],
            max_age: None,
            login_hint: None,
            ui_locales: None,
            popup: false,
            acr_values: acr_values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn client(require_mfa: bool) -> Client {
        serde_json::from_value(serde_json::json!({
            "client_id": "app",
            "client_name": "App",
            "redirect_uris": ["https://app.example/cb"],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "scope": "openid",
            "token_endpoint_auth_method": "none",
            "require_mfa": require_mfa,
        }))
        .unwrap()
    }

    #[test]
    fn the_policy_the_client_and_the_request_each_can_demand_a_second_factor() {
        let acr_cases: [(&[&str], bool); 5] = [
            (&[], false),
            (&[ACR_SINGLE], false),
            (&["urn:example:loa:3"], false),
            (&[ACR_MFA], true),
            (&["urn:example:loa:3", ACR_MFA], true),
        ];
        for policy in [MfaPolicy::Off, MfaPolicy::Optional, MfaPolicy::Required] {
            for require_mfa in [false, true] {
                for (acr_values, asks_mfa) in acr_cases {
                    let expected = match policy {
                        MfaPolicy::Off => false,
                        MfaPolicy::Optional => require_mfa || asks_mfa,
                        MfaPolicy::Required => true,
                    };
                    assert_eq!(
                        mfa_demanded(
                            policy,
                            &client(require_mfa),
                            &request(acr_values).acr_values
                        ),
                        expected,
                        "{policy:?}, require_mfa {require_mfa}, acr_values {acr_values:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn acr_is_multi_factor_exactly_when_amr_says_mfa() {
        let amr = |v: &[&str]| v.iter().map(|m| m.to_string()).collect::<Vec<_>>();
        assert_eq!(acr_for(&amr(&["pwd"])), ACR_SINGLE);
        assert_eq!(acr_for(&amr(&["pwd", "otp"])), ACR_SINGLE);
        assert_eq!(acr_for(&amr(&["pwd", "otp", "mfa"])), ACR_MFA);
        assert_eq!(acr_for(&amr(&["hwk", "mfa"])), ACR_MFA);
    }

    /// A server with `policy`.
    async fn fixture(policy: MfaPolicy) -> Fixture {
        test_server::fixture(|c| c.mfa.policy = policy).await
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    #[tokio::test]
    async fn the_server_applies_its_configured_policy() {
        let plain = (client(false), request(&[]));
        for (policy, demanded) in [
            (MfaPolicy::Off, false),
            (MfaPolicy::Optional, false),
            (MfaPolicy::Required, true),
        ] {
            let f = fixture(policy).await;
            assert_eq!(
                f.server.demands_mfa(&plain.0, &plain.1.acr_values),
                demanded,
                "{policy:?}"
            );
            assert_eq!(
                f.server
                    .demands_mfa(&client(true), &request(&[ACR_MFA]).acr_values),
                policy != MfaPolicy::Off,
                "{policy:?}"
            );
        }
    }

    #[tokio::test]
    async fn discovery_advertises_the_acr_values_and_the_acr_claim() {
        let doc = fixture(MfaPolicy::Optional).await.server.discovery();
        assert_eq!(
            doc["acr_values_supported"],
            serde_json::json!([ACR_SINGLE, ACR_MFA])
        );
        assert!(
            doc["claims_supported"]
                .as_array()
                .unwrap()
                .contains(&"acr".into()),
            "{doc}"
        );
    }

    /// The id_token's `acr` follows its `amr`; a grant without `amr` (no
    /// user login behind it, as a refresh) states no `acr` either.
    #[tokio::test]
    async fn the_id_token_states_the_acr_of_its_amr() {
        let f = fixture(MfaPolicy::Optional).await;
        let who = f
            .server
            .identities
            .create("a@example.com", None, None, now())
            .await
            .unwrap();
        let client = f
            .server
            .create_client(
                ClientRegistration {
                    redirect_uris: vec!["https://app.example/cb".into()],
                    ..Default::default()
                },
                now(),
            )
            .await
            .unwrap()
            .client;
        let scope = ["openid".to_owned()];
        let id_token_acr = |amr: &[&str]| {
            let amr: Vec<String> = amr.iter().map(|m| m.to_string()).collect();
            let grant = Grant {
                grant_id: "g",
                client: &client,
                identity: Some(&who),
                scope: &scope,
                session_id: None,
                auth_time: Some(now().unix_timestamp()),
                amr: &amr,
                nonce: None,
            };
            let (tokens, _) = f.server.mint_tokens(&grant, now()).unwrap();
            let id_token = tokens.id_token.expect("openid gives an id_token");
            let payload = id_token.split('.').nth(1).unwrap();
            let claims: serde_json::Value =
                serde_json::from_slice(&oneauth_crypto::b64url_decode(payload).unwrap()).unwrap();
            (claims["acr"].clone(), claims["amr"].clone())
        };
        assert_eq!(
            id_token_acr(&["pwd"]),
            (ACR_SINGLE.into(), serde_json::json!(["pwd"]))
        );
        assert_eq!(
            id_token_acr(&["pwd", "otp", "mfa"]),
            (ACR_MFA.into(), serde_json::json!(["pwd", "otp", "mfa"]))
        );
        assert_eq!(
            id_token_acr(&[]),
            (serde_json::Value::Null, serde_json::Value::Null)
        );
    }
}
