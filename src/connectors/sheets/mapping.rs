//! Sheet cells ↔ note fields: the tabs and columns of each note type checked against the schema
//! (the bindings), a cell as read (`UNFORMATTED_VALUE`, dates as formatted strings) made
//! canonical, and a canonical value as a person would type it (`USER_ENTERED`).
//!
//! Values as a person reads them: dates `YYYY-MM-DD` (a serial number read from a date cell is
//! turned back into one), numbers as numbers, lists joined with `, ` (read back split on `,` or
//! `;`), links (a project's client) as the linked note's title, written only. Text that the
//! sheet would parse as something else (`=…`, `007`, `2026-01-02`, `TRUE`) is written with a
//! leading `'`, so it stays text. NUL and other control characters are dropped from cells read.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::connectors::canonical;
use crate::connectors::{Binding, Conv, Direction, FieldSpec};
use crate::vault::schema::{FieldType, Schema};

use super::config::{ID_KEY, SheetsConfig};

/// One mapped column of a tab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Its header.
    pub header: String,
    /// The frontmatter key.
    pub key: String,
    /// Its conversion.
    pub conv: Conv,
    /// A link field: written as the linked note's title, never read into the note.
    pub link: bool,
}

/// One note type's tab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tab {
    /// The note type.
    pub note_type: String,
    /// The tab's title.
    pub title: String,
    /// The mapped columns.
    pub columns: Vec<Column>,
}

impl Tab {
    /// The column of a key.
    pub fn column(&self, key: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.key == key)
    }

    /// The key whose value names a new note: the title column's, else `name`'s.
    pub fn title_key(&self) -> Option<&str> {
        self.columns
            .iter()
            .find(|c| c.conv == Conv::Title)
            .or_else(|| self.columns.iter().find(|c| c.key == "name"))
            .map(|c| c.key.as_str())
    }
}

/// The tabs of the configuration checked against the schema: a note type the schema lacks, or a
/// key its type does not have (other than `title`), is left out.
pub fn build(cfg: &SheetsConfig, schema: &Schema) -> Vec<Tab> {
    cfg.tab_table()
        .into_iter()
        .filter_map(|(note_type, title)| {
            let ty = schema.get(&note_type)?;
            let mut columns: Vec<Column> = cfg
                .column_table(&note_type)
                .into_iter()
                .filter_map(|(header, key)| {
                    if key == "title" {
                        return Some(Column {
                            header,
                            key,
                            conv: Conv::Title,
                            link: false,
                        });
                    }
                    let field = ty.field(&key)?;
                    let (conv, link) = match &field.ty {
                        FieldType::Link(_) => (Conv::Text, true),
                        FieldType::Links(_) => (Conv::List, true),
                        FieldType::List => (Conv::List, false),
                        FieldType::Integer | FieldType::Number => (Conv::Number, false),
                        FieldType::Date => (Conv::Date, false),
                        FieldType::Bool => (Conv::Bool, false),
                        _ => (Conv::Text, false),
                    };
                    Some(Column {
                        header,
                        key,
                        conv,
                        link,
                    })
                })
                .collect();
            // In the order of the type's fields (as a new note writes them), the title first.
            let rank = |c: &Column| ty.fields.iter().position(|f| f.name == c.key);
            columns.sort_by_key(|c| rank(c).map_or(0, |i| i + 1));
            Some(Tab {
                note_type,
                title,
                columns,
            })
        })
        .collect()
}

/// The bindings of the tabs (links and titles travel to the sheet only).
pub fn bindings(tabs: &[Tab]) -> Vec<Binding> {
    tabs.iter()
        .map(|t| Binding {
            note_type: t.note_type.clone(),
            kind: t.title.clone(),
            id_key: ID_KEY.into(),
            fields: t
                .columns
                .iter()
                .map(|c| FieldSpec {
                    key: c.key.clone(),
                    remote: c.header.clone(),
                    conv: c.conv.clone(),
                    direction: if c.link || c.conv == Conv::Title {
                        Direction::Push
                    } else {
                        Direction::Both
                    },
                })
                .collect(),
            links: Vec::new(),
            pull_new: true,
            sections: Vec::new(),
            link_target_only: false,
        })
        .collect()
}

/// A cell's text without NUL and control characters (tabs and newlines kept), trimmed.
pub fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect::<String>()
        .trim()
        .to_string()
}

/// A date serial number (days since 1899-12-30) as `YYYY-MM-DD`.
pub fn serial_date(serial: f64) -> Option<String> {
    if !serial.is_finite() || !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let epoch = jiff::civil::date(1899, 12, 30);
    let d = epoch
        .checked_add(jiff::Span::new().days(serial.floor() as i64))
        .ok()?;
    Some(d.to_string())
}

