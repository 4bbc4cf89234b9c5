//! Sync state under `.ssot/<remote>/`: the base (each synced note's mapped fields as they were
//! when the note and the remote last agreed), the change-feed cursor and the connector's own
//! bookkeeping, in one JSON file written atomically once a run's changes are safe.
//!
//! `.ssot/` is local and git-ignored. Losing it costs time, never data: the next run reads the
//! whole remote, matches records to notes by `ssot_id` and remote id, and takes the base of each
//! note from its last sync commit in git ([`base_from_history`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fsutil::{self, FsError};

use super::plan::{Action, RecordPlan};

/// The state file's format: a file of a newer format (written by a newer ssot-vault) is not
/// read, rather than half understood.
pub const VERSION: u32 = 1;

/// The state folder at the vault root.
pub const DIR: &str = ".ssot";

/// One synced note's base.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BaseEntry {
    /// The note type.
    pub note_type: String,
    /// The remote id.
    pub remote_id: String,
    /// Whether the remote record carries the `ssot_id`.
    pub remote_has_ssot_id: bool,
    /// Mapped fields, canonical, as last agreed (absent: empty).
    pub fields: BTreeMap<String, String>,
    /// The note was deleted from the vault and its record left alone: never re-create the note.
    pub deleted: bool,
    /// The record was archived remotely and the note marked.
    pub archived: bool,
    /// Synced body sections as last agreed (heading → items).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sections: Option<Box<super::plan::Sections>>,
    /// For a binding with links: a hash of the links last agreed ([`super::plan::links_hash`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub links: Option<u64>,
}

/// The state of one remote.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyncState {
    /// Format version ([`VERSION`] once saved; 0 before the first run).
    pub version: u32,
    /// The change-feed cursor (connector-specific).
    pub cursor: Option<serde_json::Value>,
    /// The connector's own state.
    pub connector: serde_json::Value,
    /// Base per `ssot_id`.
    pub base: BTreeMap<String, BaseEntry>,
    /// Unresolved conflicts: `ssot_id` → key → the remote's canonical value.
    pub conflicts: BTreeMap<String, BTreeMap<String, String>>,
    /// When records archived remotely were last looked for (epoch ms).
    pub archived_checked_ms: Option<i64>,
    /// When every record was last read (epoch ms).
    #[serde(default)]
    pub full_pulled_ms: Option<i64>,
    /// The last run that finished.
    pub last_run: Option<String>,
    /// Records that make no valid note, reported once: remote id → the fingerprint of the
    /// record as reported ([`RecordPlan::fingerprint`](super::plan::RecordPlan::fingerprint)).
    /// Left out of the plan until the record changes.
    #[serde(default)]
    pub invalid: BTreeMap<String, u64>,
    /// Records to read again next run (remote id → note type), their change being behind the
    /// cursor: those pulled while their note could not be read (until it can be), those whose
    /// note changed during the run before it took their change, and those whose write the
    /// service refused (the plan then sees the remote's value again and pushes
    /// again, also where nothing changed on the vault's side).
    #[serde(default)]
    pub held_pulled: BTreeMap<String, String>,
    /// Actions planned and not carried out yet (the service refused them, or the run stopped
    /// first), in order: planned again by every run until done.
    #[serde(default)]
    pub actions: Vec<crate::connectors::RemoteAction>,
    /// The status (in the vault's terms) of each project whose base status the service shows
    /// for several (Jira's Done for `done` and `archived`), as last agreed: a move between two
    /// such statuses is found by it (`ssot_id` → status).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub statuses: BTreeMap<String, String>,
}

/// State could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// I/O.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// The file is not valid state.
    #[error("{}: invalid sync state ({message}); delete the file to rebuild it from git and the service", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// The state file of a remote.
pub fn path(root: &Path, remote: &str) -> PathBuf {
    root.join(DIR).join(remote).join("state.json")
}

