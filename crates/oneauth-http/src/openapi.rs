//! The OpenAPI 3.1 document of the public listener, served at
//! `GET /api/openapi.json`. utoipa builds it at compile time from the
//! handlers' `#[utoipa::path]` attributes and the wire types' `ToSchema`;
//! only what depends on the configuration (the server URL, the session
//! cookie's name) is filled in per request. No Swagger UI is bundled (its
//! crate downloads assets at build time); any OpenAPI viewer reads this.

use crate::AppState;
use crate::{identity, public, second_factor};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use oneauth_core::Config;
use oneauth_oauth2::logout::EndSessionRequest;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::server::Server;
use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};
use utoipa::{OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    components(schemas(EndSessionRequest)),
    info(
        title = "OneAuth public API",
        description = "The public listener of OneAuth: standard OAuth 2.0 / OpenID Connect, the integration guide's endpoints, the login and consent challenges for a custom UI, and the identity API a custom login UI uses instead of the built-in pages.\n\nEvery error is `{\"error\", \"error_description\", \"code\"}` with the HTTP status of the code's range (4xxx → 400 but 44xx → 4xx, 2xxx → 401, 3xxx → 403, 5xxx → 500 but 55xx → 5xx); a 429 has no `code` and carries `Retry-After`.\n\nIdentity API requests with a body must be `application/json`, and state-changing ones are refused when their `Origin` is neither OneAuth's nor a registered client's.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        identity::registration_post,
        identity::password_login_post,
        identity::login_code_send_post,
        identity::code_login_post,
        identity::verification_send_post,
        identity::verification_post,
        identity::recovery_send_post,
        identity::recovery_post,
        identity::settings_password_post,
        identity::settings_profile_patch,
        identity::whoami_get,
        identity::sessions_get,
        identity::sessions_delete,
        identity::session_delete,
        identity::social_providers_get,
        second_factor::second_factor_post,
        second_factor::passkey_options_post,
        second_factor::passkey_post,
        // TOTP and recovery codes (issue 17).
        crate::totp::totp_get,
        crate::totp::totp_post,
        crate::totp::totp_confirm_post,
        crate::totp::totp_delete,
        crate::totp::recovery_codes_get,
        crate::totp::recovery_codes_post,
        // Passkeys (issue 17).
        crate::passkeys::passkeys_get,
        crate::passkeys::passkey_registration_options_post,
        crate::passkeys::passkey_registration_post,
        crate::passkeys::passkey_patch,
        crate::passkeys::passkey_delete,
        crate::passkeys::passkey_login_options_post,
        crate::passkeys::passkey_login_post,
        public::discovery_get,
        public::jwks_get,
        public::authorize_get,
        public::token_post,
        crate::device::device_authorization_post,
        public::introspect_post,
        public::revoke_post,
        public::end_session,
        public::userinfo,
        public::refresh_post,
        public::verify_post,
        public::token_logout_post,
        public::session_logout_get,
        public::web_exchange_post,
        public::native_cli_post,
        crate::miniprogram::miniprogram_login_post,
        crate::miniprogram::miniprogram_phone_post,
        public::login_request_get,
        public::login_accept_put,
        public::consent_request_get,
        public::consent_accept_put,
        public::consent_reject_put,
        public::alive_get,
        public::ready_get,
        openapi_get,
    ),
    tags(
        (name = "identity", description = "Registration, login, verification, recovery, settings, sessions and passkeys as JSON, for a custom login UI. A login sets the session cookie as the built-in pages do."),
        (name = "oauth2", description = "OAuth 2.0 and OpenID Connect, as discovery advertises them."),
        (name = "guide", description = "The integration guide's own endpoints."),
        (name = "hydra", description = "Login and consent challenges, so a custom UI can replace the built-in pages."),
        (name = "health", description = "Liveness and readiness."),
    ),
)]
struct ApiDoc;

