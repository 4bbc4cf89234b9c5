//! The field-level history of the vault, read back from the commits: for each commit (newest
//! first, following first parents) and each note it changed, which fields changed from what to
//! what, who made the change, when, and from which system (`Ssot-Source` trailer).
//!
//! The changes are computed from the commits' trees, not parsed from their messages, so commits
//! made by plain `git` (without trailers) are read too; their source is `unknown`.

use std::path::Path;

use git2::{DiffFindOptions, Repository, Sort};
use serde::Serialize;

use super::diff::{BodySummary, FieldChange, note_changes};
use super::status::ChangeKind;
use super::{
    HistoryError, TRAILER_RUN, TRAILER_SOURCE, TRAILER_TRANSITION, blob_bytes, delta_path, git_err,
    is_note, open_repo, short_id, trailers,
};

/// One note changed by one commit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogEntry {
    /// The abbreviated commit id.
    pub commit: String,
    /// The commit time, RFC 3339 with the author's offset.
    pub date: String,
    /// The author's name.
    pub author: String,
    /// The author's email.
    pub email: String,
    /// The `Ssot-Source` trailer; `unknown` without one.
    pub source: String,
    /// The `Ssot-Run` trailer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// The `Ssot-Transition` trailers about this note (those naming another note of the commit
    /// left out).
    pub transitions: Vec<String>,
    /// The commit's first line.
    pub summary: String,
    /// The note's path after the commit (before it, for a deletion).
    pub path: String,
    /// The path before a rename.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
    /// How the note changed.
    pub kind: ChangeKind,
    /// The field changes (only the requested field when filtered).
    pub changes: Vec<FieldChange>,
    /// The body's line changes (not given when filtered by field).
    pub body: Option<BodySummary>,
    /// Why a version of the note could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
}

impl LogEntry {
    /// The date as `YYYY-MM-DD HH:MM` (the author's local time).
    pub fn short_date(&self) -> String {
        self.date
            .get(..16)
            .map_or_else(|| self.date.clone(), |d| d.replacen('T', " ", 1))
    }
}

