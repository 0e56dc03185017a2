//! An authorization request's parameters (RFC 6749 §4.1.1, OIDC Core
//! §3.1.2.1) parsed for a client whose redirect URI is verified: the typed
//! request, or the first error in a fixed order. Each error goes back to
//! the client's redirect URI (RFC 6749 §4.1.2.1), so this runs only after
//! the client and redirect URI checks.

use crate::{R, parse_scope, pkce, space_delimited};
use oneauth_core::Error;
use oneauth_proto::oauth2::{GrantType, Prompt, ResponseType};
use oneauth_store::{AuthorizeRequest, Client};
use std::collections::HashMap;

const MAX_PARAM: usize = 2048;

/// Parses the request of `client` to `redirect_uri` (both verified).
pub fn parse_authorize_request(
    client: &Client,
    redirect_uri: &str,
    params: &HashMap<String, String>,
) -> R<AuthorizeRequest> {
    let get = |name: &str| params.get(name).map(String::as_str);
    if let Some((k, _)) = params.iter().find(|(_, v)| v.len() > MAX_PARAM) {
        return Err(Error::InvalidRequest(format!(
            "Parameter `{k}` is too long."
        )));
    }
    if params.contains_key("request") || params.contains_key("request_uri") {
        return Err(Error::InvalidRequest(
            "Request objects are not supported.".into(),
        ));
    }
    check_response_type(client, get("response_type"))?;
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(Error::UnauthorizedClient(
            "The client may not use the authorization code grant.".into(),
        ));
    }
    if get("response_mode").is_some_and(|m| m != "query") {
        return Err(Error::InvalidRequest(
            "Only response_mode=query is supported.".into(),
        ));
    }
    let scope = parse_scope(get("scope").unwrap_or(""))?;
    if let Some(s) = scope.iter().find(|s| !client.scope.contains(s)) {
        return Err(Error::InvalidScope(format!(
            "The client may not request scope `{s}`."
        )));
    }
    let non_empty = |name: &str| get(name).filter(|s| !s.is_empty()).map(str::to_owned);
    Ok(AuthorizeRequest {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scope,
        state: non_empty("state"),
        nonce: non_empty("nonce"),
        code_challenge: code_challenge(
            client,
            get("code_challenge"),
            get("code_challenge_method"),
        )?,
        prompt: parse_prompt(get("prompt").unwrap_or(""))?,
        max_age: get("max_age").map(parse_max_age).transpose()?,
        login_hint: get("login_hint").map(str::to_owned),
        ui_locales: get("ui_locales").map(str::to_owned),
        popup: get("display") == Some("popup"),
        acr_values: parse_acr_values(get("acr_values").unwrap_or(""))?,
    })
}

fn check_response_type(client: &Client, response_type: Option<&str>) -> R<()> {
    match response_type.map(ResponseType::parse) {
        Some(Some(r)) if client.response_types.contains(&r) => Ok(()),
        None => Err(Error::InvalidRequest("response_type is missing.".into())),
        Some(_) => Err(Error::UnsupportedResponseType(
            "Only response_type=code is supported for this client.".into(),
        )),
    }
}

/// RFC 7636 §4.3 and RFC 9700 §2.1.1: the challenge, when the client must
/// or chose to send one.
fn code_challenge(
    client: &Client,
    challenge: Option<&str>,
    method: Option<&str>,
) -> R<Option<String>> {
    match challenge {
        Some(c) => {
            pkce::check_challenge(c, method)?;
            Ok(Some(c.to_owned()))
        }
        None if method.is_some() => Err(Error::InvalidPkce("code_challenge is missing.".into())),
        None if !pkce::required(client) => Ok(None),
        None => Err(Error::InvalidPkce(
            "PKCE is required: send code_challenge with code_challenge_method=S256.".into(),
        )),
    }
}

/// OIDC Core §3.1.2.1 `prompt`: known values; `none` alone.
fn parse_prompt(raw: &str) -> R<Vec<Prompt>> {
    let values = space_delimited(raw)
        .ok_or_else(|| Error::InvalidRequest("prompt has too many values.".into()))?;
    let prompt = values
        .iter()
        .map(|p| {
            Prompt::parse(p)
                .ok_or_else(|| Error::InvalidRequest(format!("Unknown prompt value `{p}`.")))
        })
        .collect::<R<Vec<_>>>()?;
    if prompt.contains(&Prompt::None) && prompt.len() > 1 {
        return Err(Error::InvalidRequest(
            "prompt=none cannot be combined with other values.".into(),
        ));
    }
    Ok(prompt)
}

/// OIDC Core §3.1.2.1 `acr_values`: kept as given, in order. They are
/// voluntary, so values OneAuth does not know are no error; only
/// [`crate::mfa::ACR_MFA`] asks for something.
fn parse_acr_values(raw: &str) -> R<Vec<String>> {
    space_delimited(raw)
        .ok_or_else(|| Error::InvalidRequest("acr_values has too many values.".into()))
}

