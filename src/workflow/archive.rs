//! The closing export: `ssot-vault archive PROJECT` writes the project's bundle — its fields and
//! body, its tickets (fields, body), its client's and expert's key fields, and the project's
//! field-level history from git — to `Archive/<project>/<project>.csv` and `.xml`, checks that
//! both files read back to the same bundle, moves the project note, its tickets and its intake
//! into `Archive/<project>/`, and sets `status: archived` and `archived:` in one commit.
//!
//! CSV (one table, header row, RFC 4180 quoting; columns
//! `kind,role,note,path,field,value,old,date,author,source,commit`):
//!
//! - `note` rows open a note: `role` (project, ticket, client, expert), `note` (its name), `path`;
//! - `field` rows: `role`, `note`, `field` (the key), `value`;
//! - `body` rows: `role`, `note`, `value` (the markdown body);
//! - `change` rows, oldest first: `note` (the path in that commit), `field`, `old`, `value` (new),
//!   `date`, `author`, `source`, `commit`.
//!
//! XML: see [`to_xml`] (and the README). Values are written as the frontmatter shows them
//! (lists as `[a, b]`, empty as nothing).

use std::path::{Path, PathBuf};

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use serde::{Deserialize, Serialize};

use super::lifecycle::{Status, Transition};
use super::notes::{self, Loaded};
use super::{WorkflowError, project};
use crate::config::Config;
use crate::history::CommitInfo;
use crate::vault::editor::Edit;
use crate::vault::index::{Index, Resolved};
use crate::vault::note::Note;
use crate::vault::value::Value;

/// The format tag of the XML root.
pub const FORMAT: &str = "ssot-vault-archive/1";

/// The key fields of the client kept in the bundle.
pub const CLIENT_FIELDS: &[&str] = &[
    "ssot_id",
    "name",
    "email",
    "phone",
    "company",
    "tax_id",
    "address",
    "postcode",
    "city",
    "country",
    "hubspot_id",
];
/// The key fields of the expert kept in the bundle.
pub const EXPERT_FIELDS: &[&str] = &[
    "ssot_id",
    "name",
    "email",
    "phone",
    "rate",
    "currency",
    "jira_account_id",
    "hubspot_id",
];

/// A note's part in the bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The project itself.
    Project,
    /// One of its tickets.
    Ticket,
    /// Its client (key fields).
    Client,
    /// Its expert (key fields).
    Expert,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Project => "project",
            Role::Ticket => "ticket",
            Role::Client => "client",
            Role::Expert => "expert",
        }
    }

    fn parse(s: &str) -> Option<Role> {
        [Role::Project, Role::Ticket, Role::Client, Role::Expert]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// A note in the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoteRecord {
    /// Its part.
    pub role: Role,
    /// Its name.
    pub name: String,
    /// Its path relative to the vault (before the move).
    pub path: String,
    /// Its fields (key, value as text), in the note's order.
    pub fields: Vec<(String, String)>,
    /// Its body (project and tickets).
    pub body: Option<String>,
}

/// One field change from the project's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeRecord {
    /// The commit id.
    pub commit: String,
    /// When (RFC 3339).
    pub date: String,
    /// Who.
    pub author: String,
    /// From which system (`Ssot-Source`).
    pub source: String,
    /// The note's path in that commit.
    pub note: String,
    /// The key.
    pub field: String,
    /// The value before (empty when absent).
    pub old: String,
    /// The value after (empty when removed).
    pub new: String,
}

/// Everything the archive keeps of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bundle {
    /// The project's name.
    pub project: String,
    /// The project, its tickets, client and expert.
    pub notes: Vec<NoteRecord>,
    /// The project's field-level history, oldest first.
    pub history: Vec<ChangeRecord>,
}

/// A value element being read from XML: its name and attributes.
type Open = (String, Vec<(String, String)>);

/// One CSV row.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Row {
    kind: String,
    role: String,
    note: String,
    path: String,
    field: String,
    value: String,
    old: String,
    date: String,
    author: String,
    source: String,
    commit: String,
}

/// A value as the archive writes it.
pub fn show(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        v => v.to_string(),
    }
}

fn record(role: Role, name: &str, rel: &str, note: &Note, keys: Option<&[&str]>) -> NoteRecord {
    let fields = note
        .frontmatter
        .as_ref()
        .map(|f| f.to_map())
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| keys.is_none_or(|keys| keys.contains(&k.as_str())))
        .map(|(k, v)| (k, show(&v)))
        .collect();
    NoteRecord {
        role,
        name: name.to_string(),
        path: rel.to_string(),
        fields,
        body: keys.is_none().then(|| note.body().to_string()),
    }
}

