//! Field-level differences between two versions of a note: which properties were added, removed
//! or changed (compared as typed values, so re-quoting or re-indenting a value is no change), and
//! how many body lines were added and removed.
//!
//! Used by `status`, by the audit message of `commit`, by `log`, and by the sync engine.

use serde::Serialize;

use crate::vault::note::Note;
use crate::vault::value::Value;

/// One property whose value differs between two versions of a note.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    /// The property name.
    pub key: String,
    /// The old value; `None` when the property was added.
    pub old: Option<Value>,
    /// The new value; `None` when the property was removed.
    pub new: Option<Value>,
}

impl FieldChange {
    /// One line: `key: old → new`, `+ key: new` (added) or `- key: old` (removed).
    pub fn describe(&self) -> String {
        self.describe_with(show)
    }

    /// [`FieldChange::describe`] with the values shown by `show`.
    pub fn describe_with(&self, show: impl Fn(&Value) -> String) -> String {
        match (&self.old, &self.new) {
            (Some(o), Some(n)) => format!("{}: {} → {}", self.key, show(o), show(n)),
            (None, Some(n)) => format!("+ {}: {}", self.key, show(n)),
            (Some(o), None) => format!("- {}: {}", self.key, show(o)),
            (None, None) => format!("{}: (unchanged)", self.key),
        }
    }
}

/// How many body lines were added and removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BodySummary {
    /// Lines added.
    pub added_lines: usize,
    /// Lines removed.
    pub removed_lines: usize,
}

impl BodySummary {
    /// `body: +3 −1 lines`.
    pub fn describe(&self) -> String {
        format!("body: +{} −{} lines", self.added_lines, self.removed_lines)
    }
}

/// The differences between two versions of a note.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NoteDiff {
    /// Changed properties: in the new version's order, then the removed ones in the old order.
    pub fields: Vec<FieldChange>,
    /// The body's line changes, when the body changed.
    pub body: Option<BodySummary>,
    /// Why a version could not be read, when one could not (then `fields` and `body` are empty).
    pub unreadable: Option<String>,
}

impl NoteDiff {
    /// True when nothing differs (and both sides were read).
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.body.is_none() && self.unreadable.is_none()
    }

    /// The change of `key`, if it changed.
    pub fn field(&self, key: &str) -> Option<&FieldChange> {
        self.fields.iter().find(|f| f.key == key)
    }

    /// One line per change: the fields' [`FieldChange::describe`], then the body's, then the
    /// unreadable reason.
    pub fn lines(&self) -> Vec<String> {
        self.lines_with(show)
    }

    /// [`NoteDiff::lines`] with the values shown by `show`.
    pub fn lines_with(&self, show: impl Fn(&Value) -> String) -> Vec<String> {
        let mut out: Vec<String> = self.fields.iter().map(|f| f.describe_with(&show)).collect();
        if let Some(b) = &self.body {
            out.push(b.describe());
        }
        if let Some(u) = &self.unreadable {
            out.push(format!("unreadable: {u}"));
        }
        out
    }
}

/// A value in one line, for messages: strings are shown plain unless they would read as
/// something else (a number, a date, `true`, empty), then they are quoted.
pub fn show(v: &Value) -> String {
    match v {
        Value::Str(s) if needs_quotes(s) => {
            serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
        }
        Value::List(items) => {
            let inner: Vec<String> = items.iter().map(show).collect();
            format!("[{}]", inner.join(", "))
        }
        other => other.to_string(),
    }
}

fn needs_quotes(s: &str) -> bool {
    s.is_empty()
        || s.trim() != s
        || s.contains(['\n', '\r', '\t'])
        || s.contains(", ")
        || matches!(s, "true" | "false" | "null" | "~" | "(empty)")
        || s.parse::<f64>().is_ok()
        || crate::vault::value::parse_date(s).is_some()
        || crate::vault::value::is_datetime(s)
}

/// Compares two versions of a note (`None`: the side does not exist). A side that does not parse
/// is reported in `unreadable`, never an error.
pub fn note_changes(old: Option<&[u8]>, new: Option<&[u8]>) -> NoteDiff {
    let parse = |bytes: Option<&[u8]>, side: &str| -> Result<Option<Note>, String> {
        match bytes {
            None => Ok(None),
            Some(b) => Note::parse(b).map(Some).map_err(|e| {
                let (line, _) = e.position();
                format!("{side} version, line {line}: {e}")
            }),
        }
    };
    let (old, new) = match (parse(old, "old"), parse(new, "new")) {
        (Ok(o), Ok(n)) => (o, n),
        (o, n) => {
            let reasons: Vec<String> = [o.err(), n.err()].into_iter().flatten().collect();
            return NoteDiff {
                unreadable: Some(reasons.join("; ")),
                ..NoteDiff::default()
            };
        }
    };
    let old_map = old.as_ref().map(props).unwrap_or_default();
    let new_map = new.as_ref().map(props).unwrap_or_default();
    let mut fields = Vec::new();
    for (key, nv) in &new_map {
        match old_map.iter().find(|(k, _)| k == key) {
            Some((_, ov)) if same(ov, nv) => {}
            Some((_, ov)) => fields.push(FieldChange {
                key: key.clone(),
                old: Some(ov.clone()),
                new: Some(nv.clone()),
            }),
            None => fields.push(FieldChange {
                key: key.clone(),
                old: None,
                new: Some(nv.clone()),
            }),
        }
    }
    for (key, ov) in &old_map {
        if !new_map.iter().any(|(k, _)| k == key) {
            fields.push(FieldChange {
                key: key.clone(),
                old: Some(ov.clone()),
                new: None,
            });
        }
    }
    let old_body = old.as_ref().map_or("", Note::body);
    let new_body = new.as_ref().map_or("", Note::body);
    NoteDiff {
        fields,
        body: body_summary(old_body, new_body),
        unreadable: None,
    }
}

