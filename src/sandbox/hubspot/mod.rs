//! HubSpot CRM emulator: v3 objects (contacts, companies, deals), search, properties, owners and
//! v4 default associations, served under the real API paths so a connector's base URL
//! `http://127.0.0.1:PORT` replaces `https://api.hubapi.com`.
//!
//! Written from the project's contract sheet (`shared/api-contracts.md` §1), not from client code.
//! This file holds the router, the bearer-token and rate-limit gate, HubSpot's error body, and
//! the helpers shared by the submodules: object types, record rendering, property validation.

mod associations;
mod emulator;
mod objects;
mod properties;
mod search;
pub mod store;

use crate::sandbox::store::Lagged;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Map, Value, json};

use super::AppState;
use super::faults::{RateStatus, fault_middleware};
use store::{HubspotData, Owner, Record};

pub use emulator::Hubspot;

/// The HubSpot emulator's live settings and counters inside a running sandbox: the token it
/// accepts, its rate limiters (the 10-second burst limit and the search limit per second), the
/// day's request count and the associations asked for.
#[derive(Debug)]
pub struct HubspotRuntime {
    pub(crate) token: String,
    pub(crate) limiter: std::sync::Mutex<Option<super::faults::RateLimiter>>,
    pub(crate) search_limiter: std::sync::Mutex<Option<super::faults::RateLimiter>>,
    pub(crate) daily_requests: AtomicU64,
    pub(crate) association_requests: std::sync::Mutex<Vec<super::AssociationRequest>>,
}

impl HubspotRuntime {
    /// The runtime settings a configuration describes.
    pub fn new(cfg: &super::SandboxConfig) -> Self {
        HubspotRuntime {
            token: cfg.hubspot_token.clone(),
            limiter: std::sync::Mutex::new(
                cfg.hubspot_rate_limit
                    .map(|(n, w)| super::faults::RateLimiter::new(n, w)),
            ),
            search_limiter: std::sync::Mutex::new(
                cfg.search_rate_limit_per_sec
                    .map(|n| super::faults::RateLimiter::new(n, std::time::Duration::from_secs(1))),
            ),
            daily_requests: AtomicU64::new(0),
            association_requests: std::sync::Mutex::new(Vec::new()),
        }
    }
}
pub use properties::seed_data;

/// The daily request allowance reported in `X-HubSpot-RateLimit-Daily` (Free/Starter tier).
pub const DAILY_LIMIT: u64 = 250_000;

/// Path prefixes served by this emulator (used to pick its fault renderer).
pub const PREFIXES: [&str; 1] = ["/crm/"];

/// Builds the HubSpot routes with their gate (auth, rate limit) and the fault layer.
pub fn router(app: Arc<AppState>) -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/crm/v3/objects/{type}",
            get(objects::list).post(objects::create),
        )
        .route(
            "/crm/v3/objects/{type}/{id}",
            get(objects::read)
                .patch(objects::update)
                .delete(objects::archive),
        )
        .route(
            "/crm/v3/objects/{type}/batch/create",
            post(objects::batch_create),
        )
        .route(
            "/crm/v3/objects/{type}/batch/read",
            post(objects::batch_read),
        )
        .route(
            "/crm/v3/objects/{type}/batch/update",
            post(objects::batch_update),
        )
        .route(
            "/crm/v3/objects/{type}/batch/upsert",
            post(objects::batch_upsert),
        )
        .route(
            "/crm/v3/objects/{type}/batch/archive",
            post(objects::batch_archive),
        )
        .route("/crm/v3/objects/{type}/search", post(search::search))
        .route(
            "/crm/v3/properties/{type}",
            get(properties::list).post(properties::create),
        )
        .route("/crm/v3/properties/{type}/{name}", get(properties::read))
        .route("/crm/v3/owners", get(associations::owners))
        .route("/crm/v3/owners/", get(associations::owners))
        .route(
            "/crm/v4/objects/{from}/{fromId}/associations/default/{to}/{toId}",
            put(associations::associate_default),
        )
        .route(
            "/crm/v4/associations/{from}/{to}/batch/associate/default",
            post(associations::batch_associate_default),
        )
        .route(
            "/crm/v4/associations/{from}/{to}/batch/read",
            post(associations::batch_read),
        )
        .route(
            "/crm/v4/objects/{from}/{fromId}/associations/{to}",
            get(associations::list),
        )
        .route_layer(middleware::from_fn_with_state(app.clone(), gate))
        .route_layer(middleware::from_fn_with_state(app, fault_middleware))
}