/// The CSV text of a bundle.
pub fn to_csv(b: &Bundle) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for n in &b.notes {
        let base = Row {
            role: n.role.as_str().into(),
            note: n.name.clone(),
            ..Row::default()
        };
        w.serialize(Row {
            kind: "note".into(),
            path: n.path.clone(),
            ..base.clone()
        })?;
        for (k, v) in &n.fields {
            w.serialize(Row {
                kind: "field".into(),
                field: k.clone(),
                value: v.clone(),
                ..base.clone()
            })?;
        }
        if let Some(body) = &n.body {
            w.serialize(Row {
                kind: "body".into(),
                value: body.clone(),
                ..base.clone()
            })?;
        }
    }
    for c in &b.history {
        w.serialize(Row {
            kind: "change".into(),
            note: c.note.clone(),
            field: c.field.clone(),
            value: c.new.clone(),
            old: c.old.clone(),
            date: c.date.clone(),
            author: c.author.clone(),
            source: c.source.clone(),
            commit: c.commit.clone(),
            ..Row::default()
        })?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// Reads a bundle back from its CSV text.
pub fn from_csv(bytes: &[u8]) -> Result<Bundle, String> {
    let mut r = csv::Reader::from_reader(bytes);
    let mut b = Bundle {
        project: String::new(),
        notes: Vec::new(),
        history: Vec::new(),
    };
    for (i, row) in r.deserialize::<Row>().enumerate() {
        let row = row.map_err(|e| e.to_string())?;
        let line = i + 2;
        match row.kind.as_str() {
            "note" => {
                let role = Role::parse(&row.role)
                    .ok_or_else(|| format!("row {line}: unknown role `{}`", row.role))?;
                if role == Role::Project && b.project.is_empty() {
                    b.project = row.note.clone();
                }
                b.notes.push(NoteRecord {
                    role,
                    name: row.note,
                    path: row.path,
                    fields: Vec::new(),
                    body: None,
                });
            }
            "field" | "body" => {
                let n = b
                    .notes
                    .last_mut()
                    .filter(|n| n.name == row.note && n.role.as_str() == row.role)
                    .ok_or_else(|| format!("row {line}: {} of a note not opened", row.kind))?;
                if row.kind == "field" {
                    n.fields.push((row.field, row.value));
                } else {
                    n.body = Some(row.value);
                }
            }
            "change" => b.history.push(ChangeRecord {
                commit: row.commit,
                date: row.date,
                author: row.author,
                source: row.source,
                note: row.note,
                field: row.field,
                old: row.old,
                new: row.value,
            }),
            other => return Err(format!("row {line}: unknown kind `{other}`")),
        }
    }
    Ok(b)
}

/// Escapes text for XML content, keeping carriage returns (as `&#13;`), which XML would
/// otherwise fold into line feeds.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// The XML text of a bundle:
///
/// ```xml
/// <?xml version="1.0" encoding="UTF-8"?>
/// <archive format="ssot-vault-archive/1" project="Shop">
///   <note role="project" name="Shop" path="Projects/Shop.md">
///     <field name="status">archived</field>
///     <body>## Scope …</body>
///   </note>
///   <note role="ticket" …>…</note>
///   <note role="client" …>…</note>
///   <note role="expert" …>…</note>
///   <history>
///     <change commit="…" date="…" author="…" source="vault" note="Projects/Shop.md" field="status">
///       <old>matching</old>
///       <new>proposed</new>
///     </change>
///   </history>
/// </archive>
/// ```
pub fn to_xml(b: &Bundle) -> Result<Vec<u8>, std::io::Error> {
    let mut w = quick_xml::Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.write_event(Event::Start(BytesStart::new("archive").with_attributes([
        ("format", FORMAT),
        ("project", b.project.as_str()),
    ])))?;
    let text = |w: &mut quick_xml::Writer<Vec<u8>>, start: BytesStart<'_>, v: &str| {
        let end = start.name().as_ref().to_string();
        w.write_event(Event::Start(start))?;
        w.write_event(Event::Text(BytesText::from_escaped(escape(v))))?;
        w.write_event(Event::End(BytesEnd::new(end)))
    };
    for n in &b.notes {
        w.write_event(Event::Start(BytesStart::new("note").with_attributes([
            ("role", n.role.as_str()),
            ("name", n.name.as_str()),
            ("path", n.path.as_str()),
        ])))?;
        for (k, v) in &n.fields {
            text(
                &mut w,
                BytesStart::new("field").with_attributes([("name", k.as_str())]),
                v,
            )?;
        }
        if let Some(body) = &n.body {
            text(&mut w, BytesStart::new("body"), body)?;
        }
        w.write_event(Event::End(BytesEnd::new("note")))?;
    }
    w.write_event(Event::Start(BytesStart::new("history")))?;
    for c in &b.history {
        w.write_event(Event::Start(BytesStart::new("change").with_attributes([
            ("commit", c.commit.as_str()),
            ("date", c.date.as_str()),
            ("author", c.author.as_str()),
            ("source", c.source.as_str()),
            ("note", c.note.as_str()),
            ("field", c.field.as_str()),
        ])))?;
        text(&mut w, BytesStart::new("old"), &c.old)?;
        text(&mut w, BytesStart::new("new"), &c.new)?;
        w.write_event(Event::End(BytesEnd::new("change")))?;
    }
    w.write_event(Event::End(BytesEnd::new("history")))?;
    w.write_event(Event::End(BytesEnd::new("archive")))?;
    let mut out = w.into_inner();
    out.push(b'\n');
    Ok(out)
}

