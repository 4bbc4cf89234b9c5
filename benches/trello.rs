//! Trello sync benchmarks: the real `ssot-vault` binary syncing 1,000 project notes, each with
//! the standard `## Credentialing` task list, to the in-process Trello emulator.
//!
//! - `initial_1000_projects`: a first sync at Trello's real limit (100 requests per 10 s per
//!   token): requests per new card (target ≤ 2.2: a copy of the template card with its
//!   checklist, then its custom fields), wall time, peak memory (VmHWM of the process) and the
//!   share of the token's limit used (requests per 10 s window / 100, target ≥ 90 %); then an
//!   unchanged resync (target: one request).
//!
//! `cargo bench --features gen --bench trello`; figures are printed to stderr and asserted.
//!
//! `ci_small`: the reduced run (`cargo test --features gen --bench trello -- ci_small`): 120
//! projects without the emulator's limit, asserting the request counts (per card: one create
//! and one custom-field request; per run: the template made once, the feed and the board's
//! cards) and one request for the unchanged resync.

use std::path::PathBuf;
use std::time::Duration;

use ssot_vault::sandbox::{Sandbox, SandboxConfig};

mod support;

use support::{bin, measured};

fn main() {
    divan::main();
}

/// The standard credentialing tasks every new project gets.
const TASKS: &[&str] = &[
    "NDA signed",
    "Contract signed",
    "Invoice details confirmed",
    "Repository access",
];

struct Env {
    rt: tokio::runtime::Runtime,
    sb: Option<Sandbox>,
    _tmp: tempfile::TempDir,
    v: PathBuf,
    /// Trello's real limit is on (refused requests are counted too).
    limited: bool,
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(sb) = self.sb.take() {
            self.rt.block_on(sb.shutdown());
        }
    }
}

