//! The actions feed: every change is recorded as Trello names it (`createCard`, `updateCard`
//! with `data.old`, `commentCard`, ...) with the member who made it, and read back newest first
//! through `GET /boards/{id}/actions` (`filter`, `since`, `before`, `limit`) and
//! `GET /cards/{id}/actions`.

use std::sync::Arc;

use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::store::{Action, TrelloData};
use super::{Call, TResult, TrelloError, check_id, iso, member_json, ok, parse_time};
use crate::sandbox::AppState;

/// Records an action and returns its id.
pub fn record(
    d: &mut TrelloData,
    kind: &str,
    member: &str,
    id_board: &str,
    id_card: Option<&str>,
    data: Value,
    now_ms: i64,
) -> String {
    let id = d.new_id(now_ms);
    d.actions.push(Action {
        id: id.clone(),
        kind: kind.to_owned(),
        date_ms: now_ms,
        id_member_creator: member.to_owned(),
        id_board: id_board.to_owned(),
        id_card: id_card.map(str::to_owned),
        data,
    });
    id
}

/// An action as Trello renders it.
pub fn action_json(d: &TrelloData, a: &Action) -> Value {
    json!({
        "id": a.id,
        "idMemberCreator": a.id_member_creator,
        "type": a.kind,
        "date": iso(a.date_ms),
        "data": a.data,
        "memberCreator": member_json(d, &a.id_member_creator),
        "limits": {},
    })
}

/// A `since`/`before` bound: an action id (its position in the feed, or the time its id carries)
/// or an ISO date.
#[derive(Debug, Clone, Copy)]
enum Bound {
    Index(usize),
    Time(i64),
}

fn bound(d: &TrelloData, name: &str, v: &str) -> Result<Bound, TrelloError> {
    if let Some(i) = d.actions.iter().position(|a| a.id == v) {
        return Ok(Bound::Index(i));
    }
    if super::store::is_id(v) {
        let secs =
            i64::from_str_radix(&v[..8], 16).map_err(|_| TrelloError::invalid_value(name))?;
        return Ok(Bound::Time(secs * 1000));
    }
    parse_time(v)
        .map(Bound::Time)
        .ok_or_else(|| TrelloError::invalid_value(name))
}

/// Filters the feed (`filter`, `since`, `before`, `limit`) for actions matching `keep`, newest first.
fn feed(d: &TrelloData, call: &Call, keep: impl Fn(&Action) -> bool) -> Result<Value, TrelloError> {
    let filter: Option<Vec<String>> = call
        .text("filter")
        .filter(|f| !f.is_empty() && f != "all")
        .map(|f| f.split(',').map(|s| s.trim().to_owned()).collect());
    let limit = match call.text("limit") {
        None => 50,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if n <= 1000 => n,
            _ => return Err(TrelloError::invalid_value("limit")),
        },
    };
    let since = call
        .text("since")
        .map(|v| bound(d, "since", &v))
        .transpose()?;
    let before = call
        .text("before")
        .map(|v| bound(d, "before", &v))
        .transpose()?;
    let out: Vec<Value> = d
        .actions
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, a)| keep(a))
        .filter(|(_, a)| filter.as_ref().is_none_or(|f| f.contains(&a.kind)))
        .filter(|(i, a)| match since {
            None => true,
            Some(Bound::Index(s)) => *i > s,
            Some(Bound::Time(t)) => a.date_ms > t,
        })
        .filter(|(i, a)| match before {
            None => true,
            Some(Bound::Index(b)) => *i < b,
            Some(Bound::Time(t)) => a.date_ms < t,
        })
        .take(limit)
        .map(|(_, a)| action_json(d, a))
        .collect();
    Ok(Value::Array(out))
}

/// `GET /1/boards/{id}/actions`.
pub async fn board_actions(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    call: Call,
) -> TResult {
    check_id(&id)?;
    let v = app.read_trello(|d| {
        if !d.boards.contains_key(&id) {
            return Err(TrelloError::not_found());
        }
        feed(d, &call, |a| a.id_board == id)
    })?;
    ok(v)
}

/// `GET /1/cards/{id}/actions` (default filter: `commentCard`, as Trello's).
pub async fn card_actions(
    State(app): State<Arc<AppState>>,
    Path(id): Path<String>,
    mut call: Call,
) -> TResult {
    check_id(&id)?;
    if !call.has("filter") {
        call.params
            .insert("filter".into(), Value::String("commentCard".into()));
    }
    let v = app.read_trello(|d| {
        if !d.cards.contains_key(&id) {
            return Err(TrelloError::not_found());
        }
        feed(d, &call, |a| a.id_card.as_deref() == Some(id.as_str()))
    })?;
    ok(v)
}

/// `GET /1/actions/{id}`.
pub async fn read_action(State(app): State<Arc<AppState>>, Path(id): Path<String>) -> TResult {
    check_id(&id)?;
    let v = app.read_trello(|d| {
        d.actions
            .iter()
            .find(|a| a.id == id)
            .map(|a| action_json(d, a))
            .ok_or_else(TrelloError::not_found)
    })?;
    ok(v)
}
