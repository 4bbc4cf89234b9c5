//! Request pacing that outlives a run.
//!
//! A service's limits count requests per token over a rolling window (HubSpot: 4 searches per
//! second, 100 requests per 10 seconds), not per process: a run that starts right after another
//! must count the requests the other just made. The HTTP layer ([`super::http`]) paces with a
//! token bucket and with [`Window`]s (at most `max` requests of a kind in any window); both are
//! kept on the wall clock (epoch ms), saved by the run in `.ssot/<remote>/pacing.json` when it
//! ends (also when it fails) and restored by the next run, which then waits as needed before its
//! first requests. A clock set back never makes a run wait longer than one window.
//!
//! The arithmetic takes the time as an argument (`now_ms`), so it is tested with a fake clock.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::fsutil::{self, FsError};

/// A rolling-window pacer: at most `max` requests in any `window` (plus a safety `margin` for the
/// time a request takes to reach the service), remembering the times of the last `max` requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    max: usize,
    span_ms: i64,
    times: VecDeque<i64>,
}

impl Window {
    /// A pacer allowing `max` requests per `window`, spaced by `margin` more.
    pub fn new(max: u32, window: Duration, margin: Duration) -> Window {
        Window {
            max: (max as usize).max(1),
            span_ms: i64::try_from((window + margin).as_millis()).unwrap_or(i64::MAX),
            times: VecDeque::new(),
        }
    }

    /// Reserves the slot of a request wanted at `now_ms` (epoch ms): returns how long to wait
    /// before sending it, and records it at the time it will be sent.
    pub fn reserve(&mut self, now_ms: i64) -> Duration {
        let mut at = now_ms;
        if self.times.len() >= self.max {
            // The max-th most recent request must have left the window.
            if let Some(oldest) = self.times.pop_front() {
                at = at.max(oldest.saturating_add(self.span_ms));
            }
        }
        // A clock set back (times in the future) never costs more than one window.
        at = at.min(now_ms.saturating_add(self.span_ms));
        self.times.push_back(at);
        Duration::from_millis(u64::try_from(at - now_ms).unwrap_or(0))
    }

    /// The times of the last requests (epoch ms, oldest first), to save.
    pub fn times(&self) -> Vec<i64> {
        self.times.iter().copied().collect()
    }

    /// Restores the times saved by an earlier run (only the last `max` count).
    pub fn restore(&mut self, times: &[i64]) {
        let skip = times.len().saturating_sub(self.max);
        self.times = times[skip..].iter().copied().collect();
    }
}

/// A token bucket's level at a wall-clock time, to carry over to the next run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BucketLevel {
    /// Tokens left (negative: requests already scheduled ahead of the refill).
    pub tokens: f64,
    /// When (epoch ms).
    pub at_ms: i64,
}

impl BucketLevel {
    /// The level at `now_ms` of a bucket refilled at `per_sec` up to `capacity`. A clock set back
    /// refills nothing.
    pub fn at(&self, now_ms: i64, per_sec: f64, capacity: f64) -> f64 {
        let elapsed = now_ms.saturating_sub(self.at_ms).max(0) as f64 / 1000.0;
        (self.tokens + elapsed * per_sec).min(capacity)
    }
}

/// What an HTTP client remembers of its recent requests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Pacing {
    /// The general token bucket.
    pub bucket: Option<BucketLevel>,
    /// Each [`Window`]'s request times, by the path suffix it paces (`/search`).
    pub windows: std::collections::BTreeMap<String, Vec<i64>>,
}

/// The pacing file in a remote's state folder (`.ssot/<remote>/`).
pub fn path(dir: &Path) -> PathBuf {
    dir.join("pacing.json")
}

/// The pacing saved by the last run in the remote's state folder `dir` (empty when there is
/// none or it cannot be read: pacing is an optimisation, the HTTP layer still retries a 429).
pub fn load(dir: &Path) -> Pacing {
    let p = path(dir);
    match std::fs::read(&p) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(path = %p.display(), error = %e, "unreadable pacing file; ignored");
            Pacing::default()
        }),
        Err(_) => Pacing::default(),
    }
}

