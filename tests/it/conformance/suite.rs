//! The conformance suite: the generic sync tests, written once against [`Harness`] and run for
//! every service by `conformance!` (one `#[tokio::test]` per case). Each drives the real binary
//! on a vault made by `init` and asserts the notes' bytes, the emulator's records and its request
//! counts: creates and updates both ways, each conflict policy, archives both ways and the share
//! rail, faults (429 storms, 5xx, timeouts, dropped connections), `kill -9` then resume, a lost
//! `.ssot/`, edits made during a run, `--dry-run`, the lifecycle's guard and unreadable notes
//! (reported, never taken for deleted ones, a person's own left alone), and `doctor`'s check of
//! the service.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use ssot_vault::sandbox::{FaultConfig, SandboxConfig};

use super::harness::{Harness, Service};
use crate::common::{snapshot_tree, write};
use crate::hs_env::{Env, git, out};

/// The title of a note (its file name without `.md`), as commands take it.
fn title(note: &str) -> String {
    Path::new(note)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .expect("a note path")
}

/// `key: value` as a frontmatter line.
fn line(key: &str, value: &str) -> String {
    format!("{key}: {value}")
}

/// Records the first sync makes of `kind`.
fn initial<S: Service>(kind: &str) -> usize {
    S::initial()
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(0, |(_, n)| *n)
}

/// The first sync creates a record for every synced note and writes its id back, in one commit
/// by the sync with its trailers; an unchanged resync costs one request per record kind.
pub async fn create_vault_to_remote<S: Service>() {
    let h = Harness::<S>::new("").await;
    let f = S::field();
    let before = snapshot_tree(&h.v);
    let dry = h.run(&["sync", "--dry-run"]).await;
    assert!(dry.status.success(), "{}", out(&dry));
    assert!(
        out(&dry).contains(&format!("create   {}", f.note)),
        "{}",
        out(&dry)
    );
    assert_eq!(snapshot_tree(&h.v), before, "--dry-run changes nothing");
    for (kind, _) in S::initial() {
        assert!(h.live(kind).is_empty(), "{kind}");
    }

    h.sync().await;
    for (kind, n) in S::initial() {
        assert_eq!(h.live(kind).len(), *n, "{kind}");
    }
    for (note, kind) in S::synced() {
        let r = h.record_of(note, kind);
        assert_eq!(h.prop(note, S::ID_KEY), Some(r.id.clone()), "{note}");
    }
    for f in [S::field(), S::pushed(), S::other(), S::number()] {
        assert_eq!(h.remote_value(f).as_deref(), Some(f.value), "{f:?}");
    }
    // One commit, by the sync, with its trailers.
    let log = git(&h.v, &["log", "-1", "--format=%an%n%B"]);
    assert!(
        log.starts_with(&format!("ssot-vault ({0})\nSync with {0}", S::NAME)),
        "{log}"
    );
    assert!(
        log.contains(&format!("Ssot-Source: {}", S::NAME)) && log.contains("Ssot-Run: "),
        "{log}"
    );
    assert_eq!(git(&h.v, &["status", "--porcelain"]), "");

    // Unchanged vault and service: one read per record kind, no commit.
    let per_run = S::resync_requests();
    let head = h.head();
    let n = h.requests();
    h.sync().await;
    assert_eq!(h.requests() - n, per_run, "{:?}", h.sb.request_counts());
    assert_eq!(h.head(), head);
    let n = h.requests();
    h.sync().await;
    assert_eq!(h.requests() - n, per_run);
}

/// A record made in the service becomes a note in its folder carrying the record's id; the record
/// takes the note's `ssot_id`; nothing is duplicated, `check` accepts the note, and the next sync
/// has nothing to do.
pub async fn create_remote_to_vault<S: Service>() {
    let h = Harness::<S>::new("").await;
    h.sync().await;
    let m = S::made();
    let live = h.live(m.kind).len();
    let id = h.create(m.kind, m.fields);
    assert!(!h.v.join(m.note).exists());
    let o = h.sync().await;
    let id = S::taken_id(&h.env, m.kind, &id);
    let note = h.note(m.note);
    let sid = h.prop(m.note, "ssot_id").expect("ssot_id");
    assert!(note.starts_with("---\ntype: "), "{note}");
    assert!(note.contains(&format!("\nssot_id: {sid}\n")), "{note}");
    assert!(note.contains(m.contains), "{note}\n{}", out(&o));
    assert_eq!(h.prop(m.note, S::ID_KEY), Some(id.clone()));
    assert_eq!(
        h.record(m.kind, &sid).id,
        id,
        "the record carries the note's ssot_id"
    );
    assert_eq!(h.live(m.kind).len(), live + 1, "no duplicate");
    let o = h.run(&["check"]).await;
    assert!(
        !out(&o).contains(&title(m.note)),
        "a pulled note is valid: {}",
        out(&o)
    );
    let head = h.head();
    let o = h.sync().await;
    assert_eq!(h.head(), head, "settled");
    assert!(
        out(&o).contains(&format!(" 0 created and 0 updated in {}", S::NAME)),
        "nothing goes back to the service: {}",
        out(&o)
    );
}

/// A one-field change in the service is a one-line diff of the note; a vault edit reaches the
/// service in a few requests, committed first as the vault's.
pub async fn update_both_ways_with_a_one_line_diff<S: Service>() {
    let h = Harness::<S>::new("").await;
    h.sync().await;
    let f = S::field();
    // Service → vault.
    h.edit(f, "Kraków");
    let before = h.note(f.note);
    h.sync().await;
    let after = h.note(f.note);
    assert_eq!(
        after,
        before.replace(&line(f.key, f.value), &line(f.key, "Kraków"))
    );
    let diff = git(&h.v, &["show", "--format=", "-U0", "HEAD", "--", f.note]);
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect();
    assert_eq!(
        changed,
        [
            format!("-{}", line(f.key, f.value)),
            format!("+{}", line(f.key, "Kraków"))
        ],
        "{diff}"
    );
    // Vault → service; the vault edit is committed first as Ssot-Source: vault.
    let p = S::pushed();
    let o = h
        .run(&["set", p.note, &format!("{}=+48 600 100 200", p.key)])
        .await;
    assert!(o.status.success(), "{}", out(&o));
    let n = h.requests();
    h.sync().await;
    assert_eq!(h.remote_value(p).as_deref(), Some("+48 600 100 200"));
    assert_eq!(h.remote_value(f).as_deref(), Some("Kraków"));
    assert!(h.requests() - n <= 4, "{:?}", h.sb.request_counts());
    let log = git(&h.v, &["log", "-1", "--format=%B"]);
    assert!(log.contains("Ssot-Source: vault"), "{log}");
}

