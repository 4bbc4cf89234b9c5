//! What the engine asks of the process the vault serves, handed in from outside: the sync engine
//! knows records, fields and actions, not the consultancy's lifecycle. The CLI passes
//! `workflow::Lifecycle`, which judges each status move by the lifecycle's guards and names its
//! service effects; [`NoProcess`] judges nothing (a vault without a lifecycle, and tests of the
//! engine alone).
//!
//! The engine finds the moves itself: a note whose `status` differs from its base (the value it
//! and the service last agreed on). A move the process refuses is not carried to the service (the
//! field keeps its base; `check` reports the note). A move it accepts yields the actions its
//! effects name for this remote, in order, each with a stable id ([`action_id`]) so that the
//! journal can tell, after a crash, which were carried out.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::connectors::{ActionOp, RemoteAction};
use crate::vault::sections::{SectionItem, SectionKind};

/// A note's status moved since the base.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusMove {
    /// The note's `ssot_id`.
    pub ssot_id: String,
    /// The note type.
    pub note_type: String,
    /// The note's path relative to the vault root.
    pub rel: String,
    /// The note on disk (read again, whole, by a process that needs its body).
    pub path: PathBuf,
    /// The status the base holds, in the vault's terms.
    pub from: String,
    /// The status the note holds now.
    pub to: String,
    /// Names of the open tickets linking to the note.
    pub open_tickets: Vec<String>,
    /// Other properties the move comes with, set on the note before its guards are judged (a
    /// service's status move pulled with the `blocked_reason` it gives; `Null` empties one);
    /// empty for a move made in the vault.
    pub with: Vec<(String, crate::vault::value::Value)>,
    /// Body sections the move comes with, written into the note before its guards are judged
    /// (a Trello checklist ticked in the same pull as the card's list move): (how the section is
    /// written, its heading, its items as merged); empty for a move made in the vault.
    pub sections: Vec<(SectionKind, String, Vec<SectionItem>)>,
}

/// The process's word on a move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed; the services do these, in order (those of the remote being synced).
    Allowed(Vec<ActionOp>),
    /// Not allowed: the reason, said to people.
    Refused(String),
}

/// The process the vault serves, as the engine sees it.
pub trait Process: Sync {
    /// Trailers for the commit of the vault's pending edits (`Ssot-Illegal-Transition`).
    fn pending_trailers(&self, _root: &Path, _config: &Config) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Judges a move and names the actions `remote` must carry out for it.
    fn judge(&self, _root: &Path, _config: &Config, _remote: &str, _mv: &StatusMove) -> Verdict {
        Verdict::Allowed(Vec::new())
    }

    /// The `Ssot-Transition` labels of a move the process allows (`from→to` of each step it
    /// takes, in the vault's terms), for the commit that takes a move made in a service into
    /// the note. None by default, and none for a move it refuses.
    fn transition_labels(&self, _root: &Path, _config: &Config, _mv: &StatusMove) -> Vec<String> {
        Vec::new()
    }

    /// The properties that belong to the status a move leaves: emptied with the move, on the
    /// note and in the service, and judged empty (a project's `blocked_reason` when it leaves
    /// `blocked`). None by default.
    fn left_behind(&self, _mv: &StatusMove) -> Vec<String> {
        Vec::new()
    }

    /// The status the note at `path` (of `note_type`) takes with the messages written in the
    /// service that a pull adds to the end of its conversation (`parties`: who wrote each, as
    /// its stamp says, oldest first), when they change it: a helpdesk ticket answered on its
    /// card becomes `answered`, as a reply through the form or `ticket reply` makes it. `None`
    /// leaves the status as it is; the default.
    fn status_after_messages(
        &self,
        _note_type: &str,
        _path: &Path,
        _parties: &[String],
    ) -> Option<String> {
        None
    }

    /// The action of another remote that an action `op` of `remote` waits for, if any (only
    /// one of an enabled remote: a remote the vault does not sync is not waited for). None by
    /// default.
    fn prerequisite(
        &self,
        _config: &Config,
        _remote: &str,
        _op: &ActionOp,
    ) -> Option<Prerequisite> {
        None
    }
}

/// No process: every move allowed, no action.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProcess;

impl Process for NoProcess {}

