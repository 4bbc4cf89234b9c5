//! Uncommitted changes of the vault: what differs between HEAD and the work tree (staged or not,
//! untracked files included, `.gitignore` respected), note by note and field by field.
//!
//! Built to stay fast on large vaults: one `git status` pass (stat cache, no rename detection)
//! answers "nothing changed"; only when something did is a HEAD→work tree diff with rename
//! detection run, restricted to the changed paths, and only the changed notes are read.

use std::path::Path;

use git2::{Delta, Diff, DiffFindOptions, DiffOptions, Repository, StatusOptions};
use serde::Serialize;

use super::diff::{NoteDiff, note_changes};
use super::{HistoryError, blob_bytes, delta_path, git_err, head_tree, is_note, open_repo};

/// How a file changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// New file.
    Added,
    /// Changed in place.
    Modified,
    /// Removed.
    Deleted,
    /// Moved (maybe changed too); see [`NoteStatus::old_path`].
    Renamed,
}

impl ChangeKind {
    /// The one-letter code: `A`, `M`, `D`, `R`.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Added => 'A',
            ChangeKind::Modified => 'M',
            ChangeKind::Deleted => 'D',
            ChangeKind::Renamed => 'R',
        }
    }

    /// The word: `added`, `modified`, `deleted`, `renamed`.
    pub fn word(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Modified => "modified",
            ChangeKind::Deleted => "deleted",
            ChangeKind::Renamed => "renamed",
        }
    }
}

/// One changed file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoteStatus {
    /// The path in the vault (`/`-separated); for a deleted file, where it was.
    pub path: String,
    /// How it changed.
    pub kind: ChangeKind,
    /// For a rename: the path it had before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
    /// For a note (`.md`): its field-level changes. `None` for other files.
    pub diff: Option<NoteDiff>,
}

impl NoteStatus {
    /// `path` or `old → path` for renames.
    pub fn display_path(&self) -> String {
        match &self.old_path {
            Some(old) => format!("{old} → {}", self.path),
            None => self.path.clone(),
        }
    }
}

/// Above this many changed paths the detailed diff walks the whole tree instead of a pathspec.
const PATHSPEC_LIMIT: usize = 256;

/// git's status of every file of the work tree against HEAD, untracked files included.
fn work_tree_statuses<'r>(
    repo: &'r git2::Repository,
    root: &Path,
) -> Result<git2::Statuses<'r>, HistoryError> {
    let mut sopts = StatusOptions::new();
    sopts
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .exclude_submodules(true);
    repo.statuses(Some(&mut sopts))
        .map_err(git_err(root, "status"))
}

/// The paths (relative to `root`) of the files that are new or modified since HEAD and still
/// exist, `.gitignore` respected: what a sync recovering from a crash looks through.
pub fn changed_paths(root: &Path) -> Result<Vec<String>, HistoryError> {
    let repo = open_repo(root)?;
    let statuses = work_tree_statuses(&repo, root)?;
    Ok(statuses
        .iter()
        .filter(|e| {
            let s = e.status();
            !s.is_ignored() && !s.is_wt_deleted() && !s.is_index_deleted()
        })
        .filter_map(|e| e.path().ok().map(str::to_string))
        .collect())
}

/// The uncommitted changes of the vault at `root`, sorted by path.
pub fn status(root: &Path) -> Result<Vec<NoteStatus>, HistoryError> {
    let repo = open_repo(root)?;
    let statuses = work_tree_statuses(&repo, root)?;
    if statuses.is_empty() {
        return Ok(Vec::new());
    }
    let mut paths: Vec<String> = Vec::new();
    for entry in statuses.iter() {
        if entry.status().is_ignored() {
            continue;
        }
        if let Ok(p) = entry.path() {
            paths.push(p.to_string());
        }
    }
    drop(statuses);
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let tree = head_tree(&repo, root)?;
    let mut dopts = DiffOptions::new();
    dopts
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .ignore_submodules(true);
    if paths.len() <= PATHSPEC_LIMIT {
        dopts.disable_pathspec_match(true);
        for p in &paths {
            dopts.pathspec(p);
        }
    }
    let mut diff = repo
        .diff_tree_to_workdir_with_index(tree.as_ref(), Some(&mut dopts))
        .map_err(git_err(root, "diff HEAD to work tree"))?;
    let mut fopts = DiffFindOptions::new();
    fopts.renames(true).for_untracked(true);
    diff.find_similar(Some(&mut fopts))
        .map_err(git_err(root, "detect renames"))?;
    changes(&repo, root, &diff, NewSide::WorkTree)
}

/// Where the new side of a diff is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NewSide {
    /// Files in the work tree.
    WorkTree,
    /// Blobs in the object database (tree or index diffs).
    Blobs,
}

/// Turns a diff's deltas into statuses, reading both sides of changed notes.
pub(crate) fn changes(
    repo: &Repository,
    root: &Path,
    diff: &Diff<'_>,
    new_side: NewSide,
) -> Result<Vec<NoteStatus>, HistoryError> {
    let mut out = Vec::new();
    for delta in diff.deltas() {
        let kind = match delta.status() {
            Delta::Added | Delta::Untracked | Delta::Copied => ChangeKind::Added,
            Delta::Deleted => ChangeKind::Deleted,
            Delta::Modified | Delta::Typechange | Delta::Conflicted => ChangeKind::Modified,
            Delta::Renamed => ChangeKind::Renamed,
            Delta::Unmodified | Delta::Ignored | Delta::Unreadable => continue,
        };
        let old_path = delta_path(&delta.old_file());
        let new_path = delta_path(&delta.new_file());
        let (path, old_path) = match kind {
            ChangeKind::Deleted => (old_path.or(new_path), None),
            ChangeKind::Renamed => (new_path, old_path),
            _ => (new_path.or(old_path), None),
        };
        let Some(path) = path else { continue };
        let note = is_note(&path) || old_path.as_deref().is_some_and(is_note);
        let diff = if note {
            let old = match kind {
                ChangeKind::Added => None,
                _ => blob_bytes(repo, root, delta.old_file().id())?,
            };
            let new = match (kind, new_side) {
                (ChangeKind::Deleted, _) => None,
                (_, NewSide::Blobs) => blob_bytes(repo, root, delta.new_file().id())?,
                (_, NewSide::WorkTree) => read_work_file(root, &path)?,
            };
            Some(note_changes(old.as_deref(), new.as_deref()))
        } else {
            None
        };
        out.push(NoteStatus {
            path,
            kind,
            old_path,
            diff,
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Reads a work tree file; `None` when it vanished meanwhile.
fn read_work_file(root: &Path, path: &str) -> Result<Option<Vec<u8>>, HistoryError> {
    let full = root.join(path);
    match std::fs::read(&full) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(HistoryError::Io { path: full, source }),
    }
}
