//! Google Sheets API v4 emulator, served under `/v4/spreadsheets/...` so a connector's base URL
//! `http://127.0.0.1:PORT` replaces `https://sheets.googleapis.com`.
//!
//! Written from the contract sheet (`shared/api-contracts.md` §4) and the discovery document
//! (`shared/specs/sheets-v4.yaml`): `spreadsheets.get`, `spreadsheets.batchUpdate` (`addSheet`,
//! `insertDimension`, `deleteDimension`, `updateCells`; all or nothing), `values.get`,
//! `values.batchGet`, `values.update`, `values.batchUpdate`, `values.append`, `values.clear`,
//! `values.batchClear` ([`values`], [`structure`]). Every call needs a live access token of the
//! Google sign-in emulator (`sandbox/google/`) with a Sheets or Drive scope; the spreadsheet must
//! be shared with the token's service account (403 `PERMISSION_DENIED` otherwise). Reads and
//! writes each have per-minute quotas per user (60) and per project (300), answered with 429
//! `RESOURCE_EXHAUSTED` ([`SheetsConfig::quota`]; off with `ssot-vault sandbox --no-rate-limit`).
//! Errors are Google's `{"error": {"code", "message", "status"}}`.
//!
//! Counted endpoints (`/__sandbox/requests`): `GET /v4/spreadsheets/{id}` (get),
//! `POST /v4/spreadsheets/{id}` (`:batchUpdate`), `GET|PUT /v4/spreadsheets/{id}/values/{range}`,
//! `POST /v4/spreadsheets/{id}/values/{range}` (`:append`, `:clear`) and
//! `…/values:batchGet|batchUpdate|batchClear`.
//!
//! Admin paths, acting as a person in the browser (no auth, never faulted or limited):
//!
//! | call | effect |
//! |---|---|
//! | `GET /__sandbox/sheets/{id}` | every tab: id, title, grid size, cells as typed |
//! | `POST /__sandbox/sheets/{id}/cell` `{sheet, cell: "B3", value}` | types a value (as `USER_ENTERED`; `""` clears) |
//! | `POST /__sandbox/sheets/{id}/insert` `{sheet, dimension: ROWS\|COLUMNS, start, count}` | inserts empty rows or columns before 0-based `start` |
//! | `POST /__sandbox/sheets/{id}/delete` `{sheet, dimension, start, count}` | deletes them |
//! | `POST /__sandbox/sheets/{id}/sort` `{sheet, column: "B", descending, header_rows}` | sorts the tab by a column (header rows, default 1, stay) |
//! | `POST /__sandbox/sheets/{id}/share` `{email, shared}` | shares the spreadsheet with an account, or stops |
//! | `GET`/`POST /__sandbox/sheets/settings` | `{quota: {per_user, per_project, window_ms} \| null}` |

pub mod a1;
pub mod store;
mod structure;
mod values;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::AppState;
use super::emulator::{Emulator, EmulatorError, RemoteRecord};
use super::faults::{FaultRenderer, fault_middleware};
use super::google::{self, Issued};
use super::store::State as SandboxState;
use a1::{A1, column_index};
use store::{Cell, Sheet, SheetsData, Spreadsheet};

/// The seeded spreadsheet of registers (tabs Clients, Experts, Projects with header rows),
/// shared with the sandbox's service account.
pub const SEED_SPREADSHEET_ID: &str = "1SsotVaultSandboxRegisters_00000000000000000";

/// A seeded spreadsheet the sandbox's service account is not given (for 403 answers).
pub const PRIVATE_SPREADSHEET_ID: &str = "1SsotVaultSandboxNotShared_00000000000000000";

/// The seeded tabs and their header rows.
pub const SEED_TABS: [(&str, &[&str]); 3] = [
    (
        "Clients",
        &["ssot_id", "name", "email", "phone", "company", "status"],
    ),
    (
        "Experts",
        &["ssot_id", "name", "email", "specialty", "rate"],
    ),
    (
        "Projects",
        &["ssot_id", "title", "client", "status", "start", "budget"],
    ),
];

/// Per-minute request quotas of the Sheets API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SheetsQuota {
    /// Reads (and, separately, writes) per window per user (Google's: 60).
    pub per_user: u32,
    /// Reads (and writes) per window per project (Google's: 300).
    pub per_project: u32,
    /// The window (Google's: one minute).
    pub window: Duration,
}

