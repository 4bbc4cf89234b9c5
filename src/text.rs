//! Text from outside (service records, notes, file names) made safe to show: characters a
//! terminal, git or a reader would act on instead of showing — control characters such as NUL,
//! ESC and CR, bidirectional overrides that reorder what is displayed, line and paragraph
//! separators — written as visible escapes, and very long values cut.

/// True for the Unicode bidirectional formatting characters (embeddings, overrides, isolates and
/// marks), which change the order in which text around them is displayed: U+061C, U+200E,
/// U+200F, U+202A–U+202E, U+2066–U+2069.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// True for a character that is acted on rather than shown: control characters (C0, DEL, C1),
/// bidi controls ([`is_bidi_control`]), U+2028/U+2029 (line and paragraph separators) and U+FEFF
/// (byte order mark).
pub fn is_hidden(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// `s` with every [hidden](is_hidden) character written as a visible escape: `\n`, `\r`, `\t`,
/// else `\u{1b}` (Rust's notation). Other text, backslashes included, is kept as it is.
pub fn escape_hidden(s: &str) -> String {
    escape_hidden_but(s, &[])
}

/// [`escape_hidden`], keeping the characters of `keep` (e.g. `\n` in a multi-line message).
pub fn escape_hidden_but(s: &str, keep: &[char]) -> String {
    if !s.chars().any(|c| is_hidden(c) && !keep.contains(&c)) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            c if keep.contains(&c) || !is_hidden(c) => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.extend(c.escape_unicode()),
        }
    }
    out
}

/// `s` cut to its first `max` characters, followed by `… (N characters)` giving the full length,
/// when it is longer.
pub fn cap_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((at, _)) => format!("{}… ({} characters)", &s[..at], s.chars().count()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters_are_shown() {
        assert_eq!(escape_hidden("plain Żółw \\ ok"), "plain Żółw \\ ok");
        assert_eq!(
            escape_hidden("a\0b\u{1b}[31m\r\n\t\u{7f}\u{85}"),
            "a\\u{0}b\\u{1b}[31m\\r\\n\\t\\u{7f}\\u{85}"
        );
        assert_eq!(
            escape_hidden("x\u{202e}y\u{2066}z\u{200f}\u{2028}\u{feff}"),
            "x\\u{202e}y\\u{2066}z\\u{200f}\\u{2028}\\u{feff}"
        );
        assert_eq!(escape_hidden_but("a\nb\0", &['\n']), "a\nb\\u{0}");
        // Emoji sequences (zero-width joiner, variation selector) are text, not controls.
        assert_eq!(
            escape_hidden("👩\u{200d}💻❤\u{fe0f}"),
            "👩\u{200d}💻❤\u{fe0f}"
        );
    }

    #[test]
    fn long_values_are_cut_on_characters() {
        assert_eq!(cap_chars("abc", 3), "abc");
        assert_eq!(cap_chars("ŻŻŻŻ", 2), "ŻŻ… (4 characters)");
    }
}
