//! The Forms API calls the connector makes, all reads: `forms.get`, `responses.list` (with a
//! `timestamp >= T` filter and paging) and `responses.get`, through [`GoogleClient`].

use reqwest::Method;
use serde_json::Value;

use crate::connectors::ConnectorError;
use crate::connectors::google::{GoogleClient, GoogleError};
use crate::connectors::http::Answer;

use super::config::NAME;

/// The Forms API client of one form.
#[derive(Debug)]
pub struct Client {
    /// The Google client (token, retries, counters).
    pub google: GoogleClient,
}

/// One page of `responses.list`.
#[derive(Debug, Default)]
pub struct Page {
    /// The responses.
    pub responses: Vec<Value>,
    /// The next page's token.
    pub next: Option<String>,
}

/// The message of a Google error body (`{"error": {"code", "message", "status"}}`).
pub fn why(a: &Answer) -> String {
    crate::connectors::google::error_message(a)
}

fn failed(e: GoogleError) -> ConnectorError {
    crate::connectors::google::call_failed(NAME, e)
}

fn refused(what: &str, a: &Answer) -> ConnectorError {
    ConnectorError::Protocol {
        service: NAME.into(),
        message: format!("{what}: {}", why(a)),
    }
}

/// A path segment: every byte but letters, digits, `-` and `_` percent-encoded.
fn seg(id: &str) -> String {
    crate::connectors::google::path_segment(id)
}

impl Client {
    /// `forms.get`.
    pub async fn form(&self, form_id: &str) -> Result<Value, ConnectorError> {
        let a = self
            .google
            .send(
                Method::GET,
                &format!("/v1/forms/{}", seg(form_id)),
                &[],
                None,
            )
            .await
            .map_err(failed)?;
        if !a.status.is_success() {
            return Err(refused(&format!("form {form_id}"), &a));
        }
        Ok(a.body)
    }

    /// One page of `responses.list`, `since`: `timestamp >= since` (RFC 3339 Z).
    pub async fn responses(
        &self,
        form_id: &str,
        since: Option<&str>,
        page_size: usize,
        token: Option<&str>,
    ) -> Result<Page, ConnectorError> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(t) = since {
            query.push(("filter", format!("timestamp >= {t}")));
        }
        if page_size > 0 {
            query.push(("pageSize", page_size.to_string()));
        }
        if let Some(t) = token {
            query.push(("pageToken", t.to_string()));
        }
        let a = self
            .google
            .send(
                Method::GET,
                &format!("/v1/forms/{}/responses", seg(form_id)),
                &query,
                None,
            )
            .await
            .map_err(failed)?;
        if !a.status.is_success() {
            return Err(refused(&format!("responses of form {form_id}"), &a));
        }
        Ok(Page {
            responses: a.body["responses"].as_array().cloned().unwrap_or_default(),
            next: a.body["nextPageToken"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        })
    }

    /// `responses.get` (`None`: not found).
    pub async fn response(&self, form_id: &str, id: &str) -> Result<Option<Value>, ConnectorError> {
        let a = self
            .google
            .send(
                Method::GET,
                &format!("/v1/forms/{}/responses/{}", seg(form_id), seg(id)),
                &[],
                None,
            )
            .await
            .map_err(failed)?;
        if a.status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !a.status.is_success() {
            return Err(refused(&format!("response {id}"), &a));
        }
        Ok(Some(a.body))
    }
}
