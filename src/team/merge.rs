//! The note merge of the git merge driver: three versions of a note (the merge base, ours,
//! theirs) merged field by field with the sync's three-way merge ([`crate::sync::merge`]), the
//! body line by line with git's own merge (libgit2's `merge_file`, the algorithm of `git
//! merge-file`).
//!
//! A field changed on one side is taken; changed on both sides to different values, ours is kept
//! and theirs is recorded in `sync_conflicts` (`key | vault: ours | git: theirs`, the shape the
//! sync uses), never as conflict markers inside the YAML. `sync_conflicts` itself, and
//! `sync_errors`, are merged as sets of entries. A note that does not parse on a side, or whose frontmatter the editor does not
//! touch, falls back to git's text merge of the whole file.

use std::collections::BTreeSet;

use crate::config::ConflictPolicy;
use crate::connectors::Direction;
use crate::sync::apply::{CONFLICTS_KEY, ERRORS_KEY};
use crate::sync::merge::{FieldMerge, merge_field};
use crate::vault::editor::{self, Edit};
use crate::vault::note::Note;
use crate::vault::value::Value;

/// The name the other side takes in a `sync_conflicts` entry made by a merge.
pub const GIT_SIDE: &str = "git";

/// The result of merging three versions of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    /// The merged bytes.
    pub bytes: Vec<u8>,
    /// Keys changed on both sides to different values: ours kept, theirs in `sync_conflicts`.
    pub field_conflicts: Vec<String>,
    /// Conflict markers were left (in the body, or anywhere after a text fallback).
    pub markers: bool,
    /// Why the field merge was not used (git's text merge was), when it was not.
    pub fallback: Option<String>,
}

impl Merged {
    /// True when no conflict markers were left (recorded field conflicts are clean for git).
    pub fn clean(&self) -> bool {
        !self.markers
    }
}

/// Why a merge could not be made at all.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// libgit2's file merge failed.
    #[error("git's file merge failed: {}", .0.message())]
    Git(#[from] git2::Error),
}

/// Merges three versions of a file with git's text merge (markers `<<<<<<< ours` /
/// `>>>>>>> theirs` on conflicts); returns the bytes and whether it merged cleanly.
pub fn text_merge(
    base: &[u8],
    ours: &[u8],
    theirs: &[u8],
    path: &str,
) -> Result<(Vec<u8>, bool), MergeError> {
    if ours == theirs {
        return Ok((ours.to_vec(), true));
    }
    if base == ours {
        return Ok((theirs.to_vec(), true));
    }
    if base == theirs {
        return Ok((ours.to_vec(), true));
    }
    // `merge_file` does not initialise libgit2 itself; making a buffer does.
    drop(git2::Buf::new());
    let input = |bytes| {
        let mut i = git2::MergeFileInput::new();
        i.content(bytes).path(path);
        i
    };
    let (b, o, t) = (input(base), input(ours), input(theirs));
    let mut opts = git2::MergeFileOptions::new();
    opts.ancestor_label("base")
        .our_label("ours")
        .their_label("theirs");
    let r = git2::merge_file(&b, &o, &t, Some(&mut opts))?;
    Ok((r.content().to_vec(), r.is_automergeable()))
}

/// The value of a property compared across versions (`None`: absent).
fn canon(note: &Note, key: &str) -> Option<String> {
    note.get(key).map(|v| format!("{v:?}"))
}

/// A value as a `sync_conflicts` entry shows it.
fn shown(v: Option<&Value>) -> String {
    match v {
        None => "(empty)".into(),
        Some(v) => v.to_string(),
    }
}

/// The string entries of a list property (`sync_conflicts`, `sync_errors`).
fn set_entries(note: &Note, key: &str) -> Vec<String> {
    note.get(key).map(Value::strings).unwrap_or_default()
}

/// The list properties merged as sets of entries.
const SET_KEYS: [&str; 2] = [CONFLICTS_KEY, ERRORS_KEY];

/// The edit of the set property `key` merging base, ours and theirs (`notes`), with `added`
/// entries; `None` when ours stays.
fn merge_set(key: &str, notes: [&Note; 3], added: &[String]) -> Option<Edit> {
    let [b, o, t] = notes;
    let (eb, eo, et) = (
        set_entries(b, key),
        set_entries(o, key),
        set_entries(t, key),
    );
    let mut want: Vec<String> = eo
        .iter()
        .filter(|e| !eb.contains(e) || et.contains(e))
        .cloned()
        .collect();
    for e in et.iter().chain(added) {
        if !eb.contains(e) && !want.contains(e) {
            want.push(e.clone());
        }
    }
    if want == eo {
        return None;
    }
    Some(Edit::set_list(key, want))
}

/// The top-level keys of the three versions: ours in order, then theirs', then the base's.
fn all_keys(notes: [&Note; 3]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut keys = Vec::new();
    for n in notes {
        for e in n.frontmatter.iter().flat_map(|f| f.entries()) {
            if seen.insert(e.key.clone()) {
                keys.push(e.key.clone());
            }
        }
    }
    keys
}

