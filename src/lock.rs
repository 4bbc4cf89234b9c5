//! The vault lock: one writer at a time.
//!
//! Every command that writes notes or makes a git commit as a step of its own (`sync`, `commit`,
//! `set`, `new`, `project`, `intake`, `ticket`, `archive`, `match --assign`, `resolve`; later
//! the `watch` daemon during its runs) holds this lock for its whole run, so two of them never
//! interleave their note writes or their use of git's index. Read-only commands and
//! `sync --dry-run` take no lock.
//!
//! The lock is the file `.ssot/lock`, held through the operating system's advisory lock on it
//! (`flock` on Unix, `LockFileEx` on Windows, taken with [`File::try_lock`]), and holding, while
//! held, the holder's pid, command and start time (JSON) for the message a second command prints.
//! The kernel decides who holds it, atomically, and frees it when the holder ends in any way
//! (exit, panic, `kill -9`, power loss): a lock whose holder is gone is free, whatever its file
//! says, and a recycled pid never keeps a vault locked. A lock file left by a holder that ended
//! without letting go (killed) is taken over with a message naming that holder.
//!
//! The holder deletes the file when it lets go ([`Drop`], which also runs when the command
//! panics), then unlocks it, and removes `.ssot/` again when it made the folder and the folder is
//! empty: a command leaves no trace in a vault that has no sync state. A command that opened the
//! file just before it was deleted may then lock the deleted file: so a lock counts only when
//! the path still names the file locked (same device and inode), else the command tries again.
//!
//! The commits of ssot-vault never stage `.ssot/` (`crate::history`), so neither the lock nor
//! the sync state lands in git, even in a vault whose `.gitignore` does not list `.ssot/`.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The lock file, under the vault's `.ssot/` folder.
pub const FILE: &str = "lock";

/// The `watch` daemon's lock file under `.ssot/`: one daemon per vault, and no manual `sync` beside
/// it (other commands take the vault's lock between the daemon's runs).
pub const DAEMON_FILE: &str = "watch.lock";

/// Who holds (or last held) the lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The holder's process id.
    pub pid: u32,
    /// The command it runs (`sync`, `set`, `project accept`, ...).
    pub command: String,
    /// When it took the lock (RFC 3339, UTC, seconds).
    pub since: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`ssot-vault {}` (pid {}, since {})",
            self.command, self.pid, self.since
        )
    }
}

/// The lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another command holds it.
    #[error("the vault is busy: {} holds its lock ({})", holder_text(.holder), .path.display())]
    Held {
        /// The lock file.
        path: PathBuf,
        /// The holder, when its file could be read.
        holder: Option<Holder>,
    },
    /// I/O on the lock file or its folder.
    #[error("{}: cannot take the vault lock: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

impl LockError {
    /// Whether the lock held is the `watch` daemon's ([`DAEMON_FILE`]).
    pub fn is_daemon_lock(&self) -> bool {
        matches!(self, LockError::Held { path, .. } if path.file_name().is_some_and(|f| f == DAEMON_FILE))
    }
}

fn holder_text(h: &Option<Holder>) -> String {
    match h {
        Some(h) => h.to_string(),
        None => "another ssot-vault command".to_string(),
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> LockError + '_ {
    move |source| LockError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The lock, held until dropped.
#[derive(Debug)]
pub struct VaultLock {
    file: File,
    path: PathBuf,
    took_over: Option<Holder>,
    /// `.ssot/`, when this lock made it (removed again on release when empty).
    made_dir: Option<PathBuf>,
}

/// The lock file of the vault at `root`.
pub fn path(root: &Path) -> PathBuf {
    root.join(crate::sync::state::DIR).join(FILE)
}

/// Reads the holder described by an open lock file (`None`: empty or unreadable).
fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim()).ok()
}

/// Whether `path` still names the open `file` (it was not deleted or replaced meanwhile).
fn still_named(file: &File, path: &Path) -> bool {
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => same_file(&a, &b),
        _ => false,
    }
}

#[cfg(unix)]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Elsewhere (Windows) the creation time stands in for the inode.
#[cfg(not(unix))]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    a.created().ok() == b.created().ok()
}

/// How often a command tries again when the lock file is deleted under it (by a holder letting go).
const ATTEMPTS: u32 = 50;

impl VaultLock {
    /// Takes the lock of the vault at `root` for `command`, or says who holds it. Never waits
    /// for a holder.
    pub fn acquire(root: &Path, command: &str) -> Result<VaultLock, LockError> {
        Self::acquire_file(root, FILE, command)
    }

