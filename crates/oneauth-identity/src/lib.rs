//! Identities, their credentials, login methods as plug-ins, login
//! sessions, one-time codes, registration, verification, recovery,
//! settings, and the courier that delivers codes. No HTTP types: callers
//! pass parsed input and `now`.

pub mod code;
pub mod courier;
pub mod factors;
pub mod identifier;
pub mod limit;
pub mod method;
pub mod policy;
mod registration;
mod sessions;

use code::OneTimeCodes;
use courier::Outbox;
use identifier::Address;
pub use identifier::{normalize_email, normalize_phone, normalize_username};
use limit::{GuessRule, Limits, SendRule};
use method::{LoginMethod, MethodContext};
// Passkeys (issue 17).
pub use method::passkey::{Ceremony, PasskeyInfo};
use oneauth_core::{Config, Error, Result};
use oneauth_crypto::{PasswordHasher, SystemKeys, TokenMinter};
use oneauth_store::{CodePurpose, Identity, IdentityState, Session, Store, StoreError, Traits};
use policy::PasswordPolicy;
pub use registration::{Field, FormRules, Invalid, Problem, Registration, SignUp};
pub use sessions::SessionInfo;
// Second factors (issue 17): TOTP and recovery codes.
pub use method::recovery_codes::RECOVERY_CODES;
pub use method::totp::TotpEnrolment;
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

/// The codes a person asks for at an address, outside a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofCode {
    /// [`Identities::send_verification_code`].
    Verification,
    /// [`Identities::send_recovery_code`].
    Recovery,
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
    miniprogram: method::miniprogram::MiniPrograms,
    mfa_policy: oneauth_core::config::MfaPolicy,
    /// TOTP and recovery codes (issue 17).
    factors: method::totp::SecondFactors,
    // Passkeys (issue 17): the WebAuthn relying party.
    passkeys: method::passkey::Passkeys,
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
        // `passkey` is no field-based method: its ceremony has API calls
        // of its own (method::passkey).
        let mut passkey_login = false;
        for name in &config.login.methods {
            if name == "passkey" && !passkey_login {
                passkey_login = true;
                continue;
            }
            let Some(i) = pool.iter().position(|m| m.name() == name) else {
                anyhow::bail!(
                    "login.methods: unknown or repeated method `{name}` (known: password, email_code, sms_code, passkey)"
                );
            };
            methods.push(pool.swap_remove(i));
        }
        // A passkey is registered from a signed-in session, so passkey
        // sign-in alone would let nobody in.
        anyhow::ensure!(
            !methods.is_empty(),
            "login.methods must name at least one method besides `passkey`"
        );
        // A month of guessing six-digit codes must stay below a 0.1 % chance.
        let month = GuessRule::from_config(&config.codes).max_guesses(30 * 86_400);
        anyhow::ensure!(
            month < 1000,
            "codes.failures_before_lockout, lockout_base_secs, lockout_max_secs and failure_memory_secs allow {month} code guesses a month at one address: at most 999 (a 0.1 % chance)"
        );
        let limits = Arc::new(Limits::new(&config.limits, store.clone()));
        Ok(Self {
            factors: method::totp::SecondFactors::new(config, keys.clone(), limits.budgets()),
            signup_key: keys.signup.clone(),
            social: method::social::SocialLogin::new(config, keys.clone())?,
            miniprogram: method::miniprogram::MiniPrograms::new(config, keys.clone())?,
            passkeys: method::passkey::Passkeys::new(config, passkey_login)?,
            codes: OneTimeCodes::new(
                store.clone(),
                keys.one_time_code.clone(),
                &config.codes,
                limits.budgets(),
            ),
            outbox: Outbox::new(
                store.clone(),
                keys,
                &config.ui.brand_name,
                config.codes.ttl_secs,
                courier::templates::MessageTexts::load(&config.ui.templates_dir)?,
                limits.budgets(),
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
            mfa_policy: config.mfa.policy,
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

    /// The enabled login methods with fields (tabs of the login page), in
    /// configured order; passkey sign-in is [`Self::passkey_login_enabled`].
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

    /// Sends the code of `kind` to `address`, by the rules of its kind.
    pub async fn send_proof_code(
        &self,
        kind: ProofCode,
        address: &Address,
        locale: Locale,
        now: OffsetDateTime,
    ) -> Result<()> {
        match kind {
            ProofCode::Verification => self.send_verification_code(address, locale, now).await,
            ProofCode::Recovery => self.send_recovery_code(address, locale, now).await,
        }
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
            .ok_or(Error::INVALID_CODE)?;
        let t = &mut identity.traits;
        match address {
            Address::Email(e) if t.email.as_ref() == Some(e) => t.email_verified = true,
            Address::Phone(p) if t.phone.as_ref() == Some(p) => t.phone_verified = true,
            _ => return Err(Error::INVALID_CODE),
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
            .ok_or(Error::INVALID_CODE)?;
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
            Err(Error::InvalidCode { .. }) => "invalid_code",
            Err(_) => "error",
        };
        metrics::counter!("oneauth_logins_total", "method" => m.name(), "outcome" => outcome)
            .increment(1);
        Ok((result?, m.amr()))
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
