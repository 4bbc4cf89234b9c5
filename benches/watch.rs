//! The `watch` daemon's benchmark: the real `ssot-vault watch` on a generated vault of 10,000
//! notes synced with the in-process HubSpot sandbox (no rate limits: the sandbox's are off and
//! the client does not pace itself, `requests_per_10s = 0`).
//!
//! a) Latency: from an expert note saved (its `phone` line rewritten) to the change received by
//!    the sandbox (its contact read through the API every 5 ms): median and 95th percentile over
//!    100 saves, one at a time, with the default `debounce_ms` (250). Target: p95 ≤ 1 s.
//! b) Idle CPU: the daemon's user + system time (`/proc/<pid>/stat`) over 60 s without changes
//!    (the default `poll_seconds`, 60: one poll in the window), twice: right after the saves
//!    (that poll commits and reads what they changed) and the 60 s after (a quiet poll).
//!    Target: ≤ 1 % of a core.
//! c) Memory: the daemon's resident set (`VmRSS`, sampled every 10 s) and peak (`VmHWM`) over a
//!    run of random edits on both sides (a note saved every second, a contact's city changed in
//!    HubSpot every 3 s, HubSpot polled every 5 s). Target: flat, < 100 MB.
//!
//! The saves start once the first sync's writes are older than HubSpot's overlap window (300 s),
//! as in a daemon that has run a while: before, each run reads those 7,500 records again.
//!
//! `cargo bench --features gen --bench watch`. Knobs (environment): `WATCH_BENCH_NOTES` (10000),
//! `WATCH_BENCH_SAVES` (100), `WATCH_BENCH_IDLE_SECONDS` (60), `WATCH_BENCH_EDIT_SECONDS` (600), `WATCH_BENCH_SETTLE_SECONDS` (310),
//! `SSOT_VAULT_BIN` (another build of the binary, e.g. the release one, with `--features gen`;
//! the sandbox is then that binary's `ssot-vault sandbox --no-rate-limit` in a process of its
//! own, so that an emulator built in debug does not slow the runs it answers).
//! Figures are printed to stderr; nothing is asserted (the targets are printed beside them).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use ssot_vault::sandbox::{DEFAULT_HUBSPOT_TOKEN, Sandbox, SandboxConfig};

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn bin() -> Command {
    let path = std::env::var_os("SSOT_VAULT_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_ssot-vault")));
    let mut c = Command::new(path);
    c.env("GIT_AUTHOR_NAME", "Bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "Bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
        .env("HUBSPOT_TOKEN", DEFAULT_HUBSPOT_TOKEN)
        .env("NO_COLOR", "1")
        .env_remove("SSOT_VAULT");
    c
}

fn ok(c: &mut Command, what: &str) {
    let o = c.output().expect(what);
    assert!(
        o.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A small xorshift: the edits are random but the same from run to run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// The `(utime + stime)` clock ticks of a process.
fn cpu_ticks(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the command's name (in parentheses, which may hold spaces): fields 3 on.
    let rest = text.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15: 12 and 13 after the name.
    n(11) + n(12)
}

fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100)
}

/// `VmRSS` and `VmHWM` of a process, in bytes.
fn memory(pid: u32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    (kb("VmRSS:"), kb("VmHWM:"))
}

