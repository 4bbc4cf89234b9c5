//! HubSpot CRM search (`POST /crm/v3/objects/{type}/search`): filter groups (OR of groups, AND
//! within one), sorts as `{propertyName, direction}` objects, `limit` ≤ 200, `after` offsets and
//! the 10,000-result cap. Archived records are never returned, and the index lags writes by the
//! configured search lag (eventual consistency).

use crate::sandbox::store::Lagged;
use std::cmp::Ordering;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::store::{HubspotData, Record};
use super::{
    HsError, HsResult, Selection, names_from, object_type, parse_body, parse_time, render,
};
use crate::sandbox::AppState;

/// Most results any one query can page through.
pub const RESULT_CAP: usize = 10_000;
const MAX_GROUPS: usize = 6;
const MAX_FILTERS_PER_GROUP: usize = 6;
const MAX_LIMIT: usize = 200;

#[derive(Debug)]
struct Filter {
    prop: String,
    op: String,
    value: Option<String>,
    high: Option<String>,
    values: Vec<String>,
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parse_filter(f: &Value) -> Result<Filter, HsError> {
    let prop = f
        .get("propertyName")
        .and_then(Value::as_str)
        .ok_or_else(|| HsError::validation("Invalid input JSON: filter needs `propertyName`"))?;
    let op = f
        .get("operator")
        .and_then(Value::as_str)
        .unwrap_or("EQ")
        .to_ascii_uppercase();
    const OPS: [&str; 14] = [
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
        "CONTAINS_TOKEN",
        "NOT_CONTAINS_TOKEN",
        "STARTS_WITH",
    ];
    if !OPS.contains(&op.as_str()) {
        return Err(HsError::validation(format!(
            "Invalid input JSON: unknown operator {op}"
        )));
    }
    let value = f.get("value").and_then(scalar);
    let needs_value = !matches!(
        op.as_str(),
        "HAS_PROPERTY" | "NOT_HAS_PROPERTY" | "IN" | "NOT_IN"
    );
    if needs_value && value.is_none() {
        return Err(HsError::validation(format!(
            "Invalid input JSON: operator {op} on {prop} needs a `value`"
        )));
    }
    let values: Vec<String> = f
        .get("values")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(scalar).collect())
        .unwrap_or_default();
    if matches!(op.as_str(), "IN" | "NOT_IN") && values.is_empty() {
        return Err(HsError::validation(format!(
            "Invalid input JSON: operator {op} on {prop} needs `values`"
        )));
    }
    Ok(Filter {
        prop: prop.to_owned(),
        op,
        value,
        high: f.get("highValue").and_then(scalar),
        values,
    })
}

/// Compares a stored value with a filter value by the property's type.
fn compare(kind: &str, a: &str, b: &str) -> Option<Ordering> {
    match kind {
        "number" => a
            .trim()
            .parse::<f64>()
            .ok()?
            .partial_cmp(&b.trim().parse::<f64>().ok()?),
        "date" | "datetime" => Some(parse_time(a)?.cmp(&parse_time(b)?)),
        _ => Some(a.to_lowercase().cmp(&b.to_lowercase())),
    }
}

fn kind_of<'a>(data: &'a HubspotData, t: &str, prop: &str) -> &'a str {
    data.properties
        .get(t)
        .and_then(|d| d.get(prop))
        .map_or("string", |d| d.kind.as_str())
}

fn matches(data: &HubspotData, t: &str, r: &Record, f: &Filter) -> bool {
    let v = r.properties.get(&f.prop).filter(|v| !v.is_empty());
    let kind = kind_of(data, t, &f.prop);
    let cmp = |b: &Option<String>| match (v, b) {
        (Some(a), Some(b)) => compare(kind, a, b),
        _ => None,
    };
    match f.op.as_str() {
        "HAS_PROPERTY" => v.is_some(),
        "NOT_HAS_PROPERTY" => v.is_none(),
        "EQ" => cmp(&f.value) == Some(Ordering::Equal),
        "NEQ" => cmp(&f.value) != Some(Ordering::Equal),
        "LT" => cmp(&f.value) == Some(Ordering::Less),
        "LTE" => matches!(cmp(&f.value), Some(Ordering::Less | Ordering::Equal)),
        "GT" => cmp(&f.value) == Some(Ordering::Greater),
        "GTE" => matches!(cmp(&f.value), Some(Ordering::Greater | Ordering::Equal)),
        "BETWEEN" => {
            matches!(cmp(&f.value), Some(Ordering::Greater | Ordering::Equal))
                && matches!(cmp(&f.high), Some(Ordering::Less | Ordering::Equal))
        }
        "IN" => v.is_some_and(|a| {
            f.values
                .iter()
                .any(|b| compare(kind, a, b) == Some(Ordering::Equal))
        }),
        "NOT_IN" => !v.is_some_and(|a| {
            f.values
                .iter()
                .any(|b| compare(kind, a, b) == Some(Ordering::Equal))
        }),
        "CONTAINS_TOKEN" | "NOT_CONTAINS_TOKEN" => {
            let needle = f
                .value
                .as_deref()
                .unwrap_or("")
                .trim_matches('*')
                .to_lowercase();
            let hit = v.is_some_and(|a| a.to_lowercase().contains(&needle));
            hit == (f.op == "CONTAINS_TOKEN")
        }
        "STARTS_WITH" => v.is_some_and(|a| {
            a.to_lowercase()
                .starts_with(&f.value.as_deref().unwrap_or("").to_lowercase())
        }),
        _ => false,
    }
}

