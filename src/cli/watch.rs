//! `ssot-vault watch [--status]`: the daemon that pushes each saved note to the services and
//! polls each service on its own interval (see `crate::watch`).
//!
//! It holds the daemon's lock (`crate::lock::DAEMON_FILE`) for its whole life: a second daemon,
//! and a manual `sync`, is refused with the daemon's pid. The vault's lock is taken for each run
//! only, so the other commands that write (`set`, `project`, ...) work between runs (one that
//! holds it when a run is due makes that run fail and wait for its service's next turn).
//! Each run is the run of `sync` for one service ([`super::sync::sync_remote`]); the notes a run
//! wrote are pushed at once to the other services that send what it wrote into them (the rule of
//! `sync`'s second pass, `SyncReport::feeds`). SIGINT and
//! SIGTERM end the run in flight (it journals and saves as `sync` does), then exit 0.
//!
//! `--status` reads the status file the daemon keeps under `.ssot/watch/`.
//!
//! Exit codes: 0 stopped by a signal, or the status shown; 2 error (configuration, the vault
//! busy, the file watcher failing, no status file).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::connectors::registry;
use crate::sync::SyncOptions;
use crate::sync::read::ReadCache;
use crate::watch::daemon::{Daemon, Msg, RunDone, RunKind, Runner, Settings};
use crate::watch::logfile::{self, RedactedStderr};
use crate::watch::schedule::RunResult;
use crate::watch::status;

use super::{CliError, Ctx, Outcome};

/// Arguments of `watch`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show each service's last run, its result and error, and its next poll, from the status
    /// file of the daemon (running or not), and exit.
    #[arg(long)]
    pub status: bool,
}

/// The default log filter: the daemon's runs at `info`, the rest at `warn`.
const LOG_FILTER: &str = "warn,ssot_vault::watch=info,ssot_vault::cli::watch=info";

/// Starts `tracing` output on stderr and into the rotating log file under `.ssot/logs/`: the
/// daemon's runs at `info`, unless `RUST_LOG` says otherwise; `secrets` never written.
fn init_tracing(root: &std::path::Path, config: &Config, secrets: Vec<String>) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(LOG_FILTER));
    let stderr = RedactedStderr::new(secrets.clone());
    let stderr_layer = tracing_subscriber::fmt::layer()
        .with_writer(move || stderr.clone())
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let file = logfile::RotatingFile::open(
        &logfile::path(root),
        config.watch.log_max_kb.saturating_mul(1024),
        config.watch.log_files,
        secrets,
    );
    let (file_layer, file_error) = match file {
        Ok(f) => (
            Some(
                tracing_subscriber::fmt::layer()
                    .with_writer(move || f.clone())
                    .with_ansi(false),
            ),
            None,
        ),
        Err(e) => (None, Some(e)),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(stderr_layer)
        .with(file_layer)
        .try_init();
    if let Some(e) = file_error {
        tracing::warn!(error = %e, "logging to stderr only");
    }
}

/// The values of the services' credentials found in the environment (their `token_env`), and of
/// any variable named like a secret: redacted from the logs.
fn secrets(config: &Config, remotes: &[String]) -> Vec<String> {
    let mut out: Vec<String> = remotes
        .iter()
        .filter_map(|r| registry::by_name(r))
        .filter_map(|s| s.credential_spec(config).ok())
        .filter_map(|spec| std::env::var(&spec.env_var).ok())
        .collect();
    for (k, v) in std::env::vars() {
        let k = k.to_ascii_uppercase();
        if ["TOKEN", "SECRET", "PASSWORD", "API_KEY", "APIKEY"]
            .iter()
            .any(|w| k.ends_with(w))
        {
            out.push(v);
        }
    }
    out.iter_mut().for_each(|v| *v = v.trim().to_string());
    out.sort();
    out.dedup();
    // The longest first, so a secret holding another is redacted whole.
    out.sort_by_key(|v| std::cmp::Reverse(v.len()));
    out
}

/// A run's error as the scheduler sees it: rate limited, down, or another error.
fn classify(e: &CliError) -> RunResult {
    let m = e.message.clone();
    if m.contains("HTTP 429") {
        RunResult::RateLimited(m)
    } else if m.contains(" attempts)") {
        // Retries exhausted: transport failures and 5xx.
        RunResult::Down(m)
    } else {
        RunResult::Error(m)
    }
}

/// A service's notes as its runs last read them, and when every note was last read.
#[derive(Debug, Default)]
struct Cached {
    cache: Arc<Mutex<ReadCache>>,
    full_read: Option<Instant>,
}