impl Default for SheetsQuota {
    fn default() -> Self {
        SheetsQuota {
            per_user: 60,
            per_project: 300,
            window: Duration::from_secs(60),
        }
    }
}

/// Settings of the Sheets emulator.
#[derive(Debug, Clone)]
pub struct SheetsConfig {
    /// The quotas (`None`: no limits).
    pub quota: Option<SheetsQuota>,
}

impl Default for SheetsConfig {
    fn default() -> Self {
        SheetsConfig {
            quota: Some(SheetsQuota::default()),
        }
    }
}

/// The quota windows of this API.
#[derive(Debug)]
pub struct Quotas {
    config: SheetsQuota,
    read: google::QuotaWindows,
    write: google::QuotaWindows,
}

impl google::QuotaSet for Quotas {
    type Config = SheetsQuota;

    fn from_config(config: SheetsQuota) -> Self {
        let windows =
            || google::QuotaWindows::new(config.per_user, config.per_project, config.window);
        Quotas {
            config,
            read: windows(),
            write: windows(),
        }
    }
    fn config(&self) -> SheetsQuota {
        self.config
    }
}

/// The Sheets emulator's live settings: its quota windows.
pub type SheetsRuntime = google::QuotaRuntime<Quotas>;

/// A Sheets API error, rendered as Google's error body.
pub type SheetsError = google::ApiError;

/// Result of a Sheets handler.
pub type SResult = Result<Response, SheetsError>;

/// Scopes that let a token read spreadsheets; the first three also write.
const WRITE_SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/spreadsheets",
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/drive.file",
];
const READ_SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/spreadsheets",
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/drive.file",
    "https://www.googleapis.com/auth/spreadsheets.readonly",
    "https://www.googleapis.com/auth/drive.readonly",
];

/// The token check, the scope check and the quotas, before any handler.
async fn gate(State(app): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let who = match google::check_bearer(&app, req.headers()) {
        Ok(w) => w,
        Err(refused) => return refused.into_response(),
    };
    let read = req.method() == Method::GET;
    if let Err(refused) = google::check_scopes(&who, if read { READ_SCOPES } else { WRITE_SCOPES })
    {
        return refused.into_response();
    }
    let refused = {
        let mut q = app.sheets.quotas.lock().unwrap_or_else(|e| e.into_inner());
        match q.as_mut() {
            None => Ok(()),
            Some(q) if read => q.read.check(SERVICE, "Read requests", &who),
            Some(q) => q.write.check(SERVICE, "Write requests", &who),
        }
    };
    if let Err(message) = refused {
        app.count_rate_limited(super::route_key(&req));
        return google::api_error(StatusCode::TOO_MANY_REQUESTS, &message);
    }
    req.extensions_mut().insert(who);
    next.run(req).await
}

/// Path prefixes served by this emulator.
pub const PREFIXES: [&str; 1] = ["/v4/spreadsheets"];

/// The service's name in Google's quota messages.
const SERVICE: &str = "sheets.googleapis.com";

/// The Sheets routes with their gate and the fault layer, and the admin paths.
pub fn router(app: Arc<AppState>) -> Router<Arc<AppState>> {
    let api = Router::new()
        .route(
            "/v4/spreadsheets/{id}",
            get(structure::get_spreadsheet).post(structure::batch_update),
        )
        .route(
            "/v4/spreadsheets/{id}/values/{range}",
            get(values::get)
                .put(values::update)
                .post(values::append_or_clear),
        )
        .route(
            "/v4/spreadsheets/{id}/values:batchGet",
            get(values::batch_get),
        )
        .route(
            "/v4/spreadsheets/{id}/values:batchUpdate",
            post(values::batch_update),
        )
        .route(
            "/v4/spreadsheets/{id}/values:batchClear",
            post(values::batch_clear),
        )
        .route_layer(middleware::from_fn_with_state(app.clone(), gate))
        .route_layer(middleware::from_fn_with_state(app, fault_middleware));
    let admin = Router::new()
        .route(
            "/__sandbox/sheets/settings",
            get(admin_settings).post(admin_set_settings),
        )
        .route("/__sandbox/sheets/{id}", get(admin_dump))
        .route("/__sandbox/sheets/{id}/{action}", post(admin_action));
    api.merge(admin)
}