/// Saves the pacing atomically in the remote's state folder `dir`.
pub fn save(dir: &Path, pacing: &Pacing) -> Result<(), FsError> {
    let p = path(dir);
    let bytes = serde_json::to_vec(pacing).map_err(|e| FsError::Io {
        path: p.clone(),
        source: std::io::Error::other(e),
    })?;
    fsutil::write_atomic(&p, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(d: Duration) -> i64 {
        d.as_millis() as i64
    }

    #[test]
    fn four_per_second_then_waits_for_the_oldest_to_leave() {
        let mut w = Window::new(4, Duration::from_secs(1), Duration::from_millis(50));
        let t0 = 1_000_000;
        for _ in 0..4 {
            assert_eq!(w.reserve(t0), Duration::ZERO);
        }
        // The fifth waits until the first is 1,050 ms old.
        assert_eq!(ms(w.reserve(t0 + 200)), 850);
        // The sixth, wanted at the same moment, waits for the second.
        assert_eq!(ms(w.reserve(t0 + 200)), 850);
        assert_eq!(w.times(), vec![t0, t0, t0 + 1050, t0 + 1050]);
        // Long after, no wait.
        assert_eq!(w.reserve(t0 + 10_000), Duration::ZERO);
    }

    #[test]
    fn a_new_run_paces_from_the_times_saved_by_the_last() {
        let mut first = Window::new(4, Duration::from_secs(1), Duration::from_millis(50));
        let t0 = 5_000_000;
        for i in 0..4 {
            first.reserve(t0 + i * 100);
        }
        let saved = first.times();
        // The next process starts 400 ms later with the saved times: its first search waits
        // until the first run's first search is 1,050 ms old; its second for the second.
        let mut next = Window::new(4, Duration::from_secs(1), Duration::from_millis(50));
        next.restore(&saved);
        assert_eq!(ms(next.reserve(t0 + 400)), 650);
        assert_eq!(ms(next.reserve(t0 + 1050)), 100);
        // Without them it would not have waited: four more in the same second.
        let mut fresh = Window::new(4, Duration::from_secs(1), Duration::from_millis(50));
        assert_eq!(fresh.reserve(t0 + 400), Duration::ZERO);
    }

    #[test]
    fn a_clock_set_back_waits_one_window_at_most() {
        let mut w = Window::new(2, Duration::from_secs(1), Duration::ZERO);
        w.restore(&[9_000_000, 9_000_000, 9_000_000]);
        assert_eq!(w.times().len(), 2, "only the last max times count");
        // The clock now reads an hour earlier than the saved times.
        assert_eq!(ms(w.reserve(9_000_000 - 3_600_000)), 1000);
    }

    #[test]
    fn a_bucket_level_refills_with_time_and_never_past_capacity() {
        let l = BucketLevel {
            tokens: -2.0,
            at_ms: 1_000,
        };
        assert_eq!(l.at(1_000, 10.0, 100.0), -2.0);
        assert_eq!(l.at(2_000, 10.0, 100.0), 8.0);
        assert_eq!(l.at(100_000, 10.0, 100.0), 100.0);
        assert_eq!(
            l.at(0, 10.0, 100.0),
            -2.0,
            "a clock set back refills nothing"
        );
    }

    #[test]
    fn pacing_round_trips_through_its_file() {
        let t = tempfile::tempdir().expect("tempdir");
        assert_eq!(load(t.path()), Pacing::default());
        let p = Pacing {
            bucket: Some(BucketLevel {
                tokens: 3.5,
                at_ms: 42,
            }),
            windows: [("/search".to_string(), vec![1, 2, 3])].into(),
        };
        save(t.path(), &p).expect("save");
        assert_eq!(load(t.path()), p);
        std::fs::write(path(t.path()), b"{not json").expect("write");
        assert_eq!(load(t.path()), Pacing::default());
    }
}
