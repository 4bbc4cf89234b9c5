//! The sandbox: local HTTP emulators of the services ssot-vault syncs with, served by one axum
//! server so tests, `demo` and `ssot-vault sandbox` exercise the real wire contract offline.
//!
//! Emulators are mounted under their real paths (HubSpot at `/crm/...`); the admin API lives under
//! `/__sandbox/...` (no auth, never rate-limited or faulted). Connections are served by our own
//! accept loop over hyper so a fault can close a connection without any response, which a client
//! sees as a connection error rather than an HTTP status.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use ssot_vault::sandbox::{Sandbox, SandboxConfig};
//! let sb = Sandbox::start("127.0.0.1:0".parse().unwrap(), SandboxConfig::default()).await?;
//! let base = sb.base_url(); // use instead of https://api.hubapi.com
//! # let _ = base;
//! sb.shutdown().await;
//! # Ok(()) }
//! ```

pub mod admin;
pub mod emulator;
pub mod faults;
pub mod forms;
pub mod google;
pub mod hubspot;
pub mod jira;
pub mod person;
pub mod sheets;
pub mod store;
pub mod trello;

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

use faults::{DropConnection, FaultRenderer, FaultState};
pub use faults::{FaultConfig, RequestCounts};
use hubspot::store::HubspotData;
use store::State;
use trello::store::TrelloData;

/// Bearer token the sandbox accepts by default.
pub const DEFAULT_HUBSPOT_TOKEN: &str = "sandbox-hubspot-token";

/// API key the Trello emulator accepts by default.
pub const DEFAULT_TRELLO_KEY: &str = "sandbox-trello-key";

/// API token the Trello emulator accepts by default (it acts as the board's sync member).
pub const DEFAULT_TRELLO_TOKEN: &str = "sandbox-trello-token";

/// How the sandbox is set up.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Accepted HubSpot bearer token; an empty string accepts any non-empty token.
    pub hubspot_token: String,
    /// HubSpot's rolling limit: `(requests, window)` per token; `None` disables it.
    pub hubspot_rate_limit: Option<(u32, Duration)>,
    /// Search requests allowed per second per token (search is exempt from the other limit).
    pub search_rate_limit_per_sec: Option<u32>,
    /// How long a write takes to show up in search results (eventual consistency).
    pub search_lag: Duration,
    /// JSON file the state is loaded from at start and saved to on changes and at shutdown.
    pub state_file: Option<PathBuf>,
    /// Faults active from the start.
    pub faults: FaultConfig,
    /// Accepted Trello API key; an empty string accepts any non-empty key.
    pub trello_key: String,
    /// Accepted Trello token of the sync member; an empty string accepts any non-empty token.
    pub trello_token: String,
    /// Trello's limits when on: `(per token, per key, window)`, Trello's own being
    /// `(100, 300, 10 s)`; `None` (the default) turns them off.
    pub trello_rate_limit: Option<(u32, u32, Duration)>,
    /// The Jira emulator's settings (base path, account, search lag, rate limits).
    pub jira: jira::JiraConfig,
    /// The Google sign-in emulator's settings (token lifetime).
    pub google: google::GoogleConfig,
    /// The Sheets emulator's settings (quotas).
    pub sheets: sheets::SheetsConfig,
    /// The Forms emulator's settings (quotas).
    pub forms: forms::FormsConfig,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            hubspot_token: DEFAULT_HUBSPOT_TOKEN.to_owned(),
            hubspot_rate_limit: Some((100, Duration::from_secs(10))),
            search_rate_limit_per_sec: Some(4),
            search_lag: Duration::ZERO,
            state_file: None,
            faults: FaultConfig::default(),
            trello_key: DEFAULT_TRELLO_KEY.to_owned(),
            trello_token: DEFAULT_TRELLO_TOKEN.to_owned(),
            trello_rate_limit: None,
            jira: jira::JiraConfig::default(),
            google: google::GoogleConfig::default(),
            sheets: sheets::SheetsConfig::default(),
            forms: forms::FormsConfig::default(),
        }
    }
}

