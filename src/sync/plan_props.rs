//! Property tests of the pure plan (DESIGN.md, "plan is pure"): a small in-memory model of the
//! vault, the remote and the sync state applies each plan the way the engine does, then:
//!
//! 1. applying a plan and planning again gives nothing to do (no push, no pull, no new conflict);
//! 2. unrelated edits on both sides converge whichever side is synced first, in one run or two;
//! 3. a field edited on one side only is never lost: it reaches the other side.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use crate::config::ConflictPolicy;
use crate::connectors::{Binding, Conv, Direction, FieldSpec, RemoteRecord};

use super::plan::{Action, Plan, PlanInput, Policy, RecordPlan, VaultNote, plan};
use super::state::BaseEntry;

const REMOTE: &str = "hubspot";

fn spec(key: &str, direction: Direction) -> FieldSpec {
    FieldSpec {
        key: key.into(),
        remote: key.into(),
        conv: Conv::Text,
        direction,
    }
}

fn bindings() -> Vec<Binding> {
    vec![
        Binding {
            note_type: "client".into(),
            kind: "contacts".into(),
            id_key: "hubspot_id".into(),
            fields: vec![
                spec("name", Direction::Both),
                spec("email", Direction::Both),
                spec("phone", Direction::Both),
                spec("memo", Direction::Push),
                spec("score", Direction::Pull),
            ],
            links: Vec::new(),
            pull_new: true,
        },
        Binding {
            note_type: "project".into(),
            kind: "deals".into(),
            id_key: "hubspot_id".into(),
            fields: vec![
                spec("stage", Direction::Both),
                spec("amount", Direction::Both),
                spec("owner", Direction::Pull),
            ],
            links: Vec::new(),
            pull_new: false,
        },
    ]
}

fn binding(ty: &str) -> Binding {
    bindings()
        .into_iter()
        .find(|b| b.note_type == ty)
        .expect("known type")
}

type Fields = BTreeMap<String, String>;

fn set(m: &mut Fields, k: &str, v: Option<&String>) {
    match v {
        Some(v) => {
            m.insert(k.to_string(), v.clone());
        }
        None => {
            m.remove(k);
        }
    }
}

/// The vault, the remote and the state, in memory.
#[derive(Debug, Clone, Default)]
struct World {
    /// Notes by `ssot_id`.
    notes: BTreeMap<String, VaultNote>,
    /// Remote records by remote id.
    remote: BTreeMap<String, RemoteRecord>,
    base: BTreeMap<String, BaseEntry>,
    history_base: BTreeMap<String, Fields>,
    conflicts: BTreeMap<String, Fields>,
    /// Remote ids changed since the cursor.
    dirty: BTreeSet<String>,
    next_id: u32,
}

/// How a run reads the remote.
#[derive(Debug, Clone, Copy)]
struct Run {
    policy: ConflictPolicy,
    /// Every record is read.
    full: bool,
    /// The remote's own change feed reports the run's writes back to the next run.
    echo: bool,
}

impl World {
    fn make_plan(&self, run: Run) -> Plan {
        let notes: Vec<VaultNote> = self.notes.values().cloned().collect();
        // Records whose note has a remote id but no base are fetched before planning.
        let fetch: BTreeSet<&str> = notes
            .iter()
            .filter(|n| {
                self.base
                    .get(&n.ssot_id)
                    .is_none_or(|b| b.remote_id.is_empty())
            })
            .filter_map(|n| n.remote_id.as_deref())
            .collect();
        let pulled: Vec<RemoteRecord> = self
            .remote
            .values()
            .filter(|r| run.full || self.dirty.contains(&r.id) || fetch.contains(r.id.as_str()))
            .cloned()
            .collect();
        let bs = bindings();
        plan(
            REMOTE,
            &PlanInput {
                bindings: &bs,
                notes: &notes,
                base: &self.base,
                history_base: &self.history_base,
                remote: &pulled,
                full: run.full,
                gone: &BTreeSet::new(),
                open_conflicts: &self.conflicts,
                held: &super::plan::Held::default(),
                invalid: &BTreeMap::new(),
                unfit: super::plan::Unfit::never(),
                policy: Policy {
                    conflict: run.policy,
                    archive_deleted_notes: false,
                },
            },
        )
    }

