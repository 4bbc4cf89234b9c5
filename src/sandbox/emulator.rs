//! The [`Emulator`] trait: what each service's emulation (`sandbox/<svc>/`) gives the sandbox
//! server (its routes, seeded data and fault rendering) and the tests (admin operations on its
//! records, made as a person working in the service would make them, without HTTP).
//!
//! The server mounts every emulator of [`EMULATORS`] at the root, under the service's real paths;
//! faults (`faults.rs`) and request counters stay generic and apply to every emulated route. A new
//! service implements the trait in its folder and adds itself to [`EMULATORS`].

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use serde_json::Value;
use thiserror::Error;

use super::AppState;
use super::faults::{FaultRenderer, RequestCounts};
use super::store::State;

/// Errors of an emulator's admin operations.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EmulatorError {
    /// The emulator holds no records of this kind.
    #[error("{service} has no record kind `{kind}`")]
    UnknownKind {
        /// The service.
        service: &'static str,
        /// The kind asked for.
        kind: String,
    },
    /// No live record has this id.
    #[error("{service}: no live {kind} with id {id}")]
    NotFound {
        /// The service.
        service: &'static str,
        /// The record kind.
        kind: String,
        /// The id asked for.
        id: String,
    },
    /// The service refused the change (its own validation message).
    #[error("{service} refused the change: {message}")]
    Rejected {
        /// The service.
        service: &'static str,
        /// What the service said.
        message: String,
    },
}

/// One record of an emulated service, as the admin operations see it.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteRecord {
    /// The service's id of the record.
    pub id: String,
    /// Field values by the service's field name (absent: no value).
    pub fields: BTreeMap<String, String>,
    /// Archived, trashed or deleted in the service (still kept by the emulator).
    pub archived: bool,
    /// The whole record as the emulator's admin dump renders it (timestamps included).
    pub raw: Value,
}

impl RemoteRecord {
    /// A field's value.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// A service's emulation, mounted by the sandbox server.
pub trait Emulator: Send + Sync + std::fmt::Debug {
    /// The service's name, as in `[remotes.<name>]`.
    fn name(&self) -> &'static str;

    /// Path prefixes of its routes: injected faults there are rendered by [`Self::fault_renderer`],
    /// and [`Self::requests`] counts the requests made there.
    fn prefixes(&self) -> &'static [&'static str];

    /// Its routes (with its own gate and the shared fault layer), merged at the server's root.
    fn router(&self, app: Arc<AppState>) -> Router<Arc<AppState>>;

    /// Renders an injected error status in the service's error format.
    fn fault_renderer(&self) -> FaultRenderer;

    /// Puts the service's seeded account into a fresh state.
    fn seed(&self, state: &mut State);

    /// The record kinds it holds (`contacts`, `deals`, ...).
    fn kinds(&self) -> &'static [&'static str];

    /// The field of a record holding the vault's `ssot_id`.
    fn ssot_field(&self) -> &'static str {
        "ssot_id"
    }

    /// Every record of a kind, archived ones included.
    fn records(&self, app: &AppState, kind: &str) -> Result<Vec<RemoteRecord>, EmulatorError>;

    /// Creates a record with these field values, as a person would in the service; returns its id.
    fn create(
        &self,
        app: &AppState,
        kind: &str,
        fields: &[(&str, &str)],
    ) -> Result<String, EmulatorError>;

    /// Sets one field of a live record (an empty value clears it), as a person would in the
    /// service's UI: the record's modification time moves and search sees it after the lag.
    fn edit(
        &self,
        app: &AppState,
        kind: &str,
        id: &str,
        field: &str,
        value: &str,
    ) -> Result<(), EmulatorError>;

    /// Archives (trashes, deletes) a live record, as a person would in the service.
    fn archive(&self, app: &AppState, kind: &str, id: &str) -> Result<(), EmulatorError>;

    /// The live records of a kind.
    fn live(&self, app: &AppState, kind: &str) -> Result<Vec<RemoteRecord>, EmulatorError> {
        let mut all = self.records(app, kind)?;
        all.retain(|r| !r.archived);
        Ok(all)
    }

    /// The live records of a kind carrying this vault `ssot_id` (one, when all is well).
    fn by_ssot_id(
        &self,
        app: &AppState,
        kind: &str,
        ssot_id: &str,
    ) -> Result<Vec<RemoteRecord>, EmulatorError> {
        let field = self.ssot_field();
        let mut live = self.live(app, kind)?;
        live.retain(|r| r.field(field) == Some(ssot_id));
        Ok(live)
    }

    /// Requests counted on its routes (`counts` keys are `METHOD /route/template`).
    fn requests(&self, counts: &RequestCounts) -> u64 {
        counts
            .by_endpoint
            .iter()
            .filter(|(key, _)| {
                key.split_once(' ')
                    .is_some_and(|(_, path)| self.prefixes().iter().any(|p| path.starts_with(p)))
            })
            .map(|(_, n)| *n)
            .sum()
    }
}

/// Every emulator the sandbox serves.
pub static EMULATORS: [&dyn Emulator; 6] = [
    &super::hubspot::Hubspot,
    &super::jira::Jira,
    &super::trello::Trello,
    &super::google::Google,
    &super::sheets::Sheets,
    &super::forms::Forms,
];

/// The emulator of a service, by name.
pub fn emulator(name: &str) -> Option<&'static dyn Emulator> {
    EMULATORS.iter().copied().find(|e| e.name() == name)
}

/// An emulator bound to a running sandbox's state, for the admin operations
/// ([`super::Sandbox::remote`]).
#[derive(Debug, Clone, Copy)]
pub struct Remote<'a> {
    /// The emulator.
    pub emulator: &'static dyn Emulator,
    /// The sandbox state it works on.
    pub app: &'a AppState,
}

impl Remote<'_> {
    /// See [`Emulator::records`].
    pub fn records(&self, kind: &str) -> Result<Vec<RemoteRecord>, EmulatorError> {
        self.emulator.records(self.app, kind)
    }

    /// See [`Emulator::live`].
    pub fn live(&self, kind: &str) -> Result<Vec<RemoteRecord>, EmulatorError> {
        self.emulator.live(self.app, kind)
    }

    /// See [`Emulator::by_ssot_id`].
    pub fn by_ssot_id(
        &self,
        kind: &str,
        ssot_id: &str,
    ) -> Result<Vec<RemoteRecord>, EmulatorError> {
        self.emulator.by_ssot_id(self.app, kind, ssot_id)
    }

    /// See [`Emulator::create`].
    pub fn create(&self, kind: &str, fields: &[(&str, &str)]) -> Result<String, EmulatorError> {
        self.emulator.create(self.app, kind, fields)
    }

    /// See [`Emulator::edit`].
    pub fn edit(
        &self,
        kind: &str,
        id: &str,
        field: &str,
        value: &str,
    ) -> Result<(), EmulatorError> {
        self.emulator.edit(self.app, kind, id, field, value)
    }

    /// See [`Emulator::archive`].
    pub fn archive(&self, kind: &str, id: &str) -> Result<(), EmulatorError> {
        self.emulator.archive(self.app, kind, id)
    }

    /// See [`Emulator::requests`].
    pub fn requests(&self) -> u64 {
        let counts = self
            .app
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        self.emulator.requests(&counts)
    }
}
