//! What hangs on a card: checklists and their check items (create, rename, check/uncheck,
//! delete), comments (`commentCard` actions: add, edit, delete), custom field definitions and
//! the card's custom field items, and attachments (multipart upload or link, list, download of
//! the bytes, delete). Each change is recorded in the actions feed.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::actions::{action_json, record};
use super::boards::field_json;
use super::store::{Attachment, CheckItem, Checklist, CustomField, FieldItem, TrelloData};
use super::{Call, TResult, TrelloError, card_ref, check_id, iso, ok, position, where_json};
use crate::sandbox::AppState;

// ---- checklists ----

/// A checklist as Trello renders it.
pub fn checklist_json(c: &Checklist) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "idCard": c.id_card,
        "idBoard": c.id_board,
        "pos": c.pos,
        "checkItems": c.check_items.iter().map(|i| check_item_json(i, &c.id)).collect::<Vec<_>>(),
    })
}

fn check_item_json(i: &CheckItem, checklist: &str) -> Value {
    json!({
        "id": i.id,
        "name": i.name,
        "state": i.state,
        "idChecklist": checklist,
        "pos": i.pos,
        "due": null,
        "idMember": null,
    })
}

/// Card, board and list refs for the action data of something on card `id`.
fn card_refs(d: &TrelloData, id: &str) -> Result<(String, Value, Value, Value), TrelloError> {
    let c = d.cards.get(id).ok_or_else(TrelloError::not_found)?;
    let (board, list) = where_json(d, c);
    Ok((c.id_board.clone(), card_ref(c), board, list))
}

fn touch(d: &mut TrelloData, card: &str, now_ms: i64) {
    if let Some(c) = d.cards.get_mut(card) {
        c.last_activity_ms = now_ms;
    }
}

/// Adds a checklist to a card (copying `idChecklistSource`'s items when given).
fn add_checklist(
    d: &mut TrelloData,
    card: &str,
    call: &Call,
    now_ms: i64,
) -> Result<Value, TrelloError> {
    check_id(card)?;
    let (board, cref, bref, _) = card_refs(d, card)?;
    let source = match call.text("idChecklistSource") {
        Some(s) => {
            check_id(&s)?;
            Some(
                d.checklists
                    .get(&s)
                    .cloned()
                    .ok_or_else(|| TrelloError::invalid_value("idChecklistSource"))?,
            )
        }
        None => None,
    };
    let siblings: Vec<f64> = d
        .checklists
        .values()
        .filter(|c| c.id_card == card)
        .map(|c| c.pos)
        .collect();
    let pos = position(call.text("pos").as_deref(), &siblings)?;
    let id = d.new_id(now_ms);
    let mut items = source
        .as_ref()
        .map(|s| s.check_items.clone())
        .unwrap_or_default();
    for i in &mut items {
        i.id = d.new_id(now_ms);
    }
    let name = call
        .text("name")
        .or_else(|| source.as_ref().map(|s| s.name.clone()))
        .unwrap_or_else(|| "Checklist".into());
    let cl = Checklist {
        id: id.clone(),
        id_card: card.to_owned(),
        id_board: board.clone(),
        name,
        pos,
        check_items: items,
    };
    let v = checklist_json(&cl);
    let data = json!({ "card": cref, "board": bref, "checklist": { "id": id, "name": cl.name } });
    record(
        d,
        "addChecklistToCard",
        &call.member,
        &board,
        Some(card),
        data,
        now_ms,
    );
    d.checklists.insert(id, cl);
    touch(d, card, now_ms);
    Ok(v)
}

/// `GET /1/cards/{id}/checklists`.
pub async fn card_checklists(State(app): State<Arc<AppState>>, Path(id): Path<String>) -> TResult {
    check_id(&id)?;
    ok(app.read_trello(|d| {
        if !d.cards.contains_key(&id) {
            return Err(TrelloError::not_found());
        }
        Ok(super::cards::checklists_of(d, &id)
            .into_iter()
            .map(checklist_json)
            .collect::<Value>())
    })?)
}

/// `POST /1/cards/{id}/checklists`.
pub async fn card_create_checklist(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    call: Call,
) -> TResult {
    let now = app.now_ms();
    ok(app.with_trello(|d| add_checklist(d, &id, &call, now))?)
}

