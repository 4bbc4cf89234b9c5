//! HubSpot v4 default associations (single `PUT`, batch associate, batch read, listing), the
//! `associations` part of v3 create bodies and reads, and the owners endpoint.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

use super::store::HubspotData;
use super::{
    HsError, HsResult, Query, batch_inputs, batch_response, id_of, object_type, owner_json,
    parse_body,
};
use crate::sandbox::AppState;

/// The HubSpot-defined default association type id from one object type to another.
pub fn default_type_id(from: &str, to: &str) -> u32 {
    match (from, to) {
        ("contacts", "companies") => 279,
        ("companies", "contacts") => 280,
        ("deals", "contacts") => 3,
        ("contacts", "deals") => 4,
        ("deals", "companies") => 341,
        ("companies", "deals") => 342,
        ("contacts", "contacts") => 449,
        ("companies", "companies") => 450,
        _ => 451,
    }
}

/// The target type of an association type id used from `from` (HubSpot-defined ids only).
fn target_of(from: &str, type_id: u64) -> Option<&'static str> {
    let all = ["contacts", "companies", "deals"];
    let primary = match (from, type_id) {
        ("contacts", 1) | ("deals", 5) => Some("companies"),
        ("companies", 2) => Some("contacts"),
        ("companies", 6) => Some("deals"),
        _ => None,
    };
    primary.or_else(|| {
        all.into_iter()
            .find(|to| u64::from(default_type_id(from, to)) == type_id)
    })
}

/// The stored (ordered) form of an association between two records.
pub fn pair(a: &str, a_id: u64, b: &str, b_id: u64) -> ((String, u64), (String, u64)) {
    let (x, y) = ((a.to_owned(), a_id), (b.to_owned(), b_id));
    if x <= y { (x, y) } else { (y, x) }
}

fn exists(data: &HubspotData, t: &str, id: u64) -> bool {
    data.objects
        .get(t)
        .and_then(|m| m.get(&id))
        .is_some_and(|r| !r.archived)
}

/// Ids of `to` records associated with `(t, id)`.
pub fn associated(data: &HubspotData, t: &str, id: u64, to: &str) -> Vec<u64> {
    let mut out: Vec<u64> = data
        .associations
        .iter()
        .filter_map(|((at, aid), (bt, bid))| {
            if at == t && *aid == id && bt == to {
                Some(*bid)
            } else if bt == t && *bid == id && at == to {
                Some(*aid)
            } else {
                None
            }
        })
        .filter(|other| exists(data, to, *other))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Parses `associations` of a create input: `[{to:{id}, types:[{associationCategory, associationTypeId}]}]`.
pub fn parse_create_associations(
    data: &HubspotData,
    t: &str,
    v: Option<&Value>,
) -> Result<Vec<(&'static str, u64)>, HsError> {
    let items = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(HsError::validation(
                "Invalid input JSON: `associations` must be an array",
            ));
        }
    };
    let mut out = Vec::new();
    for item in items {
        let to_id = item
            .get("to")
            .and_then(id_of)
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| HsError::validation("Invalid input JSON: association needs `to.id`"))?;
        let types = item
            .get("types")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let type_id = types
            .first()
            .and_then(|ty| ty.get("associationTypeId"))
            .and_then(Value::as_u64)
            .ok_or_else(|| {
                HsError::validation(
                    "Invalid input JSON: association needs `types[].associationTypeId`",
                )
            })?;
        let to_type = target_of(t, type_id).ok_or_else(|| {
            HsError::validation(format!(
                "{type_id} is not a valid association type id from {t}"
            ))
        })?;
        if !exists(data, to_type, to_id) {
            return Err(HsError::validation(format!(
                "{} {to_id} does not exist",
                super::type_word(to_type)
            )));
        }
        out.push((to_type, to_id));
    }
    Ok(out)
}