    /// Takes the lock file `file` of `.ssot/` for `command`, as [`VaultLock::acquire`] takes the
    /// vault's: [`DAEMON_FILE`] is the `watch` daemon's, held for its whole life, while it takes
    /// the vault's lock only for each of its runs.
    pub fn acquire_file(root: &Path, file: &str, command: &str) -> Result<VaultLock, LockError> {
        let dir = root.join(crate::sync::state::DIR);
        let made_dir = (!dir.exists()).then(|| dir.clone());
        let path = dir.join(file);
        let mut attempt = 0;
        let mut file = loop {
            attempt += 1;
            fs::create_dir_all(&dir).map_err(io_err(&dir))?;
            let mut file = match OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
            {
                Ok(f) => f,
                // The folder was removed by a holder letting go: again.
                Err(e) if e.kind() == io::ErrorKind::NotFound && attempt < ATTEMPTS => continue,
                Err(e) => return Err(io_err(&path)(e)),
            };
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    // The holder writes its description right after taking the lock: give it a
                    // moment when the file is still empty.
                    let mut holder = None;
                    for _ in 0..10 {
                        holder = read_holder(&mut file);
                        if holder.is_some() {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    return Err(LockError::Held { path, holder });
                }
                Err(TryLockError::Error(e)) => return Err(io_err(&path)(e)),
            }
            if still_named(&file, &path) {
                break file;
            }
            // We locked a file its holder had just deleted on letting go: again.
            drop(file);
            if attempt >= ATTEMPTS {
                return Err(io_err(&path)(io::Error::other(
                    "the lock file keeps being replaced",
                )));
            }
        };
        // Ours now. A description left in the file is of a holder that ended without letting go.
        let took_over = read_holder(&mut file);
        let me = Holder {
            pid: std::process::id(),
            command: command.to_string(),
            since: jiff::Timestamp::now()
                .round(jiff::Unit::Second)
                .unwrap_or_else(|_| jiff::Timestamp::now())
                .to_string(),
        };
        let text = serde_json::to_string(&me).map_err(|e| io_err(&path)(io::Error::other(e)))?;
        (|| -> io::Result<()> {
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            file.write_all(format!("{text}\n").as_bytes())?;
            file.sync_data()
        })()
        .map_err(io_err(&path))?;
        Ok(VaultLock {
            file,
            path,
            took_over,
            made_dir,
        })
    }

    /// The holder whose lock this one took over: it ended without letting go (killed, crashed).
    pub fn took_over(&self) -> Option<&Holder> {
        self.took_over.as_ref()
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Lets go of the lock (as dropping it does).
    pub fn release(self) {}
}

/// A lock file as a reader finds it, without taking it for more than a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// No lock file: nobody holds it.
    Free,
    /// Held by a live process (its description, when readable).
    Held(Option<Holder>),
    /// A lock file nobody holds: left by a holder that ended without letting go (`kill -9`, a
    /// crash). The next command to take the lock takes it over.
    Stale(Option<Holder>),
}

/// How the lock file `file` of `.ssot/` of the vault at `root` stands (read-only: the file is
/// never changed; a shared lock is tried on it for a moment, which a holder's lock refuses).
pub fn probe(root: &Path, file: &str) -> Result<Probe, LockError> {
    let path = root.join(crate::sync::state::DIR).join(file);
    let mut f = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Probe::Free),
        Err(e) => return Err(io_err(&path)(e)),
    };
    let holder = read_holder(&mut f);
    match f.try_lock_shared() {
        Ok(()) => {
            let _ = f.unlock();
            // Deleted meanwhile by a holder letting go: free.
            if !still_named(&f, &path) {
                return Ok(Probe::Free);
            }
            Ok(Probe::Stale(holder))
        }
        Err(TryLockError::WouldBlock) => Ok(Probe::Held(holder)),
        Err(TryLockError::Error(e)) => Err(io_err(&path)(e)),
    }
}

