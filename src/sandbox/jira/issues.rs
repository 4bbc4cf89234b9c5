//! Jira issues: create (single and bulk), read with `fields` and `expand=changelog`, edit through
//! `fields` and `update` operations, delete with `deleteSubtasks`, comments and workflow
//! transitions. Descriptions, comments and multi-line custom fields take ADF only, as in v3.

use crate::sandbox::store::Lagged;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

use super::store::{Comment, History, Issue, JiraData};
use super::{Caller, JiraError, JiraResult, jira_time, json_response, parse_body};
use crate::sandbox::AppState;
use crate::sandbox::hubspot::Query;

/// The ADF error Jira answers when a rich-text field gets anything but a document.
pub const NOT_ADF: &str =
    "Operation value must be an Atlassian Document (see the Atlassian Document Format)";

/// Most issues a bulk create takes.
pub const BULK_MAX: usize = 50;

/// `http://host[/base]/rest/api/3`, the prefix of `self` links.
pub fn api_root(app: &AppState, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}{}/rest/api/3", app.jira.base_path())
}

/// Whether a value is an ADF document.
pub fn is_adf(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("doc")
        && v.get("version").and_then(Value::as_u64) == Some(1)
        && v.get("content").is_some_and(Value::is_array)
}

/// The plain text of an ADF document (text nodes, paragraphs on their own lines).
pub fn adf_text(v: &Value) -> String {
    fn walk(v: &Value, out: &mut String) {
        if let Some(t) = v.get("text").and_then(Value::as_str) {
            out.push_str(t);
        }
        if let Some(c) = v.get("content").and_then(Value::as_array) {
            for (i, n) in c.iter().enumerate() {
                if i > 0 && n.get("type").and_then(Value::as_str) == Some("paragraph") {
                    out.push('\n');
                }
                walk(n, out);
            }
        }
    }
    let mut s = String::new();
    walk(v, &mut s);
    s
}

/// An ADF document of one paragraph per line of `text`.
pub fn adf_doc(text: &str) -> Value {
    let content: Vec<Value> = text
        .lines()
        .map(|l| json!({"type": "paragraph", "content": [{"type": "text", "text": l}]}))
        .collect();
    json!({"type": "doc", "version": 1, "content": content})
}

/// Parses a Jira duration (`3h`, `2d 4h`, `1w`, `30m`; 8-hour days, 5-day weeks) into seconds.
pub fn parse_estimate(s: &str) -> Option<i64> {
    let mut total = 0i64;
    let mut any = false;
    for part in s.split_whitespace() {
        let (num, unit) = part.split_at(part.find(|c: char| !c.is_ascii_digit())?);
        let n: i64 = num.parse().ok()?;
        total += n * match unit {
            "w" => 5 * 8 * 3600,
            "d" => 8 * 3600,
            "h" => 3600,
            "m" => 60,
            _ => return None,
        };
        any = true;
    }
    any.then_some(total)
}

/// Formats seconds as Jira does (`1w 2d 3h 30m`).
pub fn format_estimate(mut secs: i64) -> String {
    let mut parts = Vec::new();
    for (unit, len) in [("w", 144_000), ("d", 28_800), ("h", 3600), ("m", 60)] {
        if secs >= len {
            parts.push(format!("{}{unit}", secs / len));
            secs %= len;
        }
    }
    if parts.is_empty() {
        "0m".into()
    } else {
        parts.join(" ")
    }
}

pub(super) fn user_json(d: &JiraData, account_id: &str, root: &str) -> Value {
    match d.user(account_id) {
        Some(u) => json!({
            "self": format!("{root}/user?accountId={}", u.account_id),
            "accountId": u.account_id,
            "emailAddress": u.email,
            "displayName": u.display_name,
            "active": u.active,
            "accountType": "atlassian",
            "timeZone": "UTC",
        }),
        None => Value::Null,
    }
}

fn status_json(d: &JiraData, id: &str, root: &str) -> Value {
    match d.status(id) {
        Some(s) => {
            let (cid, cname, colour) = match s.category.as_str() {
                "new" => (2, "To Do", "blue-gray"),
                "done" => (3, "Done", "green"),
                _ => (4, "In Progress", "yellow"),
            };
            json!({
                "self": format!("{root}/status/{}", s.id),
                "id": s.id,
                "name": s.name,
                "statusCategory": {"id": cid, "key": s.category, "name": cname, "colorName": colour},
            })
        }
        None => Value::Null,
    }
}

fn issue_type_json(d: &JiraData, id: &str, root: &str) -> Value {
    match d.issue_type(id) {
        Some(t) => json!({
            "self": format!("{root}/issuetype/{}", t.id),
            "id": t.id,
            "name": t.name,
            "subtask": t.subtask,
            "hierarchyLevel": t.level,
        }),
        None => Value::Null,
    }
}

fn priority_json(d: &JiraData, id: &str, root: &str) -> Value {
    match d.priorities.iter().find(|p| p.id == id) {
        Some(p) => json!({"self": format!("{root}/priority/{}", p.id), "id": p.id, "name": p.name}),
        None => Value::Null,
    }
}

