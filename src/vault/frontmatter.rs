//! Reading a note's frontmatter into typed values, keeping where each top-level key's lines are.
//!
//! The YAML is read by `yaml_serde` (behind this module only; it never appears in our API). Next
//! to it, a line scanner finds the lines of every top-level key, so that the editor
//! ([`crate::vault::editor`]) can replace just those lines, and so that each problem can be
//! reported at its line. When the scanner and the YAML reader disagree about the keys (JSON
//! frontmatter, complex keys), the note is still read but not edited.

use std::ops::Range;

use serde_yaml as yaml;

use super::note::{Block, lines_in};
use super::value::{Value, is_datetime, parse_date};

/// One top-level property.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key as YAML reads it.
    pub key: String,
    /// The typed value.
    pub value: Value,
    /// 1-based line of the key in the file.
    pub line: usize,
    /// Byte range, in the file text, of the key's lines (from the key line to the end of its last
    /// value line, line ending included). Trailing blank lines and comments are not part of it.
    pub span: Range<usize>,
}

/// The parsed frontmatter of a note.
#[derive(Debug, Clone, PartialEq)]
pub struct Frontmatter {
    entries: Vec<Entry>,
    /// Why the editor may not edit this block, when it may not.
    not_editable: Option<String>,
    /// The YAML text range in the file.
    yaml: Range<usize>,
    /// The line ending of the block.
    newline: &'static str,
}

/// A frontmatter block that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrontmatterError {
    /// The YAML itself is invalid.
    #[error("invalid YAML in frontmatter: {message}")]
    Yaml {
        /// 1-based line in the file.
        line: usize,
        /// 1-based column.
        col: usize,
        /// The reader's message.
        message: String,
    },
    /// The same key appears twice.
    #[error("duplicate property `{key}` (first on line {first}): keep one of them")]
    DuplicateKey {
        /// The key.
        key: String,
        /// Line of the second occurrence.
        line: usize,
        /// Line of the first occurrence.
        first: usize,
    },
    /// The block is not a map of properties.
    #[error("frontmatter is a {found}, not a map of `key: value` properties")]
    NotAMap {
        /// Line of the block's first YAML line.
        line: usize,
        /// What it is instead.
        found: &'static str,
    },
    /// A template placeholder was left in the note.
    #[error(
        "template placeholder `{text}` in frontmatter: fill it in, or keep templates in the templates folder"
    )]
    Placeholder {
        /// Line of the placeholder.
        line: usize,
        /// The placeholder text.
        text: String,
    },
    /// A key that is not a string (e.g. `[a, b]: 1`).
    #[error("property name on this line is not plain text")]
    NonStringKey {
        /// Line of the key.
        line: usize,
    },
}

impl FrontmatterError {
    /// The 1-based line and column the problem is at.
    pub fn position(&self) -> (usize, usize) {
        match self {
            FrontmatterError::Yaml { line, col, .. } => (*line, *col),
            FrontmatterError::DuplicateKey { line, .. }
            | FrontmatterError::NotAMap { line, .. }
            | FrontmatterError::Placeholder { line, .. }
            | FrontmatterError::NonStringKey { line } => (*line, 1),
        }
    }
}

/// What the line scanner found for a top-level key.
#[derive(Debug)]
struct Scanned {
    key: String,
    line: usize,
    span: Range<usize>,
    /// The value text on the key line was quoted.
    quoted: bool,
    /// For block lists: whether each item was quoted.
    items_quoted: Vec<bool>,
}

