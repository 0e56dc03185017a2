//! The guide's page parameters ("Login/Register UI Customization"). They
//! travel in every link and form between the login and register pages (and
//! recovery), so a setting made by the client app holds for the whole visit.

use serde::{Deserialize, Serialize, Serializer};

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Params {
    pub login_challenge: Option<String>,
    pub return_to: Option<String>,
    /// `password,phone,email`: the login tabs shown.
    pub login_methods: Option<String>,
    pub enable_social: Option<String>,
    /// `password`, `phone` or `email`: the tab that opens first.
    pub default_method: Option<String>,
    /// `normal` or `popup`.
    pub mode: Option<String>,
    /// `email`, `phone` or `both`.
    pub verify_method: Option<String>,
    pub confirm_password: Option<String>,
    pub require_username: Option<String>,
    pub require_name: Option<String>,
    /// Prefills.
    pub email: Option<String>,
    pub phone: Option<String>,
    pub ui_locales: Option<String>,
}

fn flag(v: &Option<String>) -> bool {
    matches!(v.as_deref(), Some("true" | "1" | "yes"))
}

/// The guide's method names (`phone`, `email`) and ours (`sms_code`,
/// `email_code`) both name a method.
pub fn method_name(guide: &str) -> Option<&'static str> {
    match guide.trim() {
        "password" => Some("password"),
        "email" | "email_code" => Some("email_code"),
        "phone" | "sms" | "sms_code" => Some("sms_code"),
        _ => None,
    }
}

/// As [`Params::pairs`]: only the parameters given, so an operator
/// template writes `params|urlencode` for links and loops over
/// `params|items` for hidden fields, as the built-in pages do.
impl Serialize for Params {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.pairs())
    }
}

impl Params {
    /// Every non-empty parameter, in a fixed order.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("login_challenge", &self.login_challenge),
            ("return_to", &self.return_to),
            ("login_methods", &self.login_methods),
            ("enable_social", &self.enable_social),
            ("default_method", &self.default_method),
            ("mode", &self.mode),
            ("verify_method", &self.verify_method),
            ("confirm_password", &self.confirm_password),
            ("require_username", &self.require_username),
            ("require_name", &self.require_name),
            ("email", &self.email),
            ("phone", &self.phone),
            ("ui_locales", &self.ui_locales),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().filter(|v| !v.is_empty()).map(|v| (k, v)))
        .collect()
    }

    /// The parameters as a query string (without `?`).
    pub fn query(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.pairs())
            .finish()
    }

    /// The same with one more pair, for tab links.
    pub fn query_with(&self, key: &str, value: &str) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.pairs())
            .append_pair(key, value)
            .finish()
    }

    pub fn popup(&self) -> bool {
        self.mode.as_deref() == Some("popup")
    }

    pub fn confirm_password(&self) -> bool {
        flag(&self.confirm_password)
    }

    pub fn require_username(&self) -> bool {
        flag(&self.require_username)
    }

    pub fn require_name(&self) -> bool {
        flag(&self.require_name)
    }

    pub fn social(&self) -> bool {
        flag(&self.enable_social)
    }

    /// The login tabs: the configured methods, narrowed and ordered by
    /// `login_methods` when given (unknown names are ignored; a list that
    /// names none of the configured methods falls back to all of them).
    pub fn methods(&self, configured: &[&'static str]) -> Vec<&'static str> {
        let Some(wanted) = self.login_methods.as_deref() else {
            return configured.to_vec();
        };
        let mut out: Vec<&'static str> = Vec::new();
        for m in wanted.split(',').filter_map(method_name) {
            if configured.contains(&m) && !out.contains(&m) {
                out.push(m);
            }
        }
        if out.is_empty() {
            configured.to_vec()
        } else {
            out
        }
    }

    /// Passkeys (issue 17): whether the page offers passkey sign-in, by
    /// `login_methods` (when given, it names `passkey`).
    pub fn offers_passkey(&self) -> bool {
        self.login_methods
            .as_deref()
            .is_none_or(|l| l.split(',').any(|m| m.trim() == "passkey"))
    }

    /// `login_methods` names `passkey` and none of the `configured`
    /// methods with fields: the page shows only the passkey sign-in.
    pub fn passkey_only(&self, configured: &[&'static str]) -> bool {
        self.login_methods.as_deref().is_some_and(|l| {
            self.offers_passkey()
                && !l
                    .split(',')
                    .filter_map(method_name)
                    .any(|m| configured.contains(&m))
        })
    }

    /// `default_method=passkey`: the passkey sign-in comes first.
    pub fn passkey_first(&self) -> bool {
        self.default_method.as_deref().map(str::trim) == Some("passkey")
    }

    /// The tab to open: the one asked for (a tab link), else
    /// `default_method`, else the first.
    pub fn active_method(&self, asked: Option<&str>, methods: &[&'static str]) -> &'static str {
        asked
            .into_iter()
            .chain(self.default_method.as_deref())
            .filter_map(method_name)
            .find(|m| methods.contains(m))
            .unwrap_or(methods[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_methods_narrow_and_order_the_tabs() {
        let all = ["password", "email_code", "sms_code"];
        let p = Params {
            login_methods: Some("phone,password,fax".into()),
            default_method: Some("phone".into()),
            ..Default::default()
        };
        assert_eq!(p.methods(&all), ["sms_code", "password"]);
        assert_eq!(p.active_method(None, &p.methods(&all)), "sms_code");
        assert_eq!(
            p.active_method(Some("password"), &p.methods(&all)),
            "password"
        );
        assert_eq!(
            p.active_method(Some("email"), &p.methods(&all)),
            "sms_code",
            "a tab that is not offered cannot be opened"
        );
        assert_eq!(Params::default().methods(&all), all);
    }

    #[test]
    fn login_methods_may_name_passkey() {
        let all = ["password", "email_code", "sms_code"];
        let only = Params {
            login_methods: Some("passkey".into()),
            default_method: Some("passkey".into()),
            ..Default::default()
        };
        assert!(only.offers_passkey() && only.passkey_only(&all) && only.passkey_first());
        let both = Params {
            login_methods: Some("password, passkey".into()),
            ..Default::default()
        };
        assert!(both.offers_passkey() && !both.passkey_only(&all) && !both.passkey_first());
        assert_eq!(both.methods(&all), ["password"]);
        let without = Params {
            login_methods: Some("phone".into()),
            ..Default::default()
        };
        assert!(!without.offers_passkey() && !without.passkey_only(&all));
        assert!(Params::default().offers_passkey() && !Params::default().passkey_only(&all));
    }

    #[test]
    fn parameters_survive_a_round_trip_through_links() {
        let p = Params {
            return_to: Some("https://app.example/after?x=1&y=2".into()),
            verify_method: Some("both".into()),
            email: Some("a+b@example.com".into()),
            ..Default::default()
        };
        let back: Params = serde_urlencoded_from(&p.query());
        assert_eq!(back.return_to, p.return_to);
        assert_eq!(back.email, p.email);
        assert_eq!(back.verify_method.as_deref(), Some("both"));
    }

    fn serde_urlencoded_from(q: &str) -> Params {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect();
        let v = serde_json::Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (k, serde_json::Value::String(v)))
                .collect(),
        );
        serde_json::from_value(v).unwrap()
    }
}
