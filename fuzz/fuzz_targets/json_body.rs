//! `ApiJson`: the JSON bodies of the public and admin APIs, into the real
//! request types. A refusal is `invalid_request`; what is accepted
//! re-serialises to a body that parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oneauth_core::Error;
use oneauth_http::extract::parse_json;
use oneauth_proto::identity::{
    AddressRequest, CodeLoginRequest, LoginCodeSendRequest, PasswordChangeRequest,
    PasswordLoginRequest, ProfileUpdateRequest, RecoveryRequest, RegistrationRequest,
    VerificationRequest,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

fn check<T: DeserializeOwned + Serialize>(body: &[u8]) {
    match parse_json::<T>(body) {
        Ok(value) => {
            assert!(serde_json::from_slice::<serde_json::Value>(body).is_ok());
            let again = serde_json::to_vec(&value).expect("serialises");
            let reparsed: T = parse_json(&again).expect("its own serialisation parses");
            assert_eq!(
                serde_json::to_value(&reparsed).unwrap(),
                serde_json::to_value(&value).unwrap()
            );
        }
        Err(e) => assert!(matches!(e.0, Error::InvalidRequest(_)), "{e:?}"),
    }
}

/// Request types without `Serialize`: parsing alone.
fn parse_only<T: DeserializeOwned>(body: &[u8]) {
    if let Err(e) = parse_json::<T>(body) {
        assert!(matches!(e.0, Error::InvalidRequest(_)), "{e:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((which, body)) = data.split_first() else {
        return;
    };
    match which % 17 {
        0 => check::<AddressRequest>(body),
        1 => check::<CodeLoginRequest>(body),
        2 => check::<LoginCodeSendRequest>(body),
        3 => check::<PasswordChangeRequest>(body),
        4 => check::<PasswordLoginRequest>(body),
        5 => check::<ProfileUpdateRequest>(body),
        6 => check::<RecoveryRequest>(body),
        7 => check::<RegistrationRequest>(body),
        8 => check::<VerificationRequest>(body),
        9 => check::<oneauth_oauth2::client::ClientRegistration>(body),
        10 => parse_only::<oneauth_oauth2::exchange::SilentExchange>(body),
        // TOTP and recovery codes (issue 17).
        11 => check::<oneauth_proto::totp::TotpCodeRequest>(body),
        // The second-factor step and passkeys (issue 17).
        12 => check::<oneauth_proto::identity::SecondFactorRequest>(body),
        13 => check::<oneauth_proto::passkey::PasskeyLoginRequest>(body),
        14 => check::<oneauth_proto::passkey::PasskeyRegistrationRequest>(body),
        15 => check::<oneauth_proto::passkey::PasskeyRenameRequest>(body),
        _ => parse_only::<oneauth_oauth2::native::NativeLogin>(body),
    }
});
