//! Login sessions: starting one at a login (a new id each time), finding
//! the one behind a cookie, listing and ending them. Not the login itself
//! (methods) nor the cookie (the front ends).

use crate::Identities;
use oneauth_core::{Error, Result};
use oneauth_crypto::{TokenHash, TokenKind};
use oneauth_store::{Identity, IdentityState, SeenFrom, Session};
use time::OffsetDateTime;

/// A session about to start.
pub(crate) struct NewSession<'a> {
    pub identity: &'a Identity,
    pub amr: &'a [&'a str],
    pub seen_from: &'a SeenFrom,
    /// Unix seconds of the first factor (kept when a second one completes
    /// the login, so `max_age` and `prompt=login` count from it).
    pub authenticated_at: i64,
    pub second_factor_pending: bool,
}

/// A live session as its owner sees it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SessionInfo {
    pub id: String,
    pub authenticated_at: i64,
    pub expires_at: i64,
    pub amr: Vec<String>,
    /// The session making the request.
    pub current: bool,
    /// Unix seconds; up to [`oneauth_store::SESSION_TOUCH_SECS`] late.
    pub last_used_at: i64,
    /// From the login's `User-Agent`: the operating system or device
    /// ("Android", "Windows 10") and the browser ("Firefox 133"); `None`
    /// when it tells neither.
    pub device: Option<String>,
    pub browser: Option<String>,
    /// The client IP of the login, as the server saw it.
    pub ip: Option<String>,
}

impl SessionInfo {
    pub fn new(s: Session, current: &Session) -> Self {
        let (device, browser) = s
            .seen_from
            .user_agent
            .as_deref()
            .map_or((None, None), device_and_browser);
        Self {
            current: s.id == current.id,
            id: s.id,
            authenticated_at: s.authenticated_at,
            expires_at: s.expires_at,
            amr: s.amr,
            last_used_at: s.last_used_at,
            device,
            browser,
            ip: s.seen_from.ip,
        }
    }
}

/// The device (its operating system) and the browser with its major
/// version a `User-Agent` names, by woothee's rules.
fn device_and_browser(user_agent: &str) -> (Option<String>, Option<String>) {
    let Some(r) = woothee::parser::Parser::new().parse(user_agent) else {
        return (None, None);
    };
    let known =
        |v: &str| (!v.is_empty() && v != woothee::woothee::VALUE_UNKNOWN).then(|| v.to_owned());
    let browser = known(r.name).map(|name| match r.version.split('.').next() {
        Some(major) if known(major).is_some() => format!("{name} {major}"),
        _ => name,
    });
    (known(r.os), browser)
}

impl Identities {
    /// Starts a new, complete login session. A fresh id on every login:
    /// the session id rotates, so a fixated cookie is worth nothing.
    pub async fn start_session(
        &self,
        identity: &Identity,
        amr: &[&str],
        seen_from: &SeenFrom,
        now: OffsetDateTime,
    ) -> Result<(String, Session)> {
        let now_secs = now.unix_timestamp();
        self.open_session(
            NewSession {
                identity,
                amr,
                seen_from,
                authenticated_at: now_secs,
                second_factor_pending: false,
            },
            now,
        )
        .await
    }

    /// A pending session lives only as long as the second-factor step may
    /// take; a complete one `session.lifetime_secs`.
    pub(crate) async fn open_session(
        &self,
        new: NewSession<'_>,
        now: OffsetDateTime,
    ) -> Result<(String, Session)> {
        let (token, hash) = self.minter.mint(TokenKind::Session, "ory_st_", now);
        let now_secs = now.unix_timestamp();
        let lifetime = if new.second_factor_pending {
            self.session_lifetime.min(crate::factors::PENDING_SECS)
        } else {
            self.session_lifetime
        };
        let session = Session {
            id: uuid::Uuid::new_v4().to_string(),
            token_hash: hash.0,
            identity_id: new.identity.id.clone(),
            authenticated_at: new.authenticated_at,
            amr: new.amr.iter().map(|s| s.to_string()).collect(),
            expires_at: now_secs + lifetime,
            seen_from: new.seen_from.clone(),
            last_used_at: now_secs,
            second_factor_pending: new.second_factor_pending,
        };
        self.store.insert_session(&session).await?;
        Ok((token, session))
    }