/// Command-line options of `ssot-vault sandbox` (flatten into the CLI's subcommand).
#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8765")]
    pub addr: SocketAddr,
    /// JSON file holding the sandbox state between runs.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Bearer token the HubSpot emulator accepts (empty: any token).
    #[arg(long, env = "SSOT_SANDBOX_HUBSPOT_TOKEN", default_value = DEFAULT_HUBSPOT_TOKEN)]
    pub hubspot_token: String,
    /// Turn off the emulated rate limits.
    #[arg(long)]
    pub no_rate_limit: bool,
    /// Delay before writes show up in search (HubSpot's and Jira's), in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub search_lag_ms: u64,
    /// API key the Trello emulator accepts (empty: any key).
    #[arg(long, env = "SSOT_SANDBOX_TRELLO_KEY", default_value = DEFAULT_TRELLO_KEY)]
    pub trello_key: String,
    /// Token of the Trello emulator's sync member (empty: any token).
    #[arg(long, env = "SSOT_SANDBOX_TRELLO_TOKEN", default_value = DEFAULT_TRELLO_TOKEN)]
    pub trello_token: String,
    /// Turn on Trello's limits (100 requests / 10 s per token, 300 per key).
    #[arg(long)]
    pub trello_rate_limit: bool,
}

impl SandboxArgs {
    /// The server configuration these options describe.
    pub fn config(&self) -> SandboxConfig {
        let mut cfg = SandboxConfig {
            hubspot_token: self.hubspot_token.clone(),
            search_lag: Duration::from_millis(self.search_lag_ms),
            state_file: self.state.clone(),
            trello_key: self.trello_key.clone(),
            trello_token: self.trello_token.clone(),
            trello_rate_limit: (self.trello_rate_limit && !self.no_rate_limit).then_some((
                100,
                300,
                Duration::from_secs(10),
            )),
            ..SandboxConfig::default()
        };
        cfg.jira.search_lag = Duration::from_millis(self.search_lag_ms);
        if self.no_rate_limit {
            cfg.hubspot_rate_limit = None;
            cfg.search_rate_limit_per_sec = None;
            cfg.sheets.quota = None;
            cfg.forms.quota = None;
        }
        cfg
    }

    /// Runs `ssot-vault sandbox`: serves until Ctrl-C, then saves the state.
    pub async fn run(&self) -> io::Result<()> {
        serve_forever(self.addr, self.config(), None).await
    }
}

/// One association asked for through the v4 association endpoints (single or batch), whether
/// it was made or not: the log behind `GET /__sandbox/hubspot/association-requests`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AssociationRequest {
    /// The object type associated from (`deals`).
    pub from_type: String,
    /// The record id associated from.
    pub from_id: String,
    /// The object type associated to (`contacts`).
    pub to_type: String,
    /// The record id associated to.
    pub to_id: String,
}

/// Shared server state (one per running sandbox).
#[derive(Debug)]
pub struct AppState {
    state: Mutex<State>,
    generation: AtomicU64,
    clock_offset_ms: AtomicI64,
    search_lag_ms: AtomicI64,
    state_file: Option<PathBuf>,
    pub(crate) faults: Mutex<FaultState>,
    pub(crate) counts: Mutex<RequestCounts>,
    pub(crate) renderers: Vec<(&'static str, FaultRenderer)>,
    pub(crate) hubspot: hubspot::HubspotRuntime,
    pub(crate) trello: trello::TrelloRuntime,
    pub(crate) jira: jira::JiraRuntime,
    pub(crate) google: google::GoogleRuntime,
    pub(crate) sheets: sheets::SheetsRuntime,
    pub(crate) forms: forms::FormsRuntime,
}

/// A request's route as the request counters name it: `METHOD /matched/{path}` (the raw path
/// when no route matched).
pub(crate) fn route_key(req: &axum::extract::Request) -> String {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| req.uri().path().to_owned(), |m| m.as_str().to_owned());
    format!("{} {route}", req.method())
}

impl AppState {
    /// Counts a request refused by an emulated rate limit, under its route key.
    pub(crate) fn count_rate_limited(&self, key: String) {
        *self
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .rate_limited
            .entry(key)
            .or_default() += 1;
    }

