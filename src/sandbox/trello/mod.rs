//! Trello REST v1 emulator: boards, lists, labels, members, custom fields, cards, checklists,
//! comments, attachments and the board's actions feed, served under `/1/...` so a connector's base
//! URL `http://127.0.0.1:PORT/1` replaces `https://api.trello.com/1`.
//!
//! Written from the project's contract sheet (`shared/api-contracts.md` §3) and the official spec
//! (`shared/specs/trello-v1.json`). This file holds the router, the key-and-token gate with the
//! optional rate limits, Trello's plain-text errors, the parameters of a call (query string, JSON
//! or form body, as Trello takes them) and the JSON rendering shared by the submodules.

mod actions;
mod boards;
mod cards;
mod emulator;
mod items;
pub mod store;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use super::AppState;
use super::faults::fault_middleware;
use store::{Card, TrelloData};

pub use emulator::Trello;

/// The Trello emulator's live settings inside a running sandbox: the key and the sync member's
/// token it accepts, and its per-token and per-key rate limiters when they are on.
#[derive(Debug)]
pub struct TrelloRuntime {
    pub(crate) key: String,
    pub(crate) token: String,
    pub(crate) limiters:
        std::sync::Mutex<Option<(super::faults::RateLimiter, super::faults::RateLimiter)>>,
}

impl TrelloRuntime {
    /// The runtime settings a configuration describes.
    pub fn new(cfg: &super::SandboxConfig) -> Self {
        TrelloRuntime {
            key: cfg.trello_key.clone(),
            token: cfg.trello_token.clone(),
            limiters: std::sync::Mutex::new(cfg.trello_rate_limit.map(|(t, k, w)| {
                (
                    super::faults::RateLimiter::new(t, w),
                    super::faults::RateLimiter::new(k, w),
                )
            })),
        }
    }
}

/// Path prefixes served by this emulator.
pub const PREFIXES: [&str; 1] = ["/1/"];

/// Builds the Trello routes with their gate (key, token, rate limits) and the fault layer.
pub fn router(app: Arc<AppState>) -> Router<Arc<AppState>> {
    Router::new()
        .route("/1/members/me", get(boards::me))
        .route("/1/members/me/boards", get(boards::my_boards))
        .route("/1/boards/{id}", get(boards::board))
        .route(
            "/1/boards/{id}/lists",
            get(boards::board_lists).post(boards::board_create_list),
        )
        .route(
            "/1/boards/{id}/lists/{filter}",
            get(boards::board_lists_filtered),
        )
        .route("/1/boards/{id}/labels", get(boards::board_labels))
        .route("/1/boards/{id}/members", get(boards::board_members))
        .route(
            "/1/boards/{id}/customFields",
            get(boards::board_custom_fields),
        )
        .route("/1/boards/{id}/cards", get(cards::board_cards))
        .route(
            "/1/boards/{id}/cards/{filter}",
            get(cards::board_cards_filtered),
        )
        .route("/1/boards/{id}/actions", get(actions::board_actions))
        .route("/1/lists", post(boards::create_list))
        .route(
            "/1/lists/{id}",
            get(boards::read_list).put(boards::update_list),
        )
        .route("/1/lists/{id}/cards", get(cards::list_cards))
        .route("/1/lists/{id}/{field}", put(boards::update_list_field))
        .route("/1/customFields", post(items::create_custom_field))
        .route("/1/customFields/{id}", get(items::read_custom_field))
        .route("/1/cards", post(cards::create_card))
        .route(
            "/1/cards/{id}",
            get(cards::read_card)
                .put(cards::update_card)
                .delete(cards::delete_card),
        )
        .route(
            "/1/cards/{id}/checklists",
            get(items::card_checklists).post(items::card_create_checklist),
        )
        .route(
            "/1/cards/{id}/checkItem/{idCheckItem}",
            put(items::update_check_item).delete(items::card_delete_check_item),
        )
        .route(
            "/1/cards/{id}/checklist/{idChecklist}/checkItem/{idCheckItem}",
            put(items::update_check_item_in),
        )
        .route("/1/cards/{id}/actions", get(actions::card_actions))
        .route("/1/cards/{id}/actions/comments", post(items::add_comment))
        .route(
            "/1/cards/{id}/actions/{idAction}/comments",
            put(items::edit_comment).delete(items::delete_comment),
        )
        .route(
            "/1/cards/{id}/customField/{idCustomField}/item",
            put(items::set_field_item),
        )
        .route("/1/cards/{id}/customFields", put(items::set_field_items))
        .route(
            "/1/cards/{id}/customFieldItems",
            get(items::card_field_items),
        )
        .route(
            "/1/cards/{id}/attachments",
            get(items::list_attachments).post(items::add_attachment),
        )
        .route(
            "/1/cards/{id}/attachments/{idAttachment}",
            get(items::read_attachment).delete(items::delete_attachment),
        )
        .route(
            "/1/cards/{id}/attachments/{idAttachment}/download/{fileName}",
            get(items::download_attachment),
        )
        .route("/1/checklists", post(items::create_checklist))
        .route(
            "/1/checklists/{id}",
            get(items::read_checklist)
                .put(items::update_checklist)
                .delete(items::delete_checklist),
        )
        .route(
            "/1/checklists/{id}/checkItems",
            get(items::list_check_items).post(items::create_check_item),
        )
        .route(
            "/1/checklists/{id}/checkItems/{idCheckItem}",
            axum::routing::delete(items::delete_check_item),
        )
        .route("/1/actions/{id}", get(actions::read_action))
        .route_layer(middleware::from_fn_with_state(app.clone(), gate))
        .route_layer(middleware::from_fn_with_state(app, fault_middleware))
}

