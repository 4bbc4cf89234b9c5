//! The sandbox's state: the container that holds each emulator's data (one field per service,
//! the data model itself lives in the service's folder, e.g. `hubspot/store.rs`), kept in memory
//! and optionally persisted to one JSON file between runs.
//!
//! The file is written atomically (a temporary file in the same directory, then a rename), so a
//! crash never leaves half a state behind. The clock used for record timestamps is the real clock
//! plus an offset the admin API can move, so tests can age records without sleeping.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::forms::store::FormsData;
use super::hubspot::store::HubspotData;
use super::jira::store::JiraData;
use super::sheets::store::SheetsData;
use super::trello::store::TrelloData;

/// Errors of loading or saving the state file.
#[derive(Debug, Error)]
pub enum StoreError {
    /// Reading or writing the file failed.
    #[error("state file {path}: {source}")]
    Io {
        /// The state file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The file is not a valid sandbox state.
    #[error("state file {path} is not a valid sandbox state: {source}")]
    Parse {
        /// The state file.
        path: PathBuf,
        /// The JSON error.
        source: serde_json::Error,
    },
}

impl From<StoreError> for io::Error {
    fn from(e: StoreError) -> Self {
        let kind = match &e {
            StoreError::Io { source, .. } => source.kind(),
            StoreError::Parse { .. } => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, e)
    }
}

/// Everything the sandbox persists.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct State {
    /// Format version of the file.
    pub version: u32,
    /// HubSpot CRM data (`hubspot/store.rs`).
    pub hubspot: HubspotData,
    /// Trello data (`trello/store.rs`).
    pub trello: TrelloData,
    /// Jira site data (`jira/store.rs`).
    pub jira: JiraData,
    /// Google Sheets data (`sheets/store.rs`).
    pub sheets: SheetsData,
    /// Google Forms data (`forms/store.rs`).
    pub forms: FormsData,
}

impl State {
    /// Loads the state file; a missing file gives `None`.
    pub fn load(path: &Path) -> Result<Option<State>, StoreError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StoreError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| StoreError::Parse {
                path: path.to_owned(),
                source,
            })
    }

    /// Writes the state to `path` atomically (temp file in the same directory, then rename).
    pub fn save(&self, path: &Path) -> Result<(), StoreError> {
        let io_err = |source| StoreError::Io {
            path: path.to_owned(),
            source,
        };
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| io_err(io::Error::new(io::ErrorKind::InvalidData, e)))?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(io_err)?;
        io::Write::write_all(&mut tmp, &bytes).map_err(io_err)?;
        tmp.as_file().sync_all().map_err(io_err)?;
        tmp.persist(path).map_err(|e| io_err(e.error))?;
        Ok(())
    }
}

/// Current epoch milliseconds of the real clock.
pub fn real_now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// A record whose search index lags its writes, as HubSpot's and Jira's searches do: search sees
/// the version from before the latest write until `lag` has passed. A record keeps that version
/// and the time its latest write becomes visible; the rest is here, once.
pub trait Lagged: Clone {
    /// What search sees while the latest write is not yet indexed (`None`: not visible at all).
    fn search_view(&self) -> Option<&Self>;
    /// Sets that version.
    fn set_search_view(&mut self, view: Option<Box<Self>>);
    /// Epoch ms at which the latest write becomes visible to search.
    fn indexed_at_ms(&self) -> i64;
    /// Sets that time.
    fn set_indexed_at_ms(&mut self, ms: i64);

    /// The version of this record search sees at `now_ms`.
    fn searchable(&self, now_ms: i64) -> Option<&Self> {
        if now_ms >= self.indexed_at_ms() {
            Some(self)
        } else {
            self.search_view()
        }
    }

    /// Records a write made at `now_ms` that search sees after `lag_ms`: keeps the version
    /// search saw before (`before`, the record prior to this write, `None` for a new one).
    fn mark_written(&mut self, before: Option<&Self>, now_ms: i64, lag_ms: i64) {
        let view = match before {
            Some(b) if now_ms >= b.indexed_at_ms() => {
                let mut v = b.clone();
                v.set_search_view(None);
                Some(Box::new(v))
            }
            Some(b) => b.search_view().map(|v| Box::new(v.clone())),
            None => None,
        };
        self.set_search_view(if lag_ms <= 0 { None } else { view });
        self.set_indexed_at_ms(now_ms.saturating_add(lag_ms));
    }
}

/// Implements [`Lagged`] for a type with `search_view: Option<Box<Self>>` and
/// `indexed_at_ms: i64` fields.
macro_rules! lagged {
    ($t:ty) => {
        impl $crate::sandbox::store::Lagged for $t {
            fn search_view(&self) -> Option<&Self> {
                self.search_view.as_deref()
            }
            fn set_search_view(&mut self, view: Option<Box<Self>>) {
                self.search_view = view;
            }
            fn indexed_at_ms(&self) -> i64 {
                self.indexed_at_ms
            }
            fn set_indexed_at_ms(&mut self, ms: i64) {
                self.indexed_at_ms = ms;
            }
        }
    };
}
pub(crate) use lagged;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        assert!(State::load(&path).expect("load").is_none());
        let mut s = State::default();
        s.hubspot.last_id = 42;
        s.save(&path).expect("save");
        let back = State::load(&path).expect("load").expect("some");
        assert_eq!(back.hubspot.last_id, 42);
    }
}
