//! Jira's [`Emulator`]: mounts the REST v3 routes and serves the admin operations the tests use
//! (the project's issues, create / edit / delete as a person in Jira would, logged in as the
//! consultancy's account) through the same code as the HTTP handlers, so an admin edit is the
//! same write as a `PUT`, and a status edit is a workflow transition.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use serde_json::{Map, Value, json};

use super::issues::{
    FieldSel, adf_doc, adf_text, available, create_issue, delete_issue, edit_issue,
    format_estimate, render, transition_issue,
};
use super::store::{Issue, JiraData, PROJECT_KEY};
use super::{JiraError, render_fault, router};
use crate::sandbox::AppState;
use crate::sandbox::emulator::{Emulator, EmulatorError, RemoteRecord};
use crate::sandbox::faults::FaultRenderer;
use crate::sandbox::store::State;

const NAME: &str = "jira";
const KIND: &str = "issues";
/// Prefix of the label carrying the vault's id (`ssot-<id>`).
pub const SSOT_LABEL: &str = "ssot-";

/// The Jira Cloud emulator (issues of the seeded site).
#[derive(Debug, Clone, Copy, Default)]
pub struct Jira;

fn check_kind(kind: &str) -> Result<(), EmulatorError> {
    if kind == KIND {
        Ok(())
    } else {
        Err(EmulatorError::UnknownKind {
            service: NAME,
            kind: kind.to_owned(),
        })
    }
}

fn rejected(e: JiraError) -> EmulatorError {
    EmulatorError::Rejected {
        service: NAME,
        message: e.message(),
    }
}

fn admin(d: &JiraData) -> String {
    d.users
        .iter()
        .find(|u| u.admin)
        .map(|u| u.account_id.clone())
        .unwrap_or_default()
}

fn record(d: &JiraData, i: &Issue) -> RemoteRecord {
    let mut f = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            f.insert(k.to_owned(), v);
        }
    };
    let text = |k: &str| i.fields.get(k).and_then(Value::as_str).map(str::to_owned);
    put("key", Some(i.key.clone()));
    put("summary", text("summary"));
    put("description", i.fields.get("description").map(adf_text));
    put("status", d.status(&i.status).map(|s| s.name.clone()));
    put(
        "issuetype",
        d.issue_type(&i.issue_type).map(|t| t.name.clone()),
    );
    let labels = i.labels();
    put("labels", Some(labels.join(",")));
    put(
        "ssot_id",
        labels
            .iter()
            .find_map(|l| l.strip_prefix(SSOT_LABEL))
            .map(str::to_owned),
    );
    put("duedate", text("duedate"));
    put(
        "priority",
        text("priority").and_then(|p| {
            d.priorities
                .iter()
                .find(|x| x.id == p)
                .map(|x| x.name.clone())
        }),
    );
    put("assignee", text("assignee"));
    put(
        "parent",
        i.parent
            .and_then(|p| d.issues.get(&p))
            .map(|p| p.key.clone()),
    );
    put(
        "originalEstimate",
        i.fields
            .get("timeoriginalestimate")
            .and_then(Value::as_i64)
            .map(format_estimate),
    );
    for cf in &d.custom_fields {
        put(
            &cf.id,
            i.fields.get(&cf.id).map(|v| match v {
                Value::String(s) => s.clone(),
                v if v.get("type").is_some() => adf_text(v),
                v => v.to_string(),
            }),
        );
    }
    let mut raw = render(
        d,
        i,
        &FieldSel::parse(&["*all".to_owned()], true),
        true,
        "http://sandbox/rest/api/3",
    );
    raw["deleted"] = json!(i.deleted_ms.is_some());
    RemoteRecord {
        id: i.key.clone(),
        fields: f,
        archived: i.deleted_ms.is_some(),
        raw,
    }
}

/// Every issue of the site, deleted ones included, as the admin dump renders them.
pub fn dump(d: &JiraData) -> Vec<Value> {
    d.issues.values().map(|i| record(d, i).raw).collect()
}

/// The `fields` value a person's edit of one field means (`None` for the fields that are not
/// plain field writes: `status`, `ssot_id`).
fn field_json(d: &JiraData, field: &str, value: &str) -> Value {
    let empty = value.is_empty();
    match field {
        "description" => {
            if empty {
                Value::Null
            } else {
                adf_doc(value)
            }
        }
        "labels" => json!(
            value
                .split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
        ),
        "priority" => json!({"name": value}),
        "assignee" => {
            if empty {
                Value::Null
            } else {
                json!({"accountId": value})
            }
        }
        "originalEstimate" => {
            if empty {
                json!({})
            } else {
                json!({"originalEstimate": value})
            }
        }
        "parent" => {
            if empty {
                Value::Null
            } else {
                json!({"key": value})
            }
        }
        "duedate" if empty => Value::Null,
        cf if cf.starts_with("customfield_") => {
            let kind = d
                .custom_fields
                .iter()
                .find(|c| c.id == cf)
                .map(|c| c.kind.as_str());
            match kind {
                _ if empty => Value::Null,
                Some("number") => value
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(json!(value), Value::Number),
                Some("textarea") => adf_doc(value),
                _ => json!(value),
            }
        }
        _ => json!(value),
    }
}

