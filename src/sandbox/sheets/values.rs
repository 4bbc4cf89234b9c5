//! The `spreadsheets.values` methods: `get`, `batchGet` (render options, major dimension,
//! trailing empty rows and cells dropped as Google does), `update`, `batchUpdate`, `append`
//! (`RAW` or `USER_ENTERED` input; `OVERWRITE` or `INSERT_ROWS`), `clear` and `batchClear`.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::a1::{A1, Cells, Grid};
use super::store::{DateRender, Render, Sheet, Spreadsheet, input_cell};
use super::{SResult, SheetsError, change, check_access, sheet_of};
use crate::sandbox::AppState;
use crate::sandbox::google::Issued;

/// Query parameters (`ranges` repeats).
fn params(q: Option<&str>) -> Vec<(String, String)> {
    q.map(|q| {
        form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    })
    .unwrap_or_default()
}

fn param<'a>(p: &'a [(String, String)], name: &str) -> Option<&'a str> {
    p.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn invalid_value(field: &str, value: &str) -> SheetsError {
    SheetsError::invalid(format!("Invalid value at '{field}', \"{value}\""))
}

/// How a read renders: value, dates, major dimension (columns when true).
#[derive(Debug, Clone, Copy)]
struct ReadOptions {
    render: Render,
    dates: DateRender,
    columns: bool,
}

fn read_options(p: &[(String, String)]) -> Result<ReadOptions, SheetsError> {
    let render = match param(p, "valueRenderOption").unwrap_or("FORMATTED_VALUE") {
        "FORMATTED_VALUE" => Render::Formatted,
        "UNFORMATTED_VALUE" => Render::Unformatted,
        "FORMULA" => Render::Formula,
        other => return Err(invalid_value("value_render_option", other)),
    };
    let dates = match param(p, "dateTimeRenderOption").unwrap_or("SERIAL_NUMBER") {
        "SERIAL_NUMBER" => DateRender::SerialNumber,
        "FORMATTED_STRING" => DateRender::FormattedString,
        other => return Err(invalid_value("date_time_render_option", other)),
    };
    Ok(ReadOptions {
        render,
        dates,
        columns: major_columns(param(p, "majorDimension"))?,
    })
}

fn major_columns(v: Option<&str>) -> Result<bool, SheetsError> {
    match v.unwrap_or("ROWS") {
        "ROWS" | "DIMENSION_UNSPECIFIED" => Ok(false),
        "COLUMNS" => Ok(true),
        other => Err(invalid_value("major_dimension", other)),
    }
}

fn parse_range(text: &str) -> Result<A1, SheetsError> {
    A1::parse(text).map_err(|e| SheetsError::invalid(e.to_string()))
}

/// The grid a range covers on its tab (clipped), or the bad-range error.
fn resolve(ss: &Spreadsheet, text: &str) -> Result<(usize, A1, Option<Grid>), SheetsError> {
    let range = parse_range(text)?;
    let i = sheet_of(ss, &range, text)?;
    let s = &ss.sheets[i];
    let grid = range.grid(s.row_count, s.column_count);
    Ok((i, range, grid))
}

fn exceeds(s: &Sheet, text: &str) -> SheetsError {
    SheetsError::invalid(format!(
        "Range ({text}) exceeds grid limits. Max rows: {}, max columns: {}",
        s.row_count, s.column_count
    ))
}

/// One `ValueRange` read.
fn read_range(ss: &Spreadsheet, text: &str, o: ReadOptions) -> Result<Value, SheetsError> {
    let (i, _, grid) = resolve(ss, text)?;
    let s = &ss.sheets[i];
    let g = grid.ok_or_else(|| exceeds(s, text))?;
    let last = (s.cells.len() as u32).min(g.row1);
    let mut matrix: Vec<Vec<Value>> = (g.row0..last.max(g.row0))
        .map(|r| {
            (g.col0..g.col1)
                .map(|c| {
                    s.get(r, c)
                        .map(|cell| cell.render(o.render, o.dates))
                        .unwrap_or_else(|| json!(""))
                })
                .collect()
        })
        .collect();
    if o.columns {
        let width = (g.col1 - g.col0) as usize;
        matrix = (0..width)
            .map(|c| matrix.iter().map(|row| row[c].clone()).collect())
            .collect();
    }
    for line in &mut matrix {
        while line.last().is_some_and(|v| v == "") {
            line.pop();
        }
    }
    while matrix.last().is_some_and(Vec::is_empty) {
        matrix.pop();
    }
    let mut out = json!({
        "range": g.a1(&s.title),
        "majorDimension": if o.columns { "COLUMNS" } else { "ROWS" },
    });
    if !matrix.is_empty() {
        out["values"] = json!(matrix);
    }
    Ok(out)
}