impl SyncState {
    /// Loads the state (empty when there is none).
    pub fn load(root: &Path, remote: &str) -> Result<SyncState, StateError> {
        let p = path(root, remote);
        if !p.exists() {
            return Ok(SyncState::default());
        }
        let bytes = fsutil::read(&p)?;
        let st: SyncState = serde_json::from_slice(&bytes).map_err(|e| StateError::Invalid {
            path: p.clone(),
            message: e.to_string(),
        })?;
        if st.version > VERSION {
            return Err(StateError::Invalid {
                path: p,
                message: format!(
                    "format {} was written by a newer ssot-vault, this one reads format {VERSION}; upgrade ssot-vault",
                    st.version
                ),
            });
        }
        Ok(st)
    }

    /// Saves the state atomically.
    pub fn save(&self, root: &Path, remote: &str) -> Result<(), StateError> {
        save_json(&path(root, remote), self)
    }
}

/// The record of the actions carried out, shared by the remotes, at `.ssot/effects.json`: an
/// action of one remote may wait for an action of another (Jira deletes an archived project's
/// issue only once the export is attached to its Trello card and read back), and the remotes run
/// one after the other, each with its own state. Each remote's done action ids are added as
/// they are done (written atomically before the journal says so); a missing file is an empty
/// record. A waiting action also asks for the action it waits for (`wanted`), which that
/// remote's next run carries out if its own plan does not hold it (its state lost, this record
/// lost, the action dropped): waiting never stalls for good.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DoneActions {
    /// Format version ([`VERSION`]).
    pub version: u32,
    /// The ids of the actions carried out, per remote.
    pub done: BTreeMap<String, std::collections::BTreeSet<String>>,
    /// Actions asked of a remote by actions of others waiting for them, per remote; an entry
    /// goes once the remote carried it out.
    pub wanted: BTreeMap<String, Vec<crate::connectors::RemoteAction>>,
}

/// The shared record of done actions.
pub fn done_actions_path(root: &Path) -> PathBuf {
    root.join(DIR).join("effects.json")
}

impl DoneActions {
    /// Loads the record (empty when there is none).
    pub fn load(root: &Path) -> Result<DoneActions, StateError> {
        let p = done_actions_path(root);
        if !p.exists() {
            return Ok(DoneActions::default());
        }
        let bytes = fsutil::read(&p)?;
        serde_json::from_slice(&bytes).map_err(|e| StateError::Invalid {
            path: p,
            message: e.to_string(),
        })
    }

    fn save(&mut self, root: &Path) -> Result<(), StateError> {
        self.version = VERSION;
        save_json(&done_actions_path(root), self)
    }

    /// Adds `id` to `remote`'s done actions (and takes the same action off what is asked of
    /// it), saving the record atomically (read again first, so that nothing another run added
    /// is lost).
    pub fn record(root: &Path, remote: &str, id: &str) -> Result<(), StateError> {
        let mut d = DoneActions::load(root)?;
        let added = d
            .done
            .entry(remote.to_string())
            .or_default()
            .insert(id.to_string());
        let mut asked = false;
        if let Some(w) = d.wanted.get_mut(remote) {
            let before = w.len();
            w.retain(|a| !super::process::same_effect(&a.id, id));
            asked = w.len() != before;
            if w.is_empty() {
                d.wanted.remove(remote);
            }
        }
        if added || asked {
            d.save(root)?;
        }
        Ok(())
    }

    /// Asks `remote` for `action` (once), saving the record.
    pub fn want(
        root: &Path,
        remote: &str,
        action: &crate::connectors::RemoteAction,
    ) -> Result<(), StateError> {
        let mut d = DoneActions::load(root)?;
        let w = d.wanted.entry(remote.to_string()).or_default();
        if w.iter().any(|a| a.id == action.id) {
            return Ok(());
        }
        w.push(action.clone());
        d.save(root)
    }

    /// Whether `remote` carried out an action whose id matches `wanted`.
    pub fn any(&self, remote: &str, wanted: impl Fn(&str) -> bool) -> bool {
        self.done
            .get(remote)
            .is_some_and(|ids| ids.iter().any(|id| wanted(id)))
    }

