//! Jira Cloud platform REST v3 emulator: issues (single and bulk create, read with `fields` and
//! `expand=changelog`, bulk fetch, edit with `fields` and `update`, delete with `deleteSubtasks`, comments),
//! workflow transitions (single, and bulk as a polled task), JQL search (`/search/jql` with `nextPageToken` paging; the retired
//! `/search` answers 410), users, project roles and the browse permission, custom fields, Basic
//! auth and Jira's burst and per-issue write rate limits.
//!
//! Written from the contract sheet (`shared/api-contracts.md` §2) and the official spec
//! (`shared/specs/jira-platform-v3.json`), not from client code. Served under `/rest/api/3/...`,
//! or under a base path (`/ex/jira/{cloudId}`, the form scoped API tokens call) when configured.
//! This file holds the router, the auth and rate-limit gate, Jira's error body and the helpers
//! shared by the submodules.

mod bulk;
mod emulator;
mod issues;
mod search;
pub mod store;
mod users;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::AppState;
use super::faults::{RateLimiter, fault_middleware};

pub use emulator::{Jira, dump as emulator_dump};
pub use store::{DEFAULT_EMAIL, DEFAULT_TOKEN, JiraData, PROJECT_KEY};

/// Path prefixes served by this emulator (the site form and the api.atlassian.com form).
pub const PREFIXES: [&str; 2] = ["/rest/api/3/", "/ex/jira/"];

/// Jira's rate limits for API-token traffic (off unless configured).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JiraRateLimit {
    /// Requests per second per endpoint and HTTP method (the burst limit).
    pub burst_per_sec: u32,
    /// Writes per second to one issue (the per-issue write limit).
    pub issue_writes_per_sec: u32,
}

/// How the Jira emulator is set up ([`super::SandboxConfig::jira`]).
#[derive(Debug, Clone)]
pub struct JiraConfig {
    /// Path the API is served under, before `/rest/api/3`: empty for the site form
    /// (`https://<site>.atlassian.net`), or `/ex/jira/{cloudId}` for the api.atlassian.com form.
    pub base_path: String,
    /// Email of the consultancy's account (Basic auth user name).
    pub email: String,
    /// Its API token (Basic auth password).
    pub api_token: String,
    /// How long a write takes to show up in search (eventual consistency).
    pub search_lag: Duration,
    /// Rate limits; `None` (the default) disables them.
    pub rate_limit: Option<JiraRateLimit>,
}

impl Default for JiraConfig {
    fn default() -> Self {
        JiraConfig {
            base_path: String::new(),
            email: DEFAULT_EMAIL.to_owned(),
            api_token: DEFAULT_TOKEN.to_owned(),
            search_lag: Duration::ZERO,
            rate_limit: None,
        }
    }
}

/// The Jira emulator's live settings inside a running sandbox.
#[derive(Debug)]
pub struct JiraRuntime {
    base_path: String,
    email: String,
    api_token: String,
    search_lag_ms: AtomicI64,
    limits: Mutex<Option<Limits>>,
}

#[derive(Debug)]
struct Limits {
    config: JiraRateLimit,
    burst: RateLimiter,
    issue_writes: RateLimiter,
}

impl JiraRuntime {
    /// The runtime settings a configuration describes.
    pub fn new(cfg: &JiraConfig) -> Self {
        JiraRuntime {
            base_path: cfg.base_path.trim_end_matches('/').to_owned(),
            email: cfg.email.clone(),
            api_token: cfg.api_token.clone(),
            search_lag_ms: AtomicI64::new(cfg.search_lag.as_millis() as i64),
            limits: Mutex::new(cfg.rate_limit.map(|config| Limits {
                config,
                burst: RateLimiter::new(config.burst_per_sec, Duration::from_secs(1)),
                issue_writes: RateLimiter::new(config.issue_writes_per_sec, Duration::from_secs(1)),
            })),
        }
    }

    /// The path the API is served under (empty for the site form).
    pub fn base_path(&self) -> &str {
        &self.base_path
    }

    /// The current search lag, ms.
    pub fn lag_ms(&self) -> i64 {
        self.search_lag_ms.load(Ordering::Relaxed)
    }

    /// Sets the search lag.
    pub fn set_lag(&self, lag: Duration) {
        self.search_lag_ms
            .store(lag.as_millis() as i64, Ordering::Relaxed);
    }
}

