//! Reading the vault for a sync: every note is read, parsed and reduced at once to what the plan
//! needs ([`VaultNote`]: its mapped fields in canonical form, its links, a hash of its bytes), so
//! the run never holds the parsed vault. On a vault of 10,000 notes the parsed notes take about
//! 60 MB; their reductions about a fifth of that.
//!
//! Links are resolved as Obsidian resolves them, over the walked paths alone
//! ([`Names`](crate::vault::index::Names)): a link's target is a position in the walk, whose
//! reduction carries the target's `ssot_id` and type.
//!
//! The lifecycle's guard needs a little more of two note types, kept in the reduction too: the
//! status of every project, and the project and state of every ticket (a project cannot be done
//! with open tickets).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::connectors::{Binding, canonical};
use crate::vault::index::{self, Names, Resolved};
use crate::vault::note::Note;
use crate::vault::value::Value;

use super::apply;
use super::plan::{VaultNote, text_hash};

/// The vault as a sync run reads it.
#[derive(Debug, Default)]
pub struct VaultRead {
    /// The synced notes (a binding for their type and an `ssot_id`), in path order.
    pub notes: Vec<VaultNote>,
    /// Notes that cannot be read, as `path:line:col: why`: reported, never written.
    pub unreadable: Vec<String>,
    /// Every project note: its status as written and its open tickets.
    pub projects: Vec<ProjectRead>,
}

/// What the lifecycle guard needs of a project note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRead {
    /// `ssot_id`.
    pub ssot_id: String,
    /// Path relative to the vault root.
    pub rel: String,
    /// The path on disk (its body is read again only if its status moved).
    pub path: PathBuf,
    /// `status` as written.
    pub status: String,
    /// Names of the tickets linking to it that are not closed.
    pub open_tickets: Vec<String>,
}

/// Link fields as written: (key, the targets of its wikilinks).
type RawLinks = Vec<(String, Vec<String>)>;

/// One note reduced; `None` parts when the note is not of that kind.
#[derive(Debug, Default)]
struct Reduced {
    /// Why the note cannot be read: `line:col: message`.
    unreadable: Option<String>,
    note_type: Option<String>,
    ssot_id: Option<String>,
    /// The synced note, its links still unresolved.
    synced: Option<(VaultNote, RawLinks)>,
    /// A project's status.
    status: Option<String>,
    /// A ticket's project link target, when the ticket is not closed.
    open_ticket_of: Option<String>,
}

