//! Applying a plan to the vault: note edits through the frontmatter editor (surgical, atomic,
//! compare-and-swap), new notes for records made remotely, the `sync_conflicts` property and the
//! `sync_errors` property (what a service refused in the last run that tried it).
//!
//! A note changed since the run read it is never overwritten: the editor refuses the write
//! ([`crate::fsutil::FsError::Changed`]), the record is skipped for this run and merges next run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::connectors::{Binding, SectionItem, SectionSpec, canonical};
use crate::fsutil::FsError;
use crate::vault::EditFileError;
use crate::vault::editor::Edit;
use crate::vault::note::Note;
use crate::vault::schema::{Schema, Severity};
use crate::vault::value::Value;

use super::plan::{Action, FieldConflict, RecordPlan, text_hash};

/// The property recording unresolved conflicts.
pub const CONFLICTS_KEY: &str = "sync_conflicts";

/// The property recording what each remote refused of a note in its last run: one entry per
/// refusal, `jira: grant access to expert refused: 403 … (2026-11-30)`.
pub const ERRORS_KEY: &str = "sync_errors";

/// The longest message a `sync_errors` entry keeps (a service's text is cut after it).
pub const ERROR_MAX_CHARS: usize = 300;

/// A service's message as a `sync_errors` entry holds it: one line, without control characters
/// (line breaks and tabs become spaces, others are dropped, runs of spaces made one), cut to
/// [`ERROR_MAX_CHARS`] characters.
pub fn clean_message(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut space = false;
    for c in message.chars() {
        let blank = c.is_whitespace() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}');
        if blank {
            space = !out.is_empty();
            continue;
        }
        if crate::text::is_hidden(c) {
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
    }
    crate::text::cap_chars(&out, ERROR_MAX_CHARS)
}

/// One `sync_errors` entry: the remote, the message (cleaned, [`clean_message`]) and the day.
pub fn error_entry(remote: &str, message: &str, today: &str) -> String {
    format!("{remote}: {} ({today})", clean_message(message))
}

/// An entry's remote and its message without the day; `None` for an entry not of that shape.
fn parse_error_entry(s: &str) -> Option<(&str, &str)> {
    let (remote, rest) = s.split_once(": ")?;
    let message = match rest.rsplit_once(" (") {
        Some((m, day))
            if day.strip_suffix(')').is_some_and(|d| {
                d.len() == 10 && d.bytes().all(|b| b.is_ascii_digit() || b == b'-')
            }) =>
        {
            m
        }
        _ => rest,
    };
    Some((remote, message))
}

/// The string entries of a `sync_errors` value.
fn string_items(value: Option<&Value>) -> Vec<String> {
    value.map(Value::strings).unwrap_or_default()
}

/// Whether a note's `sync_errors` holds an entry of `remote`.
pub fn has_errors(value: Option<&Value>, remote: &str) -> bool {
    string_items(value)
        .iter()
        .any(|s| parse_error_entry(s).is_some_and(|(r, _)| r == remote))
}

/// The edit making a note's `sync_errors` hold exactly `messages` (as the service said them) for
/// `remote`, entries of other remotes kept: an entry whose message is the same as before keeps
/// its day (the day it was first refused). `None` when nothing changes.
pub fn error_edits(
    current: Option<&Value>,
    remote: &str,
    messages: &[String],
    today: &str,
) -> Option<Edit> {
    let cur = string_items(current);
    let mut want: Vec<String> = cur
        .iter()
        .filter(|s| parse_error_entry(s).is_none_or(|(r, _)| r != remote))
        .cloned()
        .collect();
    for m in messages {
        let clean = clean_message(m);
        let kept = cur
            .iter()
            .find(|s| parse_error_entry(s) == Some((remote, clean.as_str())));
        let entry = match kept {
            Some(e) => e.clone(),
            None => format!("{remote}: {clean} ({today})"),
        };
        if !want.contains(&entry) {
            want.push(entry);
        }
    }
    if want == cur {
        return None;
    }
    Some(Edit::set_list(ERRORS_KEY, want))
}

/// The property marking a note whose record was archived remotely (`<remote>_archived`).
pub fn archived_key(remote: &str) -> String {
    format!("{remote}_archived")
}

/// One `sync_conflicts` entry: `status | vault: active | hubspot: blocked`.
pub fn conflict_entry(remote: &str, c: &FieldConflict) -> String {
    format!("{} | vault: {} | {remote}: {}", c.key, c.shown.0, c.shown.1)
}

