//! Creating the vault's repository and writing audit commits.
//!
//! An audit commit stages every change of the work tree (additions, modifications, deletions;
//! `.gitignore` respected) and carries a message that is the audit record itself:
//!
//! ```text
//! Update 2 notes: Acme Corp, Website redesign
//!
//! Clients/Acme Corp.md: + phone: +48 600 100 200
//! Projects/Website redesign.md: status: intake → matching
//! Projects/Website redesign.md: body: +3 −1 lines
//!
//! Ssot-Source: vault
//! Ssot-Run: 2024-05-01-1
//! ```
//!
//! Values come from anywhere (a note, a service record) and go into the message shown, never
//! acted on: control characters (NUL, which git cannot store, ESC, CR, ...) and bidi controls are
//! written as visible escapes (`\u{0}`, `\u{1b}`, `\r`), and a value longer than
//! [`MAX_SHOWN_CHARS`] characters is cut, so nothing a service sends can stop the audit log.

use std::path::Path;

use git2::{DiffFindOptions, IndexAddOption, Repository, RepositoryInitOptions, Signature};
use serde::Serialize;

use crate::vault::value::Value;

use super::diff::show;
use super::status::{ChangeKind, NewSide, NoteStatus, changes};
use super::{
    HistoryError, TRAILER_SOURCE, git_err, head_tree, open_repo, short_id, title, trailers,
};

/// What to commit and how to label it.
#[derive(Debug, Clone, Default)]
pub struct CommitRequest {
    /// The summary (first paragraph); generated from the changes when `None`.
    pub message: Option<String>,
    /// The system the change comes from: `vault`, `hubspot`, `jira`, ...
    pub source: String,
    /// Further trailers, e.g. `("Ssot-Run", id)`, `("Ssot-Transition", "credentialing→active")`.
    pub trailers: Vec<(String, String)>,
    /// Author (name, email); else `GIT_AUTHOR_NAME`/`GIT_AUTHOR_EMAIL`, else git config.
    pub author: Option<(String, String)>,
}

/// A commit that was made.
#[derive(Debug, Clone, Serialize)]
pub struct CommitInfo {
    /// The full commit id.
    pub id: String,
    /// The abbreviated id.
    pub short_id: String,
    /// The message's first line.
    pub summary: String,
    /// The whole message.
    pub message: String,
    /// What the commit changed.
    pub changes: Vec<NoteStatus>,
}

/// Creates a repository (branch `main`) at `root` and commits everything not ignored (write
/// `.gitignore` first) with `message` and the trailer `Ssot-Source: vault`. A repository that
/// exists but has no commit yet (a bare `git init`) is used as it is; one with commits is an
/// error. The first commit is made even when the folder is empty. Returns the commit id.
pub fn init_repo(root: &Path, message: &str) -> Result<String, HistoryError> {
    let repo = match Repository::open(root) {
        Ok(repo) => {
            if head_tree(&repo, root)?.is_some() || repo.is_bare() {
                return Err(HistoryError::AlreadyARepo {
                    path: root.to_path_buf(),
                });
            }
            // No commit yet: the first one goes on `main`, whatever the default branch was.
            repo.set_head("refs/heads/main")
                .map_err(git_err(root, "set HEAD to main"))?;
            repo
        }
        Err(_) => {
            let mut opts = RepositoryInitOptions::new();
            opts.initial_head("main").mkdir(true);
            Repository::init_opts(root, &opts).map_err(git_err(root, "init"))?
        }
    };
    let req = CommitRequest {
        message: Some(message.to_string()),
        source: "vault".into(),
        ..CommitRequest::default()
    };
    let info = commit_in(&repo, root, &req, true, None)?;
    Ok(info.map(|i| i.id).unwrap_or_default())
}

/// The folder of ssot-vault's local state (`crate::sync::state::DIR`), never committed.
const LOCAL_STATE_DIR: &str = ".ssot";

/// Stages every change of the vault at `root` and commits it with an audit message. Returns
/// `None` when there is nothing to commit (no empty commits). Works on an unborn branch.
pub fn commit(root: &Path, req: &CommitRequest) -> Result<Option<CommitInfo>, HistoryError> {
    let repo = open_repo(root)?;
    commit_in(&repo, root, req, false, None)
}

