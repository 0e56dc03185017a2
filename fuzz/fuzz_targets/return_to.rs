//! `return_to` and post-logout targets: the origin checked is the origin
//! the browser is sent to. The URL followed is the parsed URL's
//! serialisation, which must be a valid `Location` header value and
//! reparse to the same origin.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oneauth_oauth2::return_to_origin;

fuzz_target!(|target: &str| {
    let Some(origin) = return_to_origin(target) else {
        return;
    };
    // Only absolute http(s) URLs without credentials have an origin here.
    assert!(
        origin.starts_with("http://") || origin.starts_with("https://"),
        "{origin}"
    );
    let url = url::Url::parse(target).expect("a URL with an origin parses");
    assert!(url.username().is_empty() && url.password().is_none());
    let serialised = url.as_str();
    assert!(
        http::HeaderValue::from_str(serialised).is_ok(),
        "{serialised:?}"
    );
    assert_eq!(
        return_to_origin(serialised).as_deref(),
        Some(origin.as_str())
    );
});