fn status(v: &Path) -> Value {
    std::fs::read(v.join(".ssot/watch/status.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}

fn wait_for(what: &str, secs: u64, ok: impl FnMut() -> bool) {
    wait_every(what, secs, Duration::from_millis(50), ok);
}

fn wait_every(what: &str, secs: u64, every: Duration, mut ok: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(every);
    }
}

/// The sandbox: in this process, or the binary's `sandbox` command in a process of its own.
enum Sb {
    InProcess(Sandbox),
    Process(Child, String),
}

impl Sb {
    fn start(rt: &tokio::runtime::Runtime) -> Sb {
        if std::env::var_os("SSOT_VAULT_BIN").is_none() {
            return Sb::InProcess(
                rt.block_on(Sandbox::start(
                    "127.0.0.1:0".parse().expect("addr"),
                    SandboxConfig {
                        hubspot_rate_limit: None,
                        search_rate_limit_per_sec: None,
                        ..SandboxConfig::default()
                    },
                ))
                .expect("sandbox"),
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = bin()
            .args(["sandbox", "--no-rate-limit", "--addr"])
            .arg(format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sandbox");
        let base = format!("http://127.0.0.1:{port}");
        let health = format!("{base}/__sandbox/health");
        let http = reqwest::Client::new();
        wait_for("the sandbox", 30, || {
            rt.block_on(http.get(&health).send())
                .is_ok_and(|r| r.status().is_success())
        });
        Sb::Process(child, base)
    }

    fn base_url(&self) -> String {
        match self {
            Sb::InProcess(sb) => sb.base_url(),
            Sb::Process(_, base) => base.clone(),
        }
    }

    fn stop(self, rt: &tokio::runtime::Runtime) {
        match self {
            Sb::InProcess(sb) => rt.block_on(sb.shutdown()),
            Sb::Process(mut child, _) => {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

fn start(v: &Path, log: &Path) -> Child {
    bin()
        .arg("--vault")
        .arg(v)
        .arg("watch")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log"))
        .spawn()
        .expect("start watch")
}

fn stop(mut daemon: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    let end = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(Some(s)) = daemon.try_wait() {
            eprintln!("watch: stopped by SIGTERM, {s}");
            return;
        }
        if Instant::now() > end {
            let _ = daemon.kill();
            eprintln!("watch: did not stop within 120 s, killed");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sets the note's `key:` line to `value`.
fn set_line(path: &Path, key: &str, value: &str) {
    let text = std::fs::read_to_string(path).expect("note");
    let prefix = format!("{key}: ");
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with(&prefix) {
                format!("{prefix}{value}")
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(path, out.join("\n") + "\n").expect("save");
}

fn line_value(path: &Path, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let prefix = format!("{key}: ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let notes = knob("WATCH_BENCH_NOTES", 10_000);
    let saves = knob("WATCH_BENCH_SAVES", 100) as usize;
    let idle = knob("WATCH_BENCH_IDLE_SECONDS", 60);
    let edit_secs = knob("WATCH_BENCH_EDIT_SECONDS", 600);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sb = Sb::start(&rt);
    let base = sb.base_url();
    let tmp = tempfile::tempdir().expect("tmp");
    let v = tmp.path().join("vault");
    ok(
        bin()
            .args(["generate", "--notes", &notes.to_string(), "--git"])
            .arg(&v),
        "generate",
    );
    let cfg = v.join("ssot-vault.toml");
    let text = std::fs::read_to_string(&cfg).expect("config");
    let text = text.replacen(
        "enabled = false\nbase_url = \"https://api.hubapi.com\"",
        &format!("enabled = true\nbase_url = \"{base}\"\nrequests_per_10s = 0\npoll_seconds = 60"),
        1,
    );
    std::fs::write(&cfg, text).expect("config");
    ok(bin().arg("--vault").arg(&v).arg("commit"), "commit");
    let t = Instant::now();
    ok(bin().arg("--vault").arg(&v).arg("sync"), "first sync");
    let synced = Instant::now();
    eprintln!(
        "setup: {notes} generated notes, first sync {:.1} s; binary {}; sandbox {}",
        t.elapsed().as_secs_f64(),
        std::env::var("SSOT_VAULT_BIN").unwrap_or_else(|_| "of this build".into()),
        match sb {
            Sb::InProcess(_) => "in this process",
            Sb::Process(..) => "in a process of its own",
        }
    );
    // The experts (HubSpot contacts) and their ids.
    let mut experts: Vec<(PathBuf, String)> = std::fs::read_dir(v.join("Experts"))
        .expect("experts")
        .flatten()
        .map(|e| e.path())
        .filter_map(|p| line_value(&p, "hubspot_id").map(|id| (p, id)))
        .collect();
    experts.sort();
    assert!(experts.len() >= saves.min(100), "{} experts", experts.len());
    let http = reqwest::Client::new();
    let phone_of = |id: &str| -> Option<String> {
        rt.block_on(async {
            let r = http
                .get(format!(
                    "{base}/crm/v3/objects/contacts/{id}?properties=phone"
                ))
                .bearer_auth(DEFAULT_HUBSPOT_TOKEN)
                .send()
                .await
                .ok()?;
            let v: Value = r.json().await.ok()?;
            v["properties"]["phone"].as_str().map(str::to_string)
        })
    };

    let log = tmp.path().join("watch.log");
    let daemon = start(&v, &log);
    let pid = daemon.id();
    let t = Instant::now();
    wait_for("the first poll", 600, || {
        status(&v)["poll_runs"].as_u64() >= Some(1)
    });
    eprintln!(
        "watch: started, first poll (reading every note) done in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // A daemon that has run a while: the first sync's writes older than HubSpot's overlap window
    // (`overlap_seconds`, 300), which every run's read of the service's changes reads again
    // (the 7,500 records of the first sync, at the client's pace of 5 searches a second).
    let settle = knob("WATCH_BENCH_SETTLE_SECONDS", 310);
    let since = synced.elapsed().as_secs();
    if since < settle {
        eprintln!(
            "waiting {} s: the first sync's writes out of the overlap window",
            settle - since
        );
        std::thread::sleep(Duration::from_secs(settle - since));
    }
    // a) Save → received.
    let mut lat = Vec::with_capacity(saves);
    for k in 0..saves {
        let (path, id) = &experts[k % experts.len()];
        let phone = format!("+48 700 {:03} {:03}", k / 1000, k % 1000);
        set_line(path, "phone", &format!("\"{phone}\""));
        let t = Instant::now();
        wait_every("the phone in HubSpot", 60, Duration::from_millis(5), || {
            phone_of(id).as_deref() == Some(phone.as_str())
        });
        lat.push(t.elapsed());
        std::thread::sleep(Duration::from_millis(200));
    }
    lat.sort();
    let read = status(&v)["services"]["hubspot"]["notes_read"].clone();
    eprintln!(
        "a) save → received by the sandbox, {saves} saves (debounce_ms {}): median {:.0} ms, p95 {:.0} ms, max {:.0} ms (target p95 ≤ 1000 ms); the last push run read {read} notes",
        ssot_vault::config::WatchSection::default().debounce_ms,
        percentile(&lat, 0.5).as_secs_f64() * 1000.0,
        percentile(&lat, 0.95).as_secs_f64() * 1000.0,
        lat.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
    );

    // b) Idle CPU: two windows of `idle` seconds without changes. The first starts 3 s after
    //    the last save: its poll is the first since the saves, which commits and reads what
    //    they changed. The second follows: a vault left alone, its polls quiet.
    std::thread::sleep(Duration::from_secs(3));
    let tck = clock_ticks_per_second();
    for window in ["right after the saves", "then"] {
        let before = cpu_ticks(pid);
        let t = Instant::now();
        std::thread::sleep(Duration::from_secs(idle));
        let used = cpu_ticks(pid).saturating_sub(before);
        let secs = t.elapsed().as_secs_f64();
        let polls = status(&v)["poll_runs"].as_u64().unwrap_or(0);
        eprintln!(
            "b) idle CPU over {secs:.0} s without changes, {window}: {:.2} % of a core ({used} ticks at {tck}/s; poll runs so far {polls}) (target ≤ 1 %)",
            used as f64 / tck as f64 / secs * 100.0
        );
    }
    stop(daemon);

    // c) Memory over random edits on both sides, HubSpot polled every 5 s.
    let text = std::fs::read_to_string(&cfg).expect("config");
    std::fs::write(
        &cfg,
        text.replacen("poll_seconds = 60", "poll_seconds = 5", 1),
    )
    .expect("cfg");
    ok(bin().arg("--vault").arg(&v).arg("commit"), "commit");
    let daemon = start(&v, &log);
    let pid = daemon.id();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let t = Instant::now();
    let mut samples: Vec<(u64, u64, u64)> = Vec::new();
    let mut k = 0u64;
    while t.elapsed() < Duration::from_secs(edit_secs) {
        let (path, _) = &experts[rng.below(experts.len())];
        set_line(
            path,
            "phone",
            &format!("\"+48 701 {:03} {:03}\"", k / 1000 % 1000, k % 1000),
        );
        if k.is_multiple_of(3) {
            let (_, other) = &experts[rng.below(experts.len())];
            let city = format!("Town {}", rng.below(1000));
            rt.block_on(async {
                let _ = http
                    .patch(format!("{base}/crm/v3/objects/contacts/{other}"))
                    .bearer_auth(DEFAULT_HUBSPOT_TOKEN)
                    .json(&json!({"properties": {"city": city}}))
                    .send()
                    .await;
            });
        }
        if k > 0 && k.is_multiple_of(10) {
            let (rss, hwm) = memory(pid);
            samples.push((t.elapsed().as_secs(), rss, hwm));
        }
        k += 1;
        std::thread::sleep(Duration::from_secs(1));
    }
    let (rss, hwm) = memory(pid);
    samples.push((t.elapsed().as_secs(), rss, hwm));
    let st = status(&v);
    let mb = |b: u64| b as f64 / 1e6;
    let series: Vec<String> = samples
        .iter()
        .step_by((samples.len() / 12).max(1))
        .map(|(s, r, _)| format!("{s}s {:.1}", mb(*r)))
        .collect();
    let rss_min = samples
        .iter()
        .map(|s| s.1)
        .filter(|&r| r > 0)
        .min()
        .unwrap_or(0);
    let rss_max = samples.iter().map(|s| s.1).max().unwrap_or(0);
    eprintln!(
        "c) memory over {:.0} s of random edits ({k} notes saved, {} contacts changed in HubSpot; {} push runs, {} poll runs): VmRSS MB {}; min {:.1}, max {:.1}, last {:.1}; VmHWM {:.1} MB (target flat, < 100 MB)",
        t.elapsed().as_secs_f64(),
        k.div_ceil(3),
        st["push_runs"],
        st["poll_runs"],
        series.join(", "),
        mb(rss_min),
        mb(rss_max),
        mb(rss),
        mb(hwm)
    );
    stop(daemon);
    sb.stop(&rt);
}
