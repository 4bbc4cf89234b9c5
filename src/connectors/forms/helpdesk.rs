//! The helpdesk form (optional, `helpdesk_form`): each response names a project (its note's
//! name, `[[name]]` or its `ssot_id`), who writes (`client` or `expert`) and the message, and
//! is filed in the vault as a helpdesk ticket's message through `workflow::ticket`:
//!
//! - the project's open ticket (the newest of its tickets whose `status` is not `closed`, by
//!   `opened`) takes it as a new `## Conversation` entry (a reply: `open` or `answered` as
//!   `ticket reply` sets it);
//! - a project with no open ticket gets a new ticket note, the message its first entry, its
//!   subject the message's first line.
//!
//! Each message is stamped with the response's `createTime` in the machine's time zone, its
//! party and author (the form's `author` answer, else the project's client or expert), as the
//! Trello helpdesk stamps a comment. **Exactly once**: the response's id goes into the ticket's
//! `form_responses` list in the same write as its entry, so a run killed at any point, or a
//! lost `.ssot/` (every response read again), never files a message twice. A response naming no
//! known project (or no party, or no message) is reported once and skipped; the others go on.
//! The poll is the intake's: `responses.list` with `timestamp >= T` (one request when nothing
//! is new; the question ids from one `forms.get`, kept in `.ssot/forms/helpdesk.json` with T).
//! Nothing is ever written to Forms.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::config::Config;
use crate::history::{self, CommitRequest, HistoryError};
use crate::vault::editor::Edit;
use crate::vault::index::{Index, name_key};
use crate::vault::value::Value;
use crate::workflow::notes;
use crate::workflow::ticket::{self, Opening, Party};

use super::config::FormsConfig;

/// The ticket's frontmatter key listing the helpdesk responses filed in it.
pub const RESPONSES_KEY: &str = "form_responses";

/// The helpdesk poll's own state file, in `.ssot/forms/`.
pub const STATE_FILE: &str = "helpdesk.json";

/// The subject of a ticket whose message gives none.
const NO_SUBJECT: &str = "Helpdesk message";

/// What the helpdesk poll keeps between runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HelpdeskState {
    /// The form the rest belongs to.
    pub form: String,
    /// Question id → title.
    pub questions: BTreeMap<String, String>,
    /// The newest `lastSubmittedTime` read (the next poll asks `timestamp >= since`).
    pub since: Option<String>,
    /// Responses reported as not fileable (reported once).
    pub reported: BTreeSet<String>,
}

/// What filing did: one line per message filed, one per response reported.
#[derive(Debug, Default)]
pub struct Filed {
    /// Messages filed.
    pub done: Vec<String>,
    /// Responses that cannot be filed (reported once, skipped).
    pub problems: Vec<String>,
}