    fn new(cfg: &SandboxConfig, state: State) -> Self {
        AppState {
            state: Mutex::new(state),
            generation: AtomicU64::new(0),
            clock_offset_ms: AtomicI64::new(0),
            search_lag_ms: AtomicI64::new(cfg.search_lag.as_millis() as i64),
            state_file: cfg.state_file.clone(),
            faults: Mutex::new(FaultState::new(cfg.faults.clone())),
            counts: Mutex::new(RequestCounts::default()),
            renderers: emulator::EMULATORS
                .iter()
                .flat_map(|e| e.prefixes().iter().map(|p| (*p, e.fault_renderer())))
                .collect(),
            hubspot: hubspot::HubspotRuntime::new(cfg),
            trello: trello::TrelloRuntime::new(cfg),
            jira: jira::JiraRuntime::new(&cfg.jira),
            google: google::GoogleRuntime::new(&cfg.google),
            sheets: sheets::SheetsRuntime::new(cfg.sheets.quota),
            forms: forms::FormsRuntime::new(cfg.forms.quota),
        }
    }

    /// The sandbox clock (real time plus the admin offset), epoch ms.
    pub fn now_ms(&self) -> i64 {
        store::real_now_ms().saturating_add(self.clock_offset_ms.load(Ordering::Relaxed))
    }

    /// Current search lag in ms.
    pub fn lag_ms(&self) -> i64 {
        self.search_lag_ms.load(Ordering::Relaxed)
    }

    /// Records associations asked for (kept in memory until the counters are reset).
    pub fn log_associations(&self, requests: Vec<AssociationRequest>) {
        self.hubspot
            .association_requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(requests);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs a change on the HubSpot data and marks the state for saving.
    pub fn with_hubspot<R>(&self, f: impl FnOnce(&mut HubspotData) -> R) -> R {
        let r = f(&mut self.lock().hubspot);
        self.generation.fetch_add(1, Ordering::Relaxed);
        r
    }

    /// Reads the HubSpot data.
    pub fn read_hubspot<R>(&self, f: impl FnOnce(&HubspotData) -> R) -> R {
        f(&self.lock().hubspot)
    }

    /// Runs a change on the Trello data and marks the state for saving.
    pub fn with_trello<R>(&self, f: impl FnOnce(&mut TrelloData) -> R) -> R {
        let r = f(&mut self.lock().trello);
        self.generation.fetch_add(1, Ordering::Relaxed);
        r
    }

    /// Reads the Trello data.
    pub fn read_trello<R>(&self, f: impl FnOnce(&TrelloData) -> R) -> R {
        f(&self.lock().trello)
    }

    /// Runs a change on the Jira data and marks the state for saving.
    pub fn with_jira<R>(&self, f: impl FnOnce(&mut jira::JiraData) -> R) -> R {
        let r = f(&mut self.lock().jira);
        self.generation.fetch_add(1, Ordering::Relaxed);
        r
    }

    /// Reads the Jira data.
    pub fn read_jira<R>(&self, f: impl FnOnce(&jira::JiraData) -> R) -> R {
        f(&self.lock().jira)
    }

    /// Runs a change on the Sheets data and marks the state for saving.
    pub fn with_sheets<R>(&self, f: impl FnOnce(&mut sheets::store::SheetsData) -> R) -> R {
        let r = f(&mut self.lock().sheets);
        self.generation.fetch_add(1, Ordering::Relaxed);
        r
    }

    /// Reads the Sheets data.
    pub fn read_sheets<R>(&self, f: impl FnOnce(&sheets::store::SheetsData) -> R) -> R {
        f(&self.lock().sheets)
    }

    /// Runs a change on the Forms data and marks the state for saving.
    pub fn with_forms<R>(&self, f: impl FnOnce(&mut forms::store::FormsData) -> R) -> R {
        let r = f(&mut self.lock().forms);
        self.generation.fetch_add(1, Ordering::Relaxed);
        r
    }

    /// Reads the Forms data.
    pub fn read_forms<R>(&self, f: impl FnOnce(&forms::store::FormsData) -> R) -> R {
        f(&self.lock().forms)
    }

    /// The Forms emulator's live settings (quotas).
    pub fn forms(&self) -> &forms::FormsRuntime {
        &self.forms
    }

    /// The Google sign-in emulator's live state (token lifetime, issued tokens).
    pub fn google(&self) -> &google::GoogleRuntime {
        &self.google
    }

    /// The Sheets emulator's live settings (quotas).
    pub fn sheets(&self) -> &sheets::SheetsRuntime {
        &self.sheets
    }

    /// Replaces the whole state (admin reset).
    fn replace_state(&self, s: State) {
        *self.lock() = s;
        self.generation.fetch_add(1, Ordering::Relaxed);
    }

    /// Saves the state file now (no-op without one).
    pub fn save(&self) -> io::Result<()> {
        let Some(path) = &self.state_file else {
            return Ok(());
        };
        let snapshot = self.lock().clone();
        snapshot.save(path)?;
        Ok(())
    }
}

/// A fresh state: each emulator's seeded account and nothing else.
pub fn fresh_state() -> State {
    let mut state = State {
        version: 1,
        ..State::default()
    };
    for e in emulator::EMULATORS {
        e.seed(&mut state);
    }
    state
}

/// The full router of a sandbox: every emulator at the root, the admin API under `/__sandbox`.
fn router(app: Arc<AppState>) -> Router {
    emulator::EMULATORS
        .iter()
        .fold(Router::new(), |r, e| r.merge(e.router(app.clone())))
        .nest("/__sandbox", admin::router())
        .with_state(app)
}

/// A running sandbox server.
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    app: Arc<AppState>,
    stop: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
    saver: Option<JoinHandle<()>>,
}

