//! The Trello connector: each project is a card on the configured board, its status the card's
//! list, its `## Credentialing` tasks the card's `Credentialing` checklist (see [`mapping`]).
//!
//! - **Identity.** The note's `ssot_id` is the card's custom field `ssot_id` (created on the
//!   board when missing), set by the request right after the create. A create whose answer is
//!   lost is looked for in its list (its name on a fresh card with no `ssot_id`); a card our
//!   token made with no `ssot_id` (a run killed between the two) is left out of pulls and taken
//!   up by the note of its name (`Trello::orphans`). A board whose custom fields cannot be
//!   used keeps the `ssot_id` as a marker line at the end of `desc` (hidden by the mapping); a
//!   card carrying one is found by it on any board.
//! - **Change feed.** The board's actions since the last action id seen (Trello's `since`
//!   with an action id), newest first, paged with `before`; the cards they name are read again.
//!   Actions this connector made (by the token's member, on a card it wrote, during that run's
//!   writes) are left out, so an unchanged vault and board cost one request. A long run reads
//!   the feed past its cursor between its writes (every half page of requests, [`FeedTail`]):
//!   the next run starts after them, so its own actions never fill the next run's pages. An
//!   edit pulled that its note did not take is read again by the engine (its `held_pulled`). A full read (first run, `full_pull_hours`,
//!   `sync --full`) reads the board's open cards with their custom field items, checklists and
//!   attachments.
//! - **Writes.** A create is `POST /cards` (never sent twice), a copy of an archived template
//!   card when its checklist is one (`idCardSource`, `keepFromSource=checklists`), then its
//!   custom field items in one `PUT /cards/{id}/customFields`: two requests a card. An update
//!   is one `PUT /cards/{id}` and its custom field items; the checklist is written item by item
//!   (add, check or uncheck, delete; a renamed item is a removed one and an added one). A card
//!   closed in Trello is [`WriteOutcome::Gone`], never re-created.
//! - **Documents.** A card read carries its attachments: the note's pull-only `## Documents`
//!   list (see [`documents`]). An attachment added or deleted is an action of the feed, so the
//!   card is read again at the next pull.
//! - **Limits.** Requests go through the shared [`Http`] layer at Trello's 100 requests per 10
//!   seconds per token; a 429 (Trello sends no `Retry-After`) drains the bucket and backs off.
//!
//! The board, its lists, labels and custom fields and the token's member are looked up once and
//! kept in the connector's state; a list or field the cards name that is not known (a list made
//! in Trello since) makes the board be read again.

pub mod client;
pub mod config;
pub mod documents;
pub mod helpdesk;
pub mod lists;
pub mod mapping;

use std::collections::{BTreeMap, BTreeSet};

use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::connectors::http::{Http, HttpConfig, HttpError, HttpStats, Secret};
use crate::connectors::{
    ActionOp, ActionOutcome, Binding, Connector, ConnectorError, Conv, Health, Pacing, Pulled,
    RemoteAction, RemoteRecord, SectionItem, Upsert, WriteOutcome,
};
use crate::secrets::CredentialSource;
use crate::vault::schema::Schema;

use client::Client;
pub use config::{ID_KEY, NAME, TrelloConfig};
use mapping::{CardMap, HEADING, NOTE_TYPE, Part, PartMap, SSOT_FIELD};

/// Runs whose writes are remembered, to leave their actions out of the feed.
const MAX_RUNS: usize = 8;
/// Leeway around a run's writes when telling its actions (service clock against ours).
const RUN_MARGIN_MS: i64 = 2_000;
/// More cards than this named by the feed are read with one board listing instead of one by one.
const READ_ONE_BY_ONE: usize = 8;
/// Attempts at a create whose answer keeps being lost.
const CREATE_ATTEMPTS: u32 = 4;
/// Seconds of leeway (service clock against ours) when telling a card a lost create made.
const CREATE_SKEW_S: i64 = 5;

/// What a read of the feed found.
#[derive(Debug, Default)]
struct FeedRead {
    /// Cards named by actions not ours, in the feed's order.
    cards: Vec<String>,
    /// A list was made or renamed.
    lists_changed: bool,
    /// The newest action: its id and date (epoch ms).
    newest: Option<(String, Option<i64>)>,
}

/// The board's open cards a write batch may find its cards among.
#[derive(Debug, Default)]
struct Index {
    /// By `ssot_id` (custom field or marker line).
    by_sid: BTreeMap<String, Value>,
    /// Cards our token created with no `ssot_id` (creates cut short), taken up by name.
    orphans: Vec<Value>,
}

/// A run's writes: when, and to which cards.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunMark {
    /// The run id.
    pub run: String,
    /// Our clock when its first write left (epoch ms).
    pub start_ms: i64,
    /// Our clock when its last answer came (epoch ms).
    pub end_ms: i64,
    /// The cards it wrote.
    pub cards: BTreeSet<String>,
}

/// A board custom field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDef {
    /// Its id.
    pub id: String,
    /// Its Trello type (`text`, `number`, ...).
    pub kind: String,
}

/// What the connector remembers between runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrelloState {
    /// The configuration's board (`board_id`, else `board`) the rest was read for.
    pub board_ref: String,
    /// The board's id.
    pub board: String,
    /// The board's name.
    pub board_name: String,
    /// The token's member id.
    pub me: String,
    /// Open lists: id → name.
    pub lists: BTreeMap<String, String>,
    /// Labels: id → name.
    pub labels: BTreeMap<String, String>,
    /// Custom fields by name.
    pub fields: BTreeMap<String, FieldDef>,
    /// The board's custom fields cannot be used: the `ssot_id` stays a marker line in `desc`.
    pub marker_only: bool,
    /// Mapped custom fields the board refused to create: their keys are not synced.
    pub unusable: BTreeSet<String>,
    /// Our recent runs' writes.
    pub runs: Vec<RunMark>,
    /// Archived template cards by the checklist they hold ([`checklist_key`]): a new card
    /// whose checklist is one of them is a copy of it (one request for card and checklist).
    pub templates: BTreeMap<String, String>,
    /// The feed read past the run's cursor by its own catch-ups (see [`FeedTail`]).
    pub tail: FeedTail,
    /// The helpdesk board, when tickets are synced.
    pub helpdesk: helpdesk::HelpdeskState,
}

/// The board's actions a run read after its pull, between its writes (a long run's own actions
/// would otherwise fill pages of the next run's feed): the next pull starts at `tail` instead of
/// the cursor and reads the cards others' actions among them named. Saved with the cursor; used
/// only when the cursor is still the one it was read from (`from`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeedTail {
    /// The cursor's action the catch-ups read after (the run's pull's newest action).
    pub from: Option<String>,
    /// The newest action they read.
    pub tail: Option<String>,
    /// Cards named by actions among them that were not ours (read by the next pull).
    pub cards: BTreeSet<String>,
    /// A list was made or renamed among them (the next pull reads the board).
    pub lists_changed: bool,
}

/// The cursor: the newest action seen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrelloCursor {
    /// The newest action of the board seen (`None`: the board had none).
    pub last: Option<String>,
    /// Its date (service clock, epoch ms).
    pub at_ms: Option<i64>,
    /// The newest action of the helpdesk board seen.
    pub helpdesk: Option<String>,
    /// The helpdesk board was read (else the next pull reads it whole).
    pub helpdesk_read: bool,
}

impl TrelloCursor {
    /// The cursor of the newest action of a page (`None`: no action).
    fn of(newest: Option<&Value>) -> Option<TrelloCursor> {
        let a = newest?;
        Some(TrelloCursor {
            last: str_of(a, "id").map(str::to_string),
            at_ms: parse_ms(a.get("date")),
            ..TrelloCursor::default()
        })
    }
}