/// `POST /1/checklists` (`idCard` required).
pub async fn create_checklist(State(app): State<Arc<AppState>>, call: Call) -> TResult {
    let card = call
        .text("idCard")
        .ok_or_else(|| TrelloError::invalid_value("idCard"))?;
    if !super::store::is_id(&card) {
        return Err(TrelloError::invalid_value("idCard"));
    }
    let now = app.now_ms();
    ok(app.with_trello(|d| add_checklist(d, &card, &call, now))?)
}

/// `GET /1/checklists/{id}`.
pub async fn read_checklist(State(app): State<Arc<AppState>>, Path(id): Path<String>) -> TResult {
    check_id(&id)?;
    ok(app
        .read_trello(|d| d.checklists.get(&id).map(checklist_json))
        .ok_or_else(TrelloError::not_found)?)
}

/// `PUT /1/checklists/{id}` (`name`, `pos`), recording `updateChecklist`.
pub async fn update_checklist(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    call: Call,
) -> TResult {
    check_id(&id)?;
    let now = app.now_ms();
    ok(app.with_trello(|d| {
        let before = d
            .checklists
            .get(&id)
            .cloned()
            .ok_or_else(TrelloError::not_found)?;
        let mut cl = before.clone();
        if let Some(name) = call.text("name") {
            if name.trim().is_empty() {
                return Err(TrelloError::invalid_value("name"));
            }
            cl.name = name;
        }
        if let Some(pos) = call.text("pos") {
            cl.pos = position(Some(&pos), &[])?;
        }
        if cl.name != before.name {
            let (board, cref, bref, _) = card_refs(d, &cl.id_card)?;
            let data = json!({
                "card": cref, "board": bref,
                "checklist": { "id": id, "name": cl.name },
                "old": { "name": before.name },
            });
            record(
                d,
                "updateChecklist",
                &call.member,
                &board,
                Some(&cl.id_card),
                data,
                now,
            );
        }
        let v = checklist_json(&cl);
        d.checklists.insert(id.clone(), cl);
        Ok(v)
    })?)
}

/// `DELETE /1/checklists/{id}`, recording `removeChecklistFromCard`.
pub async fn delete_checklist(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    call: Call,
) -> TResult {
    check_id(&id)?;
    let now = app.now_ms();
    app.with_trello(|d| {
        let cl = d
            .checklists
            .remove(&id)
            .ok_or_else(TrelloError::not_found)?;
        let (board, cref, bref, _) = card_refs(d, &cl.id_card)?;
        let data =
            json!({ "card": cref, "board": bref, "checklist": { "id": id, "name": cl.name } });
        record(
            d,
            "removeChecklistFromCard",
            &call.member,
            &board,
            Some(&cl.id_card),
            data,
            now,
        );
        touch(d, &cl.id_card, now);
        Ok::<_, TrelloError>(())
    })?;
    ok(json!({ "limits": {} }))
}

/// `GET /1/checklists/{id}/checkItems`.
pub async fn list_check_items(State(app): State<Arc<AppState>>, Path(id): Path<String>) -> TResult {
    check_id(&id)?;
    ok(app
        .read_trello(|d| {
            d.checklists.get(&id).map(|c| {
                c.check_items
                    .iter()
                    .map(|i| check_item_json(i, &c.id))
                    .collect::<Value>()
            })
        })
        .ok_or_else(TrelloError::not_found)?)
}

