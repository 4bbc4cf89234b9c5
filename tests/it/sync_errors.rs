//! A service's refusals written on the note (`sync_errors`): a Jira grant refused (403 on the
//! project role, by the sandbox's fault injection) and a HubSpot write refused (an e-mail another
//! contact has) are each an entry on their note, the other writes and effects of the run go on,
//! the run exits 1, and `check` and `status` show the entry; once the service takes them, the next run clears
//! the entry and exits 0. A hostile message (NUL, control characters, 10 kB) is written as one
//! short clean line and the note still parses.

use ssot_vault::sandbox::FaultConfig;
use ssot_vault::sandbox::jira::store::SEED_USERS;
use ssot_vault::vault::note::Note;

use crate::conformance::harness::Harness;
use crate::conformance::jira::{JiraService, SHOP_APP};
use crate::hs_env::{
    CLIENT, EXPERT, Env, PROJECT, ROZA, assign_and_accept, git, new_roza, out,
    tick_all_and_activate,
};

type H = Harness<JiraService>;

/// The `sync_errors` entries of a note's text.
fn errors_of(text: &str) -> Vec<String> {
    let note = Note::parse(text.as_bytes()).expect("the note parses");
    note.get("sync_errors")
        .map(ssot_vault::vault::value::Value::strings)
        .unwrap_or_default()
}

/// Replaces `old` by `new` in a note.
fn edit_note(v: &std::path::Path, note: &str, old: &str, new: &str) {
    let text = std::fs::read_to_string(v.join(note)).expect("note");
    assert!(text.contains(old), "{note}: {old}\n{text}");
    std::fs::write(v.join(note), text.replacen(old, new, 1)).expect("write");
}

/// Activating a project grants its expert access to the Jira issue; Jira refuses the project
/// role (403): the note holds `jira: grant access to expert refused: …`, the move to In Progress
/// and another project's write go on, the run exits 1 and `check` warns of it; with the role
/// given back, the next run grants access, clears the entry and exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jira_grant_refused_is_on_the_note_until_a_run_carries_it_out() {
    let h = H::new("").await;
    edit_note(
        &h.v,
        EXPERT,
        "\n---\n",
        &format!("\njira_account_id: {}\n---\n", SEED_USERS[1].0),
    );
    h.sync().await;
    assign_and_accept(&h).await;
    h.sync().await;
    tick_all_and_activate(&h).await;
    edit_note(&h.v, SHOP_APP, "estimate_hours: 120", "estimate_hours: 8");
    h.faults(FaultConfig {
        fail_next: 1_000,
        fail_status: Some(403),
        path_prefix: Some("/rest/api/3/project/SSOT/role/".into()),
        ..FaultConfig::default()
    });
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let errors = errors_of(&h.note(PROJECT));
    assert_eq!(errors.len(), 1, "{errors:?}\n{}", out(&o));
    assert!(
        errors[0].starts_with("jira: grant access to expert refused: "),
        "{errors:?}"
    );
    assert!(errors[0].ends_with(')'), "{errors:?}");
    // The other effect of the move and the other note's write went on.
    assert_eq!(
        h.record_of(PROJECT, "issues").field("status"),
        Some("In Progress"),
        "{}",
        out(&o)
    );
    assert_eq!(
        h.record_of(SHOP_APP, "issues").field("originalEstimate"),
        Some("1d"),
        "8 hours"
    );
    assert!(errors_of(&h.note(SHOP_APP)).is_empty());
    // Committed by the run, as its other writes.
    assert_eq!(git(&h.v, &["status", "--porcelain"]).trim(), "");
    let log = git(&h.v, &["log", "-1", "--format=%s%n%b"]);
    assert!(log.contains("sync_errors of 1 notes"), "{log}");
    let o = h.run(&["check"]).await;
    let shown = String::from_utf8_lossy(&o.stdout);
    assert!(
        shown.contains(&format!(
            "{PROJECT}:{}:1: warning: sync error: jira: grant access to expert refused: ",
            line_of(&h.note(PROJECT), "sync_errors:")
        )),
        "{}",
        out(&o)
    );
    let o = h.run(&["status"]).await;
    let shown = String::from_utf8_lossy(&o.stdout);
    assert!(
        shown.contains(&format!(
            "nothing to commit\nrefused by a service (sync_errors; the next sync tries again):\n{PROJECT}\n  jira: grant access to expert refused: "
        )),
        "{}",
        out(&o)
    );
    // The same refusal again: the note is not written again.
    let before = h.note(PROJECT);
    let o = h.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert_eq!(h.note(PROJECT), before);
    // The service takes it: carried out, the entry cleared, the run clean.
    h.faults(FaultConfig::default());
    let o = h.sync().await;
    assert!(o.status.success(), "{}", out(&o));
    let text = h.note(PROJECT);
    assert!(!text.contains("sync_errors"), "{text}");
    assert_eq!(git(&h.v, &["status", "--porcelain"]).trim(), "");
    let o = h.run(&["check"]).await;
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("sync error"),
        "{}",
        out(&o)
    );
    let o = h.run(&["status"]).await;
    assert_eq!(String::from_utf8_lossy(&o.stdout), "nothing to commit\n");
}