impl Frontmatter {
    /// Reads the block of `text` described by `block`.
    pub fn parse(text: &str, block: &Block) -> Result<Frontmatter, FrontmatterError> {
        let yaml_text = &text[block.yaml.clone()];
        let first_line = block.first_line;
        let placeholder = find_placeholder(yaml_text, first_line);
        let (scanned, scan_problem) = match scan(text, block) {
            Ok(s) => s,
            Err(e) => return Err(placeholder.unwrap_or(e)),
        };
        let parsed: yaml::Value = if yaml_text.trim().is_empty() {
            yaml::Value::Null
        } else {
            yaml::from_str(yaml_text).map_err(|e| {
                if let Some(p) = placeholder.clone() {
                    return p;
                }
                let (line, col) = e.location().map_or((0, 1), |l| (l.line(), l.column()));
                FrontmatterError::Yaml {
                    line: first_line + line.saturating_sub(1),
                    col,
                    message: clean_yaml_message(&e.to_string()),
                }
            })?
        };
        let map = match parsed {
            yaml::Value::Null => yaml::Mapping::new(),
            yaml::Value::Mapping(m) => m,
            yaml::Value::Tagged(t) => match t.value {
                yaml::Value::Mapping(m) => m,
                _ => {
                    return Err(FrontmatterError::NotAMap {
                        line: first_line,
                        found: "tagged value",
                    });
                }
            },
            other => {
                return Err(FrontmatterError::NotAMap {
                    line: first_line,
                    found: yaml_kind(&other),
                });
            }
        };
        let mut entries = Vec::with_capacity(map.len());
        let mut not_editable = scan_problem;
        let keys_match = map.len() == scanned.len();
        for (i, (k, v)) in map.into_iter().enumerate() {
            let key = match k {
                yaml::Value::String(s) => s,
                yaml::Value::Number(n) => n.to_string(),
                yaml::Value::Bool(b) => b.to_string(),
                yaml::Value::Null => "null".to_string(),
                _ => {
                    let line = scanned.get(i).map_or(first_line, |s| s.line);
                    return Err(FrontmatterError::NonStringKey { line });
                }
            };
            let sc = scanned.get(i).filter(|s| keys_match && s.key == key);
            if sc.is_none() && not_editable.is_none() {
                not_editable = Some(format!(
                    "the layout of property `{key}` is not plain `key: value` YAML"
                ));
            }
            let mut odd_keys = false;
            let value = match sc {
                Some(s) => convert(v, Some(s.quoted), &s.items_quoted, &mut odd_keys),
                None => convert(v, None, &[], &mut odd_keys),
            };
            if odd_keys && let Some(p) = placeholder.clone() {
                // `created: {{date}}` reads as a nested map: an unfilled template.
                return Err(p);
            }
            let (line, span) = sc.map_or((first_line, block.yaml.start..block.yaml.start), |s| {
                (s.line, s.span.clone())
            });
            entries.push(Entry {
                key,
                value,
                line,
                span,
            });
        }
        if !keys_match && not_editable.is_none() {
            not_editable =
                Some("the frontmatter is not laid out as plain `key: value` lines".into());
        }
        Ok(Frontmatter {
            entries,
            not_editable,
            yaml: block.yaml.clone(),
            newline: block.newline,
        })
    }

    /// The properties in written order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entry(key).map(|e| &e.value)
    }

    /// The entry of `key`.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }

    /// The string value of `key`, if it is a non-empty string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// The line of `key`, or of the block start.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        self.entry(key).map(|e| e.line)
    }

    /// `Err(reason)` when the editor must not edit this block.
    pub fn editable(&self) -> Result<(), &str> {
        match &self.not_editable {
            Some(r) => Err(r),
            None => Ok(()),
        }
    }

    /// Byte range of the YAML text in the file.
    pub fn yaml_range(&self) -> Range<usize> {
        self.yaml.clone()
    }

    /// The block's line ending.
    pub fn newline(&self) -> &'static str {
        self.newline
    }

    /// The properties as (key, value) pairs.
    pub fn to_map(&self) -> Vec<(String, Value)> {
        self.entries
            .iter()
            .map(|e| (e.key.clone(), e.value.clone()))
            .collect()
    }
}

/// Removes the location suffix the YAML reader adds (we report positions ourselves).
fn clean_yaml_message(m: &str) -> String {
    match m.find(" at line ") {
        Some(i) => m[..i].to_string(),
        None => m.to_string(),
    }
}

fn yaml_kind(v: &yaml::Value) -> &'static str {
    match v {
        yaml::Value::Null => "null",
        yaml::Value::Bool(_) => "boolean",
        yaml::Value::Number(_) => "number",
        yaml::Value::String(_) => "string",
        yaml::Value::Sequence(_) => "list",
        yaml::Value::Mapping(_) => "map",
        yaml::Value::Tagged(_) => "tagged value",
    }
}

/// Finds the first `{{...}}` / `<% ... %>` template placeholder (Obsidian Templates /
/// Templater). It is an error only where it breaks the YAML (`created: {{date}}`); quoted or in
/// a block scalar it is text.
fn find_placeholder(yaml_text: &str, first_line: usize) -> Option<FrontmatterError> {
    for (i, line) in yaml_text.lines().enumerate() {
        for (open, close) in [("{{", "}}"), ("<%", "%>")] {
            if let Some(a) = line.find(open)
                && let Some(b) = line[a..].find(close)
            {
                return Some(FrontmatterError::Placeholder {
                    line: first_line + i,
                    text: line[a..a + b + close.len()].to_string(),
                });
            }
        }
    }
    None
}

