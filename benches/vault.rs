//! Benchmarks of whole-vault operations on a generated 10,000-note vault with git history.
//!
//! The vault is generated once per process (in a temporary folder, removed at the end) and shared
//! by every benchmark. `git_status_10k` is the baseline: `ssot-vault status` must stay within 3×
//! of `git status --porcelain` on the same vault. `check_10k_uncommitted_projects` uses a second
//! copy whose project notes are new (not in the last commit, as after an import): it must cost at
//! most 2× `check_10k`.
//!
//! Run: `cargo bench --features gen --bench vault`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ssot_vault::config::Config;
use ssot_vault::r#gen::{GenOptions, generate};
use ssot_vault::vault::index::Index;
use ssot_vault::vault::schema::Schema;

const NOTES: usize = 10_000;

static VAULT: OnceLock<tempfile::TempDir> = OnceLock::new();
static UNCOMMITTED: OnceLock<tempfile::TempDir> = OnceLock::new();

/// A generated vault of [`NOTES`] notes with its first commit, in a new temporary folder;
/// `before_status` changes it before git's index is settled.
fn generated(prefix: &str, before_status: impl FnOnce(&Path)) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("temporary folder");
    let opts = GenOptions {
        notes: NOTES,
        seed: 1,
        with_git: true,
    };
    generate(dir.path(), &opts).expect("generate the bench vault");
    before_status(dir.path());
    // Files written in the same second as the git index are "racily clean" and would be
    // re-hashed by every status: wait, then let git refresh its index once, as it does for any
    // user after the first `git status`.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    git_status(dir.path());
    dir
}

/// The shared vault, generated on first use.
fn vault() -> &'static Path {
    VAULT
        .get_or_init(|| generated("ssot-bench-", |_| {}))
        .path()
}

/// The same vault, but its project notes added after the commit: every project is new to git.
fn vault_with_new_projects() -> &'static Path {
    UNCOMMITTED
        .get_or_init(|| {
            generated("ssot-bench-new-", |root| {
                git(root, &["rm", "-r", "-q", "--cached", "Projects"]);
                git(root, &["commit", "-q", "-m", "everything but the projects"]);
            })
        })
        .path()
}

fn git(root: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(root)
        .env("GIT_AUTHOR_NAME", "bench")
        .env("GIT_AUTHOR_EMAIL", "bench@localhost")
        .env("GIT_COMMITTER_NAME", "bench")
        .env("GIT_COMMITTER_EMAIL", "bench@localhost")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn git_status(root: &Path) -> usize {
    let out = std::process::Command::new("git")
        .args(["status", "--porcelain"])
        .current_dir(root)
        .output()
        .expect("run git");
    assert!(out.status.success(), "git status failed");
    out.stdout.len()
}

/// What `ssot-vault status` does on an unchanged vault.
fn ssot_status(root: &Path) -> usize {
    ssot_vault::history::status(root).expect("status").len()
}

fn config(root: &Path) -> Config {
    Config::load(root).expect("configuration")
}

/// `ssot-vault check`: index the vault, validate every note, judge hand-made status changes.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn check_10k(bencher: divan::Bencher) {
    let root = vault();
    let config = config(root);
    let schema = Schema::from_config(&config).expect("schema");
    bencher.bench(|| {
        let report = ssot_vault::cli::check::vault_report(root, &config, &schema).expect("check");
        assert_eq!(report.errors(), 0);
        report.problems.len()
    });
}

/// `ssot-vault check` on the vault whose 4,500 project notes are new (not committed): every
/// project's status is judged from `intake` by the lifecycle's guards.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn check_10k_uncommitted_projects(bencher: divan::Bencher) {
    let root = vault_with_new_projects();
    let config = config(root);
    let schema = Schema::from_config(&config).expect("schema");
    bencher.bench(|| {
        let report = ssot_vault::cli::check::vault_report(root, &config, &schema).expect("check");
        assert!(report.notes >= NOTES, "every note read");
        report.problems.len()
    });
}

/// Walking and parsing the vault alone.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn index_10k(bencher: divan::Bencher) {
    let root = vault();
    let config = config(root);
    bencher.bench(|| Index::build(root, &config).entries.len());
}

/// `ssot-vault status` on a vault without changes.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn status_10k_unchanged(bencher: divan::Bencher) {
    let root = vault();
    bencher.bench(|| {
        let n = ssot_status(root);
        assert_eq!(n, 0, "the vault is unchanged");
        n
    });
}

/// The baseline: `git status --porcelain` in the same vault.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn git_status_10k(bencher: divan::Bencher) {
    let root = vault();
    bencher.bench(|| git_status(root));
}

fn main() {
    divan::main();
    // Remove the vaults (a static is never dropped).
    for dir in [VAULT.get(), UNCOMMITTED.get()].into_iter().flatten() {
        let path: PathBuf = dir.path().to_path_buf();
        let _ = std::fs::remove_dir_all(path);
    }
}
