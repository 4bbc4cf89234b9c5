//! Google Sheets sync benchmarks: the real `ssot-vault` binary syncing clients, experts and
//! projects to the in-process Sheets emulator's seeded spreadsheet (tabs `Clients`, `Experts`,
//! `Projects` with their header rows), at the emulator's real quotas (60 reads and 60 writes per
//! minute per user).
//!
//! - `initial_3000_rows`: three tabs × 1,000 rows: a first sync of a vault of 3,000 notes into
//!   empty tabs (target ≤ 4 requests: the read of every tab and one append per tab), wall time,
//!   peak memory (VmHWM of the process); then an unchanged resync (target: 1 request, the one
//!   `values.batchGet`).
//!
//! `cargo bench --bench sheets`; figures are printed to stderr and asserted.
//!
//! `ci_small`: the reduced run (`cargo test --bench sheets -- ci_small`): 3 × 40 rows, the same
//! request counts asserted.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use ssot_vault::sandbox::sheets::SEED_SPREADSHEET_ID;
use ssot_vault::sandbox::{Sandbox, SandboxConfig, google};

fn main() {
    divan::main();
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ssot-vault"));
    c.env("GIT_AUTHOR_NAME", "Bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "Bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
        .env("NO_COLOR", "1");
    c
}

struct Env {
    rt: tokio::runtime::Runtime,
    sb: Option<Sandbox>,
    _tmp: tempfile::TempDir,
    v: PathBuf,
    key: PathBuf,
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(sb) = self.sb.take() {
            self.rt.block_on(sb.shutdown());
        }
    }
}

/// A note id for note `i` of kind `k`.
fn sid(k: u64, i: usize) -> String {
    ssot_vault::vault::id::ulid_from(1_700_000_000_000 + k * 100_000 + i as u64, [7; 10])
}

impl Env {
    /// A vault of `n` clients, `n` experts and `n` projects (`init`'s samples removed), Sheets
    /// enabled at a new sandbox.
    fn start(n: usize) -> Env {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let sb = rt
            .block_on(Sandbox::start(
                "127.0.0.1:0".parse().expect("addr"),
                SandboxConfig::default(),
            ))
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
        for dir in ["Clients", "Experts", "Projects"] {
            for e in std::fs::read_dir(v.join(dir)).expect("dir").flatten() {
                std::fs::remove_file(e.path()).expect("rm sample");
            }
        }
        for i in 0..n {
            std::fs::write(
                v.join(format!("Clients/Client {i:05}.md")),
                format!(
                    "---\ntype: client\nssot_id: {}\ncreated: 2026-11-20\nname: Client {i:05}\nemail: c{i}@example.com\nphone: \"+48 22 {i:03} 00 00\"\ncompany: Company {i} sp. z o.o.\nstatus: active\n---\n",
                    sid(1, i)
                ),
            )
            .expect("write");
            std::fs::write(
                v.join(format!("Experts/Expert {i:05}.md")),
                format!(
                    "---\ntype: expert\nssot_id: {}\ncreated: 2026-11-20\nname: Expert {i:05}\nemail: e{i}@example.com\nskills:\n  - php\n  - ux\nrate: {}\nstatus: available\n---\n",
                    sid(2, i),
                    100 + i % 50
                ),
            )
            .expect("write");
            std::fs::write(
                v.join(format!("Projects/Project {i:05}.md")),
                format!(
                    "---\ntype: project\nssot_id: {}\ncreated: 2026-11-20\nclient: \"[[Client {i:05}]]\"\nstatus: intake\nsummary: Generated project {i}\nbudget: {}\nstart: 2027-01-{:02}\n---\n",
                    sid(3, i),
                    1000 + i,
                    1 + i % 28
                ),
            )
            .expect("write");
        }
        let p = v.join("ssot-vault.toml");
        let text = std::fs::read_to_string(&p).expect("config");
        let start = text.find("[remotes.sheets]").expect("sheets section");
        let end = start + text[start..].find("[remotes.forms]").expect("forms");
        let section = format!(
            "[remotes.sheets]\nenabled = true\nbase_url = \"{}\"\nspreadsheet_id = \"{SEED_SPREADSHEET_ID}\"\nretry_base_ms = 200\nretry_max_ms = 10000\nmax_retries = 20\n\n",
            sb.base_url()
        );
        std::fs::write(&p, format!("{}{section}{}", &text[..start], &text[end..]))
            .expect("write config");
        let key = tmp.path().join("google-key.json");
        let json = google::sandbox_key_file(&format!("{}/token", sb.base_url()));
        std::fs::write(&key, json.to_string()).expect("key file");
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
            key,
        }
    }

    fn sb(&self) -> &Sandbox {
        self.sb.as_ref().expect("sandbox")
    }

    /// Runs `sync`; returns (wall time, peak RSS in bytes).
    fn sync(&self) -> (Duration, u64) {
        let start = Instant::now();
        let mut child = bin()
            .arg("--vault")
            .arg(&self.v)
            .arg("sync")
            .env("GOOGLE_APPLICATION_CREDENTIALS", &self.key)
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
        assert!(status.success(), "sync failed");
        (start.elapsed(), peak)
    }

    /// Requests to the Sheets API (the token endpoint's not counted).
    fn requests(&self) -> u64 {
        self.sb()
            .request_counts()
            .by_endpoint
            .iter()
            .filter(|(k, _)| k.contains(" /v4/spreadsheets"))
            .map(|(_, n)| *n)
            .sum()
    }

    /// Every note carries its row key.
    fn assert_all_synced(&self, n: usize) {
        for dir in ["Clients", "Experts", "Projects"] {
            let with_id = std::fs::read_dir(self.v.join(dir))
                .expect("dir")
                .flatten()
                .filter(|e| {
                    std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains("\nsheets_id: "))
                })
                .count();
            assert_eq!(with_id, n, "{dir}: every note has its row");
        }
    }
}