/// Converts a YAML value into ours. `quoted` says whether a scalar was written in quotes (then a
/// date-like string stays a string); `None` means unknown.
fn convert(
    v: yaml::Value,
    quoted: Option<bool>,
    items_quoted: &[bool],
    odd_keys: &mut bool,
) -> Value {
    match v {
        yaml::Value::Null => Value::Null,
        yaml::Value::Bool(b) => Value::Bool(b),
        yaml::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        yaml::Value::String(s) => {
            if quoted == Some(true) {
                Value::Str(s)
            } else if let Some(d) = parse_date(&s) {
                Value::Date(d)
            } else if is_datetime(&s) {
                Value::DateTime(s)
            } else {
                Value::Str(s)
            }
        }
        yaml::Value::Sequence(items) => {
            let known = items.len() == items_quoted.len();
            Value::List(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, it)| {
                        let q = if known { Some(items_quoted[i]) } else { None };
                        convert(it, q, &[], odd_keys)
                    })
                    .collect(),
            )
        }
        yaml::Value::Mapping(m) => Value::Map(
            m.into_iter()
                .map(|(k, v)| {
                    let k = match k {
                        yaml::Value::String(s) => s,
                        yaml::Value::Number(n) => n.to_string(),
                        yaml::Value::Bool(b) => b.to_string(),
                        other => {
                            *odd_keys = true;
                            yaml::to_string(&other)
                                .unwrap_or_default()
                                .trim()
                                .to_string()
                        }
                    };
                    (k, convert(v, None, &[], odd_keys))
                })
                .collect(),
        ),
        yaml::Value::Tagged(t) => convert(t.value, quoted, items_quoted, odd_keys),
    }
}

/// Finds the top-level keys and their line spans. Returns the scanned keys and, when the layout
/// is one the editor must not touch, the reason.
fn scan(text: &str, block: &Block) -> Result<(Vec<Scanned>, Option<String>), FrontmatterError> {
    let mut out: Vec<Scanned> = Vec::new();
    let mut problem = None;
    let mut line_no = block.first_line - 1;
    for (start, line, next) in lines_in(text, block.yaml.clone()) {
        line_no += 1;
        let first = line.as_bytes().first().copied();
        let blank = line.trim().is_empty();
        let continuation = matches!(first, Some(b' ' | b'\t'))
            || line == "-"
            || line.starts_with("- ")
            || line.starts_with("-\t");
        if blank || first == Some(b'#') {
            continue;
        }
        if continuation {
            match out.last_mut() {
                Some(last) => {
                    last.span.end = next;
                    let t = line.trim_start();
                    if let Some(item) = t.strip_prefix('-')
                        && (item.is_empty() || item.starts_with([' ', '\t']))
                    {
                        let item = item.trim_start();
                        last.items_quoted.push(item.starts_with(['"', '\'']));
                    }
                }
                None => problem = Some(format!("line {line_no} is indented before any property")),
            }
            continue;
        }
        match split_key(line) {
            Some((key, rest)) => {
                if let Some(prev) = out.iter().find(|s| s.key == key) {
                    return Err(FrontmatterError::DuplicateKey {
                        key,
                        line: line_no,
                        first: prev.line,
                    });
                }
                let rest = rest.trim_start();
                out.push(Scanned {
                    key,
                    line: line_no,
                    span: start..next,
                    quoted: rest.starts_with(['"', '\'']),
                    items_quoted: Vec::new(),
                });
            }
            None => {
                if problem.is_none() {
                    problem = Some(format!("line {line_no} is not a `key: value` line"));
                }
            }
        }
    }
    // Items are only meaningful for block lists: a nested map's lines would be mis-read.
    for s in &mut out {
        let inline = &text[s.span.start..];
        let key_line = inline.lines().next().unwrap_or("");
        let after = split_key(key_line).map(|(_, r)| r.trim()).unwrap_or("");
        if !after.is_empty() && !after.starts_with('#') {
            s.items_quoted.clear();
        }
    }
    Ok((out, problem))
}

