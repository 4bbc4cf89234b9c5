//! The Sheets emulator's data model: spreadsheets with their tabs (grid size and cells) and who
//! each is shared with, persisted under `sheets` in the sandbox's state file; plus what a cell
//! holds and how it is typed in (`RAW`, `USER_ENTERED`) and shown (`FORMATTED_VALUE`,
//! `UNFORMATTED_VALUE`, `FORMULA`; dates as serial numbers or formatted strings).
//!
//! Dates are serial numbers (days since 1899-12-30, the time of day as the fraction) with a date
//! format, as in Sheets. Formulas are kept, not evaluated: every rendering shows their text.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Every spreadsheet the emulator holds.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SheetsData {
    /// Spreadsheets by id.
    pub spreadsheets: BTreeMap<String, Spreadsheet>,
}

/// A spreadsheet.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Spreadsheet {
    /// Its id (as in its URL).
    pub id: String,
    /// Its title.
    pub title: String,
    /// The e-mail addresses it is shared with (a service account's `client_email` among them).
    pub shared_with: Vec<String>,
    /// Its tabs, in order.
    pub sheets: Vec<Sheet>,
    /// The id the next new tab gets.
    pub next_sheet_id: i64,
}

impl Spreadsheet {
    /// The tab with this title (exact, else ignoring case, as Sheets resolves ranges).
    pub fn sheet_index(&self, title: &str) -> Option<usize> {
        self.sheets
            .iter()
            .position(|s| s.title == title)
            .or_else(|| {
                self.sheets
                    .iter()
                    .position(|s| s.title.to_lowercase() == title.to_lowercase())
            })
    }

    /// The tab with this id.
    pub fn sheet_by_id(&self, id: i64) -> Option<usize> {
        self.sheets.iter().position(|s| s.sheet_id == id)
    }
}

/// One tab: its grid size and its cells (rows of cells, ragged; `None`: empty).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Sheet {
    /// Its id (`gid`).
    pub sheet_id: i64,
    /// Its title.
    pub title: String,
    /// Rows in the grid.
    pub row_count: u32,
    /// Columns in the grid.
    pub column_count: u32,
    /// Cells by row then column.
    pub cells: Vec<Vec<Option<Cell>>>,
}

/// What a cell holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum Cell {
    /// Text.
    Text(String),
    /// A number.
    Number(f64),
    /// A boolean.
    Bool(bool),
    /// A date (or date and time): a serial number shown in a date format.
    Date {
        /// Days since 1899-12-30, the time of day as the fraction.
        serial: f64,
        /// Shown with its time of day.
        time: bool,
    },
    /// A formula (`=A1+1`), kept as typed.
    Formula(String),
}

/// How values are shown (`valueRenderOption`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Render {
    /// As the sheet shows them: every value a string.
    Formatted,
    /// Numbers, booleans and dates (per [`DateRender`]) as JSON values.
    Unformatted,
    /// As `Unformatted`, formulas as their text.
    Formula,
}

/// How dates are shown when unformatted (`dateTimeRenderOption`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateRender {
    /// Serial numbers.
    SerialNumber,
    /// Formatted strings.
    FormattedString,
}

impl Sheet {
    /// A tab with a grid of `rows` × `cols` and no cells.
    pub fn new(sheet_id: i64, title: &str, rows: u32, cols: u32) -> Self {
        Sheet {
            sheet_id,
            title: title.to_owned(),
            row_count: rows,
            column_count: cols,
            cells: Vec::new(),
        }
    }

    /// The cell at (row, column).
    pub fn get(&self, row: u32, col: u32) -> Option<&Cell> {
        self.cells
            .get(row as usize)
            .and_then(|r| r.get(col as usize))
            .and_then(Option::as_ref)
    }

    /// Sets (or, with `None`, clears) the cell at (row, column).
    pub fn set(&mut self, row: u32, col: u32, cell: Option<Cell>) {
        let (r, c) = (row as usize, col as usize);
        if cell.is_none() && self.get(row, col).is_none() {
            return;
        }
        if self.cells.len() <= r {
            self.cells.resize_with(r + 1, Vec::new);
        }
        let line = &mut self.cells[r];
        if line.len() <= c {
            line.resize_with(c + 1, || None);
        }
        line[c] = cell;
        while line.last().is_some_and(Option::is_none) {
            line.pop();
        }
        while self.cells.last().is_some_and(Vec::is_empty) {
            self.cells.pop();
        }
    }

