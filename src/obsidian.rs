//! What the vault asks of Obsidian, checked by `doctor`: the app version the template's
//! dashboards need, the core plugins they use, a property type for every key the tool writes,
//! where Obsidian puts new notes, and dashboards that would show the templates as rows once
//! `[vault] templates` names another folder.
//!
//! Obsidian does not record its version in the vault: `.obsidian/` holds settings (`app.json`,
//! `appearance.json`, `core-plugins.json`, `templates.json`, `types.json`, plugin folders), none
//! of which says which app wrote it, and the keys a newer app adds (`"bases"` in
//! `core-plugins.json`) are written by `init` too. So the version is stated, not guessed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::vault::note::Note;
use crate::vault::schema::Schema;
use crate::vault::value::Value;

/// The Obsidian version Bases (the dashboards) need.
pub const BASES_VERSION: &str = "1.9";
/// The Obsidian version grouped views (`groupBy`, used by two dashboards) need.
pub const GROUPING_VERSION: &str = "1.10";

/// One finding about the vault as Obsidian reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Something to know; nothing is wrong.
    Note(String),
    /// Something Obsidian will show wrongly until it is changed; not a failure.
    Warn(String),
}

/// The version requirement, as `doctor` states it.
pub fn requirement() -> String {
    format!(
        "obsidian: the dashboards need Obsidian {GROUPING_VERSION} or newer (Bases {BASES_VERSION}, grouped views {GROUPING_VERSION}); the vault does not record which version opens it: see Settings → About"
    )
}

/// Checks the vault at `root` as Obsidian reads it: the requirement, the core plugins the
/// dashboards and templates use, the types of the keys the tool writes, the folder new notes go
/// to, and every `.base` file's filters against the templates folder.
pub fn check(root: &Path, config: &Config, schema: &Schema) -> Vec<Finding> {
    let mut out = vec![Finding::Note(requirement())];
    out.extend(core_plugins(root));
    out.extend(types_json(root, config, schema));
    out.extend(new_note_folder(root, config));
    let folders = crate::vault::obsidian::template_folders(root, config);
    let templates = folders.first().map_or("", String::as_str);
    let types: Vec<&str> = schema.types.iter().map(|t| t.name.as_str()).collect();
    for (rel, path) in base_files(root, templates) {
        match std::fs::read_to_string(&path) {
            Ok(text) => out.extend(check_base(&rel, &text, templates, &types)),
            Err(e) => out.push(Finding::Warn(format!("{rel}: cannot be read: {e}"))),
        }
    }
    out
}

/// The Obsidian property type of every key the tool writes besides the schema's fields (which
/// `check` compares with `types.json`): Obsidian's own `cssclasses`, the sync's
/// `sync_conflicts` and `sync_errors`, the `<remote>_archived` mark of every service the configuration knows and
/// the remote id keys of the connectors' bindings.
pub fn written_types(config: &Config, schema: &Schema) -> BTreeMap<String, &'static str> {
    let mut out = BTreeMap::new();
    out.insert("cssclasses".to_string(), "multitext");
    out.insert(crate::sync::apply::CONFLICTS_KEY.to_string(), "multitext");
    out.insert(crate::sync::apply::ERRORS_KEY.to_string(), "multitext");
    for remote in config.remotes.keys() {
        out.insert(crate::sync::apply::archived_key(remote), "date");
    }
    for service in crate::connectors::registry::SERVICES {
        for b in (service.bindings)(config, schema).unwrap_or_default() {
            out.insert(b.id_key, "text");
        }
    }
    let own = schema.obsidian_types();
    out.retain(|k, _| !own.contains_key(k));
    out
}