/// Splits a top-level `key: rest` line. Handles plain, `"double"` and `'single'` quoted keys.
/// Returns `None` when the line is not a simple key line.
pub(crate) fn split_key(line: &str) -> Option<(String, &str)> {
    let bytes = line.as_bytes();
    match bytes.first()? {
        b'"' => {
            let mut key = String::new();
            let mut chars = line[1..].char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => match chars.next()?.1 {
                        '"' => key.push('"'),
                        '\\' => key.push('\\'),
                        '/' => key.push('/'),
                        _ => return None,
                    },
                    '"' => {
                        let rest = line[1 + i + 1..].strip_prefix(':')?;
                        return (rest.is_empty() || rest.starts_with([' ', '\t']))
                            .then_some((key, rest));
                    }
                    c => key.push(c),
                }
            }
            None
        }
        b'\'' => {
            let mut key = String::new();
            let s = &line[1..];
            let mut i = 0;
            while i < s.len() {
                let c = s[i..].chars().next()?;
                if c == '\'' {
                    if s[i + 1..].starts_with('\'') {
                        key.push('\'');
                        i += 2;
                        continue;
                    }
                    let rest = s[i + 1..].strip_prefix(':')?;
                    return (rest.is_empty() || rest.starts_with([' ', '\t']))
                        .then_some((key, rest));
                }
                key.push(c);
                i += c.len_utf8();
            }
            None
        }
        b'?' | b'{' | b'[' | b'&' | b'*' | b'!' | b'|' | b'>' | b'%' | b'@' | b'`' => None,
        _ => {
            let mut search = 0;
            loop {
                let i = search + line[search..].find(':')?;
                let rest = &line[i + 1..];
                if rest.is_empty() || rest.starts_with([' ', '\t']) {
                    let key = line[..i].trim_end();
                    if key.contains(" #") {
                        return None;
                    }
                    return Some((key.to_string(), rest));
                }
                search = i + 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::note::layout;
    use super::*;

    fn fm(t: &str) -> Result<Frontmatter, FrontmatterError> {
        let l = layout(t).unwrap();
        Frontmatter::parse(t, &l.frontmatter.unwrap())
    }

    #[test]
    fn typed_values() {
        let f = fm("---\na: 1\nb: 1.5\nc: yes\nd: NO\ne: 2024-05-01\nf: \"2024-05-01\"\ng:\nh: [x, y]\ni: \"[[Acme]]\"\nj: 2024-05-01T10:00\n---\n").unwrap();
        assert_eq!(f.get("a"), Some(&Value::Int(1)));
        assert_eq!(f.get("b"), Some(&Value::Float(1.5)));
        assert_eq!(f.get("c"), Some(&Value::Str("yes".into())));
        assert_eq!(f.get("d"), Some(&Value::Str("NO".into())));
        assert!(matches!(f.get("e"), Some(Value::Date(_))));
        assert_eq!(f.get("f"), Some(&Value::Str("2024-05-01".into())));
        assert_eq!(f.get("g"), Some(&Value::Null));
        assert_eq!(f.get("h").unwrap().items().len(), 2);
        assert_eq!(f.get("i").unwrap().as_link().unwrap().target, "Acme");
        assert!(matches!(f.get("j"), Some(Value::DateTime(_))));
        assert!(f.editable().is_ok());
    }

    #[test]
    fn spans_cover_block_lists_and_scalars() {
        let t = "---\n# head\ntags:\n  - a\n  - \"2024-01-01\"\n\nname: x # c\n---\n";
        let f = fm(t).unwrap();
        let tags = f.entry("tags").unwrap();
        assert_eq!(&t[tags.span.clone()], "tags:\n  - a\n  - \"2024-01-01\"\n");
        assert_eq!(
            tags.value,
            Value::List(vec![
                Value::Str("a".into()),
                Value::Str("2024-01-01".into())
            ])
        );
        assert_eq!(f.entry("name").unwrap().line, 7);
    }

    #[test]
    fn errors_have_lines() {
        let e = fm("---\na: 1\na: 2\n---\n").unwrap_err();
        assert_eq!(e.position(), (3, 1));
        let e = fm("---\na: 1\nb: [\n---\n").unwrap_err();
        assert!(matches!(e, FrontmatterError::Yaml { .. }), "{e:?}");
        let e = fm("---\n- a\n- b\n---\n").unwrap_err();
        assert!(
            matches!(e, FrontmatterError::NotAMap { found: "list", .. }),
            "{e:?}"
        );
        let e = fm("---\ncreated: {{date}}\n---\n").unwrap_err();
        assert_eq!(e.position(), (2, 1));
        assert!(matches!(e, FrontmatterError::Placeholder { .. }), "{e:?}");
        assert!(fm("---\nq: |-\n  folder {{query.file.folder}}\n---\n").is_ok());
        let e = fm("---\na:\n\tb: 1\n---\n").unwrap_err();
        assert!(matches!(e, FrontmatterError::Yaml { .. }), "{e:?}");
    }

    #[test]
    fn json_frontmatter_reads_but_is_not_editable() {
        let f = fm("---\n{ \"tags\": \"journal\", \"publish\": false }\n---\n").unwrap();
        assert_eq!(f.get("publish"), Some(&Value::Bool(false)));
        assert!(f.editable().is_err());
    }

    #[test]
    fn quoted_keys() {
        assert_eq!(split_key("\"a: b\": 1").unwrap().0, "a: b");
        assert_eq!(split_key("'it''s': 1").unwrap().0, "it's");
        assert_eq!(split_key("creation date: 1").unwrap().0, "creation date");
        assert_eq!(split_key("url: http://x").unwrap().0, "url");
        assert!(split_key("no colon here").is_none());
    }
}
