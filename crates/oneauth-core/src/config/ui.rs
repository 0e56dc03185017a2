//! The login UI's look and the operator's template overrides.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The login UI's look.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ui {
    /// Product name in page titles, headings and messages.
    pub brand_name: String,
    /// Accent colour, `#rrggbb`.
    pub brand_color: String,
    /// Logo URL (an `https:` URL or a path on the UI); empty shows the name.
    pub logo_url: String,
    /// Where a login without `login_challenge` or `return_to` ends up;
    /// empty means the UI's settings page.
    pub default_return_to: String,
    /// Directory of operator overrides, loaded at start: page templates
    /// (`login.html`, `base.html`, …; minijinja), `static/` files that
    /// replace or add to the built-in assets, and `messages/` texts of the
    /// courier. Empty: built-in only. See docs/ui-templates.md.
    pub templates_dir: PathBuf,
}

impl Default for Ui {
    fn default() -> Self {
        Self {
            brand_name: "OneAuth".into(),
            brand_color: "#3b5bdb".into(),
            logo_url: String::new(),
            default_return_to: String::new(),
            templates_dir: PathBuf::new(),
        }
    }
}

impl Ui {
    /// What serde cannot check in this section.
    pub(super) fn validate(&self) -> Result<(), String> {
        let color = self.brand_color.as_bytes();
        if color.len() != 7 || color[0] != b'#' || !color[1..].iter().all(u8::is_ascii_hexdigit) {
            return Err("ui.brand_color must look like #3b5bdb".into());
        }
        Ok(())
    }
}