/// The 1-based line of the first line of `text` starting with `prefix`.
fn line_of(text: &str, prefix: &str) -> usize {
    text.lines()
        .position(|l| l.starts_with(prefix))
        .map_or(0, |i| i + 1)
}

/// A HubSpot write refused for one record (an e-mail another contact has): `sync_errors` on
/// that note only, the other contact written; fixed in the vault, the entry is cleared. Another
/// remote's entry on the note is kept all along.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hubspot_write_refused_for_one_record_is_on_its_note_only() {
    let e = Env::new("").await;
    new_roza(&e).await;
    let other = "jira: delete refused: 409 (2026-11-01)";
    edit_note(
        &e.v,
        ROZA,
        "\n---\n",
        &format!("\nsync_errors:\n  - \"{other}\"\n---\n"),
    );
    for (note, kv) in [(ROZA, "email=biuro@zlotyklos.pl"), (CLIENT, "city=Kraków")] {
        let o = e.run(&["set", note, kv]).await;
        assert!(o.status.success(), "{}", out(&o));
    }
    let o = e.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let errors = errors_of(&e.note(ROZA));
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0], other);
    assert!(
        errors[1].starts_with("hubspot: write refused: Contact already exists"),
        "{errors:?}"
    );
    assert_eq!(e.prop(ROZA, "email").as_deref(), Some("biuro@zlotyklos.pl"));
    let client = e.record_by_ssot("contacts", &e.prop(CLIENT, "ssot_id").expect("sid"));
    assert_eq!(client["properties"]["city"], "Kraków");
    assert!(errors_of(&e.note(CLIENT)).is_empty());
    // A run stopped before its writes (HubSpot down) settles nothing: the entries stay.
    let before = e.note(ROZA);
    e.sb.set_faults(FaultConfig {
        fail_next: 1_000,
        fail_status: Some(503),
        ..FaultConfig::default()
    });
    let o = e.run(&["sync"]).await;
    assert!(!o.status.success(), "{}", out(&o));
    assert_eq!(e.note(ROZA), before);
    e.sb.set_faults(FaultConfig::default());
    // Fixed: written, and this remote's entry goes.
    let o = e.run(&["set", ROZA, "email=kontakt@roza.pl"]).await;
    assert!(o.status.success(), "{}", out(&o));
    let o = e.sync().await;
    assert!(o.status.success(), "{}", out(&o));
    assert_eq!(errors_of(&e.note(ROZA)), vec![other.to_string()]);
    let sid = e.prop(ROZA, "ssot_id").expect("sid");
    assert_eq!(
        e.record_by_ssot("contacts", &sid)["properties"]["email"],
        "kontakt@roza.pl"
    );
}