/// `POST /1/checklists/{id}/checkItems` (`name` required, `pos`, `checked`), recording
/// `createCheckItem`.
pub async fn create_check_item(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    call: Call,
) -> TResult {
    check_id(&id)?;
    let now = app.now_ms();
    ok(app.with_trello(|d| {
        let name = call
            .text("name")
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| TrelloError::invalid_value("name"))?;
        let checked = call.flag("checked")?.unwrap_or(false);
        let cl = d
            .checklists
            .get(&id)
            .cloned()
            .ok_or_else(TrelloError::not_found)?;
        let siblings: Vec<f64> = cl.check_items.iter().map(|i| i.pos).collect();
        let pos = position(call.text("pos").as_deref(), &siblings)?;
        let item = CheckItem {
            id: d.new_id(now),
            name,
            state: if checked { "complete" } else { "incomplete" }.into(),
            pos,
        };
        let v = check_item_json(&item, &id);
        let (board, cref, bref, _) = card_refs(d, &cl.id_card)?;
        let data = json!({
            "card": cref, "board": bref,
            "checklist": { "id": id, "name": cl.name },
            "checkItem": { "id": item.id, "name": item.name, "state": item.state },
        });
        record(
            d,
            "createCheckItem",
            &call.member,
            &board,
            Some(&cl.id_card),
            data,
            now,
        );
        if let Some(c) = d.checklists.get_mut(&id) {
            c.check_items.push(item);
            c.check_items.sort_by(|a, b| a.pos.total_cmp(&b.pos));
        }
        touch(d, &cl.id_card, now);
        Ok::<_, TrelloError>(v)
    })?)
}

/// Updates a check item of a card (`name`, `state`, `pos`, `idChecklist`): `updateCheckItem`
/// for a rename, `updateCheckItemStateOnCard` for a check or uncheck.
fn update_item(
    d: &mut TrelloData,
    card: &str,
    item_id: &str,
    call: &Call,
    now_ms: i64,
) -> Result<Value, TrelloError> {
    check_id(card)?;
    check_id(item_id)?;
    let (board, cref, bref, _) = card_refs(d, card)?;
    let cl = d
        .checklists
        .values()
        .find(|c| c.id_card == card && c.check_items.iter().any(|i| i.id == item_id))
        .cloned()
        .ok_or_else(TrelloError::not_found)?;
    let before = cl
        .check_items
        .iter()
        .find(|i| i.id == item_id)
        .cloned()
        .ok_or_else(TrelloError::not_found)?;
    let mut item = before.clone();
    if let Some(name) = call.text("name") {
        if name.trim().is_empty() {
            return Err(TrelloError::invalid_value("name"));
        }
        item.name = name;
    }
    if let Some(state) = call.text("state") {
        item.state = match state.as_str() {
            "complete" | "true" => "complete".into(),
            "incomplete" | "false" => "incomplete".into(),
            _ => return Err(TrelloError::invalid_value("state")),
        };
    }
    if let Some(pos) = call.text("pos") {
        let siblings: Vec<f64> = cl
            .check_items
            .iter()
            .filter(|i| i.id != item_id)
            .map(|i| i.pos)
            .collect();
        item.pos = position(Some(&pos), &siblings)?;
    }
    let target = match call.text("idChecklist") {
        Some(t) if t != cl.id => {
            check_id(&t)?;
            if d.checklists.get(&t).is_none_or(|c| c.id_card != card) {
                return Err(TrelloError::invalid_value("idChecklist"));
            }
            t
        }
        _ => cl.id.clone(),
    };
    let cl_ref = json!({ "id": target, "name": d.checklists[&target].name });
    if item.name != before.name {
        let data = json!({
            "card": cref, "board": bref, "checklist": cl_ref,
            "checkItem": { "id": item.id, "name": item.name, "state": item.state },
            "old": { "name": before.name },
        });
        record(
            d,
            "updateCheckItem",
            &call.member,
            &board,
            Some(card),
            data,
            now_ms,
        );
    }
    if item.state != before.state {
        let data = json!({
            "card": cref, "board": bref, "checklist": cl_ref,
            "checkItem": { "id": item.id, "name": item.name, "state": item.state },
        });
        record(
            d,
            "updateCheckItemStateOnCard",
            &call.member,
            &board,
            Some(card),
            data,
            now_ms,
        );
    }
    if let Some(c) = d.checklists.get_mut(&cl.id) {
        c.check_items.retain(|i| i.id != item_id);
    }
    let v = check_item_json(&item, &target);
    if let Some(c) = d.checklists.get_mut(&target) {
        c.check_items.push(item);
        c.check_items.sort_by(|a, b| a.pos.total_cmp(&b.pos));
    }
    touch(d, card, now_ms);
    Ok(v)
}

/// `PUT /1/cards/{id}/checkItem/{idCheckItem}`.
pub async fn update_check_item(
    State(app): State<Arc<AppState>>,
    Path((id, item)): Path<(String, String)>,
    call: Call,
) -> TResult {
    let now = app.now_ms();
    ok(app.with_trello(|d| update_item(d, &id, &item, &call, now))?)
}