/// The same field changed on both sides: the service to `Gdynia`, the vault to `Sopot`.
async fn make_conflict<S: Service>(h: &Harness<S>) {
    let f = S::field();
    h.edit(f, "Gdynia");
    let o = h.run(&["set", f.note, &format!("{}=Sopot", f.key)]).await;
    assert!(o.status.success(), "{}", out(&o));
}

/// `manual`: the conflict is recorded in the note (which still parses), the vault value stays,
/// the next sync leaves it alone; `resolve` settles it either way and the result is synced.
pub async fn conflict_manual_recorded_then_resolved_either_way<S: Service>() {
    let h = Harness::<S>::new("").await;
    h.sync().await;
    let f = S::field();
    make_conflict(&h).await;
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert_eq!(
        h.prop(f.note, f.key).as_deref(),
        Some("Sopot"),
        "the vault value stays"
    );
    assert!(
        h.note(f.note).contains(&format!(
            "sync_conflicts:\n  - \"{} | vault: Sopot | {}: Gdynia\"\n",
            f.key,
            S::NAME
        )),
        "{}",
        h.note(f.note)
    );
    assert_eq!(h.remote_value(f).as_deref(), Some("Gdynia"));
    // The note still parses (check sees no unreadable note).
    let o = h.run(&["check"]).await;
    assert!(!out(&o).contains("cannot"), "{}", out(&o));
    // A second sync leaves it as it is.
    let before = h.note(f.note);
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(h.note(f.note), before);
    // Take the service's value.
    let o = h.run(&["resolve", f.note, f.key, "--take", "remote"]).await;
    assert!(o.status.success(), "{}", out(&o));
    assert_eq!(h.prop(f.note, f.key).as_deref(), Some("Gdynia"));
    assert!(!h.note(f.note).contains("sync_conflicts"));
    h.sync().await;
    assert_eq!(h.remote_value(f).as_deref(), Some("Gdynia"));
    // Again, taking the vault's value this time (the note named by its title): it is pushed.
    h.edit(f, "Hel");
    let o = h.run(&["set", f.note, &format!("{}=Puck", f.key)]).await;
    assert!(o.status.success(), "{}", out(&o));
    assert_eq!(h.run(&["sync"]).await.status.code(), Some(1));
    let o = h
        .run(&["resolve", &title(f.note), f.key, "--take", "vault"])
        .await;
    assert!(o.status.success(), "{}", out(&o));
    h.sync().await;
    assert_eq!(h.prop(f.note, f.key).as_deref(), Some("Puck"));
    assert_eq!(h.remote_value(f).as_deref(), Some("Puck"));
    assert!(!h.note(f.note).contains("sync_conflicts"));
}

/// `manual`: a recorded conflict that the two sides settle by themselves (the service's value
/// edited to the vault's) is cleared from the note by the next sync, which exits 0.
pub async fn a_recorded_conflict_the_two_sides_settle_is_cleared<S: Service>() {
    let h = Harness::<S>::new("").await;
    h.sync().await;
    let f = S::field();
    make_conflict(&h).await;
    assert_eq!(h.run(&["sync"]).await.status.code(), Some(1));
    assert!(
        h.note(f.note).contains("sync_conflicts"),
        "{}",
        h.note(f.note)
    );
    h.edit(f, "Sopot");
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(h.prop(f.note, f.key).as_deref(), Some("Sopot"));
    assert_eq!(h.remote_value(f).as_deref(), Some("Sopot"));
    assert!(
        !h.note(f.note).contains("sync_conflicts"),
        "{}",
        h.note(f.note)
    );
}

/// Under `policy` the conflict settles on `expect` on both sides, with nothing recorded.
async fn conflict_settles<S: Service>(policy: &str, expect: &str) {
    let h = Harness::<S>::new(&format!("conflict_policy = \"{policy}\"")).await;
    h.sync().await;
    let f = S::field();
    make_conflict(&h).await;
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{policy}: {}", out(&o));
    assert_eq!(h.prop(f.note, f.key).as_deref(), Some(expect), "{policy}");
    assert_eq!(h.remote_value(f).as_deref(), Some(expect), "{policy}");
    assert!(!h.note(f.note).contains("sync_conflicts"));
}

/// `vault-wins`: the vault's value goes to the service.
pub async fn conflict_vault_wins<S: Service>() {
    conflict_settles::<S>("vault-wins", "Sopot").await;
}

/// `remote-wins`: the service's value comes into the note.
pub async fn conflict_remote_wins<S: Service>() {
    conflict_settles::<S>("remote-wins", "Gdynia").await;
}

/// Archived in the service: the note is marked, never deleted, and the record not re-created.
/// Deleted in the vault (with `archive_deleted_notes`): over the share rail the run is refused
/// without `--force`; with it the record is archived and the note never re-created.
pub async fn archive_both_ways_and_the_share_rail<S: Service>() {
    let h = Harness::<S>::new("archive_deleted_notes = true\ncheck_archived_minutes = 0").await;
    h.sync().await;
    let o = S::other();
    let kind = o.kind;
    let live = h.live(kind).len();
    // Archived in the service.
    let gone = S::archived_note();
    h.archive(gone, kind);
    let before = h.note(gone);
    h.sync().await;
    let after = h.note(gone);
    assert!(
        after.starts_with(&before[..before.find("\n---\n").expect("fence")]),
        "{after}"
    );
    assert!(
        after.contains(&format!("\n{}_archived: ", S::NAME)),
        "{after}"
    );
    assert_eq!(h.live(kind).len(), live - 1, "no re-creation");
    // Deleted in the vault: over the share rail, refused without --force.
    std::fs::remove_file(h.v.join(o.note)).expect("rm");
    let r = h.run(&["sync"]).await;
    assert_eq!(r.status.code(), Some(1), "{}", out(&r));
    assert!(out(&r).contains("would archive 1 of"), "{}", out(&r));
    assert_eq!(h.live(kind).len(), live - 1, "nothing archived");
    let r = h.run(&["sync", "--force"]).await;
    assert!(r.status.success(), "{}", out(&r));
    assert!(
        out(&r).contains(&format!(" 1 archived in {}", S::NAME)),
        "the summary counts the archive: {}",
        out(&r)
    );
    assert_eq!(h.live(kind).len(), live - 2);
    let head = h.head();
    // The archive is settled in the base: the next run does not plan it again.
    let next = h.sync().await;
    assert!(!out(&next).contains("  archive  "), "{}", out(&next));
    assert!(
        out(&next).contains(&format!(" 0 archived in {}", S::NAME)),
        "{}",
        out(&next)
    );
    assert_eq!(h.live(kind).len(), live - 2);
    assert_eq!(h.head(), head);
    assert!(!h.v.join(o.note).exists(), "never re-created");
}