fn attrs(e: &BytesStart<'_>) -> Result<Vec<(String, String)>, String> {
    e.attributes()
        .map(|a| {
            let a = a.map_err(|e| e.to_string())?;
            let v = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| e.to_string())?;
            Ok((a.key.as_ref().to_string(), v.into_owned()))
        })
        .collect()
}

fn attr(list: &[(String, String)], k: &str) -> String {
    list.iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// Reads a bundle back from its XML text.
pub fn from_xml(text: &str) -> Result<Bundle, String> {
    let mut r = quick_xml::Reader::from_str(text);
    let mut b = Bundle {
        project: String::new(),
        notes: Vec::new(),
        history: Vec::new(),
    };
    // The element whose text is being collected, its attributes, and the text so far.
    let mut open: Option<Open> = None;
    let mut buf = String::new();
    loop {
        let ev = r
            .read_event()
            .map_err(|e| format!("at byte {}: {e}", r.error_position()))?;
        match ev {
            Event::Start(e) => {
                if let Some(v) = start(&mut b, &e)? {
                    buf.clear();
                    open = Some(v);
                }
            }
            Event::Empty(e) => {
                if let Some(v) = start(&mut b, &e)? {
                    close(&mut b, Some(v), String::new())?;
                }
            }
            Event::Text(t) if open.is_some() => {
                buf.push_str(&t.xml_content(quick_xml::XmlVersion::Implicit1_0));
            }
            Event::GeneralRef(g) if open.is_some() => {
                let c = match g.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c,
                    None => match &*g {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => return Err(format!("unknown entity &{other};")),
                    },
                };
                buf.push(c);
            }
            Event::CData(c) if open.is_some() => {
                buf.push_str(&c.xml_content(quick_xml::XmlVersion::Implicit1_0));
            }
            Event::End(_) if open.is_some() => {
                close(&mut b, open.take(), std::mem::take(&mut buf))?;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(b)
}

/// Handles an opening tag; returns the value element to collect text for.
fn start(b: &mut Bundle, e: &BytesStart<'_>) -> Result<Option<Open>, String> {
    let name = e.name().as_ref().to_string();
    let a = attrs(e)?;
    match name.as_str() {
        "archive" => b.project = attr(&a, "project"),
        "note" => {
            let role = Role::parse(&attr(&a, "role"))
                .ok_or_else(|| format!("unknown role `{}`", attr(&a, "role")))?;
            b.notes.push(NoteRecord {
                role,
                name: attr(&a, "name"),
                path: attr(&a, "path"),
                fields: Vec::new(),
                body: None,
            });
        }
        "change" => b.history.push(ChangeRecord {
            commit: attr(&a, "commit"),
            date: attr(&a, "date"),
            author: attr(&a, "author"),
            source: attr(&a, "source"),
            note: attr(&a, "note"),
            field: attr(&a, "field"),
            old: String::new(),
            new: String::new(),
        }),
        "field" | "body" | "old" | "new" => return Ok(Some((name, a))),
        _ => {}
    }
    Ok(None)
}

/// Stores the text of a value element.
fn close(b: &mut Bundle, open: Option<Open>, text: String) -> Result<(), String> {
    let Some((name, a)) = open else {
        return Ok(());
    };
    match name.as_str() {
        "field" | "body" => {
            let n = b
                .notes
                .last_mut()
                .ok_or_else(|| format!("<{name}> outside a <note>"))?;
            if name == "field" {
                n.fields.push((attr(&a, "name"), text));
            } else {
                n.body = Some(text);
            }
        }
        _ => {
            let c = b
                .history
                .last_mut()
                .ok_or_else(|| format!("<{name}> outside a <change>"))?;
            if name == "old" {
                c.old = text;
            } else {
                c.new = text;
            }
        }
    }
    Ok(())
}

/// The bundle of a project: `planned` is the project note as it will be archived, `l` where it
/// is now.
pub fn bundle(
    root: &Path,
    index: &Index,
    l: &Loaded,
    planned: &Note,
    tickets: &[usize],
) -> Result<Bundle, WorkflowError> {
    let rel = crate::vault::index::rel_of(root, &l.path);
    let name = l.name();
    let mut notes = vec![record(Role::Project, &name, &rel, planned, None)];
    for &i in tickets {
        let e = &index.entries[i];
        if let Ok(n) = &e.note {
            notes.push(record(Role::Ticket, e.stem(), &e.rel, n, None));
        }
    }
    for (role, key, fields) in [
        (Role::Client, "client", CLIENT_FIELDS),
        (Role::Expert, "expert", EXPERT_FIELDS),
    ] {
        let Some(target) = l.link(key) else { continue };
        if let Resolved::Note(i) = index.resolve_from(&target, &rel) {
            let e = &index.entries[i];
            if let Ok(n) = &e.note {
                notes.push(record(role, e.stem(), &e.rel, n, Some(fields)));
            }
        }
    }
    let mut history = Vec::new();
    let entries = crate::history::log(root, Some(Path::new(&rel)), None)?;
    for e in entries.iter().rev() {
        for c in &e.changes {
            history.push(ChangeRecord {
                commit: e.commit.clone(),
                date: e.date.clone(),
                author: e.author.clone(),
                source: e.source.clone(),
                note: e.path.clone(),
                field: c.key.clone(),
                old: c.old.as_ref().map(show).unwrap_or_default(),
                new: c.new.as_ref().map(show).unwrap_or_default(),
            });
        }
    }
    Ok(Bundle {
        project: name,
        notes,
        history,
    })
}

/// What archiving did.
#[derive(Debug)]
pub struct Archived {
    /// The CSV export.
    pub csv: PathBuf,
    /// The XML export.
    pub xml: PathBuf,
    /// The notes moved (from, to), relative to the vault.
    pub moved: Vec<(String, String)>,
    /// The steps of the lifecycle taken (done→archived).
    pub steps: Vec<&'static Transition>,
    /// The bundle written.
    pub bundle: Bundle,
    /// The audit commit.
    pub commit: Option<CommitInfo>,
}

/// Archives the project note at `path` (see the module documentation).
pub fn archive(root: &Path, config: &Config, path: &Path) -> Result<Archived, WorkflowError> {
    let l = notes::load(path, Some("project"))?;
    let index = Index::build(root, config);
    let me = index
        .entries
        .iter()
        .position(|e| e.path == l.path)
        .or_else(|| {
            let rel = crate::vault::index::rel_of(root, &l.path);
            index.entries.iter().position(|e| e.rel == rel)
        });
    let tickets: Vec<usize> = match me {
        Some(me) => index
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.template && e.note_type() == Some("ticket"))
            .filter(|(_, e)| super::audit::links_to(&index, e, "project") == Some(me))
            .map(|(i, _)| i)
            .collect(),
        None => Vec::new(),
    };
    let open_tickets = me
        .map(|me| super::audit::open_tickets(&index, me))
        .unwrap_or_default();
    let name = l.name();
    let dir = root.join(&config.folders.archive).join(&name);
    let targets: Vec<(PathBuf, PathBuf)> = std::iter::once(l.path.clone())
        .chain(tickets.iter().map(|&i| index.entries[i].path.clone()))
        .chain(l.link("intake").and_then(|t| {
            let rel = crate::vault::index::rel_of(root, &l.path);
            match index.resolve_from(&t, &rel) {
                Resolved::Note(i) => Some(index.entries[i].path.clone()),
                _ => None,
            }
        }))
        .map(|from| {
            let file = from.file_name().map(PathBuf::from).unwrap_or_default();
            (from, dir.join(file))
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    if let Some((from, _)) = targets.iter().find(|(_, to)| !seen.insert(to.clone())) {
        return Err(WorkflowError::Problem(format!(
            "{}: another note of the project has the same file name; rename one first",
            from.display()
        )));
    }
    // A run killed midway is taken up again (nothing else writes an archive folder).
    if project::status_of(&l)? == Status::Archived {
        return resume(root, config, &l, &dir, &targets);
    }
    if dir.exists() {
        clear_half_made(&dir, &name)?;
    }
    let planned = project::plan(
        &l,
        Status::Archived,
        &[Edit::Set("archived".into(), Value::Date(notes::today()))],
        |n| n.text.clone(),
        |f| {
            f.open_tickets = open_tickets;
            f.exported = true; // written below, before anything else changes
        },
    )?;
    let bundle = bundle(root, &index, &l, &planned.note, &tickets)?;

    crate::fsutil::create_dir_all(&dir)?;
    let csv_path = dir.join(format!("{name}.csv"));
    let xml_path = dir.join(format!("{name}.xml"));
    // Until the project note is written, a failure leaves no trace: the folder goes again.
    let exported = (|| -> Result<(), WorkflowError> {
        let csv_bytes = to_csv(&bundle).map_err(|source| WorkflowError::Csv {
            path: csv_path.clone(),
            source,
        })?;
        let xml_bytes = to_xml(&bundle).map_err(|e| WorkflowError::Xml {
            path: xml_path.clone(),
            message: e.to_string(),
        })?;
        crate::fsutil::write_if_unchanged(&csv_path, None, &csv_bytes)?;
        crate::fsutil::write_if_unchanged(&xml_path, None, &xml_bytes)?;
        // Both files must read back to the bundle.
        let back_csv = from_csv(&crate::fsutil::read(&csv_path)?);
        let xml_text = String::from_utf8_lossy(&crate::fsutil::read(&xml_path)?).into_owned();
        let back_xml = from_xml(&xml_text);
        for (p, back) in [(&csv_path, back_csv), (&xml_path, back_xml)] {
            match back {
                Ok(b) if b == bundle => {}
                Ok(_) => {
                    return Err(WorkflowError::ReadBack {
                        path: p.clone(),
                        message: "different data".into(),
                    });
                }
                Err(message) => {
                    return Err(WorkflowError::ReadBack {
                        path: p.clone(),
                        message,
                    });
                }
            }
        }

        super::intake::stop_point("archive-exported");
        project::write(&l, &planned)
    })();
    if let Err(e) = exported {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(e);
    }
    super::intake::stop_point("archive-noted");
    let mut moved = Vec::new();
    for (from, to) in &targets {
        std::fs::rename(from, to).map_err(crate::fsutil::io_err(from))?;
        super::intake::stop_point("archive-moving");
        moved.push((
            crate::vault::index::rel_of(root, from),
            crate::vault::index::rel_of(root, to),
        ));
    }
    let labels: Vec<String> = planned.steps.iter().map(|t| t.label()).collect();
    let commit = notes::commit(
        root,
        config,
        &format!(
            "{name}: {}→{} (exported and moved to the archive)",
            planned.from, planned.to
        ),
        &labels,
    )?;
    Ok(Archived {
        csv: csv_path,
        xml: xml_path,
        moved,
        steps: planned.steps,
        bundle,
        commit,
    })
}

/// The archive folder `dir` of the project `name` exists before the export is written: when it
/// holds nothing but this project's export files (an `archive` killed before it wrote the
/// project note), they are removed and the export is made again; anything else is refused.
fn clear_half_made(dir: &Path, name: &str) -> Result<(), WorkflowError> {
    let ours = [format!("{name}.csv"), format!("{name}.xml")];
    let taken = || {
        WorkflowError::Problem(format!(
            "{}: the archive folder exists already; rename the project or move that folder",
            dir.display()
        ))
    };
    let entries = std::fs::read_dir(dir).map_err(crate::fsutil::io_err(dir))?;
    let mut files = Vec::new();
    for e in entries {
        let e = e.map_err(crate::fsutil::io_err(dir))?;
        let is_file = e.file_type().is_ok_and(|t| t.is_file());
        if !is_file || !ours.iter().any(|o| e.file_name() == o.as_str()) {
            return Err(taken());
        }
        files.push(e.path());
    }
    for f in files {
        std::fs::remove_file(&f).map_err(crate::fsutil::io_err(&f))?;
    }
    std::fs::remove_dir(dir).map_err(crate::fsutil::io_err(dir))?;
    Ok(())
}

/// Takes up an `archive` killed after it wrote the project note (`status: archived`): when both
/// export files are in `dir` and read back to the project's bundle as it is now, the notes not
/// moved yet are moved and everything is committed with the transition, as the run would have.
fn resume(
    root: &Path,
    config: &Config,
    l: &notes::Loaded,
    dir: &Path,
    targets: &[(PathBuf, PathBuf)],
) -> Result<Archived, WorkflowError> {
    let name = l.name();
    let csv_path = dir.join(format!("{name}.csv"));
    let xml_path = dir.join(format!("{name}.xml"));
    let already = || {
        WorkflowError::Problem(format!(
            "{}: the project is archived already",
            l.path.display()
        ))
    };
    if !csv_path.is_file() || !xml_path.is_file() {
        return Err(already());
    }
    // The run wrote the note only once both files read back to its bundle: they still must,
    // to the same one, of this project.
    let back_csv = from_csv(&crate::fsutil::read(&csv_path)?);
    let back_xml = from_xml(&String::from_utf8_lossy(&crate::fsutil::read(&xml_path)?));
    let bundle = match (back_csv, back_xml) {
        (Ok(c), Ok(x)) if c == x && c.project == name => c,
        _ => return Err(already()),
    };
    let mut moved = Vec::new();
    for (from, to) in targets.iter().filter(|(f, t)| f != t && f.exists()) {
        if to.exists() {
            return Err(WorkflowError::Problem(format!(
                "{}: {} exists already; move one of them by hand",
                from.display(),
                to.display()
            )));
        }
        std::fs::rename(from, to).map_err(crate::fsutil::io_err(from))?;
        moved.push((
            crate::vault::index::rel_of(root, from),
            crate::vault::index::rel_of(root, to),
        ));
    }
    let steps: Vec<&'static Transition> = super::lifecycle::TRANSITIONS
        .iter()
        .filter(|t| t.from == Status::Done && t.to == Status::Archived)
        .collect();
    let labels: Vec<String> = steps.iter().map(|t| t.label()).collect();
    let commit = notes::commit(
        root,
        config,
        &format!(
            "{name}: {}→{} (exported and moved to the archive; an interrupted archive finished)",
            Status::Done,
            Status::Archived
        ),
        &labels,
    )?;
    if moved.is_empty() && commit.is_none() {
        return Err(already());
    }
    Ok(Archived {
        csv: csv_path,
        xml: xml_path,
        moved,
        steps,
        bundle,
        commit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Bundle {
        Bundle {
            project: "Shop & <Co>".into(),
            notes: vec![
                NoteRecord {
                    role: Role::Project,
                    name: "Shop & <Co>".into(),
                    path: "Projects/Shop & <Co>.md".into(),
                    fields: vec![
                        ("status".into(), "archived".into()),
                        ("skills_required".into(), "[php, ux]".into()),
                        ("summary".into(), "Quotes \"x\" and 'y'".into()),
                        ("expert".into(), String::new()),
                    ],
                    body: Some("## Scope\r\n\r\n- a, b\n\ttab  \n".into()),
                },
                NoteRecord {
                    role: Role::Client,
                    name: "Acme".into(),
                    path: "Clients/Acme.md".into(),
                    fields: vec![("email".into(), "a@b.c".into())],
                    body: None,
                },
            ],
            history: vec![ChangeRecord {
                commit: "abc".into(),
                date: "2026-01-01T10:00:00+01:00".into(),
                author: "Zoë Ünal".into(),
                source: "vault".into(),
                note: "Projects/Shop & <Co>.md".into(),
                field: "status".into(),
                old: String::new(),
                new: "intake".into(),
            }],
        }
    }

    #[test]
    fn csv_and_xml_read_back() {
        let b = sample();
        let csv = to_csv(&b).unwrap();
        assert_eq!(from_csv(&csv).unwrap(), b);
        let xml = String::from_utf8(to_xml(&b).unwrap()).unwrap();
        assert_eq!(from_xml(&xml).unwrap(), b, "{xml}");
    }
}
