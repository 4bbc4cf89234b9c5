//! The daemon's scheduler: what to run next and when, as a pure state machine.
//!
//! It knows no clock and no file system: time is a [`Duration`] since the daemon started, given
//! with every call; file events come with the hash of the bytes the file holds (the daemon reads
//! and hashes it). So tests drive it with a fake clock and a fake event source.
//!
//! - **Debounce.** A note's event starts nothing at once: the note is pushed once `debounce` has
//!   passed since its last event, so a burst of saves (Obsidian writes while you type) is one run.
//! - **Ignored paths.** Only `.md` files outside `.git/`, `.ssot/` and `.obsidian/` count.
//! - **Own writes.** After each run the daemon records the hash of every note the run wrote
//!   ([`Scheduler::own_write`]). An event on such a note whose bytes hash the same is the
//!   daemon's own write and starts nothing; the record is kept until an event shows other bytes
//!   (a person's edit), which is then a change like any other. No timing window is involved.
//! - **Carried writes.** A run that wrote notes has them pushed to the other services
//!   ([`Scheduler::carry`]: those the runner says carry what it wrote, never the writer), after
//!   the same debounce, as a person's save of those notes would: a change pulled from one service
//!   reaches the others at once, not at their next poll. A run that writes no notes carries
//!   nothing, so a push that changes nothing in the vault ends the chain.
//! - **Polls.** Each service is polled on its own interval; a push run of a service counts as a
//!   poll of it.
//! - **Backoff.** A failed run (error, rate limited, service down) puts its service back by its
//!   interval doubled per failure in a row, up to a cap; a success resets it. The other services
//!   go on meanwhile, and a push leaves out a service in backoff (its next poll, a whole run,
//!   pushes the change).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The longest backoff, unless a service's own interval is longer.
pub const BACKOFF_CAP: Duration = Duration::from_secs(15 * 60);

/// Something to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// Notes changed in the vault (saved by a person, or written by another service's run): run
    /// these services (each a whole sync run for now).
    Push {
        /// The changed notes, relative to the vault root.
        notes: Vec<PathBuf>,
        /// The services to run (those not in backoff).
        services: Vec<String>,
    },
    /// A service's poll is due.
    Poll {
        /// The service.
        service: String,
    },
}

/// How a run of a service ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", content = "error", rename_all = "snake_case")]
pub enum RunResult {
    /// Done.
    Ok,
    /// Failed (configuration, a refused request, I/O, ...).
    Error(String),
    /// The service kept answering 429.
    RateLimited(String),
    /// The service could not be reached or kept failing (5xx, timeouts).
    Down(String),
}

impl RunResult {
    /// `ok`, `error`, `rate limited`, `down`.
    pub fn label(&self) -> &'static str {
        match self {
            RunResult::Ok => "ok",
            RunResult::Error(_) => "error",
            RunResult::RateLimited(_) => "rate limited",
            RunResult::Down(_) => "down",
        }
    }

    /// The error message, if it failed.
    pub fn error(&self) -> Option<&str> {
        match self {
            RunResult::Ok => None,
            RunResult::Error(m) | RunResult::RateLimited(m) | RunResult::Down(m) => Some(m),
        }
    }
}

/// What the scheduler knows of one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceState {
    /// Its poll interval.
    pub interval: Duration,
    /// When it is polled next.
    pub next_poll: Duration,
    /// Failed runs in a row.
    pub failures: u32,
    /// When its last run ended.
    pub last_run: Option<Duration>,
    /// How its last run ended.
    pub last: Option<RunResult>,
    /// Runs so far.
    pub runs: u64,
}

/// A changed note waiting for its burst to end.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pending {
    /// The time of its last event (or of the end of the run that wrote it).
    last: Duration,
    /// The services to push it to: `None` every one (a person's save), else those a run's write
    /// is carried to.
    to: Option<BTreeSet<String>>,
}

/// The scheduler.
#[derive(Debug, Clone)]
pub struct Scheduler {
    debounce: Duration,
    /// Changed notes waiting for their burst to end.
    pending: BTreeMap<PathBuf, Pending>,
    /// The hash of the bytes the daemon's runs last wrote to each note.
    own: BTreeMap<PathBuf, String>,
    services: BTreeMap<String, ServiceState>,
}

