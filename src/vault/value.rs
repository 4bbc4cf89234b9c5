//! The typed values of frontmatter properties, as Obsidian understands them.
//!
//! YAML is read with YAML 1.2 semantics (`NO` and `yes` are strings). On top of the YAML types we
//! recognise the ones Obsidian's property editor knows: an unquoted `2024-05-01` is a date, an
//! unquoted `2024-05-01T14:30` a datetime, and a string `"[[Note]]"` a wikilink.

use std::fmt;

use jiff::civil::Date;

/// A frontmatter value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `key:` with nothing after it, or `null` / `~`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating point number.
    Float(f64),
    /// A string (wikilinks are strings too; see [`Value::as_link`]).
    Str(String),
    /// An unquoted `YYYY-MM-DD`.
    Date(Date),
    /// An unquoted ISO datetime such as `2024-05-01T14:30`, kept as written.
    DateTime(String),
    /// A list.
    List(Vec<Value>),
    /// A nested map, keys in their written order.
    Map(Vec<(String, Value)>),
}

/// The kind of a value, for messages.
impl Value {
    /// A short name of the value's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "empty",
            Value::Bool(_) => "bool",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::Str(s) if parse_link(s).is_some() => "link",
            Value::Str(_) => "string",
            Value::Date(_) => "date",
            Value::DateTime(_) => "datetime",
            Value::List(_) => "list",
            Value::Map(_) => "map",
        }
    }

    /// The string, when the value is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The link target when the value is a wikilink string `[[Target]]`, `[[Target|alias]]` or
    /// `[[Target#Heading]]`.
    pub fn as_link(&self) -> Option<WikiTarget<'_>> {
        self.as_str().and_then(parse_link)
    }

    /// True for null, an empty string and an empty list: the property is "not filled".
    pub fn is_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Str(s) => s.trim().is_empty(),
            Value::List(l) => l.is_empty(),
            Value::Map(m) => m.is_empty(),
            _ => false,
        }
    }

    /// The value as a number, for integers and floats.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The value's items: the list itself, a single value as a one-item list, null as none.
    pub fn items(&self) -> Vec<&Value> {
        match self {
            Value::List(l) => l.iter().collect(),
            Value::Null => Vec::new(),
            v => vec![v],
        }
    }

    /// The text items of the value (of a list property such as `sync_conflicts`), others skipped.
    pub fn strings(&self) -> Vec<String> {
        self.items()
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect()
    }

    /// The date, for a date value or a string holding one.
    pub fn as_date(&self) -> Option<Date> {
        match self {
            Value::Date(d) => Some(*d),
            Value::Str(s) => parse_date(s),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    /// A one-line human form, used in status, log and messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("(empty)"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => f.write_str(s),
            Value::Date(d) => write!(f, "{d}"),
            Value::DateTime(s) => f.write_str(s),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Map(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Value::Null => s.serialize_none(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(x) => s.serialize_f64(*x),
            Value::Str(x) | Value::DateTime(x) => s.serialize_str(x),
            Value::Date(d) => s.serialize_str(&d.to_string()),
            Value::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Value::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

/// The parts of a wikilink `[[target#heading|alias]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WikiTarget<'a> {
    /// The note path or name, without `.md`.
    pub target: &'a str,
    /// The heading or block after `#`, if any.
    pub heading: Option<&'a str>,
    /// The display text after `|`, if any.
    pub alias: Option<&'a str>,
}

/// Parses a string that is exactly one wikilink: `[[Target]]`, `[[Target|alias]]`,
/// `[[Target#Heading]]`, optionally embedded (`![[...]]`).
pub fn parse_link(s: &str) -> Option<WikiTarget<'_>> {
    let s = s.trim();
    let s = s.strip_prefix('!').unwrap_or(s);
    let inner = s.strip_prefix("[[")?.strip_suffix("]]")?;
    if inner.contains("[[") || inner.contains("]]") {
        return None;
    }
    Some(split_link(inner))
}

/// Splits the inside of a wikilink into target, heading and alias.
pub fn split_link(inner: &str) -> WikiTarget<'_> {
    let (rest, alias) = match inner.split_once('|') {
        Some((r, a)) => (r, Some(a.trim())),
        None => (inner, None),
    };
    let (target, heading) = match rest.split_once('#') {
        Some((t, h)) => (t.trim(), Some(h.trim())),
        None => (rest.trim(), None),
    };
    WikiTarget {
        target,
        heading,
        alias,
    }
}

/// Parses `YYYY-MM-DD` exactly.
pub fn parse_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    if !b
        .iter()
        .enumerate()
        .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
    {
        return None;
    }
    s.parse::<Date>().ok()
}

/// True for an ISO datetime Obsidian writes or accepts: `YYYY-MM-DDTHH:MM[:SS[.f]][Z|±HH:MM]`
/// (a space may stand for the `T`).
pub fn is_datetime(s: &str) -> bool {
    if s.len() < 16 || !s.is_char_boundary(10) {
        return false;
    }
    let (date, rest) = s.split_at(10);
    if parse_date(date).is_none() {
        return false;
    }
    let Some(time) = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' ')) else {
        return false;
    };
    let (clock, _zone) = match time.find(['Z', 'z', '+', '-']) {
        Some(i) => time.split_at(i),
        None => (time, ""),
    };
    let mut parts = clock.split(':');
    let ok_num = |p: Option<&str>, max: u32| {
        p.and_then(|p| p.split('.').next())
            .filter(|p| p.len() == 2)
            .and_then(|p| p.parse::<u32>().ok())
            .is_some_and(|n| n <= max)
    };
    ok_num(parts.next(), 23)
        && ok_num(parts.next(), 59)
        && parts.next().is_none_or(|p| ok_num(Some(p), 60))
        && parts.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links() {
        let l = parse_link("[[Acme Corp#Contacts|Acme]]").unwrap();
        assert_eq!(
            (l.target, l.heading, l.alias),
            ("Acme Corp", Some("Contacts"), Some("Acme"))
        );
        assert!(parse_link("[[a]] and [[b]]").is_none());
        assert!(parse_link("plain").is_none());
    }

    #[test]
    fn dates() {
        assert!(parse_date("2024-05-01").is_some());
        assert!(parse_date("2024-13-01").is_none());
        assert!(parse_date("2024-5-01").is_none());
        assert!(is_datetime("2024-05-01T14:30"));
        assert!(is_datetime("2024-05-01 14:30:00Z"));
        assert!(is_datetime("2024-05-01T14:30:00.123+02:00"));
        assert!(!is_datetime("2024-05-01T25:30"));
        assert!(!is_datetime("2024-05-01"));
    }
}