fn comment_json(d: &JiraData, c: &Comment, root: &str, issue_id: u64) -> Value {
    json!({
        "self": format!("{root}/issue/{issue_id}/comment/{}", c.id),
        "id": c.id.to_string(),
        "author": user_json(d, &c.author, root),
        "body": c.body,
        "created": jira_time(c.created_ms),
        "updated": jira_time(c.created_ms),
    })
}

/// Which fields a rendered issue carries.
#[derive(Debug, Clone)]
pub struct FieldSel {
    all: bool,
    named: Vec<String>,
    excluded: Vec<String>,
}

impl FieldSel {
    /// From a `fields` list; an empty list means `default_all` (GET issue) or just the id (search).
    pub fn parse(list: &[String], default_all: bool) -> Self {
        let mut sel = FieldSel {
            all: list.is_empty() && default_all,
            named: Vec::new(),
            excluded: Vec::new(),
        };
        for f in list {
            match f.as_str() {
                "*all" | "*navigable" => sel.all = true,
                x if x.starts_with('-') => sel.excluded.push(x[1..].to_owned()),
                x => sel.named.push(x.to_owned()),
            }
        }
        sel
    }

    fn wants(&self, f: &str) -> bool {
        !self.excluded.iter().any(|e| e == f) && (self.all || self.named.iter().any(|n| n == f))
    }

    /// Whether only the id (and key) is asked for: search then pages up to 5,000.
    pub fn ids_only(&self) -> bool {
        !self.all && self.named.iter().all(|n| n == "id" || n == "key")
    }
}

/// Renders an issue as Jira's `IssueBean`.
pub fn render(d: &JiraData, i: &Issue, sel: &FieldSel, changelog: bool, root: &str) -> Value {
    let mut m = Map::new();
    m.insert(
        "expand".into(),
        json!("renderedFields,names,schema,transitions,operations,editmeta,changelog"),
    );
    m.insert("id".into(), json!(i.id.to_string()));
    m.insert("self".into(), json!(format!("{root}/issue/{}", i.id)));
    m.insert("key".into(), json!(i.key));
    let mut f = Map::new();
    let mut put = |name: &str, v: Value| {
        if sel.wants(name) {
            f.insert(name.to_owned(), v);
        }
    };
    let get = |k: &str| i.fields.get(k).cloned().unwrap_or(Value::Null);
    put("summary", get("summary"));
    put("description", get("description"));
    put(
        "labels",
        i.fields.get("labels").cloned().unwrap_or(json!([])),
    );
    put("duedate", get("duedate"));
    put(
        "priority",
        i.fields
            .get("priority")
            .and_then(Value::as_str)
            .map_or(Value::Null, |p| priority_json(d, p, root)),
    );
    put(
        "assignee",
        i.fields
            .get("assignee")
            .and_then(Value::as_str)
            .map_or(Value::Null, |a| user_json(d, a, root)),
    );
    put("reporter", user_json(d, &i.reporter, root));
    put("status", status_json(d, &i.status, root));
    put("issuetype", issue_type_json(d, &i.issue_type, root));
    put(
        "project",
        d.projects.get(&i.project).map_or(Value::Null, |p| {
            json!({"self": format!("{root}/project/{}", p.id), "id": p.id.to_string(), "key": p.key, "name": p.name})
        }),
    );
    put(
        "parent",
        i.parent
            .and_then(|p| d.issues.get(&p))
            .map_or(Value::Null, |p| {
                json!({
                    "id": p.id.to_string(),
                    "key": p.key,
                    "self": format!("{root}/issue/{}", p.id),
                    "fields": {
                        "summary": p.fields.get("summary").cloned().unwrap_or(Value::Null),
                        "status": status_json(d, &p.status, root),
                        "issuetype": issue_type_json(d, &p.issue_type, root),
                    }
                })
            }),
    );
    let subtasks: Vec<Value> = d
        .issues
        .values()
        .filter(|c| c.parent == Some(i.id) && c.deleted_ms.is_none())
        .filter(|c| d.issue_type(&c.issue_type).is_some_and(|t| t.subtask))
        .map(|c| json!({"id": c.id.to_string(), "key": c.key, "self": format!("{root}/issue/{}", c.id)}))
        .collect();
    put("subtasks", Value::Array(subtasks));
    let estimate = i.fields.get("timeoriginalestimate").and_then(Value::as_i64);
    put(
        "timetracking",
        estimate.map_or(
            json!({}),
            |s| json!({"originalEstimate": format_estimate(s), "originalEstimateSeconds": s}),
        ),
    );
    put(
        "timeoriginalestimate",
        estimate.map_or(Value::Null, |s| json!(s)),
    );
    put("created", json!(jira_time(i.created_ms)));
    put("updated", json!(jira_time(i.updated_ms)));
    let comments: Vec<Value> = i
        .comments
        .iter()
        .map(|c| comment_json(d, c, root, i.id))
        .collect();
    put(
        "comment",
        json!({"comments": comments, "maxResults": comments.len(), "total": comments.len(), "startAt": 0}),
    );
    for cf in &d.custom_fields {
        put(&cf.id, get(&cf.id));
    }
    if sel.all || !f.is_empty() || !sel.named.is_empty() {
        m.insert("fields".into(), Value::Object(f));
    }
    if changelog {
        let histories: Vec<Value> = i
            .changelog
            .iter()
            .map(|h| {
                json!({
                    "id": h.id.to_string(),
                    "author": user_json(d, &h.author, root),
                    "created": jira_time(h.created_ms),
                    "items": h.items,
                })
            })
            .collect();
        m.insert(
            "changelog".into(),
            json!({"startAt": 0, "maxResults": histories.len(), "total": histories.len(), "histories": histories}),
        );
    }
    Value::Object(m)
}

