//! The Trello mapping: a project is a card on the configured board, and each of its mapped
//! frontmatter keys is a part of the card (its name, description, due date, list, labels, or a
//! board custom field), converted to and from the engine's canonical values.
//!
//! Defaults (each overridable in `[remotes.trello.lists]`, `.labels` and `.custom_fields`):
//!
//! | note key         | card                                   |
//! |------------------|----------------------------------------|
//! | title            | name (push only: the note's file name) |
//! | status           | its list, by a table of list names     |
//! | summary          | desc (description)                     |
//! | deadline         | due (a date)                           |
//! | priority         | a label, by a table of label names     |
//! | client           | custom field `Client` (the note's name)|
//! | budget           | custom field `Budget` (number)         |
//! | blocked_reason   | custom field `Blocked reason`          |
//!
//! The note's `ssot_id` is the custom field `ssot_id`; while a card is being created (and for
//! good when the board cannot have custom fields) it is also a marker line at the end of `desc`,
//! a Markdown link definition Trello does not show, which this mapping hides from the summary.
//!
//! Body sections: `## Credentialing` ↔ the card's `Credentialing` checklist, item by item;
//! `## Documents` ← the card's attachments, pull only (see [`super::documents`]).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::connectors::canonical;
use crate::connectors::{Binding, Conv, Direction, FieldSpec, SectionKind, SectionSpec};
use crate::vault::schema::{FieldType, Schema};

use super::config::{ID_KEY, TrelloConfig};

/// The note type synced with cards.
pub const NOTE_TYPE: &str = "project";
/// The binding's remote kind.
pub const KIND: &str = "cards";
/// The board custom field holding the note's `ssot_id`.
pub const SSOT_FIELD: &str = "ssot_id";
/// The note heading of the checklist's tasks.
pub const HEADING: &str = "Credentialing";
/// The start of the `ssot_id` marker line in `desc`.
pub const MARKER_PREFIX: &str = "[ssot_id]: ssot:";

/// Where on the card a key lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// The card's name.
    Name,
    /// Its description.
    Desc,
    /// Its due date.
    Due,
    /// Its list (the value is the list's name).
    List,
    /// Its labels (the value is the name of the first label the table knows).
    Labels,
    /// A board custom field, by name, of a Trello type (`text`, `number`).
    Custom {
        /// The field's name on the board.
        name: String,
        /// Its type.
        kind: String,
    },
}

/// One mapped key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartMap {
    /// The engine's spec.
    pub spec: FieldSpec,
    /// Where it lives.
    pub part: Part,
    /// A link field: the note holds `[[Name]]`, the card `Name`.
    pub link: bool,
}

/// The whole mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardMap {
    /// Mapped keys, in the note's order.
    pub parts: Vec<PartMap>,
    /// The checklist of the `## Credentialing` section.
    pub checklist: String,
}

fn default_lists() -> Vec<(&'static str, &'static str)> {
    vec![
        ("intake", "Intake"),
        ("matching", "Intake"),
        ("proposed", "Intake"),
        ("accepted", "Credentialing"),
        ("credentialing", "Credentialing"),
        ("active", "Active"),
        ("blocked", "Blocked"),
        ("done", "Done"),
        ("archived", "Archived"),
    ]
}

fn default_labels() -> Vec<(&'static str, &'static str)> {
    vec![
        ("low", "Low"),
        ("medium", "Medium"),
        ("high", "High"),
        ("urgent", "Urgent"),
    ]
}

fn default_custom() -> Vec<(&'static str, &'static str)> {
    vec![
        ("client", "Client"),
        ("budget", "Budget"),
        ("blocked_reason", "Blocked reason"),
    ]
}

/// A table of defaults with the configuration's entries over them (`""` removes an entry).
fn table(defaults: Vec<(&str, &str)>, over: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut t: Vec<(String, String)> = defaults
        .into_iter()
        .filter(|(v, _)| !over.contains_key(*v))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    t.extend(
        over.iter()
            .filter(|(_, r)| !r.trim().is_empty())
            .map(|(a, b)| (a.clone(), b.trim().to_string())),
    );
    t
}

