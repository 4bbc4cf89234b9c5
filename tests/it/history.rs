//! `status`, `commit` and `log` on real git repositories: field-level status, audit commits with
//! trailers, the field history across commits and authors, unreadable notes, JSON output.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use git2::Repository;
use ssot_vault::history::{self, CommitRequest};

const WEBSITE: &str = "---\ntype: project\nstatus: intake\nclient: \"[[Acme Corp]]\"\nbudget: 12000\n---\n# Website redesign\n\nKick-off in May.\n";
const ACME: &str =
    "---\ntype: client\nname: Acme Corp\nemail: office@acme.example\n---\n# Acme Corp\n";

/// A vault in a temporary folder, with git history.
struct Vault {
    dir: tempfile::TempDir,
}

impl Vault {
    /// A vault with two notes and a first commit made by `init_repo` (author from the repository's
    /// git config).
    fn new() -> Vault {
        let v = Vault::bare();
        let repo = git2::Repository::init(v.root()).expect("git init");
        let mut cfg = repo.config().expect("config");
        cfg.set_str("user.name", "Setup Bot").expect("set name");
        cfg.set_str("user.email", "setup@example.com")
            .expect("set email");
        history::init_repo(v.root(), "Create vault").expect("init_repo");
        v
    }

    /// The same files, no repository.
    fn bare() -> Vault {
        let dir = tempfile::tempdir().expect("tempdir");
        let v = Vault { dir };
        v.write("ssot-vault.toml", "");
        v.write(".gitignore", ".ssot/\n");
        v.write("Projects/Website redesign.md", WEBSITE);
        v.write("Clients/Acme Corp.md", ACME);
        v
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root().join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).expect("read")
    }

    fn replace(&self, rel: &str, from: &str, to: &str) {
        let t = self.read(rel);
        assert!(t.contains(from), "{rel} has no {from:?}");
        self.write(rel, &t.replacen(from, to, 1));
    }

    /// The binary, run in the vault as Anna.
    fn cmd(&self) -> Command {
        self.cmd_as("Anna Nowak", "anna@example.com")
    }

    fn cmd_as(&self, name: &str, email: &str) -> Command {
        let mut c = Command::cargo_bin("ssot-vault").expect("binary");
        c.current_dir(self.root())
            .env("GIT_AUTHOR_NAME", name)
            .env("GIT_AUTHOR_EMAIL", email)
            .env("NO_COLOR", "1")
            .env_remove("SSOT_VAULT");
        c
    }

    /// Runs the binary with `args`; asserts exit 0; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        run_ok(self.cmd(), args)
    }

    fn repo(&self) -> Repository {
        Repository::open(self.root()).expect("open repo")
    }

    fn head_message(&self) -> String {
        let repo = self.repo();
        let head = repo.head().expect("head").peel_to_commit().expect("commit");
        head.message().expect("utf-8 message").to_string()
    }

    fn commit_count(&self) -> usize {
        let repo = self.repo();
        let mut walk = repo.revwalk().expect("revwalk");
        walk.push_head().expect("push head");
        walk.count()
    }
}

fn run_ok(mut c: Command, args: &[&str]) -> String {
    let out = c.args(args).output().expect("run");
    let stdout = String::from_utf8(out.stdout).expect("utf-8 stdout");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "ssot-vault {args:?} failed ({:?}):\n{stdout}\n{stderr}",
        out.status.code()
    );
    stdout
}

/// Replaces commit ids and dates in CLI output, for snapshots.
fn snapshot_settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(
        r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}[+-]\d{2}:\d{2})?",
        "[date]",
    );
    s.add_filter(r"\b[0-9a-f]{7,40}\b", "[commit]");
    s
}

#[test]
fn init_repo_makes_the_first_commit_on_main() {
    let v = Vault::new();
    let repo = v.repo();
    assert_eq!(repo.head().expect("head").shorthand(), Ok("main"));
    assert_eq!(v.commit_count(), 1);
    let msg = v.head_message();
    assert!(msg.starts_with("Create vault\n\n"), "{msg}");
    assert!(
        msg.contains("Projects/Website redesign.md: + status: intake\n"),
        "{msg}"
    );
    assert!(msg.ends_with("\n\nSsot-Source: vault\n"), "{msg}");
    if std::env::var_os("GIT_AUTHOR_NAME").is_none() {
        let head = repo.head().expect("head").peel_to_commit().expect("commit");
        assert_eq!(head.author().name(), Ok("Setup Bot"));
    }
    // Every file was committed: nothing left to commit, and a second init is refused.
    assert_eq!(v.ok(&["status"]), "nothing to commit\n");
    let err = history::init_repo(v.root(), "again").expect_err("second init");
    assert!(
        err.to_string().contains("already a git repository"),
        "{err}"
    );
}

