//! The one HTTP client of every connector: reqwest over rustls (ring), a token bucket at the
//! service's documented rate, request timeouts, and retries with exponential backoff and full
//! jitter on 429, 5xx, timeouts and dropped connections, honouring `Retry-After`.
//!
//! Requests of a kind with a limit of its own (HubSpot's search: 4 per second) are also paced by
//! a rolling [`Window`] per [`PathLimit`]. The bucket's level and the windows' request times are
//! kept between runs ([`Http::pacing`], [`Http::restore_pacing`], see [`super::pacing`]).
//!
//! Credentials are [`Secret`]s: they print as `***` in `Debug` and `Display`, so they never reach
//! logs or error messages; error messages name the method and path, never the query string.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};

use super::pacing::{BucketLevel, Pacing, Window};

/// A credential: shown as `***`, exposed only to build a request.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself (only to put it on the wire).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Reads a secret from an environment variable (`None` when unset or empty).
    pub fn from_env(var: &str) -> Option<Secret> {
        std::env::var(var)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| Secret(v.trim().to_string()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How a client talks to one service.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The service's name, for messages (`hubspot`).
    pub service: String,
    /// Base URL without a trailing slash.
    pub base_url: String,
    /// Bearer token.
    pub bearer: Option<Secret>,
    /// Basic auth: user name (Jira's account email) and password (its API token).
    pub basic: Option<(String, Secret)>,
    /// Timeout of one attempt.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff delay (doubled each retry, full jitter).
    pub retry_base: Duration,
    /// Longest backoff delay (and longest `Retry-After` honoured).
    pub retry_max: Duration,
    /// Client-side rate: at most this many requests per window (`None`: unlimited).
    pub rate: Option<(u32, Duration)>,
    /// Limits of their own on some kinds of request (on top of `rate`).
    pub path_limits: Vec<PathLimit>,
    /// Headers sent with every request whose values are credentials (Trello's
    /// `Authorization: OAuth oauth_consumer_key=…, oauth_token=…`).
    pub secret_headers: Vec<(String, Secret)>,
    /// Error answers may be plain text (Trello's `invalid id`): a non-2xx body that is not JSON
    /// is kept as a JSON string instead of failing as invalid JSON.
    pub text_errors: bool,
}

/// At most `max` requests whose path ends with `suffix` in any `window` (a service's limit on
/// one kind of request, such as HubSpot's 4 searches per second).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathLimit {
    /// The end of the paths it counts (`/search`).
    pub suffix: String,
    /// Requests allowed per window.
    pub max: u32,
    /// The window.
    pub window: Duration,
}

/// Added to a [`PathLimit`]'s window: the time a request may take to reach the service varies,
/// and the service counts arrivals.
pub const PATH_LIMIT_MARGIN: Duration = Duration::from_millis(50);

/// The wall clock in epoch ms (pacing memory outlives the process, so not an `Instant`).
fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

impl HttpConfig {
    /// Defaults for a service at `base_url`.
    pub fn new(service: &str, base_url: &str) -> Self {
        HttpConfig {
            service: service.to_string(),
            base_url: base_url.trim_end_matches('/').to_string(),
            bearer: None,
            basic: None,
            timeout: Duration::from_secs(30),
            max_retries: 8,
            retry_base: Duration::from_millis(500),
            retry_max: Duration::from_secs(30),
            rate: None,
            path_limits: Vec::new(),
            secret_headers: Vec::new(),
            text_errors: false,
        }
    }

    /// The limits and retries a remote's configuration sets (`requests_per_10s`,
    /// `timeout_seconds`, `max_retries`, `retry_base_ms`, `retry_max_ms`).
    pub fn with_settings(mut self, s: &crate::config::RemoteHttp) -> Self {
        self.timeout = Duration::from_secs_f64(s.timeout_seconds.max(0.05));
        self.max_retries = s.max_retries;
        self.retry_base = Duration::from_millis(s.retry_base_ms);
        self.retry_max = Duration::from_millis(s.retry_max_ms.max(s.retry_base_ms));
        self.rate = (s.requests_per_10s > 0).then(|| (s.requests_per_10s, Duration::from_secs(10)));
        self
    }
}