/// Checks that the spreadsheet exists (404) and is shared with the caller (403).
pub fn check_access(d: &SheetsData, id: &str, who: &Issued) -> Result<(), SheetsError> {
    let ss = d.spreadsheets.get(id).ok_or_else(SheetsError::not_found)?;
    if google::is_shared_with(&ss.shared_with, who) {
        Ok(())
    } else {
        Err(SheetsError {
            status: StatusCode::FORBIDDEN,
            message: google::NO_PERMISSION.to_owned(),
        })
    }
}

/// Runs a change on a copy of a spreadsheet, kept only when the change succeeds (every write is
/// all or nothing).
pub fn change<R>(
    app: &AppState,
    id: &str,
    who: Option<&Issued>,
    f: impl FnOnce(&mut Spreadsheet) -> Result<R, SheetsError>,
) -> Result<R, SheetsError> {
    app.with_sheets(|d| {
        if let Some(who) = who {
            check_access(d, id, who)?;
        }
        let mut copy = d
            .spreadsheets
            .get(id)
            .cloned()
            .ok_or_else(SheetsError::not_found)?;
        let r = f(&mut copy)?;
        d.spreadsheets.insert(id.to_owned(), copy);
        Ok(r)
    })
}

/// The tab a range names (its first tab when it names none); an unknown title is a bad range.
pub fn sheet_of(ss: &Spreadsheet, range: &A1, text: &str) -> Result<usize, SheetsError> {
    match &range.sheet {
        None if !ss.sheets.is_empty() => Ok(0),
        None => Err(SheetsError::invalid(format!(
            "Unable to parse range: {text}"
        ))),
        Some(t) => ss
            .sheet_index(t)
            .ok_or_else(|| SheetsError::invalid(format!("Unable to parse range: {text}"))),
    }
}

/// The seeded spreadsheets.
pub fn seed_data() -> SheetsData {
    let mut d = SheetsData::default();
    let mut registers = Spreadsheet {
        id: SEED_SPREADSHEET_ID.to_owned(),
        title: "Registers".to_owned(),
        shared_with: vec![google::SANDBOX_CLIENT_EMAIL.to_owned()],
        sheets: Vec::new(),
        next_sheet_id: 1,
    };
    for (i, (title, header)) in SEED_TABS.iter().enumerate() {
        let mut sheet = Sheet::new(i as i64 * 1_000_000 + 7, title, 1000, 26);
        for (c, h) in header.iter().enumerate() {
            sheet.set(0, c as u32, Some(Cell::Text((*h).to_owned())));
        }
        registers.sheets.push(sheet);
    }
    registers.next_sheet_id = 3_000_007;
    let private = Spreadsheet {
        id: PRIVATE_SPREADSHEET_ID.to_owned(),
        title: "Not shared".to_owned(),
        shared_with: vec!["someone.else@example.com".to_owned()],
        sheets: vec![Sheet::new(0, "Sheet1", 1000, 26)],
        next_sheet_id: 1,
    };
    d.spreadsheets.insert(registers.id.clone(), registers);
    d.spreadsheets.insert(private.id.clone(), private);
    d
}

// ---- admin: a person in the browser ----

/// A change made in the browser, for [`admin_edit`].
#[derive(Debug, Clone, PartialEq)]
pub enum BrowserEdit {
    /// Types `value` into the cell (A1 `B3`), as `USER_ENTERED`; `""` clears it.
    SetCell {
        /// The cell.
        cell: String,
        /// What is typed.
        value: String,
    },
    /// Inserts `count` empty rows (or columns) before the 0-based `start`.
    Insert {
        /// Columns rather than rows.
        columns: bool,
        /// Where.
        start: u32,
        /// How many.
        count: u32,
    },
    /// Deletes `count` rows (or columns) from the 0-based `start`.
    Delete {
        /// Columns rather than rows.
        columns: bool,
        /// From where.
        start: u32,
        /// How many.
        count: u32,
    },
    /// Sorts the rows under `header_rows` by a column (`B`).
    Sort {
        /// The column's letters.
        column: String,
        /// Z → A.
        descending: bool,
        /// Rows at the top left in place.
        header_rows: u32,
    },
}

