//! TOTP second factors (RFC 6238): SHA-1, six digits, 30-second steps,
//! one step of clock drift either way. Enrolment stores a sealed,
//! unconfirmed secret and shows it as an `otpauth://` URI and a QR code
//! (SVG drawn here: no external service sees the secret); the first valid
//! code confirms it. A code counts once: the step it matched is stored by
//! a compare-and-set, so a replay (on this node or another) is refused.
//! Wrong codes spend the identity's second-factor guess budget, the rule
//! of one-time codes ([`GuessRule`]).
//!
//! HOTP/TOTP is written here on aws-lc-rs's HMAC rather than taken from
//! `totp-rs`: it is twenty lines, and `totp-rs` would bring a second
//! crypto provider (RustCrypto's `hmac`/`sha1`) into our own code, where
//! aws-lc-rs is the only one. The RFC 4226 and RFC 6238 test vectors below
//! pin it.

use crate::Identities;
use crate::limit::GuessRule;
use aws_lc_rs::hmac;
use oneauth_core::config::MfaPolicy;
use oneauth_core::{Config, Error, Result};
use oneauth_crypto::SystemKeys;
use oneauth_limit::Limiter;
use oneauth_store::{Session, TotpSecret};
use qrcodegen::{QrCode, QrCodeEcc};
use std::sync::Arc;
use time::OffsetDateTime;

/// Seconds per step (RFC 6238 `X`).
const PERIOD: i64 = 30;
const DIGITS: u32 = 6;
/// Steps of clock drift accepted either way.
const DRIFT: i64 = 1;
/// 160 bits: RFC 4226 §4's recommended secret length.
const SECRET_BYTES: usize = 20;
/// The budget bucket of second-factor guesses (TOTP and recovery codes
/// together), per identity.
pub(crate) const GUESSES: &str = "second-factor-guess";

/// What second factors need besides the store.
pub(crate) struct SecondFactors {
    pub(crate) keys: Arc<SystemKeys>,
    pub(crate) limits: Arc<Limiter>,
    pub(crate) guesses: GuessRule,
    issuer: String,
    enabled: bool,
}

impl SecondFactors {
    pub(crate) fn new(config: &Config, keys: Arc<SystemKeys>, limits: Arc<Limiter>) -> Self {
        let issuer = match config.mfa.totp_issuer.trim() {
            "" => config.ui.brand_name.clone(),
            issuer => issuer.to_owned(),
        };
        Self {
            keys,
            limits,
            guesses: GuessRule::from_config(&config.codes),
            issuer,
            enabled: config.mfa.policy != MfaPolicy::Off,
        }
    }
}

/// A started enrolment, shown once to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpEnrolment {
    /// The secret in base32 (RFC 4648, no padding), for typing in.
    pub secret: String,
    /// The `otpauth://totp/…` URI (Google Authenticator's Key Uri Format).
    pub uri: String,
    /// The URI as a QR code: an `<svg>` element (`aria-hidden`; the page
    /// labels it), safe to inline.
    pub qr_svg: String,
}

/// RFC 4226 HOTP: the `digits`-digit code of `counter`.
fn hotp(key: &[u8], counter: u64, digits: u32) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key);
    let tag = hmac::sign(&key, &counter.to_be_bytes());
    let h = tag.as_ref();
    // §5.3 dynamic truncation.
    let offset = usize::from(h[h.len() - 1] & 0x0f);
    let bin =
        u32::from_be_bytes([h[offset], h[offset + 1], h[offset + 2], h[offset + 3]]) & 0x7fff_ffff;
    bin % 10u32.pow(digits)
}

/// RFC 6238's time step of `unix` seconds (T0 = 0).
fn step_at(unix: i64) -> i64 {
    unix.div_euclid(PERIOD)
}