/// Without `archive_deleted_notes`, a note deleted in the vault leaves its record alone and is
/// not brought back.
pub async fn deleted_notes_leave_records_alone_by_default<S: Service>() {
    let h = Harness::<S>::new("").await;
    h.sync().await;
    let o = S::other();
    let id = h.id_of(o.note);
    std::fs::remove_file(h.v.join(o.note)).expect("rm");
    let first = h.sync().await;
    assert!(out(&first).contains("  forget   "), "{}", out(&first));
    assert_eq!(h.live(o.kind).len(), initial::<S>(o.kind));
    // Forgotten once: the next run has nothing to forget.
    let next = h.sync().await;
    assert!(!out(&next).contains("forget"), "{}", out(&next));
    assert!(!h.v.join(o.note).exists());
    // Its record edited in the service afterwards: the note is not made again, by an
    // incremental read or a full one.
    h.remote()
        .edit(o.kind, &id, o.remote, "Edited later")
        .expect("edit in the service");
    h.sync().await;
    h.run(&["sync", "--full"]).await;
    assert!(!h.v.join(o.note).exists());
    assert_eq!(h.live(o.kind).len(), initial::<S>(o.kind));
}

/// Syncs under a fault and checks the outcome is exactly the fault-free one.
async fn assert_converges<S: Service>(h: &Harness<S>) {
    let o = h.sync().await;
    for (kind, n) in S::initial() {
        assert_eq!(h.live(kind).len(), *n, "{kind}: {}", out(&o));
    }
    for (note, kind) in S::synced() {
        let r = h.record_of(note, kind);
        assert_eq!(h.prop(note, S::ID_KEY), Some(r.id.clone()), "{note}");
    }
    h.faults(FaultConfig::default());
    let head = h.head();
    h.sync().await;
    assert_eq!(h.head(), head, "nothing left to do");
}

/// A first sync against an emulator (`cfg`) failing with `faults` ends as a fault-free one.
async fn converges_under<S: Service>(cfg: SandboxConfig, faults: FaultConfig) {
    let h = Harness::<S>::with(cfg, "").await;
    h.faults(faults);
    assert_converges(&h).await;
}

/// A storm of 429s on top of the service's own rate limits.
pub async fn survives_a_429_storm<S: Service>() {
    converges_under::<S>(
        S::limited(),
        FaultConfig {
            storm_next: 6,
            ..FaultConfig::default()
        },
    )
    .await;
}

/// 40 % of the requests fail with a 5xx.
pub async fn survives_5xx<S: Service>() {
    converges_under::<S>(
        S::quiet(),
        FaultConfig {
            error_rate: 0.4,
            seed: Some(7),
            ..FaultConfig::default()
        },
    )
    .await;
}

/// 40 % of the connections drop after the service made the write.
pub async fn survives_dropped_connections_after_the_write<S: Service>() {
    converges_under::<S>(
        S::quiet(),
        FaultConfig {
            drop_rate: 0.4,
            drop_after_handling: true,
            seed: Some(3),
            ..FaultConfig::default()
        },
    )
    .await;
}

/// Every answer slower than the configured timeout for a while: retried, then converges.
pub async fn survives_timeouts<S: Service>() {
    let h = Harness::<S>::new("").await;
    h.faults(FaultConfig {
        latency_ms: 1500,
        ..FaultConfig::default()
    });
    let sb_faults = async {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        h.faults(FaultConfig::default());
    };
    let (o, ()) = tokio::join!(h.run(&["sync"]), sb_faults);
    assert!(o.status.success(), "{}", out(&o));
    assert!(out(&o).contains("retried"), "{}", out(&o));
    assert_converges(&h).await;
}

/// `sync --dry-run` prints the pulls and pushes it would make and changes neither the vault nor
/// the service.
pub async fn dry_run_prints_the_plan_and_changes_nothing<S: Service>() {
    let h = Harness::<S>::new("").await;
    h.sync().await;
    let f = S::field();
    let p = S::other_pushed();
    h.edit(f, "Łódź");
    let o = h
        .run(&["set", p.note, &format!("{}=+48 111 222 333", p.key)])
        .await;
    assert!(o.status.success(), "{}", out(&o));
    let before = snapshot_tree(&h.v);
    let records: Vec<_> = S::KINDS.iter().map(|k| h.records(k)).collect();
    let o = h.run(&["sync", "--dry-run"]).await;
    assert!(o.status.success());
    let text = out(&o);
    assert!(
        text.contains(&format!(
            "pull     {} ← {}: {} = Łódź",
            f.note,
            S::NAME,
            f.key
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "push     {} → {}: {} = +48 111 222 333",
            p.note,
            S::NAME,
            p.key
        )),
        "{text}"
    );
    assert_eq!(snapshot_tree(&h.v), before);
    let after: Vec<_> = S::KINDS.iter().map(|k| h.records(k)).collect();
    assert_eq!(after, records);
}

