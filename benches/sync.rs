//! Sync benchmarks: the real `ssot-vault` binary syncing generated vaults with the in-process
//! HubSpot sandbox.
//!
//! - `initial_1000_clients`: requests of a first sync of 1,000 clients (≤ 15) and of an
//!   unchanged resync (≤ 1 per object type), from the sandbox's counters;
//! - `real_limit_2000_with_5xx`: 2,000 clients at HubSpot's real limit (100 requests / 10 s) with
//!   10 % injected 5xx: every record correct, none duplicated;
//! - `notes_10000`: time and peak memory (VmHWM of the process) of a first sync of 10,000 notes
//!   against the sandbox without limits, the client pacing itself at HubSpot's 100 requests / 10 s;
//!   `notes_10000_unpaced`: the same with the client's pacing off (`requests_per_10s = 0`), which
//!   shows the engine's own time;
//! - `generated_vault_10000`: a whole generated vault (clients, experts, projects with their
//!   associations, tickets), first sync and unchanged resync.
//!
//! - `jira_initial_1000_projects`: requests of a first sync of 1,000 project notes with the Jira
//!   emulator (the field list, the read, bulk creates of 50, one bulk fetch, and the settle read
//!   once the minute of the writes has ended, 100 issues a page: at most 45), of an unchanged
//!   resync right after it (one search: the settle read let its read start after the writes) and,
//!   with settling off (`settle_max_seconds = 0`), of one once the writes are older than the
//!   overlap (one search); `jira_notes_10000`: peak memory (VmHWM) of the first sync and the
//!   resync of 10,000 project notes (budget 100 MB). Jira's clock is moved so that a first sync's
//!   writes end a few seconds before a minute does: its settle read waits seconds, not a minute
//!   (the emulator's search has no lag: `settle_lag_seconds = 1`).
//!
//! `cargo bench --features gen --bench sync`; figures are printed to stderr and asserted.
//!
//! `ci_small`: the reduced benchmark `.ci/run` runs on every change, once, in the debug build
//! (`cargo test --features gen --bench sync -- ci_small`): the set-ups above at small sizes, asserting the
//! request counts the README's figures scale to (a first sync of N clients: 3 property creations,
//! 2 searches, ceil(N / 100) upserts and nothing else; an unchanged resync: one search per object
//! type; a first Jira sync of N projects: 3 + ceil(N / 50) + ceil(N / 100) with its settle read,
//! a resync right after 1; with settling off, 3 + ceil(N / 50) and one once the writes are older
//! than the overlap) and the 100 MB memory budget (VmHWM of each `ssot-vault sync` process).

use std::path::PathBuf;
use std::time::Duration;

use ssot_vault::sandbox::{FaultConfig, Sandbox, SandboxConfig};

mod support;

use support::{bin, measured};

fn main() {
    divan::main();
}

struct Env {
    rt: tokio::runtime::Runtime,
    sb: Option<Sandbox>,
    _tmp: tempfile::TempDir,
    v: PathBuf,
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(sb) = self.sb.take() {
            self.rt.block_on(sb.shutdown());
        }
    }
}

/// A vault of `n` generated clients (no template samples), HubSpot enabled at a new sandbox.
fn env(n: usize, cfg: SandboxConfig) -> Env {
    env_with(n, cfg, "")
}

/// [`env`] with more `[remotes.hubspot]` settings.
fn env_with(n: usize, cfg: SandboxConfig, extra: &str) -> Env {
    Env::start(cfg, extra, |v| {
        assert!(
            bin()
                .arg("init")
                .arg(v)
                .output()
                .expect("init")
                .status
                .success()
        );
        for d in ["Clients", "Experts", "Projects"] {
            for e in std::fs::read_dir(v.join(d)).expect("dir").flatten() {
                std::fs::remove_file(e.path()).expect("rm sample");
            }
        }
        for i in 0..n {
            std::fs::write(
                v.join(format!("Clients/Client {i:05}.md")),
                format!(
                    "---\ntype: client\nssot_id: {}\ncreated: 2026-11-20\nname: Client {i:05}\nemail: client{i}@example.com\nphone: \"+48 600 {:03} {:03}\"\ncity: Town {}\ncountry: Poland\nstatus: active\n---\n## Notes\n\nGenerated for the benchmark.\n",
                    ssot_vault::vault::id::ulid_from(1_700_000_000_000 + i as u64, [7; 10]),
                    i % 1000,
                    i / 1000,
                    i % 50
                ),
            )
            .expect("write");
        }
    })
}

