//! Members, boards and lists: `GET /members/me(/boards)`, `GET /boards/{id}` with its lists,
//! labels, members and custom fields, and lists (create, rename, close, move).

use std::sync::Arc;

use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::actions::record;
use super::store::{Board, List, TrelloData};
use super::{Call, TResult, TrelloError, check_id, member_json, ok, position, short_link};
use crate::sandbox::AppState;

/// A board as Trello renders it.
pub fn board_json(b: &Board) -> Value {
    json!({
        "id": b.id,
        "name": b.name,
        "desc": b.desc,
        "closed": b.closed,
        "shortLink": short_link(&b.id),
        "url": format!("https://trello.com/b/{}", short_link(&b.id)),
        "shortUrl": format!("https://trello.com/b/{}", short_link(&b.id)),
        "idMembers": b.id_members,
        "limits": {},
    })
}

/// A list as Trello renders it.
pub fn list_json(l: &List) -> Value {
    json!({
        "id": l.id,
        "name": l.name,
        "closed": l.closed,
        "idBoard": l.id_board,
        "pos": l.pos,
        "subscribed": false,
        "limits": {},
    })
}

/// The lists of a board in position order, by filter (`open`, `closed`, `all`).
fn lists_of(d: &TrelloData, board: &str, filter: &str) -> Result<Vec<Value>, TrelloError> {
    let keep = |l: &&List| match filter {
        "open" => !l.closed,
        "closed" => l.closed,
        "all" => true,
        _ => false,
    };
    if !matches!(filter, "open" | "closed" | "all") {
        return Err(TrelloError::invalid_value("filter"));
    }
    let mut lists: Vec<&List> = d
        .lists
        .values()
        .filter(|l| l.id_board == board)
        .filter(keep)
        .collect();
    lists.sort_by(|a, b| a.pos.total_cmp(&b.pos));
    Ok(lists.into_iter().map(list_json).collect())
}

fn board_exists(d: &TrelloData, id: &str) -> Result<(), TrelloError> {
    check_id(id)?;
    if d.boards.contains_key(id) {
        Ok(())
    } else {
        Err(TrelloError::not_found())
    }
}

/// `GET /1/members/me`.
pub async fn me(State(app): State<Arc<AppState>>, call: Call) -> TResult {
    let v = app.read_trello(|d| {
        let mut m = member_json(d, &call.member);
        m["idBoards"] = d
            .boards
            .values()
            .filter(|b| b.id_members.contains(&call.member))
            .map(|b| json!(b.id))
            .collect();
        m
    });
    ok(v)
}

/// `GET /1/members/me/boards`.
pub async fn my_boards(State(app): State<Arc<AppState>>, call: Call) -> TResult {
    let v = app.read_trello(|d| {
        d.boards
            .values()
            .filter(|b| b.id_members.contains(&call.member))
            .map(board_json)
            .collect::<Vec<_>>()
    });
    ok(Value::Array(v))
}

/// `GET /1/boards/{id}` (with `lists`, `labels`, `customFields=true` when asked).
pub async fn board(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    call: Call,
) -> TResult {
    let v = app.read_trello(|d| {
        board_exists(d, &id)?;
        let b = &d.boards[&id];
        let mut v = board_json(b);
        if let Some(f) = call.text("lists").filter(|f| f != "none") {
            v["lists"] = Value::Array(lists_of(d, &id, &f)?);
        }
        if call.text("labels").is_some_and(|l| l != "none") {
            v["labels"] = labels_of(d, &id);
        }
        if call.flag("customFields")? == Some(true) {
            v["customFields"] = fields_of(d, &id);
        }
        Ok(v)
    })?;
    ok(v)
}

/// `GET /1/boards/{id}/lists` (`filter` in the query, default `open`).
pub async fn board_lists(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    call: Call,
) -> TResult {
    let filter = call.text("filter").unwrap_or_else(|| "open".into());
    let v = app.read_trello(|d| {
        board_exists(d, &id)?;
        lists_of(d, &id, &filter)
    })?;
    ok(Value::Array(v))
}

