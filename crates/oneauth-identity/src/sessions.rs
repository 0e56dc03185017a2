//! Login sessions: starting one at a login (a new id each time), finding
//! the one behind a cookie, listing and ending them. Not the login itself
//! (methods) nor the cookie (the front ends).

use crate::Identities;
use oneauth_core::{Error, Result};
use oneauth_crypto::{TokenHash, TokenKind};
use oneauth_store::{Identity, IdentityState, Session};
use time::OffsetDateTime;

/// A live session as its owner sees it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SessionInfo {
    pub id: String,
    pub authenticated_at: i64,
    pub expires_at: i64,
    pub amr: Vec<String>,
    /// The session making the request.
    pub current: bool,
}

impl Identities {
    /// Starts a new login session. A fresh id on every login: the session
    /// id rotates, so a fixated cookie is worth nothing.
    pub async fn start_session(
        &self,
        identity: &Identity,
        amr: &[&str],
        now: OffsetDateTime,
    ) -> Result<(String, Session)> {
        let (token, hash) = self.minter.mint(TokenKind::Session, "ory_st_", now);
        let session = Session {
            id: uuid::Uuid::new_v4().to_string(),
            token_hash: hash.0,
            identity_id: identity.id.clone(),
            authenticated_at: now.unix_timestamp(),
            amr: amr.iter().map(|s| s.to_string()).collect(),
            expires_at: now.unix_timestamp() + self.session_lifetime,
        };
        self.store.insert_session(&session).await?;
        Ok((token, session))
    }

    /// The session of a successful login. The browser's previous session
    /// (`previous`: its cookie value) ends and a new one with a new id
    /// starts, so a session id planted before the login (fixation) is
    /// worth nothing after it.
    pub async fn log_in(
        &self,
        previous: Option<&str>,
        identity: &Identity,
        amr: &[&str],
        now: OffsetDateTime,
    ) -> Result<(String, Session)> {
        if let Some(cookie) = previous
            && let Some((old, _)) = self.session(cookie, now).await?
        {
            self.end_session(&old, now).await?;
        }
        self.start_session(identity, amr, now).await
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

    /// The live session and active identity behind a session cookie value.
    pub async fn session(
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
        Ok(identity
            .filter(|i| i.state == IdentityState::Active)
            .map(|i| (session, i)))
    }

    pub async fn end_session(&self, session: &Session, now: OffsetDateTime) -> Result<()> {
        Ok(self
            .store
            .revoke_session(&session.id, now.unix_timestamp())
            .await?)
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
            .map(|s| SessionInfo {
                current: s.id == current.id,
                id: s.id,
                authenticated_at: s.authenticated_at,
                expires_at: s.expires_at,
                amr: s.amr,
            })
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
        Ok(self
            .store
            .revoke_session(session_id, now.unix_timestamp())
            .await?)
    }
}