/// Commits only the files at `paths` (relative to `root`) as they are in the work tree, the
/// rest of the vault left uncommitted; otherwise as [`commit`].
pub fn commit_paths(
    root: &Path,
    req: &CommitRequest,
    paths: &[String],
) -> Result<Option<CommitInfo>, HistoryError> {
    let repo = open_repo(root)?;
    commit_in(&repo, root, req, false, Some(paths))
}

fn commit_in(
    repo: &Repository,
    root: &Path,
    req: &CommitRequest,
    allow_empty: bool,
    only: Option<&[String]>,
) -> Result<Option<CommitInfo>, HistoryError> {
    let mut index = repo.index().map_err(git_err(root, "open index"))?;
    match only {
        None => {
            // `.ssot/` (sync state, the vault lock) is local: never staged, even when the
            // vault's `.gitignore` does not list it.
            let mut local_state = |path: &Path, _: &[u8]| -> i32 {
                i32::from(path.components().any(|c| c.as_os_str() == LOCAL_STATE_DIR))
            };
            index
                .add_all(
                    ["*"],
                    IndexAddOption::DEFAULT,
                    Some(&mut local_state as &mut git2::IndexMatchedPath),
                )
                .map_err(git_err(root, "stage changes"))?;
            index
                .update_all(["*"], None)
                .map_err(git_err(root, "stage deletions"))?;
        }
        Some(paths) => {
            // HEAD plus these paths: nothing else staged goes into this commit.
            match head_tree(repo, root)? {
                Some(t) => index.read_tree(&t).map_err(git_err(root, "read HEAD"))?,
                None => index.clear().map_err(git_err(root, "clear index"))?,
            }
            for p in paths {
                let rel = Path::new(p);
                if root.join(rel).exists() {
                    index.add_path(rel).map_err(git_err(root, "stage a file"))?;
                } else {
                    index
                        .remove_path(rel)
                        .map_err(git_err(root, "stage a deletion"))?;
                }
            }
        }
    }
    index.write().map_err(git_err(root, "write index"))?;
    let tree_id = index.write_tree().map_err(git_err(root, "write tree"))?;
    let head = head_tree(repo, root)?;
    let unchanged = match &head {
        Some(t) => t.id() == tree_id,
        None => index.is_empty(),
    };
    if unchanged && !allow_empty {
        return Ok(None);
    }
    let mut diff = repo
        .diff_tree_to_index(head.as_ref(), Some(&index), None)
        .map_err(git_err(root, "diff HEAD to index"))?;
    let mut fopts = DiffFindOptions::new();
    fopts.renames(true);
    diff.find_similar(Some(&mut fopts))
        .map_err(git_err(root, "detect renames"))?;
    let changed = changes(repo, root, &diff, NewSide::Blobs)?;
    drop(diff);
    let (summary, message) = build_message(req, &changed);
    let sig = signature(repo, root, req)?;
    let tree = repo
        .find_tree(tree_id)
        .map_err(git_err(root, "read tree"))?;
    let parent = match repo.head() {
        Ok(h) => Some(h.peel_to_commit().map_err(git_err(root, "read HEAD"))?),
        Err(_) => None,
    };
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    let id = repo
        .commit(Some("HEAD"), &sig, &sig, &message, &tree, &parents)
        .map_err(git_err(root, "commit"))?;
    let obj = repo
        .find_object(id, None)
        .map_err(git_err(root, "read commit"))?;
    let short_id = short_id(&obj);
    Ok(Some(CommitInfo {
        id: id.to_string(),
        short_id,
        summary,
        message,
        changes: changed,
    }))
}

/// The author (also the committer): the request's, else the environment's, else git config's.
pub(crate) fn signature(
    repo: &Repository,
    root: &Path,
    req: &CommitRequest,
) -> Result<Signature<'static>, HistoryError> {
    let (name, email) = match &req.author {
        Some((n, e)) => (Some(n.clone()), Some(e.clone())),
        None => {
            let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
            let config = repo.config().ok();
            let conf = |k: &str| {
                config
                    .as_ref()
                    .and_then(|c| c.get_string(k).ok())
                    .filter(|v| !v.trim().is_empty())
            };
            (
                env("GIT_AUTHOR_NAME").or_else(|| conf("user.name")),
                env("GIT_AUTHOR_EMAIL").or_else(|| conf("user.email")),
            )
        }
    };
    match (name, email) {
        (Some(n), Some(e)) => Signature::now(&n, &e).map_err(git_err(root, "make signature")),
        _ => Err(HistoryError::NoAuthor {
            repo: root.to_path_buf(),
        }),
    }
}

