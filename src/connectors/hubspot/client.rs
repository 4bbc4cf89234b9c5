//! HubSpot CRM v3/v4 wire calls over the shared [`Http`] client: search, batch writes, property
//! creation, archived listings, associations. Knows HubSpot's JSON, not the vault.

use std::collections::{BTreeMap, BTreeSet};

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

/// An association HubSpot did not make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmade {
    /// The record associated from.
    pub from: String,
    /// The record associated to.
    pub to: String,
    /// Why, as HubSpot said it.
    pub message: String,
}

/// The pairs a successful batch association answer did not make: those its `errors` name
/// (`context.fromObjectId` / `context.toObjectId`, or any context list holding one of the pair's
/// ids); when some errors name no input, every pair missing from `results` too.
pub fn unmade(pairs: &[(String, String)], body: &Value) -> Vec<Unmade> {
    let errors: Vec<&Value> = body
        .get("errors")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    if errors.is_empty() {
        return Vec::new();
    }
    let ids = |e: &Value, key: &str| -> Vec<String> {
        e.pointer(&format!("/context/{key}"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| match v {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let message = |e: &Value| {
        e.get("message")
            .and_then(Value::as_str)
            .unwrap_or("not associated")
            .to_string()
    };
    let made: BTreeSet<(String, String)> = body
        .get("results")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let f = r.get("from").and_then(|v| v.get("id"))?;
            let t = r.get("to").and_then(|v| v.get("id"))?;
            let s = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
            Some((s(f), s(t)))
        })
        .collect();
    let mut out = Vec::new();
    let mut unmatched = Vec::new();
    for e in &errors {
        let (froms, tos) = (ids(e, "fromObjectId"), ids(e, "toObjectId"));
        let named: Vec<&(String, String)> = if froms.is_empty() && tos.is_empty() {
            let all: BTreeSet<String> = e
                .get("context")
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|m| m.keys())
                .flat_map(|k| ids(e, k))
                .collect();
            pairs
                .iter()
                .filter(|(f, t)| all.contains(f) || all.contains(t))
                .collect()
        } else {
            pairs
                .iter()
                .filter(|(f, t)| {
                    (froms.is_empty() || froms.contains(f)) && (tos.is_empty() || tos.contains(t))
                })
                .collect()
        };
        if named.is_empty() {
            unmatched.push(message(e));
        }
        for (f, t) in named {
            if !out.iter().any(|u: &Unmade| &u.from == f && &u.to == t) {
                out.push(Unmade {
                    from: f.clone(),
                    to: t.clone(),
                    message: message(e),
                });
            }
        }
    }
    if !unmatched.is_empty() {
        for (f, t) in pairs {
            let listed = made.contains(&(f.clone(), t.clone()))
                || made.contains(&(t.clone(), f.clone()))
                || out.iter().any(|u| &u.from == f && &u.to == t);
            if !listed {
                out.push(Unmade {
                    from: f.clone(),
                    to: t.clone(),
                    message: unmatched.join("; "),
                });
            }
        }
    }
    out
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

    /// Default associations `from → to` for pairs of record ids (v4 batch). Returns the pairs
    /// HubSpot did not associate, each with its reason: the per-input `errors` of a 200 answer
    /// (or of a 207, which some HubSpot batch endpoints send), and the inputs of a batch refused
    /// as a whole (400, 404, 409, 422), halved until the bad inputs stand alone. An answer that
    /// is neither (401, 5xx after the retries) is an error.
    pub async fn associate(
        &self,
        from: &str,
        to: &str,
        pairs: &[(String, String)],
    ) -> Result<Vec<Unmade>, HttpError> {
        let path = format!("/crm/v4/associations/{from}/{to}/batch/associate/default");
        let mut unmade = Vec::new();
        for chunk in pairs.chunks(MAX_BATCH) {
            unmade.extend(self.associate_chunk(&path, chunk).await?);
        }
        Ok(unmade)
    }

    async fn associate_chunk(
        &self,
        path: &str,
        pairs: &[(String, String)],
    ) -> Result<Vec<Unmade>, HttpError> {
        let inputs: Vec<Value> = pairs
            .iter()
            .map(|(a, b)| json!({"from": {"id": a}, "to": {"id": b}}))
            .collect();
        let a = self
            .http
            .send(Method::POST, path, &[], Some(&json!({ "inputs": inputs })))
            .await?;
        if a.status.is_success() {
            return Ok(unmade(pairs, &a.body));
        }
        if !matches!(
            a.status,
            StatusCode::BAD_REQUEST
                | StatusCode::NOT_FOUND
                | StatusCode::CONFLICT
                | StatusCode::UNPROCESSABLE_ENTITY
        ) {
            return Err(self.http.status_error(&Method::POST, path, &a));
        }
        if let [(from, to)] = pairs {
            let why = a
                .body
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("refused");
            return Ok(vec![Unmade {
                from: from.clone(),
                to: to.clone(),
                message: format!("HTTP {}: {why}", a.status.as_u16()),
            }]);
        }
        let (first, second) = pairs.split_at(pairs.len() / 2);
        let mut out = Box::pin(self.associate_chunk(path, first)).await?;
        out.extend(Box::pin(self.associate_chunk(path, second)).await?);
        Ok(out)
    }

    /// The ids of the `to` records associated with each of the `from` records `ids` (v4 batch
    /// read, [`MAX_BATCH`] inputs a request, each input's further pages asked for with its
    /// `after`). A record with no association (HubSpot lists it in the answer's `errors`, as
    /// `NO_ASSOCIATIONS_FOUND`) has none in the map. Ids in ascending order (numerically).
    pub async fn read_associations(
        &self,
        from: &str,
        to: &str,
        ids: &[String],
    ) -> Result<BTreeMap<String, Vec<String>>, HttpError> {
        let path = format!("/crm/v4/associations/{from}/{to}/batch/read");
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut pending: Vec<Value> = ids.iter().map(|id| json!({ "id": id })).collect();
        while !pending.is_empty() {
            let mut next = Vec::new();
            for chunk in pending.chunks(MAX_BATCH) {
                let body = json!({ "inputs": chunk });
                let a = self
                    .http
                    .send(Method::POST, &path, &[], Some(&body))
                    .await?;
                if !a.status.is_success() {
                    return Err(self.http.status_error(&Method::POST, &path, &a));
                }
                let id_str = |v: &Value| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                };
                for r in a
                    .body
                    .get("results")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let Some(from_id) = r.pointer("/from/id").and_then(id_str) else {
                        continue;
                    };
                    let to_ids = r
                        .get("to")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|t| t.get("toObjectId").and_then(id_str));
                    out.entry(from_id.clone()).or_default().extend(to_ids);
                    if let Some(after) = r.pointer("/paging/next/after").and_then(id_str) {
                        next.push(json!({ "id": from_id, "after": after }));
                    }
                }
            }
            pending = next;
        }
        for v in out.values_mut() {
            v.sort_by(|a, b| (a.len(), a.as_str()).cmp(&(b.len(), b.as_str())));
            v.dedup();
        }
        Ok(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs() -> Vec<(String, String)> {
        vec![("5".into(), "1".into()), ("5".into(), "3".into())]
    }

    #[test]
    fn unmade_reads_the_contract_errors() {
        let body = json!({"status": "COMPLETE", "results": [
            {"from": {"id": "5"}, "to": {"id": "1"}}], "numErrors": 1,
            "errors": [{"status": "error", "category": "OBJECT_NOT_FOUND", "message": "gone",
                "context": {"fromObjectId": ["5"], "toObjectId": ["3"]}, "errors": [], "links": {}}]});
        assert_eq!(
            unmade(&pairs(), &body),
            vec![Unmade {
                from: "5".into(),
                to: "3".into(),
                message: "gone".into()
            }]
        );
        // No errors: everything made.
        assert!(unmade(&pairs(), &json!({"status": "COMPLETE", "results": []})).is_empty());
    }

    #[test]
    fn unmade_falls_back_to_the_results_when_errors_name_no_input() {
        // Ids only in another context key, or errors naming nothing we can read: the pairs
        // missing from `results` are the failed ones.
        let body = json!({"results": [{"from": {"id": "5"}, "to": {"id": "1"}}],
            "errors": [{"message": "some failed", "context": {"inputs": [{"from": "5", "to": "3"}]}}]});
        assert_eq!(
            unmade(&pairs(), &body),
            vec![Unmade {
                from: "5".into(),
                to: "3".into(),
                message: "some failed".into()
            }]
        );
        let body = json!({"results": [],
            "errors": [{"message": "missing", "context": {"ids": ["3"]}}]});
        assert_eq!(
            unmade(&pairs(), &body),
            vec![Unmade {
                from: "5".into(),
                to: "3".into(),
                message: "missing".into()
            }]
        );
    }
}