/// `.ssot/` lost with an edit on each side: the next sync matches the records by `ssot_id`, makes
/// no duplicate, records no conflict and loses neither edit.
pub async fn losing_the_state_folder_costs_no_duplicate_no_conflict_no_edit<S: Service>() {
    let h = Harness::<S>::new("").await;
    h.sync().await;
    let p = S::pushed();
    let other = S::other();
    let o = h
        .run(&["set", p.note, &format!("{}=+48 500 600 700", p.key)])
        .await;
    assert!(o.status.success(), "{}", out(&o));
    h.edit(other, "Poznań");
    std::fs::remove_dir_all(h.v.join(".ssot")).expect("rm .ssot");
    let o = h.sync().await;
    assert!(!out(&o).contains("conflict"), "{}", out(&o));
    for (kind, n) in S::initial() {
        assert_eq!(h.live(kind).len(), *n, "{kind}");
    }
    assert_eq!(h.prop(other.note, other.key).as_deref(), Some("Poznań"));
    assert_eq!(h.remote_value(p).as_deref(), Some("+48 500 600 700"));
    assert!(!h.note(p.note).contains("sync_conflicts"));
}

/// A note saved while the sync waits for the service is never overwritten: the run reports it,
/// and the next run merges the service's change into the saved note.
pub async fn a_note_edited_during_the_sync_is_never_clobbered<S: Service>() {
    let h = Harness::<S>::new("").await;
    h.sync().await;
    let f = S::field();
    let (key, from, to) = S::local_edit();
    h.edit(f, "Gdańsk");
    // Reads are slow: the user edits the note while the sync waits for the service.
    h.faults(FaultConfig {
        latency_ms: 700,
        path_prefix: Some(S::pull_prefix(f.kind)),
        ..FaultConfig::default()
    });
    let seen = h.count(S::PULL_ENDPOINT);
    let edit = async {
        while h.count(S::PULL_ENDPOINT) == seen {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let p = h.v.join(f.note);
        let text = std::fs::read_to_string(&p).expect("read");
        std::fs::write(&p, text.replace(&line(key, from), &line(key, to))).expect("write");
    };
    let (o, ()) = tokio::join!(h.run(&["sync"]), edit);
    assert!(o.status.success(), "{}", out(&o));
    assert!(out(&o).contains("changed during the sync"), "{}", out(&o));
    let text = h.note(f.note);
    assert!(
        text.contains(&line(key, to)) && text.contains(&line(f.key, f.value)),
        "{text}"
    );
    h.faults(FaultConfig::default());
    h.sync().await;
    let text = h.note(f.note);
    assert!(
        text.contains(&line(key, to)) && text.contains(&line(f.key, "Gdańsk")),
        "{text}"
    );
}

/// The lifecycle's guards hold for the services: a status changed by hand in a way the lifecycle
/// refuses is not carried to the service (exit 1, the reason named), and the rest of the note is;
/// still refused on the next run, and nothing is once the status is put back.
pub async fn an_illegal_status_change_is_not_carried_to_the_service<S: Service>() {
    let h = Harness::<S>::new("").await;
    h.sync().await;
    let st = S::status();
    let num = S::number();
    let before = h.remote_value(st);
    let text = h.note(st.note);
    assert!(text.contains(&format!("{}\n", line(st.key, st.value))));
    std::fs::write(
        h.v.join(st.note),
        text.replace(
            &format!("{}\n", line(st.key, st.value)),
            &format!("{}\n", line(st.key, "active")),
        )
        .replace(
            &format!("{}\n", line(num.key, num.value)),
            &format!("{}\n", line(num.key, "47000")),
        ),
    )
    .expect("edit");
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        out(&o).contains(&format!("{} {}→active", st.key, st.value)),
        "{}",
        out(&o)
    );
    assert_eq!(h.remote_value(st), before, "the illegal status stays home");
    assert_eq!(
        h.remote_value(num).as_deref(),
        Some("47000"),
        "the other field goes"
    );
    // Still refused on the next run (the base keeps the last legal status).
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert_eq!(h.remote_value(st), before);
    // Put back by hand: nothing is refused any more.
    std::fs::write(
        h.v.join(st.note),
        h.note(st.note).replace(
            &format!("{}\n", line(st.key, "active")),
            &format!("{}\n", line(st.key, st.value)),
        ),
    )
    .expect("edit");
    h.sync().await;
}

/// A note that does not parse is reported `path:line:col`, never written, and the run goes on
/// with the other notes (exit 1: a problem is left).
pub async fn an_unreadable_note_is_reported_and_left_alone_while_the_others_sync<S: Service>() {
    let h = Harness::<S>::new("").await;
    let (rel, broken, reported) = S::broken_note();
    write(&h.v, rel, broken);
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        out(&o).contains(reported),
        "reported with its line: {}",
        out(&o)
    );
    assert_eq!(h.note(rel), broken, "never written");
    // The other notes were synced.
    for (kind, n) in S::initial() {
        assert_eq!(h.live(kind).len(), *n, "{kind}: {}", out(&o));
    }
    let f = S::field();
    h.record_of(f.note, f.kind);
    assert!(h.prop(f.note, S::ID_KEY).is_some());
}

/// The base of `sid` in the service's sync state.
fn base_entry<S: Service>(h: &Harness<S>, sid: &str) -> Value {
    let text = std::fs::read_to_string(h.state_dir().join("state.json")).expect("state.json");
    let state: Value = serde_json::from_str(&text).expect("state json");
    state["base"][sid].clone()
}

