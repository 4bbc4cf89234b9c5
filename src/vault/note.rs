//! Splitting a note's bytes into its parts: an optional UTF-8 BOM, an optional YAML frontmatter
//! block between `---` fences, and the markdown body.
//!
//! The split works on byte offsets so that edits can replace exactly the lines they change and
//! leave every other byte (the BOM, line endings, the body) untouched.

use std::ops::Range;

/// The UTF-8 byte order mark.
pub const BOM: &str = "\u{feff}";

/// Where the parts of a note lie in its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The text starts with a UTF-8 BOM (3 bytes).
    pub bom: bool,
    /// The frontmatter block, when the note has one.
    pub frontmatter: Option<Block>,
    /// Byte offset where the body starts.
    pub body_start: usize,
}

/// A frontmatter block: the `---` opening line, the YAML lines, the closing `---` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The YAML text between the fences (whole lines, each with its line ending).
    pub yaml: Range<usize>,
    /// 1-based line number of the first YAML line in the file.
    pub first_line: usize,
    /// The line ending used by the opening fence: `"\n"` or `"\r\n"`.
    pub newline: &'static str,
}

/// Why a note's layout cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// A `---` fence opens the note but none closes it.
    #[error(
        "frontmatter block opened on line {line} is never closed: add a `---` line after the properties"
    )]
    Unclosed {
        /// Line of the opening fence.
        line: usize,
    },
}

/// Returns true when `line` (without its line ending) is a `---` fence, allowing trailing blanks.
fn is_fence(line: &str) -> bool {
    line.trim_end_matches([' ', '\t']) == "---"
}

/// Splits `text` into the lines of `range`, each given as (start offset, line without ending,
/// offset after the line ending).
pub fn lines_in(text: &str, range: Range<usize>) -> impl Iterator<Item = (usize, &str, usize)> {
    let mut pos = range.start;
    let end = range.end;
    std::iter::from_fn(move || {
        if pos >= end {
            return None;
        }
        let start = pos;
        let rest = &text[start..end];
        let (content_len, next) = match rest.find('\n') {
            Some(i) => {
                let content = if i > 0 && rest.as_bytes()[i - 1] == b'\r' {
                    i - 1
                } else {
                    i
                };
                (content, start + i + 1)
            }
            None => (rest.len(), end),
        };
        pos = next;
        Some((start, &text[start..start + content_len], next))
    })
}

/// Finds the parts of a note. Obsidian reads frontmatter only when the very first line (after a
/// BOM) is a `---` fence; a note starting with a blank line has none.
pub fn layout(text: &str) -> Result<Layout, LayoutError> {
    let bom = text.starts_with(BOM);
    let start = if bom { BOM.len() } else { 0 };
    let mut lines = lines_in(text, start..text.len());
    let Some((_, first, after_first)) = lines.next() else {
        return Ok(Layout {
            bom,
            frontmatter: None,
            body_start: start,
        });
    };
    if !is_fence(first) || after_first == text.len() && !text.ends_with('\n') {
        // `---` alone with nothing after it is a horizontal rule, not a block.
        if is_fence(first) {
            return Err(LayoutError::Unclosed { line: 1 });
        }
        return Ok(Layout {
            bom,
            frontmatter: None,
            body_start: start,
        });
    }
    let newline = if text[..after_first].ends_with("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    for (line_start, line, next) in lines {
        if is_fence(line) {
            return Ok(Layout {
                bom,
                frontmatter: Some(Block {
                    yaml: after_first..line_start,
                    first_line: 2,
                    newline,
                }),
                body_start: next,
            });
        }
    }
    Err(LayoutError::Unclosed { line: 1 })
}

/// Converts a byte offset into a 1-based (line, column) pair; the column counts characters.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..]
        .chars()
        .filter(|c| *c != '\u{feff}')
        .count()
        + 1;
    (line, col)
}

/// A note read from bytes: its text, layout and frontmatter.
#[derive(Debug, Clone)]
pub struct Note {
    /// The whole text.
    pub text: String,
    /// Where the parts lie.
    pub layout: Layout,
    /// The properties, when the note has a frontmatter block.
    pub frontmatter: Option<crate::vault::frontmatter::Frontmatter>,
}