/// Parses an entry into (key, vault shown, remote name, remote shown).
pub fn parse_conflict_entry(s: &str) -> Option<(String, String, String, String)> {
    let mut parts = s.split(" | ");
    let key = parts.next()?.trim().to_string();
    let vault = parts
        .next()?
        .trim()
        .strip_prefix("vault:")?
        .trim()
        .to_string();
    let (remote, value) = parts.next()?.split_once(':')?;
    Some((
        key,
        vault,
        remote.trim().to_string(),
        value.trim().to_string(),
    ))
}

/// The keys with a recorded conflict for `remote` in a note's `sync_conflicts`.
pub fn recorded_conflicts(value: Option<&Value>, remote: &str) -> Vec<(String, String)> {
    let Some(v) = value else { return Vec::new() };
    v.items()
        .iter()
        .filter_map(|i| i.as_str())
        .filter_map(|s| {
            let (k, _, r, _) = parse_conflict_entry(s)?;
            (r == remote).then(|| (k, s.to_string()))
        })
        .collect()
}

/// The edits making a note's `sync_conflicts` hold `open` for `remote` (entries of other remotes
/// kept); `None` when nothing changes.
pub fn conflict_edits(current: Option<&Value>, remote: &str, open: &[String]) -> Option<Edit> {
    let cur: Vec<String> = current.map(Value::strings).unwrap_or_default();
    let mut want: Vec<String> = cur
        .iter()
        .filter(|s| parse_conflict_entry(s).is_none_or(|(_, _, r, _)| r != remote))
        .cloned()
        .collect();
    want.extend(open.iter().cloned());
    if want == cur {
        return None;
    }
    Some(Edit::set_list(CONFLICTS_KEY, want))
}

/// The edits of the pulled fields of a record.
pub fn field_edits(
    binding: &Binding,
    schema: &Schema,
    fields: &BTreeMap<String, Option<String>>,
) -> Vec<Edit> {
    let nt = schema.get(&binding.note_type);
    binding
        .fields
        .iter()
        .filter_map(|spec| {
            let v = fields.get(&spec.key)?;
            let ty = nt.and_then(|n| n.field(&spec.key)).map(|f| &f.ty);
            Some(Edit::Set(
                spec.key.clone(),
                canonical::to_vault(&spec.conv, v.as_deref(), ty),
            ))
        })
        .collect()
}

/// Why a note could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The note changed meanwhile: skipped this run.
    #[error("{}: changed while syncing; left as it is, it merges next run", path.display())]
    Changed {
        /// The note.
        path: PathBuf,
    },
    /// Any other failure to edit the note.
    #[error(transparent)]
    Edit(#[from] EditFileError),
    /// The note a record would make is not a valid note (`check` would reject it): not written.
    #[error("{}", problems.join("; "))]
    Invalid {
        /// What is wrong, one message per problem.
        problems: Vec<String>,
    },
}

/// A note edit computed and not yet written.
#[derive(Debug)]
pub struct Prepared {
    path: PathBuf,
    before: Vec<u8>,
    after: String,
}

impl Prepared {
    /// The hash ([`text_hash`]) of the bytes the write will leave in the file.
    pub fn hash(&self) -> u64 {
        text_hash(self.after.as_bytes())
    }

    /// Writes the edit: atomic, and only if the file still holds the bytes it was computed from.
    pub fn write(&self) -> Result<(), ApplyError> {
        match crate::fsutil::write_if_unchanged(
            &self.path,
            Some(&self.before),
            self.after.as_bytes(),
        ) {
            Ok(()) => Ok(()),
            Err(FsError::Changed { path }) => Err(ApplyError::Changed { path }),
            Err(e) => Err(ApplyError::Edit(EditFileError::Fs(e))),
        }
    }
}

/// Body sections to write into a note: (its spec, the items it takes).
pub type SectionWrites<'a> = Vec<(&'a SectionSpec, &'a [SectionItem])>;

/// The sections of `rp` the note must take (all of them for a new note).
pub fn section_writes<'a>(b: &'a Binding, rp: &'a RecordPlan) -> SectionWrites<'a> {
    let Some(sp) = rp.sections.as_deref() else {
        return Vec::new();
    };
    b.sections
        .iter()
        .filter(|s| rp.action == Action::NewNote || sp.pull.contains(&s.heading))
        .filter_map(|s| Some((s, sp.items.get(&s.heading)?.as_slice())))
        .collect()
}

