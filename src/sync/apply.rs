//! Applying a plan to the vault: note edits through the frontmatter editor (surgical, atomic,
//! compare-and-swap), new notes for records made remotely, the `sync_conflicts` property.
//!
//! A note changed since the run read it is never overwritten: the editor refuses the write
//! ([`crate::fsutil::FsError::Changed`]), the record is skipped for this run and merges next run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::connectors::{Binding, canonical};
use crate::fsutil::FsError;
use crate::vault::editor::Edit;
use crate::vault::schema::Schema;
use crate::vault::value::Value;
use crate::vault::{EditFileError, edit_file};

use super::plan::{FieldConflict, RecordPlan};

/// The property recording unresolved conflicts.
pub const CONFLICTS_KEY: &str = "sync_conflicts";

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
    let cur: Vec<String> = current
        .map(|v| {
            v.items()
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut want: Vec<String> = cur
        .iter()
        .filter(|s| parse_conflict_entry(s).is_none_or(|(_, _, r, _)| r != remote))
        .cloned()
        .collect();
    want.extend(open.iter().cloned());
    if want == cur {
        return None;
    }
    Some(if want.is_empty() {
        Edit::Remove(CONFLICTS_KEY.into())
    } else {
        Edit::Set(
            CONFLICTS_KEY.into(),
            Value::List(want.into_iter().map(Value::Str).collect()),
        )
    })
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
}

/// Applies edits to a note (compare-and-swap). Returns whether the file changed.
pub fn edit_note(path: &Path, edits: &[Edit]) -> Result<bool, ApplyError> {
    if edits.is_empty() {
        return Ok(false);
    }
    match edit_file(path, edits) {
        Ok(e) => Ok(e.after.is_some()),
        Err(EditFileError::Fs(FsError::Changed { path })) => Err(ApplyError::Changed { path }),
        Err(e) => Err(ApplyError::Edit(e)),
    }
}

/// Applies independent note edits on several threads (each write atomic and flushed, as
/// [`edit_note`] does); returns each path with its outcome, in the given order.
pub fn edit_notes_parallel(
    jobs: Vec<(std::path::PathBuf, Vec<Edit>)>,
) -> Vec<(std::path::PathBuf, Result<bool, ApplyError>)> {
    // Two threads: the flushes overlap, and few threads keep the allocator's arenas (memory) few.
    crate::par::map(&jobs, 2, 16, |(p, e)| (p.clone(), edit_note(p, e)))
}

/// Writes a new note for a record made remotely: frontmatter with `type`, `ssot_id`, `created`,
/// the pulled fields and the remote id, in the type's folder, never over an existing file.
/// Returns the vault-relative path.
#[allow(clippy::too_many_arguments)]
pub fn create_note(
    root: &Path,
    folder: &str,
    binding: &Binding,
    schema: &Schema,
    rp: &RecordPlan,
    today: &str,
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
    if let Some(id) = &rp.remote_id {
        edits.push(Edit::Set(binding.id_key.clone(), Value::Str(id.clone())));
    }
    let text = crate::vault::editor::apply("", &edits)
        .map_err(|source| EditFileError::Edit {
            path: root.join(folder),
            source,
        })?
        .unwrap_or_default();
    let name = match crate::vault::create::file_stem(&rp.title) {
        Some(_) => rp.title.clone(),
        None => rp.ssot_id.clone(),
    };
    let dir = root.join(folder);
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
}