/// Makes a browser edit on tab `sheet` of spreadsheet `id`.
pub fn admin_edit(app: &AppState, id: &str, sheet: &str, edit: &BrowserEdit) -> Result<(), String> {
    change(app, id, None, |ss| {
        let i = ss
            .sheet_index(sheet)
            .ok_or_else(|| SheetsError::invalid(format!("no tab named {sheet:?}")))?;
        let s = &mut ss.sheets[i];
        match edit {
            BrowserEdit::SetCell { cell, value } => {
                let r = A1::parse(cell).map_err(|e| SheetsError::invalid(e.to_string()))?;
                let Some(a1::Cells::One { col, row }) = r.cells else {
                    return Err(SheetsError::invalid(format!("{cell} is not one cell")));
                };
                if row >= s.row_count || col >= s.column_count {
                    return Err(SheetsError::invalid(format!("{cell} is outside the grid")));
                }
                s.set(row, col, store::user_entered(value));
            }
            BrowserEdit::Insert {
                columns,
                start,
                count,
            } => {
                let limit = if *columns {
                    s.column_count
                } else {
                    s.row_count
                };
                if *start > limit {
                    return Err(SheetsError::invalid("insert beyond the grid"));
                }
                if *columns {
                    s.insert_columns(*start, *count);
                } else {
                    s.insert_rows(*start, *count);
                }
            }
            BrowserEdit::Delete {
                columns,
                start,
                count,
            } => {
                let limit = if *columns {
                    s.column_count
                } else {
                    s.row_count
                };
                let end = start.saturating_add(*count);
                if end > limit || *count == 0 || (*start == 0 && end == limit) {
                    return Err(SheetsError::invalid(
                        "delete outside the grid, or of every row or column",
                    ));
                }
                if *columns {
                    s.delete_columns(*start, end);
                } else {
                    s.delete_rows(*start, end);
                }
            }
            BrowserEdit::Sort {
                column,
                descending,
                header_rows,
            } => {
                let col = column_index(column)
                    .ok_or_else(|| SheetsError::invalid(format!("no column {column}")))?;
                s.sort_rows(*header_rows, col, !descending);
            }
        }
        Ok(())
    })
    .map_err(|e| e.message)
}

/// Shares a spreadsheet with an account (or stops sharing it).
pub fn admin_share(app: &AppState, id: &str, email: &str, shared: bool) -> Result<(), String> {
    change(app, id, None, |ss| {
        ss.shared_with.retain(|e| !e.eq_ignore_ascii_case(email));
        if shared {
            ss.shared_with.push(email.to_owned());
        }
        Ok(())
    })
    .map_err(|e| e.message)
}

/// Every tab of a spreadsheet with its cells as typed (`None`: no such spreadsheet).
pub fn admin_view(app: &AppState, id: &str) -> Option<Value> {
    app.read_sheets(|d| {
        let ss = d.spreadsheets.get(id)?;
        Some(json!({
            "spreadsheetId": ss.id,
            "title": ss.title,
            "shared_with": ss.shared_with,
            "sheets": ss.sheets.iter().map(|s| json!({
                "sheetId": s.sheet_id,
                "title": s.title,
                "rowCount": s.row_count,
                "columnCount": s.column_count,
                "rows": s.cells.iter().map(|r| r.iter().map(|c| c.as_ref().map(Cell::typed).unwrap_or_default()).collect::<Vec<_>>()).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }))
    })
}

fn admin_bad(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": message.into()})),
    )
        .into_response()
}

async fn admin_dump(State(app): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    match admin_view(&app, &id) {
        Some(v) => axum::Json(v).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": "no such spreadsheet"})),
        )
            .into_response(),
    }
}

async fn admin_action(
    State(app): State<Arc<AppState>>,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return admin_bad(format!("invalid JSON: {e}")),
    };
    let text = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let num = |k: &str, d: u64| {
        v.get(k)
            .and_then(Value::as_u64)
            .unwrap_or(d)
            .min(u64::from(u32::MAX)) as u32
    };
    let columns = match text("dimension").as_str() {
        "COLUMNS" => true,
        "ROWS" | "" => false,
        other => return admin_bad(format!("dimension must be ROWS or COLUMNS, not {other}")),
    };
    let edit = match action.as_str() {
        "share" => {
            let shared = v.get("shared").and_then(Value::as_bool).unwrap_or(true);
            return match admin_share(&app, &id, &text("email"), shared) {
                Ok(()) => StatusCode::NO_CONTENT.into_response(),
                Err(e) => admin_bad(e),
            };
        }
        "cell" => BrowserEdit::SetCell {
            cell: text("cell"),
            value: match v.get("value") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            },
        },
        "insert" => BrowserEdit::Insert {
            columns,
            start: num("start", 0),
            count: num("count", 1),
        },
        "delete" => BrowserEdit::Delete {
            columns,
            start: num("start", 0),
            count: num("count", 1),
        },
        "sort" => BrowserEdit::Sort {
            column: text("column"),
            descending: v
                .get("descending")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            header_rows: num("header_rows", 1),
        },
        other => return admin_bad(format!("unknown action {other}")),
    };
    match admin_edit(&app, &id, &text("sheet"), &edit) {
        Ok(()) => match admin_view(&app, &id) {
            Some(v) => axum::Json(v).into_response(),
            None => StatusCode::NO_CONTENT.into_response(),
        },
        Err(e) => admin_bad(e),
    }
}

