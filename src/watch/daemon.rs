//! The daemon's loop: file events from `notify` (through its debouncer) and the poll timers fed
//! to the [`Scheduler`], one run at a time, the status file kept up to date.
//!
//! The runs themselves are the caller's ([`Runner`]: the CLI runs a `sync` of one service), so
//! this module knows nothing of connectors. The caller holds the daemon's lock for the daemon's
//! whole life. A [`Msg::Stop`] (the CLI sends one on SIGINT or SIGTERM) is read between runs:
//! the run in flight ends first, then the loop returns.
//!
//! Own writes: after a run that made a commit, every `.md` file of that commit is recorded with
//! the hash of the bytes committed (git's blob id), which are the bytes the run wrote; their
//! events are then recognised by their bytes (see [`Scheduler::own_write`]). Those notes are
//! also pushed to the other services the run's writes matter to ([`RunDone::feeds`],
//! [`Scheduler::carry`]): a card moved in Trello reaches HubSpot's deal right away, not at
//! HubSpot's next poll. That push is a run like a save's (never quiet, and counted by [`Quiet`]
//! as any run), and only a run that writes notes carries anything: the chain ends with the first
//! push that changes nothing in the vault.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, new_debouncer};

use super::schedule::{Job, RunResult, Scheduler};
use super::status::{self, ServiceStatus, Status};

/// How long the file-event debouncer holds events to join an editor's write-and-rename pairs
/// (the burst of saves is joined by the scheduler's own `debounce_ms`).
const FS_DEBOUNCE: Duration = Duration::from_millis(50);

/// The longest sleep when nothing is due (to notice a stop even without events).
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// How long after a run a poll run may be quiet (see [`Quiet`]): time for the file events of
/// the run's own writes to reach the loop (the file debouncer holds them [`FS_DEBOUNCE`]).
const QUIET_AFTER: Duration = Duration::from_secs(1);

/// Whether a poll run may skip looking at the vault: the file events tell that no file changed
/// since that service's last run started, and that run succeeded (so it committed the edits
/// pending then, and its read is the vault as it is). Such a run makes no commit of pending
/// edits and reuses its last read whole: a poll of an idle vault reads no file.
///
/// Every event counts, the daemon's own writes too (they change what a service's last read
/// saw), but `.git/` and `.ssot/`. The events of a run's writes reach the loop after the run,
/// within [`FS_DEBOUNCE`]: no run is quiet within [`QUIET_AFTER`] of the end of the last one.
#[derive(Debug, Default, Clone)]
pub struct Quiet {
    /// When the loop last received a file event (or lost some).
    last_event: Option<Duration>,
    /// When the last run of any service ended.
    last_end: Option<Duration>,
    /// Per service: when its last run started, and whether it succeeded.
    runs: std::collections::BTreeMap<String, (Duration, bool)>,
}

impl Quiet {
    /// A file event (or lost events) at `now`.
    pub fn event(&mut self, now: Duration) {
        self.last_event = Some(now);
    }

    /// `service`'s run started at `started` and ended at `now`, `ok` or not.
    pub fn ran(&mut self, service: &str, started: Duration, ok: bool, now: Duration) {
        self.runs.insert(service.to_string(), (started, ok));
        self.last_end = Some(now);
    }

    /// Whether a poll of `service` at `now` may skip looking at the vault.
    pub fn is_quiet(&self, service: &str, now: Duration) -> bool {
        let Some(&(started, true)) = self.runs.get(service) else {
            return false;
        };
        self.last_event.is_none_or(|t| t < started)
            && self.last_end.is_some_and(|end| now >= end + QUIET_AFTER)
    }
}

/// Whether an event on `rel` (relative to the vault) can change what a run commits or reads:
/// anything but `.git/` and `.ssot/`.
fn seen_by_runs(rel: &Path) -> bool {
    !rel.components()
        .next()
        .is_some_and(|c| c.as_os_str() == ".git" || c.as_os_str() == crate::sync::state::DIR)
}

/// What the loop receives.
#[derive(Debug)]
pub enum Msg {
    /// File events.
    Files(DebounceEventResult),
    /// Stop after the run in flight.
    Stop,
}

/// How a run of one service ended, as the caller reports it.
#[derive(Debug, Clone)]
pub struct RunDone {
    /// Its result.
    pub result: RunResult,
    /// The commit it made of the notes it wrote, if any.
    pub commit: Option<String>,
    /// How many notes it read from disk (a run started by saves reads only the changed ones).
    pub notes_read: Option<usize>,
    /// The other services the notes it wrote matter to (each sends something the run wrote
    /// into them), as far as the runner can tell; `None`: every other service.
    pub feeds: Option<Vec<String>>,
}

