//! Google Sheets: the registers of clients, experts and projects, two-way. One tab per note type
//! (default `Clients`, `Experts`, `Projects`), a header row naming the columns, one row per note.
//!
//! # Rows and their identity
//!
//! A row is found by its **key column** (`ssot_id`), a column by its **header**, never by
//! position: people sort the rows, insert, reorder and delete columns and rows. A row's remote
//! id is its `ssot_id` (rows have no other stable id; a note's `sheets_id` is that same value).
//! A row typed by hand with an empty key (or a key that cannot be an id, or the key of a row
//! above it, as when a row is copied) is given a fresh `ssot_id` **before** the pull returns it:
//! a crash after that write finds the row with its id next run and makes its note once; a crash
//! before finds the row empty again; no duplicate either way.
//!
//! # Reads
//!
//! Every run reads every tab whole in one `values.batchGet`; an unchanged resync is that one
//! request. The read is reported full when the engine asked for a full read (no cursor: the
//! first run, `sync --full`, `full_pull_hours`); on the other runs the engine asks
//! [`Connector::archived`] by its `check_archived_minutes`, answered from the same read without
//! a request, and marks the notes of deleted rows archived through its usual rules and rail.
//! [`Connector::fetch`] is answered from that read too.
//!
//! # Writes
//!
//! Changed cells and header cells are written in one `values.batchUpdate` (`USER_ENTERED`, so
//! numbers and dates are the sheet's own; text it would parse is written with a leading `'`).
//! Their positions come from the run's read; just before writing, the header rows and key
//! columns are read again (one cheap `batchGet`) and when a tab changed in between, the tabs are
//! read whole again and the positions recomputed (three tries). The window left is the
//! milliseconds between that re-read and the write. A mapped key without a column gets one, its
//! header appended to the header row. New notes are appended (`values.append`, one per tab, never
//! resent: a lost answer fails the run and the next read finds the row by its key), their columns
//! placed by the header of the run's read. Archiving a note deletes its row (`deleteDimension`,
//! checked against a re-read of the key column the same way), as HubSpot and Trello take their
//! record out of the lists people work from.

pub mod client;
pub mod config;
pub mod mapping;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::connectors::google::{SHEETS_SCOPE, sign_in};
use crate::connectors::{
    Binding, Connector, ConnectorError, Health, HttpStats, Pulled, RemoteRecord, Secret, Upsert,
    WriteOutcome,
};
use crate::secrets::CredentialSource;
use crate::vault::schema::Schema;

pub use config::{ID_KEY, NAME, SheetsConfig};

use client::{Client, quoted};
use mapping::Tab;

/// How often a positional write is computed again when the tab changed under it.
const TRIES: usize = 3;

/// One tab as read: its header and the rows under it (row `i` is the sheet's row `i + 2`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TabRead {
    /// The header row's texts.
    pub header: Vec<String>,
    /// The rows under it, cells as read.
    pub rows: Vec<Vec<Value>>,
}

impl TabRead {
    /// The index of a header.
    fn col(&self, header: &str) -> Option<usize> {
        self.header.iter().position(|h| h == header)
    }

    /// The key cells of the rows, as text.
    fn keys(&self, key_col: Option<usize>) -> Vec<String> {
        let mut keys: Vec<String> = self
            .rows
            .iter()
            .map(|r| key_col.and_then(|c| r.get(c)).map(text).unwrap_or_default())
            .collect();
        while keys.last().is_some_and(String::is_empty) {
            keys.pop();
        }
        keys
    }
}

/// A cell as text (header and key cells).
fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => mapping::clean(s),
        other => other.to_string(),
    }
}