/// A message full of what a terminal or YAML would act on (NUL, ESC, line breaks, 10 kB) that
/// HubSpot echoes back in its refusal is written as one clean, short line, and the note parses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_refusal_is_written_clean_and_short() {
    let e = Env::new("").await;
    e.sync().await;
    let hostile = format!(
        "\"\\0\\e[31mnot a date\\r\\n- evil: \\\"x\\\" # {{{{date}}}} {}\"",
        "z".repeat(10_000)
    );
    edit_note(
        &e.v,
        PROJECT,
        "deadline: 2027-03-15",
        &format!("deadline: {hostile}"),
    );
    let o = e.run(&["sync"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let text = e.note(PROJECT);
    let errors = errors_of(&text);
    assert_eq!(errors.len(), 1, "{errors:?}\n{}", out(&o));
    let entry = &errors[0];
    assert!(entry.starts_with("hubspot: write refused: "), "{entry}");
    assert!(entry.contains("not a date"), "{entry}");
    assert!(
        !entry.chars().any(|c| c.is_control()),
        "no control characters: {entry:?}"
    );
    assert!(entry.chars().count() < 400, "{}", entry.chars().count());
    // One line in the file too.
    let at = line_of(&text, "sync_errors:");
    let line = text.lines().nth(at).expect("the entry's line");
    assert!(line.starts_with("  - \"hubspot: write refused: "), "{line}");
    assert!(line.len() < 1_000, "{line}");
    // `check` reads it, and finds no placeholder in the entry.
    let o = e.run(&["check"]).await;
    let shown = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        shown.contains("warning: sync error: hubspot: write refused: "),
        "{shown}"
    );
    assert!(
        !shown
            .lines()
            .any(|l| l.contains("`sync_errors` still holds a template placeholder")),
        "{shown}"
    );
}

/// The `watch` daemon runs the same sync: a save HubSpot refuses puts the entry on the note in
/// one push run, and that write (the daemon's own, committed by its run) starts no other run;
/// the polls after it, refused again, leave the note and the history as they are. Fixed, the
/// entry goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_writes_sync_errors_once_and_does_not_loop() {
    use crate::watch::{runs, start, stop_all_committed, wait_for};
    let e = Env::new("poll_seconds = 1").await;
    e.sync().await;
    let cfg = e.v.join("ssot-vault.toml");
    let text = std::fs::read_to_string(&cfg).expect("config");
    std::fs::write(
        &cfg,
        text.replace(
            "\n[watch]\ndebounce_ms = 250\n",
            "\n[watch]\ndebounce_ms = 200\n",
        ),
    )
    .expect("config");
    git(&e.v, &["commit", "-qam", "Watch settings"]);
    let log_path = e._tmp.path().join("watch.log");
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let mut daemon = start(&e.v, &log_path);
    wait_for("the first poll", 20, || runs(&e.v, "poll_runs") >= 1).await;
    let taken = e.prop(EXPERT, "email").expect("the expert's e-mail");
    let mine = e.prop(CLIENT, "email").expect("the client's e-mail");
    edit_note(
        &e.v,
        CLIENT,
        &format!("email: {mine}"),
        &format!("email: {taken}"),
    );
    wait_for("the refusal on the note", 15, || {
        e.note(CLIENT).contains("sync_errors:")
    })
    .await;
    wait_for("the push run counted", 5, || runs(&e.v, "push_runs") == 1).await;
    let (note, head) = (e.note(CLIENT), git(&e.v, &["rev-parse", "HEAD"]));
    let polls = runs(&e.v, "poll_runs");
    wait_for("more polls", 15, || runs(&e.v, "poll_runs") >= polls + 3).await;
    assert_eq!(runs(&e.v, "push_runs"), 1, "{}", log());
    assert_eq!(e.note(CLIENT), note);
    assert_eq!(git(&e.v, &["rev-parse", "HEAD"]), head, "{}", log());
    let errors = errors_of(&note);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("hubspot: write refused: Contact already exists"),
        "{errors:?}"
    );
    // Fixed: written, and the entry goes.
    edit_note(
        &e.v,
        CLIENT,
        &format!("email: {taken}"),
        &format!("email: {mine}"),
    );
    wait_for("the entry cleared", 15, || {
        !e.note(CLIENT).contains("sync_errors")
    })
    .await;
    stop_all_committed(&mut daemon, &e.v, &log()).await;
}

/// `check` warns of each entry on its line, shown with hidden characters escaped, and takes no
/// placeholder in an entry for one left in the note; the note stays valid (exit 0).
#[test]
fn check_warns_of_each_entry() {
    let (_tmp, v) = crate::common::init_vault();
    edit_note(
        &v,
        CLIENT,
        "\n---\n",
        "\nsync_errors:\n  - \"hubspot: write refused: {{date}} is not a date (2026-11-30)\"\n  - \"jira: delete refused: 409 \\e[31m (2026-11-29)\"\n---\n",
    );
    let o = crate::common::bin()
        .arg("--vault")
        .arg(&v)
        .arg("check")
        .output()
        .expect("check");
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let shown: Vec<&str> = stdout.lines().filter(|l| l.starts_with(CLIENT)).collect();
    insta::assert_snapshot!(shown.join("\n"));
}