/// Why a run is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    /// Notes were saved.
    Push,
    /// The service's poll timer.
    Poll,
}

/// Runs one service (a whole sync run of it).
pub trait Runner {
    /// Runs `service`. `quiet`: no file of the vault changed since its last run (see
    /// [`Quiet`]).
    fn run(&mut self, service: &str, kind: RunKind, quiet: bool) -> RunDone;

    /// A file event named `rel` (a note, relative to the vault; the daemon's own writes too):
    /// the next run reads it again.
    fn changed(&mut self, _rel: &Path) {}

    /// The file watcher lost events (or failed): the next run reads every note again.
    fn rescan(&mut self) {}
}

/// The daemon failed to start or to keep watching.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The file watcher.
    #[error("{}: cannot watch the vault: {source}", path.display())]
    Watch {
        /// The vault.
        path: PathBuf,
        /// The error.
        source: notify::Error,
    },
    /// The status file.
    #[error(transparent)]
    Status(#[from] status::StatusError),
}

/// The daemon's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The vault root.
    pub root: PathBuf,
    /// The services and their poll intervals.
    pub services: Vec<(String, Duration)>,
    /// How long a note must be quiet before it is pushed.
    pub debounce: Duration,
}

/// The hash the scheduler compares: git's blob id of the bytes.
pub fn hash(bytes: &[u8]) -> Option<String> {
    git2::Oid::hash_object(git2::ObjectType::Blob, bytes)
        .ok()
        .map(|o| o.to_string())
}

/// The `.md` files of `commit` (a full or short id; against its first parent) with their blob ids.
fn written_by(root: &Path, commit: &str) -> Vec<(PathBuf, String)> {
    let go = || -> Result<Vec<(PathBuf, String)>, git2::Error> {
        let repo = git2::Repository::open(root)?;
        let c = repo.revparse_single(commit)?.peel_to_commit()?;
        let tree = c.tree()?;
        let parent = match c.parent(0) {
            Ok(p) => Some(p.tree()?),
            Err(_) => None,
        };
        let diff = repo.diff_tree_to_tree(parent.as_ref(), Some(&tree), None)?;
        Ok(diff
            .deltas()
            .filter_map(|d| {
                let f = d.new_file();
                let p = f.path()?;
                (!f.id().is_zero() && super::schedule::watched(p))
                    .then(|| (p.to_path_buf(), f.id().to_string()))
            })
            .collect())
    };
    go().unwrap_or_else(|e| {
        tracing::warn!(commit, error = %e, "cannot read the run's commit; its writes may start a run");
        Vec::new()
    })
}

/// The daemon.
#[derive(Debug)]
pub struct Daemon {
    settings: Settings,
    scheduler: Scheduler,
    start: Instant,
    started: jiff::Timestamp,
    push_runs: u64,
    poll_runs: u64,
    /// Per service, the notes its last run read.
    notes_read: std::collections::BTreeMap<String, usize>,
    /// What the file events tell of the vault since each service's last run.
    quiet: Quiet,
}

fn stamp(t: jiff::Timestamp) -> String {
    t.round(jiff::Unit::Second).unwrap_or(t).to_string()
}

impl Daemon {
    /// A daemon for `settings`.
    pub fn new(settings: Settings) -> Self {
        let scheduler = Scheduler::new(settings.debounce, settings.services.clone());
        Daemon {
            settings,
            scheduler,
            start: Instant::now(),
            started: jiff::Timestamp::now(),
            push_runs: 0,
            poll_runs: 0,
            notes_read: Default::default(),
            quiet: Quiet::default(),
        }
    }

    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn wall(&self, d: Duration) -> String {
        let since = self.start.elapsed();
        let now = jiff::Timestamp::now();
        let t = if d >= since {
            jiff::SignedDuration::try_from(d - since)
                .ok()
                .and_then(|x| now.checked_add(x).ok())
        } else {
            jiff::SignedDuration::try_from(since - d)
                .ok()
                .and_then(|x| now.checked_sub(x).ok())
        };
        stamp(t.unwrap_or(now))
    }

