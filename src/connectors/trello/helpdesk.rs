//! The helpdesk on Trello: each ticket note is a card on the helpdesk board (`helpdesk_board`,
//! a board of its own), its `status` the card's list (`Open`, `Answered`, `Closed` by default),
//! its `## Conversation` the card's comments.
//!
//! - **Conversation.** An append-only comment list, merged by the engine by union on each
//!   message's stamp (`2026-05-01T10:15:00 · client · Anna Client`), never a conflict. A message
//!   of the note is posted as a comment whose first line is its stamp (`### <stamp>`), so it is
//!   the same message when read back; a comment written in Trello is a message stamped with its
//!   time (the machine's time zone, as `ticket reply` writes it), its author's party
//!   (`helpdesk_parties`, else `team`) and full name. A message is posted only when the card's
//!   comments, read just before, hold none of its stamp, and a post whose answer is lost is
//!   looked for again before anything else: never posted twice.
//! - **Identity.** The card's description ends with the note's `ssot_id` marker line (the
//!   helpdesk board needs no custom field); a create whose answer is lost is found by it.
//! - **Change feed.** The helpdesk board's actions since the newest one seen (its own part of
//!   the cursor), as for the projects' board: one more request a run.
//!
//! Cards made in Trello are not made into tickets (a ticket needs its project): open them with
//! `ssot-vault new ticket`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::connectors::http::HttpError;
use crate::connectors::{
    Binding, ConnectorError, Conv, Direction, FieldSpec, RemoteRecord, SectionItem, SectionKind,
    SectionSpec, Upsert, WriteOutcome,
};

use super::config::{self, ID_KEY, TrelloConfig};
use super::mapping;
use super::{Trello, gone_status, now_ms, parse_ms, str_of, why};

/// The note type synced with helpdesk cards.
pub const TICKET: &str = "ticket";
/// The binding's remote kind.
pub const KIND: &str = "helpdesk-cards";
/// The ticket's conversation heading.
pub const CONVERSATION: &str = "Conversation";
/// Comments a card's read asks for (Trello's most).
const COMMENTS_LIMIT: usize = 1000;
/// Cards named by the feed above this many are read with one board listing.
const READ_ONE_BY_ONE: usize = 8;

/// The helpdesk board as last read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HelpdeskState {
    /// The configuration's `helpdesk_board` the rest was read for.
    pub board_ref: String,
    /// The board's id.
    pub board: String,
    /// Its open lists: id → name.
    pub lists: BTreeMap<String, String>,
}

/// Ticket status → list name: the defaults with the configuration's entries over them.
pub fn status_table(cfg: &TrelloConfig) -> Vec<(String, String)> {
    let mut t: Vec<(String, String)> = [
        ("open", "Open"),
        ("answered", "Answered"),
        ("closed", "Closed"),
    ]
    .into_iter()
    .filter(|(s, _)| !cfg.helpdesk_lists.contains_key(*s))
    .map(|(s, l)| (s.to_string(), l.to_string()))
    .collect();
    t.extend(
        cfg.helpdesk_lists
            .iter()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(s, l)| (s.clone(), l.trim().to_string())),
    );
    t
}

/// The ticket binding, when the helpdesk is on.
pub fn binding(cfg: &TrelloConfig) -> Option<Binding> {
    if cfg.helpdesk_board.trim().is_empty() {
        return None;
    }
    let spec = |key: &str, remote: &str, conv: Conv, direction: Direction| FieldSpec {
        key: key.into(),
        remote: remote.into(),
        conv,
        direction,
    };
    Some(Binding {
        note_type: TICKET.into(),
        kind: KIND.into(),
        id_key: ID_KEY.into(),
        fields: vec![
            spec("title", "name", Conv::Title, Direction::Push),
            spec(
                "status",
                "list",
                Conv::Table(status_table(cfg)),
                Direction::Both,
            ),
        ],
        links: Vec::new(),
        pull_new: false,
        link_target_only: false,
        sections: vec![SectionSpec {
            heading: CONVERSATION.into(),
            kind: SectionKind::Comments,
        }],
    })
}