/// `POST /crm/v3/objects/{type}/search`.
pub async fn search(
    State(app): State<Arc<AppState>>,
    Path(t): Path<String>,
    body: Bytes,
) -> HsResult {
    let t = object_type(&t)?;
    let body = if body.is_empty() {
        json!({})
    } else {
        parse_body(&body)?
    };
    let groups_json = match body.get("filterGroups") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => {
            return Err(HsError::validation(
                "Invalid input JSON: `filterGroups` must be an array",
            ));
        }
    };
    if groups_json.len() > MAX_GROUPS {
        return Err(HsError::validation(format!(
            "Too many filter groups: {} (at most {MAX_GROUPS})",
            groups_json.len()
        )));
    }
    let mut groups = Vec::new();
    for g in &groups_json {
        let filters = g
            .get("filters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if filters.len() > MAX_FILTERS_PER_GROUP {
            return Err(HsError::validation(format!(
                "Too many filters in a group: {} (at most {MAX_FILTERS_PER_GROUP})",
                filters.len()
            )));
        }
        groups.push(
            filters
                .iter()
                .map(parse_filter)
                .collect::<Result<Vec<_>, _>>()?,
        );
    }
    let limit = match body.get("limit") {
        None | Some(Value::Null) => 10,
        Some(v) => v
            .as_u64()
            .ok_or_else(|| HsError::validation("Invalid input JSON: `limit` must be a number"))?
            as usize,
    };
    if limit > MAX_LIMIT {
        return Err(HsError::validation(format!(
            "limit must be at most {MAX_LIMIT}, got {limit}"
        )));
    }
    let limit = limit.max(1);
    let after = match body.get("after") {
        None | Some(Value::Null) => 0,
        Some(v) => scalar(v)
            .and_then(|s| {
                s.trim()
                    .parse::<usize>()
                    .ok()
                    .or_else(|| s.trim().is_empty().then_some(0))
            })
            .ok_or_else(|| {
                HsError::validation("Invalid input JSON: `after` must be a numeric cursor")
            })?,
    };
    if after >= RESULT_CAP {
        return Err(HsError::validation(format!(
            "The search API can return at most {RESULT_CAP} results per query; `after` {after} is past that limit"
        )));
    }
    let mut sorts = Vec::new();
    if let Some(Value::Array(a)) = body.get("sorts") {
        for s in a {
            match s {
                Value::Object(_) => {
                    let p = s
                        .get("propertyName")
                        .and_then(Value::as_str)
                        .ok_or_else(|| {
                            HsError::validation("Invalid input JSON: sort needs `propertyName`")
                        })?;
                    let desc = s
                        .get("direction")
                        .and_then(Value::as_str)
                        .is_some_and(|d| d.eq_ignore_ascii_case("DESCENDING"));
                    sorts.push((p.to_owned(), desc));
                }
                _ => {
                    return Err(HsError::validation(
                        "Invalid input JSON: each sort must be an object {propertyName, direction}",
                    ));
                }
            }
        }
    }
    let query = body
        .get("query")
        .and_then(Value::as_str)
        .map(str::to_lowercase)
        .filter(|q| !q.is_empty());
    let sel = Selection::from_names(names_from(body.get("properties")));
    let now = app.now_ms();
    let out = app.read_hubspot(|data| {
        let mut hits: Vec<&Record> = data
            .objects
            .get(t)
            .map(|m| {
                m.values()
                    .filter_map(|r| r.searchable(now))
                    .filter(|r| !r.archived)
                    .filter(|r| {
                        groups.is_empty()
                            || groups
                                .iter()
                                .any(|g| g.iter().all(|f| matches(data, t, r, f)))
                    })
                    .filter(|r| {
                        query.as_ref().is_none_or(|q| {
                            r.properties.values().any(|v| v.to_lowercase().contains(q))
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        hits.sort_by(|a, b| {
            for (p, desc) in &sorts {
                let kind = kind_of(data, t, p);
                let ord = match (a.properties.get(p), b.properties.get(p)) {
                    (Some(x), Some(y)) => compare(kind, x, y).unwrap_or(Ordering::Equal),
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => Ordering::Equal,
                };
                let ord = if *desc { ord.reverse() } else { ord };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            a.id.cmp(&b.id)
        });
        let total = hits.len();
        let end = (after + limit).min(total).min(RESULT_CAP);
        let page: Vec<Value> = hits
            .get(after.min(end)..end)
            .unwrap_or_default()
            .iter()
            .map(|r| Value::Object(render(t, r, &sel)))
            .collect();
        let mut out = json!({"total": total, "results": page});
        if end < total {
            // Like HubSpot, a cursor is offered even at the cap; following it gives the 400.
            out["paging"] = json!({"next": {"after": end.to_string()}});
        }
        out
    });
    Ok((StatusCode::OK, axum::Json(out)).into_response())
}