fn settings_json(app: &AppState) -> Value {
    json!({
        "quota": app.sheets.quota().map(|q| json!({
            "per_user": q.per_user,
            "per_project": q.per_project,
            "window_ms": q.window.as_millis() as u64,
        })),
    })
}

async fn admin_settings(State(app): State<Arc<AppState>>) -> Response {
    axum::Json(settings_json(&app)).into_response()
}

async fn admin_set_settings(State(app): State<Arc<AppState>>, body: Bytes) -> Response {
    let v: Value = match serde_json::from_slice(if body.is_empty() { b"{}" } else { &body }) {
        Ok(v) => v,
        Err(e) => return admin_bad(format!("invalid JSON: {e}")),
    };
    match v.get("quota") {
        None => {}
        Some(Value::Null) => app.sheets.set_quota(None),
        Some(q) => {
            let n = |k: &str| {
                q.get(k)
                    .and_then(Value::as_u64)
                    .map(|n| n.min(u64::from(u32::MAX)) as u32)
            };
            let (Some(per_user), Some(per_project), Some(w)) =
                (n("per_user"), n("per_project"), n("window_ms"))
            else {
                return admin_bad("quota needs {per_user, per_project, window_ms}");
            };
            app.sheets.set_quota(Some(SheetsQuota {
                per_user,
                per_project,
                window: Duration::from_millis(u64::from(w)),
            }));
        }
    }
    axum::Json(settings_json(&app)).into_response()
}

// ---- the Emulator trait: rows of the seeded registers ----

/// The Sheets emulator. Its record kinds are the seeded spreadsheet's tabs; a record is a row
/// under the header (its id: its `ssot_id` cell, the row number while that is empty), its
/// fields the header's columns.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sheets;

const NAME: &str = "sheets";

fn unknown(kind: &str) -> EmulatorError {
    EmulatorError::UnknownKind {
        service: NAME,
        kind: kind.to_owned(),
    }
}

fn rejected(message: impl Into<String>) -> EmulatorError {
    EmulatorError::Rejected {
        service: NAME,
        message: message.into(),
    }
}

fn header(s: &Sheet) -> Vec<String> {
    s.cells
        .first()
        .map(|r| {
            r.iter()
                .map(|c| c.as_ref().map(Cell::typed).unwrap_or_default())
                .collect()
        })
        .unwrap_or_default()
}

fn with_tab<R>(
    app: &AppState,
    kind: &str,
    f: impl FnOnce(&Sheet) -> R,
) -> Result<R, EmulatorError> {
    app.read_sheets(|d| {
        let ss = d.spreadsheets.get(SEED_SPREADSHEET_ID)?;
        ss.sheet_index(kind).map(|i| f(&ss.sheets[i]))
    })
    .ok_or_else(|| unknown(kind))
}

/// The 0-based row of a record id: the row whose `ssot_id` cell holds it, else the row of that
/// number (a row typed without a key).
fn row_of(app: &AppState, kind: &str, id: &str) -> Result<u32, EmulatorError> {
    let (keys, rows) = with_tab(app, kind, |s| {
        let head = header(s);
        let keys: Vec<String> = match head.iter().position(|h| h == "ssot_id") {
            Some(c) => s
                .cells
                .iter()
                .map(|r| {
                    r.get(c)
                        .and_then(Option::as_ref)
                        .map(Cell::typed)
                        .unwrap_or_default()
                })
                .collect(),
            None => Vec::new(),
        };
        (keys, s.cells.len())
    })?;
    if let Some(i) = keys.iter().skip(1).position(|k| k == id) {
        return Ok(i as u32 + 1);
    }
    id.parse::<u32>()
        .ok()
        .filter(|n| *n >= 2 && (*n as usize) <= rows)
        .map(|n| n - 1)
        .ok_or_else(|| EmulatorError::NotFound {
            service: NAME,
            kind: kind.to_owned(),
            id: id.to_owned(),
        })
}

