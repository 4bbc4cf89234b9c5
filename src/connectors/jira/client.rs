//! Jira Cloud platform REST v3 wire calls over the shared [`Http`] client (Basic auth with the
//! account's email and API token): JQL search with `nextPageToken`, bulk create and bulk fetch,
//! edits, transitions, deletes, custom fields. Knows Jira's JSON, not the vault.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use reqwest::Method;
use serde_json::{Value, json};

use crate::connectors::http::{Answer, Http, HttpError};

/// Most issues one bulk create takes.
pub const MAX_CREATE: usize = 50;
/// Most issues one bulk fetch takes.
pub const MAX_FETCH: usize = 100;
/// Most issues one bulk transition takes.
pub const MAX_BULK_TRANSITION: usize = 1000;
/// Most issues per search page when fields are asked for.
pub const SEARCH_PAGE: usize = 100;

const API: &str = "/rest/api/3";

/// A page of search results.
#[derive(Debug, Clone, Default)]
pub struct SearchPage {
    /// The issues.
    pub issues: Vec<Value>,
    /// The token of the next page.
    pub next: Option<String>,
}

/// A custom field as `GET /field` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    /// `customfield_NNNNN` (or a system field's id).
    pub id: String,
    /// Its name.
    pub name: String,
}

/// The Jira client.
#[derive(Debug)]
pub struct Client {
    /// The HTTP layer.
    pub http: Http,
    /// Jira's time (epoch ms, its answers' `Date`) of the latest answer to a write this run:
    /// every change the run made is dated at or before it (`i64::MIN`: no write).
    last_write: AtomicI64,
    /// A write this run whose time is not known: its answer was lost or had no `Date`, or a
    /// bulk task was left running.
    undated_write: AtomicBool,
}

/// The local clock, epoch ms.
fn local_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// The first message of a Jira error body (`errorMessages`, else `errors`), or the status.
pub fn error_message(a: &Answer) -> String {
    let b = &a.body;
    let mut parts: Vec<String> = b
        .get("errorMessages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    if let Some(errs) = b.get("errors").and_then(Value::as_object) {
        parts.extend(
            errs.iter()
                .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default())),
        );
    }
    if parts.is_empty() {
        format!("HTTP {}", a.status.as_u16())
    } else {
        parts.join("; ")
    }
}

impl Client {
    /// A client over `http`, with no write yet.
    pub fn new(http: Http) -> Client {
        Client {
            http,
            last_write: AtomicI64::new(i64::MIN),
            undated_write: AtomicBool::new(false),
        }
    }

    /// Jira's time (epoch ms) at or after every write of this run, as its answers dated them;
    /// `None` when there was no write, or one whose time is not known.
    pub fn last_write(&self) -> Option<i64> {
        if self.undated_write.load(Ordering::Relaxed) {
            return None;
        }
        let t = self.last_write.load(Ordering::Relaxed);
        (t != i64::MIN).then_some(t)
    }

    /// Records a write whose time is not known (a bulk task left running).
    pub fn undated(&self) {
        self.undated_write.store(true, Ordering::Relaxed);
    }

    /// Records the write (or bulk task poll) sent at local time `sent` and its result: dated by
    /// its answer's `Date`, or undated when it has none (lost, or no header).
    fn dated<T>(&self, sent: i64, r: Result<T, HttpError>) -> Result<T, HttpError> {
        match (&r, self.http.server_date()) {
            (Ok(_), Some(d)) if d.local_ms >= sent => {
                self.last_write.fetch_max(d.server_ms, Ordering::Relaxed);
            }
            _ => self.undated(),
        }
        r
    }

    /// `GET /myself`: the credentials are accepted.
    pub async fn myself(&self) -> Result<Answer, HttpError> {
        self.http
            .send(Method::GET, &format!("{API}/myself"), &[], None)
            .await
    }

