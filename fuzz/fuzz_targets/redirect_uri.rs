//! Redirect URI matching (RFC 6749 §3.1.2.3, RFC 9700 §4.1.3): a
//! registered URI matches itself exactly, and nothing that differs from
//! every registered URI: in particular nothing with another origin.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oneauth_oauth2::client::redirect_uri_registered;

fn origin(uri: &str) -> Option<String> {
    url::Url::parse(uri)
        .ok()
        .map(|u| u.origin().ascii_serialization())
}

fuzz_target!(|input: (Vec<String>, String)| {
    let (registered, presented) = input;
    for r in &registered {
        assert!(redirect_uri_registered(&registered, r));
    }
    if redirect_uri_registered(&registered, &presented) {
        assert!(registered.contains(&presented));
    } else {
        assert!(!registered.contains(&presented));
    }
    // A URI with another origin than every registered one never matches,
    // whatever normalisation a parser would apply.
    if let Some(o) = origin(&presented)
        && o != "null"
        && registered.iter().all(|r| origin(r).as_deref() != Some(&o))
    {
        assert!(!redirect_uri_registered(&registered, &presented));
    }
});
