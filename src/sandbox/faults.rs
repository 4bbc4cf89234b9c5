//! Fault injection, request counting and rate limiting shared by every emulator of the sandbox.
//!
//! The [`fault_middleware`] runs on every emulated route (never on `/__sandbox/...`): it counts the
//! request under its route template (`POST /crm/v3/objects/{type}/batch/upsert`), then applies the
//! configured faults in a fixed order: dropped connection, "fail the next N", 429 storm, random
//! 5xx, added latency. Randomness comes from a seeded xorshift so a test can reproduce a run.
//! Each emulator renders the injected status in its own error format through a [`FaultRenderer`].
//! [`RateLimiter`] is a rolling-window counter keyed by token, used by the emulators themselves.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::AppState;

/// Fault configuration, read and replaced through `GET/POST /__sandbox/faults`.
///
/// Every field has a default (no fault), so `{}` clears all faults and a client sends only the
/// fields it wants.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Probability (0.0–1.0) that a request gets a random 5xx (500, 502, 503 or 504).
    pub error_rate: f64,
    /// Probability (0.0–1.0) that a request's connection is closed without any response.
    pub drop_rate: f64,
    /// Seed of the random generator; the same seed and request sequence give the same faults.
    pub seed: Option<u64>,
    /// Added latency before every request is handled, in milliseconds.
    pub latency_ms: u64,
    /// Extra random latency in `0..=latency_jitter_ms` milliseconds.
    pub latency_jitter_ms: u64,
    /// The next N requests fail with `fail_status`.
    pub fail_next: u32,
    /// Status used by `fail_next` (default 500).
    pub fail_status: Option<u16>,
    /// The next N requests have their connection dropped.
    pub drop_next: u32,
    /// Dropped requests are handled first and only then lose their connection, so the write
    /// happens but the client sees a transport error (for crash-safety and idempotency tests).
    pub drop_after_handling: bool,
    /// The next N requests get 429.
    pub storm_next: u32,
    /// Every request gets 429 for this many milliseconds from when the config is set.
    pub storm_ms: u64,
    /// Only requests whose path starts with this prefix are faulted (all when `None`).
    pub path_prefix: Option<String>,
}

/// Live fault state: the configuration plus counters consumed by requests.
#[derive(Debug)]
pub struct FaultState {
    /// The configuration as last set (counters inside it are decremented as they are used).
    pub config: FaultConfig,
    /// End of the 429 storm started by `storm_ms`.
    pub storm_until: Option<Instant>,
    rng: Rng,
}

impl Default for FaultState {
    fn default() -> Self {
        Self::new(FaultConfig::default())
    }
}

impl FaultState {
    /// Builds the live state for a configuration (seeding the generator, starting a storm).
    pub fn new(config: FaultConfig) -> Self {
        let seed = config.seed.unwrap_or_else(time_seed);
        let storm_until = (config.storm_ms > 0)
            .then(|| Instant::now().checked_add(Duration::from_millis(config.storm_ms)))
            .flatten();
        FaultState {
            config,
            storm_until,
            rng: Rng::new(seed),
        }
    }

    /// The configuration as it stands now (with remaining counts and remaining storm time).
    pub fn snapshot(&self) -> FaultConfig {
        let mut c = self.config.clone();
        c.storm_ms = self
            .storm_until
            .map(|u| u.saturating_duration_since(Instant::now()).as_millis() as u64)
            .unwrap_or(0);
        c
    }

    /// Decides the fault of one request (and consumes counters).
    fn decide(&mut self, path: &str) -> Decision {
        let c = &mut self.config;
        if let Some(prefix) = &c.path_prefix
            && !path.starts_with(prefix.as_str())
        {
            return Decision::default();
        }
        let mut d = Decision::default();
        let jitter = if c.latency_jitter_ms > 0 {
            self.rng.next_u64() % c.latency_jitter_ms.saturating_add(1)
        } else {
            0
        };
        d.latency = Duration::from_millis(c.latency_ms.saturating_add(jitter));
        if c.drop_next > 0 {
            c.drop_next -= 1;
            d.outcome = Outcome::Drop;
        } else if c.fail_next > 0 {
            c.fail_next -= 1;
            let code = c.fail_status.unwrap_or(500);
            d.outcome = Outcome::Status(
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            );
        } else if c.storm_next > 0 {
            c.storm_next -= 1;
            d.outcome = Outcome::Status(StatusCode::TOO_MANY_REQUESTS);
        } else if self.storm_until.is_some_and(|u| Instant::now() < u) {
            d.outcome = Outcome::Status(StatusCode::TOO_MANY_REQUESTS);
        } else if c.drop_rate > 0.0 && self.rng.unit() < c.drop_rate {
            d.outcome = Outcome::Drop;
        } else if c.error_rate > 0.0 && self.rng.unit() < c.error_rate {
            const CODES: [StatusCode; 4] = [
                StatusCode::INTERNAL_SERVER_ERROR,
                StatusCode::BAD_GATEWAY,
                StatusCode::SERVICE_UNAVAILABLE,
                StatusCode::GATEWAY_TIMEOUT,
            ];
            d.outcome = Outcome::Status(CODES[(self.rng.next_u64() % 4) as usize]);
        }
        d
    }
}

