//! Second factors (TOTP, recovery codes, passkeys) and passkey sign-in.

use serde::{Deserialize, Serialize};

/// Who must prove a second factor at login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MfaPolicy {
    /// No second factors: none can be enrolled and none are asked for.
    Off,
    /// Users may enrol second factors; whoever has one proves it at every
    /// login. A client registered with `require_mfa`, or a request with the
    /// multi-factor `acr_values`, still demands one (enrolment first).
    #[default]
    Optional,
    /// Every login needs a second factor; users without one enrol at their
    /// next login.
    Required,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mfa {
    pub policy: MfaPolicy,
    /// Issuer shown by authenticator apps (`otpauth://` label and
    /// `issuer`); empty means `ui.brand_name`.
    pub totp_issuer: String,
}

impl Default for Mfa {
    fn default() -> Self {
        Self {
            policy: MfaPolicy::Optional,
            totp_issuer: String::new(),
        }
    }
}

/// WebAuthn relying party (passkeys).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Passkeys {
    /// The RP ID: a registrable domain suffix of the UI host; empty means
    /// the UI host. Passkeys are bound to it: changing it orphans them.
    pub rp_id: String,
    /// Name shown by authenticators; empty means `ui.brand_name`.
    pub rp_name: String,
    /// Origins allowed to run ceremonies, besides the UI's and the
    /// issuer's (for example a custom login UI's).
    pub extra_origins: Vec<url::Url>,
}