/// A Trello error: a status and Trello's plain-text body (`invalid id`, `invalid key`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrelloError {
    status: StatusCode,
    message: String,
}

impl TrelloError {
    /// An error with a status and body text.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        TrelloError {
            status,
            message: message.into(),
        }
    }

    /// 400 `invalid id`: a path or parameter id that is not a 24-hex id.
    pub fn invalid_id() -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid id")
    }

    /// 400 `invalid value for <param>`.
    pub fn invalid_value(param: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            format!("invalid value for {param}"),
        )
    }

    /// 404 for a well-formed id naming nothing.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "The requested resource was not found.",
        )
    }

    /// The body text.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether this is a 404.
    pub fn is_not_found(&self) -> bool {
        self.status == StatusCode::NOT_FOUND
    }
}

impl IntoResponse for TrelloError {
    fn into_response(self) -> Response {
        (
            self.status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            self.message,
        )
            .into_response()
    }
}

/// Result of a Trello handler.
pub type TResult = Result<Response, TrelloError>;

/// A JSON 200.
pub fn ok(v: Value) -> TResult {
    Ok(axum::Json(v).into_response())
}

/// Renders an injected fault status as Trello would answer it.
pub fn render_fault(status: StatusCode) -> Response {
    if status == StatusCode::TOO_MANY_REQUESTS {
        return rate_limited("API_TOKEN_LIMIT_EXCEEDED");
    }
    TrelloError::new(
        status,
        format!(
            "{} (injected by the sandbox)",
            status.canonical_reason().unwrap_or("error")
        ),
    )
    .into_response()
}

/// Trello's 429: a JSON body naming the limit, no `Retry-After`.
fn rate_limited(error: &str) -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(json!({ "error": error, "message": "Rate limit exceeded" })),
    )
        .into_response()
}

/// The member a request acts as (put in the request's extensions by the gate).
#[derive(Debug, Clone)]
pub struct Acting(pub String);

