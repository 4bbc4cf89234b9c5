//! Credentialing: the `## Credentialing` task list a project note gets when its expert accepts
//! (contract, NDA, invoicing details, access to systems; the list is `[workflow] credentialing`
//! in `ssot-vault.toml`). The project becomes active only when every task is checked; the tasks
//! are ticked in Obsidian (or, later, on the Trello checklist).

use crate::vault::body::Body;
use crate::vault::note::Note;

/// The heading of the section.
pub const HEADING: &str = "Credentialing";

/// The tasks under `## Credentialing` as (text, checked), `None` without such a heading.
pub fn tasks(body: &Body) -> Option<Vec<(String, bool)>> {
    body.headings
        .iter()
        .any(|h| h.text.eq_ignore_ascii_case(HEADING))
        .then(|| {
            body.tasks_under(HEADING)
                .map(|t| (t.text.clone(), t.checked))
                .collect()
        })
}

/// The tasks of a note's body.
pub fn tasks_of(note: &Note) -> Option<Vec<(String, bool)>> {
    tasks(&crate::vault::body::parse(
        &note.text,
        note.layout.body_start,
    ))
}

/// The section's markdown: heading and one open task per item, in the note's line endings.
pub fn section(items: &[String], newline: &str) -> String {
    let mut s = format!("## {HEADING}{newline}{newline}");
    for i in items {
        s.push_str(&format!("- [ ] {}{newline}", i.trim()));
    }
    s
}

/// The note text with the section appended at the end of the body, unless the note already has
/// a `## Credentialing` heading (then the text is returned as it is: its tasks are kept).
pub fn add_section(note: &Note, items: &[String]) -> String {
    if tasks_of(note).is_some() {
        return note.text.clone();
    }
    let nl = newline_of(&note.text);
    let mut text = note.text.clone();
    append_block(&mut text, &section(items, nl), nl);
    text
}

/// The note's line ending (CRLF when its first line ends so).
pub fn newline_of(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// Appends a markdown block at the end of `text`, separated by one blank line.
pub fn append_block(text: &mut String, block: &str, nl: &str) {
    if !text.is_empty() && !text.ends_with('\n') {
        text.push_str(nl);
    }
    let body_empty = crate::vault::note::layout(text)
        .map(|l| text[l.body_start..].trim().is_empty())
        .unwrap_or(false);
    if !body_empty && !text.ends_with(&format!("{nl}{nl}")) {
        text.push_str(nl);
    }
    text.push_str(block);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_once_and_reads_back() {
        let n = Note::parse(b"---\ntype: project\n---\n## Scope\n\nShop.\n").unwrap();
        let items = vec!["Contract signed".to_string(), "NDA".to_string()];
        let t = add_section(&n, &items);
        assert_eq!(
            t,
            "---\ntype: project\n---\n## Scope\n\nShop.\n\n## Credentialing\n\n- [ ] Contract signed\n- [ ] NDA\n"
        );
        let n2 = Note::parse_text(t.clone()).unwrap();
        assert_eq!(
            tasks_of(&n2),
            Some(vec![
                ("Contract signed".to_string(), false),
                ("NDA".to_string(), false)
            ])
        );
        assert_eq!(add_section(&n2, &items), t);
        assert_eq!(tasks_of(&n), None);
    }

    #[test]
    fn keeps_crlf_and_handles_an_empty_body() {
        let n = Note::parse(b"---\r\ntype: project\r\n---\r\n").unwrap();
        let t = add_section(&n, &["NDA".to_string()]);
        assert_eq!(
            t,
            "---\r\ntype: project\r\n---\r\n## Credentialing\r\n\r\n- [ ] NDA\r\n"
        );
    }
}
