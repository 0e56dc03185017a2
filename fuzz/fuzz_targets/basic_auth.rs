//! `BasicAuth`: `Authorization: Basic` client credentials, each part
//! form-urldecoded (RFC 6749 §2.3.1).
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::{arbitrary, fuzz_target};
use oneauth_core::Error;
use oneauth_http::extract::parse_basic;

#[derive(Debug, arbitrary::Arbitrary)]
enum Input {
    /// Any header value.
    Raw(String),
    /// Credentials encoded as a client must: each part form-urlencoded.
    Encoded { id: String, secret: String },
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fuzz_target!(|input: Input| match input {
    Input::Raw(value) => match parse_basic(&value) {
        Ok(None) => assert!(!value.starts_with("Basic ") && !value.starts_with("basic ")),
        Ok(Some(_)) => {}
        Err(e) => assert!(matches!(e.0, Error::InvalidClient), "{e:?}"),
    },
    Input::Encoded { id, secret } => {
        let header = format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", form_encode(&id), form_encode(&secret)))
        );
        // What a conforming client sends decodes to exactly its credentials.
        assert_eq!(parse_basic(&header).unwrap(), Some((id, secret)));
    }
});