/// `key` and `token` from the query string, else from
/// `Authorization: OAuth oauth_consumer_key="…", oauth_token="…"`.
fn credentials(req: &Request) -> (Option<String>, Option<String>) {
    let mut key = None;
    let mut token = None;
    if let Some(q) = req.uri().query() {
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            match k.as_ref() {
                "key" => key = Some(v.into_owned()),
                "token" => token = Some(v.into_owned()),
                _ => {}
            }
        }
    }
    if let Some(h) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some(rest) = h
            .trim()
            .strip_prefix("OAuth ")
            .or_else(|| h.trim().strip_prefix("oauth "))
    {
        for part in rest.split(',') {
            let Some((k, v)) = part.trim().split_once('=') else {
                continue;
            };
            let v = v.trim().trim_matches('"').to_owned();
            match k.trim() {
                "oauth_consumer_key" if key.is_none() => key = Some(v),
                "oauth_token" if token.is_none() => token = Some(v),
                _ => {}
            }
        }
    }
    (
        key.filter(|k| !k.is_empty()),
        token.filter(|t| !t.is_empty()),
    )
}

/// The model a path is about (`card` for `/1/cards/...`), for Trello's permission messages.
fn model_of(path: &str) -> &'static str {
    match path.trim_start_matches("/1/").split('/').next() {
        Some("cards") => "card",
        Some("boards") => "board",
        Some("lists") => "list",
        Some("checklists") => "checklist",
        Some("actions") => "action",
        Some("customFields") => "customField",
        Some("members") => "member",
        _ => "",
    }
}

/// Key check (401 `invalid key`), token check (401 `invalid token`, or `unauthorized card
/// permission requested` without one), then the per-token and per-key limits when configured.
async fn gate(State(app): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let (key, token) = credentials(&req);
    let Some(key) = key else {
        return TrelloError::new(StatusCode::UNAUTHORIZED, "invalid key").into_response();
    };
    if !app.trello.key.is_empty() && key != app.trello.key {
        return TrelloError::new(StatusCode::UNAUTHORIZED, "invalid key").into_response();
    }
    let Some(token) = token else {
        let model = model_of(req.uri().path());
        let text = if model.is_empty() {
            "unauthorized permission requested".to_owned()
        } else {
            format!("unauthorized {model} permission requested")
        };
        return TrelloError::new(StatusCode::UNAUTHORIZED, text).into_response();
    };
    let member = app.read_trello(|d| {
        d.members
            .iter()
            .skip(1)
            .find(|m| m.token == token)
            .or_else(|| {
                (app.trello.token.is_empty() || token == app.trello.token)
                    .then(|| d.members.first())
                    .flatten()
            })
            .map(|m| m.id.clone())
    });
    let Some(member) = member else {
        return TrelloError::new(StatusCode::UNAUTHORIZED, "invalid token").into_response();
    };
    let refused = {
        let mut l = app
            .trello
            .limiters
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match l.as_mut() {
            Some((per_token, per_key)) => {
                if !per_key.check(&key).allowed {
                    Some("API_KEY_LIMIT_EXCEEDED")
                } else if !per_token.check(&token).allowed {
                    Some("API_TOKEN_LIMIT_EXCEEDED")
                } else {
                    None
                }
            }
            None => None,
        }
    };
    if let Some(error) = refused {
        app.count_rate_limited(super::route_key(&req));
        return rate_limited(error);
    }
    req.extensions_mut().insert(Acting(member));
    next.run(req).await
}

/// The parameters of a call: the query string merged with a JSON or form body (the body wins),
/// plus the acting member, the request's host and, for a multipart upload, its parts.
#[derive(Debug, Clone, Default)]
pub struct Call {
    /// Parameters by name (query and form values are strings).
    pub params: BTreeMap<String, Value>,
    /// The acting member's id.
    pub member: String,
    /// `http://host:port` the request was sent to.
    pub origin: String,
    /// Parts of a `multipart/form-data` body.
    pub parts: Vec<Part>,
}

/// One part of a multipart body.
#[derive(Debug, Clone, Default)]
pub struct Part {
    /// Field name.
    pub name: String,
    /// File name, for a file part.
    pub file_name: Option<String>,
    /// Its `Content-Type`.
    pub content_type: Option<String>,
    /// The bytes.
    pub data: Vec<u8>,
}

