//! Git trailers (`Key: value` lines in a commit message's last paragraph): writing them and
//! reading them back.
//!
//! Read by hand rather than through libgit2 so that the rule is ours and tested: the last
//! paragraph of a message with at least two paragraphs is a trailer block when every line of it
//! is `Token: value` (token: letters, digits, `-`). A value never holds a line break: writing one
//! replaces breaks with spaces.

/// The trailers of `message`, in order (keys as written).
pub fn parse(message: &str) -> Vec<(String, String)> {
    let text = message.replace("\r\n", "\n");
    let paragraphs: Vec<&str> = text
        .split("\n\n")
        .map(|p| p.trim_matches('\n'))
        .filter(|p| !p.trim().is_empty())
        .collect();
    if paragraphs.len() < 2 {
        return Vec::new();
    }
    let last = paragraphs[paragraphs.len() - 1];
    let mut out = Vec::new();
    for line in last.lines() {
        match split_trailer(line) {
            Some(kv) => out.push(kv),
            None => return Vec::new(),
        }
    }
    out
}

/// The values of trailer `key` (compared case-insensitively, as git does).
pub fn values<'a>(
    trailers: &'a [(String, String)],
    key: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    trailers
        .iter()
        .filter(move |(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

fn split_trailer(line: &str) -> Option<(String, String)> {
    let (key, value) = line.split_once(':')?;
    let token = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !token || !(value.is_empty() || value.starts_with(' ')) {
        return None;
    }
    Some((key.to_string(), value.trim().to_string()))
}

/// An `Ssot-Transition` value read back: `from→to` (a commit that moves one note, as the
/// workflow's commands make), or `<note path>: from→to` (a sync commit that takes the moves of
/// several notes, the form of `Ssot-Illegal-Transition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransitionValue<'a> {
    /// The note it names, when it names one.
    pub note: Option<&'a str>,
    /// The status before.
    pub from: &'a str,
    /// The status after.
    pub to: &'a str,
}

impl TransitionValue<'_> {
    /// Whether it is about the note at `path`: it names that note, or names none.
    pub fn concerns(&self, path: &str) -> bool {
        self.note.is_none_or(|n| n == path)
    }
}

/// Reads an `Ssot-Transition` value; `None` when it is neither form.
pub fn transition(value: &str) -> Option<TransitionValue<'_>> {
    let (note, label) = match value.rsplit_once(": ") {
        Some((note, label)) => (Some(note.trim()).filter(|n| !n.is_empty()), label),
        None => (None, value),
    };
    let (from, to) = label.trim().split_once('→')?;
    let (from, to) = (from.trim(), to.trim());
    let word = |s: &str| !s.is_empty() && !s.contains(char::is_whitespace) && !s.contains('→');
    (word(from) && word(to)).then_some(TransitionValue { note, from, to })
}

/// The `Ssot-Transition` value of the move `label` (`from→to`) of the note at `note`, when the
/// commit moves several notes; `label` itself when `note` is `None`.
pub fn transition_value(note: Option<&str>, label: &str) -> String {
    match note {
        Some(n) => format!("{n}: {label}"),
        None => label.to_string(),
    }
}

/// Formats trailer lines (`Key: value\n` each); line breaks in values become spaces.
pub fn format(trailers: &[(String, String)]) -> String {
    let mut out = String::new();
    for (k, v) in trailers {
        let key: String = k
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        let value = v
            .split(['\n', '\r'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        out.push_str(&key);
        out.push_str(": ");
        out.push_str(&value);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn reads_last_paragraph() {
        let m = "Update 1 note: Acme\n\nProjects/X.md: status: intake → matching\n\nSsot-Source: hubspot\nSsot-Run: r-42\nSsot-Transition: credentialing→active\n";
        assert_eq!(
            parse(m),
            [
                kv("Ssot-Source", "hubspot"),
                kv("Ssot-Run", "r-42"),
                kv("Ssot-Transition", "credentialing→active")
            ]
        );
        let t = parse(m);
        assert_eq!(values(&t, "ssot-source").collect::<Vec<_>>(), ["hubspot"]);
    }

    #[test]
    fn not_trailers() {
        // A subject alone, a body paragraph with prose, a field line with a path key.
        assert!(parse("Fix: something").is_empty());
        assert!(parse("Subject\n\nSsot-Source: vault\nand some prose").is_empty());
        assert!(parse("Subject\n\nProjects/X.md: status: a → b\n").is_empty());
        assert!(parse("Subject\n\nKey:no-space\n").is_empty());
    }

    #[test]
    fn transition_values_with_and_without_a_note() {
        let one = transition("credentialing→active").unwrap();
        assert_eq!(
            one,
            TransitionValue {
                note: None,
                from: "credentialing",
                to: "active"
            }
        );
        assert!(one.concerns("Projects/X.md"));
        let v = transition_value(Some("Projects/A: B.md"), "active→blocked");
        assert_eq!(v, "Projects/A: B.md: active→blocked");
        let named = transition(&v).unwrap();
        assert_eq!(named.note, Some("Projects/A: B.md"));
        assert_eq!((named.from, named.to), ("active", "blocked"));
        assert!(named.concerns("Projects/A: B.md"));
        assert!(!named.concerns("Projects/C.md"));
        assert_eq!(transition_value(None, "a→b"), "a→b");
        // Parsed back from a whole message as a trailer.
        let m = format!("S\n\n{}", format(&[("Ssot-Transition".into(), v.clone())]));
        assert_eq!(
            values(&parse(&m), "Ssot-Transition").collect::<Vec<_>>(),
            [v]
        );
        for bad in ["", "active", "→active", "a→", "a b→c", "X.md: a→b→c"] {
            assert_eq!(transition(bad), None, "{bad}");
        }
    }

    #[test]
    fn crlf_and_round_trip() {
        let t = [kv("Ssot-Source", "vault"), kv("Ssot-Run", "a\nb")];
        let f = format(&t);
        assert_eq!(f, "Ssot-Source: vault\nSsot-Run: a b\n");
        let m = format!("S\r\n\r\n{}", f.replace('\n', "\r\n"));
        assert_eq!(
            parse(&m),
            [kv("Ssot-Source", "vault"), kv("Ssot-Run", "a b")]
        );
    }
}
