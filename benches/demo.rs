//! The demo's benchmark: the real `ssot-vault demo --dir DIR` (every step of the process over
//! the five services' emulators, served in-process by the demo itself), run 5 times, each in a
//! new temporary folder: wall time (min / median / max) and peak memory (VmHWM of the process).
//! Budget (issue 14: `demo` walks all the steps offline "in at most 30 s"): every run under 30 s,
//! asserted, so the benchmark fails (and exits non-zero) when one is over.
//!
//! `cargo bench --bench demo` (the release build: the figures the README gives); knob
//! (environment): `DEMO_BENCH_RUNS` (5). Figures are printed to stderr.
//!
//! `ci_small`: the reduced run `.ci/run` runs on every change, once, in the debug build
//! (`cargo test --bench demo -- ci_small`): one run, the same 30 s budget and the 100 MB memory
//! budget of the other benchmarks.

use std::process::Command;
use std::time::Duration;

mod support;

use support::{bin, measured};

fn main() {
    divan::main();
}

/// Issue 14's budget for the whole demo.
const BUDGET: Duration = Duration::from_secs(30);

/// The memory budget of every command (README, Sync → Figures).
const MEMORY: u64 = 100_000_000;

/// `ssot-vault demo --dir DIR` in a new temporary folder, with no credentials from the
/// environment (the demo brings the sandbox's).
fn demo(dir: &std::path::Path) -> Command {
    let mut c = bin();
    c.arg("demo").arg("--dir").arg(dir.join("demo"));
    for var in [
        "HUBSPOT_TOKEN",
        "JIRA_EMAIL",
        "JIRA_API_TOKEN",
        "TRELLO_KEY",
        "TRELLO_TOKEN",
        "GOOGLE_APPLICATION_CREDENTIALS",
    ] {
        c.env_remove(var);
    }
    c
}

/// Runs the demo `runs` times, each in a folder of its own (removed after); prints the wall
/// times and the peak memory, and asserts the budgets.
fn run(runs: usize, what: &str) {
    let mut times = Vec::with_capacity(runs);
    let mut peak = 0u64;
    for _ in 0..runs {
        let tmp = tempfile::tempdir().expect("tmp");
        let (t, p) = measured(&mut demo(tmp.path()));
        times.push(t);
        peak = peak.max(p);
    }
    times.sort();
    let secs = |d: Duration| d.as_secs_f64();
    eprintln!(
        "\n{what}: ssot-vault demo, {runs} runs: min {:.2} s, median {:.2} s, max {:.2} s; peak {:.1} MB (budget: every run under {} s)",
        secs(times[0]),
        secs(times[times.len() / 2]),
        secs(times[times.len() - 1]),
        peak as f64 / 1e6,
        BUDGET.as_secs()
    );
    let slowest = times[times.len() - 1];
    assert!(
        slowest < BUDGET,
        "a demo run took {:.1} s, over the {} s budget",
        secs(slowest),
        BUDGET.as_secs()
    );
    assert!(peak > 0 && peak < MEMORY, "peak memory {peak} bytes");
}

#[divan::bench(sample_count = 1, sample_size = 1)]
fn demo_runs(b: divan::Bencher) {
    let runs = std::env::var("DEMO_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(5);
    b.with_inputs(|| ())
        .bench_local_values(|()| run(runs, "demo_runs"));
}

/// One run of `demo_runs` (see the module docs).
#[divan::bench(sample_count = 1, sample_size = 1)]
fn ci_small(b: divan::Bencher) {
    b.with_inputs(|| ())
        .bench_local_values(|()| run(1, "ci_small"));
}