fn parse_max_age(raw: &str) -> R<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|m| *m >= 0)
        .ok_or_else(|| Error::InvalidRequest("max_age must be a non-negative integer.".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mfa::{ACR_MFA, ACR_SINGLE};
    use oneauth_proto::oauth2::AuthMethod;

    type Pair<'a> = (&'a str, &'a str);

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn client() -> Client {
        Client {
            client_id: "app".into(),
            client_name: "App".into(),
            secret_hash: None,
            redirect_uris: vec!["https://app.example/cb".into()],
            grant_types: vec![GrantType::AuthorizationCode],
            response_types: vec![ResponseType::Code],
            scope: vec!["openid".into(), "email".into()],
            token_endpoint_auth_method: AuthMethod::None,
            post_logout_redirect_uris: vec![],
            skip_consent: false,
            id_token_signed_response_alg: None,
            access_token_strategy: None,
            native_cli_login: false,
            allow_no_pkce: false,
            require_mfa: false,
            logo_uri: None,
            policy_uri: None,
            tos_uri: None,
            client_uri: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn parse(pairs: &[(&str, &str)]) -> R<AuthorizeRequest> {
        let mut params: HashMap<String, String> = [
            ("response_type", "code"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (k, v) in pairs {
            if v.is_empty() {
                params.remove(*k);
            } else {
                params.insert((*k).to_owned(), (*v).to_owned());
            }
        }
        parse_authorize_request(&client(), "https://app.example/cb", &params)
    }

    /// One distinct value more than a space-delimited parameter may hold.
    fn too_many_values() -> String {
        (0..=crate::MAX_SCOPES)
            .map(|i| format!("v{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn error(pairs: &[(&str, &str)]) -> (String, String) {
        let e = parse(pairs).unwrap_err();
        (e.code().oauth_error().to_owned(), e.to_string())
    }

    #[test]
    fn a_full_request_parses_into_its_fields() {
        let r = parse(&[
            ("scope", "openid email openid"),
            ("state", "s"),
            ("nonce", ""),
            ("prompt", "login consent"),
            ("max_age", "60"),
            ("login_hint", "bob"),
            ("ui_locales", "zh-CN"),
            ("display", "popup"),
            ("acr_values", "urn:oneauth:acr:mfa urn:oneauth:acr:sfa"),
        ])
        .unwrap();
        assert_eq!(
            r,
            AuthorizeRequest {
                client_id: "app".into(),
                redirect_uri: "https://app.example/cb".into(),
                scope: vec!["openid".into(), "email".into()],
                state: Some("s".into()),
                nonce: None,
                code_challenge: Some(CHALLENGE.into()),
                prompt: vec![Prompt::Login, Prompt::Consent],
                max_age: Some(60),
                login_hint: Some("bob".into()),
                ui_locales: Some("zh-CN".into()),
                popup: true,
                acr_values: vec![ACR_MFA.into(), ACR_SINGLE.into()],
            }
        );
    }

    #[test]
    fn acr_values_are_kept_as_given_and_unknown_ones_are_no_error() {
        let acr = |raw: &str| parse(&[("acr_values", raw)]).unwrap().acr_values;
        assert_eq!(acr(""), Vec::<String>::new(), "absent");
        assert_eq!(acr("   "), Vec::<String>::new(), "only spaces");
        assert_eq!(
            acr("urn:example:loa:3  urn:oneauth:acr:mfa urn:example:loa:3"),
            ["urn:example:loa:3", ACR_MFA],
            "in order, once each, unknown values kept"
        );
        let (code, description) = error(&[("acr_values", &too_many_values())]);
        assert_eq!(
            (code.as_str(), description.as_str()),
            ("invalid_request", "acr_values has too many values.")
        );
    }

    #[test]
    fn each_problem_is_its_precise_error() {
        let long = "x".repeat(MAX_PARAM + 1);
        let cases: Vec<(Vec<Pair>, &str, &str)> = vec![
            (
                vec![("state", &long)],
                "invalid_request",
                "Parameter `state` is too long.",
            ),
            (
                vec![("request_uri", "urn:x")],
                "invalid_request",
                "Request objects are not supported.",
            ),
            (
                vec![("response_type", "")],
                "invalid_request",
                "response_type is missing.",
            ),
            (
                vec![("response_type", "token")],
                "unsupported_response_type",
                "Only response_type=code is supported for this client.",
            ),
            (
                vec![("response_mode", "fragment")],
                "invalid_request",
                "Only response_mode=query is supported.",
            ),
            (
                vec![("scope", "openid phone")],
                "invalid_scope",
                "The client may not request scope `phone`.",
            ),
            (
                vec![("code_challenge", "")],
                "invalid_request",
                "code_challenge is missing.",
            ),
            (
                vec![("prompt", "none login")],
                "invalid_request",
                "prompt=none cannot be combined with other values.",
            ),
            (
                vec![("prompt", "maybe")],
                "invalid_request",
                "Unknown prompt value `maybe`.",
            ),
            (
                vec![("max_age", "-1")],
                "invalid_request",
                "max_age must be a non-negative integer.",
            ),
        ];
        for (pairs, code, description) in cases {
            let (c, d) = error(&pairs);
            assert_eq!((c.as_str(), d.as_str()), (code, description), "{pairs:?}");
        }
    }

    #[test]
    fn errors_come_in_a_fixed_order() {
        // The response type is checked before the scope, the scope before
        // PKCE, PKCE before prompt, prompt before max_age, max_age before
        // acr_values.
        let (_, d) = error(&[("response_type", "token"), ("scope", "phone")]);
        assert_eq!(d, "Only response_type=code is supported for this client.");
        let (_, d) = error(&[("scope", "phone"), ("code_challenge", "short")]);
        assert_eq!(d, "The client may not request scope `phone`.");
        let (_, d) = error(&[("code_challenge", "short"), ("prompt", "maybe")]);
        assert!(d.starts_with("code_challenge must be"), "{d}");
        let (_, d) = error(&[("prompt", "maybe"), ("max_age", "x")]);
        assert_eq!(d, "Unknown prompt value `maybe`.");
        let (_, d) = error(&[("max_age", "x"), ("acr_values", &too_many_values())]);
        assert_eq!(d, "max_age must be a non-negative integer.");
    }
}
