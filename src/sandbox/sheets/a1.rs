//! A1 notation as the Sheets API takes it in ranges: `Clients`, `Clients!A1`, `Clients!A2:Z`,
//! `'Client list'!A:Z`, `Clients!2:5`, `A1:B2` (the first tab), with titles quoted in single
//! quotes (a quote inside doubled: `'It''s'!A1`) when they hold anything but letters, digits and
//! `_` or could be read as a cell reference.
//!
//! [`A1::parse`] and [`A1`]'s `Display` are inverse of each other; the range is kept as written
//! (open ends stay open) and resolved against a tab's grid by [`A1::grid`].

use std::fmt;

use thiserror::Error;

/// The largest column Sheets has (`ZZZ`, 18,278 columns) and a bound on rows.
pub const MAX_COLUMNS: u32 = 18_278;
/// The largest row number accepted in a reference (Sheets caps a spreadsheet at 10 M cells).
pub const MAX_ROWS: u32 = 10_000_000;

/// A range that is not A1 notation.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("Unable to parse range: {0}")]
pub struct A1Error(pub String);

/// One end of a range: a column, a row, or both (0-based; at least one is set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Corner {
    /// 0-based column (`A` = 0).
    pub col: Option<u32>,
    /// 0-based row (row `1` = 0).
    pub row: Option<u32>,
}

/// The cell part of a range: one cell, or two corners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cells {
    /// One cell (`B3`).
    One {
        /// 0-based column.
        col: u32,
        /// 0-based row.
        row: u32,
    },
    /// `start:end`, either end possibly open in one dimension (`A2:Z`, `A:Z`, `2:5`).
    Span(Corner, Corner),
}

/// A range in A1 notation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct A1 {
    /// The tab's title (`None`: the first tab).
    pub sheet: Option<String>,
    /// The cells (`None`: the whole tab).
    pub cells: Option<Cells>,
}

/// A rectangle of a tab: 0-based, end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    /// First row.
    pub row0: u32,
    /// Row after the last.
    pub row1: u32,
    /// First column.
    pub col0: u32,
    /// Column after the last.
    pub col1: u32,
}

impl Grid {
    /// Rows covered.
    pub fn rows(&self) -> u32 {
        self.row1.saturating_sub(self.row0)
    }

    /// Columns covered.
    pub fn cols(&self) -> u32 {
        self.col1.saturating_sub(self.col0)
    }

    /// The rectangle in A1 notation on tab `sheet` (`Clients!A1:C3`; one cell: `Clients!B2`).
    pub fn a1(&self, sheet: &str) -> String {
        let title = quote_title(sheet);
        let start = format!("{}{}", column_name(self.col0), self.row0 + 1);
        if self.rows() <= 1 && self.cols() <= 1 {
            return format!("{title}!{start}");
        }
        format!(
            "{title}!{start}:{}{}",
            column_name(self.col1.saturating_sub(1)),
            self.row1.max(1)
        )
    }
}

/// `A` for 0, `Z` for 25, `AA` for 26.
pub fn column_name(mut col: u32) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// The 0-based column of letters (`A` = 0), `None` for anything else or beyond `ZZZ`.
pub fn column_index(letters: &str) -> Option<u32> {
    if letters.is_empty() || letters.len() > 3 {
        return None;
    }
    let mut n: u32 = 0;
    for b in letters.bytes() {
        if !b.is_ascii_alphabetic() {
            return None;
        }
        n = n * 26 + u32::from(b.to_ascii_uppercase() - b'A') + 1;
    }
    (n <= MAX_COLUMNS).then(|| n - 1)
}

/// Whether a title can go unquoted: letters, digits and `_`, not starting with a digit, and not
/// readable as a cell reference (`A1`, `ZZ9`) or an R1C1 one (`R1C1`).
fn plain_title(title: &str) -> bool {
    let mut chars = title.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == '_')
        || !title.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return false;
    }
    if parse_corner(title).is_some() || parse_span(title).is_some() {
        return false;
    }
    let upper = title.to_ascii_uppercase();
    let r1c1 = upper
        .strip_prefix('R')
        .map(|r| r.trim_start_matches(|c: char| c.is_ascii_digit()))
        .and_then(|r| r.strip_prefix('C'))
        .is_some_and(|c| c.chars().all(|c| c.is_ascii_digit()));
    !r1c1
}

/// A tab title as a range writes it: as is when plain, else in single quotes with quotes doubled.
pub fn quote_title(title: &str) -> String {
    if plain_title(title) {
        title.to_owned()
    } else {
        format!("'{}'", title.replace('\'', "''"))
    }
}

