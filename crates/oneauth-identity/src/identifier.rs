//! Identifiers people type (email, phone, username), parsed into their
//! normalised stored form. Parse, don't validate: a `Address` is known good.

use oneauth_core::{Error, Result};
use oneauth_store::{Channel, Identity, Store};

/// Normalised email, or an error a user can act on.
pub fn normalize_email(raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
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

/// A phone number in E.164 (`+` and 8 to 15 digits, no leading zero).
/// Spaces, dashes, dots and parentheses are dropped and a leading `00` is
/// read as `+`. A number without a country code is refused rather than
/// guessed.
pub fn normalize_phone(raw: &str) -> Result<String> {
    let compact: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}'))
        .collect();
    let digits = compact
        .strip_prefix('+')
        .or_else(|| compact.strip_prefix("00"))
        .unwrap_or("");
    let valid = (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if valid {
        Ok(format!("+{digits}"))
    } else {
        Err(Error::InvalidRequest(
            "The phone number is not valid: give it with its country code, like +86 138 0013 8000."
                .into(),
        ))
    }
}

/// A username: 3 to 32 of `a-z 0-9 . _ -`, compared in lower case. It can
/// never look like an email or a phone number, so a login identifier is
/// never ambiguous.
pub fn normalize_username(raw: &str) -> Result<String> {
    let name = raw.trim().to_lowercase();
    let valid = (3..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        && name.bytes().any(|b| b.is_ascii_lowercase());
    if valid {
        Ok(name)
    } else {
        Err(Error::InvalidRequest(
            "The username must have 3 to 32 letters, digits, dots, dashes or underscores, with at least one letter."
                .into(),
        ))
    }
}

/// Where a code can be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Email(String),
    Phone(String),
}

impl Address {
    pub fn email(raw: &str) -> Result<Self> {
        normalize_email(raw).map(Self::Email)
    }

    pub fn phone(raw: &str) -> Result<Self> {
        normalize_phone(raw).map(Self::Phone)
    }

    /// An email when it has an `@`, else a phone number.
    pub fn parse(raw: &str) -> Result<Self> {
        if raw.contains('@') {
            Self::email(raw)
        } else {
            Self::phone(raw)
        }
    }

    pub fn channel(&self) -> Channel {
        match self {
            Self::Email(_) => Channel::Email,
            Self::Phone(_) => Channel::Sms,
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Email(s) | Self::Phone(s) => s,
        }
    }

    /// `email` or `phone`: the address's kind as forms and traits name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Email(_) => "email",
            Self::Phone(_) => "phone",
        }
    }
}

/// What a password login's identifier names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginIdentifier {
    Address(Address),
    Username(String),
}

impl LoginIdentifier {
    pub fn parse(raw: &str) -> Result<Self> {
        let raw = raw.trim();
        if raw.contains('@') {
            Address::email(raw).map(Self::Address)
        } else if raw.starts_with('+') || raw.starts_with("00") {
            Address::phone(raw).map(Self::Address)
        } else {
            normalize_username(raw).map(Self::Username)
        }
    }

    /// The normalised form.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Address(a) => a.as_str(),
            Self::Username(u) => u,
        }
    }
}

/// The identity `id` names, if any (whatever its state).
pub async fn identity_with(store: &dyn Store, id: &LoginIdentifier) -> Result<Option<Identity>> {
    Ok(match id {
        LoginIdentifier::Address(Address::Email(e)) => store.get_identity_by_email(e).await?,
        LoginIdentifier::Address(Address::Phone(p)) => store.get_identity_by_phone(p).await?,
        LoginIdentifier::Username(u) => store.get_identity_by_username(u).await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_become_e164() {
        assert_eq!(
            normalize_phone("+86 138-0013-8000").unwrap(),
            "+8613800138000"
        );
        assert_eq!(
            normalize_phone("0044 (20) 7946.0958").unwrap(),
            "+442079460958"
        );
        for bad in [
            "13800138000",
            "+0123456789",
            "+1 555",
            "+1234567890123456",
            "+86 138 abc",
        ] {
            assert!(normalize_phone(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identifiers_are_never_ambiguous() {
        assert_eq!(
            LoginIdentifier::parse(" Alice@Example.COM ").unwrap(),
            LoginIdentifier::Address(Address::Email("alice@example.com".into()))
        );
        assert_eq!(
            LoginIdentifier::parse("+1 415 555 0100").unwrap(),
            LoginIdentifier::Address(Address::Phone("+14155550100".into()))
        );
        assert_eq!(
            LoginIdentifier::parse("Alice_1").unwrap(),
            LoginIdentifier::Username("alice_1".into())
        );
        assert!(
            normalize_username("12345").is_err(),
            "all digits looks like a phone"
        );
        assert!(normalize_username("a@b").is_err());
        assert!(normalize_email("a@b@c.com").is_err());
    }
}
