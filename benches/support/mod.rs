//! What the sync benchmarks share (`benches/{sync,trello,google,demo}.rs` include it as `mod support`):
//! the real binary with a benchmark identity and the sandbox's credentials, and a command run
//! while its peak memory is sampled.

use std::process::Command;
use std::time::{Duration, Instant};

use ssot_vault::sandbox::{DEFAULT_HUBSPOT_TOKEN, DEFAULT_TRELLO_KEY, DEFAULT_TRELLO_TOKEN, jira};

/// The real `ssot-vault`, with a fixed git identity, the sandbox's default credentials of every
/// service and no colours.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ssot-vault"));
    c.env("GIT_AUTHOR_NAME", "Bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "Bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
        .env("HUBSPOT_TOKEN", DEFAULT_HUBSPOT_TOKEN)
        .env("JIRA_EMAIL", jira::DEFAULT_EMAIL)
        .env("JIRA_API_TOKEN", jira::DEFAULT_TOKEN)
        .env("TRELLO_KEY", DEFAULT_TRELLO_KEY)
        .env("TRELLO_TOKEN", DEFAULT_TRELLO_TOKEN)
        .env("NO_COLOR", "1");
    c
}

/// The peak resident set (`VmHWM`) of a `/proc/<pid>/status` text, in bytes (0 when absent).
pub fn vm_hwm(status: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Runs `cmd` (its output dropped), which must succeed, sampling its peak memory every 5 ms:
/// (wall time, peak resident set in bytes).
pub fn measured(cmd: &mut Command) -> (Duration, u64) {
    let start = Instant::now();
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    let status = loop {
        if let Ok(s) = std::fs::read_to_string(&status_path) {
            peak = peak.max(vm_hwm(&s));
        }
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(status.success(), "{cmd:?} failed");
    (start.elapsed(), peak)
}
