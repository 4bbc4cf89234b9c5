//! Helpdesk tickets: `type: ticket` notes linked to a project, opened by the client or the
//! expert, `status` open → answered → closed, with a `## Conversation` section of timestamped
//! messages, each under its own heading:
//!
//! ```markdown
//! ## Conversation
//!
//! ### 2026-05-01T10:15:00 · client · Piekarnia Złoty Kłos
//!
//! The payment page shows an error.
//! ```
//!
//! The conversation is append-only: a reply is added at the end of the section. A reply from the
//! side that opened the ticket makes it `open` again, one from the other side (or the team)
//! `answered`; a closed ticket takes no replies. The rule is the same whichever way the reply
//! comes ([`status_after`]): `ticket reply`, the helpdesk form, or a comment on the ticket's
//! helpdesk card (taken by the sync, which moves the card to the status's list with it).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::WorkflowError;
use super::credentialing::newline_of;
use super::notes::{self, Loaded, link_to};
use crate::config::Config;
use crate::vault::editor::{Edit, apply};
use crate::vault::value::Value;

/// The heading of the conversation section.
pub const HEADING: &str = "Conversation";

/// Who writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Party {
    /// The project's client.
    Client,
    /// The project's expert.
    Expert,
    /// The consultancy's own team.
    Team,
}

impl Party {
    /// The word used in notes.
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Client => "client",
            Party::Expert => "expert",
            Party::Team => "team",
        }
    }

    fn parse(s: &str) -> Option<Party> {
        match s.trim() {
            "client" => Some(Party::Client),
            "expert" => Some(Party::Expert),
            "team" => Some(Party::Team),
            _ => None,
        }
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// When: `YYYY-MM-DDTHH:MM:SS`.
    pub at: String,
    /// Which side.
    pub party: Party,
    /// Who.
    pub author: String,
    /// The text.
    pub text: String,
}

impl Message {
    /// The message as markdown (heading, blank line, text), in the note's line endings.
    pub fn render(&self, nl: &str) -> String {
        let text: Vec<String> = self
            .text
            .trim()
            .lines()
            .map(|l| {
                if l.starts_with('#') {
                    format!("\\{l}")
                } else {
                    l.trim_end_matches('\r').to_string()
                }
            })
            .collect();
        format!(
            "### {} · {} · {}{nl}{nl}{}{nl}",
            self.at,
            self.party,
            self.author.replace(['\r', '\n'], " "),
            text.join(nl)
        )
    }
}

/// The messages of the `## Conversation` section of a note's text, in order.
pub fn conversation(text: &str) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::new();
    let mut inside = false;
    let mut body: Vec<&str> = Vec::new();
    let flush = |out: &mut Vec<Message>, body: &mut Vec<&str>| {
        if let Some(m) = out.last_mut() {
            let t: Vec<String> = body
                .iter()
                .map(|l| match l.strip_prefix("\\#") {
                    Some(rest) => format!("#{rest}"),
                    None => l.to_string(),
                })
                .collect();
            m.text = t.join("\n").trim().to_string();
        }
        body.clear();
    };
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(h) = line.strip_prefix("## ") {
            if inside {
                break;
            }
            inside = h.trim().eq_ignore_ascii_case(HEADING);
            continue;
        }
        if !inside {
            continue;
        }
        if line.starts_with("# ") {
            break;
        }
        if let Some(h) = line.strip_prefix("### ") {
            let parts: Vec<&str> = h.splitn(3, " · ").collect();
            if let [at, party, author] = parts.as_slice()
                && let Some(party) = Party::parse(party)
            {
                flush(&mut out, &mut body);
                out.push(Message {
                    at: at.trim().to_string(),
                    party,
                    author: author.trim().to_string(),
                    text: String::new(),
                });
                continue;
            }
        }
        if !out.is_empty() {
            body.push(line);
        }
    }
    flush(&mut out, &mut body);
    out
}

