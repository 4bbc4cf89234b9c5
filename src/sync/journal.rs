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
//! remote's changes. The `write` events of notes taking the remote's values carry those values,
//! and `send` events the vault's values sent to existing records: a run that died before saving
//! its base leaves the next one the values both sides agreed on, so a crash raises no spurious
//! conflict.

use std::collections::{BTreeMap, BTreeSet};
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

/// Whether the last run recorded in the journal never reached its end (its id when so). A line
/// cut short by a crash (a `kill -9` in the middle of its write) is passed over: the last whole
/// line names the run, which did not end.
pub fn interrupted(root: &Path, remote: &str) -> Option<String> {
    let text = std::fs::read_to_string(path(root, remote)).ok()?;
    let v: Value = text
        .lines()
        .rev()
        .filter(|l| !l.trim().is_empty())
        .find_map(|l| serde_json::from_str(l).ok())?;
    if v.get("event").and_then(Value::as_str) == Some("end") {
        return None;
    }
    v.get("run").and_then(Value::as_str).map(str::to_string)
}

/// What an interrupted run logged it was writing into notes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Written {
    /// The hashes of the note bytes it was about to write.
    pub hashes: BTreeSet<u64>,
    /// The remote's values written into each note by the runs since the last one that saved
    /// its state (`ssot_id` → key → canonical value, `None` cleared; later runs win): the note
    /// and the remote agreed on them then, though no base says so.
    pub pulled: BTreeMap<String, BTreeMap<String, Option<String>>>,
    /// The vault's values sent to the remote by the runs since the last one that saved its
    /// state (same shape): where the remote still holds one, the two agreed on it then.
    pub pushed: BTreeMap<String, BTreeMap<String, Option<String>>>,
    /// The actions carried out by the runs since the last one that saved its state (their
    /// ids): planned again, they are not carried out twice.
    pub acted: BTreeSet<String>,
}

/// Adds a `{sid: {key: value|null}}` object to `into` (later values win).
fn merge_fields(
    into: &mut BTreeMap<String, BTreeMap<String, Option<String>>>,
    sid: &str,
    v: &Value,
) {
    let Some(obj) = v.as_object() else { return };
    let fields = into.entry(sid.to_string()).or_default();
    for (k, val) in obj {
        fields.insert(k.clone(), val.as_str().map(str::to_string));
    }
}

/// What `run` logged it was writing into notes (its `write` events), and the values pulled into
/// notes since the last saved state (see [`Written::pulled`]).
pub fn written_by(root: &Path, remote: &str, run: &str) -> Written {
    let mut out = Written::default();
    let Ok(text) = std::fs::read_to_string(path(root, remote)) else {
        return out;
    };
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        match v.get("event").and_then(Value::as_str) {
            Some("saved") => {
                out.pulled.clear();
                out.pushed.clear();
                out.acted.clear();
                continue;
            }
            Some("acted") => {
                if let Some(id) = v.pointer("/detail/id").and_then(Value::as_str) {
                    out.acted.insert(id.to_string());
                }
                continue;
            }
            Some("send") => {
                let records = v.pointer("/detail/records").and_then(Value::as_object);
                for (sid, fields) in records.into_iter().flatten() {
                    merge_fields(&mut out.pushed, sid, fields);
                }
                continue;
            }
            Some("write") => {}
            _ => continue,
        }
        if let (Some(sid), Some(pulled)) = (
            v.pointer("/detail/ssot_id").and_then(Value::as_str),
            v.pointer("/detail/pulled"),
        ) {
            merge_fields(&mut out.pulled, sid, pulled);
        }
        if v.get("run").and_then(Value::as_str) != Some(run) {
            continue;
        }
        let hashes = v.pointer("/detail/hashes").and_then(Value::as_array);
        for h in hashes.into_iter().flatten() {
            if let Some(h) = h.as_str().and_then(|h| u64::from_str_radix(h, 16).ok()) {
                out.hashes.insert(h);
            }
        }
    }
    out
}

