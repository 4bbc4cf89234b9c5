//! Guards for hand edits: each project note's status in the work tree is compared with its
//! status in the last commit (HEAD, read with git2), and a change the lifecycle does not allow is
//! reported as an error at the `status:` line, with the reason. A project note that is not in
//! HEAD (by path, nor by `ssot_id` after a move) is judged as coming from `intake`.

use std::collections::HashMap;
use std::path::Path;

use git2::{ObjectType, Repository, TreeWalkMode, TreeWalkResult};
use unicode_normalization::UnicodeNormalization;

use super::lifecycle::{self, Facts, Status};
use crate::config::Config;
use crate::vault::check::Problem;
use crate::vault::index::{Entry, Index, Resolved};
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
}

/// Whether the project note `note` (named `stem`, with these open tickets) may have moved from
/// `before` to `now` by the lifecycle's guards. Its body is parsed here (for the credentialing
/// list); the archive export is looked for on disk.
pub fn judge(
    root: &Path,
    config: &Config,
    note: &Note,
    stem: &str,
    open_tickets: Vec<String>,
    before: Status,
    now: Status,
) -> Result<(), lifecycle::Refusal> {
    let mut facts = Facts::of_note(note);
    facts.open_tickets = open_tickets;
    facts.exported = exported(root, config, stem);
    lifecycle::path(before, now, &facts).map(|_| ())
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

/// The problems of hand-made status changes since HEAD. A vault without git or without a commit
/// has nothing to compare with: no problems.
pub fn transitions(
    root: &Path,
    config: &Config,
    index: &Index,
) -> Result<Vec<Problem>, AuditError> {
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
            let since = if committed.is_some() {
                "since the last commit"
            } else {
                "for a new project, which starts at intake"
            };
            out.push(Problem {
                path: entry.rel.clone(),
                line,
                col: 1,
                severity: Severity::Error,
                message: format!(
                    "illegal status change {before}→{now} {since}: {}",
                    r.message
                ),
            });
        }
        let es = fm.get_str("expert_status").unwrap_or("");
        let hint = match (now, es) {
            (Status::Proposed, "accepted") => Some("project accept"),
            (Status::Proposed, "declined") => Some("project decline"),
            _ => None,
        };
        if let Some(cmd) = hint {
            out.push(Problem {
                path: entry.rel.clone(),
                line,
                col: 1,
                severity: Severity::Warning,
                message: format!(
                    "expert_status is {es} but the project is still proposed: run `ssot-vault {cmd} \"{}\"`",
                    entry.stem()
                ),
            });
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
