//! Google benchmarks: the real `ssot-vault` binary against the in-process Google emulators, at
//! their real quotas.
//!
//! - `initial_3000_rows`: Sheets, three tabs × 1,000 rows (the seeded spreadsheet's `Clients`,
//!   `Experts`, `Projects` with their header rows): a first sync of a vault of 3,000 notes into
//!   empty tabs (target ≤ 4 requests: the read of every tab and one append per tab), wall time,
//!   peak memory (VmHWM of the process); then an unchanged resync (target: 1 request, the one
//!   `values.batchGet`).
//! - `forms_poll`: Forms, the intake form and the helpdesk form: 200 intake responses and 50
//!   helpdesk messages taken by a first sync, then 10 polls with nothing new (target: 1 request
//!   per form per poll, its `responses.list`), wall time per poll.
//!
//! `cargo bench --bench google`; figures are printed to stderr and asserted.
//!
//! `ci_small`: the reduced run (`cargo test --bench google -- ci_small`): 3 × 40 rows, and 20
//! responses and 5 messages polled 3 times; the same request counts asserted.

use std::path::PathBuf;
use std::time::Duration;

use ssot_vault::sandbox::forms::{HELPDESK_FORM_ID, INTAKE_FORM_ID};
use ssot_vault::sandbox::sheets::SEED_SPREADSHEET_ID;
use ssot_vault::sandbox::{Sandbox, SandboxConfig, google};

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
    /// A new sandbox at its real quotas and a vault from `init` (its samples kept), the
    /// sandbox's service-account key beside it.
    fn bare() -> Env {
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
        let key = tmp.path().join("google-key.json");
        let json = google::sandbox_key_file(&format!("{}/token", sb.base_url()));
        std::fs::write(&key, json.to_string()).expect("key file");
        Env {
            rt,
            sb: Some(sb),
            _tmp: tmp,
            v,
            key,
        }
    }

    /// Puts `section` in place of the `[remotes.<remote>]` section (which ends where `next`
    /// starts, or at the end) and commits the vault.
    fn enable(&self, remote: &str, next: Option<&str>, section: &str) {
        let p = self.v.join("ssot-vault.toml");
        let text = std::fs::read_to_string(&p).expect("config");
        let start = text
            .find(&format!("[remotes.{remote}]"))
            .expect("the section");
        let end = match next {
            Some(next) => start + text[start..].find(next).expect("the next section"),
            None => text.len(),
        };
        std::fs::write(&p, format!("{}{section}\n{}", &text[..start], &text[end..]))
            .expect("write config");
        assert!(
            bin()
                .arg("--vault")
                .arg(&self.v)
                .arg("commit")
                .output()
                .expect("commit")
                .status
                .success()
        );
    }

    /// A vault of `n` clients, `n` experts and `n` projects (`init`'s samples removed), Sheets
    /// enabled at a new sandbox.
    fn start(n: usize) -> Env {
        let e = Env::bare();
        let v = &e.v;
        for dir in ["Clients", "Experts", "Projects"] {
            for f in std::fs::read_dir(v.join(dir)).expect("dir").flatten() {
                std::fs::remove_file(f.path()).expect("rm sample");
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
        e.enable(
            "sheets",
            Some("[remotes.forms]"),
            &format!(
                "[remotes.sheets]\nenabled = true\nbase_url = \"{}\"\nspreadsheet_id = \"{SEED_SPREADSHEET_ID}\"\nretry_base_ms = 200\nretry_max_ms = 10000\nmax_retries = 20\n",
                e.sb().base_url()
            ),
        );
        e
    }

    /// The template's vault with the intake and helpdesk forms enabled, `intakes` responses to
    /// the first and `messages` helpdesk messages about the sample project submitted.
    fn forms(intakes: usize, messages: usize) -> Env {
        let e = Env::bare();
        e.enable(
            "forms",
            None,
            &format!(
                "[remotes.forms]\nenabled = true\nbase_url = \"{}\"\nintake_form = \"{INTAKE_FORM_ID}\"\nhelpdesk_form = \"{HELPDESK_FORM_ID}\"\n",
                e.sb().base_url()
            ),
        );
        ssot_vault::connectors::install_crypto();
        let http = reqwest::Client::new();
        let base = e.sb().base_url().to_string();
        e.rt.block_on(async {
            let submit = |form: &str, answers: serde_json::Value| {
                http.post(format!("{base}/__sandbox/forms/{form}/responses"))
                    .json(&serde_json::json!({ "answers": answers }))
                    .send()
            };
            for i in 0..intakes {
                let r = submit(
                    INTAKE_FORM_ID,
                    serde_json::json!({
                        "Contact name": format!("Person {i:05}"),
                        "Email": format!("p{i}@example.com"),
                        "Company": format!("Company {i}"),
                        "What do you need?": "A website",
                        "Budget": "12000",
                    }),
                )
                .await
                .expect("submit");
                assert!(r.status().is_success(), "submit: {}", r.status());
            }
            for i in 0..messages {
                let r = submit(
                    HELPDESK_FORM_ID,
                    serde_json::json!({
                        "Project": "Złoty Kłos online shop",
                        "Who is writing?": if i % 2 == 0 { "client" } else { "expert" },
                        "Message": format!("Message {i}"),
                    }),
                )
                .await
                .expect("submit");
                assert!(r.status().is_success(), "submit: {}", r.status());
            }
        });
        e
    }

    fn sb(&self) -> &Sandbox {
        self.sb.as_ref().expect("sandbox")
    }

    /// Runs `sync`; returns (wall time, peak RSS in bytes).
    fn sync(&self) -> (Duration, u64) {
        measured(
            bin()
                .arg("--vault")
                .arg(&self.v)
                .arg("sync")
                .env("GOOGLE_APPLICATION_CREDENTIALS", &self.key),
        )
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

    /// Requests to the Forms API (the token endpoint's not counted).
    fn forms_requests(&self) -> u64 {
        self.sb()
            .request_counts()
            .by_endpoint
            .iter()
            .filter(|(k, _)| k.contains(" /v1/forms"))
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

/// Takes `intakes` responses and `messages` helpdesk messages, then polls `polls` times with
/// nothing new; prints and returns the requests of each poll.
fn run_forms(intakes: usize, messages: usize, polls: usize, what: &str) -> Vec<u64> {
    let e = Env::forms(intakes, messages);
    let (t, peak) = e.sync();
    let first = e.forms_requests();
    let notes = std::fs::read_dir(e.v.join("Intake"))
        .expect("Intake")
        .flatten()
        .filter(|f| {
            std::fs::read_to_string(f.path()).is_ok_and(|t| t.contains("\nform_response_id: "))
        })
        .count();
    assert_eq!(notes, intakes, "one intake note per response");
    eprintln!(
        "\n{what}: first sync of {intakes} responses and {messages} helpdesk messages: {first} requests, {:.1} s, peak {:.1} MB",
        t.as_secs_f64(),
        peak as f64 / 1e6
    );
    let mut per_poll = Vec::new();
    let mut before = first;
    let mut times = Vec::new();
    for _ in 0..polls {
        let (t, _) = e.sync();
        let now = e.forms_requests();
        per_poll.push(now - before);
        before = now;
        times.push(t.as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    eprintln!(
        "{what}: {polls} polls with nothing new: requests {per_poll:?} (2 forms), median {:.2} s a poll",
        times[times.len() / 2]
    );
    per_poll
}

#[divan::bench(sample_count = 1, sample_size = 1)]
fn forms_poll(b: divan::Bencher) {
    b.with_inputs(|| ()).bench_local_values(|()| {
        let polls = run_forms(200, 50, 10, "forms_poll");
        assert!(
            polls.iter().all(|&n| n == 2),
            "one list per form a poll: {polls:?}"
        );
    });
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
        let polls = run_forms(20, 5, 3, "ci_small");
        assert!(
            polls.iter().all(|&n| n == 2),
            "one list per form a poll: {polls:?}"
        );
    });
}