    /// Drops trailing empty cells and rows (what is stored is what reads show).
    fn trim(&mut self) {
        for line in &mut self.cells {
            while line.last().is_some_and(Option::is_none) {
                line.pop();
            }
        }
        while self.cells.last().is_some_and(Vec::is_empty) {
            self.cells.pop();
        }
    }

    /// The last row holding a value among columns `col0..col1`, from row `row0` on.
    pub fn last_row_with_data(&self, row0: u32, col0: u32, col1: u32) -> Option<u32> {
        (row0 as usize..self.cells.len())
            .rev()
            .find(|&r| (col0..col1).any(|c| self.get(r as u32, c).is_some()))
            .map(|r| r as u32)
    }

    /// Inserts `n` empty rows before row `at`.
    pub fn insert_rows(&mut self, at: u32, n: u32) {
        let at = at as usize;
        if at < self.cells.len() {
            let tail = self.cells.split_off(at);
            self.cells.extend((0..n).map(|_| Vec::new()));
            self.cells.extend(tail);
        }
        self.row_count = self.row_count.saturating_add(n);
        self.trim();
    }

    /// Deletes rows `start..end`.
    pub fn delete_rows(&mut self, start: u32, end: u32) {
        let (s, e) = (start as usize, end as usize);
        if s < self.cells.len() {
            self.cells.drain(s..e.min(self.cells.len()));
        }
        self.row_count = self.row_count.saturating_sub(end - start);
        self.trim();
    }

    /// Inserts `n` empty columns before column `at`.
    pub fn insert_columns(&mut self, at: u32, n: u32) {
        for line in &mut self.cells {
            if (at as usize) < line.len() {
                let tail = line.split_off(at as usize);
                line.extend((0..n).map(|_| None));
                line.extend(tail);
            }
        }
        self.column_count = self.column_count.saturating_add(n);
        self.trim();
    }

    /// Deletes columns `start..end`.
    pub fn delete_columns(&mut self, start: u32, end: u32) {
        for line in &mut self.cells {
            let s = start as usize;
            if s < line.len() {
                line.drain(s..(end as usize).min(line.len()));
            }
        }
        self.column_count = self.column_count.saturating_sub(end - start);
        self.trim();
    }

    /// Sorts rows from `from_row` to the last one with data by column `col`, as the browser's
    /// "Sort sheet" does: numbers and dates, then text (ignoring case), then booleans, then
    /// formulas; empty cells last whatever the order; equal keys keep their order.
    pub fn sort_rows(&mut self, from_row: u32, col: u32, ascending: bool) {
        let from = (from_row as usize).min(self.cells.len());
        let mut rows = self.cells.split_off(from);
        rows.sort_by(|a, b| {
            let ka = a.get(col as usize).and_then(Option::as_ref);
            let kb = b.get(col as usize).and_then(Option::as_ref);
            match (ka, kb) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(x), Some(y)) => {
                    let o = compare(x, y);
                    if ascending { o } else { o.reverse() }
                }
            }
        });
        self.cells.extend(rows);
        self.trim();
    }
}

fn rank(c: &Cell) -> u8 {
    match c {
        Cell::Number(_) | Cell::Date { .. } => 0,
        Cell::Text(_) => 1,
        Cell::Bool(_) => 2,
        Cell::Formula(_) => 3,
    }
}

fn compare(a: &Cell, b: &Cell) -> Ordering {
    let num = |c: &Cell| match c {
        Cell::Number(n) => *n,
        Cell::Date { serial, .. } => *serial,
        _ => 0.0,
    };
    rank(a).cmp(&rank(b)).then_with(|| match (a, b) {
        (Cell::Text(x), Cell::Text(y)) | (Cell::Formula(x), Cell::Formula(y)) => {
            x.to_lowercase().cmp(&y.to_lowercase())
        }
        (Cell::Bool(x), Cell::Bool(y)) => x.cmp(y),
        _ => num(a).total_cmp(&num(b)),
    })
}

/// Days from 1970-01-01 to a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count from 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The serial day of 1899-12-30 counted from 1970-01-01.
const SERIAL_EPOCH: i64 = -25_569;

/// The serial number of a date (`2024-03-05` → 45356).
pub fn date_serial(y: i64, m: i64, d: i64) -> Option<f64> {
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) || !(1..=9999).contains(&y) {
        return None;
    }
    Some((days_from_civil(y, m, d) - SERIAL_EPOCH) as f64)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A serial number shown as `yyyy-mm-dd` (with ` hh:mm:ss` when `time`).
