//! The plan: from the vault now, the last-synced base and the remote records pulled since the
//! cursor, what to write where. Pure (no I/O), so it is property-tested; `--dry-run` prints it.
//!
//! Records are matched to notes by `ssot_id` first, then by remote id (the note's `hubspot_id`
//! or the base's). A remote record that was not pulled is unchanged since the base, so the base
//! stands for it.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::config::ConflictPolicy;
use crate::connectors::{Binding, Conv, Direction, RemoteRecord, canonical};

use super::merge::{FieldMerge, merge_field};
use super::sections;
use super::state::BaseEntry;

/// A synced note as the plan sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VaultNote {
    /// `ssot_id`.
    pub ssot_id: String,
    /// The note type.
    pub note_type: String,
    /// Path relative to the vault root.
    pub rel: String,
    /// The title (file name without `.md`).
    pub title: String,
    /// The remote id written in the note (`hubspot_id`).
    pub remote_id: Option<String>,
    /// Mapped fields, canonical (absent: empty).
    pub fields: BTreeMap<String, String>,
    /// Keys with a recorded conflict for this remote (from `sync_conflicts`).
    pub conflicts: BTreeSet<String>,
    /// The note is marked as archived remotely: left alone.
    pub archived_mark: bool,
    /// The note's `sync_errors` holds entries of this remote (the run settles them).
    pub errors: bool,
    /// Link fields: (key, target note type, target `ssot_id`s).
    pub links: Vec<(String, String, Vec<String>)>,
    /// A hash of the note's bytes as read: an edit made during the run is detected by it.
    pub text_hash: u64,
    /// Synced body sections (heading → items), for bindings with sections; a section the note
    /// does not have is absent (`None` when the binding has none: boxed, as most have none).
    pub sections: Option<Box<Sections>>,
}

/// Body sections by heading.
pub type Sections = sections::SectionMap;

/// The body sections of one record's plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SectionsPlan {
    /// The sections as merged (heading → items): both sides hold them once applied.
    pub items: Sections,
    /// Headings the service must take.
    pub push: BTreeSet<String>,
    /// Headings the note must take.
    pub pull: BTreeSet<String>,
    /// Text sections changed on both sides differently (manual policy): left as they are on
    /// both sides, the base kept, until the two sides agree.
    pub conflicts: BTreeSet<String>,
}

/// The hash of a note's bytes (FNV-1a, 64 bits).
pub fn text_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Records whose note exists but cannot be read this run (broken YAML, bytes that are not
/// UTF-8, ...): an unreadable note is not a deleted one. Their records are left alone (no
/// archive, no forget, no new note) and their bases kept, so they sync again once the note
/// parses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Held {
    /// `ssot_id`s found in unreadable notes.
    pub ssot_ids: BTreeSet<String>,
    /// Remote ids (e.g. `hubspot_id`) found in unreadable notes.
    pub remote_ids: BTreeSet<String>,
    /// An unreadable note mentions `ssot_id` but its value cannot be made out: any record
    /// without a readable note may be its, so no deletion is acted on this run.
    pub unidentified: bool,
}

impl Held {
    /// Whether the record of `ssot_id` (remote id `remote_id`) is held.
    pub fn holds(&self, ssot_id: Option<&str>, remote_id: Option<&str>) -> bool {
        ssot_id.is_some_and(|s| self.ssot_ids.contains(s))
            || remote_id.is_some_and(|r| !r.is_empty() && self.remote_ids.contains(r))
    }
}

/// The policy of a plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Conflict policy.
    pub conflict: ConflictPolicy,
    /// A deleted note archives its record.
    pub archive_deleted_notes: bool,
}

/// Everything the plan is made from.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    /// The connector's bindings.
    pub bindings: &'a [Binding],
    /// The synced notes of the vault.
    pub notes: &'a [VaultNote],
    /// The base per `ssot_id`.
    pub base: &'a BTreeMap<String, BaseEntry>,
    /// Bases rebuilt from git history for notes without one: `ssot_id` → fields.
    pub history_base: &'a BTreeMap<String, BTreeMap<String, String>>,
    /// Records pulled since the cursor (or all of them when `full`).
    pub remote: &'a [RemoteRecord],
    /// Every live remote record was pulled.
    pub full: bool,
    /// Remote ids known to be archived or deleted remotely.
    pub gone: &'a BTreeSet<String>,
    /// The remote's values of open conflicts (`ssot_id` → key → canonical, empty = none): the
    /// remote's value of a conflicting field when its record is not pulled again.
    pub open_conflicts: &'a BTreeMap<String, BTreeMap<String, String>>,
    /// Records whose notes cannot be read this run: left alone.
    pub held: &'a Held,
    /// Records reported as making no valid note: remote id → fingerprint. Left out while the
    /// record is unchanged.
    pub invalid: &'a BTreeMap<String, u64>,
    /// Which remote values would make a note `check` rejects: never written into a note (a
    /// conflict instead).
    pub unfit: Unfit<'a>,
    /// Policy.
    pub policy: Policy,
}

/// What happens to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// A note without a record: create it remotely (upsert by `ssot_id`).
    Create,
    /// Note and record both exist: push and pull fields.
    Update,
    /// A record without a note: create the note.
    NewNote,
    /// The record is gone remotely: mark the note.
    MarkArchived,
    /// The note was deleted: archive the record.
    ArchiveRemote,
    /// The note was deleted and archiving is off: forget the record.
    Forget,
}

/// One field in conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldConflict {
    /// The key.
    pub key: String,
    /// The vault's value (canonical).
    pub vault: Option<String>,
    /// The remote's value (canonical).
    pub remote: Option<String>,
    /// Both as shown to people: `vault` and `remote` in the vault's terms.
    pub shown: (String, String),
}

