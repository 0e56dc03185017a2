//! Identities, their credentials, login methods as plug-ins, and login
//! sessions. No HTTP types: callers pass parsed input and `now`.

pub mod limit;
pub mod method;

use method::{LoginMethod, MethodContext};
use oneauth_core::{Config, Error, Result};
use oneauth_crypto::{PasswordHasher, TokenHash, TokenKind, TokenMinter};
use oneauth_store::{Identity, IdentityState, Session, Store, Traits};
use std::collections::HashMap;
use std::sync::Arc;
use time::OffsetDateTime;

pub struct Identities {
    store: Arc<dyn Store>,
    hasher: PasswordHasher,
    minter: Arc<TokenMinter>,
    methods: HashMap<&'static str, Box<dyn LoginMethod>>,
    session_lifetime: i64,
}

/// Normalised email, or an error a user can act on.
pub fn normalize_email(raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email)
    } else {
        Err(Error::InvalidRequest(
            "The email address is not valid.".into(),
        ))
    }
}

/// Passwords of at least this many characters (NIST SP 800-63B: 8).
pub const MIN_PASSWORD_CHARS: usize = 8;

impl Identities {
    pub fn new(
        store: Arc<dyn Store>,
        minter: Arc<TokenMinter>,
        config: &Config,
    ) -> anyhow::Result<Self> {
        let hasher = PasswordHasher::new(&config.password)?;
        let mut methods: HashMap<&'static str, Box<dyn LoginMethod>> = HashMap::new();
        let password = method::password::PasswordMethod;
        methods.insert(password.name(), Box::new(password));
        Ok(Self {
            store,
            hasher,
            minter,
            methods,
            session_lifetime: config.session.lifetime_secs as i64,
        })
    }

    pub async fn create(
        &self,
        email: &str,
        password: Option<&str>,
        name: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Identity> {
        let email = normalize_email(email)?;
        let password_hash = match password {
            Some(p) if p.chars().count() < MIN_PASSWORD_CHARS => {
                return Err(Error::InvalidRequest(format!(
                    "The password must have at least {MIN_PASSWORD_CHARS} characters."
                )));
            }
            Some(p) => Some(self.hasher.hash(p).await.map_err(Error::Internal)?),
            None => None,
        };
        let identity = Identity {
            id: uuid::Uuid::now_v7().to_string(),
            traits: Traits {
                email,
                name: name.filter(|n| !n.trim().is_empty()),
                email_verified: false,
            },
            state: IdentityState::Active,
            password_hash,
            created_at: now.unix_timestamp(),
            updated_at: now.unix_timestamp(),
        };
        self.store
            .insert_identity(&identity)
            .await
            .map_err(|e| match e {
                oneauth_store::StoreError::Conflict => {
                    Error::AlreadyExists("An identity with this email exists already.".into())
                }
                e => e.into(),
            })?;
        Ok(identity)
    }

    pub async fn get(&self, id: &str) -> Result<Option<Identity>> {
        Ok(self.store.get_identity(id).await?)
    }

    /// Logs in with the method named `method`. Every failure, whatever its
    /// reason (unknown account, wrong secret, disabled), is the same
    /// `InvalidCredentials`, after the same amount of work.
    pub async fn authenticate(
        &self,
        method: &str,
        fields: &HashMap<String, String>,
    ) -> Result<(Identity, &'static str)> {
        let m = self
            .methods
            .get(method)
            .ok_or_else(|| Error::InvalidRequest(format!("Unknown login method `{method}`.")))?;
        let ctx = MethodContext {
            store: self.store.as_ref(),
            hasher: &self.hasher,
        };
        let result = m.authenticate(&ctx, fields).await;
        let outcome = match &result {
            Ok(_) => "success",
            Err(Error::InvalidCredentials) => "invalid_credentials",
            Err(_) => "error",
        };
        metrics::counter!("oneauth_logins_total", "method" => m.name(), "outcome" => outcome)
            .increment(1);
        Ok((result?, m.amr()))
    }

    /// Starts a new login session. A fresh id on every login: the session
    /// id rotates, so a fixated cookie is worth nothing.
    pub async fn start_session(
        &self,
        identity: &Identity,
        amr: &[&str],
        now: OffsetDateTime,
    ) -> Result<(String, Session)> {
        let (token, hash) = self.minter.mint(TokenKind::Session, "ory_st_");
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
}
