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
//! - **Tickets opened in Trello.** A card someone makes on the helpdesk board becomes a ticket
//!   note: its name the title, its list the status, its description the opening message
//!   (stamped with the card's creation and its creator's party and name, never posted as a
//!   comment), its creator's party `from` (or a `from:` line of the description), and its
//!   project the one a `project:` line of the description names (the project's name or card
//!   id) or a link to the project's card. A card whose ticket would lack its project (or its
//!   `from`) is the engine's record that makes no valid note: reported, not written. The note
//!   takes the card id, and the card the note's marker line (after its description), so one
//!   card never makes two notes.

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
use crate::workflow::ticket::{clean_text, local_time};

/// The note type synced with helpdesk cards.
pub const TICKET: &str = "ticket";
/// The binding's remote kind.
pub const KIND: &str = "helpdesk-cards";
/// The ticket's conversation heading.
pub const CONVERSATION: &str = "Conversation";
/// The ticket's key of who opened it.
const FROM: &str = "from";
/// The ticket's link to its project.
const PROJECT: &str = "project";
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
    /// Who opened each ticket's card (`client` or `expert`), its `from`: the creator's party
    /// for a card made in Trello, else the note's as last written.
    pub from: BTreeMap<String, String>,
    /// The stamp of the opening message (the description) of each card made in Trello.
    pub openers: BTreeMap<String, String>,
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
            spec(FROM, "creator", Conv::Text, Direction::Push),
        ],
        links: vec![PROJECT.into()],
        pull_new: true,
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

/// The text a message is posted as: its stamp line, then its text.
fn post_text(item: &SectionItem) -> String {
    let stamp = mapping::one_line(item.stamp.as_deref().unwrap_or(&item.key));
    format!("### {stamp}\n\n{}", item.text.trim())
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

/// How a ticket card's description names its project.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ProjectRef {
    /// The project's card id.
    Id(String),
    /// A link to the project's card: its short link (or id).
    Link(String),
    /// The project's name, lowercased.
    Name(String),
}

/// The value of the description's first `key:` line (any case), trimmed, lowercased when it
/// is `from`.
fn desc_line(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let l = l.trim();
        let (k, v) = l.split_once(':')?;
        let k = k
            .trim()
            .trim_start_matches(['-', '*', ' '])
            .trim_matches('*');
        if !k.eq_ignore_ascii_case(key) {
            return None;
        }
        let v = mapping::one_line(v.trim().trim_matches('*'));
        let v = if key == FROM { v.to_lowercase() } else { v };
        (!v.is_empty()).then_some(v)
    })
}

