//! The format-preserving frontmatter editor.
//!
//! `set`, `remove` and `append` rewrite only the lines of the top-level keys whose value changes.
//! Every other byte — other keys, comments, quoting, key order, blank lines, CRLF line endings,
//! the BOM and the whole body — is copied unchanged. New values are written the way Obsidian
//! writes them (block lists with two-space indent, quoted wikilinks, strings quoted only when YAML
//! needs it). After every edit the new text is parsed again and compared with what was asked for;
//! an edit that would read back differently is refused instead of written.

use serde_yaml as yaml;

use super::frontmatter::{Frontmatter, FrontmatterError, split_key};
use super::note::{BOM, LayoutError, layout};
use super::value::{Value, is_datetime, parse_date};

/// One change to a note's properties.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Set `key` to a value (added at the end of the block when new).
    Set(String, Value),
    /// Remove `key` (nothing happens when it is absent).
    Remove(String),
    /// Add an item to the list `key` unless it is already there (a scalar becomes a list).
    Append(String, Value),
}

impl Edit {
    /// The edit making the list property `key` hold `items`, or removing it when there are none.
    pub fn set_list(key: &str, items: Vec<String>) -> Edit {
        if items.is_empty() {
            Edit::Remove(key.into())
        } else {
            Edit::Set(
                key.into(),
                Value::List(items.into_iter().map(Value::Str).collect()),
            )
        }
    }

    /// The key the edit touches.
    pub fn key(&self) -> &str {
        match self {
            Edit::Set(k, _) | Edit::Remove(k) | Edit::Append(k, _) => k,
        }
    }
}

/// Why an edit was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EditError {
    /// The note's layout is broken.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// The frontmatter does not parse.
    #[error(transparent)]
    Parse(#[from] FrontmatterError),
    /// The frontmatter parses, but is laid out in a way the editor does not touch.
    #[error("cannot edit this note's frontmatter safely: {0}")]
    NotEditable(String),
    /// The value cannot be written.
    #[error("cannot write `{key}`: {reason}")]
    Unsupported {
        /// The key.
        key: String,
        /// Why.
        reason: String,
    },
    /// The edited text would not read back as intended.
    #[error(
        "edit refused: the result would not read back as intended ({0}); the note is unchanged"
    )]
    Verify(String),
}