/// The plan of one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordPlan {
    /// What happens.
    pub action: Action,
    /// `ssot_id` (for a new note: the record's, or one derived from its remote id).
    pub ssot_id: String,
    /// Note type.
    pub note_type: String,
    /// Path of the note (new notes: empty, chosen when written).
    pub rel: String,
    /// Title (new notes: from the record).
    pub title: String,
    /// Remote id, when known.
    pub remote_id: Option<String>,
    /// Whether the record already carries the `ssot_id`.
    pub remote_has_ssot_id: bool,
    /// Write the remote id into the note.
    pub write_remote_id: bool,
    /// Fields to send (`None` clears).
    pub push: BTreeMap<String, Option<String>>,
    /// Fields to write into the note (`None` clears).
    pub pull: BTreeMap<String, Option<String>>,
    /// Fields equal on both sides.
    pub agreed: BTreeMap<String, Option<String>>,
    /// Unresolved conflicts (manual policy).
    pub conflicts: Vec<FieldConflict>,
    /// Keys whose recorded conflict is gone (remove them from `sync_conflicts`).
    pub settled: Vec<String>,
    /// Link fields: (key, target note type, target `ssot_id`s).
    pub links: Vec<(String, String, Vec<String>)>,
    /// Base fields to keep for keys neither agreed nor moved (conflicts).
    pub base_kept: BTreeMap<String, String>,
    /// Synced body sections, when the binding has any (boxed: most have none).
    pub sections: Option<Box<SectionsPlan>>,
    /// Why a change made in the service is undone by this write, for the service to show
    /// ([`crate::connectors::Upsert::notice`]).
    pub notice: Option<String>,
    /// The binding has links: the base keeps a hash of those last agreed ([`links_hash`]).
    #[serde(skip)]
    pub tracks_links: bool,
    /// The note's links differ from those last sent: the record is written for them alone if
    /// no field moved (the expert assigned: the Jira issue's assignee, the deal's contacts).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub push_links: bool,
}

/// A hash of link fields (key, target note type, target `ssot_id`s).
pub fn links_hash(links: &[(String, String, Vec<String>)]) -> u64 {
    let mut text = String::new();
    for (k, t, sids) in links.iter().filter(|(_, _, s)| !s.is_empty()) {
        text.push_str("\0\u{2}");
        text.push_str(k);
        text.push('\0');
        text.push_str(t);
        for s in sids {
            text.push('\0');
            text.push_str(s);
        }
    }
    text_hash(text.as_bytes())
}

impl RecordPlan {
    /// A plan of `action` for the record of `ssot_id`, with nothing to move yet.
    pub fn new(action: Action, ssot_id: String, note_type: String) -> RecordPlan {
        RecordPlan {
            action,
            ssot_id,
            note_type,
            rel: String::new(),
            title: String::new(),
            remote_id: None,
            remote_has_ssot_id: false,
            write_remote_id: false,
            push: BTreeMap::new(),
            pull: BTreeMap::new(),
            agreed: BTreeMap::new(),
            conflicts: Vec::new(),
            settled: Vec::new(),
            links: Vec::new(),
            base_kept: BTreeMap::new(),
            sections: None,
            notice: None,
            tracks_links: false,
            push_links: false,
        }
    }

    /// The body sections' plan, made on first use.
    fn sections_mut(&mut self) -> &mut SectionsPlan {
        self.sections.get_or_insert_with(Box::default)
    }

    /// The merged body sections (heading → items), if any.
    pub fn section_items(&self) -> Option<&Sections> {
        self.sections
            .as_ref()
            .map(|s| &s.items)
            .filter(|m| !m.is_empty())
    }

    /// The number of text sections in conflict.
    pub fn section_conflicts(&self) -> usize {
        self.sections.as_ref().map_or(0, |s| s.conflicts.len())
    }

    /// Whether the service must take a body section.
    pub fn pushes_sections(&self) -> bool {
        self.sections.as_ref().is_some_and(|s| !s.push.is_empty())
    }

    /// Whether the note must take a body section.
    pub fn pulls_sections(&self) -> bool {
        self.sections.as_ref().is_some_and(|s| !s.pull.is_empty())
    }

    /// The base after this record is applied: agreed fields, kept conflict bases, and the pushed
    /// and pulled fields that were actually written.
    pub fn new_base(
        &self,
        pushed: &BTreeMap<String, Option<String>>,
        pulled: &BTreeMap<String, Option<String>>,
    ) -> BTreeMap<String, String> {
        let mut out: BTreeMap<String, String> = self.base_kept.clone();
        for (k, v) in self.agreed.iter().chain(pushed).chain(pulled) {
            match v {
                Some(v) => {
                    out.insert(k.clone(), v.clone());
                }
                None => {
                    out.remove(k);
                }
            }
        }
        out
    }

    /// A hash of what a new note would be made from (title, pulled fields and links): a record
    /// that makes no valid note is left out while it stays the same.
    pub fn fingerprint(&self) -> u64 {
        let mut text = self.title.clone();
        for (k, v) in &self.pull {
            text.push('\0');
            text.push_str(k);
            text.push('\0');
            text.push_str(v.as_deref().unwrap_or("\u{1}"));
        }
        for (k, _, sids) in self.links.iter().filter(|(_, _, s)| !s.is_empty()) {
            text.push_str("\0\u{2}");
            text.push_str(k);
            for s in sids {
                text.push('\0');
                text.push_str(s);
            }
        }
        text_hash(text.as_bytes())
    }

    /// Whether the record needs a remote write.
    pub fn needs_push(&self) -> bool {
        match self.action {
            Action::Create => true,
            Action::Update | Action::NewNote => {
                !self.push.is_empty()
                    || self.pushes_sections()
                    || !self.remote_has_ssot_id
                    || self.push_links
            }
            _ => false,
        }
    }

    /// Whether the note needs an edit.
    pub fn needs_note_edit(&self) -> bool {
        match self.action {
            Action::Update => {
                !self.pull.is_empty()
                    || self.pulls_sections()
                    || self.write_remote_id
                    || !self.settled.is_empty()
                    || !self.conflicts.is_empty()
            }
            Action::NewNote | Action::MarkArchived => true,
            _ => false,
        }
    }
}

/// The whole plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Records with something to do, in binding order (link targets first).
    pub records: Vec<RecordPlan>,
    /// Records known (base entries not deleted), for the archive share.
    pub known_records: usize,
    /// Records with nothing to do.
    pub unchanged: usize,
    /// Records left alone because their note cannot be read (see [`Held`]).
    pub held: usize,
    /// Service actions (a status move's effects), in order: carried out one by one after the
    /// field writes, each journaled (see `connectors` → Actions).
    pub actions: Vec<crate::connectors::RemoteAction>,
}

