//! The project lifecycle as data: the statuses, the one transition table (from, to, the command
//! that makes it, its guards and the named service effects it triggers), the facts guards are
//! judged on, and the search for a legal path between two statuses.
//!
//! Everything that moves a project — the commands, `check` judging hand edits against the last
//! commit, and later the sync engine — asks [`path`]; connectors subscribe to [`Effect`]s of the
//! transitions instead of re-deriving them from status changes.

use std::collections::VecDeque;
use std::fmt;

use serde::Serialize;

use crate::vault::body::Body;
use crate::vault::note::Note;
use crate::vault::value::Value;

/// A project's status (`status:` of a project note), in lifecycle order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Created from an intake, not yet looking for an expert.
    Intake,
    /// Looking for an expert (`ssot-vault match`).
    Matching,
    /// An expert was proposed and has not answered yet.
    Proposed,
    /// The expert accepted.
    Accepted,
    /// Contracts, NDA, invoicing and access are being arranged; the services show it suspended.
    Credentialing,
    /// Work is going on.
    Active,
    /// Work is stopped for a recorded `blocked_reason`.
    Blocked,
    /// Work is finished.
    Done,
    /// Exported to `Archive/` and moved there.
    Archived,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 9] = [
        Status::Intake,
        Status::Matching,
        Status::Proposed,
        Status::Accepted,
        Status::Credentialing,
        Status::Active,
        Status::Blocked,
        Status::Done,
        Status::Archived,
    ];

    /// The word written in the note.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Intake => "intake",
            Status::Matching => "matching",
            Status::Proposed => "proposed",
            Status::Accepted => "accepted",
            Status::Credentialing => "credentialing",
            Status::Active => "active",
            Status::Blocked => "blocked",
            Status::Done => "done",
            Status::Archived => "archived",
        }
    }

    /// The status written as `s` (exact, as the schema's enum).
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s.trim())
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A service an effect is carried to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// Jira (the project's issue and the expert's task).
    Jira,
    /// Trello (the project's card).
    Trello,
}

/// A named action on a service that a transition triggers. The sync engine journals and retries
/// each one on its own; connectors subscribe to the ones of their service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Create the project's Jira issue.
    CreateJiraIssue,
    /// Create the project's Trello card.
    CreateTrelloCard,
    /// Create the expert's Jira task under the project's issue.
    CreateJiraTask,
    /// Show the project as suspended in Jira.
    SuspendInJira,
    /// Take the project out of suspension in Jira.
    ResumeInJira,
    /// Give the expert's Jira account access to the project's issue.
    GrantExpertJiraAccess,
    /// Take the expert's Jira access back (the issue's assignee and the project role).
    RevokeExpertJiraAccess,
    /// Attach the archive export to the project's Trello card.
    AttachExport,
    /// Delete the project's issue from Jira (after the export is attached).
    DeleteFromJira,
}

impl Effect {
    /// Every effect.
    pub const ALL: [Effect; 9] = [
        Effect::CreateJiraIssue,
        Effect::CreateTrelloCard,
        Effect::CreateJiraTask,
        Effect::SuspendInJira,
        Effect::ResumeInJira,
        Effect::GrantExpertJiraAccess,
        Effect::RevokeExpertJiraAccess,
        Effect::AttachExport,
        Effect::DeleteFromJira,
    ];

    /// The service that carries it.
    pub fn service(self) -> Service {
        match self {
            Effect::CreateTrelloCard | Effect::AttachExport => Service::Trello,
            _ => Service::Jira,
        }
    }