/// Breaks the YAML of [`Service::field`]'s note, syncs (also a full run looking for archives)
/// while the service edits the record, then fixes and edits the note: the record stays live, its
/// base is kept, the edit reaches the service and the service's edit the note (no overlap window
/// re-reads it: it is read again because it was pulled while the note was unreadable).
async fn unreadable_note_is_not_deleted<S: Service>(extra: &str) {
    let h = Harness::<S>::new(extra).await;
    h.sync().await;
    let f = S::field();
    let p = S::pushed();
    let b = S::breakable();
    let sid = h.prop(f.note, "ssot_id").expect("sid");
    let rid = h.id_of(f.note);
    let good = h.note(f.note);
    let base_before = base_entry(&h, &sid);
    assert_eq!(base_before["remote_id"], json!(rid), "{base_before}");
    let broken = good.replace(&line(b.key, b.value), &format!("{}: [{}", b.key, b.value));
    assert_ne!(broken, good);
    std::fs::write(h.v.join(f.note), &broken).expect("break");
    for (i, args) in [&["sync", "--full", "--check-archived"][..], &["sync"][..]]
        .into_iter()
        .enumerate()
    {
        if i == 1 {
            // Edited in the service meanwhile: pulled by this run, while the note is unreadable.
            h.edit(p, "+48 500 100 200");
        }
        let o = h.run(args).await;
        let text = out(&o);
        assert_eq!(o.status.code(), Some(1), "{text}");
        assert!(text.contains(&format!("{}:", f.note)), "reported: {text}");
        assert!(
            !text.contains("its note was deleted"),
            "an unreadable note is not a deleted one: {text}"
        );
        assert!(text.contains("1 records without a readable note"), "{text}");
        assert_eq!(h.note(f.note), broken, "never written");
        let r = h.record(f.kind, &sid);
        assert_eq!(r.id, rid, "the record stays live");
        assert_eq!(base_entry(&h, &sid), base_before, "the base is kept");
    }
    // Fixed and edited: the edit reaches the service.
    let fixed = good.replace(&line(f.key, f.value), &line(f.key, "Gdynia"));
    assert_ne!(fixed, good);
    std::fs::write(h.v.join(f.note), &fixed).expect("fix");
    let o = h.sync().await;
    let r = h.record(f.kind, &sid);
    assert_eq!(r.field(f.remote), Some("Gdynia"), "{}", out(&o));
    assert_eq!(r.id, rid);
    let base = base_entry(&h, &sid);
    assert_eq!(base["fields"][f.key], json!("Gdynia"), "{base}");
    // The service's edit pulled while the note was unreadable (behind the cursor now) is not
    // lost.
    assert_eq!(
        h.prop(p.note, p.key).as_deref(),
        Some("+48 500 100 200"),
        "{}\n{}",
        h.note(f.note),
        out(&o)
    );
    assert_eq!(base["deleted"], json!(false));
    assert_eq!(base["archived"], json!(false));
}

/// With archives of deleted notes on (no share rail), an unreadable note is not taken for a
/// deleted one: its record is not archived.
pub async fn an_unreadable_note_does_not_archive_its_record<S: Service>() {
    unreadable_note_is_not_deleted::<S>(&format!(
        "archive_deleted_notes = true\nmax_archive_share = 1.0\ncheck_archived_minutes = 0\n{}",
        S::NO_OVERLAP
    ))
    .await;
}

/// With the defaults, an unreadable note is not taken for a deleted one: its record is not
/// forgotten.
pub async fn an_unreadable_note_does_not_forget_its_record<S: Service>() {
    unreadable_note_is_not_deleted::<S>(S::NO_OVERLAP).await;
}

/// A person's own note (no managed type, no id, outside the managed folders) whose YAML does not
/// parse is none of the sync's business: the run exits 0 and does not name it; the same break in
/// a managed note (in the folder of [`Service::field`]'s note) is reported and exits 1.
pub async fn a_broken_note_of_ones_own_does_not_fail_the_sync<S: Service>() {
    let h = Harness::<S>::new("").await;
    h.sync().await;
    let own = "Inbox/Ideas.md";
    let text = "---\ntags: [meeting\n---\nCall the bakery.\n";
    write(&h.v, own, text);
    let o = h.run(&["sync"]).await;
    assert!(o.status.success(), "{}", out(&o));
    assert!(!out(&o).contains("Ideas"), "{}", out(&o));
    assert_eq!(h.note(own), text, "never written");
    // The same break inside a managed folder is the sync's to report.
    let folder = Path::new(S::field().note)
        .parent()
        .map(|p| p.to_string_lossy().into_owned())
        .expect("a note in a folder");
    let draft = format!("{folder}/Draft.md");
    write(&h.v, &draft, text);
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        out(&o).contains(&format!("{draft}:3:1: invalid YAML")),
        "{}",
        out(&o)
    );
}

/// `doctor` finds the credentials and the service answering its healthcheck, and never prints a
/// credential; with wrong credentials it fails the healthcheck (exit 1), without printing them.
pub async fn doctor_checks_credentials_the_service_and_git<S: Service>() {
    let h = Harness::<S>::new("").await;
    let o = h.run(&["doctor"]).await;
    assert!(o.status.success(), "{}", out(&o));
    assert!(
        out(&o).contains(&format!("ok   {}: {}", S::NAME, S::HEALTHCHECK)),
        "{}",
        out(&o)
    );
    let creds = h.credentials();
    for (_, secret) in &creds {
        assert!(
            !out(&o).contains(secret.as_str()),
            "a credential is never printed"
        );
    }
    let wrong: Vec<(&str, &str)> = creds.iter().map(|(k, _)| (k.as_str(), "wrong")).collect();
    let o = h.run_with(&["doctor"], &wrong).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        out(&o).contains(&format!("FAIL {}: healthcheck", S::NAME)),
        "{}",
        out(&o)
    );
    assert!(!out(&o).contains("wrong"), "{}", out(&o));
}

/// The `ssot_id` of bulk note `i`.
fn bulk_sid(i: usize) -> String {
    format!("01KAAAAAAAAAAAAAAAAAAA{i:04}")
}