/// The connector.
#[derive(Debug)]
pub struct Trello {
    cfg: TrelloConfig,
    client: Client,
    key_missing: bool,
    /// The mapping as configured.
    full_map: CardMap,
    /// The mapping in use: without the custom fields the board refused.
    map: CardMap,
    bindings: Vec<Binding>,
    state: TrelloState,
    /// The board was read this run (its lists, labels and fields are current).
    board_read: bool,
    /// Cards read this run whose `ssot_id` is only their marker line (a create cut short):
    /// their custom field is set by their next write.
    marked: BTreeSet<String>,
    /// Where the token came from, when known.
    source: Option<CredentialSource>,
    /// Templates read this run and found to hold their checklist.
    templates_checked: BTreeSet<String>,
    /// Requests sent (this run) when the feed was last read up to its newest action.
    read_at: u64,
    /// This run pulled the feed: its catch-ups read on from [`FeedTail::tail`].
    tail_open: bool,
    /// The vault's root (the files an action attaches are read there).
    vault: Option<std::path::PathBuf>,
    /// The descriptions (without their marker line) of the helpdesk cards read this run.
    ticket_descs: BTreeMap<String, String>,
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn parse_ms(v: Option<&Value>) -> Option<i64> {
    v?.as_str()?
        .parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The message of a refused write.
fn why(a: &crate::connectors::http::Answer) -> String {
    let text = a
        .body
        .as_str()
        .map(str::to_string)
        .or_else(|| str_of(&a.body, "message").map(str::to_string))
        .unwrap_or_else(|| a.body.to_string());
    format!("HTTP {}: {}", a.status.as_u16(), text)
}

/// The status a card in the Blocked list has.
const BLOCKED: &str = "blocked";
/// The key of the reason a project is blocked.
const REASON_KEY: &str = "blocked_reason";
/// Characters of a comment taken as a blocked reason.
const REASON_MAX: usize = 500;
/// How the comments this connector posts begin (never taken as a blocked reason).
const NOTICE_PREFIX: &str = "ssot-vault ";

/// The description line that tells a template card (never a project).
const TEMPLATE_MARKER: &str = "[ssot_template]: checklist";
/// The name of a template card.
const TEMPLATE_NAME: &str = "ssot-vault template (archived, do not edit)";
/// New cards of one checklist in a write batch from which a template is worth making.
const TEMPLATE_FROM: usize = 2;

/// The key of a checklist's items (text and checked state, in order).
fn checklist_key(items: &[SectionItem]) -> String {
    items
        .iter()
        .map(|i| (mapping::one_line(&i.text), i.checked.unwrap_or(false)))
        .filter(|(t, _)| !t.is_empty())
        .map(|(t, c)| format!("[{}] {t}\n", if c { 'x' } else { ' ' }))
        .collect()
}

/// Whether a card is one of our template cards.
fn is_template(card: &Value) -> bool {
    str_of(card, "desc").is_some_and(|d| d.trim() == TEMPLATE_MARKER)
}

/// A card answer that says the card is gone (deleted, or an id Trello does not know).
fn gone_status(s: StatusCode) -> bool {
    s == StatusCode::NOT_FOUND || s == StatusCode::BAD_REQUEST
}

impl Trello {
    /// Sends a card's changed properties; `Some(outcome)` when the answer ends the note's write:
    /// the card is gone or closed (`Gone`), or Trello refused the change (`Refused`).
    async fn update_card_fields(
        &mut self,
        ssot_id: &str,
        id: &str,
        params: Map<String, Value>,
    ) -> Result<Option<WriteOutcome>, ConnectorError> {
        let a = self.client.update_card(id, &Value::Object(params)).await?;
        let gone = || WriteOutcome::Gone {
            ssot_id: ssot_id.to_string(),
            remote_id: id.to_string(),
        };
        if gone_status(a.status) {
            return Ok(Some(gone()));
        }
        if !a.status.is_success() {
            return Ok(Some(WriteOutcome::Refused {
                ssot_id: ssot_id.to_string(),
                message: why(&a),
            }));
        }
        if a.body.get("closed").and_then(Value::as_bool) == Some(true) {
            return Ok(Some(gone()));
        }
        Ok(None)
    }

    /// Closes cards (archived projects and tickets); a card already gone counts as closed.
    async fn close_cards(&mut self, ids: &[String]) -> Result<(), ConnectorError> {
        let start = now_ms();
        let mut touched = BTreeSet::new();
        for id in ids.iter().filter(|i| config::is_id(i)) {
            let a = self
                .client
                .update_card(id, &json!({ "closed": true }))
                .await?;
            if !a.status.is_success() && !gone_status(a.status) {
                return Err(self.proto(format!("archive card {id}: {}", why(&a))));
            }
            touched.insert(id.clone());
        }
        self.note_run("archive", start, touched);
        Ok(())
    }

    /// A connector from its configuration and token (the API key comes from the configuration
    /// or its variable; without one every call fails with [`ConnectorError::NoCredentials`]).
    pub fn new(
        cfg: TrelloConfig,
        schema: &Schema,
        token: Secret,
    ) -> Result<Trello, ConnectorError> {
        let key = cfg.api_key();
        let mut http = HttpConfig::new(NAME, &cfg.base_url).with_settings(&cfg.shared.http);
        http.text_errors = true;
        http.secret_headers = vec![(
            "Authorization".into(),
            Secret::new(format!(
                "OAuth oauth_consumer_key=\"{}\", oauth_token=\"{}\"",
                key.as_ref().map(Secret::expose).unwrap_or(""),
                token.expose()
            )),
        )];
        let map = mapping::build(&cfg, schema);
        let mut bindings = mapping::bindings(&map);
        bindings.extend(helpdesk::binding(&cfg));
        Ok(Trello {
            client: Client::new(Http::new(http)?)?,
            key_missing: key.is_none(),
            cfg,
            full_map: map.clone(),
            map,
            bindings,
            state: TrelloState::default(),
            board_read: false,
            marked: BTreeSet::new(),
            source: None,
            templates_checked: BTreeSet::new(),
            read_at: 0,
            tail_open: false,
            vault: None,
            ticket_descs: BTreeMap::new(),
        })
    }

    /// Records where the token came from (named when Trello refuses it).
    pub fn with_source(mut self, source: CredentialSource) -> Trello {
        self.source = Some(source);
        self
    }

    /// Where the token came from, when known.
    pub fn credential_source(&self) -> Option<&CredentialSource> {
        self.source.as_ref()
    }

    /// The connector's state (for tests and `doctor`).
    pub fn state(&self) -> &TrelloState {
        &self.state
    }

    fn proto(&self, message: impl Into<String>) -> ConnectorError {
        ConnectorError::Protocol {
            service: NAME.into(),
            message: message.into(),
        }
    }

    fn board_ref(&self) -> String {
        if self.cfg.board_id.is_empty() {
            self.cfg.board.trim().to_string()
        } else {
            self.cfg.board_id.clone()
        }
    }

    fn check_key(&self) -> Result<(), ConnectorError> {
        if self.key_missing {
            return Err(ConnectorError::NoCredentials {
                service: NAME.into(),
                var: self.cfg.key_env.clone(),
                keyring: None,
            });
        }
        Ok(())
    }

    /// A refused token or key, named with where the token came from.
    fn refused(&self, a: &crate::connectors::http::Answer) -> ConnectorError {
        let what = a.body.as_str().unwrap_or("refused");
        self.proto(match &self.source {
            Some(source) => format!(
                "the key or the token from {source} was refused (HTTP {}: {what})",
                a.status.as_u16()
            ),
            None => format!(
                "the key or the token was refused (HTTP {}: {what})",
                a.status.as_u16()
            ),
        })
    }

    /// The board, its lists, labels and fields and the token's member, looked up when not known.
    async fn ensure_board(&mut self) -> Result<(), ConnectorError> {
        self.check_key()?;
        let want = self.board_ref();
        if want.is_empty() {
            return Err(ConnectorError::Config {
                service: NAME.into(),
                message: "set `board_id` (or `board`, its name) in [remotes.trello]".into(),
            });
        }
        if self.state.board_ref != want {
            self.state = TrelloState {
                board_ref: want.clone(),
                ..TrelloState::default()
            };
        }
        if self.state.me.is_empty() {
            let a = self.client.me().await?;
            if !a.status.is_success() {
                return Err(self.refused(&a));
            }
            self.state.me = str_of(&a.body, "id").unwrap_or_default().to_string();
        }
        if self.state.board.is_empty() {
            if config::is_id(&want) {
                self.state.board = want.clone();
            } else {
                let boards = self.client.my_boards().await?;
                let found = boards.as_array().into_iter().flatten().find(|b| {
                    str_of(b, "name") == Some(want.as_str())
                        && b.get("closed").and_then(Value::as_bool) != Some(true)
                });
                match found.and_then(|b| str_of(b, "id")) {
                    Some(id) => self.state.board = id.to_string(),
                    None => {
                        return Err(ConnectorError::Config {
                            service: NAME.into(),
                            message: format!("no open board named `{want}` for this token"),
                        });
                    }
                }
            }
        }
        if self.state.lists.is_empty() {
            self.read_board().await?;
        }
        Ok(())
    }

    /// Reads the board's lists, labels and custom field definitions.
    async fn read_board(&mut self) -> Result<(), ConnectorError> {
        let a = self.client.board(&self.state.board).await?;
        match a.status {
            s if s.is_success() => {}
            StatusCode::UNAUTHORIZED => return Err(self.refused(&a)),
            s if gone_status(s) => {
                return Err(ConnectorError::Config {
                    service: NAME.into(),
                    message: format!("board `{}` not found ({})", self.board_ref(), why(&a)),
                });
            }
            _ => {
                return Err(ConnectorError::Http(self.client.http.status_error(
                    &reqwest::Method::GET,
                    "/boards/{id}",
                    &a,
                )));
            }
        }
        let b = &a.body;
        self.state.board_name = str_of(b, "name").unwrap_or_default().to_string();
        let pairs = |key: &str| -> BTreeMap<String, String> {
            b.get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|x| x.get("closed").and_then(Value::as_bool) != Some(true))
                .filter_map(|x| {
                    Some((str_of(x, "id")?.to_string(), str_of(x, "name")?.to_string()))
                })
                .collect()
        };
        self.state.lists = pairs("lists");
        self.state.labels = pairs("labels");
        self.state.fields = b
            .get("customFields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|f| {
                Some((
                    str_of(f, "name")?.to_string(),
                    FieldDef {
                        id: str_of(f, "id")?.to_string(),
                        kind: str_of(f, "type").unwrap_or("text").to_string(),
                    },
                ))
            })
            .collect();
        self.board_read = true;
        Ok(())
    }

