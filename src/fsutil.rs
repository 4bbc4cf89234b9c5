//! File writes that never leave a half-written file and never clobber an edit made meanwhile.
//!
//! Every file the tool changes goes through [`write_if_unchanged`]: the new content is written to
//! a temporary file in the same folder, flushed to disk, and renamed over the original only if the
//! original still holds the bytes the edit was computed from (compare-and-swap). A new file gets
//! the mode an editor would give it (0o666 less the umask), a replaced file keeps its own.
//!
//! **Test hook.** When the environment variable [`TEST_BEFORE_RENAME_ENV`]
//! (`SSOT_VAULT_TEST_BEFORE_RENAME`) is set, [`write_if_unchanged`] edits the file it is about to
//! replace just before its last re-check and the rename, as a person saving the note in Obsidian
//! at that moment would: it appends the variable's text; with a `same-size:` prefix it instead
//! overwrites the file's last bytes with the rest of the text and puts back the file's
//! modification time, an edit that a check of lengths or times cannot see. The integration tests
//! use it to prove end to end that such an edit is never clobbered. Unset (always, outside those
//! tests), it does nothing.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The environment variable of the test hook (see the module docs): text the writer adds to the
/// target file just before its last re-check and rename.
pub const TEST_BEFORE_RENAME_ENV: &str = "SSOT_VAULT_TEST_BEFORE_RENAME";

/// A file-system error, always with the path it concerns.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// An I/O error at `path`.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// The file changed between reading and writing.
    #[error("{}: the file changed while it was being edited; nothing was written, run the command again", path.display())]
    Changed {
        /// The file.
        path: PathBuf,
    },
}

/// Attaches `path` to an I/O error.
pub fn io_err(path: &Path) -> impl FnOnce(io::Error) -> FsError + '_ {
    move |source| FsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads a whole file.
pub fn read(path: &Path) -> Result<Vec<u8>, FsError> {
    fs::read(path).map_err(io_err(path))
}

/// Writes `new` to `path` atomically, but only if the file still holds `expected` (`None`: the
/// file must not exist yet).
pub fn write_if_unchanged(path: &Path, expected: Option<&[u8]>, new: &[u8]) -> Result<(), FsError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let changed = || FsError::Changed {
        path: path.to_path_buf(),
    };
    // A clash is a file that holds other bytes (or exists at all, for a new one); any other
    // failure (a name too long, no permission) is an I/O error, never a clash.
    let check = || -> Result<(), FsError> {
        match expected {
            None => match fs::symlink_metadata(path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(io_err(path)(e)),
                Ok(_) => Err(changed()),
            },
            Some(exp) => match fs::read(path) {
                Ok(now) if now == exp => Ok(()),
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err(path)(e)),
                _ => Err(changed()),
            },
        }
    };
    check()?;
    let mut tmp = temp_in(dir)?;
    tmp.write_all(new).map_err(io_err(tmp.path()))?;
    keep_mode(path, &tmp);
    tmp.as_file().sync_all().map_err(io_err(path))?;
    if expected.is_some() {
        test_hook_before_rename(path);
    }
    check()?;
    match expected {
        Some(_) => {
            tmp.persist(path).map_err(|e| io_err(path)(e.error))?;
        }
        None => {
            // Never replace a file created meanwhile.
            tmp.persist_noclobber(path)
                .map_err(|e| match e.error.kind() {
                    io::ErrorKind::AlreadyExists => FsError::Changed {
                        path: path.to_path_buf(),
                    },
                    _ => io_err(path)(e.error),
                })?;
        }
    }
    sync_dir(dir);
    Ok(())
}

