//! The UI's text, one catalog per language. Templates take a `&Strings`, so
//! a missing string is a compile error, not a blank on a page.

pub struct Strings {
    pub lang: &'static str,
    pub sign_in: &'static str,
    pub to_continue_to: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    pub wrong_credentials: &'static str,
    pub authorize: &'static str,
    pub wants_access: &'static str,
    pub allow: &'static str,
    pub deny: &'static str,
    pub error: &'static str,
    pub error_code: &'static str,
    pub signed_in: &'static str,
    pub signed_in_text: &'static str,
    pub session_required: &'static str,
    pub csrf_failed: &'static str,
    pub logged_out: &'static str,
    pub logged_out_text: &'static str,
}

pub static EN: Strings = Strings {
    lang: "en",
    sign_in: "Sign in",
    to_continue_to: "to continue to",
    email: "Email",
    password: "Password",
    wrong_credentials: "The email or the password is wrong.",
    authorize: "Allow access?",
    wants_access: "asks for access to:",
    allow: "Allow",
    deny: "Deny",
    error: "Something went wrong",
    error_code: "Error code",
    signed_in: "Signed in",
    signed_in_text: "You are signed in. You can close this page.",
    session_required: "Your session has ended. Please sign in again.",
    csrf_failed: "The form expired. Please reload the page and try again.",
    logged_out: "Signed out",
    logged_out_text: "You are signed out.",
};

pub static ZH_CN: Strings = Strings {
    lang: "zh-CN",
    sign_in: "登录",
    to_continue_to: "以继续使用",
    email: "邮箱",
    password: "密码",
    wrong_credentials: "邮箱或密码错误。",
    authorize: "允许访问？",
    wants_access: "请求访问：",
    allow: "允许",
    deny: "拒绝",
    error: "出错了",
    error_code: "错误代码",
    signed_in: "已登录",
    signed_in_text: "您已登录，可以关闭此页面。",
    session_required: "会话已结束，请重新登录。",
    csrf_failed: "表单已过期，请刷新页面后重试。",
    logged_out: "已退出登录",
    logged_out_text: "您已退出登录。",
};

/// `ui_locales` (space-separated, in order) wins over `Accept-Language`.
pub fn pick(ui_locales: Option<&str>, accept_language: Option<&str>) -> &'static Strings {
    let from_ui = ui_locales.into_iter().flat_map(|l| l.split(' '));
    let from_header = accept_language
        .into_iter()
        .flat_map(|h| h.split(','))
        .map(|part| part.split(';').next().unwrap_or("").trim());
    for tag in from_ui.chain(from_header) {
        let tag = tag.to_ascii_lowercase();
        if tag.starts_with("zh") {
            return &ZH_CN;
        }
        if tag.starts_with("en") {
            return &EN;
        }
    }
    &EN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ui_locales_win_over_accept_language() {
        assert_eq!(pick(Some("zh-CN en"), Some("en-US")).lang, "zh-CN");
        assert_eq!(pick(None, Some("fr, zh;q=0.8")).lang, "zh-CN");
        assert_eq!(pick(Some("de"), None).lang, "en");
    }
}