fn cannot_set(field: &str) -> String {
    format!("Field '{field}' cannot be set. It is not on the appropriate screen, or unknown.")
}

/// Validates one field value and returns what is stored (`None`: cleared).
fn field_value(d: &JiraData, field: &str, v: &Value) -> Result<Option<Value>, String> {
    match field {
        "summary" => match v.as_str().map(str::trim) {
            Some(s) if !s.is_empty() && s.chars().count() <= 255 => Ok(Some(json!(s))),
            Some(s) if !s.is_empty() => Err("Summary must be less than 255 characters.".into()),
            _ => Err("You must specify a summary of the issue.".into()),
        },
        "description" => match v {
            Value::Null => Ok(None),
            v if is_adf(v) => Ok(Some(v.clone())),
            _ => Err(NOT_ADF.into()),
        },
        "labels" => {
            let Some(a) = v.as_array() else {
                return Err("data was not an array".into());
            };
            let mut out = Vec::new();
            for l in a {
                let Some(s) = l.as_str() else {
                    return Err("data was not an array".into());
                };
                if s.contains(char::is_whitespace) {
                    return Err(format!("The label '{s}' contains spaces which is invalid."));
                }
                if !out.contains(&json!(s)) {
                    out.push(json!(s));
                }
            }
            Ok((!out.is_empty()).then_some(Value::Array(out)))
        }
        "duedate" => match v {
            Value::Null => Ok(None),
            Value::String(s) if s.is_empty() => Ok(None),
            Value::String(s) if s.parse::<jiff::civil::Date>().is_ok() => Ok(Some(json!(s))),
            other => Err(format!(
                "Error parsing date string: {}",
                other.as_str().unwrap_or(&other.to_string())
            )),
        },
        "priority" => {
            let p = d.priorities.iter().find(|p| {
                v.get("id").and_then(Value::as_str) == Some(p.id.as_str())
                    || v.get("name").and_then(Value::as_str) == Some(p.name.as_str())
            });
            match p {
                Some(p) => Ok(Some(json!(p.id))),
                None => Err("The priority selected is invalid.".into()),
            }
        }
        "assignee" => match v {
            Value::Null => Ok(None),
            v => match v.get("accountId") {
                Some(Value::Null) => Ok(None),
                Some(Value::String(a)) if d.user(a).is_some_and(|u| u.active) => Ok(Some(json!(a))),
                _ => Err(
                    "Specified user does not exist or you do not have required permissions".into(),
                ),
            },
        },
        "timetracking" => match v.get("originalEstimate") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => parse_estimate(s)
                .map(|n| Some(json!(n)))
                .ok_or_else(|| "Original Estimate is invalid.".to_owned()),
            Some(_) => Err("Original Estimate is invalid.".into()),
        },
        cf => {
            let Some(def) = d.custom_fields.iter().find(|c| c.id == cf) else {
                return Err(cannot_set(cf));
            };
            if v.is_null() {
                return Ok(None);
            }
            let ok = match def.kind.as_str() {
                "number" => v.is_number(),
                "textarea" => is_adf(v),
                "date" => v
                    .as_str()
                    .is_some_and(|s| s.parse::<jiff::civil::Date>().is_ok()),
                _ => v.is_string(),
            };
            if ok {
                Ok(Some(v.clone()))
            } else if def.kind == "textarea" {
                Err(NOT_ADF.into())
            } else {
                Err(format!("Operation value must be a {}", def.kind))
            }
        }
    }
}

/// Where a field's value is stored in [`Issue::fields`].
fn storage_key(field: &str) -> &str {
    if field == "timetracking" {
        "timeoriginalestimate"
    } else {
        field
    }
}

/// Resolves a parent reference (`{key}` or `{id}`) for an issue of type `child_type`.
fn resolve_parent(
    d: &JiraData,
    v: &Value,
    child_type: &str,
    project: &str,
) -> Result<Option<u64>, String> {
    if v.is_null() {
        return Ok(None);
    }
    let r = v
        .get("key")
        .or_else(|| v.get("id"))
        .and_then(|x| {
            x.as_str()
                .map(str::to_owned)
                .or_else(|| x.as_u64().map(|n| n.to_string()))
        })
        .unwrap_or_default();
    let Some(pid) = d.issue_id(&r) else {
        return Err(format!("Could not find issue by id or key: {r}"));
    };
    let parent = &d.issues[&pid];
    let level = |t: &str| d.issue_type(t).map_or(0, |t| t.level);
    if parent.project != project {
        return Err("Sub-tasks must be created in the same project as the parent.".into());
    }
    if level(&parent.issue_type) != level(child_type) + 1 {
        return Err("Given parent work item does not belong to appropriate hierarchy.".into());
    }
    Ok(Some(pid))
}

