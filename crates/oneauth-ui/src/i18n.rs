//! The UI's text, one catalog per language. Templates take a `&Strings`, so
//! a missing string is a compile error, not a blank on a page. Handlers
//! never hold text of their own: every word on a page comes from here.
//! Serialized, the catalog is `c.t` in operator templates.

#[derive(serde::Serialize)]
pub struct Strings {
    pub lang: &'static str,
    pub sign_in: &'static str,
    pub to_continue_to: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    pub wrong_credentials: &'static str,
    pub authorize: &'static str,
    pub wants_access: &'static str,
    /// The consent page's lines about the client: where answers go, and
    /// its links.
    pub answers_go_to: &'static str,
    pub client_website: &'static str,
    pub client_policy: &'static str,
    pub client_tos: &'static str,
    pub allow: &'static str,
    pub deny: &'static str,
    pub error: &'static str,
    pub error_code: &'static str,
    pub signed_in: &'static str,
    pub signed_in_text: &'static str,
    pub session_required: &'static str,
    pub csrf_failed: &'static str,
    /// Error summaries by code range: 4xxx, 2xxx, 3xxx, 5xxx.
    pub error_request: &'static str,
    pub error_auth: &'static str,
    pub error_denied: &'static str,
    pub error_server: &'static str,
    /// Error sentences for the kinds that reach the error page.
    pub error_redirect_uri: &'static str,
    pub error_challenge: &'static str,
    pub error_social_state: &'static str,
    pub error_social_failed: &'static str,
    pub error_unavailable: &'static str,
    /// The error page's request id line and its way on.
    pub request_id: &'static str,
    pub back_to_app: &'static str,
    pub logged_out: &'static str,
    pub logged_out_text: &'static str,
    /// The logout confirmation page (a logout request without proof that
    /// it comes from the session's own app).
    pub sign_out_confirm: &'static str,
    pub sign_out_confirm_text: &'static str,
    pub sign_out_button: &'static str,
    pub tab_password: &'static str,
    pub tab_email_code: &'static str,
    pub tab_sms_code: &'static str,
    pub login_methods: &'static str,
    pub identifier: &'static str,
    pub phone: &'static str,
    pub phone_hint: &'static str,
    pub code: &'static str,
    pub code_hint: &'static str,
    pub send_code: &'static str,
    pub resend_code: &'static str,
    pub code_sent: &'static str,
    pub wrong_code: &'static str,
    /// A wrong code that still has tries: `{n}` is how many.
    pub wrong_code_tries: &'static str,
    pub wait_before_resend: &'static str,
    pub too_many_attempts: &'static str,
    pub invalid_email: &'static str,
    pub invalid_phone: &'static str,
    pub no_account: &'static str,
    pub create_account: &'static str,
    pub have_account: &'static str,
    pub forgot_password: &'static str,
    /// A social login button; `{name}` is the provider's display name.
    pub social_button: &'static str,
    /// Between the form and the social login buttons.
    pub social_or: &'static str,
    pub register: &'static str,
    pub register_button: &'static str,
    pub username: &'static str,
    pub username_taken: &'static str,
    pub invalid_username: &'static str,
    pub name: &'static str,
    pub new_password: &'static str,
    pub confirm_password: &'static str,
    pub passwords_differ: &'static str,
    pub password_hint: &'static str,
    pub password_too_short: &'static str,
    pub password_common: &'static str,
    pub password_is_identifier: &'static str,
    pub field_required: &'static str,
    pub verify: &'static str,
    pub verify_text: &'static str,
    pub verify_button: &'static str,
    pub verified: &'static str,
    pub verified_text: &'static str,
    pub address: &'static str,
    pub recovery: &'static str,
    pub recovery_text: &'static str,
    pub reset_button: &'static str,
    pub password_reset: &'static str,
    pub settings: &'static str,
    pub profile: &'static str,
    pub save: &'static str,
    pub saved: &'static str,
    pub change_password: &'static str,
    pub current_password: &'static str,
    pub password_changed: &'static str,
    pub wrong_password: &'static str,
    pub reauth_needed: &'static str,
    pub sign_in_again: &'static str,
    pub sessions: &'static str,
    pub this_session: &'static str,
    pub signed_in_at: &'static str,
    /// A session's line: `{browser}` and `{device}` from its User-Agent,
    /// or one of them, or `unknown_browser` for neither.
    pub browser_on_device: &'static str,
    pub unknown_browser: &'static str,
    pub last_used: &'static str,
    pub ip_address: &'static str,
    pub end_session: &'static str,
    pub session_ended: &'static str,
    pub end_other_sessions: &'static str,
    pub other_sessions_ended: &'static str,
    pub sign_out: &'static str,
    pub back_to_sign_in: &'static str,
    pub skip_to_content: &'static str,
    pub popup_done: &'static str,
    pub scope_openid: &'static str,
    pub scope_profile: &'static str,
    pub scope_email: &'static str,
    pub scope_phone: &'static str,
    pub scope_offline: &'static str,
    pub verified_badge: &'static str,
    pub unverified_badge: &'static str,
    pub verify_now: &'static str,
}