/// A message's stamp when `s` is one (`time · party · author`).
fn as_stamp(s: &str) -> Option<String> {
    let s = mapping::one_line(s);
    let parts: Vec<&str> = s.splitn(3, " · ").collect();
    match parts.as_slice() {
        [at, party, author]
            if at.len() >= 16
                && at.as_bytes().get(10) == Some(&b'T')
                && ["client", "expert", "team"].contains(&party.trim())
                && !author.trim().is_empty() =>
        {
            Some(s)
        }
        _ => None,
    }
}

/// A comment's text as a note holds it: control characters (but tabs) dropped, line ends
/// without carriage returns, trimmed.
fn clean_text(s: &str) -> String {
    s.lines()
        .map(|l| {
            l.trim_end_matches('\r')
                .chars()
                .filter(|c| !c.is_control() || *c == '\t')
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// The text a message is posted as: its stamp line, then its text.
fn post_text(item: &SectionItem) -> String {
    let stamp = mapping::one_line(item.stamp.as_deref().unwrap_or(&item.key));
    format!("### {stamp}\n\n{}", item.text.trim())
}

/// A time of Trello's in the machine's time zone, as `ticket reply` writes it.
fn local_time(ms: i64) -> Option<String> {
    let ts = jiff::Timestamp::from_millisecond(ms).ok()?;
    let dt = ts
        .to_zoned_datetime(jiff::tz::TimeZone::system())
        .datetime();
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    ))
}

/// Comments (oldest first) that would share a stamp (one author, one second) are told apart
/// by a number after the author's name (` (2)`, ` (3)`), in the card's order.
fn number_alike(comments: &mut [Comment]) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for c in comments.iter_mut() {
        let n = seen.entry(c.item.key.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            let stamp = format!("{} ({n})", c.item.key);
            c.item.key = stamp.clone();
            c.item.stamp = Some(stamp);
        }
    }
}

/// A comment as the card shows it: its action id, its author's member id, its message.
struct Comment {
    id: String,
    member: String,
    item: SectionItem,
}

impl Trello {
    /// Whether ticket notes are synced.
    pub(super) fn helpdesk_on(&self) -> bool {
        !self.cfg.helpdesk_board.trim().is_empty()
    }

    /// The helpdesk board and its lists, looked up when not known.
    pub(super) async fn ensure_helpdesk(&mut self) -> Result<(), ConnectorError> {
        let want = self.cfg.helpdesk_board.trim().to_string();
        let h = &mut self.state.helpdesk;
        if h.board_ref != want {
            *h = HelpdeskState {
                board_ref: want.clone(),
                ..HelpdeskState::default()
            };
        }
        if self.state.helpdesk.board.is_empty() {
            if config::is_id(&want) {
                self.state.helpdesk.board = want.clone();
            } else {
                let boards = self.client.my_boards().await?;
                let found = boards.as_array().into_iter().flatten().find(|b| {
                    str_of(b, "name") == Some(want.as_str())
                        && b.get("closed").and_then(Value::as_bool) != Some(true)
                });
                match found.and_then(|b| str_of(b, "id")) {
                    Some(id) => self.state.helpdesk.board = id.to_string(),
                    None => {
                        return Err(ConnectorError::Config {
                            service: super::NAME.into(),
                            message: format!(
                                "no open board named `{want}` (helpdesk_board) for this token"
                            ),
                        });
                    }
                }
            }
        }
        if self.state.helpdesk.lists.is_empty() {
            self.read_helpdesk_lists().await?;
        }
        Ok(())
    }

