//! Sign-up: the form's rules, checked field by field for every front end
//! (the register page shows each problem beside its field, the identity
//! JSON API answers the first), and the registration itself. Not the
//! proof of the addresses afterwards ([`Identities::verify`]).

use crate::identifier::Address;
use crate::normalize_username;
use crate::policy::{PasswordPolicy, Weakness, weakness_text};
use crate::{Identities, Locale, VerifyMethod, courier::templates::Template, non_empty};
use oneauth_core::{Error, Result};
use oneauth_store::{CodePurpose, Identity, StoreError, Traits};
use time::OffsetDateTime;

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

/// A field of the sign-up form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Email,
    Phone,
    Username,
    Name,
    Password,
    /// The password typed a second time.
    Confirmation,
}

/// What is wrong with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    Missing,
    Malformed,
    Weak(Weakness),
    /// The confirmation is not the password.
    Differs,
}

/// One field's problem, with the API's error for it (English text).
#[derive(Debug)]
pub struct Invalid {
    pub field: Field,
    pub problem: Problem,
    pub error: Error,
}

impl Invalid {
    fn new(field: Field, problem: Problem, error: Error) -> Self {
        Self {
            field,
            problem,
            error,
        }
    }
}

fn blank(v: &Option<String>) -> bool {
    v.as_deref().is_none_or(|s| s.trim().is_empty())
}

impl Registration {
    /// Every problem of the form, in the order the API reports the first:
    /// the form's own demands (`rules`; `confirmation` is the password
    /// typed a second time, which must match whenever it is given), then
    /// malformed identifiers, missing addresses to verify, and a weak
    /// password. Empty: [`Identities::register`] may go ahead.
    pub fn problems(
        &self,
        rules: FormRules,
        confirmation: Option<&str>,
        policy: &PasswordPolicy,
    ) -> Vec<Invalid> {
        let mut out = self.form_demands(rules, confirmation);
        let given = |v: &Option<String>| non_empty(v.clone());
        let (email, phone, username) = (
            given(&self.email),
            given(&self.phone),
            given(&self.username),
        );
        let stored = |a: Result<Address>| a.map(|a| a.as_str().to_owned());
        let parsed = [
            (
                Field::Email,
                email.as_deref().map(|e| stored(Address::email(e))),
            ),
            (
                Field::Phone,
                phone.as_deref().map(|p| stored(Address::phone(p))),
            ),
            (Field::Username, username.as_deref().map(normalize_username)),
        ];
        // As typed and as stored: a password repeating either is refused.
        let mut identifiers: Vec<String> = [&email, &phone, &username]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        for (field, result) in parsed {
            match result {
                Some(Err(error)) => out.push(Invalid::new(field, Problem::Malformed, error)),
                Some(Ok(normalised)) => identifiers.push(normalised),
                None => {}
            }
        }
        for (field, message) in self.missing_addresses(email.is_some(), phone.is_some()) {
            let error = Error::InvalidRequest(message.into());
            out.push(Invalid::new(field, Problem::Missing, error));
        }
        let identifiers: Vec<&str> = identifiers.iter().map(String::as_str).collect();
        if let Some(w) = policy.check(&self.password, &identifiers) {
            let error = Error::WeakPassword(weakness_text(w));
            out.push(Invalid::new(Field::Password, Problem::Weak(w), error));
        }
        out
    }

    /// What the form asked for beyond the minimum ([`FormRules`]).
    fn form_demands(&self, rules: FormRules, confirmation: Option<&str>) -> Vec<Invalid> {
        let missing = |field, text: &str| {
            let error = Error::InvalidRequest(text.into());
            Invalid::new(field, Problem::Missing, error)
        };
        let mut out = Vec::new();
        if rules.require_username && blank(&self.username) {
            out.push(missing(Field::Username, "A username is required."));
        }
        if rules.require_name && blank(&self.name) {
            out.push(missing(Field::Name, "A name is required."));
        }
        match confirmation {
            None if rules.confirm_password => out.push(missing(
                Field::Confirmation,
                "Type the password a second time.",
            )),
            Some(c) if c != self.password => out.push(Invalid::new(
                Field::Confirmation,
                Problem::Differs,
                Error::InvalidRequest("The two passwords differ.".into()),
            )),
            _ => {}
        }
        out
    }

    /// The addresses `verify` needs that are not given.
    fn missing_addresses(&self, email: bool, phone: bool) -> Vec<(Field, &'static str)> {
        match self.verify {
            None if !email && !phone => {
                vec![(Field::Email, "Give an email address or a phone number.")]
            }
            None => vec![],
            Some(VerifyMethod::Email) if !email => {
                vec![(Field::Email, "An email address is needed.")]
            }
            Some(VerifyMethod::Phone) if !phone => {
                vec![(Field::Phone, "A phone number is needed.")]
            }
            Some(VerifyMethod::Both) => {
                let both = "An email address and a phone number are needed.";
                [(Field::Email, email), (Field::Phone, phone)]
                    .into_iter()
                    .filter(|(_, given)| !given)
                    .map(|(field, _)| (field, both))
                    .collect()
            }
            Some(_) => vec![],
        }
    }
}

/// A sign-up's answer: the addresses to verify, and the sign-up proof for
/// the browser that signed up (an HttpOnly cookie: [`Identities::verify`]).
#[derive(Debug, Clone)]
pub struct SignUp {
    pub verify: Vec<Address>,
    pub proof: String,
}

impl Identities {
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
    ///
    /// Long on purpose: taken and free addresses must go through the same
    /// steps (hash, budget, message), which reads best in one piece.
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
    pub(crate) fn made_the_signup(&self, identity: &Identity, proof: Option<&str>) -> bool {
        match (identity.password_hash.as_deref(), proof) {
            (Some(hash), Some(proof)) => {
                oneauth_crypto::ct_eq(self.signup_proof(hash).as_bytes(), proof.as_bytes())
            }
            _ => false,
        }
    }
}