/// A 0-based column's letters (`0` → `A`, `26` → `AA`).
pub fn column_letters(mut i: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// A cell's A1 range on a tab (0-based column, 1-based row).
fn cell(tab: &str, col: usize, row: usize) -> String {
    format!("{}!{}{row}", quoted(tab), column_letters(col))
}

/// Rows whose key needs writing, per note type: (row index, fresh key).
type NewKeys = BTreeMap<String, Vec<(usize, String)>>;

/// The Google Sheets connector.
#[derive(Debug)]
pub struct Sheets {
    cfg: SheetsConfig,
    tabs: Vec<Tab>,
    bindings: Vec<Binding>,
    credential: Secret,
    client: Option<Client>,
    source: Option<CredentialSource>,
    /// The tabs as last read this run (note type → tab), kept in step with the run's writes.
    read: Option<BTreeMap<String, TabRead>>,
    /// Tab title → sheet id, once asked.
    sheet_ids: BTreeMap<String, i64>,
    /// The run changes nothing (`sync --dry-run`): rows typed by hand get their keys in the
    /// run's read only.
    dry_run: bool,
}

impl Sheets {
    /// A connector from its configuration and credential (the key file's contents or path);
    /// the key is read at the first request.
    pub fn new(cfg: SheetsConfig, schema: &Schema, credential: Secret) -> Sheets {
        let tabs = mapping::build(&cfg, schema);
        let bindings = mapping::bindings(&tabs);
        Sheets {
            cfg,
            tabs,
            bindings,
            credential,
            client: None,
            source: None,
            read: None,
            sheet_ids: BTreeMap::new(),
            dry_run: false,
        }
    }

    /// Records where the credential came from.
    pub fn with_source(mut self, source: CredentialSource) -> Sheets {
        self.source = Some(source);
        self
    }

    /// Where the credential came from, when known.
    pub fn credential_source(&self) -> Option<&CredentialSource> {
        self.source.as_ref()
    }

    fn config_error(&self, message: impl Into<String>) -> ConnectorError {
        ConnectorError::Config {
            service: NAME.into(),
            message: message.into(),
        }
    }

    /// The API client, signing in with the key file at the first call.
    fn client(&mut self) -> Result<&Client, ConnectorError> {
        if self.client.is_none() {
            let id = self.cfg.spreadsheet_id.trim().to_string();
            if id.is_empty() {
                return Err(self.config_error(
                    "set `spreadsheet_id` in [remotes.sheets] to the spreadsheet's id (the part of its URL between /d/ and /edit)",
                ));
            }
            let google = sign_in(
                NAME,
                &self.cfg.base_url,
                &self.cfg.shared.http,
                &self.credential,
                self.source.as_ref(),
                &[SHEETS_SCOPE],
            )?;
            self.client = Some(Client {
                google,
                spreadsheet: id,
            });
        }
        self.client
            .as_ref()
            .ok_or_else(|| self.config_error("no client"))
    }

    fn tab(&self, note_type: &str) -> Option<&Tab> {
        self.tabs.iter().find(|t| t.note_type == note_type)
    }

    fn key_column(&self) -> &str {
        &self.cfg.key_column
    }

    /// Reads every tab whole (one `values.batchGet`).
    async fn read_all(&mut self) -> Result<BTreeMap<String, TabRead>, ConnectorError> {
        let ranges: Vec<String> = self.tabs.iter().map(|t| quoted(&t.title)).collect();
        let got = self.client()?.batch_get(&ranges).await?;
        let mut out = BTreeMap::new();
        for (t, vr) in self.tabs.iter().zip(got) {
            let mut rows: Vec<Vec<Value>> = vr["values"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| r.as_array().cloned().unwrap_or_default())
                .collect();
            let header = if rows.is_empty() {
                Vec::new()
            } else {
                rows.remove(0).iter().map(text).collect()
            };
            out.insert(t.note_type.clone(), TabRead { header, rows });
        }
        Ok(out)
    }

    /// Whether the header rows and key columns of `types` are still as `read` has them (one
    /// `values.batchGet`).
    async fn unchanged(
        &mut self,
        read: &BTreeMap<String, TabRead>,
        types: &BTreeSet<String>,
    ) -> Result<bool, ConnectorError> {
        let key = self.key_column().to_string();
        let mut ranges = Vec::new();
        let mut expect = Vec::new();
        for t in self.tabs.iter().filter(|t| types.contains(&t.note_type)) {
            let r = read.get(&t.note_type).cloned().unwrap_or_default();
            ranges.push(format!("{}!1:1", quoted(&t.title)));
            let key_col = r.col(&key);
            if let Some(c) = key_col {
                let l = column_letters(c);
                ranges.push(format!("{}!{l}2:{l}", quoted(&t.title)));
            }
            expect.push((r.header.clone(), key_col.map(|c| r.keys(Some(c)))));
        }
        if ranges.is_empty() {
            return Ok(true);
        }
        let got = self.client()?.batch_get(&ranges).await?;
        let mut got = got.into_iter();
        for (header, keys) in expect {
            let h: Vec<String> = got
                .next()
                .and_then(|v| v["values"][0].as_array().cloned())
                .unwrap_or_default()
                .iter()
                .map(text)
                .collect();
            let mut header = header;
            while header.last().is_some_and(String::is_empty) {
                header.pop();
            }
            if h != header {
                return Ok(false);
            }
            if let Some(keys) = keys {
                let mut k: Vec<String> = got
                    .next()
                    .and_then(|v| v["values"].as_array().cloned())
                    .unwrap_or_default()
                    .iter()
                    .map(|r| r.get(0).map(text).unwrap_or_default())
                    .collect();
                while k.last().is_some_and(String::is_empty) {
                    k.pop();
                }
                if k != keys {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// The rows of a read needing a key: empty, not an id, or a key seen above.
    fn rows_needing_keys(&self, read: &BTreeMap<String, TabRead>) -> NewKeys {
        let mut out = NewKeys::new();
        for t in &self.tabs {
            let Some(r) = read.get(&t.note_type) else {
                continue;
            };
            let key_col = r.col(self.key_column());
            let mut seen = BTreeSet::new();
            for (i, row) in r.rows.iter().enumerate() {
                if row.iter().all(|c| text(c).is_empty()) {
                    continue;
                }
                let key = key_col
                    .and_then(|c| row.get(c))
                    .map(text)
                    .unwrap_or_default();
                if mapping::valid_key(&key) && seen.insert(key.clone()) {
                    continue;
                }
                if !key.is_empty() {
                    tracing::warn!(
                        tab = %t.title,
                        row = i + 2,
                        "sheets: the row's key is not an id, or another row's; it is given a new one"
                    );
                }
                out.entry(t.note_type.clone())
                    .or_default()
                    .push((i, crate::vault::id::new_ulid()));
            }
        }
        out
    }

    /// Writes the fresh keys of rows typed by hand into the read and the sheet (the key column
    /// made when the tab has none).
    fn key_cells(
        &self,
        read: &mut BTreeMap<String, TabRead>,
        keys: &NewKeys,
    ) -> Vec<(String, Vec<Vec<String>>)> {
        let mut data = Vec::new();
        for (note_type, rows) in keys {
            let (Some(t), Some(r)) = (self.tab(note_type), read.get_mut(note_type)) else {
                continue;
            };
            let c = match r.col(&self.cfg.key_column) {
                Some(c) => c,
                None => {
                    let c = r.header.len();
                    r.header.push(self.cfg.key_column.clone());
                    data.push((
                        cell(&t.title, c, 1),
                        vec![vec![self.cfg.key_column.clone()]],
                    ));
                    c
                }
            };
            for (i, key) in rows {
                if let Some(row) = r.rows.get_mut(*i) {
                    if row.len() <= c {
                        row.resize(c + 1, Value::Null);
                    }
                    row[c] = json!(key);
                }
                data.push((cell(&t.title, c, i + 2), vec![vec![key.clone()]]));
            }
        }
        data
    }

    /// The records of a read.
    fn records(&self, read: &BTreeMap<String, TabRead>) -> Vec<RemoteRecord> {
        let mut out = Vec::new();
        for t in &self.tabs {
            let Some(r) = read.get(&t.note_type) else {
                continue;
            };
            let Some(key_col) = r.col(self.key_column()) else {
                continue;
            };
            let mut seen = BTreeSet::new();
            for row in &r.rows {
                let key = row.get(key_col).map(text).unwrap_or_default();
                if !mapping::valid_key(&key) || !seen.insert(key.clone()) {
                    continue;
                }
                let fields = mapping::row_fields(t, &r.header, row);
                let title = t
                    .title_key()
                    .and_then(|k| fields.get(k))
                    .and_then(|v| mapping::safe_title(v));
                out.push(RemoteRecord {
                    note_type: t.note_type.clone(),
                    id: key.clone(),
                    ssot_id: Some(key),
                    fields,
                    title,
                    ..RemoteRecord::default()
                });
            }
        }
        out
    }

    /// The run's read, reading when there is none.
    async fn current(&mut self) -> Result<BTreeMap<String, TabRead>, ConnectorError> {
        match self.read.take() {
            Some(r) => Ok(r),
            None => self.read_all().await,
        }
    }

    /// Row index of a key in a tab as read.
    fn row_of(&self, r: &TabRead, key: &str) -> Option<usize> {
        let c = r.col(self.key_column())?;
        r.rows
            .iter()
            .position(|row| row.get(c).map(text).as_deref() == Some(key))
    }

    /// The positional writes of a batch against a read: cells of existing rows and header cells
    /// (added to the read's headers), and the outcomes (`None`: appended below).
    fn plan_writes(&self, read: &mut BTreeMap<String, TabRead>, batch: &[Upsert]) -> Planned {
        let mut p = Planned::default();
        for u in batch {
            let Some(t) = self.tab(&u.note_type) else {
                p.outcomes.push(Some(WriteOutcome::Refused {
                    ssot_id: u.ssot_id.clone(),
                    message: format!("no tab is configured for notes of type {}", u.note_type),
                }));
                continue;
            };
            let r = read.entry(t.note_type.clone()).or_default();
            if r.col(&self.cfg.key_column).is_none() {
                let i = r.header.len();
                r.header.push(self.cfg.key_column.clone());
                p.cells.push((
                    cell(&t.title, i, 1),
                    vec![vec![self.cfg.key_column.clone()]],
                ));
                p.types.insert(t.note_type.clone());
            }
            // Columns for every key written.
            for key in u.fields.keys() {
                let Some(c) = t.column(key) else { continue };
                if r.col(&c.header).is_none() {
                    let i = r.header.len();
                    r.header.push(c.header.clone());
                    p.cells
                        .push((cell(&t.title, i, 1), vec![vec![c.header.clone()]]));
                    p.types.insert(t.note_type.clone());
                }
            }
            let key = u.remote_id.clone().unwrap_or_else(|| u.ssot_id.clone());
            let row = self.row_of(r, &key);
            match row {
                Some(i) => {
                    for (k, v) in &u.fields {
                        let Some(c) = t.column(k) else { continue };
                        let Some(col) = r.col(&c.header) else {
                            continue;
                        };
                        let typed = mapping::to_cell(&c.conv, c.link, v.as_deref());
                        p.cells
                            .push((cell(&t.title, col, i + 2), vec![vec![typed]]));
                        p.types.insert(t.note_type.clone());
                    }
                    p.outcomes.push(Some(WriteOutcome::Written {
                        ssot_id: u.ssot_id.clone(),
                        remote_id: key,
                        created: false,
                        fields: None,
                    }));
                }
                // A row people deleted is not made again by an edit of its note: gone.
                None if u.remote_id.is_some() => {
                    p.outcomes.push(Some(WriteOutcome::Gone {
                        ssot_id: u.ssot_id.clone(),
                        remote_id: key,
                    }));
                }
                None => {
                    let key_col = r.col(&self.cfg.key_column).unwrap_or(0);
                    let mut line = vec![String::new(); r.header.len()];
                    if let Some(x) = line.get_mut(key_col) {
                        *x = u.ssot_id.clone();
                    }
                    for (k, v) in &u.fields {
                        let Some(c) = t.column(k) else { continue };
                        if let Some(col) = r.col(&c.header)
                            && let Some(x) = line.get_mut(col)
                        {
                            *x = mapping::to_cell(&c.conv, c.link, v.as_deref());
                        }
                    }
                    p.appends.entry(t.note_type.clone()).or_default().push(line);
                    p.outcomes.push(None);
                }
            }
        }
        p
    }
}

/// The writes of one batch.
#[derive(Debug, Default)]
struct Planned {
    /// Positional cells: (A1 cell, value).
    cells: Vec<(String, Vec<Vec<String>>)>,
    /// The note types whose tabs the cells are on.
    types: BTreeSet<String>,
    /// Rows to append per note type.
    appends: BTreeMap<String, Vec<Vec<String>>>,
    /// Per upsert: its outcome, `None` for an append.
    outcomes: Vec<Option<WriteOutcome>>,
}

impl Connector for Sheets {
    fn set_dry_run(&mut self, dry_run: bool) {
        self.dry_run = dry_run;
    }

    fn name(&self) -> &str {
        NAME
    }

    fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    fn load_state(&mut self, _state: Value) {}

    fn save_state(&self) -> Value {
        json!({})
    }

    async fn pull(&mut self, cursor: Option<&Value>) -> Result<Pulled, ConnectorError> {
        let mut read = self.read_all().await?;
        for attempt in 0..TRIES {
            let keys = self.rows_needing_keys(&read);
            if keys.is_empty() {
                break;
            }
            let types: BTreeSet<String> = keys.keys().cloned().collect();
            if !self.unchanged(&read, &types).await? {
                read = self.read_all().await?;
                if attempt + 1 == TRIES {
                    tracing::warn!(
                        "sheets: the tabs keep changing; new rows wait for the next run"
                    );
                }
                continue;
            }
            let data = self.key_cells(&mut read, &keys);
            if !self.dry_run {
                self.client()?.write_cells(&data).await?;
            }
            break;
        }
        let records = self.records(&read);
        self.read = Some(read);
        // Every read is whole; it is called full only when the engine asked for one, so that
        // on the other runs the engine asks `archived` (answered from this read) for the rows
        // people deleted, by its `check_archived_minutes`.
        Ok(Pulled {
            records,
            cursor: json!({ "read": "whole" }),
            full: cursor.is_none(),
        })
    }

    async fn fetch(
        &mut self,
        note_type: &str,
        ids: &[String],
    ) -> Result<Vec<RemoteRecord>, ConnectorError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let read = self.current().await?;
        let wanted: BTreeSet<&String> = ids.iter().collect();
        let found = self
            .records(&read)
            .into_iter()
            .filter(|r| r.note_type == note_type && wanted.contains(&r.id))
            .collect();
        self.read = Some(read);
        Ok(found)
    }

    async fn archived(
        &mut self,
        note_type: &str,
        ids: &[String],
    ) -> Result<Vec<String>, ConnectorError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let live: BTreeSet<String> = self
            .fetch(note_type, ids)
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect();
        Ok(ids.iter().filter(|i| !live.contains(*i)).cloned().collect())
    }

    fn push_chunk(&self) -> usize {
        self.cfg.batch_size
    }

    async fn upsert(
        &mut self,
        _run_id: &str,
        batch: &[Upsert],
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        let mut read = self.current().await?;
        let mut orig = read.clone();
        let mut planned = self.plan_writes(&mut read, batch);
        for tries in 1.. {
            // The tabs the cells go to, as read: still so? Else read again and plan again.
            if planned.cells.is_empty()
                || tries >= TRIES
                || self.unchanged(&orig, &planned.types).await?
            {
                break;
            }
            orig = self.read_all().await?;
            read = orig.clone();
            planned = self.plan_writes(&mut read, batch);
        }
        self.client()?.write_cells(&planned.cells).await?;
        for (note_type, rows) in &planned.appends {
            let Some(t) = self.tab(note_type) else {
                continue;
            };
            let title = t.title.clone();
            let width = read.get(note_type).map_or(1, |r| r.header.len().max(1));
            let key_col = read
                .get(note_type)
                .and_then(|r| r.col(self.key_column()))
                .unwrap_or(0);
            let range = format!("{}!A1:{}", quoted(&title), column_letters(width - 1));
            let mut left = rows.clone();
            let mut lost = 0;
            while !left.is_empty() {
                match self.client()?.append(&range, &left).await {
                    Ok(()) => {
                        if let Some(r) = read.get_mut(note_type) {
                            r.rows
                                .extend(left.iter().map(|l| l.iter().map(|s| json!(s)).collect()));
                        }
                        break;
                    }
                    // The answer was lost: the rows may be there. Read, and append the others.
                    Err(ConnectorError::Http(e)) if lost < self.cfg.shared.http.max_retries => {
                        lost += 1;
                        tracing::info!(tab = %title, error = %e, "sheets: an append's answer was lost; reading what landed");
                        read = self.read_all().await?;
                        let there: BTreeSet<String> = read
                            .get(note_type)
                            .map(|r| r.keys(r.col(self.key_column())).into_iter().collect())
                            .unwrap_or_default();
                        left.retain(|l| l.get(key_col).is_none_or(|k| !there.contains(k)));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        let mut out = Vec::new();
        for (u, o) in batch.iter().zip(planned.outcomes) {
            out.push(o.unwrap_or_else(|| WriteOutcome::Written {
                ssot_id: u.ssot_id.clone(),
                remote_id: u.ssot_id.clone(),
                created: true,
                fields: None,
            }));
        }
        self.read = Some(read);
        Ok(out)
    }

    async fn archive(&mut self, note_type: &str, ids: &[String]) -> Result<(), ConnectorError> {
        if ids.is_empty() {
            return Ok(());
        }
        let Some(title) = self.tab(note_type).map(|t| t.title.clone()) else {
            return Ok(());
        };
        if !self.sheet_ids.contains_key(&title) {
            let (_, tabs) = self.client()?.tabs().await?;
            self.sheet_ids = tabs;
        }
        let Some(sheet_id) = self.sheet_ids.get(&title).copied() else {
            return Err(self.config_error(format!("the spreadsheet has no tab named {title}")));
        };
        let mut read = self.current().await?;
        let types: BTreeSet<String> = [note_type.to_string()].into();
        let mut lost = 0;
        loop {
            for _ in 1..TRIES {
                if self.unchanged(&read, &types).await? {
                    break;
                }
                read = self.read_all().await?;
            }
            let mut rows: Vec<usize> = match read.get(note_type) {
                Some(r) => ids.iter().filter_map(|id| self.row_of(r, id)).collect(),
                None => Vec::new(),
            };
            rows.sort_unstable();
            rows.dedup();
            if rows.is_empty() {
                break;
            }
            let requests: Vec<Value> = rows
                .iter()
                .rev()
                .map(|i| {
                    json!({"deleteDimension": {"range": {
                        "sheetId": sheet_id, "dimension": "ROWS",
                        "startIndex": i + 1, "endIndex": i + 2,
                    }}})
                })
                .collect();
            match self.client()?.structure(requests).await {
                Ok(()) => {
                    if let Some(r) = read.get_mut(note_type) {
                        for i in rows.iter().rev() {
                            if *i < r.rows.len() {
                                r.rows.remove(*i);
                            }
                        }
                    }
                    break;
                }
                // The answer was lost: the rows may be gone. Read, and delete those still there.
                Err(ConnectorError::Http(e)) if lost < self.cfg.shared.http.max_retries => {
                    lost += 1;
                    tracing::info!(tab = %title, error = %e, "sheets: a deletion's answer was lost; reading what is left");
                    read = self.read_all().await?;
                }
                Err(e) => return Err(e),
            }
        }
        self.read = Some(read);
        Ok(())
    }

    async fn healthcheck(&mut self) -> Result<Health, ConnectorError> {
        let (title, tabs) = self.client()?.tabs().await?;
        let missing: Vec<&str> = self
            .tabs
            .iter()
            .filter(|t| !tabs.contains_key(&t.title))
            .map(|t| t.title.as_str())
            .collect();
        let detail = format!(
            "Google Sheets at {}: service account accepted, spreadsheet `{title}` ({} tabs){}",
            self.cfg.base_url,
            tabs.len(),
            if missing.is_empty() {
                String::new()
            } else {
                format!(" (configured tabs not in it: {})", missing.join(", "))
            }
        );
        self.sheet_ids = tabs;
        Ok(Health { detail })
    }

    fn stats(&self) -> HttpStats {
        self.client
            .as_ref()
            .map(|c| c.google.stats())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_count_as_the_sheet_does() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(27), "AB");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
        assert_eq!(cell("Clients", 1, 3), "'Clients'!B3");
    }
}