/// The summary line generated from the changes: `Update 3 notes: A, B, C`, `Add 1 note: A`,
/// `Delete 5 notes: A, B, C and 2 more`, `Update 2 files`.
pub fn summary(changes: &[NoteStatus]) -> String {
    let notes: Vec<&NoteStatus> = changes.iter().filter(|c| c.diff.is_some()).collect();
    let (items, noun): (Vec<&NoteStatus>, &str) = if notes.is_empty() {
        (changes.iter().collect(), "file")
    } else {
        (notes, "note")
    };
    if items.is_empty() {
        return "Update nothing".into();
    }
    let verb = if items.iter().all(|c| c.kind == ChangeKind::Added) {
        "Add"
    } else if items.iter().all(|c| c.kind == ChangeKind::Deleted) {
        "Delete"
    } else if items.iter().all(|c| c.kind == ChangeKind::Renamed) {
        "Rename"
    } else {
        "Update"
    };
    let n = items.len();
    let plural = if n == 1 { "" } else { "s" };
    if noun == "file" {
        return format!("{verb} {n} {noun}{plural}");
    }
    let shown: Vec<&str> = items.iter().take(3).map(|c| title(&c.path)).collect();
    let more = if n > 3 {
        format!(" and {} more", n - 3)
    } else {
        String::new()
    };
    format!("{verb} {n} {noun}{plural}: {}{more}", shown.join(", "))
}

/// The longest value an audit line shows, in characters; a longer one is cut and its length
/// given (the whole value is in the commit's blobs).
pub const MAX_SHOWN_CHARS: usize = 200;

/// A value as an audit line shows it: [`show`], cut to [`MAX_SHOWN_CHARS`] characters.
fn audit_value(v: &Value) -> String {
    crate::text::cap_chars(&show(v), MAX_SHOWN_CHARS)
}

/// The audit lines: per note its field changes, per other file its kind; hidden characters
/// escaped and long values cut (see the module documentation).
pub fn audit_lines(changes: &[NoteStatus]) -> Vec<String> {
    let mut out = Vec::new();
    for c in changes {
        let path = &c.path;
        match (&c.diff, c.kind) {
            (None, kind) => out.push(format!("{}: {}", c.display_path(), kind.word())),
            (Some(_), ChangeKind::Deleted) => out.push(format!("{path}: deleted")),
            (Some(d), kind) => {
                if kind != ChangeKind::Modified {
                    out.push(format!("{}: {}", c.display_path(), kind.word()));
                } else if d.is_empty() {
                    out.push(format!("{path}: reformatted (no field or body change)"));
                }
                out.extend(
                    d.lines_with(audit_value)
                        .into_iter()
                        .map(|l| format!("{path}: {l}")),
                );
            }
        }
    }
    out.iter().map(|l| crate::text::escape_hidden(l)).collect()
}

/// The summary line and the whole message: summary (given or generated), the audit lines, then
/// the trailers, `Ssot-Source` first.
pub fn build_message(req: &CommitRequest, changes: &[NoteStatus]) -> (String, String) {
    let head = match req
        .message
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        Some(m) => crate::text::escape_hidden_but(&m.replace("\r\n", "\n"), &['\n', '\t']),
        None => crate::text::escape_hidden(&summary(changes)),
    };
    let first = head.lines().next().unwrap_or_default().to_string();
    let mut message = head;
    let lines = audit_lines(changes);
    if !lines.is_empty() {
        message.push_str("\n\n");
        message.push_str(&lines.join("\n"));
    }
    let source = if req.source.trim().is_empty() {
        "vault"
    } else {
        req.source.trim()
    };
    let mut all = vec![(TRAILER_SOURCE.to_string(), source.to_string())];
    all.extend(
        req.trailers
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case(TRAILER_SOURCE))
            .cloned(),
    );
    // Line breaks in trailer values become spaces (`trailers::format`); the rest is shown.
    let all: Vec<(String, String)> = all
        .into_iter()
        .map(|(k, v)| (k, crate::text::escape_hidden_but(&v, &['\n', '\r'])))
        .collect();
    message.push_str("\n\n");
    message.push_str(&trailers::format(&all));
    (first, message)
}

#[cfg(test)]
mod tests {
    use super::super::diff::note_changes;
    use super::*;

    fn st(path: &str, kind: ChangeKind, old: Option<&str>, new: Option<&str>) -> NoteStatus {
        let diff = super::super::is_note(path)
            .then(|| note_changes(old.map(str::as_bytes), new.map(str::as_bytes)));
        NoteStatus {
            path: path.into(),
            kind,
            old_path: None,
            diff,
        }
    }