    /// Reads the board again once per run (a list or field a card names is not known).
    async fn refresh_board(&mut self) -> Result<(), ConnectorError> {
        if !self.board_read {
            self.read_board().await?;
        }
        Ok(())
    }

    /// The custom fields writes need (`ssot_id` and the mapped ones), created when missing; a
    /// board that refuses them is remembered (the `ssot_id` stays in `desc`; mapped fields that
    /// could not be made are not written).
    async fn ensure_fields(&mut self) -> Result<(), ConnectorError> {
        let mut want: Vec<(String, String)> = vec![(SSOT_FIELD.to_string(), "text".to_string())];
        for p in &self.map.parts {
            if let Part::Custom { name, kind } = &p.part {
                want.push((name.clone(), kind.clone()));
            }
        }
        for (name, kind) in want {
            if self.state.fields.contains_key(&name) {
                continue;
            }
            if (name == SSOT_FIELD && self.state.marker_only) || self.state.unusable.contains(&name)
            {
                continue;
            }
            let a = self
                .client
                .create_field(&self.state.board, &name, &kind)
                .await?;
            if a.status.is_success() {
                if let Some(id) = str_of(&a.body, "id") {
                    self.state.fields.insert(
                        name.clone(),
                        FieldDef {
                            id: id.to_string(),
                            kind: kind.clone(),
                        },
                    );
                }
            } else {
                tracing::warn!(field = %name, why = %why(&a), "Trello custom field not created");
                if name == SSOT_FIELD {
                    self.state.marker_only = true;
                } else {
                    self.state.unusable.insert(name);
                }
            }
        }
        Ok(())
    }

    /// The id of the open list named `name`, created at the end of the board when missing.
    async fn list_id(&mut self, name: &str) -> Result<String, ConnectorError> {
        let find = |s: &TrelloState| {
            s.lists
                .iter()
                .find(|(_, n)| n.as_str() == name)
                .map(|(id, _)| id.clone())
        };
        if let Some(id) = find(&self.state) {
            return Ok(id);
        }
        self.refresh_board().await?;
        if let Some(id) = find(&self.state) {
            return Ok(id);
        }
        let v = self.client.create_list(&self.state.board, name).await?;
        let id = str_of(&v, "id")
            .ok_or_else(|| self.proto("a created list has no id"))?
            .to_string();
        self.state.lists.insert(id.clone(), name.to_string());
        Ok(id)
    }

