//! A card's attachments as the project note's pull-only `## Documents` list: one line an
//! attachment, its name as a markdown link to its URL, and the day it was attached
//! (`- [NDA signed.pdf](https://…) · 2026-05-01`).
//!
//! What Trello sends is hostile input: a name loses its control characters (NUL, line breaks),
//! is cut to [`MAX_NAME`] characters, and every character markdown or Obsidian reads as syntax
//! (brackets, parentheses, `*`, `_`, `#`, `|`, `<`, `!`, …) is backslash-escaped, so a name
//! like `](javascript:alert(1))` stays text. A URL is linked only when it is absolute `http` or
//! `https` (a `javascript:` link attachment, a relative path that would read as a vault file,
//! are listed by name, unlinked); its spaces, parentheses, brackets, quotes and non-ASCII bytes
//! are percent-encoded, so it cannot end the link early.

use serde_json::Value;

use crate::connectors::SectionItem;

/// The note's heading of the list.
pub const HEADING: &str = "Documents";

/// Most characters of a name shown (longer ones end with `…`).
pub const MAX_NAME: usize = 200;

/// The characters escaped in a link's text: markdown's and Obsidian's syntax.
const SYNTAX: &[char] = &[
    '\\', '`', '*', '_', '[', ']', '(', ')', '<', '>', '#', '!', '|', '~', '=', '$', '%', '^', '{',
    '}', '&',
];

/// A name as a link's text: one line, at most [`MAX_NAME`] characters, syntax escaped.
fn link_text(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let clean = clean.trim();
    let mut out = String::new();
    for (n, c) in clean.chars().enumerate() {
        if n == MAX_NAME {
            out.push('…');
            break;
        }
        if SYNTAX.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A URL as a link's destination: absolute `http(s)` only, percent-encoded where markdown
/// would read it.
fn link_url(url: &str) -> Option<String> {
    let url = url.trim();
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return None;
    }
    let rest = &url[if lower.starts_with("https://") { 8 } else { 7 }..];
    if rest.is_empty() || rest.starts_with('/') {
        return None;
    }
    Some(
        url.bytes()
            .map(|b| match b {
                b'A'..=b'Z'
                | b'a'..=b'z'
                | b'0'..=b'9'
                | b'-'
                | b'.'
                | b'_'
                | b'~'
                | b':'
                | b'/'
                | b'?'
                | b'#'
                | b'@'
                | b'!'
                | b'$'
                | b'&'
                | b'+'
                | b','
                | b';'
                | b'='
                | b'%' => (b as char).to_string(),
                b => format!("%{b:02X}"),
            })
            .collect(),
    )
}

/// The day of an ISO timestamp (UTC), when it reads as one.
fn day(date: &str) -> Option<String> {
    let t: jiff::Timestamp = date.trim().parse().ok()?;
    Some(t.strftime("%Y-%m-%d").to_string())
}

/// One attachment's line.
fn line(att: &Value) -> String {
    let text = |k: &str| att.get(k).and_then(Value::as_str).unwrap_or("");
    let mut name = link_text(text("name"));
    if name.is_empty() {
        name = link_text(text("fileName"));
    }
    if name.is_empty() {
        name = "attachment".into();
    }
    let mut out = match link_url(text("url")) {
        Some(url) => format!("[{name}]({url})"),
        None => name,
    };
    if let Some(d) = day(text("date")) {
        out.push_str(" · ");
        out.push_str(&d);
    }
    out
}

/// The card's attachments as the list's items, oldest first; `None` when the card was read
/// without them.
pub fn items(card: &Value) -> Option<Vec<SectionItem>> {
    let mut atts: Vec<&Value> = card.get("attachments")?.as_array()?.iter().collect();
    let key = |a: &Value| {
        let s = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        (s("date"), s("id"))
    };
    atts.sort_by_key(|a| key(a));
    Some(
        atts.into_iter()
            .map(|a| {
                let text = line(a);
                SectionItem {
                    key: text.clone(),
                    text,
                    checked: None,
                    stamp: None,
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(name: &str, url: &str) -> String {
        line(&json!({ "name": name, "url": url, "date": "2026-05-01T10:15:00.000Z" }))
    }

    #[test]
    fn a_plain_attachment_is_a_link_and_its_day() {
        assert_eq!(
            one(
                "NDA signed.pdf",
                "https://trello.com/1/cards/c/attachments/a/download/NDA%20signed.pdf"
            ),
            "[NDA signed.pdf](https://trello.com/1/cards/c/attachments/a/download/NDA%20signed.pdf) · 2026-05-01"
        );
    }

    #[test]
    fn hostile_names_and_urls_stay_text() {
        assert_eq!(
            one("a\0b\nc", "http://h/x"),
            "[a b c](http://h/x) · 2026-05-01"
        );
        assert_eq!(
            one("](javascript:alert(1))", "http://h/x"),
            "[\\]\\(javascript:alert\\(1\\)\\)](http://h/x) · 2026-05-01"
        );
        assert_eq!(one("x", "javascript:alert(1)"), "x · 2026-05-01");
        assert_eq!(one("x", "../x"), "x · 2026-05-01");
        assert_eq!(one("x", "http:///etc"), "x · 2026-05-01");
        assert_eq!(
            one("x", "https://h/a b)(<[]>\"'\n"),
            "[x](https://h/a%20b%29%28%3C%5B%5D%3E%22%27) · 2026-05-01"
        );
        let long = one(&"é".repeat(10_000), "http://h/x");
        assert_eq!(long.chars().filter(|c| *c == 'é').count(), MAX_NAME);
        assert!(long.starts_with("[éé") && long.contains("…](http://h/x)"));
        assert_eq!(
            line(&json!({ "name": "", "fileName": "", "url": "http://h/x", "date": "nope" })),
            "[attachment](http://h/x)"
        );
    }
}
