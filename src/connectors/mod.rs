//! Connectors: one per service (HubSpot, Jira, Trello, Google Sheets and Google Forms), all behind the
//! [`Connector`] trait, all talking through the one HTTP layer in [`http`], each a row of the
//! [`registry`] that every command naming a service reads.
//!
//! # The record model
//!
//! The sync engine never sees a service's wire format. A connector translates each remote record
//! into a [`RemoteRecord`]: the note type it belongs to, its remote id, the note's `ssot_id` when
//! the record carries it (the crash-safe identity), and its **fields in canonical form**, keyed by
//! the vault's frontmatter keys. Canonical values are plain strings compared byte for byte by the
//! three-way merge: numbers normalised (`1500`, `12.5`), dates `YYYY-MM-DD`, lists joined by `;`,
//! enums through the mapping table in the *remote's* terms (so a table that maps two vault values
//! to one remote value never ping-pongs). [`canonical`] converts vault values into that form and
//! back; each connector's `mapping.rs` converts the service's values.
//!
//! A [`Binding`] says which note type maps to which remote kind, through which fields, in which
//! direction. Body sections (a Trello checklist ↔ a `## Credentialing` task list, comments ↔ a
//! `## Conversation`) travel in [`RemoteRecord::sections`] and [`Upsert::sections`] as item
//! lists, merged item by item by the engine (`sync::sections`): a task list by each item's text
//! and checked state, an append-only comment list by union on author and time.
//!
//! # Actions
//!
//! What a service must do that is not a field write (move a Jira issue to On Hold, give the
//! expert access, attach the export to the Trello card, delete the closed project's issue) is a
//! [`RemoteAction`] in the sync plan, never something a connector derives inside
//! [`Connector::upsert`]. The process the vault serves (`workflow`, through `sync::Process`)
//! names the effects of each status move; the engine turns them into actions with stable ids,
//! journals each one on its own before and after [`Connector::act`] carries it out, and keeps
//! those not yet done in its state, so that a crash between two actions resumes at the second
//! and an action the service refused is tried again next run. `act` must be idempotent: an
//! action already carried out (the issue already On Hold, the file already attached) is
//! [`ActionOutcome::Done`] without a second change.
//!
//! Change feeds differ per service, so the cursor is opaque JSON kept by the engine and handed
//! back to the connector ([`Connector::pull`]). A feed whose clock is coarser than the run (Jira's
//! JQL minutes) would find a run's own writes again next run; such a connector asks for a settle
//! read ([`Connector::settle_at`], [`Settle`]).

pub mod canonical;
pub mod forms;
pub mod google;
pub mod http;
pub mod hubspot;
pub mod jira;
pub mod pacing;
pub mod registry;
pub mod sheets;
pub mod trello;

use std::collections::BTreeMap;
use std::fmt;

pub use crate::vault::sections::{SectionItem, SectionKind};
pub use http::{Http, HttpConfig, HttpError, HttpStats, PathLimit, Secret};
pub use pacing::Pacing;

/// Which way a mapped field travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Both ways (three-way merged).
    Both,
    /// Vault → service only (the service's value is never written into the note).
    Push,
    /// Service → vault only.
    Pull,
}

/// How a field's vault value becomes canonical (see [`canonical`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conv {
    /// Text, trimmed.
    Text,
    /// A number, normalised.
    Number,
    /// A date, `YYYY-MM-DD`.
    Date,
    /// A list, items joined by `;`.
    List,
    /// `true` / `false`.
    Bool,
    /// An enum through a table of (vault value, remote value); unknown values pass as they are.
    Table(Vec<(String, String)>),
    /// The note's title (its file name without `.md`); push only.
    Title,
}

/// One mapped field of a binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    /// The frontmatter key (`title` for [`Conv::Title`]).
    pub key: String,
    /// The remote field (for messages and the plan; the connector's mapping owns the details).
    pub remote: String,
    /// How values are made canonical.
    pub conv: Conv,
    /// Which way it travels.
    pub direction: Direction,
}

/// A body section of a note type kept in step with a list of the remote record (a Trello
/// checklist, a card's comments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionSpec {
    /// The note's `## Heading` (`Credentialing`, `Conversation`).
    pub heading: String,
    /// How it is merged.
    pub kind: SectionKind,
}

/// A note type kept in step with a kind of remote record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The note type (`client`, `expert`, `project`, ...).
    pub note_type: String,
    /// The remote kind (`contacts`, `deals`, a Jira project, a Trello board, a sheet tab).
    pub kind: String,
    /// The frontmatter key holding the remote id (`hubspot_id`).
    pub id_key: String,
    /// The mapped fields.
    pub fields: Vec<FieldSpec>,
    /// Link fields whose targets are associated remotely (push only), e.g. a project's `client`.
    pub links: Vec<String>,
    /// Whether records created remotely become new notes.
    pub pull_new: bool,
    /// Body sections kept in step, item by item.
    pub sections: Vec<SectionSpec>,
    /// The notes of this type are only targets of other notes' links (a Jira user an expert's
    /// `jira_account_id` names): their id key is read so that a link to them resolves to the
    /// remote id, and nothing else: they are never created, updated, pulled, fetched nor
    /// archived, and the connector returns no records of them.
    pub link_target_only: bool,
}

