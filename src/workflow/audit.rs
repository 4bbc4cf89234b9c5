//! Guards for hand edits: each project note's status in the work tree is compared with its
//! status in the last commit (HEAD, read with git2), and a change the lifecycle does not allow is
//! reported as an error at the `status:` line, with the reason. A project note that is not in
//! HEAD (by path, nor by `ssot_id` after a move) is judged as coming from `intake`.
//!
//! The same judgement guards the commands that change a status: `set` judges the edit it is
//! about to write ([`judge_edit`]), `commit` refuses to record an illegal change unless told
//! to and then marks it with an `Ssot-Illegal-Transition` trailer ([`uncommitted`],
//! [`IllegalChange::trailer`]), and the pending-vault commit of `sync` marks it the same way.

use std::collections::HashMap;
use std::path::Path;

use git2::{ObjectType, Repository, TreeWalkMode, TreeWalkResult};
use unicode_normalization::UnicodeNormalization;

use serde::Serialize;

use super::lifecycle::{self, Facts, Status};
use crate::config::Config;
use crate::history::{ChangeKind, HistoryError, TRAILER_ILLEGAL_TRANSITION};
use crate::vault::check::Problem;
use crate::vault::index::{Entry, Glob, Index, Resolved};
use crate::vault::note::Note;
use crate::vault::schema::Severity;
use crate::vault::value::Value;

/// Why the committed state could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Git failed.
    #[error("{}: git {action} failed: {}", repo.display(), source.message())]
    Git {
        /// The vault.
        repo: std::path::PathBuf,
        /// What was being done.
        action: &'static str,
        /// The error.
        source: git2::Error,
    },
    /// The uncommitted changes could not be read.
    #[error(transparent)]
    History(#[from] HistoryError),
}

/// A project status changed by hand since the last commit in a way the lifecycle refuses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IllegalChange {
    /// The project note, relative to the vault root.
    pub path: String,
    /// The line of its `status:`.
    pub line: usize,
    /// The status in the last commit (`intake` for a project that is not in it).
    pub from: Status,
    /// The status now.
    pub to: Status,
    /// True when the project is not in the last commit (judged as starting at intake).
    pub new_project: bool,
    /// Why the lifecycle refuses it.
    pub reason: String,
}

impl IllegalChange {
    /// The `check` error: `illegal status change a→b since the last commit: <reason>`.
    pub fn problem(&self) -> Problem {
        let since = if self.new_project {
            "for a new project, which starts at intake"
        } else {
            "since the last commit"
        };
        Problem {
            path: self.path.clone(),
            line: self.line,
            col: 1,
            severity: Severity::Error,
            message: format!(
                "illegal status change {}→{} {since}: {}",
                self.from, self.to, self.reason
            ),
        }
    }

    /// The trailer marking a commit that records it: `Ssot-Illegal-Transition: <path>: a→b`.
    pub fn trailer(&self) -> (String, String) {
        (
            TRAILER_ILLEGAL_TRANSITION.to_string(),
            format!("{}: {}→{}", self.path, self.from, self.to),
        )
    }
}

/// What the audit of one project found.
enum Finding {
    Illegal(IllegalChange),
    Warning(Problem),
}

/// Whether the project note `note` (named `stem`, with these open tickets) may have moved from
/// `before` to `now` by the lifecycle's guards, and by which transitions. Its body is parsed
/// here (for the credentialing list); the archive export is looked for on disk.
pub fn judge(
    root: &Path,
    config: &Config,
    note: &Note,
    stem: &str,
    open_tickets: Vec<String>,
    before: Status,
    now: Status,
) -> Result<Vec<&'static lifecycle::Transition>, lifecycle::Refusal> {
    let mut facts = Facts::of_note(note);
    facts.open_tickets = open_tickets;
    facts.exported = exported(root, config, stem);
    lifecycle::path(before, now, &facts)
}