    /// An upsert keyed by `ssot_id` (by remote id when known).
    fn upsert(&mut self, rp: &RecordPlan, echo: bool) -> String {
        let rid = rp
            .remote_id
            .clone()
            .filter(|r| self.remote.contains_key(r))
            .or_else(|| {
                self.remote
                    .values()
                    .find(|r| r.ssot_id.as_deref() == Some(rp.ssot_id.as_str()))
                    .map(|r| r.id.clone())
            })
            .unwrap_or_else(|| {
                self.next_id += 1;
                let id = format!("n{}", self.next_id);
                self.remote.insert(
                    id.clone(),
                    RemoteRecord {
                        note_type: rp.note_type.clone(),
                        id: id.clone(),
                        ..RemoteRecord::default()
                    },
                );
                id
            });
        let r = self.remote.get_mut(&rid).expect("record");
        r.ssot_id = Some(rp.ssot_id.clone());
        for (k, v) in &rp.push {
            set(&mut r.fields, k, v.as_ref());
        }
        if echo {
            self.dirty.insert(rid.clone());
        }
        rid
    }

    fn set_base(&mut self, rp: &RecordPlan, rid: String, pushed: bool) {
        let e = self.base.entry(rp.ssot_id.clone()).or_default();
        e.note_type = rp.note_type.clone();
        e.remote_id = rid;
        e.remote_has_ssot_id = rp.remote_has_ssot_id || pushed;
        e.fields = rp.new_base(&rp.push, &rp.pull);
        e.deleted = false;
        if rp.conflicts.is_empty() {
            self.conflicts.remove(&rp.ssot_id);
        } else {
            self.conflicts.insert(
                rp.ssot_id.clone(),
                rp.conflicts
                    .iter()
                    .map(|c| (c.key.clone(), c.remote.clone().unwrap_or_default()))
                    .collect(),
            );
        }
    }

    /// Applies a plan as the engine does (every write succeeds).
    fn apply(&mut self, p: &Plan, echo: bool) {
        // Everything changed since the cursor was read by this run.
        self.dirty.clear();
        for rp in &p.records {
            match rp.action {
                Action::Update => {
                    let note = self.notes.get_mut(&rp.ssot_id).expect("note");
                    for (k, v) in &rp.pull {
                        set(&mut note.fields, k, v.as_ref());
                    }
                    if rp.write_remote_id {
                        note.remote_id = rp.remote_id.clone();
                    }
                    note.conflicts = rp.conflicts.iter().map(|c| c.key.clone()).collect();
                    let pushed = rp.needs_push();
                    let rid = if pushed {
                        self.upsert(rp, echo)
                    } else {
                        rp.remote_id.clone().unwrap_or_default()
                    };
                    self.set_base(rp, rid, pushed);
                }
                Action::Create => {
                    let rid = self.upsert(rp, echo);
                    let note = self.notes.get_mut(&rp.ssot_id).expect("note");
                    note.remote_id = Some(rid.clone());
                    for (k, v) in &rp.pull {
                        set(&mut note.fields, k, v.as_ref());
                    }
                    if !rp.settled.is_empty() {
                        note.conflicts.clear();
                    }
                    self.set_base(rp, rid, true);
                }
                Action::NewNote => {
                    let mut fields = Fields::new();
                    for (k, v) in &rp.pull {
                        set(&mut fields, k, v.as_ref());
                    }
                    self.notes.insert(
                        rp.ssot_id.clone(),
                        VaultNote {
                            ssot_id: rp.ssot_id.clone(),
                            note_type: rp.note_type.clone(),
                            rel: format!("{}/{}.md", rp.note_type, rp.ssot_id),
                            title: rp.title.clone(),
                            remote_id: rp.remote_id.clone(),
                            fields,
                            ..VaultNote::default()
                        },
                    );
                    let pushed = rp.needs_push();
                    let rid = if pushed {
                        self.upsert(rp, echo)
                    } else {
                        rp.remote_id.clone().unwrap_or_default()
                    };
                    self.set_base(rp, rid, pushed);
                }
                Action::Forget => {
                    self.base.entry(rp.ssot_id.clone()).or_default().deleted = true;
                }
                Action::ArchiveRemote | Action::MarkArchived => {
                    panic!("not generated: {rp:?}")
                }
            }
        }
    }