fn display(d: &JiraData, field: &str, v: Option<&Value>) -> (Value, Value) {
    let Some(v) = v else {
        return (Value::Null, Value::Null);
    };
    match field {
        "assignee" => {
            let a = v.as_str().unwrap_or_default();
            (json!(a), json!(d.user(a).map(|u| u.display_name.clone())))
        }
        "priority" => {
            let p = v.as_str().unwrap_or_default();
            let name = d
                .priorities
                .iter()
                .find(|x| x.id == p)
                .map(|x| x.name.clone());
            (json!(p), json!(name))
        }
        "status" => {
            let s = v.as_str().unwrap_or_default();
            (json!(s), json!(d.status(s).map(|x| x.name.clone())))
        }
        "labels" => {
            let l: Vec<&str> = v
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            (Value::Null, json!(l.join(" ")))
        }
        "timeoriginalestimate" => (json!(v.to_string()), json!(v.to_string())),
        _ if is_adf(v) => (Value::Null, json!(adf_text(v))),
        _ => (
            Value::Null,
            json!(v.as_str().map_or_else(|| v.to_string(), str::to_owned)),
        ),
    }
}

/// Changelog items between two versions of an issue.
fn diff(d: &JiraData, before: &Issue, after: &Issue) -> Vec<Value> {
    let mut keys: Vec<&String> = before.fields.keys().chain(after.fields.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut items = Vec::new();
    let mut item = |field: &str, old: Option<&Value>, new: Option<&Value>| {
        if old == new {
            return;
        }
        let (from, from_s) = display(d, field, old);
        let (to, to_s) = display(d, field, new);
        let custom = field.starts_with("customfield_");
        let name = if custom {
            d.custom_fields
                .iter()
                .find(|c| c.id == field)
                .map_or(field.to_owned(), |c| c.name.clone())
        } else if field == "timeoriginalestimate" {
            "timeoriginalestimate".into()
        } else {
            field.to_owned()
        };
        // The spec types `from`, `fromString`, `to` and `toString` as strings: a side with no
        // value leaves them out.
        let mut it = Map::new();
        it.insert("field".into(), json!(name));
        it.insert(
            "fieldtype".into(),
            json!(if custom { "custom" } else { "jira" }),
        );
        it.insert("fieldId".into(), json!(field));
        for (k, v) in [
            ("from", from),
            ("fromString", from_s),
            ("to", to),
            ("toString", to_s),
        ] {
            if !v.is_null() {
                it.insert(k.into(), v);
            }
        }
        items.push(Value::Object(it));
    };
    for k in keys {
        item(k, before.fields.get(k), after.fields.get(k));
    }
    let (bs, as_) = (json!(before.status), json!(after.status));
    item("status", Some(&bs), Some(&as_));
    let key_of = |p: Option<u64>| p.and_then(|p| d.issues.get(&p)).map(|i| json!(i.key));
    item(
        "IssueParentAssociation",
        key_of(before.parent).as_ref(),
        key_of(after.parent).as_ref(),
    );
    items
}

/// Applies the `fields` and `update` of a create or edit body to `issue`; comments added through
/// `update.comment` are returned to be appended.
fn apply(
    d: &JiraData,
    issue: &mut Issue,
    body: &Value,
    creating: bool,
) -> Result<Vec<Value>, JiraError> {
    let mut errors = Map::new();
    let mut new_comments = Vec::new();
    let fields = match body.get("fields") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(o)) => o.clone(),
        Some(_) => {
            return Err(JiraError::bad(
                "Can not deserialize the fields: expected an object.",
            ));
        }
    };
    for (name, v) in &fields {
        match name.as_str() {
            "project" | "issuetype" if creating => {}
            "parent" => match resolve_parent(d, v, &issue.issue_type, &issue.project) {
                Ok(p) => issue.parent = p,
                Err(e) => {
                    errors.insert("parentId".into(), json!(e));
                }
            },
            "project"
            | "issuetype"
            | "status"
            | "reporter"
            | "created"
            | "updated"
            | "key"
            | "subtasks"
            | "comment"
            | "timeoriginalestimate" => {
                errors.insert(name.clone(), json!(cannot_set(name)));
            }
            _ => match field_value(d, name, v) {
                Ok(Some(val)) => {
                    issue.fields.insert(storage_key(name).to_owned(), val);
                }
                Ok(None) => {
                    issue.fields.remove(storage_key(name));
                }
                Err(e) => {
                    errors.insert(name.clone(), json!(e));
                }
            },
        }
    }
    let update = match body.get("update") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(o)) => o.clone(),
        Some(_) => {
            return Err(JiraError::bad(
                "Can not deserialize the update: expected an object.",
            ));
        }
    };
    for (name, ops) in &update {
        if fields.contains_key(name) {
            errors.insert(
                name.clone(),
                json!(format!(
                    "Field '{name}' cannot be set in both the fields and update sections."
                )),
            );
            continue;
        }
        let Some(ops) = ops.as_array() else {
            errors.insert(name.clone(), json!("Field operations must be an array."));
            continue;
        };
        for op in ops {
            let Some((verb, arg)) = op.as_object().and_then(|o| o.iter().next()) else {
                continue;
            };
            let r: Result<(), String> = match (name.as_str(), verb.as_str()) {
                ("labels", "add" | "remove") => match arg.as_str() {
                    Some(l) if verb == "add" && l.contains(char::is_whitespace) => {
                        Err(format!("The label '{l}' contains spaces which is invalid."))
                    }
                    Some(l) => {
                        let mut labels = issue.labels();
                        labels.retain(|x| x != l);
                        if verb == "add" {
                            labels.push(l.to_owned());
                        }
                        if labels.is_empty() {
                            issue.fields.remove("labels");
                        } else {
                            issue.fields.insert("labels".into(), json!(labels));
                        }
                        Ok(())
                    }
                    None => Err("Label must be a string.".into()),
                },
                ("comment", "add") => match arg.get("body") {
                    Some(b) if is_adf(b) => {
                        new_comments.push(b.clone());
                        Ok(())
                    }
                    _ => Err(NOT_ADF.into()),
                },
                ("parent", "set") => resolve_parent(d, arg, &issue.issue_type, &issue.project)
                    .map(|p| issue.parent = p),
                (f, "set") if !matches!(f, "project" | "issuetype" | "status" | "comment") => {
                    field_value(d, f, arg).map(|val| match val {
                        Some(val) => {
                            issue.fields.insert(storage_key(f).to_owned(), val);
                        }
                        None => {
                            issue.fields.remove(storage_key(f));
                        }
                    })
                }
                (f, _) => Err(cannot_set(f)),
            };
            if let Err(e) = r {
                errors.insert(name.clone(), json!(e));
            }
        }
    }
    if errors.is_empty() {
        Ok(new_comments)
    } else {
        Err(JiraError::fields(errors))
    }
}