/// `PUT /1/cards/{id}/checklist/{idChecklist}/checkItem/{idCheckItem}`.
pub async fn update_check_item_in(
    State(app): State<Arc<AppState>>,
    Path((id, checklist, item)): Path<(String, String, String)>,
    mut call: Call,
) -> TResult {
    check_id(&checklist)?;
    call.params
        .entry("idChecklist".into())
        .or_insert(Value::String(checklist));
    let now = app.now_ms();
    ok(app.with_trello(|d| update_item(d, &id, &item, &call, now))?)
}

/// Deletes a check item (of a card, or of a checklist), recording `deleteCheckItem`.
fn delete_item(
    d: &mut TrelloData,
    card: Option<&str>,
    checklist: Option<&str>,
    item_id: &str,
    member: &str,
    now_ms: i64,
) -> Result<(), TrelloError> {
    check_id(item_id)?;
    let cl = d
        .checklists
        .values()
        .find(|c| {
            card.is_none_or(|k| c.id_card == k)
                && checklist.is_none_or(|k| c.id == k)
                && c.check_items.iter().any(|i| i.id == item_id)
        })
        .cloned()
        .ok_or_else(TrelloError::not_found)?;
    let item = cl
        .check_items
        .iter()
        .find(|i| i.id == item_id)
        .cloned()
        .ok_or_else(TrelloError::not_found)?;
    let (board, cref, bref, _) = card_refs(d, &cl.id_card)?;
    let data = json!({
        "card": cref, "board": bref,
        "checklist": { "id": cl.id, "name": cl.name },
        "checkItem": { "id": item.id, "name": item.name, "state": item.state },
    });
    record(
        d,
        "deleteCheckItem",
        member,
        &board,
        Some(&cl.id_card),
        data,
        now_ms,
    );
    if let Some(c) = d.checklists.get_mut(&cl.id) {
        c.check_items.retain(|i| i.id != item_id);
    }
    touch(d, &cl.id_card, now_ms);
    Ok(())
}

/// `DELETE /1/cards/{id}/checkItem/{idCheckItem}`.
pub async fn card_delete_check_item(
    State(app): State<Arc<AppState>>,
    Path((id, item)): Path<(String, String)>,
    call: Call,
) -> TResult {
    check_id(&id)?;
    let now = app.now_ms();
    app.with_trello(|d| delete_item(d, Some(&id), None, &item, &call.member, now))?;
    ok(json!({ "limits": {} }))
}

/// `DELETE /1/checklists/{id}/checkItems/{idCheckItem}`.
pub async fn delete_check_item(
    State(app): State<Arc<AppState>>,
    Path((id, item)): Path<(String, String)>,
    call: Call,
) -> TResult {
    check_id(&id)?;
    let now = app.now_ms();
    app.with_trello(|d| delete_item(d, None, Some(&id), &item, &call.member, now))?;
    ok(json!({ "limits": {} }))
}

// ---- comments ----

/// Adds a comment (`commentCard` action) to a card; returns the action.
pub fn comment_in(
    d: &mut TrelloData,
    card: &str,
    text: &str,
    member: &str,
    now_ms: i64,
) -> Result<Value, TrelloError> {
    check_id(card)?;
    let (board, cref, bref, lref) = card_refs(d, card)?;
    if text.trim().is_empty() {
        return Err(TrelloError::invalid_value("text"));
    }
    let data = json!({ "text": text, "card": cref, "board": bref, "list": lref });
    let id = record(d, "commentCard", member, &board, Some(card), data, now_ms);
    touch(d, card, now_ms);
    let a = d.actions.last().ok_or_else(TrelloError::not_found)?;
    debug_assert_eq!(a.id, id);
    Ok(action_json(d, a))
}

/// `POST /1/cards/{id}/actions/comments` (`text`).
pub async fn add_comment(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    call: Call,
) -> TResult {
    let text = call
        .text("text")
        .ok_or_else(|| TrelloError::invalid_value("text"))?;
    let now = app.now_ms();
    ok(app.with_trello(|d| comment_in(d, &id, &text, &call.member, now))?)
}

