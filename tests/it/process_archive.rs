//! Archiving a project across Jira and Trello, end to end with the real binary: the expert's Jira
//! access is taken back and the issue deleted, but only once the archive's export is attached to
//! the project's Trello card and read back, whichever remote runs first — a refused upload, a
//! `sync --remote jira` before Trello's, and a run killed (`kill -9`) between the attach and the
//! delete all leave the issue until the export is on the card, then delete it once.

use std::time::Duration;

use ssot_vault::sandbox::FaultConfig;
use ssot_vault::sandbox::jira::store::{ROLE_MEMBERS, SEED_USERS};
use ssot_vault::sandbox::jira::{DEFAULT_EMAIL, DEFAULT_TOKEN};
use ssot_vault::sandbox::person::Person;
use ssot_vault::sandbox::{DEFAULT_TRELLO_KEY, DEFAULT_TRELLO_TOKEN};

use crate::common::{kill_9_when, spawn};
use crate::conformance::harness::Harness;
use crate::conformance::jira::JiraService;
use crate::hs_env::{EXPERT, PROJECT, git, out};

type H = Harness<JiraService>;

const NAME: &str = "Złoty Kłos online shop";
const TRELLO: [(&str, &str); 2] = [
    ("TRELLO_KEY", DEFAULT_TRELLO_KEY),
    ("TRELLO_TOKEN", DEFAULT_TRELLO_TOKEN),
];
const DELETES: &str = "DELETE /rest/api/3/issue/{issueIdOrKey}";
const UPLOADS: &str = "POST /1/cards/{id}/attachments";

/// The vault made by `init` with Jira (and the conformance suite's two more projects) and
/// Trello (board `Projects`) enabled on one sandbox; the expert has a Jira account.
async fn env() -> H {
    let h = H::new("").await;
    crate::conformance::trello::enable(&h.v, &h.sb.base_url(), "");
    let note = h.note(EXPERT).replacen(
        "\n---\n",
        &format!("\njira_account_id: {}\n---\n", SEED_USERS[1].0),
        1,
    );
    std::fs::write(h.v.join(EXPERT), note).expect("expert");
    git(&h.v, &["add", "-A"]);
    git(
        &h.v,
        &["commit", "-qm", "Enable Trello; the expert's Jira account"],
    );
    h
}

/// Runs the binary with both services' credentials.
async fn run(h: &H, args: &[&str]) -> std::process::Output {
    h.run_with(args, &TRELLO).await
}

/// Runs the binary, which must succeed.
async fn ok(h: &H, args: &[&str]) {
    let o = run(h, args).await;
    assert!(o.status.success(), "{args:?}: {}", out(&o));
}

/// The project taken through the lifecycle to `archived` in the vault (synced at each step
/// until `active`; `done` synced to Trello only, so that the two remotes see the archive as
/// different moves, `done→archived` and `active→archived`; the archive not synced yet): its
/// issue key and its card id.
async fn archived(h: &H) -> (String, String) {
    archived_after(h, &["sync", "--remote", "trello"]).await
}

/// [`archived`] with `done` synced by `sync_done`.
async fn archived_after(h: &H, sync_done: &[&str]) -> (String, String) {
    ok(h, &["sync"]).await;
    ok(h, &["match", NAME, "--assign", "Anna Nowak"]).await;
    ok(h, &["project", "accept", NAME]).await;
    ok(h, &["sync"]).await;
    let text = h.note(PROJECT).replace("- [ ] ", "- [x] ");
    std::fs::write(h.v.join(PROJECT), text).expect("tick");
    ok(h, &["project", "activate", NAME]).await;
    ok(h, &["sync"]).await;
    let key = h.id_of(PROJECT);
    let card = h.prop(PROJECT, "trello_card_id").expect("card id");
    assert!(member(h).await, "access given on activation");
    assert_eq!(issues(h, &key), 2, "the issue and the expert's task");
    ok(h, &["project", "done", NAME]).await;
    ok(h, sync_done).await;
    ok(h, &["archive", NAME]).await;
    (key, card)
}

/// The project's issue and its child tasks still in Jira.
fn issues(h: &H, key: &str) -> usize {
    h.live("issues")
        .into_iter()
        .filter(|r| r.id == key || r.field("parent") == Some(key))
        .count()
}