fn props(n: &Note) -> Vec<(String, Value)> {
    n.frontmatter
        .as_ref()
        .map(|f| f.to_map())
        .unwrap_or_default()
}

/// Equal values; NaN equals NaN (a value that did not change is no change).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x == y || x.is_nan() && y.is_nan(),
        _ => a == b,
    }
}

/// Counts added and removed lines; `None` when the bodies are equal.
pub fn body_summary(old: &str, new: &str) -> Option<BodySummary> {
    if old == new {
        return None;
    }
    let diff = similar::TextDiff::from_lines(old, new);
    let mut s = BodySummary {
        added_lines: 0,
        removed_lines: 0,
    };
    for change in diff.iter_all_changes() {
        match change.tag() {
            similar::ChangeTag::Insert => s.added_lines += 1,
            similar::ChangeTag::Delete => s.removed_lines += 1,
            similar::ChangeTag::Equal => {}
        }
    }
    (s.added_lines > 0 || s.removed_lines > 0).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(old: &str, new: &str) -> NoteDiff {
        note_changes(Some(old.as_bytes()), Some(new.as_bytes()))
    }

    #[test]
    fn changed_added_removed_in_order() {
        let nd = d(
            "---\nstatus: intake\nold: 1\nname: A\n---\nbody\n",
            "---\nname: A\nphone: \"+48 600\"\nstatus: matching\n---\nbody\n",
        );
        let keys: Vec<&str> = nd.fields.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["phone", "status", "old"]);
        assert_eq!(
            nd.lines(),
            ["+ phone: +48 600", "status: intake → matching", "- old: 1"]
        );
        assert_eq!(nd.body, None);
    }

    #[test]
    fn typed_values_ignore_formatting() {
        // Quoting, flow vs block lists and spacing are no change.
        let nd = d(
            "---\na: \"x\"\nl: [1, 2]\nn: 3\n---\n",
            "---\na: x\nl:\n  - 1\n  - 2\nn:   3\n---\n",
        );
        assert!(nd.is_empty(), "{nd:?}");
    }

    #[test]
    fn typed_values_differ_by_type() {
        // An unquoted date and a quoted string differ; 3 and "3" differ.
        let nd = d(
            "---\nd: 2024-05-01\nn: 3\n---\n",
            "---\nd: \"2024-05-01\"\nn: \"3\"\n---\n",
        );
        assert_eq!(
            nd.lines(),
            ["d: 2024-05-01 → \"2024-05-01\"", "n: 3 → \"3\""]
        );
        assert_eq!(
            nd.fields[0].old,
            Some(Value::Date(jiff::civil::date(2024, 5, 1)))
        );
        assert_eq!(nd.fields[1].new, Some(Value::Str("3".into())));
    }

    #[test]
    fn lists_and_bools() {
        let nd = d(
            "---\ntags: [a, b]\nok: false\n---\n",
            "---\ntags: [a, c]\nok: true\n---\n",
        );
        assert_eq!(nd.lines(), ["tags: [a, b] → [a, c]", "ok: false → true"]);
    }

    #[test]
    fn body_lines() {
        let nd = d(
            "---\na: 1\n---\none\ntwo\n",
            "---\na: 1\n---\none\n2\nthree\nfour\n",
        );
        assert_eq!(
            nd.body,
            Some(BodySummary {
                added_lines: 3,
                removed_lines: 1
            })
        );
        assert_eq!(nd.lines(), ["body: +3 −1 lines"]);
    }

    #[test]
    fn added_and_deleted_notes() {
        let nd = note_changes(None, Some(b"---\na: 1\n---\nx\n"));
        assert_eq!(nd.lines(), ["+ a: 1", "body: +1 −0 lines"]);
        let nd = note_changes(Some(b"---\na: 1\n---\n"), None);
        assert_eq!(nd.lines(), ["- a: 1"]);
    }

    #[test]
    fn unreadable_side_is_reported() {
        let nd = d("---\na: 1\n---\n", "---\na: [1\n---\n");
        assert!(nd.fields.is_empty());
        let u = nd.unreadable.unwrap_or_default();
        assert!(u.starts_with("new version, line 3: invalid YAML"), "{u}");
        let nd = note_changes(Some(b"---\na: 1\n"), Some(b"\x00"));
        let u = nd.unreadable.unwrap_or_default();
        assert!(
            u.contains("old version") && u.contains("new version"),
            "{u}"
        );
    }

    #[test]
    fn note_without_frontmatter() {
        let nd = d("just text\n", "---\nstatus: intake\n---\njust text\n");
        assert_eq!(nd.lines(), ["+ status: intake"]);
    }
}
