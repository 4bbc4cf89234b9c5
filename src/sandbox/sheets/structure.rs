//! `spreadsheets.get` (the spreadsheet's properties and each tab's id, title, index and grid
//! size; `fields` and `ranges` are accepted and the full shape answered) and
//! `spreadsheets.batchUpdate` with `addSheet`, `insertDimension`, `deleteDimension` and
//! `updateCells`, applied all or nothing.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::store::{Cell, Sheet, Spreadsheet};
use super::{SResult, SheetsError, change, check_access};
use crate::sandbox::AppState;
use crate::sandbox::google::Issued;

fn sheet_properties(s: &Sheet, index: usize) -> Value {
    json!({
        "sheetId": s.sheet_id,
        "title": s.title,
        "index": index,
        "sheetType": "GRID",
        "gridProperties": {"rowCount": s.row_count, "columnCount": s.column_count},
    })
}

fn spreadsheet_json(ss: &Spreadsheet) -> Value {
    json!({
        "spreadsheetId": ss.id,
        "properties": {
            "title": ss.title,
            "locale": "en_US",
            "autoRecalc": "ON_CHANGE",
            "timeZone": "Etc/GMT",
        },
        "sheets": ss.sheets.iter().enumerate()
            .map(|(i, s)| json!({"properties": sheet_properties(s, i)}))
            .collect::<Vec<_>>(),
        "spreadsheetUrl": format!("https://docs.google.com/spreadsheets/d/{}/edit", ss.id),
    })
}

/// `GET /v4/spreadsheets/{id}`.
pub async fn get_spreadsheet(
    State(app): State<Arc<AppState>>,
    Extension(who): Extension<Issued>,
    Path(id): Path<String>,
) -> SResult {
    app.read_sheets(|d| {
        check_access(d, &id, &who)?;
        let ss = d.spreadsheets.get(&id).ok_or_else(SheetsError::not_found)?;
        Ok(axum::Json(spreadsheet_json(ss)).into_response())
    })
}

/// `POST /v4/spreadsheets/{id}:batchUpdate` (the route's `{id}` holds the suffix).
pub async fn batch_update(
    State(app): State<Arc<AppState>>,
    Extension(who): Extension<Issued>,
    Path(id): Path<String>,
    body: Bytes,
) -> SResult {
    let Some(id) = id.strip_suffix(":batchUpdate") else {
        return Err(SheetsError::not_found());
    };
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| SheetsError::invalid(format!("Invalid JSON payload received. {e}")))?;
    let requests = body
        .get("requests")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if requests.is_empty() {
        return Err(SheetsError::invalid("Must specify at least one request."));
    }
    let replies = change(&app, id, Some(&who), |ss| {
        requests
            .iter()
            .enumerate()
            .map(|(n, r)| apply(ss, n, r))
            .collect::<Result<Vec<_>, _>>()
    })?;
    Ok(axum::Json(json!({"spreadsheetId": id, "replies": replies})).into_response())
}

fn apply(ss: &mut Spreadsheet, n: usize, request: &Value) -> Result<Value, SheetsError> {
    let obj = request
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or_else(|| {
            SheetsError::invalid(format!(
                "Invalid requests[{n}]: exactly one kind of request must be set"
            ))
        })?;
    let Some((kind, body)) = obj.iter().next() else {
        return Err(SheetsError::invalid(format!("Invalid requests[{n}]")));
    };
    let bad = |msg: String| SheetsError::invalid(format!("Invalid requests[{n}].{kind}: {msg}"));
    match kind.as_str() {
        "addSheet" => add_sheet(ss, body).map_err(bad),
        "insertDimension" => dimension(ss, body, true).map_err(bad),
        "deleteDimension" => dimension(ss, body, false).map_err(bad),
        "updateCells" => update_cells(ss, body).map_err(bad),
        other => Err(SheetsError::invalid(format!(
            "Invalid JSON payload received. Unknown name \"{other}\" at 'requests[{n}]': \
             Cannot find field."
        ))),
    }
}