/// The field-level history from HEAD, newest first. `note` (a path relative to the vault root)
/// keeps only that note, following its renames backwards; `field` keeps only changes of that key
/// (and entries that have one). An unborn branch has no history.
pub fn log(
    root: &Path,
    note: Option<&Path>,
    field: Option<&str>,
) -> Result<Vec<LogEntry>, HistoryError> {
    let repo = open_repo(root)?;
    let head = match repo.head() {
        Ok(h) => h.target(),
        Err(e)
            if matches!(
                e.code(),
                git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound
            ) =>
        {
            None
        }
        Err(e) => {
            return Err(HistoryError::Git {
                repo: root.to_path_buf(),
                action: "read HEAD",
                source: e,
            });
        }
    };
    let Some(head) = head else {
        return Ok(Vec::new());
    };
    let mut wanted: Option<String> = note.map(|p| {
        p.components()
            .filter_map(|c| match c {
                std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("/")
    });
    let mut walk = repo.revwalk().map_err(git_err(root, "walk history"))?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME)
        .map_err(git_err(root, "walk history"))?;
    walk.simplify_first_parent()
        .map_err(git_err(root, "walk history"))?;
    walk.push(head).map_err(git_err(root, "walk history"))?;
    let mut out = Vec::new();
    for oid in walk {
        let oid = oid.map_err(git_err(root, "walk history"))?;
        let commit = repo
            .find_commit(oid)
            .map_err(git_err(root, "read commit"))?;
        let next_wanted = commit_entries(&repo, root, &commit, wanted.as_deref(), field, &mut out)?;
        if next_wanted.is_some() {
            wanted = next_wanted;
        }
    }
    Ok(out)
}

/// Appends the entries of one commit. Returns the note's older path when the wanted note was
/// renamed by this commit.
fn commit_entries(
    repo: &Repository,
    root: &Path,
    commit: &git2::Commit<'_>,
    wanted: Option<&str>,
    field: Option<&str>,
    out: &mut Vec<LogEntry>,
) -> Result<Option<String>, HistoryError> {
    let tree = commit.tree().map_err(git_err(root, "read tree"))?;
    let parent_tree = match commit.parent(0) {
        Ok(p) => Some(p.tree().map_err(git_err(root, "read tree"))?),
        Err(_) => None,
    };
    let mut diff = repo
        .diff_tree_to_tree(parent_tree.as_ref(), Some(&tree), None)
        .map_err(git_err(root, "diff commit"))?;
    let mut fopts = DiffFindOptions::new();
    fopts.renames(true);
    diff.find_similar(Some(&mut fopts))
        .map_err(git_err(root, "detect renames"))?;
    let mut renamed_from = None;
    let mut meta: Option<Meta> = None;
    for delta in diff.deltas() {
        let kind = match delta.status() {
            git2::Delta::Added | git2::Delta::Copied => ChangeKind::Added,
            git2::Delta::Deleted => ChangeKind::Deleted,
            git2::Delta::Renamed => ChangeKind::Renamed,
            git2::Delta::Modified | git2::Delta::Typechange => ChangeKind::Modified,
            _ => continue,
        };
        let old_path = delta_path(&delta.old_file());
        let new_path = delta_path(&delta.new_file());
        let path = match kind {
            ChangeKind::Deleted => old_path.clone(),
            _ => new_path.clone(),
        };
        let Some(path) = path else { continue };
        if !is_note(&path) {
            continue;
        }
        if let Some(w) = wanted
            && w != path
        {
            continue;
        }
        let old_path = if kind == ChangeKind::Renamed {
            old_path
        } else {
            None
        };
        if wanted.is_some() && old_path.is_some() {
            renamed_from.clone_from(&old_path);
        }
        let old = if kind == ChangeKind::Added {
            None
        } else {
            blob_bytes(repo, root, delta.old_file().id())?
        };
        let new = if kind == ChangeKind::Deleted {
            None
        } else {
            blob_bytes(repo, root, delta.new_file().id())?
        };
        let nd = note_changes(old.as_deref(), new.as_deref());
        let (changes, body, unreadable) = match field {
            Some(f) => {
                let changes: Vec<FieldChange> =
                    nd.fields.into_iter().filter(|c| c.key == f).collect();
                if changes.is_empty() {
                    continue;
                }
                (changes, None, None)
            }
            None => (nd.fields, nd.body, nd.unreadable),
        };
        let m = meta.get_or_insert_with(|| Meta::of(commit));
        out.push(LogEntry {
            commit: m.short.clone(),
            date: m.date.clone(),
            author: m.author.clone(),
            email: m.email.clone(),
            source: m.source.clone(),
            run: m.run.clone(),
            // A transition naming another note of the commit is that note's.
            transitions: m
                .transitions
                .iter()
                .filter(|t| trailers::transition(t).is_none_or(|t| t.concerns(&path)))
                .cloned()
                .collect(),
            summary: m.summary.clone(),
            path,
            old_path,
            kind,
            changes,
            body,
            unreadable,
        });
    }
    Ok(renamed_from)
}

/// What every entry of a commit shares.
struct Meta {
    short: String,
    date: String,
    author: String,
    email: String,
    source: String,
    run: Option<String>,
    transitions: Vec<String>,
    summary: String,
}

impl Meta {
    fn of(commit: &git2::Commit<'_>) -> Meta {
        let message = String::from_utf8_lossy(commit.message_bytes()).into_owned();
        let t = trailers::parse(&message);
        let short = short_id(commit.as_object());
        let author = commit.author();
        Meta {
            short,
            date: rfc3339(author.when()),
            author: String::from_utf8_lossy(author.name_bytes()).into_owned(),
            email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
            source: trailers::values(&t, TRAILER_SOURCE)
                .last()
                .unwrap_or("unknown")
                .to_string(),
            run: trailers::values(&t, TRAILER_RUN).last().map(str::to_string),
            transitions: trailers::values(&t, TRAILER_TRANSITION)
                .map(str::to_string)
                .collect(),
            summary: message.lines().next().unwrap_or_default().to_string(),
        }
    }
}

/// A git time as RFC 3339 in its own offset, e.g. `2024-05-01T14:30:00+02:00`.
pub fn rfc3339(t: git2::Time) -> String {
    let minutes = t.offset_minutes();
    let offset = jiff::tz::Offset::from_seconds(minutes * 60).unwrap_or(jiff::tz::Offset::UTC);
    let local = jiff::Timestamp::from_second(t.seconds()).map(|ts| offset.to_datetime(ts));
    let sign = if minutes < 0 { '-' } else { '+' };
    let abs = minutes.unsigned_abs();
    match local {
        Ok(dt) => format!(
            "{}{sign}{:02}:{:02}",
            dt.strftime("%Y-%m-%dT%H:%M:%S"),
            abs / 60,
            abs % 60
        ),
        Err(_) => t.seconds().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(
            rfc3339(git2::Time::new(1_714_566_600, 120)),
            "2024-05-01T14:30:00+02:00"
        );
        assert_eq!(
            rfc3339(git2::Time::new(1_714_566_600, -300)),
            "2024-05-01T07:30:00-05:00"
        );
        let e = LogEntry {
            commit: "abc1234".into(),
            date: "2024-05-01T14:30:00+02:00".into(),
            author: "A".into(),
            email: "a@x".into(),
            source: "vault".into(),
            run: None,
            transitions: vec![],
            summary: String::new(),
            path: "X.md".into(),
            old_path: None,
            kind: ChangeKind::Modified,
            changes: vec![],
            body: None,
            unreadable: None,
        };
        assert_eq!(e.short_date(), "2024-05-01 14:30");
    }
}