/// A HubSpot error response: `{"status":"error","message","correlationId","category",...}`.
#[derive(Debug, Clone)]
pub struct HsError {
    status: StatusCode,
    category: &'static str,
    message: String,
    errors: Vec<Value>,
    extra: Map<String, Value>,
}

impl HsError {
    /// An error with a status, category and message.
    pub fn new(status: StatusCode, category: &'static str, message: impl Into<String>) -> Self {
        HsError {
            status,
            category,
            message: message.into(),
            errors: Vec::new(),
            extra: Map::new(),
        }
    }

    /// 400 `VALIDATION_ERROR`.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
    }

    /// 404 `OBJECT_NOT_FOUND`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "OBJECT_NOT_FOUND", message)
    }

    /// 409 `CONFLICT`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "CONFLICT", message)
    }

    /// Adds entries to the `errors` array.
    pub fn with_errors(mut self, errors: Vec<Value>) -> Self {
        self.errors = errors;
        self
    }

    /// The error's message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether this is a 404 (no such record).
    pub fn is_not_found(&self) -> bool {
        self.status == StatusCode::NOT_FOUND
    }

    /// The body as JSON.
    pub fn body(&self) -> Value {
        let mut m = Map::new();
        m.insert("status".into(), json!("error"));
        m.insert("message".into(), json!(self.message));
        m.insert("correlationId".into(), json!(correlation_id()));
        if !self.category.is_empty() {
            m.insert("category".into(), json!(self.category));
        }
        if !self.errors.is_empty() {
            m.insert("errors".into(), Value::Array(self.errors.clone()));
        }
        for (k, v) in &self.extra {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    }
}

impl IntoResponse for HsError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

/// Result of a HubSpot handler.
pub type HsResult = Result<Response, HsError>;

/// A fresh correlation id shaped like a UUID.
pub fn correlation_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut rng = crate::rng::Rng::new(crate::rng::time_seed() ^ n.rotate_left(32));
    let (a, b) = (rng.next_u64(), rng.next_u64());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0x3fff | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

/// Renders an injected fault status as HubSpot would answer it.
pub fn render_fault(status: StatusCode) -> Response {
    if status == StatusCode::TOO_MANY_REQUESTS {
        let mut resp = rate_limited_body("TEN_SECONDLY_ROLLING").into_response();
        resp.headers_mut().insert(
            "x-hubspot-ratelimit-remaining",
            HeaderValue::from_static("0"),
        );
        return resp;
    }
    let category = if status.is_server_error() {
        "INTERNAL_ERROR"
    } else {
        "VALIDATION_ERROR"
    };
    let message = format!(
        "{} (injected by the sandbox)",
        status.canonical_reason().unwrap_or("error")
    );
    HsError::new(status, category, message).into_response()
}

fn rate_limited_body(policy: &str) -> (StatusCode, axum::Json<Value>) {
    let message = match policy {
        "SECONDLY" => "You have reached your secondly limit.".to_owned(),
        _ => "You have reached your ten_secondly_rolling limit.".to_owned(),
    };
    (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(json!({
            "status": "error",
            "message": message,
            "errorType": "RATE_LIMIT",
            "correlationId": correlation_id(),
            "policyName": policy,
            "requestId": correlation_id(),
        })),
    )
}

