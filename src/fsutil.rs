//! File writes that never leave a half-written file and never clobber an edit made meanwhile.
//!
//! Every file the tool changes goes through [`write_if_unchanged`]: the new content is written to
//! a temporary file in the same folder, flushed to disk, and renamed over the original only if the
//! original still holds the bytes the edit was computed from (compare-and-swap).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

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
    let check = || -> Result<(), FsError> {
        match (fs::read(path), expected) {
            (Ok(now), Some(exp)) if now == exp => Ok(()),
            (Err(e), None) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            (Err(e), Some(_)) if e.kind() != io::ErrorKind::NotFound => Err(io_err(path)(e)),
            _ => Err(FsError::Changed {
                path: path.to_path_buf(),
            }),
        }
    };
    check()?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".ssot-tmp-")
        .tempfile_in(dir)
        .map_err(io_err(dir))?;
    tmp.write_all(new).map_err(io_err(tmp.path()))?;
    if let Ok(meta) = fs::metadata(path) {
        let _ = fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.as_file().sync_all().map_err(io_err(path))?;
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

/// Writes `new` to `path` atomically (temporary file, flush, rename), whatever the file holds now.
/// For the tool's own state files, never for notes.
pub fn write_atomic(path: &Path, new: &[u8]) -> Result<(), FsError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".ssot-tmp-")
        .tempfile_in(dir)
        .map_err(io_err(dir))?;
    tmp.write_all(new).map_err(io_err(tmp.path()))?;
    tmp.as_file().sync_all().map_err(io_err(path))?;
    tmp.persist(path).map_err(|e| io_err(path)(e.error))?;
    sync_dir(dir);
    Ok(())
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
}
