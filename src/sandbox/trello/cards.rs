//! Cards: create (with `idList`, `name`, `desc`, `due`, `pos`, labels, members, or a copy of
//! `idCardSource` keeping `keepFromSource`), read, update (`idList`, `name`, `desc`, `due`,
//! `closed`, `pos`, labels), delete, and the card listings of a board or list with
//! `customFieldItems`, `checklists` and `attachments` included on request.

use std::sync::Arc;

use axum::extract::{Path, State};
use serde_json::{Map, Value, json};

use super::actions::record;
use super::items::{attachment_json, checklist_json, field_item_json};
use super::store::{Card, Checklist, FieldItem, TrelloData};
use super::{
    Call, TResult, TrelloError, card_ref, check_id, iso, ok, parse_time, position, short_link,
    where_json,
};
use crate::sandbox::AppState;

/// What to include with a card (`customFieldItems=true`, `checklists=all`, `attachments=true`).
#[derive(Debug, Clone, Default)]
pub struct Include {
    fields: bool,
    checklists: bool,
    attachments: bool,
    /// The server's origin, for the download URLs of uploaded attachments.
    origin: String,
}

impl Include {
    fn from_call(call: &Call) -> Result<Include, TrelloError> {
        Ok(Include {
            fields: call.flag("customFieldItems")?.unwrap_or(false),
            checklists: match call.text("checklists").as_deref() {
                None | Some("none") => false,
                Some("all") => true,
                Some(_) => return Err(TrelloError::invalid_value("checklists")),
            },
            attachments: match call.text("attachments").as_deref() {
                None | Some("false") => false,
                Some("true") | Some("cover") => true,
                Some(_) => return Err(TrelloError::invalid_value("attachments")),
            },
            origin: call.origin.clone(),
        })
    }
}

/// The checklists of a card in position order.
pub fn checklists_of<'a>(d: &'a TrelloData, card: &str) -> Vec<&'a Checklist> {
    let mut v: Vec<&Checklist> = d
        .checklists
        .values()
        .filter(|c| c.id_card == card)
        .collect();
    v.sort_by(|a, b| a.pos.total_cmp(&b.pos));
    v
}

/// A card as Trello renders it, with what `inc` asks for.
pub fn card_json(d: &TrelloData, c: &Card, inc: &Include) -> Value {
    let checklists = checklists_of(d, &c.id);
    let attachments: Vec<_> = d
        .attachments
        .values()
        .filter(|a| a.id_card == c.id)
        .collect();
    let comments = d
        .actions
        .iter()
        .filter(|a| a.kind == "commentCard" && a.id_card.as_deref() == Some(c.id.as_str()))
        .count();
    let items: usize = checklists.iter().map(|l| l.check_items.len()).sum();
    let checked: usize = checklists
        .iter()
        .flat_map(|l| &l.check_items)
        .filter(|i| i.state == "complete")
        .count();
    let labels: Vec<Value> = c
        .id_labels
        .iter()
        .filter_map(|id| d.labels.get(id))
        .map(|l| json!({ "id": l.id, "idBoard": l.id_board, "name": l.name, "color": l.color }))
        .collect();
    let link = short_link(&c.id);
    let mut v = json!({
        "id": c.id,
        "name": c.name,
        "desc": c.desc,
        "idBoard": c.id_board,
        "idList": c.id_list,
        "idShort": c.id_short,
        "closed": c.closed,
        "pos": c.pos,
        "due": c.due,
        "dueComplete": c.due_complete,
        "start": null,
        "idLabels": c.id_labels,
        "labels": labels,
        "idMembers": c.id_members,
        "idChecklists": checklists.iter().map(|l| l.id.clone()).collect::<Vec<_>>(),
        "dateLastActivity": iso(c.last_activity_ms),
        "shortLink": link,
        "shortUrl": format!("https://trello.com/c/{link}"),
        "url": format!("https://trello.com/c/{link}/{}", c.id_short),
        "badges": {
            "comments": comments,
            "attachments": attachments.len(),
            "checkItems": items,
            "checkItemsChecked": checked,
            "due": c.due,
            "dueComplete": c.due_complete,
            "description": !c.desc.is_empty(),
        },
    });
    if inc.fields {
        v["customFieldItems"] = c
            .field_items
            .iter()
            .map(|i| field_item_json(i, &c.id))
            .collect();
    }
    if inc.checklists {
        v["checklists"] = checklists.into_iter().map(checklist_json).collect();
    }
    if inc.attachments {
        v["attachments"] = attachments
            .into_iter()
            .map(|a| attachment_json(a, &inc.origin))
            .collect();
    }
    v
}