/// Whether the file's last byte is not a line end (a line cut short).
fn ends_mid_line(f: &mut std::fs::File) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    if f.seek(SeekFrom::End(-1)).is_err() {
        return false;
    }
    let mut last = [0u8; 1];
    f.read_exact(&mut last).is_ok() && last[0] != b'\n'
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

    /// [`Journal::intend`] for a note taking the remote's values `pulled` (`ssot_id` `sid`).
    pub fn intend_pull(&self, hash: u64, sid: &str, pulled: &BTreeMap<String, Option<String>>) {
        let detail = json!({
            "hashes": [format!("{hash:016x}")],
            "ssot_id": sid,
            "pulled": pulled,
        });
        if let Err(e) = self.append("write", detail, false) {
            tracing::warn!(error = %e, "journal not written");
        }
    }

    /// Logs the vault's values about to be sent to existing records (a `send` event:
    /// `ssot_id` → key → canonical value). Not flushed, as [`Journal::intend`].
    pub fn intend_send(&self, records: &BTreeMap<&str, &BTreeMap<String, Option<String>>>) {
        if records.is_empty() {
            return;
        }
        if let Err(e) = self.append("send", json!({ "records": records }), false) {
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
            .read(true)
            .append(true)
            .open(&self.path)
            .map_err(io_err(&self.path))?;
        // A line cut short by a crash is ended first, so that this one stays a line of its own;
        // the whole line then goes in one write (one `write(2)` on an append-only file: a kill
        // cannot split it the way a formatter's many small writes could).
        let mut text = String::new();
        if ends_mid_line(&mut f) {
            text.push('\n');
        }
        text.push_str(&line.to_string());
        text.push('\n');
        f.write_all(text.as_bytes()).map_err(io_err(&self.path))?;
        if flush {
            f.sync_data().map_err(io_err(&self.path))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `kill -9` in the middle of a line's write leaves it cut short: the run is still known
    /// to be interrupted, and the next run's lines stay whole lines of their own.
    #[test]
    fn a_line_cut_short_by_a_crash_neither_hides_the_run_nor_swallows_the_next() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        let a = Journal::open(root, "hubspot", "run-a").unwrap();
        a.log("start", json!({})).unwrap();
        a.intend(&[0xabc]);
        let p = path(root, "hubspot");
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(br#"{"at":"2026-11-30T01:55:46Z","detail":{"records":{"x":"#)
            .unwrap();
        drop(f);
        assert_eq!(interrupted(root, "hubspot").as_deref(), Some("run-a"));
        let b = Journal::open(root, "hubspot", "run-b").unwrap();
        b.log("start", json!({})).unwrap();
        b.intend(&[0xdef]);
        assert_eq!(interrupted(root, "hubspot").as_deref(), Some("run-b"));
        assert_eq!(
            written_by(root, "hubspot", "run-b").hashes,
            BTreeSet::from([0xdef])
        );
        assert_eq!(
            written_by(root, "hubspot", "run-a").hashes,
            BTreeSet::from([0xabc])
        );
        b.log("end", json!({})).unwrap();
        assert_eq!(interrupted(root, "hubspot"), None);
    }

    /// Actions carried out by runs that did not save their state are known to the next run,
    /// across several interrupted runs; a run that saved its state clears them (its state no
    /// longer holds them).
    #[test]
    fn actions_carried_out_are_remembered_until_a_run_saves_its_state() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        let a = Journal::open(root, "jira", "run-a").unwrap();
        a.log("act", json!({"id": "x"})).unwrap();
        a.log("acted", json!({"id": "x"})).unwrap();
        a.log("saved", json!({})).unwrap();
        let b = Journal::open(root, "jira", "run-b").unwrap();
        b.log("act", json!({"id": "y"})).unwrap();
        b.log("acted", json!({"id": "y"})).unwrap();
        b.log("act", json!({"id": "z"})).unwrap();
        let c = Journal::open(root, "jira", "run-c").unwrap();
        c.log("acted", json!({"id": "w", "outcome": "gone"}))
            .unwrap();
        assert_eq!(
            written_by(root, "jira", "run-c").acted,
            BTreeSet::from(["y".to_string(), "w".to_string()]),
            "y and w were carried out since the last save; z was only begun"
        );
        c.log("saved", json!({})).unwrap();
        assert!(written_by(root, "jira", "run-c").acted.is_empty());
    }
}
