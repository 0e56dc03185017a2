//! Minting the token set: access token (opaque, or RFC 9068 JWT), refresh
//! token, id_token. Minting is separate from storing so a refresh can store
//! its successors inside the rotation's compare-and-swap.

use crate::{AuthorizationServer, R, internal};
use oneauth_core::config::{AccessTokenStrategy, SigningAlg};
use oneauth_crypto::{TokenKind, b64url};
use oneauth_proto::oauth2::GrantType;
use oneauth_store::{Client, Identity, Token};
use serde_json::{Value, json};
use time::OffsetDateTime;

pub use oneauth_proto::TokenResponse;

/// What one issuance is for.
pub struct Grant<'a> {
    pub grant_id: &'a str,
    pub client: &'a Client,
    pub identity: Option<&'a Identity>,
    pub scope: &'a [String],
    pub session_id: Option<&'a str>,
    pub auth_time: Option<i64>,
    pub amr: &'a [String],
    pub nonce: Option<&'a str>,
}

/// OIDC Core §3.1.3.6 `at_hash`: left half of the hash of the access token,
/// with the hash function of the signing algorithm (SHA-512 for Ed25519).
fn at_hash(alg: SigningAlg, access_token: &str) -> String {
    let digest = match alg {
        SigningAlg::RS256 | SigningAlg::ES256 => oneauth_crypto::sha256(access_token).to_vec(),
        SigningAlg::EdDSA => oneauth_crypto::sha512(access_token).to_vec(),
    };
    b64url(&digest[..digest.len() / 2])
}

/// Counts stored tokens by kind for `/metrics`.
pub(crate) fn count_issued(records: &[Token]) {
    for r in records {
        metrics::counter!("oneauth_tokens_issued_total", "kind" => r.kind.as_str()).increment(1);
    }
}

/// Claims a scope releases (OIDC Core §5.4).
pub fn scope_claims(
    identity: &Identity,
    scope: &[String],
    claims: &mut serde_json::Map<String, Value>,
) {
    let t = &identity.traits;
    if scope.iter().any(|s| s == "email")
        && let Some(email) = &t.email
    {
        claims.insert("email".into(), json!(email));
        claims.insert("email_verified".into(), json!(t.email_verified));
    }
    if scope.iter().any(|s| s == "phone")
        && let Some(phone) = &t.phone
    {
        claims.insert("phone_number".into(), json!(phone));
        claims.insert("phone_number_verified".into(), json!(t.phone_verified));
    }
    if scope.iter().any(|s| s == "profile") {
        if let Some(name) = &t.name {
            claims.insert("name".into(), json!(name));
        }
        if let Some(username) = &t.username {
            claims.insert("preferred_username".into(), json!(username));
        }
    }
}

impl AuthorizationServer {
    /// Mints and stores the token set of a grant.
    pub async fn issue_tokens(&self, g: Grant<'_>, now: OffsetDateTime) -> R<TokenResponse> {
        let (response, records) = self.mint_tokens(&g, now)?;
        self.store.insert_tokens(&records).await?;
        count_issued(&records);
        Ok(response)
    }

    /// The token set of a login that starts no browser session (the CLI's
    /// password login, a mini-program's code): a new grant, authenticated
    /// now by `amr`.
    pub async fn issue_sessionless(
        &self,
        client: &Client,
        identity: &Identity,
        scope: &[String],
        amr: &str,
        now: OffsetDateTime,
    ) -> R<TokenResponse> {
        let grant_id = uuid::Uuid::now_v7().to_string();
        let amr = [amr.to_owned()];
        let grant = Grant {
            grant_id: &grant_id,
            client,
            identity: Some(identity),
            scope,
            session_id: None,
            auth_time: Some(now.unix_timestamp()),
            amr: &amr,
            nonce: None,
        };
        self.issue_tokens(grant, now).await
    }

