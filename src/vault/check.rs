//! Validation of a whole vault: every note read, every managed note checked against the schema,
//! references and links resolved, identities checked for duplicates, and `.obsidian/types.json`
//! compared with the schema. One problem per finding; a bad note never stops the others; nothing
//! is ever written.

use std::collections::HashMap;

use serde::Serialize;

use super::index::{Entry, Index, Resolved};
use super::note::{NoteError, line_col};
use super::schema::{FieldType, Schema, Severity};
use super::value::Value;

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Path relative to the vault root.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong and what to do.
    pub message: String,
}

/// The result of a check.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Notes read.
    pub notes: usize,
    /// Managed notes validated against the schema.
    pub managed: usize,
    /// Findings, sorted by path and line.
    pub problems: Vec<Problem>,
}

impl Report {
    /// Number of errors.
    pub fn errors(&self) -> usize {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .count()
    }

    /// Number of warnings.
    pub fn warnings(&self) -> usize {
        self.problems.len() - self.errors()
    }
}

/// What one note contributes to the report.
#[derive(Debug, Default)]
struct EntryCheck<'a> {
    problems: Vec<Problem>,
    managed: bool,
    id: Option<(&'a str, usize)>,
}

impl EntryCheck<'_> {
    fn push(&mut self, path: &str, line: usize, col: usize, severity: Severity, message: String) {
        self.problems.push(Problem {
            path: path.to_string(),
            line,
            col,
            severity,
            message,
        });
    }
}

/// Checks one note (not the vault-wide rules: duplicate ids, types.json).
fn check_entry<'a>(index: &'a Index, schema: &Schema, entry: &'a Entry) -> EntryCheck<'a> {
    let mut out = EntryCheck::default();
    {
        if entry.template {
            return out;
        }
        let note = match &entry.note {
            Ok(n) => n,
            Err(e) => {
                let (line, col) = e.position();
                let (severity, message) = if own_note(index, schema, entry, e) {
                    (
                        Severity::Warning,
                        format!(
                            "{e}; the note is left as it is (not a managed note, so a warning; Obsidian cannot read its properties either)"
                        ),
                    )
                } else {
                    (Severity::Error, format!("{e}; the note is left as it is"))
                };
                out.push(&entry.rel, line, col, severity, message);
                return out;
            }
        };
        let text = &note.text;
        // Body links.
        for link in &entry.body.links {
            if link.target.is_empty() {
                continue; // `[[#Heading]]`: this very note.
            }
            let msg = match index.resolve_from(&link.target, &entry.rel) {
                Resolved::Missing if link.embed => {
                    format!("embedded file `{}` is not in the vault", link.target)
                }
                Resolved::Missing => format!("link [[{}]] leads to no note", link.target),
                Resolved::Ambiguous(hits) => ambiguous(index, &link.target, &hits),
                _ => continue,
            };
            let (line, col) = line_col(text, link.offset);
            out.push(&entry.rel, line, col, Severity::Warning, msg);
        }
        let Some(fm) = &note.frontmatter else {
            return out;
        };
        let ty_name = fm.get_str("type");
        let ty = ty_name.and_then(|t| schema.get(t));
        if ty.is_none() && fm.get("ssot_id").is_some_and(|v| !v.is_empty()) {
            let line = fm.line_of("type").or(fm.line_of("ssot_id")).unwrap_or(1);
            let names: Vec<&str> = schema.types.iter().map(|t| t.name.as_str()).collect();
            out.push(
                &entry.rel,
                line,
                1,
                Severity::Error,
                format!(
                    "note has an ssot_id but its type `{}` is not one of {}",
                    ty_name.unwrap_or("(none)"),
                    names.join(", ")
                ),
            );
        }
        // Links in properties: typed references of managed notes are errors, others warnings.
        for e in fm.entries() {
            let field = ty.and_then(|t| t.field(&e.key));
            let target_type = match field.map(|f| &f.ty) {
                Some(FieldType::Link(t) | FieldType::Links(t)) => Some(t.as_deref()),
                _ => None,
            };
            for item in e.value.items() {
                let Some(link) = item.as_link().filter(|l| !l.target.is_empty()) else {
                    continue;
                };
                let (severity, msg) =
                    match (index.resolve_from(link.target, &entry.rel), target_type) {
                        (Resolved::Note(i), Some(Some(want))) => {
                            let got = index.entries[i].note_type();
                            if got == Some(want) {
                                continue;
                            }
                            (
                                Severity::Error,
                                format!(
                                    "`{}` must link to a {want} note; [[{}]] is {}",
                                    e.key,
                                    link.target,
                                    got.map_or("not a managed note".to_string(), |g| format!(
                                        "a {g}"
                                    ))
                                ),
                            )
                        }
                        (Resolved::Note(_) | Resolved::File(_), _) => continue,
                        (Resolved::Missing, t) => (
                            if t.is_some() {
                                Severity::Error
                            } else {
                                Severity::Warning
                            },
                            format!(
                                "`{}` links to [[{}]], which is not a note in the vault",
                                e.key, link.target
                            ),
                        ),
                        (Resolved::Ambiguous(hits), t) => (
                            if t.is_some() {
                                Severity::Error
                            } else {
                                Severity::Warning
                            },
                            ambiguous(index, link.target, &hits),
                        ),
                    };
                out.push(&entry.rel, e.line, 1, severity, msg);
            }
        }
        // What a service refused of the note in its last run (the sync retries it).
        if let Some(e) = fm.entry(crate::sync::apply::ERRORS_KEY) {
            for item in e.value.items() {
                if let Some(m) = item.as_str() {
                    out.push(
                        &entry.rel,
                        e.line,
                        1,
                        Severity::Warning,
                        format!(
                            "sync error: {}; the next sync tries again",
                            crate::text::escape_hidden(m)
                        ),
                    );
                }
            }
        }
        let Some(ty) = ty else { return out };
        out.managed = true;
        for p in property_problems(schema, ty, fm) {
            out.push(&entry.rel, p.line, 1, p.severity, p.message);
        }
        if let Some(Value::Str(id)) = fm.get("ssot_id")
            && !id.is_empty()
        {
            out.id = Some((id.as_str(), fm.line_of("ssot_id").unwrap_or(1)));
        }
    }
    out
}

