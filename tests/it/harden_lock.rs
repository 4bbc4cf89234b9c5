//! One run at a time: the vault lock, and the pacing of HubSpot's search limit across runs.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use ssot_vault::lock::{Holder, VaultLock};
use ssot_vault::sandbox::{DEFAULT_HUBSPOT_TOKEN, FaultConfig, SandboxConfig};

use crate::common::{bin, init_vault, snapshot_tree};
use crate::hs_env::{CLIENT, Env, git, out};

/// The real binary as a child process that runs on while the test goes on.
fn spawn_sync(v: &Path) -> std::process::Child {
    Command::new(assert_cmd::cargo::cargo_bin("ssot-vault"))
        .arg("--vault")
        .arg(v)
        .arg("sync")
        .env("HUBSPOT_TOKEN", DEFAULT_HUBSPOT_TOKEN)
        .env("GIT_AUTHOR_NAME", "Test User")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test User")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn")
}

/// The holder written in the vault's lock file, once there is one.
fn lock_holder(v: &Path) -> Option<Holder> {
    let text = std::fs::read_to_string(ssot_vault::lock::path(v)).ok()?;
    serde_json::from_str(text.trim()).ok()
}

fn ls(v: &Path, folder: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(v.join(folder))
        .expect("folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sync_while_one_runs_exits_at_once_and_changes_nothing() {
    let e = Env::new("").await;
    e.sync().await;
    e.hs(
        reqwest::Method::POST,
        "/crm/v3/objects/contacts",
        Some(json!({"properties": {"firstname": "Ala", "lastname": "Nowak", "email": "ala@nowak.pl", "ssot_role": "client"}})),
    )
    .await;
    // Every HubSpot request takes 500 ms: the first run lasts a few seconds.
    e.sb.set_faults(FaultConfig {
        latency_ms: 500,
        ..FaultConfig::default()
    });
    let mut first = spawn_sync(&e.v);
    let pid = first.id();
    let started = Instant::now();
    while lock_holder(&e.v).is_none_or(|h| h.pid != pid) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the first sync never took the lock"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let head = git(&e.v, &["rev-parse", "HEAD"]);
    let second = e.run(&["sync"]).await;
    assert!(
        first.try_wait().expect("wait").is_none(),
        "the first sync is still running when the second gives up"
    );
    assert_eq!(second.status.code(), Some(2), "{}", out(&second));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains(&format!(
            "error: the vault is busy: `ssot-vault sync` (pid {pid}, since 20"
        )) && err.contains("hint: nothing was changed; wait for that command to finish"),
        "{err}"
    );
    assert_eq!(
        String::from_utf8_lossy(&second.stdout),
        "",
        "the second run did nothing"
    );
    assert_eq!(
        git(&e.v, &["rev-parse", "HEAD"]),
        head,
        "the second run committed nothing"
    );

    let done = tokio::task::spawn_blocking(move || first.wait_with_output())
        .await
        .expect("join")
        .expect("first sync");
    assert!(done.status.success(), "{}", out(&done));
    e.sb.set_faults(FaultConfig::default());
    // One note per record, one record per note.
    assert_eq!(
        ls(&e.v, "Clients"),
        ["Ala Nowak.md", "Piekarnia Złoty Kłos.md"]
    );
    let ala: Vec<_> = e
        .live("contacts")
        .into_iter()
        .filter(|r| r["properties"]["email"] == json!("ala@nowak.pl"))
        .collect();
    assert_eq!(ala.len(), 1);
    assert_eq!(
        e.prop("Clients/Ala Nowak.md", "hubspot_id").as_deref(),
        ala[0]["id"].as_str()
    );
    let check = e.run(&["check"]).await;
    assert!(check.status.success(), "{}", out(&check));
    let next = e.run(&["sync"]).await;
    assert_eq!(next.status.code(), Some(0), "{}", out(&next));
    let text = out(&next);
    assert!(
        text.contains("0 created and 0 updated in hubspot, 0 notes updated, 0 new notes")
            && !text.contains("interrupted")
            && !text.contains("conflict")
            && !text.contains("committed"),
        "{text}"
    );
    assert_eq!(git(&e.v, &["status", "--porcelain"]), "");
    assert_eq!(
        git(&e.v, &["ls-files", ".ssot"]),
        "",
        "the lock is not in git"
    );
}

