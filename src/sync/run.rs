//! The run: commits the vault's pending edits, reads the vault and the remote's changes, makes
//! the plan, has the [`applier`] carry it out, saves the state and makes the run's commit; then,
//! for a connector that asks ([`Connector::settle_at`]), the settle read that lets the next run's
//! read start after this run's writes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::json;

use crate::config::{Config, RemoteCommon};
use crate::connectors::{Binding, Connector, RemoteAction, Settle, canonical};
use crate::history::{self, CommitRequest, HistoryError};
use crate::vault::note::Note;
use crate::vault::schema::Schema;
use crate::vault::value::Value;

use super::applier::{self, Ctx};
use super::plan::{self, Action, Plan, PlanInput, Policy, VaultNote};
use super::process::{self, Process, StatusMove, Verdict};
use super::report::{SyncReport, summary};
use super::state::{self, SyncState};
use super::{SyncError, SyncOptions, apply, journal, links, new_run_id, read};

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

/// Times a run's phases, logged at debug level (`RUST_LOG=ssot_vault::sync=debug`).
struct Phases(std::time::Instant);

impl Phases {
    fn start() -> Self {
        Phases(std::time::Instant::now())
    }

    /// Logs the time since the last mark as `phase`'s.
    fn mark(&mut self, phase: &str) {
        tracing::debug!(phase, ms = self.0.elapsed().as_millis() as u64, "run phase");
        self.0 = std::time::Instant::now();
    }
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
    process: &dyn Process,
    opts: &SyncOptions,
) -> Result<SyncReport, SyncError> {
    let mut phases = Phases::start();
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
    //    Those of another remote's interrupted run too: this run's commit of the vault's edits
    //    must not take them as the vault's.
    if !opts.dry_run && !opts.vault_quiet {
        for (other, prev) in interrupted_others(root, &remote) {
            let common = remote_common(config, &other);
            if let Some(c) = commit_interrupted(root, &other, &prev, &common)? {
                report.followups.push(format!(
                    "the notes written by the interrupted {other} run {prev} committed as {c}"
                ));
            }
        }
    }
    if !opts.dry_run && !opts.vault_quiet {
        let pending = history::commit(
            root,
            &CommitRequest {
                message: None,
                source: "vault".into(),
                trailers: process.pending_trailers(root, config),
                author: None,
            },
        );
        match pending {
            Ok(c) => report.vault_commit = c.map(|c| c.short_id),
            Err(HistoryError::NotARepo { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    phases.mark("pending edits committed");
    let mut st = SyncState::load(root, &remote)?;
    phases.mark("state loaded");
    connector.load_state(st.connector.clone());
    connector.set_vault_root(root);
    connector.set_dry_run(opts.dry_run);
    // 2. The vault, read before the remote: an edit made while the run talks to the service is
    //    seen by the compare-and-swap and never overwritten.
    //    Each note is reduced as it is read (`read.rs`): the run never holds the parsed vault; the
    //    lifecycle's guards read whole only the few projects whose status moved.
    let bindings: Vec<Binding> = connector.bindings().to_vec();
    report.sends = bindings
        .iter()
        .filter(|b| !b.link_target_only)
        .flat_map(|b| {
            let fields = b
                .fields
                .iter()
                .filter(|f| f.direction != crate::connectors::Direction::Pull)
                .map(|f| (b.note_type.clone(), f.key.clone()));
            let sections = b
                .sections
                .iter()
                .filter(|s| s.kind != crate::vault::sections::SectionKind::List)
                .map(|s| (b.note_type.clone(), format!("## {}", s.heading)));
            fields.chain(sections).collect::<Vec<_>>()
        })
        .collect();
    //    The `watch` daemon hands in the reductions of its earlier runs: only the notes changed
    //    since are read (a poisoned cache, left by a panic mid-read, is read afresh).
    let read = match &opts.read_cache {
        Some(cache) => {
            let mut cache = cache.lock().unwrap_or_else(|poisoned| {
                let mut c = poisoned.into_inner();
                c.clear();
                c
            });
            if opts.vault_quiet {
                cache.set_quiet();
            }
            let read = read::read_vault_cached(root, config, &bindings, &remote, &mut cache);
            tracing::info!(
                read = cache.last_read(),
                notes = cache.len(),
                "vault read (changed notes only)"
            );
            read
        }
        None => read::read_vault(root, config, &bindings, &remote),
    };
    phases.mark("vault read");
    report.unreadable = read.unreadable;
    let held = read.held;
    // An interrupted run's values pulled into notes: where a note still holds one, the note and
    // the remote agreed on it, though the run died before saving that base.
    let mut written = report
        .resumed_after
        .as_ref()
        .map(|prev| journal::written_by(root, &remote, prev))
        .unwrap_or_default();
    for n in &read.notes {
        let Some(e) = st.base.get_mut(&n.ssot_id) else {
            continue;
        };
        for (k, v) in written.agreed_pulled(&n.ssot_id, n.text_hash) {
            if n.fields.get(&k) == v.as_ref() {
                match v {
                    Some(v) => e.fields.insert(k, v),
                    None => e.fields.remove(&k),
                };
            }
        }
    }
    // The lifecycle's guards hold for the services too: a project status changed in the vault
    // in a way the lifecycle does not allow (`check` reports it) is not carried to the service.
    let moves = status_moves(
        root,
        config,
        process,
        &remote,
        &read.projects,
        &st,
        &bindings,
    );
    let illegal = moves.illegal;
    st.statuses = moves.statuses;
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
    // The settle read (below) reads again from here.
    let start_cursor = cursor.cloned();
    let pulled = connector.pull(cursor).await?;
    phases.mark("remote pulled");
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
        for b in bindings.iter().filter(|b| !b.link_target_only) {
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
        let target_only: BTreeSet<&str> = bindings
            .iter()
            .filter(|b| b.link_target_only)
            .map(|b| b.note_type.as_str())
            .collect();
        for n in &notes {
            if let Some(r) = &n.remote_id
                && !target_only.contains(n.note_type.as_str())
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
    // A service whose records cannot hold an `ssot_id` (Google Forms): a record holds the one
    // of the note its remote id names, so the plan never tries to write it there.
    if !connector.records_hold_ssot_id() {
        let by_rid: BTreeMap<&str, &str> = notes
            .iter()
            .filter_map(|n| n.remote_id.as_deref().map(|r| (r, n.ssot_id.as_str())))
            .collect();
        for r in remote_records.iter_mut().filter(|r| r.ssot_id.is_none()) {
            r.ssot_id = by_rid.get(r.id.as_str()).map(|s| s.to_string());
        }
    }
    // Likewise the vault's values an interrupted run sent: where the record still holds one.
    for r in &remote_records {
        let Some(sid) = r.ssot_id.as_deref() else {
            continue;
        };
        let Some(e) = st.base.get_mut(sid) else {
            continue;
        };
        for (k, vals) in written.agreed_pushed(sid, r.modified_ms) {
            if let Some(v) = vals.iter().find(|v| r.fields.get(&k) == v.as_ref()) {
                match v {
                    Some(v) => e.fields.insert(k.clone(), v.clone()),
                    None => e.fields.remove(&k),
                };
            }
        }
    }
    let acted = std::mem::take(&mut written.acted);
    let creating = std::mem::take(&mut written.creating);
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
    phases.mark("remote checked");
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
    // The remote's records are in the plan now (what it moves): free them before the apply.
    drop(remote_records);
    drop(history_base);
    let mut plan = plan;
    // The actions: those of earlier runs not carried out yet, then this run's moves'; none that
    // an interrupted run carried out.
    plan.actions = process::run_actions(&st.actions, moves.actions, &acted);
    for rp in &mut plan.records {
        if let Some(ill) = illegal.get(&rp.ssot_id)
            && rp.push.remove("status").is_some()
        {
            rp.base_kept.insert("status".into(), ill.base.clone());
            report.errors.push((
                rp.ssot_id.clone(),
                format!("status {}→{} not sent: {}", ill.from, ill.to, ill.reason),
            ));
            report.refused.push((
                rp.ssot_id.clone(),
                format!(
                    "status {}→{} of {} not sent: {}",
                    ill.from, ill.to, rp.rel, ill.reason
                ),
            ));
        }
    }
    // A status moved in the service in a way the lifecycle does not allow is not taken into the
    // note (for the connectors that ask): the note's status is sent back, with why. The moves it
    // allows are named by the run's commit (`Ssot-Transition`).
    let mut taken: Vec<PulledMove> = Vec::new();
    if connector.guards_remote_moves() {
        taken = refuse_remote_moves(
            root,
            config,
            process,
            &remote,
            &read.projects,
            &bindings,
            &mut plan,
            &mut report,
        );
    }
    // Messages written in the service and pulled into a note's conversation move its status
    // as the process says (a helpdesk ticket answered on its card), on both sides.
    follow_messages(root, process, &bindings, &notes, &mut plan);
    // New notes of records with links (a project's `client` and `expert`): the links the service
    // holds for them, read only for those records.
    settle_new_links(connector, &schema, &bindings, &notes, &st, &mut plan).await?;
    report.conflicts = plan.conflicts();
    phases.mark("planned");
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
    jr.intend_moves(&taken)?;
    let plan = std::mem::take(&mut report.plan);
    let cx = Ctx {
        root,
        config,
        schema: &schema,
        bindings: &bindings,
        run_id: &run_id,
        jr: &jr,
        creating: &creating,
        process,
    };
    applier::apply_plan(&cx, connector, &mut st, &plan, &notes, &mut report).await?;
    phases.mark("applied");
    // Its writes and actions tried, the run settles this remote's `sync_errors` on the notes.
    report.errors_noted = note_errors(root, &remote, &run_id, &jr, &notes, &report.errors);
    // The crash tests stop a run here: its notes written, its state and commit not made.
    crate::workflow::intake::stop_point(&format!("sync-applied:{remote}"));
    // The vault's copy is no longer needed: free it before the commit.
    drop(notes);
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
    st.version = state::VERSION;
    st.save(root, &remote)?;
    drop(st);
    jr.log("saved", json!({}))?;
    phases.mark("state saved");
    // 6. One commit for the run's vault changes: the notes holding exactly the bytes this run
    //    wrote. A person's save made meanwhile (to another note, or to one the run wrote) is not
    //    the service's: it stays uncommitted, for the next commit of the vault's edits.
    let summary = summary(&report);
    let people = changed_by(connector, &report.plan);
    report.commit = commit_run_writes(root, &remote, &run_id, common, summary, &people, &taken)?;
    jr.log("end", json!({"commit": report.commit}))?;
    phases.mark("committed");
    // 7. The settle read, once everything is saved: a stop while it waits loses nothing.
    if let Some(s) = connector.settle_at() {
        settle(
            root,
            &remote,
            connector,
            &bindings,
            s,
            start_cursor.as_ref(),
        )
        .await?;
    }
    report.applied = true;
    report.http = connector.stats();
    Ok(report)
}

/// Makes this remote's `sync_errors` entries of each note the refusals of this run (`errors`:
/// ssot_id, message), other remotes' entries kept: only the notes holding entries of this remote
/// or refused now, and only those whose entries change. A note changed since the run read it
/// (by anyone but this run) is left for the next run. Each write is journaled, so it goes into
/// the run's commit. Returns the number of notes written.
fn note_errors(
    root: &Path,
    remote: &str,
    run_id: &str,
    jr: &journal::Journal,
    notes: &[VaultNote],
    errors: &[(String, String)],
) -> usize {
    let mut by_sid: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (sid, m) in errors {
        by_sid.entry(sid.as_str()).or_default().push(m.clone());
    }
    let todo: Vec<&VaultNote> = notes
        .iter()
        .filter(|n| n.errors || by_sid.contains_key(n.ssot_id.as_str()))
        .collect();
    if todo.is_empty() {
        return 0;
    }
    let today = super::today();
    let ours = journal::written_by(root, remote, run_id).hashes;
    let mut written = 0;
    for n in todo {
        let path = root.join(&n.rel);
        let Ok(bytes) = crate::fsutil::read(&path) else {
            continue;
        };
        let hash = plan::text_hash(&bytes);
        if hash != n.text_hash && !ours.contains(&hash) {
            tracing::info!(note = %n.rel, "changed during the sync; its sync_errors are settled next run");
            continue;
        }
        let Ok(note) = Note::parse(&bytes) else {
            continue;
        };
        let messages = by_sid.get(n.ssot_id.as_str()).cloned().unwrap_or_default();
        let Some(edit) = apply::error_edits(note.get(apply::ERRORS_KEY), remote, &messages, &today)
        else {
            continue;
        };
        let done = apply::prepare_edit_of(&path, bytes, &[edit], &Vec::new()).and_then(|p| {
            let Some(p) = p else { return Ok(false) };
            jr.intend(&[p.hash()]);
            p.write().map(|()| true)
        });
        match done {
            Ok(true) => written += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::info!(note = %n.rel, error = %e, "sync_errors not written; next run writes them");
            }
        }
    }
    written
}

/// A run that wrote to a service whose change feed would find its writes again (Jira's JQL has
/// minute precision) settles: it waits until a read sees all of them ([`Settle::at_ms`], at most
/// [`Settle::max_wait_ms`]), reads again from the cursor the run started from, and when every
/// record read is as the run left it ([`plan::unchanged_since_base`], judged page by page, the
/// read stopping at the first that is not) stores that read's cursor, which starts after the
/// run's writes. Anything else (a change made meanwhile, a record without
/// a base, a failed read) keeps the run's cursor: the next run reads those records and takes the
/// change as any. Nothing is planned nor written here; the vault lock is still held.
async fn settle<C: Connector>(
    root: &Path,
    remote: &str,
    connector: &mut C,
    bindings: &[Binding],
    s: Settle,
    start_cursor: Option<&serde_json::Value>,
) -> Result<(), SyncError> {
    let wait_ms = s.at_ms.saturating_sub(now_ms());
    if wait_ms > s.max_wait_ms {
        tracing::info!(
            wait_ms,
            max_ms = s.max_wait_ms,
            "no settle read: the wait is longer than allowed"
        );
        return Ok(());
    }
    if wait_ms > 0 {
        let secs = (wait_ms + 999) / 1000;
        eprintln!("{remote}: waiting {secs} s {}", s.reason);
        tokio::time::sleep(std::time::Duration::from_millis(
            u64::try_from(wait_ms).unwrap_or(0),
        ))
        .await;
    }
    let mut st = SyncState::load(root, remote)?;
    let read = {
        let base = &st.base;
        let mut unchanged =
            |r: &crate::connectors::RemoteRecord| plan::unchanged_since_base(bindings, base, r);
        connector.settle_pull(start_cursor, &mut unchanged).await
    };
    match read {
        Ok(Some(cursor)) => {
            st.cursor = Some(cursor);
            st.save(root, remote)?;
        }
        Ok(None) => tracing::info!(
            "the settle read found a record that differs from the base; the next run reads it"
        ),
        Err(e) => tracing::warn!(
            error = %e,
            "the settle read failed; the next run reads this run's writes again"
        ),
    }
    Ok(())
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
/// holds other bytes and is left for the vault's commit. The status moves the run was taking
/// from the service (its journal's `moves`) are named as its own commit would have named them.
fn commit_interrupted(
    root: &Path,
    remote: &str,
    prev: &str,
    common: &RemoteCommon,
) -> Result<Option<String>, SyncError> {
    let moves = journal::written_by(root, remote, prev).moves;
    commit_run_writes(
        root,
        remote,
        prev,
        common,
        format!("Sync with {remote}: notes written by the interrupted run {prev}"),
        &People::default(),
        &moves,
    )
}

/// The other remotes whose last run was interrupted (by their journals under `.ssot/`), with
/// that run's id.
fn interrupted_others(root: &Path, remote: &str) -> Vec<(String, String)> {
    let Ok(dir) = std::fs::read_dir(root.join(state::DIR)) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = dir
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|name| name != remote && crate::connectors::registry::by_name(name).is_some())
        .filter_map(|name| journal::interrupted(root, &name).map(|run| (name, run)))
        .collect();
    out.sort();
    out
}

/// The shared settings of the remote `name` (its commits' author), the defaults where its
/// section does not parse.
fn remote_common(config: &Config, name: &str) -> RemoteCommon {
    let defaults = crate::config::RemoteShared::defaults(name);
    config
        .remotes
        .get(name)
        .and_then(|t| crate::config::RemoteShared::parse(t, defaults.clone()).ok())
        .map_or(defaults, |(shared, _)| shared)
        .common
}

/// The people of the service whose changes a run took into the vault.
#[derive(Debug, Default)]
struct People {
    /// Each person once, (name, email).
    all: BTreeSet<(String, String)>,
    /// The commit's author: the one person, when every note the run wrote holds a change of
    /// theirs only (else the remote's own author, with every person as a trailer).
    author: Option<(String, String)>,
}

/// Who made the changes the plan takes into notes, as the connector says
/// ([`Connector::changed_by`]).
fn changed_by<C: Connector + ?Sized>(connector: &C, plan: &Plan) -> People {
    let mut out = People::default();
    let mut others = false;
    for rp in &plan.records {
        let pulled = rp.action == Action::NewNote
            || (rp.action == Action::Update && (!rp.pull.is_empty() || rp.pulls_sections()));
        let writes = pulled || rp.write_remote_id || rp.action != Action::Update;
        match rp
            .remote_id
            .as_deref()
            .filter(|_| pulled)
            .and_then(|id| connector.changed_by(id))
        {
            Some(p) => {
                out.all.insert(p);
            }
            None if writes => others = true,
            None => {}
        }
    }
    if !others && out.all.len() == 1 {
        out.author = out.all.first().cloned();
    }
    out
}

/// A project status move made in the service that the process allowed, to be taken into the
/// note (journaled before the note is written, for the commit that finishes a stopped run).
type PulledMove = journal::IntendedMove;

/// The `Ssot-Transition` trailers of the status moves made in the service that the commit of
/// the notes `committed` takes into the vault: those whose note is committed holding the status
/// moved to. One project: its labels as the workflow's commands write them (`from→to`); several:
/// each label naming its note (`<note path>: from→to`).
fn transition_trailers(
    root: &Path,
    committed: &[String],
    moves: &[PulledMove],
) -> Vec<(String, String)> {
    let status_now = |rel: &str| {
        let bytes = crate::fsutil::read(&root.join(rel)).ok()?;
        let note = Note::parse(&bytes).ok()?;
        note.get("status").map(|v| v.to_string().trim().to_string())
    };
    let taken: Vec<&PulledMove> = moves
        .iter()
        .filter(|m| !m.labels.is_empty() && committed.contains(&m.rel))
        .filter(|m| status_now(&m.rel).as_deref() == Some(m.to.as_str()))
        .collect();
    let named = taken.len() > 1;
    taken
        .into_iter()
        .flat_map(|m| {
            let note = named.then_some(m.rel.as_str());
            m.labels.iter().map(move |l| {
                (
                    history::TRAILER_TRANSITION.to_string(),
                    history::trailers::transition_value(note, l),
                )
            })
        })
        .collect()
}

/// Commits, as run `run` of `remote` (its source, run id and author), the changed notes that hold
/// exactly the bytes the run's journal says it wrote; nothing else. The status moves made in the
/// service that it takes (`moves`) are named by `Ssot-Transition` trailers.
fn commit_run_writes(
    root: &Path,
    remote: &str,
    run: &str,
    common: &RemoteCommon,
    message: String,
    people: &People,
    moves: &[PulledMove],
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
    let transitions = transition_trailers(root, &theirs, moves);
    let commit = history::commit_paths(
        root,
        &CommitRequest {
            message: Some(message),
            source: remote.to_string(),
            trailers: std::iter::once((history::TRAILER_RUN.to_string(), run.to_string()))
                .chain(people.all.iter().map(|(name, email)| {
                    (
                        history::TRAILER_CHANGED_BY.to_string(),
                        format!("{name} <{email}>"),
                    )
                }))
                .chain(transitions)
                .collect(),
            author: Some(
                people
                    .author
                    .clone()
                    .unwrap_or_else(|| (common.author_name.clone(), common.author_email.clone())),
            ),
        },
        &theirs,
    )?;
    Ok(commit.map(|c| c.short_id))
}

/// A project status change the process refuses.
struct IllegalChange {
    /// The base's canonical status (kept as the base).
    base: String,
    /// The last synced status, in the vault's words.
    from: String,
    /// The status in the note.
    to: String,
    /// Why the process refuses it.
    reason: String,
}

/// What the process said of the project status moves since the last sync.
#[derive(Default)]
struct Moves {
    /// Refused moves, by `ssot_id`.
    illegal: BTreeMap<String, IllegalChange>,
    /// The actions of the allowed ones, in order.
    actions: Vec<RemoteAction>,
    /// The statuses the remote shows as one of several, as this run agrees them
    /// ([`SyncState::statuses`]).
    statuses: BTreeMap<String, String>,
}

/// Judges the status moves the service made (a project's `status` pulled): one the process
/// refuses is not written into the note; the note's status is pushed back instead, with a
/// notice saying why, and the run reports it. Returns the moves it allows, with their labels.
#[allow(clippy::too_many_arguments)]
fn refuse_remote_moves(
    root: &Path,
    config: &Config,
    process: &dyn Process,
    remote: &str,
    projects: &[read::ProjectRead],
    bindings: &[Binding],
    plan: &mut plan::Plan,
    report: &mut SyncReport,
) -> Vec<PulledMove> {
    let mut taken = Vec::new();
    let Some(binding) = bindings.iter().find(|b| b.note_type == "project") else {
        return taken;
    };
    let Some(spec) = binding.field("status") else {
        return taken;
    };
    for rp in plan
        .records
        .iter_mut()
        .filter(|rp| rp.action == plan::Action::Update && rp.note_type == "project")
    {
        let Some(Some(pulled)) = rp.pull.get("status").cloned() else {
            continue;
        };
        let Some(p) = projects.iter().find(|p| p.ssot_id == rp.ssot_id) else {
            continue;
        };
        let to = canonical::to_vault(&spec.conv, Some(&pulled), None);
        let Some(to) = to.as_str() else {
            continue;
        };
        // The other properties pulled with the move are judged with it (a card moved to
        // Blocked with its reason).
        let with = rp
            .pull
            .iter()
            .filter(|(k, _)| k.as_str() != "status")
            .filter_map(|(k, v)| {
                let spec = binding.field(k)?;
                (spec.conv != crate::connectors::Conv::Title).then(|| {
                    (
                        k.clone(),
                        canonical::to_vault(&spec.conv, v.as_deref(), None),
                    )
                })
            })
            .collect();
        // And the body sections pulled with it (a checklist ticked in the same pull).
        let sections = apply::section_writes(binding, rp)
            .into_iter()
            .map(|(s, items)| (s.kind, s.heading.clone(), items.to_vec()))
            .collect();
        let mut mv = StatusMove {
            ssot_id: p.ssot_id.clone(),
            note_type: "project".into(),
            rel: p.rel.clone(),
            path: p.path.clone(),
            from: p.status.clone(),
            to: to.to_string(),
            open_tickets: p.open_tickets.clone(),
            with,
            sections,
        };
        // What belongs to the status left (a blocked project's reason) goes with the move.
        let left: Vec<String> = process
            .left_behind(&mv)
            .into_iter()
            .filter(|k| binding.field(k).is_some())
            .collect();
        for k in &left {
            mv.with.retain(|(w, _)| w != k);
            mv.with.push((k.clone(), Value::Null));
        }
        let Verdict::Refused(reason) = process.judge(root, config, remote, &mv) else {
            for k in left {
                leave_behind(rp, k);
            }
            taken.push(PulledMove {
                rel: p.rel.clone(),
                to: mv.to.clone(),
                labels: process.transition_labels(root, config, &mv),
            });
            continue;
        };
        let stem = crate::vault::index::stem_of(&p.rel);
        let Some(back) =
            canonical::from_vault(&spec.conv, Some(&Value::Str(p.status.clone())), stem)
        else {
            continue;
        };
        rp.pull.remove("status");
        rp.push.insert("status".into(), Some(back.clone()));
        rp.notice = Some(format!(
            "ssot-vault moved this issue back to {back}: the move to {pulled} ({} → {}) is not allowed in the vault: {reason}",
            mv.from, mv.to
        ));
        report.refused.push((
            rp.ssot_id.clone(),
            format!(
                "status {}→{} made in {remote} for {} not taken: {reason}; moved back to {back}",
                mv.from, mv.to, rp.rel
            ),
        ));
    }
    taken
}

/// The status moves of messages pulled into notes' conversations (comment sections): for each
/// note whose merged conversation ends with messages the note lacks, the process names the
/// status they give it ([`Process::status_after_messages`], from the party in each stamp,
/// `time · party · author`); the note takes it and the service is sent it, in this run. A
/// status moved on either side since the base, or in conflict, is left to the plan.
fn follow_messages(
    root: &Path,
    process: &dyn Process,
    bindings: &[Binding],
    notes: &[VaultNote],
    plan: &mut Plan,
) {
    for rp in plan
        .records
        .iter_mut()
        .filter(|rp| rp.action == Action::Update)
    {
        let (Some(b), Some(sp)) = (
            bindings.iter().find(|b| b.note_type == rp.note_type),
            rp.sections.as_deref(),
        ) else {
            continue;
        };
        let Some(spec) = b.field("status") else {
            continue;
        };
        if rp.push.contains_key("status")
            || rp.pull.contains_key("status")
            || rp.conflicts.iter().any(|c| c.key == "status")
        {
            continue;
        }
        let Some(note) = notes.iter().find(|n| n.ssot_id == rp.ssot_id) else {
            continue;
        };
        let mut parties: Vec<String> = Vec::new();
        for s in b
            .sections
            .iter()
            .filter(|s| s.kind == crate::vault::sections::SectionKind::Comments)
            .filter(|s| sp.pull.contains(&s.heading))
        {
            let had: BTreeSet<&str> = note
                .sections
                .as_deref()
                .and_then(|m| m.get(&s.heading))
                .into_iter()
                .flatten()
                .map(|i| i.key.as_str())
                .collect();
            let items = sp.items.get(&s.heading).map(Vec::as_slice).unwrap_or(&[]);
            // The messages the note lacks at the end of the conversation, oldest first.
            let new = items
                .iter()
                .rev()
                .take_while(|i| !had.contains(i.key.as_str()))
                .count();
            parties.extend(items[items.len() - new..].iter().filter_map(|i| {
                let stamp = i.stamp.as_deref()?;
                stamp.split(" · ").nth(1).map(|p| p.trim().to_string())
            }));
        }
        if parties.is_empty() {
            continue;
        }
        let Some(to) = process.status_after_messages(&rp.note_type, &root.join(&rp.rel), &parties)
        else {
            continue;
        };
        let stem = crate::vault::index::stem_of(&rp.rel);
        let Some(value) = canonical::from_vault(&spec.conv, Some(&Value::Str(to)), stem) else {
            continue;
        };
        rp.agreed.remove("status");
        rp.base_kept.remove("status");
        rp.push.insert("status".into(), Some(value.clone()));
        rp.pull.insert("status".into(), Some(value));
    }
}

/// Empties `key` with a remote status move the process took: on the note, and in the service
/// unless it is empty there already.
fn leave_behind(rp: &mut plan::RecordPlan, key: String) {
    let remote_has = match (rp.pull.get(&key), rp.agreed.get(&key)) {
        (Some(v), _) | (None, Some(v)) => v.is_some(),
        (None, None) => true,
    };
    rp.agreed.remove(&key);
    rp.base_kept.remove(&key);
    rp.conflicts.retain(|c| c.key != key);
    if remote_has {
        rp.push.insert(key.clone(), None);
    } else {
        rp.push.remove(&key);
    }
    rp.pull.insert(key, None);
}

/// Project status moves since the last sync, judged by the process: those it refuses, and the
/// actions of the others for this remote. A move the service cannot see (two statuses mapped to
/// one pipeline stage, or Jira's Done for `done` and `archived`) is found by the status the
/// remote last agreed, kept in its state for such statuses ([`SyncState::statuses`]); without
/// that record (a state from before it, or lost) it is not one.
fn status_moves(
    root: &Path,
    config: &Config,
    process: &dyn Process,
    remote: &str,
    projects: &[read::ProjectRead],
    st: &SyncState,
    bindings: &[Binding],
) -> Moves {
    let mut out = Moves::default();
    let Some(spec) = bindings
        .iter()
        .find(|b| b.note_type == "project")
        .and_then(|b| b.field("status"))
    else {
        return out;
    };
    // A table mapping several statuses to one of the service's (Jira's To Do for intake,
    // matching and proposed) cannot tell which one the base stands for: the status the note had
    // when this remote last synced it, from the history, says.
    let ambiguous = |base: &str| match &spec.conv {
        crate::connectors::Conv::Table(t) => t.iter().filter(|(_, r)| r == base).count() > 1,
        _ => false,
    };
    let moved: Vec<&read::ProjectRead> = projects
        .iter()
        .filter(|p| {
            st.base
                .get(&p.ssot_id)
                .and_then(|b| b.fields.get("status"))
                .is_some_and(|base| {
                    let stem = crate::vault::index::stem_of(&p.rel);
                    canonical::from_vault(&spec.conv, Some(&Value::Str(p.status.clone())), stem)
                        .as_ref()
                        != Some(base)
                })
        })
        .collect();
    let unclear: Vec<String> = moved
        .iter()
        .filter(|p| {
            st.base
                .get(&p.ssot_id)
                .and_then(|b| b.fields.get("status"))
                .is_some_and(|b| ambiguous(b))
        })
        .map(|p| p.rel.clone())
        .collect();
    let synced_texts = state::base_from_history(root, remote, &unclear);
    for p in moved {
        let Some(base) = st.base.get(&p.ssot_id).and_then(|b| b.fields.get("status")) else {
            continue;
        };
        let stem = crate::vault::index::stem_of(&p.rel);
        let synced = synced_texts
            .get(&p.rel)
            .and_then(|t| Note::parse(t.as_bytes()).ok())
            .and_then(|n| n.get("status").map(|v| v.to_string()))
            .filter(|v| {
                canonical::from_vault(&spec.conv, Some(&Value::Str(v.clone())), stem).as_ref()
                    == Some(base)
            });
        let from_vault = match synced {
            Some(s) => Value::Str(s),
            None => canonical::to_vault(&spec.conv, Some(base), None),
        };
        let Some(from) = from_vault.as_str() else {
            continue;
        };
        if from == p.status {
            continue;
        }
        let mv = vault_move(p, from.to_string());
        match process.judge(root, config, remote, &mv) {
            Verdict::Refused(reason) => {
                out.illegal.insert(
                    p.ssot_id.clone(),
                    IllegalChange {
                        base: base.clone(),
                        from: mv.from,
                        to: mv.to,
                        reason,
                    },
                );
            }
            Verdict::Allowed(ops) => out.actions.extend(actions_of(&mv, ops)),
        }
    }
    // A move between two statuses the service shows as one (Jira's Done for `done` and
    // `archived`) is not seen in the service's terms: the status the note had when this remote
    // last agreed with it, kept in the state for such statuses, tells it. Its actions are
    // carried out as any move's; one the process refuses is left for `check` to report (the
    // service has nothing to undo) and judged again next run.
    for p in projects {
        let Some(base) = st.base.get(&p.ssot_id).and_then(|b| b.fields.get("status")) else {
            continue;
        };
        let stem = crate::vault::index::stem_of(&p.rel);
        let shown = |status: &str| {
            canonical::from_vault(&spec.conv, Some(&Value::Str(status.to_string())), stem)
        };
        let now = shown(&p.status);
        if !now.as_deref().is_some_and(ambiguous) {
            continue;
        }
        if out.illegal.contains_key(&p.ssot_id) {
            // Not carried to the service: what it agreed stays.
            if let Some(last) = st.statuses.get(&p.ssot_id) {
                out.statuses.insert(p.ssot_id.clone(), last.clone());
            }
            continue;
        }
        out.statuses.insert(p.ssot_id.clone(), p.status.clone());
        let Some(last) = st.statuses.get(&p.ssot_id) else {
            continue;
        };
        if now.as_ref() != Some(base) {
            // A move the service sees, judged above.
            continue;
        }
        if *last == p.status || shown(last).as_ref() != Some(base) {
            continue;
        }
        let mv = vault_move(p, last.clone());
        match process.judge(root, config, remote, &mv) {
            Verdict::Allowed(ops) => out.actions.extend(actions_of(&mv, ops)),
            Verdict::Refused(_) => {
                out.statuses.insert(p.ssot_id.clone(), last.clone());
            }
        }
    }
    out
}

/// The actions of an allowed move, each with its stable id.
fn actions_of(mv: &StatusMove, ops: Vec<crate::connectors::ActionOp>) -> Vec<RemoteAction> {
    ops.into_iter()
        .enumerate()
        .map(|(n, op)| RemoteAction {
            id: process::action_id(mv, n, &op),
            note_type: mv.note_type.clone(),
            ssot_id: mv.ssot_id.clone(),
            rel: mv.rel.clone(),
            op,
            links: Vec::new(),
        })
        .collect()
}

/// A move of the project `p` made in the vault, from `from` to the status its note holds.
fn vault_move(p: &read::ProjectRead, from: String) -> StatusMove {
    StatusMove {
        ssot_id: p.ssot_id.clone(),
        note_type: "project".into(),
        rel: p.rel.clone(),
        path: p.path.clone(),
        from,
        to: p.status.clone(),
        open_tickets: p.open_tickets.clone(),
        with: Vec::new(),
        sections: Vec::new(),
    }
}