fn unauthorized() -> Response {
    HsError::new(
        StatusCode::UNAUTHORIZED,
        "INVALID_AUTHENTICATION",
        "Authentication credentials not found. This API supports OAuth 2.0 authentication and you \
         can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
    )
    .into_response()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Bearer token check, then the rate limit (search has its own per-second bucket and is exempt
/// from the ten-secondly one); rate-limit headers go on every response.
async fn gate(State(app): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let Some(token) = bearer(req.headers()).map(str::to_owned) else {
        return unauthorized();
    };
    if !app.hubspot.token.is_empty() && token != app.hubspot.token {
        return unauthorized();
    }
    let is_search = req.uri().path().ends_with("/search");
    let status: Option<RateStatus> = if is_search {
        let mut l = app
            .hubspot
            .search_limiter
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        l.as_mut().map(|l| l.check(&token))
    } else {
        let mut l = app
            .hubspot
            .limiter
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        l.as_mut().map(|l| l.check(&token))
    };
    let mut resp = match status {
        Some(s) if !s.allowed => {
            app.count_rate_limited(super::route_key(&req));
            rate_limited_body(if is_search {
                "SECONDLY"
            } else {
                "TEN_SECONDLY_ROLLING"
            })
            .into_response()
        }
        _ => next.run(req).await,
    };
    let daily_used = app.hubspot.daily_requests.fetch_add(1, Ordering::Relaxed) + 1;
    let h = resp.headers_mut();
    h.insert("x-hubspot-ratelimit-daily", HeaderValue::from(DAILY_LIMIT));
    h.insert(
        "x-hubspot-ratelimit-daily-remaining",
        HeaderValue::from(DAILY_LIMIT.saturating_sub(daily_used)),
    );
    if let Some(s) = status {
        let num = |n: u128| {
            HeaderValue::from_str(&n.to_string()).unwrap_or(HeaderValue::from_static("0"))
        };
        h.insert("x-hubspot-ratelimit-max", num(s.max.into()));
        h.insert("x-hubspot-ratelimit-remaining", num(s.remaining.into()));
        h.insert(
            "x-hubspot-ratelimit-interval-milliseconds",
            num(s.window.as_millis()),
        );
    }
    resp
}

/// Canonical object type for a path segment (`contacts`, `0-1`, `contact` → `contacts`).
pub fn object_type(t: &str) -> Result<&'static str, HsError> {
    match t.to_ascii_lowercase().as_str() {
        "contacts" | "contact" | "0-1" => Ok("contacts"),
        "companies" | "company" | "0-2" => Ok("companies"),
        "deals" | "deal" | "0-3" => Ok("deals"),
        _ => Err(HsError::validation(format!(
            "Unable to infer object type from: {t}"
        ))),
    }
}

/// Singular upper-case name used in HubSpot messages (`CONTACT`).
pub fn type_word(t: &str) -> &'static str {
    match t {
        "contacts" => "CONTACT",
        "companies" => "COMPANY",
        _ => "DEAL",
    }
}

/// Name of the last-modified property of a type.
pub fn modified_prop(t: &str) -> &'static str {
    if t == "contacts" {
        "lastmodifieddate"
    } else {
        "hs_lastmodifieddate"
    }
}

/// Properties returned when a read names none.
pub fn default_props(t: &str) -> &'static [&'static str] {
    match t {
        "contacts" => &[
            "createdate",
            "email",
            "firstname",
            "hs_object_id",
            "lastmodifieddate",
            "lastname",
        ],
        "companies" => &[
            "createdate",
            "domain",
            "hs_lastmodifieddate",
            "hs_object_id",
            "name",
        ],
        _ => &[
            "amount",
            "closedate",
            "createdate",
            "dealname",
            "dealstage",
            "hs_lastmodifieddate",
            "hs_object_id",
            "pipeline",
        ],
    }
}

/// ISO-8601 UTC with milliseconds, as HubSpot writes timestamps.
pub fn iso(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// Parses an epoch-ms string, an ISO timestamp or an ISO date into epoch ms.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Some(t.as_millisecond());
    }
    let d = s.parse::<jiff::civil::Date>().ok()?;
    d.to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp().as_millisecond())
}

/// Sets the server-kept properties (`hs_object_id`, create and modify dates) of a record.
pub fn set_system_props(t: &str, r: &mut Record) {
    r.properties.insert("hs_object_id".into(), r.id.to_string());
    r.properties.insert("createdate".into(), iso(r.created_ms));
    r.properties
        .insert(modified_prop(t).into(), iso(r.updated_ms));
    if t != "contacts" {
        r.properties
            .insert("hs_createdate".into(), iso(r.created_ms));
    }
}

/// Which properties a rendered record carries.
#[derive(Debug, Clone)]
pub enum Selection {
    /// The type's default set.
    Default,
    /// Every property with a value (create/update responses).
    All,
    /// The named ones (null when unset) plus the system ones.
    Named(Vec<String>),
}

impl Selection {
    /// From a list of names (empty → default set).
    pub fn from_names(names: Vec<String>) -> Self {
        if names.is_empty() {
            Selection::Default
        } else {
            Selection::Named(names)
        }
    }
}