    fn sync(&mut self, run: Run) -> Plan {
        let p = self.make_plan(run);
        self.apply(&p, run.echo);
        p
    }

    fn vault_edit(&mut self, sid: &str, key: &str, v: Option<&String>) {
        if let Some(n) = self.notes.get_mut(sid) {
            set(&mut n.fields, key, v);
            n.text_hash = n.text_hash.wrapping_add(1);
        }
    }

    fn remote_edit(&mut self, rid: &str, key: &str, v: Option<&String>) {
        if let Some(r) = self.remote.get_mut(rid) {
            set(&mut r.fields, key, v);
            self.dirty.insert(rid.to_string());
        }
    }

    /// What people see: the notes' fields and the records' fields.
    fn seen(&self) -> (BTreeMap<String, Fields>, BTreeMap<String, Fields>) {
        (
            self.notes
                .iter()
                .map(|(k, n)| (k.clone(), n.fields.clone()))
                .collect(),
            self.remote
                .iter()
                .map(|(k, r)| (k.clone(), r.fields.clone()))
                .collect(),
        )
    }
}

/// Nothing left to do: no push, no pull, no new conflict; with the manual policy the records
/// still listed only carry their already recorded conflicts.
fn assert_quiet(w: &World, p: &Plan, run: Run) -> Result<(), TestCaseError> {
    for rp in &p.records {
        prop_assert_eq!(rp.action, Action::Update, "{:?}", rp);
        prop_assert!(rp.push.is_empty(), "push again: {:?}", rp);
        prop_assert!(rp.pull.is_empty(), "pull again: {:?}", rp);
        prop_assert!(!rp.write_remote_id, "{:?}", rp);
        prop_assert!(rp.settled.is_empty(), "{:?}", rp);
        prop_assert!(rp.remote_has_ssot_id, "{:?}", rp);
        prop_assert!(
            run.policy == ConflictPolicy::Manual && !rp.conflicts.is_empty(),
            "listed again without an open conflict: {:?}",
            rp
        );
        let recorded = &w.notes[&rp.ssot_id].conflicts;
        for c in &rp.conflicts {
            prop_assert!(recorded.contains(&c.key), "new conflict: {:?}", rp);
        }
    }
    Ok(())
}

type Vals = Vec<Option<String>>;

fn vals() -> impl Strategy<Value = Vals> {
    prop::collection::vec(
        prop::option::of(prop::sample::select(vec!["a", "b", "c"]).prop_map(String::from)),
        5,
    )
}

fn fields_of(ty: &str, v: &Vals) -> Fields {
    let mut out = Fields::new();
    for (f, x) in binding(ty).fields.iter().zip(v) {
        set(&mut out, &f.key, x.as_ref());
    }
    out
}

/// One thing in the world before the first run.
#[derive(Debug, Clone)]
struct Entity {
    /// 0 synced, 1 note only, 2 record only with `ssot_id`, 3 record only without, 4 note and
    /// record without base, 5 record carrying a note's `ssot_id` whose remote id was never written
    /// back and whose base was not saved, 6 note deleted after a sync.
    kind: u8,
    project: bool,
    note: Vals,
    remote: Vals,
    history: Option<Vals>,
}