impl Call {
    /// A parameter as text (numbers and booleans rendered, `null` as absent, an array of ids
    /// as Trello's comma-separated form: `idLabels` is either).
    pub fn text(&self, name: &str) -> Option<String> {
        match self.params.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            Value::Array(items) if items.iter().all(Value::is_string) => Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            v => Some(v.to_string()),
        }
    }

    /// Whether the parameter was given at all (a `null` counts).
    pub fn has(&self, name: &str) -> bool {
        self.params.contains_key(name)
    }

    /// A boolean parameter (`true`/`false`); other text is an invalid value.
    pub fn flag(&self, name: &str) -> Result<Option<bool>, TrelloError> {
        match self.text(name).as_deref() {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(TrelloError::invalid_value(name)),
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for Call {
    type Rejection = TrelloError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let member = req
            .extensions()
            .get::<Acting>()
            .map(|a| a.0.clone())
            .unwrap_or_default();
        let headers: HeaderMap = req.headers().clone();
        let origin = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(|h| format!("http://{h}"))
            .unwrap_or_default();
        let mut params = BTreeMap::new();
        if let Some(q) = req.uri().query() {
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                if k != "key" && k != "token" {
                    params.insert(k.into_owned(), Value::String(v.into_owned()));
                }
            }
        }
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|_| TrelloError::new(StatusCode::BAD_REQUEST, "invalid request body"))?;
        let ctype = headers
            .get(header::CONTENT_TYPE)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let mut parts = Vec::new();
        if body.is_empty() {
        } else if ctype.starts_with("application/json") {
            match serde_json::from_slice::<Value>(&body) {
                Ok(Value::Object(m)) => params.extend(m),
                _ => return Err(TrelloError::new(StatusCode::BAD_REQUEST, "invalid json")),
            }
        } else if ctype.starts_with("multipart/form-data") {
            let raw = headers
                .get(header::CONTENT_TYPE)
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default();
            parts = multipart(raw, &body)
                .ok_or_else(|| TrelloError::new(StatusCode::BAD_REQUEST, "invalid multipart"))?;
            for p in &parts {
                if p.file_name.is_none() {
                    params.insert(
                        p.name.clone(),
                        Value::String(String::from_utf8_lossy(&p.data).into_owned()),
                    );
                }
            }
        } else {
            for (k, v) in form_urlencoded::parse(&body) {
                params.insert(k.into_owned(), Value::String(v.into_owned()));
            }
        }
        params.remove("key");
        params.remove("token");
        Ok(Call {
            params,
            member,
            origin,
            parts,
        })
    }
}

/// Splits a `multipart/form-data` body into its parts (`None`: malformed).
fn multipart(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
    let boundary = content_type
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim_matches('"').to_owned())?;
    let delim = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    let mut rest = body;
    let start = find(rest, &delim)?;
    rest = &rest[start + delim.len()..];
    loop {
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let head_end = find(rest, b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&rest[..head_end]).into_owned();
        rest = &rest[head_end + 4..];
        let mut next_delim = b"\r\n".to_vec();
        next_delim.extend_from_slice(&delim);
        let end = find(rest, &next_delim)?;
        let data = rest[..end].to_vec();
        rest = &rest[end + next_delim.len()..];
        let mut part = Part {
            data,
            ..Part::default()
        };
        for line in head.split("\r\n") {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            if name.trim().eq_ignore_ascii_case("content-type") {
                part.content_type = Some(value.trim().to_owned());
            } else if name.trim().eq_ignore_ascii_case("content-disposition") {
                for attr in value.split(';').skip(1) {
                    if let Some((k, v)) = attr.trim().split_once('=') {
                        let v = v.trim().trim_matches('"').to_owned();
                        match k.trim() {
                            "name" => part.name = v,
                            "filename" => part.file_name = Some(v),
                            _ => {}
                        }
                    }
                }
            }
        }
        parts.push(part);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Checks a path id's shape: 400 `invalid id` otherwise.
pub fn check_id(id: &str) -> Result<(), TrelloError> {
    if store::is_id(id) {
        Ok(())
    } else {
        Err(TrelloError::invalid_id())
    }
}

/// ISO-8601 UTC with milliseconds, as Trello writes dates.
pub fn iso(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// Parses an ISO timestamp or date into epoch ms.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Some(t.as_millisecond());
    }
    let d = s.parse::<jiff::civil::Date>().ok()?;
    d.to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp().as_millisecond())
}