    /// The actions asked of `remote` that it has not carried out.
    pub fn asked_of(&self, remote: &str) -> Vec<crate::connectors::RemoteAction> {
        self.wanted
            .get(remote)
            .into_iter()
            .flatten()
            .filter(|a| !self.any(remote, |d| super::process::same_effect(d, &a.id)))
            .cloned()
            .collect()
    }
}

/// A write the service did (or a record that needed none): what the base takes from it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// The record's remote id.
    pub remote_id: String,
    /// The record was created by this write.
    pub created: bool,
    /// A created record's fields the service owns, as it returned them (`None`: it returned
    /// none; a field absent from the map is empty).
    pub service_fields: Option<BTreeMap<String, Option<String>>>,
}

/// What happened to one record of the plan this run, as far as its base is concerned. The
/// applier reports each step as it happens; [`SyncState::settle`] turns it into the base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The note was marked archived (its record is archived remotely).
    NoteMarked,
    /// The note was made from the record.
    NoteMade,
    /// The service answered that the record is gone (archived): its remote id.
    Gone(String),
    /// The end of an update, create or new note whose note edit did not fail: `written` is the
    /// service's write (`None`: not written, because none was needed, or the service refused it,
    /// or the record was gone); `note_written` says whether the note took the pulled fields.
    Done {
        /// The write, if the service did one.
        written: Option<Written>,
        /// The note took the pulled fields (its edit, if any, succeeded).
        note_written: bool,
    },
    /// The note was deleted from the vault and its record is left as it is.
    Forgotten,
    /// The record of a deleted note was archived remotely.
    ArchivedRemote,
}

impl SyncState {
    /// The base (and open conflicts) after `outcome` of the record planned by `rp`: pure, no
    /// I/O. The engine calls it for every step of every record; the property tests of the plan
    /// (`plan_props.rs`) drive the same function.
    ///
    /// A write the service did not make (refused, gone) never advances the base for the pushed
    /// part: only the pulled and agreed fields count, so the next run pushes again.
    pub fn settle(&mut self, rp: &RecordPlan, outcome: Outcome) {
        match outcome {
            Outcome::NoteMarked => {
                let e = self.base.entry(rp.ssot_id.clone()).or_default();
                e.note_type = rp.note_type.clone();
                e.remote_id = rp.remote_id.clone().unwrap_or_default();
                e.archived = true;
            }
            Outcome::NoteMade => {
                let e = self.base.entry(rp.ssot_id.clone()).or_default();
                e.note_type = rp.note_type.clone();
                e.remote_id = rp.remote_id.clone().unwrap_or_default();
                e.remote_has_ssot_id = rp.remote_has_ssot_id;
                e.fields = rp.new_base(&BTreeMap::new(), &rp.pull);
                e.sections = rp.section_items().map(|m| Box::new(m.clone()));
                e.links = rp.tracks_links.then(|| super::plan::links_hash(&rp.links));
            }
            Outcome::Gone(remote_id) => {
                let e = self.base.entry(rp.ssot_id.clone()).or_default();
                e.note_type = rp.note_type.clone();
                e.remote_id = remote_id;
                e.archived = true;
            }
            Outcome::Done {
                written,
                note_written,
            } => {
                if rp.needs_push() && written.is_none() {
                    // Not written (refused or gone): only the pulled part counts.
                    if rp.action == Action::Update
                        && note_written
                        && let Some(e) = self.base.get_mut(&rp.ssot_id)
                    {
                        for (k, v) in rp.pull.iter().chain(&rp.agreed) {
                            match v {
                                Some(v) => e.fields.insert(k.clone(), v.clone()),
                                None => e.fields.remove(k),
                            };
                        }
                    }
                    return;
                }
                let is_written = written.is_some();
                let (rid, service_fields) = match written {
                    Some(w) => (w.remote_id, w.service_fields),
                    None => (rp.remote_id.clone().unwrap_or_default(), None),
                };
                let e = self.base.entry(rp.ssot_id.clone()).or_default();
                e.note_type = rp.note_type.clone();
                e.remote_id = rid;
                e.remote_has_ssot_id = rp.remote_has_ssot_id || is_written;
                e.links = rp.tracks_links.then(|| super::plan::links_hash(&rp.links));
                // A created record's fields the service owns: as it returned them, else empty.
                let mut pull = rp.pull.clone();
                if rp.action == Action::Create
                    && let Some(actual) = service_fields
                {
                    pull.extend(actual);
                }
                e.fields = rp.new_base(&rp.push, &pull);
                // The merged sections, once the note took them too (or had them already).
                if note_written || !rp.pulls_sections() {
                    e.sections = rp.section_items().map(|m| Box::new(m.clone()));
                }
                e.deleted = false;
                if rp.conflicts.is_empty() {
                    self.conflicts.remove(&rp.ssot_id);
                } else {
                    self.conflicts.insert(
                        rp.ssot_id.clone(),
                        rp.conflicts
                            .iter()
                            .map(|c| (c.key.clone(), c.remote.clone().unwrap_or_default()))
                            .collect(),
                    );
                }
            }
            Outcome::Forgotten => {
                self.base.entry(rp.ssot_id.clone()).or_default().deleted = true;
            }
            Outcome::ArchivedRemote => {
                if let Some(e) = self.base.get_mut(&rp.ssot_id) {
                    e.deleted = true;
                    e.archived = true;
                }
            }
        }
    }
}

