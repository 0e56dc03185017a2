//! Operator overrides from `ui.templates_dir` (SPEC §5: templates can be
//! overridden from a directory). Built-in pages are askama, checked at
//! compile time; a file named like a page replaces that page and is rendered
//! by minijinja from the same context, serialized. An operator's `base.html`
//! frames every page, the built-in ones too. Files under `static/` replace
//! or add to the embedded assets. Everything is read and compiled at start:
//! a broken template stops start-up rather than a page, and requests never
//! read the disk. The courier's texts (`messages/`) are oneauth-identity's.

use crate::Page;
use anyhow::Context as _;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value, context};
use oneauth_core::Error;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// The pages an operator can replace, by file name.
pub const PAGES: [&str; 11] = [
    "base.html",
    "login.html",
    "register.html",
    "verification.html",
    "recovery.html",
    "settings.html",
    "consent.html",
    "device.html",
    "message.html",
    "popup_done.html",
    "logout.html",
];

/// The built-in layout, written in the syntax both engines read, for
/// operator pages that extend `base.html` when it is not replaced too.
const BUILTIN_BASE: &str = include_str!("../templates/base.html");

/// Puts a built-in page's blocks (rendered by askama) into the operator's
/// `base.html`.
const FRAME: &str = "oneauth:frame";
const FRAME_SOURCE: &str = r#"{% extends "base.html" %}{% block title %}{{ blocks.title }}{% endblock %}{% block head %}{{ blocks.head }}{% endblock %}{% block content %}{{ blocks.content }}{% endblock %}"#;

/// A file from `static/`, served like an embedded asset.
pub struct Asset {
    pub data: axum::body::Bytes,
    pub mime: String,
}

/// The overrides in effect; empty when `ui.templates_dir` is not set.
pub struct Theme {
    env: Environment<'static>,
    pages: HashSet<&'static str>,
    assets: HashMap<String, Asset>,
}

impl Theme {
    /// No overrides: every page and asset is the built-in one.
    pub fn builtin() -> Self {
        Self {
            env: Environment::new(),
            pages: HashSet::new(),
            assets: HashMap::new(),
        }
    }

    /// Reads and compiles the overrides in `dir` (none when `dir` is
    /// empty). A syntax error, an unreadable file or a `.html` file that
    /// names no page fails with the file's path (and line).
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let mut theme = Self::builtin();
        if dir.as_os_str().is_empty() {
            return Ok(theme);
        }
        let env = &mut theme.env;
        // Every template is HTML, whatever its name: values are escaped.
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        // A misspelt variable fails the page (logged) instead of printing
        // nothing; `{% if errors.email %}` on an absent key still works.
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        let entries = std::fs::read_dir(dir)
            .with_context(|| format!("ui.templates_dir: reading {}", dir.display()))?;
        for entry in entries {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !name.ends_with(".html") || path.is_dir() {
                continue;
            }
            let page = PAGES.iter().find(|p| **p == name);
            // Partials (`{% include "_footer.html" %}`) start with `_`; any
            // other name is a typo that would silently change nothing.
            anyhow::ensure!(
                page.is_some() || name.starts_with('_'),
                "ui.templates_dir: {} names no page (pages: {}; partials start with `_`)",
                path.display(),
                PAGES.join(", ")
            );
            let source = std::fs::read_to_string(&path)
                .with_context(|| format!("ui.templates_dir: reading {}", path.display()))?;
            env.add_template_owned(name.to_owned(), source)
                .with_context(|| format!("ui.templates_dir: {}", path.display()))?;
            theme.pages.extend(page);
        }
        if theme.pages.contains("base.html") {
            env.add_template(FRAME, FRAME_SOURCE)?;
        } else {
            env.add_template("base.html", BUILTIN_BASE)?;
        }
        let assets = dir.join("static");
        if assets.is_dir() {
            load_assets(&assets, "", &mut theme.assets)?;
        }
        Ok(theme)
    }

    /// The operator's version of `page`; `None` when the built-in one stands.
    pub(crate) fn render<P: Page>(&self, page: &P) -> Option<Result<String, Error>> {
        let html = if self.pages.contains(P::FILE) {
            self.env
                .get_template(P::FILE)
                .and_then(|t| t.render(Serde(page)))
        } else if self.pages.contains("base.html") {
            let [title, head, content] = match page.blocks() {
                Ok(b) => b.map(Value::from_safe_string),
                Err(e) => return Some(Err(Error::internal(e))),
            };
            let ctx = context! { blocks => context! { title, head, content }, ..Value::from(Serde(page)) };
            self.env.get_template(FRAME).and_then(|t| t.render(ctx))
        } else {
            return None;
        };
        // `{e}`, not `{e:#}`: the alternate form lists the context's values,
        // CSRF tokens among them, and this goes to the log.
        Some(html.map_err(|e| Error::internal(format!("{}: {e}", P::FILE))))
    }

    pub fn asset(&self, path: &str) -> Option<&Asset> {
        self.assets.get(path)
    }
}

fn load_assets(dir: &Path, prefix: &str, out: &mut HashMap<String, Asset>) -> anyhow::Result<()> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("ui.templates_dir: reading {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let key = format!("{prefix}{name}");
        if path.is_dir() {
            load_assets(&path, &format!("{key}/"), out)?;
            continue;
        }
        let data = std::fs::read(&path)
            .with_context(|| format!("ui.templates_dir: reading {}", path.display()))?;
        let mime = mime_guess::from_path(&path)
            .first_or_octet_stream()
            .to_string();
        out.insert(
            key,
            Asset {
                data: data.into(),
                mime,
            },
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests;
