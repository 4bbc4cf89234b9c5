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
//! conflict: see [`Written::agreed_pulled`] and [`Written::agreed_pushed`] for what counts after
//! several interrupted runs.

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
    /// its state, in order (`ssot_id` → each write: the hash of the bytes it left and the
    /// fields, canonical, `None` cleared): the note and the remote agreed on them then, though
    /// no base says so. See [`Written::agreed_pulled`].
    pub pulled: BTreeMap<String, Vec<(u64, Fields)>>,
    /// The vault's values sent to the remote by the runs since the last one that saved its
    /// state, in order (`ssot_id` → each send: when it was logged, epoch ms, and the fields):
    /// where the remote still holds one, the two agreed on it then. See
    /// [`Written::agreed_pushed`].
    pub pushed: BTreeMap<String, Vec<(i64, Fields)>>,
    /// The actions carried out by the runs since the last one that saved its state (their
    /// ids): planned again, they are not carried out twice.
    pub acted: BTreeSet<String>,
    /// The notes whose records the runs since the last one that saved its state were about to
    /// create (their `ssot_id`s): a create may have landed without its answer, so a service
    /// without idempotent creates looks for them before creating again.
    pub creating: BTreeSet<String>,
    /// The status moves made in the service that the run was taking into notes (its `moves`
    /// event, [`Journal::intend_moves`]): the commit that finishes it names them as the run's
    /// own commit would have (`Ssot-Transition`).
    pub moves: Vec<IntendedMove>,
}

/// A status move made in the service that a run takes into a note, as its journal records it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IntendedMove {
    /// The note, relative to the vault root.
    pub rel: String,
    /// The status it moves to, in the vault's terms.
    pub to: String,
    /// The `Ssot-Transition` labels of the move (`from→to` of each step).
    pub labels: Vec<String>,
}

/// Canonical fields by key, `None` cleared.
pub type Fields = BTreeMap<String, Option<String>>;

/// A `{key: value|null}` object as fields.
fn fields_of(v: &Value) -> Fields {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, val)| (k.clone(), val.as_str().map(str::to_string)))
        .collect()
}

