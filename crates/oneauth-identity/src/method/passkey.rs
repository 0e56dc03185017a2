//! Passkeys (WebAuthn, on kanidm's webauthn-rs): registration from the
//! settings, passwordless sign-in with a discoverable credential (the
//! `passkey` login method), and a passkey as a second factor.
//!
//! Every ceremony's state (the challenge) is stored in the database
//! between its start and its finish, and taken — deleted — before the
//! answer is verified: webauthn-rs would accept a replayed assertion
//! against the same state, and any node finishes what another started.
//! Each use rewrites the stored credential (signature counter, backup
//! flags) by compare-and-swap, so one counter value signs in once.
//!
//! The RP ID is `passkeys.rp_id` or the UI's host; an IP address cannot be
//! one (WebAuthn needs a domain), so with such a UI passkeys are off
//! unless `passkey` is a login method, which then fails start-up.

use crate::Identities;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oneauth_core::{Config, Error, Result};
use oneauth_store::{
    CeremonyKind, Identity, IdentityState, Session, StoreError, StoredPasskey, WebauthnCeremony,
};
use time::OffsetDateTime;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Uuid, Webauthn, WebauthnBuilder,
};

/// How long a ceremony may take: webauthn-rs's own authenticator timeout
/// (the options tell the browser the same).
pub const CEREMONY_SECS: i64 = 300;

/// The longest passkey name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// A started ceremony: its id (sent back with the finish) and the options
/// for `navigator.credentials.create()` or `.get()`, as WebAuthn's JSON
/// (`{"publicKey": …}`, binary fields in base64url).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Ceremony {
    pub id: String,
    pub options: serde_json::Value,
}

/// A registered passkey as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PasskeyInfo {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// Synced between devices (a backup-eligible credential, amr `swk`)
    /// rather than bound to one (`hwk`).
    pub backup_eligible: bool,
}

/// The relying party, when passkeys are possible at all.
pub(crate) struct Passkeys {
    webauthn: Option<Webauthn>,
    /// `passkey` is in `login.methods`.
    login: bool,
    /// `mfa.policy` is not `off`: passkeys serve as a second factor.
    second_factor: bool,
}

impl Passkeys {
    pub(crate) fn new(config: &Config, login: bool) -> anyhow::Result<Self> {
        let rp_id = match config.passkeys.rp_id.as_str() {
            "" => config.ui_url.host_str().unwrap_or_default(),
            id => id,
        };
        let rp_name = match config.passkeys.rp_name.as_str() {
            "" => config.ui.brand_name.as_str(),
            name => name,
        };
        // The UI's origin first: the builder checks that the RP ID is a
        // domain suffix of it. Then the public listener's (a custom UI
        // calls the API from there or from the first-party origins) and
        // the extra ones.
        // An IP address cannot be an RP ID (the defaults' 127.0.0.1): off,
        // without asking webauthn-rs, which would log an error each time.
        if config.ui_url.domain().is_none() {
            anyhow::ensure!(
                !login,
                "login.methods names `passkey`, but the UI URL {} is not on a domain name: WebAuthn needs one as its RP ID, never an IP address",
                config.ui_url
            );
            tracing::debug!("passkeys are off: the UI is not on a domain name");
            return Ok(Self {
                webauthn: None,
                login,
                second_factor: false,
            });
        }
        let built = WebauthnBuilder::new(rp_id, &config.ui_url).and_then(|mut b| {
            for origin in std::iter::once(&config.issuer).chain(&config.passkeys.extra_origins) {
                if origin.origin() != config.ui_url.origin() {
                    b = b.append_allowed_origin(origin);
                }
            }
            b.rp_name(rp_name).build()
        });
        let webauthn = match built {
            Ok(w) => Some(w),
            Err(e) if login => anyhow::bail!(
                "login.methods names `passkey`, but passkeys.rp_id `{rp_id}` does not fit the UI URL {} ({e}): the RP ID must be the UI's host name or a domain suffix of it, never an IP address",
                config.ui_url
            ),
            Err(e) => {
                tracing::warn!(rp_id, error = %e, "passkeys are off: the RP ID must be a domain name that is the UI's host or a suffix of it");
                None
            }
        };
        Ok(Self {
            webauthn,
            login,
            second_factor: config.mfa.policy != oneauth_core::config::MfaPolicy::Off,
        })
    }
}

/// The user handle WebAuthn stores with a discoverable credential: the
/// identity's id when it is a UUID (ours are), else one derived from it.
fn user_handle(identity_id: &str) -> Uuid {
    Uuid::parse_str(identity_id).unwrap_or_else(|_| {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, identity_id.as_bytes());
        let mut b = [0u8; 16];
        b.copy_from_slice(&d.as_ref()[..16]);
        Uuid::from_bytes(b)
    })
}

fn refused(why: &str) -> Error {
    Error::PasskeyRefused(why.to_owned())
}

fn unknown_ceremony() -> Error {
    refused("The passkey ceremony is unknown, expired or used; start again.")
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(anyhow::anyhow!("passkey state: {e}"))
}

/// The browser's answer, parsed; anything else is a malformed request,
/// not a refusal.
fn parse<T: serde::de::DeserializeOwned>(credential: serde_json::Value) -> Result<T> {
    serde_json::from_value(credential).map_err(|e| {
        Error::InvalidRequest(format!(
            "`credential` is not a WebAuthn credential in JSON: {e}"
        ))
    })
}