/// The text with `message` added at the end of the conversation section (the section is made at
/// the end of the note when missing).
pub fn append_message(text: &str, message: &Message) -> String {
    let nl = newline_of(text);
    let block = message.render(nl);
    let mut offset = 0;
    let mut start = None;
    let mut end = None;
    for line in text.split_inclusive('\n') {
        let l = line.trim_end_matches(['\r', '\n']);
        if start.is_some() && (l.starts_with("# ") || l.starts_with("## ")) {
            end = Some(offset);
            break;
        }
        if start.is_none()
            && l.strip_prefix("## ")
                .is_some_and(|h| h.trim().eq_ignore_ascii_case(HEADING))
        {
            start = Some(offset);
        }
        offset += line.len();
    }
    match (start, end) {
        (None, _) => {
            let mut t = text.to_string();
            super::credentialing::append_block(&mut t, &format!("## {HEADING}{nl}{nl}"), nl);
            t.push_str(&block);
            t
        }
        (Some(_), None) => {
            let mut t = text.to_string();
            super::credentialing::append_block(&mut t, &block, nl);
            t
        }
        (Some(_), Some(end)) => {
            let head = text[..end].trim_end_matches(['\r', '\n']);
            format!("{head}{nl}{nl}{block}{nl}{}", &text[end..])
        }
    }
}

/// A message's text from a service as a note holds it: control characters (but tabs) dropped,
/// line ends without carriage returns, trimmed.
pub fn clean_text(s: &str) -> String {
    s.lines()
        .map(|l| {
            l.trim_end_matches('\r')
                .chars()
                .filter(|c| !c.is_control() || *c == '\t')
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// A service's time (epoch ms) in the machine's time zone, as `ticket reply` stamps a message.
pub fn local_time(ms: i64) -> Option<String> {
    let ts = jiff::Timestamp::from_millisecond(ms).ok()?;
    let dt = ts
        .to_zoned_datetime(jiff::tz::TimeZone::system())
        .datetime();
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    ))
}

/// The ticket's status.
fn status(l: &Loaded) -> String {
    l.text("status").unwrap_or_default()
}

/// Opens a ticket on the project note at `project`: `from` the client or the expert, with its
/// first message. Returns the ticket's path.
pub fn open(
    root: &Path,
    config: &Config,
    project: &Path,
    from: Party,
    subject: &str,
    text: &str,
    author: Option<&str>,
) -> Result<PathBuf, WorkflowError> {
    let path = open_note(
        root,
        config,
        project,
        &Opening {
            from,
            subject,
            text,
            author,
            at: None,
            extra: &[],
        },
    )?;
    notes::commit(
        root,
        config,
        &format!("Ticket {}: opened by the {from}", notes::stem(&path)),
        &[],
    )?;
    Ok(path)
}

/// A ticket to open: who, its subject and first message, and what else its note holds.
#[derive(Debug, Clone, Copy)]
pub struct Opening<'a> {
    /// Who opens it (the client or the expert).
    pub from: Party,
    /// The subject (also the note's name).
    pub subject: &'a str,
    /// The first message.
    pub text: &'a str,
    /// The author's name (default: the project's client or expert).
    pub author: Option<&'a str>,
    /// When it was written (default: now), `YYYY-MM-DDTHH:MM:SS`.
    pub at: Option<&'a str>,
    /// Further properties of the note.
    pub extra: &'a [Edit],
}

/// Makes the ticket note of `o` on the project note at `project` (no commit: [`open`] commits
/// it). Returns its path.
pub fn open_note(
    root: &Path,
    config: &Config,
    project: &Path,
    o: &Opening<'_>,
) -> Result<PathBuf, WorkflowError> {
    let from = o.from;
    let p = notes::load(project, Some("project"))?;
    let pstatus = p.text("status").unwrap_or_default();
    if pstatus == "archived" {
        return Err(WorkflowError::Problem(format!(
            "{}: the project is archived: it takes no new tickets",
            project.display()
        )));
    }
    if from == Party::Team {
        return Err(WorkflowError::Problem(
            "a ticket is opened by the client or the expert (--from client|expert)".into(),
        ));
    }
    let client = p.link("client");
    let expert = p.link("expert");
    let author = match (o.author, from) {
        (Some(a), _) => a.to_string(),
        (None, Party::Expert) => expert.clone().ok_or_else(|| {
            WorkflowError::Problem(format!(
                "{}: the project has no expert to open a ticket",
                project.display()
            ))
        })?,
        (None, _) => client.clone().unwrap_or_else(|| "client".into()),
    };
    if o.text.trim().is_empty() {
        return Err(WorkflowError::Problem("the message is empty".into()));
    }
    let now = o.at.map(str::to_string).unwrap_or_else(notes::now_minutes);
    let mut edits = vec![
        Edit::Set("project".into(), link_to(&p.name())),
        Edit::Set("from".into(), Value::Str(from.as_str().into())),
        Edit::Set("status".into(), Value::Str("open".into())),
        Edit::Set("subject".into(), Value::Str(o.subject.trim().into())),
        Edit::Set("opened".into(), Value::DateTime(now.clone())),
    ];
    if let Some(c) = &client {
        edits.push(Edit::Set("client".into(), link_to(c)));
    }
    if let Some(e) = &expert {
        edits.push(Edit::Set("expert".into(), link_to(e)));
    }
    edits.extend(o.extra.iter().cloned());
    let msg = Message {
        at: now,
        party: from,
        author,
        text: o.text.trim().to_string(),
    };
    let body = format!("## {HEADING}\n\n{}", msg.render("\n"));
    notes::create(root, config, "ticket", o.subject, &edits, Some(&body))
}

