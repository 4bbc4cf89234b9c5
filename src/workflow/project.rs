//! The guarded moves of a project: every command that changes a project's status goes through
//! [`transition`], which computes the edited note, judges the lifecycle's guards on it, writes it
//! (compare-and-swap) and commits it with one `Ssot-Transition` trailer per step. A refused move
//! writes nothing.

use std::path::{Path, PathBuf};

use super::lifecycle::{self, Effect, Facts, Status, Transition};
use super::notes::{self, Loaded, link_to};
use super::{WorkflowError, credentialing};
use crate::config::Config;
use crate::history::CommitInfo;
use crate::vault::editor::{Edit, apply};
use crate::vault::note::Note;
use crate::vault::value::Value;

/// A project moved to a new status.
#[derive(Debug)]
pub struct Moved {
    /// The project note.
    pub path: PathBuf,
    /// The status before.
    pub from: Status,
    /// The status after.
    pub to: Status,
    /// The steps of the table taken, in order.
    pub steps: Vec<&'static Transition>,
    /// The audit commit (`None` when the vault had nothing to commit).
    pub commit: Option<CommitInfo>,
}

impl Moved {
    /// The service effects of all steps, in order.
    pub fn effects(&self) -> Vec<Effect> {
        self.steps
            .iter()
            .flat_map(|t| t.effects.iter().copied())
            .collect()
    }

    /// The `Ssot-Transition` labels.
    pub fn labels(&self) -> Vec<String> {
        self.steps.iter().map(|t| t.label()).collect()
    }
}

/// A change prepared and judged, not yet written.
#[derive(Debug)]
pub struct Planned {
    /// The status before.
    pub from: Status,
    /// The status after.
    pub to: Status,
    /// The new text of the note.
    pub text: String,
    /// The new note.
    pub note: Note,
    /// The steps taken.
    pub steps: Vec<&'static Transition>,
}

/// The project's status.
pub fn status_of(l: &Loaded) -> Result<Status, WorkflowError> {
    let s = l.text("status").unwrap_or_default();
    Status::parse(&s).ok_or_else(|| {
        WorkflowError::Problem(format!(
            "{}: status `{s}` is not a project status ({})",
            l.path.display(),
            crate::vault::schema::PROJECT_STATUSES.join(", ")
        ))
    })
}

/// Prepares a move of the project `l` to `to`: applies `edits` (and `status: to`), then `body`
/// to the edited note, computes the facts (completed by `outside`) and finds the legal path.
pub fn plan(
    l: &Loaded,
    to: Status,
    edits: &[Edit],
    body: impl FnOnce(&Note) -> String,
    outside: impl FnOnce(&mut Facts),
) -> Result<Planned, WorkflowError> {
    let from = status_of(l)?;
    if from == to {
        return Err(WorkflowError::Problem(format!(
            "{}: the project is {to} already",
            l.path.display()
        )));
    }
    let mut all = edits.to_vec();
    all.push(Edit::Set("status".into(), Value::Str(to.as_str().into())));
    let edited = apply(&l.note.text, &all)
        .map_err(|source| WorkflowError::Edit {
            path: l.path.clone(),
            source,
        })?
        .unwrap_or_else(|| l.note.text.clone());
    let parse = |text: String| {
        Note::parse_text(text).map_err(|source| WorkflowError::Note {
            path: l.path.clone(),
            source,
        })
    };
    let note = parse(edited)?;
    let text = body(&note);
    let note = if text == note.text {
        note
    } else {
        parse(text)?
    };
    let mut facts = Facts::of_note(&note);
    outside(&mut facts);
    let steps = lifecycle::path(from, to, &facts).map_err(|refusal| WorkflowError::Refused {
        path: l.path.clone(),
        refusal,
    })?;
    Ok(Planned {
        from,
        to,
        text: note.text.clone(),
        note,
        steps,
    })
}

/// Writes a planned move (compare-and-swap against the bytes it was planned from).
pub fn write(l: &Loaded, p: &Planned) -> Result<(), WorkflowError> {
    crate::fsutil::write_if_unchanged(&l.path, Some(&l.bytes), p.text.as_bytes())?;
    Ok(())
}

/// Plans, writes and commits a move; `what` ends the commit summary (`expert accepted`).
pub fn transition(
    root: &Path,
    config: &Config,
    l: &Loaded,
    to: Status,
    edits: &[Edit],
    body: impl FnOnce(&Note) -> String,
    what: &str,
) -> Result<Moved, WorkflowError> {
    let p = plan(l, to, edits, body, |_| {})?;
    write(l, &p)?;
    let labels: Vec<String> = p.steps.iter().map(|t| t.label()).collect();
    let summary = format!("{}: {}→{} ({what})", l.name(), p.from, p.to);
    let commit = notes::commit(root, config, &summary, &labels)?;
    Ok(Moved {
        path: l.path.clone(),
        from: p.from,
        to: p.to,
        steps: p.steps,
        commit,
    })
}

/// Proposes `expert` (a note name) for the project: `expert`, `expert_status: proposed`,
/// `status: proposed` (from intake through matching).
pub fn assign(
    root: &Path,
    config: &Config,
    l: &Loaded,
    expert: &str,
) -> Result<Moved, WorkflowError> {
    let edits = [
        Edit::Set("expert".into(), link_to(expert)),
        Edit::Set("expert_status".into(), Value::Str("proposed".into())),
    ];
    transition(
        root,
        config,
        l,
        Status::Proposed,
        &edits,
        |n| n.text.clone(),
        &format!("{expert} proposed"),
    )
}