/// The test hook (see the module docs): edits `path` as a person saving it meanwhile would, when
/// [`TEST_BEFORE_RENAME_ENV`] is set; does nothing otherwise.
fn test_hook_before_rename(path: &Path) {
    let Some(text) = std::env::var_os(TEST_BEFORE_RENAME_ENV) else {
        return;
    };
    let text = text.to_string_lossy();
    let Ok(meta) = fs::metadata(path) else {
        return;
    };
    if let Some(same) = text.strip_prefix("same-size:") {
        // Same length, same modification time, other bytes.
        let Ok(mut bytes) = fs::read(path) else {
            return;
        };
        let n = same.len().min(bytes.len());
        let start = bytes.len() - n;
        bytes[start..].copy_from_slice(&same.as_bytes()[..n]);
        if let Ok(mut f) = fs::OpenOptions::new().write(true).open(path) {
            let _ = f.write_all(&bytes);
            if let Ok(m) = meta.modified() {
                let _ = f.set_modified(m);
            }
        }
    } else if let Ok(mut f) = fs::OpenOptions::new().append(true).open(path) {
        let _ = f.write_all(text.as_bytes());
    }
}

/// Writes `new` to `path` atomically (temporary file, flush, rename), whatever the file holds now.
/// For the tool's own state files, never for notes.
pub fn write_atomic(path: &Path, new: &[u8]) -> Result<(), FsError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_dir_all(dir)?;
    let mut tmp = temp_in(dir)?;
    tmp.write_all(new).map_err(io_err(tmp.path()))?;
    keep_mode(path, &tmp);
    tmp.as_file().sync_all().map_err(io_err(path))?;
    tmp.persist(path).map_err(|e| io_err(path)(e.error))?;
    sync_dir(dir);
    Ok(())
}

/// The name prefix of the writer's temporary files.
pub const TEMP_PREFIX: &str = ".ssot-tmp-";

/// Removes the writer's temporary files under `root` (not under `.git/`): those a command killed
/// between a temporary file's write and its rename left behind. Call it only while holding the
/// vault lock, when no writer of this tool runs. Returns the files removed.
pub fn remove_left_temps(root: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || e.file_name() != ".git")
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_type().is_file()
                && e.file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with(TEMP_PREFIX))
        })
        .filter(|e| fs::remove_file(e.path()).is_ok())
        .map(|e| e.into_path())
        .collect()
}

/// A temporary file in `dir`, to be renamed over the target. Created with the mode an editor
/// gives a new file (0o666 less the umask, which the kernel applies), not tempfile's private
/// 0o600, so a new file of a shared vault stays readable.
fn temp_in(dir: &Path) -> Result<tempfile::NamedTempFile, FsError> {
    let mut b = tempfile::Builder::new();
    b.prefix(TEMP_PREFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(fs::Permissions::from_mode(0o666));
    }
    b.tempfile_in(dir).map_err(io_err(dir))
}

/// Gives the temporary file the permissions of the file it replaces, when there is one. Best
/// effort: a file system that refuses modes (a FAT or SMB mount) still gets the write.
fn keep_mode(path: &Path, tmp: &tempfile::NamedTempFile) {
    if let Ok(meta) = fs::metadata(path) {
        let _ = fs::set_permissions(tmp.path(), meta.permissions());
    }
}

