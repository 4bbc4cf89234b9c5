//! The two-way sync engine, the same for every service.
//!
//! A run: commit pending vault edits (`Ssot-Source: vault`); read the vault; pull the remote's
//! changes since the cursor; make the [`plan`] (pure: per-field three-way [`merge`] against the
//! base in [`state`]); then [`apply`] it: note edits (compare-and-swap), new notes, remote writes
//! (every create an upsert keyed by `ssot_id`), remote ids written back, archives; save the base
//! and cursor; make one git commit (`Ssot-Source: <remote>`, `Ssot-Run: <id>`). The [`journal`]
//! records each step. A crash anywhere is repaired by the next run, which plans again.
//!
//! Beside field writes, a plan carries **body sections** ([`sections`]: task lists and comment
//! lists merged item by item) and **actions**: the service effects of a project's status move,
//! named by the [`Process`] the command hands in (the lifecycle; the engine does not know it),
//! carried out one at a time after the field writes through `Connector::act`, each journaled
//! before and after, those not done kept in the state, so a crash between two actions resumes at
//! the second.
//!
//! The run is in `run.rs`, the applier (the plan carried out, through the note helpers of
//! [`apply`]) in `applier.rs`, what a run did in [`report`]; the base after each step of the
//! applier is [`SyncState::settle`], the one rule the property tests of the plan drive too.

mod applier;
pub mod apply;
pub mod journal;
pub mod links;
pub mod merge;
pub mod plan;
#[cfg(test)]
mod plan_props;
pub mod process;
pub mod read;
pub mod report;
mod run;
pub mod sections;
pub mod state;

use crate::connectors::ConnectorError;
use crate::history::HistoryError;

pub use plan::{Action, Held, Plan, PlanInput, Policy, RecordPlan, VaultNote};
pub use process::{NoProcess, Process, StatusMove, Verdict};
pub use report::{SyncReport, log_line, summary};
pub use run::run;
pub use state::{BaseEntry, SyncState};

/// Options of a run.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Print the plan, change nothing.
    pub dry_run: bool,
    /// Allow a plan archiving more than the configured share of records.
    pub force: bool,
    /// Look for records archived remotely this run, whatever the interval.
    pub check_archived: bool,
    /// Read every record again, not only those changed since the cursor.
    pub full: bool,
    /// The reductions of the notes read by earlier runs (the `watch` daemon's): the run reads
    /// only the notes changed since ([`read::read_vault_cached`]). `None`: every note is read.
    pub read_cache: Option<std::sync::Arc<std::sync::Mutex<read::ReadCache>>>,
    /// The caller (the `watch` daemon, from its file events) knows that no file of the vault
    /// changed since this remote's last run, which committed the vault's edits: the run makes no
    /// commit of pending edits (git's status over the whole work tree) and the read cache
    /// reuses its last read whole ([`read::ReadCache::set_quiet`]).
    pub vault_quiet: bool,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The service failed.
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    /// Git failed.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// The state could not be read or written.
    #[error(transparent)]
    State(#[from] state::StateError),
    /// A file could not be written.
    #[error(transparent)]
    Fs(#[from] crate::fsutil::FsError),
    /// The schema in the configuration is invalid.
    #[error("invalid schema in ssot-vault.toml: {0}")]
    Schema(String),
    /// The plan archives too many records.
    #[error(
        "the plan would archive {archives} of {known} {remote} records ({share:.0} %), more than the {max:.0} % allowed; nothing was changed"
    )]
    ArchiveShare {
        /// The remote.
        remote: String,
        /// Archives planned.
        archives: usize,
        /// Records known.
        known: usize,
        /// Share in percent.
        share: f64,
        /// Allowed share in percent.
        max: f64,
    },
}

/// A new run id: UTC time plus a random suffix.
pub fn new_run_id() -> String {
    let now = jiff::Timestamp::now();
    let mut b = [0u8; 3];
    let _ = getrandom::fill(&mut b);
    format!(
        "{}-{:02x}{:02x}{:02x}",
        now.strftime("%Y%m%dT%H%M%SZ"),
        b[0],
        b[1],
        b[2]
    )
}

/// Today's date (local time zone), `YYYY-MM-DD`.
pub fn today() -> String {
    jiff::ZonedDateTime::now().date().to_string()
}

#[cfg(test)]
mod tests {
    /// Run ids name their time and differ between runs (the journal and the `Ssot-Run` trailer
    /// tell runs apart by them).
    #[test]
    fn run_ids_are_timestamped_and_distinct() {
        let ids: Vec<String> = (0..8).map(|_| super::new_run_id()).collect();
        for id in &ids {
            let (time, suffix) = id.split_once('-').expect("time-suffix");
            assert!(
                time.parse::<jiff::civil::DateTime>().is_ok()
                    || jiff::civil::DateTime::strptime("%Y%m%dT%H%M%SZ", time).is_ok(),
                "{id}"
            );
            assert_eq!(suffix.len(), 6, "{id}");
            assert!(suffix.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
        }
        let distinct: std::collections::BTreeSet<&String> = ids.iter().collect();
        assert!(distinct.len() > 1, "{ids:?}");
    }
}
