//! Synced body sections as the note holds them: a `## Heading` followed by a task list
//! (`- [ ] text`, `- [x] text`), by a list the service owns (`- text`, one line an item), by
//! free text (one item: the whole content, trimmed), or by comments, each a `### stamp` heading (`2026-05-01T10:15:00
//! · client · Piekarnia`, the helpdesk conversation's form) and its text. Read into
//! [`SectionItem`]s for the sync's merge, and written back in place: only the section's content
//! is replaced, the rest of the note keeps its bytes; a missing section is added at the end.
//!
//! What a service sends is hostile input: an item's text loses its control characters and line
//! breaks (a task is one line), a comment line that would read as a heading is escaped (`\#`).

/// How a synced body section is merged (the sync's merge: `sync::sections`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SectionKind {
    /// A task list (`- [ ] text`), merged by text and checked state.
    Tasks,
    /// An append-only comment list, merged by union on the stamp.
    Comments,
    /// Free text (a description), one item holding the whole content, merged as one value
    /// three-way like a field.
    Text,
    /// A list the service owns (`- text`, one line an item; a card's attachments): pull only,
    /// the note takes the service's list whole and never sends it. The service's side renders
    /// each item's text (and escapes what it got). An empty list adds no section.
    List,
}

/// The key of the one item of a [`SectionKind::Text`] section.
pub const TEXT_KEY: &str = "text";

/// An item of a synced body section (a checklist item, a comment).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SectionItem {
    /// A stable key (checklist item text, comment id).
    pub key: String,
    /// The item's text.
    pub text: String,
    /// Checked state of a task item.
    pub checked: Option<bool>,
    /// Author and time of a comment (append-only sections are merged by union on these).
    pub stamp: Option<String>,
}

/// The byte range of the section's content (after its heading line, up to the next heading of
/// level 1 or 2), when the note has the section.
fn content_range(text: &str, heading: &str) -> Option<(usize, usize)> {
    let mut offset = 0;
    let mut start = None;
    let mut in_code = false;
    for line in text.split_inclusive('\n') {
        let l = line.trim_end_matches(['\r', '\n']);
        if l.trim_start().starts_with("```") {
            in_code = !in_code;
        }
        let is_top = !in_code && (l.starts_with("# ") || l.starts_with("## "));
        match start {
            Some(s) if is_top => return Some((s, offset)),
            None if is_top
                && l.strip_prefix("## ")
                    .is_some_and(|h| h.trim().eq_ignore_ascii_case(heading)) =>
            {
                start = Some(offset + line.len());
            }
            _ => {}
        }
        offset += line.len();
    }
    start.map(|s| (s, text.len()))
}