/// `text` with `sections` written into its body.
fn with_sections(text: String, sections: &SectionWrites<'_>) -> String {
    sections.iter().fold(text, |t, (s, items)| {
        crate::vault::sections::write(&t, s.kind, &s.heading, items)
    })
}

/// Computes `edits` on the note at `path` (as [`crate::vault::edit_file`] does); `None` when
/// nothing changes.
pub fn prepare_edit(path: &Path, edits: &[Edit]) -> Result<Option<Prepared>, ApplyError> {
    prepare_note_edit(path, edits, &Vec::new())
}

/// [`prepare_edit`], also writing body `sections`.
pub fn prepare_note_edit(
    path: &Path,
    edits: &[Edit],
    sections: &SectionWrites<'_>,
) -> Result<Option<Prepared>, ApplyError> {
    if edits.is_empty() && sections.is_empty() {
        return Ok(None);
    }
    let before = crate::fsutil::read(path).map_err(EditFileError::Fs)?;
    prepare_edit_of(path, before, edits, sections)
}

/// [`prepare_note_edit`] of the note whose bytes were read as `before`: the write happens only
/// if the file still holds them.
pub fn prepare_edit_of(
    path: &Path,
    before: Vec<u8>,
    edits: &[Edit],
    sections: &SectionWrites<'_>,
) -> Result<Option<Prepared>, ApplyError> {
    let note = Note::parse(&before).map_err(|source| EditFileError::Note {
        path: path.to_path_buf(),
        source,
    })?;
    let after =
        crate::vault::editor::apply(&note.text, edits).map_err(|source| EditFileError::Edit {
            path: path.to_path_buf(),
            source,
        })?;
    let after = if sections.is_empty() {
        after
    } else {
        let text = with_sections(after.unwrap_or_else(|| note.text.clone()), sections);
        (text != note.text).then_some(text)
    };
    Ok(after.map(|after| Prepared {
        path: path.to_path_buf(),
        before,
        after,
    }))
}

/// Applies edits to a note (compare-and-swap). Returns whether the file changed.
pub fn edit_note(path: &Path, edits: &[Edit]) -> Result<bool, ApplyError> {
    edit_note_with(path, edits, |_| {})
}

/// [`edit_note`], telling `before_write` the hash of the bytes it is about to write (the run's
/// journal records it, so a crashed run's writes are known to the next run).
pub fn edit_note_with(
    path: &Path,
    edits: &[Edit],
    before_write: impl FnOnce(u64),
) -> Result<bool, ApplyError> {
    edit_note_sections_with(path, edits, &Vec::new(), before_write)
}

/// [`edit_note_with`], also writing body `sections`.
pub fn edit_note_sections_with(
    path: &Path,
    edits: &[Edit],
    sections: &SectionWrites<'_>,
    before_write: impl FnOnce(u64),
) -> Result<bool, ApplyError> {
    match prepare_note_edit(path, edits, sections)? {
        None => Ok(false),
        Some(p) => {
            before_write(p.hash());
            p.write()?;
            Ok(true)
        }
    }
}

/// Applies independent note edits on several threads (each write atomic and flushed, as
/// [`edit_note`] does), a chunk at a time: `before_writes` is told the hashes of a chunk's writes
/// before they are made. Returns each path with its outcome, in the given order.
pub fn edit_notes_parallel(
    jobs: Vec<(std::path::PathBuf, Vec<Edit>)>,
    mut before_writes: impl FnMut(&[u64]),
) -> Vec<(std::path::PathBuf, Result<bool, ApplyError>)> {
    // A chunk's notes are held twice (before and after) between the two passes: chunks keep
    // that small on a first sync of thousands of notes.
    const CHUNK: usize = 256;
    let mut out = Vec::with_capacity(jobs.len());
    for chunk in jobs.chunks(CHUNK) {
        // Two threads: the flushes overlap, and few threads keep the allocator's arenas (memory)
        // few.
        let prepared = crate::par::map(chunk, 2, 16, |(p, e)| prepare_edit(p, e));
        let hashes: Vec<u64> = prepared
            .iter()
            .filter_map(|r| r.as_ref().ok().and_then(|p| p.as_ref()).map(Prepared::hash))
            .collect();
        before_writes(&hashes);
        let written = crate::par::map(&prepared, 2, 16, |r| match r {
            Ok(Some(p)) => p.write().map(|()| true),
            Ok(None) | Err(_) => Ok(false),
        });
        for (((path, _), prepared), written) in chunk.iter().zip(prepared).zip(written) {
            out.push((path.clone(), prepared.and(written)));
        }
    }
    out
}

