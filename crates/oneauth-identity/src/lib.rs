//! Identities, their credentials, login methods as plug-ins, login
//! sessions, one-time codes, registration, verification, recovery,
//! settings, and the courier that delivers codes. No HTTP types: callers
//! pass parsed input and `now`.

pub mod code;
pub mod courier;
pub mod identifier;
pub mod limit;
pub mod method;
pub mod policy;

use code::OneTimeCodes;
use courier::Outbox;
use courier::templates::Template;
use identifier::Address;
pub use identifier::{normalize_email, normalize_phone, normalize_username};
use limit::{GuessRule, Limits, SendRule};
use method::{LoginMethod, MethodContext};
use oneauth_core::{Config, Error, Result};
use oneauth_crypto::{PasswordHasher, SystemKeys, TokenHash, TokenKind, TokenMinter};
use oneauth_store::{CodePurpose, Identity, IdentityState, Session, Store, StoreError, Traits};
use policy::PasswordPolicy;
use std::collections::HashMap;
use std::sync::Arc;
use time::OffsetDateTime;

/// Languages of messages (the UI has the same two).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    #[default]
    En,
    ZhCn,
}

impl Locale {
    /// From a BCP 47 tag such as `zh-CN` or `en-US`; others get English.
    pub fn from_tag(tag: &str) -> Self {
        if tag.to_ascii_lowercase().starts_with("zh") {
            Self::ZhCn
        } else {
            Self::En
        }
    }
}

pub use oneauth_proto::identity::VerifyMethod;

/// A sign-up as submitted. Identifiers are raw (normalised here).
#[derive(Debug, Clone, Default)]
pub struct Registration {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub username: Option<String>,
    pub name: Option<String>,
    pub password: String,
    /// `None`: the email if one is given, else the phone.
    pub verify: Option<VerifyMethod>,
}

/// What a sign-up form asked for beyond the minimum: the register page's
/// `confirm_password`, `require_username` and `require_name`, for callers
/// that receive them as data (the identity JSON API).
#[derive(Debug, Clone, Copy, Default)]
pub struct FormRules {
    pub confirm_password: bool,
    pub require_username: bool,
    pub require_name: bool,
}

impl Registration {
    /// Checks the form's own demands; `confirmation` is the password typed
    /// a second time, which must match whenever it is given.
    pub fn check_form(&self, rules: FormRules, confirmation: Option<&str>) -> Result<()> {
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
        if rules.require_username && blank(&self.username) {
            return Err(Error::InvalidRequest("A username is required.".into()));
        }
        if rules.require_name && blank(&self.name) {
            return Err(Error::InvalidRequest("A name is required.".into()));
        }
        match confirmation {
            None if rules.confirm_password => Err(Error::InvalidRequest(
                "Type the password a second time.".into(),
            )),
            Some(c) if c != self.password => {
                Err(Error::InvalidRequest("The two passwords differ.".into()))
            }
            _ => Ok(()),
        }
    }
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
}

/// A sign-up's answer: the addresses to verify, and the sign-up proof for
/// the browser that signed up (an HttpOnly cookie: [`Identities::verify`]).
#[derive(Debug, Clone)]
pub struct SignUp {
    pub verify: Vec<Address>,
    pub proof: String,
}