/// Renders a record as HubSpot's `SimplePublicObject`.
pub fn render(t: &str, r: &Record, sel: &Selection) -> Map<String, Value> {
    let mut props = Map::new();
    let system = ["hs_object_id", "createdate", modified_prop(t)];
    match sel {
        Selection::All => {
            for (k, v) in &r.properties {
                props.insert(k.clone(), json!(v));
            }
        }
        Selection::Default => {
            for k in default_props(t) {
                props.insert(
                    (*k).into(),
                    r.properties.get(*k).map_or(Value::Null, |v| json!(v)),
                );
            }
        }
        Selection::Named(names) => {
            for k in names.iter().map(String::as_str).chain(system) {
                props.insert(
                    k.into(),
                    r.properties.get(k).map_or(Value::Null, |v| json!(v)),
                );
            }
        }
    }
    let mut m = Map::new();
    m.insert("id".into(), json!(r.id.to_string()));
    m.insert("properties".into(), Value::Object(props));
    m.insert("createdAt".into(), json!(iso(r.created_ms)));
    m.insert("updatedAt".into(), json!(iso(r.updated_ms)));
    m.insert("archived".into(), json!(r.archived));
    if let Some(a) = r.archived_ms {
        m.insert("archivedAt".into(), json!(iso(a)));
    }
    m
}

/// One property write: `None` clears the value.
pub type Change = (String, Option<String>);

fn invalid_props(details: Vec<(String, String, &'static str)>) -> HsError {
    let inner: Vec<Value> = details
        .iter()
        .map(|(name, msg, code)| {
            json!({"isValid": false, "message": msg, "error": code, "name": name,
                   "localizedErrorMessage": msg})
        })
        .collect();
    let errors = details
        .iter()
        .map(|(name, msg, code)| json!({"message": msg, "code": code, "context": {"propertyName": [name]}}))
        .collect();
    HsError::validation(format!(
        "Property values were not valid: {}",
        Value::Array(inner)
    ))
    .with_errors(errors)
}

/// Validates a `properties` object of a write: known, writable properties, string values
/// (numbers and booleans are coerced, as HubSpot's JSON reader does), typed values that parse.
pub fn parse_changes(
    data: &HubspotData,
    t: &str,
    props: Option<&Value>,
) -> Result<Vec<Change>, HsError> {
    let obj = match props {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(o)) => o,
        Some(_) => {
            return Err(HsError::validation(
                "Invalid input JSON: `properties` must be an object",
            ));
        }
    };
    let defs = data.properties.get(t);
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (name, v) in obj {
        let value = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => String::new(),
            _ => {
                return Err(HsError::validation(format!(
                    "Invalid input JSON: property `{name}` must be a string"
                )));
            }
        };
        let Some(def) = defs.and_then(|d| d.get(name)) else {
            bad.push((
                name.clone(),
                format!("Property \"{name}\" does not exist"),
                "PROPERTY_DOESNT_EXIST",
            ));
            continue;
        };
        if def.read_only_value {
            bad.push((
                name.clone(),
                format!("\"{name}\" is a read only property; its value cannot be set."),
                "READ_ONLY_VALUE",
            ));
            continue;
        }
        if !value.is_empty() {
            let ok = match def.kind.as_str() {
                "number" => value.trim().parse::<f64>().is_ok_and(f64::is_finite),
                "date" | "datetime" => parse_time(&value).is_some(),
                "bool" => matches!(value.as_str(), "true" | "false"),
                _ => true,
            };
            if !ok {
                let code = match def.kind.as_str() {
                    "number" => "INVALID_FLOAT",
                    "bool" => "INVALID_BOOLEAN",
                    _ => "INVALID_DATE",
                };
                bad.push((
                    name.clone(),
                    format!("{value} was not a valid {} for {name}", def.kind),
                    code,
                ));
                continue;
            }
        }
        out.push((name.clone(), (!value.is_empty()).then_some(value)));
    }
    if !bad.is_empty() {
        return Err(invalid_props(bad));
    }
    Ok(out)
}

/// Whether values of `prop` must be unique among live records of `t`.
pub fn is_unique(data: &HubspotData, t: &str, prop: &str) -> bool {
    (t == "contacts" && prop == "email")
        || data
            .properties
            .get(t)
            .and_then(|d| d.get(prop))
            .is_some_and(|d| d.has_unique_value)
}

fn same_value(prop: &str, a: &str, b: &str) -> bool {
    if prop == "email" {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

/// The live record of `t` whose `prop` equals `value`.
pub fn find_by_prop<'a>(
    data: &'a HubspotData,
    t: &str,
    prop: &str,
    value: &str,
) -> Option<&'a Record> {
    if prop == "hs_object_id" {
        let id = value.parse::<u64>().ok()?;
        return data.objects.get(t)?.get(&id).filter(|r| !r.archived);
    }
    data.objects.get(t)?.values().find(|r| {
        !r.archived
            && r.properties
                .get(prop)
                .is_some_and(|v| same_value(prop, v, value))
    })
}