/// A date as typed (`2026-11-30`, `2026/11/30`, `11/30/2026`, maybe with a time) as
/// `YYYY-MM-DD`.
pub fn typed_date(s: &str) -> Option<String> {
    let date = s.split([' ', 'T']).next().unwrap_or(s);
    let parts: Vec<&str> = date.split(['-', '/']).collect();
    if parts.len() != 3 || !parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let n = |p: &str| p.parse::<i16>().ok();
    let (y, m, d) = if parts[0].len() == 4 {
        (n(parts[0])?, n(parts[1])?, n(parts[2])?)
    } else if parts[2].len() == 4 {
        (n(parts[2])?, n(parts[0])?, n(parts[1])?)
    } else {
        return None;
    };
    let d = jiff::civil::Date::new(y, m as i8, d as i8).ok()?;
    Some(d.to_string())
}

/// The canonical value of a cell as read, for a column of conversion `conv`.
pub fn from_cell(conv: &Conv, link: bool, cell: &Value) -> Option<String> {
    let text = match cell {
        Value::Null => return None,
        Value::Bool(b) => return Some(b.to_string()),
        Value::Number(n) => {
            let x = n.as_f64()?;
            return match conv {
                Conv::Date => serial_date(x),
                Conv::Bool => Some((x != 0.0).to_string()),
                _ => canonical::number(&x.to_string()),
            };
        }
        Value::String(s) => clean(s),
        other => clean(&other.to_string()),
    };
    if text.is_empty() {
        return None;
    }
    match conv {
        Conv::Number => {
            canonical::number(&text.replace([' ', '\u{a0}'], "").replace(',', ".")).or(Some(text))
        }
        Conv::Date => typed_date(&text).or(Some(text)),
        Conv::Bool => Some(match text.to_ascii_lowercase().as_str() {
            "true" | "yes" => "true".into(),
            "false" | "no" => "false".into(),
            _ => text,
        }),
        Conv::List => {
            let items: Vec<String> = text
                .split([',', ';'])
                .map(|i| {
                    if link {
                        wikilink(i)
                    } else {
                        i.trim().to_string()
                    }
                })
                .collect();
            canonical::join_list(items.iter().map(String::as_str))
        }
        Conv::Text if link => Some(wikilink(&text)),
        _ => Some(text),
    }
}

/// A title as a link (`[[title]]`); empty stays empty.
fn wikilink(title: &str) -> String {
    let t = title.trim();
    if t.is_empty() || t.starts_with("[[") {
        t.to_string()
    } else {
        format!("[[{t}]]")
    }
}

/// A link's target title: `[[Title|alias]]` → `Title`.
fn link_title(s: &str) -> String {
    let t = s.trim();
    let t = t.strip_prefix("[[").unwrap_or(t);
    let t = t.strip_suffix("]]").unwrap_or(t);
    t.split('|').next().unwrap_or(t).trim().to_string()
}

/// Whether `USER_ENTERED` would read `s` as something other than text.
fn parsed_as_non_text(s: &str) -> bool {
    let t = s.trim();
    if t.is_empty() {
        return false;
    }
    let first = t.chars().next().unwrap_or(' ');
    matches!(first, '=' | '+' | '-' | '\'')
        || s.starts_with('\'')
        || t.eq_ignore_ascii_case("true")
        || t.eq_ignore_ascii_case("false")
        || t.trim_end_matches('%').parse::<f64>().is_ok()
        || typed_date(t).is_some()
        || t.bytes()
            .all(|b| b.is_ascii_digit() || b"./-: ".contains(&b))
}

/// The text typed into a cell (`USER_ENTERED`) for a canonical value (`""` clears the cell).
pub fn to_cell(conv: &Conv, link: bool, canon: Option<&str>) -> String {
    let Some(v) = canon.filter(|v| !v.is_empty()) else {
        return String::new();
    };
    match conv {
        Conv::Number => match canonical::number(v) {
            Some(n) => n,
            None => text_cell(v),
        },
        Conv::Date => match typed_date(v) {
            Some(d) => d,
            None => text_cell(v),
        },
        Conv::Bool if v == "true" || v == "false" => v.to_ascii_uppercase(),
        Conv::List => {
            let items: Vec<String> = v
                .split(';')
                .map(|i| {
                    if link {
                        link_title(i)
                    } else {
                        i.trim().to_string()
                    }
                })
                .filter(|i| !i.is_empty())
                .collect();
            text_cell(&items.join(", "))
        }
        Conv::Text if link => text_cell(&link_title(v)),
        _ => text_cell(v),
    }
}

/// Text kept as text: a leading `'` when the sheet would parse it.
pub fn text_cell(v: &str) -> String {
    if parsed_as_non_text(v) {
        format!("'{v}")
    } else {
        v.to_string()
    }
}

