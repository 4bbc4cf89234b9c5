//! HubSpot v3 object endpoints: create, read, update, archive, list and the five batch calls.

use crate::sandbox::store::Lagged;
use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::associations::{attach_associations, parse_create_associations};
use super::store::{HubspotData, Record};
use super::{
    Change, HsError, HsResult, Query, Selection, UniqueCheck, apply_changes, batch_inputs,
    batch_response, find_by_prop, input_id, is_unique, names_from, object_type, parse_body,
    parse_changes, render, set_system_props, type_word,
};
use crate::sandbox::AppState;

fn json_response(status: StatusCode, v: Value) -> Response {
    (status, axum::Json(v)).into_response()
}

/// Finds a record by id or by `idProperty`; `archived` selects the recycle bin instead.
fn lookup<'a>(
    data: &'a HubspotData,
    t: &str,
    id: &str,
    id_property: Option<&str>,
    archived: bool,
) -> Option<&'a Record> {
    match id_property.filter(|p| *p != "hs_object_id") {
        Some(prop) => {
            if archived {
                data.objects
                    .get(t)?
                    .values()
                    .find(|r| r.archived && r.properties.get(prop).is_some_and(|v| v == id))
            } else {
                find_by_prop(data, t, prop, id)
            }
        }
        None => {
            let n = id.trim().parse::<u64>().ok()?;
            data.objects
                .get(t)?
                .get(&n)
                .filter(|r| r.archived == archived)
        }
    }
}

fn not_found(t: &str, id: &str) -> HsError {
    HsError::not_found(format!(
        "Object not found. {} with id {id} does not exist",
        type_word(t)
    ))
}

/// Creates a record from validated changes (uniqueness already checked).
fn insert_new(data: &mut HubspotData, t: &str, changes: &[Change], now: i64, lag: i64) -> u64 {
    data.last_id += 1;
    let id = data.last_id;
    let mut r = Record {
        id,
        properties: BTreeMap::new(),
        created_ms: now,
        updated_ms: now,
        archived: false,
        archived_ms: None,
        search_view: None,
        indexed_at_ms: 0,
    };
    apply_changes(t, &mut r, changes, now);
    r.mark_written(None, now, lag);
    data.objects.entry(t.to_owned()).or_default().insert(id, r);
    id
}

/// Applies changes to an existing record, keeping the search view consistent.
fn update_existing(
    data: &mut HubspotData,
    t: &str,
    id: u64,
    changes: &[Change],
    now: i64,
    lag: i64,
) {
    if let Some(r) = data.objects.get_mut(t).and_then(|m| m.get_mut(&id)) {
        let before = r.clone();
        apply_changes(t, r, changes, now);
        r.mark_written(Some(&before), now, lag);
    }
}

fn rendered(data: &HubspotData, t: &str, id: u64, sel: &Selection) -> Map<String, Value> {
    data.objects
        .get(t)
        .and_then(|m| m.get(&id))
        .map(|r| render(t, r, sel))
        .unwrap_or_default()
}

/// Creates a record from a create body (`properties`, `associations`), as
/// `POST /crm/v3/objects/{type}` does; returns its id.
pub(super) fn create_record(
    data: &mut HubspotData,
    t: &str,
    body: &Value,
    now: i64,
    lag: i64,
) -> Result<u64, HsError> {
    let changes = parse_changes(data, t, body.get("properties"))?;
    let assocs = parse_create_associations(data, t, body.get("associations"))?;
    UniqueCheck::new(data, t).check(data, t, None, &changes)?;
    let id = insert_new(data, t, &changes, now, lag);
    for (to_type, to_id) in assocs {
        data.associations
            .insert(super::associations::pair(t, id, to_type, to_id));
    }
    Ok(id)
}

/// Changes a live record's properties from an update body, as
/// `PATCH /crm/v3/objects/{type}/{id}` does; returns its id.
pub(super) fn update_record(
    data: &mut HubspotData,
    t: &str,
    id: &str,
    id_property: Option<&str>,
    body: &Value,
    now: i64,
    lag: i64,
) -> Result<u64, HsError> {
    let rid = lookup(data, t, id, id_property, false)
        .ok_or_else(|| not_found(t, id))?
        .id;
    let changes = parse_changes(data, t, body.get("properties"))?;
    UniqueCheck::new(data, t).check(data, t, Some(rid), &changes)?;
    update_existing(data, t, rid, &changes, now, lag);
    Ok(rid)
}