/// Adds a reply to the ticket at `path`; returns its status before and after.
pub fn reply(
    root: &Path,
    config: &Config,
    path: &Path,
    from: Party,
    author: Option<&str>,
    text: &str,
) -> Result<(String, String), WorkflowError> {
    let l = notes::load(path, Some("ticket"))?;
    let (before, after) = add_message(config, &l, from, author, text, None, &[])?;
    notes::commit(
        root,
        config,
        &format!("Ticket {}: reply from the {from}", l.name()),
        &[],
    )?;
    Ok((before, after))
}

/// The status a reply from `from` gives a ticket opened by `opener`, whatever the way it comes
/// (`ticket reply`, the helpdesk form, a comment on the helpdesk card): `open` from the side
/// that opened the ticket, `answered` from the other side or the team.
pub fn status_after(opener: Option<Party>, from: Party) -> &'static str {
    if Some(from) == opener {
        "open"
    } else {
        "answered"
    }
}

/// The status the ticket note `text` takes with replies written elsewhere (a comment on its
/// helpdesk card) from `parties` (`client`, `expert`, `team`; oldest first): that of the last
/// ([`status_after`]); `None` when it is closed (a closed ticket takes no replies), when no
/// party is known, or when the status stays.
pub fn status_after_replies(text: &[u8], parties: &[String]) -> Option<String> {
    let note = crate::vault::note::Note::parse(text).ok()?;
    let now = note.get("status").map(|v| v.to_string().trim().to_string());
    if now.as_deref() == Some("closed") {
        return None;
    }
    let last = Party::parse(parties.last()?)?;
    let opener = note.get("from").and_then(|v| Party::parse(&v.to_string()));
    let after = status_after(opener, last);
    (now.as_deref() != Some(after)).then(|| after.to_string())
}

/// Adds a message to the ticket `l` (no commit: [`reply`] commits it), written `at` (default:
/// now), with the further property edits `extra` in the same write (compare-and-swap against
/// the bytes `l` was read from). A reply from the side that opened the ticket makes it `open`,
/// one from the other side `answered`; a closed ticket takes none. Returns the status before
/// and after.
pub fn add_message(
    config: &Config,
    l: &Loaded,
    from: Party,
    author: Option<&str>,
    text: &str,
    at: Option<&str>,
    extra: &[Edit],
) -> Result<(String, String), WorkflowError> {
    let path = &l.path;
    let before = status(l);
    if before == "closed" {
        return Err(WorkflowError::Problem(format!(
            "{}: the ticket is closed: it takes no replies",
            path.display()
        )));
    }
    if text.trim().is_empty() {
        return Err(WorkflowError::Problem("the message is empty".into()));
    }
    let opener = l.text("from").and_then(|s| Party::parse(&s));
    let after = status_after(opener, from);
    let author = match (author, from) {
        (Some(a), _) => a.to_string(),
        (None, Party::Client) => l.link("client").unwrap_or_else(|| "client".into()),
        (None, Party::Expert) => l.link("expert").unwrap_or_else(|| "expert".into()),
        (None, Party::Team) => config
            .git
            .author_name
            .clone()
            .or_else(|| std::env::var("GIT_AUTHOR_NAME").ok())
            .unwrap_or_else(|| "team".into()),
    };
    let msg = Message {
        at: at.map(str::to_string).unwrap_or_else(notes::now_minutes),
        party: from,
        author,
        text: text.trim().to_string(),
    };
    let mut edits = vec![Edit::Set("status".into(), Value::Str(after.into()))];
    edits.extend(extra.iter().cloned());
    let edited = apply(&l.note.text, &edits)
        .map_err(|source| WorkflowError::Edit {
            path: path.to_path_buf(),
            source,
        })?
        .unwrap_or_else(|| l.note.text.clone());
    let text = append_message(&edited, &msg);
    crate::fsutil::write_if_unchanged(path, Some(&l.bytes), text.as_bytes())?;
    Ok((before, after.to_string()))
}