impl Binding {
    /// The spec of a mapped key.
    pub fn field(&self, key: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.key == key)
    }
}

/// A remote record in the engine's terms.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RemoteRecord {
    /// The note type it belongs to.
    pub note_type: String,
    /// The remote id.
    pub id: String,
    /// The note's `ssot_id` stored remotely, when set.
    pub ssot_id: Option<String>,
    /// Mapped fields, canonical, keyed by frontmatter key; absent = empty.
    pub fields: BTreeMap<String, String>,
    /// A title for a new note made from this record.
    pub title: Option<String>,
    /// Last modification, epoch ms (service time).
    pub modified_ms: Option<i64>,
    /// Archived (deleted) remotely.
    pub archived: bool,
    /// Synced body sections by heading (unused by HubSpot).
    pub sections: BTreeMap<String, Vec<SectionItem>>,
}

/// A write of one note's fields to its remote record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upsert {
    /// The note type (selects the binding).
    pub note_type: String,
    /// The note's `ssot_id`: every create is an upsert keyed by it.
    pub ssot_id: String,
    /// The known remote id (`None`: create, or find by `ssot_id`).
    pub remote_id: Option<String>,
    /// Whether the remote record already carries the `ssot_id` (else it is set by this write).
    pub remote_has_ssot_id: bool,
    /// Fields to write, canonical; `None` clears the field.
    pub fields: BTreeMap<String, Option<String>>,
    /// Link fields resolved to the target's remote ids: (key, target note type, remote ids).
    pub links: Vec<(String, String, Vec<String>)>,
    /// Body sections to write, merged (heading → items); only those that changed.
    pub sections: BTreeMap<String, Vec<SectionItem>>,
    /// Why a change made in the service was not taken into the vault and is undone by this
    /// write (a status move the lifecycle refuses), said to people; a connector that can
    /// comment on the record posts it (Jira), the others ignore it.
    pub notice: Option<String>,
    /// A create an interrupted run already sent (its journal says so): the record may exist
    /// without the note knowing it. A service without idempotent creates looks for it first
    /// (Jira, by its label); the others ignore it.
    pub maybe_created: bool,
}

/// What became of one [`Upsert`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Written.
    Written {
        /// The note's `ssot_id`.
        ssot_id: String,
        /// The remote id.
        remote_id: String,
        /// A new record was created.
        created: bool,
        /// The record's mapped fields as the service now holds them, when it said.
        fields: Option<BTreeMap<String, String>>,
    },
    /// The record is gone remotely (archived or deleted).
    Gone {
        /// The note's `ssot_id`.
        ssot_id: String,
        /// The remote id that was not found.
        remote_id: String,
    },
    /// The service refused this record (the others were written).
    Refused {
        /// The note's `ssot_id`.
        ssot_id: String,
        /// Why.
        message: String,
    },
    /// The record was written, but one of its links was not made remotely (an association
    /// HubSpot refused); the record's other links and the other records are not held back.
    Unlinked {
        /// The note's `ssot_id`.
        ssot_id: String,
        /// The link field (`client`, `expert`; `company` for a client's company).
        key: String,
        /// The remote id of the link's target.
        target: String,
        /// Why, as the service said it.
        message: String,
    },
}

/// What a [`RemoteAction`] asks of the service.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum ActionOp {
    /// Move the record to a status of the service's workflow, named in the lifecycle's terms
    /// (`on-hold`, `in-progress`); the connector maps it to its own.
    Transition {
        /// The status.
        to: String,
    },
    /// Make a child record under the record (the expert's Jira task under the project's issue),
    /// assigned to the target of a link field of the note.
    CreateChild {
        /// The child's kind in the service (`task`).
        kind: String,
        /// The link field naming its assignee (`expert`), if any.
        assignee: Option<String>,
    },
    /// Give the target of a link field of the note (`expert`) access to the record.
    Grant {
        /// The link field.
        link: String,
    },
    /// Take that access back.
    Revoke {
        /// The link field.
        link: String,
    },
    /// Attach the files the process made for the note (the archive's export) to the record.
    AttachExport,
    /// Delete the record from the service.
    Delete,
}