/// Merges three versions of a note (`path` names it in git's markers). A side missing (added on
/// both sides) is an empty base.
pub fn merge_note(
    base: &[u8],
    ours: &[u8],
    theirs: &[u8],
    path: &str,
) -> Result<Merged, MergeError> {
    match field_merge(base, ours, theirs, path)? {
        Ok(m) => Ok(m),
        Err(why) => {
            let (bytes, clean) = text_merge(base, ours, theirs, path)?;
            Ok(Merged {
                bytes,
                field_conflicts: Vec::new(),
                markers: !clean,
                fallback: Some(why),
            })
        }
    }
}

/// The field merge; `Ok(Err(why))` when the note must fall back to the text merge.
fn field_merge(
    base: &[u8],
    ours: &[u8],
    theirs: &[u8],
    path: &str,
) -> Result<Result<Merged, String>, MergeError> {
    let mut notes = Vec::with_capacity(3);
    for (side, bytes) in [("base", base), ("ours", ours), ("theirs", theirs)] {
        match Note::parse(bytes) {
            Ok(n) => notes.push(n),
            Err(e) => return Ok(Err(format!("the {side} version does not parse: {e}"))),
        }
    }
    let [b, o, t] = [&notes[0], &notes[1], &notes[2]];
    if let Some(Err(why)) = o.frontmatter.as_ref().map(|f| f.editable()) {
        return Ok(Err(format!("our frontmatter is not editable: {why}")));
    }
    let mut edits = Vec::new();
    let mut field_conflicts = Vec::new();
    let mut new_entries = Vec::new();
    for key in all_keys([o, t, b]) {
        if SET_KEYS.contains(&key.as_str()) {
            continue;
        }
        let (cb, co, ct) = (canon(b, &key), canon(o, &key), canon(t, &key));
        let m = merge_field(
            Some(cb.as_deref()),
            co.as_deref(),
            ct.as_deref(),
            Direction::Both,
            ConflictPolicy::Manual,
        );
        match m {
            FieldMerge::Agree(_) | FieldMerge::Push(_) => {}
            FieldMerge::Pull(_) => match t.get(&key) {
                Some(v) => edits.push(Edit::Set(key.clone(), v.clone())),
                None => edits.push(Edit::Remove(key.clone())),
            },
            FieldMerge::Conflict { .. } => {
                new_entries.push(format!(
                    "{key} | vault: {} | {GIT_SIDE}: {}",
                    shown(o.get(&key)),
                    shown(t.get(&key))
                ));
                field_conflicts.push(key.clone());
            }
        }
    }
    // `sync_conflicts` and `sync_errors` as sets: ours, less what theirs settled, plus what
    // theirs added (and the conflicts of this merge).
    for key in SET_KEYS {
        let added: &[String] = if key == CONFLICTS_KEY {
            &new_entries
        } else {
            &[]
        };
        if let Some(e) = merge_set(key, [b, o, t], added) {
            edits.push(e);
        }
    }
    let text = match editor::apply(&o.text, &edits) {
        Ok(Some(t)) => t,
        Ok(None) => o.text.clone(),
        Err(e) => return Ok(Err(format!("the merged properties cannot be written: {e}"))),
    };
    let Ok(head) = Note::parse_text(text) else {
        return Ok(Err("the merged properties do not read back".into()));
    };
    let start = head.layout.body_start;
    let (body, clean) = text_merge(
        b.body().as_bytes(),
        o.body().as_bytes(),
        t.body().as_bytes(),
        path,
    )?;
    let mut bytes = head.text.into_bytes();
    bytes.truncate(start);
    bytes.extend_from_slice(&body);
    Ok(Ok(Merged {
        bytes,
        field_conflicts,
        markers: !clean,
        fallback: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn merge(b: &str, o: &str, t: &str) -> Merged {
        merge_note(b.as_bytes(), o.as_bytes(), t.as_bytes(), "n.md").expect("merge")
    }

    fn text(m: &Merged) -> &str {
        std::str::from_utf8(&m.bytes).expect("utf8")
    }

    #[test]
    fn different_fields_merge_cleanly() {
        let b = "---\nstatus: lead\nowner: ann\n---\nbody\n";
        let o = "---\nstatus: active\nowner: ann\n---\nbody\n";
        let t = "---\nstatus: lead\nowner: bob\nnew: 1\n---\nbody\n";
        let m = merge(b, o, t);
        assert!(m.clean() && m.field_conflicts.is_empty() && m.fallback.is_none());
        assert_eq!(
            text(&m),
            "---\nstatus: active\nowner: bob\nnew: 1\n---\nbody\n"
        );
    }

    #[test]
    fn same_field_keeps_ours_and_records_theirs() {
        let b = "---\nstatus: lead\n---\nbody\n";
        let o = "---\nstatus: active\n---\nbody\n";
        let t = "---\nstatus: blocked\n---\nbody\n";
        let m = merge(b, o, t);
        assert!(m.clean());
        assert_eq!(m.field_conflicts, vec!["status".to_string()]);
        assert_eq!(
            text(&m),
            "---\nstatus: active\nsync_conflicts:\n  - \"status | vault: active | git: blocked\"\n---\nbody\n"
        );
    }

    #[test]
    fn bodies_merge_like_git_and_conflicts_keep_markers() {
        let b = "---\na: 1\n---\none\ntwo\nthree\n";
        let o = "---\na: 2\n---\nONE\ntwo\nthree\n";
        let t = "---\na: 1\n---\none\ntwo\nTHREE\n";
        let m = merge(b, o, t);
        assert!(m.clean());
        assert_eq!(text(&m), "---\na: 2\n---\nONE\ntwo\nTHREE\n");
        let t2 = "---\na: 1\n---\nuno\ntwo\nthree\n";
        let m = merge(b, o, t2);
        assert!(!m.clean());
        let s = text(&m);
        assert!(s.starts_with("---\na: 2\n---\n<<<<<<< ours\nONE\n"), "{s}");
        assert!(Note::parse(&m.bytes).is_ok());
    }

    #[test]
    fn broken_side_falls_back_to_text_merge() {
        let b = "---\na: 1\n---\nx\n";
        let o = "---\na: [1\n---\nx\n";
        let t = "---\na: 3\n---\nx\n";
        let m = merge(b, o, t);
        assert!(m.fallback.is_some());
        assert!(!m.clean());
        assert!(text(&m).contains("<<<<<<< ours"));
    }

    #[test]
    fn conflict_entries_merge_as_a_set() {
        let e1 = "  - \"x | vault: 1 | hubspot: 2\"\n";
        let e2 = "  - \"y | vault: 1 | jira: 2\"\n";
        let b = format!("---\nsync_conflicts:\n{e1}---\n");
        let o = format!("---\nsync_conflicts:\n{e1}{e2}---\n");
        let t = "---\na: 1\n---\n";
        let m = merge(&b, &o, t);
        assert_eq!(
            text(&m),
            "---\nsync_conflicts:\n  - \"y | vault: 1 | jira: 2\"\na: 1\n---\n"
        );
    }

    #[test]
    fn error_entries_merge_as_a_set() {
        let e1 = "  - \"jira: delete refused: 409 (2026-11-28)\"\n";
        let e2 = "  - \"hubspot: write refused: 400 (2026-11-29)\"\n";
        let e3 = "  - \"trello: attach export refused: 403 (2026-11-30)\"\n";
        // Theirs settled e1 and added e3; ours added e2.
        let b = format!("---\nsync_errors:\n{e1}---\n");
        let o = format!("---\nsync_errors:\n{e1}{e2}---\n");
        let t = format!("---\nsync_errors:\n{e3}---\n");
        let m = merge(&b, &o, &t);
        assert!(m.clean() && m.field_conflicts.is_empty());
        assert_eq!(text(&m), format!("---\nsync_errors:\n{e2}{e3}---\n"));
    }

    /// A frontmatter of up to four keys with small values (`None`: absent).
    fn fm() -> impl Strategy<Value = Vec<Option<u8>>> {
        prop::collection::vec(prop::option::of(0u8..3), 4)
    }

    fn render(v: &[Option<u8>], body: &str) -> String {
        let mut s = String::from("---\n");
        for (i, x) in v.iter().enumerate() {
            if let Some(x) = x {
                s.push_str(&format!("k{i}: v{x}\n"));
            }
        }
        s.push_str("---\n");
        s.push_str(body);
        s
    }

    proptest! {
        /// No field is lost: a field changed on one side carries that side's value; changed on
        /// both to different values, ours stays and the conflict is recorded; the result parses.
        #[test]
        fn driver_merge_loses_no_field(b in fm(), o in fm(), t in fm(), ob in 0usize..3, tb in 0usize..3) {
            let bodies = ["body\n", "edited\n", "other\n"];
            let m = merge(&render(&b, bodies[0]), &render(&o, bodies[ob]), &render(&t, bodies[tb]));
            let note = Note::parse(&m.bytes).expect("the result parses");
            prop_assert!(m.fallback.is_none());
            // Only a body edited on both sides differently leaves markers, in the body.
            let body_conflict = ob != 0 && tb != 0 && ob != tb;
            prop_assert_eq!(m.clean(), !body_conflict);
            let entries = set_entries(&note, CONFLICTS_KEY);
            for i in 0..4 {
                let key = format!("k{i}");
                let got = note.get(&key).map(|v| v.to_string());
                let val = |x: Option<u8>| x.map(|x| format!("v{x}"));
                let want = if o[i] == t[i] || t[i] == b[i] { val(o[i]) } else if o[i] == b[i] { val(t[i]) } else {
                    prop_assert!(entries.iter().any(|e| e.starts_with(&format!("{key} |"))), "{entries:?}");
                    val(o[i])
                };
                prop_assert_eq!(got, want, "key {}", key);
            }
            prop_assert_eq!(entries.len(), m.field_conflicts.len());
            if body_conflict {
                prop_assert!(note.body().starts_with("<<<<<<< ours\n"), "{}", note.body());
            } else {
                prop_assert_eq!(note.body(), bodies[ob.max(tb)]);
            }
        }
    }
}