/// Each run is a `sync` of one service, reading only the notes changed since its last run.
struct SyncRunner<'a> {
    root: &'a std::path::Path,
    config: &'a crate::config::Config,
    rt: tokio::runtime::Runtime,
    /// Per service.
    cached: BTreeMap<String, Cached>,
    /// How old a full read may get before a poll run reads every note again.
    full_read_every: Duration,
    /// The daemon's services, in order.
    services: Vec<String>,
    /// Per service, what it sends to its service (its last run's [`SyncReport::sends`]): which
    /// services a run's writes are carried to.
    ///
    /// [`SyncReport::sends`]: crate::sync::SyncReport::sends
    sends: BTreeMap<String, std::collections::BTreeSet<(String, String)>>,
}

fn lock(c: &Mutex<ReadCache>) -> std::sync::MutexGuard<'_, ReadCache> {
    c.lock().unwrap_or_else(|poisoned| {
        let mut c = poisoned.into_inner();
        c.clear();
        c
    })
}

impl std::fmt::Debug for SyncRunner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncRunner")
            .field("root", &self.root)
            .finish()
    }
}

impl Runner for SyncRunner<'_> {
    fn changed(&mut self, rel: &std::path::Path) {
        let rel = rel.to_string_lossy();
        for c in self.cached.values() {
            lock(&c.cache).mark(&rel);
        }
    }

    fn rescan(&mut self) {
        for c in self.cached.values_mut() {
            c.full_read = None;
            lock(&c.cache).clear();
        }
    }

    fn run(&mut self, service: &str, kind: RunKind, quiet: bool) -> RunDone {
        // The vault's lock for this run: a command writing meanwhile (`set`, `project`, ...) is
        // waited for by the next run instead.
        let _lock = match super::lock_vault(self.root, "watch") {
            Ok(l) => l,
            Err(e) => {
                return RunDone {
                    result: RunResult::Error(e.to_string()),
                    commit: None,
                    notes_read: None,
                    feeds: None,
                };
            }
        };
        let cached = self.cached.entry(service.to_string()).or_default();
        // The first run reads every note; then only the changed ones, but for a poll run when
        // the last full read is `full_read_minutes` old.
        let due = cached
            .full_read
            .is_none_or(|t| t.elapsed() >= self.full_read_every);
        // A full read is the safety net for an event the file watcher missed: never quiet.
        let full = cached.full_read.is_none() || (kind == RunKind::Poll && due);
        if full {
            lock(&cached.cache).clear();
            cached.full_read = Some(Instant::now());
        }
        let quiet = quiet && !full;
        let cache = cached.cache.clone();
        let opts = SyncOptions {
            read_cache: Some(cache.clone()),
            vault_quiet: quiet,
            ..SyncOptions::default()
        };
        match self.rt.block_on(super::sync::sync_remote(
            self.root,
            self.config,
            service,
            &opts,
        )) {
            Ok(mut report) => {
                // `[workflow] auto_activate`: the projects this run's pull (or a save) completed
                // are made active, each in a commit of its own; that save is seen as a person's
                // and pushed to every service by the next run.
                if self.config.workflow.auto_activate {
                    super::sync::auto_activate(self.root, self.config, &mut report);
                }
                super::sync::print_report(&report, false);
                // A run that wrote notes: no cache's next read may be quiet before it has
                // walked the folders again (the daemon's file events tell it too, this does not
                // depend on their timing).
                if report.commit.is_some()
                    || report.notes_updated + report.notes_created + report.notes_marked_archived
                        > 0
                    || !report.followups.is_empty()
                {
                    for c in self.cached.values() {
                        lock(&c.cache).forget_walk();
                    }
                }
                tracing::info!(
                    service,
                    notes_read = lock(&cache).last_read(),
                    commit = report.commit.as_deref().unwrap_or("none"),
                    "{}",
                    crate::sync::log_line(&report)
                );
                // The services its writes are carried to: those that send a field, section or
                // note type it wrote into notes (as `sync`'s second pass judges). One that has not
                // run yet (its sends unknown) is left out: its first poll, a whole run due since
                // the daemon started, comes first and carries the writes.
                let feeds = self
                    .services
                    .iter()
                    .filter(|o| *o != service)
                    .filter(|o| self.sends.get(*o).is_some_and(|s| report.feeds(s)))
                    .cloned()
                    .collect();
                self.sends
                    .insert(service.to_string(), std::mem::take(&mut report.sends));
                RunDone {
                    result: RunResult::Ok,
                    commit: report.commit,
                    notes_read: Some(lock(&cache).last_read()),
                    feeds: Some(feeds),
                }
            }
            Err(e) => RunDone {
                result: classify(&e),
                commit: None,
                notes_read: None,
                feeds: None,
            },
        }
    }
}