/// The cards of a board (or one list) by filter (`open`/`visible`, `closed`, `all`), in list
/// then position order.
fn cards_where(
    d: &TrelloData,
    keep: impl Fn(&Card) -> bool,
    filter: &str,
    inc: Include,
) -> Result<Value, TrelloError> {
    let by_state = |c: &&Card| match filter {
        "open" | "visible" => !c.closed,
        "closed" => c.closed,
        _ => true,
    };
    if !matches!(filter, "open" | "visible" | "closed" | "all") {
        return Err(TrelloError::invalid_value("filter"));
    }
    let mut cards: Vec<&Card> = d
        .cards
        .values()
        .filter(|c| keep(c))
        .filter(by_state)
        .collect();
    let list_pos = |c: &Card| d.lists.get(&c.id_list).map_or(0.0, |l| l.pos);
    cards.sort_by(|a, b| {
        list_pos(a)
            .total_cmp(&list_pos(b))
            .then(a.pos.total_cmp(&b.pos))
    });
    Ok(cards.into_iter().map(|c| card_json(d, c, &inc)).collect())
}

fn board_cards_in(
    d: &TrelloData,
    id: &str,
    filter: &str,
    call: &Call,
) -> Result<Value, TrelloError> {
    check_id(id)?;
    if !d.boards.contains_key(id) {
        return Err(TrelloError::not_found());
    }
    cards_where(d, |c| c.id_board == id, filter, Include::from_call(call)?)
}

/// `GET /1/boards/{id}/cards`.
pub async fn board_cards(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    call: Call,
) -> TResult {
    let filter = call.text("filter").unwrap_or_else(|| "visible".into());
    ok(app.read_trello(|d| board_cards_in(d, &id, &filter, &call))?)
}

/// `GET /1/boards/{id}/cards/{filter}`.
pub async fn board_cards_filtered(
    State(app): State<Arc<AppState>>,
    Path((id, filter)): Path<(String, String)>,
    call: Call,
) -> TResult {
    ok(app.read_trello(|d| board_cards_in(d, &id, &filter, &call))?)
}

/// `GET /1/lists/{id}/cards`.
pub async fn list_cards(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    call: Call,
) -> TResult {
    check_id(&id)?;
    let filter = call.text("filter").unwrap_or_else(|| "open".into());
    ok(app.read_trello(|d| {
        if !d.lists.contains_key(&id) {
            return Err(TrelloError::not_found());
        }
        cards_where(d, |c| c.id_list == id, &filter, Include::from_call(&call)?)
    })?)
}

/// `GET /1/cards/{id}`.
pub async fn read_card(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    call: Call,
) -> TResult {
    check_id(&id)?;
    ok(app.read_trello(|d| {
        let c = d.cards.get(&id).ok_or_else(TrelloError::not_found)?;
        Ok::<_, TrelloError>(card_json(d, c, &Include::from_call(&call)?))
    })?)
}

/// A due date parameter: ISO date or timestamp, `null` or empty to clear.
fn due_param(v: &str) -> Result<Option<String>, TrelloError> {
    if v.is_empty() || v == "null" {
        return Ok(None);
    }
    parse_time(v)
        .map(|ms| Some(iso(ms)))
        .ok_or_else(|| TrelloError::invalid_value("due"))
}

/// A comma-separated id list parameter whose ids must exist in `exists`.
fn ids_param(
    v: &str,
    name: &str,
    exists: impl Fn(&str) -> bool,
) -> Result<Vec<String>, TrelloError> {
    let ids: Vec<String> = v
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    for id in &ids {
        if !super::store::is_id(id) || !exists(id) {
            return Err(TrelloError::invalid_value(name));
        }
    }
    Ok(ids)
}

fn siblings(d: &TrelloData, list: &str, except: &str) -> Vec<f64> {
    d.cards
        .values()
        .filter(|c| c.id_list == list && c.id != except)
        .map(|c| c.pos)
        .collect()
}

