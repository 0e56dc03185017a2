//! The device authorization endpoint (RFC 8628 §3.1–3.2). The device's
//! polls go to the token endpoint; the user's side is the login UI's
//! `/device` page.

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{BasicAuth, OAuthForm};
use crate::public::no_store;
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use oneauth_oauth2::grant::device_code::DeviceAuthorization;
use oneauth_proto::ErrorBody;
use serde::Deserialize;

/// RFC 8628 §3.1 device authorization request, each parameter at most once.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct DeviceAuthorizationForm {
    /// A public client names itself; a confidential one authenticates as
    /// at the token endpoint (Basic, or `client_secret` here).
    client_id: Option<String>,
    client_secret: Option<String>,
    /// Space-delimited, within the client's scopes.
    scope: Option<String>,
}

/// RFC 8628 §3.1: starts a device authorization for a client registered
/// for `urn:ietf:params:oauth:grant-type:device_code`.
#[utoipa::path(
    post,
    path = "/oauth2/device/auth",
    tag = "oauth2",
    request_body(content = DeviceAuthorizationForm, content_type = "application/x-www-form-urlencoded"),
    security((), ("client_secret_basic" = [])),
    responses(
        (status = 200, description = "RFC 8628 §3.2 device authorization response.", body = DeviceAuthorization),
        (status = 400, description = "`unauthorized_client` (the client is not registered for the grant), `invalid_scope`, `invalid_request`.", body = ErrorBody),
        (status = 401, description = "Client authentication failed (`invalid_client`).", body = ErrorBody),
        (status = 429, description = "Rate limited; see `Retry-After`.", body = ErrorBody),
    )
)]
pub async fn device_authorization_post(
    State(app): State<AppState>,
    basic: BasicAuth,
    OAuthForm(form): OAuthForm<DeviceAuthorizationForm>,
) -> ApiResult<Response> {
    let credentials = basic.credentials(form.client_id, form.client_secret);
    let client = app
        .server
        .authenticate_token_client(&credentials, app.clock.now())
        .await?;
    let started = app
        .server
        .authorize_device(&client, form.scope.as_deref(), app.clock.now())
        .await?;
    Ok(no_store(Json(started)))
}