/// A position parameter: `top`, `bottom` or a non-negative number, among `siblings`.
pub fn position(value: Option<&str>, siblings: &[f64]) -> Result<f64, TrelloError> {
    let max = siblings.iter().copied().fold(0.0, f64::max);
    let min = siblings.iter().copied().fold(f64::INFINITY, f64::min);
    match value {
        None | Some("bottom") => Ok(max + 16384.0),
        Some("top") => Ok(if min.is_finite() { min / 2.0 } else { 16384.0 }),
        Some(n) => match n.parse::<f64>() {
            Ok(p) if p.is_finite() && p >= 0.0 => Ok(p),
            _ => Err(TrelloError::invalid_value("pos")),
        },
    }
}

/// A member as Trello renders it.
pub fn member_json(d: &TrelloData, id: &str) -> Value {
    match d.member(id) {
        Some(m) => json!({
            "id": m.id,
            "username": m.username,
            "fullName": m.full_name,
            "initials": m.full_name.split_whitespace()
                .filter_map(|w| w.chars().next()).collect::<String>(),
        }),
        None => json!({ "id": id }),
    }
}

/// The card's short identity used inside actions and for `data.card`.
pub fn card_ref(c: &Card) -> Value {
    json!({ "id": c.id, "name": c.name, "idShort": c.id_short, "shortLink": short_link(&c.id) })
}

/// The 8-character short link of a card.
pub fn short_link(id: &str) -> String {
    id.chars().rev().take(8).collect()
}

/// The board and list refs of a card, for action data.
pub fn where_json(d: &TrelloData, c: &Card) -> (Value, Value) {
    let board = d
        .boards
        .get(&c.id_board)
        .map(|b| json!({ "id": b.id, "name": b.name, "shortLink": short_link(&b.id) }))
        .unwrap_or_else(|| json!({ "id": c.id_board }));
    let list = d
        .lists
        .get(&c.id_list)
        .map(|l| json!({ "id": l.id, "name": l.name }))
        .unwrap_or_else(|| json!({ "id": c.id_list }));
    (board, list)
}

