//! `return_to` and post-logout targets: only absolute http(s) URLs without
//! credentials are followed, and what the browser is sent to is the parsed
//! URL's serialisation, which must be a valid `Location` header value and
//! reparse to the same URL (so the origin checked is the origin followed).
#![no_main]

use libfuzzer_sys::fuzz_target;
use oneauth_oauth2::followable_url;

fuzz_target!(|target: &str| {
    let Some(url) = followable_url(target) else {
        return;
    };
    assert!(matches!(url.scheme(), "http" | "https"), "{url}");
    assert!(url.username().is_empty() && url.password().is_none());
    let serialised = url.as_str();
    assert!(
        http::HeaderValue::from_str(serialised).is_ok(),
        "{serialised:?}"
    );
    let again = followable_url(serialised).expect("the serialisation is followable");
    assert_eq!(again.origin(), url.origin());
    assert_eq!(again.as_str(), serialised);
});