    /// Mints a token set and the records to store for it. A refresh token
    /// comes only with `offline`/`offline_access`, a user, and a client
    /// allowed to refresh; an id_token only with `openid` and a user.
    pub fn mint_tokens(
        &self,
        g: &Grant<'_>,
        now: OffsetDateTime,
    ) -> R<(TokenResponse, Vec<Token>)> {
        let t = &self.config.tokens;
        let iat = now.unix_timestamp();
        let record = |hash: String, kind, ttl: u64| Token {
            hash,
            kind,
            grant_id: g.grant_id.to_owned(),
            client_id: g.client.client_id.clone(),
            subject: g.identity.map(|i| i.id.clone()),
            scope: g.scope.to_vec(),
            session_id: g.session_id.map(str::to_owned),
            issued_at: iat,
            expires_at: iat + ttl as i64,
            used_at: None,
        };
        let strategy = g
            .client
            .access_token_strategy
            .unwrap_or(t.access_token_strategy);
        let (access_token, access_hash) = match strategy {
            AccessTokenStrategy::Opaque => {
                let (token, hash) =
                    self.minter
                        .mint(TokenKind::AccessToken, &t.access_token_prefix, now);
                (token, hash.0)
            }
            AccessTokenStrategy::Jwt => {
                let jwt = self.jwt_access_token(g, now)?;
                let hash = oneauth_crypto::TokenHash::of(&jwt).0;
                (jwt, hash)
            }
        };
        let mut records = vec![record(
            access_hash,
            oneauth_store::TokenKind::Access,
            t.access_token_ttl_secs,
        )];
        let offline = g
            .scope
            .iter()
            .any(|s| s == "offline" || s == "offline_access");
        let refresh_token =
            if offline && g.identity.is_some() && g.client.allows_grant(GrantType::RefreshToken) {
                let (rt, rt_hash) =
                    self.minter
                        .mint(TokenKind::RefreshToken, &t.refresh_token_prefix, now);
                records.push(record(
                    rt_hash.0,
                    oneauth_store::TokenKind::Refresh,
                    t.refresh_token_ttl_secs,
                ));
                Some(rt)
            } else {
                None
            };
        let id_token = match g.identity {
            Some(identity) if g.scope.iter().any(|s| s == "openid") => {
                Some(self.id_token(g, identity, &access_token, now)?)
            }
            _ => None,
        };
        let response = TokenResponse {
            access_token,
            refresh_token,
            id_token,
            token_type: "bearer".into(),
            // One second less than the stored lifetime, so a client that adds
            // this to its own (later) clock never outlives the server's view.
            expires_in: t.access_token_ttl_secs as i64 - 1,
            scope: g.scope.join(" "),
        };
        Ok((response, records))
    }

    /// RFC 9068 JWT access token, signed with the default algorithm.
    fn jwt_access_token(&self, g: &Grant<'_>, now: OffsetDateTime) -> R<String> {
        let alg = self.config.tokens.id_token_signing_alg;
        let keyring = self.keyring();
        let key = keyring
            .signer(alg)
            .ok_or_else(|| oneauth_core::Error::internal(format!("no {} key", alg.as_str())))?;
        let iat = now.unix_timestamp();
        let mut claims = json!({
            "iss": self.issuer(),
            "sub": g.identity.map_or(g.client.client_id.as_str(), |i| i.id.as_str()),
            "aud": [g.client.client_id],
            "client_id": g.client.client_id,
            "scope": g.scope.join(" "),
            "iat": iat,
            "exp": iat + self.config.tokens.access_token_ttl_secs as i64,
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        if let Some(at) = g.auth_time {
            claims["auth_time"] = json!(at);
        }
        key.sign_compact("at+jwt", &claims).map_err(internal)
    }

    /// OIDC Core §2 id_token, signed with the client's or the default algorithm.
    fn id_token(
        &self,
        g: &Grant<'_>,
        identity: &Identity,
        access_token: &str,
        now: OffsetDateTime,
    ) -> R<String> {
        let alg = g
            .client
            .id_token_signed_response_alg
            .as_deref()
            .and_then(SigningAlg::parse)
            .unwrap_or(self.config.tokens.id_token_signing_alg);
        let keyring = self.keyring();
        let key = keyring
            .signer(alg)
            .ok_or_else(|| oneauth_core::Error::internal(format!("no {} key", alg.as_str())))?;
        let iat = now.unix_timestamp();
        let mut claims = serde_json::Map::new();
        claims.insert("iss".into(), json!(self.issuer()));
        claims.insert("sub".into(), json!(identity.id));
        claims.insert("aud".into(), json!([g.client.client_id]));
        claims.insert(
            "exp".into(),
            json!(iat + self.config.tokens.id_token_ttl_secs as i64),
        );
        claims.insert("iat".into(), json!(iat));
        claims.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
        if let Some(at) = g.auth_time {
            claims.insert("auth_time".into(), json!(at));
        }
        if let Some(n) = g.nonce {
            claims.insert("nonce".into(), json!(n));
        }
        claims.insert("at_hash".into(), json!(at_hash(alg, access_token)));
        if let Some(sid) = g.session_id {
            claims.insert("sid".into(), json!(sid));
        }
        if !g.amr.is_empty() {
            claims.insert("amr".into(), json!(g.amr));
            // OIDC Core §2 `acr` describes the authentication event, which
            // only the id_token is about: userinfo and introspection carry
            // neither it nor `amr`.
            claims.insert("acr".into(), json!(crate::mfa::acr_for(g.amr)));
        }
        scope_claims(identity, g.scope, &mut claims);
        key.sign_compact("JWT", &Value::Object(claims))
            .map_err(internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_oidc_example() {
        // OIDC Core A.3: access token "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y" -> at_hash "77QmUPtjPfzWtF2AnpK9RQ".
        assert_eq!(
            at_hash(
                SigningAlg::RS256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
