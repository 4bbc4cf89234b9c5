//! The run journal: `.ssot/<remote>/journal.jsonl`, one JSON line per step of a run (start, the
//! remote writes sent and acknowledged, the note edits, the end), flushed as it goes.
//!
//! Crash safety does not depend on replaying it: every remote create is an upsert keyed by the
//! note's `ssot_id` and every note edit is compare-and-swap, so the next run repairs any crash by
//! planning again. The journal tells the next run (and a person) that the previous run stopped
//! half-way and what it had done.
//!
//! Before each note write the run logs a `write` event holding the hash of the bytes it is about
//! to write ([`Journal::intend`]). A run that finds the previous one interrupted commits the notes
//! still holding exactly such bytes as that run's work (its source and run id), before it
//! commits the rest as the vault's ([`written_by`]): the audit log never credits the vault with a
//! remote's changes.

use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::fsutil::{FsError, io_err};

/// An open journal.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    run: String,
}

/// The journal file of a remote.
pub fn path(root: &Path, remote: &str) -> PathBuf {
    root.join(super::state::DIR)
        .join(remote)
        .join("journal.jsonl")
}

/// Whether the last run recorded in the journal never reached its end (its id when so).
pub fn interrupted(root: &Path, remote: &str) -> Option<String> {
    let text = std::fs::read_to_string(path(root, remote)).ok()?;
    let last = text.lines().rev().find(|l| !l.trim().is_empty())?;
    let v: Value = serde_json::from_str(last).ok()?;
    if v.get("event").and_then(Value::as_str) == Some("end") {
        return None;
    }
    v.get("run").and_then(Value::as_str).map(str::to_string)
}

/// The hashes of the note bytes `run` logged it was about to write (its `write` events).
pub fn written_by(root: &Path, remote: &str, run: &str) -> BTreeSet<u64> {
    let mut out = BTreeSet::new();
    let Ok(text) = std::fs::read_to_string(path(root, remote)) else {
        return out;
    };
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if v.get("run").and_then(Value::as_str) != Some(run)
            || v.get("event").and_then(Value::as_str) != Some("write")
        {
            continue;
        }
        let hashes = v.pointer("/detail/hashes").and_then(Value::as_array);
        for h in hashes.into_iter().flatten() {
            if let Some(h) = h.as_str().and_then(|h| u64::from_str_radix(h, 16).ok()) {
                out.insert(h);
            }
        }
    }
    out
}

impl Journal {
    /// Opens the journal for a run (keeps only the last 2,000 lines of older runs).
    pub fn open(root: &Path, remote: &str, run: &str) -> Result<Journal, FsError> {
        let path = path(root, remote);
        if let Some(dir) = path.parent() {
            crate::fsutil::create_dir_all(dir)?;
        }
        if let Ok(text) = std::fs::read_to_string(&path) {
            let lines: Vec<&str> = text.lines().collect();
            if lines.len() > 4_000 {
                let keep = lines[lines.len() - 2_000..].join("\n") + "\n";
                crate::fsutil::write_atomic(&path, keep.as_bytes())?;
            }
        }
        Ok(Journal {
            path,
            run: run.to_string(),
        })
    }

    /// Logs the hashes of note bytes about to be written (a `write` event). Not flushed to
    /// disk: it only has to outlive the process (a `kill -9`), and it is written before the
    /// note is. A failure is logged, never fatal.
    pub fn intend(&self, hashes: &[u64]) {
        if hashes.is_empty() {
            return;
        }
        let hashes: Vec<String> = hashes.iter().map(|h| format!("{h:016x}")).collect();
        if let Err(e) = self.append("write", json!({ "hashes": hashes }), false) {
            tracing::warn!(error = %e, "journal not written");
        }
    }

    /// Appends an event.
    pub fn log(&self, event: &str, detail: Value) -> Result<(), FsError> {
        self.append(event, detail, true)
    }

    fn append(&self, event: &str, detail: Value, flush: bool) -> Result<(), FsError> {
        let line = json!({
            "run": self.run,
            "at": jiff::Timestamp::now().to_string(),
            "event": event,
            "detail": detail,
        });
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(io_err(&self.path))?;
        writeln!(f, "{line}").map_err(io_err(&self.path))?;
        if flush {
            f.sync_data().map_err(io_err(&self.path))?;
        }
        Ok(())
    }
}