fn entity() -> impl Strategy<Value = Entity> {
    (
        0u8..7,
        any::<bool>(),
        vals(),
        vals(),
        prop::option::of(vals()),
    )
        .prop_map(|(kind, project, note, remote, history)| Entity {
            kind,
            project,
            note,
            remote,
            history,
        })
}

fn synced_entity() -> impl Strategy<Value = Entity> {
    entity().prop_map(|mut e| {
        e.kind = 0;
        e
    })
}

fn build(entities: &[Entity]) -> World {
    let mut w = World::default();
    for (i, e) in entities.iter().enumerate() {
        let ty = if e.project { "project" } else { "client" };
        let sid = format!("S{i:02}");
        let rid = format!("r{i}");
        let note = VaultNote {
            ssot_id: sid.clone(),
            note_type: ty.into(),
            rel: format!("{ty}/{sid}.md"),
            title: sid.clone(),
            remote_id: Some(rid.clone()),
            fields: fields_of(ty, &e.note),
            ..VaultNote::default()
        };
        let record = RemoteRecord {
            note_type: ty.into(),
            id: rid.clone(),
            ssot_id: Some(sid.clone()),
            fields: fields_of(ty, &e.remote),
            ..RemoteRecord::default()
        };
        let base = BaseEntry {
            note_type: ty.into(),
            remote_id: rid.clone(),
            remote_has_ssot_id: true,
            fields: fields_of(ty, &e.note),
            deleted: false,
            archived: false,
        };
        match e.kind {
            0 => {
                let f = note.fields.clone();
                w.notes.insert(sid.clone(), note);
                w.remote.insert(
                    rid,
                    RemoteRecord {
                        fields: f,
                        ..record
                    },
                );
                w.base.insert(sid, base);
            }
            1 => {
                w.notes.insert(
                    sid,
                    VaultNote {
                        remote_id: None,
                        ..note
                    },
                );
            }
            2 | 3 => {
                if e.kind == 3 {
                    w.remote.insert(
                        rid.clone(),
                        RemoteRecord {
                            ssot_id: None,
                            ..record
                        },
                    );
                } else {
                    w.remote.insert(rid.clone(), record);
                }
                w.dirty.insert(rid);
            }
            4 | 5 => {
                let no_rid = e.kind == 5;
                w.notes.insert(
                    sid.clone(),
                    VaultNote {
                        remote_id: if no_rid { None } else { Some(rid.clone()) },
                        ..note
                    },
                );
                w.remote.insert(rid.clone(), record);
                if let Some(h) = &e.history {
                    w.history_base.insert(sid, fields_of(ty, h));
                }
                if no_rid {
                    w.dirty.insert(rid);
                }
            }
            _ => {
                let f = base.fields.clone();
                w.remote.insert(
                    rid,
                    RemoteRecord {
                        fields: f,
                        ..record
                    },
                );
                w.base.insert(sid, base);
            }
        }
    }
    w
}

/// An edit: which entity, which field, the new value, and the side (true: vault).
type EditSpec = (usize, usize, Option<String>, bool);

fn edit() -> impl Strategy<Value = EditSpec> {
    (
        0usize..8,
        0usize..5,
        prop::option::of(prop::sample::select(vec!["a", "b", "d"]).prop_map(String::from)),
        any::<bool>(),
    )
}