impl Env {
    /// A new sandbox and a vault made by `make_vault` in a temporary folder, with HubSpot enabled
    /// at the sandbox (plus `extra` settings) and committed.
    fn start(cfg: SandboxConfig, extra: &str, make_vault: impl FnOnce(&std::path::Path)) -> Env {
        Env::start_with(cfg, extra, true, make_vault)
    }

    /// [`Env::start`] with HubSpot (`hubspot`) or Jira enabled at the sandbox.
    fn start_with(
        cfg: SandboxConfig,
        extra: &str,
        hubspot: bool,
        make_vault: impl FnOnce(&std::path::Path),
    ) -> Env {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let sb = rt
            .block_on(Sandbox::start("127.0.0.1:0".parse().expect("addr"), cfg))
            .expect("sandbox");
        let tmp = tempfile::tempdir().expect("tmp");
        let v = tmp.path().join("vault");
        make_vault(&v);
        let p = v.join("ssot-vault.toml");
        let text = std::fs::read_to_string(&p).expect("config");
        let text = if hubspot {
            text.replacen(
                "enabled = false\nbase_url = \"https://api.hubapi.com\"",
                &format!("enabled = true\nbase_url = \"{}\"\nretry_base_ms = 200\nretry_max_ms = 10000\nmax_retries = 20\n{extra}", sb.base_url()),
                1,
            )
        } else {
            let start = text.find("[remotes.jira]").expect("jira section");
            let end = start
                + text[start..]
                    .find("[remotes.trello]")
                    .expect("trello section");
            format!(
                "{}[remotes.jira]\nenabled = true\nbase_url = \"{}\"\nproject_key = \"SSOT\"\nretry_base_ms = 200\nretry_max_ms = 10000\nmax_retries = 20\n{extra}\n\n{}",
                &text[..start],
                sb.jira_base_url(),
                &text[end..]
            )
        };
        std::fs::write(&p, text).expect("write config");
        assert!(
            bin()
                .arg("--vault")
                .arg(&v)
                .arg("commit")
                .output()
                .expect("commit")
                .status
                .success()
        );
        Env {
            rt,
            sb: Some(sb),
            _tmp: tmp,
            v,
        }
    }

    fn sb(&self) -> &Sandbox {
        self.sb.as_ref().expect("sandbox")
    }

    /// Runs `sync`; returns (wall time, peak RSS in bytes).
    fn sync(&self) -> (Duration, u64) {
        measured(bin().arg("--vault").arg(&self.v).arg("sync"))
    }

    fn requests(&self) -> u64 {
        self.sb().request_counts().total
    }

    fn assert_all_synced(&self, n: usize) {
        let live: Vec<serde_json::Value> = self
            .sb()
            .hubspot_records("contacts")
            .into_iter()
            .filter(|r| r["archived"] != serde_json::json!(true))
            .collect();
        let mut sids: Vec<&str> = live
            .iter()
            .filter_map(|r| r["properties"]["ssot_id"].as_str())
            .collect();
        sids.sort_unstable();
        sids.dedup();
        assert_eq!(live.len(), n, "every client once");
        assert_eq!(sids.len(), n, "no duplicate");
        for r in live.iter().step_by(97) {
            let name = r["properties"]["firstname"]
                .as_str()
                .unwrap_or("")
                .to_string()
                + " "
                + r["properties"]["lastname"].as_str().unwrap_or("");
            let note =
                std::fs::read_to_string(self.v.join(format!("Clients/{name}.md"))).expect("note");
            assert!(
                note.contains(&format!(
                    "hubspot_id: \"{}\"",
                    r["id"].as_str().unwrap_or("")
                )),
                "{name}"
            );
        }
    }
}

