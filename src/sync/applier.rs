//! The applier: carries out a run's [`Plan`] — note edits (compare-and-swap) and new notes, the
//! remote writes in the connector's chunks, the bases after them ([`SyncState::settle`]), the
//! remote ids written back, the archives, then the plan's actions one by one (a status move's
//! service effects: each journaled before and after, those not carried out kept in the state) —
//! each step recorded in the run's [`Journal`] first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::json;

use crate::config::Config;
use crate::connectors::{
    ActionOutcome, Binding, Connector, Conv, RemoteAction, Upsert, WriteOutcome,
};
use crate::vault::editor::Edit;
use crate::vault::note::Note;
use crate::vault::schema::Schema;
use crate::vault::value::Value;

use super::journal::Journal;
use super::plan::{self, Action, Plan, RecordPlan, VaultNote};
use super::report::SyncReport;
use super::state::{self, SyncState};
use super::{SyncError, apply, links};

/// What the applier works with, the same for the whole run.
pub(super) struct Ctx<'a> {
    /// The vault root.
    pub root: &'a Path,
    /// The configuration (note folders).
    pub config: &'a Config,
    /// The vault's schema (value and link types).
    pub schema: &'a Schema,
    /// The connector's bindings, in write order.
    pub bindings: &'a [Binding],
    /// The run id (the upserts' idempotency key).
    pub run_id: &'a str,
    /// The run's journal.
    pub jr: &'a Journal,
    /// The notes whose creates interrupted runs sent (the journal's `create` events).
    pub creating: &'a BTreeSet<String>,
    /// The process, asked which action of another remote an action waits for.
    pub process: &'a dyn super::Process,
}