/// `.obsidian/types.json` against [`written_types`]: a key missing there is one Obsidian guesses
/// a type for (and may turn a list into text when it is edited in the properties panel).
fn types_json(root: &Path, config: &Config, schema: &Schema) -> Vec<Finding> {
    let rel = ".obsidian/types.json";
    let Ok(text) = std::fs::read_to_string(root.join(rel)) else {
        return Vec::new();
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Vec::new(); // `check` reports it
    };
    let wrong: Vec<String> = written_types(config, schema)
        .into_iter()
        .filter(|(k, ty)| json["types"][k].as_str() != Some(*ty))
        .map(|(k, ty)| format!("\"{k}\": \"{ty}\""))
        .collect();
    if wrong.is_empty() {
        return Vec::new();
    }
    vec![Finding::Warn(format!(
        "obsidian: {rel} lacks the type of {} key(s) the tool writes, so Obsidian guesses them: add {}",
        wrong.len(),
        wrong.join(", ")
    ))]
}

/// `.obsidian/core-plugins.json`: Bases and Templates on (an object of id → on, or, as older
/// versions write it, a list of the ids turned on). No file: Obsidian's defaults, nothing to say.
fn core_plugins(root: &Path) -> Vec<Finding> {
    let rel = ".obsidian/core-plugins.json";
    let Ok(text) = std::fs::read_to_string(root.join(rel)) else {
        return Vec::new();
    };
    let json: serde_json::Value = match serde_json::from_str(&text) {
        Ok(j) => j,
        Err(e) => {
            return vec![Finding::Warn(format!(
                "obsidian: {rel} is not valid JSON ({e}): Obsidian will reset the core plugins; turn Bases and Templates on again in Settings → Core plugins"
            ))];
        }
    };
    let on = |id: &str| match &json {
        serde_json::Value::Object(m) => m.get(id).and_then(|v| v.as_bool()),
        serde_json::Value::Array(a) => Some(a.iter().any(|v| v.as_str() == Some(id))),
        _ => None,
    };
    let mut out = Vec::new();
    if on("bases") == Some(false) {
        out.push(Finding::Warn(format!(
            "obsidian: the Bases core plugin is off ({rel}): the dashboards need it; turn it on in Settings → Core plugins → Bases"
        )));
    }
    if on("templates") == Some(false) {
        out.push(Finding::Warn(format!(
            "obsidian: the Templates core plugin is off ({rel}): *Insert template* needs it; turn it on in Settings → Core plugins → Templates"
        )));
    }
    out
}

/// `.obsidian/app.json`: new notes made in Obsidian must not land among the intake requests.
fn new_note_folder(root: &Path, config: &Config) -> Vec<Finding> {
    let rel = ".obsidian/app.json";
    let Ok(text) = std::fs::read_to_string(root.join(rel)) else {
        return Vec::new();
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Vec::new();
    };
    let folder = json
        .get("newFileFolderPath")
        .and_then(|v| v.as_str())
        .map(|f| f.trim_matches('/'));
    let by_folder = json.get("newFileLocation").and_then(|v| v.as_str()) == Some("folder");
    let managed = [
        ("client", config.folders.client.as_str()),
        ("expert", config.folders.expert.as_str()),
        ("project", config.folders.project.as_str()),
        ("ticket", config.folders.ticket.as_str()),
        ("intake", config.folders.intake.as_str()),
    ];
    match (by_folder, folder) {
        (true, Some(f)) => managed
            .iter()
            .find(|(_, m)| m.trim_matches('/') == f)
            .map(|(ty, m)| {
                Finding::Warn(format!(
                    "obsidian: new notes made in Obsidian go to {m}/ ({rel}), among the {ty} notes: set Settings → Files and links → Default location for new notes to Inbox/ (or the vault root)"
                ))
            })
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

/// The `.base` files of the vault (dot folders and the templates folder left out), by path.
fn base_files(root: &Path, templates: &str) -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = walkdir::WalkDir::new(root)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "base"))
        .filter_map(|e| {
            let rel = e
                .path()
                .strip_prefix(root)
                .ok()?
                .to_string_lossy()
                .replace('\\', "/");
            let in_templates = !templates.is_empty() && rel.starts_with(&format!("{templates}/"));
            (!in_templates).then(|| (rel, e.path().to_path_buf()))
        })
        .collect();
    out.sort();
    out
}