/// A vault of `n` generated project notes (intake, linked to the template's client) with Jira
/// enabled at a new sandbox (HubSpot off); a run that wrote settles, allowing for one second of
/// search lag (the emulator's has none).
fn jira_env(n: usize) -> Env {
    jira_env_with(n, "settle_lag_seconds = 1")
}

/// [`jira_env`] with settling off: a resync right after a run that wrote reads its writes again.
fn jira_env_unsettled(n: usize) -> Env {
    jira_env_with(n, "settle_max_seconds = 0")
}

/// [`jira_env`] with `extra` settings in `[remotes.jira]`.
fn jira_env_with(n: usize, extra: &str) -> Env {
    Env::start_with(unlimited(), extra, false, |v| {
        assert!(
            bin()
                .arg("init")
                .arg(v)
                .output()
                .expect("init")
                .status
                .success()
        );
        for e in std::fs::read_dir(v.join("Projects"))
            .expect("dir")
            .flatten()
        {
            std::fs::remove_file(e.path()).expect("rm sample");
        }
        for i in 0..n {
            std::fs::write(
                v.join(format!("Projects/Project {i:05}.md")),
                format!(
                    "---\ntype: project\nssot_id: {}\ncreated: 2026-11-20\nclient: \"[[Piekarnia Złoty Kłos]]\"\nstatus: intake\nsummary: Generated project {i}\nbudget: {}\nestimate_hours: {}\ndeadline: 2027-0{}-15\npriority: medium\n---\n## Brief\n\nProject **{i}** for the benchmark.\n",
                    ssot_vault::vault::id::ulid_from(1_700_000_000_000 + i as u64, [9; 10]),
                    1000 + i,
                    10 + i % 90,
                    1 + i % 9
                ),
            )
            .expect("write");
        }
    })
}

/// Sets the sandbox's clock `offset_ms` from the real one (the Jira issues' `updated`).
fn set_clock(e: &Env, offset_ms: i64) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let url = format!("{}/__sandbox/settings", e.sb().base_url());
    let ok = e.rt.block_on(async move {
        reqwest::Client::new()
            .post(url)
            .json(&serde_json::json!({ "clock_offset_ms": offset_ms }))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    });
    assert!(ok, "sandbox clock not set");
}

/// The sandbox clock's offset that puts Jira's clock at second `second` of a minute now.
fn minute_offset(second: i64) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    (second * 1000 - now.rem_euclid(60_000)).rem_euclid(60_000)
}

/// First sync and unchanged resync of `n` project notes with Jira: (first requests, resync
/// requests, peaks, times), every issue once. With `aged`, the first sync's writes are made ten
/// minutes back on Jira's clock, so the resync finds them older than the overlap (as any resync
/// after the one right after a run does); else the resync comes right after: with settling on,
/// Jira's clock is put at second 45 of a minute first, so that the first sync's settle read
/// (once the minute of its writes has ended) waits seconds, not a minute, and the resync's read
/// starts after the writes; with it off, the resync reads the issues just written again (JQL
/// dates have minute precision, and the overlap is 2 minutes).
fn jira_run(e: &Env, n: usize, aged: bool) -> (u64, u64, u64, u64, Duration, Duration) {
    set_clock(e, if aged { -600_000 } else { minute_offset(45) });
    let (t, peak) = e.sync();
    if aged {
        set_clock(e, 0);
    }
    let first = e.requests();
    let issues = e.sb().jira_issues();
    let mut labels: Vec<&str> = issues
        .iter()
        .filter(|i| i["deleted"] != serde_json::json!(true))
        .filter_map(|i| i["fields"]["labels"].as_array())
        .flatten()
        .filter_map(|l| l.as_str())
        .filter(|l| l.starts_with("ssot-"))
        .collect();
    labels.sort_unstable();
    labels.dedup();
    assert_eq!(labels.len(), n, "every project once");
    let (t2, peak2) = e.sync();
    let second = e.requests() - first;
    (first, second, peak, peak2, t, t2)
}