/// The helpdesk state in `dir` (`.ssot/forms/`); empty when missing or unreadable.
pub fn load_state(dir: &Path) -> HelpdeskState {
    std::fs::read(dir.join(STATE_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Saves the helpdesk state in `dir`.
pub fn save_state(dir: &Path, st: &HelpdeskState) -> Result<(), crate::fsutil::FsError> {
    let bytes = serde_json::to_vec_pretty(st).unwrap_or_default();
    crate::fsutil::write_atomic(&dir.join(STATE_FILE), &bytes)
}

/// One response, its answers by role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    /// `responseId`.
    pub id: String,
    /// `createTime` in the machine's time zone (`YYYY-MM-DDTHH:MM:SS`).
    pub at: Option<String>,
    /// Answers by role (`project`, `party`, `message`, `author`), cleaned.
    pub answers: BTreeMap<String, String>,
}

/// A response read through the question table (`None`: no `responseId`). Texts lose their
/// control characters (NUL included); several answers to a question are joined with `, `.
pub fn response(
    r: &Json,
    questions: &BTreeMap<String, String>,
    table: &BTreeMap<String, String>,
) -> Option<Response> {
    let id = r["responseId"].as_str().filter(|s| !s.is_empty())?;
    let mut answers = BTreeMap::new();
    if let Some(given) = r["answers"].as_object() {
        for (qid, a) in given {
            let Some(role) = questions.get(qid).and_then(|t| table.get(t)) else {
                continue;
            };
            let values: Vec<String> = a["textAnswers"]["answers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v["value"].as_str())
                .map(ticket::clean_text)
                .filter(|v| !v.is_empty())
                .collect();
            if !values.is_empty() {
                answers.insert(role.clone(), values.join(", "));
            }
        }
    }
    let at = r["createTime"]
        .as_str()
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .and_then(|t| ticket::local_time(t.as_millisecond()));
    Some(Response {
        id: id.to_string(),
        at,
        answers,
    })
}

/// Whether a response answers a question `questions` does not know.
pub fn unknown_question(r: &Json, questions: &BTreeMap<String, String>) -> bool {
    r["answers"]
        .as_object()
        .is_some_and(|a| a.keys().any(|q| !questions.contains_key(q)))
}

/// The party a `Who is writing?` answer names.
fn party_of(s: &str) -> Option<Party> {
    match s.trim().to_lowercase().as_str() {
        "client" | "klient" => Some(Party::Client),
        "expert" | "ekspert" => Some(Party::Expert),
        _ => None,
    }
}

/// A ticket's subject from its first message: the first line, at most about 60 characters cut
/// at a word; a safe file name, else [`NO_SUBJECT`].
pub fn subject_of(message: &str) -> String {
    let first = message.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut out = String::new();
    for w in first.split_whitespace() {
        let n = out.chars().count();
        if n > 0 && n + w.chars().count() > 60 {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(w.chars().take(60));
    }
    match notes::file_stem(&out) {
        Some(s) if !s.trim().is_empty() => s,
        _ => NO_SUBJECT.to_string(),
    }
}

/// The vault as the filing needs it: the projects, the open tickets and the responses filed.
struct Vault {
    /// Project name key or `ssot_id` → path.
    projects: BTreeMap<String, PathBuf>,
    /// Project name key → its open tickets: (opened, path).
    open: BTreeMap<String, Vec<(String, PathBuf)>>,
    /// Response ids in some ticket's `form_responses`.
    filed: BTreeSet<String>,
}

fn text_of(note: &crate::vault::note::Note, key: &str) -> Option<String> {
    note.get(key)
        .filter(|v| !v.is_empty())
        .map(|v| match v.as_link() {
            Some(l) => l.target.to_string(),
            None => v.to_string().trim().to_string(),
        })
}

/// The response ids a note's `form_responses` lists.
fn filed_ids(note: &crate::vault::note::Note) -> Vec<String> {
    match note.get(RESPONSES_KEY) {
        Some(Value::List(items)) => items
            .iter()
            .map(|v| v.to_string().trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        Some(v) if !v.is_empty() => vec![v.to_string().trim().to_string()],
        _ => Vec::new(),
    }
}

impl Vault {
    fn read(root: &Path, config: &Config) -> Vault {
        let index = Index::build(root, config);
        let mut v = Vault {
            projects: BTreeMap::new(),
            open: BTreeMap::new(),
            filed: BTreeSet::new(),
        };
        for e in index.entries.iter().filter(|e| !e.template) {
            let Ok(note) = e.note.as_ref() else {
                continue;
            };
            match e.note_type() {
                Some("project") => {
                    v.projects.insert(name_key(e.stem()), e.path.clone());
                    if let Some(id) = text_of(note, "ssot_id") {
                        v.projects.insert(id, e.path.clone());
                    }
                }
                Some("ticket") => {
                    v.filed.extend(filed_ids(note));
                    let closed = text_of(note, "status").as_deref() == Some("closed");
                    if let (false, Some(p)) = (closed, text_of(note, "project")) {
                        let opened = text_of(note, "opened").unwrap_or_default();
                        // A link may name its note by path (`[[Projects/Shop]]`).
                        let p = p.rsplit('/').next().unwrap_or(&p).to_string();
                        v.open
                            .entry(name_key(&p))
                            .or_default()
                            .push((opened, e.path.clone()));
                    }
                }
                _ => {}
            }
        }
        v
    }

    /// The project a response's answer names: its note's name (or `[[name]]`) or `ssot_id`.
    fn project(&self, answer: &str) -> Option<&PathBuf> {
        let a = answer.trim();
        let a = a
            .strip_prefix("[[")
            .and_then(|x| x.strip_suffix("]]"))
            .unwrap_or(a);
        let a = a.split('|').next().unwrap_or(a).trim();
        self.projects
            .get(a)
            .or_else(|| self.projects.get(&name_key(a)))
    }

    /// The project's open ticket: the newest by `opened` (then by path).
    fn open_ticket(&self, project: &str) -> Option<&PathBuf> {
        self.open
            .get(&name_key(project))?
            .iter()
            .max_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)))
            .map(|(_, p)| p)
    }
}

/// The author of a message `party` writes to the ticket `l` at `at`: `given`, else the ticket's
/// client or expert (as `ticket reply` names them), told apart from a message of the ticket
/// with the same stamp (one author, one second) by ` (2)`, ` (3)`, as the Trello helpdesk tells
/// apart two comments: a conversation is merged by its stamps, so two messages never share one.
fn distinct_author(
    l: &notes::Loaded,
    party: Party,
    given: Option<&str>,
    at: Option<&str>,
) -> String {
    let base = match (given, party) {
        (Some(a), _) => a.to_string(),
        (None, Party::Client) => l.link("client").unwrap_or_else(|| "client".into()),
        (None, _) => l.link("expert").unwrap_or_else(|| "expert".into()),
    };
    let Some(at) = at else {
        return base;
    };
    let taken: BTreeSet<String> = ticket::conversation(&l.note.text)
        .into_iter()
        .filter(|m| m.at == at && m.party == party)
        .map(|m| m.author)
        .collect();
    let mut author = base.clone();
    let mut n = 2;
    while taken.contains(&author) {
        author = format!("{base} ({n})");
        n += 1;
    }
    author
}

/// Files the responses (in the order given) in the vault at `root`, then commits what was
/// written (`Ssot-Source: forms`, the remote's commit author). `reported` holds the responses
/// already reported as not fileable (updated).
pub fn file(
    root: &Path,
    config: &Config,
    cfg: &FormsConfig,
    responses: &[Response],
    reported: &mut BTreeSet<String>,
) -> Result<Filed, crate::workflow::WorkflowError> {
    let mut out = Filed::default();
    if responses.is_empty() {
        return Ok(out);
    }
    let mut vault = Vault::read(root, config);
    let rel = |p: &Path| crate::vault::index::rel_of(root, p);
    // Reported once, with what the person wrote, so that it can be filed by hand: the form is
    // read past it (it stays in the form's responses).
    let mut problem = |out: &mut Filed, r: &Response, why: String| {
        if reported.insert(r.id.clone()) {
            let said = r
                .answers
                .get("message")
                .map(|m| {
                    let m = m.replace(['\n', '\t'], " ");
                    let short: String = m.chars().take(200).collect();
                    let more = if short.len() < m.len() { "…" } else { "" };
                    format!("; it says: \"{short}{more}\"")
                })
                .unwrap_or_default();
            out.problems.push(format!(
                "helpdesk response {} not filed: {why}{said} (file it by hand with `ssot-vault ticket new` or `ticket reply`; it is not read again)",
                r.id
            ));
        }
    };
    for r in responses {
        if vault.filed.contains(&r.id) {
            continue;
        }
        let Some(answer) = r.answers.get("project") else {
            problem(&mut out, r, "it names no project".into());
            continue;
        };
        let Some(project) = vault.project(answer).cloned() else {
            let shown: String = answer.chars().take(80).collect();
            problem(
                &mut out,
                r,
                format!("no project note is named `{shown}` (a project's name or ssot_id)"),
            );
            continue;
        };
        let Some(party) = r.answers.get("party").and_then(|p| party_of(p)) else {
            problem(
                &mut out,
                r,
                "it does not say who writes (client or expert)".into(),
            );
            continue;
        };
        let Some(message) = r.answers.get("message").filter(|m| !m.trim().is_empty()) else {
            problem(&mut out, r, "its message is empty".into());
            continue;
        };
        let author = r
            .answers
            .get("author")
            .map(|a| a.replace(['\n', '\t'], " "));
        let pname = notes::stem(&project);
        let result = match vault.open_ticket(&pname).cloned() {
            Some(t) => notes::load(&t, Some("ticket")).and_then(|l| {
                let mut ids = filed_ids(&l.note);
                ids.push(r.id.clone());
                let list = Value::List(ids.into_iter().map(Value::Str).collect());
                let author = distinct_author(&l, party, author.as_deref(), r.at.as_deref());
                ticket::add_message(
                    config,
                    &l,
                    party,
                    Some(&author),
                    message,
                    r.at.as_deref(),
                    &[Edit::Set(RESPONSES_KEY.into(), list)],
                )
                .map(|(_, after)| format!("message in {} ({after})", rel(&t)))
            }),
            None => {
                let subject = subject_of(message);
                let extra = [Edit::Set(
                    RESPONSES_KEY.into(),
                    Value::List(vec![Value::Str(r.id.clone())]),
                )];
                ticket::open_note(
                    root,
                    config,
                    &project,
                    &Opening {
                        from: party,
                        subject: &subject,
                        text: message,
                        author: author.as_deref(),
                        at: r.at.as_deref(),
                        extra: &extra,
                    },
                )
                .map(|t| {
                    let line = format!("new ticket {}", rel(&t));
                    vault
                        .open
                        .entry(name_key(&pname))
                        .or_default()
                        .push((r.at.clone().unwrap_or_default(), t));
                    line
                })
            }
        };
        match result {
            Ok(what) => {
                vault.filed.insert(r.id.clone());
                out.done.push(format!(
                    "helpdesk response {} from the {party}: {what}",
                    r.id
                ));
                crate::workflow::intake::stop_point("helpdesk");
            }
            Err(e) => problem(&mut out, r, e.to_string()),
        }
    }
    if !out.done.is_empty() {
        let common = cfg.common();
        let req = CommitRequest {
            message: Some(format!(
                "Helpdesk form: {} message{} filed",
                out.done.len(),
                if out.done.len() == 1 { "" } else { "s" }
            )),
            source: super::NAME.into(),
            trailers: Vec::new(),
            author: Some((common.author_name.clone(), common.author_email.clone())),
        };
        match history::commit(root, &req) {
            Ok(_) | Err(HistoryError::NotARepo { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_response_is_read_by_role() {
        let cfg = FormsConfig::default();
        let questions: BTreeMap<String, String> = [
            ("a".to_string(), "Project".to_string()),
            ("b".into(), "Who is writing?".into()),
            ("c".into(), "Message".into()),
            ("d".into(), "Other".into()),
        ]
        .into();
        let r = json!({
            "responseId": "R1",
            "createTime": "2026-11-30T10:00:00Z",
            "answers": {
                "a": {"textAnswers": {"answers": [{"value": " Shop\u{0} "}]}},
                "b": {"textAnswers": {"answers": [{"value": "Client"}]}},
                "c": {"textAnswers": {"answers": [{"value": "Hi\r\nthere\u{7}"}]}},
                "d": {"textAnswers": {"answers": [{"value": "x"}]}}
            }
        });
        let got = response(&r, &questions, &cfg.helpdesk_table()).unwrap();
        assert_eq!(got.id, "R1");
        assert_eq!(got.answers["project"], "Shop");
        assert_eq!(got.answers["message"], "Hi\nthere");
        assert_eq!(got.answers.len(), 3);
        assert!(got.at.is_some());
        assert_eq!(party_of(" client "), Some(Party::Client));
        assert_eq!(party_of("team"), None);
    }

    #[test]
    fn a_message_never_shares_a_stamp_with_one_of_the_ticket() {
        let text = "---\ntype: ticket\nclient: \"[[Acme]]\"\n---\n## Conversation\n\n### 2026-05-01T10:00:00 · client · Acme\n\nA\n\n### 2026-05-01T10:00:00 · client · Acme (2)\n\nB\n";
        let l = notes::Loaded {
            path: PathBuf::from("Helpdesk/T.md"),
            bytes: text.as_bytes().to_vec(),
            note: crate::vault::note::Note::parse(text.as_bytes()).unwrap(),
        };
        let at = Some("2026-05-01T10:00:00");
        assert_eq!(distinct_author(&l, Party::Client, None, at), "Acme (3)");
        assert_eq!(
            distinct_author(&l, Party::Client, None, Some("2026-05-01T10:00:01")),
            "Acme"
        );
        assert_eq!(distinct_author(&l, Party::Expert, None, at), "expert");
        assert_eq!(distinct_author(&l, Party::Client, Some("Ola"), at), "Ola");
    }

    #[test]
    fn subjects_are_short_safe_names() {
        assert_eq!(subject_of("\n\nThe page fails\nmore"), "The page fails");
        assert_eq!(subject_of("\u{0}"), NO_SUBJECT);
        let long = "Ż".repeat(150);
        let s = subject_of(&long);
        assert!(s.chars().count() <= 60, "{s}");
        assert!(!subject_of("../x").contains('/'));
    }
}