impl Plan {
    /// Remote archives the plan would make.
    pub fn archives(&self) -> usize {
        self.records
            .iter()
            .filter(|r| r.action == Action::ArchiveRemote)
            .count()
    }

    /// Share of known records the plan would archive.
    pub fn archive_share(&self) -> f64 {
        if self.known_records == 0 {
            0.0
        } else {
            self.archives() as f64 / self.known_records as f64
        }
    }

    /// Whether the plan does nothing.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.actions.is_empty()
    }

    /// Count of records per action.
    pub fn count(&self, a: Action) -> usize {
        self.records.iter().filter(|r| r.action == a).count()
    }

    /// Number of unresolved conflicts.
    pub fn conflicts(&self) -> usize {
        self.records
            .iter()
            .map(|r| r.conflicts.len() + r.section_conflicts())
            .sum()
    }
}

/// Link fields: (key, target note type, target `ssot_id`s).
pub type LinkFields = Vec<(String, String, Vec<String>)>;

/// Gives the new notes of records with links (`Binding::links`) the links the service holds
/// for their records (`links`: remote id → (key, target note type, target `ssot_id`s)), and
/// leaves out those reported already as making no valid note (`invalid`) and unchanged since,
/// links included: a record is tried again when it changes or its links do.
pub fn settle_new_links(
    plan: &mut Plan,
    bindings: &[Binding],
    links: &BTreeMap<String, LinkFields>,
    invalid: &BTreeMap<String, u64>,
) {
    let linked = |ty: &str| {
        bindings
            .iter()
            .any(|b| b.note_type == ty && !b.links.is_empty())
    };
    let before = plan.records.len();
    plan.records.retain_mut(|rp| {
        if rp.action != Action::NewNote || !linked(&rp.note_type) {
            return true;
        }
        let Some(rid) = rp.remote_id.as_deref() else {
            return true;
        };
        rp.links = links.get(rid).cloned().unwrap_or_default();
        invalid.get(rid) != Some(&rp.fingerprint())
    });
    plan.unchanged += before - plan.records.len();
}

/// An `ssot_id` for a note made from a record that has none, derived from its remote id (so the
/// plan stays pure and a repeated run derives the same id).
pub fn derived_ssot_id(remote: &str, note_type: &str, id: &str, ms: i64) -> String {
    let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in remote
        .bytes()
        .chain([0])
        .chain(note_type.bytes())
        .chain([0])
        .chain(id.bytes())
    {
        h ^= u128::from(b);
        h = h.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013B);
    }
    let bytes = h.to_be_bytes();
    let mut random = [0u8; 10];
    random.copy_from_slice(&bytes[..10]);
    crate::vault::id::ulid_from(u64::try_from(ms.max(0)).unwrap_or(0), random)
}

fn shown(conv: &Conv, v: Option<&str>) -> String {
    match v {
        None => "(empty)".into(),
        Some(s) => canonical::to_vault(conv, Some(s), None).to_string(),
    }
}

/// Tells whether a remote value (note type, key, canonical value; `None` empty) would make a note
/// `check` rejects: a pure function of the schema, so the plan stays pure.
#[derive(Clone, Copy)]
pub struct Unfit<'a>(pub &'a (dyn Fn(&str, &str, Option<&str>) -> bool + Sync));

impl std::fmt::Debug for Unfit<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Unfit")
    }
}

fn fits_always(_: &str, _: &str, _: Option<&str>) -> bool {
    false
}

impl Unfit<'static> {
    /// Every value fits.
    pub fn never() -> Unfit<'static> {
        Unfit(&fits_always)
    }
}

fn unfit_for_note(
    input: &PlanInput<'_>,
    note_type: &str,
    key: &str,
    value: &Option<String>,
) -> bool {
    (input.unfit.0)(note_type, key, value.as_deref())
}

/// Whether `r` is as the base says the service holds it: it carries the `ssot_id` of a live
/// base entry with its remote id, and each mapped field and body section merges, against a
/// note holding exactly that base, as [`plan`] merges them, to an agreement (nothing to take
/// from the service, nothing to send it). A run's settle read (`run.rs`) moves the cursor past
/// the run's own writes only when every record it read is so.
pub fn unchanged_since_base(
    bindings: &[Binding],
    base: &BTreeMap<String, BaseEntry>,
    r: &RemoteRecord,
) -> bool {
    let Some(b) = bindings
        .iter()
        .find(|b| b.note_type == r.note_type && !b.link_target_only)
    else {
        return false;
    };
    let Some(e) = r.ssot_id.as_deref().and_then(|sid| base.get(sid)) else {
        return false;
    };
    if r.archived
        || e.deleted
        || e.archived
        || !e.remote_has_ssot_id
        || e.remote_id != r.id
        || e.note_type != r.note_type
    {
        return false;
    }
    let fields = b.fields.iter().all(|f| {
        let held = e.fields.get(&f.key).map(String::as_str);
        let remote = r.fields.get(&f.key).map(String::as_str);
        matches!(
            merge_field(
                Some(held),
                held,
                remote,
                f.direction,
                ConflictPolicy::Manual
            ),
            FieldMerge::Agree(_)
        )
    });
    fields
        && b.sections.iter().all(|s| {
            let held = e
                .sections
                .as_deref()
                .and_then(|m| m.get(&s.heading))
                .cloned()
                .unwrap_or_default();
            let remote = r.sections.get(&s.heading).cloned().unwrap_or_default();
            let m = sections::merge(s.kind, &held, &held, &remote);
            !m.push && !m.pull && !m.conflict
        })
}