/// Applies `edits` to the note `text`. Returns `None` when nothing changes (the file must then
/// not be written at all), else the new text.
pub fn apply(text: &str, edits: &[Edit]) -> Result<Option<String>, EditError> {
    let lay = layout(text)?;
    let fm = match &lay.frontmatter {
        Some(block) => Some(Frontmatter::parse(text, block)?),
        None => None,
    };
    if let Some(fm) = &fm {
        fm.editable()
            .map_err(|r| EditError::NotEditable(r.to_string()))?;
    }
    let current: Vec<(String, Value)> = fm.as_ref().map(Frontmatter::to_map).unwrap_or_default();
    let mut target = current.clone();
    // Keys whose item lines may simply be extended: key -> items appended.
    let mut appended: Vec<(String, Vec<Value>)> = Vec::new();
    for edit in edits {
        let pos = target.iter().position(|(k, _)| k == edit.key());
        match edit {
            Edit::Set(k, v) => match pos {
                Some(i) => target[i].1 = v.clone(),
                None => target.push((k.clone(), v.clone())),
            },
            Edit::Remove(_) => {
                if let Some(i) = pos {
                    target.remove(i);
                }
            }
            Edit::Append(k, v) => {
                let new = match pos.map(|i| target[i].1.clone()) {
                    None | Some(Value::Null) => Value::List(vec![v.clone()]),
                    Some(Value::List(mut items)) => {
                        if !items.contains(v) {
                            items.push(v.clone());
                            match appended.iter_mut().find(|(ak, _)| ak == k) {
                                Some((_, vs)) => vs.push(v.clone()),
                                None => appended.push((k.clone(), vec![v.clone()])),
                            }
                        }
                        Value::List(items)
                    }
                    Some(other) if &other == v => Value::List(vec![other]),
                    Some(other) => Value::List(vec![other, v.clone()]),
                };
                match pos {
                    Some(i) => target[i].1 = new,
                    None => target.push((k.clone(), new)),
                }
            }
        }
    }
    // A key keeps its place in the block; new keys go at the end.
    let mut ordered: Vec<(String, Value)> = current
        .iter()
        .filter_map(|(k, _)| target.iter().find(|(tk, _)| tk == k).cloned())
        .collect();
    ordered.extend(
        target
            .iter()
            .filter(|(k, _)| !current.iter().any(|(ck, _)| ck == k))
            .cloned(),
    );
    let target = ordered;
    if target == current {
        return Ok(None);
    }
    let nl = match &lay.frontmatter {
        Some(b) => b.newline,
        None => detect_newline(text),
    };
    let new_text = match &fm {
        None => {
            let start = if lay.bom { BOM.len() } else { 0 };
            let mut out = String::with_capacity(text.len() + 64);
            out.push_str(&text[..start]);
            out.push_str("---");
            out.push_str(nl);
            for (k, v) in &target {
                out.push_str(&render_entry(&render_key(k), v, "  - ", None, nl)?);
            }
            out.push_str("---");
            out.push_str(nl);
            out.push_str(&text[start..]);
            out
        }
        Some(fm) => {
            let yaml = fm.yaml_range();
            let mut out = String::with_capacity(text.len() + 64);
            out.push_str(&text[..yaml.start]);
            let mut cursor = yaml.start;
            for entry in fm.entries() {
                let now = target.iter().find(|(k, _)| *k == entry.key).map(|(_, v)| v);
                if now == Some(&entry.value) {
                    continue;
                }
                out.push_str(&text[cursor..entry.span.start]);
                cursor = entry.span.end;
                let Some(now) = now else { continue };
                let old_text = &text[entry.span.clone()];
                let first_line = old_text.lines().next().unwrap_or("");
                let (_, rest) = split_key(first_line).ok_or_else(|| {
                    EditError::NotEditable(format!("key line of `{}`", entry.key))
                })?;
                let key_text = &first_line[..first_line.len() - rest.len()];
                let indent = list_indent(old_text);
                let indent = indent.as_deref().unwrap_or("  - ");
                if let Some((_, items)) = appended.iter().find(|(k, _)| *k == entry.key)
                    && is_block_list(old_text, &entry.value)
                    && let Value::List(old_items) = &entry.value
                    && *now == Value::List(old_items.iter().chain(items).cloned().collect())
                {
                    // Extend the list in place: the existing lines stay as they are.
                    out.push_str(old_text);
                    if !old_text.ends_with('\n') {
                        out.push_str(nl);
                    }
                    for item in items {
                        out.push_str(indent);
                        out.push_str(&render_scalar(&entry.key, item)?);
                        out.push_str(line_ending(old_text, nl));
                    }
                    continue;
                }
                let comment = kept_comment(rest, &entry.value);
                let ending = line_ending(old_text, nl);
                out.push_str(&render_entry(key_text, now, indent, comment, ending)?);
            }
            out.push_str(&text[cursor..yaml.end]);
            if yaml.end > yaml.start && !text[..yaml.end].ends_with('\n') {
                out.push_str(nl);
            }
            for (k, v) in &target {
                if fm.get(k).is_none() {
                    out.push_str(&render_entry(&render_key(k), v, "  - ", None, nl)?);
                }
            }
            out.push_str(&text[yaml.end..]);
            out
        }
    };
    verify(text, &new_text, &target)?;
    Ok(Some(new_text))
}

/// Checks that `new` reads back as exactly `target` and keeps the body of `old`.
fn verify(old: &str, new: &str, target: &[(String, Value)]) -> Result<(), EditError> {
    let lay = layout(new).map_err(|e| EditError::Verify(e.to_string()))?;
    let block = lay
        .frontmatter
        .as_ref()
        .ok_or_else(|| EditError::Verify("no frontmatter".into()))?;
    let fm = Frontmatter::parse(new, block).map_err(|e| EditError::Verify(e.to_string()))?;
    let got = fm.to_map();
    if got != target {
        let detail = target
            .iter()
            .find(|(k, v)| fm.get(k) != Some(v))
            .map(|(k, v)| format!("`{k}` would read as {:?} instead of {v:?}", fm.get(k)))
            .unwrap_or_else(|| "the keys would differ".into());
        return Err(EditError::Verify(detail));
    }
    let old_body = layout(old).map(|l| &old[l.body_start..]).unwrap_or("");
    if &new[lay.body_start..] != old_body {
        return Err(EditError::Verify("the body would change".into()));
    }
    Ok(())
}