    /// A stable name, `service.action`, for journals and subscriptions.
    pub fn name(self) -> &'static str {
        match self {
            Effect::CreateJiraIssue => "jira.create_issue",
            Effect::CreateTrelloCard => "trello.create_card",
            Effect::CreateJiraTask => "jira.create_task",
            Effect::SuspendInJira => "jira.suspend",
            Effect::ResumeInJira => "jira.resume",
            Effect::GrantExpertJiraAccess => "jira.grant_expert_access",
            Effect::RevokeExpertJiraAccess => "jira.revoke_expert_access",
            Effect::AttachExport => "trello.attach_export",
            Effect::DeleteFromJira => "jira.delete_issue",
        }
    }

    /// What it does, for people.
    pub fn describe(self) -> &'static str {
        match self {
            Effect::CreateJiraIssue => "create the Jira issue",
            Effect::CreateTrelloCard => "create the Trello card",
            Effect::CreateJiraTask => "create the expert's Jira task",
            Effect::SuspendInJira => "suspend in Jira",
            Effect::ResumeInJira => "resume in Jira",
            Effect::GrantExpertJiraAccess => "give the expert access in Jira",
            Effect::RevokeExpertJiraAccess => "take the expert's access in Jira back",
            Effect::AttachExport => "attach the export to the Trello card",
            Effect::DeleteFromJira => "delete the issue from Jira",
        }
    }

    /// The effect of the same move that must be carried out first, by its own service, when
    /// that service is synced: the issue is deleted from Jira only once the export is attached
    /// to the Trello card and read back.
    pub fn after(self) -> Option<Effect> {
        match self {
            Effect::DeleteFromJira => Some(Effect::AttachExport),
            _ => None,
        }
    }
}

/// A condition a transition needs, judged on the project note after the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Guard {
    /// `client` links a client.
    ClientLinked,
    /// `expert` links an expert.
    ExpertAssigned,
    /// `expert_status` is `proposed` (or already `accepted`).
    ExpertProposed,
    /// The assigned expert is not in `declined_experts`.
    ExpertNotDeclined,
    /// `expert_status` is `accepted`.
    ExpertAccepted,
    /// The expert is gone: `expert` is empty or `expert_status` is `declined`.
    ExpertReleased,
    /// The body has a `## Credentialing` task list.
    CredentialingListed,
    /// Every task under `## Credentialing` is checked.
    CredentialingComplete,
    /// `budget`, `estimate_hours`, `deadline` and `priority` are filled.
    MetricsFilled,
    /// `blocked_reason` is filled.
    BlockedReason,
    /// `blocked_reason` is empty.
    BlockedReasonCleared,
    /// No ticket of the project is open.
    TicketsClosed,
    /// The archive export exists (`Archive/<project>/<project>.csv` and `.xml`).
    Exported,
}