fn credential_id(id: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

fn name_of(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(Error::InvalidRequest(format!(
            "A passkey's name has 1 to {MAX_NAME_CHARS} characters, none of them control characters."
        )));
    }
    Ok(name.to_owned())
}

fn info(p: StoredPasskey) -> PasskeyInfo {
    let json: serde_json::Value = serde_json::from_str(&p.passkey).unwrap_or_default();
    PasskeyInfo {
        backup_eligible: json["cred"]["backup_eligible"].as_bool().unwrap_or(false),
        id: p.id,
        name: p.name,
        created_at: p.created_at,
        last_used_at: p.last_used_at,
    }
}

/// RFC 8176: a synced passkey is a software key, a device-bound one a
/// hardware key.
fn amr_of(backup_eligible: bool) -> &'static str {
    if backup_eligible { "swk" } else { "hwk" }
}

impl Identities {
    fn webauthn(&self) -> Result<&Webauthn> {
        self.passkeys.webauthn.as_ref().ok_or_else(|| {
            Error::InvalidRequest(
                "Passkeys are off on this server: its UI is not on a domain name (passkeys.rp_id)."
                    .into(),
            )
        })
    }

    /// Whether passkeys can be registered and used here.
    pub fn passkeys_available(&self) -> bool {
        self.passkeys.webauthn.is_some()
    }

    /// Whether passkeys are of use here, so may be registered: for
    /// passwordless sign-in, or as a second factor (`mfa.policy` not
    /// `off`).
    pub fn passkeys_enabled(&self) -> bool {
        self.passkeys_available() && (self.passkeys.login || self.passkeys.second_factor)
    }

    /// Whether `passkey` is an enabled login method (passwordless sign-in).
    pub fn passkey_login_enabled(&self) -> bool {
        self.passkeys.login && self.passkeys_available()
    }

    async fn start_ceremony(
        &self,
        kind: CeremonyKind,
        identity_id: Option<&str>,
        state: String,
        options: serde_json::Value,
        now: i64,
    ) -> Result<Ceremony> {
        let ceremony = WebauthnCeremony {
            id: uuid::Uuid::new_v4().simple().to_string(),
            kind,
            identity_id: identity_id.map(str::to_owned),
            state,
            expires_at: now + CEREMONY_SECS,
        };
        self.store.insert_ceremony(&ceremony).await?;
        Ok(Ceremony {
            id: ceremony.id,
            options,
        })
    }

    /// Takes (deletes) the ceremony `id` before anything is verified: of
    /// two finishes, a replay or a race between nodes, one goes on. Only
    /// one of `kind`, for `identity_id`.
    async fn take_ceremony<T: serde::de::DeserializeOwned>(
        &self,
        id: &str,
        kind: CeremonyKind,
        identity_id: Option<&str>,
        now: i64,
    ) -> Result<T> {
        let ceremony = self
            .store
            .take_ceremony(id, now)
            .await?
            .filter(|c| c.kind == kind && c.identity_id.as_deref() == identity_id)
            .ok_or_else(unknown_ceremony)?;
        serde_json::from_str(&ceremony.state).map_err(internal)
    }