    /// The status as it is now.
    pub fn status(&self, running: bool) -> Status {
        Status {
            pid: std::process::id(),
            running,
            started: stamp(self.started),
            updated: stamp(jiff::Timestamp::now()),
            push_runs: self.push_runs,
            poll_runs: self.poll_runs,
            queued: self
                .scheduler
                .queued()
                .map(|p| p.to_string_lossy().into_owned())
                .collect(),
            services: self
                .scheduler
                .services()
                .iter()
                .map(|(n, s)| {
                    (
                        n.clone(),
                        ServiceStatus {
                            poll_seconds: s.interval.as_secs(),
                            last_run: s.last_run.map(|t| self.wall(t)),
                            result: s.last.as_ref().map(|r| r.label().to_string()),
                            error: s.last.as_ref().and_then(|r| r.error()).map(String::from),
                            next_poll: running.then(|| self.wall(s.next_poll)),
                            failures: s.failures,
                            runs: s.runs,
                            notes_read: self.notes_read.get(n).map(|&r| r as u64),
                        },
                    )
                })
                .collect(),
        }
    }

    fn save_status(&self, running: bool) {
        if let Err(e) = status::save(&self.settings.root, &self.status(running)) {
            tracing::warn!(error = %e, "cannot write the status file");
        }
    }

    /// Feeds file events to the scheduler.
    fn on_files(&mut self, result: DebounceEventResult, runner: &mut dyn Runner) {
        let events = match result {
            Ok(e) => e,
            Err(errors) => {
                for e in errors {
                    tracing::warn!(error = %e, "file watcher");
                }
                runner.rescan();
                self.quiet.event(self.now());
                return;
            }
        };
        let now = self.now();
        for ev in events {
            if ev.need_rescan() {
                tracing::warn!("the file watcher lost events: the next run reads every note");
                runner.rescan();
                self.quiet.event(now);
            }
            if ev.kind.is_access() {
                continue;
            }
            for p in &ev.paths {
                let Ok(rel) = p.strip_prefix(&self.settings.root) else {
                    continue;
                };
                if seen_by_runs(rel) {
                    self.quiet.event(now);
                }
                if !super::schedule::watched(rel) {
                    continue;
                }
                runner.changed(rel);
                let h = std::fs::read(p).ok().and_then(|b| hash(&b));
                if self.scheduler.on_event(rel, now, h.as_deref()) {
                    tracing::info!(note = %rel.display(), "changed");
                }
            }
        }
    }

    /// Runs one job.
    fn run_job(&mut self, job: Job, runner: &mut dyn Runner) {
        let kind = match job {
            Job::Push { .. } => RunKind::Push,
            Job::Poll { .. } => RunKind::Poll,
        };
        let services = match job {
            Job::Push { notes, services } => {
                self.push_runs += 1;
                let names: Vec<String> = notes.iter().map(|n| n.display().to_string()).collect();
                tracing::info!(
                    notes = %names.join(", "),
                    services = %services.join(", "),
                    "pushing changed notes"
                );
                services
            }
            Job::Poll { service } => {
                self.poll_runs += 1;
                tracing::info!(service, "polling");
                vec![service]
            }
        };
        // Team mode (`[git] remote`): pull before the run, push the commits it made after it.
        crate::team::hook::before_run(&self.settings.root);
        for s in services {
            let started = self.now();
            let quiet = kind == RunKind::Poll && self.quiet.is_quiet(&s, started);
            if quiet {
                tracing::info!(
                    service = s,
                    "quiet poll: no file changed since its last run"
                );
            }
            let done = runner.run(&s, kind, quiet);
            crate::team::hook::after_run(&self.settings.root);
            if let Some(n) = done.notes_read {
                self.notes_read.insert(s.clone(), n);
            }
            let mut written = Vec::new();
            if let Some(c) = &done.commit {
                for (rel, h) in written_by(&self.settings.root, c) {
                    // The next runs read it again, whenever its events arrive.
                    runner.changed(&rel);
                    self.scheduler.own_write(&rel, h);
                    written.push(rel);
                }
            }
            match &done.result {
                RunResult::Ok => tracing::info!(service = s, "run done"),
                r => tracing::warn!(
                    service = s,
                    result = r.label(),
                    error = r.error().unwrap_or(""),
                    "run failed"
                ),
            }
            let now = self.now();
            self.quiet
                .ran(&s, started, matches!(done.result, RunResult::Ok), now);
            self.scheduler.on_result(&s, done.result, now);
            // What it wrote goes to the other services it matters to, as a save of it would.
            let to = self
                .scheduler
                .carry(&s, &written, done.feeds.as_deref(), now);
            if !to.is_empty() {
                tracing::info!(
                    service = s,
                    to = %to.join(", "),
                    notes = written.len(),
                    "carrying the notes it wrote to the other services"
                );
            }
        }
        self.save_status(true);
    }