fn next_event_id(d: &mut JiraData) -> u64 {
    d.last_event_id += 1;
    d.last_event_id
}

/// Creates one issue from an `IssueUpdateDetails` body; returns its id.
pub fn create_issue(
    d: &mut JiraData,
    caller: &str,
    body: &Value,
    now: i64,
    lag: i64,
) -> Result<u64, JiraError> {
    let fields = body.get("fields").cloned().unwrap_or(Value::Null);
    let mut errors = Map::new();
    let pref = fields.get("project");
    let project = pref.and_then(|p| {
        let key = p.get("key").and_then(Value::as_str);
        let id = p.get("id").and_then(|x| {
            x.as_str()
                .map(str::to_owned)
                .or_else(|| x.as_u64().map(|n| n.to_string()))
        });
        d.projects
            .values()
            .find(|pr| key == Some(pr.key.as_str()) || id.as_deref() == Some(&pr.id.to_string()))
            .map(|pr| pr.key.clone())
    });
    if project.is_none() {
        errors.insert("project".into(), json!("Specify a valid project ID or key"));
    }
    let tref = fields.get("issuetype");
    let itype = tref.and_then(|t| {
        d.issue_types
            .iter()
            .find(|it| {
                t.get("id").and_then(Value::as_str) == Some(it.id.as_str())
                    || t.get("name").and_then(Value::as_str) == Some(it.name.as_str())
            })
            .map(|it| it.id.clone())
    });
    match (tref, &itype) {
        (None, _) => {
            errors.insert("issuetype".into(), json!("Specify an issue type"));
        }
        (Some(_), None) => {
            errors.insert(
                "issuetype".into(),
                json!("The issue type selected is invalid."),
            );
        }
        _ => {}
    }
    let has_summary = fields.get("summary").is_some()
        || body
            .pointer("/update/summary")
            .is_some_and(|s| !s.is_null());
    if !has_summary {
        errors.insert(
            "summary".into(),
            json!("You must specify a summary of the issue."),
        );
    }
    if let (Some(p), Some(_)) = (&project, &itype)
        && !d.can_browse(caller, p)
    {
        errors.insert(
            "project".into(),
            json!("You do not have permission to create issues in this project."),
        );
    }
    let (Some(project), Some(itype)) = (project, itype) else {
        return Err(JiraError::fields(errors));
    };
    if !errors.is_empty() {
        return Err(JiraError::fields(errors));
    }
    let mut issue = Issue {
        id: d.last_issue_id + 1,
        key: String::new(),
        project: project.clone(),
        issue_type: itype.clone(),
        status: d
            .statuses
            .iter()
            .find(|s| s.category == "new")
            .map(|s| s.id.clone())
            .unwrap_or_default(),
        parent: None,
        reporter: caller.to_owned(),
        fields: Map::new(),
        created_ms: now,
        updated_ms: now,
        deleted_ms: None,
        changelog: Vec::new(),
        comments: Vec::new(),
        search_view: None,
        indexed_at_ms: 0,
    };
    let comments = apply(d, &mut issue, body, true)?;
    let subtask = d.issue_type(&itype).is_some_and(|t| t.subtask);
    if subtask && issue.parent.is_none() {
        let mut e = Map::new();
        e.insert(
            "parentId".into(),
            json!("Given parent work item does not belong to appropriate hierarchy."),
        );
        return Err(JiraError::fields(e));
    }
    let number = match d.projects.get_mut(&project) {
        Some(p) => {
            p.last_number += 1;
            p.last_number
        }
        None => return Err(JiraError::bad("Specify a valid project ID or key")),
    };
    issue.key = format!("{project}-{number}");
    for body in comments {
        let id = next_event_id(d);
        issue.comments.push(Comment {
            id,
            author: caller.to_owned(),
            body,
            created_ms: now,
        });
    }
    if !issue.fields.contains_key("priority")
        && let Some(p) = d.priorities.iter().find(|p| p.name == "Medium")
    {
        issue.fields.insert("priority".into(), json!(p.id));
    }
    issue.mark_written(None, now, lag);
    d.last_issue_id = issue.id;
    let id = issue.id;
    d.issues.insert(id, issue);
    Ok(id)
}