impl Sandbox {
    /// Binds `addr` (port 0 picks a free port), loads the state file if any, and serves.
    pub async fn start(addr: SocketAddr, cfg: SandboxConfig) -> io::Result<Sandbox> {
        let state = match &cfg.state_file {
            Some(p) => State::load(p)?.unwrap_or_else(fresh_state),
            None => fresh_state(),
        };
        let app = Arc::new(AppState::new(&cfg, state));
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (stop, stop_rx) = watch::channel(false);
        let server = tokio::spawn(accept_loop(listener, router(app.clone()), stop_rx.clone()));
        let saver = app
            .state_file
            .is_some()
            .then(|| tokio::spawn(save_loop(app.clone(), stop_rx)));
        Ok(Sandbox {
            addr,
            app,
            stop,
            server: Some(server),
            saver,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, the base URL replacing `https://api.hubapi.com`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Shared state, for in-process inspection.
    pub fn state(&self) -> &Arc<AppState> {
        &self.app
    }

    /// Replaces the fault configuration (same as `POST /__sandbox/faults`).
    pub fn set_faults(&self, cfg: FaultConfig) {
        *self.app.faults.lock().unwrap_or_else(|e| e.into_inner()) = FaultState::new(cfg);
    }

    /// Request counters (same as `GET /__sandbox/requests`).
    pub fn request_counts(&self) -> RequestCounts {
        self.app
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Every association asked for since the start or the last counter reset (same as
    /// `GET /__sandbox/hubspot/association-requests`).
    pub fn association_requests(&self) -> Vec<AssociationRequest> {
        self.app
            .hubspot
            .association_requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The admin operations of a service's emulator on this sandbox (`None`: no such service).
    pub fn remote(&self, service: &str) -> Option<emulator::Remote<'_>> {
        emulator::emulator(service).map(|emulator| emulator::Remote {
            emulator,
            app: &self.app,
        })
    }

    /// Sets the search lag.
    pub fn set_search_lag(&self, lag: Duration) {
        self.app
            .search_lag_ms
            .store(lag.as_millis() as i64, Ordering::Relaxed);
    }

    /// The Jira site's base URL (`http://127.0.0.1:PORT` plus the configured base path), the
    /// one replacing `https://<site>.atlassian.net`.
    pub fn jira_base_url(&self) -> String {
        format!("{}{}", self.base_url(), self.app.jira.base_path())
    }

    /// Sets the Jira search lag.
    pub fn set_jira_search_lag(&self, lag: Duration) {
        self.app.jira.set_lag(lag);
    }

    /// Every Jira issue (deleted ones included, flagged `deleted`), with every field and the
    /// changelog.
    pub fn jira_issues(&self) -> Vec<serde_json::Value> {
        self.app.read_jira(jira::emulator_dump)
    }

    /// All records of a HubSpot object type (archived included), with every property; empty for an
    /// unknown type.
    pub fn hubspot_records(&self, object_type: &str) -> Vec<serde_json::Value> {
        match hubspot::object_type(object_type) {
            Ok(t) => self.app.read_hubspot(|d| hubspot::dump(d, t)),
            Err(_) => Vec::new(),
        }
    }

    /// Stops serving, closes open connections and saves the state file.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(h) = self.server.take() {
            let _ = h.await;
        }
        if let Some(h) = self.saver.take() {
            let _ = h.await;
        }
        if let Err(e) = self.app.save() {
            eprintln!("sandbox: could not save state: {e}");
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Serves until Ctrl-C (for `ssot-vault sandbox`), then saves the state file; writes the sandbox
/// service account's key file first when asked to.
pub async fn serve_forever(
    addr: SocketAddr,
    cfg: SandboxConfig,
    google_key_file: Option<&std::path::Path>,
) -> io::Result<()> {
    let sb = Sandbox::start(addr, cfg).await?;
    println!(
        "sandbox listening on {} (HubSpot at {0}/crm/v3/..., Trello at {0}/1/..., admin at {0}/__sandbox/)",
        sb.base_url()
    );
    println!("Jira at {}/rest/api/3/...", sb.jira_base_url());
    println!(
        "Google sign-in at {0}{1}, Sheets at {0}/v4/spreadsheets/... (spreadsheet {2})",
        sb.base_url(),
        google::TOKEN_PATH,
        sheets::SEED_SPREADSHEET_ID
    );
    println!(
        "Forms at {}/v1/forms/... (intake form {}, helpdesk form {})",
        sb.base_url(),
        forms::INTAKE_FORM_ID,
        forms::HELPDESK_FORM_ID
    );
    match google_key_file {
        Some(path) => {
            google::write_key_file(path, &sb.base_url())?;
            println!(
                "Google key file (the sandbox's own service account, not a secret) written to {}: \
                 export GOOGLE_APPLICATION_CREDENTIALS={0}",
                path.display()
            );
        }
        None => println!(
            "Google key file: GET {}/__sandbox/google/key-file, or start with --google-key-file PATH",
            sb.base_url()
        ),
    }
    tokio::signal::ctrl_c().await?;
    sb.shutdown().await;
    Ok(())
}

async fn accept_loop(listener: TcpListener, router: Router, mut stop: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let router = router.clone();
                conns.spawn(serve_connection(stream, router));
            }
            _ = stop.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.abort_all();
    while conns.join_next().await.is_some() {}
}

async fn serve_connection(stream: tokio::net::TcpStream, router: Router) {
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let router = router.clone();
        async move {
            let Ok(resp) = router.oneshot(req.map(axum::body::Body::new)).await;
            if resp.extensions().get::<DropConnection>().is_some() {
                // An error from the service makes hyper close the connection without a response.
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "sandbox: dropped connection",
                ));
            }
            Ok(resp)
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), svc)
        .await;
}

async fn save_loop(app: Arc<AppState>, mut stop: watch::Receiver<bool>) {
    let mut saved = app.generation.load(Ordering::Relaxed);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = stop.changed() => return,
        }
        let now = app.generation.load(Ordering::Relaxed);
        if now != saved {
            let a = app.clone();
            match tokio::task::spawn_blocking(move || a.save()).await {
                Ok(Ok(())) => saved = now,
                Ok(Err(e)) => eprintln!("sandbox: could not save state: {e}"),
                Err(_) => {}
            }
        }
    }
}