    /// Whether the session may add or remove a passkey now (the rule of
    /// [`Self::remove_passkey`]); the settings page offers the change or a
    /// new sign-in.
    pub async fn passkey_change_allowed(
        &self,
        session: &Session,
        now: OffsetDateTime,
    ) -> Result<bool> {
        match self
            .check_factor_change(session, now.unix_timestamp())
            .await
        {
            Ok(()) => Ok(true),
            Err(Error::ReauthenticationRequired) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The identity's passkeys, oldest first.
    pub async fn passkeys(&self, identity_id: &str) -> Result<Vec<PasskeyInfo>> {
        Ok(self
            .store
            .list_passkeys(identity_id)
            .await?
            .into_iter()
            .map(info)
            .collect())
    }

    /// Starts adding a passkey to the session's identity: options for
    /// `navigator.credentials.create()`. A discoverable credential
    /// (resident key) with user verification, so it also signs in
    /// without a password; the identity's passkeys are excluded.
    pub async fn passkey_registration_options(
        &self,
        session: &Session,
        now: OffsetDateTime,
    ) -> Result<Ceremony> {
        let now = now.unix_timestamp();
        let webauthn = self.webauthn()?;
        if !self.passkeys_enabled() {
            return Err(Error::InvalidRequest(
                "Passkeys are not in use here: `passkey` is not a login method and mfa.policy is `off`."
                    .into(),
            ));
        }
        self.check_factor_change(session, now).await?;
        let identity = self.live_identity(&session.identity_id).await?;
        let exclude = self
            .store
            .list_passkeys(&identity.id)
            .await?
            .into_iter()
            .filter_map(|p| URL_SAFE_NO_PAD.decode(p.credential_id).ok())
            .collect::<Vec<_>>();
        let t = &identity.traits;
        let user_name = [&t.email, &t.username, &t.phone]
            .into_iter()
            .flatten()
            .next()
            .map_or(identity.id.as_str(), String::as_str);
        let display = t.name.as_deref().unwrap_or(user_name);
        let (options, state) = webauthn
            .start_passkey_registration(
                user_handle(&identity.id),
                user_name,
                display,
                Some(exclude),
            )
            .map_err(internal)?;
        let mut options = serde_json::to_value(options).map_err(internal)?;
        // webauthn-rs asks for a non-discoverable credential ("discouraged");
        // passwordless sign-in finds the account from the credential, so
        // it must be discoverable. The finish does not check this field.
        let selection = &mut options["publicKey"]["authenticatorSelection"];
        selection["residentKey"] = "required".into();
        selection["requireResidentKey"] = true.into();
        let state = serde_json::to_string::<PasskeyRegistration>(&state).map_err(internal)?;
        self.start_ceremony(
            CeremonyKind::Registration,
            Some(&identity.id),
            state,
            options,
            now,
        )
        .await
    }

    /// Verifies the browser's answer to a registration's options and
    /// stores the passkey under `name`.
    pub async fn finish_passkey_registration(
        &self,
        session: &Session,
        ceremony_id: &str,
        name: &str,
        credential: serde_json::Value,
        now: OffsetDateTime,
    ) -> Result<PasskeyInfo> {
        let now = now.unix_timestamp();
        let webauthn = self.webauthn()?;
        let name = name_of(name)?;
        let identity_id = session.identity_id.as_str();
        let state: PasskeyRegistration = self
            .take_ceremony(
                ceremony_id,
                CeremonyKind::Registration,
                Some(identity_id),
                now,
            )
            .await?;
        let credential: RegisterPublicKeyCredential = parse(credential)?;
        self.check_factor_change(session, now).await?;
        let passkey = webauthn
            .finish_passkey_registration(&credential, &state)
            .map_err(|e| {
                tracing::info!(error = %e, "passkey registration refused");
                refused("The authenticator's answer did not verify; start again.")
            })?;
        let stored = StoredPasskey {
            id: uuid::Uuid::now_v7().to_string(),
            identity_id: identity_id.to_owned(),
            credential_id: credential_id(passkey.cred_id()),
            name,
            passkey: serde_json::to_string(&passkey).map_err(internal)?,
            created_at: now,
            last_used_at: None,
        };
        match self.store.insert_passkey(&stored).await {
            Ok(()) => Ok(info(stored)),
            Err(StoreError::Conflict) => Err(Error::AlreadyExists(
                "This passkey is registered already.".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Renames one of the session's identity's passkeys.
    pub async fn rename_passkey(&self, session: &Session, id: &str, name: &str) -> Result<()> {
        let name = name_of(name)?;
        if !self
            .store
            .rename_passkey(&session.identity_id, id, &name)
            .await?
        {
            return Err(Error::NotFound("No such passkey.".into()));
        }
        Ok(())
    }

    /// Removes one of the session's identity's passkeys, on a recent login
    /// that proved a factor.
    pub async fn remove_passkey(
        &self,
        session: &Session,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        self.check_factor_change(session, now.unix_timestamp())
            .await?;
        if !self.store.delete_passkey(&session.identity_id, id).await? {
            return Err(Error::NotFound("No such passkey.".into()));
        }
        Ok(())
    }

    /// Starts a passwordless sign-in: options for
    /// `navigator.credentials.get()` with no credentials listed (the
    /// authenticator offers its discoverable ones) and user verification
    /// required. `mediation` is `conditional` (autofill); a page drops it
    /// for a sign-in started by a button.
    pub async fn passkey_login_options(&self, now: OffsetDateTime) -> Result<Ceremony> {
        if !self.passkeys.login {
            return Err(Error::InvalidRequest(
                "Unknown login method `passkey`.".into(),
            ));
        }
        let (options, state) = self
            .webauthn()?
            .start_discoverable_authentication()
            .map_err(internal)?;
        let options = serde_json::to_value(options).map_err(internal)?;
        let state =
            serde_json::to_string::<DiscoverableAuthentication>(&state).map_err(internal)?;
        let now = now.unix_timestamp();
        self.start_ceremony(CeremonyKind::Login, None, state, options, now)
            .await
    }

    /// Finishes a passwordless sign-in: the identity whose passkey signed,
    /// and the amr — `hwk` or `swk`, and `mfa`, since the authenticator
    /// verified the user (something held, and known or inherent).
    pub async fn finish_passkey_login(
        &self,
        ceremony_id: &str,
        credential: serde_json::Value,
        now: OffsetDateTime,
    ) -> Result<(Identity, Vec<&'static str>)> {
        let result = self.passkey_login(ceremony_id, credential, now).await;
        let outcome = match &result {
            Ok(_) => "success",
            Err(Error::PasskeyRefused(_)) => "passkey_refused",
            Err(_) => "error",
        };
        metrics::counter!("oneauth_logins_total", "method" => "passkey", "outcome" => outcome)
            .increment(1);
        result
    }

    async fn passkey_login(
        &self,
        ceremony_id: &str,
        credential: serde_json::Value,
        now: OffsetDateTime,
    ) -> Result<(Identity, Vec<&'static str>)> {
        let now = now.unix_timestamp();
        let webauthn = self.webauthn()?;
        let state: DiscoverableAuthentication = self
            .take_ceremony(ceremony_id, CeremonyKind::Login, None, now)
            .await?;
        let credential: PublicKeyCredential = parse(credential)?;
        let not_ours = || refused("This passkey is not registered here.");
        let (handle, raw_id) = webauthn
            .identify_discoverable_authentication(&credential)
            .map_err(|_| not_ours())?;
        let stored = self
            .store
            .get_passkey_by_credential(&credential_id(raw_id))
            .await?
            .filter(|p| user_handle(&p.identity_id) == handle)
            .ok_or_else(not_ours)?;
        let passkey: Passkey = serde_json::from_str(&stored.passkey).map_err(internal)?;
        let result = webauthn
            .finish_discoverable_authentication_v2(&credential, state, &passkey)
            .map_err(|e| {
                tracing::info!(error = %e, "passkey sign-in refused");
                refused("The authenticator's answer did not verify; start again.")
            })?;
        let factor = self
            .record_use(stored.clone(), passkey, &result, now)
            .await?;
        let identity = self
            .store
            .get_identity(&stored.identity_id)
            .await?
            .filter(|i| i.state == IdentityState::Active)
            .ok_or_else(not_ours)?;
        Ok((identity, vec![factor, "mfa"]))
    }

    /// Writes the credential's new counter and backup flags, by
    /// compare-and-swap; the factor's amr.
    async fn record_use(
        &self,
        stored: StoredPasskey,
        mut passkey: Passkey,
        result: &webauthn_rs::prelude::AuthenticationResult,
        now: i64,
    ) -> Result<&'static str> {
        passkey.update_credential(result);
        let new = serde_json::to_string(&passkey).map_err(internal)?;
        if !self
            .store
            .record_passkey_use(&stored.id, &stored.passkey, &new, now)
            .await?
        {
            // Another sign-in with the same counter value got there first.
            return Err(refused(
                "This passkey was used at the same moment elsewhere; start again.",
            ));
        }
        Ok(amr_of(result.backup_eligible()))
    }

    /// Starts a passkey as a second factor of `identity_id`: options for
    /// `navigator.credentials.get()` listing the identity's passkeys.
    pub async fn passkey_second_factor_options(
        &self,
        identity_id: &str,
        now: OffsetDateTime,
    ) -> Result<Ceremony> {
        let webauthn = self.webauthn()?;
        let passkeys = self
            .store
            .list_passkeys(identity_id)
            .await?
            .iter()
            .map(|p| serde_json::from_str::<Passkey>(&p.passkey).map_err(internal))
            .collect::<Result<Vec<_>>>()?;
        if passkeys.is_empty() {
            return Err(refused("This account has no passkey."));
        }
        let (options, state) = webauthn
            .start_passkey_authentication(&passkeys)
            .map_err(internal)?;
        let options = serde_json::to_value(options).map_err(internal)?;
        let state = serde_json::to_string::<PasskeyAuthentication>(&state).map_err(internal)?;
        let now = now.unix_timestamp();
        self.start_ceremony(
            CeremonyKind::SecondFactor,
            Some(identity_id),
            state,
            options,
            now,
        )
        .await
    }

    /// Finishes a passkey as a second factor of `identity_id`: its amr,
    /// `hwk` or `swk`.
    pub async fn finish_passkey_second_factor(
        &self,
        identity_id: &str,
        ceremony_id: &str,
        credential: serde_json::Value,
        now: OffsetDateTime,
    ) -> Result<&'static str> {
        let now = now.unix_timestamp();
        let webauthn = self.webauthn()?;
        let state: PasskeyAuthentication = self
            .take_ceremony(
                ceremony_id,
                CeremonyKind::SecondFactor,
                Some(identity_id),
                now,
            )
            .await?;
        let credential: PublicKeyCredential = parse(credential)?;
        let result = webauthn
            .finish_passkey_authentication(&credential, &state)
            .map_err(|e| {
                tracing::info!(error = %e, "passkey second factor refused");
                refused("The authenticator's answer did not verify; start again.")
            })?;
        // The state allowed only this identity's credentials, so the one
        // that signed is among them.
        let stored = self
            .store
            .get_passkey_by_credential(&credential_id(result.cred_id()))
            .await?
            .filter(|p| p.identity_id == identity_id)
            .ok_or_else(|| refused("This passkey is not registered here."))?;
        let passkey: Passkey = serde_json::from_str(&stored.passkey).map_err(internal)?;
        self.record_use(stored, passkey, &result, now).await
    }

    async fn live_identity(&self, id: &str) -> Result<Identity> {
        self.store
            .get_identity(id)
            .await?
            .filter(|i| i.state == IdentityState::Active)
            .ok_or_else(|| Error::LoginRequired("The login session has ended.".into()))
    }
}

/// What can be checked without an authenticator: the options, the rules
/// before a ceremony, and every refusal of a finish. Real ceremonies run
/// in the browser tests (Chromium's virtual authenticator).
#[cfg(test)]
mod tests {
    use super::*;
    use oneauth_crypto::{SystemKeys, TokenMinter};
    use oneauth_store::{SeenFrom, Store};
    use std::sync::Arc;

    struct Fixture {
        ids: Identities,
        store: Arc<dyn Store>,
        _dir: tempfile::TempDir,
    }

    fn config() -> Config {
        let mut config = Config {
            ui_url: "http://localhost:8081".parse().unwrap(),
            issuer: "http://localhost:8080".parse().unwrap(),
            ..Config::default()
        };
        config.login.methods = vec!["password".into(), "passkey".into()];
        config
    }

    async fn fixture(config: &Config) -> anyhow::Result<Fixture> {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = oneauth_store::open(&url).await.unwrap();
        let keys = Arc::new(SystemKeys::derive(b"test secret test secret test secret"));
        let minter = Arc::new(TokenMinter::new(keys.token_tag.clone()));
        let ids = Identities::new(store.clone(), minter, keys, config)?;
        Ok(Fixture {
            ids,
            store,
            _dir: dir,
        })
    }

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000 + secs).unwrap()
    }

    impl Fixture {
        async fn signed_in(&self, email: &str, amr: &[&str]) -> Session {
            let identity = self.ids.create(email, None, None, at(0)).await.unwrap();
            let (_, session) = self
                .ids
                .start_session(&identity, amr, &SeenFrom::default(), at(0))
                .await
                .unwrap();
            session
        }

        async fn stored_passkey(&self, identity_id: &str) -> StoredPasskey {
            let p = StoredPasskey {
                id: uuid::Uuid::now_v7().to_string(),
                identity_id: identity_id.into(),
                credential_id: credential_id(b"cred"),
                name: "laptop".into(),
                passkey: r#"{"cred":{"backup_eligible":true}}"#.into(),
                created_at: 5,
                last_used_at: None,
            };
            self.store.insert_passkey(&p).await.unwrap();
            p
        }
    }

    #[tokio::test]
    async fn the_rp_needs_a_domain_when_passkey_is_a_login_method() {
        let mut on_ip = config();
        on_ip.ui_url = "http://127.0.0.1:8081".parse().unwrap();
        let e = fixture(&on_ip)
            .await
            .err()
            .expect("an IP address is no RP ID");
        assert!(e.to_string().contains("never an IP address"), "{e}");
        // Without passkey sign-in the server starts, with passkeys off.
        on_ip.login.methods = vec!["password".into()];
        let f = fixture(&on_ip).await.unwrap();
        assert!(!f.ids.passkeys_available());
        let session = f.signed_in("a@example.com", &["pwd"]).await;
        let e = f.ids.passkey_registration_options(&session, at(1)).await;
        assert!(matches!(e, Err(Error::InvalidRequest(_))), "{e:?}");

        let mut only = config();
        only.login.methods = vec!["passkey".into()];
        let e = fixture(&only)
            .await
            .err()
            .expect("passkey alone lets nobody in");
        assert!(e.to_string().contains("besides `passkey`"), "{e}");

        let mut elsewhere = config();
        elsewhere.passkeys.rp_id = "example.com".into();
        assert!(
            fixture(&elsewhere).await.is_err(),
            "not a suffix of localhost"
        );

        let f = fixture(&config()).await.unwrap();
        assert!(f.ids.passkey_login_enabled());
        assert_eq!(f.ids.method_names(), ["password"], "no tab for passkeys");
        let origins = f.ids.webauthn().unwrap().get_allowed_origins();
        assert_eq!(
            origins.iter().map(url::Url::as_str).collect::<Vec<_>>(),
            ["http://localhost:8081/", "http://localhost:8080/"],
            "the UI's and the issuer's origins"
        );
    }

    #[tokio::test]
    async fn registration_asks_for_a_discoverable_verified_credential() {
        let f = fixture(&config()).await.unwrap();
        let session = f.signed_in("alice@example.com", &["pwd"]).await;
        f.stored_passkey(&session.identity_id).await;
        // Alice has a passkey: a password-only session adds no other.
        let e = f.ids.passkey_registration_options(&session, at(1)).await;
        assert!(matches!(e, Err(Error::ReauthenticationRequired)), "{e:?}");

        let session = f.signed_in("bob@example.com", &["pwd"]).await;
        let c = f
            .ids
            .passkey_registration_options(&session, at(1))
            .await
            .unwrap();
        let pk = &c.options["publicKey"];
        assert_eq!(pk["rp"]["id"], "localhost");
        assert_eq!(pk["user"]["name"], "bob@example.com");
        let sel = &pk["authenticatorSelection"];
        assert_eq!(sel["residentKey"], "required");
        assert_eq!(sel["requireResidentKey"], true);
        assert_eq!(sel["userVerification"], "required");
        assert!(pk["challenge"].as_str().is_some_and(|c| c.len() >= 43));

        // A stale login may not start one.
        let late = at(Config::default().session.privileged_max_age_secs as i64 + 1);
        let e = f.ids.passkey_registration_options(&session, late).await;
        assert!(matches!(e, Err(Error::ReauthenticationRequired)), "{e:?}");
    }

    #[tokio::test]
    async fn a_finish_takes_its_ceremony_once_and_only_its_own() {
        let f = fixture(&config()).await.unwrap();
        let alice = f.signed_in("alice@example.com", &["pwd"]).await;
        let bob = f.signed_in("bob@example.com", &["pwd"]).await;
        let ids = &f.ids;
        let refused = |r: &Result<PasskeyInfo>| matches!(r, Err(Error::PasskeyRefused(_)));

        let c = ids
            .passkey_registration_options(&alice, at(1))
            .await
            .unwrap();
        let cred = serde_json::json!({"id": "x"});
        let r = ids
            .finish_passkey_registration(&bob, &c.id, "k", cred.clone(), at(2))
            .await;
        assert!(refused(&r), "another identity's ceremony: {r:?}");
        let r = ids
            .finish_passkey_registration(&alice, &c.id, "k", cred.clone(), at(2))
            .await;
        assert!(refused(&r), "taken by the first finish: {r:?}");

        let c = ids
            .passkey_registration_options(&alice, at(1))
            .await
            .unwrap();
        let r = ids
            .finish_passkey_registration(&alice, &c.id, "k", cred.clone(), at(2))
            .await;
        assert!(
            matches!(r, Err(Error::InvalidRequest(_))),
            "malformed: {r:?}"
        );
        let r = ids
            .finish_passkey_registration(&alice, &c.id, "k", cred.clone(), at(2))
            .await;
        assert!(refused(&r), "a malformed answer spends it too: {r:?}");

        let c = ids
            .passkey_registration_options(&alice, at(1))
            .await
            .unwrap();
        let r = ids
            .finish_passkey_registration(&alice, &c.id, "k", cred.clone(), at(1 + CEREMONY_SECS))
            .await;
        assert!(refused(&r), "expired: {r:?}");

        // A login ceremony is no second factor's, and the other way round.
        let login = ids.passkey_login_options(at(1)).await.unwrap();
        assert_eq!(login.options["mediation"], "conditional");
        assert!(
            login.options["publicKey"]["allowCredentials"]
                .as_array()
                .is_none_or(Vec::is_empty)
        );
        let r = ids
            .finish_passkey_second_factor(&alice.identity_id, &login.id, cred.clone(), at(2))
            .await;
        assert!(matches!(r, Err(Error::PasskeyRefused(_))), "{r:?}");
        let e = ids
            .passkey_second_factor_options(&alice.identity_id, at(1))
            .await;
        assert!(
            matches!(e, Err(Error::PasskeyRefused(_))),
            "no passkey: {e:?}"
        );
        let second = WebauthnCeremony {
            id: "second".into(),
            kind: CeremonyKind::SecondFactor,
            identity_id: Some(bob.identity_id.clone()),
            state: "{}".into(),
            expires_at: at(100).unix_timestamp(),
        };
        f.store.insert_ceremony(&second).await.unwrap();
        let r = ids
            .finish_passkey_login(&second.id, cred.clone(), at(2))
            .await;
        assert!(matches!(r, Err(Error::PasskeyRefused(_))), "{r:?}");
        let r = ids.finish_passkey_login("never", cred, at(2)).await;
        assert!(matches!(r, Err(Error::PasskeyRefused(_))), "{r:?}");
    }

    #[tokio::test]
    async fn passkeys_are_listed_renamed_and_removed_by_their_owner() {
        let f = fixture(&config()).await.unwrap();
        let alice = f
            .signed_in("alice@example.com", &["pwd", "hwk", "mfa"])
            .await;
        let bob = f.signed_in("bob@example.com", &["pwd"]).await;
        let p = f.stored_passkey(&alice.identity_id).await;
        let ids = &f.ids;
        assert_eq!(
            ids.passkeys(&alice.identity_id).await.unwrap(),
            [PasskeyInfo {
                id: p.id.clone(),
                name: "laptop".into(),
                created_at: 5,
                last_used_at: None,
                backup_eligible: true,
            }]
        );
        for bad in ["", "  ", &"x".repeat(MAX_NAME_CHARS + 1), "a\nb"] {
            let r = ids.rename_passkey(&alice, &p.id, bad).await;
            assert!(matches!(r, Err(Error::InvalidRequest(_))), "{bad:?}: {r:?}");
        }
        let r = ids.rename_passkey(&bob, &p.id, "mine").await;
        assert!(matches!(r, Err(Error::NotFound(_))), "{r:?}");
        ids.rename_passkey(&alice, &p.id, " phone ").await.unwrap();
        assert_eq!(
            ids.passkeys(&alice.identity_id).await.unwrap()[0].name,
            "phone"
        );

        let r = ids.remove_passkey(&bob, &p.id, at(1)).await;
        assert!(matches!(r, Err(Error::NotFound(_))), "{r:?}");
        let late = at(Config::default().session.privileged_max_age_secs as i64 + 1);
        let r = ids.remove_passkey(&alice, &p.id, late).await;
        assert!(matches!(r, Err(Error::ReauthenticationRequired)), "{r:?}");
        // A recent login without the factor may not remove it either.
        let (_, pwd_only) = ids
            .start_session(
                &ids.get(&alice.identity_id).await.unwrap().unwrap(),
                &["pwd"],
                &SeenFrom::default(),
                at(0),
            )
            .await
            .unwrap();
        let r = ids.remove_passkey(&pwd_only, &p.id, at(1)).await;
        assert!(matches!(r, Err(Error::ReauthenticationRequired)), "{r:?}");
        ids.remove_passkey(&alice, &p.id, at(1)).await.unwrap();
        assert!(ids.passkeys(&alice.identity_id).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn passwordless_options_need_the_login_method() {
        let mut off = config();
        off.login.methods = vec!["password".into()];
        let f = fixture(&off).await.unwrap();
        assert!(f.ids.passkeys_available() && !f.ids.passkey_login_enabled());
        assert!(f.ids.passkeys_enabled(), "as a second factor");
        let r = f.ids.passkey_login_options(at(1)).await;
        assert!(matches!(r, Err(Error::InvalidRequest(_))), "{r:?}");

        // Neither a login method nor a second factor: none are registered.
        off.mfa.policy = oneauth_core::config::MfaPolicy::Off;
        let f = fixture(&off).await.unwrap();
        assert!(!f.ids.passkeys_enabled());
        let session = f.signed_in("a@example.com", &["pwd"]).await;
        let r = f.ids.passkey_registration_options(&session, at(1)).await;
        assert!(matches!(r, Err(Error::InvalidRequest(_))), "{r:?}");
    }

    #[test]
    fn user_handles_are_the_identity_uuid_or_derived() {
        let id = "0193a5c4-8d2e-7c1a-9b3f-2a4d6e8f0a1b";
        assert_eq!(user_handle(id).to_string(), id);
        assert_eq!(user_handle("legacy-id"), user_handle("legacy-id"));
        assert_ne!(user_handle("legacy-id"), user_handle("legacy-id2"));
        assert_eq!((amr_of(true), amr_of(false)), ("swk", "hwk"));
    }

    /// A software authenticator (ES256, "none" attestation, user verified):
    /// what a platform authenticator answers, made here so a whole
    /// ceremony runs without a browser. WebAuthn Level 3 §6.1 (authenticator
    /// data), §6.5 (attestation object), RFC 9052 (COSE key), RFC 8949 (CBOR).
    mod soft {
        use aws_lc_rs::rand::SystemRandom;
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};
        use base64::Engine as _;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
        use serde_json::{Value, json};

        pub struct Authenticator {
            key: EcdsaKeyPair,
            pub id: Vec<u8>,
            pub counter: u32,
            pub user_verified: bool,
            rp_id: String,
            origin: String,
            user_handle: Option<String>,
        }

        fn head(major: u8, n: u64, out: &mut Vec<u8>) {
            let m = major << 5;
            match n {
                0..=23 => out.push(m | n as u8),
                24..=0xff => out.extend([m | 24, n as u8]),
                _ => {
                    out.push(m | 25);
                    out.extend((n as u16).to_be_bytes());
                }
            }
        }

        fn int(v: i64, out: &mut Vec<u8>) {
            if v >= 0 {
                head(0, v as u64, out)
            } else {
                head(1, (-1 - v) as u64, out)
            }
        }

        fn bytes(b: &[u8], out: &mut Vec<u8>) {
            head(2, b.len() as u64, out);
            out.extend(b);
        }

        fn text(t: &str, out: &mut Vec<u8>) {
            head(3, t.len() as u64, out);
            out.extend(t.as_bytes());
        }

        fn sha256(b: &[u8]) -> Vec<u8> {
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b)
                .as_ref()
                .to_vec()
        }

        impl Authenticator {
            pub fn new(rp_id: &str, origin: &str) -> Self {
                let rng = SystemRandom::new();
                let pkcs8 =
                    EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
                let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
                    .unwrap();
                let mut id = vec![0u8; 32];
                aws_lc_rs::rand::fill(&mut id).unwrap();
                Self {
                    key,
                    id,
                    counter: 0,
                    user_verified: true,
                    rp_id: rp_id.into(),
                    origin: origin.into(),
                    user_handle: None,
                }
            }

            fn auth_data(&mut self, attested: bool) -> Vec<u8> {
                self.counter += 1;
                let mut d = sha256(self.rp_id.as_bytes());
                // UP, UV when verified, AT for a new credential.
                let flags = 0x01
                    | if self.user_verified { 0x04 } else { 0 }
                    | if attested { 0x40 } else { 0 };
                d.push(flags);
                d.extend(self.counter.to_be_bytes());
                if attested {
                    d.extend([0u8; 16]);
                    d.extend((self.id.len() as u16).to_be_bytes());
                    d.extend(&self.id);
                    let point = self.key.public_key().as_ref();
                    let mut cose = Vec::new();
                    head(5, 5, &mut cose);
                    int(1, &mut cose);
                    int(2, &mut cose);
                    int(3, &mut cose);
                    int(-7, &mut cose);
                    int(-1, &mut cose);
                    int(1, &mut cose);
                    int(-2, &mut cose);
                    bytes(&point[1..33], &mut cose);
                    int(-3, &mut cose);
                    bytes(&point[33..65], &mut cose);
                    d.extend(cose);
                }
                d
            }

            fn client_data(&self, kind: &str, options: &Value) -> Vec<u8> {
                json!({
                    "type": kind,
                    "challenge": options["publicKey"]["challenge"],
                    "origin": self.origin,
                    "crossOrigin": false,
                })
                .to_string()
                .into_bytes()
            }

            /// `navigator.credentials.create()` for `options`, as JSON.
            pub fn create(&mut self, options: &Value) -> Value {
                self.user_handle = options["publicKey"]["user"]["id"].as_str().map(Into::into);
                let client_data = self.client_data("webauthn.create", options);
                let mut att = Vec::new();
                head(5, 3, &mut att);
                text("fmt", &mut att);
                text("none", &mut att);
                text("attStmt", &mut att);
                head(5, 0, &mut att);
                text("authData", &mut att);
                let auth_data = self.auth_data(true);
                bytes(&auth_data, &mut att);
                let id = B64.encode(&self.id);
                json!({
                    "id": id, "rawId": id, "type": "public-key",
                    "response": {
                        "attestationObject": B64.encode(att),
                        "clientDataJSON": B64.encode(client_data),
                    },
                    "extensions": {},
                })
            }

            /// `navigator.credentials.get()` for `options`, as JSON.
            pub fn get(&mut self, options: &Value) -> Value {
                let client_data = self.client_data("webauthn.get", options);
                let auth_data = self.auth_data(false);
                let mut signed = auth_data.clone();
                signed.extend(sha256(&client_data));
                let sig = self.key.sign(&SystemRandom::new(), &signed).unwrap();
                let id = B64.encode(&self.id);
                json!({
                    "id": id, "rawId": id, "type": "public-key",
                    "response": {
                        "authenticatorData": B64.encode(auth_data),
                        "clientDataJSON": B64.encode(client_data),
                        "signature": B64.encode(sig.as_ref()),
                        "userHandle": self.user_handle,
                    },
                    "extensions": {},
                })
            }
        }
    }

    #[tokio::test]
    async fn real_ceremonies_register_sign_in_and_prove_a_second_factor_once_each() {
        let f = fixture(&config()).await.unwrap();
        let ids = &f.ids;
        let alice = f.signed_in("alice@example.com", &["pwd"]).await;
        let mut key = soft::Authenticator::new("localhost", "http://localhost:8081");

        let c = ids
            .passkey_registration_options(&alice, at(1))
            .await
            .unwrap();
        let created = key.create(&c.options);
        let info = ids
            .finish_passkey_registration(&alice, &c.id, "Laptop", created, at(2))
            .await
            .unwrap();
        assert_eq!(
            (info.name.as_str(), info.backup_eligible),
            ("Laptop", false)
        );
        // A second passkey needs a session that proved the first.
        let c = ids.passkey_registration_options(&alice, at(3)).await;
        assert!(
            matches!(c, Err(Error::ReauthenticationRequired)),
            "a password session: {c:?}"
        );

        // Passwordless: the identity, hwk + mfa; the counter is stored.
        let c = ids.passkey_login_options(at(10)).await.unwrap();
        let answer = key.get(&c.options);
        let (who, amr) = ids
            .finish_passkey_login(&c.id, answer.clone(), at(11))
            .await
            .unwrap();
        assert_eq!(
            (who.id.as_str(), amr),
            (alice.identity_id.as_str(), vec!["hwk", "mfa"])
        );
        let listed = ids.passkeys(&alice.identity_id).await.unwrap();
        assert_eq!(listed[0].last_used_at, Some(at(11).unix_timestamp()));
        let r = ids
            .finish_passkey_login(&c.id, answer.clone(), at(12))
            .await;
        assert!(
            matches!(r, Err(Error::PasskeyRefused(_))),
            "a replay: {r:?}"
        );
        // The same signed answer against a new ceremony: its challenge differs.
        let c2 = ids.passkey_login_options(at(12)).await.unwrap();
        let r = ids.finish_passkey_login(&c2.id, answer, at(12)).await;
        assert!(
            matches!(r, Err(Error::PasskeyRefused(_))),
            "another challenge: {r:?}"
        );

        // A clone whose counter is behind is refused.
        let behind = key.counter;
        key.counter = 0;
        let c = ids.passkey_login_options(at(13)).await.unwrap();
        let r = ids
            .finish_passkey_login(&c.id, key.get(&c.options), at(13))
            .await;
        assert!(
            matches!(r, Err(Error::PasskeyRefused(_))),
            "counter went back: {r:?}"
        );
        key.counter = behind;

        // Without user verification: refused.
        key.user_verified = false;
        let c = ids.passkey_login_options(at(14)).await.unwrap();
        let r = ids
            .finish_passkey_login(&c.id, key.get(&c.options), at(14))
            .await;
        assert!(
            matches!(r, Err(Error::PasskeyRefused(_))),
            "not verified: {r:?}"
        );
        key.user_verified = true;

        // As a second factor: for Alice, not for Bob.
        let bob = f.signed_in("bob@example.com", &["pwd"]).await;
        let c = ids
            .passkey_second_factor_options(&alice.identity_id, at(20))
            .await
            .unwrap();
        let allowed = c.options["publicKey"]["allowCredentials"]
            .as_array()
            .unwrap();
        assert_eq!(allowed.len(), 1, "Alice's passkey is listed");
        let answer = key.get(&c.options);
        let r = ids
            .finish_passkey_second_factor(&bob.identity_id, &c.id, answer.clone(), at(21))
            .await;
        assert!(matches!(r, Err(Error::PasskeyRefused(_))), "Bob's: {r:?}");
        let c = ids
            .passkey_second_factor_options(&alice.identity_id, at(22))
            .await
            .unwrap();
        let factor = ids
            .finish_passkey_second_factor(&alice.identity_id, &c.id, key.get(&c.options), at(23))
            .await
            .unwrap();
        assert_eq!(factor, "hwk");

        // A session that proved the passkey may remove it.
        let (_, proved) = ids
            .start_session(&who, &["hwk", "mfa"], &SeenFrom::default(), at(30))
            .await
            .unwrap();
        ids.remove_passkey(&proved, &info.id, at(31)).await.unwrap();
        let c = ids.passkey_login_options(at(32)).await.unwrap();
        let r = ids
            .finish_passkey_login(&c.id, key.get(&c.options), at(32))
            .await;
        assert!(matches!(r, Err(Error::PasskeyRefused(_))), "removed: {r:?}");
    }
}