#[derive(Debug, Default)]
struct Decision {
    latency: Duration,
    outcome: Outcome,
}

#[derive(Debug, Default)]
enum Outcome {
    #[default]
    Pass,
    Drop,
    Status(StatusCode),
}

/// Marker put in a response's extensions: the server closes the connection instead of answering.
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

/// Renders an injected error status in an emulator's own error format.
pub type FaultRenderer = fn(StatusCode) -> Response;

/// Request counters per endpoint (`METHOD /route/{template}`) and in total.
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq)]
pub struct RequestCounts {
    /// All counted requests.
    pub total: u64,
    /// Requests per `METHOD /route/template`.
    pub by_endpoint: BTreeMap<String, u64>,
    /// Requests an emulated rate limit refused (429), per `METHOD /route/template`.
    #[serde(default)]
    pub rate_limited: BTreeMap<String, u64>,
}

/// Middleware applied (as a route layer) to every emulated route.
pub async fn fault_middleware(
    State(app): State<Arc<AppState>>,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    let template = matched
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| path.clone());
    let key = format!("{} {}", req.method(), template);
    {
        let mut counts = app.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.total += 1;
        *counts.by_endpoint.entry(key).or_default() += 1;
    }
    let (decision, drop_after) = {
        let mut f = app.faults.lock().unwrap_or_else(|e| e.into_inner());
        (f.decide(&path), f.config.drop_after_handling)
    };
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    match decision.outcome {
        Outcome::Pass => next.run(req).await,
        Outcome::Drop => {
            let mut resp = if drop_after {
                next.run(req).await
            } else {
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            };
            resp.extensions_mut().insert(DropConnection);
            resp
        }
        Outcome::Status(status) => {
            let renderer = app
                .renderers
                .iter()
                .find(|(prefix, _)| path.starts_with(prefix))
                .map(|(_, r)| *r);
            match renderer {
                Some(render) => render(status),
                None => (status, "injected fault").into_response(),
            }
        }
    }
}

/// Outcome of a rate-limit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateStatus {
    /// Whether the request is allowed.
    pub allowed: bool,
    /// The limit of the window.
    pub max: u32,
    /// Requests left in the window after this one.
    pub remaining: u32,
    /// Window length.
    pub window: Duration,
}

/// A rolling-window limiter: at most `max` requests per key in any `window`.
#[derive(Debug)]
pub struct RateLimiter {
    max: u32,
    window: Duration,
    hits: HashMap<String, VecDeque<Instant>>,
}

impl RateLimiter {
    /// A limiter for `max` requests per `window`.
    pub fn new(max: u32, window: Duration) -> Self {
        RateLimiter {
            max,
            window,
            hits: HashMap::new(),
        }
    }

    /// The limit per window.
    pub fn max(&self) -> u32 {
        self.max
    }

    /// The window length.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Records a request for `key` if it is allowed and reports the window state.
    pub fn check(&mut self, key: &str) -> RateStatus {
        let now = Instant::now();
        let q = self.hits.entry(key.to_owned()).or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            q.pop_front();
        }
        let used = q.len() as u32;
        if used >= self.max {
            return RateStatus {
                allowed: false,
                max: self.max,
                remaining: 0,
                window: self.window,
            };
        }
        q.push_back(now);
        RateStatus {
            allowed: true,
            max: self.max,
            remaining: self.max - used - 1,
            window: self.window,
        }
    }
}

use crate::rng::{Rng, time_seed};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_faults_repeat() {
        let cfg = FaultConfig {
            error_rate: 0.5,
            seed: Some(7),
            ..FaultConfig::default()
        };
        let run = || {
            let mut s = FaultState::new(cfg.clone());
            (0..50)
                .map(|_| matches!(s.decide("/x").outcome, Outcome::Status(_)))
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let n = a.iter().filter(|x| **x).count();
        assert!((10..40).contains(&n), "{n}");
    }

    #[test]
    fn limiter_rolls() {
        let mut l = RateLimiter::new(2, Duration::from_millis(50));
        assert!(l.check("a").allowed);
        assert_eq!(l.check("a").remaining, 0);
        assert!(!l.check("a").allowed);
        assert!(l.check("b").allowed);
        std::thread::sleep(Duration::from_millis(60));
        assert!(l.check("a").allowed);
    }
}
