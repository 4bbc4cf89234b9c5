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
use super::plan::{Held, VaultNote, text_hash};

/// The vault as a sync run reads it.
#[derive(Debug, Default)]
pub struct VaultRead {
    /// The synced notes (a binding for their type and an `ssot_id`), in path order.
    pub notes: Vec<VaultNote>,
    /// Notes that cannot be read, as `path:line:col: why`: reported, never written.
    pub unreadable: Vec<String>,
    /// The records of the unreadable notes, as far as their text tells: left alone this run.
    pub held: Held,
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
    /// The ids an unreadable note's text still shows.
    held: Option<HeldIds>,
    note_type: Option<String>,
    ssot_id: Option<String>,
    /// The synced note, its links still unresolved.
    synced: Option<(VaultNote, RawLinks)>,
    /// A project's status.
    status: Option<String>,
    /// A ticket's project link target, when the ticket is not closed.
    open_ticket_of: Option<String>,
}

/// The ids found in the text of a note that does not parse.
#[derive(Debug, Default, PartialEq, Eq)]
struct HeldIds {
    /// Its `ssot_id`.
    ssot_id: Option<String>,
    /// Its remote ids (the bindings' id keys, e.g. `hubspot_id`).
    remote_ids: Vec<String>,
    /// `ssot_id` is mentioned but its value cannot be made out.
    unidentified: bool,
}

/// A note whose file cannot be read at all (removed or replaced while the run reads it, or refused
/// by the OS): reported, and as its ids cannot be seen, every deletion waits until it can be read.
fn unreadable_file(e: &std::io::Error) -> Reduced {
    Reduced {
        unreadable: Some(format!("1:1: cannot read the file: {e}")),
        held: Some(HeldIds {
            unidentified: true,
            ..HeldIds::default()
        }),
        ..Reduced::default()
    }
}

/// The value of a `key: value` line, read leniently: any indentation, quotes and a trailing
/// ` # comment` dropped; `None` unless it is one plain word (letters, digits, `-`, `_`).
fn scan_value<'a>(line: &'a str, key: &str) -> Option<Option<&'a str>> {
    let rest = line.trim_start().strip_prefix(key)?;
    let rest = rest.trim_start().strip_prefix(':')?;
    let rest = rest.split(" #").next().unwrap_or("").trim();
    let v = rest.trim_matches(|c| c == '"' || c == '\'');
    let word = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    Some(word.then_some(v))
}

/// What a note that does not parse still tells of its identity: the `ssot_id` and remote id
/// lines of its text, read line by line without YAML (the broken line is elsewhere, mostly).
fn scan_ids(bytes: &[u8], id_keys: &[&str]) -> HeldIds {
    let text = String::from_utf8_lossy(bytes);
    let mut out = HeldIds::default();
    for line in text.lines() {
        // The first plain `ssot_id` line is the note's (a later one is in its body); a line
        // whose value cannot be made out leaves the note unidentified, below.
        if let Some(Some(v)) = scan_value(line, "ssot_id")
            && out.ssot_id.is_none()
        {
            out.ssot_id = Some(v.to_string());
        }
        for k in id_keys {
            if let Some(Some(v)) = scan_value(line, k) {
                out.remote_ids.push(v.to_string());
            }
        }
    }
    if out.ssot_id.is_none() && text.contains("ssot_id") {
        out.unidentified = true;
    }
    if out.ssot_id.is_some() {
        out.unidentified = false;
    }
    out
}

/// What reducing a note needs besides the note: fixed for a remote and a configuration.
struct Reducer<'a> {
    bindings: &'a [Binding],
    remote: &'a str,
    templates: Vec<String>,
    archived_key: String,
    id_keys: Vec<&'a str>,
    schema: Option<crate::vault::schema::Schema>,
    managed: Vec<String>,
}

impl<'a> Reducer<'a> {
    fn new(root: &Path, config: &Config, bindings: &'a [Binding], remote: &'a str) -> Self {
        Reducer {
            bindings,
            remote,
            templates: crate::vault::obsidian::template_folders(root, config),
            archived_key: apply::archived_key(remote),
            id_keys: bindings.iter().map(|b| b.id_key.as_str()).collect(),
            schema: crate::vault::schema::Schema::from_config(config).ok(),
            managed: index::managed_folders(config),
        }
    }

