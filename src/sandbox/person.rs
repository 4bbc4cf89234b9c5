//! A person's actions in the sandbox's services over real HTTP, as someone working in them
//! would make them: a Google Forms response, and in Trello a checklist item ticked, a card moved
//! to another list, its `Blocked reason` written, a comment, a document uploaded, the card's
//! documents read; and whether a Jira account can read an issue. Used by `ssot-vault demo` and
//! by the tests, so both act through the services' APIs and not on the emulators' records.

use reqwest::Method;
use serde_json::{Value, json};

use super::{DEFAULT_TRELLO_KEY, Sandbox};

/// Why an action failed.
#[derive(Debug, thiserror::Error)]
pub enum PersonError {
    /// The request did not reach the service, or its answer was cut short.
    #[error("{what}: {source}")]
    Http {
        /// The request.
        what: String,
        /// What happened.
        #[source]
        source: reqwest::Error,
    },
    /// The service answered with an error.
    #[error("{what}: HTTP {status} {body}")]
    Status {
        /// The request.
        what: String,
        /// The answer's status.
        status: u16,
        /// The answer's body.
        body: String,
    },
    /// The service does not hold what the action needs (a checklist item, a list, an id).
    #[error("{0}")]
    Missing(String),
}

/// One person of the sandbox's services: the Trello member they work as (by their token) and,
/// when set, their Jira account.
#[derive(Debug, Clone)]
pub struct Person {
    http: reqwest::Client,
    base: String,
    jira_base: String,
    trello_key: String,
    trello_token: String,
    jira: Option<(String, String)>,
}

impl Person {
    /// The Trello member of `trello_token` (`sandbox-trello-token-ola`, ...) in the sandbox `sb`
    /// (any token for a person who only fills forms in).
    pub fn new(sb: &Sandbox, trello_token: &str) -> Person {
        Person {
            http: reqwest::Client::new(),
            base: sb.base_url(),
            jira_base: sb.jira_base_url(),
            trello_key: DEFAULT_TRELLO_KEY.to_string(),
            trello_token: trello_token.to_string(),
            jira: None,
        }
    }

    /// The same person, sending through `http` (a client already made, to share its pool).
    pub fn with_client(mut self, http: reqwest::Client) -> Person {
        self.http = http;
        self
    }

    /// The same person with a Jira account (its e-mail and API token).
    pub fn with_jira(mut self, email: &str, api_token: &str) -> Person {
        self.jira = Some((email.to_string(), api_token.to_string()));
        self
    }

    /// Another Trello member of the same services.
    pub fn member(&self, trello_token: &str) -> Person {
        Person {
            trello_token: trello_token.to_string(),
            ..self.clone()
        }
    }

    async fn send(
        &self,
        what: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, PersonError> {
        let r = req.send().await.map_err(|source| PersonError::Http {
            what: what.to_string(),
            source,
        })?;
        let status = r.status();
        if status.is_success() {
            return Ok(r);
        }
        let body = r.text().await.unwrap_or_default();
        Err(PersonError::Status {
            what: what.to_string(),
            status: status.as_u16(),
            body,
        })
    }

    async fn text(what: &str, r: reqwest::Response) -> Result<String, PersonError> {
        r.text().await.map_err(|source| PersonError::Http {
            what: what.to_string(),
            source,
        })
    }

    /// A response to the form `form` (its id), answers by question title, as the person filling
    /// the form in sends it; the response's id.
    pub async fn submit(&self, form: &str, answers: Value) -> Result<String, PersonError> {
        let what = format!("form {form}: a response");
        let req = self
            .http
            .post(format!("{}/__sandbox/forms/{form}/responses", self.base))
            .json(&json!({ "answers": answers }));
        self.made(&what, req, "responseId").await
    }

    /// Sends a request that makes something; the made thing's id, the answer's `key`.
    async fn made(
        &self,
        what: &str,
        req: reqwest::RequestBuilder,
        key: &str,
    ) -> Result<String, PersonError> {
        let r = self.send(what, req).await?;
        let v: Value = serde_json::from_str(&Self::text(what, r).await?).unwrap_or(Value::Null);
        v[key]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| PersonError::Missing(format!("{what}: no {key} in the answer")))
    }

    fn trello_auth(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        req.header(
            "Authorization",
            format!(
                "OAuth oauth_consumer_key=\"{}\", oauth_token=\"{}\"",
                self.trello_key, self.trello_token
            ),
        )
    }