/// The problems of a managed note's properties that need no other note: template placeholders
/// left in values, and the schema's rules (required keys, types, enums). `check` reports these
/// for every managed note; the sync checks a note it would make from a record with them.
pub fn property_problems(
    schema: &Schema,
    ty: &super::schema::NoteType,
    fm: &super::frontmatter::Frontmatter,
) -> Vec<super::schema::FieldProblem> {
    let mut out = Vec::new();
    for e in fm.entries() {
        // `sync_conflicts` quotes each side's value as it is: a placeholder there is a remote's
        // value kept out of the note, not one left in it; `sync_errors` quotes what a service
        // said.
        if e.key == crate::sync::apply::CONFLICTS_KEY || e.key == crate::sync::apply::ERRORS_KEY {
            continue;
        }
        if e.value.items().iter().any(|v| {
            v.as_str()
                .is_some_and(|s| s.contains("{{") && s.contains("}}"))
        }) {
            out.push(super::schema::FieldProblem {
                line: e.line,
                severity: Severity::Error,
                message: format!("`{}` still holds a template placeholder: fill it in", e.key),
            });
        }
    }
    out.extend(schema.check(ty, fm));
    out
}

/// Whether a note whose frontmatter cannot be read is one of the person's own notes (see
/// [`own_note_text`]).
fn own_note(index: &Index, schema: &Schema, entry: &Entry, e: &NoteError) -> bool {
    if !matches!(e, NoteError::Frontmatter(_) | NoteError::Layout(_)) {
        return false;
    }
    let Ok(text) = std::fs::read_to_string(&entry.path) else {
        return false;
    };
    own_note_text(&entry.rel, &text, &index.managed_folders, schema)
}

