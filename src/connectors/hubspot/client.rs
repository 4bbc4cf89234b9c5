//! HubSpot CRM v3/v4 wire calls over the shared [`Http`] client: search, batch writes, property
//! creation, archived listings, associations. Knows HubSpot's JSON, not the vault.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::connectors::http::{Answer, Http, HttpError};

/// Most inputs HubSpot accepts in one batch call.
pub const MAX_BATCH: usize = 100;
/// Most results per search page.
pub const SEARCH_LIMIT: usize = 200;
/// Most results one search query can page through.
pub const SEARCH_CAP: usize = 10_000;

/// A page of search results.
#[derive(Debug, Clone)]
pub struct SearchPage {
    /// The records (`SimplePublicObject`s).
    pub results: Vec<Value>,
    /// The `after` cursor of the next page.
    pub after: Option<String>,
    /// Total matches reported.
    pub total: Option<u64>,
}

impl SearchPage {
    /// A page of a search or list answer: `results`, `paging.next.after` (a string, or a number as
    /// some answers give it) and `total` when present.
    fn of(v: &Value) -> SearchPage {
        SearchPage {
            results: v
                .get("results")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            after: v.pointer("/paging/next/after").and_then(|a| match a {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }),
            total: v.get("total").and_then(Value::as_u64),
        }
    }
}

/// The HubSpot client.
#[derive(Debug)]
pub struct Client {
    /// The HTTP layer.
    pub http: Http,
}

impl Client {
    /// `POST /crm/v3/objects/{object}/search`.
    pub async fn search(&self, object: &str, body: &Value) -> Result<SearchPage, HttpError> {
        let path = format!("/crm/v3/objects/{object}/search");
        let v = self
            .http
            .send_ok(Method::POST, &path, &[], Some(body))
            .await?;
        Ok(SearchPage::of(&v))
    }

    /// `POST /crm/v3/objects/{object}/batch/{op}` with `inputs` (at most [`MAX_BATCH`]); the raw
    /// answer (200, 201, 207 multi-status, or an error status) is returned.
    pub async fn batch(
        &self,
        object: &str,
        op: &str,
        inputs: Vec<Value>,
        properties: Option<&[String]>,
    ) -> Result<Answer, HttpError> {
        let path = format!("/crm/v3/objects/{object}/batch/{op}");
        let mut body = json!({ "inputs": inputs });
        if let Some(p) = properties {
            body["properties"] = json!(p);
        }
        self.http.send(Method::POST, &path, &[], Some(&body)).await
    }

    /// Creates a text property (unique when asked). Returns false when it already exists.
    pub async fn create_property(
        &self,
        object: &str,
        name: &str,
        unique: bool,
    ) -> Result<bool, HttpError> {
        let path = format!("/crm/v3/properties/{object}");
        let group = match object {
            "contacts" => "contactinformation",
            "companies" => "companyinformation",
            _ => "dealinformation",
        };
        let body = json!({
            "name": name,
            "label": format!("ssot-vault {}", name.trim_start_matches("ssot_").replace('_', " ")),
            "type": "string",
            "fieldType": "text",
            "groupName": group,
            "hasUniqueValue": unique,
            "description": "Written by ssot-vault; do not edit by hand.",
        });
        let a = self
            .http
            .send(Method::POST, &path, &[], Some(&body))
            .await?;
        match a.status {
            s if s.is_success() => Ok(true),
            StatusCode::CONFLICT => Ok(false),
            _ => Err(self.http.status_error(&Method::POST, &path, &a)),
        }
    }

    /// One page of archived records: `GET /crm/v3/objects/{object}?archived=true`.
    pub async fn list_archived(
        &self,
        object: &str,
        after: Option<&str>,
    ) -> Result<SearchPage, HttpError> {
        let path = format!("/crm/v3/objects/{object}");
        let mut q = vec![
            ("archived", "true".to_string()),
            ("limit", "100".to_string()),
            ("properties", "ssot_id".to_string()),
        ];
        if let Some(a) = after {
            q.push(("after", a.to_string()));
        }
        let v = self.http.send_ok(Method::GET, &path, &q, None).await?;
        Ok(SearchPage::of(&v))
    }

    /// Default associations `from → to` for pairs of record ids (v4 batch).
    pub async fn associate(
        &self,
        from: &str,
        to: &str,
        pairs: &[(String, String)],
    ) -> Result<(), HttpError> {
        let path = format!("/crm/v4/associations/{from}/{to}/batch/associate/default");
        for chunk in pairs.chunks(MAX_BATCH) {
            let inputs: Vec<Value> = chunk
                .iter()
                .map(|(a, b)| json!({"from": {"id": a}, "to": {"id": b}}))
                .collect();
            self.http
                .send_ok(Method::POST, &path, &[], Some(&json!({ "inputs": inputs })))
                .await?;
        }
        Ok(())
    }

    /// `GET /crm/v3/objects/contacts?limit=1`: the token is accepted and the API answers.
    pub async fn ping(&self) -> Result<Answer, HttpError> {
        self.http
            .send(
                Method::GET,
                "/crm/v3/objects/contacts",
                &[("limit", "1".to_string())],
                None,
            )
            .await
    }
}