/// Why a note cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The bytes are not UTF-8 text.
    #[error("not UTF-8 text (invalid byte at line {line}, column {col}): save it as UTF-8")]
    NotUtf8 {
        /// Line of the first invalid byte.
        line: usize,
        /// Its column (in bytes).
        col: usize,
    },
    /// The file holds NUL bytes: it is not a note.
    #[error("binary file with a `.md` name: it is not a note; rename or remove it")]
    Binary,
    /// The fences are broken.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// The frontmatter does not parse.
    #[error(transparent)]
    Frontmatter(#[from] crate::vault::frontmatter::FrontmatterError),
    /// The file cannot be read.
    #[error("cannot read the file: {0}")]
    Unreadable(String),
}

impl NoteError {
    /// The 1-based (line, column) of the problem.
    pub fn position(&self) -> (usize, usize) {
        match self {
            NoteError::NotUtf8 { line, col } => (*line, *col),
            NoteError::Binary | NoteError::Unreadable(_) => (1, 1),
            NoteError::Layout(LayoutError::Unclosed { line }) => (*line, 1),
            NoteError::Frontmatter(e) => e.position(),
        }
    }
}

impl Note {
    /// Reads a note from its bytes.
    pub fn parse(bytes: &[u8]) -> Result<Note, NoteError> {
        if bytes.contains(&0) {
            return Err(NoteError::Binary);
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t.to_string(),
            Err(e) => {
                let valid = &bytes[..e.valid_up_to()];
                let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
                let col =
                    valid.len() - valid.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1) + 1;
                return Err(NoteError::NotUtf8 { line, col });
            }
        };
        Note::parse_text(text)
    }

    /// Reads a note from its text.
    pub fn parse_text(text: String) -> Result<Note, NoteError> {
        let layout = layout(&text)?;
        let frontmatter = match &layout.frontmatter {
            Some(b) => Some(crate::vault::frontmatter::Frontmatter::parse(&text, b)?),
            None => None,
        };
        Ok(Note {
            text,
            layout,
            frontmatter,
        })
    }

    /// The value of a property.
    pub fn get(&self, key: &str) -> Option<&crate::vault::value::Value> {
        self.frontmatter.as_ref().and_then(|f| f.get(key))
    }

    /// The body text.
    pub fn body(&self) -> &str {
        &self.text[self.layout.body_start..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_block() {
        let t = "---\na: 1\n---\nbody\n";
        let l = layout(t).unwrap();
        let b = l.frontmatter.unwrap();
        assert_eq!(&t[b.yaml], "a: 1\n");
        assert_eq!(&t[l.body_start..], "body\n");
    }

    #[test]
    fn bom_crlf_and_empty_block() {
        let t = "\u{feff}---\r\n---\r\nx";
        let l = layout(t).unwrap();
        assert!(l.bom);
        let b = l.frontmatter.unwrap();
        assert!(b.yaml.is_empty());
        assert_eq!(b.newline, "\r\n");
        assert_eq!(&t[l.body_start..], "x");
    }

    #[test]
    fn body_rules_and_no_final_newline() {
        let t = "---\na: 1\n---\ntext\n---\nmore";
        let l = layout(t).unwrap();
        assert_eq!(&t[l.body_start..], "text\n---\nmore");
        let t = "---\na: 1\n---";
        assert_eq!(layout(t).unwrap().body_start, t.len());
    }

    #[test]
    fn no_block_when_first_line_blank() {
        let t = "\n---\na: 1\n---\n";
        assert_eq!(layout(t).unwrap().frontmatter, None);
    }

    #[test]
    fn unclosed() {
        assert_eq!(
            layout("---\na: 1\n"),
            Err(LayoutError::Unclosed { line: 1 })
        );
        assert_eq!(layout("---"), Err(LayoutError::Unclosed { line: 1 }));
    }

    #[test]
    fn line_col_counts_chars() {
        assert_eq!(line_col("ab\nżółw x", 10), (2, 5));
    }
}