#[test]
fn status_shows_exactly_the_edited_field() {
    let v = Vault::new();
    v.replace(
        "Projects/Website redesign.md",
        "status: intake",
        "status: matching",
    );
    let out = v.ok(&["status"]);
    assert_eq!(
        out,
        "M Projects/Website redesign.md\n  status: intake → matching\n"
    );

    // Added and removed keys, body lines, a new note in a new folder, an ignored file.
    v.replace(
        "Clients/Acme Corp.md",
        "email: office@acme.example\n",
        "phone: \"+48 600 100 200\"\n",
    );
    v.replace(
        "Projects/Website redesign.md",
        "Kick-off in May.\n",
        "Kick-off in June.\nBudget agreed.\n",
    );
    v.write(
        "People/New/Jan Kowalski.md",
        "---\ntype: person\nrate: 120\n---\n",
    );
    v.write(".ssot/base.json", "{}");
    v.write("assets/logo.svg", "<svg/>");
    let out = v.ok(&["status"]);
    insta::with_settings!({}, {
        insta::assert_snapshot!("status_several_changes", out)
    });
    assert!(!out.contains(".ssot"), "ignored files must not show: {out}");
}

#[test]
fn status_lists_deleted_and_renamed_notes() {
    let v = Vault::new();
    std::fs::remove_file(v.path("Clients/Acme Corp.md")).expect("rm");
    std::fs::rename(
        v.path("Projects/Website redesign.md"),
        v.path("Projects/Website.md"),
    )
    .expect("mv");
    v.replace("Projects/Website.md", "budget: 12000", "budget: 15000");
    let out = v.ok(&["status"]);
    assert_eq!(
        out,
        "D Clients/Acme Corp.md\nR Projects/Website redesign.md → Projects/Website.md\n  budget: 12000 → 15000\n"
    );
}

#[test]
fn commit_writes_one_audit_commit_with_trailer() {
    let v = Vault::new();
    assert_eq!(v.ok(&["commit"]), "nothing to commit\n");
    v.replace(
        "Projects/Website redesign.md",
        "status: intake",
        "status: matching",
    );
    v.write("Clients/Beta.md", "---\ntype: client\nname: Beta\n---\n");
    let out = v.ok(&["commit"]);
    snapshot_settings().bind(|| insta::assert_snapshot!("commit_output", out));
    assert_eq!(v.commit_count(), 2);
    let msg = v.head_message();
    insta::assert_snapshot!("commit_message", msg);
    assert!(
        msg.contains("Projects/Website redesign.md: status: intake → matching\n"),
        "{msg}"
    );
    assert!(msg.ends_with("\n\nSsot-Source: vault\n"), "{msg}");
    let repo = v.repo();
    let head = repo.head().expect("head").peel_to_commit().expect("commit");
    assert_eq!(head.author().name(), Ok("Anna Nowak"));
    assert_eq!(head.committer().email(), Ok("anna@example.com"));
    assert_eq!(head.parent_count(), 1);
    // Clean afterwards; a second commit makes nothing.
    assert_eq!(v.ok(&["status"]), "nothing to commit\n");
    assert_eq!(v.ok(&["commit", "-m", "again"]), "nothing to commit\n");
    assert_eq!(v.commit_count(), 2);
}

#[test]
fn commit_stages_deletions_and_takes_a_message() {
    let v = Vault::new();
    std::fs::remove_file(v.path("Clients/Acme Corp.md")).expect("rm");
    let out = v.ok(&["commit", "-m", "Drop Acme"]);
    assert!(
        out.starts_with("committed ") && out.ends_with(": Drop Acme\n"),
        "{out}"
    );
    assert_eq!(
        v.head_message(),
        "Drop Acme\n\nClients/Acme Corp.md: deleted\n\nSsot-Source: vault\n"
    );
    let repo = v.repo();
    let tree = repo.head().expect("head").peel_to_tree().expect("tree");
    assert!(
        tree.get_path(Path::new("Clients/Acme Corp.md")).is_err(),
        "deleted note still in the tree"
    );
}

