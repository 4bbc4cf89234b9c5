//! The two-way sync engine, the same for every service.
//!
//! A run: commit pending vault edits (`Ssot-Source: vault`); read the vault; pull the remote's
//! changes since the cursor; make the [`plan`] (pure: per-field three-way [`merge`] against the
//! base in [`state`]); then [`apply`] it: note edits (compare-and-swap), new notes, remote writes
//! (every create an upsert keyed by `ssot_id`), remote ids written back, archives; save the base
//! and cursor; make one git commit (`Ssot-Source: <remote>`, `Ssot-Run: <id>`). The [`journal`]
//! records each step. A crash anywhere is repaired by the next run, which plans again.

pub mod apply;
pub mod journal;
pub mod links;
pub mod merge;
pub mod plan;
#[cfg(test)]
mod plan_props;
pub mod read;
pub mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;
use serde_json::json;

use crate::config::{Config, RemoteCommon};
use crate::connectors::{
    Binding, Connector, ConnectorError, HttpStats, Upsert, WriteOutcome, canonical,
};
use crate::history::{self, CommitRequest, HistoryError};
use crate::vault::editor::Edit;
use crate::vault::note::Note;
use crate::vault::schema::Schema;
use crate::vault::value::Value;

pub use plan::{Action, Held, Plan, PlanInput, Policy, RecordPlan, VaultNote};
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

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    /// The remote.
    pub remote: String,
    /// The run id.
    pub run_id: String,
    /// The plan.
    pub plan: Plan,
    /// Whether anything was applied (false for `--dry-run`).
    pub applied: bool,
    /// Records created remotely.
    pub created_remote: usize,
    /// Records updated remotely.
    pub updated_remote: usize,
    /// Notes updated from the remote.
    pub notes_updated: usize,
    /// Notes created from remote records.
    pub notes_created: usize,
    /// Notes marked archived.
    pub notes_marked_archived: usize,
    /// Records archived remotely.
    pub archived_remote: usize,
    /// Open conflicts.
    pub conflicts: usize,
    /// Notes skipped because they changed during the run.
    pub skipped_changed: Vec<String>,
    /// Records the service refused, and links not made (refused by the service, or left out
    /// because the target's record is archived), each message naming the note's path:
    /// (ssot_id, message).
    pub refused: Vec<(String, String)>,
    /// Notes that could not be read, as `path:line:col: why` (left alone, never written).
    pub unreadable: Vec<String>,
    /// Records that make no valid note (`check` would reject it), not written: (remote id,
    /// message). Each is reported once, and again only when the record changes.
    pub invalid: Vec<(String, String)>,
    /// The commit of the pending vault edits, if one was made.
    pub vault_commit: Option<String>,
    /// The sync commit, if one was made.
    pub commit: Option<String>,
    /// HTTP counters.
    pub http: HttpStats,
    /// The previous run was interrupted (its id).
    pub resumed_after: Option<String>,
    /// The commit of the notes the interrupted run had written, if one was made.
    pub resumed_commit: Option<String>,
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