/// `kill -9` of the real binary while it writes 60 new notes' records in small batches, an edit,
/// then the resume: every record exactly once, every note carrying its id, the edit pushed.
pub async fn kill_9_mid_sync_then_resume_makes_no_duplicate_and_loses_no_edit<S: Service>() {
    let h = Harness::<S>::new("batch_size = 5").await;
    let f = S::field();
    let bulk = 60;
    for i in 0..bulk {
        let (rel, text) = S::bulk_note(i, &bulk_sid(i));
        write(&h.v, &rel, text);
    }
    let total = bulk + initial::<S>(f.kind);
    h.faults(FaultConfig {
        latency_ms: 60,
        ..FaultConfig::default()
    });
    let mut child = h.spawn_sync();
    // Kill it once some records are written.
    for _ in 0..200 {
        if h.writes() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("kill -9");
    let _ = child.wait();
    let written = h.live(f.kind).len();
    assert!(
        written > 0 && written < total,
        "killed mid-sync ({written} written)"
    );
    // An edit made after the crash, then the resume.
    h.faults(FaultConfig::default());
    let (first, _) = S::bulk_note(0, &bulk_sid(0));
    let o = h
        .run(&["set", &title(&first), &format!("{}=Resumed", f.key)])
        .await;
    assert!(o.status.success(), "{}", out(&o));
    h.sync().await;
    let live = h.live(f.kind);
    assert_eq!(live.len(), total, "every record once");
    let mut sids: Vec<String> = live.iter().filter_map(|r| h.ssot_of(r)).collect();
    sids.sort_unstable();
    sids.dedup();
    assert_eq!(sids.len(), total, "no duplicate");
    for i in 0..bulk {
        let (rel, _) = S::bulk_note(i, &bulk_sid(i));
        let r = h.record(f.kind, &bulk_sid(i));
        assert_eq!(h.prop(&rel, S::ID_KEY), Some(r.id), "{rel}");
    }
    assert_eq!(
        h.record(f.kind, &bulk_sid(0)).field(f.remote),
        Some("Resumed")
    );
    assert_eq!(git(&h.v, &["status", "--porcelain"]), "");
}

/// Starts a sync of the real binary and `kill -9`s it as soon as its journal logs `event` (the
/// journal's new lines only). Returns the run id, when the event was seen.
pub(crate) async fn sync_killed_after<S: Service>(h: &Harness<S>, event: &str) -> Option<String> {
    let journal = h.state_dir().join("journal.jsonl");
    let seen = std::fs::read_to_string(&journal).map_or(0, |t| t.len());
    let mut child = h.spawn_sync();
    let mut run = None;
    for _ in 0..5000 {
        let text = std::fs::read_to_string(&journal).unwrap_or_default();
        run = text.get(seen..).and_then(|new| {
            new.lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find(|v| v["event"] == json!(event))
                .and_then(|v| v["run"].as_str().map(str::to_string))
        });
        if run.is_some() || child.try_wait().ok().flatten().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    run
}

/// Replaces `key: old` by `key: new` in a note, as an editor would.
fn set_line(h: &Env, note: &str, key: &str, old: &str, new: &str) {
    let text = h.note(note);
    let edited = text.replace(&line(key, old), &line(key, new));
    assert_ne!(edited, text, "{note} has `{key}: {old}`");
    std::fs::write(h.v.join(note), edited).expect("edit");
}

/// `kill -9` right after the journal logs `notes` (the pulled values are in the notes, nothing
/// committed yet), a genuine vault edit, then the next run: the crashed run's note writes are
/// committed as the service's with its run id, only the vault edit as the vault's.
pub async fn a_crashed_runs_note_writes_are_committed_as_its_own<S: Service>() {
    let h = Harness::<S>::new("").await;
    h.sync().await;
    let f = S::field();
    let num = S::number();
    // A service edit (pulled into the note) and a vault edit (pushed after the notes, so the run
    // is still talking to the service when it is killed).
    h.edit(f, "Gdynia");
    set_line(&h, num.note, num.key, num.value, "47000");
    let journal = h.state_dir().join("journal.jsonl");
    h.faults(FaultConfig {
        latency_ms: 600,
        ..FaultConfig::default()
    });
    // Killed as soon as the journal logs `notes` (each request then takes 0.6 s, under the
    // configured 1 s timeout: the push that follows is still under way).
    let crashed = sync_killed_after(&h, "notes")
        .await
        .expect("the run logged `notes`");
    let text = std::fs::read_to_string(&journal).expect("journal");
    let last: Value = serde_json::from_str(text.lines().last().unwrap_or("")).expect("line");
    assert_eq!(last["run"], json!(crashed), "{text}");
    assert_ne!(last["event"], json!("end"), "killed before its end: {text}");
    assert_eq!(h.prop(f.note, f.key).as_deref(), Some("Gdynia"), "pulled");
    assert!(
        git(
            &h.v,
            &["-c", "core.quotePath=false", "status", "--porcelain"]
        )
        .contains(f.note),
        "the pulled value is not committed yet"
    );
    // A genuine vault edit after the crash, then the resume.
    h.faults(FaultConfig::default());
    let (key, from, to) = S::other_edit();
    let other = S::other().note;
    set_line(&h, other, key, from, to);
    let head = h.head().trim().to_string();
    let o = h.sync().await;
    assert_eq!(git(&h.v, &["status", "--porcelain"]), "", "{}", out(&o));
    // The commits made by the resume, oldest first: (author, message, files).
    let log = git(
        &h.v,
        &[
            "-c",
            "core.quotePath=false",
            "log",
            "--reverse",
            "--format=%x01%an%x02%B%x02",
            "--name-only",
            &format!("{head}..HEAD"),
        ],
    );
    let commits: Vec<(String, String, Vec<String>)> = log
        .split('\u{1}')
        .filter(|c| !c.trim().is_empty())
        .map(|c| {
            let mut parts = c.split('\u{2}');
            let author = parts.next().unwrap_or("").to_string();
            let msg = parts.next().unwrap_or("").to_string();
            let files = parts
                .next()
                .unwrap_or("")
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect();
            (author, msg, files)
        })
        .collect();
    let touching: Vec<_> = commits
        .iter()
        .filter(|(_, _, files)| files.iter().any(|p| p == f.note))
        .collect();
    assert!(!touching.is_empty(), "{log}");
    for (author, msg, _) in &touching {
        assert!(
            msg.contains(&format!("Ssot-Source: {}", S::NAME))
                && msg.contains(&format!("Ssot-Run: {crashed}")),
            "the crashed run's write is committed as its own: {msg}\n{log}"
        );
        assert_ne!(author, "Test User", "{log}");
        assert!(
            msg.contains(&format!("{}: {} → Gdynia", f.key, f.value)),
            "{msg}"
        );
    }
    let vault: Vec<_> = commits
        .iter()
        .filter(|(_, m, _)| m.contains("Ssot-Source: vault"))
        .collect();
    assert_eq!(vault.len(), 1, "one vault commit, the genuine edit: {log}");
    let (author, msg, files) = vault[0];
    assert_eq!(author, "Test User");
    assert_eq!(files.len(), 1, "only the other note: {log}");
    assert!(msg.contains(&format!("{key}: {from} → {to}")), "{msg}");
    assert!(!msg.contains("Gdynia"), "{msg}");
    // The sync went on: the vault's number reached the service.
    assert_eq!(h.remote_value(num).as_deref(), Some("47000"));
}

/// A run killed after each step of its journal in turn, a service edit and a vault edit before
/// each: however the runs end, the history never credits the vault with a service edit, and
/// every service edit that reached the note is committed as the service's.
pub async fn kills_at_every_step_never_credit_the_vault_with_a_remote_edit<S: Service>() {
    let h = Harness::<S>::new("").await;
    h.sync().await;
    let f = S::field();
    let num = S::number();
    let start = h.head().trim().to_string();
    let mut killed = 0;
    for (i, event) in ["start", "write", "notes", "push", "pushed", "saved"]
        .into_iter()
        .enumerate()
    {
        h.edit(f, &format!("Miasto {i}"));
        let value = h.prop(num.note, num.key).expect("number");
        set_line(&h, num.note, num.key, &value, &(45_001 + i).to_string());
        h.faults(FaultConfig {
            latency_ms: 150,
            ..FaultConfig::default()
        });
        killed += usize::from(sync_killed_after(&h, event).await.is_some());
        h.faults(FaultConfig::default());
    }
    assert!(killed >= 5, "the runs were killed mid-way ({killed})");
    let o = h.sync().await;
    assert_eq!(git(&h.v, &["status", "--porcelain"]), "", "{}", out(&o));
    assert_eq!(h.prop(f.note, f.key).as_deref(), Some("Miasto 5"));
    assert_eq!(h.remote_value(f).as_deref(), Some("Miasto 5"));
    // Every change to the field in the history since: the service's, never the vault's.
    let log = git(
        &h.v,
        &[
            "-c",
            "core.quotePath=false",
            "log",
            "--format=%x01%B",
            &format!("{start}..HEAD"),
        ],
    );
    let mut seen = 0;
    for msg in log.split('\u{1}').filter(|m| !m.trim().is_empty()) {
        if msg.contains(&format!("{}: {}:", f.note, f.key)) {
            seen += 1;
            assert!(
                msg.contains(&format!("Ssot-Source: {}", S::NAME)) && msg.contains("Ssot-Run: "),
                "a service edit credited to another source: {msg}\n{log}"
            );
        }
    }
    assert!(seen >= 2, "{log}");
}

/// Appends to the service's journal the lines of a run `run` that stopped without saving its
/// state (as a `kill -9` leaves them).
fn log_killed_run<S: Service>(h: &Harness<S>, run: &str, events: &[(&str, Value)]) {
    let path = h.state_dir().join("journal.jsonl");
    let mut text = std::fs::read_to_string(&path).expect("journal");
    for (event, detail) in events {
        let at = jiff::Timestamp::now().to_string();
        text.push_str(&json!({"run": run, "at": at, "event": event, "detail": detail}).to_string());
        text.push('\n');
    }
    std::fs::write(&path, text).expect("journal");
}

/// Two runs killed one after the other before saving their state: the first pulled a service
/// value into a note and sent a vault value to a record, both landed; the second logged the
/// same for later values and was killed before either landed. What the first agreed with the
/// service is still taken as agreed: the next run raises no conflict, it pulls the service's
/// later edit and pushes the vault's.
pub async fn an_earlier_killed_runs_agreement_outlives_a_later_ones_lost_write<S: Service>() {
    let h = Harness::<S>::new("").await;
    h.sync().await;
    let f = S::field();
    let num = S::number();
    let f_sid = h.prop(f.note, "ssot_id").expect("ssot_id");
    let num_sid = h.prop(num.note, "ssot_id").expect("ssot_id");
    // The first run: `Gdynia` pulled into the note, `47000` sent to the record.
    h.edit(f, "Gdynia");
    set_line(&h, f.note, f.key, f.value, "Gdynia");
    set_line(&h, num.note, num.key, num.value, "47000");
    h.edit(num, "47000");
    // Each write is logged with the hash of the bytes it leaves: the first run's landed, so the
    // note holds exactly its bytes; the second run's never did.
    let hash = |text: &str| {
        format!(
            "{:016x}",
            ssot_vault::sync::plan::text_hash(text.as_bytes())
        )
    };
    let landed = hash(&h.note(f.note));
    let lost = hash(&h.note(f.note).replace("Gdynia", "Hel"));
    log_killed_run(
        &h,
        "20261130T000001Z-aaaaaa",
        &[
            ("start", json!({"records": 2})),
            (
                "write",
                json!({"hashes": [landed], "pulled": {f.key: "Gdynia"}, "ssot_id": f_sid}),
            ),
            ("send", json!({"records": {&num_sid: {num.key: "47000"}}})),
        ],
    );
    // The second run: `Hel` and `48000` logged, neither landed. (Logged a few milliseconds after
    // the first landed, as a later run's are: a send logged in the very millisecond the record
    // changed may have landed, and is taken to have.)
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    log_killed_run(
        &h,
        "20261130T000002Z-bbbbbb",
        &[
            ("start", json!({"records": 2})),
            (
                "write",
                json!({"hashes": [lost], "pulled": {f.key: "Hel"}, "ssot_id": f_sid}),
            ),
            ("send", json!({"records": {&num_sid: {num.key: "48000"}}})),
        ],
    );
    // Then an edit on each side.
    h.edit(f, "Sopot");
    set_line(&h, num.note, num.key, "47000", "49000");
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "no conflict: {}", out(&o));
    assert!(
        !h.note(f.note).contains("sync_conflicts"),
        "{}",
        h.note(f.note)
    );
    assert!(
        !h.note(num.note).contains("sync_conflicts"),
        "{}",
        h.note(num.note)
    );
    assert_eq!(h.prop(f.note, f.key).as_deref(), Some("Sopot"));
    assert_eq!(h.remote_value(f).as_deref(), Some("Sopot"));
    assert_eq!(h.prop(num.note, num.key).as_deref(), Some("49000"));
    assert_eq!(h.remote_value(num).as_deref(), Some("49000"));
}

/// A person's save that lands while a run writes is the vault's: the run's commit holds only the
/// notes carrying exactly the bytes the run wrote, and the save is committed by the next commit
/// of the vault's edits (`Ssot-Source: vault`), never under the service's name.
pub async fn a_save_made_during_a_run_is_committed_as_the_vaults<S: Service>() {
    use ssot_vault::fsutil::TEST_BEFORE_RENAME_ENV;
    let h = Harness::<S>::new("").await;
    h.sync().await;
    let f = S::field();
    h.edit(f, "Kraków");
    let head_before = h.head();
    // The hook appends a person's line to the note just before the run's rename.
    let o = h
        .run_with(
            &["sync"],
            &[(
                TEST_BEFORE_RENAME_ENV,
                "\nWritten in Obsidian during the run.\n",
            )],
        )
        .await;
    assert!(o.status.success(), "{}", out(&o));
    assert!(
        h.note(f.note)
            .ends_with("\nWritten in Obsidian during the run.\n")
    );
    // Not in any commit the run made: still a change of the work tree.
    let status = git(&h.v, &["status", "--porcelain", "--", f.note]);
    assert!(!status.trim().is_empty(), "the save is left uncommitted");
    let touched = git(
        &h.v,
        &[
            "log",
            "--format=%H",
            &format!("{}..HEAD", head_before.trim()),
            "--",
            f.note,
        ],
    );
    assert!(
        touched.trim().is_empty(),
        "the run committed the save: {touched}"
    );
    // The next run commits it as the vault's, then merges the service's change.
    h.sync().await;
    let msgs = git(&h.v, &["log", "--format=%B%x00", "--", f.note]);
    let saved_in = msgs
        .split('\0')
        .find(|m| !m.trim().is_empty())
        .expect("a commit of the note");
    assert!(
        h.note(f.note).contains(&line(f.key, "Kraków")),
        "{}",
        h.note(f.note)
    );
    let first_commit_with_save = git(
        &h.v,
        &[
            "log",
            "--reverse",
            "--format=%H",
            "-S",
            "Written in Obsidian during the run.",
            "--",
            f.note,
        ],
    );
    let sha = first_commit_with_save
        .lines()
        .next()
        .expect("the save is committed");
    let body = git(&h.v, &["show", "-s", "--format=%B", sha]);
    assert!(
        body.contains("Ssot-Source: vault"),
        "{body}\n(latest: {saved_in})"
    );
}

// The cases an append-only, read-only source runs (`conformance!(append_only Service)`): records
// made in the service become notes exactly once, after a crash or a lost `.ssot/` too, an
// unreadable note is left alone and never duplicated, and nothing is written to the service.

/// The notes of the folder of [`Service::made`]'s note carrying `S::ID_KEY: id` (a killed
/// run's half-written temporary file is not a note).
fn notes_of<S: Service>(h: &Harness<S>, id: &str) -> Vec<String> {
    let folder = Path::new(S::made().note)
        .parent()
        .expect("folder")
        .to_path_buf();
    let line = format!("\n{}: {id}\n", S::ID_KEY);
    std::fs::read_dir(h.v.join(&folder))
        .expect("folder")
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.path().extension().is_some_and(|x| x == "md")
                && std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains(&line))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// A record made in the service becomes one note carrying its id; the next sync settles and
/// writes nothing to the service.
pub async fn append_only_record_becomes_one_note<S: Service>() {
    let h = Harness::<S>::new("").await;
    h.sync().await;
    let m = S::made();
    let id = h.create(m.kind, m.fields);
    let o = h.sync().await;
    let note = h.note(m.note);
    assert!(note.starts_with("---\ntype: "), "{note}");
    assert!(note.contains(m.contains), "{note}\n{}", out(&o));
    assert_eq!(h.prop(m.note, S::ID_KEY), Some(id.clone()));
    assert_eq!(notes_of(&h, &id).len(), 1);
    let o = h.run(&["check"]).await;
    assert!(!out(&o).contains(&title(m.note)), "valid: {}", out(&o));
    let head = h.head();
    h.sync().await;
    assert_eq!(h.head(), head, "settled");
    assert_eq!(notes_of(&h, &id).len(), 1);
    assert_eq!(h.writes(), 0, "nothing written to the service");
}

/// `.ssot/` lost: the full read matches the note by its id, no duplicate, no conflict.
pub async fn append_only_lost_state_makes_no_duplicate<S: Service>() {
    let h = Harness::<S>::new("").await;
    let m = S::made();
    let id = h.create(m.kind, m.fields);
    h.sync().await;
    std::fs::remove_dir_all(h.v.join(".ssot")).expect("rm .ssot");
    let o = h.sync().await;
    assert!(!out(&o).contains("conflict"), "{}", out(&o));
    assert_eq!(notes_of(&h, &id).len(), 1, "{}", out(&o));
    assert_eq!(git(&h.v, &["status", "--porcelain"]), "");
}

/// `kill -9` as soon as the first note is on disk, then the resume: each record once.
pub async fn append_only_kill_9_then_resume_makes_no_duplicate<S: Service>() {
    let h = Harness::<S>::new("").await;
    let m = S::made();
    let ids: Vec<String> = (0..5).map(|_| h.create(m.kind, m.fields)).collect();
    let mut child = h.spawn_sync();
    for _ in 0..20_000 {
        if h.v.join(m.note).exists() || child.try_wait().ok().flatten().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    child.kill().expect("kill -9");
    let _ = child.wait();
    h.sync().await;
    for id in &ids {
        assert_eq!(notes_of(&h, id).len(), 1, "{id}: {:?}", notes_of(&h, id));
    }
    assert_eq!(git(&h.v, &["status", "--porcelain"]), "");
    assert_eq!(h.writes(), 0, "nothing written to the service");
}

/// A note whose YAML no longer parses is reported and left alone, and its record does not
/// become a second note; the other records still become notes.
pub async fn append_only_unreadable_note_is_left_alone<S: Service>() {
    let h = Harness::<S>::new("").await;
    let m = S::made();
    let id = h.create(m.kind, m.fields);
    h.sync().await;
    let broken = h.note(m.note).replacen("---\ntype: ", "---\ntype: [", 1);
    write(&h.v, m.note, &broken);
    git(&h.v, &["commit", "-qam", "A broken note"]);
    h.edit_record(m.kind, &id);
    let other = h.create(m.kind, m.fields);
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(out(&o).contains(&title(m.note)), "reported: {}", out(&o));
    assert_eq!(h.note(m.note), broken, "never written");
    assert_eq!(notes_of(&h, &id).len(), 1, "no second note: {}", out(&o));
    assert_eq!(notes_of(&h, &other).len(), 1, "{}", out(&o));
}