fn comment_index(d: &TrelloData, card: &str, action: &str) -> Result<usize, TrelloError> {
    check_id(card)?;
    check_id(action)?;
    d.actions
        .iter()
        .position(|a| {
            a.id == action && a.kind == "commentCard" && a.id_card.as_deref() == Some(card)
        })
        .ok_or_else(TrelloError::not_found)
}

/// `PUT /1/cards/{id}/actions/{idAction}/comments` (`text`): only the comment's author may edit
/// it; records `updateComment`.
pub async fn edit_comment(
    State(app): State<Arc<AppState>>,
    Path((id, action)): Path<(String, String)>,
    call: Call,
) -> TResult {
    let text = call
        .text("text")
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| TrelloError::invalid_value("text"))?;
    let now = app.now_ms();
    ok(app.with_trello(|d| {
        let i = comment_index(d, &id, &action)?;
        if d.actions[i].id_member_creator != call.member {
            return Err(TrelloError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized comment permission requested",
            ));
        }
        let old = d.actions[i].data["text"].clone();
        d.actions[i].data["text"] = json!(text);
        d.actions[i].data["dateLastEdited"] = json!(iso(now));
        let (board, cref, bref, _) = card_refs(d, &id)?;
        let data = json!({
            "action": { "id": action, "text": text },
            "old": { "text": old },
            "card": cref, "board": bref,
        });
        record(
            d,
            "updateComment",
            &call.member,
            &board,
            Some(&id),
            data,
            now,
        );
        Ok(action_json(d, &d.actions[i]))
    })?)
}

/// `DELETE /1/cards/{id}/actions/{idAction}/comments`: removes the comment; records
/// `deleteComment`.
pub async fn delete_comment(
    State(app): State<Arc<AppState>>,
    Path((id, action)): Path<(String, String)>,
    call: Call,
) -> TResult {
    let now = app.now_ms();
    app.with_trello(|d| {
        let i = comment_index(d, &id, &action)?;
        if d.actions[i].id_member_creator != call.member {
            return Err(TrelloError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized comment permission requested",
            ));
        }
        d.actions.remove(i);
        let (board, cref, bref, _) = card_refs(d, &id)?;
        let data = json!({ "action": { "id": action }, "card": cref, "board": bref });
        record(
            d,
            "deleteComment",
            &call.member,
            &board,
            Some(&id),
            data,
            now,
        );
        Ok::<_, TrelloError>(())
    })?;
    ok(json!({ "limits": {} }))
}

// ---- custom fields ----

/// `POST /1/customFields` (`idModel` board, `modelType` `board`, `name`, `type`, `pos`,
/// `options` for a list field).
pub async fn create_custom_field(State(app): State<Arc<AppState>>, call: Call) -> TResult {
    let board = call
        .text("idModel")
        .ok_or_else(|| TrelloError::invalid_value("idModel"))?;
    check_id(&board)?;
    if call.text("modelType").is_some_and(|m| m != "board") {
        return Err(TrelloError::invalid_value("modelType"));
    }
    let name = call
        .text("name")
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| TrelloError::invalid_value("name"))?;
    let kind = call.text("type").unwrap_or_else(|| "text".into());
    if !matches!(
        kind.as_str(),
        "text" | "number" | "date" | "checkbox" | "list"
    ) {
        return Err(TrelloError::invalid_value("type"));
    }
    let now = app.now_ms();
    ok(app.with_trello(|d| {
        if !d.boards.contains_key(&board) {
            return Err(TrelloError::not_found());
        }
        let siblings: Vec<f64> = d
            .custom_fields
            .values()
            .filter(|f| f.id_board == board)
            .map(|f| f.pos)
            .collect();
        let pos = position(call.text("pos").as_deref(), &siblings)?;
        let id = d.new_id(now);
        let mut options = Vec::new();
        if let Some(Value::Array(opts)) = call.params.get("options") {
            for o in opts {
                let text = o["value"]["text"].as_str().unwrap_or_default().to_owned();
                options.push((d.new_id(now), text));
            }
        }
        let f = CustomField {
            id: id.clone(),
            id_board: board.clone(),
            name,
            kind,
            pos,
            options,
        };
        let v = field_json(&f);
        d.custom_fields.insert(id, f);
        Ok(v)
    })?)
}