/// Builds the Jira routes with their gate (auth, rate limits) and the fault layer, nested under
/// the configured base path.
pub fn router(app: Arc<AppState>) -> Router<Arc<AppState>> {
    let api = Router::new()
        .route("/rest/api/3/issue", post(issues::create))
        .route("/rest/api/3/issue/bulk", post(issues::bulk_create))
        .route("/rest/api/3/issue/bulkfetch", post(issues::bulk_fetch))
        .route(
            "/rest/api/3/issue/{issueIdOrKey}",
            get(issues::read).put(issues::edit).delete(issues::delete),
        )
        .route(
            "/rest/api/3/issue/{issueIdOrKey}/comment",
            get(issues::comments).post(issues::add_comment),
        )
        .route(
            "/rest/api/3/issue/{issueIdOrKey}/transitions",
            get(issues::transitions).post(issues::transition),
        )
        .route(
            "/rest/api/3/search/jql",
            get(search::search_get).post(search::search_post),
        )
        .route(
            "/rest/api/3/search",
            get(search::retired).post(search::retired),
        )
        .route(
            "/rest/api/3/search/approximate-count",
            post(search::approximate_count),
        )
        .route(
            "/rest/api/3/bulk/issues/transition",
            post(bulk::bulk_transition),
        )
        .route("/rest/api/3/bulk/queue/{taskId}", get(bulk::queue))
        .route(
            "/rest/api/3/field",
            get(users::fields).post(users::add_field),
        )
        .route("/rest/api/3/myself", get(users::myself))
        .route("/rest/api/3/user", get(users::user))
        .route("/rest/api/3/user/search", get(users::search))
        .route(
            "/rest/api/3/project/{projectIdOrKey}/role",
            get(users::roles),
        )
        .route(
            "/rest/api/3/project/{projectIdOrKey}/role/{id}",
            get(users::role)
                .post(users::add_actors)
                .delete(users::remove_actor),
        )
        .route_layer(middleware::from_fn_with_state(app.clone(), gate))
        .route_layer(middleware::from_fn_with_state(
            app.clone(),
            fault_middleware,
        ))
        .route_layer(middleware::from_fn_with_state(app.clone(), date_header));
    let base = app.jira.base_path().to_owned();
    if base.is_empty() {
        api
    } else {
        Router::new().nest(&base, api)
    }
}

/// A Jira error response: `{"errorMessages":[...],"errors":{...}}`.
#[derive(Debug, Clone)]
pub struct JiraError {
    status: StatusCode,
    messages: Vec<String>,
    errors: Map<String, Value>,
}

impl JiraError {
    /// An error with messages.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        JiraError {
            status,
            messages: vec![message.into()],
            errors: Map::new(),
        }
    }

    /// 400 with one message.
    pub fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 400 with per-field errors.
    pub fn fields(errors: Map<String, Value>) -> Self {
        JiraError {
            status: StatusCode::BAD_REQUEST,
            messages: Vec::new(),
            errors,
        }
    }

    /// 404 for an issue that does not exist or cannot be browsed (Jira does not tell them apart).
    pub fn issue_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Issue does not exist or you do not have permission to see it.",
        )
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The first message (or the first field error).
    pub fn message(&self) -> String {
        self.messages.first().cloned().unwrap_or_else(|| {
            self.errors
                .iter()
                .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// The body as JSON (`ErrorCollection`).
    pub fn body(&self) -> Value {
        json!({"errorMessages": self.messages, "errors": self.errors})
    }
}

impl IntoResponse for JiraError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

/// Result of a Jira handler.
pub type JiraResult = Result<Response, JiraError>;

/// The authenticated account making a request (set by the gate).
#[derive(Debug, Clone)]
pub struct Caller(pub String);

/// A JSON response.
pub fn json_response(status: StatusCode, v: Value) -> Response {
    (status, axum::Json(v)).into_response()
}

/// Parses a JSON request body (an empty body is `null`).
pub fn parse_body(bytes: &[u8]) -> Result<Value, JiraError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(bytes).map_err(|e| {
        JiraError::bad(format!(
            "Unexpected character in the request body: {}",
            e.to_string().lines().next().unwrap_or_default()
        ))
    })
}

/// Renders an injected fault status as Jira would answer it.
pub fn render_fault(status: StatusCode) -> Response {
    if status == StatusCode::TOO_MANY_REQUESTS {
        return rate_limited("jira-burst-based", 0, 1);
    }
    JiraError::new(
        status,
        format!(
            "{} (injected by the sandbox)",
            status.canonical_reason().unwrap_or("error")
        ),
    )
    .into_response()
}

fn rate_limited(reason: &str, limit: u32, retry_after_s: u64) -> Response {
    let mut resp =
        JiraError::new(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded.").into_response();
    let reset = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(retry_after_s as i64))
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    let h = resp.headers_mut();
    let val = |s: String| HeaderValue::from_str(&s).unwrap_or(HeaderValue::from_static("0"));
    h.insert(header::RETRY_AFTER, val(retry_after_s.to_string()));
    h.insert("x-ratelimit-limit", val(limit.to_string()));
    h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
    h.insert("x-ratelimit-reset", val(reset));
    h.insert("ratelimit-reason", val(reason.to_owned()));
    resp
}

fn unauthorized() -> Response {
    JiraError::new(
        StatusCode::UNAUTHORIZED,
        "You are not authenticated. Authentication required to perform this operation.",
    )
    .into_response()
}

/// Decodes standard base64 (with or without padding).
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// `email:token` of a Basic `Authorization` header.
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, creds) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64_decode(creds.trim())?).ok()?;
    let (email, token) = decoded.split_once(':')?;
    Some((email.to_owned(), token.to_owned()))
}