/// The project a ticket card's description names: a `project:` line, else a link to a card.
fn project_ref(text: &str) -> Option<ProjectRef> {
    let link_in = |s: &str| {
        let i = s.find("trello.com/c/")?;
        let link: String = s[i + "trello.com/c/".len()..]
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        (!link.is_empty()).then_some(ProjectRef::Link(link))
    };
    if let Some(v) = desc_line(text, PROJECT) {
        if let Some(l) = link_in(&v) {
            return Some(l);
        }
        let v = v
            .trim_matches('"')
            .trim_start_matches("[[")
            .trim_end_matches("]]")
            .trim()
            .to_string();
        if config::is_id(&v) {
            return Some(ProjectRef::Id(v));
        }
        return (!v.is_empty()).then(|| ProjectRef::Name(v.to_lowercase()));
    }
    link_in(text)
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

    /// Cards made in Trello read for the first time (no marker line yet, or a description
    /// beside it and no opening message known): who made them and when, their opening
    /// message's stamp and their `from` (one read of each card's creation; a card the sync made
    /// has none, remembered as an empty stamp). Their descriptions are kept for this run (the
    /// project they name, the marker's write).
    async fn read_openers(&mut self, cards: &[Value]) -> Result<(), ConnectorError> {
        for c in cards {
            let (Some(id), desc) = (str_of(c, "id"), str_of(c, "desc").unwrap_or("")) else {
                continue;
            };
            let (text, marker) = mapping::split_desc(desc);
            self.ticket_descs.insert(id.to_string(), text.to_string());
            if (marker.is_some() && text.trim().is_empty())
                || c.get("closed").and_then(Value::as_bool) == Some(true)
                || self.state.helpdesk.openers.contains_key(id)
            {
                continue;
            }
            let Some(a) = self.client.card_creation(id).await? else {
                continue;
            };
            let me = &self.state.me;
            if !me.is_empty() && str_of(&a, "idMemberCreator") == Some(me.as_str()) {
                self.state
                    .helpdesk
                    .openers
                    .insert(id.to_string(), String::new());
                continue;
            }
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
            let name = if name.is_empty() {
                "Trello".into()
            } else {
                name
            };
            let party = self
                .cfg
                .helpdesk_parties
                .get(username)
                .map_or("team", String::as_str)
                .to_string();
            let Some(at) = parse_ms(a.get("date")).and_then(local_time) else {
                continue;
            };
            let from = desc_line(text, FROM)
                .filter(|f| ["client", "expert"].contains(&f.as_str()))
                .or_else(|| (party != "team").then(|| party.clone()));
            if let Some(f) = from {
                self.state.helpdesk.from.insert(id.to_string(), f);
            }
            self.state
                .helpdesk
                .openers
                .insert(id.to_string(), format!("{at} · {party} · {name}"));
        }
        Ok(())
    }

    /// The projects' cards the ticket cards `ids` name (read this run): a `project:` line of
    /// the description (the project's name, `[[name]]` or its card id) or a link to its card
    /// (`https://trello.com/c/<shortLink>`); the projects' board is read once when a name or a
    /// link needs it.
    pub(super) async fn ticket_projects(
        &mut self,
        ids: &[String],
    ) -> Result<BTreeMap<String, Vec<(String, String)>>, ConnectorError> {
        let refs: Vec<(String, ProjectRef)> = ids
            .iter()
            .filter_map(|id| Some((id.clone(), project_ref(self.ticket_descs.get(id)?)?)))
            .collect();
        let mut cards: Vec<Value> = Vec::new();
        if refs.iter().any(|(_, r)| !matches!(r, ProjectRef::Id(_))) {
            self.ensure_board().await?;
            let board = self.state.board.clone();
            cards = self.client.board_cards(&board, "open", false).await?;
        }
        let mut out = BTreeMap::new();
        for (id, r) in refs {
            let found = match &r {
                ProjectRef::Id(card) => Some(card.clone()),
                ProjectRef::Link(link) => cards
                    .iter()
                    .find(|c| {
                        str_of(c, "shortLink") == Some(link.as_str())
                            || str_of(c, "id") == Some(link.as_str())
                    })
                    .and_then(|c| str_of(c, "id"))
                    .map(str::to_string),
                ProjectRef::Name(name) => cards
                    .iter()
                    .find(|c| {
                        str_of(c, "name")
                            .is_some_and(|n| mapping::one_line(n).to_lowercase() == *name)
                    })
                    .and_then(|c| str_of(c, "id"))
                    .map(str::to_string),
            };
            if let Some(card) = found {
                out.insert(id, vec![(mapping::KIND.to_string(), card)]);
            }
        }
        Ok(out)
    }

    /// A helpdesk card as a ticket record (with its comments, oldest first).
    fn ticket_record(&self, card: &Value, comments: &[Comment]) -> Option<RemoteRecord> {
        let id = str_of(card, "id")?.to_string();
        let (text, ssot_id) = mapping::split_desc(str_of(card, "desc").unwrap_or(""));
        let ssot_id = ssot_id.map(str::to_string);
        let mut fields = BTreeMap::new();
        if let Some(l) = str_of(card, "idList").and_then(|l| self.state.helpdesk.lists.get(l)) {
            fields.insert("status".to_string(), l.clone());
        }
        if let Some(f) = self.state.helpdesk.from.get(&id) {
            fields.insert(FROM.to_string(), f.clone());
        }
        let mut conversation = Self::conversation(comments);
        let opening = clean_text(text);
        if let Some(stamp) = self.state.helpdesk.openers.get(&id)
            && !stamp.is_empty()
            && !opening.is_empty()
            && !conversation.iter().any(|m| m.key == *stamp)
        {
            conversation.push(SectionItem {
                key: stamp.clone(),
                text: opening,
                checked: None,
                stamp: Some(stamp.clone()),
            });
            conversation.sort_by(|a, b| a.key.cmp(&b.key));
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
            sections: [(CONVERSATION.to_string(), conversation)].into(),
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
        self.read_openers(cards).await?;
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
        if let Some(Some(f)) = u.fields.get(FROM) {
            self.state.helpdesk.from.insert(id.clone(), f.clone());
        }
        if !created {
            let mut params = serde_json::Map::new();
            if let Some(list) = self.ticket_list(u).await? {
                params.insert("idList".into(), json!(list));
            }
            if u.fields.contains_key("title") {
                params.insert("name".into(), json!(name));
            }
            if !u.remote_has_ssot_id {
                // The marker goes after what the description says (a card made in Trello).
                let text = match self.ticket_descs.get(&id) {
                    Some(t) => Some(t.clone()),
                    None => {
                        let a = self.client.card(&id).await?;
                        a.status.is_success().then(|| {
                            mapping::split_desc(str_of(&a.body, "desc").unwrap_or(""))
                                .0
                                .to_string()
                        })
                    }
                };
                let marker = mapping::marker(&u.ssot_id);
                let desc = match text.as_deref().map(str::trim_end) {
                    Some(t) if !t.is_empty() => format!("{t}\n\n{marker}"),
                    _ => marker,
                };
                params.insert("desc".into(), json!(desc));
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
        let opener = self
            .state
            .helpdesk
            .openers
            .get(card)
            .filter(|s| !s.is_empty())
            .cloned();
        for item in items {
            // The opening message of a card made in Trello is its description.
            if opener.as_ref() == Some(&item.key) {
                continue;
            }
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
    fn a_ticket_cards_description_names_its_project_and_who_opened_it() {
        assert_eq!(
            project_ref("Project: [[Bakery loyalty app]]\nHelp"),
            Some(ProjectRef::Name("bakery loyalty app".into()))
        );
        assert_eq!(
            project_ref("project: 5abbe4b7ddc1b351ef961414"),
            Some(ProjectRef::Id("5abbe4b7ddc1b351ef961414".into()))
        );
        assert_eq!(
            project_ref("See https://trello.com/c/AbC123/12-shop please"),
            Some(ProjectRef::Link("AbC123".into()))
        );
        assert_eq!(
            project_ref("**Project:** https://trello.com/c/xyz"),
            Some(ProjectRef::Link("xyz".into()))
        );
        assert_eq!(project_ref("Nothing here: at all"), None);
        assert_eq!(project_ref("project:   "), None);
        assert_eq!(
            desc_line("x\nFrom: Expert\n", FROM).as_deref(),
            Some("expert")
        );
        assert_eq!(desc_line("fromage: yes", FROM), None);
    }

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
