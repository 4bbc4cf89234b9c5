//! Git's own lock files left by a command that was killed in the middle of a commit.
//!
//! Git (and libgit2) write `index.lock`, `HEAD.lock` and `refs/heads/<branch>.lock` while they
//! change those files and rename them into place at the end: a process killed in between leaves
//! the lock file, and every later commit fails on it ("the index is locked"). Git never removes
//! them itself. The vault lock tells us when such a file is ours to remove: the command that
//! last held the vault lock ended without letting go, and the git lock file was made after that
//! command started. A git process of someone else's (obsidian-git, a terminal) may be at work at
//! the same moment, so a lock file that changes or goes away while we look is left alone.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How long a git lock file must stay as it is before it counts as abandoned.
const SETTLE: Duration = Duration::from_millis(300);

/// Removes the git lock files of the vault at `root` made at or after `since` (when the command
/// that died took the vault lock) and unchanged for a moment. Returns the files removed.
pub fn clear_abandoned(root: &Path, since: SystemTime) -> Vec<PathBuf> {
    let git = root.join(".git");
    let mut found: Vec<(PathBuf, SystemTime, u64)> = Vec::new();
    let mut consider = |p: PathBuf| {
        if let Ok(m) = std::fs::symlink_metadata(&p)
            && m.is_file()
            && let Ok(t) = m.modified()
            && t + Duration::from_secs(1) >= since
        {
            found.push((p, t, m.len()));
        }
    };
    consider(git.join("index.lock"));
    consider(git.join("HEAD.lock"));
    if let Ok(dir) = std::fs::read_dir(git.join("refs").join("heads")) {
        for e in dir.flatten() {
            if e.file_name().to_string_lossy().ends_with(".lock") {
                consider(e.path());
            }
        }
    }
    if found.is_empty() {
        return Vec::new();
    }
    std::thread::sleep(SETTLE);
    let mut removed = Vec::new();
    for (p, t, len) in found {
        let unchanged = std::fs::symlink_metadata(&p)
            .is_ok_and(|m| m.len() == len && m.modified().is_ok_and(|t2| t2 == t));
        if unchanged && std::fs::remove_file(&p).is_ok() {
            removed.push(p);
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lock_files_made_since_the_dead_command_started_are_removed() {
        let d = tempfile::tempdir().unwrap();
        let git = d.path().join(".git");
        std::fs::create_dir_all(git.join("refs/heads")).unwrap();
        let before = SystemTime::now() - Duration::from_secs(3600);
        std::fs::write(git.join("index.lock"), b"x").unwrap();
        std::fs::write(git.join("refs/heads/main.lock"), b"y").unwrap();
        std::fs::write(git.join("index"), b"keep").unwrap();
        // Made before the dead command started: someone else's, left alone.
        let removed = clear_abandoned(d.path(), SystemTime::now() + Duration::from_secs(60));
        assert!(removed.is_empty());
        assert!(git.join("index.lock").exists());
        let mut removed = clear_abandoned(d.path(), before);
        removed.sort();
        assert_eq!(
            removed,
            vec![git.join("index.lock"), git.join("refs/heads/main.lock")]
        );
        assert!(git.join("index").exists(), "only lock files");
    }
}