/// The account these credentials log in as: the configured consultancy account (the site's first
/// administrator), or another active user with its own email and token.
fn authenticate(app: &AppState, email: &str, token: &str) -> Option<String> {
    let rt = &app.jira;
    app.read_jira(|d| {
        if email.eq_ignore_ascii_case(&rt.email) && token == rt.api_token {
            return d
                .users
                .iter()
                .find(|u| u.admin)
                .map(|u| u.account_id.clone());
        }
        d.users
            .iter()
            .find(|u| {
                !u.admin && u.active && u.email.eq_ignore_ascii_case(email) && u.api_token == token
            })
            .map(|u| u.account_id.clone())
    })
}

/// The issue a write goes to (`/issue/{key}/...` with a method other than GET).
fn written_issue(method: &axum::http::Method, path: &str) -> Option<String> {
    if method == axum::http::Method::GET {
        return None;
    }
    let rest = path.split("/rest/api/3/issue/").nth(1)?;
    let seg = rest.split('/').next()?;
    (!seg.is_empty() && seg != "bulk" && seg != "bulkfetch").then(|| seg.to_ascii_uppercase())
}

/// Every answer's `Date` from the sandbox's clock (the admin offset included), as Jira's own
/// clock is what its answers date: a client reads Jira's time from it. (hyper adds its own only
/// when a response has none.)
async fn date_header(State(app): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    if let Ok(t) = jiff::Timestamp::from_millisecond(app.now_ms())
        && let Ok(s) = jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&t)
        && let Ok(v) = HeaderValue::from_str(&s)
    {
        res.headers_mut().insert(header::DATE, v);
    }
    res
}

/// Basic auth, then the burst limit (per endpoint and method) and the per-issue write limit.
async fn gate(State(app): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let Some((email, token)) = basic(req.headers()) else {
        return unauthorized();
    };
    let Some(account) = authenticate(&app, &email, &token) else {
        return unauthorized();
    };
    let key = super::route_key(&req);
    let refused = {
        let mut l = app.jira.limits.lock().unwrap_or_else(|e| e.into_inner());
        l.as_mut().and_then(|l| {
            if !l.burst.check(&key).allowed {
                return Some(("jira-burst-based", l.config.burst_per_sec));
            }
            let issue = written_issue(req.method(), req.uri().path())?;
            (!l.issue_writes.check(&issue).allowed)
                .then_some(("jira-per-issue-on-write", l.config.issue_writes_per_sec))
        })
    };
    if let Some((reason, limit)) = refused {
        app.count_rate_limited(key);
        return rate_limited(reason, limit, 1);
    }
    req.extensions_mut().insert(Caller(account));
    next.run(req).await
}

/// Jira's timestamp format: `2024-01-15T10:30:00.000+0000`.
pub fn jira_time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_basic_credentials() {
        assert_eq!(
            base64_decode("b3BzQHguZXhhbXBsZTp0b2s=").as_deref(),
            Some(&b"ops@x.example:tok"[..])
        );
        assert_eq!(base64_decode("YQ").as_deref(), Some(&b"a"[..]));
        assert!(base64_decode("a*b").is_none());
    }

    #[test]
    fn the_sandbox_commands_search_lag_applies_to_jira() {
        let args = crate::sandbox::SandboxArgs {
            addr: "127.0.0.1:0".parse().expect("addr"),
            state: None,
            hubspot_token: String::new(),
            no_rate_limit: false,
            search_lag_ms: 250,
            trello_key: String::new(),
            trello_token: String::new(),
            trello_rate_limit: false,
        };
        assert_eq!(args.config().jira.search_lag, Duration::from_millis(250));
    }

    #[test]
    fn writes_name_their_issue() {
        let post = axum::http::Method::POST;
        assert_eq!(
            written_issue(&post, "/rest/api/3/issue/ssot-1/transitions").as_deref(),
            Some("SSOT-1")
        );
        assert_eq!(written_issue(&post, "/rest/api/3/issue/bulk"), None);
        assert_eq!(
            written_issue(&axum::http::Method::GET, "/rest/api/3/issue/SSOT-1"),
            None
        );
    }
}
