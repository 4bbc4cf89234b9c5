//! The vault template (`vault-template/` in the source tree), embedded in the binary, and the
//! filling of Obsidian template placeholders (`{{title}}`, `{{date}}`, `{{date:YYYY-MM-DD}}`,
//! `{{time}}`).

use crate::vault::value::{is_datetime, parse_date};

include!(concat!(env!("OUT_DIR"), "/template_files.rs"));

/// The embedded file at `rel`.
pub fn file(rel: &str) -> Option<&'static [u8]> {
    FILES.iter().find(|(p, _)| *p == rel).map(|(_, b)| *b)
}

/// The template file name of a note type: `Templates/Client.md` for `client`.
pub fn template_name(ty: &str) -> String {
    let mut c = ty.chars();
    let cap: String = c
        .next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default();
    format!("{cap}.md")
}

/// Fills Obsidian's core template placeholders in a note: in the frontmatter the values are
/// written so that the YAML stays valid (escaped inside quotes, quoted when bare text needs it),
/// in the body as they are.
///
/// Templates quote their date placeholders (`created: "{{date:YYYY-MM-DD}}"`), as Obsidian's
/// Templates help asks, so that the template itself is valid YAML. When the whole quoted value of
/// a key for which `date_key` is true is one placeholder and it fills to a date or date and time,
/// the quotes are dropped (`created: 2026-11-27`): the note holds a YAML date, as Obsidian writes
/// a date property, not a string that looks like one.
pub fn fill_note(
    text: &str,
    title: &str,
    now: jiff::civil::DateTime,
    date_key: &dyn Fn(&str) -> bool,
) -> String {
    let block = crate::vault::note::layout(text)
        .ok()
        .and_then(|l| l.frontmatter);
    let Some(block) = block else {
        return fill(text, title, now);
    };
    let mut out = String::with_capacity(text.len() + title.len());
    out.push_str(&text[..block.yaml.start]);
    for line in text[block.yaml.clone()].split_inclusive('\n') {
        out.push_str(&fill_yaml_line(line, title, now, date_key));
    }
    out.push_str(&fill(&text[block.yaml.end..], title, now));
    out
}

/// Fills the placeholders of one YAML line, minding the quotes they stand in.
fn fill_yaml_line(
    line: &str,
    title: &str,
    now: jiff::civil::DateTime,
    date_key: &dyn Fn(&str) -> bool,
) -> String {
    if let Some(bare) = bare_date(line, title, now, date_key) {
        return bare;
    }
    let mut out = String::new();
    let mut rest = line;
    while let Some(a) = rest.find("{{") {
        let Some(b) = rest[a..].find("}}") else { break };
        let before = &rest[..a];
        out.push_str(before);
        let value = fill(&rest[a..a + b + 2], title, now);
        let doubles = out.matches('"').count() - out.matches("\\\"").count();
        let singles = out.matches('\'').count();
        if doubles % 2 == 1 {
            out.push_str(&value.replace('\\', "\\\\").replace('"', "\\\""));
        } else if singles % 2 == 1 {
            out.push_str(&value.replace('\'', "''"));
        } else if before.trim_end().ends_with(':')
            && rest[a + b + 2..].trim().is_empty()
            && !crate::vault::editor::plain_ok(&value)
            && parse_date(&value).is_none()
            && !is_datetime(&value)
        {
            out.push_str(&crate::vault::editor::quote(&value));
        } else {
            out.push_str(&value);
        }
        rest = &rest[a + b + 2..];
    }
    out.push_str(rest);
    out
}

/// `key: "{{date…}}"` (or single-quoted, a comment allowed after it) of a top-level date key,
/// filled without the quotes when the value is a date or a date and time.
fn bare_date(
    line: &str,
    title: &str,
    now: jiff::civil::DateTime,
    date_key: &dyn Fn(&str) -> bool,
) -> Option<String> {
    let (key, rest) = line.split_once(':')?;
    if key.is_empty() || key.starts_with([' ', '\t', '-', '#']) || !date_key(key.trim()) {
        return None;
    }
    let body = rest.trim_start();
    let q = body.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let inner = &body[1..];
    let end = inner.find(q)?;
    let placeholder = &inner[..end];
    let after = &inner[end + 1..];
    let after_ok = after.trim().is_empty()
        || after.starts_with([' ', '\t']) && after.trim_start().starts_with('#');
    let one = placeholder.starts_with("{{")
        && placeholder.ends_with("}}")
        && placeholder.matches("{{").count() == 1;
    if !one || !after_ok {
        return None;
    }
    let value = fill(placeholder, title, now);
    if parse_date(&value).is_none() && !is_datetime(&value) {
        return None;
    }
    let lead = &rest[..rest.len() - body.len()];
    Some(format!("{key}:{lead}{value}{after}"))
}