fn column_of(head: &[String], field: &str) -> Result<u32, EmulatorError> {
    head.iter()
        .position(|h| h == field)
        .map(|c| c as u32)
        .ok_or_else(|| rejected(format!("no column named {field}")))
}

impl Emulator for Sheets {
    fn name(&self) -> &'static str {
        NAME
    }

    fn prefixes(&self) -> &'static [&'static str] {
        &PREFIXES
    }

    fn router(&self, app: Arc<AppState>) -> Router<Arc<AppState>> {
        router(app)
    }

    fn fault_renderer(&self) -> FaultRenderer {
        google::render_api_fault
    }

    fn seed(&self, state: &mut SandboxState) {
        state.sheets = seed_data();
    }

    fn kinds(&self) -> &'static [&'static str] {
        &["Clients", "Experts", "Projects"]
    }

    fn records(&self, app: &AppState, kind: &str) -> Result<Vec<RemoteRecord>, EmulatorError> {
        with_tab(app, kind, |s| {
            let head = header(s);
            s.cells
                .iter()
                .enumerate()
                .skip(1)
                .filter(|(_, r)| r.iter().any(Option::is_some))
                .map(|(i, r)| {
                    let fields: std::collections::BTreeMap<String, String> = head
                        .iter()
                        .enumerate()
                        .filter(|(_, h)| !h.is_empty())
                        .filter_map(|(c, h)| {
                            r.get(c)
                                .and_then(Option::as_ref)
                                .map(|v| (h.clone(), v.typed()))
                        })
                        .collect();
                    RemoteRecord {
                        id: fields
                            .get("ssot_id")
                            .filter(|k| !k.is_empty())
                            .cloned()
                            .unwrap_or_else(|| (i + 1).to_string()),
                        raw: json!(fields),
                        fields,
                        archived: false,
                    }
                })
                .collect()
        })
    }

    fn create(
        &self,
        app: &AppState,
        kind: &str,
        fields: &[(&str, &str)],
    ) -> Result<String, EmulatorError> {
        let (head, next) = with_tab(app, kind, |s| (header(s), s.cells.len().max(1) as u32))?;
        let cols = fields
            .iter()
            .map(|(k, v)| column_of(&head, k).map(|c| (c, *v)))
            .collect::<Result<Vec<_>, _>>()?;
        for (c, v) in cols {
            let cell = A1 {
                sheet: None,
                cells: Some(a1::Cells::One { col: c, row: next }),
            }
            .to_string();
            admin_edit(
                app,
                SEED_SPREADSHEET_ID,
                kind,
                &BrowserEdit::SetCell {
                    cell,
                    value: v.to_owned(),
                },
            )
            .map_err(rejected)?;
        }
        Ok((next + 1).to_string())
    }

    fn edit(
        &self,
        app: &AppState,
        kind: &str,
        id: &str,
        field: &str,
        value: &str,
    ) -> Result<(), EmulatorError> {
        let head = with_tab(app, kind, header)?;
        let row = row_of(app, kind, id)?;
        let col = column_of(&head, field)?;
        let cell = A1 {
            sheet: None,
            cells: Some(a1::Cells::One { col, row }),
        }
        .to_string();
        admin_edit(
            app,
            SEED_SPREADSHEET_ID,
            kind,
            &BrowserEdit::SetCell {
                cell,
                value: value.to_owned(),
            },
        )
        .map_err(rejected)
    }

    fn archive(&self, app: &AppState, kind: &str, id: &str) -> Result<(), EmulatorError> {
        let row = row_of(app, kind, id)?;
        admin_edit(
            app,
            SEED_SPREADSHEET_ID,
            kind,
            &BrowserEdit::Delete {
                columns: false,
                start: row,
                count: 1,
            },
        )
        .map_err(rejected)
    }
}