pub struct Identities {
    store: Arc<dyn Store>,
    /// Keys the sign-up proof.
    signup_key: aws_lc_rs::hmac::Key,
    hasher: PasswordHasher,
    minter: Arc<TokenMinter>,
    methods: Vec<Box<dyn LoginMethod>>,
    codes: OneTimeCodes,
    outbox: Outbox,
    limits: Arc<Limits>,
    policy: PasswordPolicy,
    session_lifetime: i64,
    /// `session.privileged_max_age_secs`.
    privileged_max_age: i64,
    social: method::social::SocialLogin,
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn available() -> Vec<Box<dyn LoginMethod>> {
    vec![
        Box::new(method::password::PasswordMethod),
        Box::new(method::email_code::EmailCodeMethod),
        Box::new(method::sms_code::SmsCodeMethod),
    ]
}

impl Identities {
    /// Builds the configured login methods; an unknown name in
    /// `login.methods` fails start-up.
    pub fn new(
        store: Arc<dyn Store>,
        minter: Arc<TokenMinter>,
        keys: Arc<SystemKeys>,
        config: &Config,
    ) -> anyhow::Result<Self> {
        let hasher = PasswordHasher::new(&config.password)?;
        let mut pool = available();
        let mut methods = Vec::new();
        for name in &config.login.methods {
            let Some(i) = pool.iter().position(|m| m.name() == name) else {
                anyhow::bail!(
                    "login.methods: unknown or repeated method `{name}` (known: password, email_code, sms_code)"
                );
            };
            methods.push(pool.swap_remove(i));
        }
        anyhow::ensure!(
            !methods.is_empty(),
            "login.methods must name at least one method"
        );
        // A month of guessing six-digit codes must stay below a 0.1 % chance.
        let month = GuessRule::from_config(&config.codes).max_guesses(30 * 86_400);
        anyhow::ensure!(
            month < 1000,
            "codes.failures_before_lockout, lockout_base_secs, lockout_max_secs and failure_memory_secs allow {month} code guesses a month at one address: at most 999 (a 0.1 % chance)"
        );
        let limits = Arc::new(Limits::new(&config.limits, store.clone()));
        Ok(Self {
            signup_key: keys.signup.clone(),
            social: method::social::SocialLogin::new(config, keys.clone())?,
            codes: OneTimeCodes::new(
                store.clone(),
                keys.one_time_code.clone(),
                &config.codes,
                limits.clone(),
            ),
            outbox: Outbox::new(
                store.clone(),
                keys,
                &config.ui.brand_name,
                config.codes.ttl_secs,
                courier::templates::MessageTexts::load(&config.ui.templates_dir)?,
                limits.clone(),
                SendRule::from_config(&config.codes),
            ),
            limits,
            store,
            hasher,
            minter,
            methods,
            policy: PasswordPolicy {
                min_chars: config.password.min_length,
            },
            session_lifetime: config.session.lifetime_secs as i64,
            privileged_max_age: config.session.privileged_max_age_secs as i64,
        })
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// The rate limits and budgets, shared with the authorization server.
    pub fn limits(&self) -> Arc<Limits> {
        self.limits.clone()
    }

    pub fn policy(&self) -> &PasswordPolicy {
        &self.policy
    }

    /// The enabled login methods, in configured order.
    pub fn method_names(&self) -> Vec<&'static str> {
        self.methods.iter().map(|m| m.name()).collect()
    }