/// Reads the vault at `root` for a sync with `remote` through `bindings`.
pub fn read_vault(root: &Path, config: &Config, bindings: &[Binding], remote: &str) -> VaultRead {
    let walk = index::walk(root, config);
    let names = Names::new(&walk);
    let templates = crate::vault::obsidian::template_folders(root, config);
    let archived_key = apply::archived_key(remote);
    let reduced: Vec<Reduced> = crate::par::map(&walk.notes, 0, 64, |(rel, path)| {
        if crate::vault::obsidian::in_folders(rel, &templates) {
            return Reduced::default();
        }
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                return Reduced {
                    unreadable: Some(format!("1:1: cannot read the file: {e}")),
                    ..Reduced::default()
                };
            }
        };
        match Note::parse(&bytes) {
            Ok(note) => reduce(
                &note,
                rel,
                bindings,
                remote,
                &archived_key,
                text_hash(&bytes),
            ),
            Err(e) => {
                let (line, col) = e.position();
                Reduced {
                    unreadable: Some(format!("{line}:{col}: {e}")),
                    ..Reduced::default()
                }
            }
        }
    });
    let target = |raw: &str, from: &str| match names.resolve_from(raw, from) {
        Resolved::Note(i) => reduced.get(i).map(|r| (i, r)),
        _ => None,
    };
    let mut out = VaultRead::default();
    let mut open_tickets: std::collections::BTreeMap<usize, Vec<String>> = Default::default();
    for (i, r) in reduced.iter().enumerate() {
        let rel = &walk.notes[i].0;
        if let Some(why) = &r.unreadable {
            out.unreadable.push(format!("{rel}:{why}"));
        }
        if let Some(t) = &r.open_ticket_of
            && let Some((p, _)) = target(t, rel)
        {
            open_tickets
                .entry(p)
                .or_default()
                .push(index::stem_of(rel).to_string());
        }
    }
    for (i, r) in reduced.iter().enumerate() {
        let (rel, path) = &walk.notes[i];
        if let (Some(status), Some(sid)) = (&r.status, &r.ssot_id) {
            out.projects.push(ProjectRead {
                ssot_id: sid.clone(),
                rel: rel.clone(),
                path: path.clone(),
                status: status.clone(),
                open_tickets: open_tickets.remove(&i).unwrap_or_default(),
            });
        }
    }
    let links: Vec<Vec<(String, String, Vec<String>)>> = reduced
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let from = walk.notes[i].0.as_str();
            let Some((_, raw_links)) = &r.synced else {
                return Vec::new();
            };
            raw_links
                .iter()
                .map(|(key, raws)| {
                    let mut target_type = String::new();
                    let mut sids = Vec::new();
                    for raw in raws {
                        if let Some((_, t)) = target(raw, from)
                            && let Some(s) = &t.ssot_id
                        {
                            target_type = t.note_type.clone().unwrap_or_default();
                            sids.push(s.clone());
                        }
                    }
                    (key.clone(), target_type, sids)
                })
                .filter(|(_, _, t)| !t.is_empty())
                .collect()
        })
        .collect();
    for (r, links) in reduced.into_iter().zip(links) {
        if let Some((mut note, _)) = r.synced {
            note.links = links;
            out.notes.push(note);
        }
    }
    out
}

/// Reduces one parsed note.
fn reduce(
    note: &Note,
    rel: &str,
    bindings: &[Binding],
    remote: &str,
    archived_key: &str,
    hash: u64,
) -> Reduced {
    let ty = note
        .frontmatter
        .as_ref()
        .and_then(|f| f.get_str("type"))
        .map(str::to_string);
    let sid = note
        .get("ssot_id")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let mut out = Reduced {
        note_type: ty.clone(),
        ssot_id: sid.clone(),
        ..Reduced::default()
    };
    match ty.as_deref() {
        Some("project") => {
            out.status = note
                .get("status")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        Some("ticket") => {
            let closed = note.get("status").and_then(Value::as_str) == Some("closed");
            if !closed {
                out.open_ticket_of = note
                    .get("project")
                    .and_then(Value::as_link)
                    .map(|l| l.target.to_string());
            }
        }
        _ => {}
    }
    let (Some(ty), Some(sid)) = (ty, sid) else {
        return out;
    };
    let Some(b) = bindings.iter().find(|b| b.note_type == ty) else {
        return out;
    };
    let stem = index::stem_of(rel);
    let fields = b
        .fields
        .iter()
        .filter_map(|f| {
            canonical::from_vault(&f.conv, note.get(&f.key), stem).map(|v| (f.key.clone(), v))
        })
        .collect();
    let raw_links = b
        .links
        .iter()
        .map(|key| {
            let targets = note
                .get(key)
                .map(|v| v.items())
                .unwrap_or_default()
                .into_iter()
                .filter_map(|item| item.as_link().map(|l| l.target.to_string()))
                .collect();
            (key.clone(), targets)
        })
        .collect();
    let conflicts: BTreeSet<String> =
        apply::recorded_conflicts(note.get(apply::CONFLICTS_KEY), remote)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
    out.synced = Some((
        VaultNote {
            ssot_id: sid,
            note_type: b.note_type.clone(),
            rel: rel.to_string(),
            title: stem.to_string(),
            remote_id: note
                .get(&b.id_key)
                .map(|v| v.to_string().trim().to_string())
                .filter(|s| !s.is_empty() && s != "(empty)"),
            fields,
            conflicts,
            archived_mark: note.get(archived_key).is_some_and(|v| !v.is_empty()),
            links: Vec::new(),
            text_hash: hash,
        },
        raw_links,
    ));
    out
}