/// Flushes a folder's entries (the rename) to disk; best effort.
fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Creates a folder and its parents.
pub fn create_dir_all(path: &Path) -> Result<(), FsError> {
    fs::create_dir_all(path).map_err(io_err(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The path an error names.
    fn err_path(e: &FsError) -> &Path {
        match e {
            FsError::Io { path, .. } | FsError::Changed { path } => path,
        }
    }

    /// `write_atomic` makes the folders it needs and leaves its temporary file beside the
    /// target (a cargo-mutants survivor put it in the working folder).
    #[test]
    fn write_atomic_makes_its_folders_and_writes_beside_the_target() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("new/folder/state.json");
        write_atomic(&target, b"{}").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"{}");
        let names: Vec<_> = fs::read_dir(target.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["state.json"], "no temporary file left");
    }

    /// Each failure is told apart as the writer's callers need it: a file gone or replaced is a
    /// clash (run again), anything else an I/O error naming the file or the folder that failed.
    /// (Written against cargo-mutants' survivors in `write_if_unchanged`.)
    #[test]
    fn failures_are_clashes_or_io_errors_naming_their_path() {
        let d = tempfile::tempdir().unwrap();
        // Expected bytes, file gone meanwhile: a clash.
        let gone = d.path().join("gone.md");
        assert!(matches!(
            write_if_unchanged(&gone, Some(b"x"), b"y"),
            Err(FsError::Changed { .. })
        ));
        assert!(!gone.exists());
        // Expected bytes, but the path cannot be read as a file (a folder): an I/O error.
        let folder = d.path().join("folder.md");
        fs::create_dir(&folder).unwrap();
        let e = write_if_unchanged(&folder, Some(b"x"), b"y").unwrap_err();
        assert!(matches!(e, FsError::Io { .. }), "{e}");
        // A new file under a file (not a folder): the I/O error names the file asked for.
        let file = d.path().join("file.md");
        fs::write(&file, b"x").unwrap();
        let under = file.join("new.md");
        let e = write_if_unchanged(&under, None, b"y").unwrap_err();
        assert!(matches!(e, FsError::Io { .. }), "{e}");
        assert_eq!(err_path(&e), under);
        // A new file in a folder that does not exist: the error names that folder (the
        // temporary file goes beside the target, never elsewhere).
        let missing = d.path().join("missing");
        let e = write_if_unchanged(&missing.join("new.md"), None, b"y").unwrap_err();
        assert!(matches!(e, FsError::Io { .. }), "{e}");
        assert_eq!(err_path(&e), missing);
    }

    #[test]
    fn compare_and_swap() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.md");
        write_if_unchanged(&p, None, b"one").unwrap();
        assert!(matches!(
            write_if_unchanged(&p, None, b"x"),
            Err(FsError::Changed { .. })
        ));
        assert!(matches!(
            write_if_unchanged(&p, Some(b"zzz"), b"x"),
            Err(FsError::Changed { .. })
        ));
        write_if_unchanged(&p, Some(b"one"), b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(
            fs::read_dir(d.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[test]
    fn a_genuine_io_error_is_not_a_clash() {
        let d = tempfile::tempdir().unwrap();
        let long = d.path().join(format!("{}.md", "Ż".repeat(150)));
        let e = write_if_unchanged(&long, None, b"x").unwrap_err();
        assert!(matches!(e, FsError::Io { .. }), "{e}");
        // A folder where the new file would go is a clash, as a file is.
        let folder = d.path().join("a.md");
        fs::create_dir(&folder).unwrap();
        assert!(matches!(
            write_if_unchanged(&folder, None, b"x"),
            Err(FsError::Changed { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn new_files_get_the_umask_mode_and_rewrites_keep_theirs() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let d = tempfile::tempdir().unwrap();
        // What the umask gives a file created as an editor creates it.
        let probe = d.path().join("probe");
        fs::File::create(&probe).unwrap();
        let umask_mode = mode(&probe);
        assert_ne!(
            umask_mode, 0o600,
            "the test needs a umask that lets group or others read"
        );
        let (a, b) = (d.path().join("a.md"), d.path().join("state.json"));
        write_if_unchanged(&a, None, b"one").unwrap();
        write_atomic(&b, b"{}").unwrap();
        assert_eq!(mode(&a), umask_mode);
        assert_eq!(mode(&b), umask_mode);
        for p in [&a, &b] {
            fs::set_permissions(p, fs::Permissions::from_mode(0o640)).unwrap();
        }
        write_if_unchanged(&a, Some(b"one"), b"two").unwrap();
        write_atomic(&b, b"[]").unwrap();
        assert_eq!(mode(&a), 0o640);
        assert_eq!(mode(&b), 0o640);
    }
}