impl Guard {
    /// What the guard asks for, as in `active requires <this>`.
    pub fn requirement(self) -> &'static str {
        match self {
            Guard::ClientLinked => "a client",
            Guard::ExpertAssigned => "an assigned expert",
            Guard::ExpertProposed => "the expert to be proposed",
            Guard::ExpertNotDeclined => "an expert who has not declined",
            Guard::ExpertAccepted => "the expert's acceptance",
            Guard::ExpertReleased => "the expert to have declined",
            Guard::CredentialingListed => "a `## Credentialing` task list",
            Guard::CredentialingComplete => "every credentialing task",
            Guard::MetricsFilled => "budget, estimate_hours, deadline and priority",
            Guard::BlockedReason => "a blocked_reason",
            Guard::BlockedReasonCleared => "an empty blocked_reason",
            Guard::TicketsClosed => "every ticket closed",
            Guard::Exported => "the archive export",
        }
    }

    /// `Ok` when the guard holds on `facts`, else what fails (`NDA signed is open`).
    pub fn judge(self, f: &Facts) -> Result<(), String> {
        let fail = |m: String| Err(m);
        match self {
            Guard::ClientLinked if f.client.is_none() => fail("client is empty".into()),
            Guard::ExpertAssigned if f.expert.is_none() => fail("expert is empty".into()),
            Guard::ExpertProposed
                if !matches!(f.expert_status.as_deref(), Some("proposed" | "accepted")) =>
            {
                fail(format!("expert_status is {}", shown(&f.expert_status)))
            }
            Guard::ExpertNotDeclined => match &f.expert {
                Some(e)
                    if f.declined.iter().any(|d| {
                        crate::vault::index::name_key(d) == crate::vault::index::name_key(e)
                    }) =>
                {
                    fail(format!("{e} declined this project before"))
                }
                _ => Ok(()),
            },
            Guard::ExpertAccepted if f.expert_status.as_deref() != Some("accepted") => {
                fail(format!("expert_status is {}", shown(&f.expert_status)))
            }
            Guard::ExpertReleased
                if f.expert.is_some() && f.expert_status.as_deref() != Some("declined") =>
            {
                fail(format!(
                    "expert_status is {} for {}",
                    shown(&f.expert_status),
                    f.expert.as_deref().unwrap_or_default()
                ))
            }
            Guard::CredentialingListed if f.credentialing.is_none() => {
                fail("the note has no `## Credentialing` task list".into())
            }
            Guard::CredentialingComplete => match &f.credentialing {
                None => fail("the note has no `## Credentialing` task list".into()),
                Some(tasks) => {
                    let open: Vec<&str> = tasks
                        .iter()
                        .filter(|(_, done)| !done)
                        .map(|(t, _)| t.as_str())
                        .collect();
                    match open.len() {
                        0 => Ok(()),
                        1 => fail(format!("{} is open", open[0])),
                        _ => fail(format!("{} are open", open.join(", "))),
                    }
                }
            },
            Guard::MetricsFilled if !f.missing_metrics.is_empty() => {
                let m = f.missing_metrics.join(", ");
                if f.missing_metrics.len() == 1 {
                    fail(format!("{m} is empty"))
                } else {
                    fail(format!("{m} are empty"))
                }
            }
            Guard::BlockedReason if f.blocked_reason.is_none() => {
                fail("blocked_reason is empty".into())
            }
            Guard::BlockedReasonCleared if f.blocked_reason.is_some() => fail(format!(
                "blocked_reason is still `{}`",
                f.blocked_reason.as_deref().unwrap_or_default()
            )),
            Guard::TicketsClosed if !f.open_tickets.is_empty() => {
                let t = f.open_tickets.join(", ");
                if f.open_tickets.len() == 1 {
                    fail(format!("ticket {t} is not closed"))
                } else {
                    fail(format!("tickets {t} are not closed"))
                }
            }
            Guard::Exported if !f.exported => {
                fail("there is no export in the archive folder (run `ssot-vault archive`)".into())
            }
            _ => Ok(()),
        }
    }
}

fn shown(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("empty")
}

/// One allowed change of status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Transition {
    /// The status before.
    pub from: Status,
    /// The status after.
    pub to: Status,
    /// The command that makes it (hand edits in Obsidian are judged by the same guards).
    pub command: &'static str,
    /// What must hold on the note after the change.
    pub guards: &'static [Guard],
    /// What the services must do once it is committed.
    pub effects: &'static [Effect],
}

impl Transition {
    /// `from→to`, the value of the `Ssot-Transition` trailer.
    pub fn label(&self) -> String {
        format!("{}→{}", self.from, self.to)
    }

    /// The command line that makes it for the project `name`:
    /// `ssot-vault match "X" --assign EXPERT`, `ssot-vault project activate "X"`.
    pub fn command_line(&self, name: &str) -> String {
        let (cmd, flag) = match self.command.split_once(" --") {
            Some((cmd, flag)) => (cmd, Some(flag)),
            None => (self.command, None),
        };
        let mut line = format!("ssot-vault {cmd} \"{name}\"");
        if let Some(flag) = flag {
            let value = match flag {
                "assign" => "EXPERT",
                "reason" => "TEXT",
                _ => "VALUE",
            };
            line.push_str(&format!(" --{flag} {value}"));
        }
        line
    }
}