#[test]
fn log_shows_a_field_history_across_commits_authors_and_sources() {
    let v = Vault::new();
    let note = "Projects/Website redesign.md";
    v.replace(note, "status: intake", "status: matching");
    run_ok(v.cmd_as("Anna Nowak", "anna@example.com"), &["commit"]);
    v.replace(note, "budget: 12000", "budget: 14000");
    run_ok(v.cmd_as("Bob Smith", "bob@example.com"), &["commit"]);
    // A sync run commits through the library, with its source, run and transition trailers.
    v.replace(note, "status: matching", "status: active");
    let req = CommitRequest {
        message: None,
        source: "hubspot".into(),
        trailers: vec![
            ("Ssot-Run".into(), "run-7".into()),
            ("Ssot-Transition".into(), "matching→active".into()),
        ],
        author: Some(("HubSpot sync".into(), "sync@example.com".into())),
    };
    let info = history::commit(v.root(), &req)
        .expect("commit")
        .expect("something to commit");
    assert_eq!(info.summary, "Update 1 note: Website redesign");
    // git itself reads the trailers (libgit2's trailer parser, as `git interpret-trailers`).
    let parsed = git2::message_trailers_strs(&v.head_message()).expect("trailers");
    let pairs: Vec<(&str, &str)> = parsed.iter().collect();
    assert_eq!(
        pairs,
        [
            ("Ssot-Source", "hubspot"),
            ("Ssot-Run", "run-7"),
            ("Ssot-Transition", "matching→active")
        ]
    );
    assert_eq!(v.commit_count(), 4);

    let out = v.ok(&["log", note, "--field", "status"]);
    snapshot_settings().bind(|| insta::assert_snapshot!("log_field_status", out));
    let headers: Vec<&str> = out
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.is_empty())
        .collect();
    assert_eq!(headers.len(), 3, "{out}");
    assert!(headers[0].contains(" HubSpot sync (hubspot) "), "{out}");
    assert!(headers[1].contains(" Anna Nowak (vault) "), "{out}");
    assert!(
        headers[2].contains(" Setup Bot (vault) ") || std::env::var_os("GIT_AUTHOR_NAME").is_some(),
        "{out}"
    );
    assert!(!out.contains("budget"), "filtered by field: {out}");

    // The same from inside the folder, relative to it, without `.md`.
    let mut c = v.cmd();
    c.current_dir(v.path("Projects"));
    assert_eq!(
        run_ok(c, &["log", "Website redesign", "--field", "status"]),
        out
    );

    // The whole vault's log has every note and the budget change by Bob.
    let all = v.ok(&["log"]);
    assert!(all.contains("Bob Smith (vault)"), "{all}");
    assert!(
        all.contains("  Projects/Website redesign.md: budget: 12000 → 14000\n"),
        "{all}"
    );
    assert!(all.contains("  Clients/Acme Corp.md: added\n"), "{all}");
}

#[test]
fn log_follows_a_renamed_note() {
    let v = Vault::new();
    std::fs::rename(
        v.path("Projects/Website redesign.md"),
        v.path("Projects/Website.md"),
    )
    .expect("mv");
    v.ok(&["commit"]);
    v.replace("Projects/Website.md", "status: intake", "status: matching");
    v.ok(&["commit"]);
    let out = v.ok(&["log", "Projects/Website.md"]);
    snapshot_settings().bind(|| insta::assert_snapshot!("log_renamed", out));
    assert!(
        out.contains("Projects/Website redesign.md → Projects/Website.md: renamed"),
        "{out}"
    );
    assert!(
        out.contains("Projects/Website redesign.md: + status: intake"),
        "{out}"
    );
}

#[test]
fn broken_frontmatter_is_reported_not_fatal() {
    let v = Vault::new();
    v.write("Clients/Acme Corp.md", "---\nname: [Acme\n---\n");
    v.replace(
        "Projects/Website redesign.md",
        "status: intake",
        "status: matching",
    );
    let out = v.ok(&["status"]);
    snapshot_settings().bind(|| insta::assert_snapshot!("status_unreadable", out));
    assert!(
        out.contains("M Clients/Acme Corp.md\n  unreadable: new version, line "),
        "{out}"
    );
    assert!(out.contains("  status: intake → matching\n"), "{out}");
    let json: serde_json::Value = serde_json::from_str(&v.ok(&["status", "--json"])).expect("json");
    let acme = &json[0];
    assert_eq!(acme["path"], "Clients/Acme Corp.md");
    assert!(
        acme["diff"]["unreadable"]
            .as_str()
            .is_some_and(|s| s.contains("invalid YAML")),
        "{json}"
    );
    // It can be committed (the vault is the truth, broken or not), and the log says so.
    v.ok(&["commit"]);
    assert!(
        v.head_message()
            .contains("Clients/Acme Corp.md: unreadable: new version")
    );
    let log = v.ok(&["log", "Clients/Acme Corp.md"]);
    assert!(log.contains("unreadable"), "{log}");
}