/// `GET /1/boards/{id}/lists/{filter}`.
pub async fn board_lists_filtered(
    State(app): State<Arc<AppState>>,
    Path((id, filter)): Path<(String, String)>,
) -> TResult {
    let v = app.read_trello(|d| {
        board_exists(d, &id)?;
        lists_of(d, &id, &filter)
    })?;
    ok(Value::Array(v))
}

fn labels_of(d: &TrelloData, board: &str) -> Value {
    d.labels
        .values()
        .filter(|l| l.id_board == board)
        .map(|l| json!({ "id": l.id, "idBoard": l.id_board, "name": l.name, "color": l.color }))
        .collect()
}

/// A custom field definition as Trello renders it.
pub fn field_json(f: &super::store::CustomField) -> Value {
    let mut v = json!({
        "id": f.id,
        "idModel": f.id_board,
        "modelType": "board",
        "fieldGroup": f.id,
        "name": f.name,
        "pos": f.pos,
        "type": f.kind,
        "display": { "cardFront": true },
    });
    if f.kind == "list" {
        v["options"] = f
            .options
            .iter()
            .map(|(id, text)| {
                json!({ "id": id, "idCustomField": f.id, "value": { "text": text }, "color": "none" })
            })
            .collect();
    }
    v
}

fn fields_of(d: &TrelloData, board: &str) -> Value {
    let mut fields: Vec<_> = d
        .custom_fields
        .values()
        .filter(|f| f.id_board == board)
        .collect();
    fields.sort_by(|a, b| a.pos.total_cmp(&b.pos));
    fields.into_iter().map(field_json).collect()
}

/// `GET /1/boards/{id}/labels`.
pub async fn board_labels(State(app): State<Arc<AppState>>, Path(id): Path<String>) -> TResult {
    let v = app.read_trello(|d| {
        board_exists(d, &id)?;
        Ok(labels_of(d, &id))
    })?;
    ok(v)
}

/// `GET /1/boards/{id}/members`.
pub async fn board_members(State(app): State<Arc<AppState>>, Path(id): Path<String>) -> TResult {
    let v = app.read_trello(|d| {
        board_exists(d, &id)?;
        Ok(d.boards[&id]
            .id_members
            .iter()
            .map(|m| member_json(d, m))
            .collect::<Value>())
    })?;
    ok(v)
}

/// `GET /1/boards/{id}/customFields`.
pub async fn board_custom_fields(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> TResult {
    let v = app.read_trello(|d| {
        board_exists(d, &id)?;
        Ok(fields_of(d, &id))
    })?;
    ok(v)
}

/// Creates a list on a board (`name` required, `pos`), recording `createList`.
pub fn create_list_in(
    d: &mut TrelloData,
    board: &str,
    call: &Call,
    now_ms: i64,
) -> Result<Value, TrelloError> {
    board_exists(d, board)?;
    let name = call
        .text("name")
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| TrelloError::invalid_value("name"))?;
    let siblings: Vec<f64> = d
        .lists
        .values()
        .filter(|l| l.id_board == board)
        .map(|l| l.pos)
        .collect();
    let pos = position(call.text("pos").as_deref(), &siblings)?;
    let id = d.new_id(now_ms);
    let list = List {
        id: id.clone(),
        id_board: board.to_owned(),
        name,
        closed: false,
        pos,
    };
    let v = list_json(&list);
    let board_ref = json!({ "id": board, "name": d.boards[board].name });
    record(
        d,
        "createList",
        &call.member,
        board,
        None,
        json!({ "list": { "id": id, "name": list.name }, "board": board_ref }),
        now_ms,
    );
    d.lists.insert(id, list);
    Ok(v)
}

/// `POST /1/boards/{id}/lists`.
pub async fn board_create_list(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    call: Call,
) -> TResult {
    let now = app.now_ms();
    let v = app.with_trello(|d| create_list_in(d, &id, &call, now))?;
    ok(v)
}

/// `POST /1/lists` (`name`, `idBoard`, `pos`).
pub async fn create_list(State(app): State<Arc<AppState>>, call: Call) -> TResult {
    let board = call
        .text("idBoard")
        .ok_or_else(|| TrelloError::invalid_value("idBoard"))?;
    let now = app.now_ms();
    let v = app.with_trello(|d| create_list_in(d, &board, &call, now))?;
    ok(v)
}

