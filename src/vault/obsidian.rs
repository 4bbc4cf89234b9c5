//! What the tool reads of Obsidian's own settings (`.obsidian/`): the templates folders. Notes in
//! a templates folder are indexed for links but never validated nor synced (a template's
//! placeholders are not data).
//!
//! The folders come from `[vault] templates` when the configuration sets it; else from the core
//! Templates plugin's setting (`.obsidian/templates.json`, key `folder`) together with the
//! Templater plugin's (`.obsidian/plugins/templater-obsidian/data.json`, key
//! `templates_folder`); else `Templates`. A settings file that is missing or not valid JSON
//! counts as not naming a folder (Obsidian rewrites such a file itself).

use std::path::Path;

use unicode_normalization::UnicodeNormalization;

use crate::config::Config;

/// The core Templates plugin's settings, relative to the vault root.
pub const CORE_TEMPLATES_JSON: &str = ".obsidian/templates.json";
/// The Templater plugin's settings, relative to the vault root.
pub const TEMPLATER_JSON: &str = ".obsidian/plugins/templater-obsidian/data.json";
/// The templates folder when nothing names one.
pub const DEFAULT_TEMPLATES: &str = "Templates";

/// The vault's templates folders, relative to the root, `/`-separated, without leading or
/// trailing `/`, NFC; the first is the one `new` reads the vault's own templates from. Empty when
/// the configuration sets `templates = ""` (no templates folder).
pub fn template_folders(root: &Path, config: &Config) -> Vec<String> {
    if let Some(set) = &config.vault.templates {
        return clean(set).into_iter().collect();
    }
    let mut out: Vec<String> = Vec::new();
    for (file, key) in [
        (CORE_TEMPLATES_JSON, "folder"),
        (TEMPLATER_JSON, "templates_folder"),
    ] {
        if let Some(folder) = setting(root, file, key).as_deref().and_then(clean)
            && !out.contains(&folder)
        {
            out.push(folder);
        }
    }
    if out.is_empty() {
        out.push(DEFAULT_TEMPLATES.to_string());
    }
    out
}

/// Whether the note at `rel` (relative, NFC) lies in one of `folders`.
pub fn in_folders(rel: &str, folders: &[String]) -> bool {
    folders.iter().any(|f| {
        rel.len() > f.len() + 1 && rel.starts_with(f.as_str()) && rel.as_bytes()[f.len()] == b'/'
    })
}

/// A folder setting as a relative key; `None` for an empty one or the vault root.
fn clean(folder: &str) -> Option<String> {
    let f = folder.trim().trim_start_matches("./").trim_matches('/');
    (!f.is_empty()).then(|| f.replace('\\', "/").nfc().collect())
}

/// The string `key` of the JSON object in `root/file`.
fn setting(root: &Path, file: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(root.join(file)).ok()?;
    let json: serde_json::Value = match serde_json::from_str(&text) {
        Ok(j) => j,
        Err(e) => {
            tracing::debug!("{file}: not valid JSON ({e}); its templates folder is not used");
            return None;
        }
    };
    json.get(key)?.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_prefixes() {
        let f = vec!["00 Meta/templates".to_string()];
        assert!(in_folders("00 Meta/templates/Client.md", &f));
        assert!(!in_folders("00 Meta/templates.md", &f));
        assert!(!in_folders("00 Meta/templatesX/a.md", &f));
        assert_eq!(
            clean("/00 Meta/templates/").as_deref(),
            Some("00 Meta/templates")
        );
        assert_eq!(clean("/"), None);
    }
}