/// The line ending of the first line of `s`, or `default`.
fn line_ending<'a>(s: &str, default: &'a str) -> &'a str {
    match s.find('\n') {
        Some(i) if i > 0 && s.as_bytes()[i - 1] == b'\r' => "\r\n",
        Some(_) => "\n",
        None => default,
    }
}

/// The line ending a note without frontmatter uses.
fn detect_newline(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// The `- ` prefix (with indentation) of the first item line of a block list; a bare `-` item
/// (an empty item) gives its indentation too.
fn list_indent(old: &str) -> Option<String> {
    old.lines().skip(1).find_map(|l| {
        let t = l.trim_start();
        let dash = l.len() - t.len();
        is_item_line(t).then(|| format!("{}- ", &l[..dash]))
    })
}

/// A block list item line (its indentation trimmed): `- value`, or a bare `-` (an empty item).
fn is_item_line(trimmed: &str) -> bool {
    trimmed.starts_with("- ") || trimmed.trim_end() == "-"
}

/// True when `old` is a block list whose items are one scalar per line.
fn is_block_list(old: &str, value: &Value) -> bool {
    let Value::List(items) = value else {
        return false;
    };
    let mut lines = old.lines();
    let first = lines.next().unwrap_or("");
    let after = split_key(first).map(|(_, r)| r.trim()).unwrap_or("x");
    if !(after.is_empty() || after.starts_with('#')) {
        return false;
    }
    let item_lines: Vec<&str> = lines.filter(|l| !l.trim().is_empty()).collect();
    item_lines.len() == items.len()
        && item_lines.iter().all(|l| is_item_line(l.trim_start()))
        && items
            .iter()
            .all(|v| !matches!(v, Value::List(_) | Value::Map(_)))
}

/// The ` # comment` after a single-line value, kept when the value is replaced.
fn kept_comment<'a>(rest: &'a str, old: &Value) -> Option<&'a str> {
    let mut from = 0;
    while let Some(i) = rest[from..].find(" #").map(|i| i + from) {
        let probe = format!("k:{}", &rest[..i]);
        if let Ok(yaml::Value::Mapping(m)) = yaml::from_str::<yaml::Value>(&probe)
            && let Some(v) = m.get("k")
            && yaml_scalar_eq(v, old)
        {
            return Some(&rest[i..]);
        }
        from = i + 2;
    }
    None
}

fn yaml_scalar_eq(v: &yaml::Value, ours: &Value) -> bool {
    match (v, ours) {
        (yaml::Value::Null, Value::Null) => true,
        (yaml::Value::Bool(a), Value::Bool(b)) => a == b,
        (yaml::Value::Number(n), Value::Int(i)) => n.as_i64() == Some(*i),
        (yaml::Value::Number(n), Value::Float(f)) => n.as_f64() == Some(*f),
        (yaml::Value::String(s), Value::Str(t) | Value::DateTime(t)) => s == t,
        (yaml::Value::String(s), Value::Date(d)) => *s == d.to_string(),
        _ => false,
    }
}

/// Writes a key the way YAML needs it.
fn render_key(k: &str) -> String {
    let mut s = if plain_ok(k) && !k.contains(':') {
        k.to_string()
    } else {
        quote(k)
    };
    s.push(':');
    s
}

/// Renders `key_text` (which ends with `:`) and `value` as whole lines.
fn render_entry(
    key_text: &str,
    value: &Value,
    indent: &str,
    comment: Option<&str>,
    nl: &str,
) -> Result<String, EditError> {
    let key = key_text.trim_end_matches(':');
    let mut out = String::from(key_text);
    match value {
        Value::Null => {
            if let Some(c) = comment {
                out.push_str(c);
            }
            out.push_str(nl);
        }
        Value::List(items) if items.is_empty() => {
            out.push_str(" []");
            out.push_str(nl);
        }
        Value::List(items) => {
            out.push_str(nl);
            for item in items {
                out.push_str(indent);
                out.push_str(&render_scalar(key, item)?);
                out.push_str(nl);
            }
        }
        Value::Map(entries) if entries.is_empty() => {
            out.push_str(" {}");
            out.push_str(nl);
        }
        Value::Map(entries) => {
            out.push_str(nl);
            for (k, v) in entries {
                out.push_str("  ");
                out.push_str(&render_key(k));
                if !matches!(v, Value::Null) {
                    out.push(' ');
                    out.push_str(&render_scalar(key, v)?);
                }
                out.push_str(nl);
            }
        }
        scalar => {
            out.push(' ');
            out.push_str(&render_scalar(key, scalar)?);
            if let Some(c) = comment {
                out.push_str(c);
            }
            out.push_str(nl);
        }
    }
    Ok(out)
}