/// The transition table: the only place the lifecycle is written down.
pub const TRANSITIONS: &[Transition] = &[
    Transition {
        from: Status::Intake,
        to: Status::Matching,
        command: "match --assign",
        guards: &[Guard::ClientLinked],
        effects: &[Effect::CreateJiraIssue],
    },
    Transition {
        from: Status::Matching,
        to: Status::Proposed,
        command: "match --assign",
        guards: &[
            Guard::ExpertAssigned,
            Guard::ExpertProposed,
            Guard::ExpertNotDeclined,
        ],
        effects: &[],
    },
    Transition {
        from: Status::Proposed,
        to: Status::Matching,
        command: "project decline",
        guards: &[Guard::ExpertReleased],
        effects: &[],
    },
    Transition {
        from: Status::Proposed,
        to: Status::Accepted,
        command: "project accept",
        guards: &[Guard::ExpertAssigned, Guard::ExpertAccepted],
        effects: &[Effect::CreateTrelloCard, Effect::CreateJiraTask],
    },
    Transition {
        from: Status::Accepted,
        to: Status::Credentialing,
        command: "project accept",
        guards: &[Guard::CredentialingListed],
        effects: &[Effect::SuspendInJira],
    },
    Transition {
        from: Status::Credentialing,
        to: Status::Matching,
        command: "project decline",
        guards: &[Guard::ExpertReleased],
        effects: &[Effect::ResumeInJira],
    },
    Transition {
        from: Status::Credentialing,
        to: Status::Active,
        command: "project activate",
        guards: &[
            Guard::ExpertAssigned,
            Guard::ExpertAccepted,
            Guard::CredentialingComplete,
            Guard::MetricsFilled,
        ],
        effects: &[Effect::ResumeInJira, Effect::GrantExpertJiraAccess],
    },
    Transition {
        from: Status::Active,
        to: Status::Blocked,
        command: "project block --reason",
        guards: &[Guard::BlockedReason],
        effects: &[Effect::SuspendInJira],
    },
    Transition {
        from: Status::Blocked,
        to: Status::Active,
        command: "project unblock",
        guards: &[Guard::BlockedReasonCleared],
        effects: &[Effect::ResumeInJira],
    },
    Transition {
        from: Status::Active,
        to: Status::Done,
        command: "project done",
        guards: &[Guard::BlockedReasonCleared],
        effects: &[],
    },
    Transition {
        from: Status::Done,
        to: Status::Archived,
        command: "archive",
        guards: &[Guard::TicketsClosed, Guard::Exported],
        effects: &[
            Effect::AttachExport,
            Effect::RevokeExpertJiraAccess,
            Effect::DeleteFromJira,
        ],
    },
];

/// What the guards look at: a project note's state after a change, plus what lies outside the
/// note (its tickets, the export) as the caller found it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The client link's target.
    pub client: Option<String>,
    /// The expert link's target.
    pub expert: Option<String>,
    /// `expert_status`.
    pub expert_status: Option<String>,
    /// Targets of `declined_experts`.
    pub declined: Vec<String>,
    /// The `## Credentialing` tasks (text, checked), `None` without such a section.
    pub credentialing: Option<Vec<(String, bool)>>,
    /// Metrics (`budget`, `estimate_hours`, `deadline`, `priority`) that are empty.
    pub missing_metrics: Vec<&'static str>,
    /// `blocked_reason`, when filled.
    pub blocked_reason: Option<String>,
    /// Names of the project's tickets that are not closed.
    pub open_tickets: Vec<String>,
    /// The archive export exists.
    pub exported: bool,
}

/// The metrics a project needs before it is active.
pub const METRICS: [&str; 4] = ["budget", "estimate_hours", "deadline", "priority"];

impl Facts {
    /// The facts of a project note (tickets and export are left for the caller).
    pub fn of_note(note: &Note) -> Facts {
        let body = crate::vault::body::parse(&note.text, note.layout.body_start);
        Facts::of(note, &body)
    }

    /// The facts of a project note whose body is already parsed.
    pub fn of(note: &Note, body: &Body) -> Facts {
        let text = |k: &str| {
            note.get(k)
                .filter(|v| !v.is_empty())
                .map(|v| v.to_string().trim().to_string())
        };
        let link = |v: &Value| match v.as_link() {
            Some(l) => l.target.to_string(),
            None => v.to_string(),
        };
        let has_section = body
            .headings
            .iter()
            .any(|h| h.text.eq_ignore_ascii_case(super::credentialing::HEADING));
        let credentialing = has_section.then(|| {
            body.tasks_under(super::credentialing::HEADING)
                .map(|t| (t.text.clone(), t.checked))
                .collect()
        });
        Facts {
            client: note.get("client").filter(|v| !v.is_empty()).map(link),
            expert: note.get("expert").filter(|v| !v.is_empty()).map(link),
            expert_status: text("expert_status"),
            declined: note
                .get("declined_experts")
                .map(|v| {
                    v.items()
                        .into_iter()
                        .filter(|i| !i.is_empty())
                        .map(link)
                        .collect()
                })
                .unwrap_or_default(),
            credentialing,
            missing_metrics: METRICS
                .into_iter()
                .filter(|k| note.get(k).is_none_or(Value::is_empty))
                .collect(),
            blocked_reason: text("blocked_reason"),
            open_tickets: Vec::new(),
            exported: false,
        }
    }
}

