//! Extractors whose rejections are our error JSON, never axum's plain text.

use crate::AppState;
use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine as _;
use oneauth_core::Error;
use oneauth_oauth2::client::{ClientCredentials, ClientId};
use serde::de::DeserializeOwned;
use std::collections::HashMap;

fn content_type_is(req: &Request, expected: &str) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(expected))
}

async fn body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|e| match e {
        BytesRejection::FailedToBufferBody(inner) if inner.to_string().contains("length limit") => {
            ApiError(Error::PayloadTooLarge)
        }
        other => ApiError(Error::InvalidRequest(format!(
            "The request body could not be read: {other}"
        ))),
    })
}

/// Parameters of a form or query, each name once.
pub type Params = HashMap<String, String>;

/// An `application/x-www-form-urlencoded` body as OAuth 2.0 sends it, as a
/// map or a form type (such as [`TokenForm`]) whose fields are the
/// parameters. A parameter given twice is refused (RFC 6749 §3.1, §3.2);
/// unknown ones are ignored (§3.2).
///
/// [`TokenForm`]: oneauth_proto::oauth2::TokenForm
pub struct OAuthForm<T = Params>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OAuthForm<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !content_type_is(&req, "application/x-www-form-urlencoded") {
            return Err(Error::UnsupportedMediaType(
                "Send the parameters as application/x-www-form-urlencoded.".into(),
            )
            .into());
        }
        let bytes = body(req, state).await?;
        form_from(parse_params(&bytes)?).map(Self)
    }
}

/// A form type from unique parameters: each field is the parameter of its
/// name. Form types have optional string fields only, so this fails only
/// for a type that asks for more.
pub fn form_from<T: DeserializeOwned>(params: Params) -> Result<T, ApiError> {
    // Through a JSON object of strings: serde's own map deserializer does
    // not take a string for an `Option` field.
    let object = params
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    serde_json::from_value(serde_json::Value::Object(object))
        .map_err(|e| ApiError(Error::InvalidRequest(format!("The form is invalid: {e}"))))
}

/// Parameters of a form body or a query string (`OAuthForm`, `OAuthQuery`;
/// a plain function so the fuzz targets call the same code).
pub fn parse_params(bytes: &[u8]) -> Result<Params, ApiError> {
    unique_params(url::form_urlencoded::parse(bytes).into_owned().collect())
}

/// Builds a map, refusing repeated parameters.
pub fn unique_params(pairs: Vec<(String, String)>) -> Result<Params, ApiError> {
    let mut map = HashMap::with_capacity(pairs.len());
    for (k, v) in pairs {
        if map.insert(k.clone(), v).is_some() {
            return Err(Error::InvalidRequest(format!("Parameter `{k}` is repeated.")).into());
        }
    }
    Ok(map)
}

/// Query parameters with the same rule.
pub struct OAuthQuery(pub Params);

impl<S: Send + Sync> FromRequestParts<S> for OAuthQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        Ok(Self(parse_params(q.as_bytes())?))
    }
}

/// Query parameters into a typed struct. A malformed query, a missing
/// field or a repeated parameter is `invalid_request` in our JSON, not
/// axum's plain-text 400 (repeats of a struct field are refused by the
/// deserializer as duplicates).
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(v)| Self(v))
            .map_err(|e| Error::InvalidRequest(e.body_text()).into())
    }
}

/// A JSON body.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !content_type_is(&req, "application/json") {
            return Err(
                Error::UnsupportedMediaType("Send the body as application/json.".into()).into(),
            );
        }
        let bytes = body(req, state).await?;
        parse_json(&bytes).map(Self)
    }
}

/// A JSON body whatever its `Content-Type`, for the guide's endpoints that
/// carry no cookie (refresh, verify, token logout, CLI login): the
/// credential is in the body, so a cross-site sender gains nothing a
/// script could not do anyway, and `fetch` without headers sends
/// `text/plain`. Endpoints acting on the session cookie use [`ApiJson`],
/// whose `application/json` a cross-site form cannot send.
pub struct CookielessJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for CookielessJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = body(req, state).await?;
        parse_json(&bytes).map(Self)
    }
}

/// An [`ApiJson`] body's value (a plain function for the fuzz targets).
/// Every body is an object: serde would also take an array as a struct's
/// fields in order, which the documented API does not allow.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let invalid = |e: &dyn std::fmt::Display| {
        ApiError(Error::InvalidRequest(format!(
            "The JSON body is invalid: {e}"
        )))
    };
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(invalid(&"expected an object, not an array"));
    }
    serde_json::from_slice(bytes).map_err(|e| invalid(&e))
}

/// `Authorization: Basic` client credentials, each part form-urldecoded
/// (RFC 6749 §2.3.1).
pub struct BasicAuth(pub Option<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for BasicAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Self(None));
        };
        let value = value.to_str().map_err(|_| ApiError(Error::InvalidClient))?;
        parse_basic(value).map(Self)
    }
}