fn field_name(field: &str) -> &str {
    match field {
        "originalEstimate" => "timetracking",
        f => f,
    }
}

/// Moves an issue to the status named `status` through one available transition.
fn move_to(
    d: &mut JiraData,
    caller: &str,
    key: &str,
    status: &str,
    now: i64,
    lag: i64,
) -> Result<(), JiraError> {
    let id = d.issue_id(key).ok_or_else(JiraError::issue_not_found)?;
    let target = d
        .statuses
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(status))
        .map(|s| s.id.clone());
    let t = available(d, &d.issues[&id])
        .into_iter()
        .find(|t| Some(&t.to) == target.as_ref());
    let Some(t) = t else {
        return Err(JiraError::bad(format!(
            "No transition to '{status}' is available from the issue's status."
        )));
    };
    transition_issue(
        d,
        caller,
        key,
        &json!({"transition": {"id": t.id}}),
        now,
        lag,
    )
}

impl Emulator for Jira {
    fn name(&self) -> &'static str {
        NAME
    }

    fn prefixes(&self) -> &'static [&'static str] {
        &super::PREFIXES
    }

    fn router(&self, app: Arc<AppState>) -> Router<Arc<AppState>> {
        router(app)
    }

    fn fault_renderer(&self) -> FaultRenderer {
        render_fault
    }

    fn seed(&self, state: &mut State) {
        state.jira = super::store::seed();
    }

    fn kinds(&self) -> &'static [&'static str] {
        &[KIND]
    }

    fn records(&self, app: &AppState, kind: &str) -> Result<Vec<RemoteRecord>, EmulatorError> {
        check_kind(kind)?;
        Ok(app.read_jira(|d| d.issues.values().map(|i| record(d, i)).collect()))
    }

    fn create(
        &self,
        app: &AppState,
        kind: &str,
        fields: &[(&str, &str)],
    ) -> Result<String, EmulatorError> {
        check_kind(kind)?;
        let (now, lag) = (app.now_ms(), app.jira.lag_ms());
        app.with_jira(|d| {
            let mut f = Map::new();
            f.insert("project".into(), json!({"key": PROJECT_KEY}));
            f.insert("issuetype".into(), json!({"name": "Task"}));
            let mut labels: Vec<String> = Vec::new();
            let mut status = None;
            for (k, v) in fields {
                match *k {
                    "ssot_id" => labels.push(format!("{SSOT_LABEL}{v}")),
                    "labels" => labels.extend(
                        v.split(',')
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .map(str::to_owned),
                    ),
                    "issuetype" => {
                        f.insert("issuetype".into(), json!({"name": v}));
                    }
                    "status" => status = Some((*v).to_owned()),
                    k => {
                        f.insert(field_name(k).to_owned(), field_json(d, k, v));
                    }
                }
            }
            if !labels.is_empty() {
                f.insert("labels".into(), json!(labels));
            }
            let caller = admin(d);
            let id = create_issue(d, &caller, &json!({"fields": f}), now, lag)?;
            let key = d.issues[&id].key.clone();
            if let Some(s) = status {
                move_to(d, &caller, &key, &s, now, lag)?;
            }
            Ok(key)
        })
        .map_err(rejected)
    }

    fn edit(
        &self,
        app: &AppState,
        kind: &str,
        id: &str,
        field: &str,
        value: &str,
    ) -> Result<(), EmulatorError> {
        check_kind(kind)?;
        let (now, lag) = (app.now_ms(), app.jira.lag_ms());
        app.with_jira(|d| {
            let Some(issue_id) = d.issue_id(id) else {
                return Err(EmulatorError::NotFound {
                    service: NAME,
                    kind: kind.to_owned(),
                    id: id.to_owned(),
                });
            };
            let caller = admin(d);
            let r = match field {
                "status" => move_to(d, &caller, id, value, now, lag),
                "ssot_id" => {
                    let mut labels: Vec<String> = d.issues[&issue_id]
                        .labels()
                        .into_iter()
                        .filter(|l| !l.starts_with(SSOT_LABEL))
                        .collect();
                    if !value.is_empty() {
                        labels.push(format!("{SSOT_LABEL}{value}"));
                    }
                    edit_issue(
                        d,
                        &caller,
                        id,
                        &json!({"fields": {"labels": labels}}),
                        now,
                        lag,
                    )
                }
                f => {
                    let body = json!({"fields": {field_name(f): field_json(d, f, value)}});
                    edit_issue(d, &caller, id, &body, now, lag)
                }
            };
            r.map_err(rejected)
        })
    }

    fn archive(&self, app: &AppState, kind: &str, id: &str) -> Result<(), EmulatorError> {
        check_kind(kind)?;
        let (now, lag) = (app.now_ms(), app.jira.lag_ms());
        app.with_jira(|d| {
            let caller = admin(d);
            delete_issue(d, &caller, id, true, now, lag)
        })
        .map_err(|e| {
            if e.status() == axum::http::StatusCode::NOT_FOUND {
                EmulatorError::NotFound {
                    service: NAME,
                    kind: kind.to_owned(),
                    id: id.to_owned(),
                }
            } else {
                rejected(e)
            }
        })
    }
}