fn vm_hwm(status: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Syncs `n` notes per tab and then nothing; prints and returns (first sync's requests, the
/// resync's requests, the larger peak).
fn run(n: usize, what: &str) -> (u64, u64, u64) {
    let e = Env::start(n);
    let (t, peak) = e.sync();
    let first = e.requests();
    e.assert_all_synced(n);
    eprintln!(
        "\n{what}: first sync of 3 × {n} rows: {first} requests, {:.1} s, peak {:.1} MB",
        t.as_secs_f64(),
        peak as f64 / 1e6
    );
    let (t2, peak2) = e.sync();
    let second = e.requests() - first;
    eprintln!(
        "{what}: unchanged resync: {second} requests, {:.2} s, peak {:.1} MB",
        t2.as_secs_f64(),
        peak2 as f64 / 1e6
    );
    (first, second, peak.max(peak2))
}

#[divan::bench(sample_count = 1, sample_size = 1)]
fn initial_3000_rows(b: divan::Bencher) {
    b.with_inputs(|| ()).bench_local_values(|()| {
        let (first, second, _) = run(1000, "initial_3000_rows");
        assert!(first <= 4, "{first} requests");
        assert_eq!(second, 1, "unchanged resync: one batchGet");
    });
}

/// The request counts of `initial_3000_rows` at a small size.
#[divan::bench(sample_count = 1, sample_size = 1)]
fn ci_small(b: divan::Bencher) {
    const BUDGET: u64 = 100_000_000;
    b.with_inputs(|| ()).bench_local_values(|()| {
        let (first, second, peak) = run(40, "ci_small");
        assert!(first <= 4, "{first} requests");
        assert_eq!(second, 1, "unchanged resync: one batchGet");
        assert!(peak > 0 && peak < BUDGET, "peak memory {peak} bytes");
    });
}