    /// Reads and reduces the note at `path` (`rel` in the vault).
    fn note(&self, rel: &str, path: &Path) -> Reduced {
        if crate::vault::obsidian::in_folders(rel, &self.templates) {
            return Reduced::default();
        }
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => return unreadable_file(&e),
        };
        match Note::parse(&bytes) {
            Ok(note) => reduce(
                &note,
                rel,
                self.bindings,
                self.remote,
                &self.archived_key,
                text_hash(&bytes),
            ),
            Err(e) => {
                let held = scan_ids(&bytes, &self.id_keys);
                // A person's own note (outside the managed folders, naming no managed type and
                // no id) is never synced: its unreadable YAML is `check`'s warning, not the
                // sync's problem.
                if held.ssot_id.is_none()
                    && held.remote_ids.is_empty()
                    && !held.unidentified
                    && self.schema.as_ref().is_some_and(|schema| {
                        crate::vault::check::own_note_text(
                            rel,
                            &String::from_utf8_lossy(&bytes),
                            &self.managed,
                            schema,
                        )
                    })
                {
                    tracing::debug!(note = %rel, "a note of one's own with unreadable YAML: not synced");
                    return Reduced::default();
                }
                let (line, col) = e.position();
                Reduced {
                    unreadable: Some(format!("{line}:{col}: {e}")),
                    held: Some(held),
                    ..Reduced::default()
                }
            }
        }
    }
}

/// Reads the vault at `root` for a sync with `remote` through `bindings`.
pub fn read_vault(root: &Path, config: &Config, bindings: &[Binding], remote: &str) -> VaultRead {
    let walk = index::walk(root, config);
    let reducer = Reducer::new(root, config, bindings, remote);
    let reduced: Vec<Reduced> =
        crate::par::map(&walk.notes, 0, 64, |(rel, path)| reducer.note(rel, path));
    let names = Names::new(&walk);
    let (mut out, links) = resolve(&walk, &names, &reduced);
    // Sized exactly: grown push by push, the list of 10,000 notes would hold room for 16,384 at
    // the run's peak (1.4 MB unused beside the reduced notes it is moved out of).
    out.notes
        .reserve_exact(reduced.iter().filter(|r| r.synced.is_some()).count());
    for (r, links) in reduced.into_iter().zip(links) {
        if let Some((mut note, _)) = r.synced {
            note.links = links;
            out.notes.push(note);
        }
    }
    out
}

/// A synced note's links resolved: (key, the target's type, the targets' `ssot_id`s).
type Links = Vec<(String, String, Vec<String>)>;

