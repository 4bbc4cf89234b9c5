//! Jira's bulk transition API: `POST /rest/api/3/bulk/issues/transition` submits a task (up to
//! 1,000 issues, each input naming a transition) and `GET /rest/api/3/bulk/queue/{taskId}` reports
//! its progress. The emulator runs a task when it is submitted, so the first poll finds it
//! `COMPLETE`, with the issues moved, those the transition is not available for in
//! `failedAccessibleIssues`, and those the caller cannot browse counted as inaccessible.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::issues::transition_issue;
use super::store::JiraData;
use super::{Caller, JiraError, JiraResult, json_response, parse_body};
use crate::sandbox::AppState;

/// Most issues one bulk transition takes.
pub const BULK_TRANSITION_MAX: usize = 1000;

fn invalid_issues() -> axum::response::Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(
            json!({"errors": [{"message": "Some of the issues in the issueIdsOrKeys are not valid"}]}),
        ),
    )
        .into_response()
}

fn id_string(x: &Value) -> Option<String> {
    x.as_str()
        .map(str::to_owned)
        .or_else(|| x.as_u64().map(|n| n.to_string()))
}

/// Runs a bulk transition for `caller`; returns the task id, or `None` when an issue named does
/// not exist.
pub fn submit(
    d: &mut JiraData,
    caller: &str,
    inputs: &[(Vec<String>, String)],
    now: i64,
    lag: i64,
) -> Option<u64> {
    if inputs
        .iter()
        .flat_map(|(keys, _)| keys)
        .any(|k| d.issue_id(k).is_none())
    {
        return None;
    }
    let mut processed = Vec::new();
    let mut failed = BTreeMap::new();
    let mut inaccessible = 0u64;
    let mut total = 0u64;
    for (keys, transition) in inputs {
        for k in keys {
            total += 1;
            let Some(id) = d.issue_id(k) else {
                inaccessible += 1;
                continue;
            };
            if !d.can_browse(caller, &d.issues[&id].project) {
                inaccessible += 1;
                continue;
            }
            let body = json!({"transition": {"id": transition}});
            match transition_issue(d, caller, k, &body, now, lag) {
                Ok(()) => processed.push(id),
                Err(e) => {
                    failed.insert(id.to_string(), json!([e.message()]));
                }
            }
        }
    }
    d.last_event_id += 1;
    let task = d.last_event_id;
    // The spec types the task's times as `date-time` strings.
    let at = jiff::Timestamp::from_millisecond(now)
        .map(|t| t.to_string())
        .unwrap_or_default();
    d.bulk_tasks.insert(
        task,
        json!({
            "taskId": task.to_string(),
            "status": "COMPLETE",
            "progressPercent": 100,
            "submittedBy": {"accountId": caller},
            "created": at, "started": at, "updated": at,
            "processedAccessibleIssues": processed,
            "failedAccessibleIssues": failed,
            "invalidOrInaccessibleIssueCount": inaccessible,
            "totalIssueCount": total,
        }),
    );
    Some(task)
}

/// `POST /rest/api/3/bulk/issues/transition` → 201 `{taskId}`.
pub async fn bulk_transition(
    State(app): State<Arc<AppState>>,
    Extension(Caller(caller)): Extension<Caller>,
    body: Bytes,
) -> JiraResult {
    let body = parse_body(&body)?;
    let inputs: Vec<(Vec<String>, String)> = body
        .get("bulkTransitionInputs")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|i| {
                    let keys = i
                        .get("selectedIssueIdsOrKeys")
                        .and_then(Value::as_array)
                        .map(|k| k.iter().filter_map(id_string).collect())
                        .unwrap_or_default();
                    let t = i
                        .get("transitionId")
                        .and_then(id_string)
                        .unwrap_or_default();
                    (keys, t)
                })
                .collect()
        })
        .unwrap_or_default();
    let count: usize = inputs.iter().map(|(k, _)| k.len()).sum();
    if count == 0 {
        return Err(JiraError::bad(
            "No issues were selected for the bulk transition.",
        ));
    }
    if count > BULK_TRANSITION_MAX {
        return Err(JiraError::bad(format!(
            "A bulk transition takes at most {BULK_TRANSITION_MAX} issues."
        )));
    }
    let (now, lag) = (app.now_ms(), app.jira.lag_ms());
    match app.with_jira(|d| submit(d, &caller, &inputs, now, lag)) {
        Some(task) => Ok(json_response(
            StatusCode::CREATED,
            json!({"taskId": task.to_string()}),
        )),
        None => Ok(invalid_issues()),
    }
}

/// `GET /rest/api/3/bulk/queue/{taskId}`: the task's progress (its submitter only).
pub async fn queue(
    State(app): State<Arc<AppState>>,
    Extension(Caller(caller)): Extension<Caller>,
    Path(task): Path<String>,
) -> JiraResult {
    let found = app.read_jira(|d| {
        task.parse::<u64>()
            .ok()
            .and_then(|t| d.bulk_tasks.get(&t))
            .filter(|t| {
                t.pointer("/submittedBy/accountId").and_then(Value::as_str) == Some(&caller)
            })
            .cloned()
    });
    found
        .map(|t| json_response(StatusCode::OK, t))
        .ok_or_else(|| {
            JiraError::new(
                StatusCode::NOT_FOUND,
                format!("The task with id '{task}' does not exist."),
            )
        })
}