    /// Creates an identity with an email (the CLI's and admin API's path:
    /// operators may learn that an email is taken).
    pub async fn create(
        &self,
        email: &str,
        password: Option<&str>,
        name: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Identity> {
        let traits = Traits {
            email: Some(normalize_email(email)?),
            name: non_empty(name),
            ..Traits::default()
        };
        let password_hash = match password {
            Some(p) => {
                self.policy.enforce(p, &[email])?;
                Some(self.hasher.hash(p).await.map_err(Error::Internal)?)
            }
            None => None,
        };
        self.insert(traits, password_hash, now.unix_timestamp())
            .await
            .map_err(|e| match e {
                StoreError::Conflict => {
                    Error::AlreadyExists("An identity with this email exists already.".into())
                }
                e => e.into(),
            })
    }

    async fn insert(
        &self,
        traits: Traits,
        password_hash: Option<String>,
        now: i64,
    ) -> Result<Identity, StoreError> {
        let identity = Identity {
            id: uuid::Uuid::now_v7().to_string(),
            traits,
            state: IdentityState::Active,
            password_hash,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_identity(&identity).await?;
        Ok(identity)
    }

    pub async fn get(&self, id: &str) -> Result<Option<Identity>> {
        Ok(self.store.get_identity(id).await?)
    }

    async fn identity_at(&self, address: &Address) -> Result<Option<Identity>> {
        Ok(match address {
            Address::Email(e) => self.store.get_identity_by_email(e).await?,
            Address::Phone(p) => self.store.get_identity_by_phone(p).await?,
        })
    }

    /// Signs a person up. The answer — the addresses to verify — is the
    /// same whether or not an email or phone has an account already: the
    /// owner of a taken address gets a notice instead of a code, every
    /// address to verify spends its send budget alike (so the next send's
    /// cool-down does not tell either), and the password is hashed either
    /// way, so neither answer, side effect nor time tells. A taken
    /// username is reported: usernames are public names. The sign-up
    /// proof comes either way too (for a taken address it matches no
    /// password), and the password is marked unproven until an address is
    /// proven ([`Identities::verify`]).
    pub async fn register(
        &self,
        reg: Registration,
        locale: Locale,
        now: OffsetDateTime,
    ) -> Result<SignUp> {
        let now = now.unix_timestamp();
        let email = non_empty(reg.email)
            .map(|e| Address::email(&e))
            .transpose()?;
        let phone = non_empty(reg.phone)
            .map(|p| Address::phone(&p))
            .transpose()?;
        let username = non_empty(reg.username)
            .map(|u| normalize_username(&u))
            .transpose()?;
        let verify = match (reg.verify, &email, &phone) {
            (Some(v), _, _) => v,
            (None, Some(_), _) => VerifyMethod::Email,
            (None, None, Some(_)) => VerifyMethod::Phone,
            (None, None, None) => {
                return Err(Error::InvalidRequest(
                    "Give an email address or a phone number.".into(),
                ));
            }
        };
        let to_verify: Vec<Address> = match verify {
            VerifyMethod::Email => vec![email.clone()],
            VerifyMethod::Phone => vec![phone.clone()],
            VerifyMethod::Both => vec![email.clone(), phone.clone()],
        }
        .into_iter()
        .collect::<Option<_>>()
        .ok_or_else(|| {
            Error::InvalidRequest(match verify {
                VerifyMethod::Email => "An email address is needed.".into(),
                VerifyMethod::Phone => "A phone number is needed.".into(),
                VerifyMethod::Both => "An email address and a phone number are needed.".into(),
            })
        })?;
        let identifiers: Vec<&str> = [
            email.as_ref().map(Address::as_str),
            phone.as_ref().map(Address::as_str),
            username.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        self.policy.enforce(&reg.password, &identifiers)?;
        if let Some(u) = &username
            && self.store.get_identity_by_username(u).await?.is_some()
        {
            return Err(Error::AlreadyExists("This username is taken.".into()));
        }
        let hash = self
            .hasher
            .hash(&reg.password)
            .await
            .map_err(Error::Internal)?;
        let mut taken = Vec::new();
        for a in email.iter().chain(phone.iter()) {
            if self.identity_at(a).await?.is_some() {
                taken.push(a.clone());
            }
        }
        let created = if taken.is_empty() {
            let traits = Traits {
                email: email.as_ref().map(|a| a.as_str().to_owned()),
                phone: phone.as_ref().map(|a| a.as_str().to_owned()),
                username,
                name: non_empty(reg.name),
                password_unproven: true,
                ..Traits::default()
            };
            match self.insert(traits, Some(hash.clone()), now).await {
                Ok(i) => Some(i),
                // A concurrent sign-up took an identifier: treat as taken.
                Err(StoreError::Conflict) => None,
                Err(e) => return Err(e.into()),
            }
        } else {
            None
        };
        for a in &to_verify {
            match &created {
                Some(identity) => {
                    self.send_code(CodePurpose::Verification, a, Some(identity), locale, now)
                        .await?;
                }
                None if taken.contains(a) => {
                    self.outbox
                        .enqueue(a, Template::RegistrationExists, locale, now)
                        .await?;
                }
                // Free, but another address was taken: no account, and
                // no message, yet the budget goes as if a code went out.
                None => {
                    self.outbox
                        .withhold(a, CodePurpose::Verification, now)
                        .await?
                }
            }
        }
        Ok(SignUp {
            verify: to_verify,
            proof: self.signup_proof(&hash),
        })
    }

    /// The sign-up proof for a password hash: a MAC, so only OneAuth makes
    /// it, of the hash (salted: one per sign-up).
    fn signup_proof(&self, password_hash: &str) -> String {
        oneauth_crypto::b64url(aws_lc_rs::hmac::sign(
            &self.signup_key,
            password_hash.as_bytes(),
        ))
    }

    /// Whether `proof` is the sign-up proof of the identity's password.
    fn made_the_signup(&self, identity: &Identity, proof: Option<&str>) -> bool {
        match (identity.password_hash.as_deref(), proof) {
            (Some(hash), Some(proof)) => {
                oneauth_crypto::ct_eq(self.signup_proof(hash).as_bytes(), proof.as_bytes())
            }
            _ => false,
        }
    }

    /// Issues a code and queues its message; for `None` (no such account)
    /// the code is stored but nothing is sent.
    async fn send_code(
        &self,
        purpose: CodePurpose,
        address: &Address,
        identity: Option<&Identity>,
        locale: Locale,
        now: i64,
    ) -> Result<()> {
        self.codes
            .send(
                &self.outbox,
                purpose,
                address,
                identity.map(|i| i.id.clone()),
                locale,
                now,
            )
            .await
    }

    /// Sends a verification code to `address` if an active account has it;
    /// the same answer otherwise.
    pub async fn send_verification_code(
        &self,
        address: &Address,
        locale: Locale,
        now: OffsetDateTime,
    ) -> Result<()> {
        let identity = self
            .identity_at(address)
            .await?
            .filter(|i| i.state == IdentityState::Active);
        self.send_code(
            CodePurpose::Verification,
            address,
            identity.as_ref(),
            locale,
            now.unix_timestamp(),
        )
        .await
    }

    /// Marks `address` verified on its identity, given the code sent to it.
    ///
    /// Account pre-hijacking: someone signs up with another person's
    /// address and a password of their own, and waits for the owner to
    /// prove the address and use the account. So a password chosen at a
    /// self-service sign-up counts as chosen by a stranger
    /// ([`Traits::password_unproven`]) until an address of the identity is
    /// first proven — by a verification code here, or by a login code
    /// (`method::redeem_login_code`). At that proof the password survives
    /// only if the proof comes from the browser that made the sign-up:
    /// `signup_proof` is the [`SignUp::proof`] it kept, and it matches only
    /// the password chosen there. Any other prover owns the address but
    /// did not (provably) choose the password: the password is removed,
    /// and every session and OAuth grant of the identity ends, since
    /// whoever logged in so far did it with that password. The prover's
    /// own login, when asked for, starts after that. A recovery needs a
    /// proven address already, and passwords set by an operator (admin
    /// API, CLI) are not marked, so neither is concerned.
    pub async fn verify(
        &self,
        address: &Address,
        code: &str,
        signup_proof: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Identity> {
        let now = now.unix_timestamp();
        let id = self
            .codes
            .redeem(CodePurpose::Verification, address.as_str(), code, now)
            .await?;
        let mut identity = self
            .store
            .get_identity(&id)
            .await?
            .filter(|i| i.state == IdentityState::Active)
            .ok_or(Error::InvalidCode)?;
        let t = &mut identity.traits;
        match address {
            Address::Email(e) if t.email.as_ref() == Some(e) => t.email_verified = true,
            Address::Phone(p) if t.phone.as_ref() == Some(p) => t.phone_verified = true,
            _ => return Err(Error::InvalidCode),
        }
        let by_signup = self.made_the_signup(&identity, signup_proof);
        identity.updated_at = now;
        settle_first_proof(self.store.as_ref(), &mut identity, by_signup, now).await?;
        Ok(identity)
    }

    /// Sends a recovery code to `address` if it is a verified address of
    /// an active account; otherwise nothing is sent, and the answer and the
    /// cool-down are the same.
    pub async fn send_recovery_code(
        &self,
        address: &Address,
        locale: Locale,
        now: OffsetDateTime,
    ) -> Result<()> {
        let identity = self.identity_at(address).await?.filter(|i| {
            i.state == IdentityState::Active
                && match address {
                    Address::Email(_) => i.traits.email_verified,
                    Address::Phone(_) => i.traits.phone_verified,
                }
        });
        self.send_code(
            CodePurpose::Recovery,
            address,
            identity.as_ref(),
            locale,
            now.unix_timestamp(),
        )
        .await
    }

    /// Sets a new password with a recovery code, and ends every session and
    /// every OAuth grant of the identity (whoever else was in is out, in
    /// the browser and in every app: ASVS 3.3.3).
    pub async fn recover(
        &self,
        address: &Address,
        code: &str,
        new_password: &str,
        now: OffsetDateTime,
    ) -> Result<Identity> {
        let now = now.unix_timestamp();
        // Checked first, so a weak choice does not burn the code.
        self.policy.enforce(new_password, &[address.as_str()])?;
        let id = self
            .codes
            .redeem(CodePurpose::Recovery, address.as_str(), code, now)
            .await?;
        let mut identity = self
            .store
            .get_identity(&id)
            .await?
            .filter(|i| i.state == IdentityState::Active)
            .ok_or(Error::InvalidCode)?;
        identity.password_hash = Some(
            self.hasher
                .hash(new_password)
                .await
                .map_err(Error::Internal)?,
        );
        identity.updated_at = now;
        self.store.update_identity(&identity).await?;
        self.store.revoke_identity_access(&id, None, now).await?;
        Ok(identity)
    }

    /// Changes the password; the current one is required when there is
    /// one, and the session must be a recent login
    /// (`session.privileged_max_age_secs`): a session left open or a stolen
    /// cookie cannot set a password on an account that has none, nor
    /// start guessing the current one. Every other session and every OAuth
    /// grant of the identity ends (ASVS 3.3.3), this session's apps too.
    pub async fn change_password(
        &self,
        session: &Session,
        current: Option<&str>,
        new_password: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        let now = now.unix_timestamp();
        if !self.is_recent(session, now) {
            return Err(Error::ReauthenticationRequired);
        }
        let mut identity = self
            .store
            .get_identity(&session.identity_id)
            .await?
            .ok_or_else(|| Error::LoginRequired("The login session has ended.".into()))?;
        if let Some(stored) = identity.password_hash.as_deref() {
            let ok = self
                .hasher
                .verify(current.unwrap_or(""), Some(stored))
                .await
                .map_err(Error::Internal)?;
            if !ok {
                return Err(Error::InvalidCredentials);
            }
        }
        let t = &identity.traits;
        let identifiers: Vec<&str> = [&t.email, &t.phone, &t.username]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        self.policy.enforce(new_password, &identifiers)?;
        identity.password_hash = Some(
            self.hasher
                .hash(new_password)
                .await
                .map_err(Error::Internal)?,
        );
        identity.updated_at = now;
        self.store.update_identity(&identity).await?;
        self.store
            .revoke_identity_access(&identity.id, Some(&session.id), now)
            .await?;
        Ok(())
    }

    /// Whether the session's login is recent enough for a sensitive
    /// change (`session.privileged_max_age_secs`).
    pub fn is_recent(&self, session: &Session, now: i64) -> bool {
        now - session.authenticated_at <= self.privileged_max_age
    }

    /// Changes name and username (empty clears them). The identity is
    /// read afresh, so a stale copy never overwrites a newer password.
    pub async fn update_profile(
        &self,
        identity_id: &str,
        name: Option<String>,
        username: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Identity> {
        let mut updated = self
            .store
            .get_identity(identity_id)
            .await?
            .ok_or_else(|| Error::LoginRequired("The identity no longer exists.".into()))?;
        updated.traits.name = non_empty(name);
        updated.traits.username = non_empty(username)
            .map(|u| normalize_username(&u))
            .transpose()?;
        updated.updated_at = now.unix_timestamp();
        match self.store.update_identity(&updated).await {
            Ok(true) => Ok(updated),
            Ok(false) => Err(Error::LoginRequired(
                "The identity no longer exists.".into(),
            )),
            Err(StoreError::Conflict) => {
                Err(Error::AlreadyExists("This username is taken.".into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn method(&self, name: &str) -> Result<&dyn LoginMethod> {
        self.methods
            .iter()
            .find(|m| m.name() == name)
            .map(|m| m.as_ref())
            .ok_or_else(|| Error::InvalidRequest(format!("Unknown login method `{name}`.")))
    }

    fn context(&self, locale: Locale, now: OffsetDateTime) -> MethodContext<'_> {
        MethodContext {
            store: self.store.as_ref(),
            hasher: &self.hasher,
            codes: &self.codes,
            outbox: &self.outbox,
            locale,
            now: now.unix_timestamp(),
        }
    }

    /// The first step of a two-step method (sending a login code).
    pub async fn begin_login(
        &self,
        method: &str,
        fields: &HashMap<String, String>,
        locale: Locale,
        now: OffsetDateTime,
    ) -> Result<()> {
        self.method(method)?
            .begin(&self.context(locale, now), fields)
            .await
    }

    /// Logs in with the method named `method`. Every failure, whatever its
    /// reason (unknown account, wrong secret, disabled), is the same
    /// after the same amount of work: `InvalidCredentials` for a password,
    /// `InvalidCode` for a one-time code.
    pub async fn authenticate(
        &self,
        method: &str,
        fields: &HashMap<String, String>,
        now: OffsetDateTime,
    ) -> Result<(Identity, &'static str)> {
        let m = self.method(method)?;
        let result = m.authenticate(&self.context(Locale::En, now), fields).await;
        let outcome = match &result {
            Ok(_) => "success",
            Err(Error::InvalidCredentials) => "invalid_credentials",
            Err(Error::InvalidCode) => "invalid_code",
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

/// Saves an identity one of whose addresses was just proven, by the rule
/// of [`Identities::verify`]: an unproven password survives only when
/// `by_signup` (the prover made the sign-up); otherwise it goes, and every
/// session and grant of the identity ends after the identity is saved.
pub(crate) async fn settle_first_proof(
    store: &dyn Store,
    identity: &mut Identity,
    by_signup: bool,
    now: i64,
) -> Result<()> {
    let stranger_password = std::mem::take(&mut identity.traits.password_unproven) && !by_signup;
    if stranger_password {
        identity.password_hash = None;
    }
    store.update_identity(identity).await?;
    if stranger_password {
        store
            .revoke_identity_access(&identity.id, None, now)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