/// The document for this deployment: its issuer as the server, the
/// configured session cookie as a security scheme, and the token endpoint
/// also under the guide's path.
pub fn document(config: &Config) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.servers = Some(vec![Server::new(
        config.issuer.as_str().trim_end_matches('/'),
    )]);
    add_security_schemes(&mut doc, config);
    // One handler serves both paths; the guide uses the second.
    if let Some(item) = doc.paths.paths.get("/oauth2/token").cloned() {
        let mut guide = item;
        if let Some(op) = guide.post.as_mut() {
            op.operation_id = Some("token_post_guide".into());
            op.tags = Some(vec!["guide".into()]);
            op.summary = Some("The guide's path of the token endpoint.".into());
        }
        doc.paths.paths.insert("/api/oauth2/token".into(), guide);
    }
    // One handler reads the GET's query and the POST's form.
    if let Some(post) = doc
        .paths
        .paths
        .get_mut("/oauth2/sessions/logout")
        .and_then(|item| item.post.as_mut())
    {
        post.parameters = None;
        post.request_body = Some(
            RequestBodyBuilder::new()
                .content(
                    "application/x-www-form-urlencoded",
                    Content::new(Some(Ref::from_schema_name(EndSessionRequest::name()))),
                )
                .build()
                .into(),
        );
    }
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            add_parsing_errors(op);
        }
    }
    // A handler for two methods gives both the same operationId; OpenAPI
    // wants them unique.
    for item in doc.paths.paths.values_mut() {
        let ops = [
            ("post", &mut item.post),
            ("put", &mut item.put),
            ("patch", &mut item.patch),
            ("delete", &mut item.delete),
        ];
        let get_id = item.get.as_ref().and_then(|o| o.operation_id.clone());
        for (method, op) in ops {
            if let Some(op) = op
                && get_id.is_some()
                && op.operation_id == get_id
            {
                op.operation_id = op.operation_id.take().map(|id| format!("{id}_{method}"));
            }
        }
    }
    doc
}

/// The session cookie (by its configured name), bearer tokens and client
/// Basic authentication.
fn add_security_schemes(doc: &mut utoipa::openapi::OpenApi, config: &Config) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "session_cookie",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            config.session.cookie_name.clone(),
            "The login session cookie, set by a login.".to_owned(),
        ))),
    );
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    components.add_security_scheme(
        "client_secret_basic",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
    );
}

/// The answers every operation can give before its handler runs, from the
/// extractors (`crate::extract`): a body of another media type (415), over
/// the size limit (413), or that does not parse, and a repeated or
/// malformed parameter (400). Listed once here rather than on each handler.
fn add_parsing_errors(op: &mut Operation) {
    let has_body = op.request_body.is_some();
    let has_query = op.parameters.as_ref().is_some_and(|ps| {
        ps.iter()
            .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query))
    });
    let mut errors = Vec::new();
    if has_body || has_query {
        errors.push((
            "400",
            "A parameter is repeated or malformed, or the body does not parse.",
        ));
    }
    if has_body {
        errors.push(("413", "The body is over the size limit."));
        errors.push(("415", "The body is not of the documented media type."));
    }
    for (status, description) in errors {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| {
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        Content::new(Some(Ref::from_schema_name("ErrorBody"))),
                    )
                    .build()
                    .into()
            });
    }
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "health",
    responses((status = 200, description = "OpenAPI 3.1.", body = Object, content_type = "application/json"))
)]
pub async fn openapi_get(State(app): State<AppState>) -> Response {
    match document(&app.config).to_json() {
        Ok(json) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "public, max-age=300"),
            ],
            json,
        )
            .into_response(),
        Err(e) => crate::error::ApiError(oneauth_core::Error::Internal(e.into())).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_and_every_reference_resolves() {
        let json = document(&Config::default()).to_pretty_json().unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["openapi"], "3.1.0");
        let schemas = v["components"]["schemas"].as_object().unwrap();
        let mut refs = Vec::new();
        collect_refs(&v, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unexpected reference {r}"));
            assert!(schemas.contains_key(name), "{r} does not resolve");
        }
        let mut ids = std::collections::HashSet::new();
        for (path, item) in v["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap_or_default().to_owned();
                assert!(
                    ids.insert(id.clone()),
                    "{method} {path}: operationId {id} repeats"
                );
            }
        }
    }

    #[test]
    fn every_operation_lists_the_extractors_refusals() {
        let v = serde_json::to_value(document(&Config::default())).unwrap();
        for (path, item) in v["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let has = |status: &str| op["responses"].get(status).is_some();
                if op.get("requestBody").is_some() {
                    for status in ["400", "413", "415"] {
                        assert!(has(status), "{method} {path} does not list {status}");
                    }
                }
            }
        }
        // The form POST of RP-initiated logout reads a form, not the query.
        let post = &v["paths"]["/oauth2/sessions/logout"]["post"];
        assert!(post.get("parameters").is_none());
        assert!(
            post["requestBody"]["content"]
                .get("application/x-www-form-urlencoded")
                .is_some()
        );
    }

    fn collect_refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v) {
                        ("$ref", serde_json::Value::String(s)) => out.push(s.clone()),
                        _ => collect_refs(v, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
            _ => {}
        }
    }
}