/// Applies `plan`: note edits and new notes, the remote writes (a chunk of
/// [`Connector::push_chunk`] upserts at a time), the bases, the remote ids written back, the
/// archives; counts what it did in `report`.
pub(super) async fn apply_plan<C: Connector>(
    cx: &Ctx<'_>,
    connector: &mut C,
    st: &mut SyncState,
    plan: &Plan,
    notes: &[VaultNote],
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let Ctx {
        root,
        config,
        schema,
        bindings,
        run_id,
        jr,
        creating,
        process,
    } = *cx;
    let remote = report.remote.clone();
    let chunk_size = connector.push_chunk().max(1);
    let binding = |ty: &str| bindings.iter().find(|b| b.note_type == ty);
    let note_path = |rel: &str| root.join(rel);
    let today = super::today();
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
                    hold_unwritten_pull(st, rp);
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
                // A record marked archived has no sections planned: only updates write any.
                let sections = apply::section_writes(b, rp);
                match apply::edit_note_sections_with(&path, &edits, &sections, |h| {
                    jr.intend_pull(h, &rp.ssot_id, &rp.pull)
                }) {
                    Ok(changed) => {
                        if changed && (!rp.pull.is_empty() || rp.pulls_sections()) {
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
                        hold_unwritten_pull(st, rp);
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
                                b.id_key.clone(),
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
        // Upserts are built a chunk at a time (the connector's, a multiple of its service's batch
        // size), so a first sync of many notes never holds all their writes and answers at once.
        for chunk in todo.chunks(chunk_size) {
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
                    sections: rp
                        .sections
                        .as_deref()
                        .map(|sp| {
                            sp.items
                                .iter()
                                .filter(|(h, _)| sp.push.contains(*h))
                                .map(|(h, items)| (h.clone(), items.clone()))
                                .collect()
                        })
                        .unwrap_or_default(),
                    notice: rp.notice.clone(),
                    maybe_created: rp.action == Action::Create && creating.contains(&rp.ssot_id),
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
            jr.intend_create(&creates);
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
                            && creates.contains(ssot_id.as_str())
                        {
                            // The fields the service owns, and those it filled in itself where
                            // the note had no value (Jira's default priority).
                            let sent = chunk
                                .iter()
                                .find(|rp| rp.ssot_id == ssot_id)
                                .map(|rp| &rp.push);
                            let mut taken: BTreeMap<String, Option<String>> = pull_keys
                                .iter()
                                .map(|k| (k.clone(), fields.get(k).cloned()))
                                .collect();
                            for (k, v) in &fields {
                                if !taken.contains_key(k)
                                    && b.fields
                                        .iter()
                                        .any(|f| &f.key == k && f.conv != Conv::Title)
                                    && sent.is_some_and(|p| !p.contains_key(k))
                                {
                                    taken.insert(k.clone(), Some(v.clone()));
                                }
                            }
                            if !taken.is_empty() {
                                created_pull.insert(ssot_id.clone(), taken);
                            }
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
                        // Read again next run: a push undoing a remote edit (a push-only key,
                        // the vault winning a conflict) has nothing on the vault's side to
                        // make it again once the cursor is past the remote's edit.
                        if let Some(rp) = chunk.iter().find(|rp| rp.ssot_id == ssot_id)
                            && let Some(rid) = &rp.remote_id
                        {
                            st.held_pulled.insert(rid.clone(), rp.note_type.clone());
                        }
                        report
                            .errors
                            .push((ssot_id.clone(), format!("write refused: {message}")));
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
                        let own = m.strip_prefix(&format!("{}: ", rp.rel)).unwrap_or(&m);
                        report.errors.push((ssot_id.clone(), own.to_string()));
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
    // e. Actions (a status move's effects), each journaled on its own, after the field writes
    //    that name the record. Those not carried out stay in the state, for the next run; so
    //    does one waiting for another remote's action (said once, the run it starts waiting).
    //    Each one done goes into the record the remotes share before the journal says so.
    //    Actions other remotes' actions wait for and ask of this one (see
    //    [`state::DoneActions`]) come last, unless the plan holds them; they are asked again
    //    while not done, so they are not kept in this remote's state.
    let mut done = state::DoneActions::load(root)?;
    let asked: Vec<RemoteAction> = done
        .asked_of(&remote)
        .into_iter()
        .filter(|w| {
            !plan
                .actions
                .iter()
                .any(|a| super::process::same_effect(&a.id, &w.id))
        })
        .collect();
    let asked_ids: BTreeSet<&str> = asked.iter().map(|a| a.id.as_str()).collect();
    let mut pending: Vec<RemoteAction> = Vec::new();
    let keep = |pending: &mut Vec<RemoteAction>, a: &RemoteAction| {
        if !asked_ids.contains(a.id.as_str()) {
            pending.push(a.clone());
        }
    };
    let mut actions = plan.actions.iter().chain(asked.iter());
    while let Some(a) = actions.next() {
        if let Some(first) = process.prerequisite(config, &remote, &a.op) {
            if !first.met(&done, &a.id) {
                // The record may have changed since this run read it (another remote's run).
                done = state::DoneActions::load(root)?;
            }
            if !first.met(&done, &a.id) {
                state::DoneActions::want(root, &first.remote, &first.request(a))?;
                if !st.actions.iter().any(|p| p.id == a.id) {
                    report.refused.push((
                        a.ssot_id.clone(),
                        format!(
                            "{}: {} waits for {} ({}); it is tried again next run",
                            a.rel, a.id, first.what, first.remote
                        ),
                    ));
                }
                tracing::info!(id = %a.id, waits_for = %first.what, "action waits");
                keep(&mut pending, a);
                continue;
            }
        }
        let unwritten = plan.records.iter().any(|rp| {
            rp.ssot_id == a.ssot_id && rp.needs_push() && !written.contains_key(&rp.ssot_id)
        });
        let Some(rid) = remote_ids.get(&a.ssot_id).filter(|r| !r.is_empty()) else {
            keep(&mut pending, a);
            continue;
        };
        if unwritten || skipped.contains(&a.ssot_id) {
            keep(&mut pending, a);
            continue;
        }
        jr.log("act", json!({"id": a.id, "remote_id": rid}))?;
        // The note's links resolved in this remote (the expert's account a grant names).
        let mut with_links = a.clone();
        with_links.links = by_sid
            .get(a.ssot_id.as_str())
            .map(|n| {
                n.links
                    .iter()
                    .map(|(key, _, sids)| {
                        let ids = sids.iter().filter_map(|s| remote_ids.get(s)).cloned();
                        (key.clone(), ids.collect())
                    })
                    .collect()
            })
            .unwrap_or_default();
        match connector.act(&with_links, rid).await {
            Ok(ActionOutcome::Done) => {
                state::DoneActions::record(root, &remote, &a.id)?;
                jr.log("acted", json!({"id": a.id}))?;
                report.actions_done += 1;
            }
            Ok(ActionOutcome::Gone) => {
                jr.log("acted", json!({"id": a.id, "outcome": "gone"}))?;
                tracing::info!(id = %a.id, "the record is gone from {remote}; action dropped");
            }
            Ok(ActionOutcome::Refused { message }) => {
                report.errors.push((
                    a.ssot_id.clone(),
                    format!("{} refused: {message}", describe(&a.op)),
                ));
                report.refused.push((
                    a.ssot_id.clone(),
                    format!("{}: {} refused: {message}", a.rel, a.id),
                ));
                keep(&mut pending, a);
            }
            Ok(ActionOutcome::Unsupported) => {
                jr.log("acted", json!({"id": a.id, "outcome": "unsupported"}))?;
                report.refused.push((
                    a.ssot_id.clone(),
                    format!("{}: {remote} does not carry out {}", a.rel, a.id),
                ));
            }
            Err(e) => {
                // This one and the rest stay for the next run, which resumes here.
                keep(&mut pending, a);
                for rest in actions {
                    keep(&mut pending, rest);
                }
                st.actions = pending;
                return Err(e.into());
            }
        }
    }
    st.actions = pending;
    Ok(())
}

/// An action in a person's words, for the note's `sync_errors`.
fn describe(op: &crate::connectors::ActionOp) -> String {
    use crate::connectors::ActionOp;
    match op {
        ActionOp::Transition { to } => format!("move to {to}"),
        ActionOp::CreateChild { kind, assignee } => match assignee {
            Some(a) => format!("create {kind} for {a}"),
            None => format!("create {kind}"),
        },
        ActionOp::Grant { link } => format!("grant access to {link}"),
        ActionOp::Revoke { link } => format!("revoke access of {link}"),
        ActionOp::AttachExport => "attach export".into(),
        ActionOp::Delete => "delete".into(),
    }
}

/// A record whose pulled change its note did not take (the note changed during the run): read
/// again next run, as the cursor is past the change.
fn hold_unwritten_pull(st: &mut SyncState, rp: &RecordPlan) {
    if let Some(rid) = &rp.remote_id
        && (!rp.pull.is_empty() || rp.pulls_sections())
    {
        st.held_pulled.insert(rid.clone(), rp.note_type.clone());
    }
}

fn progress_bar(len: usize) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    progress_bar_for(len, std::io::stdout().is_terminal())
}

/// The bar's template: the records written so far and an estimate of the time left, from the
/// recent rate of writes (so a connector pacing itself at its service's limit gets the paced
/// rate's estimate).
const PROGRESS_TEMPLATE: &str = "{spinner} {msg} [{bar:30}] {pos}/{len}, about {eta} left";

/// A progress bar for a run of `len` records: only on a terminal, and only for runs long enough
/// to need one (200 records or more).
fn progress_bar_for(len: usize, terminal: bool) -> Option<indicatif::ProgressBar> {
    if len < 200 || !terminal {
        return None;
    }
    let p = indicatif::ProgressBar::new(len as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(PROGRESS_TEMPLATE) {
        p.set_style(style);
    }
    p.set_message("syncing");
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_with_the_time_left_only_for_long_runs_at_a_terminal() {
        assert!(progress_bar_for(199, true).is_none());
        assert!(progress_bar_for(5_000, false).is_none());
        let p = progress_bar_for(200, true).expect("a bar");
        assert_eq!(p.length(), Some(200));
        p.finish_and_clear();
        assert!(indicatif::ProgressStyle::with_template(PROGRESS_TEMPLATE).is_ok());
        assert!(PROGRESS_TEMPLATE.contains("{eta}"));
    }
}