/// An `Authorization` header's client credentials: `None` unless the
/// scheme is Basic, `invalid_client` if its value does not decode to
/// `id:secret` (a plain function for the fuzz targets).
pub fn parse_basic(value: &str) -> Result<Option<(String, String)>, ApiError> {
    let Some(encoded) = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
    else {
        return Ok(None);
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(ApiError(Error::InvalidClient))?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or(ApiError(Error::InvalidClient))?;
    let dec = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((dec(id), dec(secret))))
}

impl BasicAuth {
    /// Client credentials from the header and the body's `client_id` and
    /// `client_secret`.
    pub fn credentials(
        self,
        body_id: Option<String>,
        body_secret: Option<String>,
    ) -> ClientCredentials {
        ClientCredentials {
            basic: self.0.map(|(id, secret)| (ClientId::new(id), secret)),
            body_id: body_id.map(ClientId::new),
            body_secret,
        }
    }
}

/// The request's `Origin` header, if it has one.
pub struct RequestOrigin(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for RequestOrigin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.headers.get(header::ORIGIN) {
            None => Ok(Self(None)),
            Some(v) => v
                .to_str()
                .map(|o| Self(Some(o.to_owned())))
                .map_err(|_| ApiError(Error::AccessDenied("Malformed Origin.".into()))),
        }
    }
}

/// A request that may act with the user's session cookie: its `Origin`,
/// when present, is OneAuth's own or a configured first-party origin
/// ([`AuthorizationServer::check_request_origin`]), never a client's.
/// Together with [`ApiJson`]'s required `Content-Type: application/json`
/// — which a cross-site form cannot send, and a cross-site script only
/// after a CORS preflight that other origins fail — no other site can make
/// a logged-in browser call these endpoints (the cookie is `SameSite=Lax`,
/// but sites on sibling subdomains count as same-site), and reads such as
/// `whoami` are refused to other origins outright.
///
/// [`AuthorizationServer::check_request_origin`]: oneauth_oauth2::AuthorizationServer::check_request_origin
pub struct TrustedOrigin;

impl FromRequestParts<AppState> for TrustedOrigin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let RequestOrigin(origin) = RequestOrigin::from_request_parts(parts, app).await?;
        app.server.check_request_origin(origin.as_deref()).await?;
        Ok(Self)
    }
}

/// The language of messages a request makes OneAuth send (codes by email
/// or SMS): the first tag of `Accept-Language`, English by default.
pub struct MessageLocale(pub oneauth_identity::Locale);

impl<S: Send + Sync> FromRequestParts<S> for MessageLocale {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let tag = parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split([',', ';']).next())
            .unwrap_or("en");
        Ok(Self(oneauth_identity::Locale::from_tag(tag.trim())))
    }
}

/// `Authorization: Bearer` (RFC 6750 §2.1).
pub struct Bearer(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|t| Self(t.trim().to_owned()))
            .ok_or_else(|| {
                ApiError(Error::InvalidToken(
                    "A bearer access token is required.".into(),
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        refresh_token: Option<String>,
        client_id: Option<String>,
    }

    #[test]
    fn a_json_array_is_not_a_request_body() {
        // serde alone reads `[null, null]` as `Body { None, None }`.
        for body in [&b"[null, null]"[..], b" \n[\"t\", \"c\"]"] {
            let e = parse_json::<Body>(body).unwrap_err();
            assert!(matches!(e.0, Error::InvalidRequest(_)), "{e:?}");
        }
        let ok: Body = parse_json(br#"{"refresh_token": "t"}"#).unwrap();
        assert_eq!(ok.refresh_token.as_deref(), Some("t"));
        assert!(parse_json::<Option<Body>>(b"null").unwrap().is_none());
    }

    #[test]
    fn repeated_parameters_are_refused_and_others_kept() {
        let map = parse_params(b"a=1&b=%20x+y&c=").unwrap();
        assert_eq!(map["b"], " x y");
        assert_eq!(map["c"], "");
        assert!(parse_params(b"a=1&b=2&a=1").is_err());
    }

    #[test]
    fn a_form_type_takes_its_parameters_and_ignores_others() {
        let form: oneauth_proto::oauth2::TokenForm =
            form_from(parse_params(b"grant_type=refresh_token&refresh_token=r%2B1&x=y").unwrap())
                .unwrap();
        assert_eq!(form.grant_type.as_deref(), Some("refresh_token"));
        assert_eq!(form.refresh_token.as_deref(), Some("r+1"));
        assert_eq!(form.code, None);
        let empty: oneauth_proto::oauth2::TokenForm = form_from(Params::new()).unwrap();
        assert_eq!(empty.grant_type, None);
    }

    #[test]
    fn basic_credentials_are_form_decoded_parts() {
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("my%20app:s%3Acret+x")
        );
        assert_eq!(
            parse_basic(&header).unwrap(),
            Some(("my app".into(), "s:cret x".into()))
        );
        assert_eq!(parse_basic("Bearer x").unwrap(), None);
        assert!(parse_basic("Basic !!!").is_err());
        assert!(parse_basic("Basic bm9jb2xvbg==").is_err()); // "nocolon"
    }
}
