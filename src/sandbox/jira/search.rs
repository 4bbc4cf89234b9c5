//! JQL search: `GET/POST /rest/api/3/search/jql` with `nextPageToken` paging, `maxResults`,
//! `fields`, `expand=changelog` and `reconcileIssues`, and `POST /search/approximate-count`, over
//! an eventually consistent index (the configured lag); the retired `/rest/api/3/search` answers
//! 410 as Jira does now.
//!
//! The JQL subset: `project`, `labels`, `key`/`issuekey`, `status`, `parent`, `assignee` with
//! `=`, `!=` and `in (...)`; `updated`/`created` with `=`, `>`, `>=`, `<`, `<=` and a date
//! (`yyyy-MM-dd[ HH:mm]`, `yyyy/MM/dd[ HH:mm]`, in UTC); clauses joined by `AND`;
//! `ORDER BY updated|created|key [ASC|DESC], ...`.

use crate::sandbox::store::Lagged;
use std::cmp::Ordering;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use super::issues::{FieldSel, api_root, render};
use super::store::{Issue, JiraData};
use super::{Caller, JiraError, JiraResult, json_response, parse_body};
use crate::sandbox::AppState;
use crate::sandbox::hubspot::Query;

/// The body of the retired search endpoints.
pub const RETIRED: &str = "The requested API has been removed. Please migrate to the \
    /rest/api/3/search/jql API. A full migration guideline is available at \
    https://developer.atlassian.com/changelog/#CHANGE-2046";

/// Page size when none is asked for.
pub const DEFAULT_MAX: usize = 50;
/// Largest page when fields are asked for.
pub const MAX_WITH_FIELDS: usize = 100;
/// Largest page when only ids or keys are asked for.
pub const MAX_IDS: usize = 5000;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Op(String),
    LParen,
    RParen,
    Comma,
}

fn jql_error(msg: impl std::fmt::Display) -> JiraError {
    JiraError::bad(format!("Error in the JQL Query: {msg}"))
}

fn tokenize(s: &str) -> Result<Vec<Tok>, JiraError> {
    let cs: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        match c {
            _ if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '"' | '\'' => {
                let mut j = i + 1;
                let mut v = String::new();
                while j < cs.len() && cs[j] != c {
                    if cs[j] == '\\' && j + 1 < cs.len() {
                        j += 1;
                    }
                    v.push(cs[j]);
                    j += 1;
                }
                if j >= cs.len() {
                    return Err(jql_error(format!(
                        "The quoted string '{v}' has not been completed. (line 1, character {})",
                        i + 1
                    )));
                }
                out.push(Tok::Str(v));
                i = j + 1;
            }
            '=' | '!' | '<' | '>' | '~' => {
                let mut op = c.to_string();
                if i + 1 < cs.len() && cs[i + 1] == '=' {
                    op.push('=');
                    i += 1;
                }
                if op == "!" {
                    return Err(jql_error("Expecting operator but got '!'."));
                }
                out.push(Tok::Op(op));
                i += 1;
            }
            _ => {
                let mut j = i;
                while j < cs.len()
                    && !cs[j].is_whitespace()
                    && !matches!(
                        cs[j],
                        '(' | ')' | ',' | '=' | '!' | '<' | '>' | '~' | '"' | '\''
                    )
                {
                    j += 1;
                }
                out.push(Tok::Word(cs[i..j].iter().collect()));
                i = j;
            }
        }
    }
    Ok(out)
}