/// Whether the remote's canonical value `v` of `key` would make a note of `note_type` one
/// `check` rejects: no value for a key the schema requires, a template placeholder (`{{date}}`),
/// or a value the schema refuses (an enum value it does not know, text where a number goes).
pub fn unfit_value(
    schema: &Schema,
    bindings: &[Binding],
    note_type: &str,
    key: &str,
    v: Option<&str>,
) -> bool {
    let Some(field) = schema.get(note_type).and_then(|t| t.field(key)) else {
        return false;
    };
    let Some(v) = v.filter(|v| !v.trim().is_empty()) else {
        return field.required;
    };
    if v.contains("{{") && v.contains("}}") {
        return true;
    }
    let Some(spec) = bindings
        .iter()
        .find(|b| b.note_type == note_type)
        .and_then(|b| b.field(key))
    else {
        return false;
    };
    let value = canonical::to_vault(&spec.conv, Some(v), Some(&field.ty));
    crate::vault::schema::check_value(field, &value).is_some_and(|(s, _)| s == Severity::Error)
}

/// The problems that would make `check` reject a note of `text` (errors only).
fn invalid_note(schema: &Schema, text: &str) -> Vec<String> {
    let note = match Note::parse(text.as_bytes()) {
        Ok(n) => n,
        Err(e) => return vec![e.to_string()],
    };
    let Some(fm) = &note.frontmatter else {
        return vec!["no frontmatter".into()];
    };
    let Some(ty) = fm.get_str("type").and_then(|t| schema.get(t)) else {
        return Vec::new();
    };
    crate::vault::check::property_problems(schema, ty, fm)
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| p.message)
        .collect()
}