/// Adds `associations: {to: {results: [{id, type}]}}` to a rendered v3 record.
pub fn attach_associations(
    data: &HubspotData,
    t: &str,
    id: u64,
    types: &[String],
    m: &mut Map<String, Value>,
) -> Result<(), HsError> {
    let mut assoc = Map::new();
    for to in types {
        let to = object_type(to)?;
        let ids = associated(data, t, id, to);
        if ids.is_empty() {
            continue;
        }
        let label = format!("{}_to_{}", singular(t), singular(to));
        let results: Vec<Value> = ids
            .iter()
            .map(|i| json!({"id": i.to_string(), "type": label}))
            .collect();
        assoc.insert(to.to_owned(), json!({ "results": results }));
    }
    if !assoc.is_empty() {
        m.insert("associations".into(), Value::Object(assoc));
    }
    Ok(())
}

fn singular(t: &str) -> &'static str {
    match t {
        "contacts" => "contact",
        "companies" => "company",
        _ => "deal",
    }
}

fn spec_result(from: &str, from_id: u64, to: &str, to_id: u64) -> Value {
    json!({
        "from": {"id": from_id.to_string()},
        "to": {"id": to_id.to_string()},
        "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": default_type_id(from, to)},
    })
}

fn parse_id(s: &str) -> Result<u64, HsError> {
    s.trim()
        .parse::<u64>()
        .map_err(|_| HsError::validation(format!("Invalid object id: {s}")))
}

/// `PUT /crm/v4/objects/{from}/{fromId}/associations/default/{to}/{toId}`.
pub async fn associate_default(
    State(app): State<Arc<AppState>>,
    Path((from, from_id, to, to_id)): Path<(String, String, String, String)>,
) -> HsResult {
    let (from, to) = (object_type(&from)?, object_type(&to)?);
    let (from_id, to_id) = (parse_id(&from_id)?, parse_id(&to_id)?);
    let now = app.now_ms();
    app.log_associations(vec![crate::sandbox::AssociationRequest {
        from_type: from.to_string(),
        from_id: from_id.to_string(),
        to_type: to.to_string(),
        to_id: to_id.to_string(),
    }]);
    let out = app.with_hubspot(|data| {
        for (t, id) in [(from, from_id), (to, to_id)] {
            if !exists(data, t, id) {
                return Err(HsError::not_found(format!(
                    "{} {id} does not exist",
                    super::type_word(t)
                )));
            }
        }
        data.associations.insert(pair(from, from_id, to, to_id));
        Ok(batch_response(
            vec![
                spec_result(from, from_id, to, to_id),
                spec_result(to, to_id, from, from_id),
            ],
            now,
            now,
        ))
    })?;
    Ok((StatusCode::OK, axum::Json(out)).into_response())
}

/// One per-input error of a batch association answer, shaped as the contract's `StandardError`
/// (`status`, `category`, `message`, `context` mapping names to lists of strings, `errors`,
/// `links`): the input's ids are in `context.fromObjectId` / `context.toObjectId`, the ids that do
/// not exist (or are archived) in `context.missingObjectIds`.
fn input_error(from: &str, f: u64, to: &str, t: u64, missing: &[(&str, u64)]) -> Value {
    let words: Vec<String> = missing
        .iter()
        .map(|(ty, id)| format!("{} {id}", super::type_word(ty)))
        .collect();
    json!({
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": format!(
            "Cannot associate {} {f} with {} {t}: {} does not exist or is archived",
            super::type_word(from),
            super::type_word(to),
            words.join(" and ")
        ),
        "context": {
            "fromObjectId": [f.to_string()],
            "toObjectId": [t.to_string()],
            "missingObjectIds": missing.iter().map(|(_, id)| id.to_string()).collect::<Vec<_>>(),
        },
        "errors": [],
        "links": {},
    })
}

