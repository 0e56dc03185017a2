//! Completing a login, for every front end that authenticates a person (the
//! login pages, the identity JSON API, social login): the one place that
//! rotates the session, accepts the login challenge and decides where the
//! browser goes next. Not the authentication itself (`oneauth-identity`),
//! nor cookies or pages (the front ends).
//!
//! ```text
//! authenticated ──> previous session ends, a new one starts
//!                     ├─ pending (a second factor is due) ─────> SecondFactor
//!                     ├─ login_challenge ──> challenge accepted ──> Flow (on to the client)
//!                     │                  ├─> a second factor demanded ──> SecondFactor (step-up)
//!                     │                  └─> not acceptable ─────> Err (the session stays)
//!                     └─ none ─────────────> Page: an allowed return_to, else the default page
//! second factor proven ──> the session is replaced by a complete one ──> the same choice
//! ```

use crate::{AuthorizationServer, R};
use oneauth_core::Error;
use oneauth_store::{Identity, SeenFrom, Session};
use time::OffsetDateTime;

/// Where a login goes on: the OAuth2 flow it was asked for, a page, or the
/// second-factor step first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Landing {
    /// The login must prove a second factor (or enrol one) before it goes
    /// on; the front end shows its second-factor step with the same
    /// `login_challenge` and `return_to`.
    SecondFactor,
    /// The login challenge was accepted: on to the authorization endpoint.
    Flow { redirect_to: String },
    /// No login challenge: `return_to` when it is allowed
    /// ([`AuthorizationServer::allowed_return_to`]), else
    /// `ui.default_return_to`, else the settings page.
    Page {
        to: String,
        /// The origin of an allowed `return_to` (empty without one): the
        /// only origin a popup may tell that the login is done.
        opener_origin: String,
    },
}

/// The browser a login comes from: its session cookie until now (`None`
/// without one), and what the server saw of it (kept with the new session,
/// for its owner's session list).
#[derive(Debug, Clone, Copy)]
pub struct LoginFrom<'a> {
    pub previous: Option<&'a str>,
    pub seen_from: &'a SeenFrom,
}

/// A completed login: the new session, and where to go on.
#[derive(Debug)]
pub struct CompletedLogin {
    /// The new session's cookie value.
    pub session_token: String,
    pub session: Session,
    /// An error here (a challenge used or expired meanwhile) keeps the new
    /// session: the person is logged in, only the flow cannot go on.
    pub landing: Result<Landing, Error>,
}

impl AuthorizationServer {
    /// After any successful authentication: the browser's previous session
    /// (`from.previous`: its cookie value) ends and a new one starts, so a
    /// session id planted before the login (fixation) is worth nothing
    /// after it; then a given `login_challenge` is accepted for the new
    /// session, or else `return_to` is checked against open redirects.
    pub async fn complete_login(
        &self,
        from: LoginFrom<'_>,
        identity: &Identity,
        amr: &[&str],
        login_challenge: Option<&str>,
        return_to: Option<&str>,
        now: OffsetDateTime,
    ) -> R<CompletedLogin> {
        let (session_token, session) = self
            .identities
            .log_in(from.previous, identity, amr, from.seen_from, now)
            .await?;
        let landing = self
            .land(&session, identity, login_challenge, return_to, now)
            .await;
        Ok(CompletedLogin {
            session_token,
            session,
            landing,
        })
    }

    /// After a second factor on the second-factor step: `session` (pending,
    /// or complete and stepped up) is replaced by a complete one that
    /// proved `factor_amr`, and the login goes on as [`Self::complete_login`]'s.
    pub async fn complete_second_factor(
        &self,
        session: &Session,
        identity: &Identity,
        factor_amr: &str,
        login_challenge: Option<&str>,
        return_to: Option<&str>,
        now: OffsetDateTime,
    ) -> R<CompletedLogin> {
        let (session_token, session) = self
            .identities
            .complete_second_factor(session, identity, factor_amr, now)
            .await?;
        let landing = self
            .land(&session, identity, login_challenge, return_to, now)
            .await;
        Ok(CompletedLogin {
            session_token,
            session,
            landing,
        })
    }

