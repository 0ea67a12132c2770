//! The templates and static files the pages use: built into the binary, so that it runs from any folder, with
//! an optional theme folder (the `site.theme_dir` setting) whose files replace or add to the built-in ones.
//!
//! Release builds carry `templates/` and `static/` inside the binary. Debug builds read them from the checkout
//! instead (rust-embed's debug behaviour), so an edited stylesheet shows on the next request and an edited
//! template on the next start, without a rebuild. The theme folder is read once at start-up: a broken theme
//! stops the program there rather than failing pages later.

use actix_web::web::Bytes;
use anyhow::{bail, Context};
use rust_embed::Embed;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const BUILTIN_TEMPLATES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");

#[derive(Embed)]
#[folder = "templates/"]
struct BuiltinTemplates;

#[derive(Embed)]
#[folder = "static/"]
struct BuiltinStatic;

/// A template's source and, for a theme's template, the file it came from, so that a parse error can name it.
pub struct TemplateSource {
    pub name: String,
    pub text: String,
    pub file: Option<PathBuf>,
}

/// Every template by name: the built-in ones, each replaced by the theme's file of the same name if there is
/// one, plus any the theme adds (a partial its own templates include, say).
pub fn templates(theme_dir: Option<&Path>) -> anyhow::Result<Vec<TemplateSource>> {
    let mut by_name: HashMap<String, TemplateSource> = HashMap::new();
    for name in BuiltinTemplates::iter().filter(|n| is_template(n)) {
        let file = BuiltinTemplates::get(&name).with_context(|| format!("the built-in template {name} is missing"))?;
        let text = String::from_utf8(file.data.into_owned())
            .with_context(|| format!("the built-in template {name} is not UTF-8"))?;
        by_name.insert(name.to_string(), TemplateSource { name: name.to_string(), text, file: None });
    }
    if by_name.is_empty() {
        // Only a debug build moved away from its checkout gets here: release builds carry the files.
        bail!("the built-in templates are missing (a debug build reads them from {})", BUILTIN_TEMPLATES_DIR);
    }
    if let Some(dir) = theme_dir {
        for (name, path) in files_under(&dir.join("templates"))?.into_iter().filter(|(n, _)| is_template(n)) {
            let bytes = std::fs::read(&path).with_context(|| format!("could not read {}", path.display()))?;
            let text =
                String::from_utf8(bytes).with_context(|| format!("the template {} is not UTF-8", path.display()))?;
            by_name.insert(name.clone(), TemplateSource { name, text, file: Some(path) });
        }
    }
    let mut all: Vec<_> = by_name.into_values().collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(all)
}

/// Only `.html` files are templates, and the `.txt` ones of emails (their plain text, which tera does not
/// autoescape): a README, notes or an editor's backup file beside them is not.
fn is_template(name: &str) -> bool {
    name.ends_with(".html") || (name.starts_with("email/") && name.ends_with(".txt"))
}

/// One static file ready to send; cloning it shares the content.
#[derive(Clone)]
pub struct StaticFile {
    pub body: Bytes,
    pub content_type: String,
    /// A strong validator: the start of the content's SHA-256, so it changes exactly when the content does.
    pub etag: String,
}

impl StaticFile {
    fn new(path: &str, body: Cow<'static, [u8]>, sha256: [u8; 32]) -> StaticFile {
        let body = match body {
            Cow::Borrowed(b) => Bytes::from_static(b),
            Cow::Owned(b) => Bytes::from(b),
        };
        let mime = mime_guess::from_path(path).first_or_octet_stream();
        // Stylesheets and scripts are written in UTF-8; saying so spares the browser a guess.
        let content_type = if mime.type_() == mime_guess::mime::TEXT || mime.subtype() == mime_guess::mime::JAVASCRIPT {
            format!("{mime}; charset=utf-8")
        } else {
            mime.to_string()
        };
        let etag = sha256[..16].iter().map(|b| format!("{b:02x}")).collect();
        StaticFile { body, content_type, etag }
    }
}

/// The files served under /static/: the theme's first, then the built-in ones.
pub struct StaticFiles {
    theme: HashMap<String, StaticFile>,
}

impl StaticFiles {
    /// Reads the theme's `static/` folder, if it has one, into memory: theme files are a logo and a stylesheet or
    /// two, and holding them spares every request a trip to the disk.
    pub fn load(theme_dir: Option<&Path>) -> anyhow::Result<StaticFiles> {
        let mut theme = HashMap::new();
        if let Some(dir) = theme_dir {
            for (name, path) in files_under(&dir.join("static"))? {
                let body = std::fs::read(&path).with_context(|| format!("could not read {}", path.display()))?;
                let sha256 = Sha256::digest(&body).into();
                theme.insert(name.clone(), StaticFile::new(&name, Cow::Owned(body), sha256));
            }
        }
        Ok(StaticFiles { theme })
    }