/// Writes a new note for a record made remotely: frontmatter with `type`, `ssot_id`, `created`,
/// the pulled fields, `links` (edits of its link keys) and the remote id, in the type's folder,
/// never over an existing file.
/// A note `check` would reject is not written ([`ApplyError::Invalid`]). `before_write` is told
/// the hash of the bytes about to be written. Returns the vault-relative path.
#[allow(clippy::too_many_arguments)]
pub fn create_note(
    root: &Path,
    folder: &str,
    binding: &Binding,
    schema: &Schema,
    rp: &RecordPlan,
    links: &[Edit],
    today: &str,
    before_write: impl FnOnce(u64),
) -> Result<String, ApplyError> {
    let mut edits = vec![
        Edit::Set("type".into(), Value::Str(rp.note_type.clone())),
        Edit::Set("ssot_id".into(), Value::Str(rp.ssot_id.clone())),
        Edit::Set(
            "created".into(),
            crate::vault::value::parse_date(today).map_or(Value::Str(today.into()), Value::Date),
        ),
    ];
    edits.extend(field_edits(binding, schema, &rp.pull));
    edits.extend(links.iter().cloned());
    if let Some(id) = &rp.remote_id {
        edits.push(Edit::Set(binding.id_key.clone(), Value::Str(id.clone())));
    }
    let text = crate::vault::editor::apply("", &edits)
        .map_err(|source| EditFileError::Edit {
            path: root.join(folder),
            source,
        })?
        .unwrap_or_default();
    let text = with_sections(text, &section_writes(binding, rp));
    let problems = invalid_note(schema, &text);
    if !problems.is_empty() {
        return Err(ApplyError::Invalid { problems });
    }
    let name = match crate::vault::create::file_stem(&rp.title) {
        Some(_) => rp.title.clone(),
        None => rp.ssot_id.clone(),
    };
    let dir = root.join(folder);
    before_write(text_hash(text.as_bytes()));
    match crate::vault::create::write_new(&dir, &name, &text) {
        Ok(path) => Ok(crate::vault::index::rel_of(root, &path)),
        Err(crate::vault::create::CreateError::Fs(e)) => {
            Err(ApplyError::Edit(EditFileError::Fs(e)))
        }
        Err(_) => Err(ApplyError::Changed {
            path: dir.join(name),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_entries_round_trip() {
        let c = FieldConflict {
            key: "status".into(),
            vault: Some("active".into()),
            remote: Some("blocked".into()),
            shown: ("active".into(), "blocked".into()),
        };
        let e = conflict_entry("hubspot", &c);
        assert_eq!(e, "status | vault: active | hubspot: blocked");
        assert_eq!(
            parse_conflict_entry(&e),
            Some((
                "status".into(),
                "active".into(),
                "hubspot".into(),
                "blocked".into()
            ))
        );
        let cur = Value::List(vec![
            Value::Str(e.clone()),
            Value::Str("x | vault: 1 | jira: 2".into()),
        ]);
        assert_eq!(
            conflict_edits(Some(&cur), "hubspot", &[]),
            Some(Edit::Set(
                CONFLICTS_KEY.into(),
                Value::List(vec![Value::Str("x | vault: 1 | jira: 2".into())])
            ))
        );
        assert_eq!(
            conflict_edits(Some(&cur), "hubspot", &[e]),
            Some(Edit::Set(
                CONFLICTS_KEY.into(),
                Value::List(vec![
                    Value::Str("x | vault: 1 | jira: 2".into()),
                    Value::Str("status | vault: active | hubspot: blocked".into())
                ])
            ))
        );
    }

    #[test]
    fn error_entries_of_one_remote_are_replaced_and_others_kept() {
        let list = |v: &[&str]| Value::List(v.iter().map(|s| Value::Str((*s).into())).collect());
        let cur = list(&[
            "jira: grant access to expert refused: 403 Forbidden (2026-11-28)",
            "hubspot: write refused: 400 bad email (2026-11-29)",
            "a note of one's own",
        ]);
        assert!(has_errors(Some(&cur), "jira"));
        assert!(has_errors(Some(&cur), "hubspot"));
        assert!(!has_errors(Some(&cur), "trello"));
        // The same refusal again keeps its day; a new one is added with today's.
        let now = vec![
            "grant access to expert refused: 403 Forbidden".to_string(),
            "move to in-progress refused: 400".to_string(),
        ];
        assert_eq!(
            error_edits(Some(&cur), "jira", &now, "2026-11-30"),
            Some(Edit::Set(
                ERRORS_KEY.into(),
                list(&[
                    "hubspot: write refused: 400 bad email (2026-11-29)",
                    "a note of one's own",
                    "jira: grant access to expert refused: 403 Forbidden (2026-11-28)",
                    "jira: move to in-progress refused: 400 (2026-11-30)",
                ])
            ))
        );
        // Nothing refused: this remote's entries go, the others stay.
        assert_eq!(
            error_edits(Some(&cur), "jira", &[], "2026-11-30"),
            Some(Edit::Set(
                ERRORS_KEY.into(),
                list(&[
                    "hubspot: write refused: 400 bad email (2026-11-29)",
                    "a note of one's own",
                ])
            ))
        );
        // Unchanged: no edit; the last entry gone: the key goes.
        let one = list(&["jira: delete refused: 409 (2026-11-28)"]);
        assert_eq!(
            error_edits(
                Some(&one),
                "jira",
                &["delete refused: 409".into()],
                "2026-11-30"
            ),
            None
        );
        assert_eq!(
            error_edits(Some(&one), "jira", &[], "2026-11-30"),
            Some(Edit::Remove(ERRORS_KEY.into()))
        );
        assert_eq!(error_edits(None, "jira", &[], "2026-11-30"), None);
        assert_eq!(
            error_edits(None, "jira", &["x".into(), "x".into()], "2026-11-30"),
            Some(Edit::Set(
                ERRORS_KEY.into(),
                list(&["jira: x (2026-11-30)"])
            ))
        );
    }

    #[test]
    fn error_messages_are_one_short_line() {
        assert_eq!(
            clean_message("403\r\n\tForbidden:\0 \u{1b}[31mno\u{202e} access  "),
            "403 Forbidden: [31mno access"
        );
        let long = format!("{}\n{}", "x".repeat(10_000), "\0".repeat(100));
        let c = clean_message(&long);
        assert!(c.chars().count() < 330, "{c}");
        assert!(c.ends_with("… (10000 characters)"), "{c}");
        assert_eq!(
            error_entry("jira", "a\nb", "2026-11-30"),
            "jira: a b (2026-11-30)"
        );
    }
}