#[test]
fn a_lock_left_by_a_dead_process_is_taken_over_with_a_warning() {
    let (_t, v) = init_vault();
    // A pid that was running and is no more.
    let mut gone = Command::new("true").spawn().expect("true");
    let dead = gone.id();
    gone.wait().expect("wait");
    let left =
        format!("{{\"pid\":{dead},\"command\":\"sync\",\"since\":\"2026-11-30T00:00:00Z\"}}\n");
    std::fs::create_dir_all(v.join(".ssot")).expect("mkdir");
    std::fs::write(ssot_vault::lock::path(&v), &left).expect("write");
    // Killed between a temporary file's write and its rename, it left the file beside the note.
    let temp = v.join("Clients/.ssot-tmp-Xk3a9Q");
    std::fs::write(&temp, "---\ntype: client\n").expect("temp");
    // Git's folder is not the vault's: nothing in it is touched.
    let in_git = v.join(".git/.ssot-tmp-git");
    std::fs::write(&in_git, "git's").expect("in .git");
    let o = bin()
        .arg("--vault")
        .arg(&v)
        .args(["set", "Piekarnia Złoty Kłos", "city=Gdańsk"])
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", out(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "warning: took over the vault lock left by `ssot-vault sync` (pid {dead}, since 2026-11-30T00:00:00Z), which ended without letting go (killed or crashed); run `ssot-vault check` and `ssot-vault status` if it was writing\nwarning: removed {}, a temporary file left by that command (the note itself is whole)\n",
            temp.display()
        )
    );
    assert!(!temp.exists(), "the left temporary file is removed");
    assert!(in_git.exists(), "nothing under .git is removed");
    assert!(
        std::fs::read_to_string(v.join(CLIENT))
            .expect("note")
            .contains("\ncity: Gdańsk\n")
    );
    assert!(
        !ssot_vault::lock::path(&v).exists(),
        "let go and deleted at the end"
    );

    // A lock file naming a live process that does not hold the lock (its pid was reused) is no
    // lock either: the operating system's lock says who holds it, not the pid.
    let reused = format!(
        "{{\"pid\":{},\"command\":\"commit\",\"since\":\"2026-11-30T00:00:00Z\"}}\n",
        std::process::id()
    );
    std::fs::write(ssot_vault::lock::path(&v), &reused).expect("write");
    let o = bin()
        .arg("--vault")
        .arg(&v)
        .args(["commit", "-m", "Gdańsk"])
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", out(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&format!(
            "warning: took over the vault lock left by `ssot-vault commit` (pid {}",
            std::process::id()
        )),
        "{}",
        out(&o)
    );
    assert_eq!(git(&v, &["status", "--porcelain"]), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_writing_command_refuses_a_held_lock_and_readers_take_none() {
    let e = Env::new("").await;
    let held = VaultLock::acquire(&e.v, "sync").expect("lock");
    let before = snapshot_tree(&e.v);
    let head = git(&e.v, &["rev-parse", "HEAD"]);
    let writers: &[&[&str]] = &[
        &["sync"],
        &["commit", "-m", "x"],
        &["set", "Piekarnia Złoty Kłos", "city=Gdańsk"],
        &["new", "client", "Ala Nowak", "--set", "email=ala@nowak.pl"],
        &["project", "accept", "Złoty Kłos online shop"],
        &[
            "project",
            "block",
            "Złoty Kłos online shop",
            "--reason",
            "x",
        ],
        &["intake", "accept", "Nobody"],
        &[
            "ticket",
            "new",
            "Złoty Kłos online shop",
            "--from",
            "client",
            "--subject",
            "Hi",
            "-m",
            "Hello",
        ],
        &["ticket", "close", "Hi"],
        &["archive", "Złoty Kłos online shop"],
        &["match", "Złoty Kłos online shop", "--assign", "Anna Nowak"],
        &["resolve", "Piekarnia Złoty Kłos", "city", "--take", "vault"],
    ];
    let holder = format!(
        "error: the vault is busy: `ssot-vault sync` (pid {}, since ",
        std::process::id()
    );
    for args in writers {
        let o = e.run(args).await;
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", out(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).starts_with(&holder),
            "{args:?}: {}",
            out(&o)
        );
        assert_eq!(snapshot_tree(&e.v), before, "{args:?} changed the vault");
    }
    assert_eq!(git(&e.v, &["rev-parse", "HEAD"]), head);
    let readers: &[&[&str]] = &[
        &["check"],
        &["status"],
        &["log"],
        &["doctor"],
        &["match", "Złoty Kłos online shop"],
        &["sync", "--dry-run"],
    ];
    for args in readers {
        let o = e.run(args).await;
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", out(&o));
        assert!(
            !out(&o).contains("the vault is busy"),
            "{args:?}: {}",
            out(&o)
        );
    }
    assert_eq!(snapshot_tree(&e.v), before, "the readers changed nothing");
    drop(held);
    let o = e.run(&["set", "Piekarnia Złoty Kłos", "city=Gdańsk"]).await;
    assert!(o.status.success(), "{}", out(&o));
}

