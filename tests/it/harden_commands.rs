//! The lifecycle's guards in `set` and `commit` (and the pending-vault commit of `sync`), and
//! the corpora the tests read being part of the repository.

use std::path::Path;
use std::process::Output;

use crate::common::{bin, corpora, init_vault, snapshot_tree};
use crate::hs_env::{Env, PROJECT, git, out};

const NAME: &str = "Złoty Kłos online shop";

fn run(v: &Path, args: &[&str]) -> Output {
    bin().current_dir(v).args(args).output().expect("run")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn commits(v: &Path) -> usize {
    git(v, &["rev-list", "--count", "HEAD"])
        .trim()
        .parse()
        .expect("count")
}

fn head_message(v: &Path) -> String {
    git(v, &["log", "-1", "--format=%B"])
}

/// The `Ssot-Illegal-Transition` trailers of HEAD, as git itself reads them.
fn illegal_trailers(v: &Path, rev: &str) -> Vec<String> {
    git(
        v,
        &[
            "log",
            "-1",
            "--format=%(trailers:key=Ssot-Illegal-Transition,valueonly)",
            rev,
        ],
    )
    .lines()
    .filter(|l| !l.trim().is_empty())
    .map(str::to_string)
    .collect()
}

/// `set` on a fresh vault cannot jump the sample project (matching) to active: exit 1, the
/// lifecycle's reason, a hint naming the commands that make the move, and not a byte written —
/// not even the other, valid assignments of the same call.
#[test]
fn set_refuses_an_illegal_status_change_and_writes_nothing() {
    let (_t, v) = init_vault();
    let before = snapshot_tree(&v);
    for args in [
        &["set", NAME, "status=active"][..],
        &["set", NAME, "budget=50000", "status=active"],
    ] {
        let o = run(&v, args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", out(&o));
        let err = stderr(&o);
        assert!(
            err.contains(&format!(
                "{PROJECT}: status matching→active is not allowed: matching→active goes through proposed, accepted, credentialing: proposed requires an assigned expert: expert is empty"
            )),
            "{err}"
        );
        assert!(
            err.contains(&format!(
                "hint: the note is unchanged; move the project with `ssot-vault match \"{NAME}\" --assign EXPERT`, then `ssot-vault project accept \"{NAME}\"`, then `ssot-vault project activate \"{NAME}\"`"
            )),
            "{err}"
        );
        assert_eq!(stdout(&o), "", "nothing reported as updated");
        assert_eq!(snapshot_tree(&v), before, "{args:?} wrote to the vault");
    }
    // A move the table has no way for names the commands out of the current status.
    let o = run(&v, &["set", NAME, "status=intake"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        stderr(&o).contains(
            "status matching→intake is not allowed: no transition from matching to intake: from matching a project goes to proposed"
        ),
        "{}",
        out(&o)
    );
    assert!(
        stderr(&o).contains(&format!(
            "hint: the note is unchanged; from matching the project moves with `ssot-vault match \"{NAME}\" --assign EXPERT`"
        )),
        "{}",
        out(&o)
    );
    assert_eq!(snapshot_tree(&v), before);
    let o = run(&v, &["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(git(&v, &["status", "--porcelain"]), "");
}

/// Legal status changes go through `set`: the same status (nothing written), and a move whose
/// guards hold on the note after the edit (the expert proposed in the same call). `check` and
/// `commit` agree with it: no error, no mark.
#[test]
fn set_lets_legal_status_changes_through() {
    let (_t, v) = init_vault();
    let before = std::fs::read(v.join(PROJECT)).expect("read");
    let o = run(&v, &["set", NAME, "status=matching"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(stdout(&o), format!("{PROJECT}: unchanged\n"));
    assert_eq!(std::fs::read(v.join(PROJECT)).expect("read"), before);

    // The guard fails without the expert...
    let o = run(&v, &["set", NAME, "status=proposed"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        stderr(&o).contains(
            "status matching→proposed is not allowed: proposed requires an assigned expert: expert is empty"
        ),
        "{}",
        out(&o)
    );
    assert_eq!(std::fs::read(v.join(PROJECT)).expect("read"), before);
    // ...and holds with it, judged on the note as the edit leaves it.
    let o = run(
        &v,
        &[
            "set",
            NAME,
            "expert=Anna Nowak",
            "expert_status=proposed",
            "status=proposed",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(
        stdout(&o).contains("  status: matching → proposed\n"),
        "{}",
        out(&o)
    );
    let text = std::fs::read_to_string(v.join(PROJECT)).expect("read");
    let old = String::from_utf8(before).expect("utf-8");
    assert_eq!(
        text,
        old.replace("status: matching\n", "status: proposed\n")
            .replace(
                "priority: high\n",
                "priority: high\nexpert: \"[[Anna Nowak]]\"\nexpert_status: proposed\n"
            )
    );
    let o = run(&v, &["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let o = run(&v, &["commit", "-m", "Anna proposed"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(illegal_trailers(&v, "HEAD").is_empty());
    assert!(head_message(&v).contains("status: matching → proposed"));
}

/// The way into `archived` asks about the project's tickets, which `set` finds in the vault.
#[test]
fn set_judges_archiving_by_the_projects_tickets() {
    let (_t, v) = init_vault();
    crate::common::write(
        &v,
        "Projects/Bakery app.md",
        "---\ntype: project\nssot_id: 01M7W86HFSWM03FC030X7GYK3A\ncreated: 2026-11-20\nclient: \"[[Piekarnia Złoty Kłos]]\"\nstatus: done\n---\n",
    );
    crate::common::write(
        &v,
        "Helpdesk/Login fails.md",
        "---\ntype: ticket\nssot_id: 01M7W86HFSWM03FC030X7GYK3B\ncreated: 2026-11-21\nproject: \"[[Bakery app]]\"\nfrom: client\nstatus: open\n---\n",
    );
    git(&v, &["add", "-A"]);
    git(&v, &["commit", "-qm", "Done project with an open ticket"]);
    let before = snapshot_tree(&v);
    let o = run(&v, &["set", "Bakery app", "status=archived"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        stderr(&o).contains(
            "status done→archived is not allowed: archived requires every ticket closed: ticket Login fails is not closed"
        ),
        "{}",
        out(&o)
    );
    assert!(
        stderr(&o).contains("`ssot-vault archive \"Bakery app\"`"),
        "{}",
        out(&o)
    );
    assert_eq!(snapshot_tree(&v), before);
}

/// `commit` refuses to record a status changed by hand in a way the lifecycle refuses: exit 1,
/// the change and its reason, and no commit; `--allow-illegal` records it, marked with the
/// `Ssot-Illegal-Transition` trailer.
#[test]
fn commit_refuses_an_illegal_hand_edit_unless_allowed_and_then_marks_it() {
    let (_t, v) = init_vault();
    let text = std::fs::read_to_string(v.join(PROJECT)).expect("read");
    let edited = text.replace("status: matching\n", "status: active\n");
    std::fs::write(v.join(PROJECT), &edited).expect("edit");
    let line = edited
        .lines()
        .position(|l| l == "status: active")
        .expect("status line")
        + 1;
    let n = commits(&v);
    let o = run(&v, &["commit", "-m", "Kick-off"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "nothing committed: 1 status change the lifecycle does not allow:\n  {PROJECT}:{line}:1: illegal status change matching→active since the last commit: matching→active goes through proposed, accepted, credentialing: proposed requires an assigned expert: expert is empty\n"
        )),
        "{err}"
    );
    assert!(err.contains("`ssot-vault commit --allow-illegal`"), "{err}");
    assert_eq!(commits(&v), n, "no commit made");
    assert_eq!(
        std::fs::read_to_string(v.join(PROJECT)).expect("read"),
        edited,
        "the edit stays in the work tree"
    );
    assert_eq!(
        git(&v, &["status", "--porcelain", "-z"]),
        format!(" M {PROJECT}\0"),
        "nothing staged or committed"
    );

    let o = run(&v, &["commit", "-m", "Kick-off", "--allow-illegal"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(
        stdout(&o).contains(&format!(
            "  Ssot-Illegal-Transition: {PROJECT}: matching→active\n"
        )),
        "{}",
        out(&o)
    );
    assert_eq!(commits(&v), n + 1);
    assert_eq!(
        illegal_trailers(&v, "HEAD"),
        [format!("{PROJECT}: matching→active")]
    );
    assert!(head_message(&v).contains("Ssot-Source: vault\n"));
    assert_eq!(git(&v, &["status", "--porcelain"]), "");
}

/// A new project note that starts past intake is judged from intake, as `check` judges it.
#[test]
fn commit_judges_a_new_project_from_intake() {
    let (_t, v) = init_vault();
    crate::common::write(
        &v,
        "Projects/Imported.md",
        "---\ntype: project\nssot_id: 01M7W86HFSWM03FC030X7GYK4A\ncreated: 2026-11-20\nclient: \"[[Piekarnia Złoty Kłos]]\"\nstatus: done\n---\n",
    );
    let n = commits(&v);
    let o = run(&v, &["commit"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        stderr(&o).contains(
            "Projects/Imported.md:6:1: illegal status change intake→done for a new project, which starts at intake"
        ),
        "{}",
        out(&o)
    );
    assert_eq!(commits(&v), n);
    // Other changes commit as before.
    std::fs::remove_file(v.join("Projects/Imported.md")).expect("rm");
    let o = run(&v, &["set", NAME, "budget=50000"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let o = run(&v, &["commit"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(commits(&v), n + 1);
    assert!(illegal_trailers(&v, "HEAD").is_empty());
}

/// `sync` keeps running on an illegal hand edit: its pending-vault commit records the edit
/// (history stays complete) marked with the trailer, and the status is not carried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_records_an_illegal_hand_edit_marked_and_does_not_carry_it() {
    let e = Env::new("").await;
    e.sync().await;
    let text = e.note(PROJECT);
    std::fs::write(
        e.v.join(PROJECT),
        text.replace("status: matching\n", "status: active\n")
            .replace("budget: 45000\n", "budget: 47000\n"),
    )
    .expect("edit");
    let o = e.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(out(&o).contains("status matching→active"), "{}", out(&o));
    // The pending-vault commit is the one with `Ssot-Source: vault` after the first sync.
    let vault_commit = git(
        &e.v,
        &[
            "log",
            "--format=%H",
            "--grep=Ssot-Source: vault",
            "-1",
            "--",
            PROJECT,
        ],
    );
    let vault_commit = vault_commit.trim();
    assert!(!vault_commit.is_empty());
    assert_eq!(
        illegal_trailers(&e.v, vault_commit),
        [format!("{PROJECT}: matching→active")]
    );
    let msg = git(&e.v, &["log", "-1", "--format=%B", vault_commit]);
    assert!(msg.contains("status: matching → active"), "{msg}");
    assert_eq!(git(&e.v, &["status", "--porcelain"]), "");
    let sid = e.prop(PROJECT, "ssot_id").expect("sid");
    assert_eq!(
        e.record_by_ssot("deals", &sid)["properties"]["amount"],
        "47000",
        "the run went on with the note's other fields"
    );
}

/// The corpora the tests read are part of the repository (a fresh clone needs nothing beside
/// it), tracked by git, and each comes with its licence.
#[test]
fn the_corpora_are_in_the_repository_with_their_licences() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .canonicalize()
        .expect("repo");
    let dir = corpora().canonicalize().expect("corpora");
    assert!(
        dir.starts_with(&repo),
        "the corpora at {} are outside the repository {}",
        dir.display(),
        repo.display()
    );
    let tracked = std::process::Command::new("git")
        .args(["ls-files", "-z", "--", "tests/corpora"])
        .current_dir(&repo)
        .output()
        .expect("git ls-files");
    assert!(tracked.status.success(), "git ls-files failed");
    let tracked: std::collections::BTreeSet<String> = String::from_utf8(tracked.stdout)
        .expect("utf-8")
        .split('\0')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let on_disk: std::collections::BTreeSet<String> = walkdir::WalkDir::new(&dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(&repo).expect("in repo");
            rel.to_string_lossy().replace('\\', "/")
        })
        .collect();
    let untracked: Vec<&String> = on_disk.difference(&tracked).collect();
    assert!(
        untracked.is_empty(),
        "corpus files not in git: {untracked:?}"
    );
    let notes = |corpus: &str| {
        on_disk
            .iter()
            .filter(|p| p.starts_with(&format!("tests/corpora/{corpus}/")) && p.ends_with(".md"))
            .count()
    };
    // The figures of the corpora's README: 103 and 205 notes.
    assert_eq!(notes("kepano-obsidian"), 103);
    assert_eq!(notes("obsidian-tasks-demo"), 205);
    for licence in ["kepano-obsidian.LICENSE.txt", "obsidian-tasks.LICENSE.txt"] {
        let text = std::fs::read_to_string(dir.join("LICENSES").join(licence))
            .unwrap_or_else(|e| panic!("licence {licence}: {e}"));
        assert!(
            text.contains("MIT License"),
            "{licence} is not the MIT text"
        );
    }
}

/// A workflow command commits every change of the vault: its own legal move carries no mark,
/// and an illegal hand edit swept into its commit is recorded marked.
#[test]
fn a_workflow_commit_marks_an_illegal_hand_edit_it_sweeps_in() {
    let (_t, v) = init_vault();
    let o = run(&v, &["match", NAME, "--assign", "Anna Nowak"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(
        head_message(&v).contains("Ssot-Transition: matching→proposed"),
        "{}",
        head_message(&v)
    );
    assert!(
        illegal_trailers(&v, "HEAD").is_empty(),
        "{}",
        head_message(&v)
    );

    let text = std::fs::read_to_string(v.join(PROJECT)).expect("read");
    std::fs::write(
        v.join(PROJECT),
        text.replace("status: proposed\n", "status: active\n"),
    )
    .expect("edit");
    let o = run(
        &v,
        &[
            "ticket",
            "new",
            NAME,
            "--from",
            "client",
            "--subject",
            "Delivery area",
            "-m",
            "Do you deliver to Piaseczno?",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(git(&v, &["status", "--porcelain"]), "", "all committed");
    assert_eq!(
        illegal_trailers(&v, "HEAD"),
        [format!("{PROJECT}: proposed→active")]
    );
    assert!(head_message(&v).contains("status: proposed → active"));
}

/// `commit` judges exactly what `check` judges, whether it looks at the changed notes alone or
/// at the whole vault: an ignored folder is never judged, a move into `archived` asks about the
/// project's tickets.
#[test]
fn commit_judges_what_check_judges() {
    let (_t, v) = init_vault();
    let config = std::fs::read_to_string(v.join("ssot-vault.toml")).expect("config");
    std::fs::write(
        v.join("ssot-vault.toml"),
        config.replacen("ignore = []", "ignore = [\"Drafts/**\"]", 1),
    )
    .expect("config");
    let project = |status: &str, id: &str| {
        format!(
            "---\ntype: project\nssot_id: {id}\ncreated: 2026-11-20\nclient: \"[[Piekarnia Złoty Kłos]]\"\nstatus: {status}\n---\n"
        )
    };
    crate::common::write(
        &v,
        "Drafts/Sketch.md",
        project("matching", "01M7W86HFSWM03FC030X7GYK5A"),
    );
    crate::common::write(
        &v,
        "Projects/Bakery app.md",
        project("done", "01M7W86HFSWM03FC030X7GYK5B"),
    );
    crate::common::write(
        &v,
        "Helpdesk/Login fails.md",
        "---\ntype: ticket\nssot_id: 01M7W86HFSWM03FC030X7GYK5C\ncreated: 2026-11-21\nproject: \"[[Bakery app]]\"\nfrom: client\nstatus: open\n---\n",
    );
    git(&v, &["add", "-A"]);
    git(&v, &["commit", "-qm", "Drafts and a done project"]);

    // Ignored: neither check nor commit judges it.
    crate::common::write(
        &v,
        "Drafts/Sketch.md",
        project("active", "01M7W86HFSWM03FC030X7GYK5A"),
    );
    let o = run(&v, &["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let o = run(&v, &["commit", "-m", "Sketch"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(illegal_trailers(&v, "HEAD").is_empty());

    // Into archived with an open ticket (and no export): both refuse, for the same reason.
    let n = commits(&v);
    crate::common::write(
        &v,
        "Projects/Bakery app.md",
        project("archived", "01M7W86HFSWM03FC030X7GYK5B"),
    );
    let problem = "Projects/Bakery app.md:6:1: illegal status change done→archived since the last commit: archived requires every ticket closed: ticket Login fails is not closed";
    let o = run(&v, &["check"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        stdout(&o).contains(&format!("{problem}\n").replace(": illegal", ": error: illegal")),
        "{}",
        out(&o)
    );
    let o = run(&v, &["commit", "-m", "Archive"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        stderr(&o).contains(&format!("  {problem}\n")),
        "{}",
        out(&o)
    );
    assert_eq!(commits(&v), n);
}

/// `--remove` cannot take a project's `status` (or any required key) away: a note without a
/// status would leave the lifecycle and come back into it from anywhere.
#[test]
fn set_cannot_remove_a_required_key() {
    let (_t, v) = init_vault();
    let before = snapshot_tree(&v);
    for key in ["status", "ssot_id"] {
        let o = run(&v, &["set", NAME, "budget=1", "--remove", key]);
        assert_eq!(o.status.code(), Some(1), "{}", out(&o));
        assert!(
            stderr(&o).contains(&format!(
                "{PROJECT}: `{key}` is required in a project note and cannot be removed"
            )),
            "{}",
            out(&o)
        );
        assert_eq!(snapshot_tree(&v), before);
    }
    // An optional key goes.
    let o = run(&v, &["set", NAME, "--remove", "priority"]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(
        !std::fs::read_to_string(v.join(PROJECT))
            .expect("read")
            .contains("priority:")
    );
}