/// Why a change of status is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    /// The status before.
    pub from: Status,
    /// The status asked for.
    pub to: Status,
    /// The guard that failed, when a transition exists but does not hold.
    pub guard: Option<Guard>,
    /// The reason, e.g. `active requires every credentialing task: NDA signed is open`.
    pub message: String,
}

/// The transitions out of `from`.
pub fn from(status: Status) -> impl Iterator<Item = &'static Transition> {
    TRANSITIONS.iter().filter(move |t| t.from == status)
}

/// The transition `from→to` of the table, if there is one.
pub fn find(from: Status, to: Status) -> Option<&'static Transition> {
    TRANSITIONS.iter().find(|t| t.from == from && t.to == to)
}

/// The commands that move a project named `name` from `from` to `to`, one per step of the
/// table's shortest way, guards aside (`ssot-vault project activate "X"`), each command named
/// once; `None` when the table has no way.
pub fn way(from: Status, to: Status, name: &str) -> Option<Vec<String>> {
    let steps = search(from, to, |_| true)?;
    let mut out: Vec<String> = Vec::new();
    for t in steps {
        let line = t.command_line(name);
        if !out.contains(&line) {
            out.push(line);
        }
    }
    Some(out)
}

/// The shortest legal way from `from` to `to` given the facts after the change: every step's
/// guards must hold. Several steps happen when a command makes them at once (`project accept`:
/// proposed→accepted→credentialing) or a hand edit skipped a commit in between. An empty path
/// means no change. The refusal names the first guard that fails on the way.
pub fn path(from: Status, to: Status, facts: &Facts) -> Result<Vec<&'static Transition>, Refusal> {
    if from == to {
        return Ok(Vec::new());
    }
    if let Some(p) = search(from, to, |t| {
        t.guards.iter().all(|g| g.judge(facts).is_ok())
    }) {
        return Ok(p);
    }
    let refuse = |guard: Option<Guard>, message: String| Refusal {
        from,
        to,
        guard,
        message,
    };
    // A way exists, but a guard fails on it: name the first one.
    if let Some(p) = search(from, to, |_| true) {
        let via = if p.len() > 1 {
            let stops: Vec<&str> = p[..p.len() - 1].iter().map(|t| t.to.as_str()).collect();
            format!("{from}→{to} goes through {}: ", stops.join(", "))
        } else {
            String::new()
        };
        for t in &p {
            for g in t.guards {
                if let Err(detail) = g.judge(facts) {
                    return Err(refuse(
                        Some(*g),
                        format!("{via}{} requires {}: {detail}", t.to, g.requirement()),
                    ));
                }
            }
        }
    }
    let next: Vec<String> = self::from(from).map(|t| t.to.to_string()).collect();
    let options = if next.is_empty() {
        "it is final".to_string()
    } else {
        format!("from {from} a project goes to {}", next.join(" or "))
    };
    Err(refuse(
        None,
        format!("no transition from {from} to {to}: {options}"),
    ))
}

fn search(
    from: Status,
    to: Status,
    allowed: impl Fn(&Transition) -> bool,
) -> Option<Vec<&'static Transition>> {
    let mut prev: Vec<Option<&'static Transition>> = vec![None; Status::ALL.len()];
    let mut seen = [false; 9];
    seen[from as usize] = true;
    let mut queue = VecDeque::from([from]);
    while let Some(s) = queue.pop_front() {
        if s == to {
            let mut out = Vec::new();
            let mut cur = to;
            while let Some(t) = prev[cur as usize] {
                out.push(t);
                cur = t.from;
            }
            out.reverse();
            return Some(out);
        }
        for t in self::from(s).filter(|t| allowed(t)) {
            if !seen[t.to as usize] {
                seen[t.to as usize] = true;
                prev[t.to as usize] = Some(t);
                queue.push_back(t.to);
            }
        }
    }
    None
}