/// Judges an edit of the note at `path` (`before` as it is on disk, `after` as the edit leaves
/// it) by the lifecycle's guards, for `set`: when a project's `status` changes, the move from
/// the status it has to the new one must be legal, the guards judged on the note after the
/// edit. A status that is not a lifecycle status (or a note that was not a project) counts as
/// `intake`, as `check` counts a new project. Other notes, and edits that leave the status as
/// it is, pass; a new status that is not a lifecycle status is the schema's to refuse.
pub fn judge_edit(
    root: &Path,
    config: &Config,
    path: &Path,
    before: &Note,
    after: &Note,
) -> Result<(), lifecycle::Refusal> {
    let is_project = |n: &Note| n.get("type").and_then(Value::as_str) == Some("project");
    let status = |n: &Note| {
        n.get("status")
            .and_then(Value::as_str)
            .and_then(Status::parse)
    };
    if !is_project(after) {
        return Ok(());
    }
    let Some(now) = status(after) else {
        return Ok(());
    };
    let from = if is_project(before) {
        status(before).unwrap_or(Status::Intake)
    } else {
        Status::Intake
    };
    if from == now {
        return Ok(());
    }
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    let stem = stem.unwrap_or_default();
    // Only the way into `archived` asks about tickets: the vault is indexed for that alone.
    let open = if now == Status::Archived {
        let index = Index::build(root, config);
        let rel = crate::vault::index::rel_of(root, path);
        index
            .entries
            .iter()
            .position(|e| e.rel == rel)
            .map(|i| open_tickets(&index, i))
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    judge(root, config, after, &stem, open, from, now).map(|_| ())
}

/// [`judge`] for the project at `index.entries[i]`, with its open tickets.
fn judge_entry(
    root: &Path,
    config: &Config,
    index: &Index,
    i: usize,
    open_tickets: Vec<String>,
    before: Status,
    now: Status,
) -> Result<(), lifecycle::Refusal> {
    let entry = &index.entries[i];
    let Ok(note) = &entry.note else { return Ok(()) };
    let mut facts = Facts::of(note, &entry.body);
    facts.open_tickets = open_tickets;
    facts.exported = exported(root, config, entry.stem());
    lifecycle::path(before, now, &facts).map(|_| ())
}

/// Whether the archive export (CSV and XML) of the project named `stem` is on disk.
fn exported(root: &Path, config: &Config, stem: &str) -> bool {
    let dir = root.join(&config.folders.archive).join(stem);
    dir.join(format!("{stem}.csv")).is_file() && dir.join(format!("{stem}.xml")).is_file()
}

/// The problems of hand-made status changes since HEAD (errors), and projects left proposed
/// after the expert answered (warnings). A vault without git or without a commit has nothing to
/// compare with: no problems.
pub fn transitions(
    root: &Path,
    config: &Config,
    index: &Index,
) -> Result<Vec<Problem>, AuditError> {
    Ok(scan(root, config, index)?
        .into_iter()
        .map(|f| match f {
            Finding::Illegal(c) => c.problem(),
            Finding::Warning(p) => p,
        })
        .collect())
}

/// The hand-made status changes since HEAD that the lifecycle refuses.
pub fn illegal_changes(
    root: &Path,
    config: &Config,
    index: &Index,
) -> Result<Vec<IllegalChange>, AuditError> {
    Ok(scan(root, config, index)?
        .into_iter()
        .filter_map(|f| match f {
            Finding::Illegal(c) => Some(c),
            Finding::Warning(_) => None,
        })
        .collect())
}

/// [`illegal_changes`] among the vault's uncommitted changes, for `commit`. Only the changed
/// notes are looked at: a project note changed in place whose `status` changed is judged on its
/// own, from the status in HEAD; anything else that could need the whole vault (a note added,
/// moved or unreadable, a changed `type`, a move into `archived`, which asks about tickets, an
/// ignored or template path) has the vault indexed and judged as `check` judges it. A vault
/// without git has nothing to compare with: none.
pub fn uncommitted(root: &Path, config: &Config) -> Result<Vec<IllegalChange>, AuditError> {
    let changes = match crate::history::status(root) {
        Ok(c) => c,
        Err(HistoryError::NotARepo { .. }) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut found = Vec::new();
    for c in &changes {
        let Some(d) = c.diff.as_ref().filter(|_| c.kind != ChangeKind::Deleted) else {
            continue;
        };
        let Some(status) = d.field("status") else {
            if d.field("type").is_some() || d.unreadable.is_some() {
                return whole_vault(root, config);
            }
            continue;
        };
        let rel: String = c.path.nfc().collect();
        if c.kind != ChangeKind::Modified || !plainly_indexed(root, config, &rel) {
            return whole_vault(root, config);
        }
        let Some(note) = crate::fsutil::read(&root.join(&c.path))
            .ok()
            .and_then(|b| Note::parse(&b).ok())
        else {
            return whole_vault(root, config);
        };
        let Some(fm) = note
            .frontmatter
            .as_ref()
            .filter(|f| f.get_str("type") == Some("project"))
        else {
            continue;
        };
        let Some(now) = fm.get_str("status").and_then(Status::parse) else {
            continue; // the schema check reports it
        };
        let before = status.old.as_ref().and_then(Value::as_str);
        let Some(before) = before.and_then(Status::parse) else {
            return whole_vault(root, config);
        };
        if now == Status::Archived {
            return whole_vault(root, config);
        }
        let stem = crate::vault::index::stem_of(&rel);
        if before != now
            && let Err(r) = judge(root, config, &note, stem, Vec::new(), before, now)
        {
            found.push(IllegalChange {
                line: fm.line_of("status").unwrap_or(1),
                path: rel,
                from: before,
                to: now,
                new_project: false,
                reason: r.message,
            });
        }
    }
    Ok(found)
}

/// The illegal changes of the whole vault, indexed.
fn whole_vault(root: &Path, config: &Config) -> Result<Vec<IllegalChange>, AuditError> {
    illegal_changes(root, config, &Index::build(root, config))
}

/// True when the index surely holds the note at `rel` as a note to judge: not under a folder the
/// walk skips, not in the templates folder, and matched by no ignore glob (nor is a folder above
/// it).
fn plainly_indexed(root: &Path, config: &Config, rel: &str) -> bool {
    let segs: Vec<&str> = rel.split('/').collect();
    // The walk skips every folder and file whose name starts with a dot, as Obsidian does.
    if segs.iter().any(|s| s.starts_with('.')) {
        return false;
    }
    let templates = crate::vault::obsidian::template_folders(root, config);
    if crate::vault::obsidian::in_folders(rel, &templates) {
        return false;
    }
    let globs: Vec<Glob> = config.vault.ignore.iter().map(|p| Glob::new(p)).collect();
    !(1..=segs.len()).any(|n| {
        let prefix = segs[..n].join("/");
        globs
            .iter()
            .any(|g| g.matches(&prefix) || g.matches_dir(&prefix))
    })
}

/// The trailers marking the illegal changes among the uncommitted ones (for the pending-vault
/// commit of `sync`, which records them rather than stopping); none when they cannot be read
/// (the reason is logged).
pub fn illegal_trailers(root: &Path, config: &Config) -> Vec<(String, String)> {
    match uncommitted(root, config) {
        Ok(found) => found.iter().map(IllegalChange::trailer).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "illegal status changes not looked for");
            Vec::new()
        }
    }
}