#[test]
fn the_lock_and_the_sync_state_never_land_in_git() {
    let (_t, v) = init_vault();
    // A vault whose own .gitignore does not list .ssot/.
    std::fs::write(v.join(".gitignore"), ".obsidian/workspace*.json\n").expect("gitignore");
    git(&v, &["commit", "-qam", "No .ssot/ in .gitignore"]);
    let o = bin()
        .arg("--vault")
        .arg(&v)
        .args(["set", "Piekarnia Złoty Kłos", "city=Gdańsk"])
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", out(&o));
    assert!(!v.join(".ssot").exists(), "a command leaves no trace");
    // Sync state, as a sync leaves it; `commit` holds the lock while it stages.
    std::fs::create_dir_all(v.join(".ssot/hubspot")).expect("mkdir");
    std::fs::write(v.join(".ssot/hubspot/state.json"), "{}").expect("state");
    let o = bin()
        .arg("--vault")
        .arg(&v)
        .arg("commit")
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", out(&o));
    assert_eq!(git(&v, &["ls-files", ".ssot"]), "");
    assert_eq!(
        git(&v, &["status", "--porcelain", "--untracked-files=no"]),
        ""
    );
    assert!(!ssot_vault::lock::path(&v).exists());
    assert!(
        git(&v, &["show", "--stat", "HEAD"]).contains("Clients/Piekarnia Złoty Kłos.md"),
        "the edit was committed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_to_back_syncs_keep_to_the_search_limit_across_runs() {
    let cfg = SandboxConfig {
        hubspot_rate_limit: None,
        search_rate_limit_per_sec: Some(4),
        ..SandboxConfig::default()
    };
    let e = Env::with(cfg, "").await;
    // 250 contacts: each full read pages contacts twice and deals once, three searches a run.
    let seeded = e
        .http
        .post(format!("{}/__sandbox/hubspot/seed", e.sb.base_url()))
        .json(&json!({"type": "contacts", "count": 250}))
        .send()
        .await
        .expect("seed");
    assert!(seeded.status().is_success());
    e.sync().await;
    assert_eq!(ls(&e.v, "Clients").len(), 251);
    let reset = |e: &Env| {
        let url = format!("{}/__sandbox/requests/reset", e.sb.base_url());
        let http = e.http.clone();
        async move { http.post(url).send().await.expect("reset") }
    };
    reset(&e).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for _ in 0..2 {
        let o = e.run(&["sync", "--full"]).await;
        assert!(o.status.success(), "{}", out(&o));
    }
    let counts = e.sb.request_counts();
    let searches: u64 = counts
        .by_endpoint
        .iter()
        .filter(|(k, _)| k.ends_with("/search"))
        .map(|(_, n)| *n)
        .sum();
    assert_eq!(
        counts.rate_limited,
        Default::default(),
        "no request was refused by a rate limit ({searches} searches)"
    );
    assert_eq!(searches, 6, "three searches a run, none retried");
    assert!(
        e.v.join(".ssot/hubspot/pacing.json").is_file(),
        "the pacing is kept for the next run"
    );

    // The counter sees a burst past the limit: the assertions above can fail.
    let url = format!("{}/crm/v3/objects/deals/search", e.sb.base_url());
    let burst: Vec<_> = (0..6)
        .map(|_| {
            let (http, url) = (e.http.clone(), url.clone());
            tokio::spawn(async move {
                http.post(url)
                    .bearer_auth(DEFAULT_HUBSPOT_TOKEN)
                    .json(&json!({"limit": 1}))
                    .send()
                    .await
                    .expect("search")
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut refused = 0;
    for b in burst {
        refused += u64::from(b.await.expect("join") == 429);
    }
    assert!(refused >= 2, "6 searches at once, 4 allowed");
    let limited = e.sb.request_counts().rate_limited;
    assert_eq!(
        limited.get("POST /crm/v3/objects/{type}/search"),
        Some(&refused),
        "{limited:?}"
    );
}

/// A command killed in the middle of a git commit leaves git's `index.lock`, on which every
/// later commit fails. The next command, taking over the dead one's vault lock, removes the git
/// lock files made since that command started, and commits; a git lock file of someone else's
/// (no dead holder of the vault lock) is left alone and the commit fails with git's message.
#[test]
fn git_lock_files_left_by_a_killed_command_are_removed_by_the_next() {
    let (_t, v) = init_vault();
    let run = |args: &[&str]| {
        bin()
            .arg("--vault")
            .arg(&v)
            .args(args)
            .output()
            .expect("run")
    };
    let index_lock = v.join(".git/index.lock");
    // Someone else's git at work: no vault lock was left, so the file is not ours.
    std::fs::write(&index_lock, b"").expect("index.lock");
    let o = run(&["set", "Piekarnia Złoty Kłos", "city=Gdańsk"]);
    assert!(o.status.success(), "{}", out(&o));
    let o = run(&["commit", "-m", "Gdańsk"]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(out(&o).contains("locked"), "{}", out(&o));
    assert!(index_lock.exists(), "not ours: left alone");
    // A `commit` killed after it took the vault lock (a minute ago) and made index.lock.
    let mut gone = Command::new("true").spawn().expect("true");
    let dead = gone.id();
    gone.wait().expect("wait");
    let since = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(60);
    let since = since.round(jiff::Unit::Second).expect("round");
    std::fs::create_dir_all(v.join(".ssot")).expect("mkdir");
    std::fs::write(
        ssot_vault::lock::path(&v),
        format!("{{\"pid\":{dead},\"command\":\"commit\",\"since\":\"{since}\"}}\n"),
    )
    .expect("vault lock");
    std::fs::write(&index_lock, b"").expect("index.lock");
    let o = run(&["commit", "-m", "Gdańsk"]);
    assert!(o.status.success(), "{}", out(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&format!(
            "warning: removed {}, left by that command in the middle of a git commit",
            index_lock.display()
        )),
        "{}",
        out(&o)
    );
    assert!(!index_lock.exists());
    assert_eq!(git(&v, &["status", "--porcelain"]), "");
}