/// Archives a live record by id, as `DELETE /crm/v3/objects/{type}/{id}` does; `false` when
/// there is none.
pub(super) fn archive_live(data: &mut HubspotData, t: &str, id: &str, now: i64, lag: i64) -> bool {
    let found = lookup(data, t, id, None, false).map(|r| r.id);
    if let Some(rid) = found {
        archive_record(data, t, rid, now, lag);
    }
    found.is_some()
}

/// `POST /crm/v3/objects/{type}`.
pub async fn create(
    State(app): State<Arc<AppState>>,
    Path(t): Path<String>,
    body: Bytes,
) -> HsResult {
    let t = object_type(&t)?;
    let body = parse_body(&body)?;
    let (now, lag) = (app.now_ms(), app.lag_ms());
    let out = app.with_hubspot(|data| {
        let id = create_record(data, t, &body, now, lag)?;
        Ok::<_, HsError>(Value::Object(rendered(data, t, id, &Selection::All)))
    })?;
    Ok(json_response(StatusCode::CREATED, out))
}

/// `GET /crm/v3/objects/{type}/{id}`.
pub async fn read(
    State(app): State<Arc<AppState>>,
    Path((t, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> HsResult {
    let t = object_type(&t)?;
    let q = Query::parse(q.as_deref());
    let sel = Selection::from_names(q.list("properties"));
    let assoc_types = q.list("associations");
    app.read_hubspot(|data| {
        let r = lookup(data, t, &id, q.get("idProperty"), q.flag("archived"))
            .ok_or_else(|| not_found(t, &id))?;
        let mut m = render(t, r, &sel);
        attach_associations(data, t, r.id, &assoc_types, &mut m)?;
        Ok(json_response(StatusCode::OK, Value::Object(m)))
    })
}

/// `PATCH /crm/v3/objects/{type}/{id}`.
pub async fn update(
    State(app): State<Arc<AppState>>,
    Path((t, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> HsResult {
    let t = object_type(&t)?;
    let q = Query::parse(q.as_deref());
    let body = parse_body(&body)?;
    let (now, lag) = (app.now_ms(), app.lag_ms());
    let out = app.with_hubspot(|data| {
        let rid = update_record(data, t, &id, q.get("idProperty"), &body, now, lag)?;
        Ok::<_, HsError>(Value::Object(rendered(data, t, rid, &Selection::All)))
    })?;
    Ok(json_response(StatusCode::OK, out))
}

fn archive_record(data: &mut HubspotData, t: &str, id: u64, now: i64, lag: i64) {
    if let Some(r) = data.objects.get_mut(t).and_then(|m| m.get_mut(&id))
        && !r.archived
    {
        let before = r.clone();
        r.archived = true;
        r.archived_ms = Some(now);
        r.updated_ms = now.max(r.updated_ms);
        set_system_props(t, r);
        r.mark_written(Some(&before), now, lag);
    }
}

/// `DELETE /crm/v3/objects/{type}/{id}` → 204 (also when the record does not exist).
pub async fn archive(
    State(app): State<Arc<AppState>>,
    Path((t, id)): Path<(String, String)>,
) -> HsResult {
    let t = object_type(&t)?;
    let (now, lag) = (app.now_ms(), app.lag_ms());
    app.with_hubspot(|data| archive_live(data, t, &id, now, lag));
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /crm/v3/objects/{type}?limit=&after=&properties=&archived=`.
pub async fn list(
    State(app): State<Arc<AppState>>,
    Path(t): Path<String>,
    RawQuery(q): RawQuery,
) -> HsResult {
    let t = object_type(&t)?;
    let q = Query::parse(q.as_deref());
    let limit = match q.get("limit") {
        None => 10,
        Some(s) => s
            .trim()
            .parse::<usize>()
            .map_err(|_| HsError::validation(format!("Invalid value for limit: {s}")))?
            .clamp(1, 100),
    };
    let after = match q.get("after") {
        None | Some("") => 0,
        Some(s) => s
            .trim()
            .parse::<u64>()
            .map_err(|_| HsError::validation(format!("Invalid value for after: {s}")))?,
    };
    let archived = q.flag("archived");
    let sel = Selection::from_names(q.list("properties"));
    let assoc_types = q.list("associations");
    let path = format!("/crm/v3/objects/{t}");
    app.read_hubspot(|data| {
        let mut results = Vec::new();
        let mut next = None;
        if let Some(m) = data.objects.get(t) {
            for r in m
                .range(after..)
                .map(|(_, r)| r)
                .filter(|r| r.archived == archived)
            {
                if results.len() == limit {
                    next = Some(r.id);
                    break;
                }
                let mut v = render(t, r, &sel);
                attach_associations(data, t, r.id, &assoc_types, &mut v)?;
                results.push(Value::Object(v));
            }
        }
        let mut body = json!({ "results": results });
        if let Some(n) = next {
            body["paging"] =
                json!({"next": {"after": n.to_string(), "link": format!("{path}?after={n}")}});
        }
        Ok(json_response(StatusCode::OK, body))
    })
}

/// `POST .../batch/create`: all inputs are validated first; any error fails the whole batch.
pub async fn batch_create(
    State(app): State<Arc<AppState>>,
    Path(t): Path<String>,
    body: Bytes,
) -> HsResult {
    let t = object_type(&t)?;
    let body = parse_body(&body)?;
    let (now, lag) = (app.now_ms(), app.lag_ms());
    let out = app.with_hubspot(|data| {
        let inputs = batch_inputs(&body)?;
        let mut unique = UniqueCheck::new(data, t);
        let mut planned = Vec::new();
        for input in inputs {
            let changes = parse_changes(data, t, input.get("properties"))?;
            let assocs = parse_create_associations(data, t, input.get("associations"))?;
            unique.check(data, t, None, &changes)?;
            planned.push((changes, assocs));
        }
        let mut results = Vec::new();
        for (changes, assocs) in planned {
            let id = insert_new(data, t, &changes, now, lag);
            for (to_type, to_id) in assocs {
                data.associations
                    .insert(super::associations::pair(t, id, to_type, to_id));
            }
            results.push(Value::Object(rendered(data, t, id, &Selection::All)));
        }
        Ok::<_, HsError>(batch_response(results, now, app.now_ms()))
    })?;
    Ok(json_response(StatusCode::CREATED, out))
}

fn multi_status(
    results: Vec<Value>,
    missing: Vec<String>,
    t: &str,
    now: i64,
    done: i64,
) -> Response {
    let mut body = batch_response(results, now, done);
    if missing.is_empty() {
        return json_response(StatusCode::OK, body);
    }
    body["numErrors"] = json!(1);
    body["errors"] = json!([{
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": format!("Could not get some {} objects, they may be deleted or not exist. Check that ids are valid.", type_word(t)),
        "context": {"ids": missing},
    }]);
    json_response(StatusCode::MULTI_STATUS, body)
}

/// `POST .../batch/read` (`idProperty` supported; missing ids → 207 with errors).
pub async fn batch_read(
    State(app): State<Arc<AppState>>,
    Path(t): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> HsResult {
    let t = object_type(&t)?;
    let q = Query::parse(q.as_deref());
    let body = parse_body(&body)?;
    let now = app.now_ms();
    app.read_hubspot(|data| {
        let inputs = batch_inputs(&body)?;
        let sel = Selection::from_names(names_from(body.get("properties")));
        let id_prop = body.get("idProperty").and_then(Value::as_str);
        let mut results = Vec::new();
        let mut missing = Vec::new();
        for input in inputs {
            let id = input_id(input)?;
            match lookup(data, t, &id, id_prop, q.flag("archived")) {
                Some(r) => results.push(Value::Object(render(t, r, &sel))),
                None => missing.push(id),
            }
        }
        Ok(multi_status(results, missing, t, now, app.now_ms()))
    })
}

/// `POST .../batch/update` (by id or per-input `idProperty`; missing records → 207 with errors).
pub async fn batch_update(
    State(app): State<Arc<AppState>>,
    Path(t): Path<String>,
    body: Bytes,
) -> HsResult {
    let t = object_type(&t)?;
    let body = parse_body(&body)?;
    let (now, lag) = (app.now_ms(), app.lag_ms());
    app.with_hubspot(|data| {
        let inputs = batch_inputs(&body)?;
        let mut unique = UniqueCheck::new(data, t);
        let mut planned = Vec::new();
        let mut missing = Vec::new();
        for input in inputs {
            let id = input_id(input)?;
            let id_prop = input.get("idProperty").and_then(Value::as_str);
            let changes = parse_changes(data, t, input.get("properties"))?;
            let Some(rid) = lookup(data, t, &id, id_prop, false).map(|r| r.id) else {
                missing.push(id);
                continue;
            };
            if planned.iter().any(|(p, _)| *p == rid) {
                return Err(HsError::validation(format!(
                    "Duplicate IDs found in batch input: [{id}]"
                )));
            }
            unique.check(data, t, Some(rid), &changes)?;
            planned.push((rid, changes));
        }
        let mut results = Vec::new();
        for (rid, changes) in planned {
            update_existing(data, t, rid, &changes, now, lag);
            results.push(Value::Object(rendered(data, t, rid, &Selection::All)));
        }
        Ok(multi_status(results, missing, t, now, app.now_ms()))
    })
}

/// `POST .../batch/upsert`: inputs `{id, idProperty, properties}` keyed on a unique property.
pub async fn batch_upsert(
    State(app): State<Arc<AppState>>,
    Path(t): Path<String>,
    body: Bytes,
) -> HsResult {
    let t = object_type(&t)?;
    let body = parse_body(&body)?;
    let (now, lag) = (app.now_ms(), app.lag_ms());
    let out = app.with_hubspot(|data| {
        let inputs = batch_inputs(&body)?;
        let mut unique = UniqueCheck::new(data, t);
        let mut seen = Vec::new();
        let mut planned = Vec::new();
        for input in inputs {
            let id = input_id(input)?;
            let id_prop = input.get("idProperty").and_then(Value::as_str).unwrap_or("hs_object_id");
            if seen.contains(&(id_prop, id.clone())) {
                return Err(HsError::validation(format!("Duplicate IDs found in batch input: [{id}]")));
            }
            seen.push((id_prop, id.clone()));
            let mut changes = parse_changes(data, t, input.get("properties"))?;
            let existing = if id_prop == "hs_object_id" || !is_unique(data, t, id_prop) {
                find_by_prop(data, t, id_prop, &id).map(|r| r.id)
            } else {
                unique.find(id_prop, &id)
            };
            if existing.is_none() {
                if id_prop == "hs_object_id" {
                    return Err(HsError::not_found(format!(
                        "Object not found. {} with id {id} does not exist (upsert by record id needs an existing record)",
                        type_word(t)
                    )));
                }
                if !is_unique(data, t, id_prop) {
                    return Err(HsError::validation(format!(
                        "Property \"{id_prop}\" is not a unique identifier property; upsert needs a property with hasUniqueValue"
                    )));
                }
                changes.retain(|(k, _)| k != id_prop);
                changes.push((id_prop.to_owned(), Some(id.clone())));
            }
            unique.check(data, t, existing, &changes)?;
            planned.push((existing, changes));
        }
        let mut results = Vec::new();
        for (existing, changes) in planned {
            let (rid, new) = match existing {
                Some(rid) => {
                    update_existing(data, t, rid, &changes, now, lag);
                    (rid, false)
                }
                None => (insert_new(data, t, &changes, now, lag), true),
            };
            let mut m = rendered(data, t, rid, &Selection::All);
            m.insert("new".into(), json!(new));
            results.push(Value::Object(m));
        }
        Ok::<_, HsError>(batch_response(results, now, app.now_ms()))
    })?;
    Ok(json_response(StatusCode::OK, out))
}

/// `POST .../batch/archive` → 204.
pub async fn batch_archive(
    State(app): State<Arc<AppState>>,
    Path(t): Path<String>,
    body: Bytes,
) -> HsResult {
    let t = object_type(&t)?;
    let body = parse_body(&body)?;
    let (now, lag) = (app.now_ms(), app.lag_ms());
    app.with_hubspot(|data| {
        let inputs = batch_inputs(&body)?;
        let mut ids = Vec::new();
        for input in inputs {
            let id = input_id(input)?;
            if let Some(rid) = lookup(data, t, &id, None, false).map(|r| r.id) {
                ids.push(rid);
            }
        }
        for rid in ids {
            archive_record(data, t, rid, now, lag);
        }
        Ok::<_, HsError>(())
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