/// Sends [`Msg::Stop`] on SIGINT and SIGTERM.
fn on_signals(rt: &tokio::runtime::Runtime, tx: mpsc::Sender<Msg>) -> Result<(), CliError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let _guard = rt.enter();
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        rt.spawn(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            let _ = tx.send(Msg::Stop);
        });
    }
    #[cfg(not(unix))]
    {
        rt.spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                let _ = tx.send(Msg::Stop);
            }
        });
    }
    Ok(())
}

/// Runs `watch`.
pub fn run(ctx: &Ctx, args: &Args) -> Result<Outcome, CliError> {
    if args.status {
        return show_status(ctx);
    }
    let (root, config) = ctx.open()?;
    let remotes = super::sync::remotes(&config, None)?;
    init_tracing(&root, &config, secrets(&config, &remotes));
    let mut services = Vec::new();
    for r in &remotes {
        let Some(service) = registry::by_name(r) else {
            continue;
        };
        let settings =
            (service.settings)(&config).map_err(|m| CliError::service_config(service, m))?;
        services.push((
            r.clone(),
            Duration::from_secs(settings.common.poll_seconds.max(1)),
        ));
    }
    // The whole life of the daemon: a second daemon and a manual `sync` learn its pid. The
    // vault's own lock is taken for each run only, so `set`, `project` and the other commands
    // that write work between runs.
    let _daemon = crate::lock::VaultLock::acquire_file(&root, crate::lock::DAEMON_FILE, "watch")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (tx, rx) = mpsc::channel();
    on_signals(&rt, tx.clone())?;
    let mut daemon = Daemon::new(Settings {
        root: root.clone(),
        services,
        debounce: Duration::from_millis(config.watch.debounce_ms),
    });
    let mut runner = SyncRunner {
        root: &root,
        config: &config,
        rt,
        cached: BTreeMap::new(),
        full_read_every: Duration::from_secs(config.watch.full_read_minutes.saturating_mul(60)),
        services: remotes.clone(),
        sends: BTreeMap::new(),
    };
    daemon
        .run(tx, &rx, &mut runner)
        .map_err(|e| CliError::new(e.to_string()))?;
    Ok(Outcome::Ok)
}

/// Prints the status file.
fn show_status(ctx: &Ctx) -> Result<Outcome, CliError> {
    let root = ctx.root()?;
    let Some(s) = status::load(&root).map_err(|e| CliError::new(e.to_string()))? else {
        return Err(
            CliError::new(format!("no `watch` daemon has run in {}", root.display()))
                .hint("start one with `ssot-vault watch`"),
        );
    };
    // Team mode: the last pull and push, kept by the daemon beside its status.
    let git = crate::team::hook::last(&root);
    if ctx.json {
        let mut v = serde_json::to_value(&s).map_err(|e| CliError::new(e.to_string()))?;
        if let (Some(obj), Some(git)) = (v.as_object_mut(), git) {
            obj.insert("git".into(), serde_json::Value::Object(git));
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(|e| CliError::new(e.to_string()))?
        );
        return Ok(Outcome::Ok);
    }
    if s.running {
        println!(
            "watch: running (pid {}, since {}); {} push runs, {} poll runs; updated {}",
            s.pid, s.started, s.push_runs, s.poll_runs, s.updated
        );
    } else {
        println!(
            "watch: stopped at {} (pid {} started {}); {} push runs, {} poll runs",
            s.updated, s.pid, s.started, s.push_runs, s.poll_runs
        );
    }
    for q in &s.queued {
        println!("  queued   {q}");
    }
    for (name, v) in &s.services {
        let last = match (&v.last_run, &v.result) {
            (Some(t), Some(r)) => format!("last run {t}: {r}"),
            _ => "not run yet".to_string(),
        };
        let next = v
            .next_poll
            .as_deref()
            .map(|t| format!("; next poll {t}"))
            .unwrap_or_default();
        let backoff = if v.failures > 0 {
            format!(" ({} failures in a row, backing off)", v.failures)
        } else {
            String::new()
        };
        let read = v
            .notes_read
            .map(|n| format!(" (the last read {n} notes)"))
            .unwrap_or_default();
        println!(
            "{name}: {last}{backoff}{next}; every {}s, {} runs{read}",
            v.poll_seconds, v.runs
        );
        if let Some(e) = &v.error {
            println!("  error: {e}");
        }
    }
    for (what, v) in git.iter().flatten() {
        let text = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("");
        let ok = v.get("ok").and_then(|x| x.as_bool()).unwrap_or(false);
        println!(
            "git {what}: {} {}: {}",
            text("at"),
            if ok { "ok" } else { "failed" },
            text("message")
        );
    }
    Ok(Outcome::Ok)
}