#[divan::bench(sample_count = 1, sample_size = 1)]
fn jira_initial_1000_projects(b: divan::Bencher) {
    b.with_inputs(|| jira_env(1000)).bench_local_values(|e| {
        let (first, second, peak, peak2, t, t2) = jira_run(&e, 1000, false);
        eprintln!(
            "Jira, 1,000 projects: first sync {first} requests, {:.1} s (its settle wait included), peak {:.1} MB; unchanged resync right after {second} requests, {:.2} s, peak {:.1} MB; {:?}",
            t.as_secs_f64(),
            peak as f64 / 1e6,
            t2.as_secs_f64(),
            peak2 as f64 / 1e6,
            e.sb().request_counts().by_endpoint
        );
        let aged = jira_env_unsettled(1000);
        let (unsettled, settled, _, _, t3, t4) = jira_run(&aged, 1000, true);
        eprintln!(
            "Jira, 1,000 projects, settling off: first sync {unsettled} requests, {:.1} s; unchanged resync once the writes are older than the overlap {settled} requests, {:.2} s",
            t3.as_secs_f64(),
            t4.as_secs_f64()
        );
        if first > 45 || second > 1 || settled > 1 {
            eprintln!("OVER TARGET: the issue asks for at most 45 requests first and 1 resyncing");
        }
        e
    });
}

#[divan::bench(sample_count = 1, sample_size = 1)]
fn jira_notes_10000(b: divan::Bencher) {
    b.with_inputs(|| jira_env(10_000)).bench_local_values(|e| {
        let (first, second, peak, peak2, t, t2) = jira_run(&e, 10_000, false);
        eprintln!(
            "Jira, 10,000 projects: first sync {first} requests, {:.1} s, peak {:.1} MB; unchanged resync {second} requests, {:.2} s, peak {:.1} MB",
            t.as_secs_f64(),
            peak as f64 / 1e6,
            t2.as_secs_f64(),
            peak2 as f64 / 1e6
        );
        if peak.max(peak2) >= 100_000_000 {
            eprintln!("OVER BUDGET: peak memory above the 100 MB the issue allows");
        }
        e
    });
}

fn unlimited() -> SandboxConfig {
    SandboxConfig {
        hubspot_rate_limit: None,
        search_rate_limit_per_sec: None,
        ..SandboxConfig::default()
    }
}

#[divan::bench(sample_count = 1, sample_size = 1)]
fn initial_1000_clients(b: divan::Bencher) {
    b.with_inputs(|| env(1000, unlimited())).bench_local_values(|e| {
        e.sync();
        let first = e.requests();
        e.assert_all_synced(1000);
        e.sync();
        let second = e.requests() - first;
        eprintln!("initial sync of 1,000 clients: {first} HubSpot requests; unchanged resync: {second} (contacts + deals)");
        assert!(first <= 15, "{:?}", e.sb().request_counts());
        assert!(second <= 2, "{:?}", e.sb().request_counts());
        e
    });
}

#[divan::bench(sample_count = 1, sample_size = 1)]
fn real_limit_2000_with_5xx(b: divan::Bencher) {
    b.with_inputs(|| {
        let e = env(2000, SandboxConfig::default());
        e.sb().set_faults(FaultConfig {
            error_rate: 0.10,
            seed: Some(42),
            ..FaultConfig::default()
        });
        e
    })
    .bench_local_values(|e| {
        let (t, _) = e.sync();
        e.assert_all_synced(2000);
        eprintln!(
            "2,000 clients at 100 requests / 10 s with 10 % 5xx: {:.1} s, {} requests, all correct, none duplicated",
            t.as_secs_f64(),
            e.requests()
        );
        e
    });
}

#[divan::bench(sample_count = 1, sample_size = 1)]
fn notes_10000(b: divan::Bencher) {
    b.with_inputs(|| env(10_000, unlimited())).bench_local_values(|e| {
        let (t, peak) = e.sync();
        e.assert_all_synced(10_000);
        let (t2, peak2) = e.sync();
        eprintln!(
            "10,000 notes: first sync {:.1} s, peak memory {:.1} MB; unchanged resync {:.2} s, {:.1} MB",
            t.as_secs_f64(),
            peak as f64 / 1e6,
            t2.as_secs_f64(),
            peak2 as f64 / 1e6
        );
        if peak >= 100_000_000 {
            eprintln!("OVER BUDGET: peak memory {peak} bytes is above the 100 MB the issue allows");
        }
        e
    });
}