/// Fills Obsidian's core template placeholders in plain text.
pub fn fill(text: &str, title: &str, now: jiff::civil::DateTime) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(a) = rest.find("{{") {
        let Some(b) = rest[a..].find("}}") else { break };
        out.push_str(&rest[..a]);
        let inner = rest[a + 2..a + b].trim();
        let (name, fmt) = match inner.split_once(':') {
            Some((n, f)) => (n.trim(), Some(f.trim())),
            None => (inner, None),
        };
        match name.to_ascii_lowercase().as_str() {
            "title" => out.push_str(title),
            "date" => out.push_str(&moment(fmt.unwrap_or("YYYY-MM-DD"), now)),
            "time" => out.push_str(&moment(fmt.unwrap_or("HH:mm"), now)),
            _ => out.push_str(&rest[a..a + b + 2]),
        }
        rest = &rest[a + b + 2..];
    }
    out.push_str(rest);
    out
}

/// Formats `now` with the moment.js tokens Obsidian's templates use.
fn moment(fmt: &str, now: jiff::civil::DateTime) -> String {
    let tokens: [(&str, String); 6] = [
        ("YYYY", format!("{:04}", now.year())),
        ("MM", format!("{:02}", now.month())),
        ("DD", format!("{:02}", now.day())),
        ("HH", format!("{:02}", now.hour())),
        ("mm", format!("{:02}", now.minute())),
        ("ss", format!("{:02}", now.second())),
    ];
    let mut out = String::new();
    let mut rest = fmt;
    'outer: while !rest.is_empty() {
        for (t, v) in &tokens {
            if let Some(r) = rest.strip_prefix(t) {
                out.push_str(v);
                rest = r;
                continue 'outer;
            }
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_placeholders() {
        let now = jiff::civil::date(2026, 11, 27).at(9, 5, 7, 0);
        let t = fill(
            "a {{title}} {{date}} {{date:YYYY-MM-DDTHH:mm:ss}} {{time}} {{other}}",
            "X",
            now,
        );
        assert_eq!(t, "a X 2026-11-27 2026-11-27T09:05:07 09:05 {{other}}");
        assert!(file("ssot-vault.toml").is_some());
        assert_eq!(template_name("client"), "Client.md");
        let t = fill_note(
            "---\na: \"{{title}}\"\nb: {{title}}\nc: {{date}}\n---\n{{title}}\n",
            "Say \"hi\": now",
            now,
            &|_| true,
        );
        assert_eq!(
            t,
            "---\na: \"Say \\\"hi\\\": now\"\nb: \"Say \\\"hi\\\": now\"\nc: 2026-11-27\n---\nSay \"hi\": now\n"
        );
    }

    #[test]
    fn quoted_date_placeholders_of_date_keys_fill_bare() {
        let now = jiff::civil::date(2026, 11, 27).at(9, 5, 7, 0);
        let dates = |k: &str| matches!(k, "created" | "opened" | "when");
        let t = fill_note(
            "---\ncreated: \"{{date:YYYY-MM-DD}}\"\nopened: '{{date:YYYY-MM-DDTHH:mm:ss}}'  # first message\r\nlabel: \"{{date}}\"\nwhen: \"{{title}}\"\nwhen: \"on {{date}}\"\n---\n\"{{date}}\"\n",
            "X",
            now,
            &dates,
        );
        assert_eq!(
            t,
            "---\ncreated: 2026-11-27\nopened: 2026-11-27T09:05:07  # first message\r\nlabel: \"2026-11-27\"\nwhen: \"X\"\nwhen: \"on 2026-11-27\"\n---\n\"2026-11-27\"\n"
        );
    }
}