/// `POST /crm/v4/associations/{from}/{to}/batch/associate/default` with `{inputs:[{from:{id},to:{id}}]}`.
///
/// The contract declares one answer, 200 `BatchResponsePublicDefaultAssociation`: inputs naming a
/// record that does not exist (or is archived) are left out of `results` and reported in `errors`
/// (one per input) with `numErrors`; the other inputs are associated.
pub async fn batch_associate_default(
    State(app): State<Arc<AppState>>,
    Path((from, to)): Path<(String, String)>,
    body: Bytes,
) -> HsResult {
    let (from, to) = (object_type(&from)?, object_type(&to)?);
    let body = parse_body(&body)?;
    let inputs = body
        .get("inputs")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            HsError::validation("Invalid input JSON: `inputs` is required and must be an array")
        })?;
    if inputs.len() > 2000 {
        return Err(HsError::validation(
            "The maximum number of inputs supported in a batch request is 2000.",
        ));
    }
    let mut pairs = Vec::with_capacity(inputs.len());
    for input in inputs {
        let id = |side: &str| {
            input
                .get(side)
                .and_then(id_of)
                .and_then(|s| s.parse::<u64>().ok())
        };
        let (Some(f), Some(t)) = (id("from"), id("to")) else {
            return Err(HsError::validation(
                "Invalid input JSON: each input needs `from.id` and `to.id`",
            ));
        };
        pairs.push((f, t));
    }
    let now = app.now_ms();
    let (results, errors) = app.with_hubspot(|data| {
        let mut results = Vec::new();
        let mut errors = Vec::new();
        for &(f, t) in &pairs {
            let missing: Vec<(&str, u64)> = [(from, f), (to, t)]
                .into_iter()
                .filter(|(ty, id)| !exists(data, ty, *id))
                .collect();
            if missing.is_empty() {
                data.associations.insert(pair(from, f, to, t));
                results.push(spec_result(from, f, to, t));
            } else {
                errors.push(input_error(from, f, to, t, &missing));
            }
        }
        (results, errors)
    });
    app.log_associations(
        pairs
            .iter()
            .map(|&(f, t)| crate::sandbox::AssociationRequest {
                from_type: from.to_string(),
                from_id: f.to_string(),
                to_type: to.to_string(),
                to_id: t.to_string(),
            })
            .collect(),
    );
    let mut out = batch_response(results, now, app.now_ms());
    if !errors.is_empty() {
        out["numErrors"] = json!(errors.len());
        out["errors"] = Value::Array(errors);
    }
    Ok((StatusCode::OK, axum::Json(out)).into_response())
}

/// Most associated records one input of a batch read answers at once; the rest follow from its
/// `paging.next.after`.
pub const READ_PAGE: usize = 500;