impl Drop for VaultLock {
    fn drop(&mut self) {
        // Delete the file while still holding it (a command that opened it meanwhile sees that
        // it is gone once it gets the lock), then let go.
        let _ = fs::remove_file(&self.path);
        let _ = self.file.unlock();
        if let Some(d) = &self.made_dir {
            let _ = fs::remove_dir(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_tells_a_held_lock_from_a_stale_one_and_changes_nothing() {
        let t = tempfile::tempdir().expect("tmp");
        assert_eq!(probe(t.path(), DAEMON_FILE).expect("probe"), Probe::Free);
        let held = VaultLock::acquire_file(t.path(), DAEMON_FILE, "watch").expect("lock");
        match probe(t.path(), DAEMON_FILE).expect("probe") {
            Probe::Held(Some(h)) => {
                assert_eq!(h.pid, std::process::id());
                assert_eq!(h.command, "watch");
            }
            other => panic!("{other:?}"),
        }
        // Still held by its holder after the probe.
        assert!(VaultLock::acquire_file(t.path(), DAEMON_FILE, "sync").is_err());
        // A holder killed: its file stays, unlocked.
        let text = fs::read(held.path()).expect("lock file");
        drop(held);
        let p = t.path().join(crate::sync::state::DIR).join(DAEMON_FILE);
        fs::create_dir_all(p.parent().expect("dir")).expect("dir");
        fs::write(&p, &text).expect("stale file");
        match probe(t.path(), DAEMON_FILE).expect("probe") {
            Probe::Stale(Some(h)) => assert_eq!(h.command, "watch"),
            other => panic!("{other:?}"),
        }
        assert_eq!(fs::read(&p).expect("unchanged"), text);
    }

    fn vault() -> tempfile::TempDir {
        tempfile::tempdir().expect("tempdir")
    }

    #[test]
    fn one_holder_at_a_time_and_the_second_learns_who() {
        let t = vault();
        let a = VaultLock::acquire(t.path(), "sync").expect("first");
        assert!(a.took_over().is_none());
        match VaultLock::acquire(t.path(), "set") {
            Err(LockError::Held {
                holder: Some(h), ..
            }) => {
                assert_eq!(h.pid, std::process::id());
                assert_eq!(h.command, "sync");
                assert!(h.since.ends_with('Z'), "{}", h.since);
            }
            other => panic!("expected Held, got {other:?}"),
        }
        drop(a);
        let b = VaultLock::acquire(t.path(), "set").expect("free again");
        assert!(b.took_over().is_none(), "a lock let go is not a stale one");
    }

    #[test]
    fn a_panic_lets_go_of_the_lock() {
        let t = vault();
        let root = t.path().to_path_buf();
        let r = std::panic::catch_unwind(|| {
            let _l = VaultLock::acquire(&root, "sync").expect("lock");
            panic!("boom");
        });
        assert!(r.is_err());
        assert!(!path(t.path()).exists(), "the lock file is deleted");
        assert!(!t.path().join(".ssot").exists(), "and the folder it made");
        let l = VaultLock::acquire(t.path(), "set").expect("free after the panic");
        assert!(l.took_over().is_none());
    }

    #[test]
    fn a_description_left_behind_is_taken_over() {
        let t = vault();
        fs::create_dir_all(t.path().join(".ssot")).expect("dir");
        let gone = Holder {
            pid: 4_000_000,
            command: "sync".into(),
            since: "2026-01-01T00:00:00Z".into(),
        };
        fs::write(path(t.path()), serde_json::to_string(&gone).expect("json")).expect("write");
        let l = VaultLock::acquire(t.path(), "commit").expect("taken over");
        assert_eq!(l.took_over(), Some(&gone));
        let now: Holder =
            serde_json::from_slice(&fs::read(path(t.path())).expect("read")).expect("holder");
        assert_eq!(now.pid, std::process::id());
        assert_eq!(now.command, "commit");
    }

    #[test]
    fn a_lock_file_deleted_under_a_command_is_not_held() {
        let t = vault();
        fs::create_dir_all(t.path().join(".ssot")).expect("dir");
        // A file locked after its path was taken by another: not the lock.
        let old = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path(t.path()))
            .expect("open");
        assert!(still_named(&old, &path(t.path())));
        fs::remove_file(path(t.path())).expect("rm");
        assert!(!still_named(&old, &path(t.path())));
        fs::write(path(t.path()), b"").expect("new file");
        assert!(!still_named(&old, &path(t.path())));
        let l = VaultLock::acquire(t.path(), "set").expect("lock");
        assert!(still_named(&l.file, l.path()));
        assert!(
            t.path().join(".ssot").is_dir(),
            "a folder it did not make stays"
        );
        drop(l);
        assert!(t.path().join(".ssot").is_dir());
    }
}