/// `B3` → column 1, row 2; `B` → column only; `3` → row only.
fn parse_corner(s: &str) -> Option<Corner> {
    let split = s
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(s.len());
    let (letters, digits) = s.split_at(split);
    if letters.is_empty() && digits.is_empty() {
        return None;
    }
    let col = if letters.is_empty() {
        None
    } else {
        Some(column_index(letters)?)
    };
    let row = if digits.is_empty() {
        None
    } else {
        if !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
            return None;
        }
        let n: u32 = digits.parse().ok()?;
        if n == 0 || n > MAX_ROWS {
            return None;
        }
        Some(n - 1)
    };
    Some(Corner { col, row })
}

fn parse_span(s: &str) -> Option<Cells> {
    match s.split_once(':') {
        Some((a, b)) => Some(Cells::Span(parse_corner(a)?, parse_corner(b)?)),
        None => match parse_corner(s)? {
            Corner {
                col: Some(col),
                row: Some(row),
            } => Some(Cells::One { col, row }),
            _ => None,
        },
    }
}

impl A1 {
    /// Parses a range in A1 notation.
    pub fn parse(input: &str) -> Result<A1, A1Error> {
        let err = || A1Error(input.to_owned());
        if input.trim().is_empty() {
            return Err(err());
        }
        if let Some(rest) = input.strip_prefix('\'') {
            let mut title = String::new();
            let mut chars = rest.char_indices().peekable();
            let mut after = None;
            while let Some((i, c)) = chars.next() {
                if c == '\'' {
                    if chars.peek().is_some_and(|(_, n)| *n == '\'') {
                        chars.next();
                        title.push('\'');
                        continue;
                    }
                    after = Some(&rest[i + 1..]);
                    break;
                }
                title.push(c);
            }
            let after = after.ok_or_else(err)?;
            if title.is_empty() {
                return Err(err());
            }
            if after.is_empty() {
                return Ok(A1 {
                    sheet: Some(title),
                    cells: None,
                });
            }
            let cells = after.strip_prefix('!').ok_or_else(err)?;
            return Ok(A1 {
                sheet: Some(title),
                cells: Some(parse_span(cells).ok_or_else(err)?),
            });
        }
        match input.split_once('!') {
            Some((title, cells)) => {
                if title.is_empty() || title.contains('\'') {
                    return Err(err());
                }
                Ok(A1 {
                    sheet: Some(title.to_owned()),
                    cells: Some(parse_span(cells).ok_or_else(err)?),
                })
            }
            None => match parse_span(input) {
                Some(cells) => Ok(A1 {
                    sheet: None,
                    cells: Some(cells),
                }),
                None if input.contains('\'') => Err(err()),
                None => Ok(A1 {
                    sheet: Some(input.to_owned()),
                    cells: None,
                }),
            },
        }
    }

    /// The rectangle this range covers on a tab of `rows` × `cols` cells, clipped to the grid
    /// (`None`: it lies wholly outside). Reversed corners are put in order, as Sheets does.
    pub fn grid(&self, rows: u32, cols: u32) -> Option<Grid> {
        let g = self.unclipped(rows, cols);
        let g = Grid {
            row0: g.row0,
            row1: g.row1.min(rows),
            col0: g.col0,
            col1: g.col1.min(cols),
        };
        (g.row0 < g.row1 && g.col0 < g.col1).then_some(g)
    }

    /// The rectangle as written; open ends reach the grid's edge.
    pub fn unclipped(&self, rows: u32, cols: u32) -> Grid {
        match self.cells {
            None => Grid {
                row0: 0,
                row1: rows,
                col0: 0,
                col1: cols,
            },
            Some(Cells::One { col, row }) => Grid {
                row0: row,
                row1: row + 1,
                col0: col,
                col1: col + 1,
            },
            Some(Cells::Span(a, b)) => {
                let (c0, c1) = match (a.col, b.col) {
                    (Some(x), Some(y)) => (x.min(y), x.max(y) + 1),
                    (Some(x), None) | (None, Some(x)) if a.row.is_some() && b.row.is_some() => {
                        (x, x + 1)
                    }
                    (Some(x), None) => (x, cols.max(x + 1)),
                    (None, Some(y)) => (0, y + 1),
                    (None, None) => (0, cols),
                };
                let (r0, r1) = match (a.row, b.row) {
                    (Some(x), Some(y)) => (x.min(y), x.max(y) + 1),
                    (Some(x), None) => (x, rows.max(x + 1)),
                    (None, Some(y)) => (0, y + 1),
                    (None, None) => (0, rows),
                };
                Grid {
                    row0: r0,
                    row1: r1,
                    col0: c0,
                    col1: c1,
                }
            }
        }
    }
}

fn write_corner(f: &mut fmt::Formatter<'_>, c: &Corner) -> fmt::Result {
    if let Some(col) = c.col {
        f.write_str(&column_name(col))?;
    }
    if let Some(row) = c.row {
        write!(f, "{}", row + 1)?;
    }
    Ok(())
}