/// A service action of the plan: one effect of a status move, for one record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RemoteAction {
    /// A stable id: the same move planned again (after a crash) gives the same ids, so the
    /// journal tells which are done.
    pub id: String,
    /// The note type.
    pub note_type: String,
    /// The note's `ssot_id`.
    pub ssot_id: String,
    /// The note's path in the vault (for files the action reads and for messages).
    pub rel: String,
    /// What to do.
    pub op: ActionOp,
    /// The note's link fields resolved to the targets' remote ids in this remote (key → ids),
    /// filled by the engine just before [`Connector::act`] (the expert's Jira account of a
    /// `Grant`); never stored.
    #[serde(skip)]
    pub links: Vec<(String, Vec<String>)>,
}

/// What became of one [`RemoteAction`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionOutcome {
    /// Carried out now or before (idempotent).
    Done,
    /// The service refused it; it is tried again next run.
    Refused {
        /// Why, as the service said it.
        message: String,
    },
    /// The record is gone from the service: nothing left to do.
    Gone,
    /// The connector does not carry out this kind of action (a configuration that sends an
    /// effect to the wrong service): reported, not tried again.
    Unsupported,
}

/// Records changed since a cursor.
#[derive(Debug, Clone, Default)]
pub struct Pulled {
    /// The records (deduplicated by remote id).
    pub records: Vec<RemoteRecord>,
    /// The cursor to hand back next time (store it only once the run's changes are safe).
    pub cursor: serde_json::Value,
    /// Whether this was a full read (no cursor): every live record is in `records`.
    pub full: bool,
}

/// A run that wrote to a service whose change feed has a coarse clock (Jira's JQL: minutes)
/// may read once more before it ends, so that the next run's read starts after its own writes
/// instead of finding them again ([`Connector::settle_at`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settle {
    /// This machine's clock (epoch ms) from which a read sees every write of the run, in a
    /// window the next read can leave out.
    pub at_ms: i64,
    /// The longest the engine waits for it, ms; a longer wait: no settle read this run.
    pub max_wait_ms: i64,
    /// What the wait is for, said to people (`for Jira's search to pass …`).
    pub reason: String,
}

/// A connector failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The HTTP layer failed (after its retries).
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The service answered something we cannot use.
    #[error("{service}: {message}")]
    Protocol {
        /// The service.
        service: String,
        /// What is wrong.
        message: String,
    },
    /// The configuration is unusable.
    #[error("{service}: configuration: {message}")]
    Config {
        /// The service.
        service: String,
        /// What is wrong.
        message: String,
    },
    /// No credentials: neither in the environment nor in the OS keyring (see `crate::secrets`).
    #[error(
        "{service}: no credentials: set the environment variable {var}, or store the token in the OS keyring with `ssot-vault auth set {service}`{}",
        keyring_note(.keyring)
    )]
    NoCredentials {
        /// The service (also the remote's name for `auth set`).
        service: String,
        /// The variable to set.
        var: String,
        /// Why the OS keyring could not be consulted, when it could not.
        keyring: Option<String>,
    },
}

fn keyring_note(problem: &Option<String>) -> String {
    match problem {
        Some(p) => format!(" ({p})"),
        None => String::new(),
    }
}

/// What a healthcheck found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// A one-line description (`HubSpot at https://…: token accepted`).
    pub detail: String,
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

