//! The admin listener (127.0.0.1:8082 by default): clients in RFC 7591
//! metadata shape (as Hydra's admin API), identities. With `admin_token`
//! set, every request needs it as a bearer token.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use oneauth_core::Error;
use oneauth_oauth2::client::{ClientRegistration, ClientView};
use oneauth_proto::id::{ClientId, IdentityId};
use serde::{Deserialize, Serialize};

/// Rejects requests without the configured admin token (when one is set).
/// Without a token, the loopback address is all that guards the listener,
/// and a web page can reach it by DNS rebinding (its name re-resolved to
/// 127.0.0.1): such requests carry the page's name as `Host`, so only
/// loopback names are answered. A token needs no such check: no browser
/// sends it on its own.
pub async fn require_token(
    State(app): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let expected = &app.config.admin_token;
    if expected.is_empty() {
        // HTTP/2 names the host in the URI (`:authority`), HTTP/1.1 in
        // `Host`: every name given must be a loopback one.
        let uri_host = req.uri().authority().map(|a| a.as_str());
        let host_header = req
            .headers()
            .get(header::HOST)
            .map(|v| v.to_str().unwrap_or_default());
        let mut named = uri_host.into_iter().chain(host_header).peekable();
        if named.peek().is_none() || !named.all(oneauth_core::net::is_loopback_authority) {
            return ApiError(Error::AccessDenied(
                "Without an admin_token, the admin listener only answers requests addressed to localhost, 127.0.0.1 or [::1] (Host header).".into(),
            ))
            .into_response();
        }
    } else {
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !oneauth_crypto::ct_eq(presented.as_bytes(), expected.as_bytes()) {
            return ApiError(Error::AdminUnauthorized).into_response();
        }
    }
    next.run(req).await
}

pub async fn clients_post(
    State(app): State<AppState>,
    ApiJson(reg): ApiJson<ClientRegistration>,
) -> ApiResult<Response> {
    let view = app.server.create_client(reg, app.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

pub async fn clients_get(State(app): State<AppState>) -> ApiResult<Json<Vec<ClientView>>> {
    Ok(Json(app.server.list_clients().await?))
}

fn no_client(id: &ClientId) -> ApiError {
    ApiError(Error::NotFound(format!("No client `{id}`.")))
}

pub async fn client_get(
    State(app): State<AppState>,
    Path(id): Path<ClientId>,
) -> ApiResult<Json<ClientView>> {
    let view = app
        .server
        .client_view(&id)
        .await?
        .ok_or_else(|| no_client(&id))?;
    Ok(Json(view))
}

pub async fn client_put(
    State(app): State<AppState>,
    Path(id): Path<ClientId>,
    ApiJson(reg): ApiJson<ClientRegistration>,
) -> ApiResult<Json<ClientView>> {
    if reg.client_id.as_deref().is_some_and(|c| c != id.as_str()) {
        return Err(Error::InvalidClientMetadata("client_id cannot be changed.".into()).into());
    }
    let view = app
        .server
        .update_client(id.as_str(), reg, app.clock.now())
        .await?
        .ok_or_else(|| no_client(&id))?;
    Ok(Json(view))
}

pub async fn client_delete(
    State(app): State<AppState>,
    Path(id): Path<ClientId>,
) -> ApiResult<StatusCode> {
    if app.server.delete_client(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_client(&id))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityCreate {
    email: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// An identity as the admin API shows it: never the password hash.
#[derive(Serialize)]
pub struct IdentityView {
    id: String,
    state: oneauth_store::IdentityState,
    traits: oneauth_store::Traits,
    has_password: bool,
    created_at: i64,
    updated_at: i64,
}

impl From<oneauth_store::Identity> for IdentityView {
    fn from(i: oneauth_store::Identity) -> Self {
        Self {
            has_password: i.password_hash.is_some(),
            id: i.id,
            state: i.state,
            traits: i.traits,
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

pub async fn identities_post(
    State(app): State<AppState>,
    ApiJson(body): ApiJson<IdentityCreate>,
) -> ApiResult<Response> {
    let identity = app
        .server
        .create_identity(
            &body.email,
            body.password.as_deref(),
            body.name,
            app.clock.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(IdentityView::from(identity))).into_response())
}

pub async fn identities_get(State(app): State<AppState>) -> ApiResult<Json<Vec<IdentityView>>> {
    let all = app.server.list_identities().await?;
    Ok(Json(all.into_iter().map(IdentityView::from).collect()))
}

fn no_identity(id: &IdentityId) -> ApiError {
    ApiError(Error::NotFound(format!("No identity `{id}`.")))
}

pub async fn identity_get(
    State(app): State<AppState>,
    Path(id): Path<IdentityId>,
) -> ApiResult<Json<IdentityView>> {
    let identity = app
        .server
        .identity(&id)
        .await?
        .ok_or_else(|| no_identity(&id))?;
    Ok(Json(identity.into()))
}

pub async fn identity_delete(
    State(app): State<AppState>,
    Path(id): Path<IdentityId>,
) -> ApiResult<StatusCode> {
    if app.server.delete_identity(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_identity(&id))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityPatch {
    state: oneauth_store::IdentityState,
}

/// Disables (or re-enables) an identity. Disabling revokes its sessions and
/// tokens at once.
pub async fn identity_patch(
    State(app): State<AppState>,
    Path(id): Path<IdentityId>,
    ApiJson(body): ApiJson<IdentityPatch>,
) -> ApiResult<Json<IdentityView>> {
    let identity = app
        .server
        .set_identity_state(&id, body.state, app.clock.now())
        .await?
        .ok_or_else(|| no_identity(&id))?;
    Ok(Json(identity.into()))
}
