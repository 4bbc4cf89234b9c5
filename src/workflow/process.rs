//! The lifecycle as the sync engine sees it ([`crate::sync::Process`]): a project's status move
//! since the last sync is judged by the lifecycle's guards (a refused one is not carried to the
//! services), and an allowed one names, for the remote being synced, the actions of the
//! [`Effect`]s of the transitions it takes, in the table's order.

use std::path::Path;

use crate::config::Config;
use crate::connectors::ActionOp;
use crate::sync::process::Prerequisite;
use crate::sync::{Process, StatusMove, Verdict};
use crate::vault::editor::Edit;
use crate::vault::note::Note;
use crate::vault::value::Value;

use super::lifecycle::{Effect, Service, Status, Transition};

/// The consultancy's project lifecycle.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lifecycle;

/// The service an effect is carried by, as its remote is named in `ssot-vault.toml`.
pub fn remote_of(service: Service) -> &'static str {
    match service {
        Service::Jira => "jira",
        Service::Trello => "trello",
    }
}

/// The action an effect asks of its service; `None` for the effects that are a record's
/// creation, which the plan makes from the note itself (a record is created once its note is
/// in the remote's binding).
pub fn op_of(effect: Effect) -> Option<ActionOp> {
    match effect {
        Effect::CreateJiraIssue | Effect::CreateTrelloCard => None,
        Effect::CreateJiraTask => Some(ActionOp::CreateChild {
            kind: "task".into(),
            assignee: Some("expert".into()),
        }),
        Effect::SuspendInJira => Some(ActionOp::Transition {
            to: "on-hold".into(),
        }),
        Effect::ResumeInJira => Some(ActionOp::Transition {
            to: "in-progress".into(),
        }),
        Effect::GrantExpertJiraAccess => Some(ActionOp::Grant {
            link: "expert".into(),
        }),
        Effect::RevokeExpertJiraAccess => Some(ActionOp::Revoke {
            link: "expert".into(),
        }),
        Effect::AttachExport => Some(ActionOp::AttachExport),
        Effect::DeleteFromJira => Some(ActionOp::Delete),
    }
}

/// The lifecycle's steps of a move, judged on the note with what the move comes with; the
/// refusal's message when its guards refuse it. No step for a status outside the lifecycle (the
/// schema's to report) or a note that cannot be read (left alone by the engine already).
fn steps(
    root: &Path,
    config: &Config,
    mv: &StatusMove,
) -> Result<Vec<&'static Transition>, String> {
    let (Some(from), Some(to)) = (Status::parse(&mv.from), Status::parse(&mv.to)) else {
        return Ok(Vec::new());
    };
    if from == to {
        return Ok(Vec::new());
    }
    let Some(mut note) = crate::fsutil::read(&mv.path)
        .ok()
        .and_then(|b| Note::parse(&b).ok())
    else {
        return Ok(Vec::new());
    };
    if !mv.with.is_empty() || !mv.sections.is_empty() {
        let edits: Vec<Edit> = mv
            .with
            .iter()
            .map(|(k, v)| match v {
                Value::Null => Edit::Remove(k.clone()),
                v => Edit::Set(k.clone(), v.clone()),
            })
            .collect();
        let text = if edits.is_empty() {
            None
        } else {
            crate::vault::editor::apply(&note.text, &edits)
                .ok()
                .flatten()
        };
        let text = mv.sections.iter().fold(
            text.unwrap_or_else(|| note.text.clone()),
            |t, (kind, heading, items)| crate::vault::sections::write(&t, *kind, heading, items),
        );
        if let Ok(n) = Note::parse_text(text) {
            note = n;
        }
    }
    let stem = crate::vault::index::stem_of(&mv.rel);
    super::audit::judge(root, config, &note, stem, mv.open_tickets.clone(), from, to)
        .map_err(|r| r.message)
}