/// Why a request failed for good.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The client could not be built.
    #[error("{service}: cannot build the HTTP client: {message}")]
    Build {
        /// The service.
        service: String,
        /// Why.
        message: String,
    },
    /// Transport failure (connection, timeout) after all retries.
    #[error("{service}: {method} {path}: {message} (after {attempts} attempts)")]
    Transport {
        /// The service.
        service: String,
        /// The method.
        method: String,
        /// The path (no query string).
        path: String,
        /// What happened.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The service kept answering with a retryable status.
    #[error("{service}: {method} {path}: HTTP {status} (after {attempts} attempts): {body}")]
    Exhausted {
        /// The service.
        service: String,
        /// The method.
        method: String,
        /// The path.
        path: String,
        /// The last status.
        status: u16,
        /// The last body (truncated).
        body: String,
        /// Attempts made.
        attempts: u32,
    },
    /// A non-retryable error status.
    #[error("{service}: {method} {path}: HTTP {status}: {body}")]
    Status {
        /// The service.
        service: String,
        /// The method.
        method: String,
        /// The path.
        path: String,
        /// The status.
        status: u16,
        /// The body (truncated).
        body: String,
    },
    /// The body is not the JSON expected.
    #[error("{service}: {method} {path}: invalid JSON in the answer: {message}")]
    Json {
        /// The service.
        service: String,
        /// The method.
        method: String,
        /// The path.
        path: String,
        /// Why.
        message: String,
    },
}

/// Counters of a client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct HttpStats {
    /// Requests sent (attempts, retries included).
    pub requests: u64,
    /// Retries among them.
    pub retries: u64,
    /// 429 answers seen.
    pub throttled: u64,
}

/// The service's clock as the `Date` header of its last answer told it (RFC 9110: a whole
/// second, the time the answer was made).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerDate {
    /// The `Date` header, epoch ms (a whole second).
    pub server_ms: i64,
    /// This machine's clock when the answer arrived, epoch ms.
    pub local_ms: i64,
}

impl ServerDate {
    /// How far the service's clock is ahead of this machine's, ms: at most the true offset
    /// (the `Date` is truncated to the second and made before the answer travelled), at least
    /// it less a second and the answer's travel time.
    pub fn offset_ms(&self) -> i64 {
        self.server_ms.saturating_sub(self.local_ms)
    }
}

/// Epoch ms of an HTTP `Date` header (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn parse_http_date(value: &str) -> Option<i64> {
    jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(value.trim())
        .ok()
        .map(|t| t.as_millisecond())
}

/// An answer: status and JSON body (`Null` when empty).
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The body.
    pub body: serde_json::Value,
}

/// A request body of bytes: its content type and the bytes.
#[derive(Debug, Clone, Copy)]
pub struct RawBody<'a> {
    /// The `Content-Type` header (a multipart one names its boundary).
    pub content_type: &'a str,
    /// The bytes.
    pub bytes: &'a [u8],
}

/// An answer of bytes: status and body.
#[derive(Debug, Clone)]
pub struct RawAnswer {
    /// The status.
    pub status: StatusCode,
    /// The body's bytes.
    pub bytes: Vec<u8>,
}

/// What a request carries.
enum Payload<'a> {
    None,
    Json(&'a serde_json::Value),
    Raw(RawBody<'a>),
}

#[derive(Debug)]
struct Bucket {
    capacity: f64,
    tokens: f64,
    per_sec: f64,
    last: Instant,
}

impl Bucket {
    fn new(n: u32, window: Duration) -> Self {
        let capacity = f64::from(n.max(1));
        Bucket {
            capacity,
            tokens: capacity,
            per_sec: capacity / window.as_secs_f64().max(0.001),
            last: Instant::now(),
        }
    }

    /// Adds the tokens earned since the last look.
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.capacity);
    }

    /// Takes a token; returns how long to wait first.
    fn take(&mut self) -> Duration {
        self.refill(Instant::now());
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.per_sec)
        }
    }

    fn drain(&mut self) {
        self.tokens = self.tokens.min(0.0);
    }
}

/// The HTTP client of one service.
#[derive(Debug)]
pub struct Http {
    client: reqwest::Client,
    cfg: HttpConfig,
    bucket: Option<Mutex<Bucket>>,
    windows: Vec<(String, Mutex<Window>)>,
    requests: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
    rng: AtomicU64,
    date: Mutex<Option<ServerDate>>,
}

/// True for statuses worth retrying.
fn retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || matches!(status.as_u16(), 500 | 502 | 503 | 504 | 408)
}