pub fn format_serial(serial: f64, time: bool) -> String {
    let days = serial.floor();
    let (y, m, d) = civil_from_days(days as i64 + SERIAL_EPOCH);
    if !time {
        return format!("{y:04}-{m:02}-{d:02}");
    }
    let secs = ((serial - days) * 86_400.0).round() as i64;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A number as the sheet shows it in its default format (`42`, `3.5`).
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn number_json(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        json!(n as i64)
    } else {
        json!(n)
    }
}

impl Cell {
    /// The cell as a read shows it.
    pub fn render(&self, how: Render, dates: DateRender) -> Value {
        match (self, how) {
            (Cell::Text(s) | Cell::Formula(s), _) => json!(s),
            (Cell::Number(n), Render::Formatted) => json!(format_number(*n)),
            (Cell::Number(n), _) => number_json(*n),
            (Cell::Bool(b), Render::Formatted) => json!(if *b { "TRUE" } else { "FALSE" }),
            (Cell::Bool(b), _) => json!(b),
            (Cell::Date { serial, time }, Render::Formatted) => {
                json!(format_serial(*serial, *time))
            }
            (Cell::Date { serial, time }, _) => match dates {
                DateRender::SerialNumber => number_json(*serial),
                DateRender::FormattedString => json!(format_serial(*serial, *time)),
            },
        }
    }

    /// The cell's value as typed in the browser (what `USER_ENTERED` would take back).
    pub fn typed(&self) -> String {
        match self {
            Cell::Text(s) | Cell::Formula(s) => s.clone(),
            Cell::Number(n) => format_number(*n),
            Cell::Bool(b) => (if *b { "TRUE" } else { "FALSE" }).to_owned(),
            Cell::Date { serial, time } => format_serial(*serial, *time),
        }
    }
}

/// A plain decimal number: sign, digits, fraction, exponent (no `inf`, `nan`, `0x`, `1_0`).
fn plain_number(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return None;
    }
    if let Some(e) = exp {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        if e.is_empty() || !digits(e) {
            return None;
        }
    }
    s.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// A date typed as `yyyy-mm-dd`, `yyyy/mm/dd` or `m/d/yyyy`, maybe with ` hh:mm[:ss]`.
fn typed_date(s: &str) -> Option<Cell> {
    let (date, time) = match s.split_once(' ') {
        Some((d, t)) => (d, Some(t.trim())),
        None => (s, None),
    };
    let num = |t: &str, max_len: usize| {
        (!t.is_empty() && t.len() <= max_len && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse::<i64>().ok())
            .flatten()
    };
    let parts: Vec<&str> = date.split(['-', '/']).collect();
    let sep_ok = !(date.contains('-') && date.contains('/'));
    if parts.len() != 3 || !sep_ok {
        return None;
    }
    let (y, m, d) = if parts[0].len() == 4 {
        (num(parts[0], 4)?, num(parts[1], 2)?, num(parts[2], 2)?)
    } else if date.contains('/') && parts[2].len() == 4 {
        (num(parts[2], 4)?, num(parts[0], 2)?, num(parts[1], 2)?)
    } else {
        return None;
    };
    let mut serial = date_serial(y, m, d)?;
    let with_time = match time {
        None => false,
        Some(t) => {
            let hms: Vec<&str> = t.split(':').collect();
            if !(2..=3).contains(&hms.len()) {
                return None;
            }
            let h = num(hms[0], 2)?;
            let mi = num(hms[1], 2)?;
            let sec = if hms.len() == 3 { num(hms[2], 2)? } else { 0 };
            if h > 23 || mi > 59 || sec > 59 {
                return None;
            }
            serial += (h * 3600 + mi * 60 + sec) as f64 / 86_400.0;
            true
        }
    };
    Some(Cell::Date {
        serial,
        time: with_time,
    })
}