impl fmt::Display for A1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let title = self.sheet.as_deref().map(quote_title);
        match (&title, &self.cells) {
            (Some(t), None) => return f.write_str(t),
            (Some(t), Some(_)) => write!(f, "{t}!")?,
            (None, _) => {}
        }
        match self.cells {
            None => Ok(()),
            Some(Cells::One { col, row }) => write!(f, "{}{}", column_name(col), row + 1),
            Some(Cells::Span(a, b)) => {
                write_corner(f, &a)?;
                f.write_str(":")?;
                write_corner(f, &b)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn a1(s: &str) -> A1 {
        A1::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn forms_google_takes() {
        assert_eq!(
            a1("Clients"),
            A1 {
                sheet: Some("Clients".into()),
                cells: None
            }
        );
        assert_eq!(
            a1("'Client list'!A:Z").cells,
            Some(Cells::Span(
                Corner {
                    col: Some(0),
                    row: None
                },
                Corner {
                    col: Some(25),
                    row: None
                }
            ))
        );
        assert_eq!(
            a1("'Client list'!A:Z").sheet.as_deref(),
            Some("Client list")
        );
        assert_eq!(a1("'It''s'!B3").sheet.as_deref(), Some("It's"));
        assert_eq!(a1("B3").cells, Some(Cells::One { col: 1, row: 2 }));
        assert_eq!(a1("B3").sheet, None);
        assert_eq!(a1("Clients!A2:Z").unclipped(1000, 26).row0, 1);
        assert_eq!(
            a1("Clients!A2:Z").grid(1000, 26),
            Some(Grid {
                row0: 1,
                row1: 1000,
                col0: 0,
                col1: 26
            })
        );
        assert_eq!(
            a1("S!2:5").grid(1000, 26),
            Some(Grid {
                row0: 1,
                row1: 5,
                col0: 0,
                col1: 26
            })
        );
        assert_eq!(
            a1("S!C5:A1").grid(10, 10),
            Some(Grid {
                row0: 0,
                row1: 5,
                col0: 0,
                col1: 3
            })
        );
        assert_eq!(a1("S!AA1").cells, Some(Cells::One { col: 26, row: 0 }));
        assert_eq!(a1("'Sheet!1'").sheet.as_deref(), Some("Sheet!1"));
        for bad in [
            "",
            "S!",
            "S!A0",
            "S!A",
            "S!1",
            "'S",
            "'S'x",
            "S!A1:",
            "S!:B2",
            "''!A1",
            "S!AAAA1",
            "S!A1:B2:C3",
            "S!A-1",
            "S!A01",
        ] {
            assert!(A1::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn titles_are_quoted_when_needed() {
        assert_eq!(quote_title("Clients"), "Clients");
        assert_eq!(quote_title("Client list"), "'Client list'");
        assert_eq!(quote_title("A1"), "'A1'");
        assert_eq!(quote_title("R1C1"), "'R1C1'");
        assert_eq!(quote_title("It's"), "'It''s'");
        assert_eq!(quote_title("2024"), "'2024'");
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(MAX_COLUMNS - 1), "ZZZ");
        assert_eq!(column_index("zzz"), Some(MAX_COLUMNS - 1));
        let g = Grid {
            row0: 0,
            row1: 3,
            col0: 0,
            col1: 3,
        };
        assert_eq!(g.a1("Client list"), "'Client list'!A1:C3");
    }

    fn corner() -> impl Strategy<Value = Corner> {
        (
            proptest::option::of(0..MAX_COLUMNS),
            proptest::option::of(0..MAX_ROWS),
        )
            .prop_filter("one of the two", |(c, r)| c.is_some() || r.is_some())
            .prop_map(|(col, row)| Corner { col, row })
    }

    fn range() -> impl Strategy<Value = A1> {
        let cells = prop_oneof![
            (0..MAX_COLUMNS, 0..MAX_ROWS).prop_map(|(col, row)| Cells::One { col, row }),
            (corner(), corner()).prop_map(|(a, b)| Cells::Span(a, b)),
        ];
        let title = prop_oneof![
            "[A-Za-z_][A-Za-z0-9_]{0,8}",
            "[ -~]{1,12}",
            "\\PC{1,8}",
            Just("A1".to_owned()),
            Just("It's".to_owned()),
        ];
        (proptest::option::of(title), proptest::option::of(cells))
            .prop_filter("a range names a tab or cells", |(t, c)| {
                t.is_some() || c.is_some()
            })
            .prop_filter("titles are not blank", |(t, _)| {
                t.as_deref().is_none_or(|t| !t.trim().is_empty())
            })
            .prop_map(|(sheet, cells)| A1 { sheet, cells })
    }

    proptest! {
        #[test]
        fn parse_inverts_format(r in range()) {
            let text = r.to_string();
            prop_assert_eq!(A1::parse(&text), Ok(r), "{}", text);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,24}") {
            let _ = A1::parse(&s);
        }
    }
}