/// Creates a card (`POST /1/cards`), recording `createCard` (or `copyCard`).
pub fn create_card_in(d: &mut TrelloData, call: &Call, now_ms: i64) -> Result<Value, TrelloError> {
    let id_list = call
        .text("idList")
        .ok_or_else(|| TrelloError::invalid_value("idList"))?;
    if !super::store::is_id(&id_list) {
        return Err(TrelloError::invalid_value("idList"));
    }
    let list = d
        .lists
        .get(&id_list)
        .cloned()
        .ok_or_else(|| TrelloError::invalid_value("idList"))?;
    let source = match call.text("idCardSource") {
        Some(s) => {
            check_id(&s)?;
            Some(
                d.cards
                    .get(&s)
                    .cloned()
                    .ok_or_else(|| TrelloError::invalid_value("idCardSource"))?,
            )
        }
        None => None,
    };
    let keep: Vec<String> = call
        .text("keepFromSource")
        .unwrap_or_else(|| "all".into())
        .split(',')
        .map(|s| s.trim().to_owned())
        .collect();
    let keeps = |what: &str| source.is_some() && keep.iter().any(|k| k == "all" || k == what);
    let id = d.new_id(now_ms);
    let board = list.id_board.clone();
    let short = {
        let b = d
            .boards
            .get_mut(&board)
            .ok_or_else(TrelloError::not_found)?;
        b.last_short += 1;
        b.last_short
    };
    let mut card = Card {
        id: id.clone(),
        id_board: board.clone(),
        id_list: id_list.clone(),
        id_short: short,
        name: String::new(),
        desc: String::new(),
        due: None,
        due_complete: false,
        closed: false,
        pos: 0.0,
        id_labels: Vec::new(),
        id_members: Vec::new(),
        last_activity_ms: now_ms,
        field_items: Vec::new(),
    };
    if let Some(src) = &source {
        card.name = src.name.clone();
        card.desc = src.desc.clone();
        if keeps("due") {
            card.due = src.due.clone();
            card.due_complete = src.due_complete;
        }
        if keeps("labels") {
            card.id_labels = src.id_labels.clone();
        }
        if keeps("members") {
            card.id_members = src.id_members.clone();
        }
        if keeps("customFields") {
            card.field_items = src
                .field_items
                .iter()
                .map(|i| FieldItem {
                    id: String::new(),
                    ..i.clone()
                })
                .collect();
            for item in &mut card.field_items {
                item.id = d.new_id(now_ms);
            }
        }
    }
    if let Some(name) = call.text("name") {
        card.name = name;
    }
    if let Some(desc) = call.text("desc") {
        card.desc = desc;
    }
    if let Some(due) = call.text("due") {
        card.due = due_param(&due)?;
    }
    if let Some(dc) = call.flag("dueComplete")? {
        card.due_complete = dc;
    }
    if let Some(labels) = call.text("idLabels") {
        card.id_labels = ids_param(&labels, "idLabels", |l| {
            d.labels.get(l).is_some_and(|l| l.id_board == board)
        })?;
    }
    if let Some(members) = call.text("idMembers") {
        card.id_members = ids_param(&members, "idMembers", |m| d.member(m).is_some())?;
    }
    card.pos = position(call.text("pos").as_deref(), &siblings(d, &id_list, &id))?;
    if let Some(src) = &source {
        if keeps("checklists") {
            for cl in checklists_of(d, &src.id)
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
            {
                let cid = d.new_id(now_ms);
                let mut copy = Checklist {
                    id: cid.clone(),
                    id_card: id.clone(),
                    id_board: board.clone(),
                    ..cl
                };
                for item in &mut copy.check_items {
                    item.id = d.new_id(now_ms);
                }
                d.checklists.insert(cid, copy);
            }
        }
        if keeps("attachments") {
            let copies: Vec<_> = d
                .attachments
                .values()
                .filter(|a| a.id_card == src.id)
                .cloned()
                .collect();
            for a in copies {
                let aid = d.new_id(now_ms);
                d.attachments.insert(
                    aid.clone(),
                    super::store::Attachment {
                        id: aid,
                        id_card: id.clone(),
                        ..a
                    },
                );
            }
        }
    }
    let (board_ref, list_ref) = where_json(d, &card);
    let data = match &source {
        Some(src) => json!({
            "card": card_ref(&card), "cardSource": card_ref(src),
            "list": list_ref, "board": board_ref,
        }),
        None => json!({ "card": card_ref(&card), "list": list_ref, "board": board_ref }),
    };
    let kind = if source.is_some() {
        "copyCard"
    } else {
        "createCard"
    };
    record(d, kind, &call.member, &board, Some(&id), data, now_ms);
    d.cards.insert(id.clone(), card);
    Ok(card_json(d, &d.cards[&id], &Include::default()))
}

/// `POST /1/cards`.
pub async fn create_card(State(app): State<Arc<AppState>>, call: Call) -> TResult {
    let now = app.now_ms();
    ok(app.with_trello(|d| create_card_in(d, &call, now))?)
}