/// Text typed into a cell (`USER_ENTERED`): `""` clears; `'…` is text as is; `=…` a formula;
/// `TRUE`/`FALSE` booleans; numbers (`12`, `-3.5e2`, `15%`); dates (`2024-03-05`,
/// `2024/03/05`, `3/5/2024`, with ` 14:30[:00]`); anything else text.
pub fn user_entered(s: &str) -> Option<Cell> {
    if s.is_empty() {
        return None;
    }
    if let Some(rest) = s.strip_prefix('\'') {
        return Some(Cell::Text(rest.to_owned()));
    }
    if s.starts_with('=') && s.len() > 1 {
        return Some(Cell::Formula(s.to_owned()));
    }
    let t = s.trim();
    if t.eq_ignore_ascii_case("true") {
        return Some(Cell::Bool(true));
    }
    if t.eq_ignore_ascii_case("false") {
        return Some(Cell::Bool(false));
    }
    if let Some(n) = plain_number(t) {
        return Some(Cell::Number(n));
    }
    if let Some(n) = t.strip_suffix('%').and_then(plain_number) {
        return Some(Cell::Number(n / 100.0));
    }
    if let Some(d) = typed_date(t) {
        return Some(d);
    }
    Some(Cell::Text(s.to_owned()))
}

/// A JSON input value that is no cell value (an object, an array).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a cell value")]
pub struct NotACellValue;

/// What a JSON input value writes (`Ok(None)` clears; `null` is handled by the caller: it
/// leaves the cell as it is).
pub fn input_cell(v: &Value, user_entered_mode: bool) -> Result<Option<Cell>, NotACellValue> {
    match v {
        Value::String(s) if user_entered_mode => Ok(self::user_entered(s)),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(Cell::Text(s.clone()))),
        Value::Number(n) => n
            .as_f64()
            .map(|n| Some(Cell::Number(n)))
            .ok_or(NotACellValue),
        Value::Bool(b) => Ok(Some(Cell::Bool(*b))),
        _ => Err(NotACellValue),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_entered_parses_as_the_browser_does() {
        assert_eq!(user_entered(""), None);
        assert_eq!(user_entered("42"), Some(Cell::Number(42.0)));
        assert_eq!(user_entered(" -3.5e2 "), Some(Cell::Number(-350.0)));
        assert_eq!(user_entered("15%"), Some(Cell::Number(0.15)));
        assert_eq!(user_entered("TRUE"), Some(Cell::Bool(true)));
        assert_eq!(user_entered("false"), Some(Cell::Bool(false)));
        assert_eq!(user_entered("'42"), Some(Cell::Text("42".into())));
        assert_eq!(user_entered("=A1+1"), Some(Cell::Formula("=A1+1".into())));
        assert_eq!(
            user_entered("2024-03-05"),
            Some(Cell::Date {
                serial: 45356.0,
                time: false
            })
        );
        assert_eq!(user_entered("3/5/2024"), user_entered("2024/03/05"));
        assert_eq!(
            user_entered("2024-03-05 12:00"),
            Some(Cell::Date {
                serial: 45356.5,
                time: true
            })
        );
        for text in [
            "inf",
            "NaN",
            "0x10",
            "1_000",
            "2024-02-30",
            "12 apples",
            "1.2.3",
            "-",
        ] {
            assert_eq!(user_entered(text), Some(Cell::Text(text.into())), "{text}");
        }
        assert_eq!(format_serial(45356.0, false), "2024-03-05");
        assert_eq!(format_serial(45356.5, true), "2024-03-05 12:00:00");
        assert_eq!(format_serial(1.0, false), "1899-12-31");
        assert_eq!(format_number(3.0), "3");
        assert_eq!(format_number(0.15), "0.15");
    }

    #[test]
    fn rows_and_columns_move_with_their_cells() {
        let mut s = Sheet::new(0, "T", 5, 3);
        s.set(0, 0, Some(Cell::Text("h".into())));
        s.set(1, 0, Some(Cell::Text("b".into())));
        s.set(2, 0, Some(Cell::Number(2.0)));
        s.set(3, 1, Some(Cell::Text("A".into())));
        s.sort_rows(1, 0, true);
        assert_eq!(s.get(1, 0), Some(&Cell::Number(2.0)));
        assert_eq!(s.get(2, 0), Some(&Cell::Text("b".into())));
        assert_eq!(
            s.get(3, 1),
            Some(&Cell::Text("A".into())),
            "empty keys last"
        );
        s.insert_columns(0, 1);
        assert_eq!(s.get(1, 1), Some(&Cell::Number(2.0)));
        assert_eq!(s.column_count, 4);
        s.delete_rows(0, 2);
        assert_eq!(s.get(0, 1), Some(&Cell::Text("b".into())));
        assert_eq!(s.row_count, 3);
        s.set(0, 1, None);
        s.set(1, 2, None);
        assert!(s.cells.is_empty(), "{:?}", s.cells);
    }
}