/// One line: control characters and line breaks become spaces, trimmed.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// The section's items, `None` when the note has no such section.
pub fn read(text: &str, kind: SectionKind, heading: &str) -> Option<Vec<SectionItem>> {
    let (s, e) = content_range(text, heading)?;
    let content = &text[s..e];
    let mut out: Vec<SectionItem> = Vec::new();
    match kind {
        SectionKind::Text => {
            let mut in_code = false;
            let text = content
                .lines()
                .map(|l| {
                    let l = l.trim_end_matches('\r').trim_end();
                    if l.trim_start().starts_with("```") {
                        in_code = !in_code;
                    }
                    match l.strip_prefix('\\') {
                        Some(rest) if !in_code && is_escaped_heading(rest) => rest,
                        _ => l,
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
                .trim_matches('\n')
                .to_string();
            if !text.is_empty() {
                out.push(SectionItem {
                    key: TEXT_KEY.into(),
                    text,
                    checked: None,
                    stamp: None,
                });
            }
        }
        SectionKind::Tasks => {
            for l in content.lines() {
                let t = l.trim_start();
                let (checked, rest) = if let Some(r) = t.strip_prefix("- [ ] ") {
                    (false, r)
                } else if let Some(r) = t
                    .strip_prefix("- [x] ")
                    .or_else(|| t.strip_prefix("- [X] "))
                {
                    (true, r)
                } else {
                    continue;
                };
                let text = one_line(rest);
                out.push(SectionItem {
                    key: text.clone(),
                    text,
                    checked: Some(checked),
                    stamp: None,
                });
            }
        }
        SectionKind::List => {
            for l in content.lines() {
                if let Some(rest) = l.trim_start().strip_prefix("- ") {
                    let text = one_line(rest);
                    out.push(SectionItem {
                        key: text.clone(),
                        text,
                        checked: None,
                        stamp: None,
                    });
                }
            }
        }
        SectionKind::Comments => {
            let mut body: Vec<&str> = Vec::new();
            let flush = |out: &mut Vec<SectionItem>, body: &mut Vec<&str>| {
                if let Some(m) = out.last_mut() {
                    let lines: Vec<String> = body
                        .iter()
                        .map(|l| match l.strip_prefix("\\#") {
                            Some(rest) => format!("#{rest}"),
                            None => l.to_string(),
                        })
                        .collect();
                    m.text = lines.join("\n").trim().to_string();
                }
                body.clear();
            };
            for l in content.lines() {
                let l = l.trim_end_matches('\r');
                if let Some(stamp) = l.strip_prefix("### ") {
                    flush(&mut out, &mut body);
                    let stamp = one_line(stamp);
                    out.push(SectionItem {
                        key: stamp.clone(),
                        text: String::new(),
                        checked: None,
                        stamp: Some(stamp),
                    });
                } else if !out.is_empty() {
                    body.push(l);
                }
            }
            flush(&mut out, &mut body);
        }
    }
    Some(out)
}

/// Whether `line` is a heading of level 1 or 2 behind zero or more backslashes (`## x`,
/// `\\# x`): a text section's line that gets (or loses) one backslash.
fn is_escaped_heading(line: &str) -> bool {
    let rest = line.trim_start_matches('\\');
    rest.starts_with("# ") || rest.starts_with("## ")
}

/// The section's content for `items`, in the note's line endings.
fn render(kind: SectionKind, items: &[SectionItem], nl: &str) -> String {
    let mut s = String::new();
    match kind {
        SectionKind::Text => {
            let mut in_code = false;
            for i in items {
                for l in i.text.trim_matches('\n').lines() {
                    let l = l.trim_end_matches('\r');
                    if l.trim_start().starts_with("```") {
                        in_code = !in_code;
                    }
                    // A line that would end the section (a heading of level 1 or 2) gets one
                    // more backslash, taken off when read.
                    if !in_code && is_escaped_heading(l) {
                        s.push('\\');
                    }
                    s.push_str(l);
                    s.push_str(nl);
                }
            }
        }
        SectionKind::Tasks => {
            for i in items {
                let mark = if i.checked == Some(true) { 'x' } else { ' ' };
                s.push_str(&format!("- [{mark}] {}{nl}", one_line(&i.text)));
            }
        }
        SectionKind::List => {
            for i in items {
                s.push_str(&format!("- {}{nl}", one_line(&i.text)));
            }
        }
        SectionKind::Comments => {
            for (n, i) in items.iter().enumerate() {
                if n > 0 {
                    s.push_str(nl);
                }
                let stamp = one_line(i.stamp.as_deref().unwrap_or(&i.key));
                s.push_str(&format!("### {stamp}{nl}{nl}"));
                for l in i.text.trim().lines() {
                    let l: String = l
                        .trim_end_matches('\r')
                        .chars()
                        .filter(|c| !c.is_control() || *c == '\t')
                        .collect();
                    if l.starts_with('#') {
                        s.push('\\');
                    }
                    s.push_str(&l);
                    s.push_str(nl);
                }
            }
        }
    }
    s
}

/// The note's text with the section's content replaced by `items` (the section added at the end
/// when missing). The heading line and everything outside the section keep their bytes.
pub fn write(text: &str, kind: SectionKind, heading: &str, items: &[SectionItem]) -> String {
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let body = render(kind, items, nl);
    match content_range(text, heading) {
        Some((s, e)) => {
            let rest = &text[e..];
            let sep = if rest.is_empty() { "" } else { nl };
            format!("{}{nl}{body}{sep}{rest}", &text[..s])
        }
        None if kind == SectionKind::List && items.is_empty() => text.to_string(),
        None => {
            let mut t = text.to_string();
            if !t.is_empty() && !t.ends_with('\n') {
                t.push_str(nl);
            }
            if !t.is_empty() && !t.ends_with(&format!("{nl}{nl}")) {
                t.push_str(nl);
            }
            t.push_str(&format!("## {heading}{nl}{nl}{body}"));
            t
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: &str = "---\ntype: project\n---\n\n# P\n\n## Credentialing\n\n- [x] NDA signed\n- [ ] Contract\n\n## Notes\n\nkept\n";

    #[test]
    fn tasks_read_and_written_in_place() {
        let items = read(NOTE, SectionKind::Tasks, "Credentialing").unwrap();
        assert_eq!(
            items
                .iter()
                .map(|i| (i.text.as_str(), i.checked))
                .collect::<Vec<_>>(),
            [("NDA signed", Some(true)), ("Contract", Some(false))]
        );
        // Written back unchanged: the same bytes.
        assert_eq!(
            write(NOTE, SectionKind::Tasks, "Credentialing", &items),
            NOTE
        );
        let mut more = items.clone();
        more[1].checked = Some(true);
        more.push(SectionItem {
            key: "Bank\u{0}details\nx".into(),
            text: "Bank\u{0}details\nx".into(),
            checked: Some(false),
            stamp: None,
        });
        assert_eq!(
            write(NOTE, SectionKind::Tasks, "Credentialing", &more),
            NOTE.replace("- [ ] Contract\n", "- [x] Contract\n- [ ] Bank details x\n")
        );
        assert_eq!(read(NOTE, SectionKind::Tasks, "Missing"), None);
    }

    #[test]
    fn text_is_one_item_and_its_headings_stay_inside_the_section() {
        let text =
            "---\ntype: project\n---\n\n## Brief\n\nSome *text*\n\\# escaped\n\n## Notes\n\nkept\n";
        let items = read(text, SectionKind::Text, "Brief").unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].text, "Some *text*\n# escaped");
        assert_eq!(write(text, SectionKind::Text, "Brief", &items), text);
        let mut other = items.clone();
        other[0].text = "## Sub\n\\# lit\n```\n## in code\n```".into();
        let out = write(text, SectionKind::Text, "Brief", &other);
        assert!(
            out.contains("\\## Sub\n\\\\# lit\n```\n## in code\n```\n\n## Notes"),
            "{out}"
        );
        assert_eq!(read(&out, SectionKind::Text, "Brief").unwrap(), other);
        assert_eq!(
            read(
                &write(text, SectionKind::Text, "Brief", &[]),
                SectionKind::Text,
                "Brief"
            ),
            Some(Vec::new())
        );
    }

    #[test]
    fn a_missing_section_is_added_at_the_end() {
        let text = "---\ntype: project\n---\n\nbody";
        let item = SectionItem {
            key: "NDA".into(),
            text: "NDA".into(),
            checked: Some(false),
            stamp: None,
        };
        let out = write(text, SectionKind::Tasks, "Credentialing", &[item]);
        assert_eq!(out, format!("{text}\n\n## Credentialing\n\n- [ ] NDA\n"));
        assert_eq!(
            read(&out, SectionKind::Tasks, "Credentialing")
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn comments_read_and_written_with_headings_in_their_text_escaped() {
        let text = "---\ntype: ticket\n---\n\n## Conversation\n\n### 2026-05-01T10:15:00 · client · Piekarnia\n\nHello\n\\# not a heading\n\n### 2026-05-01T11:02:00 · expert · Anna\n\nOn it\n";
        let items = read(text, SectionKind::Comments, "Conversation").unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].text, "Hello\n# not a heading");
        assert_eq!(items[1].key, "2026-05-01T11:02:00 · expert · Anna");
        assert_eq!(
            write(text, SectionKind::Comments, "Conversation", &items),
            text
        );
        let hostile = SectionItem {
            key: "2026-05-02T09:00:00 · client · X\n## Injected".into(),
            text: "## Injected\u{7}\nok".into(),
            checked: None,
            stamp: Some("2026-05-02T09:00:00 · client · X\n## Injected".into()),
        };
        let mut all = items.clone();
        all.push(hostile);
        let out = write(text, SectionKind::Comments, "Conversation", &all);
        assert!(
            out.ends_with(
                "### 2026-05-02T09:00:00 · client · X ## Injected\n\n\\## Injected\nok\n"
            ),
            "{out}"
        );
        let back = read(&out, SectionKind::Comments, "Conversation").unwrap();
        assert_eq!(back.len(), 3, "no heading injected");
        assert_eq!(back[2].text, "## Injected\nok");
    }

    #[test]
    fn a_list_is_read_back_as_written_and_an_empty_one_adds_no_section() {
        let item = |t: &str| SectionItem {
            key: t.into(),
            text: t.into(),
            checked: None,
            stamp: None,
        };
        assert_eq!(write(NOTE, SectionKind::List, "Documents", &[]), NOTE);
        let items = [item("[NDA](https://h/n) · 2026-05-01"), item("x\\] · y")];
        let out = write(NOTE, SectionKind::List, "Documents", &items);
        assert!(
            out.ends_with("## Notes\n\nkept\n\n## Documents\n\n- [NDA](https://h/n) · 2026-05-01\n- x\\] · y\n"),
            "{out}"
        );
        assert_eq!(read(&out, SectionKind::List, "Documents").unwrap(), items);
        let emptied = write(&out, SectionKind::List, "Documents", &[]);
        assert!(emptied.ends_with("## Documents\n\n"), "{emptied}");
        assert_eq!(read(&emptied, SectionKind::List, "Documents"), Some(vec![]));
    }

    #[test]
    fn crlf_notes_keep_their_line_endings() {
        let text = NOTE.replace('\n', "\r\n");
        let mut items = read(&text, SectionKind::Tasks, "Credentialing").unwrap();
        assert_eq!(items.len(), 2);
        items[1].checked = Some(true);
        let out = write(&text, SectionKind::Tasks, "Credentialing", &items);
        assert_eq!(out, text.replace("- [ ] Contract", "- [x] Contract"));
    }
}
