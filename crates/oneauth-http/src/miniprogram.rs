//! Mini-program endpoints on the public listener: login by the platform's
//! code, and phone binding. Cookieless JSON like the guide's refresh: the
//! credential is in the body (a one-time platform code) or the bearer
//! token. They get no CORS for client origins (they are neither in
//! `cross_origin_kind`'s token list nor the silent exchange): a
//! mini-program's requests (`wx.request`) come from the platform's
//! runtime, not from a browser origin, and no web page has a login code to
//! send.

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Bearer, CookielessJson};
use crate::public::no_store;
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use oneauth_oauth2::miniprogram::{MiniProgramLogin, MiniProgramPhone, PhoneBinding};
use oneauth_proto::{ErrorBody, TokenResponse};

/// Login with the code of `wx.login()`.
#[utoipa::path(
    post,
    path = "/api/oauth/miniprogram/login",
    tag = "guide",
    request_body = MiniProgramLogin,
    responses(
        (status = 200, description = "The token set, as the token endpoint answers it, with the client's registered scope: a refresh token with `offline`, an id_token with `openid` (`amr` = `miniprogram`).", body = TokenResponse),
        (status = 400, description = "`unauthorized_client` (4014): no mini-program is configured for the client, or it is not registered.", body = ErrorBody),
        (status = 401, description = "`invalid_platform_code` (2009): the platform refused the code (wrong, expired or used).", body = ErrorBody),
        (status = 403, description = "`access_denied` (3001): the account is disabled.", body = ErrorBody),
        (status = 429, description = "Rate limited, here or at the platform; see `Retry-After`.", body = ErrorBody),
        (status = 500, description = "`platform_error` (5003): the platform refused the app (its error number in the description).", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable` (5503): the platform did not answer in time; nothing was created.", body = ErrorBody),
    )
)]
pub async fn miniprogram_login_post(
    State(app): State<AppState>,
    CookielessJson(body): CookielessJson<MiniProgramLogin>,
) -> ApiResult<Response> {
    let tokens = app.server.miniprogram_login(body, app.clock.now()).await?;
    Ok(no_store(Json(tokens)))
}

/// Binds the phone number of the `getPhoneNumber` button's code to the
/// user of the access token (from a login of the same mini-program).
#[utoipa::path(
    post,
    path = "/api/oauth/miniprogram/phone",
    tag = "guide",
    request_body = MiniProgramPhone,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The number is the account's, verified; with `merged`, the account was joined to the one that had verified it (log in again).", body = PhoneBinding),
        (status = 400, description = "`already_exists` (4009): another account has the number and the two cannot be joined safely; or `unauthorized_client` (4014): the token's client is not a mini-program.", body = ErrorBody),
        (status = 401, description = "`invalid_token` (2003) or `invalid_platform_code` (2009).", body = ErrorBody),
        (status = 429, description = "Rate limited, here or at the platform; see `Retry-After`.", body = ErrorBody),
        (status = 500, description = "`platform_error` (5003): the platform refused the app.", body = ErrorBody),
        (status = 503, description = "`temporarily_unavailable` (5503): the platform did not answer in time.", body = ErrorBody),
    )
)]
pub async fn miniprogram_phone_post(
    State(app): State<AppState>,
    Bearer(token): Bearer,
    CookielessJson(body): CookielessJson<MiniProgramPhone>,
) -> ApiResult<Json<PhoneBinding>> {
    let now = app.clock.now();
    Ok(Json(app.server.miniprogram_phone(&token, body, now).await?))
}
