//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The real binary, with a fixed git identity and no colours.
pub fn bin() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("ssot-vault").expect("binary built");
    c.env("GIT_AUTHOR_NAME", "Test User")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test User")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("NO_COLOR", "1")
        .env_remove("SSOT_VAULT")
        .env_remove("RUST_LOG");
    c
}

/// `ssot-vault --vault V ARGS` of the real binary started as a child process, to be killed
/// (`kill_9_when`): the test identity of [`bin`], `envs` added, its output dropped.
pub fn spawn<K, V>(
    v: &Path,
    args: &[&str],
    envs: impl IntoIterator<Item = (K, V)>,
) -> std::process::Child
where
    K: AsRef<std::ffi::OsStr>,
    V: AsRef<std::ffi::OsStr>,
{
    std::process::Command::new(assert_cmd::cargo::cargo_bin("ssot-vault"))
        .arg("--vault")
        .arg(v)
        .args(args)
        .envs(envs)
        .env("GIT_AUTHOR_NAME", "Test User")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test User")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("NO_COLOR", "1")
        .env_remove("SSOT_VAULT")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn")
}

/// Kills `child` with SIGKILL as soon as `reached` holds (looked at every `every`, at most
/// `tries` times) or the child has ended, and reaps it: whether `reached` held, and how the
/// child ended.
pub fn kill_9_when(
    child: &mut std::process::Child,
    tries: usize,
    every: std::time::Duration,
    mut reached: impl FnMut() -> bool,
) -> (bool, std::process::ExitStatus) {
    let mut hit = false;
    for _ in 0..tries {
        hit = reached();
        if hit || child.try_wait().ok().flatten().is_some() {
            break;
        }
        std::thread::sleep(every);
    }
    let _ = child.kill();
    (hit, child.wait().expect("wait"))
}

/// The corpora of real vaults kept in the repository (`tests/corpora`, with their licences).
pub fn corpora() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpora");
    assert!(
        p.is_dir(),
        "the corpora are missing at {}: they are part of the repository (see README, The two commands)",
        p.display()
    );
    p
}

/// Copies a folder tree (the corpora are read-only: tests work on copies).
pub fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.expect("walk");
        let rel = e.path().strip_prefix(from).expect("prefix");
        let dest = to.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
        } else {
            std::fs::copy(e.path(), &dest).expect("copy");
            let mut perm = std::fs::metadata(&dest).expect("meta").permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perm.set_readonly(false);
            std::fs::set_permissions(&dest, perm).expect("chmod");
        }
    }
}

/// Every file under `root` (relative path → bytes), `.git` excluded.
pub fn snapshot_tree(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_entry(|e| e.file_name() != ".git")
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(root)
                .expect("prefix")
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read(e.path()).expect("read"))
        })
        .collect()
}

/// Writes a file, making folders.
pub fn write(root: &Path, rel: &str, bytes: impl AsRef<[u8]>) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, bytes).expect("write");
}

/// A new vault made by `ssot-vault init` in a temp dir.
pub fn init_vault() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().expect("tempdir");
    let v = t.path().join("vault");
    bin().arg("init").arg(&v).assert().success();
    (t, v)
}