    /// The session of a successful login. The browser's previous session
    /// (`previous`: its cookie value) ends and a new one with a new id
    /// starts, so a session id planted before the login (fixation) is
    /// worth nothing after it. `seen_from` stays with the new session.
    pub async fn log_in(
        &self,
        previous: Option<&str>,
        identity: &Identity,
        amr: &[&str],
        seen_from: &SeenFrom,
        now: OffsetDateTime,
    ) -> Result<(String, Session)> {
        if let Some(cookie) = previous
            && let Some((old, _)) = self.any_session(cookie, now).await?
        {
            self.end_session(&old, now).await?;
        }
        let second_factor_pending = self.must_prove_second_factor(&identity.id, amr).await?;
        self.open_session(
            NewSession {
                identity,
                amr,
                seen_from,
                authenticated_at: now.unix_timestamp(),
                second_factor_pending,
            },
            now,
        )
        .await
    }

    /// Ends every other live session of the caller's identity; returns how
    /// many ended.
    pub async fn end_other_sessions(&self, current: &Session, now: OffsetDateTime) -> Result<u64> {
        Ok(self
            .store
            .revoke_other_sessions(
                &current.identity_id,
                Some(&current.id),
                now.unix_timestamp(),
            )
            .await?)
    }

    /// The live, complete session and active identity behind a session
    /// cookie value. A session still waiting for its second factor is not
    /// one: every page, API and the authorization endpoint see no login.
    pub async fn session(
        &self,
        cookie: &str,
        now: OffsetDateTime,
    ) -> Result<Option<(Session, Identity)>> {
        Ok(self
            .any_session(cookie, now)
            .await?
            .filter(|(s, _)| !s.second_factor_pending))
    }

    /// Any live session, complete or waiting for its second factor: only
    /// for the second-factor step and for ending sessions.
    pub async fn any_session(
        &self,
        cookie: &str,
        now: OffsetDateTime,
    ) -> Result<Option<(Session, Identity)>> {
        let Some(TokenHash(hash)) = self.minter.check(TokenKind::Session, "ory_st_", cookie) else {
            return Ok(None);
        };
        let Some(session) = self.store.get_session(&hash, now.unix_timestamp()).await? else {
            return Ok(None);
        };
        let identity = self.store.get_identity(&session.identity_id).await?;
        let Some(identity) = identity.filter(|i| i.state == IdentityState::Active) else {
            return Ok(None);
        };
        // At most one write every few minutes, not one per request (the
        // store checks again, for requests that race here).
        let now_secs = now.unix_timestamp();
        if now_secs - session.last_used_at >= oneauth_store::SESSION_TOUCH_SECS {
            self.store.touch_session(&session.id, now_secs).await?;
        }
        Ok(Some((session, identity)))
    }

    pub async fn end_session(&self, session: &Session, now: OffsetDateTime) -> Result<()> {
        self.store
            .revoke_session(&session.id, now.unix_timestamp())
            .await?;
        Ok(())
    }

    /// The identity's live sessions, `current` marking the caller's.
    pub async fn sessions(
        &self,
        current: &Session,
        now: OffsetDateTime,
    ) -> Result<Vec<SessionInfo>> {
        let all = self
            .store
            .list_sessions(&current.identity_id, now.unix_timestamp())
            .await?;
        Ok(all
            .into_iter()
            .map(|s| SessionInfo::new(s, current))
            .collect())
    }

    /// Ends one of the caller's own sessions; another identity's session
    /// id is answered as not found.
    pub async fn end_own_session(
        &self,
        current: &Session,
        session_id: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        let own = self
            .store
            .list_sessions(&current.identity_id, now.unix_timestamp())
            .await?;
        if !own.iter().any(|s| s.id == session_id) {
            return Err(Error::NotFound("No such session.".into()));
        }
        self.store
            .revoke_session(session_id, now.unix_timestamp())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::device_and_browser;

    #[test]
    fn a_user_agent_names_the_device_and_the_browser() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(
            device_and_browser(firefox),
            (Some("Linux".into()), Some("Firefox 133".into()))
        );
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
        assert_eq!(
            device_and_browser(iphone),
            (Some("iPhone".into()), Some("Safari 17".into()))
        );
        assert_eq!(
            device_and_browser("curl/8.5.0"),
            (None, Some("HTTP Library curl".into()))
        );
        assert_eq!(device_and_browser(""), (None, None));
    }
}
