//! `ssot-vault watch` end to end: the real binary as a daemon on a vault synced with the
//! in-process HubSpot emulator, short intervals in its configuration.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use ssot_vault::sandbox::{DEFAULT_HUBSPOT_TOKEN, FaultConfig};

use crate::hs_env::{EXPERT, Env, PROJECT, git, out};

pub(crate) fn status(v: &Path) -> Option<Value> {
    let text = std::fs::read(v.join(".ssot/watch/status.json")).ok()?;
    serde_json::from_slice(&text).ok()
}

pub(crate) fn runs(v: &Path, key: &str) -> u64 {
    status(v).and_then(|s| s[key].as_u64()).unwrap_or(0)
}

/// Waits (bounded) until `ok` holds.
pub(crate) async fn wait_for(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts the daemon, its log (at `info`) in `log`.
pub(crate) fn start(v: &Path, log: &Path) -> Child {
    start_with(v, log, "warn,ssot_vault::watch=info")
}

/// Starts the daemon, its log (`RUST_LOG=rust_log`) in `log`.
fn start_with(v: &Path, log: &Path, rust_log: &str) -> Child {
    start_env(v, log, rust_log, &[])
}

/// Starts the daemon with more environment variables (other services' credentials), its log
/// (`RUST_LOG=rust_log`) in `log`.
fn start_env(v: &Path, log: &Path, rust_log: &str, envs: &[(&str, &str)]) -> Child {
    let log = std::fs::File::create(log).expect("log file");
    Command::new(assert_cmd::cargo::cargo_bin("ssot-vault"))
        .arg("--vault")
        .arg(v)
        .arg("watch")
        .env("HUBSPOT_TOKEN", DEFAULT_HUBSPOT_TOKEN)
        .env("GIT_AUTHOR_NAME", "Test User")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test User")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("NO_COLOR", "1")
        .env_remove("SSOT_VAULT")
        .env("RUST_LOG", rust_log)
        .envs(envs.iter().copied())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start watch")
}

/// Edits a frontmatter line of a note as an editor saving it would.
fn edit(v: &Path, rel: &str, from: &str, to: &str) {
    let p = v.join(rel);
    let text = std::fs::read_to_string(&p).expect("note");
    assert!(text.contains(from), "{rel} has {from}");
    std::fs::write(&p, text.replacen(from, to, 1)).expect("save");
}

/// Sets `[watch] debounce_ms` (and `extra` lines of `[watch]`) and commits the configuration.
fn watch_settings(v: &Path, debounce_ms: u64, extra: &str) {
    let cfg = v.join("ssot-vault.toml");
    let text = std::fs::read_to_string(&cfg).expect("config");
    assert!(text.contains("\n[watch]\ndebounce_ms = 250\n"), "{text}");
    let text = text.replace(
        "\n[watch]\ndebounce_ms = 250\n",
        &format!("\n[watch]\ndebounce_ms = {debounce_ms}\n{extra}"),
    );
    std::fs::write(&cfg, text).expect("config");
    git(v, &["commit", "-qam", "Watch settings"]);
}

/// The notes the last run of `service` read, from the status file.
fn notes_read(v: &Path, service: &str) -> Option<u64> {
    status(v).and_then(|s| s["services"][service]["notes_read"].as_u64())
}

/// Stops the daemon with SIGTERM and waits (bounded) for its exit.
/// The daemon stopped by SIGTERM: it exits 0 (else `log` is shown) with everything committed.
pub(crate) async fn stop_all_committed(daemon: &mut Child, v: &Path, log: &str) {
    let code = terminate(daemon).await;
    assert_eq!(code.code(), Some(0), "{log}");
    let status = git(v, &["status", "--porcelain"]);
    assert!(status.trim().is_empty(), "everything committed: {status}");
}

pub(crate) async fn terminate(daemon: &mut Child) -> std::process::ExitStatus {
    let k = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()
        .expect("kill");
    assert!(k.success());
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(s) = daemon.try_wait().expect("wait") {
            return s;
        }
        assert!(Instant::now() < end, "the daemon did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_save_is_pushed_reading_only_the_changed_notes() {
    // Polled once, at start: the push run's figures stay in the status file.
    let e = Env::new("poll_seconds = 3600").await;
    watch_settings(&e.v, 200, "");
    // A person's own notes beside the synced ones: 300 files no push run needs to read.
    std::fs::create_dir_all(e.v.join("Journal")).expect("folder");
    for i in 0..300 {
        std::fs::write(
            e.v.join(format!("Journal/day {i}.md")),
            format!("---\ntitle: day {i}\n---\n\nNotes of day {i}.\n"),
        )
        .expect("note");
    }
    git(&e.v, &["add", "-A"]);
    git(&e.v, &["commit", "-qm", "Journal"]);

    let log_path = e._tmp.path().join("watch.log");
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    // Everything logged, the libraries' debug output too: the token is never in it.
    let mut daemon = start_with(&e.v, &log_path, "debug");
    wait_for("the first poll", 30, || {
        runs(&e.v, "poll_runs") >= 1 && e.live("contacts").len() == 3
    })
    .await;
    let first = notes_read(&e.v, "hubspot").expect("notes read");
    assert!(first > 300, "the first run reads every note: {first}");
    let sid = e.prop(EXPERT, "ssot_id").expect("ssot_id");

    edit(&e.v, EXPERT, "+48 601 234 567", "+48 601 000 111");
    wait_for("the phone in HubSpot", 15, || {
        e.record_by_ssot("contacts", &sid)["properties"]["phone"] == json!("+48 601 000 111")
    })
    .await;
    wait_for("the push run counted", 5, || runs(&e.v, "push_runs") == 1).await;
    // The saved note, and the few the first run wrote (their ids), read again: not the vault.
    let read = notes_read(&e.v, "hubspot").expect("notes read");
    assert!(
        (1..=5).contains(&read),
        "the push run read {read} notes\n{}",
        log()
    );

    // A second save: only that note is read.
    edit(&e.v, EXPERT, "+48 601 000 111", "+48 601 000 222");
    wait_for("the second phone in HubSpot", 15, || {
        e.record_by_ssot("contacts", &sid)["properties"]["phone"] == json!("+48 601 000 222")
    })
    .await;
    wait_for("the second push run counted", 5, || {
        runs(&e.v, "push_runs") == 2
    })
    .await;
    assert_eq!(notes_read(&e.v, "hubspot"), Some(1), "{}", log());
    let o = e.run(&["watch", "--status"]).await;
    let shown = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(shown.contains(" runs (the last read 1 notes)"), "{shown}");
    let code = terminate(&mut daemon).await;
    assert_eq!(code.code(), Some(0), "{}", log());

    // The log file under `.ssot/logs/` holds what stderr showed, and no secret.
    let file = std::fs::read_to_string(e.v.join(".ssot/logs/watch.log")).expect("log file");
    for text in [&file, &log()] {
        assert!(
            text.contains("watching") && text.contains("notes_read=1"),
            "{text}"
        );
        assert!(
            text.contains("ssot_vault::cli::watch"),
            "the runs' summaries: {text}"
        );
        assert!(
            !text.contains(DEFAULT_HUBSPOT_TOKEN),
            "the token is logged: {text}"
        );
    }
    assert!(!file.contains("\u{1b}["), "no colour codes in the file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_note_reaches_hubspot_and_the_daemons_own_writes_start_no_run() {
    let e = Env::new("poll_seconds = 1").await;
    let cfg = e.v.join("ssot-vault.toml");
    let text = std::fs::read_to_string(&cfg).expect("config");
    assert!(text.contains("\n[watch]\ndebounce_ms = 250\n"), "{text}");
    let text = text.replace(
        "\n[watch]\ndebounce_ms = 250\n",
        "\n[watch]\ndebounce_ms = 200\n",
    );
    std::fs::write(&cfg, text).expect("config");
    git(&e.v, &["commit", "-qam", "Watch settings"]);

    let log_path = e._tmp.path().join("watch.log");
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let mut daemon = start(&e.v, &log_path);
    let pid = daemon.id();
    // The first poll links every note to its record (writing the ids into the notes).
    wait_for("the first poll", 20, || {
        runs(&e.v, "poll_runs") >= 1 && e.live("contacts").len() == 3
    })
    .await;
    let sid = e.prop(EXPERT, "ssot_id").expect("ssot_id");

    // A person saves a note: it reaches HubSpot within seconds, in one push run.
    edit(&e.v, EXPERT, "+48 601 234 567", "+48 601 000 111");
    let t = Instant::now();
    wait_for("the phone in HubSpot", 10, || {
        e.record_by_ssot("contacts", &sid)["properties"]["phone"] == json!("+48 601 000 111")
    })
    .await;
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    wait_for("the push run counted", 5, || runs(&e.v, "push_runs") == 1).await;

    // Someone edits the record in HubSpot: a poll writes it into the note (the daemon's own
    // write), which starts no push run.
    let id = e.prop(EXPERT, "hubspot_id").expect("hubspot_id");
    e.patch("contacts", &id, json!({"properties": {"city": "Gdańsk"}}))
        .await;
    let polls = runs(&e.v, "poll_runs");
    wait_for("the pull into the note", 10, || {
        e.prop(EXPERT, "location").as_deref() == Some("Gdańsk")
    })
    .await;
    // Several polls and debounces later, still the one push run.
    wait_for("more polls", 10, || runs(&e.v, "poll_runs") >= polls + 3).await;
    assert_eq!(runs(&e.v, "push_runs"), 1, "{}", log());

    // A second daemon, and a manual sync, are refused with the daemon's pid.
    for args in [&["watch"][..], &["sync"][..]] {
        let o = e.run(args).await;
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", out(&o));
        let msg = out(&o);
        assert!(
            msg.contains("`ssot-vault watch`") && msg.contains(&format!("pid {pid}")),
            "{args:?}: {msg}"
        );
        assert!(
            msg.contains("the `watch` daemon syncs this vault on its own"),
            "the hint names the daemon: {msg}"
        );
    }
    // The other commands that write take the vault's lock between the daemon's runs: a `set`
    // works while the daemon runs (tried again while a run holds the lock), and its edit is
    // pushed by the daemon.
    let title = std::path::Path::new(EXPERT)
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("title")
        .to_string();
    let mut tries = 0;
    loop {
        let o = e.run(&["set", &title, "phone=+48 601 222 333"]).await;
        if o.status.success() {
            break;
        }
        tries += 1;
        assert!(
            tries < 50 && out(&o).contains("is busy"),
            "set while the daemon runs: {}",
            out(&o)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for("the set's phone in HubSpot", 10, || {
        e.record_by_ssot("contacts", &sid)["properties"]["phone"] == json!("+48 601 222 333")
    })
    .await;
    let o = e.run(&["watch", "--status"]).await;
    assert!(o.status.success(), "{}", out(&o));
    let shown = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(shown.contains(&format!("running (pid {pid}")), "{shown}");
    assert!(shown.contains("hubspot: last run "), "{shown}");
    assert!(shown.contains(": ok; next poll "), "{shown}");

    // SIGTERM: the daemon ends its run and exits 0, its state saved and committed.
    let k = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(k.success());
    let end = Instant::now() + Duration::from_secs(15);
    let code = loop {
        if let Some(s) = daemon.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < end, "the daemon did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(code.code(), Some(0), "{}", log());
    let st = status(&e.v).expect("status");
    assert_eq!(st["running"], json!(false), "{st}");
    assert!(!e.v.join(".ssot/lock").exists(), "the lock is let go");
    assert!(
        !e.v.join(".ssot/watch.lock").exists(),
        "the daemon's lock is let go"
    );
    assert!(
        git(&e.v, &["status", "--porcelain"]).trim().is_empty(),
        "everything committed: {}",
        git(&e.v, &["status", "--porcelain"])
    );
    // A sync now is free and has nothing to do.
    let o = e.sync().await;
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("0 created and 0 updated"),
        "{}",
        out(&o)
    );
}

/// The polls of an idle vault are quiet (no pending-edit commit, the last read reused), and
/// that never sends a note's old value back: a change pulled from HubSpot stays, a file added
/// meanwhile is committed by the next poll, which is not quiet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_polls_are_quiet_and_never_send_back_what_they_pulled() {
    let e = Env::new("poll_seconds = 1").await;
    watch_settings(&e.v, 200, "");
    let log_path = e._tmp.path().join("watch.log");
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let quiet = || log().matches("quiet poll").count();
    let mut daemon = start(&e.v, &log_path);
    wait_for("the first poll", 20, || {
        runs(&e.v, "poll_runs") >= 1 && e.live("contacts").len() == 3
    })
    .await;
    // The first poll wrote the ids into the notes (events): the next is not quiet, the
    // ones after are.
    wait_for("quiet polls", 20, || quiet() >= 2).await;
    assert_eq!(notes_read(&e.v, "hubspot"), Some(0), "{}", log());

    // Someone edits the record in HubSpot: a poll writes it into the note, and the quiet polls
    // after it keep it, in the note and in HubSpot.
    let sid = e.prop(EXPERT, "ssot_id").expect("ssot_id");
    let id = e.prop(EXPERT, "hubspot_id").expect("hubspot_id");
    e.patch("contacts", &id, json!({"properties": {"city": "Gdańsk"}}))
        .await;
    wait_for("the pull into the note", 10, || {
        e.prop(EXPERT, "location").as_deref() == Some("Gdańsk")
    })
    .await;
    let before = quiet();
    wait_for("quiet polls after the pull", 20, || quiet() >= before + 3).await;
    assert_eq!(e.prop(EXPERT, "location").as_deref(), Some("Gdańsk"));
    assert_eq!(
        e.record_by_ssot("contacts", &sid)["properties"]["city"],
        json!("Gdańsk"),
        "{}",
        log()
    );
    assert_eq!(runs(&e.v, "push_runs"), 0, "{}", log());

    // A file that is not a note, added while idle: the next poll is not quiet and commits it
    // as the vault's edit.
    std::fs::create_dir_all(e.v.join("Attachments")).expect("folder");
    std::fs::write(e.v.join("Attachments/brief.pdf"), b"%PDF-1.4 brief").expect("file");
    wait_for("the file committed", 20, || {
        git(
            &e.v,
            &["log", "--format=%B", "-1", "--", "Attachments/brief.pdf"],
        )
        .contains("Ssot-Source: vault")
    })
    .await;
    stop_all_committed(&mut daemon, &e.v, &log()).await;
}

/// `[workflow] auto_activate` (the template's): the last credentialing task ticked in the note
/// while the daemon runs makes the project active, in a commit of its own with its transition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_credentialing_task_ticked_makes_the_project_active() {
    let e = Env::new("poll_seconds = 3600").await;
    watch_settings(&e.v, 200, "");
    let p = e.v.join(PROJECT);
    let text = std::fs::read_to_string(&p).expect("project").replace(
        "status: matching\n",
        "status: credentialing\nexpert: \"[[Anna Nowak]]\"\nexpert_status: accepted\n",
    ) + "\n## Credentialing\n\n- [x] NDA signed\n- [ ] Contract signed\n";
    std::fs::write(&p, text).expect("write");
    git(&e.v, &["commit", "-qam", "Credentialing"]);
    assert!(
        std::fs::read_to_string(e.v.join("ssot-vault.toml"))
            .expect("config")
            .contains("\nauto_activate = true\n"),
        "the template turns it on"
    );
    let log_path = e._tmp.path().join("watch.log");
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let mut daemon = start(&e.v, &log_path);
    wait_for("the first poll", 20, || runs(&e.v, "poll_runs") >= 1).await;
    assert_eq!(e.prop(PROJECT, "status").as_deref(), Some("credentialing"));

    edit(
        &e.v,
        PROJECT,
        "- [ ] Contract signed",
        "- [x] Contract signed",
    );
    wait_for("the project active", 20, || {
        e.prop(PROJECT, "status").as_deref() == Some("active")
    })
    .await;
    wait_for("its commit", 10, || {
        git(&e.v, &["log", "--format=%B", "-5"]).contains("Ssot-Transition: credentialing→active")
    })
    .await;
    stop_all_committed(&mut daemon, &e.v, &log()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_run_lets_the_run_finish_and_loses_nothing() {
    let e = Env::new("poll_seconds = 3600").await;
    watch_settings(&e.v, 100, "");
    let log_path = e._tmp.path().join("watch.log");
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let mut daemon = start(&e.v, &log_path);
    wait_for("the first poll", 30, || {
        runs(&e.v, "poll_runs") >= 1 && e.live("contacts").len() == 3
    })
    .await;
    let sid = e.prop(EXPERT, "ssot_id").expect("ssot_id");
    // Every request of the service slow: the push run takes seconds.
    e.sb.set_faults(FaultConfig {
        latency_ms: 400,
        ..FaultConfig::default()
    });
    edit(&e.v, EXPERT, "+48 601 234 567", "+48 601 000 333");
    wait_for("the push run started", 15, || {
        log().contains("pushing changed notes")
    })
    .await;
    // The run is talking to the service (its first request is still waiting) when the signal
    // comes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        log().matches("run done").count(),
        1,
        "the push run ended before the signal: {}",
        log()
    );
    let code = terminate(&mut daemon).await;
    assert_eq!(code.code(), Some(0), "{}", log());
    let text = log();
    assert_eq!(
        text.matches("run done").count(),
        2,
        "the push run finished: {text}"
    );
    let done = text.rfind("run done").expect("the run finished");
    let stop = text.find("stopping").expect("stopped");
    assert!(done < stop, "the run ended before the stop: {text}");
    // The change reached HubSpot, the state is saved (no interrupted run), all is committed.
    assert_eq!(
        e.record_by_ssot("contacts", &sid)["properties"]["phone"],
        json!("+48 601 000 333")
    );
    assert!(
        git(&e.v, &["status", "--porcelain"]).trim().is_empty(),
        "everything committed: {}",
        git(&e.v, &["status", "--porcelain"])
    );
    assert_eq!(
        ssot_vault::sync::journal::interrupted(&e.v, "hubspot"),
        None,
        "the run ended whole"
    );
    e.sb.set_faults(FaultConfig::default());
    let o = e.sync().await;
    let shown = out(&o);
    assert!(
        shown.contains("0 created and 0 updated") && !shown.contains("interrupted"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_mid_run_the_next_start_converges() {
    let e = Env::new("poll_seconds = 3600").await;
    watch_settings(&e.v, 100, "");
    let log_path = e._tmp.path().join("watch.log");
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let mut daemon = start(&e.v, &log_path);
    let pid = daemon.id();
    wait_for("the first poll", 30, || {
        runs(&e.v, "poll_runs") >= 1 && e.live("contacts").len() == 3
    })
    .await;
    let sid = e.prop(EXPERT, "ssot_id").expect("ssot_id");
    // HubSpot makes the records but its answers are lost: the run retries, the records made.
    e.sb.set_faults(FaultConfig {
        drop_next: 1000,
        drop_after_handling: true,
        path_prefix: Some("/crm/v3/objects/contacts/batch".into()),
        ..FaultConfig::default()
    });
    // The new client first, while the daemon is idle (its run is the one killed below), then
    // a person's edit: whichever run takes it, the next start carries it.
    let mut tries = 0;
    loop {
        let o = e
            .run(&["new", "client", "Acme", "--set", "email=biuro@acme.pl"])
            .await;
        if o.status.success() {
            break;
        }
        tries += 1;
        assert!(tries < 50 && out(&o).contains("is busy"), "{}", out(&o));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    edit(&e.v, EXPERT, "+48 601 234 567", "+48 601 000 444");
    let acme = "Clients/Acme.md";
    wait_for("the client made in HubSpot", 30, || {
        e.live("contacts").len() == 4
    })
    .await;
    // Killed while the run waits for the answers: the note has no id yet.
    daemon.kill().expect("kill -9");
    let _ = daemon.wait();
    assert_eq!(e.prop(acme, "hubspot_id"), None, "{}", log());
    e.sb.set_faults(FaultConfig::default());

    // `doctor` tells the lock left behind from a running daemon.
    let o = e.run(&["doctor"]).await;
    let shown = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        shown.contains("watch: stale lock") && shown.contains(&format!("pid {pid}")),
        "{shown}"
    );

    // The next start takes the locks over and repairs the run: one record per note, the
    // edits in HubSpot, the ids in the notes, everything committed.
    let log2_path = e._tmp.path().join("watch2.log");
    let mut daemon = start(&e.v, &log2_path);
    wait_for("the id of the client", 30, || {
        e.prop(acme, "hubspot_id").is_some()
    })
    .await;
    wait_for("the phone in HubSpot", 30, || {
        e.record_by_ssot("contacts", &sid)["properties"]["phone"] == json!("+48 601 000 444")
    })
    .await;
    let acme_sid = e.prop(acme, "ssot_id").expect("ssot_id");
    let live = e.live("contacts");
    assert_eq!(live.len(), 4, "no duplicate: {live:?}");
    assert_eq!(
        e.record_by_ssot("contacts", &acme_sid)["properties"]["email"],
        json!("biuro@acme.pl")
    );
    let o = e.run(&["doctor"]).await;
    let shown = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        shown.contains(&format!("watch: daemon running (pid {}", daemon.id())),
        "{shown}"
    );
    stop_all_committed(&mut daemon, &e.v, "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_down_does_not_stop_another_services_runs() {
    let e = Env::new("poll_seconds = 1").await;
    crate::conformance::trello::configure(&e.v, &e.sb.base_url(), "poll_seconds = 1");
    watch_settings(&e.v, 100, "");
    // Trello down from the start: every request to it a 503.
    e.sb.set_faults(FaultConfig {
        error_rate: 1.0,
        path_prefix: Some("/1/".into()),
        ..FaultConfig::default()
    });
    let log_path = e._tmp.path().join("watch.log");
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let daemon_log = std::fs::File::create(&log_path).expect("log");
    let mut daemon = Command::new(assert_cmd::cargo::cargo_bin("ssot-vault"))
        .arg("--vault")
        .arg(&e.v)
        .arg("watch")
        .env("HUBSPOT_TOKEN", DEFAULT_HUBSPOT_TOKEN)
        .env("TRELLO_KEY", ssot_vault::sandbox::DEFAULT_TRELLO_KEY)
        .env("TRELLO_TOKEN", ssot_vault::sandbox::DEFAULT_TRELLO_TOKEN)
        .env("GIT_AUTHOR_NAME", "Test User")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test User")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env_remove("SSOT_VAULT")
        .env("RUST_LOG", "warn,ssot_vault::watch=info")
        .stdout(Stdio::null())
        .stderr(daemon_log)
        .spawn()
        .expect("start watch");
    let service = |name: &str| status(&e.v).map(|s| s["services"][name].clone());
    wait_for("HubSpot's first poll and Trello's failures", 30, || {
        e.live("contacts").len() == 3
            && service("trello").is_some_and(|t| t["failures"].as_u64() >= Some(1))
    })
    .await;
    let t = service("trello").expect("trello");
    assert_eq!(t["result"], json!("down"), "{t}");
    // HubSpot goes on: a save is pushed, its polls go on.
    let sid = e.prop(EXPERT, "ssot_id").expect("ssot_id");
    edit(&e.v, EXPERT, "+48 601 234 567", "+48 601 000 555");
    wait_for("the phone in HubSpot", 15, || {
        e.record_by_ssot("contacts", &sid)["properties"]["phone"] == json!("+48 601 000 555")
    })
    .await;
    let h = service("hubspot").expect("hubspot");
    assert_eq!(h["result"], json!("ok"), "{h}");
    let polls = h["runs"].as_u64().unwrap_or(0);
    wait_for("more HubSpot polls", 15, || {
        service("hubspot").is_some_and(|h| h["runs"].as_u64() > Some(polls + 1))
    })
    .await;
    // Trello back: its next poll (after its backoff) succeeds.
    e.sb.set_faults(FaultConfig::default());
    wait_for("Trello back", 60, || {
        service("trello").is_some_and(|t| t["result"] == json!("ok"))
    })
    .await;
    let code = terminate(&mut daemon).await;
    assert_eq!(code.code(), Some(0), "{}", log());
}

/// A card moved to `Blocked` in Trello, pulled by Trello's poll into its project note, reaches
/// the HubSpot deal's stage at once, long before HubSpot's own poll: the note Trello's run wrote
/// is pushed to HubSpot (not to Trello, which wrote it), and that push, writing nothing, carries
/// nothing further.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_pulled_from_trello_reaches_hubspot_before_its_poll() {
    use crate::conformance::trello::{self, LOYALTY};
    use ssot_vault::sandbox::{DEFAULT_TRELLO_KEY, DEFAULT_TRELLO_TOKEN};
    let e = Env::new("poll_seconds = 600").await;
    trello::configure(&e.v, &e.sb.base_url(), "poll_seconds = 1");
    watch_settings(&e.v, 100, "");
    let creds = [
        ("TRELLO_KEY", DEFAULT_TRELLO_KEY),
        ("TRELLO_TOKEN", DEFAULT_TRELLO_TOKEN),
    ];
    // The project active (every guard met), synced with both services.
    trello::make_loyalty_active(&e.v);
    let o = e.run_with(&["sync"], &creds).await;
    assert!(o.status.success(), "{}", out(&o));
    let sid = e.prop(LOYALTY, "ssot_id").expect("ssot_id");
    let stage = || e.record_by_ssot("deals", &sid)["properties"]["dealstage"].clone();
    assert_eq!(stage(), json!("contractsent"), "{}", out(&o));
    let card = e.prop(LOYALTY, "trello_card_id").expect("card");
    let cards = e.sb.remote("trello").expect("trello");

    let log_path = e._tmp.path().join("watch.log");
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let mut daemon = start_env(&e.v, &log_path, "warn,ssot_vault::watch=info", &creds);
    let runs_of = |name: &str| {
        status(&e.v)
            .and_then(|s| s["services"][name]["runs"].as_u64())
            .unwrap_or(0)
    };
    wait_for("the first polls", 30, || {
        runs_of("hubspot") >= 1 && runs_of("trello") >= 1
    })
    .await;
    assert_eq!(runs(&e.v, "push_runs"), 0, "{}", log());

    // Ola blocks the card in Trello, saying why.
    cards
        .edit("cards", &card, "Blocked reason", "Waiting for VPN access")
        .expect("reason");
    cards
        .edit("cards", &card, "list", "Blocked")
        .expect("move to Blocked");
    wait_for("the deal's stage blocked", 30, || {
        stage() == json!("decisionmakerboughtin")
    })
    .await;
    assert_eq!(e.prop(LOYALTY, "status").as_deref(), Some("blocked"));
    // The push run's end, in the status file: HubSpot's second run, the first push.
    wait_for("the push run counted", 5, || runs(&e.v, "push_runs") == 1).await;
    assert_eq!(runs_of("hubspot"), 2, "one push run, no poll: {}", log());
    let text = log();
    assert!(
        text.contains("carrying the notes it wrote to the other services service=\"trello\" to=hubspot notes=1")
            && text.contains("pushing changed notes notes=Projects/Bakery loyalty app.md services=hubspot\n"),
        "pushed to HubSpot only: {text}"
    );

    // Settled: Trello's polls go on, quiet again (the push is a run like any other), nothing
    // more is pushed, nothing more committed.
    let pushes = runs(&e.v, "push_runs");
    let head = git(&e.v, &["rev-parse", "HEAD"]);
    let quiet = || log().matches("quiet poll").count();
    let (polls, quiet_before) = (runs_of("trello"), quiet());
    wait_for("more Trello polls, quiet ones", 30, || {
        runs_of("trello") >= polls + 3 && quiet() >= quiet_before + 2
    })
    .await;
    assert_eq!(runs(&e.v, "push_runs"), pushes, "{}", log());
    assert_eq!(runs_of("hubspot"), 2, "{}", log());
    assert_eq!(git(&e.v, &["rev-parse", "HEAD"]), head, "{}", log());
    stop_all_committed(&mut daemon, &e.v, &log()).await;
}