fn run() -> impl Strategy<Value = Run> {
    (
        prop::sample::select(vec![
            ConflictPolicy::Manual,
            ConflictPolicy::VaultWins,
            ConflictPolicy::RemoteWins,
        ]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(policy, full, echo)| Run { policy, full, echo })
}

/// The field an edit names, when its entity has one: (`ssot_id`, remote id, key, direction).
fn target(w: &World, n: usize, e: &EditSpec) -> Option<(String, String, String, Direction)> {
    let i = e.0 % n.max(1);
    let sid = format!("S{i:02}");
    let rid = format!("r{i}");
    let ty = w
        .notes
        .get(&sid)
        .map(|x| x.note_type.clone())
        .or_else(|| w.remote.get(&rid).map(|r| r.note_type.clone()))?;
    let b = binding(&ty);
    let f = &b.fields[e.1 % b.fields.len()];
    Some((sid, rid, f.key.clone(), f.direction))
}

/// `start` with the `first` edits made and synced, then the `then` edits made and synced.
fn edited_in_turns(
    start: &World,
    n: usize,
    first: &[EditSpec],
    then: &[EditSpec],
    r: Run,
) -> World {
    let mut w = start.clone();
    for turn in [first, then] {
        for e in turn {
            do_edit(&mut w, n, e);
        }
        w.sync(r);
    }
    w
}

fn do_edit(w: &mut World, n: usize, e: &EditSpec) {
    if let Some((sid, rid, key, _)) = target(w, n, e) {
        if e.3 {
            w.vault_edit(&sid, &key, e.2.as_ref());
        } else {
            w.remote_edit(&rid, &key, e.2.as_ref());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Apply a plan, plan again: nothing to do; applying that second plan changes nothing.
    #[test]
    fn plan_apply_plan_is_quiet(
        entities in prop::collection::vec(entity(), 1..6),
        rounds in prop::collection::vec((prop::collection::vec(edit(), 0..6), run()), 1..4),
    ) {
        let mut w = build(&entities);
        for (edits, r) in &rounds {
            for e in edits {
                do_edit(&mut w, entities.len(), e);
            }
            w.sync(*r);
            let again = w.make_plan(*r);
            assert_quiet(&w, &again, *r)?;
            let before = (w.seen(), w.base.clone(), w.conflicts.clone());
            w.apply(&again, r.echo);
            prop_assert_eq!(before, (w.seen(), w.base.clone(), w.conflicts.clone()));
        }
    }

    /// Vault edits to some fields and remote edits to others give the same vault and remote
    /// whether synced together, vault first or remote first.
    #[test]
    fn unrelated_edits_converge(
        entities in prop::collection::vec(synced_entity(), 1..5),
        edits in prop::collection::vec(edit(), 1..8),
        r in run(),
    ) {
        let start = build(&entities);
        let n = entities.len();
        // One edit per field: the vault's and the remote's edits never touch the same field.
        let mut taken = BTreeSet::new();
        let edits: Vec<EditSpec> = edits
            .into_iter()
            .filter(|e| {
                target(&start, n, e).is_some_and(|(sid, _, key, _)| taken.insert((sid, key)))
            })
            .collect();
        let (vault, remote): (Vec<EditSpec>, Vec<EditSpec>) =
            edits.into_iter().partition(|e| e.3);

        let mut together = start.clone();
        for e in vault.iter().chain(&remote) {
            do_edit(&mut together, n, e);
        }
        together.sync(r);

        let vault_first = edited_in_turns(&start, n, &vault, &remote, r);
        let remote_first = edited_in_turns(&start, n, &remote, &vault, r);

        prop_assert_eq!(together.seen(), vault_first.seen());
        prop_assert_eq!(together.seen(), remote_first.seen());
        prop_assert_eq!(&together.base, &vault_first.base);
        prop_assert_eq!(&together.base, &remote_first.base);
        prop_assert!(together.conflicts.is_empty());
        // And the vault and the remote agree on every field that goes both ways.
        for note in together.notes.values() {
            let rec = &together.remote[note.remote_id.as_deref().unwrap_or_default()];
            for f in &binding(&note.note_type).fields {
                prop_assert_eq!(note.fields.get(&f.key), rec.fields.get(&f.key), "{}", f.key);
            }
        }
    }

    /// After one run, a field changed on one side only holds that value on both sides; a field
    /// changed on both sides follows the conflict policy.
    #[test]
    fn one_sided_edits_are_never_lost(
        entities in prop::collection::vec(synced_entity(), 1..5),
        edits in prop::collection::vec(edit(), 1..10),
        r in run(),
    ) {
        let mut w = build(&entities);
        let n = entities.len();
        let start = w.seen();
        for e in &edits {
            do_edit(&mut w, n, e);
        }
        let edited = w.seen();
        w.sync(r);
        let (vault, remote) = w.seen();
        for e in &edits {
            let Some((sid, rid, key, dir)) = target(&w, n, e) else { continue };
            let old = start.0[&sid].get(&key);
            let v = edited.0[&sid].get(&key);
            let rv = edited.1[&rid].get(&key);
            let now_v = vault[&sid].get(&key);
            let now_r = remote[&rid].get(&key);
            let vault_changed = v != old;
            let remote_changed = rv != old;
            match (vault_changed, remote_changed) {
                (false, false) => {
                    prop_assert_eq!(now_v, old);
                    prop_assert_eq!(now_r, old);
                }
                (true, false) if dir != Direction::Pull => {
                    prop_assert_eq!(now_r, v, "vault edit of {} {} lost", sid, key);
                    prop_assert_eq!(now_v, v);
                }
                (false, true) if dir != Direction::Push => {
                    prop_assert_eq!(now_v, rv, "remote edit of {} {} lost", sid, key);
                    prop_assert_eq!(now_r, rv);
                }
                (true, true) if v == rv => {
                    prop_assert_eq!(now_v, v);
                    prop_assert_eq!(now_r, v);
                }
                (true, true) if dir == Direction::Both => match r.policy {
                    ConflictPolicy::Manual => {
                        prop_assert_eq!(now_v, v);
                        prop_assert_eq!(now_r, rv);
                        prop_assert!(w.notes[&sid].conflicts.contains(&key));
                    }
                    ConflictPolicy::VaultWins => {
                        prop_assert_eq!(now_v, v);
                        prop_assert_eq!(now_r, v);
                    }
                    ConflictPolicy::RemoteWins => {
                        prop_assert_eq!(now_v, rv);
                        prop_assert_eq!(now_r, rv);
                    }
                },
                // One-way fields: the owning side's value wins.
                _ if dir == Direction::Push => {
                    prop_assert_eq!(now_v, v);
                    prop_assert_eq!(now_r, v);
                }
                _ => {
                    prop_assert_eq!(now_v, rv);
                    prop_assert_eq!(now_r, rv);
                }
            }
        }
    }

    /// New notes reach the remote and new records become notes, with all their fields.
    #[test]
    fn new_things_keep_their_fields(
        entities in prop::collection::vec(entity(), 1..6),
        r in run(),
    ) {
        let mut w = build(&entities);
        let before = w.clone();
        w.sync(r);
        for (i, e) in entities.iter().enumerate() {
            let sid = format!("S{i:02}");
            let ty = if e.project { "project" } else { "client" };
            let b = binding(ty);
            match e.kind {
                1 => {
                    let note = &w.notes[&sid];
                    let rec = &w.remote[note.remote_id.as_deref().expect("remote id written")];
                    prop_assert_eq!(rec.ssot_id.as_deref(), Some(sid.as_str()));
                    // Every field agrees at once: the vault's values went to the record, and a
                    // field the service owns took the new record's value (none).
                    for f in &b.fields {
                        prop_assert_eq!(rec.fields.get(&f.key), note.fields.get(&f.key));
                        if f.direction == Direction::Pull {
                            prop_assert_eq!(note.fields.get(&f.key), None);
                        }
                    }
                }
                2 | 3 if !e.project => {
                    let rid = format!("r{i}");
                    let rec = &w.remote[&rid];
                    let sid = rec.ssot_id.clone().expect("ssot_id written");
                    let note = &w.notes[&sid];
                    prop_assert_eq!(note.remote_id.as_deref(), Some(rid.as_str()));
                    // The new note takes every field, those the vault owns from then on too.
                    for f in &b.fields {
                        prop_assert_eq!(
                            note.fields.get(&f.key),
                            before.remote[&rid].fields.get(&f.key)
                        );
                    }
                }
                _ => {}
            }
        }
    }
}