/// Whether the note at `rel` (NFC, relative), whose frontmatter cannot be read, is one of the
/// person's own notes: outside the managed folders, and its frontmatter's lines name no managed
/// `type:` and no `ssot_id:` (read line by line, since the YAML does not parse). Such a note is
/// never written by the tool unless asked with `set`: its unreadable YAML is a warning for
/// `check`, and nothing the sync has to report.
pub fn own_note_text(rel: &str, text: &str, managed_folders: &[String], schema: &Schema) -> bool {
    if super::obsidian::in_folders(rel, managed_folders) {
        return false;
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some("---") {
        return false;
    }
    for line in lines {
        let line = line.trim_end();
        if line == "---" || line == "..." {
            break;
        }
        if line.starts_with("ssot_id:") {
            return false;
        }
        if let Some(v) = line.strip_prefix("type:") {
            let v = v
                .split(" #")
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches(['"', '\'']);
            if schema.get(v).is_some() {
                return false;
            }
        }
    }
    true
}

fn push_problem(
    problems: &mut Vec<Problem>,
    path: &str,
    line: usize,
    col: usize,
    severity: Severity,
    message: String,
) {
    problems.push(Problem {
        path: path.to_string(),
        line,
        col,
        severity,
        message,
    });
}

/// Checks the whole vault.
pub fn check(index: &Index, schema: &Schema) -> Report {
    let mut problems = Vec::new();
    let mut managed = 0;
    for err in &index.walk_errors {
        push_problem(
            &mut problems,
            &err.to_string(),
            1,
            1,
            Severity::Error,
            "cannot read this folder".into(),
        );
    }
    let mut seen_rel: HashMap<&str, ()> = HashMap::new();
    for entry in &index.entries {
        if seen_rel.insert(entry.rel.as_str(), ()).is_some() {
            push_problem(&mut problems, &entry.rel, 1, 1, Severity::Error, "this note exists twice, under two Unicode spellings of its name (NFC and NFD): merge them".into());
        }
    }
    // The notes are independent: check them on all cores.
    let results: Vec<EntryCheck<'_>> =
        crate::par::map(&index.entries, 0, 256, |e| check_entry(index, schema, e));
    let mut ids: HashMap<&str, Vec<(&str, usize)>> = HashMap::new();
    for (entry, r) in index.entries.iter().zip(results) {
        managed += usize::from(r.managed);
        problems.extend(r.problems);
        if let Some((id, line)) = r.id {
            ids.entry(id).or_default().push((entry.rel.as_str(), line));
        }
    }
    for (id, holders) in &ids {
        if holders.len() < 2 {
            continue;
        }
        for (rel, line) in holders {
            let others: Vec<&str> = holders
                .iter()
                .filter(|(r, _)| r != rel)
                .map(|(r, _)| *r)
                .collect();
            push_problem(
                &mut problems,
                rel,
                *line,
                1,
                Severity::Error,
                format!(
                    "duplicate ssot_id {id}: {} has the same one (a copied note?); give the copy a new one with `ssot-vault set \"<copy>\" ssot_id=new`",
                    others.join(", ")
                ),
            );
        }
    }
    if managed > 0 {
        check_types_json(index, schema, &mut problems);
    }
    problems.sort_by(|a, b| (&a.path, a.line, a.col).cmp(&(&b.path, b.line, b.col)));
    Report {
        notes: index.entries.len(),
        managed,
        problems,
    }
}

fn ambiguous(index: &Index, target: &str, hits: &[usize]) -> String {
    let names: Vec<&str> = hits
        .iter()
        .map(|i| index.entries[*i].rel.as_str())
        .collect();
    format!(
        "link [[{target}]] is ambiguous: {}; link with a path, e.g. [[{}]]",
        names.join(", "),
        {
            let first = names.first().copied().unwrap_or(target);
            first.strip_suffix(".md").unwrap_or(first).to_string()
        }
    )
}

/// Compares `.obsidian/types.json` with the schema (when the file exists).
fn check_types_json(index: &Index, schema: &Schema, problems: &mut Vec<Problem>) {
    let rel = ".obsidian/types.json";
    let path = index.root.join(rel);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    let json: serde_json::Value = match serde_json::from_str(&text) {
        Ok(j) => j,
        Err(e) => {
            problems.push(Problem {
                path: rel.into(),
                line: e.line(),
                col: e.column(),
                severity: Severity::Warning,
                message: format!("not valid JSON ({e}); Obsidian will rewrite it"),
            });
            return;
        }
    };
    let types = json.get("types").and_then(|t| t.as_object());
    let mut missing = Vec::new();
    for (key, want) in schema.obsidian_types() {
        let got = types.and_then(|t| t.get(&key)).and_then(|v| v.as_str());
        let line = text
            .find(&format!("\"{key}\""))
            .map_or(1, |o| line_col(&text, o).0);
        match got {
            Some(g) if g == want => {}
            Some(g) => problems.push(Problem {
                path: rel.into(),
                line,
                col: 1,
                severity: Severity::Warning,
                message: format!("property `{key}` is `{g}` here but `{want}` in the schema: set it to \"{want}\""),
            }),
            None => missing.push(format!("\"{key}\": \"{want}\"")),
        }
    }
    if !missing.is_empty() {
        problems.push(Problem {
            path: rel.into(),
            line: 1,
            col: 1,
            severity: Severity::Warning,
            message: format!(
                "{} schema properties are missing, so Obsidian edits them as plain text: add {}",
                missing.len(),
                missing.join(", ")
            ),
        });
    }
}
