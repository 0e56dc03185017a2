//! The login gate for second factors: whether a session may serve a
//! client's request (the MFA policy, the client's `require_mfa`, the
//! request's `acr_values`), and the refusal for logins that have no
//! second-factor step (a CLI's password, a mini-program).

use crate::{AuthorizationServer, R};
use oneauth_core::Error;
use oneauth_identity::factors::MFA;
use oneauth_store::{AuthorizeRequest, Client, Identity, Session};

/// Whether a session proved a second factor (or a passkey with user
/// verification).
pub(crate) fn multi_factor(session: &Session) -> bool {
    session.amr.iter().any(|a| a == MFA)
}

impl AuthorizationServer {
    /// `Err(SecondFactorRequired)` when the request demands a second
    /// factor that the session has not proven: the login UI then asks for
    /// one on top of the session (step-up) instead of a new login.
    pub(crate) fn check_session_factors(
        &self,
        session: &Session,
        client: &Client,
        request: &AuthorizeRequest,
    ) -> R<()> {
        if self.demands_mfa(client, &request.acr_values) && !multi_factor(session) {
            return Err(Error::SecondFactorRequired);
        }
        Ok(())
    }

    /// A login without a browser can't show a second-factor step: refused
    /// when the client demands one or the identity's own policy would.
    pub(crate) async fn check_sessionless_login(
        &self,
        client: &Client,
        identity: &Identity,
        amr: &str,
    ) -> R<()> {
        if self.demands_mfa(client, &[]) {
            return Err(Error::SecondFactorRequired);
        }
        self.identities
            .check_no_second_factor_needed(identity, &[amr])
            .await
    }
}