/// Edits a live issue as `caller` (browse permission checked); returns nothing on success.
pub fn edit_issue(
    d: &mut JiraData,
    caller: &str,
    key: &str,
    body: &Value,
    now: i64,
    lag: i64,
) -> Result<(), JiraError> {
    let id = visible(d, caller, key)?;
    if !body.is_object() || (body.get("fields").is_none() && body.get("update").is_none()) {
        return Err(JiraError::bad(
            "Can not deserialize the request body: no fields or update operations.",
        ));
    }
    let before = d.issues[&id].clone();
    let mut issue = before.clone();
    let comments = apply(d, &mut issue, body, false)?;
    for b in comments {
        let cid = next_event_id(d);
        issue.comments.push(Comment {
            id: cid,
            author: caller.to_owned(),
            body: b,
            created_ms: now,
        });
    }
    commit(d, caller, before, issue, now, lag);
    Ok(())
}

/// Stores a changed issue: a changelog entry for what changed, the update time, the search lag.
fn commit(d: &mut JiraData, caller: &str, before: Issue, mut issue: Issue, now: i64, lag: i64) {
    let items = diff(d, &before, &issue);
    if !items.is_empty() {
        let hid = next_event_id(d);
        issue.changelog.push(History {
            id: hid,
            author: caller.to_owned(),
            created_ms: now,
            items,
        });
    }
    if issue != before {
        issue.updated_ms = now.max(before.updated_ms);
        issue.mark_written(Some(&before), now, lag);
    }
    d.issues.insert(issue.id, issue);
}

/// The id of a live issue `caller` may browse (404 as Jira answers otherwise).
pub fn visible(d: &JiraData, caller: &str, key: &str) -> Result<u64, JiraError> {
    d.issue_id(key)
        .filter(|id| d.can_browse(caller, &d.issues[id].project))
        .ok_or_else(JiraError::issue_not_found)
}

/// Deletes an issue (its subtasks too when `delete_subtasks`; children of an epic are kept and
/// lose their parent).
pub fn delete_issue(
    d: &mut JiraData,
    caller: &str,
    key: &str,
    delete_subtasks: bool,
    now: i64,
    lag: i64,
) -> Result<(), JiraError> {
    let id = visible(d, caller, key)?;
    if !d.user(caller).is_some_and(|u| u.admin) {
        return Err(JiraError::new(
            StatusCode::FORBIDDEN,
            "You do not have permission to delete issues in this project.",
        ));
    }
    let children: Vec<u64> = d
        .issues
        .values()
        .filter(|c| c.parent == Some(id) && c.deleted_ms.is_none())
        .map(|c| c.id)
        .collect();
    let (subtasks, others): (Vec<u64>, Vec<u64>) = children.into_iter().partition(|c| {
        d.issue_type(&d.issues[c].issue_type)
            .is_some_and(|t| t.subtask)
    });
    if !subtasks.is_empty() && !delete_subtasks {
        return Err(JiraError::bad(format!(
            "The issue '{}' has subtasks. Set deleteSubtasks to true to delete the issue and its subtasks.",
            d.issues[&id].key
        )));
    }
    for c in others {
        let before = d.issues[&c].clone();
        let mut after = before.clone();
        after.parent = None;
        commit(d, caller, before, after, now, lag);
    }
    for i in subtasks.into_iter().chain([id]) {
        if let Some(issue) = d.issues.get_mut(&i) {
            let before = issue.clone();
            issue.deleted_ms = Some(now);
            issue.mark_written(Some(&before), now, lag);
        }
    }
    Ok(())
}

/// The transitions available to an issue from its current status.
pub fn available(d: &JiraData, i: &Issue) -> Vec<super::store::TransitionDef> {
    d.workflow(&i.issue_type)
        .iter()
        .filter(|t| (t.from.is_empty() || t.from.contains(&i.status)) && t.to != i.status)
        .cloned()
        .collect()
}

/// Moves an issue through a transition available from its current status (400 otherwise), with
/// the body's `fields` and `update` applied too.
pub fn transition_issue(
    d: &mut JiraData,
    caller: &str,
    key: &str,
    body: &Value,
    now: i64,
    lag: i64,
) -> Result<(), JiraError> {
    let id = visible(d, caller, key)?;
    let tid = body.pointer("/transition/id").and_then(|x| {
        x.as_str()
            .map(str::to_owned)
            .or_else(|| x.as_u64().map(|n| n.to_string()))
    });
    let Some(tid) = tid else {
        return Err(JiraError::bad("Missing 'transition' identifier"));
    };
    let before = d.issues[&id].clone();
    let Some(t) = available(d, &before).into_iter().find(|t| t.id == tid) else {
        return Err(JiraError::bad(format!(
            "Transition id '{tid}' is not valid for this issue."
        )));
    };
    let mut issue = before.clone();
    let comments = apply(d, &mut issue, body, false)?;
    for b in comments {
        let cid = next_event_id(d);
        issue.comments.push(Comment {
            id: cid,
            author: caller.to_owned(),
            body: b,
            created_ms: now,
        });
    }
    issue.status = t.to;
    commit(d, caller, before, issue, now, lag);
    Ok(())
}