/// Closes the ticket at `path` (`status: closed`, `closed:` now).
pub fn close(root: &Path, config: &Config, path: &Path) -> Result<(), WorkflowError> {
    let l = notes::load(path, Some("ticket"))?;
    if status(&l) == "closed" {
        return Err(WorkflowError::Problem(format!(
            "{}: the ticket is closed already",
            path.display()
        )));
    }
    crate::vault::edit_file(
        path,
        &[
            Edit::Set("status".into(), Value::Str("closed".into())),
            Edit::Set("closed".into(), Value::DateTime(notes::now_minutes())),
        ],
    )
    .map_err(|e| WorkflowError::Problem(e.to_string()))?;
    notes::commit(root, config, &format!("Ticket {}: closed", l.name()), &[])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replies written elsewhere follow `ticket reply`'s rule: the other side answers, the
    /// opener reopens, a closed ticket stays closed, an unchanged status is no move.
    #[test]
    fn replies_from_elsewhere_move_the_status_as_a_reply_does() {
        let t = |status: &str| format!("---\ntype: ticket\nfrom: client\nstatus: {status}\n---\n");
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let open = t("open");
        assert_eq!(
            status_after_replies(open.as_bytes(), &p(&["expert"])).as_deref(),
            Some("answered")
        );
        assert_eq!(
            status_after_replies(open.as_bytes(), &p(&["team"])).as_deref(),
            Some("answered")
        );
        assert_eq!(status_after_replies(open.as_bytes(), &p(&["client"])), None);
        assert_eq!(
            status_after_replies(t("answered").as_bytes(), &p(&["expert", "client"])).as_deref(),
            Some("open")
        );
        assert_eq!(
            status_after_replies(t("closed").as_bytes(), &p(&["expert"])),
            None
        );
        assert_eq!(status_after_replies(open.as_bytes(), &[]), None);
    }

    fn msg(at: &str, party: Party, text: &str) -> Message {
        Message {
            at: at.into(),
            party,
            author: "Ala Kot".into(),
            text: text.into(),
        }
    }

    #[test]
    fn append_and_read_back() {
        let t = "---\ntype: ticket\n---\n## Conversation\n\n";
        let a = msg(
            "2026-05-01T10:00:00",
            Party::Client,
            "Hello\n# not a heading",
        );
        let t = append_message(t, &a);
        let b = msg("2026-05-01T11:00:00", Party::Team, "Hi");
        let t = append_message(&t, &b);
        assert_eq!(
            t,
            "---\ntype: ticket\n---\n## Conversation\n\n### 2026-05-01T10:00:00 · client · Ala Kot\n\nHello\n\\# not a heading\n\n### 2026-05-01T11:00:00 · team · Ala Kot\n\nHi\n"
        );
        assert_eq!(conversation(&t), vec![a, b]);
    }

    #[test]
    fn inserts_before_the_next_section() {
        let t = "---\na: 1\n---\n## Conversation\n\n### 2026-05-01T10:00:00 · expert · X\n\nQ\n\n## Notes\n\nmine\n";
        let t2 = append_message(t, &msg("2026-05-02T09:00:00", Party::Client, "A"));
        assert!(
            t2.ends_with(
                "Q\n\n### 2026-05-02T09:00:00 · client · Ala Kot\n\nA\n\n## Notes\n\nmine\n"
            ),
            "{t2}"
        );
        assert_eq!(conversation(&t2).len(), 2);
    }
}
