//! `parse_scope` (RFC 6749 §3.3): the space-delimited scopes of the
//! request, in order, without duplicates or empty values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;

/// The scopes a parse gave, whether `parse_scope` answers with the list or
/// with a `Result` (a refusal, e.g. over a cap, is `None`).
trait Scopes {
    fn scopes(self) -> Option<Vec<String>>;
}

impl Scopes for Vec<String> {
    fn scopes(self) -> Option<Vec<String>> {
        Some(self)
    }
}

impl<E> Scopes for Result<Vec<String>, E> {
    fn scopes(self) -> Option<Vec<String>> {
        self.ok()
    }
}

fuzz_target!(|raw: &str| {
    let Some(scopes) = oneauth_oauth2::parse_scope(raw).scopes() else {
        return;
    };
    let mut seen = HashSet::new();
    for s in &scopes {
        assert!(!s.is_empty() && !s.contains(' '), "{s:?}");
        assert!(seen.insert(s.as_str()), "duplicate {s:?}");
    }
    // Exactly the request's scopes, first occurrences in order.
    let mut expected: Vec<&str> = Vec::new();
    for s in raw.split(' ').filter(|s| !s.is_empty()) {
        if !expected.contains(&s) {
            expected.push(s);
        }
    }
    assert_eq!(scopes, expected);
});
