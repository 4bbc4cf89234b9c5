//! Jira users, fields and access: `/myself`, `/user`, `/user/search`, `/field` (system and
//! custom fields, listed and created), and project roles with their actors — the actors (and site administrators)
//! are who may browse a project's issues.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::issues::{api_root, user_json};
use super::store::{CustomField, JiraData};
use super::{Caller, JiraError, JiraResult, json_response, parse_body};
use crate::sandbox::AppState;
use crate::sandbox::hubspot::Query;

const SYSTEM_FIELDS: [(&str, &str, &str); 16] = [
    ("summary", "Summary", "string"),
    ("description", "Description", "string"),
    ("labels", "Labels", "array"),
    ("duedate", "Due date", "date"),
    ("priority", "Priority", "priority"),
    ("assignee", "Assignee", "user"),
    ("reporter", "Reporter", "user"),
    ("status", "Status", "status"),
    ("issuetype", "Issue Type", "issuetype"),
    ("project", "Project", "project"),
    ("parent", "Parent", "issuelink"),
    ("subtasks", "Sub-tasks", "array"),
    ("timetracking", "Time tracking", "timetracking"),
    ("created", "Created", "datetime"),
    ("updated", "Updated", "datetime"),
    ("comment", "Comment", "comments-page"),
];

/// `GET /rest/api/3/field`: the system fields and the custom fields (`customfield_NNNNN`).
pub async fn fields(State(app): State<Arc<AppState>>) -> JiraResult {
    let out = app.read_jira(|d| {
        let mut v: Vec<Value> = SYSTEM_FIELDS
            .iter()
            .map(|(id, name, ty)| {
                json!({
                    "id": id, "key": id, "name": name, "custom": false,
                    "orderable": true, "navigable": true, "searchable": true,
                    "clauseNames": [id],
                    "schema": {"type": ty, "system": id},
                })
            })
            .collect();
        v.extend(d.custom_fields.iter().map(custom_field_json));
        Value::Array(v)
    });
    Ok(json_response(StatusCode::OK, out))
}

/// Custom field types the emulator stores: plugin key suffix → stored kind.
const CUSTOM_TYPES: [(&str, &str, &str); 4] = [
    ("float", "number", "number"),
    ("textfield", "string", "string"),
    ("textarea", "textarea", "string"),
    ("datepicker", "date", "date"),
];

const PLUGIN_PREFIX: &str = "com.atlassian.jira.plugin.system.customfieldtypes:";

fn custom_field_json(cf: &CustomField) -> Value {
    let num = cf.id.trim_start_matches("customfield_");
    let (plugin, _, ty) = CUSTOM_TYPES
        .iter()
        .find(|(_, kind, _)| *kind == cf.kind)
        .copied()
        .unwrap_or(CUSTOM_TYPES[1]);
    json!({
        "id": cf.id, "key": cf.id, "name": cf.name, "custom": true,
        "orderable": true, "navigable": true, "searchable": true,
        "clauseNames": [format!("cf[{num}]"), cf.name],
        "schema": {
            "type": ty,
            "custom": format!("{PLUGIN_PREFIX}{plugin}"),
            "customId": num.parse::<u64>().unwrap_or_default(),
        },
    })
}

/// Creates a custom field (`{name, type, description?, searcherKey?}`) as `caller`; site
/// administrators only.
pub fn create_field(d: &mut JiraData, caller: &str, body: &Value) -> Result<Value, JiraError> {
    if !is_admin(d, caller) {
        return Err(JiraError::new(
            StatusCode::FORBIDDEN,
            "Only Jira administrators can create custom fields.",
        ));
    }
    let mut errors = serde_json::Map::new();
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or_default();
    if name.is_empty() {
        errors.insert(
            "name".into(),
            json!("The custom field name must be specified."),
        );
    }
    let ty = body.get("type").and_then(Value::as_str).unwrap_or_default();
    let kind = ty
        .strip_prefix(PLUGIN_PREFIX)
        .and_then(|p| CUSTOM_TYPES.iter().find(|(plugin, _, _)| *plugin == p))
        .map(|(_, kind, _)| *kind);
    if kind.is_none() {
        errors.insert(
            "type".into(),
            json!(format!("The custom field type '{ty}' is not valid.")),
        );
    }
    let Some(kind) = kind.filter(|_| errors.is_empty()) else {
        return Err(JiraError::fields(errors));
    };
    let next = d
        .custom_fields
        .iter()
        .filter_map(|c| c.id.trim_start_matches("customfield_").parse::<u64>().ok())
        .max()
        .unwrap_or(10000)
        + 1;
    let cf = CustomField {
        id: format!("customfield_{next}"),
        name: name.to_owned(),
        kind: kind.to_owned(),
    };
    let out = custom_field_json(&cf);
    d.custom_fields.push(cf);
    Ok(out)
}