/// Everything of the read but the synced notes themselves (left to the caller, which moves or
/// copies them out of `reduced`), and each note's links resolved, by position.
fn resolve<R: std::borrow::Borrow<Reduced>>(
    walk: &index::Walk,
    names: &Names,
    reduced: &[R],
) -> (VaultRead, Vec<Links>) {
    let target = |raw: &str, from: &str| match names.resolve_from(raw, from) {
        Resolved::Note(i) => reduced.get(i).map(|r| (i, r.borrow())),
        _ => None,
    };
    let mut out = VaultRead::default();
    let mut open_tickets: std::collections::BTreeMap<usize, Vec<String>> = Default::default();
    for (i, r) in reduced.iter().enumerate() {
        let r = r.borrow();
        let rel = &walk.notes[i].0;
        if let Some(why) = &r.unreadable {
            out.unreadable.push(format!("{rel}:{why}"));
        }
        if let Some(h) = &r.held {
            out.held.ssot_ids.extend(h.ssot_id.iter().cloned());
            out.held.remote_ids.extend(h.remote_ids.iter().cloned());
            out.held.unidentified |= h.unidentified;
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
        let r = r.borrow();
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
    let links: Vec<Links> = reduced
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let from = walk.notes[i].0.as_str();
            let Some((_, raw_links)) = &r.borrow().synced else {
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
    (out, links)
}

/// What tells a note's file unchanged since it was read: its size, modification time and, on
/// Unix, its inode and change time (which no tool sets back, unlike the modification time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    #[cfg(unix)]
    ino: u64,
    #[cfg(unix)]
    ctime: (i64, i64),
}

impl Stamp {
    fn of(path: &Path) -> Option<Stamp> {
        let m = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        Some(Stamp {
            len: m.len(),
            modified: m.modified().ok(),
            #[cfg(unix)]
            ino: m.ino(),
            #[cfg(unix)]
            ctime: (m.ctime(), m.ctime_nsec()),
        })
    }
}

/// The reductions of one remote's last read, kept by the `watch` daemon between its runs so a
/// run reads again only the notes that changed ([`read_vault_cached`]).
///
/// A note is read again when its file's [`Stamp`] differs from the one it was read with, or when
/// it was [marked](ReadCache::mark) (the daemon marks every note a file event names, so a change
/// the file's times cannot show, two saves of the same size within the file system's time
/// resolution, is read too). The folders are walked each run (names and sizes only), so new,
/// moved and deleted notes are seen without reading any note. Every note is read again when
/// [`ReadCache::clear`] asks (the daemon does it on a poll run now and then, a safety net for an
/// event the file watcher missed).
#[derive(Debug, Default)]
pub struct ReadCache {
    /// By path relative to the vault: the stamp the note was read with and its reduction.
    notes: std::collections::HashMap<String, (Option<Stamp>, Reduced)>,
    /// Notes to read again whatever their stamp.
    marked: BTreeSet<String>,
    /// Notes read by the last read.
    last_read: usize,
    /// The last read's walk of the folders.
    walk: Option<index::Walk>,
    /// The caller knows no file of the vault changed since the last read (see
    /// [`ReadCache::set_quiet`]).
    quiet: bool,
}

impl ReadCache {
    /// Has `rel` (relative to the vault) read again by the next read.
    pub fn mark(&mut self, rel: &str) {
        self.marked.insert(rel.to_string());
    }

    /// Has every note read again by the next read.
    pub fn clear(&mut self) {
        self.notes.clear();
        self.marked.clear();
        self.walk = None;
        self.quiet = false;
    }

    /// Tells the next read that no file of the vault changed since the last read (the daemon
    /// knows it from its file events): it reuses the last read's walk and reads no file, not
    /// even its stamp. Ignored when a note is [marked](ReadCache::mark) or nothing was read yet.
    pub fn set_quiet(&mut self) {
        self.quiet = true;
    }

    /// Forgets the last read's walk: the next read walks the folders and compares every note's
    /// stamp, whatever [`ReadCache::set_quiet`] said (for a run that wrote notes itself).
    pub fn forget_walk(&mut self) {
        self.walk = None;
        self.quiet = false;
    }

    /// How many notes the last read read (parsed) from disk.
    pub fn last_read(&self) -> usize {
        self.last_read
    }

    /// How many notes it holds.
    pub fn len(&self) -> usize {
        self.notes.len()
    }

    /// Whether it holds no note.
    pub fn is_empty(&self) -> bool {
        self.notes.is_empty()
    }
}

/// [`read_vault`] through `cache`: the same read, only the notes new or changed since the
/// cache's last read read from disk (see [`ReadCache`]).
pub fn read_vault_cached(
    root: &Path,
    config: &Config,
    bindings: &[Binding],
    remote: &str,
    cache: &mut ReadCache,
) -> VaultRead {
    let quiet = std::mem::take(&mut cache.quiet) && cache.marked.is_empty();
    if let (true, Some(walk)) = (quiet, cache.walk.take()) {
        // Nothing changed: every reduction as the last read left it.
        cache.last_read = 0;
        let out = assemble(&walk, cache);
        cache.walk = Some(walk);
        return out;
    }
    let walk = index::walk(root, config);
    let reducer = Reducer::new(root, config, bindings, remote);
    let stamps: Vec<Option<Stamp>> = walk.notes.iter().map(|(_, p)| Stamp::of(p)).collect();
    let stale: Vec<usize> = walk
        .notes
        .iter()
        .zip(&stamps)
        .enumerate()
        .filter(|(_, ((rel, _), stamp))| {
            cache.marked.contains(rel.as_str())
                || stamp.is_none()
                || cache
                    .notes
                    .get(rel.as_str())
                    .is_none_or(|(s, _)| s != *stamp)
        })
        .map(|(i, _)| i)
        .collect();
    let fresh: Vec<Reduced> = crate::par::map(&stale, 0, 64, |&i| {
        let (rel, path) = &walk.notes[i];
        reducer.note(rel, path)
    });
    cache.last_read = stale.len();
    let mut keep: std::collections::HashMap<String, (Option<Stamp>, Reduced)> =
        std::collections::HashMap::with_capacity(walk.notes.len());
    let mut fresh = stale.iter().zip(fresh).peekable();
    for (i, (rel, _)) in walk.notes.iter().enumerate() {
        let entry = match fresh.next_if(|(j, _)| **j == i) {
            Some((_, r)) => (stamps[i], r),
            None => cache.notes.remove(rel.as_str()).unwrap_or_default(),
        };
        keep.insert(rel.clone(), entry);
    }
    // Notes no longer walked (deleted, moved) are dropped with the old map.
    cache.notes = keep;
    cache.marked.clear();
    let out = assemble(&walk, cache);
    cache.walk = Some(walk);
    out
}

/// The read of the notes `walk` names from their reductions in `cache`.
fn assemble(walk: &index::Walk, cache: &ReadCache) -> VaultRead {
    let reduced: Vec<&Reduced> = walk
        .notes
        .iter()
        .filter_map(|(rel, _)| cache.notes.get(rel.as_str()).map(|(_, r)| r))
        .collect();
    let names = Names::new(walk);
    let (mut out, links) = resolve(walk, &names, &reduced);
    out.notes
        .reserve_exact(reduced.iter().filter(|r| r.synced.is_some()).count());
    for (r, links) in reduced.iter().zip(links) {
        if let Some((note, _)) = &r.synced {
            let mut note = note.clone();
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
            errors: apply::has_errors(note.get(apply::ERRORS_KEY), remote),
            links: Vec::new(),
            text_hash: hash,
            sections: if b.sections.is_empty() {
                None
            } else {
                Some(Box::new(
                    b.sections
                        .iter()
                        .filter_map(|s| {
                            let items =
                                crate::vault::sections::read(&note.text, s.kind, &s.heading)?;
                            Some((s.heading.clone(), items))
                        })
                        .collect(),
                ))
            },
        },
        raw_links,
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bindings() -> Vec<Binding> {
        use crate::connectors::{Conv, Direction, FieldSpec};
        let field = |key: &str| FieldSpec {
            key: key.into(),
            remote: key.into(),
            conv: Conv::Text,
            direction: Direction::Both,
        };
        let binding = |ty: &str, fields: Vec<FieldSpec>, links: Vec<String>| Binding {
            note_type: ty.into(),
            kind: format!("{ty}s"),
            id_key: "hubspot_id".into(),
            fields,
            links,
            pull_new: true,
            sections: Vec::new(),
            link_target_only: false,
        };
        vec![
            binding("client", vec![field("email")], vec![]),
            binding("project", vec![field("status")], vec!["client".into()]),
        ]
    }

    /// The read through the cache is the whole read, field for field.
    fn assert_same(cached: &VaultRead, whole: &VaultRead) {
        assert_eq!(cached.notes, whole.notes);
        assert_eq!(cached.unreadable, whole.unreadable);
        assert_eq!(cached.held, whole.held);
        assert_eq!(cached.projects, whole.projects);
    }

    #[test]
    fn a_cached_read_reads_only_changed_notes_and_equals_a_whole_read() {
        let t = tempfile::tempdir().expect("tmp");
        let root = t.path();
        let write = |rel: &str, text: &str| {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().expect("folder")).expect("folder");
            std::fs::write(p, text).expect("note");
        };
        write(
            "Clients/A.md",
            "---\ntype: client\nssot_id: c1\nemail: a@x.pl\n---\n",
        );
        write(
            "Clients/B.md",
            "---\ntype: client\nssot_id: c2\nemail: b@x.pl\n---\n",
        );
        write(
            "Projects/P.md",
            "---\ntype: project\nssot_id: p1\nstatus: active\nclient: \"[[A]]\"\n---\n",
        );
        write(
            "Tickets/T.md",
            "---\ntype: ticket\nssot_id: t1\nstatus: open\nproject: \"[[P]]\"\n---\n",
        );
        write(
            "Broken.md",
            "---\ntype: client\nssot_id: c9\nemail: [x\nhubspot_id: '9'\n---\n",
        );
        let config = Config::default();
        let b = bindings();
        let whole = || read_vault(root, &config, &b, "hubspot");
        let mut cache = ReadCache::default();
        let cached = read_vault_cached(root, &config, &b, "hubspot", &mut cache);
        assert_eq!(cache.last_read(), 5);
        assert_same(&cached, &whole());
        assert_eq!(cached.projects[0].open_tickets, vec!["T".to_string()]);
        assert_eq!(cached.notes.len(), 3);
        // Nothing changed: nothing read.
        let cached = read_vault_cached(root, &config, &b, "hubspot", &mut cache);
        assert_eq!(cache.last_read(), 0);
        assert_same(&cached, &whole());
        // A note changed, one deleted, one made, one moved (the links to it break): only the
        // changed, new and moved notes are read, and links resolve as in a whole read.
        write(
            "Clients/A.md",
            "---\ntype: client\nssot_id: c1\nemail: a.new@x.pl\n---\n",
        );
        std::fs::remove_file(root.join("Clients/B.md")).expect("delete");
        write(
            "Clients/C.md",
            "---\ntype: client\nssot_id: c3\nemail: c@x.pl\n---\n",
        );
        std::fs::rename(root.join("Projects/P.md"), root.join("Projects/Q.md")).expect("move");
        let cached = read_vault_cached(root, &config, &b, "hubspot", &mut cache);
        assert_eq!(cache.last_read(), 3);
        assert_same(&cached, &whole());
        assert!(cached.projects[0].open_tickets.is_empty());
        assert_eq!(cache.len(), 5);
        // A marked note is read again whatever its stamp; a cleared cache reads every note.
        cache.mark("Tickets/T.md");
        let cached = read_vault_cached(root, &config, &b, "hubspot", &mut cache);
        assert_eq!(cache.last_read(), 1);
        assert_same(&cached, &whole());
        cache.clear();
        let cached = read_vault_cached(root, &config, &b, "hubspot", &mut cache);
        assert_eq!(cache.last_read(), 5);
        assert_same(&cached, &whole());
    }

    #[test]
    fn a_file_that_cannot_be_read_is_reported_and_holds_every_deletion() {
        let e = std::io::Error::new(std::io::ErrorKind::NotFound, "gone while the run read it");
        let r = unreadable_file(&e);
        assert_eq!(
            r.unreadable.as_deref(),
            Some("1:1: cannot read the file: gone while the run read it")
        );
        assert_eq!(
            r.held,
            Some(HeldIds {
                ssot_id: None,
                remote_ids: vec![],
                unidentified: true,
            })
        );
        assert!(r.synced.is_none() && r.ssot_id.is_none() && r.note_type.is_none());
    }

    #[test]
    fn an_unreadable_note_still_shows_its_ids() {
        let broken = b"---\ntype: client\nssot_id: \"01M7W3N2NP9CPP5XT6PJ2EC99Z\" # id\nemail: [k3@x.pl\nhubspot_id: '301'\n---\n";
        let ids = scan_ids(broken, &["hubspot_id"]);
        assert_eq!(
            ids,
            HeldIds {
                ssot_id: Some("01M7W3N2NP9CPP5XT6PJ2EC99Z".into()),
                remote_ids: vec!["301".into()],
                unidentified: false,
            }
        );
        // The id line itself broken: unidentified, so no deletion is acted on.
        let ids = scan_ids(b"---\nssot_id: [01M7\n---\n", &["hubspot_id"]);
        assert!(ids.unidentified && ids.ssot_id.is_none());
        // Not a synced note at all (no `ssot_id`): holds nothing.
        let ids = scan_ids(b"---\ntitle: [oops\n---\n", &["hubspot_id"]);
        assert_eq!(ids, HeldIds::default());
        // Bytes that are not UTF-8 around a readable id line.
        let ids = scan_ids(b"---\n\xff\xfe\nssot_id: 01ABC\n---\n", &[]);
        assert_eq!(ids.ssot_id.as_deref(), Some("01ABC"));
        // The first id line is the note's; ids may hold `-` and `_`.
        let ids = scan_ids(
            b"---\nssot_id: first-id_1\nemail: [x\n---\n\nssot_id: second\n",
            &["hubspot_id"],
        );
        assert_eq!(ids.ssot_id.as_deref(), Some("first-id_1"));
        assert!(!ids.unidentified);
    }
}