#[divan::bench(sample_count = 1, sample_size = 1)]
fn notes_10000_unpaced(b: divan::Bencher) {
    b.with_inputs(|| env_with(10_000, unlimited(), "requests_per_10s = 0"))
        .bench_local_values(|e| {
            let (t, peak) = e.sync();
            e.assert_all_synced(10_000);
            let (t2, peak2) = e.sync();
            eprintln!(
                "10,000 notes, client pacing off: first sync {:.1} s, peak memory {:.1} MB; unchanged resync {:.2} s, {:.1} MB",
                t.as_secs_f64(),
                peak as f64 / 1e6,
                t2.as_secs_f64(),
                peak2 as f64 / 1e6
            );
            if peak.max(peak2) >= 100_000_000 {
                eprintln!("OVER BUDGET: peak memory above the 100 MB the issue allows");
            }
            e
        });
}

#[divan::bench(sample_count = 1, sample_size = 1)]
fn generated_vault_10000(b: divan::Bencher) {
    b.with_inputs(|| {
        Env::start(unlimited(), "", |v| {
            assert!(
                bin()
                    .args(["generate", "--notes", "10000", "--git"])
                    .arg(v)
                    .output()
                    .expect("generate")
                    .status
                    .success()
            );
        })
    })
    .bench_local_values(|e| {
        let (t, peak) = e.sync();
        let first = e.requests();
        let (t2, peak2) = e.sync();
        let second = e.requests() - first;
        let contacts = e.sb().hubspot_records("contacts").len();
        let deals = e.sb().hubspot_records("deals").len();
        eprintln!(
            "generated vault of 10,000 notes: first sync {:.1} s, {first} requests, peak {:.1} MB ({contacts} contacts, {deals} deals); unchanged resync {:.2} s, {second} requests, peak {:.1} MB",
            t.as_secs_f64(),
            peak as f64 / 1e6,
            t2.as_secs_f64(),
            peak2 as f64 / 1e6
        );
        e
    });
}