/// The seeded account: the token owner and three colleagues; a "Projects" board with its lists,
/// labels and custom field definitions; a "Helpdesk" board.
pub fn seed_data(now_ms: i64, token: &str) -> TrelloData {
    let mut d = TrelloData::default();
    let people = [
        ("ssot-sync", "ssot-vault Sync", token.to_owned()),
        (
            "ola.operator",
            "Ola Operator",
            "sandbox-trello-token-ola".to_owned(),
        ),
        (
            "anna.client",
            "Anna Client",
            "sandbox-trello-token-anna".to_owned(),
        ),
        (
            "ewa.expert",
            "Ewa Expert",
            "sandbox-trello-token-ewa".to_owned(),
        ),
    ];
    for (username, full_name, token) in people {
        let id = d.new_id(now_ms);
        d.members.push(store::Member {
            id,
            username: username.to_owned(),
            full_name: full_name.to_owned(),
            token,
        });
    }
    let members: Vec<String> = d.members.iter().map(|m| m.id.clone()).collect();
    let boards: [(&str, &[&str]); 2] = [
        (
            "Projects",
            &["Accepted", "Credentialing", "Active", "Blocked", "Done"],
        ),
        ("Helpdesk", &["Open", "Answered", "Closed"]),
    ];
    for (name, lists) in boards {
        let id = d.new_id(now_ms);
        for (i, list) in lists.iter().enumerate() {
            let lid = d.new_id(now_ms);
            d.lists.insert(
                lid.clone(),
                store::List {
                    id: lid,
                    id_board: id.clone(),
                    name: (*list).to_owned(),
                    closed: false,
                    pos: 16384.0 * (i as f64 + 1.0),
                },
            );
        }
        let labels: &[(&str, &str)] = if name == "Projects" {
            &[("High", "red"), ("Medium", "yellow"), ("Low", "green")]
        } else {
            &[("Client", "blue"), ("Expert", "purple")]
        };
        for (label, color) in labels {
            let lid = d.new_id(now_ms);
            d.labels.insert(
                lid.clone(),
                store::Label {
                    id: lid,
                    id_board: id.clone(),
                    name: (*label).to_owned(),
                    color: (*color).to_owned(),
                },
            );
        }
        if name == "Projects" {
            for (i, (field, kind)) in [("Blocked reason", "text"), ("Budget", "number")]
                .into_iter()
                .enumerate()
            {
                let fid = d.new_id(now_ms);
                d.custom_fields.insert(
                    fid.clone(),
                    store::CustomField {
                        id: fid,
                        id_board: id.clone(),
                        name: field.to_owned(),
                        kind: kind.to_owned(),
                        pos: 16384.0 * (i as f64 + 1.0),
                        options: Vec::new(),
                    },
                );
            }
        }
        d.boards.insert(
            id.clone(),
            store::Board {
                id,
                name: name.to_owned(),
                desc: String::new(),
                closed: false,
                id_members: members.clone(),
                last_short: 0,
            },
        );
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_lists_are_taken_as_arrays_or_comma_separated() {
        let mut call = Call::default();
        call.params
            .insert("idLabels".into(), serde_json::json!(["a1", "b2"]));
        call.params
            .insert("idMembers".into(), serde_json::json!("c3,d4"));
        assert_eq!(call.text("idLabels").as_deref(), Some("a1,b2"));
        assert_eq!(call.text("idMembers").as_deref(), Some("c3,d4"));
    }

    #[test]
    fn multipart_bodies_split_into_parts() {
        let body =
            b"preamble\r\n--b1\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nx.bin\r\n\
            --b1\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.bin\"\r\n\
            Content-Type: application/octet-stream\r\n\r\n\x00\r\n--b\xff\r\n--b1--\r\n";
        let parts = multipart("multipart/form-data; boundary=\"b1\"", body).expect("parts");
        assert_eq!(parts.len(), 2);
        assert_eq!(
            (parts[0].name.as_str(), parts[0].data.as_slice()),
            ("name", &b"x.bin"[..])
        );
        assert_eq!(parts[1].file_name.as_deref(), Some("x.bin"));
        assert_eq!(
            parts[1].content_type.as_deref(),
            Some("application/octet-stream")
        );
        assert_eq!(parts[1].data, b"\x00\r\n--b\xff");
        // No boundary, an unterminated part, headers that never end: refused, never a panic.
        assert!(multipart("multipart/form-data", body).is_none());
        assert!(
            multipart(
                "multipart/form-data; boundary=b1",
                b"--b1\r\nA: b\r\n\r\nxx"
            )
            .is_none()
        );
        assert!(multipart("multipart/form-data; boundary=b1", b"--b1\r\nA: b").is_none());
        assert!(multipart("multipart/form-data; boundary=b1", b"").is_none());
    }

    #[test]
    fn positions_and_credentials() {
        assert_eq!(position(None, &[]), Ok(16384.0));
        assert_eq!(position(Some("bottom"), &[1.0, 5.0]), Ok(16389.0));
        assert_eq!(position(Some("top"), &[4.0, 8.0]), Ok(2.0));
        assert_eq!(position(Some("3.5"), &[]), Ok(3.5));
        for bad in ["-1", "x", "NaN", "inf"] {
            assert_eq!(
                position(Some(bad), &[]),
                Err(TrelloError::invalid_value("pos"))
            );
        }
        let req = Request::builder()
            .uri("/1/cards/x?key=k1")
            .header(
                header::AUTHORIZATION,
                "OAuth oauth_consumer_key=\"k2\", oauth_token=\"t2\"",
            )
            .body(axum::body::Body::empty())
            .expect("request");
        assert_eq!(
            credentials(&req),
            (Some("k1".to_owned()), Some("t2".to_owned())),
            "the query string wins, the header fills in"
        );
        assert_eq!(model_of("/1/checklists/abc"), "checklist");
    }
}
