//! TEMPORARY (lead's tree only until the mfa-acr branch merges with the
//! real `demands_mfa`; this file goes then).
use crate::AuthorizationServer;
use oneauth_store::Client;

impl AuthorizationServer {
    pub(crate) fn demands_mfa(&self, _client: &Client, _acr_values: &[String]) -> bool {
        self.config.mfa.policy == oneauth_core::config::MfaPolicy::Required
    }
}
