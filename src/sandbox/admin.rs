//! The sandbox admin API under `/__sandbox/` (no auth, never rate-limited or faulted):
//!
//! | call | effect |
//! |---|---|
//! | `GET /__sandbox/health` | `ok` |
//! | `GET /__sandbox/requests` | `{total, by_endpoint: {"POST /crm/v3/objects/{type}/batch/upsert": n}, rate_limited: {...}}` (`rate_limited`: the 429s of the emulated rate limits, same keys) |
//! | `POST /__sandbox/requests/reset` | zero the counters and empty the association log |
//! | `POST /__sandbox/reset` | fresh seeded state, counters, faults and rate-limit windows (the Sheets and Forms quotas' too); every Google access token issued so far stops working |
//! | `GET`/`POST /__sandbox/faults` | read / replace the [`FaultConfig`] (`{}` clears) |
//! | `GET`/`POST /__sandbox/settings` | `search_lag_ms`, `clock_offset_ms`, `advance_clock_ms`, `hubspot_rate_limit` (`{max, window_ms}` or null), `search_rate_limit_per_sec` (n or null), `trello_rate_limit` (`{per_token, per_key, window_ms}` or null) |
//! | `GET /__sandbox/hubspot/objects/{type}` | every record of a type, archived included, all properties |
//! | `GET /__sandbox/hubspot/association-requests` | every association asked for through the v4 endpoints, made or not: `[{from_type, from_id, to_type, to_id}]` |
//! | `POST /__sandbox/hubspot/seed` | `{type, count}` creates generated records fast (big search tests) |
//! | `POST /__sandbox/save` | write the state file now |

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::faults::{FaultConfig, FaultState, RateLimiter, RequestCounts};
use super::{AppState, fresh_state, hubspot};

/// Routes of the admin API (nested under `/__sandbox`).
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/requests", get(requests))
        .route("/requests/reset", post(reset_requests))
        .route("/reset", post(reset))
        .route("/faults", get(get_faults).post(set_faults))
        .route("/settings", get(get_settings).post(set_settings))
        .route("/hubspot/objects/{type}", get(dump))
        .route("/hubspot/association-requests", get(association_requests))
        .route("/hubspot/seed", post(seed))
        .route("/save", post(save))
}

fn bad(msg: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": msg.into()})),
    )
        .into_response()
}

fn parse(body: &[u8]) -> Result<Value, String> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))
}

async fn requests(State(app): State<Arc<AppState>>) -> Response {
    let c = app.counts.lock().unwrap_or_else(|e| e.into_inner()).clone();
    axum::Json(c).into_response()
}

async fn association_requests(State(app): State<Arc<AppState>>) -> Response {
    let log = app
        .hubspot
        .association_requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    axum::Json(log).into_response()
}

async fn reset_requests(State(app): State<Arc<AppState>>) -> Response {
    *app.counts.lock().unwrap_or_else(|e| e.into_inner()) = RequestCounts::default();
    app.hubspot
        .association_requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn reset(State(app): State<Arc<AppState>>) -> Response {
    app.replace_state(fresh_state());
    *app.counts.lock().unwrap_or_else(|e| e.into_inner()) = RequestCounts::default();
    app.hubspot
        .association_requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
    *app.faults.lock().unwrap_or_else(|e| e.into_inner()) = FaultState::default();
    for l in [&app.hubspot.limiter, &app.hubspot.search_limiter] {
        let mut g = l.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(lim) = g.as_ref() {
            *g = Some(RateLimiter::new(lim.max(), lim.window()));
        }
    }
    {
        let mut g = app
            .trello
            .limiters
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some((t, k)) = g.as_ref() {
            *g = Some((
                RateLimiter::new(t.max(), t.window()),
                RateLimiter::new(k.max(), k.window()),
            ));
        }
    }
    // Google: every token issued so far is gone, and the quota windows start afresh.
    app.google.revoke_all();
    app.sheets.set_quota(app.sheets.quota());
    app.forms.set_quota(app.forms.quota());
    StatusCode::NO_CONTENT.into_response()
}

async fn get_faults(State(app): State<Arc<AppState>>) -> Response {
    axum::Json(
        app.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .snapshot(),
    )
    .into_response()
}

async fn set_faults(State(app): State<Arc<AppState>>, body: Bytes) -> Response {
    let cfg: FaultConfig = match serde_json::from_slice(if body.is_empty() { b"{}" } else { &body })
    {
        Ok(c) => c,
        Err(e) => return bad(format!("invalid fault config: {e}")),
    };
    if !(0.0..=1.0).contains(&cfg.error_rate) || !(0.0..=1.0).contains(&cfg.drop_rate) {
        return bad("error_rate and drop_rate must be within 0.0..=1.0");
    }
    let mut g = app.faults.lock().unwrap_or_else(|e| e.into_inner());
    *g = FaultState::new(cfg);
    axum::Json(g.snapshot()).into_response()
}

fn settings_json(app: &AppState) -> Value {
    let lim = |l: &std::sync::Mutex<Option<RateLimiter>>| {
        l.lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|l| (l.max(), l.window()))
    };
    json!({
        "search_lag_ms": app.lag_ms(),
        "clock_offset_ms": app.clock_offset_ms.load(Ordering::Relaxed),
        "now_ms": app.now_ms(),
        "hubspot_rate_limit": lim(&app.hubspot.limiter).map(|(m, w)| json!({"max": m, "window_ms": w.as_millis() as u64})),
        "search_rate_limit_per_sec": lim(&app.hubspot.search_limiter).map(|(m, _)| m),
        "trello_rate_limit": app.trello.limiters.lock().unwrap_or_else(|e| e.into_inner()).as_ref()
            .map(|(t, k)| json!({"per_token": t.max(), "per_key": k.max(), "window_ms": t.window().as_millis() as u64})),
    })
}