fn int(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

fn add_sheet(ss: &mut Spreadsheet, body: &Value) -> Result<Value, String> {
    let props = body.get("properties").cloned().unwrap_or_else(|| json!({}));
    let title = match props.get("title").and_then(Value::as_str) {
        Some(t) if !t.trim().is_empty() => t.to_owned(),
        Some(_) => return Err("The sheet name cannot be empty.".to_owned()),
        None => {
            let mut k = ss.sheets.len() + 1;
            while ss.sheet_index(&format!("Sheet{k}")).is_some() {
                k += 1;
            }
            format!("Sheet{k}")
        }
    };
    if ss.sheet_index(&title).is_some() {
        return Err(format!(
            "A sheet with the name \"{title}\" already exists. Please enter another name."
        ));
    }
    let id = match int(&props, "sheetId") {
        Some(id) if id < 0 => return Err(format!("Invalid sheetId: {id}")),
        Some(id) if ss.sheet_by_id(id).is_some() => {
            return Err(format!("A sheet with the id {id} already exists."));
        }
        Some(id) => id,
        None => {
            let id = ss.next_sheet_id;
            ss.next_sheet_id += 1;
            id
        }
    };
    let grid = props.get("gridProperties").cloned().unwrap_or_default();
    let rows = int(&grid, "rowCount").unwrap_or(1000);
    let cols = int(&grid, "columnCount").unwrap_or(26);
    if !(1..=10_000_000).contains(&rows) || !(1..=18_278).contains(&cols) {
        return Err("gridProperties out of range".to_owned());
    }
    let index = int(&props, "index")
        .map(|i| (i.max(0) as usize).min(ss.sheets.len()))
        .unwrap_or(ss.sheets.len());
    ss.sheets
        .insert(index, Sheet::new(id, &title, rows as u32, cols as u32));
    Ok(json!({"addSheet": {"properties": sheet_properties(&ss.sheets[index], index)}}))
}

fn grid_sheet(ss: &Spreadsheet, range: &Value) -> Result<usize, String> {
    let id = int(range, "sheetId").unwrap_or(0);
    ss.sheet_by_id(id)
        .ok_or_else(|| format!("No grid with id: {id}"))
}

fn dimension(ss: &mut Spreadsheet, body: &Value, insert: bool) -> Result<Value, String> {
    let range = body.get("range").cloned().unwrap_or_default();
    let i = grid_sheet(ss, &range)?;
    let s = &mut ss.sheets[i];
    let columns = match range.get("dimension").and_then(Value::as_str) {
        Some("ROWS") => false,
        Some("COLUMNS") => true,
        _ => return Err("range.dimension must be ROWS or COLUMNS".to_owned()),
    };
    let (Some(start), Some(end)) = (int(&range, "startIndex"), int(&range, "endIndex")) else {
        return Err("range.startIndex and range.endIndex are required".to_owned());
    };
    let count = if columns { s.column_count } else { s.row_count };
    if start < 0 || end <= start {
        return Err(format!(
            "Invalid dimension range: startIndex {start}, endIndex {end}"
        ));
    }
    let (start, end) = (start as u32, end.min(i64::from(u32::MAX)) as u32);
    if insert {
        if start > count {
            return Err(format!(
                "range.startIndex [{start}] is after the last {} in grid [{count}]",
                if columns { "column" } else { "row" }
            ));
        }
        if columns {
            s.insert_columns(start, end - start);
        } else {
            s.insert_rows(start, end - start);
        }
    } else {
        if end > count {
            return Err(format!(
                "range.endIndex [{end}] is after the last {} in grid [{count}]",
                if columns { "column" } else { "row" }
            ));
        }
        if start == 0 && end == count {
            return Err(format!(
                "You can't delete all the {} on the sheet.",
                if columns { "columns" } else { "rows" }
            ));
        }
        if columns {
            s.delete_columns(start, end);
        } else {
            s.delete_rows(start, end);
        }
    }
    Ok(json!({}))
}

/// A `CellData`'s `userEnteredValue` (`Ok(None)`: none, the cell is cleared).
fn extended_value(cell: &Value) -> Result<Option<Cell>, String> {
    let Some(v) = cell.get("userEnteredValue") else {
        return Ok(None);
    };
    if let Some(s) = v.get("stringValue").and_then(Value::as_str) {
        return Ok(Some(Cell::Text(s.to_owned())));
    }
    if let Some(n) = v.get("numberValue").and_then(Value::as_f64) {
        return Ok(Some(Cell::Number(n)));
    }
    if let Some(b) = v.get("boolValue").and_then(Value::as_bool) {
        return Ok(Some(Cell::Bool(b)));
    }
    if let Some(f) = v.get("formulaValue").and_then(Value::as_str) {
        return Ok(Some(Cell::Formula(f.to_owned())));
    }
    Err(format!("unsupported userEnteredValue {v}"))
}

fn update_cells(ss: &mut Spreadsheet, body: &Value) -> Result<Value, String> {
    let fields = body.get("fields").and_then(Value::as_str).unwrap_or("");
    if fields.is_empty() {
        return Err("At least one field must be updated.".to_owned());
    }
    let mask_values = fields == "*"
        || fields
            .split(',')
            .any(|f| f.trim().starts_with("userEnteredValue"));
    let (anchor, limit) = match (body.get("start"), body.get("range")) {
        (Some(start), None) => (start.clone(), None),
        (None, Some(range)) => (range.clone(), Some(range.clone())),
        _ => return Err("exactly one of start and range must be set".to_owned()),
    };
    let i = grid_sheet(ss, &anchor)?;
    let s = &mut ss.sheets[i];
    let (row0, col0) = if limit.is_some() {
        (
            int(&anchor, "startRowIndex").unwrap_or(0),
            int(&anchor, "startColumnIndex").unwrap_or(0),
        )
    } else {
        (
            int(&anchor, "rowIndex").unwrap_or(0),
            int(&anchor, "columnIndex").unwrap_or(0),
        )
    };
    if row0 < 0 || col0 < 0 {
        return Err("negative start".to_owned());
    }
    let end = |k: &str, d: u32| {
        limit
            .as_ref()
            .and_then(|l| int(l, k))
            .map_or(d, |v| v.clamp(0, i64::from(d)) as u32)
    };
    let (row1, col1) = (
        end("endRowIndex", s.row_count),
        end("endColumnIndex", s.column_count),
    );
    let rows = body
        .get("rows")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (a, row) in rows.iter().enumerate() {
        let cells = row
            .get("values")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (b, cell) in cells.iter().enumerate() {
            let r = row0 as u32 + a as u32;
            let c = col0 as u32 + b as u32;
            if r >= row1 || r >= s.row_count {
                return Err(format!(
                    "GridCoordinate.rowIndex[{r}] is after last row in grid[{}]",
                    s.row_count.min(row1).saturating_sub(1)
                ));
            }
            if c >= col1 || c >= s.column_count {
                return Err(format!(
                    "GridCoordinate.columnIndex[{c}] is after last column in grid[{}]",
                    s.column_count.min(col1).saturating_sub(1)
                ));
            }
            if mask_values {
                s.set(r, c, extended_value(cell)?);
            }
        }
    }
    Ok(json!({}))
}