/// One restriction of a query.
#[derive(Debug, Clone, PartialEq)]
enum Clause {
    /// `field op value` or `field in (values)` (op `in`).
    Values {
        field: String,
        op: String,
        values: Vec<String>,
    },
    /// `updated|created op date` (epoch ms of the minute).
    Time { field: String, op: String, ms: i64 },
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Jql {
    clauses: Vec<Clause>,
    order: Vec<(String, bool)>,
}

fn parse_date(field: &str, v: &str) -> Result<i64, JiraError> {
    let norm = v.trim().replace('/', "-");
    let parsed = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M", &norm)
        .ok()
        .or_else(|| {
            norm.parse::<jiff::civil::Date>()
                .ok()
                .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
        });
    if let Some(dt) = parsed
        && let Ok(z) = dt.to_zoned_datetime(jiff::tz::TimeZone::UTC)
    {
        return Ok(z.timestamp().as_millisecond());
    }
    if let Ok(ms) = v.trim().parse::<i64>() {
        return Ok(ms);
    }
    Err(JiraError::bad(format!(
        "Date value '{v}' for field '{field}' is invalid. Valid formats include: \
         'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format \
         e.g. '-5d', '4w 2d'."
    )))
}

const VALUE_FIELDS: [&str; 7] = [
    "project", "labels", "key", "issuekey", "status", "parent", "assignee",
];

/// Parses the JQL subset the emulator understands.
pub fn parse(jql: &str) -> Result<Jql, JiraError> {
    let toks = tokenize(jql)?;
    let mut i = 0;
    let mut clauses = Vec::new();
    let mut order = Vec::new();
    let word = |t: Option<&Tok>| match t {
        Some(Tok::Word(w)) => Some(w.to_ascii_lowercase()),
        _ => None,
    };
    let value = |t: Option<&Tok>| match t {
        Some(Tok::Word(w) | Tok::Str(w)) => Some(w.clone()),
        _ => None,
    };
    while i < toks.len() {
        if word(toks.get(i)).as_deref() == Some("order") {
            if word(toks.get(i + 1)).as_deref() != Some("by") {
                return Err(jql_error("Expecting 'by' after 'order'."));
            }
            i += 2;
            loop {
                let Some(f) = word(toks.get(i)) else {
                    return Err(jql_error("Expecting a field name after 'order by'."));
                };
                if !matches!(f.as_str(), "updated" | "created" | "key" | "issuekey") {
                    return Err(JiraError::bad(format!(
                        "Not able to sort using field '{f}'."
                    )));
                }
                i += 1;
                let mut asc = true;
                match word(toks.get(i)).as_deref() {
                    Some("asc") => i += 1,
                    Some("desc") => {
                        asc = false;
                        i += 1;
                    }
                    _ => {}
                }
                order.push((f, asc));
                if toks.get(i) == Some(&Tok::Comma) {
                    i += 1;
                } else {
                    break;
                }
            }
            if i < toks.len() {
                return Err(jql_error(
                    "Expecting end of query after the ORDER BY clause.",
                ));
            }
            break;
        }
        if !clauses.is_empty() {
            match word(toks.get(i)).as_deref() {
                Some("and") => i += 1,
                Some("or") => {
                    return Err(jql_error(
                        "OR is not supported by the sandbox's JQL subset.",
                    ));
                }
                _ => {
                    return Err(jql_error(
                        "Expecting either 'OR' or 'AND' but got another token.",
                    ));
                }
            }
        }
        let Some(field) = word(toks.get(i)) else {
            return Err(jql_error("Expecting a field name."));
        };
        i += 1;
        let op = match toks.get(i) {
            Some(Tok::Op(o)) => o.clone(),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("in") => "in".into(),
            _ => {
                return Err(jql_error(format!(
                    "Expecting operator but got another token after '{field}'."
                )));
            }
        };
        i += 1;
        if matches!(field.as_str(), "updated" | "created") {
            let Some(v) = value(toks.get(i)) else {
                return Err(jql_error(format!("Expecting a date value for '{field}'.")));
            };
            if !matches!(op.as_str(), "=" | ">" | ">=" | "<" | "<=") {
                return Err(JiraError::bad(format!(
                    "The operator '{op}' is not supported by the '{field}' field."
                )));
            }
            let ms = parse_date(&field, &v)?;
            clauses.push(Clause::Time { field, op, ms });
            i += 1;
            continue;
        }
        if !VALUE_FIELDS.contains(&field.as_str()) {
            return Err(JiraError::bad(format!(
                "Field '{field}' does not exist or you do not have permission to view it."
            )));
        }
        let values = if op == "in" {
            if toks.get(i) != Some(&Tok::LParen) {
                return Err(jql_error("Expecting '(' after 'in'."));
            }
            i += 1;
            let mut vs = Vec::new();
            loop {
                let Some(v) = value(toks.get(i)) else {
                    return Err(jql_error("Expecting a value in the list."));
                };
                vs.push(v);
                i += 1;
                match toks.get(i) {
                    Some(Tok::Comma) => i += 1,
                    Some(Tok::RParen) => {
                        i += 1;
                        break;
                    }
                    _ => return Err(jql_error("Expecting ',' or ')' in the list.")),
                }
            }
            vs
        } else if matches!(op.as_str(), "=" | "!=") {
            let Some(v) = value(toks.get(i)) else {
                return Err(jql_error(format!(
                    "Expecting a value after '{field} {op}'."
                )));
            };
            i += 1;
            vec![v]
        } else {
            return Err(JiraError::bad(format!(
                "The operator '{op}' is not supported by the '{field}' field."
            )));
        };
        let field = if field == "issuekey" {
            "key".into()
        } else {
            field
        };
        clauses.push(Clause::Values { field, op, values });
    }
    Ok(Jql { clauses, order })
}

/// Checks the values a query names exist (as Jira does for projects and issue keys).
fn validate(d: &JiraData, caller: &str, q: &Jql) -> Result<(), JiraError> {
    if q.clauses.is_empty() {
        return Err(JiraError::bad(
            "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
        ));
    }
    for c in &q.clauses {
        let Clause::Values { field, values, .. } = c else {
            continue;
        };
        for v in values {
            let ok = match field.as_str() {
                "project" => d.projects.values().any(|p| {
                    (p.key.eq_ignore_ascii_case(v) || p.id.to_string() == *v)
                        && d.can_browse(caller, &p.key)
                }),
                "key" | "parent" => d
                    .issue_id(v)
                    .is_some_and(|id| d.can_browse(caller, &d.issues[&id].project)),
                _ => true,
            };
            if !ok {
                return Err(JiraError::bad(if field == "project" {
                    format!("The value '{v}' does not exist for the field 'project'.")
                } else {
                    format!("An issue with key '{v}' does not exist for field '{field}'.")
                }));
            }
        }
    }
    Ok(())
}

fn matches(d: &JiraData, i: &Issue, q: &Jql) -> bool {
    q.clauses.iter().all(|c| match c {
        Clause::Time { field, op, ms } => {
            let t = if field == "created" {
                i.created_ms
            } else {
                i.updated_ms
            };
            // JQL dates are minute-granular.
            let t = t - t.rem_euclid(60_000);
            match op.as_str() {
                "=" => t == *ms,
                ">" => t > *ms,
                ">=" => t >= *ms,
                "<" => t < *ms,
                _ => t <= *ms,
            }
        }
        Clause::Values { field, op, values } => {
            let hit = values.iter().any(|v| match field.as_str() {
                "project" => {
                    i.project.eq_ignore_ascii_case(v)
                        || d.projects
                            .get(&i.project)
                            .is_some_and(|p| p.id.to_string() == *v)
                }
                "labels" => i.labels().iter().any(|l| l == v),
                "key" => i.key.eq_ignore_ascii_case(v) || i.id.to_string() == *v,
                "status" => d
                    .status(&i.status)
                    .is_some_and(|s| s.name.eq_ignore_ascii_case(v) || s.id == *v),
                "parent" => i
                    .parent
                    .and_then(|p| d.issues.get(&p))
                    .is_some_and(|p| p.key.eq_ignore_ascii_case(v) || p.id.to_string() == *v),
                "assignee" => i.fields.get("assignee").and_then(Value::as_str) == Some(v.as_str()),
                _ => false,
            });
            if op == "!=" { !hit } else { hit }
        }
    })
}

fn compare(a: &Issue, b: &Issue, order: &[(String, bool)]) -> Ordering {
    for (f, asc) in order {
        let o = match f.as_str() {
            "updated" => a.updated_ms.cmp(&b.updated_ms),
            "created" => a.created_ms.cmp(&b.created_ms),
            _ => (a.project.as_str(), a.id).cmp(&(b.project.as_str(), b.id)),
        };
        let o = if *asc { o } else { o.reverse() };
        if o != Ordering::Equal {
            return o;
        }
    }
    b.id.cmp(&a.id)
}

/// The parameters of a search, from the POST body or the GET query.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    /// The query.
    pub jql: String,
    /// Where to continue.
    pub next_page_token: Option<String>,
    /// Page size asked for.
    pub max_results: Option<usize>,
    /// Fields asked for.
    pub fields: Vec<String>,
    /// Expansions (`changelog`).
    pub expand: Vec<String>,
    /// Issue ids to read consistently.
    pub reconcile: Vec<u64>,
}