/// Renders a scalar on one line.
fn render_scalar(key: &str, v: &Value) -> Result<String, EditError> {
    Ok(match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => render_float(*f),
        Value::Date(d) => d.to_string(),
        Value::DateTime(s) => {
            if is_datetime(s) && plain_ok_lexically(s) {
                s.clone()
            } else {
                quote(s)
            }
        }
        Value::Str(s) => {
            if plain_ok(s) {
                s.clone()
            } else {
                quote(s)
            }
        }
        Value::List(_) | Value::Map(_) => {
            return Err(EditError::Unsupported {
                key: key.to_string(),
                reason: "nested lists and maps cannot be written; edit them in Obsidian".into(),
            });
        }
    })
}

fn render_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    let s = format!("{f}");
    if s.contains(['.', 'e', 'E']) {
        s
    } else {
        format!("{s}.0")
    }
}

/// Double-quotes a string with YAML escapes.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || c == '\u{feff}' => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// True when `s` may be written without quotes and reads back as the same string.
pub fn plain_ok(s: &str) -> bool {
    if !plain_ok_lexically(s) || looks_typed(s) || s.contains("[[") {
        return false;
    }
    // Last word to the YAML reader itself.
    matches!(
        yaml::from_str::<yaml::Value>(&format!("k: {s}")),
        Ok(yaml::Value::Mapping(m)) if m.get("k") == Some(&yaml::Value::String(s.to_string()))
    )
}

/// Lexical rules for a plain scalar in block context.
fn plain_ok_lexically(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s.trim() != s || s.chars().any(|c| c.is_control() || c == '\u{feff}') {
        return false;
    }
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return false;
    }
    !(s.contains(": ") || s.contains(" #") || s.ends_with(':'))
}

/// Strings that some YAML reader (1.1 or 1.2) or Obsidian would read as another type.
fn looks_typed(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "y", "n", "yes", "no", "true", "false", "on", "off", "null", "~", ".inf", "-.inf", "+.inf",
        ".nan",
    ];
    let lower = s.to_ascii_lowercase();
    WORDS.contains(&lower.as_str()) || parse_date(s).is_some() || is_datetime(s) || looks_numeric(s)
}