fn scan(root: &Path, config: &Config, index: &Index) -> Result<Vec<Finding>, AuditError> {
    let git = |action: &'static str| {
        move |source| AuditError::Git {
            repo: root.to_path_buf(),
            action,
            source,
        }
    };
    let Ok(repo) = Repository::open(root) else {
        return Ok(Vec::new());
    };
    let tree = match repo.head() {
        Ok(h) => h.peel_to_tree().map_err(git("read HEAD"))?,
        Err(_) => return Ok(Vec::new()),
    };
    let mut by_id: Option<HashMap<String, String>> = None;
    // Every project's open tickets, gathered in one pass over the vault when first needed.
    let mut tickets: Option<HashMap<usize, Vec<String>>> = None;
    let mut folders: HashMap<String, Option<git2::Tree<'_>>> = HashMap::new();
    let mut out = Vec::new();
    for (i, entry) in index.entries.iter().enumerate() {
        if entry.template || entry.note_type() != Some("project") {
            continue;
        }
        let Ok(note) = &entry.note else { continue };
        let Some(fm) = &note.frontmatter else {
            continue;
        };
        let Some(now) = fm.get_str("status").and_then(Status::parse) else {
            continue; // the schema check reports it
        };
        // The folder's tree is read once (a large tree read per note would cost seconds).
        let (dir, name) = entry
            .rel
            .rsplit_once('/')
            .unwrap_or(("", entry.rel.as_str()));
        let folder = folders.entry(dir.to_string()).or_insert_with(|| {
            if dir.is_empty() {
                Some(tree.clone())
            } else {
                tree.get_path(Path::new(dir))
                    .ok()
                    .and_then(|e| e.to_object(&repo).ok())
                    .and_then(|o| o.into_tree().ok())
            }
        });
        let in_head = folder
            .as_ref()
            .and_then(|t| t.get_name(name).map(|e| e.id()));
        let committed = match in_head {
            // Unchanged since HEAD: nothing to judge, no need to read the blob.
            Some(id)
                if git2::Oid::hash_object(ObjectType::Blob, note.text.as_bytes())
                    .is_ok_and(|h| h == id) =>
            {
                Some(now)
            }
            Some(id) => blob_status(&repo, id),
            None => {
                let map = by_id.get_or_insert_with(|| committed_projects(&repo, &tree, index));
                fm.get_str("ssot_id")
                    .and_then(|id| map.get(id))
                    .and_then(|s| Status::parse(s))
            }
        };
        let before = committed.unwrap_or(Status::Intake);
        let line = fm.line_of("status").unwrap_or(1);
        if before != now
            && let Err(r) = {
                let open = tickets
                    .get_or_insert_with(|| open_tickets_by_project(index))
                    .get(&i)
                    .cloned()
                    .unwrap_or_default();
                judge_entry(root, config, index, i, open, before, now)
            }
        {
            out.push(Finding::Illegal(IllegalChange {
                path: entry.rel.clone(),
                line,
                from: before,
                to: now,
                new_project: committed.is_none(),
                reason: r.message,
            }));
        }
        let es = fm.get_str("expert_status").unwrap_or("");
        let hint = match (now, es) {
            (Status::Proposed, "accepted") => Some("project accept"),
            (Status::Proposed, "declined") => Some("project decline"),
            _ => None,
        };
        if let Some(cmd) = hint {
            out.push(Finding::Warning(Problem {
                path: entry.rel.clone(),
                line,
                col: 1,
                severity: Severity::Warning,
                message: format!(
                    "expert_status is {es} but the project is still proposed: run `ssot-vault {cmd} \"{}\"`",
                    entry.stem()
                ),
            }));
        }
    }
    Ok(out)
}