/// Builds the mapping from the configuration and schema.
pub fn build(cfg: &TrelloConfig, schema: &Schema) -> CardMap {
    let ty = schema.get(NOTE_TYPE);
    let field_ty = |k: &str| ty.and_then(|t| t.field(k)).map(|f| f.ty.clone());
    let spec = |key: &str, remote: &str, conv: Conv, direction: Direction| FieldSpec {
        key: key.into(),
        remote: remote.into(),
        conv,
        direction,
    };
    let mut parts = vec![
        PartMap {
            spec: spec("title", "name", Conv::Title, Direction::Push),
            part: Part::Name,
            link: false,
        },
        PartMap {
            spec: spec(
                "status",
                "list",
                Conv::Table(table(default_lists(), &cfg.lists)),
                Direction::Both,
            ),
            part: Part::List,
            link: false,
        },
        PartMap {
            spec: spec("summary", "desc", Conv::Text, Direction::Both),
            part: Part::Desc,
            link: false,
        },
        PartMap {
            spec: spec("deadline", "due", Conv::Date, Direction::Both),
            part: Part::Due,
            link: false,
        },
        PartMap {
            spec: spec(
                "priority",
                "labels",
                Conv::Table(table(default_labels(), &cfg.labels)),
                Direction::Both,
            ),
            part: Part::Labels,
            link: false,
        },
    ];
    let mut custom: Vec<(String, String)> = default_custom()
        .into_iter()
        .filter(|(k, _)| !cfg.custom_fields.contains_key(*k))
        .map(|(k, n)| (k.to_string(), n.to_string()))
        .collect();
    custom.extend(
        cfg.custom_fields
            .iter()
            .map(|(k, n)| (k.clone(), n.trim().to_string())),
    );
    for (key, name) in custom {
        if name.is_empty() || parts.iter().any(|p| p.spec.key == key) {
            continue;
        }
        let fty = field_ty(&key);
        let (conv, kind) = match fty {
            Some(FieldType::Integer | FieldType::Number) => (Conv::Number, "number"),
            Some(FieldType::Date) => (Conv::Date, "text"),
            Some(FieldType::List | FieldType::Links(_)) => (Conv::List, "text"),
            Some(FieldType::Bool) => (Conv::Bool, "text"),
            _ => (Conv::Text, "text"),
        };
        parts.push(PartMap {
            spec: spec(&key, &name, conv, Direction::Both),
            part: Part::Custom {
                name,
                kind: kind.into(),
            },
            link: matches!(fty, Some(FieldType::Link(_))),
        });
    }
    CardMap {
        parts,
        checklist: cfg.checklist.trim().to_string(),
    }
}

/// The engine's binding of the mapping.
pub fn bindings(map: &CardMap) -> Vec<Binding> {
    vec![Binding {
        note_type: NOTE_TYPE.into(),
        kind: KIND.into(),
        id_key: ID_KEY.into(),
        fields: map.parts.iter().map(|p| p.spec.clone()).collect(),
        links: Vec::new(),
        pull_new: true,
        link_target_only: false,
        sections: vec![
            SectionSpec {
                heading: HEADING.into(),
                kind: SectionKind::Tasks,
            },
            SectionSpec {
                heading: super::documents::HEADING.into(),
                kind: SectionKind::List,
            },
        ],
    }]
}

/// One line: control characters and line breaks become spaces, trimmed (as a note's task list
/// reads an item back).
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// The marker line of an `ssot_id`.
pub fn marker(ssot_id: &str) -> String {
    format!("{MARKER_PREFIX}{ssot_id}")
}

/// A description split into the text a person wrote and the `ssot_id` of its marker line.
pub fn split_desc(desc: &str) -> (&str, Option<&str>) {
    let trimmed = desc.trim_end();
    let (head, last) = match trimmed.rfind('\n') {
        Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
        None => ("", trimmed),
    };
    match last.trim().strip_prefix(MARKER_PREFIX) {
        Some(id)
            if !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            (head.trim_end(), Some(id))
        }
        _ => (desc, None),
    }
}

/// A description holding `summary` and, when asked, the marker of `ssot_id`.
pub fn join_desc(summary: Option<&str>, ssot_id: Option<&str>) -> String {
    let s = summary.unwrap_or("").trim_end();
    match ssot_id {
        Some(id) if s.is_empty() => marker(id),
        Some(id) => format!("{s}\n\n{}", marker(id)),
        None => s.to_string(),
    }
}

/// `YYYY-MM-DD` of a Trello date (ISO timestamp, UTC).
pub fn date_from_trello(raw: &str) -> Option<String> {
    if let Ok(ts) = raw.parse::<jiff::Timestamp>() {
        return Some(
            ts.to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .date()
                .to_string(),
        );
    }
    raw.get(..10)
        .and_then(crate::vault::value::parse_date)
        .map(|d| d.to_string())
}

/// The Trello due date of a `YYYY-MM-DD` date: noon UTC, the same day in every time zone Trello
/// shows it in from UTC−11 to UTC+11.
pub fn date_to_trello(date: &str) -> Option<String> {
    let d = crate::vault::value::parse_date(date)?;
    Some(format!("{d}T12:00:00.000Z"))
}