    #[test]
    fn message_format() {
        let changes = vec![
            st(
                "Clients/Acme Corp.md",
                ChangeKind::Modified,
                Some("---\nname: Acme\n---\n"),
                Some("---\nname: Acme\nphone: \"+48 600\"\n---\n"),
            ),
            st(
                "Projects/X.md",
                ChangeKind::Modified,
                Some("---\nstatus: intake\n---\na\n"),
                Some("---\nstatus: matching\n---\nb\nc\n"),
            ),
            st(
                "Projects/Old.md",
                ChangeKind::Deleted,
                Some("---\nstatus: done\n---\n"),
                None,
            ),
            st("assets/logo.png", ChangeKind::Added, None, None),
        ];
        let req = CommitRequest {
            source: "hubspot".into(),
            trailers: vec![
                ("Ssot-Run".into(), "r1".into()),
                ("Ssot-Transition".into(), "credentialing→active".into()),
            ],
            ..CommitRequest::default()
        };
        let (summary, message) = build_message(&req, &changes);
        assert_eq!(summary, "Update 3 notes: Acme Corp, X, Old");
        assert_eq!(
            message,
            "Update 3 notes: Acme Corp, X, Old\n\n\
             Clients/Acme Corp.md: + phone: +48 600\n\
             Projects/X.md: status: intake → matching\n\
             Projects/X.md: body: +2 −1 lines\n\
             Projects/Old.md: deleted\n\
             assets/logo.png: added\n\n\
             Ssot-Source: hubspot\nSsot-Run: r1\nSsot-Transition: credentialing→active\n"
        );
        let t = trailers::parse(&message);
        assert_eq!(t.len(), 3);
        assert_eq!(t[0], ("Ssot-Source".to_string(), "hubspot".to_string()));
    }

    #[test]
    fn hidden_characters_are_escaped_and_long_values_cut() {
        let long = "Ż".repeat(MAX_SHOWN_CHARS + 50);
        let changes = vec![st(
            "Clients/A.md",
            ChangeKind::Modified,
            Some("---\naddress: \"x\\u001B[2J\"\n---\n"),
            Some(&format!(
                "---\naddress: \"a\\0b\\u202Ec\\u0085d\"\nnote: {long}\n---\n"
            )),
        )];
        let req = CommitRequest {
            message: Some("Import\r\n\nfrom\u{0} the\u{1b}[31m form\u{202e}".into()),
            trailers: vec![("Ssot-Run".into(), "r\u{0}1\nr2".into())],
            ..CommitRequest::default()
        };
        let (summary, message) = build_message(&req, &changes);
        assert_eq!(summary, "Import");
        let shown = format!(
            "{}… ({} characters)",
            "Ż".repeat(MAX_SHOWN_CHARS),
            long.len() / 2
        );
        assert_eq!(
            message,
            format!(
                "Import\n\nfrom\\u{{0}} the\\u{{1b}}[31m form\\u{{202e}}\n\n\
                 Clients/A.md: address: x\\u{{1b}}[2J → a\\u{{0}}b\\u{{202e}}c\\u{{85}}d\n\
                 Clients/A.md: + note: {shown}\n\n\
                 Ssot-Source: vault\nSsot-Run: r\\u{{0}}1 r2\n"
            )
        );
    }

    #[test]
    fn summaries() {
        let add = |p: &str| st(p, ChangeKind::Added, None, Some("x\n"));
        assert_eq!(summary(&[add("A.md")]), "Add 1 note: A");
        let many: Vec<NoteStatus> = ["A.md", "B.md", "C.md", "D.md", "E.md"]
            .into_iter()
            .map(add)
            .collect();
        assert_eq!(summary(&many), "Add 5 notes: A, B, C and 2 more");
        assert_eq!(
            summary(&[st("x.png", ChangeKind::Deleted, None, None)]),
            "Delete 1 file"
        );
    }

    #[test]
    fn given_message_and_default_source() {
        let req = CommitRequest {
            message: Some("Weekly review\n\nlonger text".into()),
            ..CommitRequest::default()
        };
        let (summary, message) = build_message(&req, &[]);
        assert_eq!(summary, "Weekly review");
        assert_eq!(
            message,
            "Weekly review\n\nlonger text\n\nSsot-Source: vault\n"
        );
    }
}