/// What the README's figures scale to, checked at small sizes by `.ci/run` (see the module docs).
#[divan::bench(sample_count = 1, sample_size = 1)]
fn ci_small(b: divan::Bencher) {
    const BUDGET: u64 = 100_000_000;
    b.with_inputs(|| ()).bench_local_values(|()| {
        for n in [250usize, 100] {
            let e = env(n, unlimited());
            let (t, peak) = e.sync();
            let counts = e.sb().request_counts();
            e.assert_all_synced(n);
            let count = |suffix: &str| -> u64 {
                counts
                    .by_endpoint
                    .iter()
                    .filter(|(k, _)| k.starts_with("POST ") && k.ends_with(suffix))
                    .map(|(_, c)| *c)
                    .sum()
            };
            let (props, searches, upserts) = (
                count("/crm/v3/properties/{type}"),
                count("/search"),
                count("/batch/upsert"),
            );
            eprintln!(
                "\nci_small: first sync of {n} clients: {} requests ({props} property creations, {searches} searches, {upserts} upserts), {:.2} s, peak {:.1} MB",
                counts.total,
                t.as_secs_f64(),
                peak as f64 / 1e6
            );
            assert_eq!(
                (props, searches, upserts as usize),
                (3, 2, n.div_ceil(100)),
                "first sync of {n} clients: the README states 3 property creations, 2 searches and ceil(N/100) upserts: {counts:?}"
            );
            assert_eq!(
                counts.total,
                props + searches + upserts,
                "first sync of {n} clients: no other request: {counts:?}"
            );
            let before = e.requests();
            let (t2, peak2) = e.sync();
            let second = e.requests() - before;
            eprintln!(
                "ci_small: unchanged resync of {n} clients: {second} requests, {:.2} s, peak {:.1} MB",
                t2.as_secs_f64(),
                peak2 as f64 / 1e6
            );
            assert_eq!(
                second,
                2,
                "unchanged resync: the README states one search per object type (contacts, deals): {:?}",
                e.sb().request_counts()
            );
            for p in [peak, peak2] {
                assert!(p > 0, "the peak memory of the sync process was not read");
                assert!(
                    p < BUDGET,
                    "peak memory {p} bytes of a sync of {n} clients is over the 100 MB budget"
                );
            }
        }
        // A generated vault (clients, experts, projects with associations, tickets): an
        // unchanged resync is one search per object type, and both runs stay in the budget.
        let e = Env::start(unlimited(), "", |v| {
            assert!(
                bin()
                    .args(["generate", "--notes", "400", "--git"])
                    .arg(v)
                    .output()
                    .expect("generate")
                    .status
                    .success()
            );
        });
        let (_, peak) = e.sync();
        let first = e.requests();
        let (_, peak2) = e.sync();
        let second = e.requests() - first;
        eprintln!(
            "ci_small: generated vault of 400 notes: first sync {first} requests, peak {:.1} MB; unchanged resync {second} requests, peak {:.1} MB",
            peak as f64 / 1e6,
            peak2 as f64 / 1e6
        );
        assert!(
            !e.sb().hubspot_records("deals").is_empty(),
            "the generated vault has projects"
        );
        assert_eq!(second, 2, "{:?}", e.sb().request_counts());
        for p in [peak, peak2] {
            assert!(p > 0 && p < BUDGET, "peak memory {p} bytes");
        }
        // Jira: a first sync of 120 projects in bulk creates of 50 and its settle read, an
        // unchanged resync right after of one search.
        let n = 120;
        let e = jira_env(n);
        let (first, second, peak, peak2, t, _) = jira_run(&e, n, false);
        let counts = e.sb().request_counts();
        let at = |k: &str| counts.by_endpoint.get(k).copied().unwrap_or(0);
        eprintln!(
            "ci_small: Jira, {n} projects: first sync {first} requests, {:.1} s (its settle wait included), peak {:.1} MB; unchanged resync {second} requests, peak {:.1} MB; {:?}",
            t.as_secs_f64(),
            peak as f64 / 1e6,
            peak2 as f64 / 1e6,
            counts.by_endpoint
        );
        assert_eq!(at("POST /rest/api/3/issue/bulk"), n.div_ceil(50) as u64, "{counts:?}");
        // The first sync: the field list, the (full) read, the bulk creates, one bulk fetch of
        // the first creates (the status new issues start in); no label search (the full read
        // listed the project), no transition (intake is Jira's To Do, where issues start); then
        // the settle read, once the minute of the writes has ended: the project again (the run
        // started with no cursor), 100 issues a page.
        assert_eq!(
            first,
            3 + n.div_ceil(50) as u64 + n.div_ceil(100) as u64,
            "first sync: {counts:?}"
        );
        assert_eq!(at("POST /rest/api/3/issue/bulkfetch"), 1, "{counts:?}");
        // The settle read found the issues as the run left them: the resync right after starts
        // after the run's writes, one search.
        assert_eq!(second, 1, "unchanged resync: {counts:?}");
        assert_eq!(
            at("POST /rest/api/3/search/jql"),
            1 + n.div_ceil(100) as u64 + 1,
            "{counts:?}"
        );
        // Settling off: the first sync as before it existed, and an unchanged resync of one
        // search once the writes are older than the overlap.
        let aged = jira_env_unsettled(n);
        let (unsettled, settled, _, _, _, _) = jira_run(&aged, n, true);
        assert_eq!(
            unsettled,
            3 + n.div_ceil(50) as u64,
            "{:?}",
            aged.sb().request_counts()
        );
        assert_eq!(settled, 1, "{:?}", aged.sb().request_counts());
        for p in [peak, peak2] {
            assert!(p > 0 && p < BUDGET, "peak memory {p} bytes");
        }
    });
}