/// What an action names itself by in its id ([`action_id`]): `transition:on-hold`,
/// `attach-export`, `delete`.
pub fn action_code(op: &ActionOp) -> String {
    match op {
        ActionOp::Transition { to } => format!("transition:{to}"),
        ActionOp::CreateChild { kind, .. } => format!("create-child:{kind}"),
        ActionOp::Grant { link } => format!("grant:{link}"),
        ActionOp::Revoke { link } => format!("revoke:{link}"),
        ActionOp::AttachExport => "attach-export".into(),
        ActionOp::Delete => "delete".into(),
    }
}

/// The id of the `n`th action of a move: the same move planned again gives the same ids.
pub fn action_id(mv: &StatusMove, n: usize, op: &ActionOp) -> String {
    format!(
        "{}/{}>{}/{n}/{}",
        mv.ssot_id,
        mv.from,
        mv.to,
        action_code(op)
    )
}

/// An action id's note (`ssot_id`), the status its move reaches and its code; `None` for an
/// id [`action_id`] did not make.
pub fn parts_of(id: &str) -> Option<(&str, &str, &str)> {
    let mut it = id.rsplitn(4, '/');
    let code = it.next()?;
    let _n = it.next()?;
    let (_, to) = it.next()?.split_once('>')?;
    let sid = it.next()?;
    Some((sid, to, code))
}

/// An action of another remote that an action waits for: the same note's move to the same
/// status must have had it carried out there first (Jira deletes an archived project's issue
/// only once its export is attached to the Trello card and read back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prerequisite {
    /// The remote that carries it out (`trello`).
    pub remote: String,
    /// The action it is there.
    pub op: ActionOp,
    /// What the waiting action waits for, said to people (`the export on the Trello card`).
    pub what: String,
}

