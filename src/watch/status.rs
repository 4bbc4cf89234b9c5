//! The daemon's status file, `.ssot/watch/status.json`: what `ssot-vault watch --status` shows.
//!
//! The daemon rewrites it atomically (temporary file and rename) after each run and when it
//! starts and stops, so a reader never sees half of it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fsutil::{self, FsError};

/// The status file of the vault at `root`.
pub fn path(root: &Path) -> PathBuf {
    root.join(crate::sync::state::DIR)
        .join("watch")
        .join("status.json")
}

/// The daemon's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The daemon's process id.
    pub pid: u32,
    /// Whether it runs (false once it stopped).
    pub running: bool,
    /// When it started (RFC 3339).
    pub started: String,
    /// When this file was written.
    pub updated: String,
    /// Runs started by changed notes.
    pub push_runs: u64,
    /// Runs started by a service's poll timer.
    pub poll_runs: u64,
    /// Notes changed and waiting for their burst of saves to end.
    pub queued: Vec<String>,
    /// Each service.
    pub services: BTreeMap<String, ServiceStatus>,
}

/// One service in the status file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceStatus {
    /// Its poll interval in seconds.
    pub poll_seconds: u64,
    /// When its last run ended.
    pub last_run: Option<String>,
    /// How it ended: `ok`, `error`, `rate limited`, `down`.
    pub result: Option<String>,
    /// Its error.
    pub error: Option<String>,
    /// When it is polled next.
    pub next_poll: Option<String>,
    /// Failed runs in a row (its backoff).
    pub failures: u32,
    /// Runs so far.
    pub runs: u64,
    /// Notes its last run read from disk (a run started by saves reads only those changed).
    #[serde(default)]
    pub notes_read: Option<u64>,
}

/// The status file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// I/O.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// Not the JSON of a status.
    #[error("{}: not a status file: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The error.
        source: serde_json::Error,
    },
}

/// Writes `status` atomically.
pub fn save(root: &Path, status: &Status) -> Result<(), StatusError> {
    let p = path(root);
    if let Some(dir) = p.parent() {
        fsutil::create_dir_all(dir)?;
    }
    let text = serde_json::to_vec_pretty(status).map_err(|source| StatusError::Parse {
        path: p.clone(),
        source,
    })?;
    fsutil::write_atomic(&p, &text)?;
    Ok(())
}

/// Reads the status (`None`: no daemon ever ran in this vault).
pub fn load(root: &Path) -> Result<Option<Status>, StatusError> {
    let p = path(root);
    if !p.exists() {
        return Ok(None);
    }
    let bytes = fsutil::read(&p)?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| StatusError::Parse { path: p, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = tempfile::tempdir().expect("tempdir");
        assert_eq!(load(t.path()).expect("load"), None);
        let s = Status {
            pid: 7,
            running: true,
            started: "2026-01-01T00:00:00Z".into(),
            updated: "2026-01-01T00:00:01Z".into(),
            push_runs: 1,
            poll_runs: 2,
            queued: vec!["a.md".into()],
            services: BTreeMap::from([(
                "hubspot".to_string(),
                ServiceStatus {
                    poll_seconds: 60,
                    last_run: None,
                    result: Some("down".into()),
                    error: Some("refused".into()),
                    next_poll: None,
                    failures: 1,
                    runs: 3,
                    notes_read: Some(2),
                },
            )]),
        };
        save(t.path(), &s).expect("save");
        assert_eq!(load(t.path()).expect("load"), Some(s));
    }
}