/// Whether the expert is an actor of the project role the grant gives.
async fn member(h: &H) -> bool {
    let v: serde_json::Value = h
        .http
        .get(format!(
            "{}/rest/api/3/project/SSOT/role/{ROLE_MEMBERS}",
            h.sb.jira_base_url()
        ))
        .basic_auth(DEFAULT_EMAIL, Some(DEFAULT_TOKEN))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    v["actors"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|a| a["actorUser"]["accountId"] == SEED_USERS[1].0)
}

/// The names of the card's attachments, sorted.
async fn attachments(h: &H, card: &str) -> Vec<String> {
    let mut names = Person::new(&h.sb, DEFAULT_TRELLO_TOKEN)
        .with_client(h.http.clone())
        .attachment_names(card)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    names.sort();
    names
}

fn exported() -> Vec<String> {
    vec![format!("{NAME}.csv"), format!("{NAME}.xml")]
}

/// The ids of the actions a remote's journal says were carried out, in order.
fn acted(h: &H, remote: &str) -> Vec<String> {
    let p = h.v.join(".ssot").join(remote).join("journal.jsonl");
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "acted")
        .filter_map(|v| v["detail"]["id"].as_str().map(str::to_string))
        .collect()
}

/// The archive's sync attaches the export to the card, takes the expert's Jira access back (the
/// project role), then deletes the issue with its task; the next run has nothing to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archiving_takes_the_experts_access_back_then_deletes_the_issue() {
    let h = env().await;
    let (key, card) = archived(&h).await;
    assert!(member(&h).await);
    let o = run(&h, &["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(attachments(&h, &card).await, exported(), "{}", out(&o));
    assert!(!member(&h).await, "the expert's access taken back");
    assert_eq!(issues(&h, &key), 0, "{}", out(&o));
    let jira: Vec<String> = acted(&h, "jira")
        .into_iter()
        .filter(|id| id.contains(">archived/"))
        .collect();
    assert!(
        jira.len() == 2 && jira[0].ends_with("/revoke:expert") && jira[1].ends_with("/delete"),
        "revoked, then deleted: {jira:?}"
    );
    let head = h.head();
    ok(&h, &["sync"]).await;
    assert_eq!(h.head(), head, "settled");
}

/// An export Trello does not give back (the upload is made, its read-back refused: the
/// sandbox's faults tell requests by path only, and the upload shares its path with the
/// listing): the run says so and why the issue stays (exit 1), and Jira keeps the issue; once
/// Trello answers again, the next run finds the file attached, attaches the other, then deletes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_not_verified_on_the_card_keeps_the_issue() {
    let h = env().await;
    let (key, card) = archived(&h).await;
    h.faults(FaultConfig {
        fail_next: 1_000,
        fail_status: Some(404),
        path_prefix: Some(format!("/1/cards/{card}/attachments/")),
        ..FaultConfig::default()
    });
    let o = run(&h, &["sync"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        out(&o).contains("waits for the export on the Trello card"),
        "{}",
        out(&o)
    );
    assert!(out(&o).contains("cannot be read back"), "{}", out(&o));
    assert_eq!(issues(&h, &key), 2, "{}", out(&o));
    assert_eq!(h.count(DELETES), 0);
    h.faults(FaultConfig::default());
    let o = run(&h, &["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(attachments(&h, &card).await, exported());
    assert_eq!(issues(&h, &key), 0, "{}", out(&o));
}

/// Jira synced on its own first keeps the issue (said once: the second such run is quiet);
/// the next full `sync` attaches the export to the card, then deletes the issue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jira_synced_before_trello_waits_for_the_export() {
    let h = env().await;
    let (key, card) = archived(&h).await;
    let o = run(&h, &["sync", "--remote", "jira"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        out(&o).contains("waits for the export on the Trello card"),
        "{}",
        out(&o)
    );
    assert!(!member(&h).await, "the revoke does not wait");
    assert_eq!(issues(&h, &key), 2);
    let o = run(&h, &["sync", "--remote", "jira"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(!out(&o).contains("waits for"), "said once: {}", out(&o));
    assert_eq!(issues(&h, &key), 2);
    assert!(attachments(&h, &card).await.is_empty());
    let o = run(&h, &["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(attachments(&h, &card).await, exported());
    assert_eq!(issues(&h, &key), 0, "{}", out(&o));
    assert_eq!(h.count(DELETES), 2, "the issue and its task, once each");
}

/// A `sync` killed (`kill -9`) once the export is attached, before Jira's delete (Jira is slow
/// to answer): the issue is still there; Jira synced alone next deletes it, once, and nothing
/// is uploaded again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_between_the_attach_and_the_delete_deletes_once_on_the_rerun() {
    let h = env().await;
    let (key, card) = archived(&h).await;
    h.faults(FaultConfig {
        latency_ms: 3_000,
        path_prefix: Some("/rest/api/3/".into()),
        ..FaultConfig::default()
    });
    let creds: Vec<(String, String)> = h
        .credentials()
        .into_iter()
        .chain(TRELLO.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    let record = h.v.join(".ssot/effects.json");
    let mut child = spawn(&h.v, &["sync"], creds);
    let (hit, _) = kill_9_when(&mut child, 3_000, Duration::from_millis(10), || {
        std::fs::read_to_string(&record).is_ok_and(|t| t.contains(">archived/0/attach-export"))
    });
    assert!(hit, "the export was attached");
    h.faults(FaultConfig::default());
    assert_eq!(issues(&h, &key), 2, "nothing deleted before the rerun");
    assert_eq!(attachments(&h, &card).await, exported());
    let uploads = h.count(UPLOADS);
    let o = run(&h, &["sync", "--remote", "jira"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(issues(&h, &key), 0, "{}", out(&o));
    assert_eq!(h.count(DELETES), 2, "the issue and its task, once each");
    ok(&h, &["sync"]).await;
    assert_eq!(h.count(UPLOADS), uploads, "nothing uploaded again");
    assert_eq!(attachments(&h, &card).await, exported());
    assert_eq!(h.count(DELETES), 2);
}

/// The shared record lost (`.ssot/effects.json` deleted) after Trello attached the export: Jira
/// waits and asks Trello for the export again; the next `sync` has Trello find it attached (no
/// upload) and Jira delete the issue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_record_of_done_actions_costs_a_run_not_the_delete() {
    let h = env().await;
    let (key, card) = archived(&h).await;
    ok(&h, &["sync", "--remote", "trello"]).await;
    assert_eq!(attachments(&h, &card).await, exported());
    let uploads = h.count(UPLOADS);
    std::fs::remove_file(h.v.join(".ssot/effects.json")).expect("record");
    let o = run(&h, &["sync", "--remote", "jira"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(out(&o).contains("waits for the export"), "{}", out(&o));
    assert_eq!(issues(&h, &key), 2);
    let o = run(&h, &["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(issues(&h, &key), 0, "{}", out(&o));
    assert_eq!(h.count(UPLOADS), uploads, "nothing uploaded again");
    assert_eq!(attachments(&h, &card).await, exported());
    assert_eq!(h.count(DELETES), 2);
    let head = h.head();
    ok(&h, &["sync"]).await;
    assert_eq!(h.head(), head, "settled");
    let record = std::fs::read_to_string(h.v.join(".ssot/effects.json")).expect("record");
    assert!(
        !record.contains("\"op\""),
        "nothing asked any more: {record}"
    );
}

/// `done` synced to both remotes first: Jira shows `done` and `archived` as one status (Done),
/// so the archive is no change of the issue's status; the state's record of the status Jira
/// last agreed (`done`) finds the move all the same, and the archive's sync takes the access
/// back and deletes the issue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_after_a_synced_done_still_reaches_jira() {
    let h = env().await;
    let (key, card) = archived_after(&h, &["sync"]).await;
    let issue = h.live("issues").into_iter().find(|r| r.id == key);
    assert_eq!(issue.expect("issue").field("status"), Some("Done"));
    let o = run(&h, &["sync"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert_eq!(attachments(&h, &card).await, exported());
    assert!(!member(&h).await, "the expert's access taken back");
    assert_eq!(issues(&h, &key), 0, "{}", out(&o));
    let jira: Vec<String> = acted(&h, "jira")
        .into_iter()
        .filter(|id| id.contains("done>archived/"))
        .collect();
    assert_eq!(jira.len(), 2, "{jira:?}");
    let head = h.head();
    ok(&h, &["sync"]).await;
    assert_eq!(h.head(), head, "settled");
    assert_eq!(h.count(DELETES), 2, "once");
}