/// The actions for `remote` of the effects of a path's transitions, in the table's order. The
/// status moves of the service (suspend, resume) are carried out only when the path's last step
/// has one: the record's status is written, before the actions, for the status the path ends
/// in, and a move of a step on the way (credentialing → active's resume, when the project goes
/// on to done with no move of its own) would take the record away from it after that write.
fn ops_of_path(path: &[&'static Transition], remote: &str) -> Vec<ActionOp> {
    let ops_of = |t: &Transition| -> Vec<ActionOp> {
        t.effects
            .iter()
            .filter(|e| remote_of(e.service()) == remote)
            .filter_map(|e| op_of(*e))
            .collect()
    };
    let is_move = |op: &ActionOp| matches!(op, ActionOp::Transition { .. });
    let ends_with_move = path.last().is_some_and(|t| ops_of(t).iter().any(is_move));
    path.iter()
        .flat_map(|t| ops_of(t))
        .filter(|op| ends_with_move || !is_move(op))
        .collect()
}

impl Process for Lifecycle {
    fn pending_trailers(&self, root: &Path, config: &Config) -> Vec<(String, String)> {
        super::audit::illegal_trailers(root, config)
    }

    fn judge(&self, root: &Path, config: &Config, remote: &str, mv: &StatusMove) -> Verdict {
        match steps(root, config, mv) {
            Err(reason) => Verdict::Refused(reason),
            Ok(path) => Verdict::Allowed(ops_of_path(&path, remote)),
        }
    }

    fn transition_labels(&self, root: &Path, config: &Config, mv: &StatusMove) -> Vec<String> {
        steps(root, config, mv)
            .map(|path| path.iter().map(|t| t.label()).collect())
            .unwrap_or_default()
    }

    fn prerequisite(&self, config: &Config, remote: &str, op: &ActionOp) -> Option<Prerequisite> {
        let effect = Effect::ALL
            .into_iter()
            .find(|e| remote_of(e.service()) == remote && op_of(*e).as_ref() == Some(op))?;
        let first = effect.after()?;
        let by = remote_of(first.service());
        let enabled = crate::connectors::registry::enabled(config)
            .iter()
            .any(|s| s.name == by);
        let op = op_of(first)?;
        enabled.then(|| Prerequisite {
            remote: by.to_string(),
            op,
            what: match first {
                Effect::AttachExport => "the export on the Trello card".to_string(),
                other => format!("{} to {}", by, other.describe()),
            },
        })
    }

    fn status_after_messages(
        &self,
        note_type: &str,
        path: &Path,
        parties: &[String],
    ) -> Option<String> {
        if note_type != "ticket" {
            return None;
        }
        let bytes = crate::fsutil::read(path).ok()?;
        super::ticket::status_after_replies(&bytes, parties)
    }

    fn left_behind(&self, mv: &StatusMove) -> Vec<String> {
        // The reason belongs to the blocked state: a project leaving it leaves its reason.
        match (Status::parse(&mv.from), Status::parse(&mv.to)) {
            (Some(Status::Blocked), Some(to)) if to != Status::Blocked => {
                vec!["blocked_reason".into()]
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: &str = "---\ntype: project\nstatus: active\nclient: \"[[Piekarnia]]\"\nexpert: \"[[Anna Nowak]]\"\nexpert_status: accepted\nbudget: 1500\nestimate_hours: 20\ndeadline: 2026-12-01\npriority: high\n---\n\n## Credentialing\n\n- [x] NDA signed\n- [CHECK] Contract\n";

    fn moved(dir: &Path, body: &str, from: &str, to: &str) -> StatusMove {
        let path = dir.join("P.md");
        std::fs::write(&path, body).unwrap();
        StatusMove {
            ssot_id: "S1".into(),
            note_type: "project".into(),
            rel: "Projects/P.md".into(),
            path,
            from: from.into(),
            to: to.into(),
            open_tickets: Vec::new(),
            with: Vec::new(),
            sections: Vec::new(),
        }
    }

    #[test]
    fn an_allowed_move_names_the_actions_of_its_effects_for_that_remote_only() {
        let d = tempfile::tempdir().unwrap();
        let cfg = Config::default();
        let mv = moved(
            d.path(),
            &NOTE.replace("[CHECK]", "[x]"),
            "credentialing",
            "active",
        );
        assert_eq!(
            Lifecycle.judge(d.path(), &cfg, "jira", &mv),
            Verdict::Allowed(vec![
                ActionOp::Transition {
                    to: "in-progress".into()
                },
                ActionOp::Grant {
                    link: "expert".into()
                },
            ])
        );
        assert_eq!(
            Lifecycle.judge(d.path(), &cfg, "hubspot", &mv),
            Verdict::Allowed(Vec::new())
        );
        assert_eq!(
            Lifecycle.judge(d.path(), &cfg, "trello", &mv),
            Verdict::Allowed(Vec::new())
        );
    }

    /// A path through `active` to `done` (whose step moves no status in Jira) keeps the grant
    /// of the step on the way, not its resume: the issue's status is written for `done`.
    #[test]
    fn a_path_ending_without_a_status_move_carries_none_of_its_steps() {
        let d = tempfile::tempdir().unwrap();
        let cfg = Config::default();
        let note = NOTE.replace("[CHECK]", "[x]").replace("active", "done");
        let mv = moved(d.path(), &note, "credentialing", "done");
        assert_eq!(
            Lifecycle.judge(d.path(), &cfg, "jira", &mv),
            Verdict::Allowed(vec![ActionOp::Grant {
                link: "expert".into()
            }])
        );
        let mv = moved(
            d.path(),
            &NOTE.replace("[CHECK]", "[x]"),
            "accepted",
            "active",
        );
        assert_eq!(
            Lifecycle.judge(d.path(), &cfg, "jira", &mv),
            Verdict::Allowed(vec![
                ActionOp::Transition {
                    to: "on-hold".into()
                },
                ActionOp::Transition {
                    to: "in-progress".into()
                },
                ActionOp::Grant {
                    link: "expert".into()
                },
            ])
        );
    }

    #[test]
    fn an_allowed_moves_labels_are_the_lifecycles_steps() {
        let d = tempfile::tempdir().unwrap();
        let cfg = Config::default();
        let ticked = NOTE.replace("[CHECK]", "[x]");
        let mv = moved(d.path(), &ticked, "accepted", "active");
        assert_eq!(
            Lifecycle.transition_labels(d.path(), &cfg, &mv),
            ["accepted→credentialing", "credentialing→active"]
        );
        let mv = moved(d.path(), &ticked, "credentialing", "active");
        assert_eq!(
            Lifecycle.transition_labels(d.path(), &cfg, &mv),
            ["credentialing→active"]
        );
        // Refused: no label.
        let mv = moved(
            d.path(),
            &NOTE.replace("[CHECK]", "[ ]"),
            "accepted",
            "active",
        );
        assert!(Lifecycle.transition_labels(d.path(), &cfg, &mv).is_empty());
    }

    #[test]
    fn a_move_the_guards_refuse_is_refused_with_the_reason() {
        let d = tempfile::tempdir().unwrap();
        let mv = moved(
            d.path(),
            &NOTE.replace("[CHECK]", "[ ]"),
            "credentialing",
            "active",
        );
        match Lifecycle.judge(d.path(), &Config::default(), "jira", &mv) {
            Verdict::Refused(r) => assert!(r.contains("Contract"), "{r}"),
            v => panic!("allowed: {v:?}"),
        }
    }

    #[test]
    fn a_move_is_judged_with_the_properties_it_comes_with() {
        let d = tempfile::tempdir().unwrap();
        let cfg = Config::default();
        let note = NOTE.replace("[CHECK]", "[x]");
        let mut mv = moved(d.path(), &note, "active", "blocked");
        assert!(matches!(
            Lifecycle.judge(d.path(), &cfg, "trello", &mv),
            Verdict::Refused(r) if r.contains("blocked_reason")
        ));
        mv.with = vec![(
            "blocked_reason".into(),
            Value::Str("Waiting for access".into()),
        )];
        assert_eq!(
            Lifecycle.judge(d.path(), &cfg, "trello", &mv),
            Verdict::Allowed(Vec::new())
        );
        // Unblocked with the reason emptied by the same change.
        let blocked = note.replace("status: active", "status: blocked\nblocked_reason: Access");
        let mut mv = moved(d.path(), &blocked, "blocked", "active");
        assert!(matches!(
            Lifecycle.judge(d.path(), &cfg, "trello", &mv),
            Verdict::Refused(r) if r.contains("Access")
        ));
        mv.with = vec![("blocked_reason".into(), Value::Null)];
        assert_eq!(
            Lifecycle.judge(d.path(), &cfg, "trello", &mv),
            Verdict::Allowed(Vec::new())
        );
    }

    #[test]
    fn a_move_is_judged_with_the_body_sections_it_comes_with() {
        use crate::vault::sections::{SectionItem, SectionKind};
        let d = tempfile::tempdir().unwrap();
        let cfg = Config::default();
        let task = |text: &str, checked: bool| SectionItem {
            key: text.into(),
            text: text.into(),
            checked: Some(checked),
            stamp: None,
        };
        let list = |contract: bool| {
            (
                SectionKind::Tasks,
                "Credentialing".to_string(),
                vec![task("NDA signed", true), task("Contract", contract)],
            )
        };
        // The last task ticked in the same change as the move: allowed.
        let mut mv = moved(
            d.path(),
            &NOTE.replace("[CHECK]", "[ ]"),
            "credentialing",
            "active",
        );
        mv.sections = vec![list(true)];
        assert_eq!(
            Lifecycle.judge(d.path(), &cfg, "trello", &mv),
            Verdict::Allowed(Vec::new())
        );
        // A task unticked in the same change: refused.
        let mut mv = moved(
            d.path(),
            &NOTE.replace("[CHECK]", "[x]"),
            "credentialing",
            "active",
        );
        mv.sections = vec![list(false)];
        assert!(matches!(
            Lifecycle.judge(d.path(), &cfg, "trello", &mv),
            Verdict::Refused(r) if r.contains("Contract")
        ));
    }

    #[test]
    fn leaving_blocked_leaves_its_reason_behind() {
        let d = tempfile::tempdir().unwrap();
        let mv = |from: &str, to: &str| moved(d.path(), NOTE, from, to);
        assert_eq!(
            Lifecycle.left_behind(&mv("blocked", "active")),
            ["blocked_reason"]
        );
        assert_eq!(
            Lifecycle.left_behind(&mv("blocked", "done")),
            ["blocked_reason"]
        );
        assert!(Lifecycle.left_behind(&mv("active", "blocked")).is_empty());
        assert!(Lifecycle.left_behind(&mv("blocked", "blocked")).is_empty());
        assert!(
            Lifecycle
                .left_behind(&mv("credentialing", "active"))
                .is_empty()
        );
    }

    #[test]
    fn archiving_takes_the_access_back_before_the_delete() {
        let d = tempfile::tempdir().unwrap();
        let cfg = Config::default();
        let note = NOTE
            .replace("[CHECK]", "[x]")
            .replace("status: active", "status: done");
        let mv = moved(d.path(), &note, "done", "archived");
        let dir = d.path().join(&cfg.folders.archive).join("P");
        std::fs::create_dir_all(&dir).unwrap();
        for ext in ["csv", "xml"] {
            std::fs::write(dir.join(format!("P.{ext}")), "export").unwrap();
        }
        assert_eq!(
            Lifecycle.judge(d.path(), &cfg, "jira", &mv),
            Verdict::Allowed(vec![
                ActionOp::Revoke {
                    link: "expert".into()
                },
                ActionOp::Delete,
            ])
        );
        assert_eq!(
            Lifecycle.judge(d.path(), &cfg, "trello", &mv),
            Verdict::Allowed(vec![ActionOp::AttachExport])
        );
    }

    #[test]
    fn the_delete_waits_for_the_export_only_when_trello_is_synced() {
        let mut cfg = Config::default();
        assert_eq!(
            Lifecycle.prerequisite(&cfg, "jira", &ActionOp::Delete),
            None
        );
        let on = |v: bool| {
            let mut t = toml::Table::new();
            t.insert("enabled".into(), toml::Value::Boolean(v));
            t
        };
        cfg.remotes.insert("trello".into(), on(false));
        assert_eq!(
            Lifecycle.prerequisite(&cfg, "jira", &ActionOp::Delete),
            None
        );
        cfg.remotes.insert("trello".into(), on(true));
        assert_eq!(
            Lifecycle.prerequisite(&cfg, "jira", &ActionOp::Delete),
            Some(Prerequisite {
                remote: "trello".into(),
                op: ActionOp::AttachExport,
                what: "the export on the Trello card".into(),
            })
        );
        let revoke = ActionOp::Revoke {
            link: "expert".into(),
        };
        assert_eq!(Lifecycle.prerequisite(&cfg, "jira", &revoke), None);
        assert_eq!(
            Lifecycle.prerequisite(&cfg, "trello", &ActionOp::AttachExport),
            None
        );
        assert_eq!(
            Lifecycle.prerequisite(&cfg, "trello", &ActionOp::Delete),
            None
        );
    }

    #[test]
    fn statuses_outside_the_lifecycle_are_left_to_the_schema() {
        let d = tempfile::tempdir().unwrap();
        let mv = moved(d.path(), NOTE, "credentialing", "paused");
        assert_eq!(
            Lifecycle.judge(d.path(), &Config::default(), "jira", &mv),
            Verdict::Allowed(Vec::new())
        );
    }

    #[test]
    fn every_effect_has_a_remote_and_only_creations_have_no_action() {
        for e in Effect::ALL {
            assert!(["jira", "trello"].contains(&remote_of(e.service())));
            let creation = matches!(e, Effect::CreateJiraIssue | Effect::CreateTrelloCard);
            assert_eq!(op_of(e).is_none(), creation, "{e:?}");
        }
    }
}
