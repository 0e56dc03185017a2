//! OpenID Connect Discovery 1.0 §3 / RFC 8414 metadata. Every endpoint it
//! names is routed (a test checks this); nothing unimplemented is advertised.

use crate::AuthorizationServer;
use oneauth_proto::oauth2::{AuthMethod, GrantType, Prompt, ResponseType};
use serde_json::{Value, json};

impl AuthorizationServer {
    pub fn discovery(&self) -> Value {
        let algs: Vec<&str> = self
            .keyring()
            .algorithms()
            .into_iter()
            .map(|a| a.as_str())
            .collect();
        json!({
            "issuer": self.issuer(),
            "authorization_endpoint": self.endpoint("/oauth2/auth"),
            "token_endpoint": self.endpoint("/oauth2/token"),
            "device_authorization_endpoint": self.endpoint("/oauth2/device/auth"),
            "userinfo_endpoint": self.endpoint("/userinfo"),
            "jwks_uri": self.endpoint("/.well-known/jwks.json"),
            "revocation_endpoint": self.endpoint("/oauth2/revoke"),
            "introspection_endpoint": self.endpoint("/oauth2/introspect"),
            "end_session_endpoint": self.endpoint("/oauth2/sessions/logout"),
            "revocation_endpoint_auth_methods_supported": AuthMethod::ALL,
            "introspection_endpoint_auth_methods_supported": AuthMethod::ALL,
            "response_types_supported": ResponseType::ALL,
            "response_modes_supported": ["query"],
            "grant_types_supported": GrantType::ALL,
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": algs,
            "userinfo_signing_alg_values_supported": ["none"],
            "scopes_supported": ["openid", "offline_access", "offline", "profile", "email", "phone"],
            // Every claim an id_token or userinfo can carry (an e2e test
            // compares them with what is issued).
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "jti", "auth_time", "nonce", "at_hash", "sid", "amr", "acr", "email", "email_verified", "phone_number", "phone_number_verified", "name", "preferred_username"],
            "token_endpoint_auth_methods_supported": AuthMethod::ALL,
            "code_challenge_methods_supported": ["S256"],
            "prompt_values_supported": Prompt::ALL,
            "display_values_supported": ["page", "popup"],
            "authorization_response_iss_parameter_supported": true,
            // OIDC Core §3.1.2.1 `acr_values`: `ACR_MFA` asks for a
            // second factor; the id_token's `acr` says what the login was.
            "acr_values_supported": crate::mfa::ACR_VALUES,
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "ui_locales_supported": ["en", "zh-CN"],
        })
    }
}