/// Makes the plan.
pub fn plan(remote_name: &str, input: &PlanInput<'_>) -> Plan {
    let binding = |ty: &str| input.bindings.iter().find(|b| b.note_type == ty);
    let mut by_sid: BTreeMap<&str, &RemoteRecord> = BTreeMap::new();
    let mut by_rid: BTreeMap<&str, &RemoteRecord> = BTreeMap::new();
    for r in input.remote {
        if let Some(s) = &r.ssot_id {
            by_sid.insert(s.as_str(), r);
        }
        by_rid.insert(r.id.as_str(), r);
    }
    let mut used: BTreeSet<&str> = BTreeSet::new();
    let mut seen_sids: BTreeSet<&str> = BTreeSet::new();
    let mut out: Vec<RecordPlan> = Vec::new();
    let mut unchanged = 0usize;
    for note in input.notes {
        let Some(b) = binding(&note.note_type).filter(|b| !b.link_target_only) else {
            continue;
        };
        seen_sids.insert(note.ssot_id.as_str());
        let base = input.base.get(&note.ssot_id);
        if note.archived_mark || base.is_some_and(|b| b.archived) {
            continue;
        }
        let rid = note
            .remote_id
            .clone()
            .or_else(|| base.map(|b| b.remote_id.clone()).filter(|s| !s.is_empty()));
        let pulled = by_sid
            .get(note.ssot_id.as_str())
            .copied()
            .or_else(|| rid.as_deref().and_then(|r| by_rid.get(r).copied()));
        if let Some(p) = pulled {
            used.insert(p.id.as_str());
        }
        let rid = pulled.map(|p| p.id.clone()).or(rid);
        let mut rp = RecordPlan {
            rel: note.rel.clone(),
            title: note.title.clone(),
            remote_id: rid.clone(),
            remote_has_ssot_id: pulled.map_or(base.is_some_and(|b| b.remote_has_ssot_id), |p| {
                p.ssot_id.as_deref() == Some(note.ssot_id.as_str())
            }),
            links: note.links.clone(),
            tracks_links: !b.links.is_empty(),
            ..RecordPlan::new(Action::Update, note.ssot_id.clone(), note.note_type.clone())
        };
        if let Some(r) = &rid
            && input.gone.contains(r)
        {
            rp.action = Action::MarkArchived;
            out.push(rp);
            continue;
        }
        // The remote's fields now: pulled, else unchanged since the base.
        let remote_fields: Option<BTreeMap<String, String>> = match (pulled, base) {
            (Some(p), _) => Some(p.fields.clone()),
            (None, Some(b)) if !b.remote_id.is_empty() => {
                let mut f = b.fields.clone();
                for (k, v) in input
                    .open_conflicts
                    .get(&note.ssot_id)
                    .into_iter()
                    .flatten()
                {
                    if v.is_empty() {
                        f.remove(k);
                    } else {
                        f.insert(k.clone(), v.clone());
                    }
                }
                Some(f)
            }
            _ => None,
        };
        let Some(remote_fields) = remote_fields.filter(|_| rid.is_some()) else {
            if rid.is_some() && input.full {
                // Known remote id, but the full read did not see it: gone remotely.
                rp.action = Action::MarkArchived;
                out.push(rp);
                continue;
            }
            if rid.is_some() {
                // Not seen and no base: the engine fetches such records before planning; if it
                // still has nothing, leave the note for the next run.
                unchanged += 1;
                continue;
            }
            rp.action = Action::Create;
            for f in &b.fields {
                match (f.direction, note.fields.get(&f.key)) {
                    // A field the service owns starts as the new record has it: empty (the apply
                    // takes the created record's value instead when the service returns it).
                    (Direction::Pull, Some(_)) => {
                        rp.pull.insert(f.key.clone(), None);
                    }
                    (Direction::Pull, None) => {}
                    (_, Some(v)) => {
                        rp.push.insert(f.key.clone(), Some(v.clone()));
                    }
                    (_, None) => {}
                }
            }
            rp.settled = note.conflicts.iter().cloned().collect();
            for s in &b.sections {
                if let Some(items) = note.sections.as_ref().and_then(|m| m.get(&s.heading)) {
                    let sp = rp.sections_mut();
                    sp.push.insert(s.heading.clone());
                    sp.items.insert(s.heading.clone(), items.clone());
                }
            }
            out.push(rp);
            continue;
        };
        let base_fields: Option<&BTreeMap<String, String>> = base
            .filter(|b| !b.remote_id.is_empty())
            .map(|b| &b.fields)
            .or_else(|| input.history_base.get(&note.ssot_id));
        for f in &b.fields {
            let v = note.fields.get(&f.key).map(String::as_str);
            let r = remote_fields.get(&f.key).map(String::as_str);
            let bs = base_fields.map(|m| m.get(&f.key).map(String::as_str));
            let merged = match merge_field(bs, v, r, f.direction, input.policy.conflict) {
                // A remote value that would make the note one `check` rejects is never written
                // into it: it is a conflict a person settles (`resolve`), whatever the policy.
                FieldMerge::Pull(x) if unfit_for_note(input, &note.note_type, &f.key, &x) => {
                    FieldMerge::Conflict {
                        vault: v.map(str::to_string),
                        remote: x,
                    }
                }
                m => m,
            };
            match merged {
                FieldMerge::Agree(x) => {
                    rp.agreed.insert(f.key.clone(), x);
                }
                FieldMerge::Push(x) => {
                    rp.push.insert(f.key.clone(), x);
                }
                FieldMerge::Pull(x) => {
                    rp.pull.insert(f.key.clone(), x);
                }
                FieldMerge::Conflict { vault, remote } => {
                    if let Some(Some(old)) = bs {
                        rp.base_kept.insert(f.key.clone(), old.to_string());
                    }
                    rp.conflicts.push(FieldConflict {
                        key: f.key.clone(),
                        shown: (
                            shown(&f.conv, vault.as_deref()),
                            shown(&f.conv, remote.as_deref()),
                        ),
                        vault,
                        remote,
                    });
                }
            }
        }
        // Body sections, item by item; the service's unchanged since the base when not pulled.
        let base_sections = base
            .filter(|b| !b.remote_id.is_empty())
            .and_then(|b| b.sections.as_deref());
        for s in &b.sections {
            let items = |m: Option<&Sections>| {
                m.and_then(|m| m.get(&s.heading))
                    .cloned()
                    .unwrap_or_default()
            };
            let remote_items = match pulled {
                Some(p) => p.sections.get(&s.heading).cloned().unwrap_or_default(),
                None => items(base_sections),
            };
            let vault_items = items(note.sections.as_deref());
            let mut m = sections::merge(s.kind, &items(base_sections), &vault_items, &remote_items);
            let sp = rp.sections_mut();
            if m.conflict {
                let (items, push, pull) = match input.policy.conflict {
                    ConflictPolicy::Manual => {
                        sp.conflicts.insert(s.heading.clone());
                        (m.items, false, false)
                    }
                    ConflictPolicy::VaultWins => (vault_items, true, false),
                    ConflictPolicy::RemoteWins => (remote_items, false, true),
                };
                m.items = items;
                m.push = push;
                m.pull = pull;
            }
            if m.push {
                sp.push.insert(s.heading.clone());
            }
            if m.pull {
                sp.pull.insert(s.heading.clone());
            }
            sp.items.insert(s.heading.clone(), m.items);
        }
        rp.settled = note
            .conflicts
            .iter()
            .filter(|k| !rp.conflicts.iter().any(|c| &c.key == *k))
            .cloned()
            .collect();
        let open_unrecorded = rp
            .conflicts
            .iter()
            .any(|c| !note.conflicts.contains(&c.key));
        rp.write_remote_id = note.remote_id != rid;
        // Links: sent when they differ from those last agreed; a base without their hash (kept
        // before links were tracked, or rebuilt) takes the note's without a write.
        let links_base = base.filter(|e| !e.remote_id.is_empty()).map(|e| e.links);
        if rp.tracks_links
            && let Some(Some(h)) = links_base
        {
            rp.push_links = h != links_hash(&rp.links);
        }
        let adopt_links = rp.tracks_links && matches!(links_base, Some(None));
        let new_base = rp.new_base(&BTreeMap::new(), &BTreeMap::new());
        let changed = !rp.push.is_empty()
            || rp.push_links
            || adopt_links
            || !rp.pull.is_empty()
            || rp.pushes_sections()
            || rp.pulls_sections()
            || base.is_some_and(|e| {
                e.sections.as_deref().filter(|m| !m.is_empty()) != rp.section_items()
            })
            || rp.section_conflicts() > 0
            || rp.write_remote_id
            || !rp.settled.is_empty()
            || open_unrecorded
            || !rp.remote_has_ssot_id
            || !rp.conflicts.is_empty()
            || base.is_none_or(|b| b.fields != new_base || b.remote_id.is_empty());
        if changed {
            out.push(rp);
        } else {
            unchanged += 1;
        }
    }
    // Records without a note.
    for r in input.remote {
        if used.contains(r.id.as_str()) || r.archived {
            continue;
        }
        if input.held.holds(r.ssot_id.as_deref(), Some(&r.id)) {
            // Its note is there but cannot be read: never a second note for it.
            continue;
        }
        if let Some(s) = &r.ssot_id
            && (seen_sids.contains(s.as_str())
                || input.base.get(s).is_some_and(|b| b.deleted || b.archived))
        {
            continue;
        }
        if input
            .base
            .values()
            .any(|b| b.remote_id == r.id && (b.deleted || b.archived))
        {
            continue;
        }
        let Some(b) = binding(&r.note_type).filter(|b| b.pull_new) else {
            continue;
        };
        let ssot_id = r.ssot_id.clone().unwrap_or_else(|| {
            derived_ssot_id(remote_name, &r.note_type, &r.id, r.modified_ms.unwrap_or(0))
        });
        if input
            .base
            .get(&ssot_id)
            .is_some_and(|e| !e.deleted && !e.archived)
            && !seen_sids.contains(ssot_id.as_str())
        {
            // The note was deleted: handled below with the other deleted notes.
            continue;
        }
        // A new note takes every mapped field of the record, those the vault owns from then on
        // included (the note had no value to keep); a title becomes the file name instead.
        let pull: BTreeMap<String, Option<String>> = b
            .fields
            .iter()
            .filter(|f| f.conv != Conv::Title)
            .filter_map(|f| {
                r.fields
                    .get(&f.key)
                    .map(|v| (f.key.clone(), Some(v.clone())))
            })
            .collect();
        // The title the note is named after is the record's: the base holds it, so the next
        // run does not take the note's (unchanged) title for an edit to send back.
        let agreed: BTreeMap<String, Option<String>> = b
            .fields
            .iter()
            .filter(|f| f.conv == Conv::Title)
            .filter_map(|f| {
                r.fields
                    .get(&f.key)
                    .map(|v| (f.key.clone(), Some(v.clone())))
            })
            .collect();
        let rp = RecordPlan {
            remote_has_ssot_id: r.ssot_id.is_some(),
            tracks_links: !b.links.is_empty(),
            agreed,
            title: r
                .title
                .clone()
                .unwrap_or_else(|| format!("{} {}", r.note_type, r.id)),
            remote_id: Some(r.id.clone()),
            write_remote_id: true,
            pull,
            sections: {
                let items: Sections = b
                    .sections
                    .iter()
                    .filter_map(|s| Some((s.heading.clone(), r.sections.get(&s.heading)?.clone())))
                    .collect();
                (!items.is_empty()).then(|| {
                    Box::new(SectionsPlan {
                        pull: items.keys().cloned().collect(),
                        items,
                        push: BTreeSet::new(),
                        conflicts: BTreeSet::new(),
                    })
                })
            },
            ..RecordPlan::new(Action::NewNote, ssot_id, r.note_type.clone())
        };
        if b.links.is_empty() && input.invalid.get(&r.id) == Some(&rp.fingerprint()) {
            // Reported already as making no valid note, and unchanged since. (A record with
            // links is judged with them, once they are read: [`settle_new_links`].)
            unchanged += 1;
            continue;
        }
        out.push(rp);
    }
    // Notes deleted from the vault.
    let mut known = 0usize;
    let mut held = 0usize;
    for (sid, e) in input.base {
        if e.deleted || e.archived {
            continue;
        }
        known += 1;
        if seen_sids.contains(sid.as_str()) || binding(&e.note_type).is_none() {
            continue;
        }
        if input.held.unidentified || input.held.holds(Some(sid), Some(&e.remote_id)) {
            // Not deleted: unreadable. Its record and base stay as they are.
            held += 1;
            continue;
        }
        let action = if input.policy.archive_deleted_notes && !input.gone.contains(&e.remote_id) {
            Action::ArchiveRemote
        } else {
            Action::Forget
        };
        out.push(RecordPlan {
            remote_id: Some(e.remote_id.clone()),
            remote_has_ssot_id: e.remote_has_ssot_id,
            ..RecordPlan::new(action, sid.clone(), e.note_type.clone())
        });
    }
    let order = |ty: &str| {
        input
            .bindings
            .iter()
            .position(|b| b.note_type == ty)
            .unwrap_or(usize::MAX)
    };
    out.sort_by_key(|r| order(&r.note_type));
    // The plan lives through the whole run: grown push by push, a first sync's 10,000 records
    // would keep room for 16,384 (2 MB unused at the run's peak).
    out.shrink_to_fit();
    Plan {
        records: out,
        known_records: known,
        unchanged,
        held,
        actions: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::{FieldSpec, SectionItem};

    fn client_binding() -> Binding {
        Binding {
            note_type: "client".into(),
            kind: "contacts".into(),
            id_key: "hubspot_id".into(),
            fields: vec![FieldSpec {
                key: "name".into(),
                remote: "name".into(),
                conv: Conv::Text,
                direction: Direction::Both,
            }],
            links: Vec::new(),
            pull_new: true,
            link_target_only: false,
            sections: Vec::new(),
        }
    }

    /// Two synced records whose notes are not among the readable ones; the remote shows both.
    fn plan_with(held: &Held) -> Plan {
        let bindings = [client_binding()];
        let mut base = BTreeMap::new();
        let mut remote = Vec::new();
        for (sid, rid) in [("S1", "1"), ("S2", "2")] {
            let fields: BTreeMap<String, String> = [("name".to_string(), format!("N{rid}"))].into();
            base.insert(
                sid.to_string(),
                BaseEntry {
                    note_type: "client".into(),
                    remote_id: rid.into(),
                    remote_has_ssot_id: true,
                    fields: fields.clone(),
                    ..BaseEntry::default()
                },
            );
            remote.push(RemoteRecord {
                note_type: "client".into(),
                id: rid.into(),
                ssot_id: Some(sid.into()),
                fields,
                title: None,
                modified_ms: Some(1),
                archived: false,
                sections: BTreeMap::new(),
            });
        }
        plan_of(
            "hubspot",
            &bindings,
            &[],
            &base,
            &remote,
            (true, true),
            held,
        )
    }

    /// The plan of `notes`, `base` and `remote` with nothing gone, no open conflict, no record
    /// reported invalid and the manual policy; `flags` = (a full read, archive deleted notes).
    fn plan_of(
        remote_name: &str,
        bindings: &[Binding],
        notes: &[VaultNote],
        base: &BTreeMap<String, BaseEntry>,
        remote: &[RemoteRecord],
        (full, archive_deleted_notes): (bool, bool),
        held: &Held,
    ) -> Plan {
        plan(
            remote_name,
            &PlanInput {
                bindings,
                notes,
                base,
                history_base: &BTreeMap::new(),
                remote,
                full,
                gone: &BTreeSet::new(),
                open_conflicts: &BTreeMap::new(),
                held,
                invalid: &BTreeMap::new(),
                unfit: Unfit::never(),
                policy: Policy {
                    conflict: ConflictPolicy::Manual,
                    archive_deleted_notes,
                },
            },
        )
    }

    /// Notes of a binding that is a link target only are never planned: not created without
    /// a remote id, not marked archived by a full read that does not list them.
    #[test]
    fn link_target_only_notes_are_never_planned() {
        let mut target = client_binding();
        target.note_type = "expert".into();
        target.id_key = "jira_account_id".into();
        target.fields.clear();
        target.pull_new = false;
        target.link_target_only = true;
        let note = |sid: &str, rid: Option<&str>| VaultNote {
            ssot_id: sid.into(),
            note_type: "expert".into(),
            rel: format!("Experts/{sid}.md"),
            title: sid.into(),
            remote_id: rid.map(str::to_string),
            ..VaultNote::default()
        };
        let notes = [note("E1", Some("acct-1")), note("E2", None)];
        let p = plan_of(
            "jira",
            &[target],
            &notes,
            &BTreeMap::new(),
            &[],
            (true, true),
            &Held::default(),
        );
        assert!(p.records.is_empty(), "{:?}", p.records);
        assert_eq!(p.known_records, 0);
    }

    fn task(text: &str, checked: bool) -> SectionItem {
        SectionItem {
            key: text.into(),
            text: text.into(),
            checked: Some(checked),
            stamp: None,
        }
    }

    /// A synced project with a credentialing list: the note checked one task, the service
    /// another; both take the merged list, and a record new on the service brings its list.
    #[test]
    fn body_sections_are_merged_item_by_item_both_ways() {
        let heading = "Credentialing".to_string();
        let binding = Binding {
            sections: vec![crate::connectors::SectionSpec {
                heading: heading.clone(),
                kind: crate::connectors::SectionKind::Tasks,
            }],
            ..client_binding()
        };
        let fields: BTreeMap<String, String> = [("name".to_string(), "P".to_string())].into();
        let base_items = vec![task("NDA", false), task("Contract", false)];
        let base: BTreeMap<String, BaseEntry> = [(
            "S1".to_string(),
            BaseEntry {
                note_type: "client".into(),
                remote_id: "1".into(),
                remote_has_ssot_id: true,
                fields: fields.clone(),
                sections: Some(Box::new([(heading.clone(), base_items)].into())),
                ..BaseEntry::default()
            },
        )]
        .into();
        let note = VaultNote {
            ssot_id: "S1".into(),
            note_type: "client".into(),
            rel: "Clients/P.md".into(),
            title: "P".into(),
            remote_id: Some("1".into()),
            fields: fields.clone(),
            sections: Some(Box::new(
                [(
                    heading.clone(),
                    vec![task("NDA", true), task("Contract", false)],
                )]
                .into(),
            )),
            ..VaultNote::default()
        };
        let record = |id: &str, sid: &str, items: Vec<SectionItem>| RemoteRecord {
            note_type: "client".into(),
            id: id.into(),
            ssot_id: Some(sid.into()),
            fields: fields.clone(),
            title: Some(format!("T{id}")),
            modified_ms: Some(1),
            archived: false,
            sections: [(heading.clone(), items)].into(),
        };
        let remote = vec![
            record("1", "S1", vec![task("NDA", false), task("Contract", true)]),
            record("2", "S2", vec![task("Bank", true)]),
        ];
        let bindings = [binding];
        let p = plan_of(
            "trello",
            &bindings,
            std::slice::from_ref(&note),
            &base,
            &remote,
            (false, false),
            &Held::default(),
        );
        assert_eq!(p.records.len(), 2, "{p:?}");
        let up = &p.records[0];
        assert_eq!(up.action, Action::Update);
        let sp = up.sections.as_ref().expect("sections");
        assert_eq!(
            sp.items[&heading],
            [task("NDA", true), task("Contract", true)]
        );
        assert!(sp.push.contains(&heading) && sp.pull.contains(&heading));
        assert!(up.needs_push() && up.needs_note_edit());
        let new = &p.records[1];
        assert_eq!(new.action, Action::NewNote);
        let nsp = new.sections.as_ref().expect("sections");
        assert_eq!(nsp.items[&heading], [task("Bank", true)]);
        assert!(nsp.pull.contains(&heading));
        // Once both sides hold the merged list and the base says so, nothing is left to do.
        let mut st = crate::sync::SyncState {
            base: base.clone(),
            ..Default::default()
        };
        st.settle(
            up,
            crate::sync::state::Outcome::Done {
                written: Some(crate::sync::state::Written {
                    remote_id: "1".into(),
                    created: false,
                    service_fields: None,
                }),
                note_written: true,
            },
        );
        let merged = sp.items[&heading].clone();
        let note2 = VaultNote {
            sections: Some(Box::new([(heading.clone(), merged.clone())].into())),
            ..note.clone()
        };
        let remote2 = vec![record("1", "S1", merged)];
        let p2 = plan_of(
            "trello",
            &bindings,
            std::slice::from_ref(&note2),
            &st.base,
            &remote2,
            (false, false),
            &Held::default(),
        );
        assert!(p2.records.is_empty(), "{p2:?}");
        assert_eq!(p2.unchanged, 1);
    }

    /// A record that carries an `ssot_id` (made by another vault, or whose note and base were
    /// lost) becomes a note without a write back; one without gets its derived id sent.
    #[test]
    fn a_new_note_writes_the_ssot_id_back_only_to_a_record_without_one() {
        let bindings = [client_binding()];
        let record = |id: &str, sid: Option<&str>| RemoteRecord {
            note_type: "client".into(),
            id: id.into(),
            ssot_id: sid.map(str::to_string),
            fields: [("name".to_string(), format!("N{id}"))].into(),
            title: Some(format!("N{id}")),
            modified_ms: Some(1),
            archived: false,
            sections: BTreeMap::new(),
        };
        let remote = [record("1", Some("S1")), record("2", None)];
        let p = plan_of(
            "hubspot",
            &bindings,
            &[],
            &BTreeMap::new(),
            &remote,
            (true, false),
            &Held::default(),
        );
        let got: Vec<(String, Action, bool, bool)> = p
            .records
            .iter()
            .map(|r| {
                (
                    r.remote_id.clone().unwrap_or_default(),
                    r.action,
                    r.remote_has_ssot_id,
                    r.needs_push(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("1".to_string(), Action::NewNote, true, false),
                ("2".to_string(), Action::NewNote, false, true)
            ]
        );
        assert_eq!(p.records[0].ssot_id, "S1");
    }

    fn actions(p: &Plan) -> Vec<(String, Action)> {
        p.records
            .iter()
            .map(|r| (r.ssot_id.clone(), r.action))
            .collect()
    }

    #[test]
    fn records_of_unreadable_notes_are_held() {
        // Both notes deleted: both records archived.
        let p = plan_with(&Held::default());
        assert_eq!(
            actions(&p),
            [
                ("S1".into(), Action::ArchiveRemote),
                ("S2".into(), Action::ArchiveRemote)
            ]
        );
        // S1's note unreadable (found by its ssot_id), S2's by its remote id: nothing to do.
        let held = Held {
            ssot_ids: ["S1".to_string()].into(),
            remote_ids: ["2".to_string()].into(),
            unidentified: false,
        };
        let p = plan_with(&held);
        assert_eq!(actions(&p), []);
        assert_eq!(p.held, 2);
        // Only S1's note unreadable: S2's was deleted.
        let held = Held {
            ssot_ids: ["S1".to_string()].into(),
            ..Held::default()
        };
        assert_eq!(
            actions(&plan_with(&held)),
            [("S2".into(), Action::ArchiveRemote)]
        );
        // An unreadable note whose id cannot be made out: no deletion this run.
        let held = Held {
            unidentified: true,
            ..Held::default()
        };
        let p = plan_with(&held);
        assert_eq!(actions(&p), []);
        assert_eq!(p.held, 2);
    }

    #[test]
    fn new_notes_of_linked_records_are_judged_with_their_links() {
        let project = Binding {
            note_type: "project".into(),
            kind: "deals".into(),
            links: vec!["client".into()],
            ..client_binding()
        };
        let bindings = [client_binding(), project];
        let remote: Vec<RemoteRecord> = [("client", "1", "Ann"), ("project", "5", "Shop")]
            .into_iter()
            .map(|(ty, id, name)| RemoteRecord {
                note_type: ty.into(),
                id: id.into(),
                title: Some(name.into()),
                modified_ms: Some(1),
                ..RemoteRecord::default()
            })
            .collect();
        let make = |invalid: &BTreeMap<String, u64>| {
            plan(
                "hubspot",
                &PlanInput {
                    bindings: &bindings,
                    notes: &[],
                    base: &BTreeMap::new(),
                    history_base: &BTreeMap::new(),
                    remote: &remote,
                    full: true,
                    gone: &BTreeSet::new(),
                    open_conflicts: &BTreeMap::new(),
                    held: &Held::default(),
                    invalid,
                    unfit: Unfit::never(),
                    policy: Policy {
                        conflict: ConflictPolicy::Manual,
                        archive_deleted_notes: false,
                    },
                },
            )
        };
        let mut p = make(&BTreeMap::new());
        let client_sid = p.records[0].ssot_id.clone();
        let linked = |sid: &str| -> BTreeMap<String, Vec<(String, String, Vec<String>)>> {
            [(
                "5".to_string(),
                vec![("client".into(), "client".into(), vec![sid.to_string()])],
            )]
            .into()
        };
        settle_new_links(&mut p, &bindings, &linked(&client_sid), &BTreeMap::new());
        assert_eq!(p.records.len(), 2);
        assert_eq!(
            p.records[1].links,
            [("client".into(), "client".into(), vec![client_sid.clone()])]
        );
        // Reported with no client: the plan keeps it until its links are read; with the same
        // (no) links it is left out, with a client it is tried again.
        let mut alone = p.records[1].clone();
        alone.links.clear();
        let invalid: BTreeMap<String, u64> = [("5".to_string(), alone.fingerprint())].into();
        let p0 = make(&invalid);
        assert_eq!(p0.records.len(), 2, "not judged before its links are read");
        let mut p = p0.clone();
        settle_new_links(&mut p, &bindings, &BTreeMap::new(), &invalid);
        assert_eq!(actions(&p).len(), 1);
        assert_eq!(p.unchanged, p0.unchanged + 1);
        let mut p = p0;
        settle_new_links(&mut p, &bindings, &linked(&client_sid), &invalid);
        assert_eq!(p.records.len(), 2, "its links changed: tried again");
        // A record without links is judged by the plan itself, as before.
        let ann: BTreeMap<String, u64> = [("1".to_string(), {
            let mut r = make(&BTreeMap::new()).records[0].clone();
            r.links.clear();
            r.fingerprint()
        })]
        .into();
        assert_eq!(
            make(&ann)
                .records
                .iter()
                .map(|r| r.note_type.as_str())
                .collect::<Vec<_>>(),
            ["project"]
        );
    }

    #[test]
    fn a_held_record_without_a_base_makes_no_second_note() {
        // `.ssot/` lost and the note unreadable: the record is not turned into a new note.
        let bindings = [client_binding()];
        let remote = [RemoteRecord {
            note_type: "client".into(),
            id: "1".into(),
            ssot_id: Some("S1".into()),
            fields: BTreeMap::new(),
            title: Some("Ann".into()),
            modified_ms: Some(1),
            archived: false,
            sections: BTreeMap::new(),
        }];
        let run = |held: &Held| {
            actions(&plan_of(
                "hubspot",
                &bindings,
                &[],
                &BTreeMap::new(),
                &remote,
                (true, false),
                held,
            ))
        };
        assert_eq!(run(&Held::default()), [("S1".into(), Action::NewNote)]);
        let held = Held {
            ssot_ids: ["S1".to_string()].into(),
            ..Held::default()
        };
        assert_eq!(run(&held), []);
    }

    /// A record read is unchanged since its base exactly when the plan of a note holding that
    /// base finds nothing to do for it: the settle read's test is the plan's own.
    #[test]
    fn a_record_is_unchanged_since_its_base_when_the_plan_moves_nothing() {
        let heading = "Brief".to_string();
        let mut binding = Binding {
            sections: vec![crate::connectors::SectionSpec {
                heading: heading.clone(),
                kind: crate::connectors::SectionKind::Text,
            }],
            ..client_binding()
        };
        binding.fields.push(FieldSpec {
            key: "title".into(),
            remote: "summary".into(),
            conv: Conv::Title,
            direction: Direction::Push,
        });
        let bindings = [binding];
        let fields: BTreeMap<String, String> = [
            ("name".to_string(), "P".to_string()),
            ("title".to_string(), "P".to_string()),
        ]
        .into();
        let items = vec![SectionItem {
            key: String::new(),
            text: "Scope".into(),
            checked: None,
            stamp: None,
        }];
        let entry = BaseEntry {
            note_type: "client".into(),
            remote_id: "1".into(),
            remote_has_ssot_id: true,
            fields: fields.clone(),
            sections: Some(Box::new([(heading.clone(), items.clone())].into())),
            ..BaseEntry::default()
        };
        let base: BTreeMap<String, BaseEntry> = [("S1".to_string(), entry.clone())].into();
        let note = VaultNote {
            ssot_id: "S1".into(),
            note_type: "client".into(),
            rel: "Clients/P.md".into(),
            title: "P".into(),
            remote_id: Some("1".into()),
            fields: fields.clone(),
            sections: Some(Box::new([(heading.clone(), items.clone())].into())),
            ..VaultNote::default()
        };
        let same = RemoteRecord {
            note_type: "client".into(),
            id: "1".into(),
            ssot_id: Some("S1".into()),
            fields: fields.clone(),
            title: Some("P".into()),
            modified_ms: Some(1),
            archived: false,
            sections: [(heading.clone(), items.clone())].into(),
        };
        let moves = |r: &RemoteRecord| {
            let p = plan_of(
                "jira",
                &bindings,
                std::slice::from_ref(&note),
                &base,
                std::slice::from_ref(r),
                (false, false),
                &Held::default(),
            );
            !p.records.is_empty()
        };
        assert!(unchanged_since_base(&bindings, &base, &same));
        assert!(!moves(&same));
        let mut edits: Vec<RemoteRecord> = Vec::new();
        let mut r = same.clone();
        r.fields.insert("name".into(), "Q".into());
        edits.push(r);
        let mut r = same.clone();
        r.fields.remove("name");
        edits.push(r);
        // A push-only field changed in the service is sent back: a change too.
        let mut r = same.clone();
        r.fields.insert("title".into(), "Other".into());
        edits.push(r);
        let mut r = same.clone();
        r.sections.insert(
            heading.clone(),
            vec![SectionItem {
                text: "Scope, edited".into(),
                ..items[0].clone()
            }],
        );
        edits.push(r);
        // Its `ssot_id` taken off: written again.
        let mut r = same.clone();
        r.ssot_id = None;
        edits.push(r);
        for r in &edits {
            assert!(!unchanged_since_base(&bindings, &base, r), "{r:?}");
            assert!(moves(r), "{r:?}");
        }
        // No live base with its remote id: never unchanged.
        let mut r = same.clone();
        r.id = "2".into();
        assert!(!unchanged_since_base(&bindings, &base, &r));
        let mut r = same.clone();
        r.ssot_id = Some("S9".into());
        assert!(!unchanged_since_base(&bindings, &base, &r));
        let deleted: BTreeMap<String, BaseEntry> = [(
            "S1".to_string(),
            BaseEntry {
                deleted: true,
                ..entry.clone()
            },
        )]
        .into();
        assert!(!unchanged_since_base(&bindings, &deleted, &same));
        let mut r = same.clone();
        r.note_type = "expert".into();
        assert!(!unchanged_since_base(&bindings, &base, &r));
    }
}
