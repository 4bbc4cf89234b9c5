//! Trello REST v1 wire calls over the shared [`Http`] client: the token's member and boards, a
//! board's lists, labels and custom fields, its actions feed and cards, card writes, custom field
//! items and checklist items. Knows Trello's JSON, not the vault.

use reqwest::Method;
use serde_json::{Value, json};

use crate::connectors::http::{Answer, Http, HttpError, RawBody};

/// A file name as one path segment (percent-encoded but for unreserved characters).
fn urlencoding_path(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// Most actions one page of the feed holds.
pub const ACTIONS_LIMIT: usize = 1000;

/// What a card read includes: custom field items, checklists and attachments.
fn card_query() -> Vec<(&'static str, String)> {
    vec![
        ("customFieldItems", "true".to_string()),
        ("checklists", "all".to_string()),
        ("attachments", "true".to_string()),
    ]
}

/// The Trello client.
#[derive(Debug)]
pub struct Client {
    /// The HTTP layer (JSON, and the bytes of attachments), paced and counted.
    pub http: Http,
}

/// A multipart body of one file part (`file`) and text fields; its boundary.
fn multipart(
    fields: &[(&str, &str)],
    file_name: &str,
    mime: &str,
    bytes: &[u8],
) -> (String, Vec<u8>) {
    // A boundary the bytes do not hold.
    let mut n: u64 = 0x5eed_5eed;
    let boundary = loop {
        let b = format!("ssot-vault-{n:016x}");
        if !bytes.windows(b.len()).any(|w| w == b.as_bytes()) {
            break b;
        }
        n = n.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    };
    let clean = |s: &str| s.replace(['"', '\r', '\n'], "_");
    let mut body = Vec::with_capacity(bytes.len() + 512);
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: {mime}\r\n\r\n",
            clean(file_name)
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (boundary, body)
}

impl Client {
    /// A client over the HTTP layer `http`.
    pub fn new(http: Http) -> Result<Client, HttpError> {
        Ok(Client { http })
    }

    /// `GET /cards/{id}/attachments` (404: gone).
    pub async fn attachments(&self, card: &str) -> Result<Answer, HttpError> {
        self.http
            .send(
                Method::GET,
                &format!("/cards/{card}/attachments"),
                &[],
                None,
            )
            .await
    }

    /// `POST /cards/{id}/attachments`: a file (multipart `file`, `name`, `mimeType`), never
    /// sent twice (a lost answer is an error: the file may be attached; a 429 is waited out; a
    /// 5xx comes back as the answer, for the caller to look before trying again).
    pub async fn upload(
        &self,
        card: &str,
        name: &str,
        mime: &str,
        bytes: &[u8],
    ) -> Result<Answer, HttpError> {
        let path = format!("/cards/{card}/attachments");
        let (boundary, body) = multipart(&[("name", name), ("mimeType", mime)], name, mime, bytes);
        let content_type = format!("multipart/form-data; boundary={boundary}");
        let raw = RawBody {
            content_type: &content_type,
            bytes: &body,
        };
        match self
            .http
            .send_bytes(Method::POST, &path, Some(raw), false)
            .await
        {
            Ok(a) => {
                let text = String::from_utf8_lossy(&a.bytes);
                let body = serde_json::from_str(&text)
                    .unwrap_or_else(|_| Value::String(text.trim().to_string()));
                Ok(Answer {
                    status: a.status,
                    body,
                })
            }
            Err(HttpError::Exhausted { status, body, .. }) if status != 429 => Ok(Answer {
                status: reqwest::StatusCode::from_u16(status)
                    .unwrap_or(reqwest::StatusCode::BAD_GATEWAY),
                body: Value::String(body),
            }),
            Err(e) => Err(e),
        }
    }

    /// The bytes of an uploaded attachment (`None`: gone); a lost answer or a 5xx is tried
    /// again (a download changes nothing).
    pub async fn download(
        &self,
        card: &str,
        attachment: &str,
        file_name: &str,
    ) -> Result<Option<Vec<u8>>, HttpError> {
        let path = format!(
            "/cards/{card}/attachments/{attachment}/download/{}",
            urlencoding_path(file_name)
        );
        let a = self.http.send_bytes(Method::GET, &path, None, true).await?;
        if a.status.is_success() {
            return Ok(Some(a.bytes));
        }
        if a.status == reqwest::StatusCode::NOT_FOUND
            || a.status == reqwest::StatusCode::BAD_REQUEST
        {
            return Ok(None);
        }
        Err(HttpError::Exhausted {
            service: self.http.config().service.clone(),
            method: "GET".into(),
            path,
            status: a.status.as_u16(),
            body: String::from_utf8_lossy(&a.bytes)
                .chars()
                .take(200)
                .collect(),
            attempts: 1,
        })
    }

    /// `GET /members/me`: the token's member.
    pub async fn me(&self) -> Result<Answer, HttpError> {
        self.http.send(Method::GET, "/members/me", &[], None).await
    }

    /// `GET /members/me/boards`: the boards the token's member is on.
    pub async fn my_boards(&self) -> Result<Value, HttpError> {
        self.http
            .send_ok(Method::GET, "/members/me/boards", &[], None)
            .await
    }

    /// `GET /boards/{id}` with its open lists, labels and custom field definitions.
    pub async fn board(&self, board: &str) -> Result<Answer, HttpError> {
        let q = vec![
            ("lists", "open".to_string()),
            ("labels", "all".to_string()),
            ("customFields", "true".to_string()),
        ];
        self.http
            .send(Method::GET, &format!("/boards/{board}"), &q, None)
            .await
    }

    /// `POST /lists`: a list at the end of the board.
    pub async fn create_list(&self, board: &str, name: &str) -> Result<Value, HttpError> {
        // Query parameters, as the spec has them.
        let q = vec![
            ("name", name.to_string()),
            ("idBoard", board.to_string()),
            ("pos", "bottom".to_string()),
        ];
        self.http.send_ok(Method::POST, "/lists", &q, None).await
    }

    /// `POST /customFields`: a board custom field of `kind` (`text`, `number`) shown on the
    /// card's front.
    pub async fn create_field(
        &self,
        board: &str,
        name: &str,
        kind: &str,
    ) -> Result<Answer, HttpError> {
        let body = json!({"idModel": board, "modelType": "board", "name": name, "type": kind,
            "pos": "bottom", "display_cardFront": true});
        self.http
            .send(Method::POST, "/customFields", &[], Some(&body))
            .await
    }

    /// One page of the board's actions, newest first: after `since` (an action id), before
    /// `before`, at most `limit`.
    pub async fn actions(
        &self,
        board: &str,
        since: Option<&str>,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Value>, HttpError> {
        let mut q = vec![("limit", limit.to_string())];
        if let Some(s) = since {
            q.push(("since", s.to_string()));
        }
        if let Some(b) = before {
            q.push(("before", b.to_string()));
        }
        let v = self
            .http
            .send_ok(Method::GET, &format!("/boards/{board}/actions"), &q, None)
            .await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// The board's cards of a `filter` (`open`, `closed`, `all`), with their custom field items
    /// and checklists when `full`.
    pub async fn board_cards(
        &self,
        board: &str,
        filter: &str,
        full: bool,
    ) -> Result<Vec<Value>, HttpError> {
        let q = if full { card_query() } else { Vec::new() };
        let v = self
            .http
            .send_ok(
                Method::GET,
                &format!("/boards/{board}/cards/{filter}"),
                &q,
                None,
            )
            .await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// The open cards of a list, with their custom field items.
    pub async fn list_cards(&self, list: &str) -> Result<Vec<Value>, HttpError> {
        let q = vec![("customFieldItems", "true".to_string())];
        let v = self
            .http
            .send_ok(Method::GET, &format!("/lists/{list}/cards"), &q, None)
            .await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// `GET /cards/{id}` with its custom field items and checklists (404: gone).
    pub async fn card(&self, id: &str) -> Result<Answer, HttpError> {
        self.http
            .send(Method::GET, &format!("/cards/{id}"), &card_query(), None)
            .await
    }

    /// `POST /cards`, never sent twice: a lost answer is an error for the caller to settle (the
    /// card may exist).
    pub async fn create_card(&self, params: &Value) -> Result<Answer, HttpError> {
        self.http
            .send_no_replay(Method::POST, "/cards", &[], Some(params))
            .await
    }

    /// `PUT /cards/{id}`.
    pub async fn update_card(&self, id: &str, params: &Value) -> Result<Answer, HttpError> {
        self.http
            .send(Method::PUT, &format!("/cards/{id}"), &[], Some(params))
            .await
    }

    /// `PUT /cards/{card}/customField/{field}/item` with a `value` (`""` clears it).
    pub async fn set_field(
        &self,
        card: &str,
        field: &str,
        value: &Value,
    ) -> Result<Answer, HttpError> {
        let body = json!({ "value": value });
        self.http
            .send(
                Method::PUT,
                &format!("/cards/{card}/customField/{field}/item"),
                &[],
                Some(&body),
            )
            .await
    }

    /// `PUT /cards/{card}/customFields`: several custom field items in one request, each an
    /// `(idCustomField, value)` (`""` clears one).
    pub async fn set_fields(
        &self,
        card: &str,
        items: &[(String, Value)],
    ) -> Result<Answer, HttpError> {
        let items: Vec<Value> = items
            .iter()
            .map(|(f, v)| json!({ "idCustomField": f, "value": v }))
            .collect();
        let body = json!({ "customFieldItems": items });
        self.http
            .send(
                Method::PUT,
                &format!("/cards/{card}/customFields"),
                &[],
                Some(&body),
            )
            .await
    }

    /// The board's newest card creations (`createCard`, `copyCard`), newest first.
    pub async fn card_creations(&self, board: &str) -> Result<Vec<Value>, HttpError> {
        let q = vec![
            ("filter", "createCard,copyCard".to_string()),
            ("limit", ACTIONS_LIMIT.to_string()),
        ];
        let v = self
            .http
            .send_ok(Method::GET, &format!("/boards/{board}/actions"), &q, None)
            .await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// `POST /cards/{id}/actions/comments`: a comment on the card; its action.
    pub async fn add_comment(&self, card: &str, text: &str) -> Result<Answer, HttpError> {
        let body = json!({ "text": text });
        self.http
            .send_no_replay(
                Method::POST,
                &format!("/cards/{card}/actions/comments"),
                &[],
                Some(&body),
            )
            .await
    }

    /// `PUT /cards/{id}/actions/{action}/comments`: a comment's new text.
    pub async fn edit_comment(
        &self,
        card: &str,
        action: &str,
        text: &str,
    ) -> Result<Answer, HttpError> {
        let body = json!({ "text": text });
        self.http
            .send(
                Method::PUT,
                &format!("/cards/{card}/actions/{action}/comments"),
                &[],
                Some(&body),
            )
            .await
    }

    /// One page of a board's comments (`commentCard` actions), newest first, before `before`.
    pub async fn board_comments(
        &self,
        board: &str,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Value>, HttpError> {
        let mut q = vec![
            ("filter", "commentCard".to_string()),
            ("limit", limit.to_string()),
        ];
        if let Some(b) = before {
            q.push(("before", b.to_string()));
        }
        let v = self
            .http
            .send_ok(Method::GET, &format!("/boards/{board}/actions"), &q, None)
            .await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    /// The card's comments (`commentCard` actions), newest first, at most `limit` (404: gone).
    pub async fn comments(&self, card: &str, limit: usize) -> Result<Answer, HttpError> {
        let q = vec![
            ("filter", "commentCard".to_string()),
            ("limit", limit.to_string()),
        ];
        self.http
            .send(Method::GET, &format!("/cards/{card}/actions"), &q, None)
            .await
    }

    /// The card's creation (`createCard` or `copyCard` action, with its member), if any.
    pub async fn card_creation(&self, card: &str) -> Result<Option<Value>, HttpError> {
        let q = vec![
            ("filter", "createCard,copyCard".to_string()),
            ("limit", "1".to_string()),
        ];
        let a = self
            .http
            .send(Method::GET, &format!("/cards/{card}/actions"), &q, None)
            .await?;
        if !a.status.is_success() {
            return Ok(None);
        }
        Ok(a.body.as_array().and_then(|v| v.first()).cloned())
    }

    /// `POST /cards/{id}/checklists`: a checklist named `name`.
    pub async fn create_checklist(&self, card: &str, name: &str) -> Result<Value, HttpError> {
        let body = json!({ "name": name });
        self.http
            .send_ok(
                Method::POST,
                &format!("/cards/{card}/checklists"),
                &[],
                Some(&body),
            )
            .await
    }

    /// `POST /checklists/{id}/checkItems`, at `pos` (`None`: the bottom).
    pub async fn add_item(
        &self,
        checklist: &str,
        name: &str,
        checked: bool,
        pos: Option<f64>,
    ) -> Result<Value, HttpError> {
        let pos = pos.map_or(json!("bottom"), |p| json!(p));
        let body = json!({ "name": name, "checked": checked, "pos": pos });
        self.http
            .send_ok(
                Method::POST,
                &format!("/checklists/{checklist}/checkItems"),
                &[],
                Some(&body),
            )
            .await
    }

    /// `PUT /cards/{card}/checkItem/{item}` with its `state`, and its `pos` when given.
    pub async fn check_item(
        &self,
        card: &str,
        item: &str,
        checked: bool,
        pos: Option<f64>,
    ) -> Result<Value, HttpError> {
        let state = if checked { "complete" } else { "incomplete" };
        let mut body = json!({ "state": state });
        if let Some(p) = pos {
            body["pos"] = json!(p);
        }
        self.http
            .send_ok(
                Method::PUT,
                &format!("/cards/{card}/checkItem/{item}"),
                &[],
                Some(&body),
            )
            .await
    }

    /// `DELETE /checklists/{id}/checkItems/{item}` (one already gone is fine).
    pub async fn delete_item(&self, checklist: &str, item: &str) -> Result<(), HttpError> {
        let path = format!("/checklists/{checklist}/checkItems/{item}");
        let a = self.http.send(Method::DELETE, &path, &[], None).await?;
        if a.status.is_success() || a.status == reqwest::StatusCode::NOT_FOUND {
            Ok(())
        } else {
            Err(self.http.status_error(&Method::DELETE, &path, &a))
        }
    }
}