    /// A Trello API call (`path` after `/1`); its JSON answer (`null` when it has none).
    pub async fn trello(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, PersonError> {
        let what = format!("Trello {method} {path}");
        let mut req = self.trello_auth(self.http.request(method, format!("{}/1{path}", self.base)));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = self.send(&what, req).await?;
        let text = Self::text(&what, r).await?;
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A Trello write whose answer is not needed.
    async fn write(&self, method: Method, path: &str, body: Value) -> Result<(), PersonError> {
        self.trello(method, path, Some(body)).await.map(drop)
    }

    /// A Trello read that answers a list: its items (none when the answer is not a list).
    async fn trello_list(&self, path: &str) -> Result<Vec<Value>, PersonError> {
        Ok(match self.trello(Method::GET, path, None).await? {
            Value::Array(items) => items,
            _ => Vec::new(),
        })
    }

    /// Ticks (`done`) or unticks the checklist item `name` of a card.
    pub async fn tick(&self, card: &str, name: &str, done: bool) -> Result<(), PersonError> {
        let lists = self
            .trello_list(&format!("/cards/{card}/checklists"))
            .await?;
        let items = lists
            .iter()
            .flat_map(|c| c["checkItems"].as_array().cloned().unwrap_or_default());
        let item = id_named(items, name, || {
            format!("no checklist item {name:?} on the card {card}")
        })?;
        let state = if done { "complete" } else { "incomplete" };
        self.write(
            Method::PUT,
            &format!("/cards/{card}/checkItem/{item}"),
            json!({ "state": state }),
        )
        .await
    }

    /// The board of a card.
    async fn board_of(&self, card: &str) -> Result<String, PersonError> {
        let c = self
            .trello(Method::GET, &format!("/cards/{card}"), None)
            .await?;
        c["idBoard"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| PersonError::Missing(format!("the board of the card {card}")))
    }

    /// Moves a card to the (open) list `list` of its board.
    pub async fn move_card(&self, card: &str, list: &str) -> Result<(), PersonError> {
        let board = self.board_of(card).await?;
        let lists = self.trello_list(&format!("/boards/{board}/lists")).await?;
        let to = id_named(lists, list, || {
            format!("no list {list:?} on the card's board")
        })?;
        self.write(
            Method::PUT,
            &format!("/cards/{card}"),
            json!({ "idList": to }),
        )
        .await
    }

    /// Writes the card's `Blocked reason` custom field.
    pub async fn blocked_reason(&self, card: &str, reason: &str) -> Result<(), PersonError> {
        let board = self.board_of(card).await?;
        let fields = self
            .trello_list(&format!("/boards/{board}/customFields"))
            .await?;
        let field = id_named(fields, "Blocked reason", || {
            "the board has no `Blocked reason` field".into()
        })?;
        self.write(
            Method::PUT,
            &format!("/cards/{card}/customField/{field}/item"),
            json!({ "value": { "text": reason } }),
        )
        .await
    }

    /// Comments on a card.
    pub async fn comment(&self, card: &str, text: &str) -> Result<(), PersonError> {
        self.write(
            Method::POST,
            &format!("/cards/{card}/actions/comments"),
            json!({ "text": text }),
        )
        .await
    }

    /// Uploads a document to a card (a multipart upload, as Trello's web page sends it); the
    /// attachment's id.
    pub async fn attach(
        &self,
        card: &str,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<String, PersonError> {
        let what = format!("Trello: upload {file_name} to the card {card}");
        let boundary = "SsotVaultPersonBoundary";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n{file_name}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let req = self
            .trello_auth(
                self.http
                    .post(format!("{}/1/cards/{card}/attachments", self.base)),
            )
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        self.made(&what, req, "id").await
    }

    /// The names of a card's attachments, in the card's order.
    pub async fn attachment_names(&self, card: &str) -> Result<Vec<String>, PersonError> {
        Ok(self
            .trello_list(&format!("/cards/{card}/attachments"))
            .await?
            .iter()
            .filter_map(|a| a["name"].as_str().map(str::to_string))
            .collect())
    }

    /// A card's attachments as downloaded: (name, bytes), in the card's order.
    pub async fn attachment_bytes(
        &self,
        card: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, PersonError> {
        let mut out = Vec::new();
        for a in self
            .trello_list(&format!("/cards/{card}/attachments"))
            .await?
        {
            let (id, name, file) = (
                a["id"].as_str().unwrap_or_default(),
                a["name"].as_str().unwrap_or_default(),
                a["fileName"].as_str().unwrap_or_default(),
            );
            let what = format!("Trello: download {name} of the card {card}");
            let req = self.trello_auth(self.http.get(format!(
                "{}/1/cards/{card}/attachments/{id}/download/{file}",
                self.base
            )));
            let r = self.send(&what, req).await?;
            let bytes = r
                .bytes()
                .await
                .map_err(|source| PersonError::Http { what, source })?;
            out.push((name.to_string(), bytes.to_vec()));
        }
        Ok(out)
    }

    /// Whether the person's Jira account (see [`Person::with_jira`]) can read the issue `key`.
    pub async fn jira_can_read(&self, key: &str) -> Result<bool, PersonError> {
        let (email, token) = self
            .jira
            .as_ref()
            .ok_or_else(|| PersonError::Missing("the person has no Jira account".into()))?;
        let r = self
            .http
            .get(format!("{}/rest/api/3/issue/{key}", self.jira_base))
            .basic_auth(email, Some(token))
            .send()
            .await
            .map_err(|source| PersonError::Http {
                what: format!("Jira: read {key}"),
                source,
            })?;
        Ok(r.status().is_success())
    }
}

/// The id of the first of `items` named `name`; else `missing` says what is not there.
fn id_named(
    items: impl IntoIterator<Item = Value>,
    name: &str,
    missing: impl FnOnce() -> String,
) -> Result<String, PersonError> {
    items
        .into_iter()
        .find(|i| i["name"] == json!(name))
        .and_then(|i| i["id"].as_str().map(str::to_string))
        .ok_or_else(|| PersonError::Missing(missing()))
}