impl Env {
    /// A vault of `n` new projects (and `init`'s client), Trello enabled at a new sandbox.
    fn start(n: usize, cfg: SandboxConfig) -> Env {
        let limited = cfg.trello_rate_limit.is_some();
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
        assert!(
            bin()
                .arg("init")
                .arg(&v)
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
        let tasks: String = TASKS.iter().map(|t| format!("- [ ] {t}\n")).collect();
        for i in 0..n {
            std::fs::write(
                v.join(format!("Projects/Project {i:05}.md")),
                format!(
                    "---\ntype: project\nssot_id: {}\ncreated: 2026-11-20\nclient: \"[[Piekarnia Złoty Kłos]]\"\nstatus: intake\nsummary: Generated project {i}\nbudget: {}\n---\n## Notes\n\nGenerated for the benchmark.\n\n## Credentialing\n\n{tasks}",
                    ssot_vault::vault::id::ulid_from(1_700_000_000_000 + i as u64, [9; 10]),
                    1000 + i
                ),
            )
            .expect("write");
        }
        let p = v.join("ssot-vault.toml");
        let text = std::fs::read_to_string(&p).expect("config");
        let start = text.find("[remotes.trello]").expect("trello section");
        let end = start + text[start..].find("[remotes.sheets]").expect("sheets");
        let section = format!(
            "[remotes.trello]\nenabled = true\nbase_url = \"{}/1\"\nboard = \"Projects\"\nretry_base_ms = 200\nretry_max_ms = 10000\nmax_retries = 20\n\n",
            sb.base_url()
        );
        std::fs::write(&p, format!("{}{section}{}", &text[..start], &text[end..]))
            .expect("write config");
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
            limited,
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

    fn count(&self, endpoint: &str) -> u64 {
        self.sb()
            .request_counts()
            .by_endpoint
            .get(endpoint)
            .copied()
            .unwrap_or(0)
    }

    /// Every project note carries its card's id, and the board has one open card per project.
    fn assert_all_synced(&self, n: usize) {
        let mut with_id = 0;
        for e in std::fs::read_dir(self.v.join("Projects"))
            .expect("dir")
            .flatten()
        {
            let text = std::fs::read_to_string(e.path()).expect("note");
            if text.contains("trello_card_id:") {
                with_id += 1;
            }
        }
        assert_eq!(with_id, n, "every project has its card");
        // Without the limit (no 429 answered): one create per card, one template.
        if !self.limited {
            let posts = self.count("POST /1/cards");
            assert_eq!(posts, n as u64 + 1, "one create per card, one template");
        }
    }
}

/// Trello's real limits: 100 requests per 10 s per token, 300 per key.
fn limited() -> SandboxConfig {
    SandboxConfig {
        trello_rate_limit: Some((100, 300, Duration::from_secs(10))),
        hubspot_rate_limit: None,
        search_rate_limit_per_sec: None,
        ..SandboxConfig::default()
    }
}

fn unlimited() -> SandboxConfig {
    SandboxConfig {
        trello_rate_limit: None,
        hubspot_rate_limit: None,
        search_rate_limit_per_sec: None,
        ..SandboxConfig::default()
    }
}

/// Syncs `n` new projects and then nothing; prints and returns (first sync's requests, time,
/// peak; the resync's requests, peak).
fn run(n: usize, cfg: SandboxConfig, what: &str) -> (u64, Duration, u64, u64, u64) {
    let e = Env::start(n, cfg);
    let (t, peak) = e.sync();
    let first = e.requests();
    e.assert_all_synced(n);
    let windows = (t.as_secs_f64() / 10.0).max(1.0);
    eprintln!(
        "\n{what}: first sync of {n} projects: {first} requests ({:.2} per card), {:.1} s, peak {:.1} MB, {:.0} % of the token's limit (100 / 10 s)",
        first as f64 / n as f64,
        t.as_secs_f64(),
        peak as f64 / 1e6,
        first as f64 / windows
    );
    let (t2, peak2) = e.sync();
    let second = e.requests() - first;
    eprintln!(
        "{what}: unchanged resync: {second} requests, {:.2} s, peak {:.1} MB",
        t2.as_secs_f64(),
        peak2 as f64 / 1e6
    );
    (first, t, peak, second, peak2)
}

#[divan::bench(sample_count = 1, sample_size = 1)]
fn initial_1000_projects(b: divan::Bencher) {
    b.with_inputs(|| ()).bench_local_values(|()| {
        let (first, t, _, second, _) = run(1000, limited(), "initial_1000_projects");
        assert!(first as f64 <= 2.2 * 1000.0, "{first} requests");
        // The first sync's own actions were read by it between its writes: the resync reads
        // one page (README: Trello, Benchmark).
        assert_eq!(second, 1, "unchanged resync: the feed");
        let share = first as f64 / (t.as_secs_f64() / 10.0) / 100.0;
        assert!(share >= 0.9, "{:.0} % of the limit", share * 100.0);
    });
}

/// The request counts of `initial_1000_projects` at a small size (see the module docs).
#[divan::bench(sample_count = 1, sample_size = 1)]
fn ci_small(b: divan::Bencher) {
    const N: usize = 120;
    const BUDGET: u64 = 100_000_000;
    b.with_inputs(|| ()).bench_local_values(|()| {
        let (first, _, peak, second, peak2) = run(N, unlimited(), "ci_small");
        // Per card 2; per run: me, the boards, the board, the custom fields' definitions (3),
        // the feed, the board's cards once per batch of 50, the template (card, checklist,
        // its items, archived) and the list the card goes to.
        let batches = N.div_ceil(50) as u64;
        let fixed = 3 + 3 + 1 + batches + 3 + TASKS.len() as u64 + 2;
        assert!(
            first <= 2 * N as u64 + fixed,
            "{first} requests for {N} new cards (at most {})",
            2 * N as u64 + fixed
        );
        assert_eq!(second, 1, "unchanged resync: the feed");
        for p in [peak, peak2] {
            assert!(p > 0 && p < BUDGET, "peak memory {p} bytes");
        }
    });
}
