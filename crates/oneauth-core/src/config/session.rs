//! Login sessions, password rules and the login page's methods.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Session {
    /// Name of the login session cookie.
    pub cookie_name: String,
    /// Cookie `Domain`; empty means host-only.
    pub cookie_domain: String,
    /// Lifetime of a login session.
    pub lifetime_secs: u64,
    /// Setting or changing a password needs a login at most this old;
    /// an older session is asked to sign in again
    /// (`reauthentication_required`), so a stolen or forgotten session
    /// cannot take the account over.
    pub privileged_max_age_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Password {
    /// argon2id memory cost in KiB (OWASP: 19456).
    pub argon2_memory_kib: u32,
    /// argon2id iterations (OWASP: 2).
    pub argon2_iterations: u32,
    /// argon2id lanes (OWASP: 1).
    pub argon2_parallelism: u32,
    /// Most password hashes computed at once, each on its own thread at a
    /// lower scheduling priority than request handling, holding
    /// `argon2_memory_kib` for the life of the process; more wait their
    /// turn. 0: one per core. The priority, not a spare core, keeps token
    /// requests fast during a login storm; a core kept out of hashing would
    /// halve the logins a 2-core machine can serve.
    pub max_concurrent_hashes: usize,
    /// Shortest password accepted, in characters (NIST SP 800-63B: at
    /// least 8). Common passwords from a bundled list are refused; there
    /// are no composition rules.
    pub min_length: usize,
}

/// Login methods.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Login {
    /// Methods offered, in the order of the login page's tabs: `password`,
    /// `email_code`, `sms_code`, and `passkey` (passwordless sign-in: a
    /// button, not a tab). An unknown name fails start-up.
    pub methods: Vec<String>,
}

impl Default for Session {
    fn default() -> Self {
        Self {
            cookie_name: "ory_kratos_session".into(),
            cookie_domain: String::new(),
            lifetime_secs: 24 * 3600,
            privileged_max_age_secs: 600,
        }
    }
}

impl Default for Password {
    fn default() -> Self {
        Self {
            argon2_memory_kib: 19456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            max_concurrent_hashes: 0,
            min_length: 8,
        }
    }
}

impl Password {
    /// What serde cannot check in this section.
    pub(super) fn validate(&self) -> Result<(), String> {
        if self.min_length < 8 {
            return Err("password.min_length must be at least 8 (NIST SP 800-63B)".into());
        }
        Ok(())
    }

    /// `max_concurrent_hashes`, with 0 resolved to the cores.
    pub fn hashing_threads(&self) -> usize {
        match self.max_concurrent_hashes {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }
}

impl Default for Login {
    fn default() -> Self {
        Self {
            methods: vec!["password".into(), "email_code".into(), "sms_code".into()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Password;

    #[test]
    fn hashing_threads_default_to_one_per_core() {
        let cores = std::thread::available_parallelism().unwrap().get();
        assert_eq!(Password::default().hashing_threads(), cores);
        let three = Password {
            max_concurrent_hashes: 3,
            ..Password::default()
        };
        assert_eq!(three.hashing_threads(), 3);
    }
}