/// `GET /1/customFields/{id}`.
pub async fn read_custom_field(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> TResult {
    check_id(&id)?;
    ok(app
        .read_trello(|d| d.custom_fields.get(&id).map(field_json))
        .ok_or_else(TrelloError::not_found)?)
}

/// A custom field item as Trello renders it.
pub fn field_item_json(i: &FieldItem, card: &str) -> Value {
    let mut v = json!({
        "id": i.id,
        "idCustomField": i.id_custom_field,
        "idModel": card,
        "modelType": "card",
    });
    match (&i.value, &i.id_value) {
        (_, Some(idv)) => v["idValue"] = json!(idv),
        (Some(val), None) => v["value"] = val.clone(),
        (None, None) => {}
    }
    v
}

/// Sets (or clears, with an empty value) a card's custom field item, as
/// `PUT /1/cards/{id}/customField/{idCustomField}/item` does; records `updateCustomFieldItem`.
pub fn set_field_in(
    d: &mut TrelloData,
    card: &str,
    field: &str,
    body: &Call,
    now_ms: i64,
) -> Result<Value, TrelloError> {
    check_id(card)?;
    check_id(field)?;
    let (board, cref, bref, _) = card_refs(d, card)?;
    let def = d
        .custom_fields
        .get(field)
        .filter(|f| f.id_board == board)
        .cloned()
        .ok_or_else(TrelloError::not_found)?;
    let value = body.params.get("value").cloned();
    let id_value = body.text("idValue");
    let clear = match (&value, &id_value) {
        (Some(Value::String(s)), _) if s.is_empty() => true,
        (None | Some(Value::Null), None) => true,
        (None | Some(Value::Null), Some(s)) => s.is_empty(),
        _ => false,
    };
    let (new_value, new_id_value) = if clear {
        (None, None)
    } else if def.kind == "list" {
        let idv = id_value.ok_or_else(|| TrelloError::invalid_value("idValue"))?;
        if !def.options.iter().any(|(id, _)| *id == idv) {
            return Err(TrelloError::invalid_value("idValue"));
        }
        (None, Some(idv))
    } else {
        let v = value.ok_or_else(|| TrelloError::invalid_value("value"))?;
        let key = match def.kind.as_str() {
            "checkbox" => "checked",
            k => k,
        };
        let inner = v
            .get(key)
            .ok_or_else(|| TrelloError::invalid_value("value"))?;
        let ok_shape = match key {
            "text" => inner.is_string(),
            "number" => {
                inner.as_str().is_some_and(|s| s.parse::<f64>().is_ok()) || inner.is_number()
            }
            "date" => inner
                .as_str()
                .is_some_and(|s| super::parse_time(s).is_some()),
            "checked" => matches!(inner.as_str(), Some("true" | "false")) || inner.is_boolean(),
            _ => false,
        };
        if !ok_shape {
            return Err(TrelloError::invalid_value("value"));
        }
        let stored = match inner {
            Value::String(s) => json!({ key: s }),
            other => json!({ key: other.to_string() }),
        };
        (Some(stored), None)
    };
    let c = d.cards.get(card).ok_or_else(TrelloError::not_found)?;
    let before = c
        .field_items
        .iter()
        .find(|i| i.id_custom_field == field)
        .cloned();
    let item_id = match &before {
        Some(b) => b.id.clone(),
        None => d.new_id(now_ms),
    };
    let item = FieldItem {
        id: item_id,
        id_custom_field: field.to_owned(),
        value: new_value,
        id_value: new_id_value,
    };
    let v = field_item_json(&item, card);
    let changed = before
        .as_ref()
        .is_none_or(|b| b.value != item.value || b.id_value != item.id_value)
        && !(before.is_none() && clear);
    if let Some(c) = d.cards.get_mut(card) {
        c.field_items.retain(|i| i.id_custom_field != field);
        if !clear {
            c.field_items.push(item.clone());
        }
        if changed {
            c.last_activity_ms = now_ms;
        }
    }
    if changed {
        let old = before
            .map(|b| match b.id_value {
                Some(idv) => json!({ "idValue": idv }),
                None => json!({ "value": b.value }),
            })
            .unwrap_or_else(|| json!({ "value": null }));
        let data = json!({
            "card": cref, "board": bref,
            "customField": { "id": def.id, "name": def.name, "type": def.kind },
            "customFieldItem": v,
            "old": old,
        });
        record(
            d,
            "updateCustomFieldItem",
            &body.member,
            &board,
            Some(card),
            data,
            now_ms,
        );
    }
    Ok(v)
}

/// `PUT /1/cards/{id}/customField/{idCustomField}/item`.
pub async fn set_field_item(
    State(app): State<Arc<AppState>>,
    Path((id, field)): Path<(String, String)>,
    call: Call,
) -> TResult {
    let now = app.now_ms();
    ok(app.with_trello(|d| set_field_in(d, &id, &field, &call, now))?)
}

/// `PUT /1/cards/{id}/customFields`: several custom field items at once (`customFieldItems`,
/// each an `idCustomField` with its `value` or `idValue`), each set as by the one-item call.
pub async fn set_field_items(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    call: Call,
) -> TResult {
    let now = app.now_ms();
    ok(app.with_trello(|d| {
        let items = call
            .params
            .get("customFieldItems")
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| TrelloError::invalid_value("customFieldItems"))?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let field = item
                .get("idCustomField")
                .and_then(Value::as_str)
                .ok_or_else(|| TrelloError::invalid_value("idCustomField"))?
                .to_owned();
            let mut one = Call {
                params: Default::default(),
                member: call.member.clone(),
                origin: call.origin.clone(),
                parts: Vec::new(),
            };
            for key in ["value", "idValue"] {
                if let Some(v) = item.get(key) {
                    one.params.insert(key.to_owned(), v.clone());
                }
            }
            out.push(set_field_in(d, &id, &field, &one, now)?);
        }
        Ok::<Value, TrelloError>(Value::Array(out))
    })?)
}