/// `GET …/values/{range}`.
pub async fn get(
    State(app): State<Arc<AppState>>,
    Extension(who): Extension<Issued>,
    Path((id, range)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> SResult {
    let p = params(q.as_deref());
    let o = read_options(&p)?;
    app.read_sheets(|d| {
        check_access(d, &id, &who)?;
        let ss = d.spreadsheets.get(&id).ok_or_else(SheetsError::not_found)?;
        read_range(ss, &range, o)
    })
    .map(|v| axum::Json(v).into_response())
}

/// `GET …/values:batchGet?ranges=…&ranges=…`.
pub async fn batch_get(
    State(app): State<Arc<AppState>>,
    Extension(who): Extension<Issued>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> SResult {
    let p = params(q.as_deref());
    let o = read_options(&p)?;
    let ranges: Vec<&str> = p
        .iter()
        .filter(|(k, _)| k == "ranges")
        .map(|(_, v)| v.as_str())
        .collect();
    app.read_sheets(|d| {
        check_access(d, &id, &who)?;
        let ss = d.spreadsheets.get(&id).ok_or_else(SheetsError::not_found)?;
        let value_ranges = ranges
            .iter()
            .map(|r| read_range(ss, r, o))
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = json!({ "spreadsheetId": id });
        if !value_ranges.is_empty() {
            out["valueRanges"] = json!(value_ranges);
        }
        Ok(axum::Json(out).into_response())
    })
}

fn input_option(v: Option<&str>) -> Result<bool, SheetsError> {
    match v {
        Some("RAW") => Ok(false),
        Some("USER_ENTERED") => Ok(true),
        None | Some("") | Some("INPUT_VALUE_OPTION_UNSPECIFIED") => Err(SheetsError::invalid(
            "Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED",
        )),
        Some(other) => Err(invalid_value("value_input_option", other)),
    }
}

/// What one write changed.
#[derive(Debug, Clone, Copy, Default)]
struct Written {
    rows: u32,
    cols: u32,
    cells: u32,
}

/// Writes `values` from (row0, col0) of tab `i`; when `bound` is set, no cell may fall outside it.
#[allow(clippy::too_many_arguments)]
fn write_values(
    ss: &mut Spreadsheet,
    i: usize,
    row0: u32,
    col0: u32,
    bound: Option<Grid>,
    text: &str,
    values: &Value,
    columns: bool,
    user_entered: bool,
) -> Result<(Written, String), SheetsError> {
    let rows = match values {
        Value::Null => return Ok((Written::default(), range_text(ss, i, row0, col0, 0, 0))),
        Value::Array(rows) => rows,
        _ => {
            return Err(SheetsError::invalid(
                "Invalid values: must be a list of lists",
            ));
        }
    };
    let s = &mut ss.sheets[i];
    let mut w = Written::default();
    let (mut height, mut width) = (0u32, 0u32);
    for (a, line) in rows.iter().enumerate() {
        let line = match line {
            Value::Array(l) => l,
            Value::Null => continue,
            _ => {
                return Err(SheetsError::invalid(format!(
                    "Invalid values[{a}]: list_value expected"
                )));
            }
        };
        let mut touched = false;
        for (b, v) in line.iter().enumerate() {
            if v.is_null() {
                continue;
            }
            let (dr, dc) = if columns { (b, a) } else { (a, b) };
            let (r, c) = (row0 + dr as u32, col0 + dc as u32);
            if let Some(g) = bound {
                if r >= g.row1 {
                    return Err(SheetsError::invalid(format!(
                        "Requested writing within range [{text}], but tried writing to row [{}]",
                        r + 1
                    )));
                }
                if c >= g.col1 {
                    return Err(SheetsError::invalid(format!(
                        "Requested writing within range [{text}], but tried writing to column [{}]",
                        super::a1::column_name(c)
                    )));
                }
            }
            if r >= s.row_count || c >= s.column_count {
                return Err(exceeds(s, text));
            }
            let cell = input_cell(v, user_entered)
                .map_err(|_| SheetsError::invalid(format!("Invalid values[{a}][{b}]: {v}")))?;
            s.set(r, c, cell);
            touched = true;
            w.cells += 1;
            height = height.max(dr as u32 + 1);
            width = width.max(dc as u32 + 1);
        }
        if touched {
            w.rows += 1;
        }
    }
    w.rows = if columns { height } else { w.rows };
    w.cols = width;
    Ok((w, range_text(ss, i, row0, col0, height, width)))
}

fn range_text(ss: &Spreadsheet, i: usize, row0: u32, col0: u32, rows: u32, cols: u32) -> String {
    Grid {
        row0,
        row1: row0 + rows.max(1),
        col0,
        col1: col0 + cols.max(1),
    }
    .a1(&ss.sheets[i].title)
}

fn update_response(id: &str, range: &str, w: Written) -> Value {
    let mut out = json!({"spreadsheetId": id, "updatedRange": range});
    if w.cells > 0 {
        out["updatedRows"] = json!(w.rows);
        out["updatedColumns"] = json!(w.cols);
        out["updatedCells"] = json!(w.cells);
    }
    out
}

/// One `ValueRange` written over its range (`values.update` and each of `values.batchUpdate`).
fn update_one(
    ss: &mut Spreadsheet,
    text: &str,
    body: &Value,
    user_entered: bool,
) -> Result<(usize, Written, String), SheetsError> {
    let (i, range, _) = resolve(ss, text)?;
    let s = &ss.sheets[i];
    let g = range.unclipped(s.row_count, s.column_count);
    let bound = match range.cells {
        None | Some(Cells::One { .. }) => None,
        Some(Cells::Span(..)) => Some(g),
    };
    let columns = major_columns(body.get("majorDimension").and_then(Value::as_str))?;
    let (w, updated) = write_values(
        ss,
        i,
        g.row0,
        g.col0,
        bound,
        text,
        body.get("values").unwrap_or(&Value::Null),
        columns,
        user_entered,
    )?;
    Ok((i, w, updated))
}

fn body_json(body: &Bytes) -> Result<Value, SheetsError> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(body)
        .map_err(|e| SheetsError::invalid(format!("Invalid JSON payload received. {e}")))
}

/// `PUT …/values/{range}?valueInputOption=…`.
pub async fn update(
    State(app): State<Arc<AppState>>,
    Extension(who): Extension<Issued>,
    Path((id, range)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> SResult {
    let p = params(q.as_deref());
    let user_entered = input_option(param(&p, "valueInputOption"))?;
    let body = body_json(&body)?;
    if let Some(r) = body.get("range").and_then(Value::as_str)
        && r != range
    {
        return Err(SheetsError::invalid(format!(
            "Requested range [{r}] does not match the URL range [{range}]"
        )));
    }
    let (w, updated) = change(&app, &id, Some(&who), |ss| {
        update_one(ss, &range, &body, user_entered).map(|(_, w, u)| (w, u))
    })?;
    Ok(axum::Json(update_response(&id, &updated, w)).into_response())
}

/// `POST …/values:batchUpdate` `{valueInputOption, data: [ValueRange]}`: all or nothing.
pub async fn batch_update(
    State(app): State<Arc<AppState>>,
    Extension(who): Extension<Issued>,
    Path(id): Path<String>,
    body: Bytes,
) -> SResult {
    let body = body_json(&body)?;
    let user_entered = input_option(body.get("valueInputOption").and_then(Value::as_str))?;
    let data = body
        .get("data")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let out = change(&app, &id, Some(&who), |ss| {
        let mut responses = Vec::new();
        let mut sheets = std::collections::BTreeSet::new();
        let (mut rows, mut cols, mut cells) = (0, 0, 0);
        for (n, vr) in data.iter().enumerate() {
            let text = vr.get("range").and_then(Value::as_str).ok_or_else(|| {
                SheetsError::invalid(format!("Invalid data[{n}]: range is required"))
            })?;
            let (i, w, updated) = update_one(ss, text, vr, user_entered)?;
            if w.cells > 0 {
                sheets.insert(i);
            }
            rows += w.rows;
            cols += w.cols;
            cells += w.cells;
            responses.push(update_response(&id, &updated, w));
        }
        let mut out = json!({"spreadsheetId": id});
        if cells > 0 {
            out["totalUpdatedRows"] = json!(rows);
            out["totalUpdatedColumns"] = json!(cols);
            out["totalUpdatedCells"] = json!(cells);
            out["totalUpdatedSheets"] = json!(sheets.len());
        }
        if !responses.is_empty() {
            out["responses"] = json!(responses);
        }
        Ok(out)
    })?;
    Ok(axum::Json(out).into_response())
}

/// `POST …/values/{range}:append` and `POST …/values/{range}:clear`.
pub async fn append_or_clear(
    State(app): State<Arc<AppState>>,
    Extension(who): Extension<Issued>,
    Path((id, range)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> SResult {
    if let Some(range) = range.strip_suffix(":append") {
        append(&app, &who, &id, range, q.as_deref(), &body)
    } else if let Some(range) = range.strip_suffix(":clear") {
        let cleared = change(&app, &id, Some(&who), |ss| clear_range(ss, range))?;
        Ok(axum::Json(json!({"spreadsheetId": id, "clearedRange": cleared})).into_response())
    } else {
        Err(SheetsError::not_found())
    }
}

fn clear_range(ss: &mut Spreadsheet, text: &str) -> Result<String, SheetsError> {
    let (i, _, grid) = resolve(ss, text)?;
    let s = &mut ss.sheets[i];
    let g = grid.ok_or_else(|| exceeds(s, text))?;
    let last = (s.cells.len() as u32).min(g.row1);
    for r in g.row0..last.max(g.row0) {
        for c in g.col0..g.col1 {
            s.set(r, c, None);
        }
    }
    Ok(g.a1(&s.title))
}

/// `POST …/values:batchClear` `{ranges}`.
pub async fn batch_clear(
    State(app): State<Arc<AppState>>,
    Extension(who): Extension<Issued>,
    Path(id): Path<String>,
    body: Bytes,
) -> SResult {
    let body = body_json(&body)?;
    let ranges: Vec<String> = body
        .get("ranges")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let cleared = change(&app, &id, Some(&who), |ss| {
        ranges
            .iter()
            .map(|r| clear_range(ss, r))
            .collect::<Result<Vec<_>, _>>()
    })?;
    Ok(axum::Json(json!({"spreadsheetId": id, "clearedRanges": cleared})).into_response())
}

/// `values.append`: finds the table in the range (the rows with data in its columns, from its
/// first row) and writes after it: over the empty rows (`OVERWRITE`, the default) or into new
/// rows inserted there (`INSERT_ROWS`); the grid grows as needed.
fn append(
    app: &AppState,
    who: &Issued,
    id: &str,
    text: &str,
    q: Option<&str>,
    body: &Bytes,
) -> SResult {
    let p = params(q);
    let user_entered = input_option(param(&p, "valueInputOption"))?;
    let insert = match param(&p, "insertDataOption").unwrap_or("OVERWRITE") {
        "OVERWRITE" => false,
        "INSERT_ROWS" => true,
        other => return Err(invalid_value("insert_data_option", other)),
    };
    let body = body_json(body)?;
    let columns = major_columns(body.get("majorDimension").and_then(Value::as_str))?;
    let values = body.get("values").cloned().unwrap_or(Value::Null);
    let height = match &values {
        Value::Array(rows) if columns => rows
            .iter()
            .filter_map(Value::as_array)
            .map(Vec::len)
            .max()
            .unwrap_or(0) as u32,
        Value::Array(rows) => rows.len() as u32,
        _ => 0,
    };
    let out = change(app, id, Some(who), |ss| {
        let (i, range, _) = resolve(ss, text)?;
        let s = &mut ss.sheets[i];
        let g = range.unclipped(s.row_count, s.column_count);
        let col1 = g.col1.min(s.column_count).max(g.col0 + 1);
        let last = s.last_row_with_data(g.row0, g.col0, col1);
        let table = last.map(|l| {
            Grid {
                row0: g.row0,
                row1: l + 1,
                col0: g.col0,
                col1,
            }
            .a1(&s.title)
        });
        let start = last.map_or(g.row0, |l| l + 1);
        if insert {
            s.insert_rows(start, height);
        } else if start + height > s.row_count {
            s.row_count = start + height;
        }
        let (w, updated) = write_values(
            ss,
            i,
            start,
            g.col0,
            None,
            text,
            &values,
            columns,
            user_entered,
        )?;
        let mut out = json!({
            "spreadsheetId": id,
            "updates": update_response(id, &updated, w),
        });
        if let Some(t) = table {
            out["tableRange"] = json!(t);
        }
        Ok(out)
    })?;
    Ok(axum::Json(out).into_response())
}