/// A service the vault is kept in step with.
///
/// Methods take `&mut self`: the engine drives one connector at a time, and a connector keeps its
/// own state (what it created, its change-feed bookkeeping) which the engine persists through
/// [`Connector::save_state`] once a run's changes are safe.
#[allow(async_fn_in_trait)]
pub trait Connector {
    /// The remote's name in `ssot-vault.toml` (`hubspot`); also the `Ssot-Source` trailer.
    fn name(&self) -> &str;
    /// The note types this connector syncs, in write order (targets of links first).
    fn bindings(&self) -> &[Binding];
    /// Restores the connector's own state saved by a previous run.
    fn load_state(&mut self, state: serde_json::Value);
    /// The connector's own state, to save after the run.
    fn save_state(&self) -> serde_json::Value;
    /// Records changed since `cursor` (`None`: everything).
    async fn pull(&mut self, cursor: Option<&serde_json::Value>) -> Result<Pulled, ConnectorError>;
    /// Records by remote id (missing ones are left out).
    async fn fetch(
        &mut self,
        note_type: &str,
        ids: &[String],
    ) -> Result<Vec<RemoteRecord>, ConnectorError>;
    /// Ids of records archived remotely among `ids` (may cost a listing; the engine calls it only
    /// when configured to).
    async fn archived(
        &mut self,
        note_type: &str,
        ids: &[String],
    ) -> Result<Vec<String>, ConnectorError>;
    /// The records of kind `kinds` (a binding's `kind`) associated with each of the records `ids`
    /// of `note_type`, as the service links them: record id → [(kind, remote id)], each kind's
    /// ids in the service's order. The engine asks only for records that will become new notes,
    /// whose links it cannot read elsewhere. A service with no links between records has none.
    async fn associated(
        &mut self,
        _note_type: &str,
        _ids: &[String],
        _kinds: &[String],
    ) -> Result<BTreeMap<String, Vec<(String, String)>>, ConnectorError> {
        Ok(BTreeMap::new())
    }
    /// How many upserts the engine hands [`Connector::upsert`] at once: a multiple of the
    /// service's batch size, so a chunk never splits a service batch. The engine builds a
    /// chunk's writes and reads its answers before the next, so a first sync of many notes never
    /// holds them all.
    fn push_chunk(&self) -> usize;
    /// Writes a batch (any size; the connector splits it), each create keyed by `ssot_id`.
    async fn upsert(
        &mut self,
        run_id: &str,
        batch: &[Upsert],
    ) -> Result<Vec<WriteOutcome>, ConnectorError>;
    /// Archives records by remote id.
    async fn archive(&mut self, note_type: &str, ids: &[String]) -> Result<(), ConnectorError>;
    /// Carries out one action of the plan on the record `remote_id` (see [Actions](self#actions));
    /// idempotent. A service with no actions has the default: [`ActionOutcome::Unsupported`].
    async fn act(
        &mut self,
        _action: &RemoteAction,
        _remote_id: &str,
    ) -> Result<ActionOutcome, ConnectorError> {
        Ok(ActionOutcome::Unsupported)
    }
    /// Checks the credentials and that the service answers.
    async fn healthcheck(&mut self) -> Result<Health, ConnectorError>;
    /// Request statistics of this run.
    fn stats(&self) -> HttpStats;
    /// Who last changed a record this run read (its remote id): (name, email), when the
    /// service says (Jira's changelog). The pull commit names that person as its author.
    fn changed_by(&self, _remote_id: &str) -> Option<(String, String)> {
        None
    }
    /// The vault's root, told once a run before the pull: a connector whose actions read files
    /// of the vault (the archive's export beside the note [`RemoteAction::rel`] names) keeps it.
    fn set_vault_root(&mut self, _root: &std::path::Path) {}
    /// Told once a run before the pull when the run changes nothing (`sync --dry-run`): a
    /// connector whose pull writes (Sheets giving a row typed by hand its key) then writes
    /// nothing and answers as if it had.
    fn set_dry_run(&mut self, _dry_run: bool) {}
    /// Whether a status move made in the service is judged by the vault's process before it is
    /// taken (Jira): one the process refuses is sent back with an [`Upsert::notice`]. The
    /// others take the service's status as any field.
    fn guards_remote_moves(&self) -> bool {
        false
    }
    /// Whether the service's records hold a note's `ssot_id` once an upsert wrote it. Google
    /// Forms' responses cannot: the engine then takes a pulled record as holding the `ssot_id`
    /// of the note its remote id names, and never writes to stamp it.
    fn records_hold_ssot_id(&self) -> bool {
        true
    }
    /// What the connector's HTTP client remembers of its recent requests (see [`pacing`]), saved
    /// when a run ends so the next one paces from it.
    fn pacing(&self) -> Pacing {
        Pacing::default()
    }
    /// Counts the requests of an earlier run (its [`Connector::pacing`]) before the first one.
    fn restore_pacing(&mut self, _pacing: &Pacing) {}
    /// When this run's settle read may be made (`None`: no settle read, the default). A
    /// connector whose change feed would find the run's own writes again (its clock too coarse
    /// to start after them) says when a read would see all of them; the engine then waits, once
    /// the run's state and commit are saved, reads with [`Connector::settle_pull`] from the
    /// cursor the run started from, and keeps that read's cursor only when every record it read
    /// is as the run left it (so a change made meanwhile is never skipped).
    fn settle_at(&self) -> Option<Settle> {
        None
    }
    /// The settle read: [`Connector::pull`] from `cursor`, each record read handed to
    /// `unchanged` (the engine's test against the base) as it comes, a page at a time, so the
    /// run never holds them all. It stops at the first record that is not unchanged (`None`),
    /// else gives its cursor, which starts the next read after this run's writes (for Jira: this
    /// read's start on Jira's clock less the search's lag, not less the overlap). The default
    /// reads with a plain pull.
    async fn settle_pull(
        &mut self,
        cursor: Option<&serde_json::Value>,
        unchanged: &mut (dyn FnMut(&RemoteRecord) -> bool + Send),
    ) -> Result<Option<serde_json::Value>, ConnectorError> {
        let pulled = self.pull(cursor).await?;
        Ok(pulled
            .records
            .iter()
            .all(unchanged)
            .then_some(pulled.cursor))
    }
}

/// Installs the rustls crypto provider (ring) once; every HTTP client needs it.
pub fn install_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
