//! The vault template (`vault-template/` in the source tree), embedded in the binary, and the
//! filling of Obsidian template placeholders (`{{title}}`, `{{date}}`, `{{date:YYYY-MM-DD}}`,
//! `{{time}}`).

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

/// Fills Obsidian's core template placeholders.
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
    }
}