/// The expert accepts: `expert_status: accepted`, the `## Credentialing` task list, and
/// `status: credentialing` (through accepted).
pub fn accept(root: &Path, config: &Config, l: &Loaded) -> Result<Moved, WorkflowError> {
    let items = &config.workflow.credentialing;
    transition(
        root,
        config,
        l,
        Status::Credentialing,
        &[Edit::Set(
            "expert_status".into(),
            Value::Str("accepted".into()),
        )],
        |n| credentialing::add_section(n, items),
        "expert accepted",
    )
}

/// The expert declines: the expert is added to `declined_experts` (and left out of the ranking
/// from then on), `expert` is emptied, `expert_status: declined`, and the project goes back to
/// matching.
pub fn decline(root: &Path, config: &Config, l: &Loaded) -> Result<Moved, WorkflowError> {
    let Some(expert) = l.link("expert") else {
        return Err(WorkflowError::Problem(format!(
            "{}: no expert is assigned, so none can decline",
            l.path.display()
        )));
    };
    let edits = [
        Edit::Set("expert".into(), Value::Null),
        Edit::Set("expert_status".into(), Value::Str("declined".into())),
        Edit::Append("declined_experts".into(), link_to(&expert)),
    ];
    transition(
        root,
        config,
        l,
        Status::Matching,
        &edits,
        |n| n.text.clone(),
        &format!("{expert} declined"),
    )
}

/// Credentialing is complete: `status: active` (`start` set to today when empty).
pub fn activate(root: &Path, config: &Config, l: &Loaded) -> Result<Moved, WorkflowError> {
    let mut edits = Vec::new();
    if l.note.get("start").is_none_or(Value::is_empty) {
        edits.push(Edit::Set("start".into(), Value::Date(notes::today())));
    }
    transition(
        root,
        config,
        l,
        Status::Active,
        &edits,
        |n| n.text.clone(),
        "work starts",
    )
}

/// Work stops: `status: blocked` with `blocked_reason`.
pub fn block(
    root: &Path,
    config: &Config,
    l: &Loaded,
    reason: &str,
) -> Result<Moved, WorkflowError> {
    let edits = [Edit::Set(
        "blocked_reason".into(),
        if reason.trim().is_empty() {
            Value::Null
        } else {
            Value::Str(reason.trim().into())
        },
    )];
    transition(
        root,
        config,
        l,
        Status::Blocked,
        &edits,
        |n| n.text.clone(),
        &format!("blocked: {}", reason.trim()),
    )
}

/// Work resumes: `status: active`, `blocked_reason` emptied.
pub fn unblock(root: &Path, config: &Config, l: &Loaded) -> Result<Moved, WorkflowError> {
    transition(
        root,
        config,
        l,
        Status::Active,
        &[Edit::Set("blocked_reason".into(), Value::Null)],
        |n| n.text.clone(),
        "unblocked",
    )
}

/// Work is finished: `status: done` (`end` set to today when empty).
pub fn done(root: &Path, config: &Config, l: &Loaded) -> Result<Moved, WorkflowError> {
    let mut edits = Vec::new();
    if l.note.get("end").is_none_or(Value::is_empty) {
        edits.push(Edit::Set("end".into(), Value::Date(notes::today())));
    }
    transition(
        root,
        config,
        l,
        Status::Done,
        &edits,
        |n| n.text.clone(),
        "work finished",
    )
}

/// What [`activate_ready`] did.
#[derive(Debug, Default)]
pub struct AutoActivated {
    /// The projects made active.
    pub moved: Vec<Moved>,
    /// The projects whose guards held but whose move failed (path, why); they stay as they are.
    pub failed: Vec<(PathBuf, String)>,
}

/// `[workflow] auto_activate`: each `credentialing` project whose guards for `active` hold
/// (every credentialing item checked) is moved by [`activate`], one commit with its
/// `Ssot-Transition` trailer each. A project a guard still holds back is left as it is, silently.
pub fn activate_ready(root: &Path, config: &Config) -> AutoActivated {
    let index = crate::vault::index::Index::build(root, config);
    let mut ready: Vec<PathBuf> = index
        .entries
        .iter()
        .filter(|e| !e.template && e.note_type() == Some("project"))
        .filter(|e| {
            e.note.as_ref().ok().is_some_and(|n| {
                n.get("status")
                    .is_some_and(|v| v.to_string().trim() == Status::Credentialing.as_str())
            })
        })
        .map(|e| e.path.clone())
        .collect();
    ready.sort();
    let mut out = AutoActivated::default();
    for path in ready {
        let moved = notes::load(&path, Some("project")).and_then(|l| {
            // Held back by a guard (an item open): not ready, nothing to say.
            if plan(&l, Status::Active, &[], |n| n.text.clone(), |_| {}).is_err() {
                return Ok(None);
            }
            activate(root, config, &l).map(Some)
        });
        match moved {
            Ok(Some(m)) => out.moved.push(m),
            Ok(None) => {}
            Err(e) => out.failed.push((path, e.to_string())),
        }
    }
    out
}