/// Runs a search as `caller` at `now`.
pub fn run(
    d: &JiraData,
    caller: &str,
    req: &SearchRequest,
    root: &str,
    now: i64,
) -> Result<Value, JiraError> {
    let q = parse(&req.jql)?;
    validate(d, caller, &q)?;
    if req.reconcile.len() > 50 {
        return Err(JiraError::bad(
            "reconcileIssues accepts at most 50 issue ids.",
        ));
    }
    let sel = FieldSel::parse(&req.fields, false);
    let cap = if sel.ids_only() {
        MAX_IDS
    } else {
        MAX_WITH_FIELDS
    };
    let max = req.max_results.unwrap_or(DEFAULT_MAX).clamp(1, cap);
    let start = match &req.next_page_token {
        None => 0,
        Some(t) => t
            .strip_prefix("sbx-")
            .and_then(|n| usize::from_str_radix(n, 16).ok())
            .ok_or_else(|| JiraError::bad("The provided next page token is invalid or expired."))?,
    };
    let mut hits: Vec<&Issue> = d
        .issues
        .values()
        .filter_map(|i| {
            if req.reconcile.contains(&i.id) {
                Some(i)
            } else {
                i.searchable(now)
            }
        })
        .filter(|i| i.deleted_ms.is_none() && d.can_browse(caller, &i.project))
        .filter(|i| matches(d, i, &q))
        .collect();
    hits.sort_by(|a, b| compare(a, b, &q.order));
    let changelog = req.expand.iter().any(|e| e == "changelog");
    let page: Vec<Value> = hits
        .iter()
        .skip(start)
        .take(max)
        .map(|i| {
            if req.fields.is_empty() && !changelog {
                // Jira's default for this endpoint: the id only.
                json!({"id": i.id.to_string()})
            } else {
                render(d, i, &sel, changelog, root)
            }
        })
        .collect();
    let end = start + page.len();
    let mut out = json!({"issues": page, "isLast": end >= hits.len()});
    if end < hits.len() {
        out["nextPageToken"] = json!(format!("sbx-{end:x}"));
    }
    Ok(out)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .flat_map(|s| {
                s.split(',')
                    .map(|p| p.trim().to_owned())
                    .collect::<Vec<_>>()
            })
            .filter(|s| !s.is_empty())
            .collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(|p| p.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

/// `POST /rest/api/3/search/jql`.
pub async fn search_post(
    State(app): State<Arc<AppState>>,
    Extension(Caller(caller)): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> JiraResult {
    let body = parse_body(&body)?;
    let req = SearchRequest {
        jql: body
            .get("jql")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        next_page_token: body
            .get("nextPageToken")
            .and_then(Value::as_str)
            .map(str::to_owned),
        max_results: body
            .get("maxResults")
            .and_then(Value::as_u64)
            .map(|n| n as usize),
        fields: strings(body.get("fields")),
        expand: strings(body.get("expand")),
        reconcile: body
            .get("reconcileIssues")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default(),
    };
    respond(&app, &caller, &headers, &req)
}

/// `GET /rest/api/3/search/jql`.
pub async fn search_get(
    State(app): State<Arc<AppState>>,
    Extension(Caller(caller)): Extension<Caller>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JiraResult {
    let q = Query::parse(q.as_deref());
    let req = SearchRequest {
        jql: q.get("jql").unwrap_or_default().to_owned(),
        next_page_token: q.get("nextPageToken").map(str::to_owned),
        max_results: q.get("maxResults").and_then(|n| n.parse().ok()),
        fields: q.list("fields"),
        expand: q.list("expand"),
        reconcile: q
            .list("reconcileIssues")
            .iter()
            .filter_map(|n| n.parse().ok())
            .collect(),
    };
    respond(&app, &caller, &headers, &req)
}

fn respond(app: &AppState, caller: &str, headers: &HeaderMap, req: &SearchRequest) -> JiraResult {
    let root = api_root(app, headers);
    let now = app.now_ms();
    let out = app.read_jira(|d| run(d, caller, req, &root, now))?;
    Ok(json_response(StatusCode::OK, out))
}

/// How many issues a query matches, as search sees them at `now`.
pub fn count(d: &JiraData, caller: &str, jql: &str, now: i64) -> Result<usize, JiraError> {
    let q = parse(jql)?;
    validate(d, caller, &q)?;
    Ok(d.issues
        .values()
        .filter_map(|i| i.searchable(now))
        .filter(|i| i.deleted_ms.is_none() && d.can_browse(caller, &i.project))
        .filter(|i| matches(d, i, &q))
        .count())
}

/// `POST /rest/api/3/search/approximate-count` with `{jql}` → `{count}`.
pub async fn approximate_count(
    State(app): State<Arc<AppState>>,
    Extension(Caller(caller)): Extension<Caller>,
    body: Bytes,
) -> JiraResult {
    let body = parse_body(&body)?;
    let jql = body.get("jql").and_then(Value::as_str).unwrap_or_default();
    let now = app.now_ms();
    let n = app.read_jira(|d| count(d, &caller, jql, now))?;
    Ok(json_response(StatusCode::OK, json!({"count": n})))
}

/// `GET/POST /rest/api/3/search`: removed (CHANGE-2046), 410 Gone.
pub async fn retired() -> JiraResult {
    Err(JiraError::new(StatusCode::GONE, RETIRED))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connectors_queries_parse() {
        let q = parse(
            r#"project = SSOT AND labels = "ssot-01X" AND updated >= "2025-06-01 14:05" ORDER BY updated ASC, key ASC"#,
        )
        .expect("parse");
        assert_eq!(q.clauses.len(), 3);
        assert_eq!(
            q.order,
            vec![("updated".into(), true), ("key".into(), true)]
        );
        let q = parse("key in (SSOT-1, 'SSOT-2')").expect("parse");
        assert_eq!(
            q.clauses,
            vec![Clause::Values {
                field: "key".into(),
                op: "in".into(),
                values: vec!["SSOT-1".into(), "SSOT-2".into()]
            }]
        );
        for bad in [
            "project = A OR project = B",
            "summary ~ x",
            "updated >= \"yesterday\"",
            "project = \"SSOT",
            "project = SSOT ORDER BY summary",
        ] {
            assert_eq!(
                parse(bad).map(drop).map_err(|e| e.status()),
                Err(StatusCode::BAD_REQUEST),
                "{bad}"
            );
        }
    }
}
