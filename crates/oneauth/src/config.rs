//! Configuration: defaults < TOML file (`--config`) < `ONEAUTH_*`
//! environment (nested keys with `__`, e.g. `ONEAUTH_LISTEN__PUBLIC`) < flags.

use figment::Figment;
use figment::providers::{Env, Format as _, Serialized, Toml};
use oneauth_core::Config;
use std::path::Path;

/// Loads the configuration. `overrides` are the flags given, as a nested
/// JSON object in the shape of [`Config`].
pub fn load(file: Option<&Path>, overrides: serde_json::Value) -> anyhow::Result<Config> {
    let defaults = Config::default();
    let top_level: Vec<String> = match serde_json::to_value(&defaults)? {
        serde_json::Value::Object(m) => m.keys().cloned().collect(),
        _ => vec![],
    };
    let mut fig = Figment::from(Serialized::defaults(defaults));
    if let Some(path) = file {
        if !path.exists() {
            anyhow::bail!("config file {} does not exist", path.display());
        }
        fig = fig.merge(Toml::file(path));
    }
    // Only names of settings: other ONEAUTH_* variables (a test harness's,
    // say) are not ours to reject. `ONEAUTH_LOG` is the tracing filter
    // (read by the logger), not the `[log]` section.
    let env = Env::prefixed("ONEAUTH_").split("__").filter(move |key| {
        let first = key.as_str().split('.').next().unwrap_or("");
        !key.as_str().eq_ignore_ascii_case("log")
            && top_level.iter().any(|k| k.eq_ignore_ascii_case(first))
    });
    let config: Config = fig
        .merge(env)
        .merge(Serialized::defaults(overrides))
        .extract()
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    Ok(config)
}

#[cfg(test)]
// figment::Jail's closure type returns figment's (large) error; not ours to shrink.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn file_then_env_then_flags() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "oneauth.toml",
                "issuer = \"https://file.example\"\nui_url = \"https://ui.file.example\"\n[tokens]\naccess_token_ttl_secs = 60\n",
            )?;
            jail.set_env("ONEAUTH_UI_URL", "https://ui.env.example");
            jail.set_env("ONEAUTH_TOKENS__ID_TOKEN_TTL_SECS", "120");
            jail.set_env("ONEAUTH_SOMETHING_ELSE", "not a setting, ignored");
            jail.set_env("ONEAUTH_LOG", "warn,oneauth=debug");
            let c = load(
                Some(Path::new("oneauth.toml")),
                serde_json::json!({ "tokens": { "id_token_ttl_secs": 30 } }),
            )
            .map_err(|e| e.to_string())?;
            assert_eq!(c.issuer.as_str(), "https://file.example/");
            assert_eq!(c.ui_url.as_str(), "https://ui.env.example/");
            assert_eq!(c.tokens.access_token_ttl_secs, 60);
            assert_eq!(c.tokens.id_token_ttl_secs, 30, "flags win over env");
            assert_eq!(c.tokens.refresh_token_ttl_secs, 30 * 24 * 3600);
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_unsafe_admin_binds_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "isuer = \"typo\"\n")?;
            assert!(load(Some(Path::new("bad.toml")), serde_json::json!({})).is_err());
            let open_admin = serde_json::json!({ "listen": { "admin": "0.0.0.0:8082" } });
            assert!(load(None, open_admin).is_err());
            Ok(())
        });
    }

    #[test]
    fn first_party_origins_are_bare_origins() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "cors.toml",
                "[cors]\nfirst_party_origins = [\"https://account.example\", \"http://127.0.0.1:4000\"]\n",
            )?;
            let c = load(Some(Path::new("cors.toml")), serde_json::json!({}))
                .map_err(|e| e.to_string())?;
            let origins: Vec<String> = c
                .cors
                .first_party_origins
                .iter()
                .map(|u| u.origin().ascii_serialization())
                .collect();
            assert_eq!(
                origins,
                ["https://account.example", "http://127.0.0.1:4000"]
            );
            assert_eq!(c.session.privileged_max_age_secs, 600);
            for bad in [
                "https://account.example/path",
                "https://user@account.example",
                "ftp://account.example",
                "https://account.example/?q",
            ] {
                let err = load(
                    None,
                    serde_json::json!({ "cors": { "first_party_origins": [bad] } }),
                )
                .expect_err(bad)
                .to_string();
                assert!(err.contains("cors.first_party_origins"), "{bad}: {err}");
            }
            Ok(())
        });
    }

    #[test]
    fn social_providers_come_from_toml_and_bad_ones_fail_start_up_clearly() {
        use oneauth_core::config::SocialKind;
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "social.toml",
                r#"
[[social.providers]]
id = "corp"
display_name = "Corp SSO"
kind = "oidc"
issuer = "https://sso.corp.example"
client_id = "oneauth"
client_secret = "s3cret-from-the-idp"

[[social.providers]]
id = "github"
display_name = "GitHub"
kind = "oauth2"
client_id = "Iv1.abc"
client_secret = "gh-secret"
"#,
            )?;
            let c = load(Some(Path::new("social.toml")), serde_json::json!({}))
                .map_err(|e| e.to_string())?;
            let [corp, github] = &c.social.providers[..] else {
                panic!("two providers");
            };
            assert_eq!(corp.kind, SocialKind::Oidc);
            assert!(corp.pkce && corp.scopes.is_empty());
            assert_eq!(github.kind, SocialKind::OAuth2);
            assert_eq!(
                github.oauth2.emails_url.as_str(),
                "https://api.github.com/user/emails",
                "GitHub's endpoints by default"
            );
            assert!(!format!("{c:?}").contains("s3cret-from-the-idp"));

            let refused = |provider: serde_json::Value| {
                let overrides = serde_json::json!({ "social": { "providers": [provider] } });
                load(None, overrides).unwrap_err().to_string()
            };
            let base = serde_json::json!({
                "id": "corp", "display_name": "Corp", "kind": "oidc",
                "issuer": "https://sso.corp.example", "client_id": "x", "client_secret": "y",
            });
            let with = |k: &str, v: serde_json::Value| {
                let mut p = base.clone();
                p[k] = v;
                p
            };
            assert!(refused(with("issuer", serde_json::Value::Null)).contains("needs issuer"));
            assert!(refused(with("client_secret", "".into())).contains("client_secret"));
            assert!(refused(with("id", "Corp SSO".into())).contains("a-z, 0-9"));
            assert!(refused(with("kind", "saml".into())).contains("kind"));
            let twice = serde_json::json!({ "social": { "providers": [base.clone(), base] } });
            assert!(load(None, twice).unwrap_err().to_string().contains("twice"));
            Ok(())
        });
    }
}