/// Canonical mapped fields of a note's text (for bases rebuilt from history).
fn fields_of_text(text: &str, b: &Binding, stem: &str) -> Option<BTreeMap<String, String>> {
    let note = Note::parse(text.as_bytes()).ok()?;
    Some(
        b.fields
            .iter()
            .filter_map(|f| {
                canonical::from_vault(&f.conv, note.get(&f.key), stem).map(|v| (f.key.clone(), v))
            })
            .collect(),
    )
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// Runs one sync of `connector` with the vault at `root`.
pub async fn run<C: Connector>(
    root: &Path,
    config: &Config,
    connector: &mut C,
    common: &RemoteCommon,
    opts: &SyncOptions,
) -> Result<SyncReport, SyncError> {
    let remote = connector.name().to_string();
    let run_id = new_run_id();
    let schema = Schema::from_config(config).map_err(|e| SyncError::Schema(e.join("; ")))?;
    let mut report = SyncReport {
        remote: remote.clone(),
        run_id: run_id.clone(),
        ..SyncReport::default()
    };
    report.resumed_after = journal::interrupted(root, &remote);
    if let Some(r) = &report.resumed_after {
        tracing::warn!(run = %r, "the previous sync run was interrupted; this run repairs it");
    }
    // 1. Pending vault edits get their own commit, so the log tells who changed what; a status
    //    change the lifecycle refuses is recorded too, marked `Ssot-Illegal-Transition` (it is
    //    not carried to the service, below). The notes an interrupted run wrote come first, as
    //    that run's: the vault did not make them.
    if !opts.dry_run
        && let Some(prev) = &report.resumed_after
    {
        report.resumed_commit = commit_interrupted(root, &remote, prev, common)?;
    }
    if !opts.dry_run {
        let pending = history::commit(
            root,
            &CommitRequest {
                message: None,
                source: "vault".into(),
                trailers: crate::workflow::audit::illegal_trailers(root, config),
                author: None,
            },
        );
        match pending {
            Ok(c) => report.vault_commit = c.map(|c| c.short_id),
            Err(HistoryError::NotARepo { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let mut st = SyncState::load(root, &remote)?;
    connector.load_state(st.connector.clone());
    // 2. The vault, read before the remote: an edit made while the run talks to the service is
    //    seen by the compare-and-swap and never overwritten.
    //    Each note is reduced as it is read (`read.rs`): the run never holds the parsed vault; the
    //    lifecycle's guards read whole only the few projects whose status moved.
    let bindings: Vec<Binding> = connector.bindings().to_vec();
    let read = read::read_vault(root, config, &bindings, &remote);
    report.unreadable = read.unreadable;
    let held = read.held;
    // An interrupted run's values pulled into notes: where a note still holds one, the note and
    // the remote agreed on it, though the run died before saving that base.
    let written = report
        .resumed_after
        .as_ref()
        .map(|prev| journal::written_by(root, &remote, prev))
        .unwrap_or_default();
    for n in &read.notes {
        let (Some(pulled), Some(e)) = (written.pulled.get(&n.ssot_id), st.base.get_mut(&n.ssot_id))
        else {
            continue;
        };
        for (k, v) in pulled {
            if n.fields.get(k) == v.as_ref() {
                match v {
                    Some(v) => e.fields.insert(k.clone(), v.clone()),
                    None => e.fields.remove(k),
                };
            }
        }
    }
    // The lifecycle's guards hold for the services too: a project status changed in the vault
    // in a way the lifecycle does not allow (`check` reports it) is not carried to the service.
    let illegal = illegal_status_changes(root, config, &read.projects, &st, &bindings);
    let notes = read.notes;
    // 3. The remote's changes.
    let full_interval_ms =
        i64::try_from(common.full_pull_hours.saturating_mul(3_600_000)).unwrap_or(i64::MAX);
    let full_due = opts.full
        || (common.full_pull_hours > 0
            && st
                .full_pulled_ms
                .is_none_or(|t| now_ms().saturating_sub(t) >= full_interval_ms));
    let cursor = if full_due { None } else { st.cursor.as_ref() };
    let pulled = connector.pull(cursor).await?;
    tracing::info!(records = pulled.records.len(), full = pulled.full, "pulled");
    let mut remote_records = pulled.records;
    let mut gone: BTreeSet<String> = BTreeSet::new();
    let interval_ms =
        i64::try_from(common.check_archived_minutes.saturating_mul(60_000)).unwrap_or(i64::MAX);
    let check_due = opts.check_archived
        || st
            .archived_checked_ms
            .is_none_or(|t| now_ms().saturating_sub(t) >= interval_ms);
    let mut archived_checked = false;
    if check_due && !pulled.full {
        for b in &bindings {
            let ids: Vec<String> = st
                .base
                .values()
                .filter(|e| {
                    e.note_type == b.note_type
                        && !e.deleted
                        && !e.archived
                        && !e.remote_id.is_empty()
                })
                .map(|e| e.remote_id.clone())
                .collect();
            if !ids.is_empty() {
                gone.extend(connector.archived(&b.note_type, &ids).await?);
            }
        }
        archived_checked = true;
    }
    // Notes with a remote id but no base, not seen in an incremental pull: read them.
    if !pulled.full {
        let seen: BTreeSet<&str> = remote_records.iter().map(|r| r.id.as_str()).collect();
        let mut want: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for n in &notes {
            if let Some(r) = &n.remote_id
                && !seen.contains(r.as_str())
                && st
                    .base
                    .get(&n.ssot_id)
                    .is_none_or(|b| b.remote_id.is_empty())
                && !n.archived_mark
            {
                want.entry(n.note_type.clone()).or_default().push(r.clone());
            }
        }
        // Records pulled while their note could not be read: read again, their change is
        // behind the cursor.
        for (rid, ty) in &st.held_pulled {
            if !seen.contains(rid.as_str()) {
                let ids = want.entry(ty.clone()).or_default();
                if !ids.contains(rid) {
                    ids.push(rid.clone());
                }
            }
        }
        for (ty, ids) in want {
            let got = connector.fetch(&ty, &ids).await?;
            let found: BTreeSet<String> = got.iter().map(|r| r.id.clone()).collect();
            gone.extend(ids.into_iter().filter(|i| !found.contains(i)));
            remote_records.extend(got);
        }
    }
    // Likewise the vault's values an interrupted run sent: where the record still holds one.
    for r in &remote_records {
        let Some(sid) = r.ssot_id.as_deref() else {
            continue;
        };
        let (Some(pushed), Some(e)) = (written.pushed.get(sid), st.base.get_mut(sid)) else {
            continue;
        };
        for (k, v) in pushed {
            if r.fields.get(k) == v.as_ref() {
                match v {
                    Some(v) => e.fields.insert(k.clone(), v.clone()),
                    None => e.fields.remove(k),
                };
            }
        }
    }
    drop(written);
    // Records of unreadable notes seen this run: remembered, to be read again next run.
    {
        let held_rids: BTreeSet<&str> = held
            .ssot_ids
            .iter()
            .filter_map(|sid| st.base.get(sid).map(|b| b.remote_id.as_str()))
            .chain(held.remote_ids.iter().map(String::as_str))
            .filter(|r| !r.is_empty())
            .collect();
        st.held_pulled = remote_records
            .iter()
            .filter(|r| held.holds(r.ssot_id.as_deref(), None) || held_rids.contains(r.id.as_str()))
            .map(|r| (r.id.clone(), r.note_type.clone()))
            .collect();
    }
    // Bases lost with `.ssot/`: rebuilt from the notes' last sync commits.
    let mut history_base: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    {
        let pulled_sids: BTreeSet<&str> = remote_records
            .iter()
            .filter_map(|r| r.ssot_id.as_deref())
            .collect();
        let pulled_ids: BTreeSet<&str> = remote_records.iter().map(|r| r.id.as_str()).collect();
        let need: Vec<&VaultNote> = notes
            .iter()
            .filter(|n| {
                st.base
                    .get(&n.ssot_id)
                    .is_none_or(|b| b.remote_id.is_empty())
            })
            .filter(|n| {
                pulled_sids.contains(n.ssot_id.as_str())
                    || n.remote_id
                        .as_deref()
                        .is_some_and(|r| pulled_ids.contains(r))
            })
            .collect();
        if !need.is_empty() {
            let rels: Vec<String> = need.iter().map(|n| n.rel.clone()).collect();
            let texts = state::base_from_history(root, &remote, &rels);
            for n in need {
                if let (Some(text), Some(b)) = (
                    texts.get(&n.rel),
                    bindings.iter().find(|b| b.note_type == n.note_type),
                ) && let Some(f) = fields_of_text(text, b, &n.title)
                {
                    history_base.insert(n.ssot_id.clone(), f);
                }
            }
        }
    }
    // 4. The plan.
    let unfit =
        |ty: &str, key: &str, v: Option<&str>| apply::unfit_value(&schema, &bindings, ty, key, v);
    // A record reported as making no valid note whose note was since made by hand: forgotten.
    let note_rids: BTreeSet<&str> = notes
        .iter()
        .filter_map(|n| n.remote_id.as_deref())
        .collect();
    st.invalid
        .retain(|rid, _| !note_rids.contains(rid.as_str()));
    drop(note_rids);
    let plan = plan::plan(
        &remote,
        &PlanInput {
            bindings: &bindings,
            notes: &notes,
            base: &st.base,
            history_base: &history_base,
            remote: &remote_records,
            full: pulled.full,
            gone: &gone,
            open_conflicts: &st.conflicts,
            held: &held,
            invalid: &st.invalid,
            unfit: plan::Unfit(&unfit),
            policy: Policy {
                conflict: common.conflict_policy,
                archive_deleted_notes: common.archive_deleted_notes,
            },
        },
    );
    let mut plan = plan;
    for rp in &mut plan.records {
        if let Some(ill) = illegal.get(&rp.ssot_id)
            && rp.push.remove("status").is_some()
        {
            rp.base_kept.insert("status".into(), ill.base.clone());
            report.refused.push((
                rp.ssot_id.clone(),
                format!(
                    "status {}→{} of {} not sent: {}",
                    ill.from, ill.to, rp.rel, ill.reason
                ),
            ));
        }
    }
    // New notes of records with links (a project's `client` and `expert`): the links the service
    // holds for them, read only for those records.
    settle_new_links(connector, &schema, &bindings, &notes, &st, &mut plan).await?;
    report.conflicts = plan.conflicts();
    if plan.archives() > 0 && plan.archive_share() > common.max_archive_share && !opts.force {
        return Err(SyncError::ArchiveShare {
            remote,
            archives: plan.archives(),
            known: plan.known_records,
            share: plan.archive_share() * 100.0,
            max: common.max_archive_share * 100.0,
        });
    }
    report.plan = plan;
    if opts.dry_run {
        report.http = connector.stats();
        return Ok(report);
    }
    // 5. Apply.
    let jr = journal::Journal::open(root, &remote, &run_id)?;
    jr.log("start", json!({"records": report.plan.records.len()}))?;
    let plan = std::mem::take(&mut report.plan);
    apply_plan(
        root,
        config,
        &schema,
        &bindings,
        connector,
        &mut st,
        &plan,
        &notes,
        &run_id,
        &jr,
        &mut report,
    )
    .await?;
    // The vault's and the remote's copies are no longer needed: free them before the commit.
    drop(notes);
    drop(remote_records);
    drop(history_base);
    report.plan = plan;
    st.cursor = Some(pulled.cursor);
    if archived_checked || pulled.full {
        st.archived_checked_ms = Some(now_ms());
    }
    if pulled.full {
        st.full_pulled_ms = Some(now_ms());
    }
    st.connector = connector.save_state();
    st.last_run = Some(run_id.clone());
    st.version = 1;
    st.save(root, &remote)?;
    drop(st);
    jr.log("saved", json!({}))?;
    // 6. One commit for the run's vault changes: the notes holding exactly the bytes this run
    //    wrote. A person's save made meanwhile (to another note, or to one the run wrote) is not
    //    the service's: it stays uncommitted, for the next commit of the vault's edits.
    let summary = summary(&report);
    report.commit = commit_run_writes(root, &remote, &run_id, common, summary)?;
    jr.log("end", json!({"commit": report.commit}))?;
    report.applied = true;
    report.http = connector.stats();
    Ok(report)
}

/// The link keys of each note type with links: (key, target note type, holds a list).
fn link_keys(schema: &Schema, bindings: &[Binding]) -> BTreeMap<String, Vec<links::LinkKey>> {
    use crate::vault::schema::FieldType;
    let mut out = BTreeMap::new();
    for b in bindings.iter().filter(|b| !b.links.is_empty()) {
        let Some(nt) = schema.get(&b.note_type) else {
            continue;
        };
        let keys: Vec<links::LinkKey> = b
            .links
            .iter()
            .filter_map(|k| match &nt.field(k)?.ty {
                FieldType::Link(Some(t)) => Some((k.clone(), t.clone(), false)),
                FieldType::Links(Some(t)) => Some((k.clone(), t.clone(), true)),
                _ => None,
            })
            .collect();
        out.insert(b.note_type.clone(), keys);
    }
    out
}

/// Reads the links of the records the plan makes new notes of, when their type has links (a
/// deal's associated contacts): only those records, in the connector's batches. Each associated
/// record that is a note's (by its remote id), or becomes one in this plan, is a link by that
/// note's type; the plan's new notes get them ([`plan::settle_new_links`]).
async fn settle_new_links<C: Connector>(
    connector: &mut C,
    schema: &Schema,
    bindings: &[Binding],
    notes: &[VaultNote],
    st: &SyncState,
    plan: &mut Plan,
) -> Result<(), SyncError> {
    let keys = link_keys(schema, bindings);
    let mut want: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for rp in &plan.records {
        if rp.action == Action::NewNote
            && keys.contains_key(&rp.note_type)
            && let Some(rid) = &rp.remote_id
        {
            want.entry(rp.note_type.clone())
                .or_default()
                .push(rid.clone());
        }
    }
    if want.is_empty() {
        return Ok(());
    }
    let kind_of = |ty: &str| {
        bindings
            .iter()
            .find(|b| b.note_type == ty)
            .map(|b| b.kind.clone())
    };
    let mut owners = links::Owners::new();
    for rp in &plan.records {
        if matches!(rp.action, Action::NewNote | Action::Update)
            && let (Some(rid), Some(kind)) = (&rp.remote_id, kind_of(&rp.note_type))
        {
            owners.insert(
                (kind, rid.clone()),
                (rp.ssot_id.clone(), rp.note_type.clone()),
            );
        }
    }
    for n in notes.iter().filter(|n| !n.archived_mark) {
        if let (Some(rid), Some(kind)) = (&n.remote_id, kind_of(&n.note_type)) {
            owners
                .entry((kind, rid.clone()))
                .or_insert_with(|| (n.ssot_id.clone(), n.note_type.clone()));
        }
    }
    for (sid, e) in &st.base {
        if e.deleted || e.archived || e.remote_id.is_empty() {
            continue;
        }
        if let Some(kind) = kind_of(&e.note_type) {
            owners
                .entry((kind, e.remote_id.clone()))
                .or_insert_with(|| (sid.clone(), e.note_type.clone()));
        }
    }
    let mut resolved: BTreeMap<String, plan::LinkFields> = BTreeMap::new();
    for (ty, rids) in want {
        let ty_keys = &keys[&ty];
        let mut kinds: Vec<String> = Vec::new();
        for (_, target, _) in ty_keys {
            if let Some(k) = kind_of(target)
                && !kinds.contains(&k)
            {
                kinds.push(k);
            }
        }
        let associated = connector.associated(&ty, &rids, &kinds).await?;
        for (rid, list) in associated {
            resolved.insert(rid, links::from_associations(&list, &owners, ty_keys));
        }
    }
    plan::settle_new_links(plan, bindings, &resolved, &st.invalid);
    Ok(())
}

/// Commits the notes an interrupted run (`prev`) wrote and that still hold exactly the bytes it
/// wrote, as that run's (its source and run id): the vault did not make them. A note edited since
/// holds other bytes and is left for the vault's commit.
fn commit_interrupted(
    root: &Path,
    remote: &str,
    prev: &str,
    common: &RemoteCommon,
) -> Result<Option<String>, SyncError> {
    commit_run_writes(
        root,
        remote,
        prev,
        common,
        format!("Sync with {remote}: notes written by the interrupted run {prev}"),
    )
}

/// Commits, as run `run` of `remote` (its source, run id and author), the changed notes that hold
/// exactly the bytes the run's journal says it wrote; nothing else.
fn commit_run_writes(
    root: &Path,
    remote: &str,
    run: &str,
    common: &RemoteCommon,
    message: String,
) -> Result<Option<String>, SyncError> {
    let hashes = journal::written_by(root, remote, run).hashes;
    if hashes.is_empty() {
        return Ok(None);
    }
    let changed = match history::changed_paths(root) {
        Ok(c) => c,
        Err(HistoryError::NotARepo { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let theirs: Vec<String> = changed
        .into_iter()
        .filter(|rel| {
            std::fs::read(root.join(rel)).is_ok_and(|b| hashes.contains(&plan::text_hash(&b)))
        })
        .collect();
    if theirs.is_empty() {
        return Ok(None);
    }
    let commit = history::commit_paths(
        root,
        &CommitRequest {
            message: Some(message),
            source: remote.to_string(),
            trailers: vec![(history::TRAILER_RUN.to_string(), run.to_string())],
            author: Some((common.author_name.clone(), common.author_email.clone())),
        },
        &theirs,
    )?;
    Ok(commit.map(|c| c.short_id))
}

/// The commit summary of a run.
pub fn summary(r: &SyncReport) -> String {
    let mut parts = Vec::new();
    if r.notes_updated > 0 {
        parts.push(format!("{} notes updated", r.notes_updated));
    }
    if r.notes_created > 0 {
        parts.push(format!("{} new notes", r.notes_created));
    }
    if r.notes_marked_archived > 0 {
        parts.push(format!("{} marked archived", r.notes_marked_archived));
    }
    if r.conflicts > 0 {
        parts.push(format!("{} conflicts", r.conflicts));
    }
    if r.created_remote > 0 {
        parts.push(format!("{} records created", r.created_remote));
    }
    if parts.is_empty() {
        parts.push("remote ids written back".into());
    }
    format!("Sync with {}: {}", r.remote, parts.join(", "))
}

/// How many upserts the engine hands a connector at once: a multiple of HubSpot's batch of 100
/// (and of Jira's 50, Trello's and Sheets' 1), so chunks never split a service batch.
const PUSH_CHUNK: usize = 500;

#[allow(clippy::too_many_arguments)]
async fn apply_plan<C: Connector>(
    root: &Path,
    config: &Config,
    schema: &Schema,
    bindings: &[Binding],
    connector: &mut C,
    st: &mut SyncState,
    plan: &Plan,
    notes: &[VaultNote],
    run_id: &str,
    jr: &journal::Journal,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let remote = report.remote.clone();
    let binding = |ty: &str| bindings.iter().find(|b| b.note_type == ty);
    let note_path = |rel: &str| root.join(rel);
    let today = today();
    let progress = progress_bar(plan.records.len());
    let by_sid: BTreeMap<&str, &VaultNote> =
        notes.iter().map(|n| (n.ssot_id.as_str(), n)).collect();
    // Where each record's note now lives (new notes get theirs when written).
    let mut rels: BTreeMap<String, String> = BTreeMap::new();
    // Records whose note edit failed: nothing else happens to them this run.
    let mut skipped: BTreeSet<String> = BTreeSet::new();
    let mut pulled_ok: BTreeSet<String> = BTreeSet::new();
    // a. Note edits and new notes.
    for rp in &plan.records {
        let Some(b) = binding(&rp.note_type) else {
            continue;
        };
        match rp.action {
            Action::Update | Action::MarkArchived => {
                rels.insert(rp.ssot_id.clone(), rp.rel.clone());
                if !rp.needs_note_edit() {
                    continue;
                }
                let path = note_path(&rp.rel);
                // The plan was made from the note as the run read it: edited since, it is left
                // alone this run and merges next run.
                let original = by_sid.get(rp.ssot_id.as_str()).map(|n| n.text_hash);
                if original.is_some_and(|o| {
                    crate::fsutil::read(&path).ok().map(|b| plan::text_hash(&b)) != Some(o)
                }) {
                    tracing::info!(note = %rp.rel, "changed during the sync; merges next run");
                    report.skipped_changed.push(rp.rel.clone());
                    skipped.insert(rp.ssot_id.clone());
                    continue;
                }
                let mut edits = Vec::new();
                if rp.action == Action::MarkArchived {
                    edits.push(Edit::Set(
                        apply::archived_key(&remote),
                        crate::vault::value::parse_date(&today)
                            .map_or(Value::Str(today.clone()), Value::Date),
                    ));
                } else {
                    edits.extend(apply::field_edits(b, schema, &rp.pull));
                    if rp.write_remote_id
                        && let Some(id) = &rp.remote_id
                    {
                        edits.push(Edit::Set(b.id_key.clone(), Value::Str(id.clone())));
                    }
                    let current = crate::fsutil::read(&path)
                        .ok()
                        .and_then(|bytes| Note::parse(&bytes).ok())
                        .and_then(|n| n.get(apply::CONFLICTS_KEY).cloned());
                    let open: Vec<String> = rp
                        .conflicts
                        .iter()
                        .map(|c| apply::conflict_entry(&remote, c))
                        .collect();
                    if let Some(e) = apply::conflict_edits(current.as_ref(), &remote, &open) {
                        edits.push(e);
                    }
                }
                match apply::edit_note_with(&path, &edits, |h| {
                    jr.intend_pull(h, &rp.ssot_id, &rp.pull)
                }) {
                    Ok(changed) => {
                        if changed && !rp.pull.is_empty() {
                            report.notes_updated += 1;
                        }
                        pulled_ok.insert(rp.ssot_id.clone());
                        if rp.action == Action::MarkArchived {
                            report.notes_marked_archived += 1;
                            st.settle(rp, state::Outcome::NoteMarked);
                            tracing::warn!(note = %rp.rel, "record archived in {remote}: note marked");
                        }
                    }
                    Err(apply::ApplyError::Changed { .. }) => {
                        tracing::info!(note = %rp.rel, "changed during the sync; merges next run");
                        report.skipped_changed.push(rp.rel.clone());
                        skipped.insert(rp.ssot_id.clone());
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "note not written");
                        report.skipped_changed.push(rp.rel.clone());
                        skipped.insert(rp.ssot_id.clone());
                    }
                }
            }
            Action::NewNote => {
                let folder = config
                    .folders
                    .for_type(&rp.note_type)
                    .unwrap_or(&rp.note_type)
                    .to_string();
                // Its links (a deal's client and expert): the linked notes' names as they are now,
                // made this run or before; a link whose note was not made is left out.
                let mut made_links = rp.links.clone();
                let mut link_edits = Vec::new();
                for (key, _, sids) in &mut made_links {
                    sids.retain(|sid| {
                        rels.contains_key(sid.as_str()) || by_sid.contains_key(sid.as_str())
                    });
                    let names: Vec<Value> = sids
                        .iter()
                        .filter_map(|sid| {
                            rels.get(sid.as_str())
                                .map(String::as_str)
                                .or_else(|| by_sid.get(sid.as_str()).map(|n| n.rel.as_str()))
                        })
                        .map(|rel| Value::Str(format!("[[{}]]", crate::vault::index::stem_of(rel))))
                        .collect();
                    let many = matches!(
                        schema
                            .get(&rp.note_type)
                            .and_then(|t| t.field(key))
                            .map(|f| &f.ty),
                        Some(crate::vault::schema::FieldType::Links(_))
                    );
                    match (many, names.first()) {
                        (_, None) => {}
                        (true, _) => link_edits.push(Edit::Set(key.clone(), Value::List(names))),
                        (false, Some(first)) => {
                            link_edits.push(Edit::Set(key.clone(), first.clone()));
                        }
                    }
                }
                made_links.retain(|(_, _, sids)| !sids.is_empty());
                match apply::create_note(root, &folder, b, schema, rp, &link_edits, &today, |h| {
                    jr.intend(&[h])
                }) {
                    Ok(rel) => {
                        report.notes_created += 1;
                        rels.insert(rp.ssot_id.clone(), rel);
                        pulled_ok.insert(rp.ssot_id.clone());
                        st.settle(rp, state::Outcome::NoteMade);
                        if let Some(rid) = &rp.remote_id {
                            st.invalid.remove(rid);
                        }
                    }
                    Err(apply::ApplyError::Invalid { problems }) => {
                        // Reported once; the plan leaves the record out until it (or its links)
                        // changes. Remembered with the links it had, so a link to a note that
                        // could not be made is no change.
                        let rid = rp.remote_id.clone().unwrap_or_default();
                        let fp = RecordPlan {
                            links: made_links,
                            ..rp.clone()
                        }
                        .fingerprint();
                        if st.invalid.get(&rid) != Some(&fp) {
                            report.invalid.push((
                                rid.clone(),
                                format!(
                                    "{} record {rid} ({}) makes no valid {} note, not written: {}",
                                    remote,
                                    rp.title,
                                    rp.note_type,
                                    problems.join("; ")
                                ),
                            ));
                        }
                        st.invalid.insert(rid, fp);
                        skipped.insert(rp.ssot_id.clone());
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "new note not written");
                        skipped.insert(rp.ssot_id.clone());
                    }
                }
            }
            _ => {}
        }
        if let Some(p) = &progress {
            p.inc(1);
        }
    }
    jr.log("notes", json!({"updated": report.notes_updated, "created": report.notes_created, "skipped": report.skipped_changed.len()}))?;
    // b. Remote writes, link targets first.
    let mut remote_ids: BTreeMap<String, String> = BTreeMap::new();
    for n in notes {
        if let Some(r) = &n.remote_id {
            remote_ids.insert(n.ssot_id.clone(), r.clone());
        }
    }
    for (sid, e) in &st.base {
        if !e.remote_id.is_empty() {
            remote_ids
                .entry(sid.clone())
                .or_insert_with(|| e.remote_id.clone());
        }
    }
    // Records found archived this run (their notes are marked).
    let marked: BTreeSet<&str> = plan
        .records
        .iter()
        .filter(|rp| rp.action == Action::MarkArchived)
        .map(|rp| rp.ssot_id.as_str())
        .collect();
    let mut written: BTreeMap<String, (String, bool)> = BTreeMap::new();
    let mut created_pull: BTreeMap<String, BTreeMap<String, Option<String>>> = BTreeMap::new();
    for b in bindings {
        let todo: Vec<&RecordPlan> = plan
            .records
            .iter()
            .filter(|rp| {
                rp.note_type == b.note_type && rp.needs_push() && !skipped.contains(&rp.ssot_id)
            })
            .collect();
        if todo.is_empty() {
            continue;
        }
        jr.log("push", json!({"type": b.note_type, "records": todo.len()}))?;
        // Fields the service owns, as a record created this run holds them.
        let pull_keys: Vec<String> = b
            .fields
            .iter()
            .filter(|f| f.direction == crate::connectors::Direction::Pull)
            .map(|f| f.key.clone())
            .collect();
        // Upserts are built a chunk at a time (a multiple of every service's batch size), so a
        // first sync of many notes never holds all their writes and answers at once.
        for chunk in todo.chunks(PUSH_CHUNK) {
            // Links to records known archived are left out, and named (`links.rs`).
            let rel_of = |s: &str| {
                by_sid
                    .get(s)
                    .map(|n| n.rel.as_str())
                    .or_else(|| rels.get(s).map(String::as_str))
            };
            let mut ups: Vec<Upsert> = Vec::with_capacity(chunk.len());
            for rp in chunk {
                // A note made from a record took its links from the record's own associations:
                // nothing to ask for again.
                let l = if rp.action == Action::NewNote {
                    links::Links::default()
                } else {
                    links::resolve(
                        rp,
                        &remote,
                        |s| remote_ids.get(s),
                        |s| marked.contains(s) || st.base.get(s).is_some_and(|e| e.archived),
                        rel_of,
                    )
                };
                report
                    .refused
                    .extend(l.left_out.into_iter().map(|m| (rp.ssot_id.clone(), m)));
                ups.push(Upsert {
                    note_type: rp.note_type.clone(),
                    ssot_id: rp.ssot_id.clone(),
                    remote_id: rp.remote_id.clone(),
                    remote_has_ssot_id: rp.remote_has_ssot_id,
                    fields: rp.push.clone(),
                    links: l.send,
                });
            }
            let creates: BTreeSet<&str> = chunk
                .iter()
                .filter(|rp| rp.action == Action::Create)
                .map(|rp| rp.ssot_id.as_str())
                .collect();
            let sending: BTreeMap<&str, &BTreeMap<String, Option<String>>> = chunk
                .iter()
                .filter(|rp| rp.action == Action::Update && !rp.push.is_empty())
                .map(|rp| (rp.ssot_id.as_str(), &rp.push))
                .collect();
            jr.intend_send(&sending);
            drop(sending);
            let outcomes = connector.upsert(run_id, &ups).await?;
            drop(ups);
            for o in outcomes {
                match o {
                    WriteOutcome::Written {
                        ssot_id,
                        remote_id,
                        created,
                        fields,
                    } => {
                        if let Some(fields) = fields
                            && !pull_keys.is_empty()
                            && creates.contains(ssot_id.as_str())
                        {
                            created_pull.insert(
                                ssot_id.clone(),
                                pull_keys
                                    .iter()
                                    .map(|k| (k.clone(), fields.get(k).cloned()))
                                    .collect(),
                            );
                        }
                        remote_ids.insert(ssot_id.clone(), remote_id.clone());
                        written.insert(ssot_id, (remote_id, created));
                    }
                    WriteOutcome::Gone { ssot_id, remote_id } => {
                        match chunk.iter().find(|rp| rp.ssot_id == ssot_id) {
                            Some(rp) => st.settle(rp, state::Outcome::Gone(remote_id)),
                            // An answer for a record not sent: its base is marked all the same.
                            None => st.settle(
                                &RecordPlan::new(
                                    Action::Update,
                                    ssot_id.clone(),
                                    b.note_type.clone(),
                                ),
                                state::Outcome::Gone(remote_id),
                            ),
                        }
                        if let Some(rel) = rels.get(&ssot_id)
                            && apply::edit_note_with(
                                &note_path(rel),
                                &[Edit::Set(
                                    apply::archived_key(&remote),
                                    crate::vault::value::parse_date(&today)
                                        .map_or(Value::Str(today.clone()), Value::Date),
                                )],
                                |h| jr.intend(&[h]),
                            )
                            .is_ok()
                        {
                            report.notes_marked_archived += 1;
                        }
                    }
                    WriteOutcome::Refused { ssot_id, message } => {
                        tracing::warn!(%ssot_id, %message, "refused by {remote}");
                        report.refused.push((ssot_id, message));
                    }
                    WriteOutcome::Unlinked {
                        ssot_id,
                        key,
                        target,
                        message,
                    } => {
                        let Some(rp) = chunk.iter().find(|rp| rp.ssot_id == ssot_id) else {
                            continue;
                        };
                        let m = links::unlinked_message(
                            rp,
                            &remote,
                            (&key, &target, &message),
                            &remote_ids,
                            rel_of,
                        );
                        tracing::info!(%ssot_id, message = %m, "association refused by {remote}");
                        report.refused.push((ssot_id, m));
                    }
                }
            }
            if let Some(p) = &progress {
                p.inc(chunk.len() as u64);
            }
        }
        jr.log(
            "pushed",
            json!({"type": b.note_type, "written": written.len()}),
        )?;
    }
    // c. Base, remote ids written back.
    let mut writebacks: Vec<(std::path::PathBuf, Vec<Edit>)> = Vec::new();
    for rp in &plan.records {
        let Some(b) = binding(&rp.note_type) else {
            continue;
        };
        match rp.action {
            Action::Update | Action::Create | Action::NewNote => {
                if skipped.contains(&rp.ssot_id) {
                    continue;
                }
                let w = written.get(&rp.ssot_id);
                let service_fields = created_pull.remove(&rp.ssot_id);
                st.settle(
                    rp,
                    state::Outcome::Done {
                        written: w.map(|(remote_id, created)| state::Written {
                            remote_id: remote_id.clone(),
                            created: *created,
                            service_fields: service_fields.clone(),
                        }),
                        note_written: pulled_ok.contains(&rp.ssot_id),
                    },
                );
                if rp.needs_push() && w.is_none() {
                    // Not written (refused or gone): only the pulled part counted.
                    continue;
                }
                if let Some((_, true)) = w {
                    report.created_remote += 1;
                } else if w.is_some() {
                    report.updated_remote += 1;
                }
                let rid = w
                    .map(|(r, _)| r.clone())
                    .or_else(|| rp.remote_id.clone())
                    .unwrap_or_default();
                // A created record's fields the service owns go into the note too.
                let mut pull = rp.pull.clone();
                if rp.action == Action::Create
                    && let Some(actual) = service_fields
                {
                    pull.extend(actual);
                }
                // The remote id goes into the note (creates).
                if rp.action == Action::Create
                    && !rid.is_empty()
                    && let Some(rel) = rels.get(&rp.ssot_id).or(Some(&rp.rel))
                {
                    let mut edits = vec![Edit::Set(b.id_key.clone(), Value::Str(rid.clone()))];
                    edits.extend(apply::field_edits(b, schema, &pull));
                    if !rp.settled.is_empty() {
                        let current = crate::fsutil::read(&note_path(rel))
                            .ok()
                            .and_then(|bytes| Note::parse(&bytes).ok())
                            .and_then(|n| n.get(apply::CONFLICTS_KEY).cloned());
                        if let Some(e) = apply::conflict_edits(current.as_ref(), &remote, &[]) {
                            edits.push(e);
                        }
                    }
                    writebacks.push((note_path(rel), edits));
                }
            }
            Action::Forget => {
                st.settle(rp, state::Outcome::Forgotten);
                tracing::info!(ssot_id = %rp.ssot_id, "note deleted from the vault; its {remote} record is left as it is");
            }
            _ => {}
        }
    }
    // Each write-back is an atomic, flushed write of its own: done on several threads, so that
    // the disk's flushes overlap instead of queueing one after another.
    for (path, result) in apply::edit_notes_parallel(writebacks, |h| jr.intend(h)) {
        if let Err(e) = result {
            tracing::info!(path = %path.display(), error = %e, "remote id not written back yet; next run writes it");
        }
    }
    // d. Archives of deleted notes.
    let mut by_type: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for rp in plan
        .records
        .iter()
        .filter(|r| r.action == Action::ArchiveRemote)
    {
        if let Some(id) = &rp.remote_id {
            by_type
                .entry(rp.note_type.as_str())
                .or_default()
                .push(id.clone());
        }
    }
    for (ty, ids) in by_type {
        jr.log("archive", json!({"type": ty, "records": ids.len()}))?;
        connector.archive(ty, &ids).await?;
        report.archived_remote += ids.len();
        for rp in plan
            .records
            .iter()
            .filter(|r| r.action == Action::ArchiveRemote && r.note_type == ty)
        {
            st.settle(rp, state::Outcome::ArchivedRemote);
        }
    }
    if let Some(p) = progress {
        p.finish_and_clear();
    }
    Ok(())
}

fn progress_bar(len: usize) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if len < 200 || !std::io::stdout().is_terminal() {
        return None;
    }
    let p = indicatif::ProgressBar::new(len as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len}")
    {
        p.set_style(style);
    }
    p.set_message("syncing");
    Some(p)
}

/// A project status change the lifecycle refuses.
struct IllegalChange {
    /// The base's canonical status (kept as the base).
    base: String,
    /// The last synced status, in the vault's words.
    from: String,
    /// The status in the note.
    to: String,
    /// Why the lifecycle refuses it.
    reason: String,
}

/// Project status moves since the last sync that the lifecycle's guards refuse, by `ssot_id`.
/// A move the service cannot see (two statuses mapped to one pipeline stage) is not one.
fn illegal_status_changes(
    root: &Path,
    config: &Config,
    projects: &[read::ProjectRead],
    st: &SyncState,
    bindings: &[Binding],
) -> BTreeMap<String, IllegalChange> {
    use crate::workflow::lifecycle::Status;
    let mut out = BTreeMap::new();
    let Some(spec) = bindings
        .iter()
        .find(|b| b.note_type == "project")
        .and_then(|b| b.field("status"))
    else {
        return out;
    };
    for p in projects {
        let Some(now) = Status::parse(&p.status) else {
            continue;
        };
        let Some(base) = st.base.get(&p.ssot_id).and_then(|b| b.fields.get("status")) else {
            continue;
        };
        let stem = crate::vault::index::stem_of(&p.rel);
        if canonical::from_vault(&spec.conv, Some(&Value::Str(p.status.clone())), stem).as_ref()
            == Some(base)
        {
            continue;
        }
        let from_vault = canonical::to_vault(&spec.conv, Some(base), None);
        let Some(from) = from_vault.as_str().and_then(Status::parse) else {
            continue;
        };
        if from == now {
            continue;
        }
        // Only a project whose status moved is read whole (its body holds the credentialing
        // list); read as it is now, it is judged as the sync would carry it.
        let Some(note) = crate::fsutil::read(&p.path)
            .ok()
            .and_then(|b| Note::parse(&b).ok())
        else {
            continue;
        };
        if let Err(r) = crate::workflow::audit::judge(
            root,
            config,
            &note,
            stem,
            p.open_tickets.clone(),
            from,
            now,
        ) {
            out.insert(
                p.ssot_id.clone(),
                IllegalChange {
                    base: base.clone(),
                    from: from.as_str().to_string(),
                    to: now.as_str().to_string(),
                    reason: r.message,
                },
            );
        }
    }
    out
}