fn truncate(s: &str) -> String {
    let mut out: String = s.chars().take(500).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

impl Http {
    /// Builds a client.
    pub fn new(cfg: HttpConfig) -> Result<Http, HttpError> {
        super::install_crypto();
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("ssot-vault/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HttpError::Build {
                service: cfg.service.clone(),
                message: e.to_string(),
            })?;
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9E37_79B9, |d| d.as_nanos() as u64)
            | 1;
        Ok(Http {
            client,
            bucket: cfg.rate.map(|(n, w)| Mutex::new(Bucket::new(n, w))),
            windows: cfg
                .path_limits
                .iter()
                .map(|l| {
                    (
                        l.suffix.clone(),
                        Mutex::new(Window::new(l.max, l.window, PATH_LIMIT_MARGIN)),
                    )
                })
                .collect(),
            cfg,
            requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            rng: AtomicU64::new(seed),
            date: Mutex::new(None),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &HttpConfig {
        &self.cfg
    }

    /// Counters so far.
    pub fn stats(&self) -> HttpStats {
        HttpStats {
            requests: self.requests.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
        }
    }

    /// The `Date` of the last answer that had one (`None`: none had).
    pub fn server_date(&self) -> Option<ServerDate> {
        self.date.lock().ok().and_then(|d| *d)
    }

    fn random(&self) -> f64 {
        let mut x = self.rng.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.store(x, Ordering::Relaxed);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let cap = self
            .cfg
            .retry_base
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.cfg.retry_max);
        // Full jitter, but never less than a tenth of the step.
        cap.mul_f64(0.1 + 0.9 * self.random())
    }

    async fn pace(&self, path: &str) {
        let wait = match &self.bucket {
            Some(b) => b.lock().map(|mut b| b.take()).unwrap_or(Duration::ZERO),
            None => Duration::ZERO,
        };
        if !wait.is_zero() {
            tracing::debug!(service = %self.cfg.service, wait_ms = wait.as_millis() as u64, "rate limit: waiting");
            tokio::time::sleep(wait).await;
        }
        // After the bucket's wait, so the time recorded is the time the request leaves.
        for (suffix, w) in &self.windows {
            if path.ends_with(suffix.as_str()) {
                let wait = w
                    .lock()
                    .map(|mut w| w.reserve(now_ms()))
                    .unwrap_or(Duration::ZERO);
                if !wait.is_zero() {
                    tracing::debug!(service = %self.cfg.service, limit = %suffix, wait_ms = wait.as_millis() as u64, "rate limit: waiting");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// What this client remembers of its recent requests, to carry over to the next run.
    pub fn pacing(&self) -> Pacing {
        let bucket = self.bucket.as_ref().and_then(|b| {
            b.lock().ok().map(|mut b| {
                b.refill(Instant::now());
                BucketLevel {
                    tokens: b.tokens,
                    at_ms: now_ms(),
                }
            })
        });
        let windows = self
            .windows
            .iter()
            .filter_map(|(s, w)| w.lock().ok().map(|w| (s.clone(), w.times())))
            .collect();
        Pacing { bucket, windows }
    }

    /// Counts the requests of an earlier run (its [`Http::pacing`]) before this client's first.
    pub fn restore_pacing(&self, p: &Pacing) {
        if let (Some(b), Some(level)) = (&self.bucket, p.bucket)
            && let Ok(mut b) = b.lock()
        {
            b.refill(Instant::now());
            b.tokens = b.tokens.min(level.at(now_ms(), b.per_sec, b.capacity));
        }
        for (suffix, w) in &self.windows {
            if let (Some(times), Ok(mut w)) = (p.windows.get(suffix), w.lock()) {
                w.restore(times);
            }
        }
    }

    /// Sends a request with a JSON body (or none) and returns the status and JSON answer. Statuses
    /// other than 2xx that are not retried (404, 409, 400…) come back as an [`Answer`] for the
    /// caller to read; retryable failures are retried and become errors when retries run out.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, HttpError> {
        self.send_with(method, path, query, body, true).await
    }

    /// [`Http::send`] without replay: for a write that must not be made twice (a create
    /// with no idempotency key, such as Jira's or Trello's). A request that may have been carried
    /// out (an answer lost, a 5xx) is returned as an error at once for the caller to look for
    /// what landed; a connection never made and a 429 are still retried.
    pub async fn send_no_replay(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, HttpError> {
        self.send_with(method, path, query, body, false).await
    }

    /// Sends a request whose body is bytes (a file upload: `body` with its content type; `None`:
    /// no body) and returns the status and the answer's bytes, paced, counted and retried as
    /// [`Http::send`] is (with `replay` false, as [`Http::send_no_replay`]). For what the JSON
    /// layer does not carry: multipart uploads and file downloads.
    pub async fn send_bytes(
        &self,
        method: Method,
        path: &str,
        body: Option<RawBody<'_>>,
        replay: bool,
    ) -> Result<RawAnswer, HttpError> {
        let payload = match body {
            Some(b) => Payload::Raw(b),
            None => Payload::None,
        };
        let (status, bytes) = self.exchange(method, path, &[], &payload, replay).await?;
        Ok(RawAnswer { status, bytes })
    }

    /// Like [`Http::send`], but when `replay` is false a request that may have been carried out is
    /// not sent again (see [`Http::exchange`]).
    async fn send_with(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        replay: bool,
    ) -> Result<Answer, HttpError> {
        let payload = match body {
            Some(b) => Payload::Json(b),
            None => Payload::None,
        };
        let (status, bytes) = self
            .exchange(method.clone(), path, query, &payload, replay)
            .await?;
        let text = String::from_utf8_lossy(&bytes);
        if !status.is_success() && status != StatusCode::NOT_FOUND {
            tracing::debug!(service = %self.cfg.service, %method, path, status = status.as_u16(), body = %truncate(&text), "error answer");
        }
        let body = if text.trim().is_empty() {
            serde_json::Value::Null
        } else if self.cfg.text_errors && !status.is_success() {
            serde_json::from_str(&text)
                .unwrap_or_else(|_| serde_json::Value::String(text.trim().into()))
        } else {
            serde_json::from_str(&text).map_err(|e| HttpError::Json {
                service: self.cfg.service.clone(),
                method: method.to_string(),
                path: path.to_string(),
                message: e.to_string(),
            })?
        };
        Ok(Answer { status, body })
    }

    /// One exchange, paced and counted, retried until an answer that is a success or not worth
    /// retrying (its status and bytes). When `replay` is false a request that may have been
    /// carried out is not sent again: an answer lost (a connection dropped after sending, a
    /// timeout, a body cut off) or a 5xx (the service may have failed after writing) is returned
    /// as an error at once, for the caller to look for what landed before sending again (a
    /// create repeated blindly would make a duplicate). A connection never made and a 429
    /// (refused before anything was done) are still retried.
    async fn exchange(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        payload: &Payload<'_>,
        replay: bool,
    ) -> Result<(StatusCode, Vec<u8>), HttpError> {
        let max_lost = if replay { self.cfg.max_retries } else { 0 };
        let url = format!("{}{}", self.cfg.base_url, path);
        let mut attempt: u32 = 0;
        loop {
            self.pace(path).await;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let mut req = self.client.request(method.clone(), &url);
            if !query.is_empty() {
                req = req.query(query);
            }
            if let Some(token) = &self.cfg.bearer {
                req = req.bearer_auth(token.expose());
            }
            for (name, value) in &self.cfg.secret_headers {
                req = req.header(name.as_str(), value.expose());
            }
            if let Some((user, password)) = &self.cfg.basic {
                req = req.basic_auth(user, Some(password.expose()));
            }
            match payload {
                Payload::None => {}
                Payload::Json(b) => req = req.json(b),
                Payload::Raw(b) => {
                    req = req
                        .header(reqwest::header::CONTENT_TYPE, b.content_type)
                        .body(b.bytes.to_vec());
                }
            }
            let started = Instant::now();
            let result = req.send().await;
            let wait = match result {
                Ok(resp) => {
                    let status = resp.status();
                    if let Some(server_ms) = resp
                        .headers()
                        .get(reqwest::header::DATE)
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_http_date)
                        && let Ok(mut d) = self.date.lock()
                    {
                        *d = Some(ServerDate {
                            server_ms,
                            local_ms: now_ms(),
                        });
                    }
                    let retry_after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<f64>().ok())
                        .map(Duration::from_secs_f64);
                    let bytes = match resp.bytes().await {
                        Ok(b) => b.to_vec(),
                        Err(e) if attempt < max_lost => {
                            tracing::warn!(service = %self.cfg.service, %method, path, error = %e, "body lost; retrying");
                            attempt += 1;
                            self.retries.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(self.backoff(attempt)).await;
                            continue;
                        }
                        Err(e) => {
                            return Err(HttpError::Transport {
                                service: self.cfg.service.clone(),
                                method: method.to_string(),
                                path: path.to_string(),
                                message: e.to_string(),
                                attempts: attempt + 1,
                            });
                        }
                    };
                    tracing::debug!(service = %self.cfg.service, %method, path, status = status.as_u16(), ms = started.elapsed().as_millis() as u64, "answer");
                    if status.is_success() || !retryable(status) {
                        return Ok((status, bytes));
                    }
                    if attempt >= self.cfg.max_retries
                        || (!replay && status != StatusCode::TOO_MANY_REQUESTS)
                    {
                        return Err(HttpError::Exhausted {
                            service: self.cfg.service.clone(),
                            method: method.to_string(),
                            path: path.to_string(),
                            status: status.as_u16(),
                            body: truncate(&String::from_utf8_lossy(&bytes)),
                            attempts: attempt + 1,
                        });
                    }
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        self.throttled.fetch_add(1, Ordering::Relaxed);
                        if let Some(b) = &self.bucket
                            && let Ok(mut b) = b.lock()
                        {
                            b.drain();
                        }
                    }
                    tracing::info!(service = %self.cfg.service, %method, path, status = status.as_u16(), attempt, "retrying");
                    let backoff = self.backoff(attempt);
                    match retry_after {
                        Some(ra) => ra.min(self.cfg.retry_max).max(backoff.min(ra)),
                        None => backoff,
                    }
                }
                Err(e) => {
                    if attempt >= self.cfg.max_retries || (!replay && !e.is_connect()) {
                        return Err(HttpError::Transport {
                            service: self.cfg.service.clone(),
                            method: method.to_string(),
                            path: path.to_string(),
                            message: describe(&e),
                            attempts: attempt + 1,
                        });
                    }
                    tracing::info!(service = %self.cfg.service, %method, path, error = %describe(&e), attempt, "transport error; retrying");
                    self.backoff(attempt)
                }
            };
            attempt += 1;
            self.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
        }
    }

    /// Like [`Http::send`], but a non-2xx answer is an error.
    pub async fn send_ok(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, HttpError> {
        let a = self.send(method.clone(), path, query, body).await?;
        if a.status.is_success() {
            Ok(a.body)
        } else {
            Err(self.status_error(&method, path, &a))
        }
    }

    /// The error for an unexpected answer.
    pub fn status_error(&self, method: &Method, path: &str, a: &Answer) -> HttpError {
        let msg = a
            .body
            .get("message")
            .and_then(|m| m.as_str())
            .or_else(|| a.body.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| a.body.to_string());
        HttpError::Status {
            service: self.cfg.service.clone(),
            method: method.to_string(),
            path: path.to_string(),
            status: a.status.as_u16(),
            body: truncate(&msg),
        }
    }
}

/// A transport error without the URL (which may hold query credentials).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_request() {
        "connection lost"
    } else {
        "transport error"
    };
    let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = src {
        detail = s.to_string();
        src = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An HTTP `Date` (RFC 9110's IMF-fixdate) is read to the second; anything else is none.
    #[test]
    fn http_dates_are_read() {
        assert_eq!(
            parse_http_date("Thu, 01 Jan 1970 00:00:01 GMT"),
            Some(1_000)
        );
        assert_eq!(
            parse_http_date(" Mon, 30 Nov 2026 12:01:16 GMT "),
            Some(1_796_040_076_000)
        );
        assert_eq!(parse_http_date("yesterday"), None);
        let d = ServerDate {
            server_ms: 10_000,
            local_ms: 9_400,
        };
        assert_eq!(d.offset_ms(), 600);
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("pat-na1-123");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        let cfg = HttpConfig {
            bearer: Some(s),
            ..HttpConfig::new("hubspot", "http://x/")
        };
        assert!(!format!("{cfg:?}").contains("pat-na1"));
        assert_eq!(cfg.base_url, "http://x");
    }

    #[test]
    fn bucket_paces() {
        let mut b = Bucket::new(2, Duration::from_secs(1));
        assert_eq!(b.take(), Duration::ZERO);
        assert_eq!(b.take(), Duration::ZERO);
        let w = b.take();
        assert!(w > Duration::from_millis(400) && w <= Duration::from_millis(500));
    }

    #[test]
    fn a_client_restored_from_a_spent_bucket_waits() {
        let cfg = HttpConfig {
            rate: Some((10, Duration::from_secs(10))),
            path_limits: vec![PathLimit {
                suffix: "/search".into(),
                max: 4,
                window: Duration::from_secs(1),
            }],
            ..HttpConfig::new("hubspot", "http://x")
        };
        let first = Http::new(cfg.clone()).expect("client");
        for _ in 0..10 {
            first
                .bucket
                .as_ref()
                .expect("bucket")
                .lock()
                .expect("lock")
                .take();
        }
        for _ in 0..4 {
            first.windows[0].1.lock().expect("lock").reserve(now_ms());
        }
        let saved = first.pacing();
        assert!(saved.bucket.expect("level").tokens < 0.1);
        assert_eq!(saved.windows["/search"].len(), 4);
        let next = Http::new(cfg).expect("client");
        next.restore_pacing(&saved);
        let wait = next
            .bucket
            .as_ref()
            .expect("bucket")
            .lock()
            .expect("lock")
            .take();
        assert!(wait > Duration::from_millis(800), "{wait:?}");
        let wait = next.windows[0].1.lock().expect("lock").reserve(now_ms());
        assert!(wait > Duration::from_millis(900), "{wait:?}");
    }

    /// Answers each connection on `listener` with the next of `answers` (status line and
    /// body), sending back what each request carried (its head and body).
    async fn serve(
        listener: tokio::net::TcpListener,
        answers: Vec<(&'static str, Vec<u8>)>,
    ) -> Vec<(String, Vec<u8>)> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut seen = Vec::new();
        for (status, body) in answers {
            let Ok((mut sock, _)) = listener.accept().await else {
                break;
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head, len) = loop {
                let Ok(n) = sock.read(&mut chunk).await else {
                    return seen;
                };
                if n == 0 {
                    return seen;
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..end]).to_string();
                    let len = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    buf.drain(..end + 4);
                    break (head, len);
                }
            };
            while buf.len() < len {
                match sock.read(&mut chunk).await {
                    Ok(n) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                    _ => break,
                }
            }
            seen.push((head, buf));
            let reply = format!(
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = sock.write_all(reply.as_bytes()).await;
            let _ = sock.write_all(&body).await;
            let _ = sock.shutdown().await;
        }
        seen
    }

    #[tokio::test]
    async fn bytes_go_through_the_layer_paced_counted_and_retried() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let file: Vec<u8> = (0..=255u8).chain([0, 13, 10, 255]).collect();
        let server = tokio::spawn(serve(
            listener,
            vec![
                ("429 Too Many Requests", b"{}".to_vec()),
                ("200 OK", b"{\"id\":\"a1\"}".to_vec()),
                ("200 OK", file.clone()),
            ],
        ));
        let cfg = HttpConfig {
            rate: Some((1, Duration::from_millis(300))),
            retry_base: Duration::from_millis(1),
            retry_max: Duration::from_millis(5),
            secret_headers: vec![("Authorization".into(), Secret::new("OAuth k"))],
            ..HttpConfig::new("trello", &format!("http://{addr}/1"))
        };
        let http = Http::new(cfg).expect("client");
        let started = Instant::now();
        // An upload, not replayed: its 429 is waited out.
        let up = http
            .send_bytes(
                Method::POST,
                "/cards/c1/attachments",
                Some(RawBody {
                    content_type: "multipart/form-data; boundary=b",
                    bytes: &file,
                }),
                false,
            )
            .await
            .expect("upload");
        assert_eq!(up.status, StatusCode::OK);
        assert_eq!(up.bytes, b"{\"id\":\"a1\"}");
        // A download: the bytes as sent.
        let down = http
            .send_bytes(
                Method::GET,
                "/cards/c1/attachments/a1/download/f",
                None,
                true,
            )
            .await
            .expect("download");
        assert_eq!(down.bytes, file);
        // Three requests at one per 300 ms: paced by the bucket.
        assert!(
            started.elapsed() >= Duration::from_millis(550),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            http.stats(),
            HttpStats {
                requests: 3,
                retries: 1,
                throttled: 1
            }
        );
        let seen = server.await.expect("server");
        assert_eq!(seen.len(), 3);
        for (head, body) in &seen[..2] {
            let lower = head.to_ascii_lowercase();
            assert!(head.starts_with("POST /1/cards/c1/attachments "), "{head}");
            assert!(
                lower.contains("content-type: multipart/form-data; boundary=b"),
                "{head}"
            );
            assert!(lower.contains("authorization: oauth k"), "{head}");
            assert_eq!(body, &file);
        }
        assert!(
            seen[2]
                .0
                .starts_with("GET /1/cards/c1/attachments/a1/download/f ")
        );
    }
}