/// YAML 1.1 and 1.2 numbers: decimal, `0x`/`0o`/`0b`, underscores, sexagesimal `1:20`, floats
/// with exponents.
fn looks_numeric(s: &str) -> bool {
    let t = s.strip_prefix(['+', '-']).unwrap_or(s);
    let digits =
        |x: &str, ok: fn(char) -> bool| !x.is_empty() && x.chars().all(|c| ok(c) || c == '_');
    if let Some(h) = t.strip_prefix("0x") {
        return digits(h, |c| c.is_ascii_hexdigit());
    }
    if let Some(o) = t.strip_prefix("0o") {
        return digits(o, |c| ('0'..='7').contains(&c));
    }
    if let Some(b) = t.strip_prefix("0b") {
        return digits(b, |c| c == '0' || c == '1');
    }
    if t.contains(':') {
        return t.split(':').all(|p| digits(p, |c| c.is_ascii_digit()));
    }
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mantissa_ok = {
        let (a, b) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let a_ok = a.chars().all(|c| c.is_ascii_digit() || c == '_');
        let b_ok = b.chars().all(|c| c.is_ascii_digit() || c == '_');
        a_ok && b_ok
            && (a.chars().any(|c| c.is_ascii_digit()) || b.chars().any(|c| c.is_ascii_digit()))
    };
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exp_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(t: &str, k: &str, v: Value) -> String {
        apply(t, &[Edit::Set(k.into(), v)]).unwrap().unwrap()
    }

    #[test]
    fn set_changes_one_line() {
        let t = "---\n# c\nname: \"Acme\"  \nstatus: intake # keep\ntags:\n  - a\n---\nbody\n---\n";
        let out = set(t, "status", Value::Str("matching".into()));
        assert_eq!(
            out,
            t.replace("status: intake # keep", "status: matching # keep")
        );
    }

    #[test]
    fn new_key_goes_last_and_crlf_stays() {
        let t = "\u{feff}---\r\na: 1\r\n---\r\nbody";
        let out = set(t, "b", Value::Str("[[X]]".into()));
        assert_eq!(out, "\u{feff}---\r\na: 1\r\nb: \"[[X]]\"\r\n---\r\nbody");
    }

    #[test]
    fn no_op_is_none() {
        let t = "---\na: 1\n---\n";
        assert_eq!(
            apply(t, &[Edit::Set("a".into(), Value::Int(1))]).unwrap(),
            None
        );
        assert_eq!(apply(t, &[Edit::Remove("zz".into())]).unwrap(), None);
    }

    #[test]
    fn hidden_characters_round_trip_through_escapes() {
        for v in [
            "a\0b",
            "\u{1b}[31mred\u{1b}[0m",
            "cr\rlf\nend",
            "del\u{7f} nel\u{85} c1\u{9b}",
            "ls\u{2028}ps\u{2029}end",
            "bom\u{feff}x",
            "rtl\u{202e}gnp.exe\u{2066}",
            "\u{0}",
        ] {
            let out = set("---\na: 1\n---\n", "k", Value::Str(v.into()));
            let note = crate::vault::note::Note::parse(out.as_bytes()).unwrap();
            assert_eq!(note.get("k"), Some(&Value::Str(v.into())), "{out:?}");
            let fm = &out[..out.rfind("---").unwrap()];
            assert!(
                !fm.contains(|c: char| c.is_control() && c != '\n'),
                "escaped: {out:?}"
            );
        }
    }

    #[test]
    fn quoting_rules() {
        for s in [
            "yes",
            "NO",
            "123",
            "+48123456789",
            "02134",
            "2024-05-01",
            "a: b",
            "x #y",
            "@at",
            "",
            " x",
            "1e5",
            "null",
            "[[X]]",
        ] {
            assert!(!plain_ok(s), "{s} must be quoted");
        }
        for s in [
            "Acme Corp",
            "+48 601 234 567",
            "00-950 Warszawa",
            "Zażółć gęślą",
            "rust",
            "a#b",
            "http://x.y/z",
        ] {
            assert!(plain_ok(s), "{s} may stay plain");
        }
    }

    #[test]
    fn append_extends_block_list() {
        let t = "---\ntags:\n- a\n- b\nx: 1\n---\n";
        let out = apply(t, &[Edit::Append("tags".into(), Value::Str("c".into()))])
            .unwrap()
            .unwrap();
        assert_eq!(out, "---\ntags:\n- a\n- b\n- c\nx: 1\n---\n");
        let t = "---\ntags: [a, b]\n---\n";
        let out = apply(t, &[Edit::Append("tags".into(), Value::Str("c".into()))])
            .unwrap()
            .unwrap();
        assert_eq!(out, "---\ntags:\n  - a\n  - b\n  - c\n---\n");
    }

    #[test]
    fn append_keeps_a_bare_dash_item() {
        let add = |t: &str| {
            apply(
                t,
                &[Edit::Append("aliases".into(), Value::Str("probe".into()))],
            )
            .unwrap()
            .unwrap()
        };
        let t = "---\naliases:\n  -\ntags:\n  - seedling\n---\n";
        assert_eq!(
            add(t),
            "---\naliases:\n  -\n  - probe\ntags:\n  - seedling\n---\n"
        );
        let t = "---\naliases:\n-\n---\n";
        assert_eq!(add(t), "---\naliases:\n-\n- probe\n---\n");
        let t = "---\r\naliases:\r\n  - a\r\n  -\r\n---\r\n";
        assert_eq!(
            add(t),
            "---\r\naliases:\r\n  - a\r\n  -\r\n  - probe\r\n---\r\n"
        );
    }

    #[test]
    fn remove_keeps_neighbours() {
        let t = "---\na: 1\n# about b\nb: |\n  text\n\n  more\nc: 3\n---\n";
        let out = apply(t, &[Edit::Remove("b".into())]).unwrap().unwrap();
        assert_eq!(out, "---\na: 1\n# about b\nc: 3\n---\n");
    }

    #[test]
    fn adds_a_block_to_a_note_without_one() {
        let out = set("# Title\n", "type", Value::Str("client".into()));
        assert_eq!(out, "---\ntype: client\n---\n# Title\n");
    }

    #[test]
    fn refuses_json_frontmatter() {
        let t = "---\n{\"a\": 1}\n---\n";
        assert!(matches!(
            apply(t, &[Edit::Set("a".into(), Value::Int(2))]),
            Err(EditError::NotEditable(_))
        ));
    }
}
