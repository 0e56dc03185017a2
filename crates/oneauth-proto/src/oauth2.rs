//! OAuth 2.0 words and forms: the closed sets of protocol values (grant
//! types, client authentication methods, response types, prompts), each
//! one string on the wire and in storage, and the token endpoint's forms
//! as they are sent. Parsing them into requests is `oneauth-oauth2`'s job.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A value outside a closed set of protocol words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue(pub String);

impl std::fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown value `{}`", self.0)
    }
}

impl std::error::Error for UnknownValue {}

/// A closed set of protocol words: each variant is exactly one string, in
/// serde, `Display`, `FromStr` and `as_str` alike, so stored data and the
/// wire keep the strings they had when these were plain `String`s. The
/// strings are the variants' snake_case names (`rename_all`, which the
/// OpenAPI derive reads too; a test checks they agree).
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $s:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $s),+
                }
            }

            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::oauth2::UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s).ok_or_else(|| $crate::oauth2::UnknownValue(s.to_owned()))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum! {
    /// The token endpoint's grants (RFC 6749 §4, §6). A grant type is one
    /// of these or `unsupported_grant_type`.
    GrantType {
        AuthorizationCode = "authorization_code",
        RefreshToken = "refresh_token",
        ClientCredentials = "client_credentials",
        /// RFC 8628 §3.4.
        #[serde(rename = "urn:ietf:params:oauth:grant-type:device_code")]
        DeviceCode = "urn:ietf:params:oauth:grant-type:device_code",
    }
}

wire_enum! {
    /// How a client authenticates at the token endpoint (RFC 6749 §2.3,
    /// RFC 7591 §2 `token_endpoint_auth_method`).
    AuthMethod {
        ClientSecretBasic = "client_secret_basic",
        ClientSecretPost = "client_secret_post",
        /// A public client: no secret.
        None = "none",
    }
}

wire_enum! {
    /// Authorization endpoint response types (RFC 6749 §3.1.1): the code
    /// flow only.
    ResponseType {
        Code = "code",
    }
}

wire_enum! {
    /// OIDC Core §3.1.2.1 `prompt` values.
    Prompt {
        None = "none",
        Login = "login",
        Consent = "consent",
        SelectAccount = "select_account",
    }
}

/// The token endpoint's form (RFC 6749 §4.1.3, §6, §4.4) as sent, each
/// parameter at most once; `oneauth-oauth2` parses it into one grant's
/// request. Unknown parameters are ignored (RFC 6749 §3.2).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct TokenForm {
    /// `authorization_code`, `refresh_token`, `client_credentials` or
    /// `urn:ietf:params:oauth:grant-type:device_code`.
    #[schema(required = true, value_type = String)]
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    /// RFC 8628 §3.4: the device code of a device's poll.
    pub device_code: Option<String>,
    pub scope: Option<String>,
    /// For `none` and `client_secret_post` client authentication.
    pub client_id: Option<String>,
    /// For `client_secret_post`.
    pub client_secret: Option<String>,
}

/// The introspection (RFC 7662 §2.1) and revocation (RFC 7009 §2.1) form.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct TokenParamsForm {
    #[schema(required = true, value_type = String)]
    pub token: Option<String>,
    /// `access_token` or `refresh_token`.
    pub token_type_hint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde_agrees<T>(all: &[T])
    where
        T: Copy + PartialEq + std::fmt::Debug + std::fmt::Display + std::str::FromStr,
        T: Serialize + serde::de::DeserializeOwned,
        T::Err: std::fmt::Debug,
    {
        for v in all {
            let json = serde_json::to_string(v).unwrap();
            assert_eq!(json, format!("\"{v}\""));
            assert_eq!(serde_json::from_str::<T>(&json).unwrap(), *v);
            assert_eq!(v.to_string().parse::<T>().unwrap(), *v);
        }
    }

    #[test]
    fn words_are_the_strings_they_were() {
        serde_agrees(AuthMethod::ALL);
        serde_agrees(GrantType::ALL);
        serde_agrees(ResponseType::ALL);
        serde_agrees(Prompt::ALL);
        serde_agrees(crate::identity::VerifyMethod::ALL);
        assert_eq!(AuthMethod::None.as_str(), "none");
        assert_eq!(Prompt::SelectAccount.to_string(), "select_account");
        assert_eq!(
            GrantType::ALL
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>(),
            [
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "urn:ietf:params:oauth:grant-type:device_code"
            ]
        );
        assert_eq!(
            "implicit".parse::<GrantType>(),
            Err(UnknownValue("implicit".into()))
        );
        assert!(serde_json::from_str::<ResponseType>("\"token\"").is_err());
    }
}