impl Written {
    /// The remote's values that the note of `sid` (its bytes hashing to `note_hash`) took from
    /// the interrupted runs: those of every logged write, later ones winning; but when the note
    /// holds exactly the bytes one write left, only the writes up to that one: the later ones
    /// never landed (a run killed between logging a write and making it), and an earlier value
    /// the note still holds was agreed. Where the note was edited since, the last logged values
    /// alone count, so a person's edit back to an earlier value stays an edit.
    pub fn agreed_pulled(&self, sid: &str, note_hash: u64) -> Fields {
        let Some(writes) = self.pulled.get(sid) else {
            return Fields::new();
        };
        let upto = writes
            .iter()
            .rposition(|(h, _)| *h == note_hash)
            .map_or(writes.len(), |i| i + 1);
        let mut out = Fields::new();
        for (_, f) in &writes[..upto] {
            out.extend(f.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        out
    }

    /// The vault's values sent for `sid` by the interrupted runs that the remote record
    /// (last modified at `modified_ms`, service time) may hold as agreed: per key, the last value
    /// sent, and an earlier one only if every later send of another value was logged after the
    /// record's last modification, so never landed. A record changed after such a send (a person
    /// setting an earlier value again) is not taken to agree. Without a modification time, the
    /// last values alone.
    pub fn agreed_pushed(
        &self,
        sid: &str,
        modified_ms: Option<i64>,
    ) -> BTreeMap<String, Vec<Option<String>>> {
        let mut out: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
        let Some(sends) = self.pushed.get(sid) else {
            return out;
        };
        let keys: BTreeSet<&String> = sends.iter().flat_map(|(_, f)| f.keys()).collect();
        for k in keys {
            let by_time: Vec<(i64, &Option<String>)> = sends
                .iter()
                .filter_map(|(t, f)| f.get(k).map(|v| (*t, v)))
                .collect();
            let mut vals: Vec<Option<String>> = Vec::new();
            for (i, (_, v)) in by_time.iter().enumerate() {
                let last = i + 1 == by_time.len();
                let later_never_landed = modified_ms.is_some_and(|m| {
                    by_time[i + 1..]
                        .iter()
                        .filter(|(_, w)| w != v)
                        .all(|(t, _)| m < *t)
                });
                if (last || later_never_landed) && !vals.contains(v) {
                    vals.push((*v).clone());
                }
            }
            out.insert(k.clone(), vals);
        }
        out
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
                out.creating.clear();
                continue;
            }
            Some("create") => {
                let sids = v.pointer("/detail/records").and_then(Value::as_array);
                out.creating.extend(
                    sids.into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(str::to_string),
                );
                continue;
            }
            Some("acted") => {
                if let Some(id) = v.pointer("/detail/id").and_then(Value::as_str) {
                    out.acted.insert(id.to_string());
                }
                continue;
            }
            Some("send") => {
                let at = v
                    .get("at")
                    .and_then(Value::as_str)
                    .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                    .map_or(i64::MAX, |t| t.as_millisecond());
                let records = v.pointer("/detail/records").and_then(Value::as_object);
                for (sid, fields) in records.into_iter().flatten() {
                    out.pushed
                        .entry(sid.clone())
                        .or_default()
                        .push((at, fields_of(fields)));
                }
                continue;
            }
            Some("moves") => {
                if v.get("run").and_then(Value::as_str) == Some(run)
                    && let Some(moves) = v.pointer("/detail/moves")
                    && let Ok(m) = serde_json::from_value::<Vec<IntendedMove>>(moves.clone())
                {
                    out.moves.extend(m);
                }
                continue;
            }
            Some("write") => {}
            _ => continue,
        }
        if let (Some(sid), Some(pulled), Some(hash)) = (
            v.pointer("/detail/ssot_id").and_then(Value::as_str),
            v.pointer("/detail/pulled"),
            v.pointer("/detail/hashes/0")
                .and_then(Value::as_str)
                .and_then(|h| u64::from_str_radix(h, 16).ok()),
        ) {
            out.pulled
                .entry(sid.to_string())
                .or_default()
                .push((hash, fields_of(pulled)));
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

    /// Logs the notes whose records are about to be created (a `create` event: their
    /// `ssot_id`s). Not flushed, as [`Journal::intend`].
    pub fn intend_create(&self, sids: &BTreeSet<&str>) {
        if sids.is_empty() {
            return;
        }
        if let Err(e) = self.append("create", json!({ "records": sids }), false) {
            tracing::warn!(error = %e, "journal not written");
        }
    }

    /// Logs the status moves made in the service that the run takes into notes (a `moves`
    /// event), before it writes them: a run stopped before its commit leaves them to the one
    /// that commits its notes ([`Written::moves`]). Flushed, as [`Journal::log`].
    pub fn intend_moves(&self, moves: &[IntendedMove]) -> Result<(), FsError> {
        if moves.is_empty() {
            return Ok(());
        }
        self.log("moves", json!({ "moves": moves }))
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

    fn fields(k: &str, v: &str) -> Fields {
        [(k.to_string(), Some(v.to_string()))].into()
    }

    /// Two runs killed before saving: the first's note write landed, the second's did not.
    /// The note holding exactly the first's bytes agrees on the first's value; a note edited
    /// since (it may have taken the second's value, then been set back by a person) agrees only
    /// on the last logged value, so a person's edit is never taken for an agreement.
    #[test]
    fn a_pulled_value_counts_as_agreed_only_as_the_notes_bytes_allow() {
        let w = Written {
            pulled: [(
                "S1".to_string(),
                vec![
                    (0xa, fields("city", "Gdynia")),
                    (0xb, fields("city", "Hel")),
                ],
            )]
            .into(),
            ..Written::default()
        };
        assert_eq!(w.agreed_pulled("S1", 0xa), fields("city", "Gdynia"));
        assert_eq!(w.agreed_pulled("S1", 0xb), fields("city", "Hel"));
        assert_eq!(w.agreed_pulled("S1", 0xc), fields("city", "Hel"));
        assert!(w.agreed_pulled("S2", 0xa).is_empty());
    }

    /// The same on the service's side, by the record's modification time: an earlier value
    /// sent counts when every later send of another value was logged after the record last
    /// changed (it never landed); not when the record changed since.
    #[test]
    fn a_sent_value_counts_as_agreed_only_if_the_later_sends_never_landed() {
        let w = Written {
            pushed: [(
                "S1".to_string(),
                vec![
                    (1_000, fields("budget", "47000")),
                    (2_000, fields("budget", "48000")),
                ],
            )]
            .into(),
            ..Written::default()
        };
        let vals = |m: Option<i64>| w.agreed_pushed("S1", m).remove("budget").unwrap();
        let s = |v: &str| Some(v.to_string());
        assert_eq!(vals(Some(1_500)), [s("47000"), s("48000")]);
        assert_eq!(vals(Some(2_000)), [s("48000")]);
        assert_eq!(vals(Some(9_000)), [s("48000")]);
        assert_eq!(vals(None), [s("48000")]);
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

    /// The moves a run logged it was taking into notes are that run's alone, whatever came
    /// after them.
    #[test]
    fn the_moves_a_run_takes_are_read_back_for_that_run() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        let mv = IntendedMove {
            rel: "Projects/P.md".into(),
            to: "blocked".into(),
            labels: vec!["active→blocked".into()],
        };
        let a = Journal::open(root, "trello", "run-a").unwrap();
        a.intend_moves(std::slice::from_ref(&mv)).unwrap();
        a.intend(&[1]);
        a.log("saved", json!({})).unwrap();
        let b = Journal::open(root, "trello", "run-b").unwrap();
        b.intend_moves(&[]).unwrap();
        assert_eq!(written_by(root, "trello", "run-a").moves, [mv]);
        assert!(written_by(root, "trello", "run-b").moves.is_empty());
    }

    #[test]
    fn creates_sent_are_remembered_until_a_run_saves_its_state() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        let a = Journal::open(root, "jira", "run-a").unwrap();
        a.intend_create(&BTreeSet::from(["s1"]));
        a.log("saved", json!({})).unwrap();
        let b = Journal::open(root, "jira", "run-b").unwrap();
        b.intend_create(&BTreeSet::from(["s2", "s3"]));
        let c = Journal::open(root, "jira", "run-c").unwrap();
        c.intend_create(&BTreeSet::from(["s4"]));
        assert_eq!(
            written_by(root, "jira", "run-c").creating,
            BTreeSet::from(["s2".to_string(), "s3".to_string(), "s4".to_string()]),
            "s1's run saved its state: its create's answer was taken"
        );
        c.log("saved", json!({})).unwrap();
        assert!(written_by(root, "jira", "run-c").creating.is_empty());
    }
}