    /// Watches the vault and runs what is due until a [`Msg::Stop`] arrives on `rx` (`tx` is
    /// its sender, handed to the file watcher).
    pub fn run(
        &mut self,
        tx: Sender<Msg>,
        rx: &Receiver<Msg>,
        runner: &mut dyn Runner,
    ) -> Result<(), DaemonError> {
        let root = self.settings.root.clone();
        let mut debouncer = new_debouncer(FS_DEBOUNCE, None, move |r: DebounceEventResult| {
            let _ = tx.send(Msg::Files(r));
        })
        .map_err(|source| DaemonError::Watch {
            path: root.clone(),
            source,
        })?;
        debouncer
            .watch(&root, RecursiveMode::Recursive)
            .map_err(|source| DaemonError::Watch {
                path: root.clone(),
                source,
            })?;
        self.save_status(true);
        tracing::info!(vault = %root.display(), "watching");
        loop {
            // Everything that arrived (during the last run too) before deciding what is due.
            loop {
                match rx.try_recv() {
                    Ok(Msg::Files(r)) => self.on_files(r, runner),
                    Ok(Msg::Stop) => return self.stop(),
                    Err(_) => break,
                }
            }
            let now = self.now();
            if let Some(job) = self.scheduler.next(now) {
                self.run_job(job, runner);
                continue;
            }
            let wait = self
                .scheduler
                .wake_at()
                .map_or(MAX_SLEEP, |t| t.saturating_sub(now))
                .min(MAX_SLEEP);
            match rx.recv_timeout(wait) {
                Ok(Msg::Files(r)) => self.on_files(r, runner),
                Ok(Msg::Stop) => return self.stop(),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return self.stop(),
            }
        }
    }

    fn stop(&mut self) -> Result<(), DaemonError> {
        tracing::info!("stopping");
        status::save(&self.settings.root, &self.status(false))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn a_poll_is_quiet_only_after_a_good_run_and_no_event_since_it_started() {
        let mut q = Quiet::default();
        assert!(!q.is_quiet("hubspot", secs(10)), "no run yet");
        q.ran("hubspot", secs(10), true, secs(11));
        assert!(
            !q.is_quiet("hubspot", secs(11)),
            "within QUIET_AFTER of the run's end"
        );
        assert!(q.is_quiet("hubspot", secs(60)));
        assert!(!q.is_quiet("jira", secs(60)), "another service has not run");
        // An event during the run (its own writes, received after it) or after it.
        q.event(secs(12));
        assert!(!q.is_quiet("hubspot", secs(60)));
        q.ran("hubspot", secs(70), true, secs(71));
        assert!(q.is_quiet("hubspot", secs(130)));
        // A failed run: its pending edits may not be committed.
        q.ran("hubspot", secs(130), false, secs(131));
        assert!(!q.is_quiet("hubspot", secs(190)));
        q.ran("hubspot", secs(190), true, secs(191));
        assert!(q.is_quiet("hubspot", secs(250)));
        // An event before the last run started does not count, one at its start does.
        q.event(secs(189));
        assert!(q.is_quiet("hubspot", secs(250)));
        q.ran("hubspot", secs(250), true, secs(251));
        q.event(secs(250));
        assert!(!q.is_quiet("hubspot", secs(300)));
    }

    #[test]
    fn another_services_run_blocks_quiet_until_a_second_has_passed() {
        let mut q = Quiet::default();
        q.ran("hubspot", secs(0), true, secs(1));
        q.ran("jira", secs(30), true, secs(31));
        assert!(!q.is_quiet("hubspot", Duration::from_millis(31_500)));
        assert!(q.is_quiet("hubspot", secs(33)));
    }

    #[test]
    fn git_and_local_state_events_do_not_count() {
        assert!(!seen_by_runs(Path::new(".git/index")));
        assert!(!seen_by_runs(Path::new(".ssot/watch/status.json")));
        assert!(seen_by_runs(Path::new("Clients/Acme.md")));
        assert!(seen_by_runs(Path::new(".obsidian/workspace.json")));
        assert!(seen_by_runs(Path::new("Attachments/x.pdf")));
    }
}