/// Updates a card (`PUT /1/cards/{id}`), recording one `updateCard` with `data.old`.
pub fn update_card_in(
    d: &mut TrelloData,
    id: &str,
    call: &Call,
    now_ms: i64,
) -> Result<Value, TrelloError> {
    check_id(id)?;
    let before = d
        .cards
        .get(id)
        .cloned()
        .ok_or_else(TrelloError::not_found)?;
    let mut card = before.clone();
    if let Some(name) = call.text("name") {
        if name.trim().is_empty() {
            return Err(TrelloError::invalid_value("name"));
        }
        card.name = name;
    }
    if let Some(desc) = call.text("desc") {
        card.desc = desc;
    }
    if call.has("due") {
        card.due = due_param(&call.text("due").unwrap_or_default())?;
    }
    if let Some(dc) = call.flag("dueComplete")? {
        card.due_complete = dc;
    }
    if let Some(closed) = call.flag("closed")? {
        card.closed = closed;
    }
    if let Some(list) = call.text("idList") {
        if !super::store::is_id(&list) {
            return Err(TrelloError::invalid_value("idList"));
        }
        let l = d
            .lists
            .get(&list)
            .ok_or_else(|| TrelloError::invalid_value("idList"))?;
        card.id_board = l.id_board.clone();
        card.id_list = list;
        if card.id_list != before.id_list && !call.has("pos") {
            card.pos = position(None, &siblings(d, &card.id_list, id))?;
        }
    }
    if let Some(pos) = call.text("pos") {
        card.pos = position(Some(&pos), &siblings(d, &card.id_list, id))?;
    }
    if let Some(labels) = call.text("idLabels") {
        let board = card.id_board.clone();
        card.id_labels = ids_param(&labels, "idLabels", |l| {
            d.labels.get(l).is_some_and(|l| l.id_board == board)
        })?;
    }
    if let Some(members) = call.text("idMembers") {
        card.id_members = ids_param(&members, "idMembers", |m| d.member(m).is_some())?;
    }
    let mut old = Map::new();
    let mut now_card = card_ref(&card);
    macro_rules! diff {
        ($field:ident, $name:literal) => {
            if card.$field != before.$field {
                old.insert($name.into(), json!(before.$field));
                now_card[$name] = json!(card.$field);
            }
        };
    }
    diff!(name, "name");
    diff!(desc, "desc");
    diff!(due, "due");
    diff!(due_complete, "dueComplete");
    diff!(closed, "closed");
    diff!(id_list, "idList");
    diff!(pos, "pos");
    diff!(id_labels, "idLabels");
    diff!(id_members, "idMembers");
    if !old.is_empty() {
        card.last_activity_ms = now_ms;
        let (board_ref, list_ref) = where_json(d, &card);
        let mut data = json!({ "card": now_card, "old": old, "board": board_ref });
        if card.id_list != before.id_list {
            let (_, before_ref) = where_json(d, &before);
            data["listBefore"] = before_ref;
            data["listAfter"] = list_ref;
        } else {
            data["list"] = list_ref;
        }
        let board = card.id_board.clone();
        if card.id_board != before.id_board {
            for cl in d.checklists.values_mut().filter(|c| c.id_card == id) {
                cl.id_board = board.clone();
            }
        }
        record(
            d,
            "updateCard",
            &call.member,
            &board,
            Some(id),
            data,
            now_ms,
        );
    }
    d.cards.insert(id.to_owned(), card);
    Ok(card_json(d, &d.cards[id], &Include::default()))
}

/// `PUT /1/cards/{id}`.
pub async fn update_card(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    call: Call,
) -> TResult {
    let now = app.now_ms();
    ok(app.with_trello(|d| update_card_in(d, &id, &call, now))?)
}

/// Deletes a card for good with its checklists and attachments, recording `deleteCard`.
pub fn delete_card_in(
    d: &mut TrelloData,
    id: &str,
    member: &str,
    now_ms: i64,
) -> Result<(), TrelloError> {
    check_id(id)?;
    let card = d.cards.remove(id).ok_or_else(TrelloError::not_found)?;
    d.checklists.retain(|_, c| c.id_card != id);
    d.attachments.retain(|_, a| a.id_card != id);
    let (board_ref, list_ref) = where_json(d, &card);
    let data = json!({
        "card": { "id": card.id, "idShort": card.id_short, "shortLink": short_link(&card.id) },
        "list": list_ref,
        "board": board_ref,
    });
    record(
        d,
        "deleteCard",
        member,
        &card.id_board,
        Some(id),
        data,
        now_ms,
    );
    Ok(())
}

/// `DELETE /1/cards/{id}`.
pub async fn delete_card(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    call: Call,
) -> TResult {
    let now = app.now_ms();
    app.with_trello(|d| delete_card_in(d, &id, &call.member, now))?;
    ok(json!({ "limits": {} }))
}
