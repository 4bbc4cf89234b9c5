//! The Sheets API calls the connector makes, through [`GoogleClient`]: `values.batchGet` (the
//! read of every tab, and the cheap re-read of header rows and key columns before positional
//! writes), `values.batchUpdate` (`USER_ENTERED` cells), `values.append` (new rows, never sent
//! twice), `spreadsheets.get` (the tabs' ids) and `spreadsheets.batchUpdate` (row deletions,
//! never sent twice).

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{Value, json};

use crate::connectors::ConnectorError;
use crate::connectors::google::{
    GoogleClient, GoogleError, call_failed, error_message, path_segment,
};
use crate::connectors::http::Answer;

use super::config::NAME;

/// The Sheets API client of one spreadsheet.
#[derive(Debug)]
pub struct Client {
    /// The Google client (token, retries, counters).
    pub google: GoogleClient,
    /// The spreadsheet's id.
    pub spreadsheet: String,
}

fn failed(e: GoogleError) -> ConnectorError {
    call_failed(NAME, e)
}

fn checked(what: &str, a: Answer) -> Result<Value, ConnectorError> {
    if a.status.is_success() {
        return Ok(a.body);
    }
    Err(ConnectorError::Protocol {
        service: NAME.into(),
        message: format!("{what}: {}", error_message(&a)),
    })
}

/// A tab's title quoted for A1 notation (`'Client list'`).
pub fn quoted(tab: &str) -> String {
    format!("'{}'", tab.replace('\'', "''"))
}

impl Client {
    fn root(&self) -> String {
        format!("/v4/spreadsheets/{}", path_segment(&self.spreadsheet))
    }

    /// `values.batchGet` of `ranges`: numbers as numbers, dates as formatted strings. The value
    /// ranges in the order asked.
    pub async fn batch_get(&self, ranges: &[String]) -> Result<Vec<Value>, ConnectorError> {
        let mut query: Vec<(&str, String)> = ranges.iter().map(|r| ("ranges", r.clone())).collect();
        query.push(("majorDimension", "ROWS".into()));
        query.push(("valueRenderOption", "UNFORMATTED_VALUE".into()));
        query.push(("dateTimeRenderOption", "FORMATTED_STRING".into()));
        let a = self
            .google
            .send(
                Method::GET,
                &format!("{}/values:batchGet", self.root()),
                &query,
                None,
            )
            .await
            .map_err(failed)?;
        let body = checked("reading the spreadsheet", a)?;
        let got = body["valueRanges"].as_array().cloned().unwrap_or_default();
        if got.len() != ranges.len() {
            return Err(ConnectorError::Protocol {
                service: NAME.into(),
                message: format!(
                    "asked for {} ranges, the answer has {}",
                    ranges.len(),
                    got.len()
                ),
            });
        }
        Ok(got)
    }

    /// `values.batchUpdate` (`USER_ENTERED`) of (A1 range, rows of typed text); the same cells
    /// written twice hold the same values, so it may be resent.
    pub async fn write_cells(
        &self,
        data: &[(String, Vec<Vec<String>>)],
    ) -> Result<(), ConnectorError> {
        if data.is_empty() {
            return Ok(());
        }
        let body = json!({
            "valueInputOption": "USER_ENTERED",
            "data": data
                .iter()
                .map(|(range, values)| json!({"range": range, "majorDimension": "ROWS", "values": values}))
                .collect::<Vec<_>>(),
        });
        let a = self
            .google
            .send(
                Method::POST,
                &format!("{}/values:batchUpdate", self.root()),
                &[],
                Some(&body),
            )
            .await
            .map_err(failed)?;
        checked("writing cells", a).map(|_| ())
    }

    /// `values.append` (`USER_ENTERED`, `INSERT_ROWS`) of rows under the table of `range`; sent
    /// once (a resend would append them twice).
    pub async fn append(&self, range: &str, rows: &[Vec<String>]) -> Result<(), ConnectorError> {
        if rows.is_empty() {
            return Ok(());
        }
        let body = json!({"majorDimension": "ROWS", "values": rows});
        let a = self
            .google
            .send_no_replay(
                Method::POST,
                &format!("{}/values/{}:append", self.root(), path_segment(range)),
                &[
                    ("valueInputOption", "USER_ENTERED".into()),
                    ("insertDataOption", "INSERT_ROWS".into()),
                ],
                Some(&body),
            )
            .await
            .map_err(failed)?;
        checked("appending rows", a).map(|_| ())
    }

    /// The tabs: title → sheet id (`spreadsheets.get`), and the spreadsheet's title.
    pub async fn tabs(&self) -> Result<(String, BTreeMap<String, i64>), ConnectorError> {
        let a = self
            .google
            .send(
                Method::GET,
                &self.root(),
                &[("fields", "properties.title,sheets.properties".into())],
                None,
            )
            .await
            .map_err(failed)?;
        let body = checked(&format!("spreadsheet {}", self.spreadsheet), a)?;
        let tabs = body["sheets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| {
                let p = &s["properties"];
                Some((p["title"].as_str()?.to_string(), p["sheetId"].as_i64()?))
            })
            .collect();
        let title = body["properties"]["title"]
            .as_str()
            .unwrap_or("?")
            .to_string();
        Ok((title, tabs))
    }

    /// `spreadsheets.batchUpdate` (all or nothing); sent once.
    pub async fn structure(&self, requests: Vec<Value>) -> Result<(), ConnectorError> {
        if requests.is_empty() {
            return Ok(());
        }
        let a = self
            .google
            .send_no_replay(
                Method::POST,
                &format!("{}:batchUpdate", self.root()),
                &[],
                Some(&json!({ "requests": requests })),
            )
            .await
            .map_err(failed)?;
        checked("changing the spreadsheet", a).map(|_| ())
    }
}