    async fn read_helpdesk_lists(&mut self) -> Result<(), ConnectorError> {
        let a = self.client.board(&self.state.helpdesk.board).await?;
        if !a.status.is_success() {
            return Err(self.proto(format!(
                "helpdesk board `{}`: {}",
                self.cfg.helpdesk_board,
                why(&a)
            )));
        }
        self.state.helpdesk.lists = a
            .body
            .get("lists")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|x| x.get("closed").and_then(Value::as_bool) != Some(true))
            .filter_map(|x| Some((str_of(x, "id")?.to_string(), str_of(x, "name")?.to_string())))
            .collect();
        Ok(())
    }

    /// The id of the helpdesk list named `name`, created when missing.
    async fn helpdesk_list(&mut self, name: &str) -> Result<String, ConnectorError> {
        let find = |s: &HelpdeskState| {
            s.lists
                .iter()
                .find(|(_, n)| n.as_str() == name)
                .map(|(id, _)| id.clone())
        };
        if let Some(id) = find(&self.state.helpdesk) {
            return Ok(id);
        }
        self.read_helpdesk_lists().await?;
        if let Some(id) = find(&self.state.helpdesk) {
            return Ok(id);
        }
        let board = self.state.helpdesk.board.clone();
        let v = self.client.create_list(&board, name).await?;
        let id = str_of(&v, "id")
            .ok_or_else(|| self.proto("a created list has no id"))?
            .to_string();
        self.state
            .helpdesk
            .lists
            .insert(id.clone(), name.to_string());
        Ok(id)
    }

    /// A comment action as a message.
    fn comment_of(&self, a: &Value) -> Option<Comment> {
        let id = str_of(a, "id")?.to_string();
        let text = a.pointer("/data/text").and_then(Value::as_str)?;
        let member = str_of(a, "idMemberCreator").unwrap_or_default().to_string();
        let posted = text.strip_prefix("### ").and_then(|rest| {
            let (first, body) = rest.split_once('\n').unwrap_or((rest, ""));
            Some((as_stamp(first)?, clean_text(body)))
        });
        let (stamp, body) = match posted {
            Some(p) => p,
            None => {
                let at = local_time(parse_ms(a.get("date"))?)?;
                let username = a
                    .pointer("/memberCreator/username")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let name = a
                    .pointer("/memberCreator/fullName")
                    .and_then(Value::as_str)
                    .map(mapping::one_line)
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| mapping::one_line(username));
                let party = self
                    .cfg
                    .helpdesk_parties
                    .get(username)
                    .map_or("team", String::as_str);
                let name = if name.is_empty() {
                    "Trello".to_string()
                } else {
                    name
                };
                (format!("{at} · {party} · {name}"), clean_text(text))
            }
        };
        Some(Comment {
            id,
            member,
            item: SectionItem {
                key: stamp.clone(),
                text: body,
                checked: None,
                stamp: Some(stamp),
            },
        })
    }

    /// A card's comments, oldest first (`None`: the card is gone).
    async fn card_comments(&mut self, card: &str) -> Result<Option<Vec<Comment>>, ConnectorError> {
        let a = self.client.comments(card, COMMENTS_LIMIT).await?;
        if gone_status(a.status) {
            return Ok(None);
        }
        if !a.status.is_success() {
            return Err(self.proto(format!("comments of card {card}: {}", why(&a))));
        }
        let mut out: Vec<Comment> = a
            .body
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| self.comment_of(c))
            .collect();
        out.reverse();
        number_alike(&mut out);
        Ok(Some(out))
    }

    /// The messages of a conversation, one per stamp, in stamp order.
    fn conversation(comments: &[Comment]) -> Vec<SectionItem> {
        let mut seen = BTreeSet::new();
        let mut items: Vec<SectionItem> = comments
            .iter()
            .filter(|c| seen.insert(c.item.key.clone()))
            .map(|c| c.item.clone())
            .collect();
        items.sort_by(|a, b| a.key.cmp(&b.key));
        items
    }

    /// A helpdesk card as a ticket record (with its comments, oldest first).
    fn ticket_record(&self, card: &Value, comments: &[Comment]) -> Option<RemoteRecord> {
        let id = str_of(card, "id")?.to_string();
        let ssot_id = mapping::split_desc(str_of(card, "desc").unwrap_or(""))
            .1
            .map(str::to_string);
        let mut fields = BTreeMap::new();
        if let Some(l) = str_of(card, "idList").and_then(|l| self.state.helpdesk.lists.get(l)) {
            fields.insert("status".to_string(), l.clone());
        }
        let name = mapping::one_line(str_of(card, "name").unwrap_or(""));
        if !name.is_empty() {
            fields.insert("title".to_string(), name.clone());
        }
        Some(RemoteRecord {
            note_type: TICKET.into(),
            id,
            ssot_id,
            fields,
            title: Some(name).filter(|n| !n.is_empty()),
            modified_ms: parse_ms(card.get("dateLastActivity")),
            archived: card.get("closed").and_then(Value::as_bool) == Some(true),
            sections: [(CONVERSATION.to_string(), Self::conversation(comments))].into(),
        })
    }

    /// Cards of the helpdesk board as records, their comments read one card at a time, or for
    /// many cards from the board's comment feed.
    async fn tickets_of(&mut self, cards: &[Value]) -> Result<Vec<RemoteRecord>, ConnectorError> {
        if cards.iter().any(|c| {
            str_of(c, "idList").is_some_and(|l| !self.state.helpdesk.lists.contains_key(l))
        }) {
            self.read_helpdesk_lists().await?;
        }
        let mut by_card: BTreeMap<String, Vec<Comment>> = BTreeMap::new();
        if cards.len() > READ_ONE_BY_ONE {
            let board = self.state.helpdesk.board.clone();
            let mut before: Option<String> = None;
            loop {
                let page = self
                    .client
                    .board_comments(&board, before.as_deref(), COMMENTS_LIMIT)
                    .await?;
                for a in &page {
                    if let (Some(card), Some(c)) = (
                        a.pointer("/data/card/id").and_then(Value::as_str),
                        self.comment_of(a),
                    ) {
                        by_card.entry(card.to_string()).or_default().push(c);
                    }
                }
                if page.len() < COMMENTS_LIMIT {
                    break;
                }
                match page.last().and_then(|a| str_of(a, "id")) {
                    Some(b) => before = Some(b.to_string()),
                    None => break,
                }
            }
            for v in by_card.values_mut() {
                v.reverse();
                number_alike(v);
            }
        } else {
            for c in cards {
                if let Some(id) = str_of(c, "id")
                    && let Some(comments) = self.card_comments(id).await?
                {
                    by_card.insert(id.to_string(), comments);
                }
            }
        }
        Ok(cards
            .iter()
            .filter_map(|c| {
                let comments = str_of(c, "id")
                    .and_then(|i| by_card.get(i))
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                self.ticket_record(c, comments)
            })
            .collect())
    }

    /// The helpdesk's part of a pull: everything (`since` `None`), or the cards the board's
    /// actions after `since` name. Returns the records and the newest action seen.
    pub(super) async fn pull_helpdesk(
        &mut self,
        since: Option<&str>,
        full: bool,
    ) -> Result<(Vec<RemoteRecord>, Option<String>), ConnectorError> {
        self.ensure_helpdesk().await?;
        let board = self.state.helpdesk.board.clone();
        if full {
            let newest = self.client.actions(&board, None, None, 1).await?;
            let newest = newest
                .first()
                .and_then(|a| str_of(a, "id"))
                .map(str::to_string);
            let cards = self.client.board_cards(&board, "open", false).await?;
            let records = self.tickets_of(&cards).await?;
            return Ok((records, newest));
        }
        let read = self.read_feed(&board, since).await?;
        if read.lists_changed {
            self.read_helpdesk_lists().await?;
        }
        let cards = self.helpdesk_cards(&read.cards).await?;
        let records = self.tickets_of(&cards).await?;
        Ok((
            records,
            read.newest
                .map(|n| n.0)
                .or_else(|| since.map(str::to_string)),
        ))
    }

    /// Helpdesk cards by id (missing ones left out).
    async fn helpdesk_cards(&mut self, ids: &[String]) -> Result<Vec<Value>, ConnectorError> {
        let mut out = Vec::new();
        if ids.len() > READ_ONE_BY_ONE {
            let want: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
            let board = self.state.helpdesk.board.clone();
            for c in self.client.board_cards(&board, "all", false).await? {
                if str_of(&c, "id").is_some_and(|i| want.contains(i)) {
                    out.push(c);
                }
            }
            return Ok(out);
        }
        for id in ids.iter().filter(|i| config::is_id(i)) {
            let a = self.client.card(id).await?;
            if a.status.is_success() {
                if str_of(&a.body, "idBoard") == Some(self.state.helpdesk.board.as_str()) {
                    out.push(a.body);
                }
            } else if !gone_status(a.status) {
                return Err(self.proto(format!("card {id}: {}", why(&a))));
            }
        }
        Ok(out)
    }

    /// Ticket records by card id.
    pub(super) async fn fetch_tickets(
        &mut self,
        ids: &[String],
    ) -> Result<Vec<RemoteRecord>, ConnectorError> {
        self.ensure_helpdesk().await?;
        let cards = self.helpdesk_cards(ids).await?;
        self.tickets_of(&cards).await
    }

    /// Those of `ids` whose card is closed or gone.
    pub(super) async fn archived_tickets(
        &mut self,
        ids: &[String],
    ) -> Result<Vec<String>, ConnectorError> {
        self.ensure_helpdesk().await?;
        let board = self.state.helpdesk.board.clone();
        let cards = self.client.board_cards(&board, "all", false).await?;
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

    /// Writes ticket notes to their cards.
    pub(super) async fn upsert_tickets(
        &mut self,
        run_id: &str,
        batch: &[&Upsert],
    ) -> Result<Vec<WriteOutcome>, ConnectorError> {
        self.ensure_helpdesk().await?;
        let start = now_ms();
        let board = self.state.helpdesk.board.clone();
        // Cards by their marker, read when a write has no card id.
        let mut by_sid: BTreeMap<String, String> = BTreeMap::new();
        if batch.iter().any(|u| u.remote_id.is_none()) {
            for c in self.client.board_cards(&board, "open", false).await? {
                if let (Some(id), (_, Some(sid))) = (
                    str_of(&c, "id"),
                    mapping::split_desc(str_of(&c, "desc").unwrap_or("")),
                ) {
                    by_sid
                        .entry(sid.to_string())
                        .or_insert_with(|| id.to_string());
                }
            }
        }
        let mut touched = BTreeSet::new();
        let mut out = Vec::with_capacity(batch.len());
        let mut result = Ok(());
        for u in batch {
            match self.write_ticket(u, &by_sid, &mut touched).await {
                Ok(o) => out.push(o),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        self.note_run(run_id, start, touched);
        result.map(|()| out)
    }

    /// The list a ticket write moves its card to, when it names a status.
    async fn ticket_list(&mut self, u: &Upsert) -> Result<Option<String>, ConnectorError> {
        let Some(Some(status)) = u.fields.get("status") else {
            return Ok(None);
        };
        Ok(Some(self.helpdesk_list(status).await?))
    }

    async fn write_ticket(
        &mut self,
        u: &Upsert,
        by_sid: &BTreeMap<String, String>,
        touched: &mut BTreeSet<String>,
    ) -> Result<WriteOutcome, ConnectorError> {
        let name = u
            .fields
            .get("title")
            .cloned()
            .flatten()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| u.ssot_id.clone());
        let known = u
            .remote_id
            .clone()
            .or_else(|| by_sid.get(&u.ssot_id).cloned());
        let (id, created) = match known {
            Some(id) => (id, false),
            None => {
                let list = match self.ticket_list(u).await? {
                    Some(l) => l,
                    None => self.helpdesk_list("Open").await?,
                };
                match self.create_ticket(u, &list, &name).await? {
                    Ok(id) => (id, true),
                    Err(message) => {
                        return Ok(WriteOutcome::Refused {
                            ssot_id: u.ssot_id.clone(),
                            message,
                        });
                    }
                }
            }
        };
        let gone = || WriteOutcome::Gone {
            ssot_id: u.ssot_id.clone(),
            remote_id: id.clone(),
        };
        if !config::is_id(&id) {
            return Ok(gone());
        }
        touched.insert(id.clone());
        if !created {
            let mut params = serde_json::Map::new();
            if let Some(list) = self.ticket_list(u).await? {
                params.insert("idList".into(), json!(list));
            }
            if u.fields.contains_key("title") {
                params.insert("name".into(), json!(name));
            }
            if !u.remote_has_ssot_id {
                params.insert("desc".into(), json!(mapping::marker(&u.ssot_id)));
            }
            if !params.is_empty()
                && let Some(o) = self.update_card_fields(&u.ssot_id, &id, params).await?
            {
                return Ok(o);
            }
        }
        if let Some(items) = u.sections.get(CONVERSATION)
            && let Err(message) = self.write_conversation(&id, items).await?
        {
            return Ok(WriteOutcome::Refused {
                ssot_id: u.ssot_id.clone(),
                message,
            });
        }
        Ok(WriteOutcome::Written {
            ssot_id: u.ssot_id.clone(),
            remote_id: id,
            created,
            fields: None,
        })
    }

    /// Creates a ticket's card (never twice: a lost answer is looked for by its marker).
    async fn create_ticket(
        &mut self,
        u: &Upsert,
        list: &str,
        name: &str,
    ) -> Result<Result<String, String>, ConnectorError> {
        let body = json!({ "idList": list, "name": name, "desc": mapping::marker(&u.ssot_id),
            "pos": "bottom" });
        for _ in 0..super::CREATE_ATTEMPTS {
            match self.client.create_card(&body).await {
                Ok(a) if a.status.is_success() => {
                    return match str_of(&a.body, "id") {
                        Some(id) => Ok(Ok(id.to_string())),
                        None => Err(self.proto("a created card has no id")),
                    };
                }
                Ok(a) => return Ok(Err(why(&a))),
                Err(HttpError::Transport { message, .. }) => {
                    tracing::info!(%message, "Trello ticket card create: answer lost; looking for it");
                    let cards = self.client.list_cards(list).await?;
                    if let Some(id) = cards.iter().find_map(|c| {
                        (mapping::split_desc(str_of(c, "desc").unwrap_or("")).1
                            == Some(u.ssot_id.as_str()))
                        .then(|| str_of(c, "id").map(str::to_string))
                        .flatten()
                    }) {
                        return Ok(Ok(id));
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Err("the card's create kept losing its answer".into()))
    }

    /// Posts the conversation's messages the card does not hold (by stamp), and edits the text
    /// of our own comments the note changed. `Err`: why a message could not be posted.
    async fn write_conversation(
        &mut self,
        card: &str,
        items: &[SectionItem],
    ) -> Result<Result<(), String>, ConnectorError> {
        let Some(mut comments) = self.card_comments(card).await? else {
            return Ok(Err("the card is gone".into()));
        };
        let me = self.state.me.clone();
        for item in items {
            let text = post_text(item);
            if let Some(c) = comments.iter().find(|c| c.item.key == item.key) {
                if c.item.text != clean_text(&item.text) && c.member == me {
                    let a = self.client.edit_comment(card, &c.id, &text).await?;
                    if !a.status.is_success() {
                        tracing::warn!(card, why = %why(&a), "Trello comment not edited");
                    }
                }
                continue;
            }
            match self.client.add_comment(card, &text).await {
                Ok(a) if a.status.is_success() => {}
                Ok(a) => return Ok(Err(format!("comment not posted: {}", why(&a)))),
                Err(HttpError::Transport { message, .. }) => {
                    // The answer was lost: the comment may be there; read the card again.
                    match self.card_comments(card).await? {
                        Some(now) if now.iter().any(|c| c.item.key == item.key) => {
                            comments = now;
                        }
                        _ => return Ok(Err(format!("comment not posted ({message})"))),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_told_from_other_first_lines() {
        assert_eq!(
            as_stamp("2026-05-01T10:15:00 · client · Anna Client").as_deref(),
            Some("2026-05-01T10:15:00 · client · Anna Client")
        );
        assert_eq!(as_stamp("Hello · client · x"), None);
        assert_eq!(as_stamp("2026-05-01T10:15:00 · boss · x"), None);
        let item = SectionItem {
            key: "2026-05-01T10:15:00 · team · Ola".into(),
            text: "Line one\n## Not a heading".into(),
            checked: None,
            stamp: Some("2026-05-01T10:15:00 · team · Ola".into()),
        };
        assert_eq!(
            post_text(&item),
            "### 2026-05-01T10:15:00 · team · Ola\n\nLine one\n## Not a heading"
        );
    }
}
