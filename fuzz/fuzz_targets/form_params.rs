//! `OAuthForm` / `OAuthQuery`: form-urlencoded parameters, a repeated name
//! refused (RFC 6749 §3.1, §3.2).
#![no_main]

use libfuzzer_sys::fuzz_target;
use oneauth_core::Error;
use oneauth_http::extract::parse_params;

fuzz_target!(|data: &[u8]| {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(data).into_owned().collect();
    match parse_params(data) {
        Ok(map) => {
            // Every parameter kept, each name once, with its decoded value.
            assert_eq!(map.len(), pairs.len());
            for (k, v) in &pairs {
                assert_eq!(map.get(k), Some(v));
            }
            // What we accepted re-encodes to the same parameters.
            let encoded = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&map)
                .finish();
            assert_eq!(parse_params(encoded.as_bytes()).ok(), Some(map));
        }
        Err(e) => {
            // Refused only for a repeated name, as invalid_request.
            assert!(matches!(e.0, Error::InvalidRequest(_)), "{e:?}");
            let mut names: Vec<&String> = pairs.iter().map(|(k, _)| k).collect();
            names.sort();
            names.dedup();
            assert!(names.len() < pairs.len());
        }
    }
});