/// One `.base` file: valid YAML, and when it lists managed notes (`type == "client"`, ...) it
/// leaves out the templates folder (`not: file.inFolder("<templates>")`), or the templates,
/// which carry the same `type`, show as rows.
pub fn check_base(rel: &str, text: &str, templates: &str, types: &[&str]) -> Vec<Finding> {
    let map = match Note::parse_text(format!("---\n{}\n---\n", text.trim_end())) {
        Ok(n) => n.frontmatter.map(|f| f.to_map()).unwrap_or_default(),
        Err(e) => {
            let (line, _) = e.position();
            return vec![Finding::Warn(format!(
                "{rel}:{}: not valid YAML ({e}): Obsidian cannot show this base",
                line.saturating_sub(1).max(1)
            ))];
        }
    };
    let mut filters = Vec::new();
    for (key, value) in &map {
        if key == "filters" {
            collect_filters(value, false, &mut filters);
        }
        if key == "views" {
            for view in value.items() {
                if let Value::Map(v) = view {
                    for (k, f) in v {
                        if k == "filters" {
                            collect_filters(f, false, &mut filters);
                        }
                    }
                }
            }
        }
    }
    let lists_managed = filters.iter().any(|(f, negated)| {
        !negated
            && types
                .iter()
                .any(|t| f.replace(' ', "").contains(&format!("type==\"{t}\"")))
    });
    if !lists_managed || templates.is_empty() {
        return Vec::new();
    }
    let folder_of = |f: &str| -> Option<String> {
        let start = f.find("file.inFolder(")? + "file.inFolder(".len();
        let arg = f[start..].split(')').next()?.trim();
        Some(arg.trim_matches(['"', '\'']).trim_matches('/').to_string())
    };
    let left_out: Vec<String> = filters
        .iter()
        .filter(|(_, negated)| *negated)
        .filter_map(|(f, _)| folder_of(f))
        .collect();
    if left_out.iter().any(|f| f == templates) {
        return Vec::new();
    }
    let instead = if left_out.is_empty() {
        String::new()
    } else {
        format!(" (it leaves out {})", left_out.join(", "))
    };
    vec![Finding::Warn(format!(
        "obsidian: {rel} shows the templates in {templates}/ as rows: its filters do not leave out the templates folder{instead}; put 'file.inFolder(\"{templates}\")' under its `not:` filter"
    ))]
}

/// Every filter statement under `value`, with whether it is negated (under `not`, or `!…`).
fn collect_filters(value: &Value, negated: bool, out: &mut Vec<(String, bool)>) {
    match value {
        Value::Str(s) => {
            let s = s.trim();
            match s.strip_prefix('!') {
                Some(inner) => out.push((inner.trim().to_string(), !negated)),
                None => out.push((s.to_string(), negated)),
            }
        }
        Value::List(items) => {
            for i in items {
                collect_filters(i, negated, out);
            }
        }
        Value::Map(m) => {
            for (k, v) in m {
                collect_filters(v, negated ^ (k == "not"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPES: &[&str] = &["project", "ticket"];

    #[test]
    fn a_base_listing_managed_notes_must_leave_out_the_templates_folder() {
        let base = "filters:\n  and:\n    - 'type == \"project\"'\n    - not:\n        - 'file.inFolder(\"Templates\")'\nviews: []\n";
        assert!(check_base("D.base", base, "Templates", TYPES).is_empty());
        let w = check_base("D.base", base, "Vorlagen", TYPES);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            matches!(&w[0], Finding::Warn(m) if m.contains("D.base shows the templates in Vorlagen/ as rows") && m.contains("(it leaves out Templates)")),
            "{w:?}"
        );
        // `!file.inFolder(...)` in a view's filters counts too; a base of other notes is not judged.
        let view = "views:\n  - type: table\n    filters:\n      and:\n        - type == \"ticket\"\n        - '!file.inFolder(\"Vorlagen/\")'\n";
        assert!(check_base("D.base", view, "Vorlagen", TYPES).is_empty());
        let other = "filters:\n  and:\n    - 'type == \"book\"'\n";
        assert!(check_base("D.base", other, "Vorlagen", TYPES).is_empty());
        let bad = "filters: [\n";
        assert!(
            matches!(&check_base("D.base", bad, "T", TYPES)[0], Finding::Warn(m) if m.contains("not valid YAML"))
        );
    }
}