/// The live records of one object type by the values of its unique properties (`email` of
/// contacts, and every property created with `hasUniqueValue`). Built once per request and read
/// while the request's inputs are validated (nothing is written before all are valid), so a
/// batch of 100 inputs costs one pass over the records rather than one per input.
#[derive(Debug, Default)]
pub struct UniqueIndex {
    by_value: std::collections::HashMap<(String, String), u64>,
}

impl UniqueIndex {
    /// Indexes the live records of `t`.
    pub fn build(data: &HubspotData, t: &str) -> UniqueIndex {
        let mut props: Vec<&str> = data
            .properties
            .get(t)
            .map(|d| {
                d.iter()
                    .filter(|(_, p)| p.has_unique_value)
                    .map(|(k, _)| k.as_str())
                    .collect()
            })
            .unwrap_or_default();
        if t == "contacts" && !props.contains(&"email") {
            props.push("email");
        }
        let mut by_value = std::collections::HashMap::new();
        for r in data.objects.get(t).into_iter().flat_map(|m| m.values()) {
            if r.archived {
                continue;
            }
            for prop in &props {
                if let Some(v) = r.properties.get(*prop) {
                    // Lowest id first, as a scan in id order would find.
                    by_value
                        .entry(((*prop).to_owned(), fold(prop, v)))
                        .or_insert(r.id);
                }
            }
        }
        UniqueIndex { by_value }
    }

    /// The live record whose unique `prop` holds `value`.
    pub fn get(&self, prop: &str, value: &str) -> Option<u64> {
        self.by_value
            .get(&(prop.to_owned(), fold(prop, value)))
            .copied()
    }
}

/// A unique value as compared: e-mail addresses ignore ASCII case.
fn fold(prop: &str, v: &str) -> String {
    if prop == "email" {
        v.to_ascii_lowercase()
    } else {
        v.to_owned()
    }
}

/// The uniqueness check of one request: the live records' unique values ([`UniqueIndex`], built
/// before any of the request's writes) and the values already claimed by its earlier inputs.
#[derive(Debug)]
pub struct UniqueCheck {
    index: UniqueIndex,
    claimed: Vec<(String, String, String)>,
}

impl UniqueCheck {
    /// The check of a request writing records of `t`.
    pub fn new(data: &HubspotData, t: &str) -> UniqueCheck {
        UniqueCheck {
            index: UniqueIndex::build(data, t),
            claimed: Vec::new(),
        }
    }

    /// The live record whose unique `prop` holds `value` (before this request's writes).
    pub fn find(&self, prop: &str, value: &str) -> Option<u64> {
        self.index.get(prop, value)
    }

    /// Checks the unique properties of one input's write (to the record `self_id`, `None` for a
    /// new one) against other live records and the request's earlier inputs, and claims them.
    pub fn check(
        &mut self,
        data: &HubspotData,
        t: &str,
        self_id: Option<u64>,
        changes: &[Change],
    ) -> Result<(), HsError> {
        for (prop, value) in changes {
            let Some(value) = value else { continue };
            if !is_unique(data, t, prop) {
                continue;
            }
            let key = (
                prop.clone(),
                value.to_ascii_lowercase(),
                self_id.map(|i| i.to_string()).unwrap_or_default(),
            );
            if self.claimed.iter().any(|(p, v, owner)| {
                p == prop && *v == key.1 && (owner.is_empty() || *owner != key.2)
            }) {
                return Err(HsError::conflict(format!(
                    "Duplicate value \"{value}\" for unique property {prop} in the same request"
                )));
            }
            if let Some(other) = self.find(prop, value).filter(|id| Some(*id) != self_id) {
                let message = if prop == "email" {
                    format!("Contact already exists. Existing ID: {other}")
                } else {
                    format!(
                        "A {} with {prop} \"{value}\" already exists (unique property). Existing ID: {other}",
                        type_word(t).to_ascii_lowercase(),
                    )
                };
                return Err(HsError::conflict(message.clone())
                    .with_errors(vec![json!({"message": message, "in": prop})]));
            }
            self.claimed.push(key);
        }
        Ok(())
    }
}

