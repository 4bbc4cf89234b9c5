//! A vault shared by a team: two clones and a bare remote in a temporary folder. Concurrent
//! edits merge field by field through `ssot-vault pull` and through a plain `git pull` (the merge
//! driver registered by `init`, and by `doctor --fix` in a clone); the same field edited on both
//! sides is one recorded conflict; a note broken on one side falls back to git's text merge; a
//! refused push is pulled, merged and pushed again; interleaved pushes lose nothing.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{bin, write};

const NOTE: &str = "Notes/Plan.md";
const PLAN: &str =
    "---\nowner: ann\npriority: low\nphase: draft\n---\n# Plan\n\nFirst line.\nSecond line.\n";

/// Runs `git` in `dir` with a fixed identity.
fn git(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "Test User")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test User")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs")
}

fn git_ok(dir: &Path, args: &[&str]) -> String {
    let out = git(dir, args);
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `ssot-vault ARGS --vault DIR`.
fn sv(dir: &Path, args: &[&str]) -> Output {
    bin()
        .args(args)
        .arg("--vault")
        .arg(dir)
        .output()
        .expect("ssot-vault runs")
}

fn sv_ok(dir: &Path, args: &[&str]) -> String {
    let out = sv(dir, args);
    assert!(
        out.status.success(),
        "ssot-vault {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Team {
    _t: tempfile::TempDir,
    a: PathBuf,
    b: PathBuf,
}

impl Team {
    /// A vault made by `init` (clone a), shared through a bare remote, and a clone of it (b)
    /// whose driver `doctor --fix` registers.
    fn new() -> Team {
        let t = tempfile::tempdir().expect("tempdir");
        let bare = t.path().join("remote.git");
        let (a, b) = (t.path().join("a"), t.path().join("b"));
        git_ok(
            t.path(),
            &["init", "--quiet", "--bare", "-b", "main", "remote.git"],
        );
        bin().arg("init").arg(&a).assert().success();
        let toml = a.join("ssot-vault.toml");
        let mut cfg = std::fs::read_to_string(&toml).expect("config");
        cfg.push_str("\n[git]\nremote = \"origin\"\n");
        std::fs::write(&toml, cfg).expect("write config");
        write(&a, NOTE, PLAN);
        sv_ok(&a, &["commit", "-m", "Share the vault"]);
        git_ok(&a, &["remote", "add", "origin", &bare.to_string_lossy()]);
        let out = sv_ok(&a, &["push"]);
        assert!(out.contains("pushed to origin"), "{out}");
        git_ok(
            t.path(),
            &[
                "clone",
                "--quiet",
                "-b",
                "main",
                &bare.to_string_lossy(),
                "b",
            ],
        );
        let out = String::from_utf8_lossy(&sv(&b, &["doctor", "--fix"]).stdout).into_owned();
        assert!(
            out.contains("merge driver for notes: registered in .git/config"),
            "{out}"
        );
        Team { _t: t, a, b }
    }

    fn read(dir: &Path) -> String {
        std::fs::read_to_string(dir.join(NOTE)).expect("read note")
    }

    /// Replaces `from` by `to` in the note of `dir` and commits it.
    fn edit(dir: &Path, from: &str, to: &str) {
        let text = Team::read(dir);
        assert!(text.contains(from), "{from:?} not in {text}");
        write(dir, NOTE, text.replacen(from, to, 1));
        sv_ok(dir, &["commit", "-m", &format!("Set {to}")]);
    }
}

fn head(dir: &Path) -> String {
    git_ok(dir, &["rev-parse", "HEAD"])
}

#[test]
fn init_registers_the_driver() {
    let t = tempfile::tempdir().expect("tempdir");
    let v = t.path().join("v");
    bin().arg("init").arg(&v).assert().success();
    let attrs = std::fs::read_to_string(v.join(".gitattributes")).expect("attributes");
    assert!(
        attrs.lines().any(|l| l == "*.md merge=ssot-vault"),
        "{attrs}"
    );
    let driver = git_ok(&v, &["config", "merge.ssot-vault.driver"]);
    assert!(
        driver.trim().ends_with(" merge-driver %O %A %B %P"),
        "{driver}"
    );
    // Committed with the vault: every clone routes notes to the driver.
    let tracked = git_ok(&v, &["ls-files", ".gitattributes"]);
    assert_eq!(tracked.trim(), ".gitattributes");
    let out = sv_ok(&v, &["doctor"]);
    assert!(out.contains("ok   git: merge driver for notes"), "{out}");
    // An existing vault without it: reported, and registered by --fix.
    git_ok(&v, &["config", "--unset", "merge.ssot-vault.driver"]);
    let out = String::from_utf8_lossy(&sv(&v, &["doctor"]).stdout).into_owned();
    assert!(
        out.contains("merge driver for notes: missing `merge.ssot-vault.driver` in .git/config"),
        "{out}"
    );
    sv(&v, &["doctor", "--fix"]);
    assert_eq!(
        git_ok(&v, &["config", "merge.ssot-vault.driver"]),
        driver,
        "not registered again"
    );
    // The binary moved: reported, and registered again by --fix.
    git_ok(
        &v,
        &[
            "config",
            "merge.ssot-vault.driver",
            "/nowhere/ssot-vault merge-driver %O %A %B %P",
        ],
    );
    let out = String::from_utf8_lossy(&sv(&v, &["doctor"]).stdout).into_owned();
    assert!(
        out.contains(
            "missing the program `/nowhere/ssot-vault` that `merge.ssot-vault.driver` names"
        ),
        "{out}"
    );
    sv(&v, &["doctor", "--fix"]);
    assert_eq!(git_ok(&v, &["config", "merge.ssot-vault.driver"]), driver);
}

#[test]
fn different_fields_merge_through_ssot_vault_pull() {
    let t = Team::new();
    Team::edit(&t.a, "owner: ann", "owner: cy");
    sv_ok(&t.a, &["push"]);
    Team::edit(&t.b, "priority: low", "priority: high");
    let out = sv_ok(&t.b, &["pull"]);
    assert!(out.contains("merged origin"), "{out}");
    let merged = Team::read(&t.b);
    assert_eq!(
        merged,
        PLAN.replace("owner: ann", "owner: cy")
            .replace("priority: low", "priority: high")
    );
    // A merge commit, and a clean work tree.
    assert_eq!(
        git_ok(&t.b, &["rev-list", "--parents", "-n", "1", "HEAD"])
            .split_whitespace()
            .count(),
        3
    );
    assert_eq!(git_ok(&t.b, &["status", "--porcelain"]), "");
    sv_ok(&t.b, &["push"]);
    let out = sv_ok(&t.a, &["pull"]);
    assert!(out.contains("fast-forwarded"), "{out}");
    assert_eq!(Team::read(&t.a), merged);
}

#[test]
fn different_fields_merge_through_plain_git_pull() {
    let t = Team::new();
    // Adjacent lines: git's text merge alone would stop on a conflict.
    Team::edit(&t.a, "owner: ann", "owner: cy");
    sv_ok(&t.a, &["push"]);
    Team::edit(&t.b, "priority: low", "priority: high");
    git_ok(
        &t.b,
        &["pull", "--no-rebase", "--no-edit", "origin", "main"],
    );
    assert_eq!(
        Team::read(&t.b),
        PLAN.replace("owner: ann", "owner: cy")
            .replace("priority: low", "priority: high")
    );
    assert_eq!(git_ok(&t.b, &["status", "--porcelain"]), "");
}

#[test]
fn same_field_on_both_sides_is_one_recorded_conflict() {
    let t = Team::new();
    Team::edit(&t.a, "phase: draft", "phase: review");
    sv_ok(&t.a, &["push"]);
    Team::edit(&t.b, "phase: draft", "phase: final");
    let out = sv_ok(&t.b, &["pull"]);
    assert!(
        out.contains("Notes/Plan.md: changed on both sides, ours kept, theirs recorded in sync_conflicts: phase"),
        "{out}"
    );
    let text = Team::read(&t.b);
    assert!(
        !text.contains("<<<<<<<") && !text.contains(">>>>>>>"),
        "{text}"
    );
    assert_eq!(
        text,
        PLAN.replace(
            "phase: draft\n",
            "phase: final\nsync_conflicts:\n  - \"phase | vault: final | git: review\"\n"
        )
    );
    // The same through git's own pull, in clone a.
    Team::edit(&t.b, "owner: ann", "owner: dee");
    sv_ok(&t.b, &["push"]);
    Team::edit(&t.a, "owner: ann", "owner: eve");
    git_ok(
        &t.a,
        &["pull", "--no-rebase", "--no-edit", "origin", "main"],
    );
    let text = Team::read(&t.a);
    assert!(!text.contains("<<<<<<<"), "{text}");
    assert!(text.contains("owner: eve\n"), "{text}");
    assert!(
        text.contains("  - \"owner | vault: eve | git: dee\"\n"),
        "{text}"
    );
    assert!(
        text.contains("  - \"phase | vault: final | git: review\"\n"),
        "{text}"
    );
    assert!(text.contains("phase: final\n"), "{text}");
}

#[test]
fn a_note_broken_on_one_side_falls_back_to_git() {
    let t = Team::new();
    Team::edit(&t.a, "owner: ann", "owner: [ann");
    sv_ok(&t.a, &["push"]);
    Team::edit(&t.b, "owner: ann", "owner: bob");
    // ssot-vault pull: a conflict left, nothing changed.
    let before = (head(&t.b), Team::read(&t.b));
    let out = sv(&t.b, &["pull"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the merge leaves conflicts in Notes/Plan.md; nothing was changed"),
        "{err}"
    );
    assert_eq!((head(&t.b), Team::read(&t.b)), before);
    // git pull: the driver falls back to git's text merge, markers and all.
    let out = git(
        &t.b,
        &["pull", "--no-rebase", "--no-edit", "origin", "main"],
    );
    assert!(!out.status.success());
    let text = Team::read(&t.b);
    assert!(
        text.contains("<<<<<<< ours\nowner: bob\n=======\nowner: [ann\n>>>>>>> theirs\n"),
        "{text}"
    );
    // A merge left in progress: ssot-vault pull refuses it.
    let out = sv(&t.b, &["pull"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("merge is in progress"));
}

#[test]
fn a_body_conflict_keeps_the_markers_in_the_body_only() {
    let t = Team::new();
    write(
        &t.a,
        NOTE,
        PLAN.replace("owner: ann", "owner: cy")
            .replace("First line.", "First line, a."),
    );
    sv_ok(&t.a, &["commit", "-m", "a"]);
    sv_ok(&t.a, &["push"]);
    write(
        &t.b,
        NOTE,
        PLAN.replace("priority: low", "priority: high")
            .replace("First line.", "First line, b."),
    );
    sv_ok(&t.b, &["commit", "-m", "b"]);
    // ssot-vault pull: nothing changed, exit 1, the note named.
    let before = head(&t.b);
    let out = sv(&t.b, &["pull"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("conflicts in Notes/Plan.md"));
    assert_eq!(head(&t.b), before);
    // git pull through the driver: the properties merged, git's markers in the body only.
    let out = git(
        &t.b,
        &["pull", "--no-rebase", "--no-edit", "origin", "main"],
    );
    assert!(!out.status.success());
    assert_eq!(
        Team::read(&t.b),
        "---\nowner: cy\npriority: high\nphase: draft\n---\n# Plan\n\n<<<<<<< ours\nFirst line, b.\n=======\nFirst line, a.\n>>>>>>> theirs\nSecond line.\n"
    );
}

#[test]
fn the_driver_merges_other_files_as_git_does() {
    let t = tempfile::tempdir().expect("tempdir");
    let p = |n: &str| t.path().join(n);
    std::fs::write(p("o"), "a\nb\nc\n").expect("write");
    std::fs::write(p("a"), "A\nb\nc\n").expect("write");
    std::fs::write(p("b"), "a\nb\nC\n").expect("write");
    let run = |path: &str| {
        bin()
            .arg("merge-driver")
            .args([p("o"), p("a"), p("b")])
            .arg(path)
            .output()
            .expect("runs")
    };
    let out = run("notes.txt");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(std::fs::read_to_string(p("a")).expect("read"), "A\nb\nC\n");
    std::fs::write(p("b"), "X\nb\nC\n").expect("write");
    let out = run("notes.txt");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        std::fs::read_to_string(p("a"))
            .expect("read")
            .contains("<<<<<<< ours\nA\n=======\nX\n>>>>>>> theirs\n")
    );
}

#[test]
fn a_shared_vault_without_the_driver_fails_doctor_and_pull_needs_the_branch() {
    let t = Team::new();
    git_ok(&t.b, &["config", "--unset", "merge.ssot-vault.driver"]);
    let out = sv(&t.b, &["doctor"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("FAIL git: merge driver for notes: missing"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(1));
    // `[git] branch` names a branch that is not checked out: refused, nothing changed.
    let toml = t.b.join("ssot-vault.toml");
    let cfg = std::fs::read_to_string(&toml).expect("config");
    std::fs::write(
        &toml,
        cfg.replace(
            "remote = \"origin\"\n",
            "remote = \"origin\"\nbranch = \"other\"\n",
        ),
    )
    .expect("write");
    git_ok(&t.b, &["commit", "-qam", "Other branch"]);
    let out = sv(&t.b, &["pull"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("`[git] branch` is `other` but the vault has `main` checked out"),
        "{out:?}"
    );
}

#[test]
fn pull_from_a_remote_without_the_branch_is_up_to_date() {
    let t = tempfile::tempdir().expect("tempdir");
    git_ok(
        t.path(),
        &["init", "--quiet", "--bare", "-b", "main", "remote.git"],
    );
    let v = t.path().join("v");
    bin().arg("init").arg(&v).assert().success();
    let toml = v.join("ssot-vault.toml");
    let mut cfg = std::fs::read_to_string(&toml).expect("config");
    cfg.push_str("\n[git]\nremote = \"origin\"\n");
    std::fs::write(&toml, cfg).expect("write");
    git_ok(&v, &["commit", "-qam", "Share"]);
    let url = format!("file://{}", t.path().join("remote.git").display());
    git_ok(&v, &["remote", "add", "origin", &url]);
    let out = sv_ok(&v, &["pull"]);
    assert!(out.contains("already up to date"), "{out}");
    assert!(sv_ok(&v, &["push"]).contains("pushed to origin"));
    assert!(sv_ok(&v, &["pull"]).contains("already up to date"));
}

#[test]
fn pull_refuses_uncommitted_edits() {
    let t = Team::new();
    write(&t.b, NOTE, PLAN.replace("low", "mid"));
    let out = sv(&t.b, &["pull"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("uncommitted edits in the work tree: Notes/Plan.md"),
        "{err}"
    );
}

#[test]
fn a_refused_push_is_pulled_merged_and_pushed() {
    let t = Team::new();
    Team::edit(&t.a, "owner: ann", "owner: cy");
    Team::edit(&t.b, "priority: low", "priority: high");
    sv_ok(&t.a, &["push"]);
    let out = sv_ok(&t.b, &["push"]);
    assert!(
        out.contains("pushed to origin after pulling and merging 1 time"),
        "{out}"
    );
    sv_ok(&t.a, &["pull"]);
    let want = PLAN
        .replace("owner: ann", "owner: cy")
        .replace("priority: low", "priority: high");
    assert_eq!(Team::read(&t.a), want);
    assert_eq!(Team::read(&t.b), want);
    assert_eq!(head(&t.a), head(&t.b));
    let out = sv_ok(&t.a, &["push"]);
    assert!(out.contains("already has every commit"), "{out}");
}

#[test]
fn interleaved_pushes_lose_nothing() {
    let t = Team::new();
    for i in 0..20 {
        let side = if i % 2 == 0 { &t.a } else { &t.b };
        // A new field of the shared note, and a note of its own.
        let text = Team::read(side);
        write(
            side,
            NOTE,
            text.replacen("---\n# Plan", &format!("r{i}: x{i}\n---\n# Plan"), 1),
        );
        write(
            side,
            &format!("Notes/R{i}.md"),
            format!("---\nround: {i}\n---\n"),
        );
        sv_ok(side, &["commit", "-m", &format!("Round {i}")]);
        sv_ok(side, &["push"]);
    }
    sv_ok(&t.a, &["pull"]);
    sv_ok(&t.b, &["pull"]);
    assert_eq!(head(&t.a), head(&t.b));
    let text = Team::read(&t.a);
    assert_eq!(text, Team::read(&t.b));
    assert!(!text.contains("sync_conflicts"), "{text}");
    for i in 0..20 {
        assert!(
            text.contains(&format!("\nr{i}: x{i}\n")),
            "r{i} lost: {text}"
        );
        assert!(t.a.join(format!("Notes/R{i}.md")).is_file());
        assert!(t.b.join(format!("Notes/R{i}.md")).is_file());
    }
}

/// Waits (bounded) until `ok` holds.
async fn wait_for(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !ok() {
        assert!(
            std::time::Instant::now() < end,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The daemon in team mode: it pushes its commits to the remote, and pulls what a person
/// pushed before its next run; the person's and the daemon's pushes interleave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_pulls_before_a_run_and_pushes_after_a_commit() {
    use crate::hs_env::{EXPERT, Env};
    let e = Env::new("poll_seconds = 1").await;
    let tmp = e._tmp.path();
    let bare = tmp.join("remote.git");
    git_ok(
        tmp,
        &["init", "--quiet", "--bare", "-b", "main", "remote.git"],
    );
    let cfg = e.v.join("ssot-vault.toml");
    let mut text = std::fs::read_to_string(&cfg).expect("config");
    text.push_str("\n[git]\nremote = \"origin\"\n");
    std::fs::write(&cfg, text).expect("config");
    git_ok(&e.v, &["commit", "-qam", "Share the vault"]);
    git_ok(&e.v, &["remote", "add", "origin", &bare.to_string_lossy()]);
    sv_ok(&e.v, &["push"]);
    let first = head(&e.v);
    let remote_head = || git_ok(&bare, &["rev-parse", "main"]);

    let log_path = tmp.join("watch.log");
    let log = std::fs::File::create(&log_path).expect("log");
    let mut daemon = std::process::Command::new(assert_cmd::cargo::cargo_bin("ssot-vault"))
        .arg("--vault")
        .arg(&e.v)
        .arg("watch")
        .env("HUBSPOT_TOKEN", ssot_vault::sandbox::DEFAULT_HUBSPOT_TOKEN)
        .env("GIT_AUTHOR_NAME", "Test User")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test User")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env_remove("SSOT_VAULT")
        .env(
            "RUST_LOG",
            "warn,ssot_vault::watch=info,ssot_vault::team=info",
        )
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start watch");
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();

    // The first poll links the notes to their records and commits: pushed.
    wait_for("the daemon's first commit on the remote", 30, || {
        remote_head().trim() != first.trim()
    })
    .await;

    // A person pushes a note from a clone: the daemon pulls it before a run.
    git_ok(
        tmp,
        &[
            "clone",
            "--quiet",
            "-b",
            "main",
            &bare.to_string_lossy(),
            "c",
        ],
    );
    let c = tmp.join("c");
    write(&c, NOTE, PLAN);
    git_ok(&c, &["add", "-A"]);
    git_ok(&c, &["commit", "-qm", "A plan"]);
    git_ok(&c, &["push", "--quiet", "origin", "main"]);
    let pulled = e.v.join(NOTE);
    wait_for("the person's note in the daemon's vault", 30, || {
        pulled.is_file()
    })
    .await;

    // A note saved in the daemon's vault reaches the remote with the person's commit kept.
    let p = e.v.join(EXPERT);
    let t = std::fs::read_to_string(&p).expect("note");
    std::fs::write(&p, t.replacen("+48 601 234 567", "+48 601 000 111", 1)).expect("save");
    let saved = || {
        git(&bare, &["show", &format!("main:{EXPERT}")])
            .stdout
            .windows(15)
            .any(|w| w == b"+48 601 000 111")
    };
    let end = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !saved() {
        if std::time::Instant::now() > end {
            let _ = daemon.kill();
            panic!(
                "the saved note never reached the remote: {}\n{}\n{}",
                log(),
                std::fs::read_to_string(e.v.join(".ssot/watch/git.json")).unwrap_or_default(),
                git_ok(&e.v, &["log", "--oneline", "--graph", "-8"])
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = daemon.kill();
    let _ = daemon.wait();
    let plan = git_ok(&bare, &["show", &format!("main:{NOTE}")]);
    assert_eq!(plan, PLAN, "{}", log());
    let status = std::fs::read_to_string(e.v.join(".ssot/watch/git.json")).expect("git status");
    assert!(status.contains("\"message\": \"pushed"), "{status}");
    assert!(log().contains("fast-forwarded to "), "{}", log());
    // `watch --status` shows the last pull and push.
    let shown = bin()
        .arg("--vault")
        .arg(&e.v)
        .args(["watch", "--status"])
        .output()
        .expect("watch --status");
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains("git push: ") && text.contains(" ok: pushed") && text.contains("git pull: "),
        "{text}"
    );
}

/// A remote git2 cannot reach itself (here git's `ext::` transport, standing in for https and
/// ssh) is fetched and pushed by the `git` command: pull, and a refused push pulled and pushed.
#[test]
fn remotes_beyond_git2_go_through_the_git_command() {
    let t = Team::new();
    let bare = t._t.path().join("remote.git");
    git_ok(
        &t.a,
        &[
            "remote",
            "set-url",
            "origin",
            &format!("ext::git %s {}", bare.display()),
        ],
    );
    let sv_ext = |args: &[&str]| {
        let out = bin()
            .args(args)
            .arg("--vault")
            .arg(&t.a)
            .env("GIT_ALLOW_PROTOCOL", "ext")
            .output()
            .expect("runs");
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    Team::edit(&t.b, "owner: ann", "owner: cy");
    sv_ok(&t.b, &["push"]);
    assert!(sv_ext(&["pull"]).contains("fast-forwarded"));
    Team::edit(&t.b, "priority: low", "priority: high");
    sv_ok(&t.b, &["push"]);
    Team::edit(&t.a, "phase: draft", "phase: review");
    let out = sv_ext(&["push"]);
    assert!(out.contains("after pulling and merging 1 time"), "{out}");
    sv_ok(&t.b, &["pull"]);
    let want = PLAN
        .replace("owner: ann", "owner: cy")
        .replace("priority: low", "priority: high")
        .replace("phase: draft", "phase: review");
    assert_eq!(Team::read(&t.b), want);
    assert_eq!(Team::read(&t.a), want);
}
