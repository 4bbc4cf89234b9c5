//! What a sync run did: the [`SyncReport`] the CLI prints (and `--json` serialises), and the
//! one-line [`summary`] that becomes the run's commit message.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::connectors::HttpStats;

use super::plan::{Action, Plan};

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    /// The remote.
    pub remote: String,
    /// The run id.
    pub run_id: String,
    /// The plan.
    pub plan: Plan,
    /// Whether anything was applied (false for `--dry-run`).
    pub applied: bool,
    /// Records created remotely.
    pub created_remote: usize,
    /// Records updated remotely.
    pub updated_remote: usize,
    /// Notes updated from the remote.
    pub notes_updated: usize,
    /// Notes created from remote records.
    pub notes_created: usize,
    /// Notes marked archived.
    pub notes_marked_archived: usize,
    /// Records archived remotely.
    pub archived_remote: usize,
    /// Actions carried out (a status move's service effects).
    pub actions_done: usize,
    /// Open conflicts.
    pub conflicts: usize,
    /// Notes skipped because they changed during the run.
    pub skipped_changed: Vec<String>,
    /// Records the service refused, and links not made (refused by the service, or left out
    /// because the target's record is archived), each message naming the note's path:
    /// (ssot_id, message).
    pub refused: Vec<(String, String)>,
    /// The refusals written on the notes (`sync_errors`), each also in `refused`, in the
    /// note's own words: (ssot_id, message without the note's path).
    #[serde(skip)]
    pub errors: Vec<(String, String)>,
    /// Notes whose `sync_errors` the run changed.
    #[serde(skip)]
    pub errors_noted: usize,
    /// Notes that could not be read, as `path:line:col: why` (left alone, never written).
    pub unreadable: Vec<String>,
    /// Records that make no valid note (`check` would reject it), not written: (remote id,
    /// the note type's id key, message). Each is reported once, and again only when the record
    /// changes. Serialized as (remote id, message).
    #[serde(serialize_with = "pairs_without_id_key")]
    pub invalid: Vec<(String, String, String)>,
    /// The commit of the pending vault edits, if one was made.
    pub vault_commit: Option<String>,
    /// The sync commit, if one was made.
    pub commit: Option<String>,
    /// HTTP counters.
    pub http: HttpStats,
    /// The previous run was interrupted (its id).
    pub resumed_after: Option<String>,
    /// The commit of the notes the interrupted run had written, if one was made.
    pub resumed_commit: Option<String>,
    /// What the run's follow-ups in the vault did, one line each (for Google Forms: helpdesk
    /// messages filed in tickets, intakes accepted with `[intake] auto_accept`).
    pub followups: Vec<String>,
    /// The follow-ups' problems, one line each (a helpdesk response naming no known project, an
    /// intake that cannot be accepted): the run exits 1.
    pub followup_problems: Vec<String>,
    /// What this remote sends to its service: (note type, key) of each field that is not
    /// pull-only, and (note type, `## heading`) of each body section. A `sync` runs the remote
    /// once more when a remote after it wrote one of them into a note ([`SyncReport::feeds`]).
    #[serde(skip)]
    pub sends: BTreeSet<(String, String)>,
}

impl SyncReport {
    /// Whether this run wrote into notes something the remote that sends `sends` (its report's
    /// [`SyncReport::sends`]) carries to its service: a field or body section pulled into a
    /// note of a type it syncs, or a new note of such a type.
    pub fn feeds(&self, sends: &BTreeSet<(String, String)>) -> bool {
        if !self.applied {
            return false;
        }
        let sends_key = |ty: &str, key: String| sends.contains(&(ty.to_string(), key));
        self.plan.records.iter().any(|rp| match rp.action {
            Action::NewNote => sends.iter().any(|(t, _)| *t == rp.note_type),
            Action::Update => {
                rp.pull.keys().any(|k| sends_key(&rp.note_type, k.clone()))
                    || rp.sections.as_deref().is_some_and(|sp| {
                        sp.pull
                            .iter()
                            .any(|h| sends_key(&rp.note_type, format!("## {h}")))
                    })
            }
            _ => false,
        })
    }
}

/// The commit summary of a run.
pub fn summary(r: &SyncReport) -> String {
    let parts = parts(r);
    if parts.is_empty() {
        return format!("Sync with {}: remote ids written back", r.remote);
    }
    format!("Sync with {}: {}", r.remote, parts.join(", "))
}

/// A run's one-line summary for a log: [`summary`], or that nothing changed.
pub fn log_line(r: &SyncReport) -> String {
    if r.commit.is_none() && parts(r).is_empty() {
        return format!("Sync with {}: nothing changed", r.remote);
    }
    summary(r)
}

fn parts(r: &SyncReport) -> Vec<String> {
    let mut parts = Vec::new();
    if r.notes_updated > 0 {
        parts.push(format!("{} notes updated", r.notes_updated));
    }
    if r.notes_created > 0 {
        parts.push(format!("{} new notes", r.notes_created));
    }
    if r.notes_marked_archived > 0 {
        parts.push(format!("{} marked archived", r.notes_marked_archived));
    }
    if r.conflicts > 0 {
        parts.push(format!("{} conflicts", r.conflicts));
    }
    if r.created_remote > 0 {
        parts.push(format!("{} records created", r.created_remote));
    }
    if r.actions_done > 0 {
        parts.push(format!("{} actions", r.actions_done));
    }
    if r.errors_noted > 0 {
        parts.push(format!("sync_errors of {} notes", r.errors_noted));
    }
    parts
}

/// `invalid` as (remote id, message) pairs.
fn pairs_without_id_key<S: serde::Serializer>(
    v: &[(String, String, String)],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|(rid, _, m)| (rid, m)))
}