/// The text of each wanted note (by vault-relative path) at the newest commit whose
/// `Ssot-Source` trailer is `source` and which touched it: the note as it stood right after its
/// last sync, from which a lost base is rebuilt. Paths not found are left out.
pub fn base_from_history(root: &Path, source: &str, wanted: &[String]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if wanted.is_empty() {
        return out;
    }
    let Ok(repo) = git2::Repository::open(root) else {
        return out;
    };
    let Ok(head) = repo.head().and_then(|h| h.peel_to_commit()) else {
        return out;
    };
    let Ok(mut walk) = repo.revwalk() else {
        return out;
    };
    let _ = walk.set_sorting(git2::Sort::TIME);
    let _ = walk.simplify_first_parent();
    if walk.push(head.id()).is_err() {
        return out;
    }
    let mut left: std::collections::BTreeSet<&str> = wanted.iter().map(String::as_str).collect();
    for oid in walk.flatten() {
        if left.is_empty() {
            break;
        }
        let Ok(commit) = repo.find_commit(oid) else {
            continue;
        };
        let msg = commit.message().unwrap_or("");
        let from_source = crate::history::trailers::parse(msg)
            .iter()
            .any(|(k, v)| k == crate::history::TRAILER_SOURCE && v == source);
        if !from_source {
            continue;
        }
        let Ok(tree) = commit.tree() else { continue };
        let parent_tree = commit.parent(0).ok().and_then(|p| p.tree().ok());
        let Ok(diff) = repo.diff_tree_to_tree(parent_tree.as_ref(), Some(&tree), None) else {
            continue;
        };
        let mut touched = Vec::new();
        for d in diff.deltas() {
            if let Some(p) = d.new_file().path() {
                let p = p.to_string_lossy().replace('\\', "/");
                if left.contains(p.as_str()) {
                    touched.push(p);
                }
            }
        }
        for p in touched {
            if let Ok(entry) = tree.get_path(Path::new(&p))
                && let Ok(blob) = repo.find_blob(entry.id())
            {
                out.insert(
                    p.clone(),
                    String::from_utf8_lossy(blob.content()).into_owned(),
                );
            }
            left.remove(p.as_str());
        }
    }
    out
}