/// Whether two action ids name the same note's move to the same status and the same action
/// (whatever status each remote saw the move start from).
pub fn same_effect(a: &str, b: &str) -> bool {
    match (parts_of(a), parts_of(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

impl Prerequisite {
    /// Whether `done` (the shared record of done actions) holds it for the waiting action
    /// `id`.
    pub fn met(&self, done: &super::state::DoneActions, id: &str) -> bool {
        let wanted = self.request_id(id);
        done.any(&self.remote, |d| same_effect(d, &wanted))
    }

    /// The id it has as an action of its remote, for the waiting action `id`.
    fn request_id(&self, id: &str) -> String {
        let code = action_code(&self.op);
        match id.rsplitn(3, '/').nth(2) {
            Some(moved) => format!("{moved}/0/{code}"),
            None => format!("{id}/0/{code}"),
        }
    }

    /// It as an action of its remote, asked for by the waiting action `waiting` (carried out
    /// by that remote's next run if its own plan does not hold it: its state was lost, or the
    /// action was dropped).
    pub fn request(&self, waiting: &RemoteAction) -> RemoteAction {
        RemoteAction {
            id: self.request_id(&waiting.id),
            note_type: waiting.note_type.clone(),
            ssot_id: waiting.ssot_id.clone(),
            rel: waiting.rel.clone(),
            op: self.op.clone(),
            links: Vec::new(),
        }
    }
}

/// The run's actions: those of earlier runs not carried out yet (`pending`, from the state),
/// then those of this run's moves (`moved`), each once, none that an interrupted run carried
/// out (`acted`, from the journal).
pub fn run_actions(
    pending: &[RemoteAction],
    moved: Vec<RemoteAction>,
    acted: &BTreeSet<String>,
) -> Vec<RemoteAction> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    pending
        .iter()
        .cloned()
        .chain(moved)
        .filter(|a| !acted.contains(&a.id) && seen.insert(a.id.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn act(id: &str) -> RemoteAction {
        RemoteAction {
            id: id.into(),
            note_type: "project".into(),
            ssot_id: "S1".into(),
            rel: "Projects/P.md".into(),
            op: ActionOp::Delete,
            links: Vec::new(),
        }
    }

    #[test]
    fn a_run_takes_pending_actions_first_each_once_and_none_already_carried_out() {
        let ids = |v: Vec<RemoteAction>| v.into_iter().map(|a| a.id).collect::<Vec<_>>();
        let acted: BTreeSet<String> = ["b".to_string()].into();
        assert_eq!(
            ids(run_actions(
                &[act("p1"), act("b")],
                vec![act("a"), act("b"), act("p1"), act("c")],
                &acted
            )),
            ["p1", "a", "c"]
        );
        assert!(run_actions(&[], Vec::new(), &BTreeSet::new()).is_empty());
    }

    fn mv(from: &str, to: &str) -> StatusMove {
        StatusMove {
            ssot_id: "S1".into(),
            note_type: "project".into(),
            rel: "Projects/P.md".into(),
            path: PathBuf::from("/v/Projects/P.md"),
            from: from.into(),
            to: to.into(),
            open_tickets: Vec::new(),
            with: Vec::new(),
            sections: Vec::new(),
        }
    }

    #[test]
    fn ids_are_stable_and_tell_moves_and_steps_apart() {
        let op = ActionOp::Transition {
            to: "on-hold".into(),
        };
        let a = action_id(&mv("active", "blocked"), 0, &op);
        assert_eq!(a, "S1/active>blocked/0/transition:on-hold");
        assert_eq!(a, action_id(&mv("active", "blocked"), 0, &op));
        assert_ne!(a, action_id(&mv("accepted", "credentialing"), 0, &op));
        assert_ne!(a, action_id(&mv("active", "blocked"), 1, &op));
        assert_ne!(a, action_id(&mv("active", "blocked"), 0, &ActionOp::Delete));
    }

    #[test]
    fn a_prerequisite_is_met_by_the_same_notes_move_to_the_same_status() {
        let attach = ActionOp::AttachExport;
        assert_eq!(
            parts_of(&action_id(&mv("done", "archived"), 0, &attach)),
            Some(("S1", "archived", "attach-export"))
        );
        assert_eq!(parts_of("not an id"), None);
        let first = Prerequisite {
            remote: "trello".into(),
            op: ActionOp::AttachExport,
            what: "the export on the Trello card".into(),
        };
        let delete = action_id(&mv("active", "archived"), 1, &ActionOp::Delete);
        let mut done = super::super::state::DoneActions::default();
        assert!(!first.met(&done, &delete));
        fn add(done: &mut super::super::state::DoneActions, remote: &str, id: String) {
            done.done.entry(remote.into()).or_default().insert(id);
        }
        // Another remote, another note, another status, another action: not it.
        add(
            &mut done,
            "jira",
            action_id(&mv("done", "archived"), 0, &attach),
        );
        add(
            &mut done,
            "trello",
            action_id(&mv("active", "blocked"), 0, &attach),
        );
        add(
            &mut done,
            "trello",
            action_id(&mv("done", "archived"), 0, &ActionOp::Delete),
        );
        let mut other = mv("done", "archived");
        other.ssot_id = "S2".into();
        add(&mut done, "trello", action_id(&other, 0, &attach));
        assert!(!first.met(&done, &delete));
        // The same note's move to the same status, from wherever that remote saw it start.
        add(
            &mut done,
            "trello",
            action_id(&mv("done", "archived"), 0, &attach),
        );
        assert!(first.met(&done, &delete));
        // Asked of Trello as its own action of the same move.
        let waiting = RemoteAction {
            id: delete.clone(),
            ..act("x")
        };
        let asked = first.request(&waiting);
        assert_eq!(asked.id, "S1/active>archived/0/attach-export");
        assert_eq!(asked.op, ActionOp::AttachExport);
        assert!(same_effect(
            &asked.id,
            &action_id(&mv("done", "archived"), 0, &attach)
        ));
        assert!(!same_effect(&asked.id, &delete));
    }

    #[test]
    fn no_process_allows_every_move_with_no_action() {
        let cfg = Config::default();
        assert_eq!(
            NoProcess.judge(Path::new("/v"), &cfg, "jira", &mv("intake", "archived")),
            Verdict::Allowed(Vec::new())
        );
        assert!(NoProcess.pending_trailers(Path::new("/v"), &cfg).is_empty());
        assert!(NoProcess.left_behind(&mv("blocked", "active")).is_empty());
        assert!(
            NoProcess
                .transition_labels(Path::new("/v"), &cfg, &mv("active", "blocked"))
                .is_empty()
        );
        assert_eq!(
            NoProcess.prerequisite(&cfg, "jira", &ActionOp::Delete),
            None
        );
    }
}
