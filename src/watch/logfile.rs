//! The daemon's log file, `.ssot/logs/watch.log`, rotated by size: when a line would take it
//! past its size, `watch.log` becomes `watch.log.1` (`.1` becomes `.2`, and so on), the oldest
//! beyond the number kept is deleted, and a new `watch.log` is begun. Lines are never split
//! between two files.
//!
//! A small writer of our own (no logging framework beyond `tracing`): [`RotatingFile`] is a
//! cloneable `std::io::Write` that `tracing_subscriber` is handed as its writer; each event is
//! written in one call, under a mutex.
//!
//! Every line passes through [`RotatingFile::redact`] first: the values of the secrets it was
//! given (the services' tokens from the environment) never reach the disk, whatever a library
//! logs at a verbose level.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The log file of the vault at `root`.
pub fn path(root: &Path) -> PathBuf {
    root.join(crate::sync::state::DIR)
        .join("logs")
        .join("watch.log")
}

/// The log file could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("{}: cannot open the log file: {source}", path.display())]
pub struct LogFileError {
    /// The file.
    pub path: PathBuf,
    /// The error.
    pub source: io::Error,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    file: Option<File>,
    size: u64,
    max: u64,
    keep: u32,
    secrets: Vec<String>,
}

/// A log file rotated by size (see the module's documentation). Clones write to the same file.
#[derive(Debug, Clone)]
pub struct RotatingFile {
    inner: Arc<Mutex<Inner>>,
}

impl RotatingFile {
    /// Opens (appending) the log file at `path`, rotated past `max_bytes`, `keep` old files kept;
    /// `secrets` are replaced by `[redacted]` in every line.
    pub fn open(
        path: &Path,
        max_bytes: u64,
        keep: u32,
        secrets: Vec<String>,
    ) -> Result<Self, LogFileError> {
        let err = |source| LogFileError {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(err)?;
        let size = file.metadata().map_err(err)?.len();
        Ok(RotatingFile {
            inner: Arc::new(Mutex::new(Inner {
                path: path.to_path_buf(),
                file: Some(file),
                size,
                max: max_bytes.max(1),
                keep,
                secrets: secrets.into_iter().filter(|s| s.len() >= 4).collect(),
            })),
        })
    }

    /// `line` with every secret replaced by `[redacted]`.
    pub fn redact(secrets: &[String], line: &str) -> String {
        let mut out = line.to_string();
        for s in secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "[redacted]");
            }
        }
        out
    }
}

/// Standard error with the secrets it was given replaced by `[redacted]` (the daemon's log goes
/// to the journal under systemd: a log too).
#[derive(Debug, Clone)]
pub struct RedactedStderr {
    secrets: Arc<Vec<String>>,
}

impl RedactedStderr {
    /// Standard error, `secrets` redacted.
    pub fn new(secrets: Vec<String>) -> Self {
        RedactedStderr {
            secrets: Arc::new(secrets.into_iter().filter(|s| s.len() >= 4).collect()),
        }
    }
}

impl Write for RedactedStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        io::stderr().write_all(RotatingFile::redact(&self.secrets, &text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// `watch.log.<n>` beside `path`.
fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

impl Inner {
    fn rotate(&mut self) -> io::Result<()> {
        self.file = None;
        if self.keep == 0 {
            std::fs::remove_file(&self.path).or_else(|e| match e.kind() {
                io::ErrorKind::NotFound => Ok(()),
                _ => Err(e),
            })?;
        } else {
            let _ = std::fs::remove_file(numbered(&self.path, self.keep));
            for n in (1..self.keep).rev() {
                let from = numbered(&self.path, n);
                if from.exists() {
                    std::fs::rename(&from, numbered(&self.path, n + 1))?;
                }
            }
            std::fs::rename(&self.path, numbered(&self.path, 1))?;
        }
        self.file = Some(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?,
        );
        self.size = 0;
        Ok(())
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let text = String::from_utf8_lossy(buf);
        let line = RotatingFile::redact(&inner.secrets, &text);
        let len = line.len() as u64;
        if inner.size > 0 && inner.size + len > inner.max {
            inner.rotate()?;
        }
        if inner.file.is_none() {
            inner.rotate()?;
        }
        if let Some(f) = inner.file.as_mut() {
            f.write_all(line.as_bytes())?;
        }
        inner.size += len;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match inner.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_rotates_by_size_keeping_n_files_and_never_splits_a_line() {
        let t = tempfile::tempdir().expect("tmp");
        let p = path(t.path());
        let mut log = RotatingFile::open(&p, 100, 2, vec![]).expect("open");
        for i in 0..12 {
            // 30 bytes a line: three lines a file.
            log.write_all(format!("line {i:02} {}\n", "x".repeat(21)).as_bytes())
                .expect("write");
        }
        let read = |n: Option<u32>| {
            std::fs::read_to_string(n.map_or(p.clone(), |n| numbered(&p, n))).unwrap_or_default()
        };
        assert!(read(None).starts_with("line 09 "), "{}", read(None));
        assert_eq!(read(None).lines().count(), 3);
        assert!(read(Some(1)).starts_with("line 06 "), "{}", read(Some(1)));
        assert!(read(Some(2)).starts_with("line 03 "), "{}", read(Some(2)));
        assert!(!numbered(&p, 3).exists(), "only two old files kept");
        for n in [None, Some(1), Some(2)] {
            assert!(read(n).len() <= 100);
            assert!(read(n).lines().all(|l| l.len() == 29), "{}", read(n));
        }
        // Reopened, it appends.
        let mut log = RotatingFile::open(&p, 100, 2, vec![]).expect("open");
        log.write_all(b"again\n").expect("write");
        assert!(read(None).contains("line 11 ") && read(None).ends_with("again\n"));
    }

    #[test]
    fn a_secret_never_reaches_the_file() {
        let t = tempfile::tempdir().expect("tmp");
        let p = path(t.path());
        let mut log =
            RotatingFile::open(&p, 1 << 20, 1, vec!["pat-na1-s3cr3t".into()]).expect("open");
        log.write_all(b"GET /x authorization: Bearer pat-na1-s3cr3t\n")
            .expect("write");
        let text = std::fs::read_to_string(&p).expect("log");
        assert_eq!(text, "GET /x authorization: Bearer [redacted]\n");
    }
}