/// The transition table as a markdown table (the README's copy is checked against it).
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| from | to | command | guards (on the note after the change) | service effects |\n|---|---|---|---|---|\n",
    );
    for t in TRANSITIONS {
        let guards: Vec<&str> = t.guards.iter().map(|g| g.requirement()).collect();
        let effects: Vec<String> = t
            .effects
            .iter()
            .map(|e| format!("{} (`{}`)", e.describe(), e.name()))
            .collect();
        out.push_str(&format!(
            "| {} | {} | `{}` | {} | {} |\n",
            t.from,
            t.to,
            t.command,
            if guards.is_empty() {
                "—".into()
            } else {
                guards.join("; ")
            },
            if effects.is_empty() {
                "—".into()
            } else {
                effects.join("; ")
            }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready() -> Facts {
        Facts {
            client: Some("Acme".into()),
            expert: Some("Anna".into()),
            expert_status: Some("accepted".into()),
            credentialing: Some(vec![("NDA".into(), true)]),
            ..Facts::default()
        }
    }

    #[test]
    fn statuses_match_the_schema() {
        let ours: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(ours, crate::vault::schema::PROJECT_STATUSES);
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn every_status_but_archived_has_a_way_out_and_every_one_a_way_in() {
        for s in Status::ALL {
            if s != Status::Archived {
                assert!(from(s).next().is_some(), "{s}");
            }
            if s != Status::Intake {
                assert!(TRANSITIONS.iter().any(|t| t.to == s), "{s}");
            }
        }
    }

    #[test]
    fn active_needs_credentialing() {
        let mut f = ready();
        f.credentialing = Some(vec![("Contract".into(), true), ("NDA".into(), false)]);
        let e = path(Status::Credentialing, Status::Active, &f).unwrap_err();
        assert_eq!(
            e.message,
            "active requires every credentialing task: NDA is open"
        );
        assert_eq!(e.guard, Some(Guard::CredentialingComplete));
        f.credentialing = Some(vec![("NDA".into(), true)]);
        let p = path(Status::Credentialing, Status::Active, &f).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].label(), "credentialing→active");
    }

    #[test]
    fn multi_step_paths_and_refusals() {
        let f = ready();
        let p = path(Status::Proposed, Status::Credentialing, &f).unwrap();
        let labels: Vec<String> = p.iter().map(|t| t.label()).collect();
        assert_eq!(labels, ["proposed→accepted", "accepted→credentialing"]);
        let e = path(Status::Archived, Status::Active, &f).unwrap_err();
        assert_eq!(
            e.message,
            "no transition from archived to active: it is final"
        );
        let e = path(Status::Done, Status::Active, &f).unwrap_err();
        assert!(
            e.message.starts_with("no transition from done to active"),
            "{}",
            e.message
        );
        let mut f = ready();
        f.blocked_reason = Some("waiting".into());
        let e = path(Status::Blocked, Status::Done, &f).unwrap_err();
        assert_eq!(
            e.message,
            "blocked→done goes through active: active requires an empty blocked_reason: blocked_reason is still `waiting`"
        );
    }

    #[test]
    fn the_commands_of_a_way() {
        let name = "Shop";
        assert_eq!(
            way(Status::Matching, Status::Active, name).unwrap(),
            [
                "ssot-vault match \"Shop\" --assign EXPERT",
                "ssot-vault project accept \"Shop\"",
                "ssot-vault project activate \"Shop\"",
            ]
        );
        assert_eq!(
            way(Status::Active, Status::Blocked, name).unwrap(),
            ["ssot-vault project block \"Shop\" --reason TEXT"]
        );
        assert_eq!(way(Status::Done, Status::Active, name), None);
        assert_eq!(way(Status::Done, Status::Done, name), Some(Vec::new()));
    }

    #[test]
    fn table_renders_every_transition() {
        let t = markdown_table();
        assert_eq!(t.lines().count(), TRANSITIONS.len() + 2);
        assert!(t.contains("| credentialing | active | `project activate` |"));
    }
}