/// The step within the drift window whose code is `code`, the current
/// step first.
fn matching_step(key: &[u8], code: u32, now: i64) -> Option<i64> {
    let now = step_at(now);
    [now, now - DRIFT, now + DRIFT]
        .into_iter()
        .filter(|s| *s >= 0)
        .find(|s| hotp(key, *s as u64, DIGITS) == code)
}

/// The code as typed, if it can be one: six digits, spaces ignored.
fn parse_code(raw: &str) -> Option<u32> {
    let code: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    code.parse().ok()
}

/// RFC 4648 base32, without padding (authenticator apps take it so).
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Percent-encodes all but RFC 3986's unreserved characters: the label and
/// issuer may hold spaces, `@`, `:` or non-ASCII text.
fn percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn otpauth_uri(issuer: &str, account: &str, secret: &str) -> String {
    let issuer = percent(issuer);
    format!(
        "otpauth://totp/{issuer}:{}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={PERIOD}",
        percent(account)
    )
}

/// `text` as a QR code in SVG: one path of dark modules on a white square
/// with the standard four-module quiet zone.
fn qr_svg(text: &str) -> Result<String> {
    let qr = QrCode::encode_text(text, QrCodeEcc::Medium).map_err(Error::internal)?;
    let border = 4;
    let size = qr.size() + 2 * border;
    let mut path = String::new();
    for y in 0..qr.size() {
        for x in 0..qr.size() {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    Ok(format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" width="200" height="200" shape-rendering="crispEdges" aria-hidden="true" focusable="false"><rect width="{size}" height="{size}" fill="#ffffff"/><path d="{path}" fill="#000000"/></svg>"##
    ))
}

/// The name an authenticator app shows beside the issuer.
fn account_name(identity: &oneauth_store::Identity) -> &str {
    let t = &identity.traits;
    t.email
        .as_deref()
        .or(t.phone.as_deref())
        .or(t.username.as_deref())
        .unwrap_or(&identity.id)
}

/// The sealed secret's binding: the identity and the enrolment.
fn aad(identity_id: &str, id: &str) -> Vec<u8> {
    format!("totp:{identity_id}:{id}").into_bytes()
}

impl Identities {
    /// Whether second factors can be enrolled (`mfa.policy` is not `off`).
    pub fn second_factors_enabled(&self) -> bool {
        self.factors.enabled
    }

    pub(crate) fn require_enabled(&self) -> Result<()> {
        if self.factors.enabled {
            Ok(())
        } else {
            Err(Error::AccessDenied(
                "Second factors are turned off on this server (mfa.policy = off).".into(),
            ))
        }
    }

    /// Spends one second-factor guess of the identity (locked out like
    /// one-time codes), runs `check`, and refunds the guess when it
    /// passed. A failed check is `InvalidCode` with the tries left before
    /// the next lock-out. Counted by `factor` (`totp`, `recovery_code`)
    /// and outcome, as logins are by method.
    pub(crate) async fn guarded<T>(
        &self,
        factor: &'static str,
        identity_id: &str,
        now: i64,
        check: impl AsyncFnOnce() -> Result<Option<T>>,
    ) -> Result<T> {
        let result = self.guess(identity_id, now, check).await;
        let outcome = match &result {
            Ok(_) => "success",
            Err(Error::InvalidCode { .. }) => "invalid_code",
            Err(Error::RateLimited { .. }) => "rate_limited",
            Err(_) => "error",
        };
        metrics::counter!("oneauth_second_factor_checks_total", "factor" => factor, "outcome" => outcome)
            .increment(1);
        result
    }

    async fn guess<T>(
        &self,
        identity_id: &str,
        now: i64,
        check: impl AsyncFnOnce() -> Result<Option<T>>,
    ) -> Result<T> {
        let rule = self.factors.guesses;
        let budgets = &self.factors.limits;
        let charged = budgets
            .spend(GUESSES, identity_id, |b| {
                rule.charge(b, now).map(|n| (n, n))
            })
            .await?;
        match check().await? {
            Some(v) => {
                budgets
                    .spend(GUESSES, identity_id, |b| Ok((rule.refund(b, &charged), ())))
                    .await?;
                Ok(v)
            }
            None => {
                let used = charged.count % rule.per_run;
                let left = if used == 0 { 0 } else { rule.per_run - used };
                Err(Error::InvalidCode {
                    tries_left: Some(u32::try_from(left).unwrap_or(0)),
                })
            }
        }
    }

    /// Starts (or restarts) a TOTP enrolment: a new secret, stored sealed
    /// and unconfirmed until [`Identities::confirm_totp`]. Needs a recent
    /// login, with a second factor when the identity has one already;
    /// refused when TOTP is confirmed already (remove it first).
    pub async fn begin_totp_enrolment(
        &self,
        session: &Session,
        now: OffsetDateTime,
    ) -> Result<TotpEnrolment> {
        self.require_enabled()?;
        let now = now.unix_timestamp();
        self.check_factor_change(session, now).await?;
        let identity = self.session_identity(session).await?;
        let mut key = [0u8; SECRET_BYTES];
        aws_lc_rs::rand::fill(&mut key).map_err(Error::internal)?;
        let id = uuid::Uuid::now_v7().to_string();
        let stored = TotpSecret {
            identity_id: identity.id.clone(),
            sealed: self.factors.keys.seal(&aad(&identity.id, &id), &key),
            id,
            confirmed_at: None,
            last_step: 0,
            created_at: now,
        };
        if !self.store.put_totp_enrolment(&stored).await? {
            return Err(Error::AlreadyExists(
                "An authenticator app is set up already; remove it first.".into(),
            ));
        }
        self.enrolment(&identity, &key)
    }

    /// The enrolment started and not confirmed yet, to show again (after
    /// a wrong first code, say); `None` when there is none.
    pub async fn totp_enrolment_in_progress(
        &self,
        session: &Session,
    ) -> Result<Option<TotpEnrolment>> {
        let Some(stored) = self.store.get_totp(&session.identity_id).await? else {
            return Ok(None);
        };
        if stored.confirmed_at.is_some() {
            return Ok(None);
        }
        let identity = self.session_identity(session).await?;
        let key = self.open_secret(&stored)?;
        self.enrolment(&identity, &key).map(Some)
    }

    fn enrolment(&self, identity: &oneauth_store::Identity, key: &[u8]) -> Result<TotpEnrolment> {
        let secret = base32(key);
        let uri = otpauth_uri(&self.factors.issuer, account_name(identity), &secret);
        Ok(TotpEnrolment {
            qr_svg: qr_svg(&uri)?,
            secret,
            uri,
        })
    }

    async fn session_identity(&self, session: &Session) -> Result<oneauth_store::Identity> {
        self.store
            .get_identity(&session.identity_id)
            .await?
            .ok_or_else(|| Error::LoginRequired("The identity no longer exists.".into()))
    }

    fn open_secret(&self, stored: &TotpSecret) -> Result<Vec<u8>> {
        self.factors
            .keys
            .open(&aad(&stored.identity_id, &stored.id), &stored.sealed)
            .ok_or_else(|| Error::internal("a TOTP secret does not open under the system secret"))
    }

    /// Confirms the enrolment with a first code (which is then used up).
    /// Returns ten new recovery codes, to show once, when the identity had
    /// none left; `None` when it keeps the ones it has.
    pub async fn confirm_totp(
        &self,
        session: &Session,
        code: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Vec<String>>> {
        self.require_enabled()?;
        let now = now.unix_timestamp();
        let identity_id = session.identity_id.as_str();
        let stored = self
            .store
            .get_totp(identity_id)
            .await?
            .filter(|s| s.confirmed_at.is_none())
            .ok_or_else(|| {
                Error::InvalidRequest(
                    "No authenticator app set-up is in progress; start it again.".into(),
                )
            })?;
        self.accept_code(&stored, code, true, now).await?;
        if self.store.recovery_codes_left(identity_id).await? > 0 {
            return Ok(None);
        }
        self.new_recovery_codes(identity_id, now).await.map(Some)
    }

    /// Checks a TOTP code of the identity's confirmed secret, as a second
    /// factor: accepted once (a replay of its step is refused), wrong
    /// codes limited like one-time codes. `InvalidCode` also when the
    /// identity has no confirmed TOTP.
    pub async fn verify_totp(
        &self,
        identity_id: &str,
        code: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        let now = now.unix_timestamp();
        let stored = self
            .store
            .get_totp(identity_id)
            .await?
            .filter(|s| s.confirmed_at.is_some());
        match stored {
            Some(stored) => self.accept_code(&stored, code, false, now).await,
            // Charged like a wrong code: nothing to learn by trying.
            None => {
                self.guarded::<()>("totp", identity_id, now, async || Ok(None))
                    .await
            }
        }
    }

    async fn accept_code(
        &self,
        stored: &TotpSecret,
        code: &str,
        confirming: bool,
        now: i64,
    ) -> Result<()> {
        let key = self.open_secret(stored)?;
        let code = parse_code(code);
        self.guarded("totp", &stored.identity_id, now, async || {
            let Some(step) = code.and_then(|c| matching_step(&key, c, now)) else {
                return Ok(None);
            };
            // A step at or before the last accepted one is a replay.
            let accepted = self
                .store
                .accept_totp_step(&stored.identity_id, &stored.id, step, confirming, now)
                .await?;
            Ok(accepted.then_some(()))
        })
        .await
    }

    /// Removes the identity's TOTP (confirmed or not). Needs a recent
    /// login that proved a second factor. Recovery codes stay: they back
    /// up every second factor (passkeys too).
    pub async fn remove_totp(&self, session: &Session, now: OffsetDateTime) -> Result<()> {
        self.check_factor_change(session, now.unix_timestamp())
            .await?;
        if !self.store.delete_totp(&session.identity_id).await? {
            return Err(Error::NotFound("No authenticator app is set up.".into()));
        }
        Ok(())
    }

    /// Whether the identity has a confirmed TOTP.
    pub async fn has_totp(&self, identity_id: &str) -> Result<bool> {
        Ok(self
            .store
            .get_totp(identity_id)
            .await?
            .is_some_and(|s| s.confirmed_at.is_some()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hotp_matches_the_rfc_4226_test_vectors() {
        // RFC 4226 Appendix D.
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, code) in expected.into_iter().enumerate() {
            assert_eq!(hotp(b"12345678901234567890", counter as u64, 6), code);
        }
    }

    #[test]
    fn totp_matches_the_rfc_6238_sha1_test_vectors() {
        // RFC 6238 Appendix B, the SHA-1 rows (eight digits there).
        for (time, code) in [
            (59, 94287082),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(
                hotp(b"12345678901234567890", step_at(time) as u64, 8),
                code,
                "T = {time}"
            );
        }
    }

    #[test]
    fn a_code_matches_within_one_step_either_way() {
        let key = b"12345678901234567890";
        let now = 1_800_000_000;
        let code = |t: i64| hotp(key, step_at(t) as u64, 6);
        assert_eq!(matching_step(key, code(now), now), Some(step_at(now)));
        assert_eq!(
            matching_step(key, code(now - 30), now),
            Some(step_at(now) - 1)
        );
        assert_eq!(
            matching_step(key, code(now + 30), now),
            Some(step_at(now) + 1)
        );
        assert_eq!(matching_step(key, code(now - 60), now), None);
        assert_eq!(matching_step(key, code(now + 60), now), None);
    }

    #[test]
    fn codes_parse_loosely_and_only_as_six_digits() {
        assert_eq!(parse_code(" 012 345 "), Some(12345));
        assert_eq!(parse_code("12345"), None);
        assert_eq!(parse_code("1234567"), None);
        assert_eq!(parse_code("12345a"), None);
        assert_eq!(parse_code("+12345"), None);
    }

    #[test]
    fn base32_matches_rfc_4648_without_padding() {
        // RFC 4648 §10.
        for (plain, encoded) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(plain.as_bytes()), encoded);
        }
        assert_eq!(base32(&[0u8; SECRET_BYTES]).len(), 32);
    }

    #[test]
    fn the_uri_encodes_issuer_and_account() {
        assert_eq!(
            otpauth_uri("Acme Co", "alice@example.com", "JBSWY3DPEHPK3PXP"),
            "otpauth://totp/Acme%20Co:alice%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Acme%20Co&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn the_qr_code_is_an_inline_svg() {
        let svg = qr_svg("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP").unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>"));
        assert!(
            svg.contains("<path d=\"M4,4h1v1h-1z"),
            "the finder pattern's corner"
        );
        assert!(!svg.contains("<script"));
    }
}

/// The domain API end to end on a real SQLite store.
#[cfg(test)]
mod flow_tests {
    use super::*;
    use oneauth_crypto::TokenMinter;
    use oneauth_store::{SeenFrom, Store};

    const T0: i64 = 1_800_000_000;

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(T0 + secs).unwrap()
    }

    struct Fixture {
        ids: Identities,
        store: Arc<dyn Store>,
        _dir: tempfile::TempDir,
    }

    async fn fixture(config: Config) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = oneauth_store::open(&url).await.unwrap();
        let keys = Arc::new(SystemKeys::derive(b"test secret test secret test secret"));
        let minter = Arc::new(TokenMinter::new(keys.token_tag.clone()));
        let ids = Identities::new(store.clone(), minter, keys, &config).unwrap();
        Fixture {
            ids,
            store,
            _dir: dir,
        }
    }

    impl Fixture {
        async fn session(&self, amr: &[&str], secs: i64) -> Session {
            let identity = match self.store.get_identity_by_email("alice@example.com").await {
                Ok(Some(i)) => i,
                _ => self
                    .ids
                    .create("alice@example.com", None, None, at(0))
                    .await
                    .unwrap(),
            };
            let seen = SeenFrom::default();
            let started = self.ids.start_session(&identity, amr, &seen, at(secs));
            started.await.unwrap().1
        }
    }

    /// What an authenticator app shows at `secs`.
    fn code(enrolment: &TotpEnrolment, secs: i64) -> String {
        let key = base32_decode(&enrolment.secret);
        format!("{:06}", hotp(&key, step_at(T0 + secs) as u64, DIGITS))
    }

    fn base32_decode(s: &str) -> Vec<u8> {
        const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let (mut buffer, mut bits, mut out) = (0u32, 0u32, Vec::new());
        for c in s.bytes() {
            let v = ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
            buffer = (buffer << 5) | v;
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                out.push((buffer >> bits) as u8);
            }
        }
        out
    }

    #[tokio::test]
    async fn an_enrolment_is_confirmed_by_a_first_code_and_each_step_counts_once() {
        let mut config = Config::default();
        config.ui.brand_name = "Acme".into();
        let f = fixture(config).await;
        let session = f.session(&["pwd"], 0).await;
        let first = f.ids.begin_totp_enrolment(&session, at(0)).await.unwrap();
        // A second start replaces the first secret.
        let e = f.ids.begin_totp_enrolment(&session, at(1)).await.unwrap();
        assert_ne!(e.secret, first.secret);
        assert_eq!(e.secret.len(), 32, "160 bits");
        assert!(
            e.uri
                .starts_with("otpauth://totp/Acme:alice%40example.com?secret=")
        );
        assert!(
            e.uri
                .ends_with("&issuer=Acme&algorithm=SHA1&digits=6&period=30")
        );
        assert_eq!(
            f.ids.totp_enrolment_in_progress(&session).await.unwrap(),
            Some(e.clone())
        );
        let stored = f
            .store
            .get_totp(&session.identity_id)
            .await
            .unwrap()
            .unwrap();
        let key = base32_decode(&e.secret);
        assert!(
            !stored.sealed.windows(key.len()).any(|w| w == key),
            "sealed at rest"
        );
        assert!(!f.ids.has_totp(&session.identity_id).await.unwrap());
        let wrong = f.ids.confirm_totp(&session, &code(&first, 2), at(2)).await;
        assert!(matches!(
            wrong,
            Err(Error::InvalidCode {
                tries_left: Some(4)
            })
        ));
        let codes = f
            .ids
            .confirm_totp(&session, &code(&e, 2), at(2))
            .await
            .unwrap()
            .expect("first recovery codes");
        assert_eq!(codes.len(), 10);
        assert!(f.ids.has_totp(&session.identity_id).await.unwrap());
        assert_eq!(
            f.ids.totp_enrolment_in_progress(&session).await.unwrap(),
            None
        );
        let id = session.identity_id.as_str();
        assert!(
            matches!(
                f.ids.verify_totp(id, &code(&e, 2), at(3)).await,
                Err(Error::InvalidCode { .. })
            ),
            "the confirming code is used up"
        );
        f.ids.verify_totp(id, &code(&e, 32), at(31)).await.unwrap();
        assert!(
            matches!(
                f.ids.verify_totp(id, &code(&e, 32), at(33)).await,
                Err(Error::InvalidCode { .. })
            ),
            "a replay within the step"
        );
        assert!(
            matches!(
                f.ids.verify_totp(id, &code(&e, 2), at(33)).await,
                Err(Error::InvalidCode { .. })
            ),
            "an older step, within the drift window"
        );
        f.ids.verify_totp(id, &code(&e, 62), at(61)).await.unwrap();
        let again = f.ids.begin_totp_enrolment(&session, at(62)).await;
        assert!(
            matches!(again, Err(Error::ReauthenticationRequired)),
            "{again:?}"
        );
        let mfa = f.session(&["pwd", "otp", "mfa"], 62).await;
        assert!(matches!(
            f.ids.begin_totp_enrolment(&mfa, at(63)).await,
            Err(Error::AlreadyExists(_))
        ));
    }

    #[tokio::test]
    async fn wrong_codes_count_down_then_lock_out_even_the_right_one() {
        let f = fixture(Config::default()).await;
        let session = f.session(&["pwd"], 0).await;
        let e = f.ids.begin_totp_enrolment(&session, at(0)).await.unwrap();
        f.ids
            .confirm_totp(&session, &code(&e, 0), at(0))
            .await
            .unwrap();
        let id = session.identity_id.as_str();
        for left in [4, 3, 2, 1, 0] {
            let r = f.ids.verify_totp(id, "not a code", at(40)).await;
            assert!(
                matches!(r, Err(Error::InvalidCode { tries_left: Some(n) }) if n == left),
                "{r:?}"
            );
        }
        let r = f.ids.verify_totp(id, &code(&e, 40), at(40)).await;
        assert!(matches!(r, Err(Error::RateLimited { .. })), "{r:?}");
        let r = f.ids.use_recovery_code(id, "abcde-fghjk", at(40)).await;
        assert!(
            matches!(r, Err(Error::RateLimited { .. })),
            "one budget: {r:?}"
        );
        // After the first lock-out (a minute by default) the right code works.
        f.ids
            .verify_totp(id, &code(&e, 100), at(100))
            .await
            .unwrap();
        let none = f.ids.verify_totp("someone-else", "123456", at(100)).await;
        assert!(matches!(
            none,
            Err(Error::InvalidCode {
                tries_left: Some(4)
            })
        ));
    }

    #[tokio::test]
    async fn recovery_codes_work_once_and_a_new_set_retires_the_old() {
        let f = fixture(Config::default()).await;
        let session = f.session(&["pwd"], 0).await;
        let id = session.identity_id.clone();
        let refused = f.ids.regenerate_recovery_codes(&session, at(0)).await;
        assert!(
            matches!(refused, Err(Error::InvalidRequest(_))),
            "no factor yet"
        );
        let e = f.ids.begin_totp_enrolment(&session, at(0)).await.unwrap();
        let codes = f
            .ids
            .confirm_totp(&session, &code(&e, 0), at(0))
            .await
            .unwrap()
            .unwrap();
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 11 && c.as_bytes()[5] == b'-')
        );
        assert_eq!(f.ids.recovery_codes_left(&id).await.unwrap(), 10);
        f.ids
            .use_recovery_code(&id, &codes[0], at(1))
            .await
            .unwrap();
        // Typed in capitals without the dash.
        let loose = codes[1].replace('-', "").to_uppercase();
        f.ids.use_recovery_code(&id, &loose, at(1)).await.unwrap();
        let reused = f.ids.use_recovery_code(&id, &codes[0], at(2)).await;
        assert!(matches!(
            reused,
            Err(Error::InvalidCode {
                tries_left: Some(4)
            })
        ));
        assert_eq!(f.ids.recovery_codes_left(&id).await.unwrap(), 8);
        let stale = f.ids.regenerate_recovery_codes(&session, at(601)).await;
        assert!(matches!(stale, Err(Error::ReauthenticationRequired)));
        let fresh = f
            .ids
            .regenerate_recovery_codes(&session, at(600))
            .await
            .unwrap();
        assert_eq!(fresh.len(), 10);
        assert!(matches!(
            f.ids.use_recovery_code(&id, &codes[2], at(601)).await,
            Err(Error::InvalidCode { .. })
        ));
        f.ids
            .use_recovery_code(&id, &fresh[9], at(601))
            .await
            .unwrap();
        assert_eq!(f.ids.recovery_codes_left(&id).await.unwrap(), 9);
    }

    #[tokio::test]
    async fn removing_totp_needs_a_recent_login_with_a_second_factor() {
        let f = fixture(Config::default()).await;
        let session = f.session(&["pwd"], 0).await;
        let e = f.ids.begin_totp_enrolment(&session, at(0)).await.unwrap();
        f.ids
            .confirm_totp(&session, &code(&e, 0), at(0))
            .await
            .unwrap();
        let id = session.identity_id.clone();
        let r = f.ids.remove_totp(&session, at(1)).await;
        assert!(matches!(r, Err(Error::ReauthenticationRequired)), "no mfa");
        let mfa = f.session(&["pwd", "otp", "mfa"], 100).await;
        let r = f.ids.remove_totp(&mfa, at(701)).await;
        assert!(matches!(r, Err(Error::ReauthenticationRequired)), "stale");
        f.ids.remove_totp(&mfa, at(700)).await.unwrap();
        assert!(!f.ids.has_totp(&id).await.unwrap());
        assert_eq!(
            f.ids.recovery_codes_left(&id).await.unwrap(),
            10,
            "recovery codes stay"
        );
        assert!(matches!(
            f.ids.remove_totp(&mfa, at(700)).await,
            Err(Error::NotFound(_))
        ));
        // With no factor left, a recent login is enough to enrol again.
        f.ids.begin_totp_enrolment(&session, at(600)).await.unwrap();
    }

    #[tokio::test]
    async fn with_mfa_off_nothing_can_be_enrolled() {
        let mut config = Config::default();
        config.mfa.policy = MfaPolicy::Off;
        config.mfa.totp_issuer = "Issuer".into();
        let f = fixture(config).await;
        assert!(!f.ids.second_factors_enabled());
        let session = f.session(&["pwd"], 0).await;
        assert!(matches!(
            f.ids.begin_totp_enrolment(&session, at(0)).await,
            Err(Error::AccessDenied(_))
        ));
        assert!(matches!(
            f.ids.confirm_totp(&session, "123456", at(0)).await,
            Err(Error::AccessDenied(_))
        ));
        assert!(matches!(
            f.ids.regenerate_recovery_codes(&session, at(0)).await,
            Err(Error::AccessDenied(_))
        ));
    }
}
