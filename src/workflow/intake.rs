//! Intake acceptance: an intake note (`type: intake`, `status: new`) becomes a project. The
//! client is found by e-mail (same e-mail, case-insensitive, is the same client) or made from the
//! intake's contact data; the project note is made with `status: intake`, linked to the client
//! and the intake; the intake is marked accepted and linked to both. One audit commit.

use std::path::{Path, PathBuf};

use super::WorkflowError;
use super::notes::{self, link_to};
use crate::config::Config;
use crate::history::CommitInfo;
use crate::vault::editor::Edit;
use crate::vault::index::Index;
use crate::vault::value::Value;

/// The variable naming a step at which the process stops dead (`SIGABRT`: no unwinding, no
/// cleanup, as a `kill -9` there would), for the crash tests: `client` (the client note made),
/// `project` (the project note made, the intake not yet marked), `intake` (the sync's intake
/// notes committed, none accepted yet), `helpdesk` (a helpdesk form message written, before the
/// run's commit).
pub const STOP_AT_ENV: &str = "SSOT_TEST_STOP_AT";

/// With [`STOP_AT_ENV`], the file this variable names is made when the step is reached, and
/// the process waits there (up to a minute) to be killed (`kill -9`) instead of stopping itself.
pub const STOP_MARK_ENV: &str = "SSOT_TEST_STOP_MARK";