    /// The file at `path` (relative to /static/), or `None` for anything else: a folder, a hidden file, or a
    /// path that tries to climb out of the folder.
    pub fn get(&self, path: &str) -> Option<StaticFile> {
        if !is_plain_relative(path) {
            return None;
        }
        if let Some(f) = self.theme.get(path) {
            return Some(f.clone());
        }
        let f = BuiltinStatic::get(path)?;
        Some(StaticFile::new(path, f.data, f.metadata.sha256_hash()))
    }
}

/// A path made only of ordinary names: no empty, `.` or `..` segment, no hidden file, no backslash. The lookups
/// are by exact name and cannot leave their folder anyway; this refuses the attempt before any lookup.
fn is_plain_relative(path: &str) -> bool {
    !path.is_empty()
        && path
            .split('/')
            .all(|segment| !segment.is_empty() && !segment.starts_with('.') && !segment.contains(['\\', '\0']))
}

/// The files under `dir` (following links), keyed by their path relative to it with `/` separators; hidden files
/// and folders are left out, as they are not served. A theme without this folder simply has no such files.
fn files_under(dir: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    let walk = walkdir::WalkDir::new(dir).follow_links(true).sort_by_file_name().into_iter();
    for entry in walk.filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.')) {
        let entry = entry.with_context(|| format!("could not read the theme folder {}", dir.display()))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let relative = entry.path().strip_prefix(dir).context("a file outside its folder")?;
        let Some(name) = relative.to_str() else {
            bail!("the file name {} is not UTF-8", entry.path().display());
        };
        files.push((name.replace(std::path::MAIN_SEPARATOR, "/"), entry.path().to_path_buf()));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_files_are_there() {
        let names: Vec<String> = templates(None).unwrap().into_iter().map(|t| t.name).collect();
        assert!(names.contains(&"public/error.html".to_string()), "{names:?}");
        assert!(names.contains(&"layouts/base.html".to_string()), "{names:?}");
        let css = StaticFiles::load(None).unwrap().get("css/app.css").expect("the stylesheet");
        assert_eq!(css.content_type, "text/css; charset=utf-8");
        assert_eq!(css.etag.len(), 32);
    }

    #[test]
    fn paths_that_climb_or_hide_are_refused() {
        let files = StaticFiles::load(None).unwrap();
        for path in ["", "/css/app.css", "css/../css/app.css", "../Cargo.toml", "css/", "css", "./css/app.css"] {
            assert!(files.get(path).is_none(), "{path}");
        }
        assert!(!is_plain_relative("css/.hidden"));
        assert!(!is_plain_relative("css\\app.css"));
        assert!(is_plain_relative("images/logo.svg"));
    }

    #[test]
    fn a_theme_replaces_and_adds_files_and_leaves_the_rest() {
        let theme = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(theme.path().join("templates/public")).unwrap();
        std::fs::create_dir_all(theme.path().join("static/images")).unwrap();
        std::fs::write(theme.path().join("templates/public/privacy.html"), "our own").unwrap();
        std::fs::write(theme.path().join("templates/public/notes.txt"), "not a template").unwrap();
        std::fs::write(theme.path().join("static/images/logo.svg"), "<svg/>").unwrap();
        std::fs::write(theme.path().join("static/.secret"), "hidden").unwrap();

        let all = templates(Some(theme.path())).unwrap();
        let privacy = all.iter().find(|t| t.name == "public/privacy.html").unwrap();
        assert_eq!(privacy.text, "our own");
        assert!(privacy.file.is_some());
        assert!(all.iter().any(|t| t.name == "public/error.html" && t.file.is_none()));
        assert!(!all.iter().any(|t| t.name == "public/notes.txt"));
        assert!(all.iter().any(|t| t.name == "email/password_reset.txt"), "an email's plain text is one");

        let files = StaticFiles::load(Some(theme.path())).unwrap();
        let logo = files.get("images/logo.svg").expect("the theme's logo");
        assert_eq!(logo.content_type, "image/svg+xml");
        assert_eq!(&*logo.body, b"<svg/>");
        assert!(files.get("css/app.css").is_some(), "the built-in stylesheet is still there");
        assert!(files.get(".secret").is_none());
    }
}