fn caller_root(app: &AppState, headers: &HeaderMap) -> String {
    api_root(app, headers)
}

fn created_json(d: &JiraData, id: u64, root: &str) -> Value {
    let key = d.issues.get(&id).map(|i| i.key.clone()).unwrap_or_default();
    json!({"id": id.to_string(), "key": key, "self": format!("{root}/issue/{id}")})
}

/// `POST /rest/api/3/issue`.
pub async fn create(
    State(app): State<Arc<AppState>>,
    Extension(Caller(caller)): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> JiraResult {
    let body = parse_body(&body)?;
    let root = caller_root(&app, &headers);
    let (now, lag) = (app.now_ms(), app.jira.lag_ms());
    let out = app.with_jira(|d| {
        create_issue(d, &caller, &body, now, lag).map(|id| created_json(d, id, &root))
    })?;
    Ok(json_response(StatusCode::CREATED, out))
}

/// `POST /rest/api/3/issue/bulk`: up to 50 issues, each failure reported with its index.
pub async fn bulk_create(
    State(app): State<Arc<AppState>>,
    Extension(Caller(caller)): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> JiraResult {
    let body = parse_body(&body)?;
    let Some(updates) = body.get("issueUpdates").and_then(Value::as_array) else {
        return Err(JiraError::bad("Issue updates must not be empty."));
    };
    if updates.is_empty() {
        return Err(JiraError::bad("Issue updates must not be empty."));
    }
    if updates.len() > BULK_MAX {
        return Err(JiraError::bad(format!(
            "The number of issues to create must not exceed {BULK_MAX}."
        )));
    }
    let root = caller_root(&app, &headers);
    let (now, lag) = (app.now_ms(), app.jira.lag_ms());
    let (issues, errors) = app.with_jira(|d| {
        let mut issues = Vec::new();
        let mut errors = Vec::new();
        for (n, u) in updates.iter().enumerate() {
            match create_issue(d, &caller, u, now, lag) {
                Ok(id) => issues.push(created_json(d, id, &root)),
                Err(e) => errors.push(json!({
                    "status": e.status().as_u16(),
                    "elementErrors": e.body(),
                    "failedElementNumber": n,
                })),
            }
        }
        (issues, errors)
    });
    let status = if issues.is_empty() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::CREATED
    };
    Ok(json_response(
        status,
        json!({"issues": issues, "errors": errors}),
    ))
}

/// Most issues a bulk fetch takes.
pub const BULK_FETCH_MAX: usize = 100;

/// `POST /rest/api/3/issue/bulkfetch`: up to 100 issues by id or key, in ascending id order;
/// those that do not exist (or deleted, or not browsable) are left out.
pub async fn bulk_fetch(
    State(app): State<Arc<AppState>>,
    Extension(Caller(caller)): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> JiraResult {
    let body = parse_body(&body)?;
    let wanted: Vec<String> = body
        .get("issueIdsOrKeys")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| {
                    x.as_str()
                        .map(str::to_owned)
                        .or_else(|| x.as_u64().map(|n| n.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    if wanted.is_empty() || wanted.len() > BULK_FETCH_MAX {
        return Err(JiraError::bad(format!(
            "Between 1 and {BULK_FETCH_MAX} issue ids or keys must be given in issueIdsOrKeys."
        )));
    }
    let list = |k: &str| -> Vec<String> {
        match body.get(k) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        }
    };
    let sel = FieldSel::parse(&list("fields"), true);
    let changelog = list("expand").iter().any(|e| e == "changelog");
    let root = caller_root(&app, &headers);
    let out = app.read_jira(|d| {
        let mut ids: Vec<u64> = wanted
            .iter()
            .filter_map(|k| visible(d, &caller, k).ok())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let issues: Vec<Value> = ids
            .iter()
            .map(|id| render(d, &d.issues[id], &sel, changelog, &root))
            .collect();
        json!({"issues": issues, "issueErrors": []})
    });
    Ok(json_response(StatusCode::OK, out))
}

/// `GET /rest/api/3/issue/{issueIdOrKey}`.
pub async fn read(
    State(app): State<Arc<AppState>>,
    Extension(Caller(caller)): Extension<Caller>,
    Path(key): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> JiraResult {
    let q = Query::parse(q.as_deref());
    let sel = FieldSel::parse(&q.list("fields"), true);
    let changelog = q.list("expand").iter().any(|e| e == "changelog");
    let root = caller_root(&app, &headers);
    let out = app.read_jira(|d| {
        visible(d, &caller, &key).map(|id| render(d, &d.issues[&id], &sel, changelog, &root))
    })?;
    Ok(json_response(StatusCode::OK, out))
}

/// A 204 as the spec declares it for an edit and a transition: no body, typed
/// `application/json` (the delete's 204 declares no content, and has no type).
fn no_content_json() -> axum::response::Response {
    (
        StatusCode::NO_CONTENT,
        [(header::CONTENT_TYPE, "application/json")],
    )
        .into_response()
}

/// `PUT /rest/api/3/issue/{issueIdOrKey}` → 204.
pub async fn edit(
    State(app): State<Arc<AppState>>,
    Extension(Caller(caller)): Extension<Caller>,
    Path(key): Path<String>,
    body: Bytes,
) -> JiraResult {
    let body = parse_body(&body)?;
    let (now, lag) = (app.now_ms(), app.jira.lag_ms());
    app.with_jira(|d| edit_issue(d, &caller, &key, &body, now, lag))?;
    Ok(no_content_json())
}

/// `DELETE /rest/api/3/issue/{issueIdOrKey}[?deleteSubtasks=true]` → 204.
pub async fn delete(
    State(app): State<Arc<AppState>>,
    Extension(Caller(caller)): Extension<Caller>,
    Path(key): Path<String>,
    RawQuery(q): RawQuery,
) -> JiraResult {
    let q = Query::parse(q.as_deref());
    let subtasks = q.flag("deleteSubtasks");
    let (now, lag) = (app.now_ms(), app.jira.lag_ms());
    app.with_jira(|d| delete_issue(d, &caller, &key, subtasks, now, lag))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /rest/api/3/issue/{issueIdOrKey}/comment`.
pub async fn comments(
    State(app): State<Arc<AppState>>,
    Extension(Caller(caller)): Extension<Caller>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> JiraResult {
    let root = caller_root(&app, &headers);
    let out = app.read_jira(|d| {
        visible(d, &caller, &key).map(|id| {
            let i = &d.issues[&id];
            let c: Vec<Value> = i
                .comments
                .iter()
                .map(|c| comment_json(d, c, &root, id))
                .collect();
            json!({"startAt": 0, "maxResults": c.len(), "total": c.len(), "comments": c})
        })
    })?;
    Ok(json_response(StatusCode::OK, out))
}

/// `POST /rest/api/3/issue/{issueIdOrKey}/comment` with an ADF `body` → 201.
pub async fn add_comment(
    State(app): State<Arc<AppState>>,
    Extension(Caller(caller)): Extension<Caller>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> JiraResult {
    let body = parse_body(&body)?;
    let root = caller_root(&app, &headers);
    let (now, lag) = (app.now_ms(), app.jira.lag_ms());
    let out = app.with_jira(|d| {
        let id = visible(d, &caller, &key)?;
        let Some(adf) = body.get("body").filter(|b| is_adf(b)) else {
            let mut e = Map::new();
            e.insert("comment".into(), json!(NOT_ADF));
            return Err(JiraError::fields(e));
        };
        let cid = next_event_id(d);
        let c = Comment {
            id: cid,
            author: caller.clone(),
            body: adf.clone(),
            created_ms: now,
        };
        let out = comment_json(d, &c, &root, id);
        let before = d.issues[&id].clone();
        let mut issue = before.clone();
        issue.comments.push(c);
        commit(d, &caller, before, issue, now, lag);
        Ok(out)
    })?;
    Ok(json_response(StatusCode::CREATED, out))
}

/// `GET /rest/api/3/issue/{issueIdOrKey}/transitions`: those available from the current status.
pub async fn transitions(
    State(app): State<Arc<AppState>>,
    Extension(Caller(caller)): Extension<Caller>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> JiraResult {
    let root = caller_root(&app, &headers);
    let out = app.read_jira(|d| {
        visible(d, &caller, &key).map(|id| {
            let i = &d.issues[&id];
            let ts: Vec<Value> = available(d, i)
                .iter()
                .map(|t| {
                    json!({
                        "id": t.id,
                        "name": t.name,
                        "to": status_json(d, &t.to, &root),
                        "hasScreen": false,
                        "isGlobal": t.from.is_empty(),
                        "isInitial": false,
                        "isAvailable": true,
                        "isConditional": false,
                        "isLooped": false,
                    })
                })
                .collect();
            json!({"expand": "transitions", "transitions": ts})
        })
    })?;
    Ok(json_response(StatusCode::OK, out))
}

/// `POST /rest/api/3/issue/{issueIdOrKey}/transitions` → 204.
pub async fn transition(
    State(app): State<Arc<AppState>>,
    Extension(Caller(caller)): Extension<Caller>,
    Path(key): Path<String>,
    body: Bytes,
) -> JiraResult {
    let body = parse_body(&body)?;
    let (now, lag) = (app.now_ms(), app.jira.lag_ms());
    app.with_jira(|d| transition_issue(d, &caller, &key, &body, now, lag))?;
    Ok(no_content_json())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_parse_and_format_as_jira_does() {
        assert_eq!(parse_estimate("3h"), Some(10_800));
        assert_eq!(parse_estimate("1w 2d 30m"), Some(144_000 + 57_600 + 1800));
        assert_eq!(parse_estimate("3x"), None);
        assert_eq!(parse_estimate(""), None);
        assert_eq!(format_estimate(144_000 + 57_600 + 1800), "1w 2d 30m");
    }

    #[test]
    fn adf_is_recognised_and_read() {
        let d = adf_doc("one\ntwo");
        assert!(is_adf(&d));
        assert!(!is_adf(&json!("one")));
        assert_eq!(adf_text(&d), "one\ntwo");
    }
}