/// Writes `value` as JSON to `p`, atomically.
fn save_json(p: &Path, value: &impl Serialize) -> Result<(), StateError> {
    let bytes = serde_json::to_vec(value).map_err(|e| StateError::Invalid {
        path: p.to_path_buf(),
        message: e.to_string(),
    })?;
    fsutil::write_atomic(p, &bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_actions_are_added_to_the_shared_record_each_once() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(DoneActions::load(d.path()).unwrap(), DoneActions::default());
        DoneActions::record(d.path(), "trello", "S1/done>archived/0/attach-export").unwrap();
        DoneActions::record(d.path(), "jira", "S1/done>archived/0/revoke:expert").unwrap();
        DoneActions::record(d.path(), "trello", "S1/done>archived/0/attach-export").unwrap();
        let r = DoneActions::load(d.path()).unwrap();
        assert_eq!(r.version, VERSION);
        assert_eq!(r.done["trello"].len(), 1);
        assert!(r.any("jira", |id| id.ends_with("revoke:expert")));
        assert!(!r.any("jira", |id| id.ends_with("attach-export")));
        assert!(!r.any("sheets", |_| true));
        // Asked of a remote once, until that remote carries it out (from whichever move).
        let asked = crate::connectors::RemoteAction {
            id: "S1/active>archived/0/attach-export".into(),
            note_type: "project".into(),
            ssot_id: "S1".into(),
            rel: "Projects/P.md".into(),
            op: crate::connectors::ActionOp::AttachExport,
            links: Vec::new(),
        };
        DoneActions::want(d.path(), "sheets", &asked).unwrap();
        DoneActions::want(d.path(), "sheets", &asked).unwrap();
        let r = DoneActions::load(d.path()).unwrap();
        assert_eq!(r.asked_of("sheets"), [asked]);
        assert!(r.asked_of("trello").is_empty());
        DoneActions::record(d.path(), "sheets", "S1/done>archived/0/attach-export").unwrap();
        let r = DoneActions::load(d.path()).unwrap();
        assert!(r.asked_of("sheets").is_empty());
        assert!(r.wanted.is_empty());
        std::fs::write(done_actions_path(d.path()), "{").unwrap();
        assert!(matches!(
            DoneActions::load(d.path()),
            Err(StateError::Invalid { .. })
        ));
    }

    #[test]
    fn a_base_with_body_sections_reads_and_writes_the_same_json() {
        // As written by earlier runs: the sections as a map heading → items.
        let json = r#"{"note_type":"project","remote_id":"SSOT-1","remote_has_ssot_id":true,"fields":{"title":"Project 00000"},"deleted":false,"archived":false,"sections":{"Brief":[{"key":"text","text":"Project **0** for the benchmark.","checked":null,"stamp":null}],"Credentialing":[{"key":"NDA","text":"NDA","checked":true,"stamp":null}]}}"#;
        let e: BaseEntry = serde_json::from_str(json).unwrap();
        let s = e.sections.as_deref().expect("sections");
        assert_eq!(s.keys().collect::<Vec<_>>(), ["Brief", "Credentialing"]);
        assert_eq!(s["Brief"][0].text, "Project **0** for the benchmark.");
        assert_eq!(serde_json::to_string(&e).unwrap(), json);
    }

    #[test]
    fn a_state_saved_is_read_back_and_one_of_a_newer_format_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        assert_eq!(
            SyncState::load(root, "hubspot").unwrap(),
            SyncState::default()
        );
        let mut st = SyncState {
            version: VERSION,
            ..SyncState::default()
        };
        st.base.insert(
            "S1".into(),
            BaseEntry {
                note_type: "client".into(),
                remote_id: "7".into(),
                ..BaseEntry::default()
            },
        );
        st.save(root, "hubspot").unwrap();
        assert_eq!(SyncState::load(root, "hubspot").unwrap(), st);
        st.version = VERSION + 1;
        st.save(root, "hubspot").unwrap();
        let e = SyncState::load(root, "hubspot").unwrap_err().to_string();
        assert!(
            e.contains("written by a newer ssot-vault") && e.contains("state.json"),
            "{e}"
        );
    }
}