async fn get_settings(State(app): State<Arc<AppState>>) -> Response {
    axum::Json(settings_json(&app)).into_response()
}

async fn set_settings(State(app): State<Arc<AppState>>, body: Bytes) -> Response {
    let v = match parse(&body) {
        Ok(v) => v,
        Err(e) => return bad(e),
    };
    if let Some(n) = v.get("search_lag_ms").and_then(Value::as_i64) {
        app.search_lag_ms.store(n.max(0), Ordering::Relaxed);
    }
    if let Some(n) = v.get("clock_offset_ms").and_then(Value::as_i64) {
        app.clock_offset_ms.store(n, Ordering::Relaxed);
    }
    if let Some(n) = v.get("advance_clock_ms").and_then(Value::as_i64) {
        app.clock_offset_ms.fetch_add(n, Ordering::Relaxed);
    }
    match v.get("hubspot_rate_limit") {
        None => {}
        Some(Value::Null) => {
            *app.hubspot
                .limiter
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = None
        }
        Some(l) => {
            let (Some(max), Some(w)) = (
                l.get("max").and_then(Value::as_u64),
                l.get("window_ms").and_then(Value::as_u64),
            ) else {
                return bad("hubspot_rate_limit needs {max, window_ms}");
            };
            *app.hubspot
                .limiter
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(RateLimiter::new(
                max.min(u64::from(u32::MAX)) as u32,
                Duration::from_millis(w),
            ));
        }
    }
    match v.get("search_rate_limit_per_sec") {
        None => {}
        Some(Value::Null) => {
            *app.hubspot
                .search_limiter
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = None
        }
        Some(n) => {
            let Some(n) = n.as_u64() else {
                return bad("search_rate_limit_per_sec must be a number or null");
            };
            *app.hubspot
                .search_limiter
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(RateLimiter::new(
                n.min(u64::from(u32::MAX)) as u32,
                Duration::from_secs(1),
            ));
        }
    }
    match v.get("trello_rate_limit") {
        None => {}
        Some(Value::Null) => {
            *app.trello
                .limiters
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = None
        }
        Some(l) => {
            let num = |k: &str| {
                l.get(k)
                    .and_then(Value::as_u64)
                    .map(|n| n.min(u64::from(u32::MAX)) as u32)
            };
            let (Some(t), Some(k), Some(w)) = (
                num("per_token"),
                num("per_key"),
                l.get("window_ms").and_then(Value::as_u64),
            ) else {
                return bad("trello_rate_limit needs {per_token, per_key, window_ms}");
            };
            let w = Duration::from_millis(w);
            *app.trello
                .limiters
                .lock()
                .unwrap_or_else(|e| e.into_inner()) =
                Some((RateLimiter::new(t, w), RateLimiter::new(k, w)));
        }
    }
    axum::Json(settings_json(&app)).into_response()
}

async fn dump(State(app): State<Arc<AppState>>, Path(t): Path<String>) -> Response {
    match hubspot::object_type(&t) {
        Ok(t) => axum::Json(app.read_hubspot(|d| hubspot::dump(d, t))).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn seed(State(app): State<Arc<AppState>>, body: Bytes) -> Response {
    let v = match parse(&body) {
        Ok(v) => v,
        Err(e) => return bad(e),
    };
    let t = match hubspot::object_type(v.get("type").and_then(Value::as_str).unwrap_or("contacts"))
    {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let count = v
        .get("count")
        .and_then(Value::as_u64)
        .unwrap_or(0)
        .min(200_000) as usize;
    let (now, lag) = (app.now_ms(), app.lag_ms());
    let ids = app.with_hubspot(|d| hubspot::seed_records(d, t, count, now, lag));
    axum::Json(json!({"created": ids.len(), "first_id": ids.first(), "last_id": ids.last()}))
        .into_response()
}

async fn save(State(app): State<Arc<AppState>>) -> Response {
    match app.save() {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"error": e.to_string()})),
        )
            .into_response(),
    }
}