/// Applies validated changes to a record and refreshes its system properties.
pub fn apply_changes(t: &str, r: &mut Record, changes: &[Change], now: i64) {
    for (k, v) in changes {
        match v {
            Some(v) => {
                r.properties.insert(k.clone(), v.clone());
            }
            None => {
                r.properties.remove(k);
            }
        }
    }
    r.updated_ms = now.max(r.updated_ms);
    set_system_props(t, r);
}

/// Parses a request body as JSON, mapping errors to HubSpot's 400.
pub fn parse_body(bytes: &[u8]) -> Result<Value, HsError> {
    if bytes.is_empty() {
        return Err(HsError::validation("Invalid input JSON: empty body"));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| HsError::validation(format!("Invalid input JSON on {e}")))
}

/// Query parameters, with repeated keys kept (`properties=a&properties=b`).
#[derive(Debug, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> Self {
        Query(
            raw.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
                .unwrap_or_default(),
        )
    }

    /// First value of a key.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }

    /// All values of a key, comma lists split.
    pub fn list(&self, k: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, _)| key == k)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// A boolean flag (`true`/`false`).
    pub fn flag(&self, k: &str) -> bool {
        self.get(k).is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

/// A list of property names from a JSON body field (array of strings).
pub fn names_from(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// Renders an owner.
fn owner_json(o: &Owner) -> Value {
    json!({
        "id": o.id, "email": o.email, "firstName": o.first_name, "lastName": o.last_name,
        "userId": o.user_id, "createdAt": "2024-01-01T00:00:00.000Z",
        "updatedAt": "2024-01-01T00:00:00.000Z", "archived": false, "teams": [],
    })
}

/// JSON of a batch result list.
pub fn batch_response(results: Vec<Value>, started: i64, completed: i64) -> Value {
    json!({"status": "COMPLETE", "results": results, "startedAt": iso(started), "completedAt": iso(completed)})
}

/// Extracts the `inputs` array of a batch body and enforces the 100-input limit.
pub fn batch_inputs(body: &Value) -> Result<&Vec<Value>, HsError> {
    let inputs = body
        .get("inputs")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            HsError::validation("Invalid input JSON: `inputs` is required and must be an array")
        })?;
    if inputs.len() > 100 {
        return Err(HsError::validation(format!(
            "The maximum number of inputs supported in a batch request is 100. Please reduce the \
             number of items and try again. (got {})",
            inputs.len()
        )));
    }
    if inputs.iter().any(|i| !i.is_object()) {
        return Err(HsError::validation(
            "Invalid input JSON: each input must be an object",
        ));
    }
    Ok(inputs)
}

/// A JSON `id` field as a string (HubSpot accepts strings; numbers are coerced).
pub fn id_of(v: &Value) -> Option<String> {
    match v.get("id")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The `id` of a batch input, which every batch but create requires.
pub fn input_id(input: &Value) -> Result<String, HsError> {
    id_of(input).ok_or_else(|| HsError::validation("Invalid input JSON: each input needs an `id`"))
}

/// Snapshot of all records of a type, with every property (admin dump).
pub fn dump(data: &HubspotData, t: &str) -> Vec<Value> {
    data.objects
        .get(t)
        .map(|m| {
            m.values()
                .map(|r| Value::Object(render(t, r, &Selection::All)))
                .collect()
        })
        .unwrap_or_default()
}

/// Creates `count` records of a type with generated properties (admin seeding for big tests).
pub fn seed_records(data: &mut HubspotData, t: &str, count: usize, now: i64, lag: i64) -> Vec<u64> {
    let mut ids = Vec::with_capacity(count);
    for i in 0..count {
        data.last_id += 1;
        let id = data.last_id;
        let mut props = BTreeMap::new();
        match t {
            "contacts" => {
                props.insert("firstname".to_owned(), format!("Seed{i}"));
                props.insert("email".to_owned(), format!("seed{id}@example.com"));
            }
            "companies" => {
                props.insert("name".to_owned(), format!("Seed Company {i}"));
            }
            _ => {
                props.insert("dealname".to_owned(), format!("Seed Deal {i}"));
            }
        }
        let mut r = Record {
            id,
            properties: props,
            created_ms: now,
            updated_ms: now,
            archived: false,
            archived_ms: None,
            search_view: None,
            indexed_at_ms: 0,
        };
        set_system_props(t, &mut r);
        r.mark_written(None, now, lag);
        data.objects.entry(t.to_owned()).or_default().insert(id, r);
        ids.push(id);
    }
    ids
}