/// The status of a committed note.
fn blob_status(repo: &Repository, id: git2::Oid) -> Option<Status> {
    let blob = repo.find_blob(id).ok()?;
    let note = Note::parse(blob.content()).ok()?;
    note.get("status")
        .and_then(Value::as_str)
        .and_then(Status::parse)
}

/// `ssot_id` → status of every project note in HEAD that may have moved since: a committed note
/// still at its path with the same bytes is not read (it has not moved: a copy of it elsewhere
/// would be a duplicate id), so after an import of new notes only the changed ones are read.
fn committed_projects(
    repo: &Repository,
    tree: &git2::Tree<'_>,
    index: &Index,
) -> HashMap<String, String> {
    let by_rel: HashMap<&str, &Entry> = index.entries.iter().map(|e| (e.rel.as_str(), e)).collect();
    let unchanged = |dir: &str, name: &str, id: git2::Oid| {
        let path = format!("{dir}{name}");
        let path = if path.is_ascii() {
            path
        } else {
            path.nfc().collect()
        };
        by_rel
            .get(path.as_str())
            .and_then(|e| e.note.as_ref().ok())
            .is_some_and(|n| {
                git2::Oid::hash_object(ObjectType::Blob, n.text.as_bytes()).is_ok_and(|h| h == id)
            })
    };
    let mut out = HashMap::new();
    let _ = tree.walk(TreeWalkMode::PreOrder, |dir, e| {
        if e.kind() == Some(ObjectType::Blob)
            && let Ok(name) = e.name()
            && name.to_lowercase().ends_with(".md")
            && !unchanged(dir, name, e.id())
            && let Ok(blob) = repo.find_blob(e.id())
            // Only a note that mentions `project` can be one: the others are not parsed.
            && std::str::from_utf8(blob.content()).is_ok_and(|t| t.contains("project"))
            && let Ok(note) = Note::parse(blob.content())
            && note.get("type").and_then(Value::as_str) == Some("project")
            && let (Some(id), Some(st)) = (
                note.get("ssot_id").and_then(Value::as_str),
                note.get("status").and_then(Value::as_str),
            )
        {
            out.insert(id.to_string(), st.to_string());
        }
        TreeWalkResult::Ok
    });
    out
}

/// Names of the tickets linked to the project `project` (an index entry) that are not closed.
pub fn open_tickets(index: &Index, project: usize) -> Vec<String> {
    index
        .entries
        .iter()
        .filter(|e| links_to(index, e, "project") == Some(project) && is_open_ticket(e))
        .map(|e| e.stem().to_string())
        .collect()
}

/// The open tickets of every project (index entry → ticket names), in one pass over the vault.
pub fn open_tickets_by_project(index: &Index) -> HashMap<usize, Vec<String>> {
    let mut out: HashMap<usize, Vec<String>> = HashMap::new();
    for e in &index.entries {
        if is_open_ticket(e)
            && let Some(p) = links_to(index, e, "project")
        {
            out.entry(p).or_default().push(e.stem().to_string());
        }
    }
    out
}

/// A ticket (not a template) that is not closed.
fn is_open_ticket(e: &Entry) -> bool {
    !e.template
        && e.note_type() == Some("ticket")
        && e.note
            .as_ref()
            .ok()
            .and_then(|n| n.get("status"))
            .and_then(Value::as_str)
            != Some("closed")
}

/// The entry the link property `key` of `e` resolves to.
pub fn links_to(index: &Index, e: &Entry, key: &str) -> Option<usize> {
    let v = e.note.as_ref().ok()?.get(key)?;
    let t = v.as_link()?;
    match index.resolve_from(t.target, &e.rel) {
        Resolved::Note(i) => Some(i),
        _ => None,
    }
}