/// Whether an event on `rel` (relative to the vault root) can start a run: a `.md` file outside
/// `.git/`, `.ssot/` and `.obsidian/`.
pub fn watched(rel: &Path) -> bool {
    let hidden = rel.components().any(|c| match c {
        Component::Normal(s) => s == ".git" || s == ".ssot" || s == ".obsidian",
        Component::ParentDir | Component::RootDir | Component::Prefix(_) => true,
        Component::CurDir => false,
    });
    !hidden && rel.extension().is_some_and(|e| e == "md")
}

impl Scheduler {
    /// A scheduler for `services` (name, poll interval), each polled first at time zero.
    pub fn new(debounce: Duration, services: impl IntoIterator<Item = (String, Duration)>) -> Self {
        Scheduler {
            debounce,
            pending: BTreeMap::new(),
            own: BTreeMap::new(),
            services: services
                .into_iter()
                .map(|(name, interval)| {
                    (
                        name,
                        ServiceState {
                            interval,
                            next_poll: Duration::ZERO,
                            failures: 0,
                            last_run: None,
                            last: None,
                            runs: 0,
                        },
                    )
                })
                .collect(),
        }
    }

    /// A file event at `now` on `rel`, whose bytes hash to `hash` (`None`: the file is gone).
    /// Returns whether it counts as a change.
    pub fn on_event(&mut self, rel: &Path, now: Duration, hash: Option<&str>) -> bool {
        if !watched(rel) {
            return false;
        }
        if let Some(own) = self.own.get(rel) {
            if hash == Some(own.as_str()) {
                return false;
            }
            self.own.remove(rel);
        }
        self.pending.insert(
            rel.to_path_buf(),
            Pending {
                last: now,
                to: None,
            },
        );
        true
    }

    /// A run of `writer` that ended at `now` wrote `notes`: they are pushed to `to` (the
    /// services that carry what it wrote; `None`: every service), never to `writer` itself,
    /// once `debounce` has passed, joined with any save of them meanwhile (which pushes to every
    /// service). Returns the services it is carried to (empty: nothing scheduled).
    pub fn carry(
        &mut self,
        writer: &str,
        notes: &[PathBuf],
        to: Option<&[String]>,
        now: Duration,
    ) -> Vec<String> {
        let targets: BTreeSet<String> = self
            .services
            .keys()
            .filter(|n| *n != writer && to.is_none_or(|t| t.contains(n)))
            .cloned()
            .collect();
        if targets.is_empty() || notes.is_empty() {
            return Vec::new();
        }
        for rel in notes.iter().filter(|r| watched(r)) {
            match self.pending.get_mut(rel) {
                Some(p) => {
                    p.last = p.last.max(now);
                    if let Some(t) = &mut p.to {
                        t.extend(targets.iter().cloned());
                    }
                }
                None => {
                    self.pending.insert(
                        rel.clone(),
                        Pending {
                            last: now,
                            to: Some(targets.clone()),
                        },
                    );
                }
            }
        }
        targets.into_iter().collect()
    }

    /// Records that a run wrote bytes hashing to `hash` to `rel`.
    pub fn own_write(&mut self, rel: &Path, hash: String) {
        self.own.insert(rel.to_path_buf(), hash);
    }

    /// What is due at `now`, if anything: a push of the notes whose burst is over first (to
    /// every service any of them is for), then the service whose poll is the most overdue.
    pub fn next(&mut self, now: Duration) -> Option<Job> {
        let ready: Vec<PathBuf> = self
            .pending
            .iter()
            .filter(|(_, p)| p.last + self.debounce <= now)
            .map(|(p, _)| p.clone())
            .collect();
        if !ready.is_empty() {
            // `None`: every service; else the union of the notes' targets.
            let mut to: Option<BTreeSet<String>> = Some(BTreeSet::new());
            for p in &ready {
                let Some(done) = self.pending.remove(p) else {
                    continue;
                };
                to = match (to, done.to) {
                    (Some(mut a), Some(b)) => {
                        a.extend(b);
                        Some(a)
                    }
                    _ => None,
                };
            }
            let services: Vec<String> = self
                .services
                .iter()
                .filter(|(n, s)| s.failures == 0 && to.as_ref().is_none_or(|t| t.contains(*n)))
                .map(|(n, _)| n.clone())
                .collect();
            if !services.is_empty() {
                return Some(Job::Push {
                    notes: ready,
                    services,
                });
            }
        }
        self.services
            .iter()
            .filter(|(_, s)| s.next_poll <= now)
            .min_by_key(|(_, s)| s.next_poll)
            .map(|(n, _)| Job::Poll { service: n.clone() })
    }