    async fn land(
        &self,
        session: &Session,
        identity: &Identity,
        login_challenge: Option<&str>,
        return_to: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Landing, Error> {
        if session.second_factor_pending {
            return Ok(Landing::SecondFactor);
        }
        match login_challenge.filter(|c| !c.is_empty()) {
            Some(challenge) => match self.accept_login(challenge, session, identity, now).await {
                Ok(to) => Ok(Landing::Flow {
                    redirect_to: to.redirect_to,
                }),
                Err(Error::SecondFactorRequired) => Ok(Landing::SecondFactor),
                Err(e) => Err(e),
            },
            None => Ok(self.landing_page(return_to).await),
        }
    }

    /// Where a login without a challenge lands: `return_to` when allowed,
    /// else `ui.default_return_to` or the settings page. Also for pages
    /// whose login ends in the identity API (a passkey sign-in): the page
    /// to go to when the answer has no `redirect_to`.
    pub async fn page_after_login(&self, return_to: Option<&str>) -> String {
        self.allowed_page(return_to).await.0
    }

    async fn landing_page(&self, return_to: Option<&str>) -> Landing {
        let (to, opener_origin) = self.allowed_page(return_to).await;
        Landing::Page { to, opener_origin }
    }

    /// The page, and the origin a popup may tell (empty without an
    /// allowed `return_to`).
    async fn allowed_page(&self, return_to: Option<&str>) -> (String, String) {
        // A failed check is a refusal, not an error: the default page is safe.
        let allowed = match return_to {
            Some(to) => self.allowed_return_to(to).await.unwrap_or(None),
            None => None,
        };
        let opener_origin = allowed
            .as_deref()
            .and_then(|u| url::Url::parse(u).ok())
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        let to = allowed.unwrap_or_else(|| match self.config.ui.default_return_to.as_str() {
            "" => self.ui_endpoint("/settings"),
            configured => configured.to_owned(),
        });
        (to, opener_origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_server::fixture;

    /// A browser without a session, of which nothing was seen.
    fn fresh() -> LoginFrom<'static> {
        static NOTHING: SeenFrom = SeenFrom {
            user_agent: None,
            ip: None,
        };
        LoginFrom {
            previous: None,
            seen_from: &NOTHING,
        }
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    async fn someone(server: &AuthorizationServer) -> Identity {
        server
            .identities
            .create("a@example.com", None, None, now())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_login_rotates_the_session() {
        let f = fixture(|_| {}).await;
        let who = someone(&f.server).await;
        let first = f
            .server
            .complete_login(fresh(), &who, &["pwd"], None, None, now())
            .await
            .unwrap();
        let second = f
            .server
            .complete_login(
                LoginFrom {
                    previous: Some(&first.session_token),
                    seen_from: &SeenFrom::default(),
                },
                &who,
                &["otp"],
                None,
                None,
                now(),
            )
            .await
            .unwrap();
        assert_ne!(first.session.id, second.session.id);
        assert_eq!(second.session.amr, ["otp"]);
        let ids = &f.server.identities;
        assert!(
            ids.session(&first.session_token, now())
                .await
                .unwrap()
                .is_none(),
            "the previous session ended"
        );
        assert!(
            ids.session(&second.session_token, now())
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn without_a_challenge_only_an_allowed_return_to_is_followed() {
        let f = fixture(|_| {}).await;
        let who = someone(&f.server).await;
        let land = |return_to: Option<String>| {
            let f = &f;
            let who = &who;
            async move {
                f.server
                    .complete_login(fresh(), who, &["pwd"], None, return_to.as_deref(), now())
                    .await
                    .unwrap()
                    .landing
                    .unwrap()
            }
        };
        let settings = f.server.ui_endpoint("/settings");
        assert_eq!(
            land(None).await,
            Landing::Page {
                to: settings.clone(),
                opener_origin: String::new()
            }
        );
        assert_eq!(
            land(Some("https://evil.example/steal".into())).await,
            Landing::Page {
                to: settings.clone(),
                opener_origin: String::new()
            },
            "an unknown origin is an open redirect"
        );
        let own = f.server.ui_endpoint("/settings?x=1");
        let origin = f.server.config.ui_url.origin().ascii_serialization();
        assert_eq!(
            land(Some(own.clone())).await,
            Landing::Page {
                to: own,
                opener_origin: origin
            }
        );
    }

    #[tokio::test]
    async fn the_default_page_is_configurable() {
        let f = fixture(|c| c.ui.default_return_to = "https://app.example/home".into()).await;
        let who = someone(&f.server).await;
        let done = f
            .server
            .complete_login(fresh(), &who, &["pwd"], None, None, now())
            .await
            .unwrap();
        assert_eq!(
            done.landing.unwrap(),
            Landing::Page {
                to: "https://app.example/home".into(),
                opener_origin: String::new()
            }
        );
    }

    #[tokio::test]
    async fn an_unusable_challenge_keeps_the_new_session() {
        let f = fixture(|_| {}).await;
        let who = someone(&f.server).await;
        let done = f
            .server
            .complete_login(
                fresh(),
                &who,
                &["pwd"],
                Some("no-such-challenge"),
                None,
                now(),
            )
            .await
            .unwrap();
        assert!(matches!(done.landing, Err(Error::InvalidChallenge)));
        assert!(
            f.server
                .identities
                .session(&done.session_token, now())
                .await
                .unwrap()
                .is_some()
        );
        // An empty challenge is no challenge.
        let done = f
            .server
            .complete_login(fresh(), &who, &["pwd"], Some(""), None, now())
            .await
            .unwrap();
        assert!(matches!(done.landing, Ok(Landing::Page { .. })));
    }
}