/// `GET /1/lists/{id}`.
pub async fn read_list(State(app): State<Arc<AppState>>, Path(id): Path<String>) -> TResult {
    check_id(&id)?;
    let v = app
        .read_trello(|d| d.lists.get(&id).map(list_json))
        .ok_or_else(TrelloError::not_found)?;
    ok(v)
}

/// Updates a list (`name`, `closed`, `pos`, `idBoard`), recording `updateList` with `data.old`.
pub fn update_list_in(
    d: &mut TrelloData,
    id: &str,
    call: &Call,
    now_ms: i64,
) -> Result<Value, TrelloError> {
    check_id(id)?;
    let before = d
        .lists
        .get(id)
        .cloned()
        .ok_or_else(TrelloError::not_found)?;
    let mut list = before.clone();
    if let Some(name) = call.text("name") {
        if name.trim().is_empty() {
            return Err(TrelloError::invalid_value("name"));
        }
        list.name = name;
    }
    if let Some(closed) = call.flag("closed")? {
        list.closed = closed;
    }
    if let Some(board) = call.text("idBoard") {
        check_id(&board)?;
        if !d.boards.contains_key(&board) {
            return Err(TrelloError::invalid_value("idBoard"));
        }
        list.id_board = board;
    }
    if let Some(pos) = call.text("pos") {
        let siblings: Vec<f64> = d
            .lists
            .values()
            .filter(|l| l.id_board == list.id_board && l.id != id)
            .map(|l| l.pos)
            .collect();
        list.pos = position(Some(&pos), &siblings)?;
    }
    let mut changed = serde_json::Map::new();
    let mut old = serde_json::Map::new();
    if list.name != before.name {
        changed.insert("name".into(), json!(list.name));
        old.insert("name".into(), json!(before.name));
    }
    if list.closed != before.closed {
        changed.insert("closed".into(), json!(list.closed));
        old.insert("closed".into(), json!(before.closed));
    }
    if list.pos != before.pos {
        changed.insert("pos".into(), json!(list.pos));
        old.insert("pos".into(), json!(before.pos));
    }
    if list.id_board != before.id_board {
        changed.insert("idBoard".into(), json!(list.id_board));
        old.insert("idBoard".into(), json!(before.id_board));
        for c in d.cards.values_mut().filter(|c| c.id_list == id) {
            c.id_board = list.id_board.clone();
        }
    }
    let v = list_json(&list);
    if !old.is_empty() {
        let mut list_ref = json!({ "id": id, "name": list.name });
        for (k, val) in changed {
            list_ref[k] = val;
        }
        let board_ref = json!({ "id": before.id_board, "name": d.boards.get(&before.id_board).map(|b| b.name.clone()) });
        record(
            d,
            "updateList",
            &call.member,
            &before.id_board,
            None,
            json!({ "list": list_ref, "old": old, "board": board_ref }),
            now_ms,
        );
    }
    d.lists.insert(id.to_owned(), list);
    Ok(v)
}

/// `PUT /1/lists/{id}`.
pub async fn update_list(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    call: Call,
) -> TResult {
    let now = app.now_ms();
    let v = app.with_trello(|d| update_list_in(d, &id, &call, now))?;
    ok(v)
}

/// `PUT /1/lists/{id}/{field}` (`closed`, `name`, `pos`, `idBoard`) with `value`.
pub async fn update_list_field(
    State(app): State<Arc<AppState>>,
    Path((id, field)): Path<(String, String)>,
    mut call: Call,
) -> TResult {
    if !matches!(field.as_str(), "closed" | "name" | "pos" | "idBoard") {
        return Err(TrelloError::not_found());
    }
    let value = call
        .params
        .remove("value")
        .ok_or_else(|| TrelloError::invalid_value("value"))?;
    call.params.insert(field, value);
    let now = app.now_ms();
    let v = app.with_trello(|d| update_list_in(d, &id, &call, now))?;
    ok(v)
}