#[test]
fn json_outputs_parse() {
    let v = Vault::new();
    let clean: serde_json::Value =
        serde_json::from_str(&v.ok(&["status", "--json"])).expect("status json");
    assert_eq!(clean, serde_json::json!([]));
    v.replace(
        "Projects/Website redesign.md",
        "status: intake",
        "status: matching",
    );
    let st: serde_json::Value =
        serde_json::from_str(&v.ok(&["status", "--json"])).expect("status json");
    assert_eq!(
        st,
        serde_json::json!([{
            "path": "Projects/Website redesign.md",
            "kind": "modified",
            "diff": {"fields": [{"key": "status", "old": "intake", "new": "matching"}], "body": null, "unreadable": null}
        }])
    );
    let c: serde_json::Value =
        serde_json::from_str(&v.ok(&["commit", "--json"])).expect("commit json");
    assert_eq!(c["summary"], "Update 1 note: Website redesign");
    assert_eq!(c["short_id"].as_str().map(str::len), Some(7));
    let none: serde_json::Value =
        serde_json::from_str(&v.ok(&["commit", "--json"])).expect("commit json");
    assert!(none.is_null());
    let log: serde_json::Value =
        serde_json::from_str(&v.ok(&["log", "--json", "--field", "status"])).expect("log json");
    let entries = log.as_array().expect("array");
    assert_eq!(entries.len(), 2, "{log}");
    assert_eq!(entries[0]["author"], "Anna Nowak");
    assert_eq!(entries[0]["source"], "vault");
    assert_eq!(
        entries[0]["changes"],
        serde_json::json!([{"key": "status", "old": "intake", "new": "matching"}])
    );
    assert_eq!(entries[1]["kind"], "added");
    assert!(
        entries[0]["date"]
            .as_str()
            .is_some_and(|d| d.len() == 25 && d.as_bytes()[10] == b'T'),
        "{log}"
    );
}

#[test]
fn not_a_repository_has_a_hint() {
    let v = Vault::bare();
    for args in [&["status"][..], &["commit"], &["log"]] {
        let out = v.cmd().args(args).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("not a git repository"), "{err}");
        assert!(
            err.contains("hint:") && err.contains("ssot-vault init") && err.contains("git init"),
            "{err}"
        );
    }
}

#[test]
fn commit_without_an_author_says_how_to_set_one() {
    let v = Vault::new();
    let system = git2::Config::find_system()
        .ok()
        .and_then(|p| git2::Config::open(&p).ok());
    if system.is_some_and(|c| c.get_string("user.name").is_ok()) {
        return; // The machine's system config names an author: nothing to test here.
    }
    let home = tempfile::tempdir().expect("home");
    v.replace(
        "Projects/Website redesign.md",
        "status: intake",
        "status: matching",
    );
    // The repository config of `Vault::new` names the setup author: remove it.
    let mut cfg = v
        .repo()
        .config()
        .expect("config")
        .open_level(git2::ConfigLevel::Local)
        .expect("local");
    cfg.remove("user.name").expect("rm name");
    cfg.remove("user.email").expect("rm email");
    let out = v
        .cmd()
        .env_remove("GIT_AUTHOR_NAME")
        .env_remove("GIT_AUTHOR_EMAIL")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .args(["commit"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("git config user.name") && err.contains("user.email"),
        "{err}"
    );
    assert_eq!(v.commit_count(), 1);
}

#[test]
fn unborn_head_status_commit_and_log() {
    let v = Vault::bare();
    Repository::init(v.root()).expect("git init");
    assert_eq!(v.ok(&["log"]), "no recorded changes\n");
    let out = v.ok(&["status"]);
    assert!(
        out.starts_with("A .gitignore\nA Clients/Acme Corp.md\n  + type: client\n"),
        "{out}"
    );
    let out = v.ok(&["commit"]);
    assert!(
        out.ends_with(": Add 2 notes: Acme Corp, Website redesign\n"),
        "{out}"
    );
    assert_eq!(v.commit_count(), 1);
    assert_eq!(v.ok(&["status"]), "nothing to commit\n");
    let log = v.ok(&["log", "--field", "status"]);
    assert!(
        log.contains("Anna Nowak (vault)") && log.contains("+ status: intake"),
        "{log}"
    );
}
