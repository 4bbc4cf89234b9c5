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