/// `POST /rest/api/3/field` → 201 with the new field.
pub async fn add_field(
    State(app): State<Arc<AppState>>,
    Extension(Caller(caller)): Extension<Caller>,
    body: Bytes,
) -> JiraResult {
    let body = parse_body(&body)?;
    let out = app.with_jira(|d| create_field(d, &caller, &body))?;
    Ok(json_response(StatusCode::CREATED, out))
}

/// `GET /rest/api/3/myself`.
pub async fn myself(
    State(app): State<Arc<AppState>>,
    Extension(Caller(caller)): Extension<Caller>,
    headers: HeaderMap,
) -> JiraResult {
    let root = api_root(&app, &headers);
    Ok(json_response(
        StatusCode::OK,
        app.read_jira(|d| user_json(d, &caller, &root)),
    ))
}

fn no_user() -> JiraError {
    JiraError::new(
        StatusCode::NOT_FOUND,
        "Specified user does not exist or you do not have required permissions",
    )
}

/// `GET /rest/api/3/user?accountId=`.
pub async fn user(
    State(app): State<Arc<AppState>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> JiraResult {
    let q = Query::parse(q.as_deref());
    let root = api_root(&app, &headers);
    let Some(id) = q.get("accountId") else {
        return Err(JiraError::bad(
            "The accountId query parameter needs to be provided.",
        ));
    };
    let out = app.read_jira(|d| d.user(id).map(|u| user_json(d, &u.account_id, &root)));
    out.map(|v| json_response(StatusCode::OK, v))
        .ok_or_else(no_user)
}

/// `GET /rest/api/3/user/search?query=|accountId=`: users whose name or email starts with the
/// query (any word of the display name), or the one with the account id.
pub async fn search(
    State(app): State<Arc<AppState>>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> JiraResult {
    let q = Query::parse(q.as_deref());
    let root = api_root(&app, &headers);
    let (query, account) = (q.get("query"), q.get("accountId"));
    if query.is_some() && account.is_some() {
        return Err(JiraError::bad(
            "The query parameters 'query' and 'accountId' cannot be used together.",
        ));
    }
    if query.is_none() && account.is_none() {
        return Err(JiraError::bad(
            "One of the query parameters 'query', 'accountId' or 'property' is required.",
        ));
    }
    let start: usize = q.get("startAt").and_then(|n| n.parse().ok()).unwrap_or(0);
    let max: usize = q
        .get("maxResults")
        .and_then(|n| n.parse().ok())
        .unwrap_or(50)
        .min(1000);
    let out = app.read_jira(|d| {
        let hits: Vec<Value> = d
            .users
            .iter()
            .filter(|u| u.active)
            .filter(|u| match (query, account) {
                (_, Some(a)) => u.account_id == a,
                (Some(q), None) => {
                    let q = q.to_lowercase();
                    u.email.to_lowercase().starts_with(&q)
                        || u.display_name.to_lowercase().starts_with(&q)
                        || u.display_name
                            .to_lowercase()
                            .split_whitespace()
                            .any(|w| w.starts_with(&q))
                }
                (None, None) => false,
            })
            .skip(start)
            .take(max)
            .map(|u| user_json(d, &u.account_id, &root))
            .collect();
        Value::Array(hits)
    });
    Ok(json_response(StatusCode::OK, out))
}

fn project_key(d: &JiraData, key_or_id: &str) -> Result<String, JiraError> {
    d.projects
        .values()
        .find(|p| p.key.eq_ignore_ascii_case(key_or_id) || p.id.to_string() == key_or_id)
        .map(|p| p.key.clone())
        .ok_or_else(|| {
            JiraError::new(
                StatusCode::NOT_FOUND,
                format!("No project could be found with key '{key_or_id}'."),
            )
        })
}

fn role_json(d: &JiraData, project: &str, role_id: u64, root: &str) -> Result<Value, JiraError> {
    let p = &d.projects[project];
    let Some(role) = d.roles.iter().find(|r| r.id == role_id) else {
        return Err(JiraError::new(
            StatusCode::NOT_FOUND,
            format!("Role with id '{role_id}' does not exist."),
        ));
    };
    let actors: Vec<Value> = p
        .role_actors
        .get(&role_id)
        .into_iter()
        .flatten()
        .filter_map(|a| d.user(a))
        .map(|u| {
            json!({
                "id": role_id * 100 + 1,
                "displayName": u.display_name,
                "type": "atlassian-user-role-actor",
                "actorUser": {"accountId": u.account_id},
            })
        })
        .collect();
    Ok(json!({
        "self": format!("{root}/project/{}/role/{role_id}", p.id),
        "name": role.name,
        "id": role_id,
        "description": format!("{} of the project", role.name),
        "actors": actors,
        "scope": {"type": "PROJECT", "project": {"id": p.id.to_string(), "key": p.key}},
    }))
}

fn is_admin(d: &JiraData, caller: &str) -> bool {
    d.user(caller).is_some_and(|u| u.admin)
}

/// `GET /rest/api/3/project/{projectIdOrKey}/role`: role name → URL.
pub async fn roles(
    State(app): State<Arc<AppState>>,
    Extension(Caller(caller)): Extension<Caller>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> JiraResult {
    let root = api_root(&app, &headers);
    let out = app.read_jira(|d| {
        let key = project_key(d, &key)?;
        if !d.can_browse(&caller, &key) {
            return Err(JiraError::new(
                StatusCode::NOT_FOUND,
                format!("No project could be found with key '{key}'."),
            ));
        }
        let id = d.projects[&key].id;
        let m: serde_json::Map<String, Value> = d
            .roles
            .iter()
            .map(|r| {
                (
                    r.name.clone(),
                    json!(format!("{root}/project/{id}/role/{}", r.id)),
                )
            })
            .collect();
        Ok(Value::Object(m))
    })?;
    Ok(json_response(StatusCode::OK, out))
}

fn role_id(id: &str) -> Result<u64, JiraError> {
    id.parse()
        .map_err(|_| JiraError::bad(format!("Role id '{id}' is not a number.")))
}

/// `GET /rest/api/3/project/{projectIdOrKey}/role/{id}` (project administrators only; 404 to
/// others, as the spec says).
pub async fn role(
    State(app): State<Arc<AppState>>,
    Extension(Caller(caller)): Extension<Caller>,
    Path((key, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> JiraResult {
    let root = api_root(&app, &headers);
    let rid = role_id(&id)?;
    let out = app.read_jira(|d| {
        let key = project_key(d, &key)?;
        if !is_admin(d, &caller) {
            return Err(JiraError::new(
                StatusCode::NOT_FOUND,
                format!("No project could be found with key '{key}'."),
            ));
        }
        role_json(d, &key, rid, &root)
    })?;
    Ok(json_response(StatusCode::OK, out))
}

fn not_admin() -> JiraError {
    JiraError::new(
        StatusCode::UNAUTHORIZED,
        "You cannot edit the configuration of this project.",
    )
}

/// Adds users (`{"user": [accountId, ...]}`) to a project role → 200 with the role.
pub fn grant(
    d: &mut JiraData,
    caller: &str,
    project: &str,
    rid: u64,
    body: &Value,
) -> Result<(), JiraError> {
    let key = project_key(d, project)?;
    if !is_admin(d, caller) {
        return Err(not_admin());
    }
    if !d.roles.iter().any(|r| r.id == rid) {
        return Err(JiraError::new(
            StatusCode::NOT_FOUND,
            format!("Role with id '{rid}' does not exist."),
        ));
    }
    let users: Vec<String> = body
        .get("user")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if users.is_empty() && body.get("group").is_none() && body.get("groupId").is_none() {
        return Err(JiraError::bad("You must specify a user or a group."));
    }
    if let Some(u) = users.iter().find(|u| !d.user(u).is_some_and(|x| x.active)) {
        return Err(JiraError::new(
            StatusCode::NOT_FOUND,
            format!("The user with account ID '{u}' does not exist."),
        ));
    }
    if let Some(p) = d.projects.get_mut(&key) {
        p.role_actors.entry(rid).or_default().extend(users);
    }
    Ok(())
}

/// Removes a user from a project role.
pub fn revoke(
    d: &mut JiraData,
    caller: &str,
    project: &str,
    rid: u64,
    account: &str,
) -> Result<(), JiraError> {
    let key = project_key(d, project)?;
    if !is_admin(d, caller) {
        return Err(JiraError::new(
            StatusCode::NOT_FOUND,
            format!("No project could be found with key '{key}'."),
        ));
    }
    let removed = d
        .projects
        .get_mut(&key)
        .and_then(|p| p.role_actors.get_mut(&rid))
        .is_some_and(|a| a.remove(account));
    if removed {
        Ok(())
    } else {
        Err(JiraError::new(
            StatusCode::NOT_FOUND,
            format!("The user with account ID '{account}' is not an actor of role {rid}."),
        ))
    }
}

/// `POST /rest/api/3/project/{projectIdOrKey}/role/{id}` with `{"user": [accountId]}`.
pub async fn add_actors(
    State(app): State<Arc<AppState>>,
    Extension(Caller(caller)): Extension<Caller>,
    Path((key, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> JiraResult {
    let body = parse_body(&body)?;
    let root = api_root(&app, &headers);
    let rid = role_id(&id)?;
    let out = app.with_jira(|d| {
        grant(d, &caller, &key, rid, &body)?;
        let key = project_key(d, &key)?;
        role_json(d, &key, rid, &root)
    })?;
    Ok(json_response(StatusCode::OK, out))
}

/// `DELETE /rest/api/3/project/{projectIdOrKey}/role/{id}?user=accountId` → 204.
pub async fn remove_actor(
    State(app): State<Arc<AppState>>,
    Extension(Caller(caller)): Extension<Caller>,
    Path((key, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> JiraResult {
    let q = Query::parse(q.as_deref());
    let rid = role_id(&id)?;
    let Some(account) = q.get("user").map(str::to_owned) else {
        return Err(JiraError::bad("You must specify a user or a group."));
    };
    app.with_jira(|d| revoke(d, &caller, &key, rid, &account))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