impl Strings {
    /// The plain-words description of a scope on the consent page.
    pub fn scope(&self, scope: &str) -> Option<&'static str> {
        Some(match scope {
            "openid" => self.scope_openid,
            "profile" => self.scope_profile,
            "email" => self.scope_email,
            "phone" => self.scope_phone,
            "offline" | "offline_access" => self.scope_offline,
            _ => return None,
        })
    }

    /// Why a code was refused: with the tries left when the error counts
    /// them (see [`Error::InvalidCode`]), else wrong or expired.
    pub fn code_refused(&self, e: &oneauth_core::Error) -> String {
        match e {
            oneauth_core::Error::InvalidCode {
                tries_left: Some(n @ 1..),
            } => self.wrong_code_tries.replace("{n}", &n.to_string()),
            _ => self.wrong_code.into(),
        }
    }

    /// What a session's login came from, from its parsed User-Agent.
    pub fn device_line(&self, browser: Option<&str>, device: Option<&str>) -> String {
        match (browser, device) {
            (Some(b), Some(d)) => self
                .browser_on_device
                .replace("{browser}", b)
                .replace("{device}", d),
            (Some(one), None) | (None, Some(one)) => one.into(),
            (None, None) => self.unknown_browser.into(),
        }
    }

    /// The password hint with the configured minimum filled in.
    pub fn password_hint_for(&self, min: usize) -> String {
        self.password_hint.replace("{min}", &min.to_string())
    }
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
    answers_go_to: "It will receive your answer at",
    client_website: "Website",
    client_policy: "Privacy policy",
    client_tos: "Terms of service",
    allow: "Allow",
    deny: "Deny",
    error: "Something went wrong",
    error_code: "Error code",
    signed_in: "Signed in",
    signed_in_text: "You are signed in. You can close this page.",
    session_required: "Your session has ended. Please sign in again.",
    csrf_failed: "The form expired. Please reload the page and try again.",
    error_request: "The request from the application is not valid: a part is missing, repeated or malformed.",
    error_auth: "Authentication failed.",
    error_denied: "Access is denied.",
    error_server: "The server could not complete the request. Please try again later.",
    error_redirect_uri: "The application asked to send you back to an address it has not registered, so you were not sent there.",
    error_challenge: "This sign-in step has expired or was already used. Start again from the application.",
    error_social_state: "The sign-in with the external provider expired or was started in another browser. Start again.",
    error_social_failed: "The external sign-in provider did not complete the sign-in.",
    error_unavailable: "The service is briefly unavailable. Please try again in a moment.",
    request_id: "Request ID (for support)",
    back_to_app: "Back to the application",
    logged_out: "Signed out",
    logged_out_text: "You are signed out.",
    sign_out_confirm: "Sign out?",
    sign_out_confirm_text: "Do you want to sign out of this browser?",
    sign_out_button: "Sign out",
    tab_password: "Password",
    tab_email_code: "Email code",
    tab_sms_code: "SMS code",
    login_methods: "Sign-in methods",
    identifier: "Email, phone or username",
    phone: "Phone number",
    phone_hint: "With country code, e.g. +86 138 0013 8000",
    code: "Code",
    code_hint: "The 6-digit code we sent you",
    send_code: "Send code",
    resend_code: "Send a new code",
    code_sent: "If an account has this address, a code is on its way.",
    wrong_code: "The code is wrong or has expired. Ask for a new one.",
    wrong_code_tries: "The code is wrong. Tries left: {n}.",
    wait_before_resend: "Please wait a moment before asking for another code.",
    too_many_attempts: "Too many attempts. Please wait a minute and try again.",
    invalid_email: "Enter a valid email address.",
    invalid_phone: "Enter the number with its country code, e.g. +86 138 0013 8000.",
    no_account: "No account yet?",
    create_account: "Create an account",
    have_account: "Already have an account?",
    forgot_password: "Forgot your password?",
    social_button: "Continue with {name}",
    social_or: "or",
    register: "Create your account",
    register_button: "Create account",
    username: "Username",
    username_taken: "This username is taken.",
    invalid_username: "3 to 32 letters, digits, dots, dashes or underscores.",
    name: "Name",
    new_password: "New password",
    confirm_password: "Confirm password",
    passwords_differ: "The two passwords differ.",
    password_hint: "At least {min} characters. A long phrase is best.",
    password_too_short: "The password is too short.",
    password_common: "This password is too common. Choose another.",
    password_is_identifier: "The password must not be your email, phone or username.",
    field_required: "This field is required.",
    verify: "Verify your address",
    verify_text: "Enter the code we sent to each address below.",
    verify_button: "Verify",
    verified: "Address verified",
    verified_text: "Thank you: your address is verified.",
    address: "Email or phone number",
    recovery: "Reset your password",
    recovery_text: "We will send a code to the verified email or phone of your account.",
    reset_button: "Set new password",
    password_reset: "Your password is changed and every other session has ended.",
    settings: "Account settings",
    profile: "Profile",
    save: "Save",
    saved: "Saved.",
    change_password: "Change password",
    current_password: "Current password",
    password_changed: "Password changed. Your other sessions have ended.",
    wrong_password: "The current password is wrong.",
    reauth_needed: "To set or change your password, sign in again first: this sign-in is not recent enough.",
    sign_in_again: "Sign in again",
    sessions: "Signed-in sessions",
    this_session: "This session",
    signed_in_at: "Signed in",
    browser_on_device: "{browser} on {device}",
    unknown_browser: "Unknown browser",
    last_used: "Last used",
    ip_address: "IP",
    end_session: "Sign out",
    session_ended: "The session has ended.",
    end_other_sessions: "End all other sessions",
    other_sessions_ended: "Every other session has ended.",
    sign_out: "Sign out of this browser",
    back_to_sign_in: "Back to sign in",
    skip_to_content: "Skip to content",
    popup_done: "You can close this window.",
    scope_openid: "Know who you are",
    scope_profile: "See your name and username",
    scope_email: "See your email address",
    scope_phone: "See your phone number",
    scope_offline: "Stay signed in (refresh tokens)",
    verified_badge: "verified",
    unverified_badge: "not verified",
    verify_now: "Verify",
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
    answers_go_to: "授权结果将发送到",
    client_website: "网站",
    client_policy: "隐私政策",
    client_tos: "服务条款",
    allow: "允许",
    deny: "拒绝",
    error: "出错了",
    error_code: "错误代码",
    signed_in: "已登录",
    signed_in_text: "您已登录，可以关闭此页面。",
    session_required: "会话已结束，请重新登录。",
    csrf_failed: "表单已过期，请刷新页面后重试。",
    error_request: "应用的请求无效：有内容缺失、重复或格式错误。",
    error_auth: "身份验证失败。",
    error_denied: "没有访问权限。",
    error_server: "服务器无法完成请求，请稍后再试。",
    error_redirect_uri: "应用要求跳转到一个未登记的地址，因此没有跳转。",
    error_challenge: "此登录步骤已过期或已使用，请从应用重新开始。",
    error_social_state: "第三方登录已过期或是在另一个浏览器中开始的，请重新开始。",
    error_social_failed: "第三方登录服务未能完成登录。",
    error_unavailable: "服务暂时不可用，请稍后再试。",
    request_id: "请求编号（联系支持时提供）",
    back_to_app: "返回应用",
    logged_out: "已退出登录",
    logged_out_text: "您已退出登录。",
    sign_out_confirm: "退出登录？",
    sign_out_confirm_text: "是否在此浏览器上退出登录？",
    sign_out_button: "退出登录",
    tab_password: "密码",
    tab_email_code: "邮箱验证码",
    tab_sms_code: "短信验证码",
    login_methods: "登录方式",
    identifier: "邮箱、手机号或用户名",
    phone: "手机号",
    phone_hint: "请包含国家代码，例如 +86 138 0013 8000",
    code: "验证码",
    code_hint: "我们发送给您的 6 位验证码",
    send_code: "发送验证码",
    resend_code: "重新发送验证码",
    code_sent: "如果该地址有账号，验证码已发出。",
    wrong_code: "验证码错误或已过期，请重新获取。",
    wrong_code_tries: "验证码错误，还可以再试 {n} 次。",
    wait_before_resend: "请稍候再获取新的验证码。",
    too_many_attempts: "尝试次数过多，请稍候再试。",
    invalid_email: "请输入有效的邮箱地址。",
    invalid_phone: "请输入带国家代码的手机号，例如 +86 138 0013 8000。",
    no_account: "还没有账号？",
    create_account: "注册账号",
    have_account: "已经有账号？",
    forgot_password: "忘记密码？",
    social_button: "使用 {name} 继续",
    social_or: "或",
    register: "创建账号",
    register_button: "注册",
    username: "用户名",
    username_taken: "该用户名已被占用。",
    invalid_username: "3 到 32 个字母、数字、点、横线或下划线。",
    name: "姓名",
    new_password: "新密码",
    confirm_password: "确认密码",
    passwords_differ: "两次输入的密码不一致。",
    password_hint: "至少 {min} 个字符，推荐使用较长的短语。",
    password_too_short: "密码太短。",
    password_common: "该密码太常见，请换一个。",
    password_is_identifier: "密码不能与邮箱、手机号或用户名相同。",
    field_required: "此项为必填。",
    verify: "验证您的地址",
    verify_text: "请输入我们发送到以下地址的验证码。",
    verify_button: "验证",
    verified: "地址已验证",
    verified_text: "谢谢，您的地址已验证。",
    address: "邮箱或手机号",
    recovery: "重置密码",
    recovery_text: "我们会向您账号中已验证的邮箱或手机号发送验证码。",
    reset_button: "设置新密码",
    password_reset: "密码已修改，其他所有会话均已退出。",
    settings: "账号设置",
    profile: "个人资料",
    save: "保存",
    saved: "已保存。",
    change_password: "修改密码",
    current_password: "当前密码",
    password_changed: "密码已修改，其他会话均已退出。",
    wrong_password: "当前密码错误。",
    reauth_needed: "设置或修改密码前，请先重新登录：本次登录已不够新。",
    sign_in_again: "重新登录",
    sessions: "已登录的会话",
    this_session: "当前会话",
    signed_in_at: "登录时间",
    browser_on_device: "{device} 上的 {browser}",
    unknown_browser: "未知浏览器",
    last_used: "最近使用",
    ip_address: "IP 地址",
    end_session: "退出",
    session_ended: "该会话已退出。",
    end_other_sessions: "退出所有其他会话",
    other_sessions_ended: "其他所有会话均已退出。",
    sign_out: "在此浏览器上退出登录",
    back_to_sign_in: "返回登录",
    skip_to_content: "跳到主要内容",
    popup_done: "您可以关闭此窗口。",
    scope_openid: "识别您的身份",
    scope_profile: "查看您的姓名和用户名",
    scope_email: "查看您的邮箱地址",
    scope_phone: "查看您的手机号",
    scope_offline: "保持登录（刷新令牌）",
    verified_badge: "已验证",
    unverified_badge: "未验证",
    verify_now: "去验证",
};

impl Strings {
    /// An error in plain words, by its code: a sentence for each kind that
    /// reaches the error page, else a summary by code range. Never the
    /// request's own text: `/error` is a URL anyone can link to.
    pub fn error_text(&self, code: Option<u16>) -> &'static str {
        match code {
            Some(4005) => self.error_redirect_uri,
            Some(4010) => self.error_challenge,
            Some(4012) => self.error_social_state,
            Some(2007) => self.error_social_failed,
            Some(3003) => self.csrf_failed,
            Some(5002) => self.error_unavailable,
            Some(2001..=2999) => self.error_auth,
            Some(3001..=3999) => self.error_denied,
            Some(5001..=5999) => self.error_server,
            _ => self.error_request,
        }
    }
}

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