/// `GET /1/cards/{id}/customFieldItems`.
pub async fn card_field_items(State(app): State<Arc<AppState>>, Path(id): Path<String>) -> TResult {
    check_id(&id)?;
    ok(app
        .read_trello(|d| {
            d.cards.get(&id).map(|c| {
                c.field_items
                    .iter()
                    .map(|i| field_item_json(i, &id))
                    .collect::<Value>()
            })
        })
        .ok_or_else(TrelloError::not_found)?)
}

// ---- attachments ----

/// A file name as one URL path segment: percent-encoded but for unreserved characters (as
/// Trello's download URLs carry it: `../x` stays in its segment).
fn path_segment(name: &str) -> String {
    if name == "." || name == ".." {
        return name.replace('.', "%2E");
    }
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// An attachment as Trello renders it (`origin` builds the download URL of an upload).
pub fn attachment_json(a: &Attachment, origin: &str) -> Value {
    let url = match &a.link {
        Some(link) => link.clone(),
        None => format!(
            "{origin}/1/cards/{}/attachments/{}/download/{}",
            a.id_card,
            a.id,
            path_segment(&a.file_name)
        ),
    };
    json!({
        "id": a.id,
        "name": a.name,
        "fileName": if a.link.is_some() { Value::Null } else { json!(a.file_name) },
        "mimeType": a.mime_type,
        "bytes": if a.link.is_some() { Value::Null } else { json!(a.bytes.len()) },
        "isUpload": a.link.is_none(),
        "url": url,
        "date": iso(a.date_ms),
        "idMember": a.id_member,
        "pos": 16384,
        "previews": [],
    })
}

/// Attaches a file part (`file`) or a link (`url`) to a card, recording `addAttachmentToCard`.
fn attach(d: &mut TrelloData, card: &str, call: &Call, now_ms: i64) -> Result<Value, TrelloError> {
    check_id(card)?;
    let (board, cref, bref, lref) = card_refs(d, card)?;
    let file = call
        .parts
        .iter()
        .find(|p| p.name == "file" && p.file_name.is_some());
    let link = call.text("url").filter(|u| !u.is_empty());
    let id = d.new_id(now_ms);
    let a = match (file, link) {
        (Some(f), _) => {
            let file_name = f.file_name.clone().unwrap_or_default();
            Attachment {
                id: id.clone(),
                id_card: card.to_owned(),
                name: call.text("name").unwrap_or_else(|| file_name.clone()),
                file_name,
                mime_type: call
                    .text("mimeType")
                    .or_else(|| f.content_type.clone())
                    .unwrap_or_else(|| "application/octet-stream".into()),
                bytes: f.data.clone(),
                link: None,
                id_member: call.member.clone(),
                date_ms: now_ms,
            }
        }
        (None, Some(url)) => Attachment {
            id: id.clone(),
            id_card: card.to_owned(),
            name: call.text("name").unwrap_or_else(|| url.clone()),
            file_name: String::new(),
            mime_type: call.text("mimeType").unwrap_or_default(),
            bytes: Vec::new(),
            link: Some(url),
            id_member: call.member.clone(),
            date_ms: now_ms,
        },
        (None, None) => return Err(TrelloError::invalid_value("file")),
    };
    let v = attachment_json(&a, &call.origin);
    let data = json!({
        "card": cref, "board": bref, "list": lref,
        "attachment": { "id": id, "name": a.name, "url": v["url"] },
    });
    record(
        d,
        "addAttachmentToCard",
        &call.member,
        &board,
        Some(card),
        data,
        now_ms,
    );
    d.attachments.insert(id, a);
    touch(d, card, now_ms);
    Ok(v)
}

/// `POST /1/cards/{id}/attachments` (multipart `file`, or `url`; `name`, `mimeType`).
pub async fn add_attachment(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    call: Call,
) -> TResult {
    let now = app.now_ms();
    ok(app.with_trello(|d| attach(d, &id, &call, now))?)
}

/// `GET /1/cards/{id}/attachments`.
pub async fn list_attachments(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    call: Call,
) -> TResult {
    check_id(&id)?;
    ok(app.read_trello(|d| {
        if !d.cards.contains_key(&id) {
            return Err(TrelloError::not_found());
        }
        Ok(d.attachments
            .values()
            .filter(|a| a.id_card == id)
            .map(|a| attachment_json(a, &call.origin))
            .collect::<Value>())
    })?)
}

fn attachment_of<'a>(
    d: &'a TrelloData,
    card: &str,
    id: &str,
) -> Result<&'a Attachment, TrelloError> {
    check_id(card)?;
    check_id(id)?;
    d.attachments
        .get(id)
        .filter(|a| a.id_card == card)
        .ok_or_else(TrelloError::not_found)
}