    /// `GET /field`: every field of the site.
    pub async fn fields(&self) -> Result<Vec<FieldDef>, HttpError> {
        let v = self
            .http
            .send_ok(Method::GET, &format!("{API}/field"), &[], None)
            .await?;
        Ok(v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| {
                Some(FieldDef {
                    id: f.get("id")?.as_str()?.to_string(),
                    name: f.get("name")?.as_str()?.to_string(),
                })
            })
            .collect())
    }

    /// `POST /field`: creates a custom field (`kind`: `number`, `date` or `string`).
    pub async fn create_field(&self, name: &str, kind: &str) -> Result<FieldDef, HttpError> {
        let (ty, searcher) = match kind {
            "number" => ("float", "exactnumber"),
            "date" => ("datepicker", "daterange"),
            _ => ("textfield", "textsearcher"),
        };
        let body = json!({
            "name": name,
            "description": "Written by ssot-vault.",
            "type": format!("com.atlassian.jira.plugin.system.customfieldtypes:{ty}"),
            "searcherKey": format!("com.atlassian.jira.plugin.system.customfieldtypes:{searcher}"),
        });
        let path = format!("{API}/field");
        let v = self
            .http
            .send_ok(Method::POST, &path, &[], Some(&body))
            .await?;
        Ok(FieldDef {
            id: v
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            name: name.to_string(),
        })
    }

    /// `POST /search/jql`: one page.
    pub async fn search(
        &self,
        jql: &str,
        fields: &[String],
        next: Option<&str>,
        changelog: bool,
    ) -> Result<SearchPage, HttpError> {
        let mut body = json!({"jql": jql, "fields": fields, "maxResults": SEARCH_PAGE});
        if changelog {
            body["expand"] = json!("changelog");
        }
        if let Some(t) = next {
            body["nextPageToken"] = json!(t);
        }
        let mut v = self
            .http
            .send_ok(Method::POST, &format!("{API}/search/jql"), &[], Some(&body))
            .await?;
        Ok(SearchPage {
            issues: match v.get_mut("issues").map(Value::take) {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            },
            next: v
                .get("nextPageToken")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string),
        })
    }

    /// Every issue a JQL query finds, page after page (with each issue's changelog when
    /// `changelog`).
    pub async fn search_all(
        &self,
        jql: &str,
        fields: &[String],
        changelog: bool,
    ) -> Result<Vec<Value>, HttpError> {
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self.search(jql, fields, next.as_deref(), changelog).await?;
            out.extend(page.issues);
            match page.next {
                Some(t) => next = Some(t),
                None => return Ok(out),
            }
        }
    }

    /// `POST /issue/bulk` with at most [`MAX_CREATE`] issues, sent once (never replayed: a
    /// create has no idempotency key; the caller looks for what landed).
    pub async fn bulk_create(&self, updates: Vec<Value>) -> Result<Answer, HttpError> {
        let body = json!({ "issueUpdates": updates });
        let sent = local_ms();
        self.dated(
            sent,
            self.http
                .send_no_replay(Method::POST, &format!("{API}/issue/bulk"), &[], Some(&body))
                .await,
        )
    }

    /// `POST /issue/bulkfetch`: at most [`MAX_FETCH`] issues by key (missing ones left out).
    pub async fn bulk_fetch(
        &self,
        keys: &[String],
        fields: &[String],
    ) -> Result<Vec<Value>, HttpError> {
        let body = json!({ "issueIdsOrKeys": keys, "fields": fields });
        let v = self
            .http
            .send_ok(
                Method::POST,
                &format!("{API}/issue/bulkfetch"),
                &[],
                Some(&body),
            )
            .await?;
        Ok(v.get("issues")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }

    /// `PUT /issue/{key}` (`fields` and `update`); the raw answer (204, 400, 404).
    pub async fn edit(&self, key: &str, body: &Value) -> Result<Answer, HttpError> {
        let path = format!("{API}/issue/{key}");
        let sent = local_ms();
        self.dated(
            sent,
            self.http.send(Method::PUT, &path, &[], Some(body)).await,
        )
    }

    /// `POST /issue` (one issue, sent once like [`Client::bulk_create`]).
    pub async fn create(&self, body: &Value) -> Result<Answer, HttpError> {
        let sent = local_ms();
        self.dated(
            sent,
            self.http
                .send_no_replay(Method::POST, &format!("{API}/issue"), &[], Some(body))
                .await,
        )
    }

    /// `POST /issue/{key}/comment` with an ADF body: the raw answer.
    pub async fn comment(&self, key: &str, body: &Value) -> Result<Answer, HttpError> {
        let path = format!("{API}/issue/{key}/comment");
        let body = json!({ "body": body });
        let sent = local_ms();
        self.dated(
            sent,
            self.http.send(Method::POST, &path, &[], Some(&body)).await,
        )
    }

    /// `GET /issue/{key}/transitions`: the raw answer.
    pub async fn transitions(&self, key: &str) -> Result<Answer, HttpError> {
        let path = format!("{API}/issue/{key}/transitions");
        self.http.send(Method::GET, &path, &[], None).await
    }

    /// `POST /issue/{key}/transitions`: the raw answer.
    pub async fn transition(&self, key: &str, id: &str) -> Result<Answer, HttpError> {
        let path = format!("{API}/issue/{key}/transitions");
        let body = json!({"transition": {"id": id}});
        let sent = local_ms();
        self.dated(
            sent,
            self.http.send(Method::POST, &path, &[], Some(&body)).await,
        )
    }

    /// `POST /bulk/issues/transition`: one task moving each group of issues by its transition
    /// (at most [`MAX_BULK_TRANSITION`] issues in all); the task's id.
    pub async fn bulk_transition(
        &self,
        groups: &[(String, Vec<String>)],
    ) -> Result<String, HttpError> {
        let inputs: Vec<Value> = groups
            .iter()
            .map(|(id, keys)| json!({"selectedIssueIdsOrKeys": keys, "transitionId": id}))
            .collect();
        let body = json!({"bulkTransitionInputs": inputs, "sendBulkNotification": false});
        let path = format!("{API}/bulk/issues/transition");
        let sent = local_ms();
        let v = self.dated(
            sent,
            self.http
                .send_ok(Method::POST, &path, &[], Some(&body))
                .await,
        )?;
        Ok(v.get("taskId")
            .and_then(|t| {
                t.as_str()
                    .map(str::to_string)
                    .or_else(|| t.as_u64().map(|n| n.to_string()))
            })
            .unwrap_or_default())
    }

    /// `GET /bulk/queue/{taskId}`: a bulk task's progress. Dated as a write: the answer saying
    /// the task ended comes after every change it made.
    pub async fn bulk_queue(&self, task: &str) -> Result<Value, HttpError> {
        let path = format!("{API}/bulk/queue/{task}");
        let sent = local_ms();
        self.dated(sent, self.http.send_ok(Method::GET, &path, &[], None).await)
    }

    /// `GET /project/{key}/role`: the project's roles, name → id.
    pub async fn roles(&self, project: &str) -> Result<Vec<(String, String)>, HttpError> {
        let path = format!("{API}/project/{project}/role");
        let v = self.http.send_ok(Method::GET, &path, &[], None).await?;
        Ok(v.as_object()
            .into_iter()
            .flatten()
            .filter_map(|(name, url)| {
                let id = url.as_str()?.rsplit('/').next()?.to_string();
                Some((name.clone(), id))
            })
            .collect())
    }

    /// `POST /project/{key}/role/{id}` adding `account` as an actor: the raw answer.
    pub async fn add_actor(
        &self,
        project: &str,
        role: &str,
        account: &str,
    ) -> Result<Answer, HttpError> {
        let path = format!("{API}/project/{project}/role/{role}");
        let body = json!({ "user": [account] });
        let sent = local_ms();
        self.dated(
            sent,
            self.http.send(Method::POST, &path, &[], Some(&body)).await,
        )
    }

    /// `DELETE /project/{key}/role/{id}?user=account`: the raw answer (204, 404 when it is no
    /// actor).
    pub async fn remove_actor(
        &self,
        project: &str,
        role: &str,
        account: &str,
    ) -> Result<Answer, HttpError> {
        let path = format!("{API}/project/{project}/role/{role}");
        let sent = local_ms();
        self.dated(
            sent,
            self.http
                .send(
                    Method::DELETE,
                    &path,
                    &[("user", account.to_string())],
                    None,
                )
                .await,
        )
    }

    /// `DELETE /issue/{key}?deleteSubtasks=true`: the raw answer (204, 404).
    pub async fn delete(&self, key: &str) -> Result<Answer, HttpError> {
        let path = format!("{API}/issue/{key}");
        let sent = local_ms();
        self.dated(
            sent,
            self.http
                .send(
                    Method::DELETE,
                    &path,
                    &[("deleteSubtasks", "true".to_string())],
                    None,
                )
                .await,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_read_both_forms() {
        let a = Answer {
            status: reqwest::StatusCode::BAD_REQUEST,
            body: json!({"errorMessages": ["nope"], "errors": {"summary": "too long"}}),
        };
        assert_eq!(error_message(&a), "nope; summary: too long");
        let a = Answer {
            status: reqwest::StatusCode::BAD_GATEWAY,
            body: Value::Null,
        };
        assert_eq!(error_message(&a), "HTTP 502");
    }
}