    /// When something is due next (`None`: nothing to wait for).
    pub fn wake_at(&self) -> Option<Duration> {
        let push = self.pending.values().map(|p| p.last + self.debounce).min();
        let poll = self.services.values().map(|s| s.next_poll).min();
        match (push, poll) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A run of `service` ended at `now` with `result`: its next poll is one interval away, or
    /// further while it fails.
    pub fn on_result(&mut self, service: &str, result: RunResult, now: Duration) {
        let Some(s) = self.services.get_mut(service) else {
            return;
        };
        s.runs += 1;
        s.last_run = Some(now);
        if result == RunResult::Ok {
            s.failures = 0;
            s.next_poll = now + s.interval;
        } else {
            s.failures = s.failures.saturating_add(1);
            s.next_poll = now + backoff(s.interval, s.failures);
        }
        s.last = Some(result);
    }

    /// The services' states.
    pub fn services(&self) -> &BTreeMap<String, ServiceState> {
        &self.services
    }

    /// The notes waiting for their burst to end.
    pub fn queued(&self) -> impl Iterator<Item = &Path> {
        self.pending.keys().map(PathBuf::as_path)
    }
}

/// The wait after `failures` failed runs in a row: the interval doubled per failure, up to
/// [`BACKOFF_CAP`] (or the interval, when longer).
pub fn backoff(interval: Duration, failures: u32) -> Duration {
    let cap = BACKOFF_CAP.max(interval);
    let factor = 1u32.checked_shl(failures.min(20)).unwrap_or(u32::MAX);
    interval.saturating_mul(factor).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBOUNCE: Duration = Duration::from_millis(500);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    /// One service, polled every minute, its first poll done at time zero.
    fn one() -> Scheduler {
        let mut s = Scheduler::new(DEBOUNCE, [("hubspot".to_string(), secs(60))]);
        assert_eq!(
            s.next(Duration::ZERO),
            Some(Job::Poll {
                service: "hubspot".into()
            })
        );
        s.on_result("hubspot", RunResult::Ok, Duration::ZERO);
        s
    }

    /// Every job due from `from` to `to`, stepping by `step`, each run ending as `result` says.
    fn drive(
        s: &mut Scheduler,
        from: Duration,
        to: Duration,
        step: Duration,
        result: impl Fn(&str) -> RunResult,
    ) -> Vec<(Duration, Job)> {
        let mut jobs = Vec::new();
        let mut now = from;
        while now <= to {
            while let Some(job) = s.next(now) {
                let names = match &job {
                    Job::Push { services, .. } => services.clone(),
                    Job::Poll { service } => vec![service.clone()],
                };
                for n in names {
                    s.on_result(&n, result(&n), now);
                }
                jobs.push((now, job));
            }
            now += step;
        }
        jobs
    }

    fn pushes(jobs: &[(Duration, Job)]) -> Vec<&Job> {
        jobs.iter()
            .map(|(_, j)| j)
            .filter(|j| matches!(j, Job::Push { .. }))
            .collect()
    }

    #[test]
    fn a_save_is_one_run_after_the_debounce() {
        let mut s = one();
        assert!(s.on_event(Path::new("Clients/Acme.md"), secs(1), Some("a")));
        assert_eq!(s.next(secs(1) + ms(499)), None, "not before the debounce");
        assert_eq!(s.wake_at(), Some(secs(1) + DEBOUNCE));
        assert_eq!(
            s.next(secs(1) + DEBOUNCE),
            Some(Job::Push {
                notes: vec![PathBuf::from("Clients/Acme.md")],
                services: vec!["hubspot".into()],
            })
        );
        let jobs = drive(&mut s, secs(2), secs(30), ms(100), |_| RunResult::Ok);
        assert!(jobs.is_empty(), "nothing more: {jobs:?}");
    }

    #[test]
    fn a_burst_of_saves_is_one_run() {
        let mut s = one();
        let note = Path::new("Clients/Acme.md");
        // Saves every 200 ms for 3 s (Obsidian while typing), then quiet.
        let mut t = secs(1);
        while t < secs(4) {
            assert!(s.on_event(note, t, Some(&format!("{t:?}"))));
            assert_eq!(s.next(t), None, "no run during the burst");
            t += ms(200);
        }
        let jobs = drive(&mut s, secs(4), secs(30), ms(50), |_| RunResult::Ok);
        assert_eq!(pushes(&jobs).len(), 1, "{jobs:?}");
    }

    #[test]
    fn ignored_paths_start_nothing() {
        let mut s = one();
        for p in [
            ".git/index",
            ".git/refs/heads/main.md",
            ".ssot/hubspot/state.md",
            ".obsidian/workspace.json",
            ".obsidian/snippets/x.md",
            "Clients/Acme.md.tmp",
            "Attachments/logo.png",
        ] {
            assert!(!s.on_event(Path::new(p), secs(1), Some("x")), "{p}");
        }
        assert!(drive(&mut s, secs(1), secs(10), ms(100), |_| RunResult::Ok).is_empty());
    }

    #[test]
    fn own_writes_start_no_run() {
        let mut s = one();
        let note = Path::new("Clients/Acme.md");
        s.own_write(note, "written".into());
        // The write's events, however many and however late.
        assert!(!s.on_event(note, secs(1), Some("written")));
        assert!(!s.on_event(note, secs(9), Some("written")));
        assert!(drive(&mut s, secs(1), secs(20), ms(100), |_| RunResult::Ok).is_empty());
    }

    #[test]
    fn a_persons_edit_after_an_own_write_is_seen() {
        let mut s = one();
        let note = Path::new("Clients/Acme.md");
        s.own_write(note, "written".into());
        assert!(!s.on_event(note, secs(1), Some("written")));
        // Right after the write (no timing window): other bytes are a person's edit.
        assert!(s.on_event(note, secs(1) + ms(10), Some("edited")));
        let jobs = drive(&mut s, secs(1), secs(20), ms(100), |_| RunResult::Ok);
        assert_eq!(pushes(&jobs).len(), 1, "{jobs:?}");
        // The record is gone: the written bytes again (an undo) are a change too.
        assert!(s.on_event(note, secs(21), Some("written")));
    }

    #[test]
    fn a_service_down_backs_off_while_another_keeps_polling() {
        let mut s = Scheduler::new(
            DEBOUNCE,
            [
                ("hubspot".to_string(), secs(10)),
                ("jira".to_string(), secs(10)),
            ],
        );
        let jobs = drive(&mut s, Duration::ZERO, secs(160), secs(1), |n| {
            if n == "hubspot" {
                RunResult::Down("connection refused".into())
            } else {
                RunResult::Ok
            }
        });
        let at = |name: &str| -> Vec<u64> {
            jobs.iter()
                .filter(|(_, j)| matches!(j, Job::Poll { service } if service == name))
                .map(|(t, _)| t.as_secs())
                .collect()
        };
        assert_eq!(at("jira"), (0..=160).step_by(10).collect::<Vec<_>>());
        // 20, 40, 80 s after each failure: doubling.
        assert_eq!(at("hubspot"), vec![0, 20, 60, 140]);
        assert_eq!(s.services()["hubspot"].failures, 4);
        // A change meanwhile goes to jira only.
        assert!(s.on_event(Path::new("a.md"), secs(161), Some("x")));
        assert_eq!(
            s.next(secs(162)),
            Some(Job::Push {
                notes: vec![PathBuf::from("a.md")],
                services: vec!["jira".into()],
            })
        );
        // Back up: reset to the plain interval.
        s.on_result("hubspot", RunResult::Ok, secs(300));
        assert_eq!(s.services()["hubspot"].next_poll, secs(310));
        assert_eq!(s.services()["hubspot"].failures, 0);
    }

    /// Three services, each polled every ten minutes, their first polls done at time zero.
    fn three() -> Scheduler {
        let mut s = Scheduler::new(
            DEBOUNCE,
            ["hubspot", "jira", "trello"].map(|n| (n.to_string(), secs(600))),
        );
        let jobs = drive(&mut s, Duration::ZERO, Duration::ZERO, secs(1), |_| {
            RunResult::Ok
        });
        assert_eq!(jobs.len(), 3, "{jobs:?}");
        s
    }

    #[test]
    fn a_runs_writes_are_pushed_to_the_other_services_only_and_a_push_writing_nothing_ends_it() {
        let mut s = three();
        let note = PathBuf::from("Projects/Shop.md");
        // Trello's poll at 30 s wrote the note (a card moved); its own write's event starts
        // nothing.
        s.on_result("trello", RunResult::Ok, secs(30));
        s.own_write(&note, "blocked".into());
        let to = s.carry("trello", std::slice::from_ref(&note), None, secs(30));
        assert_eq!(to, ["hubspot", "jira"]);
        assert!(!s.on_event(&note, secs(30) + ms(60), Some("blocked")));
        assert_eq!(s.next(secs(30) + ms(499)), None, "after the debounce");
        assert_eq!(s.wake_at(), Some(secs(30) + DEBOUNCE));
        // Pushed at once to the others (their polls are ten minutes away), not to Trello; the
        // push runs write nothing, so nothing more runs before the next polls.
        let jobs = drive(&mut s, secs(30), secs(599), ms(100), |_| RunResult::Ok);
        assert_eq!(
            jobs,
            [(
                secs(30) + DEBOUNCE,
                Job::Push {
                    notes: vec![note.clone()],
                    services: vec!["hubspot".into(), "jira".into()],
                }
            )]
        );
        // Only the services that carry what was written.
        let hub = ["hubspot".to_string()];
        assert_eq!(
            s.carry("trello", std::slice::from_ref(&note), Some(&hub), secs(700)),
            hub
        );
        assert_eq!(
            s.next(secs(701)),
            Some(Job::Push {
                notes: vec![note.clone()],
                services: hub.to_vec(),
            })
        );
        // A writer that is the only service it feeds, or notes nobody carries: nothing.
        assert!(
            s.carry(
                "hubspot",
                std::slice::from_ref(&note),
                Some(&hub),
                secs(702)
            )
            .is_empty()
        );
        assert!(
            s.carry("trello", std::slice::from_ref(&note), Some(&[]), secs(702))
                .is_empty()
        );
        assert!(s.carry("trello", &[], None, secs(702)).is_empty());
        assert_eq!(s.queued().count(), 0);
    }

    #[test]
    fn a_persons_save_of_a_carried_note_goes_to_every_service() {
        let mut s = three();
        let note = PathBuf::from("Projects/Shop.md");
        s.carry("trello", std::slice::from_ref(&note), None, secs(30));
        // A person saves the note during the debounce: every service, Trello too.
        assert!(s.on_event(&note, secs(30) + ms(200), Some("edited")));
        assert_eq!(
            s.next(secs(30) + ms(600)),
            None,
            "the save restarts the debounce"
        );
        assert_eq!(
            s.next(secs(30) + ms(700)),
            Some(Job::Push {
                notes: vec![note.clone()],
                services: vec!["hubspot".into(), "jira".into(), "trello".into()],
            })
        );
        // And the other way round: a write carried onto a pending save keeps every service.
        assert!(s.on_event(&note, secs(40), Some("edited again")));
        s.carry(
            "jira",
            std::slice::from_ref(&note),
            None,
            secs(40) + ms(100),
        );
        assert_eq!(
            s.next(secs(41)),
            Some(Job::Push {
                notes: vec![note],
                services: vec!["hubspot".into(), "jira".into(), "trello".into()],
            })
        );
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        assert_eq!(backoff(secs(60), 1), secs(120));
        assert_eq!(backoff(secs(60), 2), secs(240));
        assert_eq!(backoff(secs(60), 5), BACKOFF_CAP);
        assert_eq!(backoff(secs(60), 500), BACKOFF_CAP);
        assert_eq!(backoff(secs(3600), 3), secs(3600));
    }
}