/// Stops the process here when [`STOP_AT_ENV`] names `step` (or waits to be killed: see
/// [`STOP_MARK_ENV`]).
pub fn stop_point(step: &str) {
    if std::env::var_os(STOP_AT_ENV).is_none_or(|v| v != step) {
        return;
    }
    if let Some(mark) = std::env::var_os(STOP_MARK_ENV)
        && std::fs::write(&mark, step).is_ok()
    {
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
    std::process::abort();
}

/// What accepting an intake did.
#[derive(Debug)]
pub struct Accepted {
    /// The client note.
    pub client: PathBuf,
    /// True when the client note was made now (false: found by e-mail).
    pub client_created: bool,
    /// The new project note.
    pub project: PathBuf,
    /// The audit commit.
    pub commit: Option<CommitInfo>,
}

/// Accepts the intake note at `path`.
pub fn accept(root: &Path, config: &Config, path: &Path) -> Result<Accepted, WorkflowError> {
    let intake = notes::load(path, Some("intake"))?;
    let status = intake.text("status").unwrap_or_default();
    if status != "new" {
        return Err(WorkflowError::Problem(format!(
            "{}: the intake is {} already; only a new intake can be accepted",
            path.display(),
            if status.is_empty() {
                "without status"
            } else {
                &status
            }
        )));
    }
    let Some(email) = intake.text("email") else {
        return Err(WorkflowError::Problem(format!(
            "{}: the intake has no email: the client cannot be found or made without it",
            path.display()
        )));
    };
    let contact = intake.text("contact_name");
    let company = intake.text("company");

    // The same e-mail is the same client.
    let index = Index::build(root, config);
    let found = index.entries.iter().find(|e| {
        !e.template
            && e.note_type() == Some("client")
            && e.note
                .as_ref()
                .ok()
                .and_then(|n| n.get("email"))
                .is_some_and(|v| v.to_string().trim().eq_ignore_ascii_case(email.trim()))
    });
    let (client_path, client_created) = match found {
        Some(e) => (e.path.clone(), false),
        None => {
            let name = company
                .clone()
                .or_else(|| contact.clone())
                .unwrap_or_else(|| email.clone());
            let mut edits = vec![
                Edit::Set(
                    "name".into(),
                    Value::Str(contact.clone().unwrap_or_else(|| name.clone())),
                ),
                Edit::Set("email".into(), Value::Str(email.clone())),
                Edit::Set("status".into(), Value::Str("lead".into())),
            ];
            for (from, to) in [
                ("phone", "phone"),
                ("company", "company"),
                ("tax_id", "tax_id"),
                ("language", "language"),
            ] {
                if let Some(v) = intake.note.get(from).filter(|v| !v.is_empty()) {
                    edits.push(Edit::Set(to.into(), v.clone()));
                }
            }
            let p = notes::create(root, config, "client", &name, &edits, None)?;
            stop_point("client");
            (p, true)
        }
    };
    let client_name = notes::stem(&client_path);

    // A project made from this intake by an earlier accept cut short (killed before the intake
    // was marked) is the project: never a second one.
    let made = index.entries.iter().find(|e| {
        !e.template
            && e.note_type() == Some("project")
            && e.note
                .as_ref()
                .ok()
                .and_then(|n| n.get("intake"))
                .and_then(|v| v.as_link().map(|l| l.target.to_string()))
                .is_some_and(|t| {
                    crate::vault::index::name_key(&t)
                        == crate::vault::index::name_key(&intake.name())
                })
    });
    if let Some(e) = made {
        return finish(
            root,
            config,
            path,
            &intake,
            client_path,
            client_created,
            e.path.clone(),
        );
    }

    let need = intake.text("need");
    let mut edits = vec![
        Edit::Set("client".into(), link_to(&client_name)),
        Edit::Set("status".into(), Value::Str("intake".into())),
        Edit::Set("intake".into(), link_to(&intake.name())),
    ];
    if let Some(n) = &need {
        edits.push(Edit::Set("summary".into(), Value::Str(n.clone())));
    }
    for key in ["skills_required", "budget", "deadline", "language"] {
        if let Some(v) = intake.note.get(key).filter(|v| !v.is_empty()) {
            edits.push(Edit::Set(key.into(), v.clone()));
        }
    }
    let body = format!(
        "## Scope\n\n{}\n\n## Deliverables\n\n## Notes\n\nFrom the intake [[{}]].\n",
        need.as_deref().unwrap_or(""),
        intake.name()
    );
    let wanted = project_name(need.as_deref(), &intake.name());
    let taken = |n: &str| {
        let key = crate::vault::index::name_key(n);
        index
            .entries
            .iter()
            .any(|e| crate::vault::index::name_key(e.stem()) == key)
    };
    let mut name = wanted.clone();
    let mut n = 2;
    while taken(&name) {
        name = format!("{wanted} {n}");
        n += 1;
    }
    let project_path = notes::create(root, config, "project", &name, &edits, Some(&body))?;
    finish(
        root,
        config,
        path,
        &intake,
        client_path,
        client_created,
        project_path,
    )
}

/// Marks the intake accepted, linked to its client and project, and commits.
fn finish(
    root: &Path,
    config: &Config,
    path: &Path,
    intake: &notes::Loaded,
    client_path: PathBuf,
    client_created: bool,
    project_path: PathBuf,
) -> Result<Accepted, WorkflowError> {
    stop_point("project");
    let client_name = notes::stem(&client_path);
    let project_name = notes::stem(&project_path);

    crate::vault::edit_file(
        path,
        &[
            Edit::Set("status".into(), Value::Str("accepted".into())),
            Edit::Set("client".into(), link_to(&client_name)),
            Edit::Set("project".into(), link_to(&project_name)),
        ],
    )
    .map_err(|e| WorkflowError::Problem(e.to_string()))?;

    let summary = format!(
        "Accept intake {}: project {project_name}, {} client {client_name}",
        intake.name(),
        if client_created { "new" } else { "existing" }
    );
    let commit = notes::commit(root, config, &summary, &[])?;
    Ok(Accepted {
        client: client_path,
        client_created,
        project: project_path,
        commit,
    })
}

/// What [`accept_new`] did: the intakes accepted, and those that could not be (path, why).
#[derive(Debug, Default)]
pub struct AutoAccepted {
    /// The intakes accepted, with what each accept did.
    pub accepted: Vec<(PathBuf, Accepted)>,
    /// The intakes left `new`: (path, why); tried again by the next sync.
    pub failed: Vec<(PathBuf, String)>,
}

/// `[intake] auto_accept`: accepts every intake from the form still `status: new` (it has its
/// response id `id_key`), each through [`accept`] with its own commit. An intake whose accept
/// fails stays `new` and the others go on; a run cut short leaves intakes `new` that the next
/// call accepts (an accept cut short finds the client it made by e-mail and the project by its
/// `intake` link, so nothing is made twice).
pub fn accept_new(root: &Path, config: &Config, id_key: &str) -> AutoAccepted {
    let index = Index::build(root, config);
    let mut pending: Vec<PathBuf> = index
        .entries
        .iter()
        .filter(|e| !e.template && e.note_type() == Some("intake"))
        .filter(|e| {
            e.note.as_ref().ok().is_some_and(|n| {
                n.get("status")
                    .is_some_and(|v| v.to_string().trim() == "new")
                    && n.get(id_key).is_some_and(|v| !v.is_empty())
            })
        })
        .map(|e| e.path.clone())
        .collect();
    pending.sort();
    let mut out = AutoAccepted::default();
    for path in pending {
        match accept(root, config, &path) {
            Ok(a) => out.accepted.push((path, a)),
            Err(e) => out.failed.push((path, e.to_string())),
        }
    }
    out
}

/// The project's name: the need's first phrase (at most about 60 characters, cut at a word), else
/// `<intake> project`. Names must differ from the intake's, or links by name would be ambiguous.
pub fn project_name(need: Option<&str>, intake: &str) -> String {
    let first = need
        .map(|n| {
            n.split(['\n', '.', ';', ',', '(', ':'])
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .unwrap_or_default();
    let mut out = String::new();
    for w in first.split_whitespace() {
        if out.chars().count() + w.chars().count() > 60 {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    match notes::file_stem(&out) {
        Some(s) if crate::vault::index::name_key(&s) != crate::vault::index::name_key(intake) => s,
        _ => format!("{intake} project"),
    }
}

#[cfg(test)]
mod tests {
    use super::project_name;

    #[test]
    fn names() {
        assert_eq!(
            project_name(Some("Online shop for pre-orders. Pick-up in shops."), "Req"),
            "Online shop for pre-orders"
        );
        assert_eq!(project_name(None, "Req"), "Req project");
        assert_eq!(project_name(Some("req"), "Req"), "Req project");
    }
}
