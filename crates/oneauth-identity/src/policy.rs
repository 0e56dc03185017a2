//! Password policy after NIST SP 800-63B §5.1.1.2: a minimum length, no
//! composition rules, and refusal of passwords that are known to be common
//! (the bundled list: the 10 000 most common passwords of the zxcvbn-ts
//! project, MIT licence, see `common-passwords.LICENSE`).

use oneauth_core::{Error, Result};
use std::collections::HashSet;
use std::sync::OnceLock;

static COMMON: &str = include_str!("common-passwords.txt");

fn common() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON.lines().filter(|l| !l.is_empty()).collect())
}

/// Why a password was refused; the UI words each in its own language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weakness {
    TooShort {
        min: usize,
    },
    Common,
    /// The password is the person's own email, phone or username.
    SameAsIdentifier,
}

pub struct PasswordPolicy {
    pub min_chars: usize,
}

impl PasswordPolicy {
    /// `identifiers` are the account's email, phone and username, which a
    /// password must not merely repeat.
    pub fn check(&self, password: &str, identifiers: &[&str]) -> Option<Weakness> {
        if password.chars().count() < self.min_chars {
            return Some(Weakness::TooShort {
                min: self.min_chars,
            });
        }
        let lower = password.to_lowercase();
        if common().contains(lower.as_str()) {
            return Some(Weakness::Common);
        }
        if identifiers
            .iter()
            .any(|i| !i.is_empty() && i.to_lowercase() == lower)
        {
            return Some(Weakness::SameAsIdentifier);
        }
        None
    }

    /// [`Self::check`] as an API error.
    pub fn enforce(&self, password: &str, identifiers: &[&str]) -> Result<()> {
        match self.check(password, identifiers) {
            None => Ok(()),
            Some(w) => Err(Error::WeakPassword(weakness_text(w))),
        }
    }
}

pub fn weakness_text(w: Weakness) -> String {
    match w {
        Weakness::TooShort { min } => {
            format!("The password must have at least {min} characters.")
        }
        Weakness::Common => "This password is too common; choose another.".into(),
        Weakness::SameAsIdentifier => {
            "The password must not be your email, phone number or username.".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_and_common_list_no_composition_rules() {
        let p = PasswordPolicy { min_chars: 8 };
        assert_eq!(p.check("short", &[]), Some(Weakness::TooShort { min: 8 }));
        assert_eq!(p.check("password", &[]), Some(Weakness::Common));
        assert_eq!(p.check("PassWord", &[]), Some(Weakness::Common));
        assert_eq!(p.check("iloveyou", &[]), Some(Weakness::Common));
        assert_eq!(
            p.check("alice@example.com", &["alice@example.com"]),
            Some(Weakness::SameAsIdentifier)
        );
        // All lower case, no digits, no symbols: fine when long and rare.
        assert_eq!(p.check("correct horse battery staple", &[]), None);
        assert_eq!(
            p.check("密码是一句很长的话", &[]),
            None,
            "counted in characters"
        );
        assert!(common().len() > 9000);
    }
}