/// `POST /crm/v4/associations/{from}/{to}/batch/read` with `{inputs:[{id, after?}]}` (at most 100).
///
/// As the v4 contract declares: each input with associations gives one
/// `PublicAssociationMultiWithLabel` (`from.id`, `to: [{toObjectId, associationTypes}]`, at most
/// [`READ_PAGE`] of them, `paging.next.after` when more follow); an input with none (or a record
/// that does not exist) is listed in `errors` instead (`OBJECT_NOT_FOUND`,
/// `crm.associations.NO_ASSOCIATIONS_FOUND`), and the answer is then 207 (multi-status), as
/// HubSpot answers.
pub async fn batch_read(
    State(app): State<Arc<AppState>>,
    Path((from, to)): Path<(String, String)>,
    body: Bytes,
) -> HsResult {
    let (from, to) = (object_type(&from)?, object_type(&to)?);
    let body = parse_body(&body)?;
    let mut asked = Vec::new();
    for input in batch_inputs(&body)? {
        let id = id_of(input)
            .ok_or_else(|| HsError::validation("Invalid input JSON: each input needs `id`"))?;
        let after = match input.get("after") {
            None | Some(Value::Null) => 0,
            Some(a) => a
                .as_str()
                .map(str::to_owned)
                .or_else(|| a.as_u64().map(|n| n.to_string()))
                .and_then(|s| s.trim().parse::<usize>().ok())
                .ok_or_else(|| HsError::validation(format!("Invalid value for after: {a}")))?,
        };
        asked.push((id, after));
    }
    let now = app.now_ms();
    let (results, errors) = app.read_hubspot(|data| {
        let mut results = Vec::new();
        let mut errors = Vec::new();
        for (id, after) in &asked {
            let ids = id
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|i| exists(data, from, *i))
                .map(|i| associated(data, from, i, to))
                .unwrap_or_default();
            let page: Vec<Value> = ids
                .iter()
                .skip(*after)
                .take(READ_PAGE)
                .map(|t| {
                    json!({"toObjectId": t.to_string(), "associationTypes": [
                        {"category": "HUBSPOT_DEFINED", "typeId": default_type_id(from, to)}
                    ]})
                })
                .collect();
            if page.is_empty() {
                errors.push(json!({
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                    "message": format!("No {} is associated with {} {id}.", singular(to), singular(from)),
                    "context": {
                        "fromObjectId": [id],
                        "fromObjectType": [singular(from)],
                        "toObjectType": [singular(to)],
                    },
                    "errors": [],
                    "links": {},
                }));
                continue;
            }
            let mut r = json!({"from": {"id": id}, "to": page});
            let next = after + READ_PAGE;
            if next < ids.len() {
                r["paging"] = json!({"next": {"after": next.to_string()}});
            }
            results.push(r);
        }
        (results, errors)
    });
    let mut out = batch_response(results, now, app.now_ms());
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        out["numErrors"] = json!(errors.len());
        out["errors"] = Value::Array(errors);
        StatusCode::MULTI_STATUS
    };
    Ok((status, axum::Json(out)).into_response())
}

/// `GET /crm/v4/objects/{from}/{fromId}/associations/{to}`.
pub async fn list(
    State(app): State<Arc<AppState>>,
    Path((from, from_id, to)): Path<(String, String, String)>,
) -> HsResult {
    let (from, to) = (object_type(&from)?, object_type(&to)?);
    let from_id = parse_id(&from_id)?;
    let results: Vec<Value> = app.read_hubspot(|data| {
        associated(data, from, from_id, to)
            .into_iter()
            .map(|id| {
                json!({"toObjectId": id, "associationTypes": [
                    {"category": "HUBSPOT_DEFINED", "typeId": default_type_id(from, to), "label": Value::Null}
                ]})
            })
            .collect()
    });
    Ok((StatusCode::OK, axum::Json(json!({ "results": results }))).into_response())
}

/// `GET /crm/v3/owners?email=&limit=&after=`.
pub async fn owners(State(app): State<Arc<AppState>>, RawQuery(q): RawQuery) -> HsResult {
    let q = Query::parse(q.as_deref());
    let limit = match q.get("limit") {
        None => 100,
        Some(s) => s
            .trim()
            .parse::<usize>()
            .map_err(|_| HsError::validation(format!("Invalid value for limit: {s}")))?
            .clamp(1, 500),
    };
    let after = match q.get("after") {
        None | Some("") => 0,
        Some(s) => s
            .trim()
            .parse::<usize>()
            .map_err(|_| HsError::validation(format!("Invalid value for after: {s}")))?,
    };
    let email = q.get("email").map(str::to_owned);
    let (page, next) = app.read_hubspot(|data| {
        let all: Vec<Value> = data
            .owners
            .iter()
            .filter(|o| {
                email
                    .as_ref()
                    .is_none_or(|e| o.email.eq_ignore_ascii_case(e))
            })
            .map(owner_json)
            .collect();
        let end = after.saturating_add(limit).min(all.len());
        let page = all.get(after.min(end)..end).unwrap_or_default().to_vec();
        (page, (end < all.len()).then_some(end))
    });
    let mut out = json!({ "results": page });
    if let Some(n) = next {
        out["paging"] =
            json!({"next": {"after": n.to_string(), "link": format!("/crm/v3/owners?after={n}")}});
    }
    Ok((StatusCode::OK, axum::Json(out)).into_response())
}