/// A custom field item's value as text (`value.text`, `value.number`, ...).
pub fn item_value(item: &Value) -> Option<String> {
    let v = item.get("value")?.as_object()?;
    v.values().find_map(|x| match x {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

/// A custom field's text as canonical.
pub fn custom_to_canonical(pm: &PartMap, raw: Option<&str>) -> Option<String> {
    let raw = raw.map(str::trim).filter(|s| !s.is_empty())?;
    let v = match &pm.spec.conv {
        Conv::Number => canonical::number(raw).unwrap_or_else(|| raw.to_string()),
        Conv::Date => date_from_trello(raw).unwrap_or_else(|| raw.to_string()),
        Conv::List => canonical::join_list(raw.split(';'))?,
        Conv::Bool => raw.to_ascii_lowercase(),
        Conv::Text | Conv::Table(_) | Conv::Title => raw.to_string(),
    };
    if pm.link && !(v.starts_with("[[") && v.ends_with("]]")) {
        return Some(format!("[[{v}]]"));
    }
    Some(v)
}

/// The custom field text of a canonical value (a link's name without its brackets).
pub fn custom_from_canonical(pm: &PartMap, canon: &str) -> String {
    if pm.link {
        let inner = canon
            .strip_prefix("[[")
            .and_then(|s| s.strip_suffix("]]"))
            .unwrap_or(canon);
        // `[[Name|alias]]` and `[[Name#heading]]` name the note `Name`.
        return inner
            .split(['|', '#'])
            .next()
            .unwrap_or(inner)
            .trim()
            .to_string();
    }
    canon.to_string()
}

/// The label name of a card's labels that the priority table knows (the first, in the card's
/// order).
pub fn priority_label<'a>(conv: &Conv, names: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let Conv::Table(t) = conv else {
        return None;
    };
    names
        .into_iter()
        .find(|n| t.iter().any(|(_, r)| r == n))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let m = build(&TrelloConfig::default(), &Schema::builtin());
        let keys: Vec<&str> = m.parts.iter().map(|p| p.spec.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "title",
                "status",
                "summary",
                "deadline",
                "priority",
                "client",
                "budget",
                "blocked_reason"
            ]
        );
        let client = &m.parts[5];
        assert!(client.link);
        let budget = &m.parts[6];
        assert_eq!(budget.spec.conv, Conv::Number);
        let mut cfg = TrelloConfig::default();
        cfg.lists.insert("blocked".into(), "On hold".into());
        cfg.custom_fields.insert("budget".into(), String::new());
        let m = build(&cfg, &Schema::builtin());
        let Conv::Table(t) = &m.parts[1].spec.conv else {
            panic!("a table")
        };
        assert!(t.contains(&("blocked".into(), "On hold".into())));
        assert!(!t.contains(&("blocked".into(), "Blocked".into())));
        assert!(m.parts.iter().all(|p| p.spec.key != "budget"));
    }

    #[test]
    fn the_marker_line_is_hidden_and_found() {
        let d = join_desc(Some("Shop\nwith cakes"), Some("01M7W86HFSWM03FC030X7GYK1W"));
        assert_eq!(
            d,
            "Shop\nwith cakes\n\n[ssot_id]: ssot:01M7W86HFSWM03FC030X7GYK1W"
        );
        assert_eq!(
            split_desc(&d),
            ("Shop\nwith cakes", Some("01M7W86HFSWM03FC030X7GYK1W"))
        );
        assert_eq!(split_desc(&join_desc(None, Some("X1"))), ("", Some("X1")));
        assert_eq!(split_desc("plain"), ("plain", None));
        assert_eq!(
            split_desc("[ssot_id]: ssot:../x"),
            ("[ssot_id]: ssot:../x", None)
        );
    }

    #[test]
    fn dates_links_and_labels() {
        assert_eq!(
            date_from_trello("2027-03-15T12:00:00.000Z").as_deref(),
            Some("2027-03-15")
        );
        assert_eq!(
            date_to_trello("2027-03-15").as_deref(),
            Some("2027-03-15T12:00:00.000Z")
        );
        let m = build(&TrelloConfig::default(), &Schema::builtin());
        let client = &m.parts[5];
        assert_eq!(
            custom_to_canonical(client, Some("Piekarnia")).as_deref(),
            Some("[[Piekarnia]]")
        );
        assert_eq!(
            custom_from_canonical(client, "[[Piekarnia|P]]"),
            "Piekarnia"
        );
        assert_eq!(
            priority_label(&m.parts[4].spec.conv, ["Client", "High"]).as_deref(),
            Some("High")
        );
        assert_eq!(one_line(" a\u{0}b\nc "), "a b c");
    }
}