    /// The name a create gives its card: the note's title, else its `ssot_id`.
    fn card_name(&self, u: &Upsert) -> String {
        self.map
            .parts
            .iter()
            .filter(|p| matches!(p.part, Part::Name))
            .find_map(|p| u.fields.get(&p.spec.key).cloned().flatten())
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| u.ssot_id.clone())
    }

    /// The mapped part of a key.
    fn part(&self, key: &str) -> Option<&PartMap> {
        self.map.parts.iter().find(|p| p.spec.key == key)
    }

    /// The `ssot_id` a card carries (its custom field, else its marker line).
    fn card_ssot_id(&self, card: &Value) -> Option<String> {
        let field = self.state.fields.get(SSOT_FIELD).map(|f| f.id.as_str());
        let from_field = card
            .get("customFieldItems")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|i| field.is_some() && str_of(i, "idCustomField") == field)
            .and_then(mapping::item_value)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        from_field.or_else(|| {
            mapping::split_desc(str_of(card, "desc").unwrap_or(""))
                .1
                .map(str::to_string)
        })
    }

    /// Whether a card names a list or custom field not known (the board must be read again).
    fn names_unknown(&self, card: &Value) -> bool {
        let list = str_of(card, "idList").is_some_and(|l| !self.state.lists.contains_key(l));
        let known: BTreeSet<&str> = self.state.fields.values().map(|f| f.id.as_str()).collect();
        let field = card
            .get("customFieldItems")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|i| str_of(i, "idCustomField").is_some_and(|f| !known.contains(f)));
        list || field
    }

    async fn refresh_for(&mut self, cards: &[Value]) -> Result<(), ConnectorError> {
        if cards.iter().any(|c| self.names_unknown(c)) {
            self.refresh_board().await?;
        }
        Ok(())
    }

    /// Cards in the engine's terms; those known by their marker line only are remembered.
    fn records_of(&mut self, cards: &[Value]) -> Vec<RemoteRecord> {
        let field = self.state.fields.get(SSOT_FIELD).map(|f| f.id.clone());
        for c in cards {
            let has_field = c
                .get("customFieldItems")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|i| field.is_some() && str_of(i, "idCustomField") == field.as_deref());
            if !has_field
                && mapping::split_desc(str_of(c, "desc").unwrap_or(""))
                    .1
                    .is_some()
                && let Some(id) = str_of(c, "id")
            {
                self.marked.insert(id.to_string());
            }
        }
        cards.iter().filter_map(|c| self.to_record(c)).collect()
    }

    /// A card in the engine's terms.
    fn to_record(&self, card: &Value) -> Option<RemoteRecord> {
        if is_template(card) {
            return None;
        }
        let id = str_of(card, "id")?.to_string();
        let mut fields = BTreeMap::new();
        let items: BTreeMap<&str, String> = card
            .get("customFieldItems")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|i| Some((str_of(i, "idCustomField")?, mapping::item_value(i)?)))
            .collect();
        let label_names: Vec<&str> = card
            .get("idLabels")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|l| self.state.labels.get(l).map(String::as_str))
            .collect();
        let name = str_of(card, "name").unwrap_or("").to_string();
        for p in &self.map.parts {
            let v = match &p.part {
                Part::Name => Some(name.trim().to_string()).filter(|s| !s.is_empty()),
                Part::Desc => {
                    let (text, _) = mapping::split_desc(str_of(card, "desc").unwrap_or(""));
                    Some(text.trim().to_string()).filter(|s| !s.is_empty())
                }
                Part::Due => str_of(card, "due").and_then(mapping::date_from_trello),
                Part::List => str_of(card, "idList")
                    .and_then(|l| self.state.lists.get(l))
                    .cloned(),
                Part::Labels => mapping::priority_label(&p.spec.conv, label_names.iter().copied()),
                Part::Custom { name, .. } => {
                    let raw = self
                        .state
                        .fields
                        .get(name)
                        .and_then(|f| items.get(f.id.as_str()));
                    mapping::custom_to_canonical(p, raw.map(String::as_str))
                }
            };
            if let Some(v) = v {
                fields.insert(p.spec.key.clone(), v);
            }
        }
        let mut sections = BTreeMap::new();
        if let Some(cl) = card
            .get("checklists")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|c| str_of(c, "name").map(str::trim) == Some(self.map.checklist.as_str()))
        {
            sections.insert(HEADING.to_string(), checklist_items(cl));
        }
        if let Some(docs) = documents::items(card) {
            sections.insert(documents::HEADING.to_string(), docs);
        }
        Some(RemoteRecord {
            note_type: NOTE_TYPE.into(),
            id,
            ssot_id: self.card_ssot_id(card),
            fields,
            title: Some(name.trim().to_string()).filter(|s| !s.is_empty()),
            modified_ms: parse_ms(card.get("dateLastActivity")),
            archived: card.get("closed").and_then(Value::as_bool) == Some(true),
            sections,
        })
    }

    /// Whether an action is one of our recent runs' writes.
    fn ours(&self, action: &Value) -> bool {
        if str_of(action, "idMemberCreator") != Some(self.state.me.as_str()) {
            return false;
        }
        let Some(card) = action.pointer("/data/card/id").and_then(Value::as_str) else {
            return false;
        };
        let Some(at) = parse_ms(action.get("date")) else {
            return false;
        };
        self.state.runs.iter().any(|r| {
            r.cards.contains(card)
                && at >= r.start_ms - RUN_MARGIN_MS
                && at <= r.end_ms + RUN_MARGIN_MS
        })
    }

    /// Reads the board's actions after `since` (an action id or a date; `None`: the newest
    /// page only), newest first, paged with `before`: the cards named by actions that are not
    /// ours, whether a list was made or renamed, and the newest action (id, date).
    async fn read_feed(
        &mut self,
        board: &str,
        since: Option<&str>,
    ) -> Result<FeedRead, ConnectorError> {
        let page_size = self.cfg.actions_page;
        let mut out = FeedRead::default();
        let mut before: Option<String> = None;
        loop {
            let page = self
                .client
                .actions(board, since, before.as_deref(), page_size)
                .await?;
            if out.newest.is_none()
                && let Some(a) = page.first()
                && let Some(id) = str_of(a, "id")
            {
                out.newest = Some((id.to_string(), parse_ms(a.get("date"))));
            }
            for a in &page {
                if let Some(list) = a.pointer("/data/list")
                    && matches!(str_of(a, "type"), Some("createList" | "updateList"))
                    && str_of(list, "id").is_none_or(|id| {
                        self.state.lists.get(id).map(String::as_str) != str_of(list, "name")
                    })
                {
                    out.lists_changed = true;
                }
                if self.ours(a) {
                    continue;
                }
                if let Some(card) = a.pointer("/data/card/id").and_then(Value::as_str)
                    && !out.cards.iter().any(|n| n == card)
                {
                    out.cards.push(card.to_string());
                }
            }
            if page.len() < page_size {
                break;
            }
            match page.last().and_then(|a| str_of(a, "id")) {
                Some(b) => before = Some(b.to_string()),
                None => break,
            }
        }
        self.read_at = self.client.http.stats().requests;
        Ok(out)
    }

    /// The run's pull read the feed up to `cursor`: its catch-ups start there.
    fn start_tail(&mut self, cursor: &TrelloCursor) {
        self.state.tail = FeedTail {
            from: cursor.last.clone(),
            tail: cursor.last.clone(),
            ..FeedTail::default()
        };
        self.tail_open = true;
        self.read_at = self.client.http.stats().requests;
    }

    /// Reads the feed past the run's tail when the run has sent enough requests since it was
    /// last read that its own actions could fill half a page: the next pull then reads one page
    /// (the actions of the run's last writes), not every action of a long run. Others' actions
    /// met are kept for the next pull (a board with no action before reads its feed from the
    /// start). Nothing is read with an overlap window configured, or when the run did not pull.
    async fn catch_up(&mut self) -> Result<(), ConnectorError> {
        let sent = self.client.http.stats().requests;
        if self.cfg.overlap_seconds > 0
            || !self.tail_open
            || sent.saturating_sub(self.read_at) < (self.cfg.actions_page as u64).div_ceil(2)
        {
            return Ok(());
        }
        let board = self.state.board.clone();
        let since = self.state.tail.tail.clone();
        let read = self.read_feed(&board, since.as_deref()).await?;
        let t = &mut self.state.tail;
        t.cards.extend(read.cards);
        t.lists_changed |= read.lists_changed;
        if let Some((id, _)) = read.newest {
            t.tail = Some(id);
        }
        Ok(())
    }

    /// [`Trello::catch_up`] in the middle of a run's writes: those so far are noted first (their
    /// actions are ours).
    async fn catch_up_within(
        &mut self,
        run_id: &str,
        start: i64,
        touched: &BTreeSet<String>,
    ) -> Result<(), ConnectorError> {
        let sent = self.client.http.stats().requests;
        if sent.saturating_sub(self.read_at) < (self.cfg.actions_page as u64).div_ceil(2) {
            return Ok(());
        }
        self.note_run(run_id, start, touched.clone());
        self.catch_up().await
    }

    /// Notes a run's writes to `cards` between `start` and now.
    fn note_run(&mut self, run: &str, start: i64, cards: BTreeSet<String>) {
        if cards.is_empty() {
            return;
        }
        let end = now_ms();
        if let Some(r) = self.state.runs.iter_mut().find(|r| r.run == run) {
            r.start_ms = r.start_ms.min(start);
            r.end_ms = r.end_ms.max(end);
            r.cards.extend(cards);
            return;
        }
        self.state.runs.push(RunMark {
            run: run.to_string(),
            start_ms: start,
            end_ms: end,
            cards,
        });
        let n = self.state.runs.len();
        if n > MAX_RUNS {
            self.state.runs.drain(..n - MAX_RUNS);
        }
    }

    /// Cards by id, as records; missing ones left out.
    async fn read_cards(&mut self, ids: &[String]) -> Result<Vec<Value>, ConnectorError> {
        let mut out = Vec::new();
        if ids.len() > READ_ONE_BY_ONE {
            let want: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
            for c in self
                .client
                .board_cards(&self.state.board, "all", true)
                .await?
            {
                if str_of(&c, "id").is_some_and(|i| want.contains(i)) {
                    out.push(c);
                }
            }
        } else {
            for id in ids {
                if !config::is_id(id) {
                    continue;
                }
                let a = self.client.card(id).await?;
                if a.status.is_success() {
                    out.push(a.body);
                } else if !gone_status(a.status) {
                    return Err(ConnectorError::Http(self.client.http.status_error(
                        &reqwest::Method::GET,
                        "/cards/{id}",
                        &a,
                    )));
                }
            }
        }
        Ok(out)
    }

    /// The board's open cards by `ssot_id` (custom field or marker line), and the cards our
    /// token created that carry none (creates cut short before their custom field was set).
    async fn index_board(&mut self) -> Result<Index, ConnectorError> {
        let cards = self
            .client
            .board_cards(&self.state.board, "open", true)
            .await?;
        self.refresh_for(&cards).await?;
        let orphans = self.orphans(&cards).await?;
        let mut out = Index::default();
        for c in cards {
            if let Some(sid) = self.card_ssot_id(&c) {
                out.by_sid.entry(sid).or_insert(c);
            } else if str_of(&c, "id").is_some_and(|i| orphans.contains(i)) {
                out.orphans.push(c);
            }
        }
        Ok(out)
    }

    /// Those of `cards` with no `ssot_id` that our token's member created: a create cut short
    /// between the card and its custom field (one read of the board's card creations, made only
    /// when some card has no `ssot_id`). They are no new projects: the next write of their note
    /// takes them up by name.
    async fn orphans(&mut self, cards: &[Value]) -> Result<BTreeSet<String>, ConnectorError> {
        if self.state.marker_only {
            return Ok(BTreeSet::new());
        }
        let bare: BTreeSet<&str> = cards
            .iter()
            .filter(|c| !is_template(c) && self.card_ssot_id(c).is_none())
            .filter_map(|c| str_of(c, "id"))
            .collect();
        if bare.is_empty() {
            return Ok(BTreeSet::new());
        }
        let made = self.client.card_creations(&self.state.board).await?;
        Ok(made
            .iter()
            .filter(|a| str_of(a, "idMemberCreator") == Some(self.state.me.as_str()))
            .filter_map(|a| a.pointer("/data/card/id").and_then(Value::as_str))
            .filter(|id| bare.contains(id))
            .map(str::to_string)
            .collect())
    }

    /// Cards in the engine's terms, without the ones our cut-short creates left (see
    /// [`Trello::orphans`]).
    async fn records_kept(&mut self, cards: &[Value]) -> Result<Vec<RemoteRecord>, ConnectorError> {
        let orphans = self.orphans(cards).await?;
        let kept: Vec<Value> = cards
            .iter()
            .filter(|c| str_of(c, "id").is_none_or(|i| !orphans.contains(i)))
            .cloned()
            .collect();
        let mut records = self.records_of(&kept);
        self.reasons_from_comments(&mut records).await?;
        Ok(records)
    }

    /// The list name of the `blocked` status, when the status is mapped.
    fn blocked_list(&self) -> Option<String> {
        self.map
            .parts
            .iter()
            .find_map(|p| match (&p.part, &p.spec.conv) {
                (Part::List, Conv::Table(t)) => {
                    t.iter().find(|(v, _)| v == BLOCKED).map(|(_, r)| r.clone())
                }
                _ => None,
            })
    }

    /// A card in the Blocked list with no `Blocked reason` gives its newest comment as the
    /// reason (not one of the notices this connector posts): one read of its comments.
    async fn reasons_from_comments(
        &mut self,
        records: &mut [RemoteRecord],
    ) -> Result<(), ConnectorError> {
        let Some(list) = self.blocked_list() else {
            return Ok(());
        };
        if self.part(REASON_KEY).is_none() {
            return Ok(());
        }
        for r in records
            .iter_mut()
            .filter(|r| r.fields.get("status") == Some(&list) && !r.fields.contains_key(REASON_KEY))
        {
            let a = self.client.comments(&r.id, 10).await?;
            if !a.status.is_success() {
                continue;
            }
            let reason = a
                .body
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c.pointer("/data/text").and_then(Value::as_str))
                .find(|t| !t.starts_with(NOTICE_PREFIX))
                .map(|t| {
                    let t = mapping::one_line(t);
                    match t.char_indices().nth(REASON_MAX) {
                        Some((i, _)) => format!("{}…", &t[..i]),
                        None => t,
                    }
                })
                .filter(|t| !t.is_empty());
            if let Some(reason) = reason {
                r.fields.insert(REASON_KEY.into(), reason);
            }
        }
        Ok(())
    }

    /// The card params of a write's fields (custom fields apart); `labels`: the card's labels
    /// now, when the priority is written.
    async fn card_params(
        &mut self,
        u: &Upsert,
        labels: &[String],
        create: bool,
    ) -> Result<Map<String, Value>, ConnectorError> {
        let mut p = Map::new();
        let marker = self.state.marker_only;
        for (key, value) in &u.fields {
            let Some(pm) = self.part(key).cloned() else {
                continue;
            };
            let v = value.as_deref().filter(|s| !s.trim().is_empty());
            match &pm.part {
                Part::Name => {
                    if let Some(v) = v {
                        p.insert("name".into(), json!(v));
                    }
                }
                Part::Desc => {
                    let sid = marker.then_some(u.ssot_id.as_str());
                    p.insert("desc".into(), json!(mapping::join_desc(v, sid)));
                }
                Part::Due => {
                    let due = v.and_then(mapping::date_to_trello);
                    p.insert("due".into(), due.map_or(Value::Null, Value::String));
                }
                Part::List => {
                    if let Some(v) = v {
                        let id = self.list_id(v).await?;
                        p.insert("idList".into(), json!(id));
                    }
                }
                Part::Labels => {
                    let table: Vec<String> = match &pm.spec.conv {
                        Conv::Table(t) => t.iter().map(|(_, r)| r.clone()).collect(),
                        _ => Vec::new(),
                    };
                    let mut ids: Vec<String> = labels
                        .iter()
                        .filter(|l| self.state.labels.get(*l).is_none_or(|n| !table.contains(n)))
                        .cloned()
                        .collect();
                    if let Some(v) = v {
                        match self.state.labels.iter().find(|(_, n)| n.as_str() == v) {
                            Some((id, _)) => ids.push(id.clone()),
                            None => {
                                tracing::warn!(label = v, "no such label on the Trello board")
                            }
                        }
                    }
                    p.insert("idLabels".into(), json!(ids));
                }
                Part::Custom { .. } => {}
            }
        }
        if create && marker && !p.contains_key("desc") {
            p.insert(
                "desc".into(),
                json!(mapping::join_desc(None, Some(&u.ssot_id))),
            );
        }
        Ok(p)
    }

    /// Sets the custom field items of a write (and the `ssot_id` when `set_ssot`); a card just
    /// `created` has none to clear. `Ok(false)`: the card is gone.
    async fn write_custom(
        &mut self,
        card: &str,
        u: &Upsert,
        set_ssot: bool,
        created: bool,
    ) -> Result<bool, ConnectorError> {
        let mut writes: Vec<(String, Value)> = Vec::new();
        if set_ssot && let Some(f) = self.state.fields.get(SSOT_FIELD) {
            writes.push((f.id.clone(), json!({ "text": u.ssot_id })));
        }
        for (key, value) in &u.fields {
            let Some(pm) = self.part(key) else { continue };
            let Part::Custom { name, .. } = &pm.part else {
                continue;
            };
            let Some(f) = self.state.fields.get(name) else {
                continue;
            };
            let v = match value.as_deref().filter(|s| !s.trim().is_empty()) {
                None if created => continue,
                None => json!(""),
                Some(v) => {
                    let text = mapping::custom_from_canonical(pm, v);
                    let kind = if f.kind == "number" { "number" } else { "text" };
                    json!({ kind: text })
                }
            };
            writes.push((f.id.clone(), v));
        }
        if writes.len() > 1 {
            // All in one request; a service without the bulk call gets them one by one.
            let a = self.client.set_fields(card, &writes).await?;
            if a.status.is_success() {
                return Ok(true);
            }
            tracing::debug!(card, why = %why(&a), "Trello custom fields not set at once");
        }
        for (field, value) in writes {
            let a = self.client.set_field(card, &field, &value).await?;
            if gone_status(a.status) {
                return Ok(false);
            }
            if !a.status.is_success() {
                tracing::warn!(card, why = %why(&a), "Trello custom field item not set");
            }
        }
        Ok(true)
    }

    /// Writes the checklist of a card to `items`, item by item.
    async fn write_checklist(
        &mut self,
        card: &str,
        current: Option<&Value>,
        items: &[SectionItem],
    ) -> Result<(), ConnectorError> {
        let name = self.map.checklist.clone();
        let lists: Vec<&Value> = current
            .and_then(|c| c.get("checklists"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|c| str_of(c, "name").map(str::trim) == Some(name.as_str()))
            .collect();
        let (checklist, existing): (String, Vec<(String, String, bool)>) = match lists.first() {
            Some(cl) => (
                str_of(cl, "id").unwrap_or_default().to_string(),
                by_pos(cl.get("checkItems"))
                    .into_iter()
                    .filter_map(|i| {
                        Some((
                            str_of(i, "id")?.to_string(),
                            mapping::one_line(str_of(i, "name").unwrap_or("")),
                            str_of(i, "state") == Some("complete"),
                        ))
                    })
                    .collect(),
            ),
            None if items.is_empty() => return Ok(()),
            None => {
                let v = self.client.create_checklist(card, &name).await?;
                (
                    str_of(&v, "id")
                        .ok_or_else(|| self.proto("a created checklist has no id"))?
                        .to_string(),
                    Vec::new(),
                )
            }
        };
        // Each wanted item: the existing one of its text (by index), or a new one.
        let mut used: BTreeSet<usize> = BTreeSet::new();
        let mut wanted: Vec<(Option<usize>, String, bool)> = Vec::new();
        for item in items {
            let text = mapping::one_line(&item.text);
            if text.is_empty() {
                continue;
            }
            let found = existing
                .iter()
                .enumerate()
                .find(|(i, (_, n, _))| !used.contains(i) && *n == text)
                .map(|(i, _)| i);
            if let Some(i) = found {
                used.insert(i);
            }
            wanted.push((found, text, item.checked.unwrap_or(false)));
        }
        // Positions are sent only when the items kept and added at the bottom would not stand
        // in the wanted order.
        let kept: Vec<usize> = wanted.iter().filter_map(|(i, ..)| *i).collect();
        let first_new = wanted.iter().position(|(i, ..)| i.is_none());
        let in_order = kept.windows(2).all(|w| w[0] < w[1])
            && first_new.is_none_or(|f| wanted[f..].iter().all(|(i, ..)| i.is_none()));
        for (k, (found, text, want)) in wanted.iter().enumerate() {
            let pos = (!in_order).then_some((k as f64 + 1.0) * 16384.0);
            match found {
                Some(i) => {
                    let (id, _, checked) = &existing[*i];
                    if checked != want || pos.is_some() {
                        self.client.check_item(card, id, *want, pos).await?;
                    }
                }
                None => {
                    self.client.add_item(&checklist, text, *want, pos).await?;
                }
            }
        }
        for (i, (id, _, _)) in existing.iter().enumerate() {
            if !used.contains(&i) {
                self.client.delete_item(&checklist, id).await?;
            }
        }
        Ok(())
    }

    /// The template card holding `items` as its checklist, made when missing (an archived card
    /// with the checklist, its description [`TEMPLATE_MARKER`]); a known one is read once a
    /// run to check it still holds them. `None`: no template could be had.
    async fn template(
        &mut self,
        items: &[SectionItem],
        touched: &mut BTreeSet<String>,
    ) -> Result<Option<String>, ConnectorError> {
        let key = checklist_key(items);
        if key.is_empty() {
            return Ok(None);
        }
        if let Some(id) = self.state.templates.get(&key).cloned() {
            if self.templates_checked.contains(&id) {
                return Ok(Some(id));
            }
            let a = self.client.card(&id).await?;
            let holds = a.status.is_success()
                && is_template(&a.body)
                && a.body
                    .get("checklists")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .find(|c| str_of(c, "name").map(str::trim) == Some(self.map.checklist.as_str()))
                    .is_some_and(|cl| checklist_key(&checklist_items(cl)) == key);
            if holds {
                self.templates_checked.insert(id.clone());
                return Ok(Some(id));
            }
            self.state.templates.remove(&key);
        }
        let list = match self.state.lists.keys().next() {
            Some(l) => l.clone(),
            None => self.list_id("Intake").await?,
        };
        let body = json!({ "idList": list, "name": TEMPLATE_NAME, "desc": TEMPLATE_MARKER,
            "pos": "bottom" });
        let a = match self.client.create_card(&body).await {
            Ok(a) if a.status.is_success() => a,
            Ok(a) => {
                tracing::warn!(why = %why(&a), "Trello template card not created");
                return Ok(None);
            }
            // A lost answer leaves at most an archived-to-be card no record is made of.
            Err(HttpError::Transport { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let id = str_of(&a.body, "id")
            .ok_or_else(|| self.proto("a created card has no id"))?
            .to_string();
        touched.insert(id.clone());
        self.write_checklist(&id, None, items).await?;
        let a = self
            .client
            .update_card(&id, &json!({ "closed": true }))
            .await?;
        if !a.status.is_success() {
            return Ok(None);
        }
        self.state.templates.insert(key, id.clone());
        self.templates_checked.insert(id.clone());
        Ok(Some(id))
    }

    /// Creates the card of a write (or finds the one a lost answer made); its id.
    async fn create(
        &mut self,
        u: &Upsert,
        template: Option<&str>,
    ) -> Result<Result<String, String>, ConnectorError> {
        let mut params = self.card_params(u, &[], true).await?;
        if let Some(t) = template {
            // A copy of the template keeps its checklist only; its description is replaced.
            params.insert("idCardSource".into(), json!(t));
            params.insert("keepFromSource".into(), json!("checklists"));
            params.entry("desc").or_insert_with(|| json!(""));
        }
        if !params.contains_key("idList") {
            let first = match self.state.lists.keys().next() {
                Some(l) => l.clone(),
                None => self.list_id("Intake").await?,
            };
            params.insert("idList".into(), json!(first));
        }
        if params
            .get("name")
            .and_then(Value::as_str)
            .is_none_or(|n| n.trim().is_empty())
        {
            params.insert("name".into(), json!(u.ssot_id));
        }
        params.insert("pos".into(), json!("bottom"));
        let list = params
            .get("idList")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let name = params
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let body = Value::Object(params);
        let sent_s = now_ms() / 1000;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.client.create_card(&body).await {
                Ok(a) if a.status.is_success() => {
                    return match str_of(&a.body, "id") {
                        Some(id) => Ok(Ok(id.to_string())),
                        None => Err(self.proto("a created card has no id")),
                    };
                }
                Ok(a) => return Ok(Err(why(&a))),
                Err(HttpError::Transport { message, .. }) if attempt < CREATE_ATTEMPTS => {
                    tracing::info!(%message, "Trello card create: answer lost; looking for the card");
                    let cards = self.client.list_cards(&list).await?;
                    // Its marker line (a board without custom fields), else its name on a card
                    // with no ssot_id made since the create left (ids carry their second).
                    let fresh = |c: &Value| {
                        str_of(c, "id")
                            .and_then(|i| i.get(..8))
                            .and_then(|h| i64::from_str_radix(h, 16).ok())
                            .is_some_and(|t| t >= sent_s - CREATE_SKEW_S)
                    };
                    if let Some(c) = cards
                        .iter()
                        .find(|c| self.card_ssot_id(c).as_deref() == Some(u.ssot_id.as_str()))
                        .or_else(|| {
                            cards.iter().rev().find(|c| {
                                self.card_ssot_id(c).is_none()
                                    && str_of(c, "name") == Some(name.as_str())
                                    && fresh(c)
                            })
                        })
                        && let Some(id) = str_of(c, "id")
                    {
                        return Ok(Ok(id.to_string()));
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Writes one record.
    async fn write_one(
        &mut self,
        u: &Upsert,
        index: &mut Index,
        templates: &BTreeSet<String>,
        touched: &mut BTreeSet<String>,
    ) -> Result<WriteOutcome, ConnectorError> {
        let mut current = index.by_sid.get(&u.ssot_id).cloned();
        if u.remote_id.is_none() && current.is_none() {
            // A create cut short before its custom field: the card our token made by its name.
            let name = self.card_name(u);
            if let Some(i) = index
                .orphans
                .iter()
                .position(|c| str_of(c, "name").map(str::trim) == Some(name.trim()))
            {
                current = Some(index.orphans.remove(i));
            }
        }
        let found = u.remote_id.clone().or_else(|| {
            current
                .as_ref()
                .and_then(|c| str_of(c, "id"))
                .map(str::to_string)
        });
        let Some(id) = found else {
            let items = u.sections.get(HEADING);
            let template = match items {
                Some(items) if templates.contains(&checklist_key(items)) => {
                    self.template(items, touched).await?
                }
                _ => None,
            };
            let mut made = self.create(u, template.as_deref()).await?;
            if made.is_err()
                && let Some(t) = &template
            {
                // The template is refused (deleted in Trello): forgotten, the card made plainly.
                self.state.templates.retain(|_, id| id != t);
                made = self.create(u, None).await?;
            }
            let id = match made {
                Ok(id) => id,
                Err(message) => {
                    return Ok(WriteOutcome::Refused {
                        ssot_id: u.ssot_id.clone(),
                        message,
                    });
                }
            };
            touched.insert(id.clone());
            self.write_custom(&id, u, !self.state.marker_only, true)
                .await?;
            if let Some(items) = items
                && template.is_none()
            {
                self.write_checklist(&id, None, items).await?;
            }
            return Ok(WriteOutcome::Written {
                ssot_id: u.ssot_id.clone(),
                remote_id: id,
                created: true,
                fields: None,
            });
        };
        let gone = || WriteOutcome::Gone {
            ssot_id: u.ssot_id.clone(),
            remote_id: id.clone(),
        };
        if !config::is_id(&id) {
            return Ok(gone());
        }
        touched.insert(id.clone());
        // The card as it is, when the labels or the checklist are written (or it was found by
        // its ssot_id: its marker line goes).
        let needs_card = u.fields.contains_key("priority")
            || u.sections.contains_key(HEADING)
            || self.marked.contains(&id);
        if needs_card
            && current
                .as_ref()
                .is_none_or(|c| c.get("checklists").is_none())
        {
            let a = self.client.card(&id).await?;
            if gone_status(a.status) {
                return Ok(gone());
            }
            if !a.status.is_success() {
                return Ok(WriteOutcome::Refused {
                    ssot_id: u.ssot_id.clone(),
                    message: why(&a),
                });
            }
            current = Some(a.body);
        }
        if current
            .as_ref()
            .is_some_and(|c| c.get("closed").and_then(Value::as_bool) == Some(true))
        {
            return Ok(gone());
        }
        let labels: Vec<String> = current
            .as_ref()
            .and_then(|c| c.get("idLabels"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        let mut params = self.card_params(u, &labels, false).await?;
        let has_marker = self.marked.contains(&id)
            || current.as_ref().is_some_and(|c| {
                mapping::split_desc(str_of(c, "desc").unwrap_or(""))
                    .1
                    .is_some()
            });
        if has_marker && !self.state.marker_only && !params.contains_key("desc") {
            // The marker goes with the custom field set below; the description keeps its text.
            if let Some(d) = current.as_ref().and_then(|c| str_of(c, "desc")) {
                params.insert("desc".into(), json!(mapping::split_desc(d).0));
            }
        }
        if self.state.marker_only && !params.contains_key("desc") && !u.remote_has_ssot_id {
            let summary = u.fields.get("summary").cloned().flatten();
            params.insert(
                "desc".into(),
                json!(mapping::join_desc(summary.as_deref(), Some(&u.ssot_id))),
            );
        }
        if !params.is_empty()
            && let Some(o) = self.update_card_fields(&u.ssot_id, &id, params).await?
        {
            return Ok(o);
        }
        let set_ssot =
            (!u.remote_has_ssot_id || self.marked.contains(&id)) && !self.state.marker_only;
        if !self.write_custom(&id, u, set_ssot, false).await? {
            return Ok(gone());
        }
        if let Some(items) = u.sections.get(HEADING) {
            self.write_checklist(&id, current.as_ref(), items).await?;
        }
        if let Some(notice) = &u.notice {
            // A move made in Trello that the vault refused, undone above: a comment says why.
            let text = notice.replacen("this issue", "this card", 1);
            match self.client.add_comment(&id, &text).await {
                Ok(a) if a.status.is_success() => {}
                Ok(a) => tracing::warn!(card = %id, why = %why(&a), "Trello comment not posted"),
                // Never posted twice: a lost answer is left as it is.
                Err(HttpError::Transport { message, .. }) => {
                    tracing::warn!(card = %id, %message, "Trello comment: answer lost");
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(WriteOutcome::Written {
            ssot_id: u.ssot_id.clone(),
            remote_id: id,
            created: false,
            fields: None,
        })
    }
}

/// The archive export's files of a note at `rel` (the CSV and the XML beside it, named as it).
fn export_files(
    root: &std::path::Path,
    rel: &str,
) -> Vec<(String, std::path::PathBuf, &'static str)> {
    let note = root.join(rel);
    let (Some(dir), Some(stem)) = (note.parent(), note.file_stem()) else {
        return Vec::new();
    };
    let stem = stem.to_string_lossy();
    [("csv", "text/csv"), ("xml", "application/xml")]
        .into_iter()
        .map(|(ext, mime)| {
            let name = format!("{stem}.{ext}");
            let path = dir.join(&name);
            (name, path, mime)
        })
        .collect()
}

impl Trello {
    /// Attaches the archive's export (CSV and XML) to the card, each file once: the card's
    /// attachments are listed first, and one of the same name whose bytes read back the same
    /// is the file already attached (a run stopped after the upload, before the journal said
    /// so). Each upload is read back and compared.
    async fn attach_export(
        &mut self,
        action: &RemoteAction,
        card: &str,
    ) -> Result<ActionOutcome, ConnectorError> {
        self.check_key()?;
        let Some(root) = self.vault.clone() else {
            return Ok(ActionOutcome::Refused {
                message: "the vault's root is not known to the Trello connector".into(),
            });
        };
        if !config::is_id(card) {
            return Ok(ActionOutcome::Gone);
        }
        let mut files = Vec::new();
        for (name, path, mime) in export_files(&root, &action.rel) {
            match std::fs::read(&path) {
                Ok(bytes) => files.push((name, mime, bytes)),
                Err(e) => {
                    return Ok(ActionOutcome::Refused {
                        message: format!(
                            "the archive export {} cannot be read: {e}",
                            path.display()
                        ),
                    });
                }
            }
        }
        let start = now_ms();
        let result = self.attach_files(card, &files).await;
        self.note_run(
            &format!("act:{}", action.id),
            start,
            [card.to_string()].into(),
        );
        result
    }

    /// The attachments of a card: (id, name, file name, size); `None`: the card is gone.
    async fn attachment_list(
        &mut self,
        card: &str,
    ) -> Result<Option<Vec<(String, String, String, Option<u64>)>>, ConnectorError> {
        let a = self.client.attachments(card).await?;
        if gone_status(a.status) {
            return Ok(None);
        }
        if !a.status.is_success() {
            return Err(ConnectorError::Http(self.client.http.status_error(
                &reqwest::Method::GET,
                "/cards/{id}/attachments",
                &a,
            )));
        }
        Ok(Some(
            a.body
                .as_array()
                .into_iter()
                .flatten()
                .filter(|x| x.get("isUpload").and_then(Value::as_bool) != Some(false))
                .filter_map(|x| {
                    Some((
                        str_of(x, "id")?.to_string(),
                        str_of(x, "name").unwrap_or_default().to_string(),
                        str_of(x, "fileName").unwrap_or_default().to_string(),
                        x.get("bytes").and_then(Value::as_u64),
                    ))
                })
                .collect(),
        ))
    }

    /// Whether the card holds an attachment named `name` with these bytes (read back).
    async fn holds(
        &mut self,
        card: &str,
        list: &[(String, String, String, Option<u64>)],
        name: &str,
        bytes: &[u8],
    ) -> Result<bool, ConnectorError> {
        for (id, n, file, size) in list.iter().rev() {
            if n != name || size.is_some_and(|s| s != bytes.len() as u64) {
                continue;
            }
            let file = if file.is_empty() { name } else { file.as_str() };
            if self.client.download(card, id, file).await?.as_deref() == Some(bytes) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn attach_files(
        &mut self,
        card: &str,
        files: &[(String, &'static str, Vec<u8>)],
    ) -> Result<ActionOutcome, ConnectorError> {
        let Some(mut list) = self.attachment_list(card).await? else {
            return Ok(ActionOutcome::Gone);
        };
        for (name, mime, bytes) in files {
            if self.holds(card, &list, name, bytes).await? {
                continue;
            }
            let a = match self.client.upload(card, name, mime, bytes).await {
                Ok(a) => a,
                Err(HttpError::Transport { message, .. }) => {
                    // The answer was lost: the file may be attached; the next run looks.
                    return Ok(ActionOutcome::Refused {
                        message: format!("the upload of {name}: answer lost ({message})"),
                    });
                }
                Err(e) => return Err(e.into()),
            };
            if gone_status(a.status) {
                return Ok(ActionOutcome::Gone);
            }
            if !a.status.is_success() {
                return Ok(ActionOutcome::Refused {
                    message: format!("the upload of {name}: {}", why(&a)),
                });
            }
            let Some(id) = str_of(&a.body, "id").map(str::to_string) else {
                return Err(self.proto("an uploaded attachment has no id"));
            };
            let file = str_of(&a.body, "fileName").unwrap_or(name).to_string();
            list.push((
                id.clone(),
                name.clone(),
                file.clone(),
                Some(bytes.len() as u64),
            ));
            match self.client.download(card, &id, &file).await? {
                Some(back) if back == *bytes => {}
                Some(back) => {
                    return Ok(ActionOutcome::Refused {
                        message: format!(
                            "{name} read back from Trello differs from the file ({} bytes, not {})",
                            back.len(),
                            bytes.len()
                        ),
                    });
                }
                None => {
                    return Ok(ActionOutcome::Refused {
                        message: format!("{name} cannot be read back from Trello"),
                    });
                }
            }
        }
        Ok(ActionOutcome::Done)
    }
}

/// The items of a JSON array in `pos` order.
fn by_pos(items: Option<&Value>) -> Vec<&Value> {
    let mut items: Vec<&Value> = items
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    items.sort_by(|a, b| {
        let pos = |v: &Value| v.get("pos").and_then(Value::as_f64).unwrap_or(0.0);
        pos(a).total_cmp(&pos(b))
    });
    items
}

/// A checklist's items in position order, as a note's task list reads them.
fn checklist_items(cl: &Value) -> Vec<SectionItem> {
    by_pos(cl.get("checkItems"))
        .into_iter()
        .filter_map(|i| {
            let text = mapping::one_line(str_of(i, "name")?);
            (!text.is_empty()).then(|| SectionItem {
                key: text.clone(),
                text,
                checked: Some(str_of(i, "state") == Some("complete")),
                stamp: None,
            })
        })
        .collect()
}

impl Connector for Trello {
    fn name(&self) -> &str {
        NAME
    }

    fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    fn push_chunk(&self) -> usize {
        self.cfg.batch_size
    }

    fn load_state(&mut self, state: Value) {
        self.state = serde_json::from_value(state).unwrap_or_default();
        // Keys whose custom field the board refused are not synced (`doctor` names them).
        let unusable = &self.state.unusable;
        self.map = CardMap {
            parts: self
                .full_map
                .parts
                .iter()
                .filter(
                    |p| !matches!(&p.part, Part::Custom { name, .. } if unusable.contains(name)),
                )
                .cloned()
                .collect(),
            checklist: self.full_map.checklist.clone(),
        };
        self.bindings = mapping::bindings(&self.map);
        self.bindings.extend(helpdesk::binding(&self.cfg));
    }

    fn save_state(&self) -> Value {
        serde_json::to_value(&self.state).unwrap_or(Value::Null)
    }

    async fn pull(&mut self, cursor: Option<&Value>) -> Result<Pulled, ConnectorError> {
        self.ensure_board().await?;
        let cursor: Option<TrelloCursor> =
            cursor.and_then(|c| serde_json::from_value(c.clone()).ok());
        let board = self.state.board.clone();
        let Some(cursor) = cursor else {
            // A full read: the newest action first (nothing after it is missed), then the cards.
            let newest = self.client.actions(&board, None, None, 1).await?;
            let next = TrelloCursor::of(newest.first()).unwrap_or_default();
            self.start_tail(&next);
            let cards = self.client.board_cards(&board, "open", true).await?;
            self.refresh_for(&cards).await?;
            let mut records = self.records_kept(&cards).await?;
            let mut next = next;
            if self.helpdesk_on() {
                let (tickets, newest) = self.pull_helpdesk(None, true).await?;
                records.extend(tickets);
                next.helpdesk = newest;
                next.helpdesk_read = true;
            }
            return Ok(Pulled {
                records,
                cursor: serde_json::to_value(next).unwrap_or(Value::Null),
                full: true,
            });
        };
        // The feed from the newest action seen (or from what the last run's catch-ups read
        // past it), or from the overlap window before it when one is configured.
        let overlap =
            i64::try_from(self.cfg.overlap_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
        let tail = std::mem::take(&mut self.state.tail);
        let mut named: Vec<String> = Vec::new();
        let mut lists_changed = false;
        let since = match (cursor.at_ms, &cursor.last) {
            (Some(at), _) if overlap > 0 => {
                jiff::Timestamp::from_millisecond(at.saturating_sub(overlap))
                    .ok()
                    .map(|t| t.to_string())
            }
            (_, last) if tail.from == *last && tail.tail.is_some() => {
                named.extend(tail.cards.iter().cloned());
                lists_changed = tail.lists_changed;
                tail.tail.clone()
            }
            (_, last) => last.clone(),
        };
        let read = self.read_feed(&board, since.as_deref()).await?;
        lists_changed |= read.lists_changed;
        for c in read.cards {
            if !named.contains(&c) {
                named.push(c);
            }
        }
        let newest = read.newest.map(|a| TrelloCursor {
            last: Some(a.0),
            at_ms: a.1,
            ..TrelloCursor::default()
        });
        if lists_changed {
            self.refresh_board().await?;
        }
        let cards = self.read_cards(&named).await?;
        self.refresh_for(&cards).await?;
        // Cards the feed names that are gone (deleted) are left out: the engine's look for
        // archived records (`archived`) finds them.
        let mut records: Vec<RemoteRecord> = self.records_kept(&cards).await?;
        let mut next = newest.unwrap_or_else(|| TrelloCursor {
            helpdesk: None,
            helpdesk_read: false,
            ..cursor.clone()
        });
        self.start_tail(&next);
        if self.helpdesk_on() {
            let full = !cursor.helpdesk_read;
            let (tickets, newest) = self.pull_helpdesk(cursor.helpdesk.as_deref(), full).await?;
            records.extend(tickets);
            next.helpdesk = newest;
            next.helpdesk_read = true;
        }
        Ok(Pulled {
            records,
            cursor: serde_json::to_value(next).unwrap_or(Value::Null),
            full: false,
        })
    }

    async fn fetch(
        &mut self,
        note_type: &str,
        ids: &[String],
    ) -> Result<Vec<RemoteRecord>, ConnectorError> {
        if note_type == helpdesk::TICKET && self.helpdesk_on() && !ids.is_empty() {
            self.ensure_board().await?;
            return self.fetch_tickets(ids).await;
        }
        if note_type != NOTE_TYPE || ids.is_empty() {
            return Ok(Vec::new());
        }
        self.ensure_board().await?;
        let cards = self.read_cards(ids).await?;
        self.refresh_for(&cards).await?;
        let mut records = self.records_of(&cards);
        self.reasons_from_comments(&mut records).await?;
        Ok(records)
    }

    async fn archived(
        &mut self,
        note_type: &str,
        ids: &[String],
    ) -> Result<Vec<String>, ConnectorError> {
        if note_type == helpdesk::TICKET && self.helpdesk_on() && !ids.is_empty() {
            self.ensure_board().await?;
            return self.archived_tickets(ids).await;
        }
        if note_type != NOTE_TYPE || ids.is_empty() {
            return Ok(Vec::new());
        }
        self.ensure_board().await?;
        let cards = self
            .client
            .board_cards(&self.state.board, "all", false)
            .await?;
        let open: BTreeSet<&str> = cards
            .iter()
            .filter(|c| c.get("closed").and_then(Value::as_bool) != Some(true))
            .filter_map(|c| str_of(c, "id"))
            .collect();
        Ok(ids
            .iter()
            .filter(|i| !open.contains(i.as_str()))
            .cloned()
            .collect())
    }

    async fn upsert(
        &mut self,
        run_id: &str,
        batch: &[Upsert],
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        let tickets: Vec<&Upsert> = batch
            .iter()
            .filter(|u| u.note_type == helpdesk::TICKET && self.helpdesk_on())
            .collect();
        let batch: Vec<&Upsert> = batch.iter().filter(|u| u.note_type == NOTE_TYPE).collect();
        let mut done = Vec::new();
        if !tickets.is_empty() {
            self.ensure_board().await?;
            done = self.upsert_tickets(run_id, &tickets).await?;
        }
        if batch.is_empty() {
            return Ok(done);
        }
        self.ensure_board().await?;
        self.ensure_fields().await?;
        let start = now_ms();
        let mut index = if batch.iter().any(|u| u.remote_id.is_none()) {
            self.index_board().await?
        } else {
            Index::default()
        };
        // Checklists worth a template: one known already, or shared by new cards of the batch.
        let mut shared: BTreeMap<String, usize> = BTreeMap::new();
        for u in &batch {
            if u.remote_id.is_none()
                && !index.by_sid.contains_key(&u.ssot_id)
                && !self.state.marker_only
                && let Some(items) = u.sections.get(HEADING)
            {
                let key = checklist_key(items);
                if !key.is_empty() {
                    *shared.entry(key).or_default() += 1;
                }
            }
        }
        let templates: BTreeSet<String> = shared
            .into_iter()
            .filter(|(k, n)| *n >= TEMPLATE_FROM || self.state.templates.contains_key(k))
            .map(|(k, _)| k)
            .collect();
        let mut touched = BTreeSet::new();
        let mut out = Vec::with_capacity(batch.len());
        let mut result = Ok(());
        for u in batch {
            if let Err(e) = self.catch_up_within(run_id, start, &touched).await {
                result = Err(e);
                break;
            }
            match self
                .write_one(u, &mut index, &templates, &mut touched)
                .await
            {
                Ok(o) => out.push(o),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        self.note_run(run_id, start, touched);
        done.extend(out);
        result.map(|()| done)
    }

    async fn associated(
        &mut self,
        note_type: &str,
        ids: &[String],
        kinds: &[String],
    ) -> Result<BTreeMap<String, Vec<(String, String)>>, ConnectorError> {
        if note_type != helpdesk::TICKET
            || !self.helpdesk_on()
            || !kinds.iter().any(|k| k == mapping::KIND)
        {
            return Ok(BTreeMap::new());
        }
        self.ticket_projects(ids).await
    }

    async fn archive(&mut self, note_type: &str, ids: &[String]) -> Result<(), ConnectorError> {
        let ours = note_type == NOTE_TYPE || (note_type == helpdesk::TICKET && self.helpdesk_on());
        if !ours || ids.is_empty() {
            return Ok(());
        }
        self.ensure_board().await?;
        self.close_cards(ids).await
    }

    async fn healthcheck(&mut self) -> Result<Health, ConnectorError> {
        self.check_key()?;
        let a = self.client.me().await?;
        if !a.status.is_success() {
            return Err(self.refused(&a));
        }
        let user = str_of(&a.body, "username").unwrap_or("?").to_string();
        self.ensure_board().await?;
        Ok(Health {
            detail: format!(
                "Trello at {}: key and token accepted (@{user}), board `{}`{}",
                self.cfg.base_url,
                self.state.board_name,
                if self.state.marker_only {
                    " (custom fields unusable: the ssot_id is kept in the card descriptions)"
                        .to_string()
                } else if self.state.unusable.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (custom fields the board refused, not synced: {})",
                        self.state
                            .unusable
                            .iter()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            ),
        })
    }

    fn stats(&self) -> HttpStats {
        self.client.http.stats()
    }

    fn guards_remote_moves(&self) -> bool {
        true
    }

    fn set_vault_root(&mut self, root: &std::path::Path) {
        self.vault = Some(root.to_path_buf());
    }

    async fn act(
        &mut self,
        action: &RemoteAction,
        remote_id: &str,
    ) -> Result<ActionOutcome, ConnectorError> {
        match action.op {
            ActionOp::AttachExport => self.attach_export(action, remote_id).await,
            _ => Ok(ActionOutcome::Unsupported),
        }
    }

    fn pacing(&self) -> Pacing {
        self.client.http.pacing()
    }

    fn restore_pacing(&mut self, pacing: &Pacing) {
        self.client.http.restore_pacing(pacing);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Trello {
        let cfg = TrelloConfig {
            key: "k".into(),
            ..TrelloConfig::default()
        };
        Trello::new(cfg, &Schema::builtin(), Secret::new("t")).expect("connector")
    }

    #[test]
    fn cards_become_records() {
        let mut t = conn();
        t.state.lists.insert("l1".into(), "Intake".into());
        t.state.labels.insert("lb1".into(), "High".into());
        t.state.labels.insert("lb2".into(), "Client".into());
        t.state.fields.insert(
            SSOT_FIELD.into(),
            FieldDef {
                id: "f1".into(),
                kind: "text".into(),
            },
        );
        t.state.fields.insert(
            "Budget".into(),
            FieldDef {
                id: "f2".into(),
                kind: "number".into(),
            },
        );
        let card = json!({"id": "c1", "name": " Shop ", "desc": "Cakes\n\n[ssot_id]: ssot:01AB",
            "idList": "l1", "idLabels": ["lb2", "lb1"], "due": "2027-03-15T12:00:00.000Z",
            "closed": false, "dateLastActivity": "2026-11-30T10:00:00.000Z",
            "customFieldItems": [{"idCustomField": "f2", "value": {"number": "45000.0"}}],
            "checklists": [{"name": "Credentialing", "checkItems": [
                {"id": "i2", "name": "NDA\u{0}", "state": "complete", "pos": 2},
                {"id": "i1", "name": "Contract", "state": "incomplete", "pos": 1}]}]});
        let r = t.to_record(&card).expect("record");
        assert_eq!(r.ssot_id.as_deref(), Some("01AB"), "the marker line");
        assert_eq!(r.fields["summary"], "Cakes");
        assert_eq!(r.fields["status"], "Intake");
        assert_eq!(r.fields["priority"], "High");
        assert_eq!(r.fields["deadline"], "2027-03-15");
        assert_eq!(r.fields["budget"], "45000");
        assert_eq!(r.title.as_deref(), Some("Shop"));
        let items = &r.sections[HEADING];
        assert_eq!(
            items
                .iter()
                .map(|i| (i.text.as_str(), i.checked))
                .collect::<Vec<_>>(),
            [("Contract", Some(false)), ("NDA", Some(true))]
        );
        // The custom field wins over the marker.
        let mut card = card;
        card["customFieldItems"] = json!([{"idCustomField": "f1", "value": {"text": "01CD"}}]);
        assert_eq!(t.card_ssot_id(&card).as_deref(), Some("01CD"));
    }

    #[test]
    fn only_our_runs_actions_are_ours() {
        let mut t = conn();
        t.state.me = "me".into();
        let at = now_ms();
        t.note_run("r1", at - 1000, ["c1".to_string()].into());
        let action = |member: &str, card: &str, ms: i64| {
            json!({"idMemberCreator": member, "date": crate::sandbox::trello::iso(ms),
                "data": {"card": {"id": card}}})
        };
        assert!(t.ours(&action("me", "c1", at)));
        assert!(!t.ours(&action("ola", "c1", at)), "another member's");
        assert!(
            !t.ours(&action("me", "c2", at)),
            "a card the run did not write"
        );
        assert!(
            !t.ours(&action("me", "c1", at + 60_000)),
            "a later edit by the token's owner"
        );
    }
}