/// A title for a new note from a cell: control characters, path separators and leading dots
/// left out, at most 120 characters.
pub fn safe_title(s: &str) -> Option<String> {
    let t: String = clean(s)
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' | '#' | '^' | '[' | ']' => '-',
            c if c.is_control() => ' ',
            c => c,
        })
        .take(120)
        .collect();
    let t = t
        .trim()
        .trim_start_matches(['.', '-', ' '])
        .trim()
        .to_string();
    (!t.is_empty()).then_some(t)
}

/// A key cell that can be an `ssot_id`: 1 to 64 letters, digits, `-` or `_`.
pub fn valid_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The mapped fields of a row: header → cell, by the header row.
pub fn row_fields(tab: &Tab, header: &[String], row: &[Value]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for c in &tab.columns {
        let Some(i) = header.iter().position(|h| *h == c.header) else {
            continue;
        };
        if let Some(v) = row.get(i).and_then(|cell| from_cell(&c.conv, c.link, cell)) {
            out.insert(c.key.clone(), v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tabs() -> Vec<Tab> {
        build(&SheetsConfig::default(), &Schema::builtin())
    }

    #[test]
    fn the_default_tabs_map_the_seed_headers() {
        let t = tabs();
        let names: Vec<&str> = t.iter().map(|t| t.title.as_str()).collect();
        assert_eq!(names, ["Clients", "Experts", "Projects"]);
        let p = &t[2];
        assert_eq!(p.column("title").map(|c| &c.conv), Some(&Conv::Title));
        assert!(p.column("client").is_some_and(|c| c.link));
        assert_eq!(p.column("start").map(|c| &c.conv), Some(&Conv::Date));
        assert_eq!(t[1].column("skills").map(|c| &c.conv), Some(&Conv::List));
        let b = bindings(&t);
        assert_eq!(
            b[2].field("client").map(|f| f.direction),
            Some(Direction::Push)
        );
        assert_eq!(
            b[0].field("email").map(|f| f.direction),
            Some(Direction::Both)
        );
    }

    #[test]
    fn values_read_as_a_person_reads_them() {
        assert_eq!(
            from_cell(&Conv::Date, false, &json!(46356)).as_deref(),
            Some("2026-11-30")
        );
        assert_eq!(
            from_cell(&Conv::Date, false, &json!("11/30/2026")).as_deref(),
            Some("2026-11-30")
        );
        assert_eq!(
            from_cell(&Conv::Number, false, &json!(45000.0)).as_deref(),
            Some("45000")
        );
        assert_eq!(
            from_cell(&Conv::List, false, &json!("php, ux ,")).as_deref(),
            Some("php;ux")
        );
        assert_eq!(
            from_cell(&Conv::Text, true, &json!("Piekarnia")).as_deref(),
            Some("[[Piekarnia]]")
        );
        assert_eq!(
            from_cell(&Conv::Text, false, &json!("a\u{0}b\u{7}")).as_deref(),
            Some("ab")
        );
        assert_eq!(from_cell(&Conv::Text, false, &json!("  ")), None);
    }

    #[test]
    fn values_written_as_a_person_types_them() {
        assert_eq!(to_cell(&Conv::List, false, Some("php;ux")), "php, ux");
        assert_eq!(
            to_cell(&Conv::Text, true, Some("[[Piekarnia|P]]")),
            "Piekarnia"
        );
        assert_eq!(to_cell(&Conv::Text, false, Some("=1+1")), "'=1+1");
        assert_eq!(to_cell(&Conv::Text, false, Some("007")), "'007");
        assert_eq!(
            to_cell(&Conv::Text, false, Some("+48 22 614 28 90")),
            "'+48 22 614 28 90"
        );
        assert_eq!(to_cell(&Conv::Text, false, Some("Ola")), "Ola");
        assert_eq!(to_cell(&Conv::Number, false, Some("45000")), "45000");
        assert_eq!(
            to_cell(&Conv::Date, false, Some("2027-03-15")),
            "2027-03-15"
        );
        assert_eq!(to_cell(&Conv::Text, false, None), "");
    }

    #[test]
    fn hostile_titles_and_keys() {
        assert_eq!(safe_title("../x").as_deref(), Some("x"));
        assert_eq!(safe_title("\u{0}\u{1}"), None);
        assert_eq!(
            safe_title(&"Ż".repeat(300)).map(|t| t.chars().count()),
            Some(120)
        );
        assert!(valid_key("01M7W3N2NP9CPP5XT6PJ2EC77B"));
        assert!(!valid_key("../x"));
        assert!(!valid_key(&"A".repeat(65)));
    }
}