/// `GET /1/cards/{id}/attachments/{idAttachment}`.
pub async fn read_attachment(
    State(app): State<Arc<AppState>>,
    Path((id, att)): Path<(String, String)>,
    call: Call,
) -> TResult {
    ok(app.read_trello(|d| attachment_of(d, &id, &att).map(|a| attachment_json(a, &call.origin)))?)
}

/// `GET /1/cards/{id}/attachments/{idAttachment}/download/{fileName}`: the uploaded bytes.
pub async fn download_attachment(
    State(app): State<Arc<AppState>>,
    Path((id, att, _name)): Path<(String, String, String)>,
) -> TResult {
    let (mime, bytes) = app.read_trello(|d| {
        let a = attachment_of(d, &id, &att)?;
        if a.link.is_some() {
            return Err(TrelloError::not_found());
        }
        Ok((a.mime_type.clone(), a.bytes.clone()))
    })?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, mime)], bytes).into_response())
}

/// `DELETE /1/cards/{id}/attachments/{idAttachment}`, recording `deleteAttachmentFromCard`.
pub async fn delete_attachment(
    State(app): State<Arc<AppState>>,
    Path((id, att)): Path<(String, String)>,
    call: Call,
) -> TResult {
    let now = app.now_ms();
    app.with_trello(|d| {
        let a = attachment_of(d, &id, &att)?.clone();
        d.attachments.remove(&att);
        let (board, cref, bref, _) = card_refs(d, &id)?;
        let data = json!({
            "card": cref, "board": bref,
            "attachment": { "id": a.id, "name": a.name },
        });
        record(
            d,
            "deleteAttachmentFromCard",
            &call.member,
            &board,
            Some(&id),
            data,
            now,
        );
        touch(d, &id, now);
        Ok::<_, TrelloError>(())
    })?;
    ok(json!({ "limits": {} }))
}
